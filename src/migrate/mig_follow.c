/* mig_follow.c -- catch-up that follows the clients: repeated passes plus
 * watch hints, for as long as the transition's drain window lasts (see
 * mig.h, mig_follow; mig_watch.h for the hints).
 *
 * Why: a client that has not switched yet writes (or deletes) a moving key
 * on S; once it switches it reads that key on the new owner. Until catch-up
 * has re-checked the key there, the new owner serves mcm's older copy. A
 * pass every round (what the scheduler asks for) leaves that window at up
 * to a round plus a pass. Following closes it to about a millisecond under
 * traffic: every key the watch names is re-checked at once (the same
 * CAS-guarded step as a pass), and passes repeat as the safety net for what
 * the watch cannot show (lines memcached skipped, an idle logger's delay, a
 * watch refused or lost).
 *
 * Shape: the watch opens first, then learns memcached's fd for the engine's
 * own connection (its checks appear in the stream and are skipped); an
 * index of the record's keys (open addressing over entry indices, FNV-1a)
 * built once; a dirty list of entries hinted since the last step;
 * a loop of pass -> hints until the next pass is due -> pass ... that ends
 * when yield() says another command is waiting, on cancel, on the budget,
 * or when S is lost. Between passes the wait is MIG_FOLLOW_ROUND_MS (at
 * least 4 passes' time) with a watch, the time of one pass (at least
 * MIG_FOLLOW_PAUSE_MS) without: S spends at most half its time on passes.
 * Hint re-copies are not rate limited: they follow the clients' own writes.
 *
 * Threads: the worker running the phase; yield() is called from it. */
#define LOG_COMPONENT "migrate"
#include "mig_int.h"
#include "mig_watch.h"
#include "log.h"
#include "mcm.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIG_FOLLOW_ROUND_MS 100        /* full passes this often while the watch works */
#define MIG_FOLLOW_PAUSE_MS 10         /* least pause between passes without a watch */
#define MIG_FOLLOW_SLICE_MS 20         /* longest wait before yield/cancel are looked at */
#define MIG_FOLLOW_PROBE_MS 2000       /* the watch must show our probe within this */

typedef struct follow {
    mig *m;
    size_t *slot;                      /* entry index + 1, 0 = empty */
    size_t cap;                        /* power of two */
    unsigned char *dirty;              /* per entry: queued in `queue` */
    size_t *queue, nqueue;
    uint64_t hints, passes;
    int own_cfd;                       /* memcached's fd of our own connection */
    char probe[64];                    /* the key that finds it */
} follow;

static uint64_t fnv1a(const unsigned char *k, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ k[i]) * 1099511628211ull;
    return h;
}

static int index_build(follow *f) {
    mig_list *l = &f->m->rec;
    f->cap = 16;
    while (f->cap < 2 * l->n) f->cap *= 2;
    f->slot = calloc(f->cap, sizeof(*f->slot));
    f->dirty = calloc(l->n ? l->n : 1, 1);
    f->queue = calloc(l->n ? l->n : 1, sizeof(*f->queue));
    if (!f->slot || !f->dirty || !f->queue) return MCM_ERR;
    for (size_t i = 0; i < l->n; i++) {
        if (l->e[i].state != ST_COPIED) continue;
        size_t s = (size_t)fnv1a(mig_entry_key(l, &l->e[i]), l->e[i].klen) & (f->cap - 1);
        while (f->slot[s]) s = (s + 1) & (f->cap - 1);
        f->slot[s] = i + 1;
    }
    return MCM_OK;
}

static void index_free(follow *f) {
    free(f->slot);
    free(f->dirty);
    free(f->queue);
}

/* mig_watch_key_fn: queue the entry a hinted key names, once. */
static void on_key(void *arg, const unsigned char *key, size_t len, int cfd) {
    follow *f = arg;
    mig_list *l = &f->m->rec;
    if (cfd == f->own_cfd) return;                 /* our own mg: not a client */
    for (size_t s = (size_t)fnv1a(key, len) & (f->cap - 1); f->slot[s]; s = (s + 1) & (f->cap - 1)) {
        size_t i = f->slot[s] - 1;
        if (l->e[i].klen != len || memcmp(mig_entry_key(l, &l->e[i]), key, len) != 0) continue;
        if (l->e[i].state == ST_COPIED && !f->dirty[i]) {
            f->dirty[i] = 1;
            f->queue[f->nqueue++] = i;
            f->hints++;
            MIG_ADD(f->m, hinted, 1);
        }
        return;
    }
}

static void on_probe(void *arg, const unsigned char *key, size_t len, int cfd) {
    follow *f = arg;
    if (len == strlen(f->probe) && memcmp(key, f->probe, len) == 0) f->own_cfd = cfd;
}

/* Which cfd memcached gave `src`: the engine's own checks show in the watch
 * like a client's and must not hint themselves (each check would hint the
 * next). One mg of a key nobody uses, then the line that names it. MCM_ERR
 * if it does not show within MIG_FOLLOW_PROBE_MS: the watch is not used. */
static int learn_own_cfd(follow *f, mig_watch *w, mig_conn *src, char *err, size_t errlen) {
    mig_key k;
    mig_reply r;
    snprintf(f->probe, sizeof(f->probe), "mcm:follow-probe:%d:%lld", (int)getpid(), (long long)util_now_ms());
    f->own_cfd = -1;
    if (mig_key_token(f->probe, strlen(f->probe), &k) != MCM_OK || mig_conn_mg(src, &k, NULL) != MCM_OK ||
        mig_conn_reply(src, &r) != MCM_OK) {
        snprintf(err, errlen, "probe: %s", mig_conn_errstr(src));
        return MCM_ERR;
    }
    for (int64_t until = util_now_ms() + MIG_FOLLOW_PROBE_MS; f->own_cfd < 0 && util_now_ms() < until;) {
        int lost = 0;
        if (mig_watch_poll(w, MIG_FOLLOW_SLICE_MS, on_probe, f, &lost, err, errlen) != MCM_OK) return MCM_ERR;
    }
    if (f->own_cfd < 0) snprintf(err, errlen, "the probe key did not show within %d ms", MIG_FOLLOW_PROBE_MS);
    return f->own_cfd >= 0 ? MCM_OK : MCM_ERR;
}

/* Re-checks the queued entries that are still mcm's copies. */
static int drain_queue(follow *f, mig_conn *src, char *err, size_t errlen) {
    size_t batch[MIG_BATCH_KEYS];
    size_t q = 0;
    int rc = MCM_OK;
    while (rc == MCM_OK && q < f->nqueue) {
        size_t n = 0;
        for (; q < f->nqueue && n < MIG_BATCH_KEYS; q++) {
            f->dirty[f->queue[q]] = 0;
            if (f->m->rec.e[f->queue[q]].state == ST_COPIED) batch[n++] = f->queue[q];
        }
        uint64_t bytes = 0;
        if (n) rc = mig_catchup_batch(f->m, src, batch, n, &bytes, err, errlen);
    }
    for (; q < f->nqueue; q++) f->dirty[f->queue[q]] = 0;
    f->nqueue = 0;
    return rc;
}

static int must_stop(mig *m, mig_yield_fn yield, void *arg) {
    return mig_is_cancelled(m) || mig_out_of_time(m) || (yield && yield(arg));
}

/* Until `until`: hints (or a plain wait). 1 to stop, 0 for the next pass,
 * MCM_ERR if S was lost. A watch that breaks is dropped (passes go on). */
static int wait_hints(follow *f, mig_watch **w, mig_conn *src, int64_t until, mig_yield_fn yield, void *arg,
                      char *err, size_t errlen) {
    for (int64_t now = util_now_ms(); now < until; now = util_now_ms()) {
        if (must_stop(f->m, yield, arg)) return 1;
        int wait = (int)(until - now < MIG_FOLLOW_SLICE_MS ? until - now : MIG_FOLLOW_SLICE_MS);
        if (!*w) { util_sleep_ms(wait); continue; }
        int lost = 0;
        char werr[256];
        if (mig_watch_poll(*w, wait, on_key, f, &lost, werr, sizeof(werr)) != MCM_OK) {
            log_notice("catch-up of %s: %s: full passes only from now", f->m->source, werr);
            mig_watch_free(*w);
            *w = NULL;
        }
        if (drain_queue(f, src, err, errlen) != MCM_OK) return MCM_ERR;
        if (lost) return 0;                        /* lines skipped: a pass sees everything */
    }
    return 0;
}

static int64_t pause_after(const mig_watch *w, int64_t pass_ms) {
    if (w) return pass_ms * 4 > MIG_FOLLOW_ROUND_MS ? pass_ms * 4 : MIG_FOLLOW_ROUND_MS;
    return pass_ms > MIG_FOLLOW_PAUSE_MS ? pass_ms : MIG_FOLLOW_PAUSE_MS;
}

/* The first pass, within by_ms (0: the phase's budget alone): what it could
 * not check by then is deleted on the new owners, so that when passed()
 * lets the copy's done go, no copy on a new owner is unverified. */
static int first_pass(follow *f, mig_conn *src, size_t *cursor, int64_t by_ms, char *err, size_t errlen) {
    mig *m = f->m;
    int64_t budget = m->deadline;
    if (by_ms > 0 && by_ms < budget) m->deadline = by_ms;      /* this thread alone reads it */
    int rc = mig_catchup_pass(m, src, cursor, err, errlen);
    m->deadline = budget;
    if (rc == MCM_OK && *cursor < m->rec.n) {
        log_notice("catch-up of %s: the copy's budget ended before its check: deleting the %zu copies "
                   "not checked on their new owners", m->source, m->rec.n - *cursor);
        mig_catchup_drop_unchecked(m, *cursor);
        *cursor = m->rec.n;
    }
    return rc;
}

static int follow_loop(follow *f, mig_watch **w, mig_conn *src, size_t *cursor, mig_yield_fn yield,
                       void (*passed)(void *arg), void *arg, int64_t first_by_ms, char *err, size_t errlen) {
    for (;;) {
        int64_t t0 = util_now_ms();
        int rc = f->passes == 0 ? first_pass(f, src, cursor, first_by_ms, err, errlen)
                                : mig_catchup_pass(f->m, src, cursor, err, errlen);
        if (rc != MCM_OK) return MCM_ERR;
        if (f->passes++ == 0 && passed) passed(arg);
        if (must_stop(f->m, yield, arg)) return MCM_OK;
        int64_t now = util_now_ms();
        int r = wait_hints(f, w, src, now + pause_after(*w, now - t0), yield, arg, err, errlen);
        if (r == MCM_ERR) return MCM_ERR;
        if (r == 1) return MCM_OK;
    }
}

int mig_follow(mig *m, mig_yield_fn yield, void (*passed)(void *arg), void *arg, int64_t first_by_ms,
               char *err, size_t errlen) {
    if (mig_catchup_begin(m, err, errlen) != MCM_OK) return MCM_ERR;
    follow f = {.m = m};
    size_t cursor = 0;
    int rc = MCM_ERR;
    char werr[256] = "";
    mig_watch *w = NULL;
    mig_conn *src = NULL;
    if (index_build(&f) != MCM_OK) snprintf(err, errlen, "out of memory");
    else if ((src = mig_conn_open(m->source, m->io_timeout_ms, err, errlen))) {
        /* The watch first: a write during the first pass is then hinted. */
        if (!(w = mig_watch_open(m->source, m->io_timeout_ms, werr, sizeof(werr))) ||
            learn_own_cfd(&f, w, src, werr, sizeof(werr)) != MCM_OK) {
            log_notice("catch-up of %s: no watch stream (%s): full passes only", m->source, werr);
            mig_watch_free(w);
            w = NULL;
        }
        rc = follow_loop(&f, &w, src, &cursor, yield, passed, arg, first_by_ms, err, errlen);
    }
    log_info("catch-up of %s: followed for %lld ms: %llu passes, %llu keys hinted", m->source,
             (long long)(util_now_ms() - m->phase_start), (unsigned long long)f.passes,
             (unsigned long long)f.hints);
    mig_watch_free(w);
    mig_conn_free(src);
    index_free(&f);
    return mig_catchup_end(m, cursor, rc, err);
}
