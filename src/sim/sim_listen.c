/* sim_listen.c -- the agents' ports: one listening socket per agent, one
 * thread accepting on all of them for the agents' shared libmicrohttpd daemon.
 *
 * Why: every agent must have a port of its own (executors get
 * MESOS_AGENT_ENDPOINT=host:port, and Mesos' agents do), but a daemon per
 * port costs an event thread per agent even when idle (1,000 at 1,000
 * agents). So one daemon without a listening socket serves every agent
 * (sim_http.c), and this thread hands it each accepted connection
 * (MHD_add_connection); the daemon finds the agent from the connection's
 * local port (sim_listen_index). The thread sleeps in epoll_wait between
 * connections.
 *
 * Threads: new/free on the owner thread; listen_main on its own thread;
 * sim_listen_index from any thread (the table is read-only once built).
 * Invariants: the port table is sorted and complete before the thread
 * starts; after sim_listen_free returns no connection is added any more, so
 * the daemon may be stopped. */
#include "sim_int.h"

#include "mcm.h"

#define LOG_COMPONENT "sim"
#include "log.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define LISTEN_BACKLOG 512
#define LISTEN_EVENTS 64
#define LISTEN_WAKE_KEY UINT32_MAX   /* the eventfd's epoll key; sockets are keyed by agent index */

typedef struct port_entry {
    int port;
    int index;
} port_entry;

struct sim_listen {
    struct MHD_Daemon *d;
    int n;
    int *fds;                /* per agent index; -1 once closed */
    port_entry *by_port;     /* sorted by port */
    int epfd, evfd;
    int running;
    pthread_t thread;
};

static int sock_port(const struct sockaddr_storage *ss) {
    if (ss->ss_family == AF_INET6) return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

/* A listening socket on addr with a free port; -1 on error (errno set). */
static int listen_one(const struct sockaddr_storage *addr, socklen_t alen, int *port) {
    struct sockaddr_storage ss = *addr;
    if (ss.ss_family == AF_INET6) ((struct sockaddr_in6 *)&ss)->sin6_port = 0;
    else ((struct sockaddr_in *)&ss)->sin_port = 0;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    socklen_t sl = sizeof(ss);
    if (bind(fd, (struct sockaddr *)&ss, alen) != 0 || listen(fd, LISTEN_BACKLOG) != 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    *port = sock_port(&ss);
    return fd;
}

static void accept_all(sim_listen *l, int fd) {
    for (;;) {
        struct sockaddr_storage peer;
        socklen_t pl = sizeof(peer);
        int c = accept4(fd, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) log_warn("agent port: accept: %s", strerror(errno));
            return;
        }
        if (MHD_add_connection(l->d, c, (struct sockaddr *)&peer, pl) != MHD_YES)   /* MHD closed c */
            log_warn("agent port: connection refused by libmicrohttpd: %s", strerror(errno));
    }
}

static void *listen_main(void *arg) {
    sim_listen *l = arg;
    struct epoll_event ev[LISTEN_EVENTS];
    for (;;) {
        int k = epoll_wait(l->epfd, ev, LISTEN_EVENTS, -1);
        for (int i = 0; i < k; i++) {
            if (ev[i].data.u32 == LISTEN_WAKE_KEY) return NULL;    /* sim_listen_free */
            accept_all(l, l->fds[ev[i].data.u32]);
        }
    }
}

static int cmp_port(const void *a, const void *b) {
    return ((const port_entry *)a)->port - ((const port_entry *)b)->port;
}

/* Binds every socket and fills ports[] and the table; MCM_ERR with err. */
static int bind_all(sim_listen *l, const struct sockaddr_storage *addr, socklen_t alen, int *ports, char *err,
                    size_t errlen) {
    for (int i = 0; i < l->n; i++) {
        l->fds[i] = listen_one(addr, alen, &ports[i]);
        if (l->fds[i] < 0) {
            snprintf(err, errlen, "agent %d: cannot listen: %s", i, strerror(errno));
            return MCM_ERR;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->fds[i], &ev) != 0) {
            snprintf(err, errlen, "agent %d: epoll_ctl: %s", i, strerror(errno));
            return MCM_ERR;
        }
        l->by_port[i] = (port_entry){ports[i], i};
    }
    qsort(l->by_port, (size_t)l->n, sizeof(*l->by_port), cmp_port);
    return MCM_OK;
}

sim_listen *sim_listen_new(struct MHD_Daemon *d, const struct sockaddr_storage *addr, socklen_t alen, int n,
                           int *ports, char *err, size_t errlen) {
    sim_listen *l = calloc(1, sizeof(*l));
    if (!l) abort();
    *l = (sim_listen){.d = d, .n = n, .epfd = epoll_create1(EPOLL_CLOEXEC), .evfd = eventfd(0, EFD_CLOEXEC)};
    l->fds = malloc(sizeof(*l->fds) * (size_t)(n ? n : 1));
    l->by_port = calloc((size_t)(n ? n : 1), sizeof(*l->by_port));
    if (!l->fds || !l->by_port) abort();
    for (int i = 0; i < n; i++) l->fds[i] = -1;
    struct epoll_event wake = {.events = EPOLLIN, .data.u32 = LISTEN_WAKE_KEY};
    if (l->epfd < 0 || l->evfd < 0 || epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->evfd, &wake) != 0) {
        snprintf(err, errlen, "agent ports: epoll/eventfd: %s", strerror(errno));
        goto err;
    }
    if (bind_all(l, addr, alen, ports, err, errlen) != MCM_OK) goto err;
    if (pthread_create(&l->thread, NULL, listen_main, l) != 0) {
        snprintf(err, errlen, "agent ports: cannot start the accepting thread");
        goto err;
    }
    l->running = 1;
    return l;
err:
    sim_listen_free(l);
    return NULL;
}

void sim_listen_free(sim_listen *l) {
    if (!l) return;
    if (l->running) {
        uint64_t one = 1;
        if (write(l->evfd, &one, sizeof(one)) < 0) {}
        pthread_join(l->thread, NULL);
    }
    for (int i = 0; l->fds && i < l->n; i++)
        if (l->fds[i] >= 0) close(l->fds[i]);
    if (l->epfd >= 0) close(l->epfd);
    if (l->evfd >= 0) close(l->evfd);
    free(l->fds);
    free(l->by_port);
    free(l);
}

int sim_listen_index(const sim_listen *l, int port) {
    port_entry key = {port, -1};
    const port_entry *e = l ? bsearch(&key, l->by_port, (size_t)l->n, sizeof(key), cmp_port) : NULL;
    return e ? e->index : -1;
}
