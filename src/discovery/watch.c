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
 *   no session for warn_after ─▶ watch thread (wakes every second):
 *                                 warn_unreachable() WARNING, again every repeat
 *
 * Reachability: `connected` and `down_since` follow the session events. A
 * handle that never connects gets no event at all (a wrong port, a firewall),
 * so the watch thread, not an event, notices the silence: it wakes at least
 * once a second and warns after half the session timeout (1 s to 10 s)
 * without a session, then every three session timeouts (5 s to 5 min), so an
 * outage is visible without flooding the log. Reading the list again is
 * still driven by the events only.
 *
 * Threads: ZooKeeper's IO/completion threads run the *_watcher and *_done
 * functions; the watch thread runs thread_main, reopen, the warnings and the
 * callback.
 * Invariants: (1) `last` only ever holds a document that passed
 * srvlist_from_json; nothing but accept() replaces it. (2) A ZooKeeper
 * callback never blocks: it takes `mu` only for pointer swaps, and `mu` is
 * never held across zookeeper_close or the user's callback. (3) w->zh changes
 * only on the watch thread (and in create/free). */
#define LOG_COMPONENT "watch"
#include "watch.h"
#include "log.h"
#include "mcm.h"
#include "util.h"

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
    zhandle_t *closing;      /* being closed: no new calls on it */
    int stop, expired, dirty;
    srvlist *last;           /* last good list */
    int64_t last_czxid;      /* czxid of the znode it came from */
    long deliveries;
    int connected;           /* a session is connected now */
    int64_t down_since;      /* monotonic ms: session lost (or watch created) */
    int64_t warned_at;       /* last "cannot reach" warning of this outage, 0: none */
    int read_state;          /* READ_*: outcome of the last read of the znode */
    char read_err[256];      /* READ_INVALID: why */
};

enum { READ_NONE, READ_OK, READ_NONODE, READ_INVALID };

static void read_list(watch *w, zhandle_t *zh);
static void watch_creation(watch *w, zhandle_t *zh);
static void data_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx);

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
    if (rc == ZOK) read_list(w, NULL);      /* created meanwhile */
    else if (rc != ZNONODE) log_debug("%s: exists: %s", w->path, zerror(rc));
}

static void set_read_state(watch *w, int state, const char *why) {
    pthread_mutex_lock(&w->mu);
    w->read_state = state;
    snprintf(w->read_err, sizeof(w->read_err), "%s", why ? why : "");
    pthread_mutex_unlock(&w->mu);
}

static void data_done(int rc, const char *value, int len, const struct Stat *st, const void *data) {
    watch *w = (watch *)data;
    if (rc == ZNONODE) {
        /* INFO: normal on a fresh installation until the first leader publishes. */
        set_read_state(w, READ_NONODE, NULL);
        log_info("%s: znode missing; keeping the last good list and waiting for it", w->path);
        watch_creation(w, NULL);
        return;
    }
    if (rc != ZOK) {
        log_debug("%s: get: %s (retried on reconnect)", w->path, zerror(rc));
        return;
    }
    char err[256];
    srvlist *l = value && len > 0 ? srvlist_from_json(value, (size_t)len, err, sizeof(err)) : NULL;
    if (!l) {
        const char *why = value && len > 0 ? err : "empty znode";
        set_read_state(w, READ_INVALID, why);
        log_warn("%s: not a valid server list (%s); keeping the last good list", w->path, why);
        return;
    }
    set_read_state(w, READ_OK, NULL);
    accept_list(w, l, st->czxid);
}

static void data_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    if (type == ZOO_CHANGED_EVENT || type == ZOO_CREATED_EVENT || type == ZOO_DELETED_EVENT)
        read_list((watch *)ctx, zh);
}

/* No call is made on a handle that zookeeper_close is closing, or once the
 * watch is stopping: the library neither completes nor frees a call made
 * then (LeakSanitizer saw its watcher registration left behind at a
 * shutdown). The check and the call are one step under mu, which is safe:
 * zoo_awget only queues the request, and no ZooKeeper thread holds a library
 * lock while it runs our callbacks. `zh` is the handle the event came on
 * (NULL: the current one); it may be a new handle that reopen has not stored
 * yet, so it is not compared with w->zh. */
static zhandle_t *usable_zh(watch *w, zhandle_t *zh) {
    if (!zh) zh = w->zh;
    return w->stop || zh == w->closing ? NULL : zh;
}

static void read_list(watch *w, zhandle_t *zh) {
    pthread_mutex_lock(&w->mu);
    zh = usable_zh(w, zh);
    int rc = zh ? zoo_awget(zh, w->path, data_watcher, w, data_done, w) : ZOK;
    pthread_mutex_unlock(&w->mu);
    if (rc != ZOK) log_debug("%s: awget: %s (retried on reconnect)", w->path, zerror(rc));
}

/* The exists watch on a missing znode, under the same rule as read_list. */
static void watch_creation(watch *w, zhandle_t *zh) {
    pthread_mutex_lock(&w->mu);
    zh = usable_zh(w, zh);
    if (zh) zoo_awexists(zh, w->path, data_watcher, w, exists_done, w);
    pthread_mutex_unlock(&w->mu);
}

/* Session up or down; returns the outage's length in ms if a "cannot reach"
 * warning was given for it (so its end is worth a line), else -1. */
static int64_t set_connected(watch *w, int up) {
    int64_t now = util_now_ms(), warned_outage = -1;
    pthread_mutex_lock(&w->mu);
    if (up && !w->connected && w->warned_at) warned_outage = now - w->down_since;
    if (!up && w->connected) w->down_since = now;
    if (up) w->warned_at = 0;
    w->connected = up;
    pthread_mutex_unlock(&w->mu);
    return warned_outage;
}

/* The global watcher: session events only (data and exists watches have
 * data_watcher). */
static void session_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    watch *w = (watch *)ctx;
    if (type != ZOO_SESSION_EVENT) return;
    if (state != ZOO_CONNECTED_STATE) set_connected(w, 0);
    if (state == ZOO_CONNECTED_STATE) {
        int64_t outage = set_connected(w, 1);
        if (outage >= 0)
            log_notice("ZooKeeper at %s reachable again after %lld s without a session", w->hosts,
                       (long long)(outage / 1000));
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
    w->closing = old;
    w->expired = 0;
    pthread_mutex_unlock(&w->mu);
    if (old) zookeeper_close(old);
    zhandle_t *zh = open_handle(w);
    if (!zh) log_warn("zookeeper_init %s: %s; retrying in 1s", w->hosts, strerror(errno));
    pthread_mutex_lock(&w->mu);
    w->closing = NULL;
    w->zh = zh;
    if (!zh) w->expired = 1;
    pthread_mutex_unlock(&w->mu);
}

/* Waits on cv (mu held) for a signal or one second (CLOCK_MONOTONIC). */
static void wait_1s(watch *w) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += 1;
    pthread_cond_timedwait(&w->cv, &w->mu, &ts);
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Watch thread, mu held: the "cannot reach" warning when it is due. */
static void warn_unreachable(watch *w) {
    if (w->connected) return;
    int64_t now = util_now_ms(), down = now - w->down_since;
    int64_t first = clamp64(w->timeout_ms / 2, 1000, 10000);
    int64_t every = clamp64(3 * (int64_t)w->timeout_ms, 5000, 300000);
    if (down < first || (w->warned_at && now - w->warned_at < every)) return;
    w->warned_at = now;
    pthread_mutex_unlock(&w->mu);
    log_warn("cannot reach ZooKeeper at %s for %lld s; keeping the last good list", w->hosts,
             (long long)(down / 1000));
    pthread_mutex_lock(&w->mu);
}

static void *thread_main(void *arg) {
    watch *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        if (w->expired) {
            pthread_mutex_unlock(&w->mu);
            reopen(w);
            pthread_mutex_lock(&w->mu);
            if (!w->expired) continue;
        } else if (w->dirty) {
            w->dirty = 0;
            srvlist *copy = srvlist_copy(w->last);
            pthread_mutex_unlock(&w->mu);
            if (copy && w->cb) w->cb(copy, w->ud);
            if (!copy) log_error("out of memory copying the server list");
            srvlist_free(copy);
            pthread_mutex_lock(&w->mu);
            w->deliveries++;
            continue;
        }
        warn_unreachable(w);
        if (!w->stop && (w->expired || !w->dirty)) wait_1s(w);   /* expired: retry in 1 s */
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
    util_cond_init_monotonic(&w->cv);
    w->down_since = util_now_ms();
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

void watch_describe(watch *w, char *buf, size_t len) {
    pthread_mutex_lock(&w->mu);
    if (!w->connected)
        snprintf(buf, len, "no ZooKeeper session with %s for %lld s", w->hosts,
                 (long long)((util_now_ms() - w->down_since) / 1000));
    else if (w->read_state == READ_NONODE)
        snprintf(buf, len, "%s does not exist (no leader has published a list yet?)", w->path);
    else if (w->read_state == READ_INVALID)
        snprintf(buf, len, "%s is not a valid server list (%s)", w->path, w->read_err);
    else if (w->last)
        snprintf(buf, len, "following %s (version %lld, %d servers)", w->path, (long long)w->last->version,
                 w->last->n);
    else
        snprintf(buf, len, "connected to %s, reading %s", w->hosts, w->path);
    pthread_mutex_unlock(&w->mu);
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
