/* fleet.c -- the scheduler's decisions (see fleet.h for the contract).
 *
 * What: every rule of the leader about its servers, as functions from (table,
 * event, time) to an action list: store an update before acknowledging it;
 * store a task before launching it; kill a task Mesos reports that mcm does
 * not know; keep a server through a partition while it answers the leader's
 * probes, within --unreachable-grace (fleet_partition.c); kill a server back
 * from a partition after its replacement started; keep the fleet at the desired count (revive, suppress, drain the
 * surplus: placement's victim, fleet_place.c, over the order not running
 * first, then least memory in use; launch only where placement admits); kill a drained
 * server when its drain time is over and resend a KILL unanswered for 30 s;
 * keep a step down's surplus server, still draining, when the fleet falls
 * short before clients have left it (keep_surplus), rather than replace one
 * server and remove another;
 * reconcile (explicit with backoff 2 s..60 s, at most 60 s of patience, then
 * implicit, then LEADING); a LAUNCH refused with 4xx forgets the task, one
 * whose fate is unknown keeps it and asks Mesos.
 *
 * Why this shape: the rules are the product; as statement order across files
 * that call Mesos and ZooKeeper inline they could only be tested end to end.
 * Here each one is a few lines whose whole effect is the list it returns
 * (tests/scheduler/test_fleet.c asserts the exact lists).
 *
 * Table changes: only fleet_stored(ok) changes a stored field of the table;
 * marks of actions in flight (kill_sent_ms, suppressed, implicit_sent) are set
 * when decided and undone by fleet_done(!ok), which the runner calls for
 * every action it did not perform too. One exception: keep_surplus ends a
 * drain in the table at once, so that the same tick launches nothing for it;
 * if its store fails, the record still says draining until the task's next
 * store, and a new leader reading it goes on with the drain.
 *
 * Counting: a task is "active" (counts toward desired) unless it has ended,
 * is unreachable (and not kept through the partition), is draining or is
 * being killed.
 *
 * Thread: the core only. Invariants: (1) no action outside a term; (2) one
 * reconciliation run at a time; (3) a launch is decided only while LEADING,
 * never beyond the desired count nor max_per_agent, never where placement
 * (--constraint, zone spread) declines. */
#define LOG_COMPONENT "fleet"
#include "fleet.h"
#include "fleet_int.h"
#include "backoff.h"
#include "log.h"
#include "mcm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define START_FAILURE_WARN_FIRST 3   /* servers failing before running, in a row: warn... */
#define START_FAILURE_WARN_EVERY 20  /* ...and again every this many */



/* --- action lists ------------------------------------------------------------ */

void fleet_actions_init(fleet_actions *l) { memset(l, 0, sizeof(*l)); }

void fleet_actions_clear(fleet_actions *l) {
    for (int i = 0; i < l->n; i++) {
        free(l->v[i].ids);
        free(l->v[i].agents);
        free(l->v[i].data);
    }
    free(l->v);
    fleet_actions_init(l);
}

fleet_action *fleet_push(fleet_actions *l, fleet_action_kind k) {
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 8;
        fleet_action *v = realloc(l->v, sizeof(*v) * (size_t)cap);
        if (!v) {
            l->oom = 1;
            return NULL;
        }
        l->v = v;
        l->cap = cap;
    }
    fleet_action *a = &l->v[l->n++];
    memset(a, 0, sizeof(*a));
    a->kind = k;
    return a;
}

fleet_action *fleet_push_task(fleet_actions *l, fleet_action_kind k, const tt_task *t, const char *why) {
    fleet_action *a = fleet_push(l, k);
    if (!a) return NULL;
    a->task = *t;
    snprintf(a->why, sizeof(a->why), "%s", why ? why : "");
    return a;
}

const char *fleet_action_name(fleet_action_kind k) {
    static const struct { fleet_action_kind k; const char *name; } names[] = {
        {FA_PUT_TASK, "PUT_TASK"}, {FA_DELETE_TASK, "DELETE_TASK"}, {FA_ACK, "ACK"},
        {FA_LAUNCH, "LAUNCH"}, {FA_DECLINE, "DECLINE"}, {FA_KILL, "KILL"},
        {FA_REVIVE, "REVIVE"}, {FA_SUPPRESS, "SUPPRESS"}, {FA_RECONCILE, "RECONCILE"},
        {FA_MESSAGE, "MESSAGE"}, {FA_PUBLISH, "PUBLISH"}, {FA_PHASE, "PHASE"},
        {FA_PUT_RING, "PUT_RING"}, {FA_CLEAR_RING, "CLEAR_RING"},
    };
    for (size_t i = 0; i < MCM_ARRAY_LEN(names); i++)
        if (names[i].k == k) return names[i].name;
    return "?";
}

/* --- life ------------------------------------------------------------------- */

fleet *fleet_new(const fleet_config *cfg) {
    fleet *f = calloc(1, sizeof(*f));
    if (!f) return NULL;
    f->cfg = *cfg;
    f->tasks = tt_create();
    f->bo = backoff_create(cfg->backoff_min_ms, cfg->backoff_max_ms);
    if (!f->tasks || !f->bo || fleet_ring_new(f) != MCM_OK || fleet_place_new(f) != MCM_OK) {
        fleet_free(f);
        return NULL;
    }
    return f;
}

void fleet_free(fleet *f) {
    if (!f) return;
    tt_free(f->tasks);
    backoff_free(f->bo);
    fleet_ring_free(f);
    fleet_place_free(f);
    free(f->quarantine);
    free(f);
}

int fleet_begin_term(fleet *f, const tt_task *tasks, int n, int desired) {
    fleet_end_term(f);
    for (int i = 0; i < n; i++)
        if (!tt_add(f->tasks, &tasks[i])) return MCM_ERR;
    f->desired = desired;
    f->in_term = 1;
    return MCM_OK;
}

void fleet_end_term(fleet *f) {
    tt_clear(f->tasks);
    f->in_term = f->leading = f->suppressed = 0;
    f->relaunch_due = 0;
    f->recon_active = f->implicit_sent = 0;
    fleet_ring_end_term(f);
}

int fleet_in_term(const fleet *f) { return f->in_term; }
int fleet_leading(const fleet *f) { return f->in_term && f->leading; }
int fleet_desired(const fleet *f) { return f->desired; }
void fleet_set_desired(fleet *f, int n) { f->desired = n; }
tt *fleet_table(fleet *f) { return f->tasks; }
tt_task *fleet_find(fleet *f, const char *id) { return tt_find(f->tasks, id); }
int fleet_recon_active(const fleet *f) { return f->recon_active; }

int fleet_is_active(const tt_task *t) {
    int unreachable = t->state == MESOS__V1__TASK_STATE__TASK_UNREACHABLE;
    return !tt_state_is_final(t->state) && (!unreachable || t->part == FLEET_PART_KEPT) && !t->drain_until_ms &&
           !t->kill_sent_ms;
}

int fleet_active(const fleet *f) {
    int n = 0;
    for (int i = 0; i < tt_count(f->tasks); i++) n += fleet_is_active(tt_at(f->tasks, i));
    return n;
}

/* --- reconciliation ----------------------------------------------------------- */

static void send_explicit(fleet *f, fleet_actions *out) {
    int n = tt_count(f->tasks), k = 0;
    for (int i = 0; i < n; i++) k += !tt_at(f->tasks, i)->confirmed;
    if (!k) return;
    fleet_action *a = fleet_push(out, FA_RECONCILE);
    if (!a) return;
    a->ids = calloc((size_t)k, sizeof(*a->ids));
    a->agents = calloc((size_t)k, sizeof(*a->agents));
    if (!a->ids || !a->agents) {
        out->oom = 1;
        out->n--;
        free(a->ids);
        free(a->agents);
        return;
    }
    for (int i = 0; i < n; i++) {
        const tt_task *t = tt_at(f->tasks, i);
        if (t->confirmed) continue;
        snprintf(a->ids[a->n], TT_ID_MAX, "%s", t->id);
        snprintf(a->agents[a->n], TT_ID_MAX, "%s", t->agent_id);
        a->n++;
    }
    snprintf(a->why, sizeof(a->why), "explicit reconciliation of %d tasks", k);
}

/* periodic: while LEADING (every --reconcile-interval); else after
 * SUBSCRIBED, holding the leader in RECONCILING until it ends. */
static void recon_start(fleet *f, int periodic, fleet_clock now, fleet_actions *out) {
    if (!periodic) {
        f->leading = 0;
        fleet_action *a = fleet_push(out, FA_PHASE);
        if (a) a->phase = FLEET_RECONCILING;
    }
    f->recon_active = 1;
    f->recon_run++;
    f->implicit_sent = 0;
    for (int i = 0; i < tt_count(f->tasks); i++) tt_at(f->tasks, i)->confirmed = 0;
    f->recon_started_ms = now.mono_ms;
    f->recon_delay_ms = FLEET_RECON_FIRST_DELAY_MS;
    f->recon_next_ms = now.mono_ms + f->recon_delay_ms;
    send_explicit(f, out);
}

static int unconfirmed(const fleet *f) {
    int n = 0;
    for (int i = 0; i < tt_count(f->tasks); i++) n += !tt_at(f->tasks, i)->confirmed;
    return n;
}

static void recon_tick(fleet *f, fleet_clock now, fleet_actions *out) {
    if (!f->recon_active || f->implicit_sent) return;
    int left = unconfirmed(f);
    if (left == 0 || now.mono_ms - f->recon_started_ms >= FLEET_RECON_PATIENCE_MS) {
        fleet_action *a = fleet_push(out, FA_RECONCILE);   /* implicit: the run ends once it is sent */
        if (!a) return;
        a->n = 0;
        a->run = f->recon_run;
        snprintf(a->why, sizeof(a->why), "implicit reconciliation (%d tasks unanswered)", left);
        f->implicit_sent = 1;
        return;
    }
    if (now.mono_ms < f->recon_next_ms) return;
    send_explicit(f, out);
    f->recon_delay_ms = f->recon_delay_ms * 2 > FLEET_RECON_MAX_DELAY_MS ? FLEET_RECON_MAX_DELAY_MS
                                                                          : f->recon_delay_ms * 2;
    f->recon_next_ms = now.mono_ms + f->recon_delay_ms;
}

static void balance(fleet *f, fleet_clock now, fleet_actions *out);

static void recon_finished(fleet *f, fleet_clock now, fleet_actions *out) {
    int silent = unconfirmed(f);
    if (silent)
        log_warn("reconciliation: %d tasks still unanswered after %ds; leading anyway, still asking", silent,
                 (int)((now.mono_ms - f->recon_started_ms) / 1000));
    else
        log_notice("reconciliation done in %lld ms: every task's state is confirmed",
                   (long long)(now.mono_ms - f->recon_started_ms));
    f->next_full_recon_ms = now.mono_ms + f->cfg.reconcile_interval_ms;
    f->recon_active = f->implicit_sent = 0;
    if (f->leading) return;   /* a periodic run */
    f->leading = 1;
    fleet_part_resolve(f, now);   /* a kept server counts before the balance */
    fleet_action *a = fleet_push(out, FA_PHASE);
    if (a) a->phase = FLEET_LEADING;
    balance(f, now, out);     /* a surplus (say, a drain cut short by a failover) goes before publishing */
    fleet_ring_lead(f, now, out);   /* the stored transition goes on, or the stored list is the ring */
    fleet_push(out, FA_PUBLISH);
}

void fleet_on_subscribed(fleet *f, fleet_clock now, fleet_actions *out) {
    if (!f->in_term) return;
    f->suppressed = 0;        /* a new subscription starts with offers wanted */
    recon_start(f, 0, now, out);
}

void fleet_on_unsubscribed(fleet *f) { f->leading = 0; }

/* --- kills and drains ------------------------------------------------------------ */

void fleet_kill_task(fleet *f, tt_task *t, const char *why, fleet_clock now, fleet_actions *out) {
    (void)f;
    fleet_action *a = fleet_push_task(out, FA_KILL, t, why);
    if (!a) return;
    a->prev_kill_ms = t->kill_sent_ms;
    t->kill_sent_ms = now.mono_ms;   /* in flight; undone by fleet_done(!ok) */
}

static void drain(fleet *f, tt_task *t, const char *why, int surplus, fleet_clock now, fleet_actions *out) {
    if (t->state != MESOS__V1__TASK_STATE__TASK_RUNNING) {
        fleet_kill_task(f, t, why, now, out);
        return;
    }
    fleet_action *a = fleet_push_task(out, FA_PUT_TASK, t, why);   /* a new leader must not publish it again */
    if (!a) return;
    a->task.surplus = surplus;
    /* Warm: it leaves the ring when a transition has copied its keys and
     * retires it; the deadline is then only a safety net. */
    a->task.drain_until_ms = now.mono_ms + fleet_ring_drain_ms(f);
    fleet_push(out, FA_PUBLISH);
}

void fleet_drain(fleet *f, const char *id, const char *why, fleet_clock now, fleet_actions *out) {
    tt_task *t = f->in_term ? tt_find(f->tasks, id) : NULL;
    if (t && fleet_is_active(t)) drain(f, t, why, 0, now, out);
}

int fleet_restart(fleet *f, const char *id, fleet_clock now, fleet_actions *out) {
    tt_task *t = f->in_term ? tt_find(f->tasks, id) : NULL;
    if (!t) return FLEET_NOT_FOUND;
    if (t->kill_sent_ms || t->drain_until_ms) return FLEET_CONFLICT;
    if (f->cfg.ring.warm && t->state == MESOS__V1__TASK_STATE__TASK_RUNNING) {
        drain(f, t, "operator restart: replaced warm", 0, now, out);   /* a replacement starts first */
        return MCM_OK;
    }
    fleet_kill_task(f, t, "operator restart", now, out);
    if (out->n && out->v[out->n - 1].kind == FA_KILL) out->v[out->n - 1].replace = 1;
    return MCM_OK;
}

void fleet_forget_all(fleet *f, fleet_actions *out) {
    for (int i = 0; f->in_term && i < tt_count(f->tasks); i++)
        fleet_push_task(out, FA_DELETE_TASK, tt_at(f->tasks, i), "the framework is gone");
}

/* --- balance ------------------------------------------------------------------------ */

static void offers_wanted(fleet *f, int active, fleet_actions *out) {
    int want = active < f->desired;
    if (want == !f->suppressed) return;
    fleet_action *a = fleet_push(out, want ? FA_REVIVE : FA_SUPPRESS);
    if (!a) return;
    if (want) snprintf(a->why, sizeof(a->why), "%d more servers wanted", f->desired - active);
    else snprintf(a->why, sizeof(a->why), "the fleet is at its desired size (%d)", f->desired);
    f->suppressed = !want;   /* in flight; undone by fleet_done(!ok) */
}

/* 1 if t goes before u in the step-down preference: not running first,
 * then least memory in use. */
static int removed_before(const tt_task *t, const tt_task *u) {
    int tr = t->state == MESOS__V1__TASK_STATE__TASK_RUNNING, ur = u->state == MESOS__V1__TASK_STATE__TASK_RUNNING;
    if (tr != ur) return !tr;
    return (t->has_report ? t->last.bytes : 0) < (u->has_report ? u->last.bytes : 0);
}

/* The surplus server to remove: placement's choice (fleet_place_victim:
 * misplaced servers, GROUP_BY, the fullest zone) over the active servers in
 * the preference order (table order among equals). */
static tt_task *surplus_victim(fleet *f) {
    int n = 0;
    tt_task **c = malloc(sizeof(*c) * (size_t)(tt_count(f->tasks) + 1));
    if (!c) return NULL;
    for (int i = 0; i < tt_count(f->tasks); i++) {
        tt_task *t = tt_at(f->tasks, i);
        if (!fleet_is_active(t)) continue;
        int k = n++;   /* insertion: stable, the fleet is tens to hundreds */
        for (; k > 0 && removed_before(t, c[k - 1]); k--) c[k] = c[k - 1];
        c[k] = t;
    }
    tt_task *best = fleet_place_victim(f, c, n);
    free(c);
    return best;
}

/* 1 while clients are still sent to t's keys: no transition, or one that
 * aborted before it published R' (its abort publishes R less the lost, t in
 * it). Once R' without t was published, clients left t and its copies may
 * grow stale: it must go. */
static int still_owns_its_keys(const fleet *f, const tt_task *t) {
    const trn *m = f->keep ? trn_keep_machine(f->keep) : NULL;
    if (!m || !trn_involves(m, t->id)) return 1;
    return trn_phase_of(m) == TRN_ABORT && !trn_published_next(m);
}

/* A step down's surplus server still draining is kept, not replaced, when
 * the fleet falls short (another server ended meanwhile): replacing the lost
 * one and removing a healthy one would move two servers' keys for none.
 * The table changes at once, so this tick launches nothing for it; if the
 * store fails, ZooKeeper still says draining and a new leader goes on with
 * the drain. Returns how many were kept. */
static int keep_surplus(fleet *f, int missing, fleet_actions *out) {
    int kept = 0;
    for (int i = 0; i < tt_count(f->tasks) && kept < missing; i++) {
        tt_task *t = tt_at(f->tasks, i);
        if (!t->surplus || !t->drain_until_ms || t->kill_sent_ms || t->state != MESOS__V1__TASK_STATE__TASK_RUNNING ||
            !still_owns_its_keys(f, t))
            continue;
        fleet_action *a = fleet_push_task(out, FA_PUT_TASK, t, "the fleet fell short: kept instead of replaced");
        if (!a) break;
        a->task.drain_until_ms = 0;
        a->task.surplus = 0;
        t->drain_until_ms = 0;
        t->surplus = 0;
        log_notice("keeping %s on %s:%d: it was leaving as a surplus server, and the fleet is short again", t->id,
                   t->hostname, t->port);
        kept++;
    }
    if (kept && !f->cfg.ring.warm) fleet_push(out, FA_PUBLISH);   /* warm: the ring keeper publishes */
    return kept;
}

static void balance(fleet *f, fleet_clock now, fleet_actions *out) {
    int active = fleet_active(f);
    if (active < f->desired) active += keep_surplus(f, f->desired - active, out);
    offers_wanted(f, active, out);
    if (active > f->desired) {
        tt_task *v = surplus_victim(f);
        if (v) drain(f, v, "more servers than desired", 1, now, out);
    }
    for (int i = 0; i < tt_count(f->tasks); i++) {
        tt_task *t = tt_at(f->tasks, i);
        if (t->drain_until_ms && now.mono_ms >= t->drain_until_ms && !t->kill_sent_ms)
            fleet_kill_task(f, t, "drain time over", now, out);
        else if (t->kill_sent_ms && now.mono_ms - t->kill_sent_ms >= FLEET_KILL_RESEND_MS)
            fleet_kill_task(f, t, "no answer to KILL", now, out);
    }
}

static void ask_about_unreachable(fleet *f, const char *agent_id, fleet_clock now, fleet_actions *out);

void fleet_tick(fleet *f, fleet_clock now, fleet_actions *out) {
    if (!f->in_term) return;
    fleet_part_resolve(f, now);
    recon_tick(f, now, out);
    if (!f->leading) return;
    if (now.mono_ms >= f->next_full_recon_ms && !f->recon_active) recon_start(f, 1, now, out);
    if (!f->recon_active) ask_about_unreachable(f, NULL, now, out);
    fleet_part_tick(f, now, out);   /* a grace that ended: replaced by the balance below */
    balance(f, now, out);
    fleet_ring_tick(f, now, out);
}

/* --- status updates --------------------------------------------------------------------- */

static void ack(const fleet_status *st, fleet_actions *out) {
    if (!st->uuid || !st->agent_id || st->uuid_len > FLEET_UUID_MAX) return;   /* master-made: nothing to acknowledge */
    fleet_action *a = fleet_push(out, FA_ACK);
    if (!a) return;
    snprintf(a->task.id, sizeof(a->task.id), "%s", st->task_id);
    snprintf(a->task.agent_id, sizeof(a->task.agent_id), "%s", st->agent_id);
    memcpy(a->uuid, st->uuid, st->uuid_len);
    a->uuid_len = st->uuid_len;
}

int fleet_set_quarantine(fleet *f, const char (*ids)[TT_ID_MAX], int n) {
    free(f->quarantine);
    f->quarantine = NULL;
    f->nquarantine = 0;
    if (n <= 0) return MCM_OK;
    if (!(f->quarantine = calloc((size_t)n, sizeof(*f->quarantine)))) return MCM_ERR;
    memcpy(f->quarantine, ids, sizeof(*f->quarantine) * (size_t)n);
    f->nquarantine = n;
    return MCM_OK;
}

static int quarantined(const fleet *f, const char *id) {
    for (int i = 0; i < f->nquarantine; i++)
        if (!strcmp(f->quarantine[i], id)) return 1;
    return 0;
}

static void orphan(const fleet *f, const fleet_status *st, fleet_actions *out) {
    if (quarantined(f, st->task_id)) {   /* its record is corrupt, not absent: never kill what may serve */
        log_warn("Mesos reports task %s (%s) whose stored record is corrupt: left running, not published; repair "
                 "or delete state/tasks/%s", st->task_id, tt_state_name(st->state), st->task_id);
    } else if (!tt_state_is_final(st->state)) {
        tt_task t;
        memset(&t, 0, sizeof(t));
        snprintf(t.id, sizeof(t.id), "%s", st->task_id);
        snprintf(t.agent_id, sizeof(t.agent_id), "%s", st->agent_id ? st->agent_id : "");
        t.state = st->state;
        log_warn("Mesos reports task %s (%s) that mcm does not know: killing it", st->task_id,
                 tt_state_name(st->state));
        fleet_push_task(out, FA_KILL, &t, "unknown to mcm");
    }
    ack(st, out);
}

/* A server that comes back from TASK_UNREACHABLE after a replacement was
 * launched missed every write made during the partition: it is killed, not
 * published again (its replacement is). Counted as it will be once stored. */
static int back_from_partition(const fleet *f, const tt_task *was, const tt_task *next) {
    if (was->state != MESOS__V1__TASK_STATE__TASK_UNREACHABLE || next->state != MESOS__V1__TASK_STATE__TASK_RUNNING)
        return 0;
    return fleet_active(f) - fleet_is_active(was) + fleet_is_active(next) > f->desired;
}

void fleet_on_update(fleet *f, const fleet_status *st, fleet_clock now, fleet_actions *out) {
    if (!f->in_term) return;
    tt_task *t = tt_find(f->tasks, st->task_id);
    if (!t) {
        orphan(f, st, out);
        return;
    }
    t->confirmed = 1;   /* heard from during this reconciliation */
    if (st->agent_id && !t->agent_id[0]) snprintf(t->agent_id, sizeof(t->agent_id), "%s", st->agent_id);
    if (t->state == st->state) {
        ack(st, out);
        return;
    }
    tt_task next = *t;
    next.state = st->state;
    next.changed_ms = now.wall_ms;
    snprintf(next.reason, sizeof(next.reason), "%s", st->message ? st->message : "");
    int final = tt_state_is_final(next.state);
    int stale = back_from_partition(f, t, &next);
    int kept = next.state == MESOS__V1__TASK_STATE__TASK_UNREACHABLE && fleet_part_keepable(f, t);
    fleet_action *a = fleet_push_task(out, final ? FA_DELETE_TASK : FA_PUT_TASK, &next, final ? "ended" : "update");
    if (!a) return;
    a->ended = final;
    a->kept = kept;
    ack(st, out);
    if (stale) {
        fleet_action *k = fleet_push_task(out, FA_KILL, &next, "back from a partition after its replacement started: "
                                                         "its data is stale");
        if (k) k->prev_kill_ms = t->kill_sent_ms;
        t->kill_sent_ms = now.mono_ms;   /* in flight (not stored: no ZooKeeper field) */
    }
    if (final || (next.state == MESOS__V1__TASK_STATE__TASK_UNREACHABLE && !kept) || stale)
        fleet_ring_lost(f, next.id, now, out);   /* a transition it takes part in aborts */
    fleet_push(out, FA_PUBLISH);
}

void fleet_on_updates(fleet *f, const fleet_status *st, int n, fleet_clock now, fleet_actions *out) {
    int from = out->n, publish = 0;
    for (int i = 0; i < n; i++) fleet_on_update(f, &st[i], now, out);
    int k = from;   /* the PUBLISHes of each update dropped, one kept at the end */
    for (int i = from; i < out->n; i++) {
        if (out->v[i].kind == FA_PUBLISH) publish = 1;   /* it owns no memory */
        else out->v[k++] = out->v[i];
    }
    out->n = k;
    if (publish) fleet_push(out, FA_PUBLISH);
}

int fleet_update_batchable(const fleet *f, const fleet_status *st, const char *const *ids, int nids) {
    if (tt_state_is_final(st->state) || st->state == MESOS__V1__TASK_STATE__TASK_UNREACHABLE) return 0;
    const tt_task *t = tt_find(f->tasks, st->task_id);
    if (t && t->state == MESOS__V1__TASK_STATE__TASK_UNREACHABLE) return 0;
    for (int i = 0; i < nids; i++)
        if (!strcmp(ids[i], st->task_id)) return 0;
    return 1;
}

/* --- offers ---------------------------------------------------------------------------- */

/* Launches already decided in this batch on agent_id. */
static int planned_on(const fleet_actions *out, int from, const char *agent_id) {
    int n = 0;
    for (int i = from; i < out->n; i++)
        n += out->v[i].kind == FA_LAUNCH && !strcmp(out->v[i].task.agent_id, agent_id);
    return n;
}

/* An UNREACHABLE task to ask Mesos about now: on agent_id (NULL: any agent,
 * and then only once it has been UNREACHABLE for FLEET_UNREACHABLE_ASK_MS:
 * the master has just said so), not asked within FLEET_UNREACHABLE_ASK_MS. */
static int ask_due(const tt_task *t, const char *agent_id, fleet_clock now) {
    if (t->state != MESOS__V1__TASK_STATE__TASK_UNREACHABLE) return 0;
    if (agent_id ? strcmp(t->agent_id, agent_id) != 0 : now.wall_ms - t->changed_ms < FLEET_UNREACHABLE_ASK_MS)
        return 0;
    return !(t->recon_asked_ms && now.mono_ms - t->recon_asked_ms < FLEET_UNREACHABLE_ASK_MS);
}

/* Asks Mesos about the UNREACHABLE tasks of agent_id (NULL: of every agent)
 * in one explicit reconciliation, each at most every
 * FLEET_UNREACHABLE_ASK_MS: an agent back without them leaves records
 * nobody runs, and they must not wait for the next full reconciliation.
 * Two callers: an agent that offers again (at once), and the tick (for an
 * agent whose offers never come: the fleet is at its size and SUPPRESSed,
 * say a surplus server that went unreachable while it drained). */
static void ask_about_unreachable(fleet *f, const char *agent_id, fleet_clock now, fleet_actions *out) {
    int k = 0, n = tt_count(f->tasks);
    for (int i = 0; i < n; i++) k += ask_due(tt_at(f->tasks, i), agent_id, now);
    if (!k) return;
    fleet_action *a = fleet_push(out, FA_RECONCILE);
    if (!a) return;   /* fleet_push marked out->oom */
    a->ids = calloc((size_t)k, sizeof(*a->ids));
    a->agents = calloc((size_t)k, sizeof(*a->agents));
    if (!a->ids || !a->agents) {
        free(a->ids);
        free(a->agents);
        out->n--;
        out->oom = 1;
        return;
    }
    for (int i = 0; i < n; i++) {
        tt_task *t = tt_at(f->tasks, i);
        if (!ask_due(t, agent_id, now)) continue;
        snprintf(a->ids[a->n], TT_ID_MAX, "%s", t->id);
        snprintf(a->agents[a->n], TT_ID_MAX, "%s", t->agent_id);
        a->n++;
        t->recon_asked_ms = now.mono_ms;
    }
    if (agent_id)
        snprintf(a->why, sizeof(a->why), "%d unreachable task%s on agent %.100s, which offers again", k,
                 k == 1 ? "" : "s", agent_id);
    else
        snprintf(a->why, sizeof(a->why), "%d unreachable task%s, asked again", k, k == 1 ? "" : "s");
}

/* 1 if one more server can go on o; *wait: the relaunch backoff left, if that is all that stops it. */
static int usable(fleet *f, const fleet_offer *o, const fleet_actions *out, int from, fleet_clock now, int64_t *wait) {
    *wait = 0;
    if (!o->fits || !o->new_task_id || !o->agent_id) return 0;
    if (tt_on_agent(f->tasks, o->agent_id) + planned_on(out, from, o->agent_id) >= f->cfg.max_per_agent) return 0;
    if (!fleet_place_admit(f, o, out, now)) return 0;   /* constraints, zone spread */
    *wait = backoff_wait_ms(f->bo, o->agent_id, now.mono_ms);
    if (*wait > 0) log_verbose("agent %s in relaunch backoff for %lld ms", o->hostname, (long long)*wait);
    return *wait <= 0;
}

static void launch(fleet *f, const fleet_offer *o, int idx, fleet_clock now, fleet_actions *out) {
    tt_task t;
    memset(&t, 0, sizeof(t));
    snprintf(t.id, sizeof(t.id), "%s", o->new_task_id);
    snprintf(t.agent_id, sizeof(t.agent_id), "%s", o->agent_id);
    snprintf(t.hostname, sizeof(t.hostname), "%s", o->hostname ? o->hostname : "");
    t.port = o->port;
    t.state = MESOS__V1__TASK_STATE__TASK_STAGING;
    t.changed_ms = now.wall_ms;
    t.cpus = f->cfg.cpus;
    t.mem_mb = f->cfg.mem_mb;
    fleet_place_stamp(&t, o->agent);   /* stored: a new leader knows where it runs */
    t.confirmed = 1;
    fleet_action *a = fleet_push_task(out, FA_PUT_TASK, &t, "new server");
    if (!a) return;
    a->fresh = 1;
    a = fleet_push_task(out, FA_LAUNCH, &t, "");
    if (!a) return;
    a->offer = idx;
    a->port = o->port;
    a->refuse_s = f->cfg.refuse_s;
}

/* One DECLINE of the offers marked in `which`, with filter refuse_s. */
static void decline(const fleet_offer *offers, int n, const char *which, double refuse_s, fleet_actions *out) {
    int nd = 0;
    for (int i = 0; i < n; i++) nd += which[i];
    fleet_action *d = nd ? fleet_push(out, FA_DECLINE) : NULL;
    if (d && (d->ids = calloc((size_t)nd, sizeof(*d->ids)))) {
        for (int i = 0; i < n; i++)
            if (which[i]) snprintf(d->ids[d->n++], TT_ID_MAX, "%s", offers[i].id);
        d->refuse_s = refuse_s;
    } else if (d) {
        out->n--;
        out->oom = 1;
    }
}

/* The DECLINEs go first: a failed store of a launch below stops the list,
 * and offers neither used nor declined would be held until rescinded. An
 * offer declined only because its agent is in relaunch backoff is filtered
 * for no longer than the backoff has left (the documented
 * --relaunch-backoff-min is then what a user sees, not --refuse-time). */
void fleet_on_offers(fleet *f, const fleet_offer *offers, int n, fleet_clock now, fleet_actions *out) {
    if (!f->in_term || n <= 0) return;
    fleet_actions launches;
    fleet_actions_init(&launches);
    int need = f->leading ? f->desired - fleet_active(f) : 0;
    char *plain = calloc((size_t)n, 1), *backed_off = calloc((size_t)n, 1);
    if (!plain || !backed_off) {
        free(plain);
        free(backed_off);
        out->oom = 1;
        return;
    }
    int64_t min_wait = 0, launched = 0;
    fleet_place_offers(f, offers, n, now);   /* which zones have room */
    for (int i = 0; i < n; i++) {
        int64_t wait = 0;
        if (f->leading && offers[i].agent_id) ask_about_unreachable(f, offers[i].agent_id, now, out);
        if (need > 0 && usable(f, &offers[i], &launches, 0, now, &wait)) {
            launch(f, &offers[i], i, now, &launches);
            need--;
            launched++;
        } else if (need > 0 && wait > 0) {
            backed_off[i] = 1;
            min_wait = !min_wait || wait < min_wait ? wait : min_wait;
        } else {
            plain[i] = 1;
        }
    }
    fleet_place_offers_done(f, (int)launched, need, now);
    double refuse = f->leading ? f->cfg.refuse_s : FLEET_NOT_LEADING_REFUSE_S;
    decline(offers, n, plain, refuse, out);
    decline(offers, n, backed_off, (double)min_wait / 1000.0 < refuse ? (double)min_wait / 1000.0 : refuse, out);
    for (int i = 0; i < launches.n; i++) {
        fleet_action *a = fleet_push(out, launches.v[i].kind);
        if (a) *a = launches.v[i];
    }
    free(launches.v);   /* the actions moved to out (launches own no arrays) */
    free(plain);
    free(backed_off);
}

/* --- outcomes --------------------------------------------------------------------------------- */

static void count_start_failure(fleet *f, const tt_task *t, int was) {
    if (was == MESOS__V1__TASK_STATE__TASK_RUNNING) return;   /* it ran: not a start failure */
    if (++f->start_failures == START_FAILURE_WARN_FIRST || f->start_failures % START_FAILURE_WARN_EVERY == 0)
        log_warn("the last %d servers all failed before running (latest: %s%s%s); check --memcached-command, "
                 "--executor-command and --executor-uri, and the executor's stderr in the agent sandbox",
                 f->start_failures, tt_state_name(t->state), t->reason[0] ? ": " : "", t->reason);
}

/* FAILED, LOST, ERROR, DROPPED, GONE, UNKNOWN: the agent may be at fault. */
static int failure_state(int st) {
    switch (st) {
    case MESOS__V1__TASK_STATE__TASK_FAILED: case MESOS__V1__TASK_STATE__TASK_LOST:
    case MESOS__V1__TASK_STATE__TASK_ERROR: case MESOS__V1__TASK_STATE__TASK_DROPPED:
    case MESOS__V1__TASK_STATE__TASK_GONE: case MESOS__V1__TASK_STATE__TASK_UNKNOWN:
        return 1;
    default:
        return 0;
    }
}

/* t is the table's entry; end the record's final state and reason. */
static void ended(fleet *f, const tt_task *t, const tt_task *end, fleet_clock now) {
    int deliberate = t->kill_sent_ms || t->drain_until_ms;
    if (!deliberate) count_start_failure(f, end, t->state);
    log_notice("server %s on %s:%d ended: %s%s%s", t->id, t->hostname, t->port, tt_state_name(end->state),
               end->reason[0] ? ": " : "", end->reason);
    if (!deliberate && failure_state(end->state)) backoff_failure(f->bo, t->agent_id, now.mono_ms);
    if (!deliberate) f->relaunch_due++;
}

/* The stored fields of a record move into the table; the bookkeeping of the
 * entry (confirmed, kill marks, reports) stays. */
static void record_update(tt_task *dst, const tt_task *src) {
    snprintf(dst->agent_id, sizeof(dst->agent_id), "%s", src->agent_id);
    snprintf(dst->reason, sizeof(dst->reason), "%s", src->reason);
    dst->state = src->state;
    dst->changed_ms = src->changed_ms;
    dst->drain_until_ms = src->drain_until_ms;
    dst->surplus = src->surplus;
}

void fleet_stored(fleet *f, const fleet_action *a, int ok, fleet_clock now) {
    if (a->kind == FA_PUT_RING || a->kind == FA_CLEAR_RING) {
        fleet_ring_stored(f, a, ok);
        return;
    }
    if (!ok || !f->in_term) return;   /* the table stays as it was: Mesos resends, ticks decide again */
    tt_task *t = tt_find(f->tasks, a->task.id);
    if (a->kind == FA_DELETE_TASK) {
        if (t && a->ended) ended(f, t, &a->task, now);
        tt_remove(f->tasks, a->task.id);
        return;
    }
    if (!t) {
        if (!tt_add(f->tasks, &a->task)) log_error("out of memory adding task %s", a->task.id);
        return;
    }
    if (a->task.state != t->state && a->task.state == MESOS__V1__TASK_STATE__TASK_RUNNING) {
        backoff_success(f->bo, t->agent_id);
        f->start_failures = 0;
    }
    if (a->task.drain_until_ms && !t->drain_until_ms)
        log_notice(f->cfg.ring.warm ? "draining %s on %s:%d (%s): its keys move to their new owners first, then it "
                                      "leaves the list and is killed (within %lld ms at the latest)"
                                    : "draining %s on %s:%d (%s): unpublished now, killed in %lld ms",
                   t->id, t->hostname, t->port, a->why, (long long)fleet_ring_drain_ms(f));
    record_update(t, &a->task);
    fleet_part_stored(f, t, a);
}

static int refused(const char *err) {
    return err && err[0] == '4' && err[1] >= '0' && err[1] <= '9';   /* "4xx <body>" */
}

/* A LAUNCH the master answered 4xx was refused: the task never existed and
 * its record goes. Any other failure (timeout, connection lost) leaves it
 * unknown whether the master took it: the record stays (STAGING, so nothing
 * replaces it yet) and a reconciliation run asks Mesos what became of it. */
static void launch_failed(fleet *f, const fleet_action *a, const char *err, fleet_clock now, fleet_actions *out) {
    tt_task *t = tt_find(f->tasks, a->task.id);
    if (!t) return;
    if (refused(err)) {
        log_warn("LAUNCH of %s on %s refused: %s", a->task.id, a->task.hostname, err);
        fleet_push_task(out, FA_DELETE_TASK, t, "LAUNCH refused");
        return;
    }
    log_warn("LAUNCH of %s on %s may or may not have reached the master (%s): asking Mesos about it", a->task.id,
             a->task.hostname, err ? err : "?");
    t->confirmed = 0;
    if (!f->recon_active) recon_start(f, 1, now, out);
}

void fleet_done(fleet *f, fleet_action *a, int ok, const char *err, fleet_clock now, fleet_actions *out) {
    if (!f->in_term) return;
    tt_task *t = tt_find(f->tasks, a->task.id);
    switch (a->kind) {
    case FA_KILL:
        if (!ok && t) t->kill_sent_ms = a->prev_kill_ms;   /* not sent: the next tick tries again */
        if (ok && a->replace) f->relaunch_due++;
        break;
    case FA_REVIVE:
        if (!ok) f->suppressed = 1;
        break;
    case FA_SUPPRESS:
        if (!ok) f->suppressed = 0;
        break;
    case FA_LAUNCH:
        if (!ok) {
            launch_failed(f, a, err, now, out);
        } else if (f->relaunch_due > 0) {
            f->relaunch_due--;
            a->relaunch = 1;
        }
        break;
    case FA_RECONCILE:
        if (a->n || !f->recon_active || !f->implicit_sent || a->run != f->recon_run) break;
        if (ok) {
            recon_finished(f, now, out);
        } else {
            f->implicit_sent = 0;   /* retried after the current delay */
            f->recon_next_ms = now.mono_ms + f->recon_delay_ms;
        }
        break;
    default:
        break;
    }
}

/* --- reports ----------------------------------------------------------------------------------- */

tt_task *fleet_on_report(fleet *f, const report *r, fleet_clock now) {
    tt_task *t = f->in_term ? tt_find(f->tasks, r->task_id) : NULL;
    if (!t) return NULL;
    t->prev = t->last;
    t->last = *r;
    t->has_report = 1;
    t->report_rx_ms = now.mono_ms;
    return t;
}
