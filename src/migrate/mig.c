/* mig.c -- the copy engine's object, record and shared steps (see mig.h).
 *
 * THE INVARIANT (issue 15): outside a transition each key is stored only on
 * its owner under the published ring. During R -> R' a key may also be on
 * its owner under R'; nothing else may hold a copy, so no later ring change
 * can bring an old value back. Which step keeps it:
 *
 *   1. copy writes a key only to its owner under R' (mig_owner_fn), never
 *      elsewhere, and every selected key it does not copy is deleted on that
 *      owner (mig_invalidate), so the owner never keeps a copy older than S's
 *      value at the time of the walk.
 *   2. catch-up (R' published, clients moving over) rewrites or deletes a
 *      copy only while the target still holds exactly what mcm wrote
 *      (C<target CAS>): a client's newer value on the new owner always wins;
 *      a copy that could not be checked in time is deleted the same way.
 *   3. cleanup deletes on S every key S does not own under R': after it, S
 *      holds only its own keys again, and the transition is over.
 *   4. abort (R' never published) deletes every copy this engine wrote that
 *      is still its copy, giving back "only on the owner under R".
 *
 * Shape: phases are plain blocking functions over pipelined connections
 * (mig_conn), run by one worker thread; the record of copies lives in this
 * object between phases. Progress counters sit under a mutex so any thread
 * can read a consistent snapshot; cancel is one atomic flag the phases test
 * between batches and while pacing.
 * Memory: one mig_entry (~56 bytes) plus the key per key S hands over;
 * keys S keeps are counted, not stored. */
#define LOG_COMPONENT "migrate"
#include "mig_int.h"
#include "mig_dump.h"
#include "log.h"
#include "mcm.h"
#include "ring.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const PHASES[] = {
    [MIG_PHASE_IDLE] = "idle", [MIG_PHASE_COPY] = "copy", [MIG_PHASE_CATCHUP] = "catchup",
    [MIG_PHASE_CLEANUP] = "cleanup", [MIG_PHASE_ABORT] = "abort",
};

const char *mig_phase_name(mig_phase p) {
    return (unsigned)p < MCM_ARRAY_LEN(PHASES) ? PHASES[p] : "?";
}

int mig_phase_parse(const char *name) {
    for (size_t i = 0; i < MCM_ARRAY_LEN(PHASES); i++)
        if (!strcmp(name, PHASES[i])) return (int)i;
    return -1;
}

int mig_copy_ttl(int64_t remaining, int64_t now_unix, int64_t *t_out) {
    if (remaining < 0) {
        *t_out = 0;
        return 1;
    }
    int64_t t = remaining - 1;               /* memcached's clock runs up to 1 s behind */
    if (t <= 0) return 0;
    *t_out = t > MIG_TTL_RELATIVE_MAX ? now_unix + t : t;
    return 1;
}

/* --- object --------------------------------------------------------------- */

static int ring_owner_cb(void *arg, const void *key, size_t len) { return ring_owner(arg, key, len); }

static int copy_servers(mig *m, const mig_config *cfg) {
    m->servers = calloc((size_t)cfg->nservers, sizeof(*m->servers));
    m->t = calloc((size_t)cfg->nservers, sizeof(*m->t));
    if (!m->servers || !m->t) return MCM_ERR;
    m->nservers = cfg->nservers;
    for (int i = 0; i < cfg->nservers; i++)
        if (!(m->servers[i] = strdup(cfg->servers[i])) || !(m->t[i].addr = strdup(cfg->servers[i])))
            return MCM_ERR;
    return MCM_OK;
}

mig *mig_new(const mig_config *cfg, char *err, size_t errlen) {
    if (!cfg->source || cfg->nservers < 1 || cfg->self < -1 || cfg->self >= cfg->nservers) {
        snprintf(err, errlen, "migrate: need a source and a ring of at least one server with self in range");
        return NULL;
    }
    mig *m = calloc(1, sizeof(*m));
    if (!m || !(m->source = strdup(cfg->source)) || copy_servers(m, cfg) != MCM_OK) {
        snprintf(err, errlen, "out of memory");
        mig_free(m);
        return NULL;
    }
    pthread_mutex_init(&m->lock, NULL);
    m->self = cfg->self;
    m->owner = cfg->owner;
    m->owner_arg = cfg->owner_arg;
    if (!m->owner) {
        if (!(m->ring = ring_new((const char *const *)m->servers, m->nservers, err, errlen))) {
            mig_free(m);
            return NULL;
        }
        m->owner = ring_owner_cb;
        m->owner_arg = m->ring;
    }
    m->rate = cfg->rate;
    m->budget_ms = cfg->budget_ms > 0 ? cfg->budget_ms : MIG_DEFAULT_BUDGET_MS;
    m->io_timeout_ms = cfg->io_timeout_ms > 0 ? cfg->io_timeout_ms : MIG_IO_TIMEOUT_MS;
    m->prog.eta_ms = -1;
    return m;
}

void mig_free(mig *m) {
    if (!m) return;
    mig_targets_close(m);
    for (int i = 0; i < m->nservers; i++) {
        if (m->servers) free(m->servers[i]);
        if (m->t) { free(m->t[i].addr); free(m->t[i].pend); }
    }
    free(m->servers);
    free(m->t);
    mig_list_clear(&m->rec);
    ring_free(m->ring);
    if (m->source) pthread_mutex_destroy(&m->lock);
    free(m->source);
    free(m);
}

int mig_has_copy(const mig *m) { return m->have_copy; }

void mig_cancel(mig *m) { atomic_store(&m->cancelled, 1); }
void mig_uncancel(mig *m) { atomic_store(&m->cancelled, 0); }
int mig_is_cancelled(mig *m) { return atomic_load(&m->cancelled); }

void mig_progress_get(mig *m, mig_progress *out) {
    pthread_mutex_lock(&m->lock);
    *out = m->prog;
    if (out->running) out->elapsed_ms = util_now_ms() - m->phase_start;
    pthread_mutex_unlock(&m->lock);
}

/* --- phases: begin, end, time, pacing -------------------------------------- */

void mig_phase_begin(mig *m, mig_phase p) {
    pthread_mutex_lock(&m->lock);
    uint64_t seen = m->prog.keys_seen, total = m->prog.keys_total;
    memset(&m->prog, 0, sizeof(m->prog));
    m->prog.keys_seen = seen;
    m->prog.keys_total = total;
    m->prog.phase = p;
    m->prog.running = 1;
    m->prog.eta_ms = -1;
    m->phase_start = util_now_ms();
    m->budget_end = m->phase_start + m->budget_ms;
    /* A copy stops early enough for the first check of what it copied to
     * run inside the same budget (mig_follow's first_by_ms): checking a key
     * reads its CAS alone, far cheaper than copying it. */
    m->deadline = m->budget_end - (p == MIG_PHASE_COPY ? m->budget_ms / MIG_CHECK_SHARE : 0);
    pthread_mutex_unlock(&m->lock);
    mig_rate_init(&m->limiter, m->rate, m->phase_start);
    for (int i = 0; i < m->nservers; i++) m->t[i].dead = 0;
}

int mig_phase_end(mig *m, int rc, const char *err) {
    mig_targets_close(m);
    pthread_mutex_lock(&m->lock);
    m->prog.running = 0;
    m->prog.elapsed_ms = util_now_ms() - m->phase_start;
    m->prog.eta_ms = 0;
    if (rc != MCM_OK) snprintf(m->prog.error, sizeof(m->prog.error), "%s", err);
    mig_progress p = m->prog;
    pthread_mutex_unlock(&m->lock);
    log_info("%s of %s: %llu keys (%llu bytes) copied, %llu recopied, %llu invalidated, %llu kept, "
             "%llu deleted, %llu skipped, %llu errors in %lld ms%s%s",
             mig_phase_name(p.phase), m->source, (unsigned long long)p.keys_copied,
             (unsigned long long)p.bytes_copied, (unsigned long long)p.recopied,
             (unsigned long long)p.invalidated, (unsigned long long)p.kept, (unsigned long long)p.deleted,
             (unsigned long long)p.keys_skipped, (unsigned long long)p.errors, (long long)p.elapsed_ms,
             rc == MCM_OK ? "" : ": ", rc == MCM_OK ? "" : err);
    return rc;
}

int mig_out_of_time(mig *m) { return util_now_ms() >= m->deadline; }

int64_t mig_budget_end(const mig *m) { return m->budget_end; }

void mig_set_remaining(mig *m, uint64_t keys, uint64_t bytes) {
    pthread_mutex_lock(&m->lock);
    m->prog.keys_remaining = keys;
    m->prog.bytes_remaining = bytes;
    int64_t now = util_now_ms(), el = now - m->phase_start, left = m->deadline - now;
    int64_t eta = -1;
    if (m->prog.bytes_copied > 0 && el > 0) eta = (int64_t)((double)bytes * (double)el / (double)m->prog.bytes_copied);
    else if (m->rate) eta = (int64_t)((double)bytes * 1000.0 / (double)m->rate);
    if (eta > left) eta = left > 0 ? left : 0;
    m->prog.eta_ms = keys ? eta : 0;
    pthread_mutex_unlock(&m->lock);
}

int mig_pace(mig *m, uint64_t n) {
    int64_t wait = mig_rate_take(&m->limiter, n, util_now_ms());
    while (wait > 0) {
        if (mig_is_cancelled(m)) return -1;
        if (util_now_ms() + wait > m->deadline) {
            util_sleep_ms(m->deadline - util_now_ms() > 0 ? m->deadline - util_now_ms() : 0);
            return -1;
        }
        util_sleep_ms(wait < MIG_SLEEP_SLICE_MS ? wait : MIG_SLEEP_SLICE_MS);
        wait = mig_rate_wait(&m->limiter, util_now_ms());
    }
    return mig_is_cancelled(m) ? -1 : 0;
}

/* --- targets ---------------------------------------------------------------- */

mig_conn *mig_target_conn(mig *m, int i) {
    mig_target *t = &m->t[i];
    if (t->dead) return NULL;
    if (!t->c) {
        char err[256];
        if (!(t->c = mig_conn_open(t->addr, m->io_timeout_ms, err, sizeof(err)))) {
            mig_target_fail(m, i, err);
            return NULL;
        }
    }
    return t->c;
}

void mig_target_fail(mig *m, int i, const char *why) {
    mig_target *t = &m->t[i];
    if (!t->dead) log_warn("new owner %s unreachable, its share stays cold: %s", t->addr, why);
    t->dead = 1;
    mig_conn_free(t->c);
    t->c = NULL;
    MIG_ADD(m, errors, 1);
}

int mig_target_push(mig_target *t, size_t entry) {
    if (t->npend == t->cappend) {
        size_t cap = t->cappend ? t->cappend * 2 : MIG_BATCH_KEYS;
        size_t *np = realloc(t->pend, cap * sizeof(*np));
        if (!np) return MCM_ERR;
        t->pend = np;
        t->cappend = cap;
    }
    t->pend[t->npend++] = entry;
    return MCM_OK;
}

void mig_targets_close(mig *m) {
    for (int i = 0; m->t && i < m->nservers; i++) {
        mig_conn_free(m->t[i].c);
        m->t[i].c = NULL;
        m->t[i].npend = 0;
    }
}

/* --- the record ---------------------------------------------------------------- */

const unsigned char *mig_entry_key(const mig_list *l, const mig_entry *e) { return l->keys + e->koff; }

int mig_entry_token(const mig_list *l, const mig_entry *e, mig_key *k) {
    return mig_key_token(mig_entry_key(l, e), e->klen, k);
}

void mig_list_clear(mig_list *l) {
    free(l->e);
    free(l->keys);
    memset(l, 0, sizeof(*l));
}

static int list_add(mig_list *l, const mig_dump_item *it, int owner) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 1024;
        mig_entry *ne = realloc(l->e, cap * sizeof(*ne));
        if (!ne) return MCM_ERR;
        l->e = ne;
        l->cap = cap;
    }
    if (l->kcap - l->klen < it->klen) {
        size_t cap = l->kcap ? l->kcap * 2 : 64 * 1024;
        unsigned char *nk = realloc(l->keys, cap);
        if (!nk) return MCM_ERR;
        l->keys = nk;
        l->kcap = cap;
    }
    memcpy(l->keys + l->klen, it->key, it->klen);
    l->e[l->n++] = (mig_entry){.koff = l->klen, .klen = (uint8_t)it->klen, .owner = owner,
                               .la = it->la, .size = it->size, .src_cas = it->cas};
    l->klen += it->klen;
    return MCM_OK;
}

typedef struct collect_ctx {
    mig *m;
    mig_list *l;
    uint64_t seen;
} collect_ctx;

static int collect_item(void *arg, const mig_dump_item *it) {
    collect_ctx *c = arg;
    c->seen++;
    int owner = c->m->owner(c->m->owner_arg, it->key, it->klen);
    if (owner < 0 || owner >= c->m->nservers || owner == c->m->self) return 0;
    return list_add(c->l, it, owner) == MCM_OK ? 0 : -1;
}

static long feed_dump(void *arg, const char *buf, size_t len, int *done) {
    mig_dump *d = arg;
    long used = mig_dump_feed(d, buf, len);
    *done = mig_dump_done(d);
    return used;
}

/* One metadump on its own connection; 1 if memcached said BUSY. */
static int dump_once(mig *m, const char *cmd, collect_ctx *ctx, char *err, size_t errlen) {
    mig_conn *c = mig_conn_open(m->source, m->io_timeout_ms, err, errlen);
    mig_dump *d = mig_dump_new(collect_item, ctx);
    int rc = MCM_ERR;
    if (!c || !d) {
        if (c) snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (mig_conn_raw(c, cmd) != MCM_OK || mig_conn_stream(c, feed_dump, d) != MCM_OK) {
        if (mig_dump_busy(d)) rc = 1;
        snprintf(err, errlen, "%s", mig_dump_errstr(d)[0] ? mig_dump_errstr(d) : mig_conn_errstr(c));
        goto out;
    }
    if (mig_dump_bad_lines(d))
        log_warn("metadump of %s: %llu malformed lines skipped", m->source, (unsigned long long)mig_dump_bad_lines(d));
    rc = MCM_OK;
out:
    mig_dump_free(d);
    mig_conn_free(c);
    return rc;
}

int mig_collect(mig *m, mig_list *l, char *err, size_t errlen) {
    int64_t until = util_now_ms() + MIG_BUSY_WAIT_MS;
    const char *cmd = MIG_DUMP_COMMAND;
    int fell_back = 0;
    for (;;) {
        collect_ctx ctx = {m, l, 0};
        l->n = l->klen = 0;
        int rc = dump_once(m, cmd, &ctx, err, errlen);
        if (rc == MCM_OK) {
            pthread_mutex_lock(&m->lock);
            m->prog.keys_seen = ctx.seen;
            pthread_mutex_unlock(&m->lock);
            return MCM_OK;
        }
        if (rc == MCM_ERR && !fell_back && strstr(err, "metadump refused")) {
            cmd = MIG_DUMP_FALLBACK;             /* a 1.6 without the hash walk */
            fell_back = 1;
            continue;
        }
        if (rc != 1 || util_now_ms() >= until || mig_is_cancelled(m)) return MCM_ERR;
        util_sleep_ms(MIG_BUSY_RETRY_MS);
    }
}

/* --- invalidation ----------------------------------------------------------- */

/* Reads the replies of one target's queued deletes. */
static void invalidate_replies(mig *m, mig_list *l, int ti) {
    mig_target *t = &m->t[ti];
    for (size_t j = 0; j < t->npend; j++) {
        mig_entry *e = &l->e[t->pend[j]];
        mig_reply r;
        if (!t->c || mig_conn_reply(t->c, &r) != MCM_OK) {
            if (t->c) mig_target_fail(m, ti, mig_conn_errstr(t->c));
            e->state = ST_FAILED;
            continue;
        }
        if (r.rc == MIG_RC_HD) { e->state = ST_INVALIDATED; MIG_ADD(m, invalidated, 1); }
        else if (r.rc == MIG_RC_NF) e->state = ST_GONE;
        else if (r.rc == MIG_RC_EX) { e->state = ST_KEPT; MIG_ADD(m, kept, 1); }
        else { e->state = ST_FAILED; MIG_ADD(m, errors, 1); }
    }
    t->npend = 0;
}

static void invalidate_flush(mig *m, mig_list *l) {
    for (int i = 0; i < m->nservers; i++)
        if (m->t[i].npend && m->t[i].c && mig_conn_flush(m->t[i].c) != MCM_OK)
            mig_target_fail(m, i, mig_conn_errstr(m->t[i].c));
    for (int i = 0; i < m->nservers; i++)
        if (m->t[i].npend) invalidate_replies(m, l, i);
}

void mig_invalidate(mig *m, mig_list *l, int (*pick)(const mig_entry *e), int guarded) {
    size_t queued = 0;
    for (size_t i = 0; i < l->n; i++) {
        mig_entry *e = &l->e[i];
        mig_key k;
        if (!pick(e)) continue;
        if (mig_entry_token(l, e, &k) != MCM_OK) { e->state = ST_SKIPPED; continue; }
        mig_conn *c = mig_target_conn(m, e->owner);
        char flags[32] = "";
        if (guarded) snprintf(flags, sizeof(flags), "C%llu", (unsigned long long)e->tgt_cas);
        if (!c || mig_conn_md(c, &k, flags) != MCM_OK || mig_target_push(&m->t[e->owner], i) != MCM_OK) {
            e->state = ST_FAILED;
            continue;
        }
        if (++queued % MIG_BATCH_KEYS == 0) invalidate_flush(m, l);
    }
    invalidate_flush(m, l);
}
