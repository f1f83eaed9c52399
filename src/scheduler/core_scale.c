/* core_scale.c -- autoscaling on the leader: executor reports in, the policy's
 * decision (src/policy, pure) out, applied one server at a time.
 *
 * What: every executor report (a framework MESSAGE, report.h) is attached to
 * its task and fed to the policy; once a second the policy decides. UP raises
 * the desired count (the fleet then revives offers and launches); DOWN
 * lowers it and drains the policy's victim: unpublished at once, killed after
 * --drain-time. The policy's history (cooldown, operator pause, decisions) is
 * stored with the desired count in ZooKeeper whenever it changes, so a new
 * leader continues the same cooldown.
 *
 * A desired count of 0 (after a teardown) means the fleet is off: autoscaling
 * leaves it alone, even below --instances-min, until POST /v1/scale.
 *
 * Thread: core. */
#define LOG_COMPONENT "scale"
#include "core_int.h"
#include "log.h"
#include "mcm.h"
#include "util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCALE_TICK_MS 1000

static metrics_family *decisions_family(core *c) {
    return metrics_family_add(http_metrics(c->http), METRICS_COUNTER, "mcm_autoscale_decisions_total",
                              "Autoscaling evaluations by outcome (up, down, none) and reason.", "action,reason");
}

static void policy_cfg(const sched_config *s, policy_config *p) {
    policy_config_default(p);
    p->autoscale = s->autoscale;
    p->instances_min = (int)s->instances_min;
    p->instances_max = (int)s->instances_max;
    p->scale_up_mem = s->scale_up_mem;
    p->scale_up_evictions = s->scale_up_evictions;
    p->scale_up_cpu = s->scale_up_cpu;
    p->scale_down_mem = s->scale_down_mem;
    p->scale_up_window_ms = s->scale_up_window_ms;
    p->scale_down_window_ms = s->scale_down_window_ms;
    p->cooldown_ms = s->cooldown_ms;
    p->report_max_age_ms = s->report_max_age_ms;
    p->operator_pause_ms = s->operator_pause_ms;
}

void core_scale_load(core *c, const char *history_json) {
    char err[256];
    policy_config pc;
    policy_cfg(c->cfg, &pc);
    policy_free(c->pol);
    c->pol = policy_new(&pc, err, sizeof(err));
    if (!c->pol) {
        log_error("autoscaling policy: %s", err);   /* config was checked at start: out of memory */
        return;
    }
    int64_t now = util_wall_ms();
    if (history_json && policy_history_load(c->pol, history_json, strlen(history_json), now, err, sizeof(err)) != MCM_OK)
        log_warn("stored autoscaling history is unreadable (%s): starting fresh", err);
    policy_reset_after_failover(c->pol, now);
    c->history_seq = policy_history_seq(c->pol);
}

/* Stores the desired count n with the history JSON hist (NULL: none). */
static int store_desired(core *c, int n, const char *hist, const char *why) {
    char err[512];
    if (!core_may_act(c)) return MCM_ERR;
    int rc = state_set_desired(c->st, n, hist, err, sizeof(err));
    if (core_fenced_result(c, rc, "storing the desired count", err) != MCM_OK) return MCM_ERR;
    if (n != fleet_desired(c->fl)) log_notice("desired servers %d -> %d (%s)", fleet_desired(c->fl), n, why);
    fleet_set_desired(c->fl, n);
    c->history_seq = c->pol ? policy_history_seq(c->pol) : 0;
    metrics_set(c->mm.desired, NULL, n);
    return MCM_OK;
}

int core_set_desired(core *c, int n, const char *why) {
    char *hist = c->pol ? policy_history_json(c->pol) : NULL;
    int rc = store_desired(c, n, hist, why);
    free(hist);
    return rc;
}

void core_on_report(core *c, const Mesos__V1__Scheduler__Event__Message *m) {
    char err[256];
    report r;
    fleet_actions l;
    fleet_actions_init(&l);
    int ring_msg = m ? fleet_on_executor_message(c->fl, m->data.data, m->data.len, core_clock(), &l) : 0;
    if (ring_msg) {   /* a transition's progress (or a malformed one, logged) */
        core_run_actions(c, &l, NULL, NULL);
        return;
    }
    if (!m || report_decode((const char *)m->data.data, m->data.len, &r, err, sizeof(err)) != MCM_OK) {
        log_warn("unreadable executor message from %s: %s", m && m->executor_id ? m->executor_id->value : "?",
                 m ? err : "empty");
        return;
    }
    const tt_task *t = fleet_on_report(c->fl, &r, core_clock());
    if (!t) {
        log_verbose("report for unknown task %s ignored", r.task_id);
        return;
    }
    if (c->pol && t->state == MESOS__V1__TASK_STATE__TASK_RUNNING)
        policy_observe(c->pol, t->id, &r, t->cpus, util_wall_ms());
    rhist_add(c->rh, t->id, &r);   /* the page's charts (core_view.c) */
}

static void fleet_of(core *c, policy_fleet *f, const char **ids) {
    memset(f, 0, sizeof(*f));
    f->desired = fleet_desired(c->fl);
    f->running = ids;
    tt *tasks = fleet_table(c->fl);
    for (int i = 0; i < tt_count(tasks); i++) {
        tt_task *t = tt_at(tasks, i);
        if (tt_serving(t)) ids[f->nrunning++] = t->id;
        else if (t->drain_until_ms || t->kill_sent_ms) f->draining++;
        else if (!tt_state_is_final(t->state) && t->state != MESOS__V1__TASK_STATE__TASK_UNREACHABLE) f->launching++;
    }
}

/* The history as it will be once the change at now_ms is made (policy.h
 * documents "last_change_ms"); NULL if out of memory. */
static char *history_changed_at(const policy *p, int64_t now_ms) {
    char *hist = policy_history_json(p);
    json_t *doc = hist ? json_loads(hist, 0, NULL) : NULL;
    free(hist);
    hist = NULL;
    if (doc && json_object_set_new(doc, "last_change_ms", json_integer(now_ms)) == 0)
        hist = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return hist;
}

/* One write carries the new count AND the cooldown it starts: with two
 * writes (count, then history) a leader dying or deposed between them left
 * its successor the new count with the old cooldown, free to take the next
 * step at once. policy_changed() follows only a successful write, so a
 * failed one is proposed again at the next evaluation. */
static void apply(core *c, const policy_decision *d) {
    int64_t now = util_wall_ms();
    char *hist = history_changed_at(c->pol, now);
    int rc = hist ? store_desired(c, d->target, hist, d->text) : MCM_ERR;
    free(hist);
    if (rc != MCM_OK) return;   /* proposed again next time */
    policy_changed(c->pol, now);
    if (d->action == POLICY_DOWN && d->victim[0]) core_decide_drain(c, d->victim, "autoscale down");
    core_set_desired(c, fleet_desired(c->fl), "history");   /* the policy's own rendering: same times */
}

void core_scale_tick(core *c, int64_t now) {
    if (!c->pol || now < c->next_scale_ms) return;
    if (fleet_desired(c->fl) == 0) return;   /* the fleet is off (teardown): only an operator starts it again */
    c->next_scale_ms = now + SCALE_TICK_MS;
    int n = tt_count(fleet_table(c->fl));
    const char **ids = calloc(n ? (size_t)n : 1, sizeof(*ids));
    if (!ids) return;
    policy_fleet f;
    fleet_of(c, &f, ids);
    policy_decision d;
    policy_decide(c->pol, &f, util_wall_ms(), &d);
    free(ids);
    metrics_inc(decisions_family(c), METRICS_L(policy_action_name(d.action), policy_reason_name(d.reason)));
    if (d.action != POLICY_NONE) {
        log_notice("autoscale %s: %d -> %d servers: %s", policy_action_name(d.action), d.from, d.target, d.text);
        apply(c, &d);
    } else if (d.wanted != POLICY_NONE && (int)d.reason != c->last_blocked) {
        log_info("autoscale wants %s but holds back: %s", policy_action_name(d.wanted), d.text);
    }
    c->last_blocked = d.action == POLICY_NONE && d.wanted != POLICY_NONE ? (int)d.reason : -1;
    if (policy_history_seq(c->pol) != c->history_seq) core_set_desired(c, fleet_desired(c->fl), "history");
}
