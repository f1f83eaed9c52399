/* core_view.c -- the views the status page reads, rendered by the core:
 * GET /v1/autoscale (thresholds, figures against them, recent decisions),
 * GET /v1/history (each server's recent reports) and GET /v1/replicas (the
 * election's members and which one leads).
 *
 * What and where each comes from:
 *   autoscale  leader: this replica's policy (its thresholds are the flags,
 *              its figures the last evaluation's, its decisions the policy
 *              history, policy.h). Follower: the thresholds of its own flags
 *              and the decisions the leader stored in state/desired, read
 *              with the follower's task view (core_publish.c, every 5 s);
 *              "source" says which ("policy" or "zookeeper").
 *   history    leader: c->rh (rhist.h), fed by core_on_report, pruned here
 *              to the servers still in the task table (a task that goes is
 *              freed at the next snapshot). Follower: no reports reach it,
 *              so the list is empty and "leader" names where they are.
 *   replicas   every REPLICAS_MS, elect_members_json (a synchronous read
 *              of <root>/leader on the core thread, like the follower's task
 *              view; skipped while ZooKeeper is not connected).
 * Why the core renders whole documents: the core owns the policy, the task
 * table and the session; HTTP threads only ever see immutable copies
 * (http_view.c), so nothing here needs a lock.
 * Thread: core. Invariant: a follower publishes no report history. */
#define LOG_COMPONENT "publish"
#include "core_int.h"
#include "log.h"
#include "mcm.h"
#include "util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPLICAS_MS 5000

/* x, or JSON null when unknown (known == 0 or x < 0 for the -1 convention). */
static json_t *real_or_null(int known, double x) { return known && x >= 0 ? json_real(x) : json_null(); }

static json_t *thresholds_json(const sched_config *s) {
    return json_pack("{s:b, s:I, s:I, s:f, s:f, s:f, s:f, s:I, s:I, s:I, s:I, s:I}", "autoscale", s->autoscale,
                     "instances_min", (json_int_t)s->instances_min, "instances_max", (json_int_t)s->instances_max,
                     "scale_up_mem", s->scale_up_mem, "scale_up_evictions", s->scale_up_evictions, "scale_up_cpu",
                     s->scale_up_cpu, "scale_down_mem", s->scale_down_mem, "scale_up_window_ms",
                     (json_int_t)s->scale_up_window_ms, "scale_down_window_ms", (json_int_t)s->scale_down_window_ms,
                     "cooldown_ms", (json_int_t)s->cooldown_ms, "report_max_age_ms", (json_int_t)s->report_max_age_ms,
                     "operator_pause_ms", (json_int_t)s->operator_pause_ms);
}

static json_t *figures_json(const policy *p) {
    policy_figures f;
    policy_get_figures(p, &f);
    json_t *o = json_pack("{s:i, s:i, s:I, s:I}", "servers", f.servers, "reporting", f.reporting, "bytes",
                          (json_int_t)f.bytes, "limit_bytes", (json_int_t)f.limit_bytes);
    if (!o) return NULL;
    json_object_set_new(o, "mem", real_or_null(f.mem_known, f.mem));
    json_object_set_new(o, "evictions_per_s", real_or_null(f.evictions_known, f.evictions_per_s));
    json_object_set_new(o, "cpu", real_or_null(f.cpu_known, f.cpu));
    json_object_set_new(o, "hit_ratio", real_or_null(f.hit_ratio_known, f.hit_ratio));
    return o;
}

/* Adds the history document's times and decisions (policy_history_json's
 * form) to doc; a missing or unreadable one gives no decisions. */
static void add_history(json_t *doc, const char *hist) {
    json_t *h = hist ? json_loads(hist, 0, NULL) : NULL;
    json_t *d = json_object_get(h, "decisions");
    json_object_set_new(doc, "last_change_ms", json_integer(json_integer_value(json_object_get(h, "last_change_ms"))));
    json_object_set_new(doc, "pause_until_ms", json_integer(json_integer_value(json_object_get(h, "pause_until_ms"))));
    json_object_set_new(doc, "decisions", json_is_array(d) ? json_incref(d) : json_array());
    json_decref(h);
}

static void publish_autoscale(core *c, json_t *doc) {
    char *s = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6)) : NULL;
    if (s) http_set_autoscale_json(c->http, s);
    free(s);
    json_decref(doc);
}

static void leader_autoscale(core *c) {
    if (!c->pol) return;
    policy_counts n;
    policy_get_counts(c->pol, &n);
    json_t *doc = json_pack("{s:s, s:s, s:i, s:o, s:o, s:I}", "role", "leader", "source", "policy", "desired",
                            fleet_desired(c->fl), "thresholds", thresholds_json(c->cfg), "figures",
                            figures_json(c->pol), "evaluations", (json_int_t)n.evaluations);
    char *hist = policy_history_json(c->pol);
    if (doc) add_history(doc, hist);
    free(hist);
    publish_autoscale(c, doc);
}

void core_view_follower(core *c, const state_snapshot *snap) {
    char *leader = elect_leader_identity(c->el);
    json_t *lj = leader ? json_loads(leader, 0, NULL) : NULL;
    json_t *doc = json_pack("{s:s, s:s, s:O?, s:i, s:o, s:n}", "role", "follower", "source", "zookeeper", "leader",
                            json_object_get(lj, "http"), "desired", snap->desired, "thresholds",
                            thresholds_json(c->cfg), "figures");
    if (doc) add_history(doc, snap->autoscale_json);
    publish_autoscale(c, doc);
    json_decref(lj);
    free(leader);
}

/* --- report history ------------------------------------------------------------- */

static int in_table(void *ctx, const char *task_id) { return tt_find(ctx, task_id) != NULL; }

static json_t *samples_json(const rhist_sample *v, int n) {
    json_t *arr = json_array();
    for (int i = 0; arr && i < n; i++) {
        json_t *o = json_pack("{s:I, s:I, s:I}", "t", (json_int_t)v[i].t_ms, "bytes", (json_int_t)v[i].bytes,
                              "limit", (json_int_t)v[i].limit_bytes);
        if (!o) continue;
        json_object_set_new(o, "hit", real_or_null(1, v[i].hit_ratio));
        json_object_set_new(o, "evr", real_or_null(1, v[i].evictions_per_s));
        json_array_append_new(arr, o);
    }
    return arr;
}

static json_t *servers_history(core *c) {
    rhist_sample v[RHIST_POINTS];
    json_t *arr = json_array();
    tt *tasks = fleet_table(c->fl);
    rhist_retain(c->rh, in_table, tasks);
    for (int i = 0; arr && i < rhist_count(c->rh); i++) {
        const char *id = rhist_id(c->rh, i);
        const tt_task *t = tt_find(tasks, id);
        char server[300];
        snprintf(server, sizeof(server), "%s:%d", t->hostname, t->port);
        int n = rhist_samples(c->rh, id, v, RHIST_POINTS);
        json_array_append_new(arr, json_pack("{s:s, s:s, s:o}", "task_id", id, "server", server, "samples",
                                             samples_json(v, n)));
    }
    return arr;
}

/* The history is rendered only while it is asked for: at 1,000 servers it is
 * 60,000 samples, 4 MB of JSON, and rendering it every second was the
 * largest part of the leader's steady CPU (bench/scale). */
#define CORE_DEMAND_MS 60000   /* a view is rendered once a second while asked for within this */

int core_demand_due(core *c, const core_demand *d, http_view v, int64_t now) {
    if (!d->rendered_ms || d->role != (int)c->role) return 1;
    int64_t asked = http_asked_ms(c->http, v);
    return asked && now - asked < CORE_DEMAND_MS && now - d->rendered_ms >= 1000;
}

void core_demand_done(core *c, core_demand *d, int64_t now) {
    d->rendered_ms = now;
    d->role = (int)c->role;
}

static void publish_history(core *c, int64_t now) {
    if (!core_demand_due(c, &c->history_d, HTTP_VIEW_HISTORY, now)) return;
    core_demand_done(c, &c->history_d, now);
    json_t *doc;
    if (c->role == ROLE_FOLLOWER) {
        rhist_clear(c->rh);   /* a follower gets no reports: a past term's would only go stale */
        char *leader = elect_leader_identity(c->el);
        json_t *lj = leader ? json_loads(leader, 0, NULL) : NULL;
        doc = json_pack("{s:s, s:O?, s:i, s:[]}", "role", "follower", "leader", json_object_get(lj, "http"),
                        "points_max", RHIST_POINTS, "servers");
        json_decref(lj);
        free(leader);
    } else {
        doc = json_pack("{s:s, s:i, s:o}", "role", "leader", "points_max", RHIST_POINTS, "servers",
                        servers_history(c));
    }
    char *s = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6)) : NULL;
    if (s) http_set_history_json(c->http, s);
    free(s);
    json_decref(doc);
}

/* --- replicas ---------------------------------------------------------------------- */

static void publish_replicas(core *c) {
    char err[256];
    int64_t now = util_now_ms();
    if (now < c->next_replicas_ms || !zks_connected(c->zk) || zks_expired(c->zk)) return;
    c->next_replicas_ms = now + REPLICAS_MS;
    char *members = elect_members_json(c->zk, err, sizeof(err));
    json_t *arr = members ? json_loads(members, 0, NULL) : NULL;
    free(members);
    if (!json_is_array(arr)) {
        log_verbose("replica list not refreshed: %s", members ? "unreadable" : err);
        json_decref(arr);
        return;
    }
    json_t *m;
    size_t i;
    json_array_foreach(arr, i, m) {
        const char *id = json_string_value(json_object_get(m, "id"));
        json_object_set_new(m, "self", json_boolean(id && strcmp(id, c->replica_id) == 0));
    }
    json_t *doc = json_pack("{s:s, s:o}", "self", c->replica_id, "replicas", arr);
    char *s = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (s) http_set_replicas_json(c->http, s);
    free(s);
    json_decref(doc);
}

void core_view_on_demand(core *c, int64_t now) {
    publish_history(c, now);
    core_publish_tasks_due(c, now);
}

void core_view_publish(core *c) {
    if (c->role != ROLE_FOLLOWER) leader_autoscale(c);
    publish_history(c, util_now_ms());
    publish_replicas(c);
}
