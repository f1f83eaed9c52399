/* core_setup.c -- building and tearing down the core: every module the
 * scheduler uses, wired to the mailbox.
 *
 * Order: HTTP first (so /healthz answers and /readyz says what is missing
 * while ZooKeeper connects), then ZooKeeper, election, state, the Mesos
 * client (started only on election) and the server-list watch every replica
 * serves discovery from. core_free() stops them in reverse.
 *
 * Thread: main. Callbacks registered here post to the mailbox (core.c). */
#define LOG_COMPONENT "setup"
#include "core_int.h"
#include "folread.h"
#include "log.h"
#include "mcm.h"
#include "util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONNECT_TIMEOUT_MS 15000
#define SECRET_MAX 4096

/* The mailbox's bound for what may be lost under overload: executor
 * MESSAGEs (reports, which come again every report interval, and migration
 * answers, which the transition resends for: trn.c). Everything else (status
 * updates, offers, rescinds) is always queued; heartbeats are already
 * coalesced by the stream (mesos_stream.c). Far above a healthy fleet's
 * backlog: 1,000 executors report 200 times a second. */
#define CORE_QUEUE_LIMIT 10000

static void on_mesos_event_cb(void *ctx, Mesos__V1__Scheduler__Event *ev) {
    core *c = ctx;
    if (ev->type != MESOS__V1__SCHEDULER__EVENT__TYPE__MESSAGE) {
        cq_post(c->q, MSG_MESOS_EVENT, ev, free_event, atomic_load(&c->term));
        return;
    }
    /* Lazy: taken at the core's next wake-up, at most 100 ms away (core_run) */
    if (cq_post_lazy(c->q, MSG_MESOS_EVENT, ev, free_event, atomic_load(&c->term)) != CQ_DROPPED) return;
    long d = cq_dropped(c->q);
    if ((d & (d - 1)) == 0)   /* the 1st, 2nd, 4th, 8th... drop: a flood is seen, the log is not flooded */
        log_warn("core mailbox holds %d messages or more: executor message dropped (%ld so far)",
                    CORE_QUEUE_LIMIT, d);
}

static void on_mesos_down_cb(void *ctx, const char *why) {
    core *c = ctx;
    cq_post(c->q, MSG_MESOS_DOWN, strdup(why ? why : ""), NULL, atomic_load(&c->term));
}

/* Stream thread: SUBSCRIBE only while this replica may act as leader. */
static int may_subscribe_cb(void *ctx) {
    core *c = ctx;
    if (!atomic_load(&c->acting) || !zks_connected(c->zk)) return 0;
    return 1;
}

static int identity(core *c) {
    char started[40];
    c->started_wall_ms = util_wall_ms();
    util_rfc3339(c->started_wall_ms, started, sizeof(started));
    snprintf(c->replica_id, sizeof(c->replica_id), "%s:%d", c->cfg->hostname, http_port(c->http));
    json_t *j = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s}", "id", c->replica_id, "hostname", c->cfg->hostname,
                          "http", c->cfg->advertise_url, "pid", (int)getpid(), "started", started, "version",
                          MCM_VERSION);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!s) return MCM_ERR;
    snprintf(c->identity, sizeof(c->identity), "%s", s);
    free(s);
    return MCM_OK;
}

/* The three secret files, read before anything starts, so a bad one is the
 * only line an operator sees. Empty content is an error: a secret mount that
 * came up empty must not open the operator API or send an empty password. */
typedef struct secrets {
    char *token, *auth, *secret;
} secrets;

static char *read_secret(const char *flag, const char *path, char *err, size_t errlen) {
    char ferr[512];
    struct stat st;
    if (!path) return NULL;
    if (!path[0]) {
        snprintf(err, errlen, "%s: empty file name", flag);
        return NULL;
    }
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {   /* a FIFO would block the start */
        snprintf(err, errlen, "%s: %s is not a regular file", flag, path);
        return NULL;
    }
    char *v = util_read_file(path, SECRET_MAX, ferr, sizeof(ferr));
    if (!v) snprintf(err, errlen, "%s: %s", flag, ferr);
    else if (!v[0]) snprintf(err, errlen, "%s: %s is empty", flag, path);
    if (v && !v[0]) {
        free(v);
        return NULL;
    }
    return v;
}

static void secrets_clear(secrets *s) {
    char *v[] = {s->token, s->auth, s->secret};
    for (size_t i = 0; i < MCM_ARRAY_LEN(v); i++) {
        if (v[i]) memset(v[i], 0, strlen(v[i]));
        free(v[i]);
    }
    memset(s, 0, sizeof(*s));
}

static int read_secrets(core *c, secrets *s, char *err, size_t errlen) {
    err[0] = '\0';
    s->token = read_secret("--admin-token-file", c->cfg->admin_token_file, err, errlen);
    if (!err[0]) s->auth = read_secret("--zk-auth-file", c->cfg->zk_auth_file, err, errlen);
    if (!err[0]) s->secret = read_secret("--secret-file", c->cfg->secret_file, err, errlen);
    return err[0] ? MCM_ERR : MCM_OK;
}

static int start_http(core *c, const char *token, char *err, size_t errlen) {
    char herr[512];
    http_config hc;
    http_config_defaults(&hc);
    hc.listen_host = c->cfg->http_listen.host;
    hc.port = c->cfg->http_listen.port;
    hc.admin_token = token;
    hc.admin_insecure = c->cfg->admin_insecure;
    hc.scale_min = (int)c->cfg->instances_min;
    hc.scale_max = (int)c->cfg->instances_max;
    http_hooks hooks;
    core_ops_hooks(c, &hooks);
    metrics *m = metrics_new();
    c->http = m ? http_new(&hc, &hooks, m, herr, sizeof(herr)) : NULL;
    if (!c->http) {
        snprintf(err, errlen, "--http-listen: %s", m ? herr : "out of memory");
        metrics_free(m);
        return MCM_ERR;
    }
    c->metrics = m;
    return metrics_mcm_register(m, &c->mm);
}

static void free_copy(void *cp) { fr_copy_free(cp); }

/* Reader thread: one copy waits at a time (a newer one is refused, and the
 * reader reads again at its next look). */
static int on_follower_copy_cb(void *ctx, fr_copy *cp) {
    core *c = ctx;
    int rc = cq_post_droppable(c->q, MSG_FOLLOWER_COPY, cp, free_copy, 0);
    return rc != CQ_DROPPED && rc != MCM_ERR;
}

static int start_zk(core *c, const char *auth, char *err, size_t errlen) {
    char zerr[512];
    zks_config zc = {c->cfg->zk.hosts, c->cfg->zk.path, c->cfg->zk_session_timeout_ms, auth, c, on_zk_event_cb};
    c->zk = zks_new(&zc, CONNECT_TIMEOUT_MS, zerr, sizeof(zerr));
    if (!c->zk) {
        snprintf(err, errlen, "--zk%s: %s", auth ? " / --zk-auth-file" : "", zerr);
        return MCM_ERR;
    }
    http_set_zk_connected(c->http, zks_connected(c->zk));
    elect_callbacks ec = {c, on_elect_wake_cb, on_elected_cb, on_deposed_cb};
    c->el = elect_new(c->zk, c->identity, &ec);
    c->st = c->el ? state_new(c->zk, c->el) : NULL;
    if (!c->st) {
        snprintf(err, errlen, "out of memory");
        return MCM_ERR;
    }
    state_set_instances_max(c->st, (int)c->cfg->instances_max);   /* a stored desired count above it is capped */
    if (state_init(c->st, err, errlen) != MCM_OK) return MCM_ERR;
    if (!(c->fr = fr_new(&zc, (int)c->cfg->instances_max, on_follower_copy_cb, c))) {
        snprintf(err, errlen, "cannot start the follower's reader");
        return MCM_ERR;
    }
    fr_follow(c->fr, c->role == ROLE_FOLLOWER, 0);
    return MCM_OK;
}

static void free_job(void *j) { callq_job_free(j); }

static void on_call_done_cb(void *ctx, callq_job *j) {   /* call worker thread */
    core *c = ctx;
    cq_post(c->q, MSG_CALL_DONE, j, free_job, j->term);
}

static int start_mesos(core *c, const char *secret, char *err, size_t errlen) {
    mesos_sched_config mc = {0};
    mc.master = &c->cfg->master;
    mc.user = c->cfg->framework_user;
    mc.name = c->cfg->framework_name;
    mc.role = c->cfg->role;
    mc.hostname = c->cfg->hostname;
    mc.principal = c->cfg->principal;
    mc.secret = secret;
    mc.webui_url = c->cfg->advertise_url;
    mc.failover_timeout_s = (double)c->cfg->failover_timeout_ms / 1000.0;
    mc.heartbeat_misses = (int)c->cfg->heartbeat_misses;
    mc.call_timeout_ms = 5000;
    mc.zk_session_timeout_ms = c->cfg->zk_session_timeout_ms;
    mesos_sched_callbacks cb = {c, on_mesos_event_cb, on_mesos_down_cb, may_subscribe_cb};
    c->ms = mesos_sched_new(&mc, &cb, err, errlen);
    if (!c->ms) return MCM_ERR;
    c->calls = callq_new(c->ms, &c->term, on_call_done_cb, c);
    if (!c->calls) snprintf(err, errlen, "cannot start the Mesos call worker");
    return c->calls ? MCM_OK : MCM_ERR;
}

static int start_discovery(core *c, char *err, size_t errlen) {
    char path[1024];
    if (c->cfg->discovery_listen.host[0]) {
        char derr[512];
        c->disc = ecd_create(c->cfg->discovery_listen.host, c->cfg->discovery_listen.port, 0, derr, sizeof(derr));
        if (!c->disc) {
            snprintf(err, errlen, "--discovery-listen: %s", derr);
            return MCM_ERR;
        }
        log_info("ElastiCache-style discovery on %s:%d", c->cfg->discovery_listen.host, ecd_port(c->disc));
    }
    snprintf(path, sizeof(path), "%s/servers", c->cfg->zk.path);
    watch_opts wo = {c->cfg->zk.hosts, path, (int)c->cfg->zk_session_timeout_ms, on_servers_cb, c};
    c->srvwatch = watch_create(&wo, err, errlen);
    return c->srvwatch ? MCM_OK : MCM_ERR;
}

/* Warm ring transitions from the flags: the copy budget and rate, and the
 * drain time as the catch-up window (trn.h). */
static void ring_config(const sched_config *cfg, trn_keep_config *r) {
    trn_keep_config_default(r);
    r->warm = cfg->warm_transitions;
    r->trn.copy_budget_ms = cfg->migrate_timeout_ms;
    r->trn.rate_bytes = (int64_t)cfg->migrate_rate;
    r->trn.drain_ms = cfg->drain_time_ms;
}

core *core_new(const sched_config *cfg, char *err, size_t errlen) {
    core *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->cfg = cfg;
    c->last_blocked = -1;
    c->q = cq_create();
    if (c->q) cq_set_limit(c->q, CORE_QUEUE_LIMIT);
    fleet_config fc = {cfg->cpus, (double)(cfg->mem_bytes >> 20), (int)cfg->max_per_agent, cfg->refuse_ms / 1000.0,
                       cfg->drain_time_ms, cfg->reconcile_interval_ms, cfg->relaunch_backoff_min_ms,
                       cfg->relaunch_backoff_max_ms, {{0}, 0, 0}, (const char *const *)cfg->constraints.v,
                       cfg->constraints.n, cfg->zone_spread, cfg->unreachable_grace_ms};
    ring_config(cfg, &fc.ring);
    c->fl = fleet_new(&fc);
    c->rh = rhist_new();
    if (!c->q || !c->fl || !c->rh) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    secrets sec = {0};
    int rc = read_secrets(c, &sec, err, errlen);
    if (rc == MCM_OK && (start_http(c, sec.token, err, errlen) != MCM_OK || identity(c) != MCM_OK ||
                         start_zk(c, sec.auth, err, errlen) != MCM_OK || start_mesos(c, sec.secret, err, errlen) != MCM_OK ||
                         start_discovery(c, err, errlen) != MCM_OK))
        rc = MCM_ERR;
    secrets_clear(&sec);
    if (rc != MCM_OK) goto fail;
    core_scale_load(c, NULL);
    core_publish_leader(c);
    core_publish_snapshot(c);
    log_notice("replica %s ready: HTTP on port %d, ZooKeeper %s%s", c->replica_id, http_port(c->http),
               cfg->zk.hosts, cfg->zk.path);
    return c;
fail:
    core_free(c);
    return NULL;
}

void core_free(core *c) {
    if (!c) return;
    fr_free(c->fr);   /* first: its callback posts to c->q */
    watch_free(c->srvwatch);
    ecd_free(c->disc);
    callq_free(c->calls);   /* before the client its worker calls */
    mesos_sched_free(c->ms);
    state_free(c->st);
    elect_free(c->el);
    zks_free(c->zk);
    http_free(c->http);
    metrics_free(c->metrics);
    policy_free(c->pol);
    srvlist_free(c->published);
    state_snapshot_clear(&c->warm);
    fleet_free(c->fl);
    core_probe_end_term(c);
    rhist_free(c->rh);
    cq_free(c->q);
    free(c);
}
