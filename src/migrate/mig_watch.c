/* mig_watch.c -- memcached's `watch` stream as key hints (see mig_watch.h).
 *
 * Shape: one mig_conn; the command goes out raw, the first line must be OK;
 * then mig_conn_drain hands buffered bytes to feed(), which splits complete
 * lines (a partial line stays buffered for the next poll) and parses each
 * with mig_watch_line. Lines end in "\n" (the logger's format), the first
 * reply in "\r\n": both are accepted.
 * Threads: the owning thread. */
#include "mig_watch.h"
#include "mig_conn.h"
#include "mig_key.h"
#include "mcm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIG_WATCH_LINE_MAX 4096          /* a longer "line" is not memcached's: fail */

struct mig_watch {
    mig_conn *c;
};

typedef struct feed_state {
    mig_watch_key_fn fn;
    void *arg;
    int lost;
    int first;                           /* waiting for the OK */
    int refused;
} feed_state;

static const char *find_token(const char *s, size_t n, const char *tok, size_t *vlen) {
    size_t tl = strlen(tok);
    for (size_t i = 0; i + tl <= n; i++) {
        if ((i == 0 || s[i - 1] == ' ') && memcmp(s + i, tok, tl) == 0) {
            const char *v = s + i + tl, *e = memchr(v, ' ', n - (size_t)(v - s));
            *vlen = e ? (size_t)(e - v) : n - (size_t)(v - s);
            return v;
        }
    }
    return NULL;
}

static int parse_cfd(const char *s, size_t n) {
    size_t vl;
    const char *v = find_token(s, n, "cfd=", &vl);
    int cfd = 0;
    if (!v || vl == 0 || vl > 9) return -1;
    for (size_t i = 0; i < vl; i++) {
        if (v[i] < '0' || v[i] > '9') return -1;
        cfd = cfd * 10 + (v[i] - '0');
    }
    return cfd;
}

int mig_watch_line(const char *s, size_t n, unsigned char *key, size_t *len, int *cfd) {
    size_t vl;
    *cfd = -1;
    if (n >= 8 && memcmp(s, "skipped=", 8) == 0) return 2;
    const char *type = find_token(s, n, "type=", &vl);
    if (!type || !((vl == 8 && memcmp(type, "item_get", 8) == 0) || (vl == 10 && memcmp(type, "item_store", 10) == 0)))
        return 0;
    const char *k = find_token(s, n, "key=", &vl);
    if (!k || vl == 0 || mig_key_urldecode(k, vl, key, len) != MCM_OK) return 0;
    *cfd = parse_cfd(s, n);
    return 1;
}

static long feed(void *arg, const char *buf, size_t len, int *done) {
    feed_state *f = arg;
    size_t used = 0;
    while (used < len) {
        const char *nl = memchr(buf + used, '\n', len - used);
        if (!nl) break;
        size_t n = (size_t)(nl - (buf + used));
        const char *line = buf + used;
        used += n + 1;
        if (n && line[n - 1] == '\r') n--;
        if (f->first) {
            f->first = 0;
            *done = 1;
            if (n != 2 || memcmp(line, "OK", 2) != 0) { f->refused = 1; return (long)used; }
            return (long)used;                       /* the rest: the next poll's */
        }
        unsigned char key[MIG_KEY_MAX];
        size_t kl = 0;
        int cfd, r = mig_watch_line(line, n, key, &kl, &cfd);
        if (r == 2) f->lost = 1;
        else if (r == 1 && f->fn) f->fn(f->arg, key, kl, cfd);
    }
    if (len - used > MIG_WATCH_LINE_MAX) return -1;
    return (long)used;
}

mig_watch *mig_watch_open(const char *addr, int timeout_ms, char *err, size_t errlen) {
    mig_watch *w = calloc(1, sizeof(*w));
    if (!w) { snprintf(err, errlen, "out of memory"); return NULL; }
    if (!(w->c = mig_conn_open(addr, timeout_ms, err, errlen))) { free(w); return NULL; }
    feed_state f = {.first = 1};
    if (mig_conn_raw(w->c, MIG_WATCH_COMMAND) != MCM_OK || mig_conn_stream(w->c, feed, &f) != MCM_OK) {
        snprintf(err, errlen, "%s", mig_conn_errstr(w->c));
        mig_watch_free(w);
        return NULL;
    }
    if (f.refused) {
        snprintf(err, errlen, "%s refused `%s`", addr, MIG_WATCH_COMMAND);
        mig_watch_free(w);
        return NULL;
    }
    return w;
}

void mig_watch_free(mig_watch *w) {
    if (!w) return;
    mig_conn_free(w->c);
    free(w);
}

int mig_watch_poll(mig_watch *w, int wait_ms, mig_watch_key_fn fn, void *arg, int *lost, char *err,
                   size_t errlen) {
    feed_state f = {.fn = fn, .arg = arg};
    if (mig_conn_drain(w->c, wait_ms, feed, &f) != MCM_OK) {
        snprintf(err, errlen, "watch stream lost: %s", mig_conn_errstr(w->c));
        return MCM_ERR;
    }
    if (f.lost) *lost = 1;
    return MCM_OK;
}
