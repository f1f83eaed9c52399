/* mig_dump.c -- `lru_crawler metadump` parser (see mig_dump.h).
 *
 * Shape: a resumable line splitter with one bounded line buffer, then a
 * field parser over "name=value" tokens keyed by name (never by position).
 * Lines are handed over whole, so the field parser is a pure function that
 * tests can call on any line.
 * Threads: the owner's. Invariant: the line buffer holds at most
 * MIG_DUMP_LINE_MAX bytes; `overlong` is set while the rest of an over-long
 * line is being skipped; after `done` or an error nothing more is parsed. */
#include "mig_dump.h"
#include "mcm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mig_dump {
    mig_dump_cb cb;
    void *arg;
    char line[MIG_DUMP_LINE_MAX];
    size_t llen;
    int overlong;
    int done, busy, first;
    uint64_t items, bad;
    char errstr[256];
};

mig_dump *mig_dump_new(mig_dump_cb cb, void *arg) {
    mig_dump *d = calloc(1, sizeof(*d));
    if (!d) return NULL;
    d->cb = cb;
    d->arg = arg;
    d->first = 1;
    return d;
}

void mig_dump_free(mig_dump *d) { free(d); }
int mig_dump_done(const mig_dump *d) { return d->done; }
int mig_dump_busy(const mig_dump *d) { return d->busy; }
uint64_t mig_dump_items(const mig_dump *d) { return d->items; }
uint64_t mig_dump_bad_lines(const mig_dump *d) { return d->bad; }
const char *mig_dump_errstr(const mig_dump *d) { return d->errstr; }

static int parse_i64(const char *s, size_t n, int64_t *out) {
    char tmp[24], *end;
    if (n == 0 || n >= sizeof(tmp)) return MCM_ERR;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    if (tmp[0] != '-' && (tmp[0] < '0' || tmp[0] > '9')) return MCM_ERR;
    errno = 0;
    long long v = strtoll(tmp, &end, 10);
    if (*end || errno) return MCM_ERR;
    *out = v;
    return MCM_OK;
}

int mig_kv_u64(const char *s, size_t n, uint64_t *out) {
    char tmp[24], *end;
    if (n == 0 || n >= sizeof(tmp) || s[0] < '0' || s[0] > '9') return MCM_ERR;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    errno = 0;
    unsigned long long v = strtoull(tmp, &end, 10);
    if (*end || errno) return MCM_ERR;
    *out = v;
    return MCM_OK;
}

/* One "name=value" token. Unknown names are ignored. */
static int parse_field(const char *n, size_t nl, const char *v, size_t vl, mig_dump_item *it, int *seen_key) {
    int64_t i;
    if (nl == 3 && !memcmp(n, "key", 3)) {
        *seen_key = 1;
        return mig_key_urldecode(v, vl, it->key, &it->klen);
    }
    if (nl == 3 && !memcmp(n, "exp", 3)) return parse_i64(v, vl, &it->exp);
    if (nl == 2 && !memcmp(n, "la", 2)) return parse_i64(v, vl, &it->la);
    if (nl == 3 && !memcmp(n, "cas", 3)) return mig_kv_u64(v, vl, &it->cas);
    if (nl == 4 && !memcmp(n, "size", 4)) return mig_kv_u64(v, vl, &it->size);
    if (nl == 3 && !memcmp(n, "cls", 3)) {
        if (parse_i64(v, vl, &i) != MCM_OK || i < 0 || i > 255) return MCM_ERR;
        it->cls = (int)i;
        return MCM_OK;
    }
    if (nl == 5 && !memcmp(n, "fetch", 5)) {
        if (vl == 3 && !memcmp(v, "yes", 3)) it->fetched = 1;
        else if (vl == 2 && !memcmp(v, "no", 2)) it->fetched = 0;
        else return MCM_ERR;
    }
    return MCM_OK;
}

int mig_dump_parse_line(const char *line, size_t len, mig_dump_item *it) {
    memset(it, 0, sizeof(*it));
    it->exp = -1;
    int seen_key = 0, r;
    size_t p = 0;
    mig_kv kv;
    while ((r = mig_kv_next(line, len, &p, &kv)) == 1)
        if (parse_field(kv.name, kv.nlen, kv.value, kv.vlen, it, &seen_key) != MCM_OK) return MCM_ERR;
    return r == 0 && seen_key ? MCM_OK : MCM_ERR;
}

int mig_kv_next(const char *line, size_t len, size_t *pos, mig_kv *kv) {
    size_t p = *pos;
    while (p < len && line[p] == ' ') p++;
    size_t t = p;
    while (p < len && line[p] != ' ') p++;
    *pos = p;
    if (t == p) return 0;
    const char *eq = memchr(line + t, '=', p - t);
    if (!eq) return MCM_ERR;
    kv->name = line + t;
    kv->nlen = (size_t)(eq - (line + t));
    kv->value = eq + 1;
    kv->vlen = p - t - kv->nlen - 1;
    return 1;
}

static int starts(const char *l, size_t n, const char *word) {
    size_t w = strlen(word);
    return n >= w && !memcmp(l, word, w) && (n == w || l[w] == ' ');
}

/* A refusal instead of items: only meaningful as the first line. */
static int refusal(mig_dump *d, const char *l, size_t n) {
    static const char *const WORDS[] = {"BUSY", "BADCLASS", "ERROR", "CLIENT_ERROR", "SERVER_ERROR"};
    for (size_t i = 0; i < MCM_ARRAY_LEN(WORDS); i++)
        if (starts(l, n, WORDS[i])) {
            d->busy = i == 0;
            snprintf(d->errstr, sizeof(d->errstr), "metadump refused: %.*s", (int)(n < 200 ? n : 200), l);
            return 1;
        }
    return 0;
}

static int handle_line(mig_dump *d, const char *l, size_t n) {
    if (n && l[n - 1] == '\r') n--;
    int first = d->first;
    d->first = 0;
    if (n == 3 && !memcmp(l, "END", 3)) {
        d->done = 1;
        return MCM_OK;
    }
    if (first && refusal(d, l, n)) return MCM_ERR;
    mig_dump_item it;
    if (mig_dump_parse_line(l, n, &it) != MCM_OK) {
        d->bad++;
        return MCM_OK;
    }
    d->items++;
    if (d->cb && d->cb(d->arg, &it) != 0) {
        snprintf(d->errstr, sizeof(d->errstr), "metadump stopped by its reader");
        return MCM_ERR;
    }
    return MCM_OK;
}

/* Appends [p, p+n) to the pending line, or drops it once the line is too long. */
static void take_partial(mig_dump *d, const char *p, size_t n) {
    if (d->overlong) return;
    if (d->llen + n > sizeof(d->line)) {
        d->overlong = 1;
        return;
    }
    memcpy(d->line + d->llen, p, n);
    d->llen += n;
}

long mig_dump_feed(mig_dump *d, const char *buf, size_t len) {
    if (d->errstr[0]) return -1;
    size_t p = 0;
    while (p < len && !d->done) {
        const char *nl = memchr(buf + p, '\n', len - p);
        size_t n = nl ? (size_t)(nl - (buf + p)) : len - p;
        take_partial(d, buf + p, n);
        p += n;
        if (!nl) break;
        p++;                                   /* the '\n' */
        int over = d->overlong;
        d->overlong = 0;
        size_t ll = d->llen;
        d->llen = 0;
        if (over) { d->bad++; d->first = 0; continue; }
        if (handle_line(d, d->line, ll) != MCM_OK) return -1;
    }
    return (long)p;
}
