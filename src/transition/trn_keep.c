/* trn_keep.c -- the ring keeper (see trn_keep.h): the published ring P, the
 * transition machine, and the plan that starts ring changes.
 *
 * Every action list the machine produces passes through absorb(), which
 * takes each PUBLISH into P: P is always the last list the keeper asked the
 * runner to write. The dirty flags make a failed write come back first on
 * the next tick (record or its deletion, then P).
 *
 * Threads: one owner. Pure. */
#include "trn_keep.h"
#include "trn_int.h"
#include "mcm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct trn_keep {
    trn_keep_config cfg;
    trn *t;
    trn_server *pub;           /* P */
    int npub;
    int in_term;
    int dirty_record;          /* a PERSIST or CLEAR failed: write the record's truth again */
    int dirty_publish;         /* a PUBLISH failed: write P again */
    int settled;               /* the last tick planned nothing (trn_keep_settled) */
    int64_t last_id;
};

void trn_keep_config_default(trn_keep_config *cfg) {
    trn_config_default(&cfg->trn);
    cfg->warm = 1;
    cfg->prepare_timeout_ms = 60000;
}

trn_keep *trn_keep_new(const trn_keep_config *cfg) {
    trn_keep *k = calloc(1, sizeof(*k));
    if (!k) return NULL;
    if (cfg) k->cfg = *cfg;
    else trn_keep_config_default(&k->cfg);
    if (!(k->t = trn_new(&k->cfg.trn))) {
        free(k);
        return NULL;
    }
    return k;
}

void trn_keep_free(trn_keep *k) {
    if (!k) return;
    trn_free(k->t);
    free(k->pub);
    free(k);
}

const trn *trn_keep_machine(const trn_keep *k) { return k->t; }

static int set_pub(trn_keep *k, const trn_server *l, int n) {
    trn_server *p = malloc(sizeof(*p) * (size_t)(n ? n : 1));
    if (!p) return MCM_ERR;
    if (n) memcpy(p, l, sizeof(*p) * (size_t)n);
    free(k->pub);
    k->pub = p;
    k->npub = n;
    return MCM_OK;
}

/* The PUBLISH actions from index `from` on become P. */
static void absorb(trn_keep *k, trn_actions *out, int from) {
    for (int i = from; i < out->n; i++)
        if (out->v[i].kind == TRN_A_PUBLISH && set_pub(k, out->v[i].servers, out->v[i].nservers) != MCM_OK)
            out->oom = 1;
}

static void emit_publish(trn_keep *k, trn_actions *out) {
    trn_server *l = trn_act_block(out, sizeof(trn_server) * (size_t)(k->npub ? k->npub : 1));
    trn_action *a = l ? trn_act_push(out, TRN_A_PUBLISH) : NULL;
    if (!a) return;
    if (k->npub) memcpy(l, k->pub, sizeof(trn_server) * (size_t)k->npub);
    a->servers = l;
    a->nservers = k->npub;
}

static void reset_machine(trn_keep *k) {
    trn_free(k->t);
    k->t = trn_new(&k->cfg.trn);
}

int trn_keep_begin_term(trn_keep *k, const trn_server *published, int n, const char *record,
                        size_t len, int64_t now_ms, trn_actions *out, char *err, size_t errlen) {
    trn_keep_end_term(k);
    if (!k->t || set_pub(k, published, n) != MCM_OK) {
        snprintf(err, errlen, "out of memory");
        return MCM_ERR;
    }
    k->in_term = 1;
    if (!record || !len) return MCM_OK;
    if (trn_load(k->t, record, len, err, errlen) != MCM_OK) {
        trn_act_push(out, TRN_A_CLEAR);
        return MCM_ERR;
    }
    trn_status s;
    trn_get_status(k->t, now_ms, &s);
    k->last_id = s.id;
    int from = out->n;
    trn_resume(k->t, now_ms, out);
    absorb(k, out, from);
    return MCM_OK;
}

void trn_keep_end_term(trn_keep *k) {
    reset_machine(k);
    k->in_term = k->dirty_record = k->dirty_publish = k->settled = 0;
}

int trn_keep_settled(const trn_keep *k) {
    return k->in_term && k->settled && !k->dirty_record && !k->dirty_publish && trn_phase_of(k->t) == TRN_IDLE;
}

/* A failed write comes back before anything else. */
static void resync(trn_keep *k, trn_actions *out) {
    if (k->dirty_record) {
        char *rec = trn_record(k->t);
        trn_action *a = trn_act_push(out, rec ? TRN_A_PERSIST : TRN_A_CLEAR);
        if (a && rec && (a->record = trn_act_block(out, strlen(rec) + 1)))
            memcpy(a->record, rec, strlen(rec) + 1);
        free(rec);
    }
    if (k->dirty_publish || k->dirty_record) emit_publish(k, out);
    k->dirty_record = k->dirty_publish = 0;
}

static void plan_tick(trn_keep *k, const trn_member *m, int nm, int awaiting, int64_t starting_since_ms,
                      int64_t now_ms, trn_actions *out) {
    trn_plan p;
    char err[256];
    if (trn_plan_make(k->pub, k->npub, m, nm, awaiting, starting_since_ms, k->cfg.prepare_timeout_ms, now_ms,
                      &p) != MCM_OK) {
        out->oom = 1;
        return;
    }
    k->settled = p.kind == TRN_PLAN_NONE;
    if (p.kind == TRN_PLAN_BEGIN && k->cfg.warm) {
        int64_t id = k->last_id + 1 > now_ms ? k->last_id + 1 : now_ms;
        int from = out->n;
        if (trn_begin(k->t, id, p.from, p.nfrom, p.to, p.nto, now_ms, out, err, sizeof(err)) == MCM_OK) {
            k->last_id = id;
            absorb(k, out, from);
        } else {
            p.kind = TRN_PLAN_PUBLISH;   /* rings the machine refuses (say, a bad address): cold */
        }
    }
    if (p.kind == TRN_PLAN_PUBLISH || (p.kind == TRN_PLAN_BEGIN && !k->cfg.warm)) {
        if (set_pub(k, p.to, p.nto) != MCM_OK) out->oom = 1;
        else emit_publish(k, out);
    }
    trn_plan_free(&p);
}

/* A participant that is no longer a member is lost, even if no loss was
 * reported: it ended while no leader watched, and the new leader heard of
 * it (reconciling) before it continued the stored record. Without this the
 * transition would wait for it until its timeouts and never purge what it
 * copied. */
static void lose_absent(trn_keep *k, const trn_member *m, int nm, int64_t now_ms, trn_actions *out) {
    trn_index ix;
    if (trn_index_build(&ix, m, nm) != MCM_OK) {
        out->oom = 1;
        return;
    }
    for (int i = 0; i < k->t->nparts; i++) {
        const trn_part *p = &k->t->parts[i];
        const trn_member *x = trn_index_find(&ix, p->s.task_id);
        if (p->alive && (!x || x->cls == TRN_STARTING)) trn_on_lost(k->t, p->s.task_id, now_ms, out);
    }
    trn_index_free(&ix);
}

void trn_keep_tick(trn_keep *k, const trn_member *m, int nm, int awaiting, int64_t starting_since_ms,
                   int64_t now_ms, trn_actions *out) {
    if (!k->in_term) return;
    resync(k, out);
    int from = out->n;
    k->settled = 0;
    if (trn_phase_of(k->t) != TRN_IDLE) {
        lose_absent(k, m, nm, now_ms, out);
        trn_tick(k->t, now_ms, out);
        absorb(k, out, from);
        return;
    }
    plan_tick(k, m, nm, awaiting, starting_since_ms, now_ms, out);
}

void trn_keep_on_progress(trn_keep *k, const trn_progress *p, int64_t now_ms, trn_actions *out) {
    if (!k->in_term) return;
    int from = out->n;
    trn_on_progress(k->t, p, now_ms, out);
    absorb(k, out, from);
}

void trn_keep_on_lost(trn_keep *k, const char *task_id, int64_t now_ms, trn_actions *out) {
    if (!k->in_term) return;
    int from = out->n;
    trn_on_lost(k->t, task_id, now_ms, out);
    absorb(k, out, from);
}

void trn_keep_stored(trn_keep *k, trn_act_kind kind, int ok) {
    if (ok) return;
    if (kind == TRN_A_PERSIST || kind == TRN_A_CLEAR) k->dirty_record = 1;
    if (kind == TRN_A_PUBLISH) k->dirty_publish = 1;
}

int trn_keep_published(const trn_keep *k, const trn_member *m, int nm, trn_server *out, int cap) {
    int n = 0;
    if (trn_phase_of(k->t) == TRN_ABORT) {   /* lost servers stay listed until the purges are done (trn.h) */
        for (int i = 0; i < k->npub && n < cap; i++) out[n++] = k->pub[i];
        return n;
    }
    trn_index ix;
    if (trn_index_build(&ix, m, nm) != MCM_OK) return -1;
    for (int i = 0; i < k->npub && n < cap; i++) {
        const trn_member *x = trn_index_find(&ix, k->pub[i].task_id);
        if (x && strcmp(x->s.addr, k->pub[i].addr) == 0 && (x->cls == TRN_SERVING || x->cls == TRN_LEAVING))
            out[n++] = k->pub[i];
    }
    trn_index_free(&ix);
    return n;
}
