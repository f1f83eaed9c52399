/* replica.c -- test replica: zks + elect + state on an owner thread (see replica.h).
 * Lock rules: `mu` guards the flags, the call slot and the event log; it is
 * never held while calling into zks/elect/state. */
#include "replica.h"
#include "harness.h"
#include "log.h"
#include "mcm.h"
#include "util.h"

#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct replica {
    char name[32];
    zks *z;
    elect *e;
    state *st;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int woken, connected, expired, stop, paused;
    int (*call_fn)(replica *, void *);
    void *call_arg;
    int call_done, call_ret;
    rep_event ev[REPLICA_MAX_EVENTS];
    int nev;
    atomic_int leader;
};

static void poke(replica *r, int *flag) {
    pthread_mutex_lock(&r->mu);
    *flag = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static void on_zk(void *ctx, zks_event ev) {
    replica *r = ctx;
    if (ev == ZKS_CONNECTED) poke(r, &r->connected);
    else if (ev == ZKS_EXPIRED || ev == ZKS_AUTH_FAILED) poke(r, &r->expired);
}

static void on_wake(void *ctx) { poke((replica *)ctx, &((replica *)ctx)->woken); }

static void record(replica *r, int elected, const char *why) {
    pthread_mutex_lock(&r->mu);
    if (r->nev < REPLICA_MAX_EVENTS) {
        rep_event *e = &r->ev[r->nev++];
        e->t_ms = util_now_ms();
        e->elected = elected;
        snprintf(e->why, sizeof(e->why), "%s", why);
    }
    pthread_mutex_unlock(&r->mu);
    atomic_store(&r->leader, elected);
}

static void on_elected(void *ctx) { record(ctx, 1, "elected"); }
static void on_deposed(void *ctx, const char *why) { record(ctx, 0, why); }

static void recover(replica *r) {
    char err[256];
    elect_session_lost(r->e);
    while (zks_reopen(r->z, 2000, err, sizeof(err)) != MCM_OK) {
        pthread_mutex_lock(&r->mu);
        int stop = r->stop;
        pthread_mutex_unlock(&r->mu);
        if (stop) return;
        log_info("%s: reopen: %s", r->name, err);
    }
    if (elect_join(r->e, err, sizeof(err)) != MCM_OK) log_info("%s: join: %s", r->name, err);
}

static void *owner(void *arg) {
    replica *r = arg;
    char err[256];
    for (;;) {
        pthread_mutex_lock(&r->mu);
        if (!r->stop && !r->call_fn && !r->woken && !r->connected && !r->expired) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 20 * 1000000;
            if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
            pthread_cond_timedwait(&r->cv, &r->mu, &ts);
        }
        int stop = r->stop, paused = r->paused, check = 0, expired = 0;
        int (*fn)(replica *, void *) = r->call_fn;
        if (!paused) {
            check = r->woken || r->connected;
            expired = r->expired;
            r->woken = r->connected = r->expired = 0;
        }
        pthread_mutex_unlock(&r->mu);
        if (stop) return NULL;
        if (fn) {
            int ret = fn(r, r->call_arg);
            pthread_mutex_lock(&r->mu);
            r->call_fn = NULL;
            r->call_ret = ret;
            r->call_done = 1;
            pthread_cond_broadcast(&r->cv);
            pthread_mutex_unlock(&r->mu);
        }
        if (paused) continue;
        if (expired) {
            recover(r);
            check = 1;
        }
        if (check && elect_check(r->e, err, sizeof(err)) != MCM_OK)
            log_info("%s: elect_check: %s", r->name, err);
        elect_tick(r->e);
    }
}

replica *replica_start(const char *name, const char *hosts, const char *root, int64_t timeout_ms,
                       const char *auth) {
    replica *r = calloc(1, sizeof(*r));
    ck_assert_ptr_nonnull(r);
    snprintf(r->name, sizeof(r->name), "%s", name);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    char err[256] = "", ident[128];
    zks_config cfg = {.hosts = hosts, .root = root, .session_timeout_ms = timeout_ms, .auth = auth,
                      .ctx = r, .on_event = on_zk};
    r->z = zks_new(&cfg, 15000, err, sizeof(err));
    ck_assert_msg(r->z != NULL, "%s: zks_new: %s", name, err);
    snprintf(ident, sizeof(ident), "{\"id\":\"%s\"}", name);
    elect_callbacks cb = {.ctx = r, .wake = on_wake, .elected = on_elected, .deposed = on_deposed};
    r->e = elect_new(r->z, ident, &cb);
    r->st = state_new(r->z, r->e);
    ck_assert_ptr_nonnull(r->e);
    ck_assert_ptr_nonnull(r->st);
    ck_assert_msg(state_init(r->st, err, sizeof(err)) == MCM_OK, "%s: state_init: %s", name, err);
    ck_assert_msg(elect_join(r->e, err, sizeof(err)) == MCM_OK, "%s: join: %s", name, err);
    r->woken = 1;
    ck_assert_int_eq(pthread_create(&r->th, NULL, owner, r), 0);
    return r;
}

int64_t replica_stop(replica *r, int resign) {
    if (!r) return 0;
    pthread_mutex_lock(&r->mu);
    r->stop = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->th, NULL);
    char err[256];
    int64_t t = util_now_ms();
    if (resign && elect_resign(r->e, err, sizeof(err)) != MCM_OK) log_info("%s: resign: %s", r->name, err);
    if (!resign) elect_session_lost(r->e);   /* killed: forget the node, the close deletes it */
    state_free(r->st);
    elect_free(r->e);
    zks_free(r->z);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r);
    return t;
}

int replica_is_leader(replica *r) { return atomic_load(&r->leader); }
const char *replica_name(const replica *r) { return r->name; }
zks *replica_zks(replica *r) { return r->z; }
elect *replica_elect(replica *r) { return r->e; }
state *replica_state(replica *r) { return r->st; }

void replica_pause(replica *r, int paused) {
    pthread_mutex_lock(&r->mu);
    r->paused = paused;
    if (!paused) r->woken = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

int replica_call(replica *r, int (*fn)(replica *r, void *arg), void *arg) {
    pthread_mutex_lock(&r->mu);
    while (r->call_fn) pthread_cond_wait(&r->cv, &r->mu);
    r->call_fn = fn;
    r->call_arg = arg;
    r->call_done = 0;
    pthread_cond_broadcast(&r->cv);
    while (!r->call_done) pthread_cond_wait(&r->cv, &r->mu);
    int ret = r->call_ret;
    pthread_mutex_unlock(&r->mu);
    return ret;
}

int replica_events(replica *r, rep_event *out, int max) {
    pthread_mutex_lock(&r->mu);
    int n = r->nev < max ? r->nev : max;
    memcpy(out, r->ev, sizeof(*out) * (size_t)n);
    pthread_mutex_unlock(&r->mu);
    return n;
}

int64_t replica_elected_after(replica *r, int64_t t) {
    int64_t found = -1;
    pthread_mutex_lock(&r->mu);
    for (int i = 0; i < r->nev && found < 0; i++)
        if (r->ev[i].elected && r->ev[i].t_ms >= t) found = r->ev[i].t_ms;
    pthread_mutex_unlock(&r->mu);
    return found;
}

typedef struct one_leader { replica **rs; int n; int idx; } one_leader;

static int exactly_one(void *arg) {
    one_leader *o = arg;
    int count = 0;
    for (int i = 0; i < o->n; i++)
        if (o->rs[i] && replica_is_leader(o->rs[i])) { count++; o->idx = i; }
    return count == 1;
}

int replicas_wait_one_leader(replica **rs, int n, int timeout_ms) {
    one_leader o = {rs, n, -1};
    return th_wait(exactly_one, &o, timeout_ms) ? o.idx : -1;
}

typedef struct interval { int64_t from, to; int who; } interval;

void replicas_assert_no_overlap(replica **rs, int n) {
    interval iv[REPLICA_MAX_EVENTS * 4];
    int niv = 0;
    rep_event *ev = calloc(REPLICA_MAX_EVENTS, sizeof(*ev));
    for (int i = 0; i < n; i++) {
        if (!rs[i]) continue;
        int m = replica_events(rs[i], ev, REPLICA_MAX_EVENTS);
        int64_t open = -1;
        for (int k = 0; k < m; k++) {
            ck_assert_msg(ev[k].elected == (open < 0), "%s: elected/deposed do not alternate at event %d",
                          replica_name(rs[i]), k);
            if (ev[k].elected) open = ev[k].t_ms;
            else { iv[niv++] = (interval){open, ev[k].t_ms, i}; open = -1; }
        }
        if (open >= 0) iv[niv++] = (interval){open, util_now_ms() + 1000000, i};
    }
    free(ev);
    for (int a = 0; a < niv; a++)
        for (int b = 0; b < niv; b++)
            if (iv[a].who != iv[b].who && iv[a].from < iv[b].to && iv[b].from < iv[a].to)
                ck_abort_msg("leadership overlap: %s [%lld, %lld] and %s [%lld, %lld]",
                             replica_name(rs[iv[a].who]), (long long)iv[a].from, (long long)iv[a].to,
                             replica_name(rs[iv[b].who]), (long long)iv[b].from, (long long)iv[b].to);
}
