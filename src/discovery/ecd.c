/* ecd.c -- the endpoint thread: listener, connections, payload swaps.
 *
 * Shape: one thread, one poll() set: [0] wakeup pipe, [1] listener, then one
 * slot per connection. ecd_set_servers stores a copy under `mu` and writes a
 * byte to the pipe; the thread then builds the payload (ecd_payload, which
 * may resolve hostnames) outside the lock and swaps it in. Connections read
 * into a fixed buffer (a line may not exceed ECD_LINE_MAX), feed
 * ecd_proto_feed, and write replies non-blocking; POLLOUT only while replies
 * are pending.
 *
 * Idle connections: a connection that has sent nothing for idle_ms is closed
 * (poll's timeout is the nearest such deadline), so idle sockets -- leaked by
 * a client, or opened by a flood -- free their slot instead of holding the
 * connection limit forever. Refusals at the limit are logged at most once per
 * ECD_WARN_EVERY_MS, with the number refused since the last line.
 *
 * Per address: one peer address may hold at most per_addr connections
 * (default ECD_DEFAULT_PER_ADDR); more from it are closed at once, so 256
 * idle sockets from one host no longer lock every other client out.
 *
 * Threads: the endpoint thread owns conns[], payload, the refusal counters and
 * every socket; other threads touch only `pending`, `served_version`,
 * `idle_ms`, `per_addr` and `stop` under `mu`.
 * Invariants: (1) nconns <= max_conns; (2) a connection's unread replies
 * never exceed ECD_OUT_MAX plus two payloads (the connection is closed
 * instead: a client pipelining without reading); (3) after a
 * close the slot is compacted away, so conns[0..nconns) are all live;
 * (4) no connection outlives idle_ms (+ one poll round) without sending. */
#define LOG_COMPONENT "discovery"
#include "ecd.h"
#include "ecd_proto.h"
#include "log.h"
#include "mcm.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define IN_CAP (ECD_LINE_MAX + 2 + 4096)
#define ECD_WARN_EVERY_MS 10000   /* at most one "connection limit" warning per this */

typedef struct conn {
    int fd;
    char in[IN_CAP];
    size_t inlen;
    ecd_buf out;
    size_t outoff;
    int quitting;          /* close once out is flushed */
    int64_t last_rx_ms;    /* monotonic: accepted, or last byte received */
    unsigned char addr[16];/* peer address (IPv4: first 4 bytes), for the per-address limit */
    int family;
} conn;

struct ecd {
    int lfd, port, max_conns;
    int per_addr;          /* under mu: connections one peer address may hold */
    int wake[2];
    pthread_t thread;
    int started;
    conn **conns;
    int nconns;
    char *payload;         /* endpoint thread only */
    size_t plen;
    int64_t warned_ms;     /* endpoint thread: last limit warning (0: never) */
    long refused_quiet;    /* endpoint thread: refused since that warning */
    pthread_mutex_t mu;
    srvlist *pending;      /* under mu */
    long long served_version;
    int idle_ms;           /* under mu; <= 0: never close idle connections */
    int stop;
};

static void conn_close(ecd *e, int i) {
    conn *c = e->conns[i];
    close(c->fd);
    ecd_buf_free(&c->out);
    free(c);
    e->conns[i] = e->conns[--e->nconns];
}

/* A connection refused at the limit: one warning per ECD_WARN_EVERY_MS. */
static void refuse(ecd *e, int idle_ms) {
    int64_t now = util_now_ms();
    if (e->warned_ms && now - e->warned_ms < ECD_WARN_EVERY_MS) {
        e->refused_quiet++;
        return;
    }
    char idle[64] = "";
    if (idle_ms > 0)
        snprintf(idle, sizeof(idle), "; idle ones are closed after %d %s", idle_ms >= 1000 ? idle_ms / 1000 : idle_ms,
                 idle_ms >= 1000 ? "s" : "ms");
    char quiet[128] = "";
    if (e->refused_quiet > 0)
        snprintf(quiet, sizeof(quiet), " (%ld more refused since the last warning, %lld s ago)",
                 e->refused_quiet, (long long)((now - e->warned_ms) / 1000));
    log_warn("discovery endpoint: %d connections (the limit); closing new ones%s%s", e->nconns, quiet, idle);
    e->warned_ms = now;
    e->refused_quiet = 0;
}

/* The peer's address as a comparable key; 0 if unknown (never limited). */
static int peer_key(const struct sockaddr_storage *ss, unsigned char addr[16]) {
    memset(addr, 0, 16);
    if (ss->ss_family == AF_INET) memcpy(addr, &((const struct sockaddr_in *)ss)->sin_addr, 4);
    else if (ss->ss_family == AF_INET6) memcpy(addr, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
    else return 0;
    return ss->ss_family;
}

static int conns_from(const ecd *e, int family, const unsigned char addr[16]) {
    int n = 0;
    for (int i = 0; family && i < e->nconns; i++)
        n += e->conns[i]->family == family && !memcmp(e->conns[i]->addr, addr, 16);
    return n;
}

/* One address over its share: refused quietly (verbose), so one flooding
 * client cannot fill the log either. */
static int over_per_addr(ecd *e, int family, const unsigned char addr[16]) {
    pthread_mutex_lock(&e->mu);
    int limit = e->per_addr;
    pthread_mutex_unlock(&e->mu);
    if (limit <= 0 || conns_from(e, family, addr) < limit) return 0;
    log_verbose("discovery endpoint: a peer already holds %d connections (the per-address limit); closing", limit);
    return 1;
}

static void accept_one(ecd *e, int idle_ms) {
    struct sockaddr_storage ss = {0};
    socklen_t sl = sizeof(ss);
    unsigned char addr[16];
    int fd = accept4(e->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    int family = peer_key(&ss, addr);
    conn *c = e->nconns < e->max_conns ? calloc(1, sizeof(*c)) : NULL;
    if (!c) {
        refuse(e, idle_ms);
        close(fd);
        return;
    }
    if (over_per_addr(e, family, addr)) {
        free(c);
        close(fd);
        return;
    }
    c->fd = fd;
    c->family = family;
    memcpy(c->addr, addr, sizeof(c->addr));
    c->last_rx_ms = util_now_ms();
    e->conns[e->nconns++] = c;
}

/* Reads and answers; 0 to keep the connection, -1 to close it. */
static int conn_read(ecd *e, conn *c) {
    ssize_t n = read(c->fd, c->in + c->inlen, IN_CAP - c->inlen);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
    if (n <= 0) return -1;
    c->last_rx_ms = util_now_ms();
    c->inlen += (size_t)n;
    size_t used = 0;
    int rc = ecd_proto_feed(c->in, c->inlen, &used, e->payload, e->plen, &c->out);
    if (rc == ECD_FEED_CLOSE) return -1;
    memmove(c->in, c->in + used, c->inlen - used);
    c->inlen -= used;
    if (rc == ECD_FEED_QUIT) c->quitting = 1;
    if (c->inlen > ECD_LINE_MAX + 1 || c->out.len - c->outoff > ECD_OUT_MAX + 2 * e->plen) return -1;
    return 0;
}

static int conn_write(conn *c) {
    while (c->outoff < c->out.len) {
        ssize_t n = send(c->fd, c->out.p + c->outoff, c->out.len - c->outoff, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return 0;
        if (n < 0) return -1;
        c->outoff += (size_t)n;
    }
    c->out.len = c->outoff = 0;
    return c->quitting ? -1 : 0;
}

/* Builds the payload for a list handed over by ecd_set_servers. */
static void take_pending(ecd *e) {
    char b;
    while (read(e->wake[0], &b, 1) > 0) {}
    pthread_mutex_lock(&e->mu);
    srvlist *l = e->pending;
    e->pending = NULL;
    int stop = e->stop;
    pthread_mutex_unlock(&e->mu);
    if (!l || stop) { srvlist_free(l); return; }
    size_t len = 0;
    char *p = ecd_payload(l, 1, &len);
    if (p) {
        free(e->payload);
        e->payload = p;
        e->plen = len;
        pthread_mutex_lock(&e->mu);
        e->served_version = l->version;
        pthread_mutex_unlock(&e->mu);
        log_verbose("discovery endpoint: serving version %lld, %d servers", (long long)l->version, l->n);
    } else {
        log_error("discovery endpoint: out of memory building the payload; serving the old one");
    }
    srvlist_free(l);
}

/* 1 when the thread must stop; *idle_ms gets the current idle timeout. */
static int stopping(ecd *e, int *idle_ms) {
    pthread_mutex_lock(&e->mu);
    int s = e->stop;
    *idle_ms = e->idle_ms;
    pthread_mutex_unlock(&e->mu);
    return s;
}

/* poll()'s timeout: until the first connection goes idle, -1 if none can. */
static int idle_wait_ms(const ecd *e, int idle_ms, int64_t now) {
    if (idle_ms <= 0 || e->nconns == 0) return -1;
    int64_t first = INT64_MAX;
    for (int i = 0; i < e->nconns; i++)
        if (e->conns[i]->last_rx_ms < first) first = e->conns[i]->last_rx_ms;
    int64_t left = first + idle_ms - now;
    return left < 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

static void close_idle(ecd *e, int idle_ms) {
    if (idle_ms <= 0) return;
    int64_t now = util_now_ms();
    for (int i = e->nconns - 1; i >= 0; i--) {
        if (now - e->conns[i]->last_rx_ms < idle_ms) continue;
        log_verbose("discovery endpoint: closing a connection idle for %d ms", idle_ms);
        conn_close(e, i);
    }
}

static void serve_conns(ecd *e, struct pollfd *pfd) {
    for (int i = e->nconns - 1; i >= 0; i--) {
        conn *c = e->conns[i];
        short rev = pfd[2 + i].revents;
        int bad = 0;
        if (rev & (POLLIN | POLLHUP | POLLERR)) bad = conn_read(e, c) < 0;
        if (!bad && c->out.len > c->outoff) bad = conn_write(c) < 0;
        else if (!bad && c->quitting) bad = 1;
        if (bad) conn_close(e, i);
    }
}

static void *thread_main(void *arg) {
    ecd *e = arg;
    struct pollfd *pfd = calloc((size_t)e->max_conns + 2, sizeof(*pfd));
    int idle_ms;
    while (pfd && !stopping(e, &idle_ms)) {
        pfd[0] = (struct pollfd){.fd = e->wake[0], .events = POLLIN};
        pfd[1] = (struct pollfd){.fd = e->lfd, .events = POLLIN};
        for (int i = 0; i < e->nconns; i++) {
            conn *c = e->conns[i];
            pfd[2 + i] = (struct pollfd){.fd = c->fd, .events = POLLIN};
            if (c->out.len > c->outoff) pfd[2 + i].events |= POLLOUT;
        }
        int nfds = 2 + e->nconns;
        if (poll(pfd, (nfds_t)nfds, idle_wait_ms(e, idle_ms, util_now_ms())) < 0) {
            if (errno == EINTR) continue;
            log_error("discovery endpoint: poll: %s", strerror(errno));
            break;
        }
        if (pfd[0].revents) take_pending(e);
        serve_conns(e, pfd);       /* indexes match the poll set built above */
        close_idle(e, idle_ms);    /* after serving: a byte that just came counts */
        if (pfd[1].revents & POLLIN) accept_one(e, idle_ms);
    }
    if (!pfd) log_error("discovery endpoint: out of memory");
    free(pfd);
    return NULL;
}

static int listen_on(ecd *e, const char *host, int port, char *err, size_t errlen) {
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char ports[16];
    snprintf(ports, sizeof(ports), "%d", port);
    int rc = getaddrinfo(host && *host ? host : NULL, ports, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "getaddrinfo %s: %s", host ? host : "*", gai_strerror(rc));
        return MCM_ERR;
    }
    e->lfd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (e->lfd >= 0) setsockopt(e->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    const char *call = e->lfd < 0 ? "socket" : bind(e->lfd, res->ai_addr, res->ai_addrlen) < 0 ? "bind"
                       : listen(e->lfd, 128) < 0 ? "listen" : NULL;
    freeaddrinfo(res);
    if (call) {
        snprintf(err, errlen, "%s %s:%d: %s", call, host ? host : "*", port, strerror(errno));
        return MCM_ERR;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    getsockname(e->lfd, (struct sockaddr *)&ss, &sl);
    e->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
    return MCM_OK;
}

ecd *ecd_create(const char *host, int port, int max_conns, char *err, size_t errlen) {
    ecd *e = calloc(1, sizeof(*e));
    if (!e) { snprintf(err, errlen, "out of memory"); return NULL; }
    e->lfd = e->wake[0] = e->wake[1] = -1;
    e->served_version = -1;
    e->max_conns = max_conns > 0 ? max_conns : ECD_DEFAULT_MAX_CONNS;
    e->idle_ms = ECD_DEFAULT_IDLE_MS;
    e->per_addr = ECD_DEFAULT_PER_ADDR < e->max_conns ? ECD_DEFAULT_PER_ADDR : e->max_conns;
    pthread_mutex_init(&e->mu, NULL);
    e->conns = calloc((size_t)e->max_conns, sizeof(conn *));
    if (!e->conns) { snprintf(err, errlen, "out of memory"); goto fail; }
    if (pipe2(e->wake, O_NONBLOCK | O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        goto fail;
    }
    if (listen_on(e, host, port, err, errlen) != MCM_OK) goto fail;
    if (pthread_create(&e->thread, NULL, thread_main, e) != 0) {
        snprintf(err, errlen, "pthread_create failed");
        goto fail;
    }
    e->started = 1;
    log_info("discovery endpoint listening on %s:%d", host && *host ? host : "*", e->port);
    return e;
fail:
    ecd_free(e);
    return NULL;
}

int ecd_port(const ecd *e) { return e->port; }

static void wake(ecd *e) {
    char b = 1;
    ssize_t n = write(e->wake[1], &b, 1);   /* a full pipe already means "wake up" */
    (void)n;
}

int ecd_set_servers(ecd *e, const srvlist *l) {
    srvlist *c = srvlist_copy(l);
    if (!c) return MCM_ERR;
    pthread_mutex_lock(&e->mu);
    srvlist *old = e->pending;
    e->pending = c;
    pthread_mutex_unlock(&e->mu);
    srvlist_free(old);
    wake(e);
    return MCM_OK;
}

void ecd_set_per_addr_limit(ecd *e, int n) {
    pthread_mutex_lock(&e->mu);
    e->per_addr = n > 0 ? n : 0;
    pthread_mutex_unlock(&e->mu);
}

void ecd_set_idle_timeout(ecd *e, int idle_ms) {
    pthread_mutex_lock(&e->mu);
    e->idle_ms = idle_ms > 0 ? idle_ms : 0;
    pthread_mutex_unlock(&e->mu);
    wake(e);                       /* recompute poll's timeout now */
}

long long ecd_served_version(ecd *e) {
    pthread_mutex_lock(&e->mu);
    long long v = e->served_version;
    pthread_mutex_unlock(&e->mu);
    return v;
}

void ecd_free(ecd *e) {
    if (!e) return;
    if (e->started) {
        pthread_mutex_lock(&e->mu);
        e->stop = 1;
        pthread_mutex_unlock(&e->mu);
        wake(e);
        pthread_join(e->thread, NULL);
    }
    while (e->nconns > 0) conn_close(e, e->nconns - 1);
    if (e->lfd >= 0) close(e->lfd);
    if (e->wake[0] >= 0) close(e->wake[0]);
    if (e->wake[1] >= 0) close(e->wake[1]);
    free(e->conns);
    free(e->payload);
    srvlist_free(e->pending);
    pthread_mutex_destroy(&e->mu);
    free(e);
}
