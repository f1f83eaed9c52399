/* mesos_exec.c -- the Mesos v1 executor client (see mesos_exec.h).
 *
 * Shape: the stream thread drives one libcurl multi handle holding the
 * SUBSCRIBE transfer; curl_multi_poll() sleeps on the socket and
 * curl_multi_wakeup() makes mesos_exec_stop() prompt. The write callback only
 * frames (recordio.h) and unpacks Events into a small array; they are
 * dispatched after curl_multi_perform() returns, so no user callback and no
 * other transfer ever runs inside libcurl's callback. Calls use a second easy
 * handle kept alive between calls.
 *
 * Lifecycle of one subscription (run_stream):
 *
 *   build SUBSCRIBE (all kept updates + tasks, each update marked in_subscribe)
 *     -> 200 + application/x-protobuf -> Events ... -> SUBSCRIBED
 *        -> under call_mu: send updates made since the SUBSCRIBE was built,
 *           then subscribed = 1 (the owner's calls go straight out from now)
 *     -> stream ends / error / stop -> subscribed = 0 -> stream_main decides:
 *        give up (no checkpointing, recovery timeout passed) or back off, retry.
 *
 * Threads: the stream thread (run_stream, dispatch, backoff) and the owner
 * (calls, new/start/stop/free). Locks: call_mu serialises use of the call
 * handle (owner calls and the SUBSCRIBED flush); mu guards the kept updates,
 * kept tasks, agent_id and the backoff condition. Order: call_mu before mu.
 * Invariants:
 *   1. An update is in `ups` from mesos_exec_update() until an ACKNOWLEDGED
 *      with its uuid; every SUBSCRIBE lists all of them.
 *   2. While subscribed == 1, no kept update exists that was neither in the
 *      live SUBSCRIBE nor POSTed after it (flush before setting the flag). */
#define LOG_COMPONENT "mesos-exec"
#include "mesos_exec.h"

#include "log.h"
#include "mcm.h"
#include "mesos_http.h"
#include "parse.h"
#include "recordio.h"
#include "util.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PB_TYPE MESOS_HTTP_PROTOBUF
#define BODY_MAX 256

typedef struct kept_update {
    uint8_t uuid[16];
    uint8_t *call;           /* the packed UPDATE Call */
    size_t len;
    int in_subscribe;        /* listed in the SUBSCRIBE in flight */
} kept_update;

typedef struct kept_task {
    char *task_id;
    uint8_t *info;           /* packed TaskInfo */
    size_t len;
} kept_task;

struct mesos_exec {
    mesos_exec_config cfg;   /* deep copy */
    mesos_exec_callbacks cb;
    pthread_t thread;
    int started;
    atomic_int stop, subscribed, attempts, gave_up;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    kept_update *ups;
    size_t nups;
    kept_task *tasks;
    size_t ntasks;
    char *agent_id;

    pthread_mutex_t call_mu;
    CURL *call;
    struct curl_slist *hdrs;
    CURLM *multi;
};

/* One SUBSCRIBE attempt's transfer state. */
typedef struct stream {
    mesos_exec *e;
    CURL *h;
    rio_reader *rio;
    Mesos__V1__Executor__Event **evs;   /* decoded, not yet dispatched */
    size_t nevs, cap;
    long status;
    char fail[256];                      /* why the write callback stopped the transfer */
    char body[BODY_MAX];                 /* start of a non-200 answer */
    size_t body_len;
    int got_subscribed;
} stream;

typedef struct reply_buf {
    char text[BODY_MAX];
    size_t len;
} reply_buf;

/* --- names ------------------------------------------------------------------------ */

const char *mesos_exec_event_name(int type) {
    static const char *names[] = {"UNKNOWN", "SUBSCRIBED", "LAUNCH", "KILL", "ACKNOWLEDGED",
                                  "MESSAGE", "ERROR", "SHUTDOWN", "LAUNCH_GROUP", "HEARTBEAT"};
    return type >= 0 && (size_t)type < MCM_ARRAY_LEN(names) ? names[type] : "UNKNOWN";
}

const char *mesos_exec_state_name(int state) {
    static const char *names[] = {"TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED", "TASK_FAILED",
                                  "TASK_KILLED", "TASK_LOST", "TASK_STAGING", "TASK_ERROR",
                                  "TASK_KILLING", "TASK_DROPPED", "TASK_UNREACHABLE", "TASK_GONE",
                                  "TASK_GONE_BY_OPERATOR", "TASK_UNKNOWN"};
    return state >= 0 && (size_t)state < MCM_ARRAY_LEN(names) ? names[state] : "UNKNOWN";
}

/* --- small helpers -------------------------------------------------------------- */

static void *dup_bytes(const void *p, size_t n) {
    void *c = malloc(n ? n : 1);
    if (c) memcpy(c, p, n);
    return c;
}

static size_t collect_reply(char *p, size_t sz, size_t n, void *ud) {
    reply_buf *b = ud;
    size_t len = sz * n, room = sizeof(b->text) - 1 - b->len;
    size_t take = len < room ? len : room;
    memcpy(b->text + b->len, p, take);
    b->len += take;
    b->text[b->len] = '\0';
    return len;
}

static struct curl_slist *make_headers(const mesos_exec_config *c) {
    char *auth = NULL;
    if (c->auth_token && asprintf(&auth, "Authorization: Bearer %s", c->auth_token) < 0) return NULL;
    const char *extra[] = {auth};
    struct curl_slist *h = mesos_http_headers(extra, MCM_ARRAY_LEN(extra));
    free(auth);
    return h;
}

/* Aborts a call in progress once stop is set (libcurl calls this about every
 * second, and more often while data moves). */
static int abort_on_stop(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d) {
    return atomic_load(&((mesos_exec *)ud)->stop);
}

static void set_common(mesos_exec *e, CURL *h) {
    curl_easy_setopt(h, CURLOPT_URL, e->cfg.agent_url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, e->hdrs);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)e->cfg.call_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 10L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 5L);
}

/* --- configuration copy ------------------------------------------------------- */

static int copy_str(char **dst, const char *src) {
    if (!src) return MCM_OK;
    return (*dst = strdup(src)) ? MCM_OK : MCM_ERR;
}

static int copy_config(mesos_exec_config *d, const mesos_exec_config *s) {
    *d = *s;
    d->agent_endpoint = d->agent_url = d->framework_id = d->executor_id = NULL;
    d->directory = d->sandbox = d->auth_token = NULL;
    if (copy_str(&d->agent_endpoint, s->agent_endpoint) || copy_str(&d->agent_url, s->agent_url) ||
        copy_str(&d->framework_id, s->framework_id) || copy_str(&d->executor_id, s->executor_id) ||
        copy_str(&d->directory, s->directory) || copy_str(&d->sandbox, s->sandbox) ||
        copy_str(&d->auth_token, s->auth_token))
        return MCM_ERR;
    if (d->call_timeout_ms <= 0) d->call_timeout_ms = 10000;
    return MCM_OK;
}

/* --- create / free ------------------------------------------------------------------ */

mesos_exec *mesos_exec_new(const mesos_exec_config *cfg, const mesos_exec_callbacks *cb,
                           char *err, size_t errlen) {
    if (!cfg->agent_url || !cfg->framework_id || !cfg->executor_id || !cb->on_event ||
        !cb->on_disconnected) {
        snprintf(err, errlen, "executor client: agent URL, framework ID, executor ID and both "
                              "callbacks are required");
        return NULL;
    }
    mesos_http_global_init();
    mesos_exec *e = calloc(1, sizeof(*e));
    if (!e) goto oom;
    pthread_mutex_init(&e->mu, NULL);
    pthread_mutex_init(&e->call_mu, NULL);
    util_cond_init_monotonic(&e->cv);
    e->cb = *cb;
    if (copy_config(&e->cfg, cfg) != MCM_OK || !(e->hdrs = make_headers(&e->cfg)) ||
        !(e->call = curl_easy_init()) || !(e->multi = curl_multi_init()))
        goto oom;
    set_common(e, e->call);
    curl_easy_setopt(e->call, CURLOPT_TIMEOUT_MS, (long)e->cfg.call_timeout_ms);
    curl_easy_setopt(e->call, CURLOPT_WRITEFUNCTION, collect_reply);
    curl_easy_setopt(e->call, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e->call, CURLOPT_XFERINFOFUNCTION, abort_on_stop);
    curl_easy_setopt(e->call, CURLOPT_XFERINFODATA, e);
    return e;
oom:
    snprintf(err, errlen, "out of memory");
    mesos_exec_free(e);
    return NULL;
}

static void free_kept(mesos_exec *e) {
    for (size_t i = 0; i < e->nups; i++) free(e->ups[i].call);
    for (size_t i = 0; i < e->ntasks; i++) {
        free(e->tasks[i].task_id);
        free(e->tasks[i].info);
    }
    free(e->ups);
    free(e->tasks);
}

void mesos_exec_free(mesos_exec *e) {
    if (!e) return;
    mesos_exec_stop(e);
    free_kept(e);
    free(e->agent_id);
    if (e->call) curl_easy_cleanup(e->call);
    if (e->multi) curl_multi_cleanup(e->multi);
    curl_slist_free_all(e->hdrs);
    mesos_exec_config_free(&e->cfg);
    pthread_cond_destroy(&e->cv);
    pthread_mutex_destroy(&e->mu);
    pthread_mutex_destroy(&e->call_mu);
    free(e);
}

/* --- queries ------------------------------------------------------------------------ */

int mesos_exec_subscribed(const mesos_exec *e) { return atomic_load(&((mesos_exec *)e)->subscribed); }

int mesos_exec_subscribe_attempts(const mesos_exec *e) {
    return atomic_load(&((mesos_exec *)e)->attempts);
}

size_t mesos_exec_unacked(const mesos_exec *e) {
    mesos_exec *m = (mesos_exec *)e;
    pthread_mutex_lock(&m->mu);
    size_t n = m->nups;
    pthread_mutex_unlock(&m->mu);
    return n;
}

/* --- kept updates and tasks (under mu) ---------------------------------------- */

static int keep_update(mesos_exec *e, const uint8_t uuid[16], const uint8_t *call, size_t len) {
    kept_update *u = realloc(e->ups, (e->nups + 1) * sizeof(*u));
    if (!u) return MCM_ERR;
    e->ups = u;
    u = &e->ups[e->nups];
    if (!(u->call = dup_bytes(call, len))) return MCM_ERR;
    memcpy(u->uuid, uuid, 16);
    u->len = len;
    u->in_subscribe = 0;
    e->nups++;
    return MCM_OK;
}

static void keep_task(mesos_exec *e, const Mesos__V1__TaskInfo *t) {
    if (!t || !t->task_id || !t->task_id->value) return;
    size_t len = mesos__v1__task_info__get_packed_size(t);
    kept_task *k = realloc(e->tasks, (e->ntasks + 1) * sizeof(*k));
    if (!k) goto oom;
    e->tasks = k;
    k = &e->tasks[e->ntasks];
    k->task_id = strdup(t->task_id->value);
    k->info = malloc(len ? len : 1);
    if (!k->task_id || !k->info) {
        free(k->task_id);
        free(k->info);
        goto oom;
    }
    k->len = mesos__v1__task_info__pack(t, k->info);
    e->ntasks++;
    return;
oom:
    log_error("out of memory keeping TaskInfo %s; it will be missing from a re-SUBSCRIBE",
              t->task_id->value);
}

/* ACKNOWLEDGED: the agent stored the update; the task is known to it too. */
static void forget(mesos_exec *e, const Mesos__V1__Executor__Event__Acknowledged *a) {
    if (!a || !a->task_id || !a->task_id->value) return;
    for (size_t i = 0; i < e->nups; i++) {
        if (a->uuid.len == 16 && !memcmp(e->ups[i].uuid, a->uuid.data, 16)) {
            free(e->ups[i].call);
            e->ups[i] = e->ups[--e->nups];
            break;
        }
    }
    for (size_t i = 0; i < e->ntasks; i++) {
        if (!strcmp(e->tasks[i].task_id, a->task_id->value)) {
            free(e->tasks[i].task_id);
            free(e->tasks[i].info);
            memmove(&e->tasks[i], &e->tasks[i + 1], (e->ntasks - i - 1) * sizeof(e->tasks[0]));
            e->ntasks--;
            break;
        }
    }
}

/* --- calls ------------------------------------------------------------------------------ */

/* POSTs one packed Call over the keep-alive handle. Caller holds call_mu. */
static int post(mesos_exec *e, const uint8_t *body, size_t len, char *err, size_t errlen) {
    reply_buf reply = {.len = 0};
    long code = 0;
    reply.text[0] = '\0';
    curl_easy_setopt(e->call, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e->call, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(e->call, CURLOPT_WRITEDATA, &reply);
    CURLcode rc = curl_easy_perform(e->call);
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "POST %s: %s", e->cfg.agent_url, mesos_http_curl_text(rc, NULL));
        return MCM_ERR;
    }
    curl_easy_getinfo(e->call, CURLINFO_RESPONSE_CODE, &code);
    if (code != 202) {
        char text[BODY_MAX];
        mesos_http_body_text(reply.text, reply.len, text, sizeof(text));
        snprintf(err, errlen, "HTTP %ld%s%s", code, text[0] ? ": " : "", text);
        return MCM_ERR;
    }
    return MCM_OK;
}

static void call_init(mesos_exec *e, Mesos__V1__Executor__Call *c, Mesos__V1__ExecutorID *eid,
                      Mesos__V1__FrameworkID *fid, Mesos__V1__Executor__Call__Type type) {
    mesos__v1__executor__call__init(c);
    mesos__v1__executor_id__init(eid);
    mesos__v1__framework_id__init(fid);
    eid->value = e->cfg.executor_id;
    fid->value = e->cfg.framework_id;
    c->executor_id = eid;
    c->framework_id = fid;
    c->has_type = 1;
    c->type = type;
}

static uint8_t *pack_call(const Mesos__V1__Executor__Call *c, size_t *len) {
    *len = mesos__v1__executor__call__get_packed_size(c);
    uint8_t *buf = malloc(*len ? *len : 1);
    if (buf) mesos__v1__executor__call__pack(c, buf);
    return buf;
}

/* Packs the UPDATE Call for one status; the agent_id is read under mu. */
static uint8_t *pack_update(mesos_exec *e, const char *task_id, Mesos__V1__TaskState state, int reason,
                            int healthy, const char *message, const uint8_t uuid[16], size_t *len) {
    Mesos__V1__Executor__Call c;
    Mesos__V1__ExecutorID eid;
    Mesos__V1__FrameworkID fid;
    Mesos__V1__Executor__Call__Update up = MESOS__V1__EXECUTOR__CALL__UPDATE__INIT;
    Mesos__V1__TaskStatus st = MESOS__V1__TASK_STATUS__INIT;
    Mesos__V1__TaskID tid = MESOS__V1__TASK_ID__INIT;
    Mesos__V1__AgentID aid = MESOS__V1__AGENT_ID__INIT;
    call_init(e, &c, &eid, &fid, MESOS__V1__EXECUTOR__CALL__TYPE__UPDATE);
    tid.value = (char *)task_id;
    st.task_id = &tid;
    st.state = state;
    st.message = (char *)message;
    st.has_source = 1;
    st.source = MESOS__V1__TASK_STATUS__SOURCE__SOURCE_EXECUTOR;
    st.has_reason = reason >= 0;
    st.reason = reason >= 0 ? (Mesos__V1__TaskStatus__Reason)reason : st.reason;
    st.has_healthy = healthy >= 0;
    st.healthy = healthy > 0;
    st.has_timestamp = 1;
    st.timestamp = (double)util_wall_ms() / 1000.0;
    st.has_uuid = 1;
    st.uuid.data = (uint8_t *)uuid;
    st.uuid.len = 16;
    st.executor_id = &eid;
    up.status = &st;
    c.update = &up;
    pthread_mutex_lock(&e->mu);
    if (e->agent_id) {
        aid.value = e->agent_id;
        st.agent_id = &aid;
    }
    uint8_t *buf = pack_call(&c, len);
    pthread_mutex_unlock(&e->mu);
    return buf;
}

int mesos_exec_update(mesos_exec *e, const char *task_id, Mesos__V1__TaskState state, int reason,
                      const char *message, uint8_t uuid_out[16], char *err, size_t errlen) {
    return mesos_exec_update_health(e, task_id, state, reason, -1, message, uuid_out, err, errlen);
}

int mesos_exec_update_health(mesos_exec *e, const char *task_id, Mesos__V1__TaskState state, int reason,
                             int healthy, const char *message, uint8_t uuid_out[16], char *err, size_t errlen) {
    uint8_t uuid[16];
    size_t len;
    if (util_uuid4(uuid) != MCM_OK) {
        snprintf(err, errlen, "cannot make a UUID");
        return MCM_ERR;
    }
    if (uuid_out) memcpy(uuid_out, uuid, 16);
    uint8_t *body = pack_update(e, task_id, state, reason, healthy, message, uuid, &len);
    if (!body) {
        snprintf(err, errlen, "out of memory");
        return MCM_ERR;
    }
    pthread_mutex_lock(&e->call_mu);
    pthread_mutex_lock(&e->mu);
    int kept = keep_update(e, uuid, body, len);
    int live = atomic_load(&e->subscribed) && !atomic_load(&e->stop);
    pthread_mutex_unlock(&e->mu);
    int rc = MCM_ERR;
    if (kept != MCM_OK) snprintf(err, errlen, "out of memory");
    else if (live) rc = post(e, body, len, err, errlen);
    else snprintf(err, errlen, "not subscribed; kept for the next SUBSCRIBE");
    pthread_mutex_unlock(&e->call_mu);
    log_verbose("UPDATE %s %s%s%s", task_id, mesos_exec_state_name(state), rc == MCM_OK ? "" : ": ",
                rc == MCM_OK ? "" : err);
    free(body);
    return rc;
}

int mesos_exec_message(mesos_exec *e, const void *data, size_t len, char *err, size_t errlen) {
    Mesos__V1__Executor__Call c;
    Mesos__V1__ExecutorID eid;
    Mesos__V1__FrameworkID fid;
    Mesos__V1__Executor__Call__Message msg = MESOS__V1__EXECUTOR__CALL__MESSAGE__INIT;
    call_init(e, &c, &eid, &fid, MESOS__V1__EXECUTOR__CALL__TYPE__MESSAGE);
    msg.data.data = (uint8_t *)data;
    msg.data.len = len;
    c.message = &msg;
    size_t blen;
    uint8_t *body = pack_call(&c, &blen);
    if (!body) {
        snprintf(err, errlen, "out of memory");
        return MCM_ERR;
    }
    int rc = MCM_ERR;
    pthread_mutex_lock(&e->call_mu);
    if (!atomic_load(&e->subscribed) || atomic_load(&e->stop)) snprintf(err, errlen, "not subscribed");
    else rc = post(e, body, blen, err, errlen);
    pthread_mutex_unlock(&e->call_mu);
    free(body);
    return rc;
}

/* --- SUBSCRIBE ---------------------------------------------------------------------------- */

/* Unpacks every kept update/task into the Subscribe message (under mu). */
static int fill_subscribe(mesos_exec *e, Mesos__V1__Executor__Call__Subscribe *s,
                          Mesos__V1__Executor__Call **calls) {
    s->unacknowledged_updates = calloc(e->nups + 1, sizeof(*s->unacknowledged_updates));
    s->unacknowledged_tasks = calloc(e->ntasks + 1, sizeof(*s->unacknowledged_tasks));
    if (!s->unacknowledged_updates || !s->unacknowledged_tasks) return MCM_ERR;
    for (size_t i = 0; i < e->nups; i++) {
        calls[i] = mesos__v1__executor__call__unpack(NULL, e->ups[i].len, e->ups[i].call);
        if (!calls[i] || !calls[i]->update) return MCM_ERR;
        s->unacknowledged_updates[s->n_unacknowledged_updates++] = calls[i]->update;
        e->ups[i].in_subscribe = 1;
    }
    for (size_t i = 0; i < e->ntasks; i++) {
        Mesos__V1__TaskInfo *t = mesos__v1__task_info__unpack(NULL, e->tasks[i].len, e->tasks[i].info);
        if (!t) return MCM_ERR;
        s->unacknowledged_tasks[s->n_unacknowledged_tasks++] = t;
    }
    return MCM_OK;
}

static uint8_t *build_subscribe(mesos_exec *e, size_t *len, size_t *nups, size_t *ntasks) {
    Mesos__V1__Executor__Call c;
    Mesos__V1__ExecutorID eid;
    Mesos__V1__FrameworkID fid;
    Mesos__V1__Executor__Call__Subscribe sub = MESOS__V1__EXECUTOR__CALL__SUBSCRIBE__INIT;
    uint8_t *body = NULL;
    call_init(e, &c, &eid, &fid, MESOS__V1__EXECUTOR__CALL__TYPE__SUBSCRIBE);
    c.subscribe = &sub;
    pthread_mutex_lock(&e->mu);
    size_t n = e->nups;
    Mesos__V1__Executor__Call **calls = calloc(n + 1, sizeof(*calls));
    if (calls && fill_subscribe(e, &sub, calls) == MCM_OK) body = pack_call(&c, len);
    pthread_mutex_unlock(&e->mu);
    *nups = sub.n_unacknowledged_updates;
    *ntasks = sub.n_unacknowledged_tasks;
    for (size_t i = 0; calls && i < n; i++)
        if (calls[i]) mesos__v1__executor__call__free_unpacked(calls[i], NULL);
    for (size_t i = 0; i < sub.n_unacknowledged_tasks; i++)
        mesos__v1__task_info__free_unpacked(sub.unacknowledged_tasks[i], NULL);
    free(sub.unacknowledged_updates);
    free(sub.unacknowledged_tasks);
    free(calls);
    return body;
}

/* --- the stream: framing and decoding (inside libcurl's write callback) -------------- */

static int push_event(stream *s, Mesos__V1__Executor__Event *ev) {
    if (s->nevs == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 8;
        Mesos__V1__Executor__Event **n = realloc(s->evs, cap * sizeof(*n));
        if (!n) return MCM_ERR;
        s->evs = n;
        s->cap = cap;
    }
    s->evs[s->nevs++] = ev;
    return MCM_OK;
}

static int check_answer(stream *s) {
    char *ctype = NULL;
    curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &s->status);
    if (s->status != 200) return MCM_OK;           /* body collected as the reason */
    curl_easy_getinfo(s->h, CURLINFO_CONTENT_TYPE, &ctype);
    if (!ctype || !mesos_http_is_protobuf(ctype)) {
        snprintf(s->fail, sizeof(s->fail), "SUBSCRIBE answered 200 with Content-Type '%s', not " PB_TYPE,
                 ctype ? ctype : "");
        return MCM_ERR;
    }
    return MCM_OK;
}

static size_t on_stream_data(char *p, size_t sz, size_t n, void *ud) {
    stream *s = ud;
    size_t len = sz * n;
    const uint8_t *rec;
    size_t rlen;
    int r;
    if (!s->status && check_answer(s) != MCM_OK) return 0;
    if (s->status != 200) {
        size_t take = len < sizeof(s->body) - 1 - s->body_len ? len : sizeof(s->body) - 1 - s->body_len;
        memcpy(s->body + s->body_len, p, take);
        s->body[s->body_len += take] = '\0';
        return len;
    }
    if (rio_feed(s->rio, p, len) != MCM_OK) goto framing;
    while ((r = rio_next(s->rio, &rec, &rlen)) == 1) {
        Mesos__V1__Executor__Event *ev = mesos__v1__executor__event__unpack(NULL, rlen, rec);
        if (!ev) {
            snprintf(s->fail, sizeof(s->fail), "undecodable Event (%zu bytes) on the stream", rlen);
            return 0;
        }
        if (push_event(s, ev) != MCM_OK) {
            mesos__v1__executor__event__free_unpacked(ev, NULL);
            snprintf(s->fail, sizeof(s->fail), "out of memory");
            return 0;
        }
    }
    if (r == 1 || r == 0) return len;
framing:
    snprintf(s->fail, sizeof(s->fail), "bad RecordIO framing from the agent: %s", rio_errstr(s->rio));
    return 0;
}

/* --- the stream: dispatch (stream thread, outside libcurl) ------------------------- */

/* SUBSCRIBED: remember the agent, send updates made while SUBSCRIBE was in
 * flight, then let the owner's calls go straight out (invariant 2). */
static void on_subscribed(mesos_exec *e, const Mesos__V1__Executor__Event__Subscribed *sub) {
    char err[512];
    pthread_mutex_lock(&e->call_mu);
    pthread_mutex_lock(&e->mu);
    if (sub && sub->agent_info && sub->agent_info->id && sub->agent_info->id->value) {
        free(e->agent_id);
        e->agent_id = strdup(sub->agent_info->id->value);
    }
    size_t n = 0;
    uint8_t **bodies = calloc(e->nups + 1, sizeof(*bodies));
    size_t *lens = calloc(e->nups + 1, sizeof(*lens));
    for (size_t i = 0; bodies && lens && i < e->nups; i++) {
        if (e->ups[i].in_subscribe || !(bodies[n] = dup_bytes(e->ups[i].call, e->ups[i].len))) continue;
        lens[n++] = e->ups[i].len;
    }
    atomic_store(&e->subscribed, 1);
    pthread_mutex_unlock(&e->mu);
    for (size_t i = 0; i < n; i++) {
        if (post(e, bodies[i], lens[i], err, sizeof(err)) != MCM_OK)
            log_warn("resending an update made during SUBSCRIBE: %s (kept for the next SUBSCRIBE)", err);
        free(bodies[i]);
    }
    pthread_mutex_unlock(&e->call_mu);
    free(bodies);
    free(lens);
}

static void dispatch(stream *s) {
    mesos_exec *e = s->e;
    for (size_t i = 0; i < s->nevs; i++) {
        Mesos__V1__Executor__Event *ev = s->evs[i];
        int type = ev->has_type ? (int)ev->type : 0;
        log_debug("event %s", mesos_exec_event_name(type));
        if (type == MESOS__V1__EXECUTOR__EVENT__TYPE__SUBSCRIBED) {
            on_subscribed(e, ev->subscribed);
            s->got_subscribed = 1;
        } else if (type == MESOS__V1__EXECUTOR__EVENT__TYPE__LAUNCH && ev->launch) {
            pthread_mutex_lock(&e->mu);
            keep_task(e, ev->launch->task);
            pthread_mutex_unlock(&e->mu);
        } else if (type == MESOS__V1__EXECUTOR__EVENT__TYPE__ACKNOWLEDGED) {
            pthread_mutex_lock(&e->mu);
            forget(e, ev->acknowledged);
            pthread_mutex_unlock(&e->mu);
        }
        e->cb.on_event(e->cb.ctx, ev);
    }
    s->nevs = 0;
}

/* --- the stream: one SUBSCRIBE attempt ------------------------------------------------ */

static void describe_end(stream *s, CURLcode rc, char *why, size_t len) {
    if (s->fail[0]) snprintf(why, len, "%s", s->fail);
    else if (s->status && s->status != 200) {
        char text[BODY_MAX];
        mesos_http_body_text(s->body, s->body_len, text, sizeof(text));
        snprintf(why, len, "SUBSCRIBE answered HTTP %ld%s%s", s->status, text[0] ? ": " : "", text);
    } else if (rc != CURLE_OK) {
        snprintf(why, len, "agent %s: %s", s->e->cfg.agent_endpoint, mesos_http_curl_text(rc, NULL));
    } else {
        snprintf(why, len, "the agent closed the event stream");
    }
}

static int stream_setup(stream *s, const uint8_t *body, size_t len) {
    mesos_exec *e = s->e;
    if (!(s->rio = rio_reader_new(e->cfg.max_record)) || !(s->h = curl_easy_init())) return MCM_ERR;
    set_common(e, s->h);
    curl_easy_setopt(s->h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(s->h, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(s->h, CURLOPT_WRITEFUNCTION, on_stream_data);
    curl_easy_setopt(s->h, CURLOPT_WRITEDATA, s);
    return curl_multi_add_handle(e->multi, s->h) == CURLM_OK ? MCM_OK : MCM_ERR;
}

/* Runs the transfer until it ends, the stop flag, or no SUBSCRIBED in time. */
static CURLcode stream_pump(stream *s, char *why, size_t len) {
    mesos_exec *e = s->e;
    int64_t deadline = util_now_ms() + e->cfg.call_timeout_ms;
    int running = 1;
    while (!atomic_load(&e->stop)) {
        curl_multi_perform(e->multi, &running);
        dispatch(s);
        if (!running) break;
        if (!s->got_subscribed && util_now_ms() > deadline) {
            snprintf(why, len, "no SUBSCRIBED from the agent within %lldms", (long long)e->cfg.call_timeout_ms);
            return CURLE_OK;
        }
        curl_multi_poll(e->multi, NULL, 0, 500, NULL);
    }
    int left;
    CURLMsg *m;
    while ((m = curl_multi_info_read(e->multi, &left)))
        if (m->msg == CURLMSG_DONE) return m->data.result;
    return CURLE_OK;
}

/* One SUBSCRIBE; returns 1 if SUBSCRIBED arrived, with the reason it ended in why.
 * loud: log the attempt at info (else verbose: retries in a row). */
static int run_stream(mesos_exec *e, char *why, size_t len, int loud) {
    stream s = {.e = e};
    size_t blen, nups, ntasks;
    why[0] = '\0';
    uint8_t *body = build_subscribe(e, &blen, &nups, &ntasks);
    if (!body || stream_setup(&s, body, blen) != MCM_OK) {
        snprintf(why, len, "out of memory building SUBSCRIBE");
    } else {
        LOG_AT(loud ? LOG_INFO : LOG_VERBOSE, "SUBSCRIBE to %s (%zu unacknowledged updates, %zu "
               "unacknowledged tasks)", e->cfg.agent_url, nups, ntasks);
        CURLcode rc = stream_pump(&s, why, len);
        if (!s.status) curl_easy_getinfo(s.h, CURLINFO_RESPONSE_CODE, &s.status);
        if (!why[0]) describe_end(&s, rc, why, len);
    }
    atomic_store(&e->subscribed, 0);
    if (s.h) {
        curl_multi_remove_handle(e->multi, s.h);
        curl_easy_cleanup(s.h);
    }
    for (size_t i = 0; i < s.nevs; i++) mesos__v1__executor__event__free_unpacked(s.evs[i], NULL);
    free(s.evs);
    rio_reader_free(s.rio);
    free(body);
    return s.got_subscribed;
}

/* --- the stream thread: retry policy --------------------------------------------------- */

static void nap(mesos_exec *e, int64_t ms) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&e->mu);
    while (!atomic_load(&e->stop) && pthread_cond_timedwait(&e->cv, &e->mu, &ts) == 0) {
    }
    pthread_mutex_unlock(&e->mu);
}

static int64_t next_backoff(int64_t prev, int64_t max) {
    int64_t b = prev ? 2 * prev : 100;
    if (b > max) b = max;
    return b < 10 ? 10 : b;
}

static void give_up(mesos_exec *e, const char *why) {
    atomic_store(&e->gave_up, 1);
    log_error("giving up on the agent: %s", why);
    e->cb.on_disconnected(e->cb.ctx, why, 1);
}

/* Backoff before the next SUBSCRIBE: jittered, capped, never past the recovery deadline. */
static int64_t retry_wait(mesos_exec *e, int64_t *backoff, int64_t lost_since, int64_t now) {
    *backoff = next_backoff(*backoff, e->cfg.backoff_max_ms);
    int64_t wait = *backoff / 2 + (int64_t)(util_rand01() * (double)(*backoff - *backoff / 2));
    int64_t left = lost_since + e->cfg.recovery_timeout_ms - now;
    return wait < left ? wait : left;
}

static void *stream_main(void *arg) {
    mesos_exec *e = arg;
    int64_t lost_since = util_now_ms(), backoff = 0;
    int failures = 0;            /* in a row; the first is a warning, the rest verbose */
    char why[512], msg[1024], dur[32];
    parse_format_duration(e->cfg.recovery_timeout_ms, dur, sizeof(dur));
    while (!atomic_load(&e->stop)) {
        atomic_fetch_add(&e->attempts, 1);
        int had = run_stream(e, why, sizeof(why), failures == 0);
        if (atomic_load(&e->stop)) break;
        int64_t now = util_now_ms();
        if (had) {
            lost_since = now;
            backoff = 0;
            failures = 0;
        }
        if (!e->cfg.checkpoint) {
            snprintf(msg, sizeof(msg), "%s (no checkpointing: an executor without it exits)", why);
            give_up(e, msg);
            break;
        }
        if (now - lost_since >= e->cfg.recovery_timeout_ms) {
            snprintf(msg, sizeof(msg), "%s (not subscribed again within MESOS_RECOVERY_TIMEOUT %s)", why, dur);
            give_up(e, msg);
            break;
        }
        if (had) e->cb.on_disconnected(e->cb.ctx, why, 0);
        int64_t wait = retry_wait(e, &backoff, lost_since, now);
        LOG_AT(failures++ == 0 ? LOG_WARNING : LOG_VERBOSE, "%s; subscribing again in %lldms (for up to %s)", why,
               (long long)wait, dur);
        nap(e, wait);
    }
    return NULL;
}

int mesos_exec_start(mesos_exec *e) {
    if (e->started || atomic_load(&e->stop)) return MCM_ERR;
    if (pthread_create(&e->thread, NULL, stream_main, e) != 0) return MCM_ERR;
    e->started = 1;
    return MCM_OK;
}

void mesos_exec_stop(mesos_exec *e) {
    if (!e) return;
    atomic_store(&e->stop, 1);
    if (e->multi) curl_multi_wakeup(e->multi);
    pthread_mutex_lock(&e->mu);
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
    if (e->started) {
        pthread_join(e->thread, NULL);
        e->started = 0;
    }
    atomic_store(&e->subscribed, 0);
}
