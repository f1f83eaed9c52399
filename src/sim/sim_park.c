/* sim_park.c -- the set of parked (suspended) connections and its thread (see sim_park.h).
 *
 * Shape: a doubly linked list of entries under one mutex, an epoll set with
 * the sockets of those that watch for a hang-up (keyed by the entry's id,
 * never its address: an event may be returned after a cancel has freed the
 * entry, and then finds no entry with that id), and an eventfd that wakes the
 * thread when a deadline is added or the set stops. The thread sleeps in
 * epoll_wait until the nearest deadline; it costs nothing while no client
 * hangs up and no deadline comes. Deadlines are found by a scan of the list:
 * only /sim/call-delay sets them, and the scan runs only when the thread
 * wakes.
 *
 * Threads: park_main is the set's thread; the rest from any thread.
 * Invariants: (1) an entry is in the list iff its callback has not been taken
 * and it has not been cancelled; it leaves the list (and the epoll set) under
 * P.mu, and whoever takes it out runs or drops it, so its callback runs at
 * most once and never after a successful cancel; (2) callbacks run with P.mu
 * released; (3) a watched fd is removed from the epoll set before its entry
 * ends, while the caller still keeps it open (sim_park.h); (4) `inflight`
 * counts entries taken by the thread whose callbacks have not returned, and
 * sim_park_wake_all returns only once it is 0: else a hang-up taken just
 * before the stop could resume its connection after MHD_stop_daemon began,
 * which libmicrohttpd answers with a panic ("called while we have suspended
 * connections"). */
#include "sim_park.h"

#include "mcm.h"
#include "util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define PARK_EVENTS 64
#define PARK_WAKE_ID 0       /* the eventfd's epoll key; entry ids start at 1 */

typedef struct park_entry {
    struct park_entry *prev, *next;
    uint64_t id;
    int fd;                  /* -1: no hang-up watch */
    int64_t deadline_ms;     /* -1: none */
    sim_park_why why;        /* set when taken for its callback */
    sim_park_fn fn;
    void *arg;
} park_entry;

static struct {
    pthread_mutex_t mu;
    park_entry *head;
    uint64_t last_id;
    int epfd, evfd;
    pthread_cond_t idle;     /* signalled when inflight drops to 0 */
    int inflight;            /* taken by the thread, callbacks not yet returned */
    int running;             /* the thread runs */
    int stop;                /* sim_park_stop: the thread leaves */
    int closing;             /* sim_park_wake_all ran: adds fail */
    pthread_t thread;
} P = {.mu = PTHREAD_MUTEX_INITIALIZER, .idle = PTHREAD_COND_INITIALIZER, .epfd = -1, .evfd = -1};

static void poke(void) {
    uint64_t one = 1;
    if (write(P.evfd, &one, sizeof(one)) < 0) {}   /* EAGAIN: a wake-up is pending anyway */
}

/* Under P.mu. */
static void unlink_entry(park_entry *e) {
    if (e->prev) e->prev->next = e->next;
    else P.head = e->next;
    if (e->next) e->next->prev = e->prev;
    e->prev = e->next = NULL;
    if (e->fd >= 0) epoll_ctl(P.epfd, EPOLL_CTL_DEL, e->fd, NULL);
}

static park_entry *find(uint64_t id) {
    for (park_entry *e = P.head; e; e = e->next)
        if (e->id == id) return e;
    return NULL;
}

/* Under P.mu: epoll_wait's timeout for the nearest deadline. */
static int timeout_ms(int64_t now) {
    int64_t best = -1;
    for (park_entry *e = P.head; e; e = e->next)
        if (e->deadline_ms >= 0 && (best < 0 || e->deadline_ms < best)) best = e->deadline_ms;
    if (best < 0) return -1;
    return best <= now ? 0 : (int)(best - now > 60000 ? 60000 : best - now);
}

/* Under P.mu: moves e to the front of *fired with its reason. */
static void take(park_entry *e, sim_park_why why, park_entry **fired) {
    unlink_entry(e);
    e->why = why;
    e->next = *fired;
    *fired = e;
}

static int count(const park_entry *l) {
    int n = 0;
    for (; l; l = l->next) n++;
    return n;
}

static void run_fired(park_entry *fired) {
    while (fired) {
        park_entry *e = fired;
        fired = e->next;
        e->fn(e->arg, e->why);
        free(e);
    }
}

/* Under P.mu: the entries an epoll_wait returned, then those past their deadline. */
static park_entry *collect(const struct epoll_event *ev, int n) {
    park_entry *fired = NULL;
    for (int i = 0; i < n; i++) {
        if (ev[i].data.u64 == PARK_WAKE_ID) {
            uint64_t v;
            if (read(P.evfd, &v, sizeof(v)) < 0) {}
            continue;
        }
        park_entry *e = find(ev[i].data.u64);
        if (e) take(e, SIM_PARK_HUP, &fired);
    }
    int64_t now = util_now_ms();
    for (park_entry *e = P.head, *nx; e; e = nx) {
        nx = e->next;
        if (e->deadline_ms >= 0 && e->deadline_ms <= now) take(e, SIM_PARK_TIME, &fired);
    }
    return fired;
}

static void *park_main(void *unused) {
    struct epoll_event ev[PARK_EVENTS];
    for (;;) {
        pthread_mutex_lock(&P.mu);
        int stop = P.stop, tmo = timeout_ms(util_now_ms());
        pthread_mutex_unlock(&P.mu);
        if (stop) break;
        int n = epoll_wait(P.epfd, ev, PARK_EVENTS, tmo);
        if (n < 0) n = 0;                                  /* EINTR */
        pthread_mutex_lock(&P.mu);
        park_entry *fired = collect(ev, n);
        int k = count(fired);
        P.inflight += k;
        pthread_mutex_unlock(&P.mu);
        run_fired(fired);
        pthread_mutex_lock(&P.mu);
        P.inflight -= k;
        if (P.inflight == 0) pthread_cond_broadcast(&P.idle);
        pthread_mutex_unlock(&P.mu);
    }
    return NULL;
}

int sim_park_start(char *err, size_t errlen) {
    P.epfd = epoll_create1(EPOLL_CLOEXEC);
    P.evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event wake = {.events = EPOLLIN, .data.u64 = PARK_WAKE_ID};
    if (P.epfd < 0 || P.evfd < 0 || epoll_ctl(P.epfd, EPOLL_CTL_ADD, P.evfd, &wake) != 0) goto err;
    P.stop = P.closing = 0;
    if (pthread_create(&P.thread, NULL, park_main, NULL) != 0) goto err;
    pthread_mutex_lock(&P.mu);
    P.running = 1;
    pthread_mutex_unlock(&P.mu);
    return MCM_OK;
err:
    snprintf(err, errlen, "parked connections: cannot start the watcher (epoll, eventfd or thread)");
    sim_park_stop();
    return MCM_ERR;
}

void sim_park_stop(void) {
    pthread_mutex_lock(&P.mu);
    int running = P.running;
    P.stop = 1;
    P.closing = 1;
    P.running = 0;
    pthread_mutex_unlock(&P.mu);
    if (running) {
        poke();
        pthread_join(P.thread, NULL);
    }
    while (P.head) {                                       /* none, if wake_all ran after the last add */
        park_entry *e = P.head;
        unlink_entry(e);
        free(e);
    }
    if (P.epfd >= 0) close(P.epfd);
    if (P.evfd >= 0) close(P.evfd);
    P.epfd = P.evfd = -1;
}

uint64_t sim_park_add(int fd, int64_t deadline_ms, sim_park_fn fn, void *arg) {
    park_entry *e = calloc(1, sizeof(*e));
    if (!e) return 0;
    *e = (park_entry){.fd = fd, .deadline_ms = deadline_ms, .fn = fn, .arg = arg};
    pthread_mutex_lock(&P.mu);
    if (!P.running || P.closing) goto fail;
    e->id = ++P.last_id;
    struct epoll_event ev = {.events = EPOLLRDHUP, .data.u64 = e->id};
    if (fd >= 0 && epoll_ctl(P.epfd, EPOLL_CTL_ADD, fd, &ev) != 0) goto fail;
    e->next = P.head;
    if (P.head) P.head->prev = e;
    P.head = e;
    if (deadline_ms >= 0) poke();                          /* the thread recomputes its timeout */
    pthread_mutex_unlock(&P.mu);
    return e->id;
fail:
    pthread_mutex_unlock(&P.mu);
    free(e);
    return 0;
}

int sim_park_cancel(uint64_t id) {
    pthread_mutex_lock(&P.mu);
    park_entry *e = id ? find(id) : NULL;
    if (e) unlink_entry(e);
    pthread_mutex_unlock(&P.mu);
    int found = e != NULL;
    free(e);
    return found;
}

void sim_park_wake_all(void) {
    park_entry *fired = NULL;
    pthread_mutex_lock(&P.mu);
    P.closing = 1;
    while (P.head) take(P.head, SIM_PARK_STOP, &fired);
    pthread_mutex_unlock(&P.mu);
    run_fired(fired);
    pthread_mutex_lock(&P.mu);                             /* invariant (4) */
    while (P.inflight > 0) pthread_cond_wait(&P.idle, &P.mu);
    pthread_mutex_unlock(&P.mu);
}
