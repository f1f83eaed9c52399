/* core_publish.c -- what the core shows the world: the server list in
 * ZooKeeper, and the snapshots the HTTP API and /metrics serve.
 *
 * What: core_publish_servers() derives the list from the task table (running,
 * not draining), and writes it (fenced) only when it changed; every replica,
 * the leader included, then serves it from its own ZooKeeper watch (core.c
 * on_servers_cb), so what HTTP serves is always what ZooKeeper holds.
 * core_publish_snapshot() renders /v1/status and /v1/tasks and refreshes the
 * task and memcached metrics; core_publish_leader() updates /v1/leader.
 *
 * Thread: core. The http_set_* setters copy, so nothing here is shared. */
#define LOG_COMPONENT "publish"
#include "core_int.h"
#include "folread.h"
#include "log.h"
#include "mcm.h"
#include "util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The ring the fleet publishes (fleet_ring.c): with warm transitions a new
 * server joins it only once its keys are copied, a leaving one stays until
 * they are on their new owners; a server that stopped serving is out at once. */
static srvlist *running_list(core *c) {
    srvlist *l = srvlist_new();
    tt *tasks = fleet_table(c->fl);
    int cap = tt_count(tasks) + (c->published ? c->published->n : 0);   /* the ring may list servers gone from the table */
    trn_server *ring = calloc((size_t)(cap ? cap : 1), sizeof(*ring));
    if (!l || !ring) {
        srvlist_free(l);
        free(ring);
        return NULL;
    }
    int n = fleet_published(c->fl, ring, cap);
    if (n < 0) {   /* out of memory: publish nothing rather than an empty list (retried) */
        srvlist_free(l);
        free(ring);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        const tt_task *t = tt_find(tasks, ring[i].task_id);
        if (t && t->port > 0) {
            srvlist_add(l, t->hostname, t->port, t->id);
            continue;
        }
        /* Gone from the table but still on the ring (a transition that
         * aborted keeps it listed until its purges are done): its address. */
        char host[TRN_ADDR_MAX];
        const char *colon = strrchr(ring[i].addr, ':');
        if (!colon || colon == ring[i].addr) continue;
        snprintf(host, sizeof(host), "%.*s", (int)(colon - ring[i].addr), ring[i].addr);
        srvlist_add(l, host, atoi(colon + 1), ring[i].task_id);
    }
    free(ring);
    srvlist_sort(l);
    return l;
}

#define PUBLISH_RETRY_MS 1000
#define AUDIT_MS 10000

/* A publication that failed (ZooKeeper trouble) is retried once a second
 * until it succeeds: the list must follow the task table even when nothing
 * else changes. */
void core_publish_tick(core *c, int64_t now) {
    if (c->publish_retry_ms && now >= c->publish_retry_ms) core_publish_servers(c);
    if (now < c->next_audit_ms) return;
    /* Every AUDIT_MS the stored list is read again and rewritten if someone
     * edited, corrupted or deleted it: new clients must find the truth. */
    c->next_audit_ms = now + AUDIT_MS;
    state_servers_refresh(c->st);
    srvlist_free(c->published);
    c->published = NULL;
    core_publish_servers(c);
}

void core_publish_servers(core *c) {
    char err[512];
    if (!core_may_act(c) || c->role != ROLE_LEADING) return;   /* only once every state is known */
    srvlist *l = running_list(c);
    if (!l) {   /* out of memory: the list stays as it was, and is tried again */
        c->publish_retry_ms = util_now_ms() + PUBLISH_RETRY_MS;
        return;
    }
    if (c->published && srvlist_same_servers(c->published, l)) {
        srvlist_free(l);
        return;
    }
    int64_t v = 0;
    int rc = state_publish_servers(c->st, l, &v, err, sizeof(err));
    if (core_fenced_result(c, rc, "publishing the server list", err) != MCM_OK) {
        srvlist_free(l);
        c->publish_retry_ms = util_now_ms() + PUBLISH_RETRY_MS;   /* core_publish_tick tries again */
        return;
    }
    c->publish_retry_ms = 0;
    if (v != c->servers_version) log_notice("server list version %lld: %d servers", (long long)v, l->n);
    c->servers_version = v;
    srvlist_free(c->published);
    c->published = l;
}

void core_publish_leader(core *c) {
    char *id = elect_leader_identity(c->el);
    const char *url = NULL;
    json_t *doc = id ? json_loads(id, 0, NULL) : NULL;
    if (doc) url = json_string_value(json_object_get(doc, "http"));
    int self = elect_is_leader(c->el) && c->role != ROLE_FOLLOWER;
    /* Named leader by the election but not acting (ZooKeeper in doubt, paused,
     * refusing): no leader to send operators to, rather than to ourselves. */
    if (!self && url && c->cfg->advertise_url && strcmp(url, c->cfg->advertise_url) == 0) url = NULL;
    http_set_leader(c->http, self, url, url ? id : NULL);
    json_decref(doc);
    free(id);
}

/* Hits over lookups since memcached started (0 before the first lookup). */
static double hit_ratio(const report *r) {
    uint64_t lookups = r->get_hits + r->get_misses;
    return lookups ? (double)r->get_hits / (double)lookups : 0.0;
}

static json_t *task_json(const tt_task *t) {
    char when[40];
    util_rfc3339(t->changed_ms, when, sizeof(when));
    json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:f, s:f, s:s, s:b}", "task_id", t->id, "agent_id",
                          t->agent_id, "hostname", t->hostname, "port", t->port, "state", tt_state_name(t->state),
                          "changed", when, "cpus", t->cpus, "mem_mb", t->mem_mb, "reason", t->reason,
                          "draining", t->drain_until_ms != 0);
    if (o && t->state == MESOS__V1__TASK_STATE__TASK_RUNNING)     /* the executor's probe (exec_health.h) */
        json_object_set_new(o, "healthy", json_boolean(!t->unhealthy));
    if (o && t->has_report) {
        const report *r = &t->last;
        json_object_set_new(o, "figures", json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f}", "bytes",
                                                    (json_int_t)r->bytes, "limit_maxbytes", (json_int_t)r->limit_maxbytes,
                                                    "evictions", (json_int_t)r->evictions, "curr_connections",
                                                    (json_int_t)r->curr_connections, "total_items",
                                                    (json_int_t)r->total_items, "report_age_ms",
                                                    (json_int_t)(util_now_ms() - t->report_rx_ms), "hit_ratio",
                                                    hit_ratio(r),
                                                    "cpu_seconds", r->cpu_seconds));
    }
    return o;
}

/* A follower has no task table: it shows the records the leader stored in
 * ZooKeeper (states, no figures), as its reader (folread.h) last read them
 * off the core: a steady fleet of 10,000 records costs two reads per 5 s,
 * not 10,000. It keeps what was read (c->warm): if it is elected while the
 * mark still holds, its term starts from those records instead of reading
 * them all again (core_lead.c). A copy that arrives after the replica was
 * elected is dropped: the new term has its own table. */
void core_on_follower_copy(core *c, fr_copy *cp) {
    if (c->role != ROLE_FOLLOWER) return;
    if (cp->caught_up)
        log_verbose("follower copy of the state: %d task records, brought up to date from the task log by reading "
                    "%d in %lld ms", cp->snap.ntasks, cp->fetched, (long long)cp->read_ms);
    else
        log_verbose("follower copy of the state: %d task records read in %lld ms (%s)", cp->snap.ntasks,
                    (long long)cp->read_ms, cp->full ? "the minute's full read" : "the mark moved");
    char *leader = elect_leader_identity(c->el);
    json_t *lj = leader ? json_loads(leader, 0, NULL) : NULL;
    json_t *http = lj ? json_object_get(lj, "http") : NULL;
    char *lh = http ? json_dumps(http, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    static const char fmt[] = "{\"role\":\"follower\",\"source\":\"zookeeper\",\"leader\":%s,\"tasks\":%s}";
    size_t len = sizeof(fmt) + (lh ? strlen(lh) : 4) + strlen(cp->tasks_json);
    char *doc = malloc(len);
    if (doc) {
        snprintf(doc, len, fmt, lh ? lh : "null", cp->tasks_json);   /* the records' text as read: no reparse */
        http_set_tasks_json(c->http, doc);
    }
    free(doc);
    free(lh);
    json_decref(lj);
    free(leader);
    core_view_follower(c, &cp->snap);
    state_snapshot_clear(&c->warm);
    c->warm = cp->snap;   /* owned by c now */
    c->warm_at_ms = util_wall_ms();
    memset(&cp->snap, 0, sizeof(cp->snap));
}

static void publish_tasks(core *c) {
    core_demand_done(c, &c->tasks_d, util_now_ms());
    if (c->role == ROLE_FOLLOWER) {
        /* As fresh as a follower's list gets (its reader checks the leader's
         * stamp every few seconds): requests are not made to wait for it. */
        http_view_current(c->http, HTTP_VIEW_TASKS);
        return;
    }
    state_snapshot_clear(&c->warm);   /* a leader keeps no copy; its reader reads again after a step-down */
    json_t *arr = json_array();
    tt *tasks = fleet_table(c->fl);
    for (int i = 0; i < tt_count(tasks); i++) json_array_append_new(arr, task_json(tt_at(tasks, i)));
    json_t *doc = json_pack("{s:s, s:s, s:o}", "role", "leader", "leader_state", core_role_name(c->role), "tasks", arr);
    char *s = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(10));
    if (s) http_set_tasks_json(c->http, s);
    free(s);
    json_decref(doc);
}

static void task_metrics(core *c) {
    static const int states[] = {
        MESOS__V1__TASK_STATE__TASK_STAGING, MESOS__V1__TASK_STATE__TASK_STARTING,
        MESOS__V1__TASK_STATE__TASK_RUNNING, MESOS__V1__TASK_STATE__TASK_KILLING,
        MESOS__V1__TASK_STATE__TASK_UNREACHABLE,
    };
    enum { NSTATES = MCM_ARRAY_LEN(states) };
    const char *lv[NSTATES];
    double v[NSTATES] = {0};
    tt *tasks = fleet_table(c->fl);
    for (int k = 0; k < NSTATES; k++) lv[k] = tt_state_name(states[k]);
    for (int i = 0; i < tt_count(tasks); i++)
        for (int k = 0; k < NSTATES; k++) v[k] += tt_at(tasks, i)->state == states[k];
    metrics_replace(c->mm.tasks, NSTATES, lv, v);
    metrics_set(c->mm.desired, NULL, fleet_desired(c->fl));

    int n = tt_count(tasks), k = 0;
    metrics_mc_figures *f = calloc(n ? (size_t)n : 1, sizeof(*f));
    char (*srv)[300] = calloc(n ? (size_t)n : 1, sizeof(*srv));
    for (int i = 0; f && srv && i < n; i++) {
        tt_task *t = tt_at(tasks, i);
        if (!t->has_report) continue;
        snprintf(srv[k], sizeof(srv[k]), "%s:%d", t->hostname, t->port);
        f[k] = (metrics_mc_figures){t->id, srv[k], (double)t->last.bytes, (double)t->last.limit_maxbytes,
                                    (double)t->last.evictions, hit_ratio(&t->last), (double)t->last.curr_connections};
        k++;
    }
    if (f && srv) metrics_mcm_set_memcached(&c->mm, f, (size_t)k);
    free(f);
    free(srv);
}

static void transition_metrics(core *c, const trn_status *t) {
    for (int p = 0; p < TRN_PHASE_COUNT; p++)
        metrics_set(c->mm.trn_phase, METRICS_L(trn_phase_name((trn_phase)p)), p == (int)t->phase);
    metrics_set(c->mm.trn_keys_copied, NULL, (double)t->keys_copied);
    metrics_set(c->mm.trn_bytes_copied, NULL, (double)t->bytes_copied);
    metrics_set(c->mm.trn_keys_left, NULL, (double)t->keys_left);
    metrics_set(c->mm.trn_eta, NULL, t->eta_ms < 0 ? -1.0 : (double)t->eta_ms / 1000.0);
}

/* The ring transition under way ("phase":"idle" when none), for operators;
 * the same figures go to /metrics. */
static json_t *transition_json(core *c) {
    trn_status t;
    fleet_ring_status(c->fl, core_clock(), &t);
    transition_metrics(c, &t);
    json_t *o = json_pack("{s:s, s:b}", "phase", trn_phase_name(t.phase), "warm", c->cfg->warm_transitions);
    if (!o || t.phase == TRN_IDLE) return o;
    const struct { const char *k; int64_t v; } f[] = {
        {"id", t.id}, {"started_ms", t.started_ms}, {"phase_since_ms", t.phase_since_ms},
        {"deadline_ms", t.deadline_ms}, {"from", t.from}, {"to", t.to}, {"sources", t.sources},
        {"sources_done", t.sources_done}, {"cold_sources", t.cold_sources},
        {"keys_copied", (int64_t)t.keys_copied}, {"bytes_copied", (int64_t)t.bytes_copied},
        {"keys_total", (int64_t)t.keys_total}, {"keys_left", (int64_t)t.keys_left},
        {"errors", (int64_t)t.errors}, {"eta_ms", t.eta_ms},
    };
    for (size_t i = 0; i < MCM_ARRAY_LEN(f); i++) json_object_set_new(o, f[i].k, json_integer(f[i].v));
    if (t.lost[0]) json_object_set_new(o, "lost", json_string(t.lost));
    return o;
}

void core_publish_tasks_due(core *c, int64_t now) {
    if (c->role != ROLE_FOLLOWER && core_demand_due(c, &c->tasks_d, HTTP_VIEW_TASKS, now)) publish_tasks(c);
}

static void snapshot(core *c, int periodic);

void core_publish_snapshot(core *c) { snapshot(c, 0); }

/* The leader's task list is rendered once a second only while asked for (a
 * follower's is read from ZooKeeper at its own pace): every task with its
 * figures is 500 KB at 1,000 servers. Any other snapshot (a new server list,
 * a role change) renders it at once, so /v1/tasks agrees with /v1/servers. */
void core_publish_periodic(core *c) { snapshot(c, 1); }

static void snapshot(core *c, int periodic) {
    char master[256] = "", fw[STATE_ID_MAX] = "";
    mesos_sched_master_url(c->ms, master, sizeof(master));
    snprintf(fw, sizeof(fw), "%s", c->framework_id);
    int running = 0;
    tt *tasks = fleet_table(c->fl);
    for (int i = 0; i < tt_count(tasks); i++) running += tt_at(tasks, i)->state == MESOS__V1__TASK_STATE__TASK_RUNNING;
    json_t *doc = json_pack(
        "{s:s, s:s, s:s, s:{s:b, s:I, s:I}, s:{s:b, s:s, s:s}, s:s?, s:i, s:i, s:i, s:I}", "replica",
        c->replica_id, "role", c->role == ROLE_FOLLOWER ? "follower" : "leader", "leader_state",
        core_role_name(c->role), "zookeeper", "connected", zks_connected(c->zk), "session_timeout_ms",
        (json_int_t)zks_session_timeout_ms(c->zk), "disconnected_ms", (json_int_t)zks_disconnected_ms(c->zk),
        "mesos", "subscribed", c->subscribed && mesos_sched_subscribed(c->ms), "master", master,
        "last_error", c->mesos_why, "framework_id", fw[0] ? fw : NULL, "desired",
        c->role == ROLE_FOLLOWER ? -1 : fleet_desired(c->fl), "running", running, "tasks", tt_count(tasks),
        "servers_version", (json_int_t)atomic_load(&c->served_version));
    if (doc && c->role != ROLE_FOLLOWER)   /* this term's milestones, wall clock ms */
        json_object_set_new(doc, "term", json_pack("{s:I, s:I, s:I}", "elected_ms", (json_int_t)c->term_elected_ms,
                                                   "subscribed_ms", (json_int_t)c->term_subscribed_ms,
                                                   "reconciled_ms", (json_int_t)c->term_reconciled_ms));
    if (doc && c->role != ROLE_FOLLOWER) json_object_set_new(doc, "transition", transition_json(c));
    if (doc && c->role == ROLE_FOLLOWER)   /* what a takeover would start from (core_lead.c) */
        json_object_set_new(doc, "copy", json_pack("{s:i, s:i, s:I}", "records", c->warm.ntasks, "state_version",
                                                   c->warm.mark.version_dv, "handed_ms", (json_int_t)c->warm_at_ms));
    char *s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    if (s) http_set_status_json(c->http, s);
    free(s);
    json_decref(doc);
    if (!periodic || c->role == ROLE_FOLLOWER) publish_tasks(c);   /* a leader's: core_publish_tasks_due, every tick */
    task_metrics(c);
    core_view_publish(c);
}
