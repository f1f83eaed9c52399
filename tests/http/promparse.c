/* promparse.c -- the tests' exposition-format checker (see promparse.h). */
#include "promparse.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fam_seen {
    char name[128];
    int help, type, samples;
} fam_seen;

typedef struct pstate {
    fam_seen *f;
    size_t nf;
    prom_doc *doc;
    char *err;
    size_t errlen;
    int line;
} pstate;

static int fail(pstate *p, const char *why) {
    snprintf(p->err, p->errlen, "line %d: %s", p->line, why);
    return -1;
}

static size_t name_len(const char *s, int colon_ok) {
    size_t i = 0;
    while (s[i] && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_' ||
                    (i && s[i] >= '0' && s[i] <= '9') || (colon_ok && s[i] == ':')))
        i++;
    return i;
}

static fam_seen *fam(pstate *p, const char *name, size_t n) {
    for (size_t i = 0; i < p->nf; i++)
        if (strlen(p->f[i].name) == n && strncmp(p->f[i].name, name, n) == 0) return &p->f[i];
    p->f = realloc(p->f, (p->nf + 1) * sizeof(*p->f));
    fam_seen *f = &p->f[p->nf++];
    memset(f, 0, sizeof(*f));
    snprintf(f->name, sizeof(f->name), "%.*s", (int)n, name);
    return f;
}

static int comment(pstate *p, const char *l) {
    int help = strncmp(l, "# HELP ", 7) == 0, type = strncmp(l, "# TYPE ", 7) == 0;
    if (!help && !type) return fail(p, "comment is neither HELP nor TYPE");
    const char *name = l + 7;
    size_t n = name_len(name, 1);
    if (!n || name[n] != ' ') return fail(p, "bad metric name in HELP/TYPE");
    fam_seen *f = fam(p, name, n);
    if (f->samples) return fail(p, "HELP/TYPE after the family's samples");
    if (help) {
        if (f->help++) return fail(p, "second HELP");
        for (const char *c = name + n + 1; *c; c++)
            if (*c == '\\' && c[1] != '\\' && c[1] != 'n') return fail(p, "bad escape in HELP");
            else if (*c == '\\') c++;
        return 0;
    }
    if (f->type++) return fail(p, "second TYPE");
    const char *t = name + n + 1;
    if (strcmp(t, "counter") && strcmp(t, "gauge") && strcmp(t, "untyped") && strcmp(t, "histogram") &&
        strcmp(t, "summary"))
        return fail(p, "unknown TYPE");
    return 0;
}

/* Parses `"value"` at *pp into out (decoded); advances past the closing quote. */
static int label_value(pstate *p, const char **pp, char *out, size_t len) {
    const char *c = *pp;
    if (*c++ != '"') return fail(p, "label value must be quoted");
    size_t o = 0;
    for (; *c && *c != '"'; c++) {
        char ch = *c;
        if (ch == '\\') {
            c++;
            if (*c == 'n') ch = '\n';
            else if (*c == '\\' || *c == '"') ch = *c;
            else return fail(p, "bad escape in label value");
        }
        if (o + 1 < len) out[o++] = ch;
    }
    out[o] = 0;
    if (*c != '"') return fail(p, "unterminated label value");
    *pp = c + 1;
    return 0;
}

static int labels(pstate *p, const char **pp, prom_sample *s) {
    const char *c = *pp + 1;
    while (*c != '}') {
        size_t n = name_len(c, 0);
        if (!n || c[n] != '=' || s->nlabels == PROM_MAX_LABELS) return fail(p, "bad label name");
        snprintf(s->lname[s->nlabels], sizeof(s->lname[0]), "%.*s", (int)n, c);
        c += n + 1;
        if (label_value(p, &c, s->lvalue[s->nlabels], sizeof(s->lvalue[0])) < 0) return -1;
        s->nlabels++;
        if (*c == ',') c++;
        else if (*c != '}') return fail(p, "expected , or } after a label");
    }
    *pp = c + 1;
    return 0;
}

static int sample(pstate *p, const char *l) {
    prom_sample s;
    memset(&s, 0, sizeof(s));
    size_t n = name_len(l, 1);
    if (!n || n >= sizeof(s.name)) return fail(p, "bad sample name");
    memcpy(s.name, l, n);
    fam_seen *f = fam(p, l, n);
    if (!f->type || !f->help) return fail(p, "sample before its HELP and TYPE");
    f->samples++;
    const char *c = l + n;
    if (*c == '{' && labels(p, &c, &s) < 0) return -1;
    if (*c++ != ' ') return fail(p, "expected a space before the value");
    char *end;
    if (strcmp(c, "NaN") == 0) s.value = NAN;
    else if (strcmp(c, "+Inf") == 0) s.value = INFINITY;
    else if (strcmp(c, "-Inf") == 0) s.value = -INFINITY;
    else {
        s.value = strtod(c, &end);
        if (end == c || (*end && *end != ' ')) return fail(p, "bad value");
    }
    p->doc->s = realloc(p->doc->s, (p->doc->n + 1) * sizeof(prom_sample));
    p->doc->s[p->doc->n++] = s;
    return 0;
}

int prom_parse(const char *text, prom_doc *doc, char *err, size_t errlen) {
    pstate p = {.doc = doc, .err = err, .errlen = errlen};
    memset(doc, 0, sizeof(*doc));
    int rc = 0;
    size_t tl = strlen(text);
    if (tl && text[tl - 1] != '\n') {
        snprintf(err, errlen, "text does not end with a newline");
        return -1;
    }
    char *copy = strdup(text), *save = NULL;
    for (char *l = strtok_r(copy, "\n", &save); l && rc == 0; l = strtok_r(NULL, "\n", &save)) {
        p.line++;
        rc = l[0] == '#' ? comment(&p, l) : sample(&p, l);
    }
    free(copy);
    free(p.f);
    return rc;
}

const prom_sample *prom_find(const prom_doc *doc, const char *name, const char *want) {
    for (size_t i = 0; i < doc->n; i++) {
        const prom_sample *s = &doc->s[i];
        if (strcmp(s->name, name) != 0) continue;
        int ok = 1;
        char *copy = want ? strdup(want) : NULL, *save = NULL;
        for (char *kv = copy ? strtok_r(copy, ",", &save) : NULL; kv && ok; kv = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(kv, '=');
            int found = 0;
            for (int j = 0; eq && j < s->nlabels && !found; j++)
                found = strncmp(s->lname[j], kv, (size_t)(eq - kv)) == 0 && s->lname[j][eq - kv] == 0 &&
                        strcmp(s->lvalue[j], eq + 1) == 0;
            ok = found;
        }
        free(copy);
        if (ok) return s;
    }
    return NULL;
}

void prom_free(prom_doc *doc) {
    free(doc->s);
    memset(doc, 0, sizeof(*doc));
}
