/* peer.c -- canned Mesos master endpoint for the client tests (see peer.h).
 *
 * libmicrohttpd in thread-per-connection mode, so a stream's content reader
 * may block (it polls the stop/drop flags every 5 ms) without holding up
 * other connections, e.g. the client's keep-alive call connection.
 * Invariant: every answer a SUBSCRIBE gets is decided under `mu` when the
 * request completes; the stream reader only reads its own copy. */
#include "peer.h"

#include "recordio.h"
#include "util.h"
#include "mesos/v1/scheduler/scheduler.pb-c.h"

#include <arpa/inet.h>
#include <check.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PEER_QUEUE 16
#define PEER_REQS 256

struct peer {
    struct MHD_Daemon *d;
    int port;
    char url[64];
    pthread_mutex_t mu;
    /* under mu: */
    peer_answer queue[PEER_QUEUE];
    int qhead, qlen;
    peer_answer def;
    int call_status;
    char call_body[256];
    peer_req reqs[PEER_REQS];
    int nreqs;
    int subscribes;
    int drop_gen;
    int stopping;
};

typedef struct req_state {
    uint8_t *body;
    size_t len;
} req_state;

typedef struct stream_state {
    peer *p;
    uint8_t *pending;
    size_t plen, poff;
    int heartbeat_ms;
    int64_t next_hb;
    int drop_gen;
} stream_state;

size_t peer_record(uint8_t *buf, size_t cap, const void *ev, size_t n) {
    char hdr[24];
    int h = rio_header(n, hdr, sizeof(hdr));
    ck_assert(h > 0 && (size_t)h + n <= cap);
    memcpy(buf, hdr, (size_t)h);
    memcpy(buf + h, ev, n);
    return (size_t)h + n;
}

/* Appends a record with an Event of `type` to st->pending. */
static void append_event(stream_state *st, Mesos__V1__Scheduler__Event *ev) {
    size_t n = mesos__v1__scheduler__event__get_packed_size(ev);
    uint8_t *tmp = malloc(n + 1);
    mesos__v1__scheduler__event__pack(ev, tmp);
    st->pending = realloc(st->pending, st->plen + n + 24);
    st->plen += peer_record(st->pending + st->plen, n + 24, tmp, n);
    free(tmp);
}

static void append_simple(stream_state *st, Mesos__V1__Scheduler__Event__Type type) {
    Mesos__V1__Scheduler__Event ev = MESOS__V1__SCHEDULER__EVENT__INIT;
    ev.has_type = 1;
    ev.type = type;
    append_event(st, &ev);
}

static void append_subscribed(stream_state *st, const char *fwid, double hb) {
    Mesos__V1__FrameworkID id = MESOS__V1__FRAMEWORK_ID__INIT;
    id.value = (char *)fwid;
    Mesos__V1__Scheduler__Event__Subscribed sub = MESOS__V1__SCHEDULER__EVENT__SUBSCRIBED__INIT;
    sub.framework_id = &id;
    if (hb > 0) {
        sub.has_heartbeat_interval_seconds = 1;
        sub.heartbeat_interval_seconds = hb;
    }
    Mesos__V1__Scheduler__Event ev = MESOS__V1__SCHEDULER__EVENT__INIT;
    ev.has_type = 1;
    ev.type = MESOS__V1__SCHEDULER__EVENT__TYPE__SUBSCRIBED;
    ev.subscribed = &sub;
    append_event(st, &ev);
}

static void append_error(stream_state *st, const char *msg) {
    Mesos__V1__Scheduler__Event__Error e = MESOS__V1__SCHEDULER__EVENT__ERROR__INIT;
    e.message = (char *)msg;
    Mesos__V1__Scheduler__Event ev = MESOS__V1__SCHEDULER__EVENT__INIT;
    ev.has_type = 1;
    ev.type = MESOS__V1__SCHEDULER__EVENT__TYPE__ERROR;
    ev.error = &e;
    append_event(st, &ev);
}

static int peer_stopping(peer *p) {
    pthread_mutex_lock(&p->mu);
    int stop = p->stopping;
    pthread_mutex_unlock(&p->mu);
    return stop;
}

static int stream_cut(stream_state *st) {
    pthread_mutex_lock(&st->p->mu);
    int cut = st->p->stopping || st->p->drop_gen != st->drop_gen;
    pthread_mutex_unlock(&st->p->mu);
    return cut;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
    stream_state *st = cls;
    for (;;) {
        if (stream_cut(st)) return MHD_CONTENT_READER_END_WITH_ERROR;
        if (st->poff < st->plen) {
            size_t n = st->plen - st->poff < max ? st->plen - st->poff : max;
            memcpy(buf, st->pending + st->poff, n);
            st->poff += n;
            return (ssize_t)n;
        }
        if (st->heartbeat_ms > 0 && util_now_ms() >= st->next_hb) {
            free(st->pending);
            st->pending = NULL;
            st->plen = st->poff = 0;
            append_simple(st, MESOS__V1__SCHEDULER__EVENT__TYPE__HEARTBEAT);
            st->next_hb += st->heartbeat_ms;
            continue;
        }
        util_sleep_ms(5);
    }
}

static void stream_free(void *cls) {
    stream_state *st = cls;
    free(st->pending);
    free(st);
}

static void copy_hdr(struct MHD_Connection *c, const char *name, char *out, size_t len, int *present) {
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
    if (present) *present = v != NULL;
    snprintf(out, len, "%s", v ? v : "");
}

/* Records the request; returns the decoded Call (or NULL). Under mu. */
static Mesos__V1__Scheduler__Call *record(peer *p, struct MHD_Connection *c, req_state *rs) {
    Mesos__V1__Scheduler__Call *call = mesos__v1__scheduler__call__unpack(NULL, rs->len, rs->body);
    if (p->nreqs >= PEER_REQS) return call;
    peer_req *r = &p->reqs[p->nreqs++];
    memset(r, 0, sizeof(*r));
    copy_hdr(c, "Mesos-Stream-Id", r->stream_id, sizeof(r->stream_id), &r->has_stream_id);
    copy_hdr(c, "Authorization", r->auth, sizeof(r->auth), NULL);
    copy_hdr(c, "Content-Type", r->ctype, sizeof(r->ctype), NULL);
    copy_hdr(c, "Accept", r->accept, sizeof(r->accept), NULL);
    copy_hdr(c, "Expect", r->expect, sizeof(r->expect), &r->has_expect);
    r->call_type = call ? (call->has_type ? (int)call->type : 0) : -1;
    if (call && call->framework_id) snprintf(r->call_fwid, sizeof(r->call_fwid), "%s", call->framework_id->value);
    if (call && call->subscribe && call->subscribe->framework_info) {
        Mesos__V1__FrameworkInfo *fi = call->subscribe->framework_info;
        if (fi->id) snprintf(r->info_fwid, sizeof(r->info_fwid), "%s", fi->id->value);
        r->n_roles = (int)fi->n_roles;
        r->n_caps = (int)fi->n_capabilities;
        r->checkpoint = fi->has_checkpoint && fi->checkpoint;
    }
    return call;
}

static peer_answer next_answer(peer *p) {
    if (p->qlen == 0) return p->def;
    peer_answer a = p->queue[p->qhead];
    p->qhead = (p->qhead + 1) % PEER_QUEUE;
    p->qlen--;
    return a;
}

static enum MHD_Result queue_status(struct MHD_Connection *c, int status, const char *body,
                                    const char *location) {
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (location) MHD_add_response_header(r, "Location", location);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result answer_subscribe(peer *p, struct MHD_Connection *c, const Mesos__V1__Scheduler__Call *call,
                                        peer_answer a) {
    if (a.kind == PEER_STATUS) return queue_status(c, a.status, a.body ? a.body : "", NULL);
    if (a.kind == PEER_REDIRECT) return queue_status(c, 307, "", a.location);
    stream_state *st = calloc(1, sizeof(*st));
    st->p = p;
    st->drop_gen = p->drop_gen;
    char fwid[128] = "fw-1";
    if (call && call->subscribe && call->subscribe->framework_info && call->subscribe->framework_info->id)
        snprintf(fwid, sizeof(fwid), "%s", call->subscribe->framework_info->id->value);
    if (a.kind == PEER_RAW) {
        st->pending = malloc(a.raw_len + 1);
        memcpy(st->pending, a.raw, a.raw_len);
        st->plen = a.raw_len;
    } else {
        append_subscribed(st, fwid, a.hb_interval_s);
        if (a.kind == PEER_ERROR) append_error(st, a.body ? a.body : "error");
        st->heartbeat_ms = a.kind == PEER_STREAM ? a.heartbeat_ms : 0;
        st->next_hb = util_now_ms();
    }
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, st, stream_free);
    char sid[32];
    snprintf(sid, sizeof(sid), "stream-%d", p->subscribes);
    MHD_add_response_header(r, "Content-Type", a.ctype ? a.ctype : "application/x-protobuf");
    if (!a.no_stream_id) MHD_add_response_header(r, "Mesos-Stream-Id", sid);
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    peer *p = cls;
    req_state *rs = *con_cls;
    if (!rs) {
        *con_cls = calloc(1, sizeof(req_state));
        return MHD_YES;
    }
    if (*upload_size) {
        rs->body = realloc(rs->body, rs->len + *upload_size);
        memcpy(rs->body + rs->len, upload, *upload_size);
        rs->len += *upload_size;
        *upload_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&p->mu);
    Mesos__V1__Scheduler__Call *call = record(p, c, rs);
    enum MHD_Result ret;
    if (call && call->has_type && call->type == MESOS__V1__SCHEDULER__CALL__TYPE__SUBSCRIBE) {
        p->subscribes++;
        ret = answer_subscribe(p, c, call, next_answer(p));
    } else if (p->call_status == 0) {   /* never answer (until the peer stops, at most 5 s) */
        pthread_mutex_unlock(&p->mu);
        for (int i = 0; i < 500 && !peer_stopping(p); i++) util_sleep_ms(10);
        pthread_mutex_lock(&p->mu);
        ret = queue_status(c, 202, "", NULL);
    } else {
        ret = queue_status(c, p->call_status, p->call_body, NULL);
    }
    pthread_mutex_unlock(&p->mu);
    if (call) mesos__v1__scheduler__call__free_unpacked(call, NULL);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t) {
    req_state *rs = *con_cls;
    if (!rs) return;
    free(rs->body);
    free(rs);
    *con_cls = NULL;
}

peer *peer_start(void) {
    peer *p = calloc(1, sizeof(*p));
    pthread_mutex_init(&p->mu, NULL);
    p->call_status = 202;
    p->def = (peer_answer){.kind = PEER_STREAM, .hb_interval_s = 15, .heartbeat_ms = 100};
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    p->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL,
                            on_request, p, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, p, MHD_OPTION_END);
    ck_assert_msg(p->d != NULL, "MHD_start_daemon failed");
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(p->d, MHD_DAEMON_INFO_BIND_PORT);
    p->port = info->port;
    snprintf(p->url, sizeof(p->url), "http://127.0.0.1:%d", p->port);
    return p;
}

int peer_port(const peer *p) {
    return p->port;
}

const char *peer_url(const peer *p) {
    return p->url;
}

void peer_push(peer *p, const peer_answer *a) {
    pthread_mutex_lock(&p->mu);
    ck_assert(p->qlen < PEER_QUEUE);
    peer_answer *slot = &p->queue[(p->qhead + p->qlen++) % PEER_QUEUE];
    *slot = *a;   /* location/raw/body must outlive the peer's use: tests pass literals or statics */
    pthread_mutex_unlock(&p->mu);
}

void peer_set_default(peer *p, const peer_answer *a) {
    pthread_mutex_lock(&p->mu);
    p->def = *a;
    pthread_mutex_unlock(&p->mu);
}

void peer_set_call_status(peer *p, int status, const char *body) {
    pthread_mutex_lock(&p->mu);
    p->call_status = status;
    snprintf(p->call_body, sizeof(p->call_body), "%s", body ? body : "");
    pthread_mutex_unlock(&p->mu);
}

void peer_drop_streams(peer *p) {
    pthread_mutex_lock(&p->mu);
    p->drop_gen++;
    pthread_mutex_unlock(&p->mu);
}

int peer_subscribes(peer *p) {
    pthread_mutex_lock(&p->mu);
    int n = p->subscribes;
    pthread_mutex_unlock(&p->mu);
    return n;
}

int peer_requests(peer *p, peer_req *out, int max) {
    pthread_mutex_lock(&p->mu);
    int n = p->nreqs;
    for (int i = 0; i < n && i < max; i++) out[i] = p->reqs[i];
    pthread_mutex_unlock(&p->mu);
    return n;
}

int peer_count(peer *p, int call_type) {
    pthread_mutex_lock(&p->mu);
    int n = 0;
    for (int i = 0; i < p->nreqs; i++) n += p->reqs[i].call_type == call_type;
    pthread_mutex_unlock(&p->mu);
    return n;
}

void peer_free(peer *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    pthread_mutex_unlock(&p->mu);
    MHD_stop_daemon(p->d);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

int peer_blackhole(int *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(fd, 16) == 0);
    socklen_t sl = sizeof(sa);
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    *port = ntohs(sa.sin_port);
    return fd;
}
