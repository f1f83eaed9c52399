/* mesos_sched.c -- Mesos v1 scheduler client: lifecycle and calls.
 *
 * The stream (SUBSCRIBE, events, watchdog, reconnects) lives in
 * mesos_stream.c on its own thread; this file holds what the owner thread
 * runs: new/start/stop/free, and the calls. Calls go over MESOS_CALL_CONNS
 * keep-alive libcurl easy handles, one call at a time on each (the first one
 * free is taken), to the endpoint of the live subscription with its
 * Mesos-Stream-Id; the order of calls that depend on each other is the
 * caller's (callq.h: one worker per lane, one call at a time). A 307 is followed by hand
 * (MESOS_HTTP_MAX_HOPS) keeping every header; 202 is success, anything else
 * becomes "<status> <body>" in err.
 *
 * Threads: new/start/stop/free on the owner thread; the calls on up to
 * MESOS_CALL_CONNS threads at once; the getters (subscribed, framework_id,
 * master_url) on any thread.
 * Invariants: (1) a call is only sent while `subscribed` (copied under mu
 * with the stream id and endpoint); (2) after stop() no call is sent until the
 * next start(); (3) the secret lives only inside `auth`, never in logs. */
#define LOG_COMPONENT "mesos"
#include "mesos_sched_int.h"

#include "log.h"
#include "mcm.h"
#include "mesos_http.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CALL_BODY_MAX 1024

static char *dup_or_null(const char *s) {
    return s ? strdup(s) : NULL;
}

static int copy_master(mesos_sched *s, const opt_master *m) {
    s->is_zk = m->is_zk;
    if (m->is_zk) {
        s->zk_hosts = dup_or_null(m->zk.hosts);
        s->zk_path = dup_or_null(m->zk.path);
        return s->zk_hosts && s->zk_path ? MCM_OK : MCM_ERR;
    }
    s->endpoints = calloc((size_t)m->http.n, sizeof(char *));
    if (!s->endpoints) return MCM_ERR;
    s->nurls = m->http.n;
    for (int i = 0; i < m->http.n; i++)
        if (asprintf(&s->endpoints[i], "%s/api/v1/scheduler", m->http.urls[i]) < 0) {
            s->endpoints[i] = NULL;
            return MCM_ERR;
        }
    return MCM_OK;
}

static int check_config(const mesos_sched_config *cfg, char *err, size_t errlen) {
    const opt_master *m = cfg->master;
    if (!m || (m->is_zk ? !m->zk.hosts || !m->zk.path : m->http.n <= 0)) {
        snprintf(err, errlen, "mesos: no master (need http://host:port[,...] or zk://hosts/path)");
        return MCM_ERR;
    }
    if (!cfg->user || !*cfg->user || !cfg->name || !*cfg->name) {
        snprintf(err, errlen, "mesos: framework user and name are required");
        return MCM_ERR;
    }
    if (cfg->secret && (!cfg->principal || !*cfg->principal)) {
        snprintf(err, errlen, "mesos: a secret needs a principal");
        return MCM_ERR;
    }
    return MCM_OK;
}

static int copy_strings(mesos_sched *s, const mesos_sched_config *cfg) {
    s->user = strdup(cfg->user);
    s->name = strdup(cfg->name);
    s->role = strdup(cfg->role && *cfg->role ? cfg->role : "*");
    s->hostname = dup_or_null(cfg->hostname);
    s->principal = cfg->principal && *cfg->principal ? strdup(cfg->principal) : NULL;
    s->webui_url = cfg->webui_url && *cfg->webui_url ? strdup(cfg->webui_url) : NULL;
    if (!s->user || !s->name || !s->role || (cfg->hostname && !s->hostname)) return MCM_ERR;
    if (s->principal && cfg->secret && !(s->auth = mesos_http_basic_auth(s->principal, cfg->secret)))
        return MCM_ERR;
    s->fw = (mesos_fw_info){s->user, s->name, s->role, s->hostname, s->principal, s->webui_url,
                            cfg->failover_timeout_s};
    return MCM_OK;
}

static void set_numbers(mesos_sched *s, const mesos_sched_config *cfg) {
    s->heartbeat_misses = cfg->heartbeat_misses > 0 ? cfg->heartbeat_misses : 5;
    s->call_timeout_ms = cfg->call_timeout_ms > 0 ? cfg->call_timeout_ms : 10000;
    s->backoff_min_ms = cfg->backoff_min_ms > 0 ? cfg->backoff_min_ms : 500;
    s->backoff_max_ms = cfg->backoff_max_ms > 0 ? cfg->backoff_max_ms : 30000;
    if (s->backoff_max_ms < s->backoff_min_ms) s->backoff_max_ms = s->backoff_min_ms;
    s->subscribe_timeout_ms = cfg->subscribe_timeout_ms > 0 ? cfg->subscribe_timeout_ms : 20000;
    s->zk_session_timeout_ms = cfg->zk_session_timeout_ms > 0 ? cfg->zk_session_timeout_ms : 10000;
    s->max_record = cfg->max_record;
}

mesos_sched *mesos_sched_new(const mesos_sched_config *cfg, const mesos_sched_callbacks *cb,
                             char *err, size_t errlen) {
    if (check_config(cfg, err, errlen) != MCM_OK) return NULL;
    mesos_http_global_init();
    mesos_sched *s = calloc(1, sizeof(*s));
    if (!s) goto oom;
    pthread_mutex_init(&s->mu, NULL);
    for (int i = 0; i < MESOS_CALL_CONNS; i++) pthread_mutex_init(&s->conns[i].mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (cb) s->cb = *cb;
    set_numbers(s, cfg);
    if (copy_strings(s, cfg) != MCM_OK || copy_master(s, cfg->master) != MCM_OK) goto oom;
    for (int i = 0; i < MESOS_CALL_CONNS; i++)
        if (!(s->conns[i].h = curl_easy_init())) goto oom;
    return s;
oom:
    snprintf(err, errlen, "mesos: out of memory");
    mesos_sched_free(s);
    return NULL;
}

int mesos_sched_start(mesos_sched *s, const char *framework_id) {
    char err[256];
    if (s->running) return MCM_ERR;
    pthread_mutex_lock(&s->mu);
    snprintf(s->framework_id, sizeof(s->framework_id), "%s", framework_id ? framework_id : "");
    s->subscribed = 0;
    s->stream_id[0] = s->endpoint[0] = '\0';
    pthread_mutex_unlock(&s->mu);
    if (s->is_zk && !(s->det = mdet_new(s->zk_hosts, s->zk_path, s->zk_session_timeout_ms, err, sizeof(err)))) {
        log_error("cannot start master detection: %s", err);
        return MCM_ERR;
    }
    atomic_store(&s->stopping, 0);
    if (pthread_create(&s->thread, NULL, mesos_stream_main, s) != 0) {
        log_error("cannot start the Mesos stream thread");
        mdet_free(s->det);
        s->det = NULL;
        return MCM_ERR;
    }
    s->running = 1;
    return MCM_OK;
}

void mesos_sched_stop(mesos_sched *s) {
    if (!s || !s->running) return;
    atomic_store(&s->stopping, 1);
    pthread_mutex_lock(&s->mu);
    if (s->multi) curl_multi_wakeup(s->multi);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    s->running = 0;
    pthread_mutex_lock(&s->mu);
    s->subscribed = 0;
    s->stream_id[0] = s->endpoint[0] = '\0';
    pthread_mutex_unlock(&s->mu);
    mdet_free(s->det);
    s->det = NULL;
}

void mesos_sched_free(mesos_sched *s) {
    if (!s) return;
    mesos_sched_stop(s);
    for (int i = 0; i < MESOS_CALL_CONNS; i++)
        if (s->conns[i].h) curl_easy_cleanup(s->conns[i].h);
    if (s->auth) memset(s->auth, 0, strlen(s->auth));
    free(s->auth);
    free(s->user);
    free(s->name);
    free(s->role);
    free(s->hostname);
    free(s->principal);
    free(s->webui_url);
    free(s->zk_hosts);
    free(s->zk_path);
    for (int i = 0; s->endpoints && i < s->nurls; i++) free(s->endpoints[i]);
    free(s->endpoints);
    pthread_cond_destroy(&s->cv);
    for (int i = 0; i < MESOS_CALL_CONNS; i++) pthread_mutex_destroy(&s->conns[i].mu);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

int mesos_sched_running(const mesos_sched *s) { return s && s->running; }

int mesos_sched_subscribed(const mesos_sched *cs) {
    mesos_sched *s = (mesos_sched *)cs;
    pthread_mutex_lock(&s->mu);
    int v = s->subscribed;
    pthread_mutex_unlock(&s->mu);
    return v;
}

void mesos_sched_framework_id(const mesos_sched *cs, char *buf, size_t len) {
    mesos_sched *s = (mesos_sched *)cs;
    pthread_mutex_lock(&s->mu);
    snprintf(buf, len, "%s", s->framework_id);
    pthread_mutex_unlock(&s->mu);
}

void mesos_sched_master_url(const mesos_sched *cs, char *buf, size_t len) {
    mesos_sched *s = (mesos_sched *)cs;
    pthread_mutex_lock(&s->mu);
    mesos_http_base_url(s->endpoint, buf, len);
    pthread_mutex_unlock(&s->mu);
}

/* --- calls ------------------------------------------------------------------ */

typedef struct call_reply {
    char body[CALL_BODY_MAX];
    size_t len;
    char location[1024];
} call_reply;

static size_t call_write(char *data, size_t size, size_t n, void *ud) {
    call_reply *r = ud;
    size_t len = size * n, room = sizeof(r->body) - r->len;
    memcpy(r->body + r->len, data, len < room ? len : room);
    r->len += len < room ? len : room;
    return len;
}

static size_t call_header(char *line, size_t size, size_t n, void *ud) {
    call_reply *r = ud;
    size_t len = size * n;
    if (mesos_http_status_line(line, len)) r->location[0] = '\0';
    mesos_http_header(line, len, "Location", r->location, sizeof(r->location));
    return len;
}

static struct curl_slist *call_headers(mesos_sched *s, const char *stream_id) {
    char sid[MESOS_STREAM_ID_MAX + 32];
    snprintf(sid, sizeof(sid), "Mesos-Stream-Id: %s", stream_id);
    const char *extra[] = {sid, s->auth};
    return mesos_http_headers(extra, MCM_ARRAY_LEN(extra));
}

/* One POST; returns the HTTP status (0 on transport error, with err set). */
static long post_once(CURL *e, const char *url, struct curl_slist *hdrs, const uint8_t *body,
                      size_t blen, int64_t timeout_ms, call_reply *r, char *err, size_t errlen) {
    char cerr[CURL_ERROR_SIZE] = "";
    long status = 0;
    memset(r, 0, sizeof(*r));
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, (const char *)body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, call_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, call_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(timeout_ms > 0 ? timeout_ms : 1));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout_ms > 0 ? timeout_ms : 1));
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, cerr);
    CURLcode rc = curl_easy_perform(e);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "POST %s: %s", url, mesos_http_curl_text(rc, cerr));
        return 0;
    }
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

int mesos_sched_trusted(mesos_sched *s, const char *url) {
    if (!s->auth) return 1;
    for (int i = 0; i < s->nurls; i++)
        if (mesos_http_same_origin(s->endpoints[i], url)) return 1;
    char leader[512], base[600];
    if (s->is_zk && s->det && mdet_leader(s->det, leader, sizeof(leader)) && leader[0]) {
        snprintf(base, sizeof(base), "http://%s/", leader);
        if (mesos_http_same_origin(base, url)) return 1;
    }
    return 0;
}

/* POSTs a packed Call, following 307s by hand; MCM_OK on 202. */
static int post_call(mesos_sched *s, CURL *e, const char *endpoint, const char *stream_id, const uint8_t *body,
                     size_t blen, char *err, size_t errlen) {
    struct curl_slist *hdrs = call_headers(s, stream_id);
    if (!hdrs) {
        snprintf(err, errlen, "out of memory");
        return MCM_ERR;
    }
    call_reply r;
    char *url = strdup(endpoint);
    int64_t deadline = util_now_ms() + s->call_timeout_ms;
    int rc = MCM_ERR;
    for (int hop = 0; url; hop++) {
        long status = post_once(e, url, hdrs, body, blen, deadline - util_now_ms(), &r, err, errlen);
        if (status == 202) {
            rc = MCM_OK;
        } else if (status == 307 && hop < MESOS_HTTP_MAX_HOPS && r.location[0]) {
            char *next = mesos_http_resolve(url, r.location);
            if (next && !mesos_sched_trusted(s, next)) {
                snprintf(err, errlen, "%s redirected the call to %s, which is not a configured or detected "
                         "master: not followed (the principal's credentials go only to those)", url, next);
                free(next);
                break;
            }
            log_info("call redirected by %s to %s", url, next ? next : r.location);
            free(url);
            url = next;
            if (url) continue;
            snprintf(err, errlen, "307 with an unusable Location '%s'", r.location);
        } else if (status != 0) {
            char text[CALL_BODY_MAX];
            mesos_http_body_text(r.body, r.len, text, sizeof(text));
            snprintf(err, errlen, "%ld%s%s", status, text[0] ? " " : "", text);
        }
        break;
    }
    free(url);
    curl_slist_free_all(hdrs);
    return rc;
}

/* The first free connection, locked; if every one is busy, waits for the
 * first (more callers than connections only queue). */
static int take_conn(mesos_sched *s) {
    for (int i = 0; i < MESOS_CALL_CONNS; i++)
        if (pthread_mutex_trylock(&s->conns[i].mu) == 0) return i;
    pthread_mutex_lock(&s->conns[0].mu);
    return 0;
}

/* Sends a packed Call on the live subscription; frees body. */
static int send_packed(mesos_sched *s, uint8_t *body, size_t blen, char *err, size_t errlen) {
    char endpoint[sizeof(s->endpoint)], sid[sizeof(s->stream_id)];
    int live = 0;
    if (!body) {
        snprintf(err, errlen, "out of memory");
        return MCM_ERR;
    }
    pthread_mutex_lock(&s->mu);
    if (s->subscribed && s->running && !atomic_load(&s->stopping)) {
        live = 1;
        snprintf(endpoint, sizeof(endpoint), "%s", s->endpoint);
        snprintf(sid, sizeof(sid), "%s", s->stream_id);
    }
    pthread_mutex_unlock(&s->mu);
    int rc = MCM_ERR;
    if (!live) {
        snprintf(err, errlen, "not subscribed");
    } else {
        int c = take_conn(s);
        rc = post_call(s, s->conns[c].h, endpoint, sid, body, blen, err, errlen);
        pthread_mutex_unlock(&s->conns[c].mu);
    }
    free(body);
    return rc;
}

/* Copies the framework ID for a builder. */
static void fwid(mesos_sched *s, char *buf, size_t len) {
    mesos_sched_framework_id(s, buf, len);
}

int mesos_sched_call(mesos_sched *s, Mesos__V1__Scheduler__Call *call, char *err, size_t errlen) {
    char id[256], tn[32];
    size_t len = 0;
    if (call->has_type && call->type == MESOS__V1__SCHEDULER__CALL__TYPE__SUBSCRIBE) {
        snprintf(err, errlen, "SUBSCRIBE is the client's own (mesos_sched_start)");
        return MCM_ERR;
    }
    fwid(s, id, sizeof(id));
    log_debug("call %s", mesos_call_type_name(call->type, tn, sizeof(tn)));
    uint8_t *body = mesos_call_pack(call, id, &len);
    return send_packed(s, body, len, err, errlen);
}

int mesos_sched_launch(mesos_sched *s, const char *offer_id, Mesos__V1__TaskInfo **tasks, size_t n,
                       double refuse_seconds, char *err, size_t errlen) {
    char id[256];
    size_t len = 0;
    fwid(s, id, sizeof(id));
    uint8_t *body = mesos_call_launch(id, offer_id, tasks, n, refuse_seconds, &len);
    return send_packed(s, body, len, err, errlen);
}

int mesos_sched_decline(mesos_sched *s, const char *const *offer_ids, size_t n, double refuse_seconds,
                        char *err, size_t errlen) {
    char id[256];
    size_t len = 0;
    fwid(s, id, sizeof(id));
    uint8_t *body = mesos_call_decline(id, offer_ids, n, refuse_seconds, &len);
    return send_packed(s, body, len, err, errlen);
}

int mesos_sched_accept_inverse(mesos_sched *s, const char *const *ids, size_t n, double refuse_seconds,
                               char *err, size_t errlen) {
    char id[256];
    size_t len = 0;
    fwid(s, id, sizeof(id));
    uint8_t *body = mesos_call_accept_inverse(id, ids, n, refuse_seconds, &len);
    return send_packed(s, body, len, err, errlen);
}

int mesos_sched_decline_inverse(mesos_sched *s, const char *const *ids, size_t n, double refuse_seconds,
                                char *err, size_t errlen) {
    char id[256];
    size_t len = 0;
    fwid(s, id, sizeof(id));
    uint8_t *body = mesos_call_decline_inverse(id, ids, n, refuse_seconds, &len);
    return send_packed(s, body, len, err, errlen);
}

int mesos_unavailability(const Mesos__V1__Unavailability *u, int64_t *start_ms, int64_t *duration_ms) {
    if (!u || !u->start) return MCM_ERR;
    *start_ms = u->start->nanoseconds / 1000000;
    *duration_ms = u->duration ? u->duration->nanoseconds / 1000000 : -1;
    if (*duration_ms < -1) *duration_ms = 0;   /* a negative duration is an empty window */
    return MCM_OK;
}

int mesos_sched_kill(mesos_sched *s, const char *task_id, const char *agent_id, char *err, size_t errlen) {
    char id[256];
    size_t len = 0;
    fwid(s, id, sizeof(id));
    uint8_t *body = mesos_call_kill(id, task_id, agent_id, &len);
    return send_packed(s, body, len, err, errlen);
}

int mesos_sched_acknowledge(mesos_sched *s, const char *agent_id, const char *task_id,
                            const uint8_t *uuid, size_t uuid_len, char *err, size_t errlen) {
    char id[256];
    size_t len = 0;
    fwid(s, id, sizeof(id));
    uint8_t *body = mesos_call_acknowledge(id, agent_id, task_id, uuid, uuid_len, &len);
    return send_packed(s, body, len, err, errlen);
}

int mesos_sched_reconcile(mesos_sched *s, const char *const *task_ids, const char *const *agent_ids,
                          size_t n, char *err, size_t errlen) {
    char id[256];
    size_t len = 0;
    fwid(s, id, sizeof(id));
    uint8_t *body = mesos_call_reconcile(id, task_ids, agent_ids, n, &len);
    return send_packed(s, body, len, err, errlen);
}

int mesos_sched_message(mesos_sched *s, const char *agent_id, const char *executor_id,
                        const void *data, size_t dlen, char *err, size_t errlen) {
    char id[256];
    size_t len = 0;
    fwid(s, id, sizeof(id));
    uint8_t *body = mesos_call_message(id, agent_id, executor_id, data, dlen, &len);
    return send_packed(s, body, len, err, errlen);
}

int mesos_sched_revive(mesos_sched *s, char *err, size_t errlen) {
    char id[256];
    size_t len = 0;
    fwid(s, id, sizeof(id));
    uint8_t *body = mesos_call_revive(id, s->role, &len);
    return send_packed(s, body, len, err, errlen);
}

int mesos_sched_suppress(mesos_sched *s, char *err, size_t errlen) {
    char id[256];
    size_t len = 0;
    fwid(s, id, sizeof(id));
    uint8_t *body = mesos_call_suppress(id, s->role, &len);
    return send_packed(s, body, len, err, errlen);
}

int mesos_sched_teardown(mesos_sched *s, char *err, size_t errlen) {
    char id[256];
    size_t len = 0;
    fwid(s, id, sizeof(id));
    uint8_t *body = mesos_call_teardown(id, &len);
    return send_packed(s, body, len, err, errlen);
}
