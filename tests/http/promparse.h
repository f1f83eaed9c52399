/* promparse.h -- a strict line-by-line checker of the Prometheus text
 * exposition format 0.0.4, for tests: every line is a `# HELP`, a `# TYPE` or
 * a sample; HELP and TYPE come before the family's samples, once each; names
 * and label names are valid; label values use only the \\ \" \n escapes and
 * are decoded; values parse as floats (NaN, +Inf, -Inf allowed). */
#ifndef MCM_TEST_PROMPARSE_H
#define MCM_TEST_PROMPARSE_H

#include <stddef.h>

#define PROM_MAX_LABELS 8

typedef struct prom_sample {
    char name[128];
    int nlabels;
    char lname[PROM_MAX_LABELS][64];
    char lvalue[PROM_MAX_LABELS][1100];   /* decoded */
    double value;
} prom_sample;

typedef struct prom_doc {
    prom_sample *s;
    size_t n;
} prom_doc;

/* 0 and the samples in doc, or -1 with "line N: reason" in err. */
int prom_parse(const char *text, prom_doc *doc, char *err, size_t errlen);
/* The sample with this name whose labels include every name=value pair in
 * `labels` ("a=x,b=y"; NULL = any); NULL if none. */
const prom_sample *prom_find(const prom_doc *doc, const char *name, const char *labels);
void prom_free(prom_doc *doc);

#endif
