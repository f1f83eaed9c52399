/* sim.c -- the simulator object: configuration, agents, lookups, the loop
 * thread, start and clean stop.
 *
 * The loop thread wakes every 20 ms: ZooKeeper (without the lock), then
 * under s->mu the agents (launch, reap, timeouts), the master (dead streams,
 * failover timeouts, heartbeats), update retries, and every
 * --offer-interval the allocator.
 * Shutdown order matters: stop the loop, kill executors, close the streams,
 * wake every parked connection (sim_stream_shutdown_all: libmicrohttpd
 * refuses to stop a daemon with a suspended connection), then stop the MHD
 * daemons (which join their event threads).
 * Threads: sim_new/sim_free on the owner thread; the loop thread as above.
 * Invariant: s->stopping is only set by sim_free; no fork happens after it. */
#include "sim_int.h"

#include "mcm.h"
#include "parse.h"
#include "util.h"

#define LOG_COMPONENT "sim"
#include "log.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int sim_leading(const sim *s) {
    if (s->admin_follow) return 0;
    if (s->cfg.zk_hosts) return s->zk_leading;
    return 1;
}

const char *sim_leader_location(const sim *s) {
    if (s->admin_follow) return s->admin_redirect;
    if (s->cfg.zk_hosts && !s->zk_leading) return s->zk_leader;
    return "";
}

sim_fw *sim_fw_find(sim *s, const char *id) {
    for (sim_fw *fw = s->fws; fw; fw = fw->next)
        if (strcmp(fw->id, id) == 0) return fw;
    return NULL;
}

sim_task *sim_task_find(sim *s, const char *fw_id, const char *task_id) {
    for (sim_task *t = s->tasks; t; t = t->next)
        if (strcmp(t->id, task_id) == 0 && strcmp(t->fw->id, fw_id) == 0) return t;
    return NULL;
}

sim_agent *sim_agent_by_id(sim *s, const char *agent_id) {
    for (int i = 0; i < s->nagents; i++)
        if (strcmp(s->agents[i].id, agent_id) == 0) return &s->agents[i];
    return NULL;
}

int sim_visible_state(const sim_fw *fw, int st) {
    if (fw && fw->partition_aware) return st;
    switch (st) {
    case MESOS__V1__TASK_STATE__TASK_UNREACHABLE:
    case MESOS__V1__TASK_STATE__TASK_GONE:
    case MESOS__V1__TASK_STATE__TASK_DROPPED:
    case MESOS__V1__TASK_STATE__TASK_UNKNOWN:
    case MESOS__V1__TASK_STATE__TASK_GONE_BY_OPERATOR: return MESOS__V1__TASK_STATE__TASK_LOST;
    default: return st;
    }
}

int sim_port(const sim *s) { return s ? s->port : 0; }

int sim_agent_port(const sim *s, int i) { return s && i >= 0 && i < s->nagents ? s->agents[i].port : 0; }

/* --- loop thread --------------------------------------------------------------- */

static void *loop_main(void *arg) {
    sim *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        int stop = s->stopping;
        pthread_mutex_unlock(&s->mu);
        if (stop) break;
        if (s->zk) sim_zk_poll(s, s->zk);
        pthread_mutex_lock(&s->mu);
        int64_t now = util_now_ms();
        sim_agent_tick(s, now);
        sim_master_tick(s, now);
        sim_task_retry(s, now);
        sim_drain_tick(s);
        if (now >= s->next_offer_ms) {
            if (sim_leading(s)) sim_alloc_run(s, now);
            if (sim_leading(s)) sim_maint_run(s, now);   /* inverse offers after offers, as the allocator does */
            s->next_offer_ms = now + s->cfg.offer_interval_ms;
        }
        pthread_mutex_unlock(&s->mu);
        util_sleep_ms(20);
    }
    return NULL;
}

/* --- configuration ---------------------------------------------------------------- */

static char *dup_or_null(const char *v) { return v ? strdup(v) : NULL; }

static void copy_cfg(sim *s, const sim_config *c) {
    s->cfg = *c;
    s->cfg.listen_host = strdup(c->listen_host && *c->listen_host ? c->listen_host : "127.0.0.1");
    s->cfg.resources = dup_or_null(c->resources);
    s->cfg.agent_hostname = strdup(c->agent_hostname && *c->agent_hostname ? c->agent_hostname : "127.0.0.1");
    s->cfg.work_dir = dup_or_null(c->work_dir);
    s->cfg.zk_hosts = dup_or_null(c->zk_hosts);
    s->cfg.zk_path = dup_or_null(c->zk_path);
    s->cfg.redirect_to = dup_or_null(c->redirect_to);
    s->cfg.credentials_file = dup_or_null(c->credentials_file);
    if (s->cfg.offer_interval_ms <= 0) s->cfg.offer_interval_ms = 1000;
    if (s->cfg.heartbeat_interval_ms <= 0) s->cfg.heartbeat_interval_ms = 15000;
    if (s->cfg.registration_timeout_ms <= 0) s->cfg.registration_timeout_ms = 60000;
    if (s->cfg.update_retry_ms <= 0) s->cfg.update_retry_ms = 10000;
    if (s->cfg.shutdown_grace_ms <= 0) s->cfg.shutdown_grace_ms = 5000;
}

static void free_cfg(sim_config *c) {
    free((char *)c->listen_host);
    free((char *)c->resources);
    free((char *)c->agent_hostname);
    free((char *)c->work_dir);
    free((char *)c->zk_hosts);
    free((char *)c->zk_path);
    free((char *)c->redirect_to);
    free((char *)c->credentials_file);
}

/* Agents with their slice of the ports. */
static int make_agents(sim *s, char *err, size_t errlen) {
    sim_res *all = sim_res_parse(s->cfg.resources, err, errlen);
    if (!all) return MCM_ERR;
    s->nagents = s->cfg.agents;
    s->agents = calloc((size_t)s->nagents, sizeof(*s->agents));
    if (!s->agents) abort();
    uint64_t nports = sim_res_range_count(all, "ports");
    int rc = MCM_OK;
    for (int i = 0; i < s->nagents; i++) {
        sim_agent *a = &s->agents[i];
        a->s = s;
        a->idx = i;
        snprintf(a->id, sizeof(a->id), "%s-S%d", s->master_id, i);
        a->total = nports ? sim_res_slice(all, "ports", s->nagents, i) : sim_res_copy(all);
        if (!a->total) {
            snprintf(err, errlen, "--resources: ports has %llu value(s), fewer than --agents %d (each agent needs its own)",
                     (unsigned long long)nports, s->nagents);
            rc = MCM_ERR;
            break;
        }
    }
    sim_res_free(all);
    return rc;
}

/* "//host:port" from --redirect-to http://host:port[/...]. */
static int parse_redirect(sim *s, char *err, size_t errlen) {
    parse_urls u = {0, NULL};
    if (parse_http_urls(s->cfg.redirect_to, &u, err, errlen) != MCM_OK || u.n != 1) {
        if (u.n > 1) snprintf(err, errlen, "one URL only");
        parse_urls_free(&u);
        return MCM_ERR;
    }
    const char *p = strstr(u.urls[0], "://") + 3;
    snprintf(s->admin_redirect, sizeof(s->admin_redirect), "//%.*s", (int)strcspn(p, "/"), p);
    s->admin_follow = 1;
    parse_urls_free(&u);
    return MCM_OK;
}

static int setup_dirs(sim *s, char *err, size_t errlen) {
    if (!s->cfg.work_dir) {
        const char *tmp = getenv("TMPDIR");
        if (asprintf(&s->own_work_dir, "%s/mcm-sim-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0) abort();
        if (!mkdtemp(s->own_work_dir)) {
            snprintf(err, errlen, "mkdtemp %s: %s", s->own_work_dir, strerror(errno));
            return MCM_ERR;
        }
        s->cfg.work_dir = strdup(s->own_work_dir);
        return MCM_OK;
    }
    if (mkdir(s->cfg.work_dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "--work-dir %s: %s", s->cfg.work_dir, strerror(errno));
        return MCM_ERR;
    }
    return MCM_OK;
}

static int read_credentials(sim *s, char *err, size_t errlen) {
    if (!s->cfg.credentials_file) return MCM_OK;
    char *text = util_read_file(s->cfg.credentials_file, 1 << 20, err, errlen);
    if (!text) return MCM_ERR;
    if (asprintf(&s->credentials, "\n%s\n", text) < 0) abort();
    free(text);
    return MCM_OK;
}

static void pick_host(sim *s) {
    const char *h = s->cfg.listen_host;
    if (!strcmp(h, "0.0.0.0") || !strcmp(h, "::") || !strcmp(h, "*")) h = "127.0.0.1";
    snprintf(s->host, sizeof(s->host), "%s", h);
}

static int configure(sim *s, int *usage, char *err, size_t errlen) {
    *usage = 1;
    if (s->cfg.agents < 1) {
        snprintf(err, errlen, "--agents must be at least 1");
        return MCM_ERR;
    }
    if (make_agents(s, err, errlen) != MCM_OK || sim_attr_setup(s, err, errlen) != MCM_OK) return MCM_ERR;
    if (sim_maint_new(s) != MCM_OK || sim_drain_new(s) != MCM_OK) abort();   /* out of memory */
    if (s->cfg.redirect_to && parse_redirect(s, err, errlen) != MCM_OK) {
        char why[256];
        snprintf(why, sizeof(why), "%s", err);
        snprintf(err, errlen, "--redirect-to: %s", why);
        return MCM_ERR;
    }
    *usage = 0;
    if (setup_dirs(s, err, errlen) != MCM_OK || read_credentials(s, err, errlen) != MCM_OK) return MCM_ERR;
    return MCM_OK;
}

sim *sim_new(const sim_config *cfg, int *usage, char *err, size_t errlen) {
    int dummy;
    if (!usage) usage = &dummy;
    *usage = 0;
    sim *s = calloc(1, sizeof(*s));
    if (!s) abort();
    pthread_mutex_init(&s->mu, NULL);
    copy_cfg(s, cfg);
    uint8_t u[16];
    util_uuid4(u);
    util_uuid_str(u, s->master_id);
    pick_host(s);
    s->calls = calloc(SIM_CALLS_MAX, sizeof(*s->calls));
    if (!s->calls) abort();
    if (configure(s, usage, err, errlen) != MCM_OK) goto fail;
    if (sim_http_start(s, err, errlen) != MCM_OK) goto fail;
    if (s->cfg.zk_hosts && !(s->zk = sim_zk_new(s, err, errlen))) goto fail;
    if (pthread_create(&s->loop, NULL, loop_main, s) != 0) {
        snprintf(err, errlen, "cannot start the loop thread");
        goto fail;
    }
    s->loop_started = 1;
    for (int i = 0; i < s->nagents; i++) {
        char r[1024];
        sim_res_format(s->agents[i].total, r, sizeof(r));
        log_info("agent %s: executor API on %s:%d, resources %s", s->agents[i].id, s->host, s->agents[i].port, r);
    }
    log_info("master %s on %s:%d (%s), work dir %s", s->master_id, s->host, s->port,
             s->cfg.zk_hosts ? "ZooKeeper decides who leads" : s->admin_follow ? "not leading" : "leading",
             s->cfg.work_dir);
    return s;
fail:
    sim_free(s);
    return NULL;
}

/* --- teardown ------------------------------------------------------------------------ */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    return remove(path) == 0 ? 0 : 0;
}

static void free_objects(sim *s) {
    while (s->tasks) sim_task_free(s, s->tasks);
    while (s->offers) sim_offer_remove(s, s->offers);
    for (sim_exec *ex = s->execs, *n; ex; ex = n) {
        n = ex->next;
        if (ex->stream) sim_stream_unref(ex->stream);
        mesos__v1__executor_info__free_unpacked(ex->info, NULL);
        sim_res_free(ex->res);
        free(ex->sandbox);
        free(ex->launch_error);
        free(ex);
    }
    for (sim_fw *fw = s->fws, *n; fw; fw = n) {
        n = fw->next;
        if (fw->stream) sim_stream_unref(fw->stream);
        sim_filters_clear(fw);
        if (fw->info) mesos__v1__framework_info__free_unpacked(fw->info, NULL);
        free(fw);
    }
    for (int i = 0; s->agents && i < s->nagents; i++) sim_res_free(s->agents[i].total), free(s->agents[i].attributes);
    free(s->agents);
}

void sim_free(sim *s) {
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_mutex_unlock(&s->mu);
    if (s->loop_started) pthread_join(s->loop, NULL);
    pthread_mutex_lock(&s->mu);
    sim_exec_kill_all(s);
    for (sim_fw *fw = s->fws; fw; fw = fw->next)
        if (fw->stream) sim_stream_close(fw->stream, 0);
    for (sim_exec *ex = s->execs; ex; ex = ex->next)
        if (ex->stream) sim_stream_close(ex->stream, 1);
    pthread_mutex_unlock(&s->mu);
    sim_stream_shutdown_all();
    sim_http_stop(s);
    sim_zk_free(s->zk);
    free_objects(s);
    if (s->own_work_dir) nftw(s->own_work_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(s->own_work_dir);
    free(s->credentials);
    free(s->calls);
    sim_maint_free(s);
    sim_drain_free(s);
    free_cfg(&s->cfg);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
