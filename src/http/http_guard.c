/* http_guard.c -- the connection model's guards: a deadline for request
 * headers, slots kept for health checks, a probe for clients that left, and
 * a URL unescaper that never cuts a path at %00.
 *
 * Why: one thread and one slot per connection (http_server.c) means any
 * client that holds a connection without finishing holds a slot. Three kinds
 * did so for as long as they liked: a slow-header client (slowloris: each
 * trickled byte restarted libmicrohttpd's idle timeout), a long poll whose
 * client had gone (its thread slept on h->cond and never looked at the
 * socket) and 256 of either, which left /healthz unanswered and got the
 * replica killed by its health check. Now:
 *   - headers: every connection is registered (MHD_OPTION_NOTIFY_CONNECTION)
 *     with the time its current request began; a watchdog thread shuts down
 *     (SHUT_RDWR) the socket of one whose headers are not complete after
 *     cfg.header_timeout_ms, which ends its MHD thread; the clock restarts
 *     with each request on a kept-alive connection;
 *   - health slots: libmicrohttpd admits conn_limit + HTTP_HEALTH_RESERVE
 *     connections, and a request for anything but /healthz or /readyz is
 *     answered 503 BUSY while more than conn_limit connections are open, so
 *     the last HTTP_HEALTH_RESERVE slots only ever serve health checks;
 *   - a long poll probes its socket every HTTP_PROBE_MS (http_client_gone)
 *     and ends, freeing its slot, when the client has closed;
 *   - per address, libmicrohttpd's own per_ip_limit applies at accept.
 *
 * Threads: the notify callbacks and http_guard_request run on MHD's threads;
 * the watchdog is its own thread; start/stop on the owner. g->mu guards the
 * list. Invariants: (1) a registered fd is still open (MHD calls the CLOSED
 * notification before it closes the socket, and we unregister under g->mu),
 * so shutdown never hits a reused descriptor; (2) nothing blocks under g->mu. */
#include "http_int.h"
#include "mcm.h"
#include "util.h"

#define LOG_COMPONENT "http"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define GUARD_TICK_MS 100            /* watchdog period: cut at most this late */

/* One open connection. */
typedef struct gconn {
    struct gconn *prev, *next;
    int fd;
    int64_t begun_ms;                /* monotonic: the current request began */
    int in_request;                  /* headers complete, handler running */
} gconn;

struct http_guard {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    pthread_t thread;
    int running, stop;
    gconn *head;
    unsigned open;                   /* connections registered */
    int64_t header_ms;
    unsigned long cut;               /* connections cut for slow headers */
};

static void guard_sweep(http_guard *g) {
    int64_t now = util_now_ms();
    for (gconn *k = g->head; k; k = k->next) {
        if (k->in_request || k->fd < 0 || now - k->begun_ms < g->header_ms) continue;
        shutdown(k->fd, SHUT_RDWR);                    /* its MHD thread then closes it */
        k->fd = -1;
        g->cut++;
    }
}

static void *guard_main(void *arg) {
    http_guard *g = arg;
    pthread_mutex_lock(&g->mu);
    while (!g->stop) {
        struct timespec dl;
        clock_gettime(CLOCK_MONOTONIC, &dl);
        dl.tv_nsec += GUARD_TICK_MS * 1000000L;
        if (dl.tv_nsec >= 1000000000L) {
            dl.tv_sec++;
            dl.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&g->cond, &g->mu, &dl);
        guard_sweep(g);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

http_guard *http_guard_new(int64_t header_ms) {
    http_guard *g = calloc(1, sizeof(*g));
    if (!g) return NULL;
    g->header_ms = header_ms;
    pthread_mutex_init(&g->mu, NULL);
    util_cond_init_monotonic(&g->cond);
    if (pthread_create(&g->thread, NULL, guard_main, g) != 0) {
        http_guard_free(g);
        return NULL;
    }
    g->running = 1;
    return g;
}

/* After MHD_stop_daemon: every connection has been unregistered. */
void http_guard_free(http_guard *g) {
    if (!g) return;
    if (g->running) {
        pthread_mutex_lock(&g->mu);
        g->stop = 1;
        pthread_cond_broadcast(&g->cond);
        pthread_mutex_unlock(&g->mu);
        pthread_join(g->thread, NULL);
    }
    while (g->head) {
        gconn *k = g->head;
        g->head = k->next;
        free(k);
    }
    pthread_cond_destroy(&g->cond);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

void http_guard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                       enum MHD_ConnectionNotificationCode code) {
    http_guard *g = ((http_server *)cls)->guard;
    gconn *k = *socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!ci || !(k = calloc(1, sizeof(*k)))) return;      /* unguarded, still limited by MHD */
        k->fd = ci->connect_fd;
        k->begun_ms = util_now_ms();
        pthread_mutex_lock(&g->mu);
        k->next = g->head;
        if (g->head) g->head->prev = k;
        g->head = k;
        g->open++;
        pthread_mutex_unlock(&g->mu);
        *socket_context = k;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && k) {
        pthread_mutex_lock(&g->mu);
        if (k->prev) k->prev->next = k->next;
        else g->head = k->next;
        if (k->next) k->next->prev = k->prev;
        g->open--;
        pthread_mutex_unlock(&g->mu);
        free(k);
        *socket_context = NULL;
    }
}

static gconn *conn_of(struct MHD_Connection *c) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

unsigned http_guard_request(http_server *h, struct MHD_Connection *c, int begun) {
    http_guard *g = h->guard;
    gconn *k = conn_of(c);
    pthread_mutex_lock(&g->mu);
    if (k) {
        k->in_request = begun;
        if (!begun) k->begun_ms = util_now_ms();         /* the next request's headers start now */
    }
    unsigned open = g->open;
    pthread_mutex_unlock(&g->mu);
    return open;
}

unsigned long http_guard_cut(http_server *h) {
    pthread_mutex_lock(&h->guard->mu);
    unsigned long n = h->guard->cut;
    pthread_mutex_unlock(&h->guard->mu);
    return n;
}

int http_client_gone(struct MHD_Connection *c) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci) return 0;
    struct pollfd p = {.fd = ci->connect_fd, .events = POLLIN | POLLRDHUP};
    if (poll(&p, 1, 0) <= 0) return 0;
    if (p.revents & (POLLHUP | POLLERR | POLLRDHUP | POLLNVAL)) return 1;
    char b;
    ssize_t n = recv(ci->connect_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* MHD_OPTION_UNESCAPE_CALLBACK: %XX decoding in place, except that %00 stays
 * as the three characters "%00": a decoded NUL would cut the C string, and
 * /v1/scale%00x would route to /v1/scale. */
size_t http_unescape(void *cls, struct MHD_Connection *c, char *s) {
    char *w = s;
    for (const char *r = s; *r; r++) {
        int hi = r[0] == '%' ? hexval(r[1]) : -1, lo = hi >= 0 ? hexval(r[2]) : -1;
        if (hi >= 0 && lo >= 0 && (hi || lo)) {
            *w++ = (char)(hi * 16 + lo);
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}
