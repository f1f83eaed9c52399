/* sim_stream.c -- RecordIO event streams as MHD callback responses (see sim_stream.h).
 *
 * Shape: a byte queue [off, len) under the stream's mutex plus a condition
 * variable. The content reader (MHD connection thread) copies what is queued,
 * or waits in 100 ms slices, polling the socket for a hang-up between slices
 * because a blocked reader is the only code running for that connection and
 * libmicrohttpd cannot notice a closed peer while we wait.
 * Threads: push/close/dead from simulator threads (under the global mutex);
 * reader and free callback on the MHD connection thread.
 * Invariants: refs >= 1 while either the owner or MHD holds the stream; once
 * `closed` or `dead` nothing more is queued; the reader never returns 0 bytes
 * (which would make MHD spin); a held stream hands nothing over, not even its
 * end, until released or hung up. */
#include "sim_stream.h"

#define LOG_COMPONENT "sim"
#include "log.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STREAM_BLOCK (64 * 1024)
#define STREAM_SLICE_MS 100

struct sim_stream {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int refs;
    uint8_t *buf;
    size_t off, len, cap;
    int closed, abort_conn, dead;
    int held;               /* sim_stream_hold: queued bytes wait */
    int fd;                 /* the client's socket, for hang-up polls */
    char label[96];
};

static atomic_int shutting_down;

sim_stream *sim_stream_new(const char *label) {
    sim_stream *st = calloc(1, sizeof(*st));
    if (!st) abort();
    pthread_mutex_init(&st->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&st->cond, &ca);
    pthread_condattr_destroy(&ca);
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
    pthread_cond_destroy(&st->cond);
    pthread_mutex_destroy(&st->mu);
    free(st->buf);
    free(st);
}

void sim_stream_push(sim_stream *st, const uint8_t *data, size_t len) {
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
    pthread_cond_broadcast(&st->cond);
out:
    pthread_mutex_unlock(&st->mu);
}

void sim_stream_close(sim_stream *st, int abort_conn) {
    if (!st) return;
    pthread_mutex_lock(&st->mu);
    if (!st->closed) {
        st->closed = 1;
        st->abort_conn = abort_conn;
    }
    pthread_cond_broadcast(&st->cond);
    pthread_mutex_unlock(&st->mu);
}

void sim_stream_hold(sim_stream *st, int on) {
    if (!st) return;
    pthread_mutex_lock(&st->mu);
    st->held = on;
    pthread_cond_broadcast(&st->cond);
    pthread_mutex_unlock(&st->mu);
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

void sim_stream_shutdown_all(void) { atomic_store(&shutting_down, 1); }

static int peer_gone(int fd) {
    if (fd < 0) return 0;
    struct pollfd p = {fd, POLLRDHUP, 0};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

static void wait_slice(sim_stream *st) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += STREAM_SLICE_MS * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&st->cond, &st->mu, &ts);
}

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max) {
    sim_stream *st = cls;
    ssize_t rc;
    pthread_mutex_lock(&st->mu);
    for (;;) {
        if (atomic_load(&shutting_down) || st->dead || (st->closed && st->abort_conn)) {
            rc = MHD_CONTENT_READER_END_WITH_ERROR;
            break;
        }
        if (st->len > st->off && !st->held) {
            size_t n = st->len - st->off < max ? st->len - st->off : max;
            memcpy(buf, st->buf + st->off, n);
            st->off += n;
            rc = (ssize_t)n;
            break;
        }
        if (st->closed && !st->held) {
            rc = MHD_CONTENT_READER_END_OF_STREAM;
            break;
        }
        wait_slice(st);
        if ((st->held || (st->len == st->off && !st->closed)) && peer_gone(st->fd)) {
            log_info("%s: client hung up", st->label);
            st->dead = 1;
        }
    }
    if (rc == MHD_CONTENT_READER_END_WITH_ERROR || rc == MHD_CONTENT_READER_END_OF_STREAM) st->dead = 1;
    pthread_mutex_unlock(&st->mu);
    return rc;
}

static void reader_free(void *cls) {
    sim_stream *st = cls;
    pthread_mutex_lock(&st->mu);
    st->dead = 1;          /* MHD is done with it: the transfer ended one way or another */
    st->fd = -1;
    pthread_mutex_unlock(&st->mu);
    sim_stream_unref(st);
}

struct MHD_Response *sim_stream_response(sim_stream *st, struct MHD_Connection *conn) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    pthread_mutex_lock(&st->mu);
    st->fd = ci ? ci->connect_fd : -1;
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
