/* zkt.c -- ZooKeeper test helpers (see zkt.h).
 * The proxy is one thread polling a listening socket and every relayed pair;
 * a mutex guards the black-hole flag only. */
#include "zkt.h"
#include "harness.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct conn_wait { atomic_int state; } conn_wait;

static void wait_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    if (type == ZOO_SESSION_EVENT) atomic_store(&((conn_wait *)ctx)->state, state);
}

static int is_connected(void *arg) {
    return atomic_load(&((conn_wait *)arg)->state) == ZOO_CONNECTED_STATE;
}

/* The context must outlive the handle: one static per use is enough here. */
static conn_wait waits[64];
static atomic_int nwaits;

zhandle_t *zkt_connect(const char *hosts, const char *auth, int timeout_ms) {
    conn_wait *w = &waits[atomic_fetch_add(&nwaits, 1) % 64];
    atomic_store(&w->state, 0);
    zhandle_t *zh = zookeeper_init(hosts, wait_watcher, timeout_ms, NULL, w, 0);
    ck_assert_ptr_nonnull(zh);
    if (auth) ck_assert_int_eq(zoo_add_auth(zh, "digest", auth, (int)strlen(auth), NULL, NULL), ZOK);
    ck_assert_msg(th_wait(is_connected, w, 15000), "zkt_connect: no session with %s", hosts);
    return zh;
}

void zkt_expire(const char *hosts, zhandle_t *zh) {
    const clientid_t *id = zoo_client_id(zh);
    ck_assert_ptr_nonnull(id);
    clientid_t cid = *id;
    static conn_wait w;
    atomic_store(&w.state, 0);
    zhandle_t *other = zookeeper_init(hosts, wait_watcher, 10000, &cid, &w, 0);
    ck_assert_ptr_nonnull(other);
    ck_assert_msg(th_wait(is_connected, &w, 15000), "zkt_expire: could not open the session twice");
    zookeeper_close(other);            /* closeSession: the server ends the session */
}

/* --- proxy ------------------------------------------------------------------- */

#define MAXPAIRS 64

struct zkt_proxy {
    int lfd, port, server_port;
    int cfd[MAXPAIRS], sfd[MAXPAIRS];  /* client side, server side (-1: held) */
    atomic_int blackhole, stop;
    int was_blackhole;
    pthread_t th;
};

static void close_pair(zkt_proxy *p, int i) {
    if (p->cfd[i] >= 0) close(p->cfd[i]);
    if (p->sfd[i] >= 0) close(p->sfd[i]);
    p->cfd[i] = p->sfd[i] = -1;
}

static int dial(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) return fd;
    if (fd >= 0) close(fd);
    return -1;
}

static void accept_one(zkt_proxy *p) {
    int c = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) return;
    for (int i = 0; i < MAXPAIRS; i++) {
        if (p->cfd[i] >= 0) continue;
        p->cfd[i] = c;
        p->sfd[i] = atomic_load(&p->blackhole) ? -1 : dial(p->server_port);
        if (!atomic_load(&p->blackhole) && p->sfd[i] < 0) close_pair(p, i);   /* server down */
        return;
    }
    close(c);
}

/* Moves what fd has to its peer (or drops it); 0 when the pair must close. */
static int relay(zkt_proxy *p, int from, int to) {
    char buf[65536];
    ssize_t n = read(from, buf, sizeof(buf));
    if (n <= 0) return 0;
    if (atomic_load(&p->blackhole) || to < 0) return 1;
    for (ssize_t off = 0; off < n;) {
        ssize_t w = write(to, buf + off, (size_t)(n - off));
        if (w <= 0) return 0;
        off += w;
    }
    return 1;
}

static void *proxy_main(void *arg) {
    zkt_proxy *p = arg;
    while (!atomic_load(&p->stop)) {
        int bh = atomic_load(&p->blackhole);
        if (p->was_blackhole && !bh)            /* healed: held connections go */
            for (int i = 0; i < MAXPAIRS; i++) if (p->cfd[i] >= 0 && p->sfd[i] < 0) close_pair(p, i);
        p->was_blackhole = bh;
        struct pollfd pf[1 + 2 * MAXPAIRS];
        int idx[1 + 2 * MAXPAIRS], n = 0;
        pf[n] = (struct pollfd){.fd = p->lfd, .events = POLLIN};
        idx[n++] = -1;
        for (int i = 0; i < MAXPAIRS; i++) {
            if (p->cfd[i] < 0) continue;
            pf[n] = (struct pollfd){.fd = p->cfd[i], .events = POLLIN};
            idx[n++] = i;
            if (p->sfd[i] >= 0) {
                pf[n] = (struct pollfd){.fd = p->sfd[i], .events = POLLIN};
                idx[n++] = MAXPAIRS + i;
            }
        }
        if (poll(pf, (nfds_t)n, 20) <= 0) continue;
        for (int k = 0; k < n; k++) {
            if (!(pf[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            if (idx[k] < 0) { accept_one(p); continue; }
            int i = idx[k] % MAXPAIRS, from_client = idx[k] < MAXPAIRS;
            if (p->cfd[i] < 0) continue;
            if (!relay(p, from_client ? p->cfd[i] : p->sfd[i], from_client ? p->sfd[i] : p->cfd[i]))
                close_pair(p, i);
        }
    }
    for (int i = 0; i < MAXPAIRS; i++) close_pair(p, i);
    return NULL;
}

zkt_proxy *zkt_proxy_start(int server_port) {
    zkt_proxy *p = calloc(1, sizeof(*p));
    ck_assert_ptr_nonnull(p);
    for (int i = 0; i < MAXPAIRS; i++) p->cfd[i] = p->sfd[i] = -1;
    p->server_port = server_port;
    p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    ck_assert_int_eq(bind(p->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(p->lfd, 16), 0);
    getsockname(p->lfd, (struct sockaddr *)&a, &len);
    p->port = ntohs(a.sin_port);
    ck_assert_int_eq(pthread_create(&p->th, NULL, proxy_main, p), 0);
    return p;
}

int zkt_proxy_port(const zkt_proxy *p) { return p->port; }

void zkt_proxy_blackhole(zkt_proxy *p, int on) { atomic_store(&p->blackhole, on); }

void zkt_proxy_free(zkt_proxy *p) {
    if (!p) return;
    atomic_store(&p->stop, 1);
    pthread_join(p->th, NULL);
    close(p->lfd);
    free(p);
}

/* --- stderr capture ---------------------------------------------------------------- */

static int saved_fd = -1;
static char capture_path[256];

void zkt_capture_begin(void) {
    snprintf(capture_path, sizeof(capture_path), "/tmp/mcm-zkt-capture-%d.log", (int)getpid());
    int fd = open(capture_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ck_assert_int_ge(fd, 0);
    saved_fd = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
}

char *zkt_capture_end(void) {
    if (saved_fd >= 0) {
        dup2(saved_fd, STDERR_FILENO);
        close(saved_fd);
        saved_fd = -1;
    }
    FILE *f = fopen(capture_path, "rb");
    ck_assert_ptr_nonnull(f);
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    unlink(capture_path);
    fputs(buf, stderr);                 /* keep it visible in the test output */
    return buf;
}
