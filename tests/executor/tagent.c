/* tagent.c -- the test agent's executor endpoint (see tagent.h).
 *
 * Shape: MHD with a thread per connection, so the stream's content reader
 * may block on a condition variable until the test queues an event or drops
 * the stream. One mutex guards everything shared with MHD's threads: the
 * received Calls, the live stream's outgoing buffer, the switches.
 * Invariant: `cur` is the only stream events go to; a replaced or dropped
 * stream ends with MHD_CONTENT_READER_END_WITH_ERROR (connection closed
 * without the final chunk, as when an agent dies). */
#include "tagent.h"

#include "mcm.h"

#include <arpa/inet.h>
#include <check.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PB "application/x-protobuf"

typedef struct tstream {
    tagent *a;
    uint8_t *buf;
    size_t len, cap, off;
    int dropped;
} tstream;

typedef struct rcall {
    int type, state;          /* state: the UPDATE's TaskState, else -1 */
    uint8_t *bytes;
    size_t len;
    int taken;
} rcall;

typedef struct body {
    uint8_t *data;
    size_t len;
} body;

struct tagent {
    struct MHD_Daemon *d;
    int port;
    char endpoint[32];
    char executor_id[256];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    tstream *cur;
    int closing;
    int auto_ack, killing_state, refuse, subscribe_delay_ms;
    char token[128];          /* "" = no authentication */
    rcall *calls;
    size_t ncalls;
    int violations;
    char first_violation[256];
};

/* --- helpers (under mu unless said) ------------------------------------------------ */

static void deadline_in(struct timespec *ts, int ms) {
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void violation(tagent *a, const char *what) {
    if (a->violations++ == 0) snprintf(a->first_violation, sizeof(a->first_violation), "%s", what);
}

static void stream_append(tstream *s, const uint8_t *p, size_t n) {
    if (s->len + n > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + n) cap *= 2;
        s->buf = realloc(s->buf, cap);
        ck_assert_ptr_nonnull(s->buf);
        s->cap = cap;
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
}

/* Frames one Event onto the live stream. */
static void push_locked(tagent *a, const Mesos__V1__Executor__Event *ev) {
    if (!a->cur || a->cur->dropped) return;
    size_t n = mesos__v1__executor__event__get_packed_size(ev);
    uint8_t *b = malloc(n + 1);
    char hdr[32];
    ck_assert_ptr_nonnull(b);
    mesos__v1__executor__event__pack(ev, b);
    int h = snprintf(hdr, sizeof(hdr), "%zu\n", n);
    stream_append(a->cur, (const uint8_t *)hdr, (size_t)h);
    stream_append(a->cur, b, n);
    free(b);
    pthread_cond_broadcast(&a->cv);
}

/* --- events ------------------------------------------------------------------------------ */

static void push_subscribed(tagent *a) {
    Mesos__V1__Executor__Event ev = MESOS__V1__EXECUTOR__EVENT__INIT;
    Mesos__V1__Executor__Event__Subscribed sub = MESOS__V1__EXECUTOR__EVENT__SUBSCRIBED__INIT;
    Mesos__V1__ExecutorInfo ei = MESOS__V1__EXECUTOR_INFO__INIT;
    Mesos__V1__ExecutorID eid = MESOS__V1__EXECUTOR_ID__INIT;
    Mesos__V1__FrameworkInfo fi = MESOS__V1__FRAMEWORK_INFO__INIT;
    Mesos__V1__FrameworkID fid = MESOS__V1__FRAMEWORK_ID__INIT;
    Mesos__V1__AgentInfo ai = MESOS__V1__AGENT_INFO__INIT;
    Mesos__V1__AgentID aid = MESOS__V1__AGENT_ID__INIT;
    Mesos__V1__FrameworkInfo__Capability cap = MESOS__V1__FRAMEWORK_INFO__CAPABILITY__INIT;
    Mesos__V1__FrameworkInfo__Capability *caps[] = {&cap};
    eid.value = a->executor_id;
    ei.executor_id = &eid;
    fid.value = TAGENT_FRAMEWORK_ID;
    fi.user = "nobody";
    fi.name = "mcm-test";
    fi.id = &fid;
    cap.has_type = 1;
    cap.type = MESOS__V1__FRAMEWORK_INFO__CAPABILITY__TYPE__TASK_KILLING_STATE;
    if (a->killing_state) {
        fi.n_capabilities = 1;
        fi.capabilities = caps;
    }
    aid.value = TAGENT_AGENT_ID;
    ai.hostname = "localhost";
    ai.id = &aid;
    sub.executor_info = &ei;
    sub.framework_info = &fi;
    sub.agent_info = &ai;
    ev.has_type = 1;
    ev.type = MESOS__V1__EXECUTOR__EVENT__TYPE__SUBSCRIBED;
    ev.subscribed = &sub;
    push_locked(a, &ev);
}

void tagent_send(tagent *a, const Mesos__V1__Executor__Event *ev) {
    pthread_mutex_lock(&a->mu);
    push_locked(a, ev);
    pthread_mutex_unlock(&a->mu);
}

void tagent_send_raw(tagent *a, const void *data, size_t len) {
    pthread_mutex_lock(&a->mu);
    if (a->cur && !a->cur->dropped) {
        stream_append(a->cur, data, len);
        pthread_cond_broadcast(&a->cv);
    }
    pthread_mutex_unlock(&a->mu);
}

void tagent_launch(tagent *a, const char *task_id, int port, double mem_mib) {
    Mesos__V1__Executor__Event ev = MESOS__V1__EXECUTOR__EVENT__INIT;
    Mesos__V1__Executor__Event__Launch l = MESOS__V1__EXECUTOR__EVENT__LAUNCH__INIT;
    Mesos__V1__TaskInfo t = MESOS__V1__TASK_INFO__INIT;
    Mesos__V1__TaskID tid = MESOS__V1__TASK_ID__INIT;
    Mesos__V1__AgentID aid = MESOS__V1__AGENT_ID__INIT;
    Mesos__V1__Resource cpus = MESOS__V1__RESOURCE__INIT, mem = MESOS__V1__RESOURCE__INIT,
                        ports = MESOS__V1__RESOURCE__INIT;
    Mesos__V1__Value__Scalar sc = MESOS__V1__VALUE__SCALAR__INIT, sm = MESOS__V1__VALUE__SCALAR__INIT;
    Mesos__V1__Value__Range r = MESOS__V1__VALUE__RANGE__INIT;
    Mesos__V1__Value__Range *rs[] = {&r};
    Mesos__V1__Value__Ranges rr = MESOS__V1__VALUE__RANGES__INIT;
    Mesos__V1__Resource *res[3];
    size_t n = 0;
    tid.value = (char *)task_id;
    aid.value = TAGENT_AGENT_ID;
    t.name = "memcached";
    t.task_id = &tid;
    t.agent_id = &aid;
    cpus.name = "cpus";
    cpus.type = MESOS__V1__VALUE__TYPE__SCALAR;
    sc.value = 0.1;
    cpus.scalar = &sc;
    res[n++] = &cpus;
    if (mem_mib > 0) {
        mem.name = "mem";
        mem.type = MESOS__V1__VALUE__TYPE__SCALAR;
        sm.value = mem_mib;
        mem.scalar = &sm;
        res[n++] = &mem;
    }
    if (port > 0) {
        ports.name = "ports";
        ports.type = MESOS__V1__VALUE__TYPE__RANGES;
        r.begin = r.end = (uint64_t)port;
        rr.n_range = 1;
        rr.range = rs;
        ports.ranges = &rr;
        res[n++] = &ports;
    }
    t.n_resources = n;
    t.resources = res;
    l.task = &t;
    ev.has_type = 1;
    ev.type = MESOS__V1__EXECUTOR__EVENT__TYPE__LAUNCH;
    ev.launch = &l;
    tagent_send(a, &ev);
}

void tagent_kill(tagent *a, const char *task_id, int64_t grace_ms) {
    Mesos__V1__Executor__Event ev = MESOS__V1__EXECUTOR__EVENT__INIT;
    Mesos__V1__Executor__Event__Kill k = MESOS__V1__EXECUTOR__EVENT__KILL__INIT;
    Mesos__V1__TaskID tid = MESOS__V1__TASK_ID__INIT;
    Mesos__V1__KillPolicy kp = MESOS__V1__KILL_POLICY__INIT;
    Mesos__V1__DurationInfo d = MESOS__V1__DURATION_INFO__INIT;
    tid.value = (char *)task_id;
    k.task_id = &tid;
    if (grace_ms >= 0) {
        d.nanoseconds = grace_ms * 1000000;
        kp.grace_period = &d;
        k.kill_policy = &kp;
    }
    ev.has_type = 1;
    ev.type = MESOS__V1__EXECUTOR__EVENT__TYPE__KILL;
    ev.kill = &k;
    tagent_send(a, &ev);
}

void tagent_shutdown(tagent *a) {
    Mesos__V1__Executor__Event ev = MESOS__V1__EXECUTOR__EVENT__INIT;
    ev.has_type = 1;
    ev.type = MESOS__V1__EXECUTOR__EVENT__TYPE__SHUTDOWN;
    tagent_send(a, &ev);
}

static void push_ack(tagent *a, const Mesos__V1__TaskStatus *st) {
    Mesos__V1__Executor__Event ev = MESOS__V1__EXECUTOR__EVENT__INIT;
    Mesos__V1__Executor__Event__Acknowledged ack = MESOS__V1__EXECUTOR__EVENT__ACKNOWLEDGED__INIT;
    ack.task_id = st->task_id;
    ack.uuid = st->uuid;
    ev.has_type = 1;
    ev.type = MESOS__V1__EXECUTOR__EVENT__TYPE__ACKNOWLEDGED;
    ev.acknowledged = &ack;
    push_locked(a, &ev);
}

void tagent_ack(tagent *a, const Mesos__V1__TaskStatus *st) {
    pthread_mutex_lock(&a->mu);
    push_ack(a, st);
    pthread_mutex_unlock(&a->mu);
}

/* --- the stream response -------------------------------------------------------------- */

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
    tstream *s = cls;
    tagent *a = s->a;
    struct timespec ts;
    pthread_mutex_lock(&a->mu);
    while (!s->dropped && !a->closing && s->off == s->len) {
        deadline_in(&ts, 100);
        pthread_cond_timedwait(&a->cv, &a->mu, &ts);
    }
    if (s->dropped || a->closing) {
        pthread_mutex_unlock(&a->mu);
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    size_t n = s->len - s->off < max ? s->len - s->off : max;
    memcpy(buf, s->buf + s->off, n);
    s->off += n;
    pthread_mutex_unlock(&a->mu);
    return (ssize_t)n;
}

static void stream_free(void *cls) {
    tstream *s = cls;
    tagent *a = s->a;
    pthread_mutex_lock(&a->mu);
    if (a->cur == s) a->cur = NULL;
    pthread_mutex_unlock(&a->mu);
    free(s->buf);
    free(s);
}

static enum MHD_Result answer(struct MHD_Connection *c, unsigned code, const char *text) {
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

/* A new subscription replaces the old one; SUBSCRIBED goes first. mu held. */
static tstream *open_stream(tagent *a) {
    if (a->cur) a->cur->dropped = 1;
    tstream *s = calloc(1, sizeof(*s));
    ck_assert_ptr_nonnull(s);
    s->a = a;
    a->cur = s;
    push_subscribed(a);
    return s;
}

static enum MHD_Result stream_answer(struct MHD_Connection *c, tstream *s) {
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, s, stream_free);
    MHD_add_response_header(r, "Content-Type", PB);
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

/* --- calls -------------------------------------------------------------------------------- */

static const char *update_problem(tagent *a, const Mesos__V1__Executor__Call *call) {
    const Mesos__V1__TaskStatus *st = call->update ? call->update->status : NULL;
    if (!st) return "UPDATE without update.status";
    if (!st->has_uuid || st->uuid.len != 16 || (st->uuid.data[6] >> 4) != 4) return "UPDATE uuid is not a v4 UUID";
    if (!st->has_source || st->source != MESOS__V1__TASK_STATUS__SOURCE__SOURCE_EXECUTOR)
        return "UPDATE source is not SOURCE_EXECUTOR";
    if (st->state == MESOS__V1__TASK_STATE__TASK_STAGING) return "UPDATE with TASK_STAGING";
    if (st->executor_id && strcmp(st->executor_id->value, call->executor_id->value))
        return "UPDATE status.executor_id differs from the call's";
    if (!st->has_timestamp) return "UPDATE without timestamp";
    return NULL;
}

static void record(tagent *a, const Mesos__V1__Executor__Call *call, const uint8_t *b, size_t len) {
    a->calls = realloc(a->calls, (a->ncalls + 1) * sizeof(*a->calls));
    ck_assert_ptr_nonnull(a->calls);
    rcall *r = &a->calls[a->ncalls++];
    r->type = call->has_type ? (int)call->type : 0;
    r->state = call->update && call->update->status ? (int)call->update->status->state : -1;
    r->bytes = malloc(len + 1);
    ck_assert_ptr_nonnull(r->bytes);
    memcpy(r->bytes, b, len);
    r->len = len;
    r->taken = 0;
    pthread_cond_broadcast(&a->cv);
}

/* A decoded Call: checks it the way an agent does; the HTTP status. mu held. */
static unsigned check_call(tagent *a, const Mesos__V1__Executor__Call *call, const char **why) {
    int type = call->has_type ? (int)call->type : 0;
    if (strcmp(call->executor_id->value, a->executor_id) || strcmp(call->framework_id->value, TAGENT_FRAMEWORK_ID))
        return *why = "executor or framework ID not the agent's", 400;
    if (type == MESOS__V1__EXECUTOR__CALL__TYPE__SUBSCRIBE && a->refuse && call->subscribe)
        return (unsigned)a->refuse;                 /* e.g. 503 while "recovering" */
    if (type == MESOS__V1__EXECUTOR__CALL__TYPE__SUBSCRIBE)
        return call->subscribe ? 200 : (*why = "SUBSCRIBE without subscribe", 400);
    if (!a->cur || a->cur->dropped) return 403;     /* legal: not subscribed (yet) */
    if (type == MESOS__V1__EXECUTOR__CALL__TYPE__MESSAGE)
        return call->message ? 202 : (*why = "MESSAGE without message", 400);
    if (type != MESOS__V1__EXECUTOR__CALL__TYPE__UPDATE) return *why = "unexpected Call type", 400;
    if ((*why = update_problem(a, call))) return 400;
    return 202;
}

/* Records accepted Calls (200/202) and acknowledges UPDATEs if asked to. */
static unsigned handle_call(tagent *a, const Mesos__V1__Executor__Call *call, const body *b, const char **why,
                            tstream **stream) {
    unsigned code = check_call(a, call, why);
    if (code != 200 && code != 202) return code;
    record(a, call, b->data, b->len);
    if (code == 200) *stream = open_stream(a);     /* with the record: an ACK right after finds it */
    if (call->has_type && call->type == MESOS__V1__EXECUTOR__CALL__TYPE__UPDATE && a->auto_ack)
        push_ack(a, call->update->status);
    /* A real agent handles a SUBSCRIBE's unacknowledged updates as updates
     * (slave.cpp, Slave::subscribe) and so acknowledges them too: without
     * this an update sent while the agent was away is never acknowledged. */
    for (size_t i = 0; code == 200 && a->auto_ack && i < call->subscribe->n_unacknowledged_updates; i++)
        if (call->subscribe->unacknowledged_updates[i]->status)
            push_ack(a, call->subscribe->unacknowledged_updates[i]->status);
    return code;
}

static enum MHD_Result on_call(tagent *a, struct MHD_Connection *c, const body *b) {
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    const char *acc = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept");
    const char *exp = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Expect");
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    char want[160];
    const char *why = NULL;
    unsigned code;
    Mesos__V1__Executor__Call *call = NULL;
    tstream *stream = NULL;
    pthread_mutex_lock(&a->mu);
    snprintf(want, sizeof(want), "Bearer %s", a->token);
    if (a->token[0] && (!auth || strcmp(auth, want))) code = 401;
    else if (!ct || strcmp(ct, PB)) code = 415, why = "Content-Type is not application/x-protobuf";
    else if (!acc || strcmp(acc, PB)) code = 406, why = "Accept is not application/x-protobuf";
    else if (exp && *exp) code = 417, why = "Expect header sent";
    else if (!(call = mesos__v1__executor__call__unpack(NULL, b->len, b->data))) code = 400, why = "undecodable Call";
    else code = handle_call(a, call, b, &why, &stream);
    if (why) violation(a, why);
    int delay = stream ? a->subscribe_delay_ms : 0;
    pthread_mutex_unlock(&a->mu);
    if (delay > 0) {
        struct timespec ts = {delay / 1000, (long)(delay % 1000) * 1000000L};
        nanosleep(&ts, NULL);                      /* a slow agent: SUBSCRIBE in flight */
    }
    if (call) mesos__v1__executor__call__free_unpacked(call, NULL);
    if (stream) return stream_answer(c, stream);
    return answer(c, code, why ? why : "");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    tagent *a = cls;
    body *b = *con_cls;
    if (!b) {
        *con_cls = calloc(1, sizeof(body));
        return *con_cls ? MHD_YES : MHD_NO;
    }
    if (*upload_size) {
        b->data = realloc(b->data, b->len + *upload_size);
        ck_assert_ptr_nonnull(b->data);
        memcpy(b->data + b->len, upload, *upload_size);
        b->len += *upload_size;
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/api/v1/executor")) return answer(c, 404, "");
    if (strcmp(method, "POST")) return answer(c, 405, "");
    return on_call(a, c, b);
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t) {
    body *b = *con_cls;
    if (b) {
        free(b->data);
        free(b);
    }
    *con_cls = NULL;
}

/* --- lifecycle ------------------------------------------------------------------------------ */

static void listen_on(tagent *a) {
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)a->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a->closing = 0;
    a->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD,
                            0, NULL, NULL, on_request, a, MHD_OPTION_SOCK_ADDR, &sa,
                            MHD_OPTION_NOTIFY_COMPLETED, on_done, a, MHD_OPTION_END);
    ck_assert_msg(a->d != NULL, "tagent: cannot listen on 127.0.0.1:%d", a->port);
    a->port = MHD_get_daemon_info(a->d, MHD_DAEMON_INFO_BIND_PORT)->port;
    snprintf(a->endpoint, sizeof(a->endpoint), "127.0.0.1:%d", a->port);
}

tagent *tagent_start(int port, const char *executor_id) {
    tagent *a = calloc(1, sizeof(*a));
    ck_assert_ptr_nonnull(a);
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    a->port = port;
    a->auto_ack = 1;
    snprintf(a->executor_id, sizeof(a->executor_id), "%s", executor_id);
    listen_on(a);
    return a;
}

int tagent_port(const tagent *a) { return a->port; }
const char *tagent_endpoint(const tagent *a) { return a->endpoint; }

void tagent_stop(tagent *a) {
    if (!a->d) return;
    pthread_mutex_lock(&a->mu);
    a->closing = 1;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    MHD_stop_daemon(a->d);
    a->d = NULL;
}

void tagent_restart(tagent *a) {
    if (!a->d) listen_on(a);
}

void tagent_free(tagent *a) {
    if (!a) return;
    tagent_stop(a);
    for (size_t i = 0; i < a->ncalls; i++) free(a->calls[i].bytes);
    free(a->calls);
    free(a);
}

#define SWITCH(fn, field) \
    void fn(tagent *a, int v) { pthread_mutex_lock(&a->mu); a->field = v; pthread_mutex_unlock(&a->mu); }
SWITCH(tagent_set_auto_ack, auto_ack)
SWITCH(tagent_set_killing_state, killing_state)
SWITCH(tagent_set_refuse, refuse)
SWITCH(tagent_set_subscribe_delay, subscribe_delay_ms)

void tagent_set_token(tagent *a, const char *token) {
    pthread_mutex_lock(&a->mu);
    snprintf(a->token, sizeof(a->token), "%s", token ? token : "");
    pthread_mutex_unlock(&a->mu);
}

void tagent_drop_stream(tagent *a) {
    pthread_mutex_lock(&a->mu);
    if (a->cur) a->cur->dropped = 1;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
}

int tagent_streaming(tagent *a) {
    pthread_mutex_lock(&a->mu);
    int on = a->cur && !a->cur->dropped;
    pthread_mutex_unlock(&a->mu);
    return on;
}

/* --- reading what arrived ------------------------------------------------------------------ */

static Mesos__V1__Executor__Call *wait_for(tagent *a, int type, int state, int timeout_ms) {
    struct timespec ts;
    deadline_in(&ts, timeout_ms);
    Mesos__V1__Executor__Call *out = NULL;
    pthread_mutex_lock(&a->mu);
    for (;;) {
        for (size_t i = 0; i < a->ncalls && !out; i++) {
            rcall *r = &a->calls[i];
            if (r->taken || r->type != type || (state >= 0 && r->state != state)) continue;
            r->taken = 1;
            out = mesos__v1__executor__call__unpack(NULL, r->len, r->bytes);
        }
        if (out || pthread_cond_timedwait(&a->cv, &a->mu, &ts) != 0) break;
    }
    pthread_mutex_unlock(&a->mu);
    return out;
}

Mesos__V1__Executor__Call *tagent_wait_call(tagent *a, int type, int timeout_ms) {
    return wait_for(a, type, -1, timeout_ms);
}

Mesos__V1__Executor__Call *tagent_wait_update(tagent *a, int state, int timeout_ms) {
    return wait_for(a, MESOS__V1__EXECUTOR__CALL__TYPE__UPDATE, state, timeout_ms);
}

int tagent_count(tagent *a, int type) {
    int n = 0;
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < a->ncalls; i++) n += a->calls[i].type == type;
    pthread_mutex_unlock(&a->mu);
    return n;
}

int tagent_violations(tagent *a, char *buf, size_t len) {
    pthread_mutex_lock(&a->mu);
    int n = a->violations;
    snprintf(buf, len, "%s", a->first_violation);
    pthread_mutex_unlock(&a->mu);
    return n;
}
