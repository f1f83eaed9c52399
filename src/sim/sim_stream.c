/* sim_stream.c -- RecordIO event streams as MHD callback responses (see sim_stream.h).
 *
 * Shape: a byte queue [off, len) under the stream's mutex. libmicrohttpd runs
 * event driven (sim_http.c), so the content reader never waits: it hands
 * over what is queued, or, with nothing to hand over, parks the stream
 * (sim_park.c: its socket watched for a hang-up) and suspends the connection
 * before returning 0 -- returning 0 without suspending would make MHD call it
 * again at once, forever. push (unless held), close and release of a hold
 * wake it: cancel the park and resume the connection; MHD then calls the
 * reader again on its event thread. A client that hangs up while the stream
 * is parked is seen by the park thread, which marks the stream dead and
 * resumes it; the reader then ends the connection. While data flows, MHD
 * itself notices a failed write.
 *
 *   reader: data & !held ------------------------------> bytes
 *           closed & !held ----------------------------> END_OF_STREAM
 *           dead | abort_conn | shutdown --------------> END_WITH_ERROR
 *           else: park + MHD_suspend_connection -------> 0 (suspended)
 *   suspended --push/close/hold(0): cancel won--> resume (wake)
 *             --hang-up / sim_park_wake_all: dead--> resume (on_park)
 *
 * Threads: push/close/hold/dead from simulator threads (under the global
 * mutex); reader and free callback on the connection's MHD event thread;
 * on_park on the park thread (or the stopping thread).
 * Invariants: (1) refs >= 1 while either the owner or MHD holds the stream;
 * (2) `suspended` is set only by the reader, under mu, with the park entry
 * added and MHD_suspend_connection called before mu is released; it is
 * cleared, and the connection resumed, exactly once -- by whoever removed the
 * park entry (wake after a successful cancel, or on_park); (3) while
 * suspended, MHD holds the response, so the stream, its connection and its
 * fd stay valid; (4) once `closed` or `dead` nothing more is queued; (5) a
 * held stream hands nothing over, not even its end, until released or hung
 * up. Lock order: the simulator's mutex, then a stream's mu, then the park
 * set's; MHD_resume_connection is called with no stream mutex held. */
#include "sim_stream.h"
#include "sim_park.h"

#define LOG_COMPONENT "sim"
#include "log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STREAM_BLOCK (64 * 1024)

struct sim_stream {
    pthread_mutex_t mu;
    int refs;
    uint8_t *buf;
    size_t off, len, cap;
    int closed, abort_conn, dead;
    int held;                       /* sim_stream_hold: queued bytes wait */
    int suspended;                  /* parked, connection suspended (invariant 2) */
    uint64_t park;                  /* the park entry while suspended */
    struct MHD_Connection *conn;    /* set by sim_stream_response; MHD's */
    int fd;                         /* the client's socket, watched while parked */
    char label[96];
};

static atomic_int shutting_down;

sim_stream *sim_stream_new(const char *label) {
    sim_stream *st = calloc(1, sizeof(*st));
    if (!st) abort();
    pthread_mutex_init(&st->mu, NULL);
    st->refs = 1;
    st->fd = -1;
    snprintf(st->label, sizeof(st->label), "%s", label ? label : "stream");
    return st;
}

void sim_stream_unref(sim_stream *st) {
    if (!st) return;
    pthread_mutex_lock(&st->mu);
    int last = --st->refs == 0;
    pthread_mutex_unlock(&st->mu);
    if (!last) return;
    pthread_mutex_destroy(&st->mu);
    free(st->buf);
    free(st);
}

/* Under st->mu: if the stream is parked and the park is cancelled here, the
 * connection to resume (after mu is released); else NULL. */
static struct MHD_Connection *wake(sim_stream *st) {
    if (!st->suspended || !sim_park_cancel(st->park)) return NULL;   /* lost: on_park resumes it */
    st->suspended = 0;
    st->park = 0;
    return st->conn;
}

static void resume(struct MHD_Connection *c) {
    if (c) MHD_resume_connection(c);
}

void sim_stream_push(sim_stream *st, const uint8_t *data, size_t len) {
    struct MHD_Connection *c = NULL;
    pthread_mutex_lock(&st->mu);
    if (st->closed || st->dead) goto out;
    if (st->off == st->len) st->off = st->len = 0;
    if (st->len + len > st->cap) {
        size_t cap = st->cap ? st->cap : 4096;
        while (cap < st->len + len) cap *= 2;
        uint8_t *g = realloc(st->buf, cap);
        if (!g) abort();
        st->buf = g;
        st->cap = cap;
    }
    memcpy(st->buf + st->len, data, len);
    st->len += len;
    if (!st->held) c = wake(st);
out:
    pthread_mutex_unlock(&st->mu);
    resume(c);
}

void sim_stream_close(sim_stream *st, int abort_conn) {
    if (!st) return;
    pthread_mutex_lock(&st->mu);
    if (!st->closed) {
        st->closed = 1;
        st->abort_conn = abort_conn;
    }
    struct MHD_Connection *c = abort_conn || !st->held ? wake(st) : NULL;
    pthread_mutex_unlock(&st->mu);
    resume(c);
}

void sim_stream_hold(sim_stream *st, int on) {
    if (!st) return;
    pthread_mutex_lock(&st->mu);
    st->held = on;
    struct MHD_Connection *c = on ? NULL : wake(st);
    pthread_mutex_unlock(&st->mu);
    resume(c);
}

int sim_stream_dead(sim_stream *st) {
    pthread_mutex_lock(&st->mu);
    int d = st->dead;
    pthread_mutex_unlock(&st->mu);
    return d;
}

size_t sim_stream_backlog(sim_stream *st) {
    pthread_mutex_lock(&st->mu);
    size_t n = st->len - st->off;
    pthread_mutex_unlock(&st->mu);
    return n;
}

void sim_stream_shutdown_all(void) {
    atomic_store(&shutting_down, 1);
    sim_park_wake_all();            /* every parked stream: dead, resumed */
}

/* Park thread (or the stopping thread): the client hung up, or we stop. The
 * entry was ours to take, so the connection is still suspended (invariant 2). */
static void on_park(void *arg, sim_park_why why) {
    sim_stream *st = arg;
    pthread_mutex_lock(&st->mu);
    if (why == SIM_PARK_HUP) log_info("%s: client hung up", st->label);
    st->dead = 1;
    st->suspended = 0;
    st->park = 0;
    struct MHD_Connection *c = st->conn;
    pthread_mutex_unlock(&st->mu);
    MHD_resume_connection(c);
}

/* Under st->mu: parks and suspends; MCM_ERR if the park set refuses (stopping). */
static int park(sim_stream *st) {
    st->park = sim_park_add(st->fd, -1, on_park, st);
    if (!st->park) return -1;
    st->suspended = 1;
    MHD_suspend_connection(st->conn);
    return 0;
}

/* Under st->mu: what the reader returns without waiting; 0: nothing yet. */
static ssize_t take(sim_stream *st, char *buf, size_t max) {
    if (atomic_load(&shutting_down) || st->dead || (st->closed && st->abort_conn))
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (st->held) return 0;
    if (st->len > st->off) {
        size_t n = st->len - st->off < max ? st->len - st->off : max;
        memcpy(buf, st->buf + st->off, n);
        st->off += n;
        return (ssize_t)n;
    }
    return st->closed ? MHD_CONTENT_READER_END_OF_STREAM : 0;
}

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max) {
    sim_stream *st = cls;
    pthread_mutex_lock(&st->mu);
    ssize_t rc = take(st, buf, max);
    if (rc == 0 && park(st) != 0) rc = MHD_CONTENT_READER_END_WITH_ERROR;
    if (rc == MHD_CONTENT_READER_END_WITH_ERROR || rc == MHD_CONTENT_READER_END_OF_STREAM) st->dead = 1;
    pthread_mutex_unlock(&st->mu);
    return rc;
}

static void reader_free(void *cls) {
    sim_stream *st = cls;
    pthread_mutex_lock(&st->mu);
    st->dead = 1;          /* MHD is done with it: the transfer ended one way or another */
    st->fd = -1;
    st->conn = NULL;
    pthread_mutex_unlock(&st->mu);
    sim_stream_unref(st);
}

struct MHD_Response *sim_stream_response(sim_stream *st, struct MHD_Connection *conn) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    pthread_mutex_lock(&st->mu);
    st->fd = ci ? ci->connect_fd : -1;
    st->conn = conn;
    st->refs++;
    pthread_mutex_unlock(&st->mu);
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, reader, st,
                                                               reader_free);
    if (!r) {
        sim_stream_unref(st);
        return NULL;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/x-protobuf");
    return r;
}
