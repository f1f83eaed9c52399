/* mig_copy.c -- the copy phase: S's keys that move, hottest first, to their
 * new owners (see mig.h; the invariant and who keeps it: mig.c).
 *
 * Shape: one pass over the record sorted by last access (newest first), in
 * batches of at most MIG_BATCH_KEYS keys and about MIG_BATCH_BYTES bytes
 * (under a rate: MIG_PACED_BATCH_KEYS and MIG_PACED_SLICE_MS of the rate).
 * A batch is two pipelines: mg on S for every key, then one ms per key on
 * its owner (each owner's requests in one pipeline), then all replies. The
 * limiter is charged after each batch with the bytes it moved and the next
 * batch waits for it; past the budget (or a cancel) the pass stops and
 * every key not copied is deleted on its new owner (mig_invalidate).
 *
 *   mg <key> v f t c u    value, client flags, remaining TTL and CAS without
 *                         bumping the LRU or marking the item fetched
 *   ms <key> <n> T<ttl> F<flags> c      stores, answers HD c<cas of the copy>
 *   (catch-up adds C<cas of the copy> to ms, and md <key> C<cas>)
 *
 * Threads: the worker running the phase. Invariant: an entry is COPIED only
 * after its owner answered HD with the copy's CAS. */
#define LOG_COMPONENT "migrate"
#include "mig_int.h"
#include "log.h"
#include "mcm.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MIG_GET_FLAGS "v f t c u"

static int hotter(const void *a, const void *b) {
    const mig_entry *x = a, *y = b;
    if (x->la != y->la) return x->la > y->la ? -1 : 1;
    return x->koff < y->koff ? -1 : x->koff > y->koff;     /* stable: dump order */
}

/* One S reply for entry e: queue what its owner must do. */
static void queue_for_owner(mig *m, mig_list *l, size_t i, const mig_reply *r, int guarded, uint64_t *bytes) {
    mig_entry *e = &l->e[i];
    mig_key k;
    char flags[96];
    int64_t ttl = 0;
    e->op = OP_NONE;
    if (mig_entry_token(l, e, &k) != MCM_OK) return;
    mig_conn *c = mig_target_conn(m, e->owner);
    if (!c) return;
    int copy = r->rc == MIG_RC_VA && (r->have & MIG_HAVE_CAS) && mig_copy_ttl(r->ttl, time(NULL), &ttl);
    if (r->rc == MIG_RC_VA && !copy) MIG_ADD(m, keys_skipped, 1);   /* expires within the second */
    if (copy) {
        int n = snprintf(flags, sizeof(flags), "T%lld F%u c", (long long)ttl, (unsigned)r->flags);
        if (guarded) snprintf(flags + n, sizeof(flags) - (size_t)n, " C%llu", (unsigned long long)e->tgt_cas);
        if (mig_conn_ms(c, &k, r->value, r->vlen, flags) != MCM_OK) return;
        e->op = OP_SET;
        e->src_cas = r->cas;
        e->size = r->vlen;
        *bytes += r->vlen + e->klen;
    } else if (guarded) {
        snprintf(flags, sizeof(flags), "C%llu", (unsigned long long)e->tgt_cas);
        if (mig_conn_md(c, &k, flags) != MCM_OK) return;
        e->op = OP_DEL;
    } else {
        return;
    }
    mig_target_push(&m->t[e->owner], i);
}

int mig_read_and_queue(mig *m, mig_list *l, mig_conn *src, const size_t *idx, size_t n, int guarded,
                       uint64_t *bytes, char *err, size_t errlen) {
    size_t *asked = malloc(n * sizeof(*asked)), na = 0;
    if (!asked) { snprintf(err, errlen, "out of memory"); return MCM_ERR; }
    for (size_t j = 0; j < n; j++) {
        mig_key k;
        mig_entry *e = &l->e[idx[j]];
        if (mig_entry_token(l, e, &k) != MCM_OK) {
            e->state = ST_SKIPPED;                  /* no meta command can name it */
            MIG_ADD(m, keys_skipped, 1);
            continue;
        }
        if (mig_conn_mg(src, &k, MIG_GET_FLAGS) != MCM_OK) break;
        asked[na++] = idx[j];
    }
    int rc = MCM_OK;
    for (size_t j = 0; j < na && rc == MCM_OK; j++) {
        mig_reply r;
        if (mig_conn_reply(src, &r) != MCM_OK) {
            snprintf(err, errlen, "source lost: %s", mig_conn_errstr(src));
            rc = MCM_ERR;
            break;
        }
        if (r.rc == MIG_RC_EN && !guarded) MIG_ADD(m, keys_skipped, 1);   /* gone since the walk */
        else if (r.rc == MIG_RC_ERROR || (r.rc != MIG_RC_VA && r.rc != MIG_RC_EN)) {
            MIG_ADD(m, errors, 1);
            log_verbose("mg on %s: %s", m->source, r.rc == MIG_RC_ERROR ? r.msg : mig_rc_name(r.rc));
            if (!guarded) continue;
            l->e[asked[j]].state = ST_PENDING;       /* unverified: invalidate */
            continue;
        }
        queue_for_owner(m, l, asked[j], &r, guarded, bytes);
    }
    free(asked);
    return rc;
}

/* The owner's answer to one queued request. */
static void settle(mig *m, mig_entry *e, const mig_reply *r, int guarded) {
    if (e->op == OP_SET && r->rc == MIG_RC_HD && (r->have & MIG_HAVE_CAS)) {
        e->tgt_cas = r->cas;
        e->state = ST_COPIED;
        pthread_mutex_lock(&m->lock);
        if (guarded) m->prog.recopied++;
        else m->prog.keys_copied++;
        m->prog.bytes_copied += e->size + e->klen;
        pthread_mutex_unlock(&m->lock);
    } else if (guarded && r->rc == MIG_RC_EX) {
        e->state = ST_KEPT;                          /* a client wrote it there: theirs */
        MIG_ADD(m, kept, 1);
    } else if (guarded && r->rc == MIG_RC_NF) {
        e->state = ST_GONE;                          /* evicted or deleted there: stays so */
    } else if (e->op == OP_DEL && r->rc == MIG_RC_HD) {
        e->state = ST_INVALIDATED;
        MIG_ADD(m, invalidated, 1);
    } else {
        MIG_ADD(m, errors, 1);
        log_verbose("%s on a new owner: %s", e->op == OP_SET ? "ms" : "md",
                    r->rc == MIG_RC_ERROR ? r->msg : mig_rc_name(r->rc));
        if (guarded) e->state = ST_PENDING;          /* copy maybe stale: invalidate */
    }
}

void mig_write_replies(mig *m, mig_list *l, int guarded) {
    for (int i = 0; i < m->nservers; i++)         /* every owner works while we read the first */
        if (m->t[i].npend && m->t[i].c && mig_conn_flush(m->t[i].c) != MCM_OK)
            mig_target_fail(m, i, mig_conn_errstr(m->t[i].c));
    for (int i = 0; i < m->nservers; i++) {
        mig_target *t = &m->t[i];
        for (size_t j = 0; j < t->npend; j++) {
            mig_entry *e = &l->e[t->pend[j]];
            mig_reply r;
            if (!t->c) {                             /* died earlier in this batch */
                if (guarded) e->state = ST_PENDING;
                continue;
            }
            if (mig_conn_reply(t->c, &r) != MCM_OK) {
                mig_target_fail(m, i, mig_conn_errstr(t->c));
                if (guarded) e->state = ST_PENDING;
                continue;
            }
            settle(m, e, &r, guarded);
        }
        t->npend = 0;
    }
}

/* The next batch from `from`: bounded in keys and in estimated bytes. */
static size_t batch_end(const mig *m, const mig_list *l, size_t from) {
    uint64_t max = MIG_BATCH_BYTES, bytes = 0, slice = m->rate * MIG_PACED_SLICE_MS / 1000;
    size_t keys = m->rate ? MIG_PACED_BATCH_KEYS : MIG_BATCH_KEYS;
    if (m->rate && slice < max) max = slice ? slice : 1;
    size_t i = from;
    while (i < l->n && i - from < keys) {
        if (i > from && bytes + l->e[i].size > max) break;
        bytes += l->e[i].size;
        i++;
    }
    return i;
}

/* The bytes of entries [from, n): one sum, at the start of the pass. */
static uint64_t bytes_from(const mig_list *l, size_t from) {
    uint64_t bytes = 0;
    for (size_t i = from; i < l->n; i++) bytes += l->e[i].size;
    return bytes;
}

static int pick_pending(const mig_entry *e) { return e->state == ST_PENDING; }

/* The pass over the sorted record; MCM_ERR if S was lost or cancelled. */
static int copy_pass(mig *m, mig_conn *src, char *err, size_t errlen) {
    mig_list *l = &m->rec;
    size_t idx[MIG_BATCH_KEYS];
    uint64_t left = bytes_from(l, 0);      /* kept as a running sum: a pass is O(n), not O(n^2 / batch) */
    for (size_t from = 0; from < l->n;) {
        if (mig_is_cancelled(m)) { snprintf(err, errlen, "cancelled"); return MCM_ERR; }
        if (mig_out_of_time(m)) {
            log_notice("copy of %s: budget of %lld ms spent with %zu keys left: deleting them on their new owners",
                       m->source, (long long)m->budget_ms, l->n - from);
            return MCM_OK;
        }
        size_t to = batch_end(m, l, from), n = 0;
        uint64_t bytes = 0;
        for (size_t i = from; i < to; i++) idx[n++] = i, left -= l->e[i].size;
        int rc = mig_read_and_queue(m, l, src, idx, n, 0, &bytes, err, errlen);
        mig_write_replies(m, l, 0);
        from = to;
        mig_set_remaining(m, l->n - from, left);
        if (rc != MCM_OK) return MCM_ERR;
        if (mig_pace(m, bytes) != 0 && mig_is_cancelled(m)) { snprintf(err, errlen, "cancelled"); return MCM_ERR; }
    }
    return MCM_OK;
}

int mig_copy(mig *m, char *err, size_t errlen) {
    mig_phase_begin(m, MIG_PHASE_COPY);
    mig_list_clear(&m->rec);
    m->have_copy = 0;
    mig_conn *src = NULL;
    int rc = mig_collect(m, &m->rec, err, errlen);
    if (rc == MCM_OK) {
        if (m->rec.n) qsort(m->rec.e, m->rec.n, sizeof(*m->rec.e), hotter);   /* an empty list has no array */
        pthread_mutex_lock(&m->lock);
        m->prog.keys_total = m->rec.n;
        pthread_mutex_unlock(&m->lock);
        mig_set_remaining(m, m->rec.n, bytes_from(&m->rec, 0));
        m->have_copy = 1;
        log_info("copy of %s: %zu of %llu keys move to other servers", m->source, m->rec.n,
                 (unsigned long long)m->prog.keys_seen);
        if (!(src = mig_conn_open(m->source, m->io_timeout_ms, err, errlen))) rc = MCM_ERR;
        else rc = copy_pass(m, src, err, errlen);
    }
    mig_conn_free(src);
    if (!mig_is_cancelled(m)) mig_invalidate(m, &m->rec, pick_pending, 0);
    mig_set_remaining(m, 0, 0);
    return mig_phase_end(m, rc, err);
}
