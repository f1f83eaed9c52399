/* probe.c -- a non-blocking `version` probe of memcached (see
 * probe.h).
 *
 * Why this shape: a stopped or deadlocked memcached still has its listening
 * socket, so the kernel completes the TCP handshake and accepts the request;
 * only the reply never comes. A blocking request would stall the executor's
 * loop for the whole timeout, so the probe is a small state machine over one
 * O_NONBLOCK socket, advanced by poll(2) with a zero timeout:
 *
 *   IDLE --start--> CONNECTING --writable, SO_ERROR 0: send "version\r\n"--> READING
 *                        |                                                     |
 *                        +-- error / deadline: FAILED      "VERSION ..\r\n": OK-+-- other line,
 *                                                                                  EOF, error,
 *                                                                                  deadline: FAILED
 *   (OK and FAILED are returned by probe_poll once, then IDLE again)
 *
 * The request is 9 bytes on a fresh connection: it always fits the socket
 * buffer, so a short send is a failure, not something to resume.
 * Threads: the owner's only. Invariant: fd >= 0 exactly while busy. */
#include "probe.h"

#include "mcm.h"
#include "parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PROBE_REQUEST "version\r\n"
#define PROBE_ANSWER "VERSION "

typedef enum { P_IDLE, P_CONNECTING, P_READING } pstate;

struct probe {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    pstate st;
    int fd;
    int64_t started_ms, deadline_ms;
    char start_err[96];    /* a start that failed at once, told by the next poll */
    char buf[128];         /* the reply line so far */
    size_t n;
};

probe *probe_new(const char *host, int port, char *err, size_t errlen) {
    probe *p = calloc(1, sizeof(*p));
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)&p->addr;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&p->addr;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        p->addrlen = sizeof(*a4);
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        p->addrlen = sizeof(*a6);
    } else {
        snprintf(err, errlen, "probe address '%s' is not a numeric IP address", host);
        free(p);
        return NULL;
    }
    p->fd = -1;
    return p;
}

static void reset(probe *p) {
    if (p->fd >= 0) close(p->fd);
    p->fd = -1;
    p->st = P_IDLE;
    p->n = 0;
    p->start_err[0] = '\0';
}

void probe_free(probe *p) {
    if (!p) return;
    reset(p);
    free(p);
}

void probe_start(probe *p, int64_t now_ms, int64_t timeout_ms) {
    reset(p);
    p->started_ms = now_ms;
    p->deadline_ms = now_ms + timeout_ms;
    p->st = P_CONNECTING;
    p->fd = socket(p->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (p->fd < 0) {
        snprintf(p->start_err, sizeof(p->start_err), "socket: %s", strerror(errno));
        return;
    }
    if (connect(p->fd, (struct sockaddr *)&p->addr, p->addrlen) < 0 && errno != EINPROGRESS)
        snprintf(p->start_err, sizeof(p->start_err), "connect: %s", strerror(errno));
}

int probe_busy(const probe *p) { return p->st != P_IDLE; }

static int failed(probe *p, char *why, size_t len, const char *fmt, const char *arg)
    __attribute__((format(printf, 4, 0)));

static int failed(probe *p, char *why, size_t len, const char *fmt, const char *arg) {
    snprintf(why, len, fmt, arg);
    reset(p);
    return PROBE_FAILED;
}

/* CONNECTING and writable: the handshake ended; send the request. */
static int connected(probe *p, char *why, size_t len) {
    int soerr = 0;
    socklen_t sl = sizeof(soerr);
    if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0) soerr = errno;
    if (soerr) return failed(p, why, len, "connect: %s", strerror(soerr));
    ssize_t w = send(p->fd, PROBE_REQUEST, strlen(PROBE_REQUEST), MSG_NOSIGNAL);
    if (w != (ssize_t)strlen(PROBE_REQUEST)) return failed(p, why, len, "send: %s", w < 0 ? strerror(errno) : "short");
    p->st = P_READING;
    return PROBE_PENDING;
}

/* READING and readable: take what came; done at the end of the first line. */
static int readable(probe *p, char *why, size_t len) {
    ssize_t r = recv(p->fd, p->buf + p->n, sizeof(p->buf) - 1 - p->n, 0);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) return PROBE_PENDING;
    if (r < 0) return failed(p, why, len, "recv: %s", strerror(errno));
    if (r == 0) return failed(p, why, len, "%s", "memcached closed the connection without answering `version`");
    p->n += (size_t)r;
    p->buf[p->n] = '\0';
    char *eol = strstr(p->buf, "\r\n");
    if (!eol && p->n < sizeof(p->buf) - 1) return PROBE_PENDING;
    if (eol) *eol = '\0';
    if (strncmp(p->buf, PROBE_ANSWER, strlen(PROBE_ANSWER)))
        return failed(p, why, len, "unexpected answer to `version`: '%.60s'", p->buf);
    reset(p);
    return PROBE_OK;
}

/* One step as far as the socket allows now: connect done -> request sent ->
 * reply read. PENDING when it has to wait; OK or FAILED (why set) when over. */
static int advance(probe *p, char *why, size_t len) {
    struct pollfd pf = {.fd = p->fd, .events = POLLOUT};
    if (p->st == P_CONNECTING) {
        if (poll(&pf, 1, 0) <= 0) return PROBE_PENDING;
        int rc = connected(p, why, len);
        if (rc != PROBE_PENDING) return rc;
    }
    pf.events = POLLIN;             /* a fast memcached may have answered already */
    if (poll(&pf, 1, 0) <= 0) return PROBE_PENDING;
    return readable(p, why, len);
}

int probe_poll(probe *p, int64_t now_ms, char *why, size_t len) {
    if (p->st == P_IDLE) return PROBE_PENDING;
    if (p->start_err[0]) return failed(p, why, len, "%s", p->start_err);
    int rc = advance(p, why, len);
    if (rc != PROBE_PENDING || now_ms < p->deadline_ms) return rc;
    char dur[32];
    parse_format_duration(p->deadline_ms - p->started_ms, dur, sizeof(dur));
    if (p->st == P_CONNECTING) return failed(p, why, len, "no connection to memcached within %s", dur);
    return failed(p, why, len, "no answer to `version` within %s", dur);
}
