/* fleet_ring.c -- the published ring inside the fleet: warm ring transitions
 * (src/transition/trn_keep.h) driven from the task table.
 *
 * What: the fleet hands the ring keeper what the table is now (each server
 * SERVING, LEAVING (drained: a step down, a replacement) or STARTING) on every
 * tick while LEADING, and turns the keeper's actions into fleet actions:
 *   PERSIST -> FA_PUT_RING     CLEAR -> FA_CLEAR_RING    PUBLISH -> FA_PUBLISH
 *   SEND    -> FA_MESSAGE (the executor's mig_msg command, src/migrate)
 *   RETIRE  -> FA_KILL
 * The runner stops at a failed FA_PUT_RING like at any failed persist, so a
 * transition's commands and publications never run ahead of its record.
 *
 * Why here: the rules of a ring change (when it starts, what is published,
 * who copies what) are pure and live in src/transition; this file only
 * translates between the table and the keeper, so the fleet stays the one
 * place that decides what the scheduler does.
 *
 * Publishing: with warm transitions the servers znode is the keeper's ring
 * (fleet_published), not a function of the table: a new server is published
 * only once a transition has copied its keys, a drained one stays published
 * until its keys are on their new owners. A server that stops serving leaves
 * the list at once (cold), as before. With --warm-transitions off the keeper
 * is not used at all: the list is the serving servers, as it always was.
 *
 * Thread: the core only; pure (time comes in). */
#define LOG_COMPONENT "ring"
#include "fleet_int.h"
#include "log.h"
#include "mcm.h"
#include "mig_msg.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RING_DRAIN_MARGIN_MS 60000   /* on top of the longest transition */

int fleet_ring_new(fleet *f) {
    f->keep = trn_keep_new(&f->cfg.ring);
    return f->keep ? MCM_OK : MCM_ERR;
}

static void forget_stored(fleet *f) {
    free(f->stored_pub);
    free(f->stored_record);
    f->stored_pub = NULL;
    f->stored_record = NULL;
    f->nstored_pub = 0;
    f->stored_len = 0;
}

void fleet_ring_free(fleet *f) {
    trn_keep_free(f->keep);
    forget_stored(f);
}

void fleet_ring_end_term(fleet *f) {
    if (f->keep) trn_keep_end_term(f->keep);
    f->ring_started = 0;
    f->awaiting_since_ms = 0;
}

int64_t fleet_ring_drain_ms(const fleet *f) {
    const trn_keep_config *r = &f->cfg.ring;
    if (!r->warm) return f->cfg.drain_time_ms;
    return r->prepare_timeout_ms + r->trn.copy_budget_ms + r->trn.drain_ms + r->trn.cleanup_timeout_ms +
           RING_DRAIN_MARGIN_MS;
}

int fleet_set_ring(fleet *f, const trn_server *published, int n, const char *record, size_t len) {
    forget_stored(f);
    f->stored_pub = calloc((size_t)(n > 0 ? n : 1), sizeof(trn_server));
    if (!f->stored_pub) return MCM_ERR;
    if (n > 0) memcpy(f->stored_pub, published, sizeof(trn_server) * (size_t)n);
    f->nstored_pub = n;
    if (record && len) {
        if (!(f->stored_record = malloc(len + 1))) return MCM_ERR;
        memcpy(f->stored_record, record, len);
        f->stored_record[len] = '\0';
        f->stored_len = len;
    }
    return MCM_OK;
}

/* --- the table as the keeper sees it ------------------------------------------------ */

/* t's class on the ring, 0 if it is not a member. */
static trn_class class_of(const tt_task *t) {
    int running = t->state == MESOS__V1__TASK_STATE__TASK_RUNNING || fleet_part_probing(t);   /* kept */
    int starting = t->state == MESOS__V1__TASK_STATE__TASK_STAGING ||
                   t->state == MESOS__V1__TASK_STATE__TASK_STARTING;
    if (t->port <= 0 || !t->hostname[0] || t->kill_sent_ms || (!running && !starting)) return 0;
    return starting ? TRN_STARTING : t->drain_until_ms ? TRN_LEAVING : TRN_SERVING;
}

static int member_of(const tt_task *t, trn_member *m) {
    trn_class cls = class_of(t);
    if (!cls) return 0;
    memset(m, 0, sizeof(*m));
    snprintf(m->s.task_id, sizeof(m->s.task_id), "%s", t->id);
    snprintf(m->s.addr, sizeof(m->s.addr), "%s:%d", t->hostname, t->port);
    m->cls = cls;
    return 1;
}

/* What the keeper's plan depends on, in one number: the table's generation
 * (the same ids at the same positions), each member's position, address and
 * class, and the servers awaited. Equal fingerprints, a settled
 * keeper: the tick would plan nothing again (fleet_ring_tick skips it). It
 * costs a pass over the table without an allocation; a plan costs N members
 * built and sorted. */
static uint64_t fingerprint(fleet *f, int awaiting) {
    uint64_t gen = tt_generation(f->tasks);
    uint64_t h = util_fnv1a(UTIL_FNV1A_INIT, &awaiting, sizeof(awaiting));
    h = util_fnv1a(h, &gen, sizeof(gen));
    for (int i = 0; i < tt_count(f->tasks); i++) {
        const tt_task *t = tt_at(f->tasks, i);
        trn_class cls = class_of(t);
        if (!cls) continue;
        h = util_fnv1a(h, &i, sizeof(i));
        h = util_fnv1a(h, t->hostname, strlen(t->hostname) + 1);
        h = util_fnv1a(h, &t->port, sizeof(t->port));
        h = util_fnv1a(h, &cls, sizeof(cls));
    }
    return h;
}

/* Every member; *since is the wall time the oldest STARTING one launched. */
static trn_member *members(fleet *f, int *n, int64_t *since) {
    int cap = tt_count(f->tasks);
    trn_member *m = calloc((size_t)(cap ? cap : 1), sizeof(*m));
    *n = 0;
    *since = 0;
    for (int i = 0; m && i < cap; i++) {
        const tt_task *t = tt_at(f->tasks, i);
        if (!member_of(t, &m[*n])) continue;
        if (m[*n].cls == TRN_STARTING && (!*since || t->changed_ms < *since)) *since = t->changed_ms;
        (*n)++;
    }
    return m;
}

int fleet_published(fleet *f, trn_server *out, int cap) {
    int n, k = 0;
    int64_t since;
    trn_member *m = members(f, &n, &since);
    if (!m) return -1;
    if (f->cfg.ring.warm) k = trn_keep_published(f->keep, m, n, out, cap);
    for (int i = 0; !f->cfg.ring.warm && i < n && k < cap; i++)   /* cold: the serving servers */
        if (m[i].cls == TRN_SERVING) out[k++] = m[i].s;
    free(m);
    return k;
}

void fleet_ring_status(fleet *f, fleet_clock now, trn_status *out) {
    trn_get_status(trn_keep_machine(f->keep), now.wall_ms, out);
}

/* --- keeper actions -> fleet actions ---------------------------------------------------- */

static const mig_cmd_phase MIG_PHASE_OF[] = {
    [TRN_CMD_COPY] = MIG_CMD_COPY, [TRN_CMD_CATCHUP] = MIG_CMD_CATCHUP, [TRN_CMD_CLEANUP] = MIG_CMD_CLEANUP,
    [TRN_CMD_STOP] = MIG_CMD_ABORT, [TRN_CMD_PURGE] = MIG_CMD_PURGE,
};

/* The ring's JSON, encoded once for all the SENDs of one action list that
 * share it (every server of a phase gets the same R'): at N = 1,000 that is
 * 20 KB, not 20 MB, of encoding per phase. */
typedef struct ring_cache {
    const char *const *ring;
    int n;
    char *json;
} ring_cache;

static const char *ring_json(ring_cache *rc, const char *const *ring, int n) {
    if (rc->json && rc->ring == ring && rc->n == n) return rc->json;
    free(rc->json);
    rc->ring = ring;
    rc->n = n;
    rc->json = mig_ring_json((char *const *)ring, n);
    return rc->json;
}

static void message(fleet *f, const trn_action *x, ring_cache *rc, fleet_actions *out) {
    tt_task *t = tt_find(f->tasks, x->task_id);
    if (!t || x->cmd.nring < 1) return;   /* gone, or nothing to name: the machine resends or moves on */
    mig_cmd c;
    memset(&c, 0, sizeof(c));
    c.id = x->cmd.id;
    c.phase = MIG_PHASE_OF[x->cmd.kind];
    c.ring = (char **)x->cmd.ring;        /* lists read only by the encoder */
    c.nring = x->cmd.nring;
    c.from = (char **)x->cmd.from;
    c.nfrom = x->cmd.nfrom;
    c.to = (char **)x->cmd.to;
    c.nto = x->cmd.nto;
    c.lost = (char **)x->cmd.lost;
    c.nlost = x->cmd.nlost;
    snprintf(c.self, sizeof(c.self), "%s", x->cmd.self);
    c.rate = x->cmd.rate_bytes > 0 ? (uint64_t)x->cmd.rate_bytes : 0;
    c.budget_ms = x->cmd.budget_ms;
    const char *ring = ring_json(rc, x->cmd.ring, x->cmd.nring);
    char *data = ring ? mig_cmd_encode_ring(&c, ring) : NULL;
    if (!data) {
        log_error("transition %lld: cannot encode %s for %s", (long long)c.id, trn_cmd_name(x->cmd.kind), t->id);
        return;
    }
    fleet_action *a = fleet_push_task(out, FA_MESSAGE, t, trn_cmd_name(x->cmd.kind));
    if (!a) {
        free(data);
        return;
    }
    a->data = data;
    a->data_len = strlen(data);
}

static void convert(fleet *f, trn_actions *ta, fleet_clock now, fleet_actions *out) {
    ring_cache rc = {NULL, 0, NULL};
    if (ta->oom) out->oom = 1;
    for (int i = 0; !ta->oom && i < ta->n; i++) {
        const trn_action *x = &ta->v[i];
        fleet_action *a;
        tt_task *t;
        switch (x->kind) {
        case TRN_A_PERSIST:
            if ((a = fleet_push(out, FA_PUT_RING)) && !(a->data = strdup(x->record))) out->oom = 1;
            if (a && a->data) a->data_len = strlen(a->data);
            break;
        case TRN_A_CLEAR: fleet_push(out, FA_CLEAR_RING); break;
        case TRN_A_PUBLISH: fleet_push(out, FA_PUBLISH); break;
        case TRN_A_SEND: message(f, x, &rc, out); break;
        case TRN_A_RETIRE:
            if ((t = tt_find(f->tasks, x->task_id)) && !t->kill_sent_ms)
                fleet_kill_task(f, t, "left the ring: its keys are on their new owners", now, out);
            break;
        }
    }
    free(rc.json);
    trn_actions_clear(ta);
}

/* --- events ------------------------------------------------------------------------------- */

static int64_t machine_id(const trn *m) {
    trn_status s;
    trn_get_status(m, 0, &s);
    return s.id;
}

/* Logs a phase change of the machine, whichever event made it (a tick, an
 * executor's answer, a loss): a transition that ends on an answer is logged
 * too. id: the transition's id before the event (0 if idle). */
static void log_phase(const fleet *f, trn_phase before, int64_t id) {
    const trn *m = trn_keep_machine(f->keep);
    trn_phase after = trn_phase_of(m);
    if (before == after) return;
    log_notice("ring transition: %s -> %s (transition %lld)", trn_phase_name(before), trn_phase_name(after),
               (long long)(before != TRN_IDLE ? id : machine_id(m)));
}

/* Around every keeper event: the phase and id before it, then the phase
 * change logged and the keeper's actions turned into fleet actions. */
typedef struct ring_event {
    trn_actions ta;
    trn_phase before;
    int64_t id;
} ring_event;

static void event_begin(const fleet *f, ring_event *e) {
    trn_actions_init(&e->ta);
    e->before = trn_phase_of(trn_keep_machine(f->keep));
    e->id = machine_id(trn_keep_machine(f->keep));
}

static void event_end(fleet *f, ring_event *e, fleet_clock now, fleet_actions *out) {
    log_phase(f, e->before, e->id);
    convert(f, &e->ta, now, out);
}

void fleet_ring_lead(fleet *f, fleet_clock now, fleet_actions *out) {
    char err[256];
    trn_actions ta;
    trn_actions_init(&ta);
    if (f->ring_started) return;
    f->ring_started = 1;
    if (!f->cfg.ring.warm) {   /* cold: the list follows the table; a record left from warm days goes */
        if (f->stored_record) fleet_push(out, FA_CLEAR_RING);
        forget_stored(f);
        return;
    }
    if (trn_keep_begin_term(f->keep, f->stored_pub, f->nstored_pub, f->stored_record, f->stored_len,
                            now.wall_ms, &ta, err, sizeof(err)) != MCM_OK)
        log_warn("stored ring transition refused (%s): dropped; the published list is the ring", err);
    else if (f->stored_record)
        log_notice("continuing the stored ring transition (transition %lld, phase %s)",
                   (long long)machine_id(trn_keep_machine(f->keep)),
                   trn_phase_name(trn_phase_of(trn_keep_machine(f->keep))));
    forget_stored(f);
    convert(f, &ta, now, out);
}

void fleet_ring_tick(fleet *f, fleet_clock now, fleet_actions *out) {
    if (!f->ring_started || !f->cfg.ring.warm) return;
    /* Servers wanted but not launched yet (a replacement waiting for an
     * offer): the ring change waits for them too, so a replacement moves
     * keys once (N -> N), not twice (N -> N-1 -> N). */
    int awaiting = f->desired - fleet_active(f);
    if (awaiting <= 0) f->awaiting_since_ms = 0;
    else if (!f->awaiting_since_ms) f->awaiting_since_ms = now.wall_ms;
    uint64_t fp = fingerprint(f, awaiting > 0 ? awaiting : 0);
    if (trn_keep_settled(f->keep) && fp == f->ring_fp) return;   /* nothing the plan reads has changed */
    f->ring_fp = fp;
    int n;
    int64_t since;
    trn_member *m = members(f, &n, &since);
    if (!m) {
        out->oom = 1;
        return;
    }
    ring_event e;
    event_begin(f, &e);
    if (f->awaiting_since_ms && (!since || f->awaiting_since_ms < since)) since = f->awaiting_since_ms;
    trn_keep_tick(f->keep, m, n, awaiting > 0 ? awaiting : 0, since, now.wall_ms, &e.ta);
    free(m);
    event_end(f, &e, now, out);
}

void fleet_ring_lost(fleet *f, const char *task_id, fleet_clock now, fleet_actions *out) {
    if (!f->ring_started || !trn_involves(trn_keep_machine(f->keep), task_id)) return;
    log_warn("server %s ended during the ring transition: aborting it (its share is cold)", task_id);
    ring_event e;
    event_begin(f, &e);
    trn_keep_on_lost(f->keep, task_id, now.wall_ms, &e.ta);
    event_end(f, &e, now, out);
}

void fleet_ring_stored(fleet *f, const fleet_action *a, int ok) {
    trn_keep_stored(f->keep, a->kind == FA_PUT_RING ? TRN_A_PERSIST : TRN_A_CLEAR, ok);
}

static void progress_of(const mig_msg_progress *m, trn_progress *p) {
    static const trn_cmd_kind kind_of[] = {
        [MIG_CMD_COPY] = TRN_CMD_COPY,   [MIG_CMD_CATCHUP] = TRN_CMD_CATCHUP, [MIG_CMD_CLEANUP] = TRN_CMD_CLEANUP,
        [MIG_CMD_PURGE] = TRN_CMD_PURGE, [MIG_CMD_ABORT] = TRN_CMD_STOP,
    };
    memset(p, 0, sizeof(*p));
    snprintf(p->task_id, sizeof(p->task_id), "%.*s", (int)sizeof(p->task_id) - 1, m->task_id);
    p->id = m->id;
    p->cmd = (unsigned)m->phase < MCM_ARRAY_LEN(kind_of) ? kind_of[m->phase] : 0;
    p->done = m->done;
    p->unsupported = m->unsupported;
    snprintf(p->error, sizeof(p->error), "%.*s", (int)sizeof(p->error) - 1, m->error);
    p->keys_copied = m->p.keys_copied;
    p->bytes_copied = m->p.bytes_copied;
    p->keys_total = m->p.keys_total;
    p->keys_left = m->p.keys_remaining;
    p->keys_deleted = m->p.deleted + m->p.invalidated;
    p->errors = m->p.errors;
}

int fleet_on_executor_message(fleet *f, const void *data, size_t len, fleet_clock now, fleet_actions *out) {
    char err[256];
    mig_msg_kind k = mig_msg_type(data, len);
    if (k == MIG_MSG_OTHER) return 0;
    mig_msg_progress m;
    if (k != MIG_MSG_PROGRESS || mig_progress_decode(data, len, &m, err, sizeof(err)) != MCM_OK) {
        log_warn("unreadable transition message from an executor: %s",
                 k == MIG_MSG_PROGRESS ? err : "a command, which only a scheduler sends");
        return -1;
    }
    if (m.error[0] || m.unsupported)
        log_warn("transition %lld: %s on %s: %s", (long long)m.id, mig_cmd_phase_name(m.phase), m.task_id,
                 m.unsupported ? "this memcached cannot copy keys (no meta commands): its share is cold"
                               : m.error);
    trn_progress p;
    progress_of(&m, &p);
    fleet_on_ring_progress(f, &p, now, out);
    return 1;
}

void fleet_on_ring_progress(fleet *f, const trn_progress *p, fleet_clock now, fleet_actions *out) {
    if (!out || !f->ring_started || !p->id) return;
    ring_event e;
    event_begin(f, &e);
    trn_keep_on_progress(f->keep, p, now.wall_ms, &e.ta);
    event_end(f, &e, now, out);
}
