/* watch.c -- keep the last good server list from a ZooKeeper znode.
 *
 * Shape: the ZooKeeper C client's threads only ever make asynchronous calls
 * (zoo_awget, zoo_awexists) and, on a valid new document, swap `last` under
 * the mutex and set `dirty`. Everything that may block -- the user's callback,
 * closing an expired handle and opening a new one -- runs on the watch's own
 * thread, woken through the condition variable.
 *
 * Event flow (function behind each arrow):
 *
 *   session CONNECTED ─session_watcher─▶ read()  ─zoo_awget─▶ data_done
 *   data watch CHANGED/CREATED/DELETED ─data_watcher─▶ read()
 *   data_done ZOK   ─accept()─▶ last = list, dirty = 1 ─▶ watch thread ─▶ cb
 *   data_done ZNONODE ─zoo_awexists─▶ exists_done (ZOK: read() again; else the
 *                                      exists watch fires on creation)
 *   session EXPIRED ─session_watcher─▶ expired = 1 ─▶ watch thread: reopen()
 *
 * Threads: ZooKeeper's IO/completion threads run the *_watcher and *_done
 * functions; the watch thread runs thread_main, reopen and the callback.
 * Invariants: (1) `last` only ever holds a document that passed
 * srvlist_from_json; nothing but accept() replaces it. (2) A ZooKeeper
 * callback never blocks: it takes `mu` only for pointer swaps, and `mu` is
 * never held across zookeeper_close or the user's callback. (3) w->zh changes
 * only on the watch thread (and in create/free). */
#define LOG_COMPONENT "watch"
#include "watch.h"
#include "log.h"
#include "mcm.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zookeeper/zookeeper.h>

struct watch {
    char *hosts, *path;
    int timeout_ms;
    watch_cb cb;
    void *ud;
    pthread_t thread;
    int thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* under mu: */
    zhandle_t *zh;
    int stop, expired, dirty;
    srvlist *last;           /* last good list */
    int64_t last_czxid;      /* czxid of the znode it came from */
    long deliveries;
};

static void read_list(watch *w, zhandle_t *zh);
static void data_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx);

static zhandle_t *current_zh(watch *w) {
    pthread_mutex_lock(&w->mu);
    zhandle_t *zh = w->zh;
    pthread_mutex_unlock(&w->mu);
    return zh;
}

/* Decides whether a decoded document replaces the last good list. */
static void accept_list(watch *w, srvlist *l, int64_t czxid) {
    pthread_mutex_lock(&w->mu);
    srvlist *old = w->last;
    if (old && czxid == w->last_czxid && l->version < old->version) {
        pthread_mutex_unlock(&w->mu);
        log_info("%s: version %lld is older than %lld (lagging server?); ignored", w->path,
                 (long long)l->version, (long long)old->version);
        srvlist_free(l);
        return;
    }
    if (old && l->version == old->version && srvlist_same_servers(l, old)) {
        pthread_mutex_unlock(&w->mu);
        srvlist_free(l);
        return;
    }
    w->last = l;
    w->last_czxid = czxid;
    w->dirty = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    log_verbose("%s: version %lld, %d servers", w->path, (long long)l->version, l->n);
    srvlist_free(old);
}

static void exists_done(int rc, const struct Stat *st, const void *data) {
    watch *w = (watch *)data;
    if (rc == ZOK) read_list(w, current_zh(w));      /* created meanwhile */
    else if (rc != ZNONODE) log_debug("%s: exists: %s", w->path, zerror(rc));
}

static void data_done(int rc, const char *value, int len, const struct Stat *st, const void *data) {
    watch *w = (watch *)data;
    if (rc == ZNONODE) {
        log_warn("%s: znode missing; keeping the last good list and waiting for it", w->path);
        zhandle_t *zh = current_zh(w);
        if (zh) zoo_awexists(zh, w->path, data_watcher, w, exists_done, w);
        return;
    }
    if (rc != ZOK) {
        log_debug("%s: get: %s (retried on reconnect)", w->path, zerror(rc));
        return;
    }
    char err[256];
    srvlist *l = value && len > 0 ? srvlist_from_json(value, (size_t)len, err, sizeof(err)) : NULL;
    if (!l) {
        log_warn("%s: not a valid server list (%s); keeping the last good list", w->path,
                 value && len > 0 ? err : "empty znode");
        return;
    }
    accept_list(w, l, st->czxid);
}

static void data_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    if (type == ZOO_CHANGED_EVENT || type == ZOO_CREATED_EVENT || type == ZOO_DELETED_EVENT)
        read_list((watch *)ctx, zh);
}

static void read_list(watch *w, zhandle_t *zh) {
    if (!zh) return;
    int rc = zoo_awget(zh, w->path, data_watcher, w, data_done, w);
    if (rc != ZOK) log_debug("%s: awget: %s (retried on reconnect)", w->path, zerror(rc));
}

/* The global watcher: session events only (data and exists watches have
 * data_watcher). */
static void session_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    watch *w = (watch *)ctx;
    if (type != ZOO_SESSION_EVENT) return;
    if (state == ZOO_CONNECTED_STATE) {
        log_info("connected to ZooKeeper; reading %s", w->path);
        read_list(w, zh);
    } else if (state == ZOO_EXPIRED_SESSION_STATE || state == ZOO_AUTH_FAILED_STATE) {
        log_warn("ZooKeeper session %s; keeping the last good list, opening a new session",
                 state == ZOO_EXPIRED_SESSION_STATE ? "expired" : "auth failed");
        pthread_mutex_lock(&w->mu);
        w->expired = 1;
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
    } else if (state == ZOO_CONNECTING_STATE) {
        log_info("ZooKeeper connection lost; keeping the last good list while reconnecting");
    }
}

static zhandle_t *open_handle(watch *w) {
    return zookeeper_init(w->hosts, session_watcher, w->timeout_ms, NULL, w, 0);
}

/* Watch thread: replaces an expired handle. Called without mu. */
static void reopen(watch *w) {
    pthread_mutex_lock(&w->mu);
    zhandle_t *old = w->zh;
    w->zh = NULL;
    w->expired = 0;
    pthread_mutex_unlock(&w->mu);
    if (old) zookeeper_close(old);
    zhandle_t *zh = open_handle(w);
    if (!zh) log_warn("zookeeper_init %s: %s; retrying in 1s", w->hosts, strerror(errno));
    pthread_mutex_lock(&w->mu);
    w->zh = zh;
    if (!zh) w->expired = 1;
    pthread_mutex_unlock(&w->mu);
}

static void wait_1s(watch *w) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 1;
    pthread_cond_timedwait(&w->cv, &w->mu, &ts);
}

static void *thread_main(void *arg) {
    watch *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        if (w->expired) {
            pthread_mutex_unlock(&w->mu);
            reopen(w);
            pthread_mutex_lock(&w->mu);
            if (w->expired) wait_1s(w);
        } else if (w->dirty) {
            w->dirty = 0;
            srvlist *copy = srvlist_copy(w->last);
            pthread_mutex_unlock(&w->mu);
            if (copy && w->cb) w->cb(copy, w->ud);
            if (!copy) log_error("out of memory copying the server list");
            srvlist_free(copy);
            pthread_mutex_lock(&w->mu);
            w->deliveries++;
        } else {
            pthread_cond_wait(&w->cv, &w->mu);
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

watch *watch_create(const watch_opts *o, char *err, size_t errlen) {
    if (!o || !o->hosts || !*o->hosts || !o->path || o->path[0] != '/') {
        snprintf(err, errlen, "watch: need ZooKeeper hosts and an absolute znode path");
        return NULL;
    }
    watch *w = calloc(1, sizeof(*w));
    if (!w) goto oom;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->hosts = strdup(o->hosts);
    w->path = strdup(o->path);
    w->timeout_ms = o->session_timeout_ms > 0 ? o->session_timeout_ms : 10000;
    w->cb = o->cb;
    w->ud = o->ud;
    if (!w->hosts || !w->path) goto oom;
    w->zh = open_handle(w);
    if (!w->zh) {
        snprintf(err, errlen, "zookeeper_init %s: %s", o->hosts, strerror(errno));
        watch_free(w);
        return NULL;
    }
    if (pthread_create(&w->thread, NULL, thread_main, w) != 0) goto oom;
    w->thread_started = 1;
    return w;
oom:
    snprintf(err, errlen, "watch: out of resources");
    watch_free(w);
    return NULL;
}

srvlist *watch_last(watch *w) {
    pthread_mutex_lock(&w->mu);
    srvlist *c = w->last ? srvlist_copy(w->last) : NULL;
    pthread_mutex_unlock(&w->mu);
    return c;
}

long watch_deliveries(watch *w) {
    pthread_mutex_lock(&w->mu);
    long n = w->deliveries;
    pthread_mutex_unlock(&w->mu);
    return n;
}

void watch_free(watch *w) {
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (w->thread_started) pthread_join(w->thread, NULL);
    pthread_mutex_lock(&w->mu);        /* the thread may have reopened it */
    zhandle_t *zh = w->zh;
    w->zh = NULL;
    pthread_mutex_unlock(&w->mu);
    if (zh) zookeeper_close(zh);
    srvlist_free(w->last);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w->hosts);
    free(w->path);
    free(w);
}
