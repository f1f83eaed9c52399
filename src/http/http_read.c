/* http_read.c -- the GET endpoints: servers (ETag, long poll), leader, tasks,
 * status, healthz, readyz, metrics.
 *
 * Shape: each handler copies what it needs from the published snapshots under
 * h->mu and builds its answer after unlocking; GET /v1/servers queues the
 * cached response under the lock instead (see http_snap.c). A long poll is
 * deferred (http_defer.c): its wait runs on a helper thread
 * (http_servers_wait), on h->cond with an absolute CLOCK_MONOTONIC deadline:
 * http_set_servers and http_free broadcast, so a change wakes it at once and
 * nothing polls; the answer is then built on the pool thread as for any GET.
 *
 * A waiting long poll also wakes every HTTP_PROBE_MS to see whether its
 * client has closed, and then ends at once (its thread and slot are free).
 *
 * Threads: MHD pool threads; http_servers_wait on a deferred request's helper.
 * Invariant: a long poll never outlives its wait bound, its client or
 * http_free. */
#include "http_int.h"
#include "mcm.h"
#include "parse.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

/* --- GET /v1/servers ------------------------------------------------------------- */

typedef struct poll_args {
    int64_t wait_ms;      /* -1: no long poll */
    int64_t version;
} poll_args;

/* MCM_OK, or MCM_ERR with the error code and message to answer 400 with. */
static int parse_poll(http_server *h, struct MHD_Connection *c, poll_args *pa, const char **code,
                      char *msg, size_t msglen) {
    const char *w = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "wait");
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "version");
    char err[128];
    int64_t max_ms = (int64_t)h->cfg.longpoll_max_s * 1000;
    pa->wait_ms = -1;
    pa->version = -1;
    *code = "BAD_WAIT";
    if (w && parse_duration_ms(w, &pa->wait_ms, err, sizeof(err)) != MCM_OK) {
        snprintf(msg, msglen, "wait: %s", err);
        return MCM_ERR;
    }
    if (w && pa->wait_ms > max_ms) {
        snprintf(msg, msglen, "wait: at most %ds", h->cfg.longpoll_max_s);
        return MCM_ERR;
    }
    *code = "BAD_VERSION";
    if (v && parse_int64(v, 0, INT64_MAX, &pa->version, err, sizeof(err)) != MCM_OK) {
        snprintf(msg, msglen, "version: %s", err);
        return MCM_ERR;
    }
    if (w && !v) {
        snprintf(msg, msglen, "wait needs version=<the version you have>");
        return MCM_ERR;
    }
    return MCM_OK;
}

/* 1 if the If-None-Match list names "<version>" (W/ allowed) or is "*". */
static int etag_matches(const char *inm, int64_t version) {
    char want[32];
    snprintf(want, sizeof(want), "\"%" PRId64 "\"", version);
    size_t wl = strlen(want);
    const char *p = inm;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        if (*p == '*') return 1;
        if (strncmp(p, "W/", 2) == 0) p += 2;
        if (strncmp(p, want, wl) == 0 && (p[wl] == 0 || p[wl] == ',' || p[wl] == ' ' || p[wl] == '\t'))
            return 1;
        while (*p && *p != ',') p++;
    }
    return 0;
}

/* Waits (h->mu held) until the current version differs from pa->version (in
 * either direction: after a ZooKeeper data loss the version restarts lower,
 * and a client holding a higher one must get the new list, not 304s forever),
 * stop, or timeout. */
struct timespec http_deadline_in(int64_t ms) {
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += (time_t)(ms / 1000);
    dl.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    return dl;
}

/* Returns 0, or 1 if the client closed meanwhile (checked every
 * HTTP_PROBE_MS: its slot must come free at once, not after the wait). */
static int long_poll(http_server *h, struct MHD_Connection *c, const poll_args *pa) {
    int64_t end = util_now_ms() + pa->wait_ms;
    while (!h->stopping && (!h->srv_loaded || h->srv_version == pa->version)) {
        int64_t left = end - util_now_ms();
        if (left <= 0) break;
        struct timespec dl = http_deadline_in(left < HTTP_PROBE_MS ? left : HTTP_PROBE_MS);
        if (pthread_cond_timedwait(&h->cond, &h->mu, &dl) == ETIMEDOUT && http_client_gone(c)) return 1;
    }
    return 0;
}

int http_servers_waits(struct MHD_Connection *c) {
    return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "wait") != NULL;
}

void http_servers_wait(http_server *h, struct MHD_Connection *c, http_req *r) {
    poll_args pa;
    const char *code;
    char msg[160];
    r->waited = 1;
    if (parse_poll(h, c, &pa, &code, msg, sizeof(msg)) != MCM_OK || pa.wait_ms < 0) return;
    pthread_mutex_lock(&h->mu);
    r->gone = long_poll(h, c, &pa);
    pthread_mutex_unlock(&h->mu);
}

/* Runs on a pool thread: a long poll comes here twice, first to be deferred
 * (http_server.c), then with r->waited set once http_servers_wait is over. */
enum MHD_Result http_get_servers(http_server *h, struct MHD_Connection *c, http_req *r) {
    poll_args pa;
    const char *code;
    char msg[160];
    if (parse_poll(h, c, &pa, &code, msg, sizeof(msg)) != MCM_OK)
        return http_reply_error(h, c, r, 400, code, NULL, NULL, "%s", msg);
    if (r->gone) return MHD_NO;                        /* gone: MHD closes, the slot is free */
    const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    pthread_mutex_lock(&h->mu);
    int loaded = h->srv_loaded;
    int64_t version = h->srv_version;
    int unchanged = (inm && etag_matches(inm, version)) || (pa.wait_ms >= 0 && version == pa.version);
    unsigned status = unchanged ? 304 : 200;
    enum MHD_Result rc = MHD_YES;
    if (loaded) rc = MHD_queue_response(c, status, unchanged ? h->srv_304 : h->srv_resp);
    pthread_mutex_unlock(&h->mu);
    if (!loaded)
        return http_reply_error(h, c, r, 503, "NOT_LOADED", NULL, NULL, "no server list loaded yet");
    http_count(h, r, status);
    return rc;
}

/* --- GET /v1/leader, /v1/tasks ----------------------------------------------------- */

enum MHD_Result http_get_leader(http_server *h, struct MHD_Connection *c, http_req *r) {
    char *json = http_snap_strdup(h, &h->leader_json);
    if (!json) return http_reply_error(h, c, r, 503, "NO_LEADER", NULL, NULL, "no leader is known");
    return http_reply_body(h, c, r, 200, json, NULL);
}

enum MHD_Result http_get_tasks(http_server *h, struct MHD_Connection *c, http_req *r) {
    http_demand_wait(h, HTTP_VIEW_TASKS);
    char *json = http_snap_strdup(h, &h->tasks_json);
    if (!json) return http_reply_error(h, c, r, 503, "NOT_LOADED", NULL, NULL, "no task set published yet");
    return http_reply_body(h, c, r, 200, json, NULL);
}

/* --- GET /v1/status ---------------------------------------------------------------- */

/* A leader's snapshot is only as good as the core's last turn: after a stop
 * (SIGSTOP, a VM pause) longer than the core's pause limit, the session may
 * be gone, and the core says so only once it runs again. Until then the
 * answer claims no leadership (see http_set_liveness). */
static void unproven(http_server *h, json_t *doc) {
    const char *role = json_string_value(json_object_get(doc, "role"));
    int64_t idle = 0;
    if (!role || strcmp(role, "leader") != 0 || !http_core_stale(h, &idle)) return;
    json_object_set_new(doc, "role", json_string("unknown"));
    json_object_set_new(doc, "leader_state", json_string("unproven"));
    json_object_set_new(doc, "core_idle_ms", json_integer(idle));
}

enum MHD_Result http_get_status(http_server *h, struct MHD_Connection *c, http_req *r) {
    char *json = http_snap_strdup(h, &h->status_json);
    json_t *doc = json ? json_loads(json, 0, NULL) : NULL;
    free(json);
    if (!json_is_object(doc)) {
        json_decref(doc);
        doc = json_pack("{s:s}", "role", "unknown");
    }
    if (!doc) return MHD_NO;
    unproven(h, doc);
    if (!json_object_get(doc, "uptime_s"))
        json_object_set_new(doc, "uptime_s", json_integer((util_now_ms() - h->start_ms) / 1000));
    if (!json_object_get(doc, "version")) json_object_set_new(doc, "version", json_string(MCM_VERSION));
    char *body = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    return http_reply_body(h, c, r, 200, body, NULL);
}

/* --- health ------------------------------------------------------------------------- */

enum MHD_Result http_get_healthz(http_server *h, struct MHD_Connection *c, http_req *r) {
    return http_reply_body(h, c, r, 200, strdup("{\"status\":\"ok\"}"), NULL);
}

enum MHD_Result http_get_readyz(http_server *h, struct MHD_Connection *c, http_req *r) {
    pthread_mutex_lock(&h->mu);
    int zk = h->zk_connected, loaded = h->srv_loaded;
    pthread_mutex_unlock(&h->mu);
    if (zk && loaded) return http_reply_body(h, c, r, 200, strdup("{\"status\":\"ready\"}"), NULL);
    return http_reply_error(h, c, r, 503, "NOT_READY", NULL, NULL, "%s%s%s",
                            zk ? "" : "zookeeper session not connected",
                            !zk && !loaded ? "; " : "", loaded ? "" : "server list not loaded");
}

/* --- GET /metrics ------------------------------------------------------------------- */

enum MHD_Result http_get_metrics(http_server *h, struct MHD_Connection *c, http_req *r) {
    char *text = metrics_render(h->m, NULL);
    return http_reply_body(h, c, r, 200, text, METRICS_CONTENT_TYPE);
}
