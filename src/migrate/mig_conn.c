/* mig_conn.c -- one pipelining meta-protocol connection (see mig_conn.h).
 *
 * Shape: a non-blocking socket driven by poll(2) with a per-wait timeout, an
 * output buffer of queued requests and an input buffer of unparsed replies.
 * flush() polls for both directions and reads whatever arrives while it
 * writes, because memcached stops reading a connection whose replies it
 * cannot send: a pipeline of large mg replies would otherwise deadlock.
 * The input buffer grows to hold the largest single reply (bounded by
 * max_value) and is compacted before it grows.
 * Threads: the owning thread. Invariant: once `errstr` is set the socket is
 * never used again; rpos <= rlen <= rcap; wpos <= wlen <= wcap. */
#include "mig_conn.h"
#include "mcm.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MIG_READ_CHUNK (64 * 1024)
#define MIG_LINE_OVERHEAD 64          /* "ms " + " <len> " + " b" + "\r\n" */

struct mig_conn {
    int fd;
    int timeout_ms;
    size_t max_value;
    char addr[MIG_ADDR_MAX];
    char errstr[256];
    char *wbuf; size_t wlen, wpos, wcap;
    char *rbuf; size_t rlen, rpos, rcap;
};

static int fail(mig_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(mig_conn *c, const char *fmt, ...) {
    if (c->errstr[0]) return MCM_ERR;
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(c->errstr, sizeof(c->errstr), "%s: ", c->addr);
    vsnprintf(c->errstr + n, sizeof(c->errstr) - (size_t)n, fmt, ap);
    va_end(ap);
    return MCM_ERR;
}

int mig_addr_split(const char *addr, char *host, size_t hostlen, int *port) {
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr) return MCM_ERR;
    const char *h = addr, *he = colon;
    if (*h == '[') {
        if (he[-1] != ']') return MCM_ERR;
        h++, he--;
    }
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || p < 1 || p > 65535) return MCM_ERR;
    if (he <= h || (size_t)(he - h) >= hostlen) return MCM_ERR;
    memcpy(host, h, (size_t)(he - h));
    host[he - h] = '\0';
    *port = (int)p;
    return MCM_OK;
}

/* Waits for events on the socket; 1 when ready, MCM_ERR on timeout/error. */
static int wait_fd(mig_conn *c, short events, short *revents) {
    struct pollfd p = {.fd = c->fd, .events = events};
    int r;
    do r = poll(&p, 1, c->timeout_ms);
    while (r < 0 && errno == EINTR);
    if (r < 0) return fail(c, "poll: %s", strerror(errno));
    if (r == 0) return fail(c, "no answer within %d ms", c->timeout_ms);
    *revents = p.revents;
    return 1;
}

static int connect_addr(mig_conn *c, const struct addrinfo *ai) {
    c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (c->fd < 0) return fail(c, "socket: %s", strerror(errno));
    if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS)
        return fail(c, "connect: %s", strerror(errno));
    short rev;
    if (wait_fd(c, POLLOUT, &rev) < 0) return MCM_ERR;
    int soerr = 0;
    socklen_t sl = sizeof(soerr);
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
    if (soerr) return fail(c, "connect: %s", strerror(soerr));
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return MCM_OK;
}

mig_conn *mig_conn_open(const char *addr, int timeout_ms, char *err, size_t errlen) {
    char host[MIG_ADDR_MAX], port[16];
    int p;
    if (mig_addr_split(addr, host, sizeof(host), &p) != MCM_OK) {
        snprintf(err, errlen, "'%s' is not host:port", addr);
        return NULL;
    }
    mig_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->fd = -1;
    c->timeout_ms = timeout_ms;
    c->max_value = MIG_VALUE_MAX_DEFAULT;
    snprintf(c->addr, sizeof(c->addr), "%s", addr);
    snprintf(port, sizeof(port), "%d", p);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    int gai = getaddrinfo(host, port, &hints, &ai);
    if (gai != 0) fail(c, "cannot resolve '%s': %s", host, gai_strerror(gai));
    else connect_addr(c, ai);
    if (ai) freeaddrinfo(ai);
    if (c->errstr[0]) {
        snprintf(err, errlen, "%s", c->errstr);
        mig_conn_free(c);
        return NULL;
    }
    return c;
}

void mig_conn_free(mig_conn *c) {
    if (!c) return;
    if (c->fd >= 0) close(c->fd);
    free(c->wbuf);
    free(c->rbuf);
    free(c);
}

const char *mig_conn_addr(const mig_conn *c) { return c->addr; }
const char *mig_conn_errstr(const mig_conn *c) { return c->errstr; }
void mig_conn_set_max_value(mig_conn *c, size_t max) { c->max_value = max; }

/* --- output --------------------------------------------------------------- */

static int wreserve(mig_conn *c, size_t n) {
    if (c->errstr[0]) return MCM_ERR;
    if (c->wpos == c->wlen) c->wpos = c->wlen = 0;
    if (c->wcap - c->wlen >= n) return MCM_OK;
    size_t cap = c->wcap ? c->wcap : 4096;
    while (cap - c->wlen < n) cap *= 2;
    char *nb = realloc(c->wbuf, cap);
    if (!nb) return fail(c, "out of memory");
    c->wbuf = nb;
    c->wcap = cap;
    return MCM_OK;
}

static void wput(mig_conn *c, const void *p, size_t n) {
    memcpy(c->wbuf + c->wlen, p, n);
    c->wlen += n;
}

/* "<cmd> <tok>[ <num>] <flags>[ b]\r\n" */
static int queue_line(mig_conn *c, const char *cmd, const mig_key *k, const size_t *num, const char *flags) {
    size_t fl = flags ? strlen(flags) : 0;
    if (wreserve(c, k->len + fl + MIG_LINE_OVERHEAD) != MCM_OK) return MCM_ERR;
    wput(c, cmd, 2);
    wput(c, " ", 1);
    wput(c, k->tok, k->len);
    if (num) {
        char n[32];
        int l = snprintf(n, sizeof(n), " %zu", *num);
        wput(c, n, (size_t)l);
    }
    if (fl) { wput(c, " ", 1); wput(c, flags, fl); }
    if (k->b64) wput(c, " b", 2);
    wput(c, "\r\n", 2);
    return MCM_OK;
}

int mig_conn_mg(mig_conn *c, const mig_key *k, const char *flags) { return queue_line(c, "mg", k, NULL, flags); }
int mig_conn_md(mig_conn *c, const mig_key *k, const char *flags) { return queue_line(c, "md", k, NULL, flags); }

int mig_conn_ms(mig_conn *c, const mig_key *k, const void *value, size_t len, const char *flags) {
    if (queue_line(c, "ms", k, &len, flags) != MCM_OK || wreserve(c, len + 2) != MCM_OK) return MCM_ERR;
    wput(c, value, len);
    wput(c, "\r\n", 2);
    return MCM_OK;
}

int mig_conn_raw(mig_conn *c, const char *line) {
    size_t n = strlen(line);
    if (wreserve(c, n + 2) != MCM_OK) return MCM_ERR;
    wput(c, line, n);
    wput(c, "\r\n", 2);
    return MCM_OK;
}

int mig_conn_mn(mig_conn *c) { return mig_conn_raw(c, "mn"); }

/* --- input ---------------------------------------------------------------- */

static int read_some(mig_conn *c) {
    if (c->rpos == c->rlen) c->rpos = c->rlen = 0;
    if (c->rcap - c->rlen < MIG_READ_CHUNK) {
        if (c->rpos > 0) {                      /* compact before growing */
            memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
            c->rlen -= c->rpos;
            c->rpos = 0;
        }
        if (c->rcap - c->rlen < MIG_READ_CHUNK) {
            size_t cap = c->rcap ? c->rcap * 2 : 2 * MIG_READ_CHUNK;
            if (cap > c->max_value + 2 * MIG_REPLY_LINE_MAX + 2 * MIG_READ_CHUNK && c->rcap)
                return fail(c, "reply larger than the %zu byte value limit", c->max_value);
            char *nb = realloc(c->rbuf, cap);
            if (!nb) return fail(c, "out of memory");
            c->rbuf = nb;
            c->rcap = cap;
        }
    }
    ssize_t r = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
    if (r > 0) { c->rlen += (size_t)r; return MCM_OK; }
    if (r == 0) return fail(c, "connection closed by the server");
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return MCM_OK;
    return fail(c, "recv: %s", strerror(errno));
}

int mig_conn_flush(mig_conn *c) {
    while (!c->errstr[0] && c->wpos < c->wlen) {
        short rev;
        if (wait_fd(c, POLLOUT | POLLIN, &rev) < 0) break;
        if (rev & POLLIN) read_some(c);
        else if (rev & (POLLERR | POLLHUP)) fail(c, "connection lost");
        if (c->errstr[0] || !(rev & POLLOUT)) continue;
        ssize_t w = send(c->fd, c->wbuf + c->wpos, c->wlen - c->wpos, MSG_NOSIGNAL);
        if (w > 0) c->wpos += (size_t)w;
        else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            fail(c, "send: %s", strerror(errno));
    }
    return c->errstr[0] ? MCM_ERR : MCM_OK;
}

static int read_more(mig_conn *c) {
    short rev;
    if (wait_fd(c, POLLIN, &rev) < 0) return MCM_ERR;
    return read_some(c);
}

int mig_conn_reply(mig_conn *c, mig_reply *r) {
    if (mig_conn_flush(c) != MCM_OK) return MCM_ERR;
    for (;;) {
        size_t used = 0;
        char why[160];
        int got = c->rbuf ? mig_proto_parse(c->rbuf + c->rpos, c->rlen - c->rpos, c->max_value, r, &used,
                                            why, sizeof(why)) : 0;
        if (got < 0) return fail(c, "protocol error: %s", why);
        if (got == 1) {
            c->rpos += used;
            return MCM_OK;
        }
        if (read_more(c) != MCM_OK) return MCM_ERR;
    }
}

int mig_conn_stream(mig_conn *c, mig_feed_fn feed, void *arg) {
    if (mig_conn_flush(c) != MCM_OK) return MCM_ERR;
    int done = 0;
    while (!done) {
        if (c->rpos < c->rlen) {
            long used = feed(arg, c->rbuf + c->rpos, c->rlen - c->rpos, &done);
            if (used < 0) return fail(c, "stream refused by its reader");
            c->rpos += (size_t)used;
            if (done) break;
        }
        if (read_more(c) != MCM_OK) return MCM_ERR;
    }
    return MCM_OK;
}

int mig_conn_drain(mig_conn *c, int wait_ms, mig_feed_fn feed, void *arg) {
    if (mig_conn_flush(c) != MCM_OK) return MCM_ERR;
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    int r;
    do r = poll(&p, 1, wait_ms < 0 ? 0 : wait_ms);
    while (r < 0 && errno == EINTR);
    if (r < 0) return fail(c, "poll: %s", strerror(errno));
    if (r > 0 && read_some(c) != MCM_OK) return MCM_ERR;
    int done = 0;
    if (c->rpos < c->rlen) {
        long used = feed(arg, c->rbuf + c->rpos, c->rlen - c->rpos, &done);
        if (used < 0) return fail(c, "stream refused by its reader");
        c->rpos += (size_t)used;
    }
    return MCM_OK;
}
