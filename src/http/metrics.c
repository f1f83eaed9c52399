/* metrics.c -- the metrics registry and its Prometheus text rendering.
 *
 * Shape: a registry is an append-only singly linked list of families guarded
 * by one registry lock (taken only to add, find or walk families); each family
 * has its own lock over a plain array of series. Series counts are small
 * (tens; per-server families hundreds to a few thousand, replaced wholesale),
 * so a linear search beats a hash table in code and in practice.
 *
 * Threads: any (the scheduler core sets values, libmicrohttpd threads render).
 * Lock order: registry lock, then one family lock; never two family locks.
 * Invariants: a family's name, type, help and label names never change after
 * creation (read without its lock); families are never removed before
 * metrics_free(); every series of a family has exactly f->nlabels values. */
#include "metrics.h"
#include "mcm.h"

#define LOG_COMPONENT "metrics"
#include "log.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct series {
    char **lv;          /* nlabels owned strings */
    double v;
} series;

struct metrics_family {
    char *name;
    char *help;
    metrics_type type;
    int nlabels;
    char *label[METRICS_MAX_LABELS];
    pthread_mutex_t mu;                 /* guards s, n, cap */
    series *s;
    size_t n, cap;
    int warned_full;                    /* logged the series limit once */
    int (*gate)(void *ctx);             /* metrics_family_gate; NULL: none */
    void *gate_ctx;
    struct metrics_family *next;
};

struct metrics {
    pthread_mutex_t mu;                 /* guards the family list */
    metrics_family *head, *tail;
};

/* --- names -------------------------------------------------------------------- */

static int valid_name(const char *s, int colon_ok) {
    if (!s || !*s) return 0;
    for (const char *p = s; *p; p++) {
        int alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_';
        int digit = *p >= '0' && *p <= '9';
        if (!(alpha || (digit && p != s) || (colon_ok && *p == ':'))) return 0;
    }
    return strncmp(s, "__", 2) != 0 || colon_ok;
}

/* Splits "a,b" into f->label[]; MCM_ERR on a bad name or too many. */
static int parse_labels(metrics_family *f, const char *labels) {
    if (!labels || !*labels) return MCM_OK;
    char *copy = strdup(labels), *save = NULL;
    if (!copy) return MCM_ERR;
    int rc = MCM_OK;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (f->nlabels == METRICS_MAX_LABELS || !valid_name(t, 0) || !(f->label[f->nlabels] = strdup(t))) {
            rc = MCM_ERR;
            break;
        }
        f->nlabels++;
    }
    free(copy);
    return rc;
}

/* --- series ------------------------------------------------------------------- */

static void series_free(series *s, int nlabels) {
    for (int i = 0; i < nlabels; i++) free(s->lv[i]);
    free(s->lv);
}

static void family_drop_series(metrics_family *f) {
    for (size_t i = 0; i < f->n; i++) series_free(&f->s[i], f->nlabels);
    free(f->s);
    f->s = NULL;
    f->n = f->cap = 0;
}

static void family_free(metrics_family *f) {
    if (!f) return;
    family_drop_series(f);
    for (int i = 0; i < f->nlabels; i++) free(f->label[i]);
    free(f->name);
    free(f->help);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

static const char *lv_at(const char *const *lv, int i) { return lv && lv[i] ? lv[i] : ""; }

static int lv_valid(const metrics_family *f, const char *const *lv) {
    for (int i = 0; i < f->nlabels; i++)
        if (strlen(lv_at(lv, i)) > METRICS_LABEL_VALUE_MAX) return 0;
    return 1;
}

static int series_init(series *s, int nlabels, const char *const *lv, double v) {
    s->v = v;
    s->lv = calloc((size_t)(nlabels ? nlabels : 1), sizeof(char *));
    if (!s->lv) return MCM_ERR;
    for (int i = 0; i < nlabels; i++) {
        if (!(s->lv[i] = strdup(lv_at(lv, i)))) {
            series_free(s, i);
            return MCM_ERR;
        }
    }
    return MCM_OK;
}

/* Finds or creates the series; NULL at the limit or out of memory. Family locked. */
static series *family_series(metrics_family *f, const char *const *lv) {
    for (size_t i = 0; i < f->n; i++) {
        int same = 1;
        for (int j = 0; j < f->nlabels && same; j++) same = strcmp(f->s[i].lv[j], lv_at(lv, j)) == 0;
        if (same) return &f->s[i];
    }
    if (f->n >= METRICS_MAX_SERIES) {
        if (!f->warned_full++)
            log_warn("metric %s has %d series, the limit: new label values are dropped",
                     f->name, METRICS_MAX_SERIES);
        return NULL;
    }
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        series *grown = realloc(f->s, cap * sizeof(*grown));
        if (!grown) return NULL;
        f->s = grown;
        f->cap = cap;
    }
    if (series_init(&f->s[f->n], f->nlabels, lv, 0) != MCM_OK) return NULL;
    return &f->s[f->n++];
}

/* --- registry ----------------------------------------------------------------- */

metrics *metrics_new(void) {
    metrics *m = calloc(1, sizeof(*m));
    if (m) pthread_mutex_init(&m->mu, NULL);
    return m;
}

void metrics_free(metrics *m) {
    if (!m) return;
    metrics_family *f = m->head;
    while (f) {
        metrics_family *next = f->next;
        family_free(f);
        f = next;
    }
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static metrics_family *find_locked(metrics *m, const char *name) {
    for (metrics_family *f = m->head; f; f = f->next)
        if (strcmp(f->name, name) == 0) return f;
    return NULL;
}

metrics_family *metrics_find(metrics *m, const char *name) {
    if (!m || !name) return NULL;
    pthread_mutex_lock(&m->mu);
    metrics_family *f = find_locked(m, name);
    pthread_mutex_unlock(&m->mu);
    return f;
}

int metrics_family_labels(const metrics_family *f) { return f ? f->nlabels : 0; }

static metrics_family *family_new(metrics_type type, const char *name, const char *help,
                                  const char *labels) {
    metrics_family *f = calloc(1, sizeof(*f));
    if (!f) return NULL;
    pthread_mutex_init(&f->mu, NULL);
    f->type = type;
    f->name = strdup(name);
    f->help = strdup(help ? help : "");
    if (!f->name || !f->help || parse_labels(f, labels) != MCM_OK) goto err;
    if (f->nlabels == 0 && !family_series(f, NULL)) goto err;
    return f;
err:
    family_free(f);
    return NULL;
}

/* 1 if an existing family has the same type and label names. */
static int family_matches(const metrics_family *f, metrics_type type, const metrics_family *want) {
    if (f->type != type || f->nlabels != want->nlabels) return 0;
    for (int i = 0; i < f->nlabels; i++)
        if (strcmp(f->label[i], want->label[i]) != 0) return 0;
    return 1;
}

metrics_family *metrics_family_add(metrics *m, metrics_type type, const char *name,
                                   const char *help, const char *labels) {
    if (!m || !valid_name(name, 1)) return NULL;
    metrics_family *f = family_new(type, name, help, labels);
    if (!f) return NULL;
    pthread_mutex_lock(&m->mu);
    metrics_family *old = find_locked(m, name);
    if (!old) {
        if (m->tail) m->tail->next = f;
        else m->head = f;
        m->tail = f;
    }
    pthread_mutex_unlock(&m->mu);
    if (!old) return f;
    metrics_family *res = family_matches(old, type, f) ? old : NULL;
    if (!res) log_error("metric %s registered twice with different type or labels", name);
    family_free(f);
    return res;
}

/* --- values ------------------------------------------------------------------- */

static int update(metrics_family *f, const char *const *lv, double v, int is_add) {
    if (!f || !lv_valid(f, lv) || isnan(v)) return MCM_ERR;
    if (is_add && f->type == METRICS_COUNTER && !(v >= 0)) return MCM_ERR;
    pthread_mutex_lock(&f->mu);
    series *s = family_series(f, lv);
    if (s) s->v = is_add ? s->v + v : v;
    pthread_mutex_unlock(&f->mu);
    return s ? MCM_OK : MCM_ERR;
}

int metrics_add(metrics_family *f, const char *const *lv, double delta) { return update(f, lv, delta, 1); }
int metrics_inc(metrics_family *f, const char *const *lv) { return update(f, lv, 1, 1); }
int metrics_set(metrics_family *f, const char *const *lv, double value) { return update(f, lv, value, 0); }

int metrics_get(metrics_family *f, const char *const *lv, double *out) {
    if (!f) return MCM_ERR;
    int rc = MCM_ERR;
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->n && rc != MCM_OK; i++) {
        int same = 1;
        for (int j = 0; j < f->nlabels && same; j++) same = strcmp(f->s[i].lv[j], lv_at(lv, j)) == 0;
        if (same) {
            *out = f->s[i].v;
            rc = MCM_OK;
        }
    }
    pthread_mutex_unlock(&f->mu);
    return rc;
}

void metrics_clear(metrics_family *f) {
    if (!f) return;
    pthread_mutex_lock(&f->mu);
    family_drop_series(f);
    pthread_mutex_unlock(&f->mu);
}

int metrics_replace(metrics_family *f, size_t n, const char *const *lv, const double *values) {
    if (!f || n > METRICS_MAX_SERIES || (n && !values)) return MCM_ERR;
    series *fresh = n ? calloc(n, sizeof(*fresh)) : NULL;
    if (n && !fresh) return MCM_ERR;
    size_t built = 0;
    for (; built < n; built++) {
        const char *const *row = lv ? lv + built * (size_t)f->nlabels : NULL;
        if (!lv_valid(f, row) || series_init(&fresh[built], f->nlabels, row, values[built]) != MCM_OK) break;
    }
    if (built < n) {
        for (size_t i = 0; i < built; i++) series_free(&fresh[i], f->nlabels);
        free(fresh);
        return MCM_ERR;
    }
    pthread_mutex_lock(&f->mu);
    family_drop_series(f);
    f->s = fresh;
    f->n = f->cap = n;
    pthread_mutex_unlock(&f->mu);
    return MCM_OK;
}

/* --- rendering ---------------------------------------------------------------- */

typedef struct buf {
    char *p;
    size_t len, cap;
    int oom;
} buf;

static void buf_put(buf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) cap *= 2;
        char *grown = realloc(b->p, cap);
        if (!grown) {
            b->oom = 1;
            return;
        }
        b->p = grown;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void buf_str(buf *b, const char *s) { buf_put(b, s, strlen(s)); }

/* Escapes backslash and newline, and double quote when in_label. */
static void buf_escaped(buf *b, const char *s, int in_label) {
    for (const char *p = s; *p; p++) {
        if (*p == '\\') buf_str(b, "\\\\");
        else if (*p == '\n') buf_str(b, "\\n");
        else if (*p == '"' && in_label) buf_str(b, "\\\"");
        else buf_put(b, p, 1);
    }
}

static void buf_value(buf *b, double v) {
    char num[64];
    if (isnan(v)) snprintf(num, sizeof(num), "NaN");
    else if (isinf(v)) snprintf(num, sizeof(num), v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 1e15) snprintf(num, sizeof(num), "%.0f", v);
    else snprintf(num, sizeof(num), "%.17g", v);
    buf_str(b, num);
}

void metrics_family_gate(metrics_family *f, int (*gate)(void *ctx), void *ctx) {
    if (!f) return;
    pthread_mutex_lock(&f->mu);
    f->gate = gate;
    f->gate_ctx = ctx;
    pthread_mutex_unlock(&f->mu);
}

/* 1 if f's values may be shown as stored (see metrics_family_gate). */
static int gate_open(metrics_family *f) {
    pthread_mutex_lock(&f->mu);
    int (*gate)(void *) = f->gate;
    void *ctx = f->gate_ctx;
    pthread_mutex_unlock(&f->mu);
    return !gate || gate(ctx);
}

static void render_family(buf *b, metrics_family *f) {
    int open = gate_open(f);
    buf_str(b, "# HELP ");
    buf_str(b, f->name);
    buf_str(b, " ");
    buf_escaped(b, f->help, 0);
    buf_str(b, "\n# TYPE ");
    buf_str(b, f->name);
    buf_str(b, f->type == METRICS_COUNTER ? " counter\n" : " gauge\n");
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->n; i++) {
        buf_str(b, f->name);
        for (int j = 0; j < f->nlabels; j++) {
            buf_str(b, j ? ",": "{");
            buf_str(b, f->label[j]);
            buf_str(b, "=\"");
            buf_escaped(b, f->s[i].lv[j], 1);
            buf_str(b, "\"");
        }
        buf_str(b, f->nlabels ? "} " : " ");
        buf_value(b, open ? f->s[i].v : 0);
        buf_str(b, "\n");
    }
    pthread_mutex_unlock(&f->mu);
}

char *metrics_render(metrics *m, size_t *len) {
    buf b = {0};
    buf_put(&b, "", 0);
    if (m) {
        pthread_mutex_lock(&m->mu);
        for (metrics_family *f = m->head; f; f = f->next) render_family(&b, f);
        pthread_mutex_unlock(&m->mu);
    }
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    if (len) *len = b.len;
    return b.p;
}
