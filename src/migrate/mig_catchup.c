/* mig_catchup.c -- catch-up after R' is published, and undo on abort (see
 * mig.h; the invariant and who keeps it: mig.c).
 *
 * Shape: a pass over the COPIED entries of the record in batches. For each
 * batch, one pipeline `mg <key> c u` on S (the CAS only: most keys did not
 * change, so their values are not read again); then, for the keys whose CAS
 * changed, `mg <key> v f t c u` and `ms ... C<cas of mcm's copy>` on the
 * owner; for keys gone from S, `md <key> C<cas of mcm's copy>`. The owner
 * answers EX when a client wrote the key there since: that value is the
 * client's and is left alone (KEPT). Past the budget, or if S is lost, the
 * copies not checked are deleted the same guarded way: cold, never stale.
 *
 * Threads: the worker running the phase. Invariant: every request this file
 * sends to a new owner carries C<cas of mcm's copy>. */
#define LOG_COMPONENT "migrate"
#include "mig_int.h"
#include "log.h"
#include "mcm.h"

#include <stdio.h>
#include <string.h>

#define MIG_CAS_FLAGS "c u"

/* Sorts one batch of COPIED entries into unchanged, changed (idx[]) and gone
 * (md queued). MCM_ERR if S's connection failed. */
static int check_batch(mig *m, mig_conn *src, const size_t *batch, size_t n, size_t *changed, size_t *nch,
                       char *err, size_t errlen) {
    mig_list *l = &m->rec;
    for (size_t j = 0; j < n; j++) {
        mig_key k;
        mig_entry_token(l, &l->e[batch[j]], &k);      /* COPIED: it had a token */
        if (mig_conn_mg(src, &k, MIG_CAS_FLAGS) != MCM_OK) break;
    }
    for (size_t j = 0; j < n; j++) {
        mig_entry *e = &l->e[batch[j]];
        mig_reply r = {0};
        if (mig_conn_reply(src, &r) != MCM_OK) {
            snprintf(err, errlen, "source lost: %s", mig_conn_errstr(src));
            return MCM_ERR;
        }
        if (r.rc == MIG_RC_HD && (r.have & MIG_HAVE_CAS) && r.cas == e->src_cas) continue;
        if (r.rc == MIG_RC_HD || r.rc == MIG_RC_EN) changed[(*nch)++] = batch[j];   /* EN: md below */
        else { MIG_ADD(m, errors, 1); e->state = ST_PENDING; }
    }
    return MCM_OK;
}

int mig_catchup_batch(mig *m, mig_conn *src, const size_t *batch, size_t n, uint64_t *bytes, char *err,
                      size_t errlen) {
    size_t changed[MIG_BATCH_KEYS], nch = 0;
    int rc = check_batch(m, src, batch, n, changed, &nch, err, errlen);
    if (rc == MCM_OK && nch) rc = mig_read_and_queue(m, &m->rec, src, changed, nch, 1, bytes, err, errlen);
    mig_write_replies(m, &m->rec, 1);
    return rc;
}

static int pick_pending(const mig_entry *e) { return e->state == ST_PENDING; }
static int pick_held(const mig_entry *e) { return e->state == ST_COPIED || e->state == ST_PENDING; }

int mig_catchup_pass(mig *m, mig_conn *src, size_t *cursor, char *err, size_t errlen) {
    mig_list *l = &m->rec;
    size_t batch[MIG_BATCH_KEYS];
    size_t i = 0;
    while ((*cursor = i) < l->n) {
        if (mig_is_cancelled(m)) { snprintf(err, errlen, "cancelled"); return MCM_ERR; }
        if (mig_out_of_time(m)) {
            log_notice("catch-up of %s: budget of %lld ms spent: deleting the copies not checked",
                       m->source, (long long)m->budget_ms);
            return MCM_OK;
        }
        size_t n = 0;
        for (; i < l->n && n < MIG_BATCH_KEYS; i++)
            if (l->e[i].state == ST_COPIED) batch[n++] = i;
        if (n == 0) { *cursor = l->n; break; }      /* none left: the pass is whole */
        uint64_t bytes = 0;
        int rc = mig_catchup_batch(m, src, batch, n, &bytes, err, errlen);
        mig_set_remaining(m, l->n - i, 0);
        if (rc != MCM_OK) return MCM_ERR;          /* this batch's unverified keys are PENDING */
        *cursor = i;
        if (mig_pace(m, bytes) != 0 && mig_is_cancelled(m)) { snprintf(err, errlen, "cancelled"); return MCM_ERR; }
    }
    return MCM_OK;
}

int mig_catchup_begin(mig *m, char *err, size_t errlen) {
    mig_phase_begin(m, MIG_PHASE_CATCHUP);
    if (m->have_copy) return MCM_OK;
    snprintf(err, errlen, "catch-up without a copy: this engine holds no record of copies");
    return mig_phase_end(m, MCM_ERR, err);
}

int mig_catchup(mig *m, char *err, size_t errlen) {
    if (mig_catchup_begin(m, err, errlen) != MCM_OK) return MCM_ERR;
    size_t cursor = 0;
    mig_conn *src = mig_conn_open(m->source, m->io_timeout_ms, err, errlen);
    int rc = src ? mig_catchup_pass(m, src, &cursor, err, errlen) : MCM_ERR;
    mig_conn_free(src);
    return mig_catchup_end(m, cursor, rc, err);
}

void mig_catchup_drop_unchecked(mig *m, size_t cursor) {
    for (size_t i = cursor; i < m->rec.n; i++)
        if (m->rec.e[i].state == ST_COPIED) m->rec.e[i].state = ST_PENDING;
    mig_invalidate(m, &m->rec, pick_pending, 1);
}

int mig_catchup_end(mig *m, size_t cursor, int rc, const char *err) {
    /* Whatever was not verified (budget, S lost, errors): mcm's copy goes.
     * Not when cancelled: an abort's undo (or the scheduler's purge) follows. */
    if (!mig_is_cancelled(m)) mig_catchup_drop_unchecked(m, cursor);
    mig_set_remaining(m, 0, 0);
    return mig_phase_end(m, rc, err);
}

int mig_undo(mig *m, char *err, size_t errlen) {
    mig_phase_begin(m, MIG_PHASE_ABORT);
    mig_invalidate(m, &m->rec, pick_held, 1);
    m->have_copy = 0;
    return mig_phase_end(m, MCM_OK, err);
}
