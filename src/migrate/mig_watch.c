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
#include "mig_dump.h"
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

static int is(const char *s, size_t n, const char *word) { return n == strlen(word) && memcmp(s, word, n) == 0; }

int mig_watch_line(const char *s, size_t n, unsigned char *key, size_t *len, int *cfd) {
    const char *k = NULL;
    size_t kl = 0, p = 0;
    int item = 0, r;
    uint64_t fd;
    mig_kv kv;
    *cfd = -1;
    while ((r = mig_kv_next(s, n, &p, &kv)) == 1) {
        if (is(kv.name, kv.nlen, "skipped")) return 2;
        if (is(kv.name, kv.nlen, "type")) item = is(kv.value, kv.vlen, "item_get") || is(kv.value, kv.vlen, "item_store");
        else if (is(kv.name, kv.nlen, "key")) k = kv.value, kl = kv.vlen;
        else if (is(kv.name, kv.nlen, "cfd") && mig_kv_u64(kv.value, kv.vlen, &fd) == MCM_OK && fd <= 999999999)
            *cfd = (int)fd;
    }
    if (r != 0 || !item || !k || kl == 0 || mig_key_urldecode(k, kl, key, len) != MCM_OK) return 0;
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
