/* metrics.h -- a small thread-safe Prometheus metrics registry.
 *
 * A registry holds families (one metric name, one type, one HELP text, a fixed
 * list of label names); a family holds series (one value per distinct tuple
 * of label values). Families are created up front and kept as handles, so the
 * hot path (the scheduler core counting an offer) is a short per-family lock,
 * a linear search over that family's few series and an add:
 *
 *     metrics *m = metrics_new();
 *     metrics_family *offers = metrics_family_add(m, METRICS_COUNTER,
 *         "mcm_offers_declined_total", "Offers declined.", NULL);
 *     metrics_family *tasks = metrics_family_add(m, METRICS_GAUGE,
 *         "mcm_tasks", "Tasks by state.", "state");
 *     metrics_inc(offers, NULL);
 *     metrics_set(tasks, METRICS_L("running"), 3);
 *
 * metrics_render() writes the Prometheus text exposition format 0.0.4
 * (`# HELP`, `# TYPE`, then the samples; label values escaped: backslash,
 * double quote and newline; HELP escaped: backslash and newline).
 * Families whose series change as a whole (per-server memcached figures, tasks
 * by state) are swapped in one call with metrics_replace(), so series of
 * removed servers disappear and a scrape never sees half an update of a family.
 *
 * Ownership: the registry owns its families; handles stay valid until
 * metrics_free(). Every string argument is copied.
 * Threads: every function may be called from any thread at any time, except
 * metrics_free() (no other call may run or follow). */
#ifndef MCM_METRICS_H
#define MCM_METRICS_H

#include <stddef.h>

#define METRICS_MAX_LABELS 4        /* label names per family */
#define METRICS_MAX_SERIES 20000    /* series per family; more are refused */
#define METRICS_LABEL_VALUE_MAX 1024

typedef enum metrics_type { METRICS_COUNTER, METRICS_GAUGE } metrics_type;

typedef struct metrics metrics;
typedef struct metrics_family metrics_family;

/* Label values, in the order of the family's label names. */
#define METRICS_L(...) ((const char *const[]){__VA_ARGS__})

metrics *metrics_new(void);
void metrics_free(metrics *m);      /* NULL-safe */

/* Creates a family, or returns the existing one of that name when type and
 * labels agree (so two modules may both ask for it). `labels` is a
 * comma-separated list of label names ("route,code") or NULL for none.
 * NULL on an invalid metric or label name, too many labels, a clash with an
 * existing family, or no memory. A family without labels has its one series
 * (value 0) from the start; labelled series appear on first use. */
metrics_family *metrics_family_add(metrics *m, metrics_type type, const char *name,
                                   const char *help, const char *labels);
metrics_family *metrics_find(metrics *m, const char *name);   /* NULL if none */
int metrics_family_labels(const metrics_family *f);           /* label count */
/* While gate(ctx) returns 0, metrics_render shows every series of f as 0:
 * for a claim that holds only while the process can back it right now
 * (mcm_is_leader after a stop the core has not seen yet). The stored values
 * are untouched. gate runs on the rendering thread, must not block and must
 * not call into this registry. NULL gate: none. */
void metrics_family_gate(metrics_family *f, int (*gate)(void *ctx), void *ctx);

/* `lv` holds exactly as many values as the family has labels (NULL when it has
 * none). A NULL value counts as "". All return MCM_OK or MCM_ERR (counter
 * decremented, gauge-only call on a counter, value too long, series limit). */
int metrics_add(metrics_family *f, const char *const *lv, double delta); /* counter: delta >= 0 */
int metrics_inc(metrics_family *f, const char *const *lv);               /* add 1 */
int metrics_set(metrics_family *f, const char *const *lv, double value); /* gauge, or counter reset */
/* Replaces every series of f by n new ones: lv holds n * labels values (row
 * after row), values holds n values. Atomic with respect to metrics_render. */
int metrics_replace(metrics_family *f, size_t n, const char *const *lv, const double *values);
void metrics_clear(metrics_family *f);                                   /* drops every series */
/* Reads one series (MCM_ERR if it does not exist). For tests and status pages. */
int metrics_get(metrics_family *f, const char *const *lv, double *out);

/* The whole registry in text exposition format 0.0.4, NUL-terminated; *len
 * (if not NULL) gets its length. Caller frees. NULL if out of memory. */
char *metrics_render(metrics *m, size_t *len);

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
