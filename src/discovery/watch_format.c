/* watch_format.c -- srvlist -> plain, JSON, twemproxy YAML, mcrouter JSON.
 *
 * Shape: one small growable buffer (`fbuf`) with a sticky out-of-memory flag,
 * so each formatter is a straight loop of appends checked once at the end.
 * Names that end up inside YAML or JSON (pool names, task IDs as nutcracker
 * server names) are restricted to a safe character set instead of escaped:
 * a task ID outside it is simply not written as a name.
 * Threads: any (no state). Invariant: every formatter output ends with "\n"
 * unless it is empty (plain format, empty list). */
#include "watch_format.h"
#include "mcm.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fbuf {
    char *p;
    size_t len, cap;
    int oom;
} fbuf;

static void fb_printf(fbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fb_printf(fbuf *b, const char *fmt, ...) {
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) { b->oom = 1; return; }
        if (b->p && b->len + (size_t)n < b->cap) { b->len += (size_t)n; return; }
        size_t cap = (b->cap ? b->cap * 2 : 256) + (size_t)n;
        char *g = realloc(b->p, cap);
        if (!g) { b->oom = 1; return; }
        b->p = g;
        b->cap = cap;
        b->p[b->len] = '\0';
    }
}

static char *fb_finish(fbuf *b) {
    if (!b->p && !b->oom) fb_printf(b, "%s", "");
    if (b->oom) { free(b->p); return NULL; }
    return b->p;
}

static int safe_name(const char *s, size_t max) {
    size_t n = strlen(s);
    if (n == 0 || n > max) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '-' || c == '.';
        if (!ok) return 0;
    }
    return 1;
}

int watch_pool_name_ok(const char *name) { return name && !strchr(name, '.') && safe_name(name, 64); }

int watch_fmt_parse(const char *name, watch_fmt *out) {
    static const char *names[] = {"plain", "json", "twemproxy", "mcrouter"};
    for (size_t i = 0; i < MCM_ARRAY_LEN(names); i++) {
        if (name && strcmp(name, names[i]) == 0) {
            *out = (watch_fmt)i;
            return 0;
        }
    }
    return -1;
}

/* "host:port", or "[host]:port" for an IPv6 literal. */
static void fb_addr(fbuf *b, const srv_entry *e) {
    if (strchr(e->host, ':')) fb_printf(b, "[%s]:%d", e->host, e->port);
    else fb_printf(b, "%s:%d", e->host, e->port);
}

char *watch_fmt_plain(const srvlist *l) {
    fbuf b = {0};
    for (int i = 0; i < l->n; i++) {
        fb_addr(&b, &l->servers[i]);
        fb_printf(&b, "\n");
    }
    return fb_finish(&b);
}

char *watch_fmt_json(const srvlist *l) {
    char *doc = srvlist_to_json(l);
    if (!doc) return NULL;
    fbuf b = {0};
    fb_printf(&b, "%s\n", doc);
    free(doc);
    return fb_finish(&b);
}

char *watch_fmt_twemproxy(const srvlist *l, const char *pool, const char *listen) {
    fbuf b = {0};
    fb_printf(&b, "# written by mcm-watch from server list version %lld; do not edit\n",
              (long long)l->version);
    if (l->n == 0)
        fb_printf(&b, "# the server list is EMPTY: 127.0.0.1:1 is a placeholder that refuses "
                      "connections (nutcracker needs at least one server)\n");
    fb_printf(&b, "%s:\n  listen: %s\n  hash: fnv1a_64\n  distribution: ketama\n"
                  "  auto_eject_hosts: false\n  timeout: 400\n  servers:\n", pool, listen);
    if (l->n == 0) fb_printf(&b, "   - 127.0.0.1:1:1 mcm-empty\n");
    for (int i = 0; i < l->n; i++) {
        const srv_entry *e = &l->servers[i];
        fb_printf(&b, "   - %s:%d:1", e->host, e->port);
        if (safe_name(e->task_id, 200)) fb_printf(&b, " %s", e->task_id);
        fb_printf(&b, "\n");
    }
    return fb_finish(&b);
}

char *watch_fmt_mcrouter(const srvlist *l, const char *pool) {
    fbuf b = {0};
    fb_printf(&b, "{\"pools\":{\"%s\":{\"servers\":[", pool);
    for (int i = 0; i < l->n; i++) {
        fb_printf(&b, "%s\"", i ? "," : "");
        fb_addr(&b, &l->servers[i]);
        fb_printf(&b, "\"");
    }
    fb_printf(&b, "]}},\"route\":\"PoolRoute|%s\"}\n", pool);
    return fb_finish(&b);
}

char *watch_format(const srvlist *l, watch_fmt fmt, const char *pool, const char *listen) {
    switch (fmt) {
    case WATCH_FMT_PLAIN: return watch_fmt_plain(l);
    case WATCH_FMT_JSON: return watch_fmt_json(l);
    case WATCH_FMT_TWEMPROXY: return watch_fmt_twemproxy(l, pool, listen);
    case WATCH_FMT_MCROUTER: return watch_fmt_mcrouter(l, pool);
    }
    return NULL;
}
