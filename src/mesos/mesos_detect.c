/* mesos_detect.c -- leading Mesos master from ZooKeeper (see mesos_detect.h).
 *
 * Shape: event-driven on ZooKeeper's own threads, like src/discovery/watch.c.
 * Nothing there blocks: every ZooKeeper call is asynchronous, and a chain of
 * completions walks the candidates in sequence order:
 *
 *   session CONNECTED ─session_watcher─▶ list()  ─zoo_awget_children─▶ children_done
 *   child watch fires ─child_watcher─▶ list()
 *   children_done ZOK ─▶ scan{json.info_* by sequence} ─zoo_aget─▶ data_done
 *   data_done: usable MasterInfo ─▶ publish(leader); malformed/vanished ─▶ next candidate
 *   children_done ZNONODE ─zoo_awexists(watch)─▶ created later: child_watcher ─▶ list()
 *   session EXPIRED ─session_watcher─▶ expired = 1 ─▶ detector thread: reopen()
 *
 * A newer listing supersedes a scan still in flight: each scan carries the
 * epoch it started in and stops once d->epoch has moved on.
 *
 * Threads: ZooKeeper's IO/completion threads run the watchers and *_done; the
 * detector thread only reopens expired sessions; any thread reads the leader.
 * Invariants: (1) `leader`/`gen` change only in publish(), under mu; gen grows
 * by one on every change and the first answer makes it >= 1. (2) A ZooKeeper
 * callback never blocks and never closes a handle. (3) d->zh changes only on
 * the detector thread (and in new/free). (4) While the session is merely
 * disconnected the last leader stays published: the stream notices a dead
 * master by itself, and ZooKeeper tells us the truth again on reconnect. */
#define LOG_COMPONENT "mesos-detect"
#include "mesos_detect.h"

#include "log.h"
#include "mcm.h"

#include <jansson.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zookeeper/zookeeper.h>

#define MDET_PREFIX "json.info_"
#define MDET_ADDR_MAX 300

struct mdet {
    char *hosts, *path;
    int timeout_ms;
    pthread_t thread;
    int thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* under mu: */
    zhandle_t *zh;
    zhandle_t *closing;          /* being closed: no new calls on it */
    int stop, expired;
    uint64_t gen;                /* grows with every leader change */
    uint64_t epoch;              /* grows with every listing answered */
    char leader[MDET_ADDR_MAX];  /* "" = none */
};

/* One walk over the candidates of one listing, lowest sequence first. */
typedef struct mdet_scan {
    mdet *d;
    uint64_t epoch;
    int n, i;
    char **names;
} mdet_scan;

static void list_children(mdet *d, zhandle_t *zh);

/* --- MasterInfo JSON ------------------------------------------------------- */

static int valid_port(json_t *p) {
    return json_is_integer(p) && json_integer_value(p) > 0 && json_integer_value(p) <= 65535;
}

static void format_addr(const char *host, long long port, char *out, size_t outlen) {
    if (strchr(host, ':')) snprintf(out, outlen, "[%s]:%lld", host, port);
    else snprintf(out, outlen, "%s:%lld", host, port);
}

static int nonempty_str(json_t *v) {
    return json_is_string(v) && json_string_length(v) > 0;
}

int mdet_parse_master_info(const char *json, size_t len, char *out, size_t outlen, char *err,
                           size_t errlen) {
    json_error_t jerr;
    json_t *root = json_loadb(json, len, 0, &jerr);
    if (!root || !json_is_object(root)) {
        snprintf(err, errlen, "not a JSON object%s%s", root ? "" : ": ", root ? "" : jerr.text);
        json_decref(root);
        return MCM_ERR;
    }
    int rc = MCM_OK;
    json_t *a = json_object_get(root, "address");
    json_t *aport = a ? json_object_get(a, "port") : NULL;
    json_t *port = json_object_get(root, "port");
    json_t *v;
    if (json_is_object(a) && valid_port(aport) && nonempty_str(v = json_object_get(a, "ip"))) {
        format_addr(json_string_value(v), json_integer_value(aport), out, outlen);
    } else if (json_is_object(a) && valid_port(aport) && nonempty_str(v = json_object_get(a, "hostname"))) {
        format_addr(json_string_value(v), json_integer_value(aport), out, outlen);
    } else if (valid_port(port) && nonempty_str(v = json_object_get(root, "hostname"))) {
        format_addr(json_string_value(v), json_integer_value(port), out, outlen);
    } else if (valid_port(port) && json_is_integer(v = json_object_get(root, "ip")) &&
               json_integer_value(v) > 0 && json_integer_value(v) <= 0xffffffffLL) {
        /* uint32 holding the IPv4 bytes in network order, read little-endian */
        unsigned long ip = (unsigned long)json_integer_value(v);
        char host[16];
        snprintf(host, sizeof(host), "%lu.%lu.%lu.%lu", ip & 0xff, (ip >> 8) & 0xff,
                 (ip >> 16) & 0xff, (ip >> 24) & 0xff);
        format_addr(host, json_integer_value(port), out, outlen);
    } else {
        snprintf(err, errlen, "MasterInfo without a usable address (address.ip/port, hostname/port)");
        rc = MCM_ERR;
    }
    json_decref(root);
    return rc;
}

/* --- publishing ------------------------------------------------------------ */

static void publish(mdet *d, const char *leader, const char *node) {
    pthread_mutex_lock(&d->mu);
    int changed = strcmp(d->leader, leader) != 0 || d->gen == 0;
    if (changed) {
        snprintf(d->leader, sizeof(d->leader), "%s", leader);
        d->gen++;
        pthread_cond_broadcast(&d->cv);
    }
    pthread_mutex_unlock(&d->mu);
    if (!changed) return;
    if (*leader) log_notice("leading Mesos master is %s (%s/%s)", leader, d->path, node);
    else log_warn("no leading Mesos master under zk://%s%s", d->hosts, d->path);
}

/* Called with mu held, around each call: the handle to call on, or NULL.
 * No call is made on a handle that zookeeper_close is closing, or once the
 * detector is stopping: the library neither completes nor frees such a call
 * (LeakSanitizer saw a watcher registration left behind). The call itself
 * stays under mu: it only queues a request, and no ZooKeeper thread holds a
 * library lock while it runs our callbacks. `zh` is the handle an event came
 * on (NULL: the current one); it may be a new one reopen has not stored yet. */
static zhandle_t *usable_zh(mdet *d, zhandle_t *zh) {
    if (!zh) zh = d->zh;
    return d->stop || zh == d->closing ? NULL : zh;
}

/* --- the scan -------------------------------------------------------------- */

static void scan_free(mdet_scan *sc) {
    if (!sc) return;
    for (int i = 0; i < sc->n; i++) free(sc->names[i]);
    free(sc->names);
    free(sc);
}

static int scan_current(mdet_scan *sc) {
    pthread_mutex_lock(&sc->d->mu);
    int cur = sc->epoch == sc->d->epoch && !sc->d->stop;
    pthread_mutex_unlock(&sc->d->mu);
    return cur;
}

static void data_done(int rc, const char *value, int len, const struct Stat *st, const void *data);

/* Fetches candidate sc->i, or publishes "none" when the candidates ran out. */
static void scan_step(mdet_scan *sc) {
    if (!scan_current(sc)) {
        scan_free(sc);
        return;
    }
    if (sc->i >= sc->n) {
        publish(sc->d, "", "");
        scan_free(sc);
        return;
    }
    char p[1024];
    snprintf(p, sizeof(p), "%s/%s", sc->d->path, sc->names[sc->i]);
    pthread_mutex_lock(&sc->d->mu);
    zhandle_t *zh = usable_zh(sc->d, NULL);
    int rc = zh ? zoo_aget(zh, p, 0, data_done, sc) : ZINVALIDSTATE;
    pthread_mutex_unlock(&sc->d->mu);
    if (rc != ZOK) {
        log_debug("get %s: %s (retried on reconnect)", p, zerror(rc));
        scan_free(sc);
    }
}

static void data_done(int rc, const char *value, int len, const struct Stat *st, const void *data) {
    mdet_scan *sc = (mdet_scan *)data;
    const char *name = sc->names[sc->i];
    if (rc == ZOK) {
        char addr[MDET_ADDR_MAX], err[256];
        if (value && len > 0 &&
            mdet_parse_master_info(value, (size_t)len, addr, sizeof(addr), err, sizeof(err)) == MCM_OK) {
            if (scan_current(sc)) publish(sc->d, addr, name);
            scan_free(sc);
            return;
        }
        log_warn("%s/%s: %s; skipped", sc->d->path, name, value && len > 0 ? err : "empty znode");
    } else if (rc != ZNONODE) {   /* connection loss, closing: the next session event lists again */
        log_debug("get %s/%s: %s", sc->d->path, name, zerror(rc));
        scan_free(sc);
        return;
    }
    sc->i++;
    scan_step(sc);
}

static long long seq_of(const char *name) {
    return strtoll(name + strlen(MDET_PREFIX), NULL, 10);
}

static int by_seq(const void *a, const void *b) {
    long long x = seq_of(*(char *const *)a), y = seq_of(*(char *const *)b);
    return x < y ? -1 : x > y;
}

static int is_candidate(const char *name) {
    size_t pl = strlen(MDET_PREFIX);
    if (strncmp(name, MDET_PREFIX, pl) != 0 || name[pl] == '\0') return 0;
    for (const char *c = name + pl; *c; c++)
        if (*c < '0' || *c > '9') return 0;
    return 1;
}

static mdet_scan *scan_new(mdet *d, const struct String_vector *sv) {
    mdet_scan *sc = calloc(1, sizeof(*sc));
    if (!sc) return NULL;
    sc->d = d;
    sc->names = calloc((size_t)(sv->count > 0 ? sv->count : 1), sizeof(char *));
    if (!sc->names) goto oom;
    for (int i = 0; i < sv->count; i++) {
        if (!is_candidate(sv->data[i])) continue;
        if (!(sc->names[sc->n] = strdup(sv->data[i]))) goto oom;
        sc->n++;
    }
    qsort(sc->names, (size_t)sc->n, sizeof(char *), by_seq);
    pthread_mutex_lock(&d->mu);
    sc->epoch = ++d->epoch;
    pthread_mutex_unlock(&d->mu);
    return sc;
oom:
    scan_free(sc);
    return NULL;
}

/* --- watches --------------------------------------------------------------- */

static void exists_done(int rc, const struct Stat *st, const void *data) {
    mdet *d = (mdet *)data;
    if (rc == ZOK) list_children(d, NULL);   /* created meanwhile */
}

static void children_done(int rc, const struct String_vector *sv, const void *data) {
    mdet *d = (mdet *)data;
    if (rc == ZNONODE) {
        publish(d, "", "");
        pthread_mutex_lock(&d->mu);
        zhandle_t *zh = usable_zh(d, NULL);
        if (zh) zoo_aexists(zh, d->path, 1, exists_done, d);   /* watch: the global watcher */
        pthread_mutex_unlock(&d->mu);
        return;
    }
    if (rc != ZOK) {
        log_debug("children of %s: %s (retried on reconnect)", d->path, zerror(rc));
        return;
    }
    mdet_scan *sc = scan_new(d, sv);
    if (!sc) {
        log_error("out of memory listing %s", d->path);
        return;
    }
    scan_step(sc);
}

static void child_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    if (type == ZOO_CHILD_EVENT || type == ZOO_DELETED_EVENT || type == ZOO_CREATED_EVENT)
        list_children((mdet *)ctx, zh);
}

static void list_children(mdet *d, zhandle_t *zh) {
    pthread_mutex_lock(&d->mu);
    zh = usable_zh(d, zh);
    int rc = zh ? zoo_awget_children(zh, d->path, child_watcher, d, children_done, d) : ZOK;
    pthread_mutex_unlock(&d->mu);
    if (rc == ZOK) return;
    log_debug("children of %s: %s (retried on reconnect)", d->path, zerror(rc));
}

static void session_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    mdet *d = (mdet *)ctx;
    if (type == ZOO_CHILD_EVENT || type == ZOO_CREATED_EVENT || type == ZOO_DELETED_EVENT) {
        list_children(d, zh);   /* the exists watch on a missing path lands here */
        return;
    }
    if (type != ZOO_SESSION_EVENT) return;
    if (state == ZOO_CONNECTED_STATE) {
        log_info("connected to ZooKeeper %s; reading %s", d->hosts, d->path);
        list_children(d, zh);
    } else if (state == ZOO_EXPIRED_SESSION_STATE || state == ZOO_AUTH_FAILED_STATE) {
        log_warn("ZooKeeper session for master detection %s; opening a new one",
                 state == ZOO_EXPIRED_SESSION_STATE ? "expired" : "failed authentication");
        pthread_mutex_lock(&d->mu);
        d->expired = 1;
        pthread_cond_broadcast(&d->cv);
        pthread_mutex_unlock(&d->mu);
    }
}

/* --- the detector thread --------------------------------------------------- */

static zhandle_t *open_handle(mdet *d) {
    return zookeeper_init(d->hosts, session_watcher, d->timeout_ms, NULL, d, 0);
}

static void reopen(mdet *d) {
    pthread_mutex_lock(&d->mu);
    zhandle_t *old = d->zh;
    d->zh = NULL;
    d->closing = old;
    d->expired = 0;
    pthread_mutex_unlock(&d->mu);
    if (old) zookeeper_close(old);
    zhandle_t *zh = open_handle(d);
    if (!zh) log_warn("zookeeper_init %s: %s; retrying in 1s", d->hosts, strerror(errno));
    pthread_mutex_lock(&d->mu);
    d->closing = NULL;
    d->zh = zh;
    if (!zh) d->expired = 1;
    pthread_mutex_unlock(&d->mu);
}

static void timed_wait(mdet *d, int64_t ms) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&d->cv, &d->mu, &ts);
}

static void *detector_main(void *arg) {
    mdet *d = arg;
    pthread_mutex_lock(&d->mu);
    while (!d->stop) {
        if (d->expired) {
            pthread_mutex_unlock(&d->mu);
            reopen(d);
            pthread_mutex_lock(&d->mu);
            if (d->expired && !d->stop) timed_wait(d, 1000);
        } else {
            pthread_cond_wait(&d->cv, &d->mu);
        }
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

/* --- public ---------------------------------------------------------------- */

mdet *mdet_new(const char *hosts, const char *path, int session_timeout_ms, char *err, size_t errlen) {
    if (!hosts || !*hosts || !path || path[0] != '/') {
        snprintf(err, errlen, "master detection: need ZooKeeper hosts and an absolute path");
        return NULL;
    }
    mdet *d = calloc(1, sizeof(*d));
    if (!d) goto oom;
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    d->hosts = strdup(hosts);
    d->path = strdup(path);
    d->timeout_ms = session_timeout_ms > 0 ? session_timeout_ms : 10000;
    if (!d->hosts || !d->path) goto oom;
    d->zh = open_handle(d);
    if (!d->zh) {
        snprintf(err, errlen, "zookeeper_init %s: %s", hosts, strerror(errno));
        mdet_free(d);
        return NULL;
    }
    if (pthread_create(&d->thread, NULL, detector_main, d) != 0) goto oom;
    d->thread_started = 1;
    return d;
oom:
    snprintf(err, errlen, "master detection: out of resources");
    mdet_free(d);
    return NULL;
}

void mdet_free(mdet *d) {
    if (!d) return;
    pthread_mutex_lock(&d->mu);
    d->stop = 1;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
    if (d->thread_started) pthread_join(d->thread, NULL);
    pthread_mutex_lock(&d->mu);
    zhandle_t *zh = d->zh;
    d->zh = NULL;
    pthread_mutex_unlock(&d->mu);
    if (zh) zookeeper_close(zh);   /* completes pending calls (ZCLOSING): scans are freed there */
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    free(d->hosts);
    free(d->path);
    free(d);
}

uint64_t mdet_leader(mdet *d, char *buf, size_t len) {
    pthread_mutex_lock(&d->mu);
    snprintf(buf, len, "%s", d->leader);
    uint64_t g = d->gen;
    pthread_mutex_unlock(&d->mu);
    return g;
}

uint64_t mdet_wait(mdet *d, uint64_t gen, int64_t timeout_ms) {
    pthread_mutex_lock(&d->mu);
    if (d->gen == gen && timeout_ms > 0) timed_wait(d, timeout_ms);
    uint64_t g = d->gen;
    pthread_mutex_unlock(&d->mu);
    return g;
}
