/* watch_format.c -- srvlist -> plain, JSON, twemproxy YAML, mcrouter JSON.
 *
 * Shape: one small growable buffer (`fbuf`) with a sticky out-of-memory flag,
 * so each formatter is a straight loop of appends checked once at the end.
 * Names that end up inside YAML or JSON (pool names; hosts, which srvlist
 * already restricts to [A-Za-z0-9._:-]) are restricted to a safe character
 * set instead of escaped.
 * Placement: the twemproxy pool puts every key where mcm's ring (src/ring)
 * does; mcrouter cannot (no ketama) and says which hash it uses instead;
 * watch_fmt_owner answers from the ring itself.
 * Threads: any (no state). Invariant: every formatter output ends with "\n"
 * unless it is empty (plain format, empty list). */
#include "watch_format.h"
#include "mcm.h"
#include "ring.h"

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

/* The twemproxy pool. nutcracker's ketama hashes a server line's NAME when
 * it has one, else "host:port", except at port 11211 where it hashes "host"
 * (measured with nutcracker 0.5.0; docs/clients.md). Naming every server by
 * its own "host:port" makes the points those of mcm's ring at every port. */
char *watch_fmt_twemproxy(const srvlist *l, const char *pool, const char *listen) {
    fbuf b = {0};
    fb_printf(&b, "# written by mcm-watch from server list version %lld; do not edit\n",
              (long long)l->version);
    fb_printf(&b, "# keys on mcm's ring (%s): hash md5, distribution ketama, each server named "
                  "by its host:port\n", RING_NAME);
    if (l->n == 0)
        fb_printf(&b, "# the server list is EMPTY: 127.0.0.1:1 is a placeholder that refuses "
                      "connections (nutcracker needs at least one server)\n");
    fb_printf(&b, "%s:\n  listen: %s\n  hash: md5\n  distribution: ketama\n"
                  "  auto_eject_hosts: false\n  timeout: 400\n  servers:\n", pool, listen);
    if (l->n == 0) fb_printf(&b, "   - 127.0.0.1:1:1 mcm-empty\n");
    for (int i = 0; i < l->n; i++) {
        const srv_entry *e = &l->servers[i];
        fb_printf(&b, "   - %s:%d:1 %s:%d\n", e->host, e->port, e->host, e->port);
    }
    return fb_finish(&b);
}

/* mcrouter has no ketama: its PoolRoute hashes keys with Ch3 (furc_hash over
 * the pool's server ORDER), written out so the choice is visible in the file.
 * The order is the published one (sorted by host, port), so every mcrouter
 * fed from the same list agrees with every other, not with ketama clients. */
char *watch_fmt_mcrouter(const srvlist *l, const char *pool) {
    fbuf b = {0};
    fb_printf(&b, "{\"pools\":{\"%s\":{\"servers\":[", pool);
    for (int i = 0; i < l->n; i++) {
        fb_printf(&b, "%s\"", i ? "," : "");
        fb_addr(&b, &l->servers[i]);
        fb_printf(&b, "\"");
    }
    fb_printf(&b, "]}},\"route\":{\"type\":\"PoolRoute\",\"pool\":\"%s\",\"hash\":{\"hash_func\":\"%s\"}}}\n",
              pool, WATCH_MCROUTER_HASH);
    return fb_finish(&b);
}

char *watch_fmt_owner(const srvlist *l, const char *key, size_t keylen, char *err, size_t errlen) {
    if (l->ring[0] && strcmp(l->ring, RING_NAME) != 0) {
        snprintf(err, errlen, "the list names ring \"%s\"; this program places keys on \"%s\" only",
                 l->ring, RING_NAME);
        return NULL;
    }
    if (l->n == 0) {
        snprintf(err, errlen, "the published list (version %lld) is EMPTY: no server owns the key",
                 (long long)l->version);
        return NULL;
    }
    ring *r = ring_from_srvlist(l, err, errlen);
    if (!r) return NULL;
    fbuf b = {0};
    fb_printf(&b, "%s\n", ring_owner_name(r, key, keylen));
    ring_free(r);
    char *out = fb_finish(&b);
    if (!out) snprintf(err, errlen, "out of memory");
    return out;
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
