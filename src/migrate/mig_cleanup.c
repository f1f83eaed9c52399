/* mig_cleanup.c -- the last step of a transition on S: delete every key S
 * does not own under R' (see mig.h; the invariant and who keeps it: mig.c).
 *
 * Shape: a fresh metadump of S (the record is not enough: clients that had
 * not switched yet may have written keys after the copy), then pipelined
 * plain `md <key>` on S in batches. No CAS guard: whatever S holds for a key
 * it does not own is by definition a copy nobody must read again.
 * Not rate limited: a delete moves a few bytes. Up to MIG_CLEANUP_WALKS
 * walks, until one finds nothing left to delete (see mig_cleanup).
 * Threads: the worker running the phase. */
#define LOG_COMPONENT "migrate"
#include "mig_int.h"
#include "log.h"
#include "mcm.h"

#include <stdio.h>

static int delete_batch(mig *m, mig_conn *src, mig_list *l, size_t from, size_t to, char *err, size_t errlen) {
    size_t na = 0;
    for (size_t i = from; i < to; i++) {
        mig_key k;
        if (mig_entry_token(l, &l->e[i], &k) != MCM_OK) { MIG_ADD(m, keys_skipped, 1); continue; }
        if (mig_conn_md(src, &k, NULL) != MCM_OK) break;
        na++;
    }
    for (size_t j = 0; j < na; j++) {
        mig_reply r;
        if (mig_conn_reply(src, &r) != MCM_OK) {
            snprintf(err, errlen, "source lost: %s", mig_conn_errstr(src));
            return MCM_ERR;
        }
        if (r.rc == MIG_RC_HD) MIG_ADD(m, deleted, 1);
        else if (r.rc != MIG_RC_NF) MIG_ADD(m, errors, 1);
    }
    return MCM_OK;
}

/* One walk: a fresh metadump, then the deletes. *deleted: how many. */
static int cleanup_walk(mig *m, uint64_t *deleted, char *err, size_t errlen) {
    mig_list l = {0};
    mig_conn *src = NULL;
    mig_progress before;
    mig_progress_get(m, &before);
    int rc = mig_collect(m, &l, err, errlen);
    if (rc == MCM_OK && !(src = mig_conn_open(m->source, m->io_timeout_ms, err, errlen))) rc = MCM_ERR;
    for (size_t from = 0; rc == MCM_OK && from < l.n; from += MIG_BATCH_KEYS) {
        if (mig_is_cancelled(m)) { snprintf(err, errlen, "cancelled"); rc = MCM_ERR; break; }
        size_t to = from + MIG_BATCH_KEYS < l.n ? from + MIG_BATCH_KEYS : l.n;
        rc = delete_batch(m, src, &l, from, to, err, errlen);
        mig_set_remaining(m, l.n - to, 0);
    }
    mig_conn_free(src);
    mig_list_clear(&l);
    mig_progress after;
    mig_progress_get(m, &after);
    *deleted = after.deleted - before.deleted;
    return rc;
}

int mig_cleanup(mig *m, char *err, size_t errlen) {
    mig_phase_begin(m, MIG_PHASE_CLEANUP);
    uint64_t deleted = 0;
    int rc = MCM_OK, walks = 0;
    /* Walk again while the last walk found something: metadump can pass an
     * item over while the LRU maintainer moves it, and a client that had not
     * switched may write one meanwhile. A walk that deletes nothing ends it. */
    uint64_t seen = 0;
    do {
        rc = cleanup_walk(m, &deleted, err, errlen);
        if (walks == 0) {
            mig_progress p;
            mig_progress_get(m, &p);
            seen = p.keys_seen;
        }
    } while (rc == MCM_OK && deleted > 0 && ++walks < MIG_CLEANUP_WALKS);
    pthread_mutex_lock(&m->lock);
    m->prog.keys_seen = seen;                    /* what S held when the cleanup began */
    pthread_mutex_unlock(&m->lock);
    mig_set_remaining(m, 0, 0);
    return mig_phase_end(m, rc, err);
}
