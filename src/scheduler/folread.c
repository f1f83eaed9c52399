/* folread.c -- the follower's reader thread (see folread.h).
 *
 * Shape: one thread, one state object and one ZooKeeper session of its own,
 * both owned by that thread once it runs (opened lazily, reopened after an
 * expiry, closed by fr_free after the join). The mutex guards only the
 * switches: on, stop, and the time of the next look; nothing is held while
 * ZooKeeper is read or while the callback runs.
 *
 * Thread loop:
 *   stop                       -> exit
 *   not on                     -> wait for fr_follow
 *   before next look           -> wait until then (or a switch)
 *   due                        -> look(): mark same (or moved by writes the
 *                                 task log shows touched no record) and full
 *                                 read not due, or backing off under churn (read_due):
 *                                 nothing; else state_load, the JSON array,
 *                                 the callback; next look in FR_LOOK_MS
 * fr_follow(1) after (0) forgets the last mark, so following starts with a
 * full read at once. */
#define LOG_COMPONENT "publish"
#include "folread.h"
#include "log.h"
#include "mcm.h"
#include "util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FR_CONNECT_MS 2000

struct folread {
    char *hosts, *root, *auth;
    int64_t timeout_ms;
    int instances_max;
    fr_cb cb;
    void *ud;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* under mu: */
    int on, stop;
    uint64_t gen;          /* +1 at every fr_follow(1) after (0): the thread forgets its mark */
    int64_t next_ms;       /* monotonic: the next look */
    /* the thread's own: */
    zks *z;
    state *st;
    uint64_t seen_gen;
    state_mark mark;           /* the last copy's */
    int marked;
    int64_t full_at_ms;
    state_mark last_look;      /* the mark at the previous look */
    int looked;
    int64_t gap_ms, read_ok_ms;   /* under churn: the wait before the next read */
};

void fr_copy_free(fr_copy *c) {
    if (!c) return;
    state_snapshot_clear(&c->snap);
    free(c->tasks_json);
    free(c);
}

/* "[{record},{record},...]" from the records' own JSON. */
static char *tasks_array(const state_snapshot *s) {
    size_t cap = 64, len = 1;
    char *out = malloc(cap);
    if (!out) return NULL;
    out[0] = '[';
    for (int i = 0; i < s->ntasks; i++) {
        char *js = state_task_to_json(&s->tasks[i]);
        size_t n = js ? strlen(js) : 0;
        if (js && len + n + 3 > cap) {
            while (len + n + 3 > cap) cap *= 2;
            char *grown = realloc(out, cap);
            if (!grown) {
                free(js);
                free(out);
                return NULL;
            }
            out = grown;
        }
        if (js) {
            if (len > 1) out[len++] = ',';
            memcpy(out + len, js, n);
            len += n;
        }
        free(js);
    }
    out[len++] = ']';
    out[len] = '\0';
    return out;
}

/* The session and the state object, opened or reopened as needed. */
static int ready(folread *r) {
    char err[512];
    if (r->z && zks_expired(r->z) && zks_reopen(r->z, FR_CONNECT_MS, err, sizeof(err)) != MCM_OK) {
        log_verbose("follower copy: new ZooKeeper session: %s", err);
        return 0;
    }
    if (!r->z) {
        zks_config zc = {r->hosts, r->root, r->timeout_ms, r->auth, NULL, NULL};
        if (!(r->z = zks_new(&zc, FR_CONNECT_MS, err, sizeof(err)))) {
            log_verbose("follower copy: ZooKeeper session: %s", err);
            return 0;
        }
    }
    if (!r->st && (r->st = state_new(r->z, NULL))) state_set_instances_max(r->st, r->instances_max);
    return r->st && zks_connected(r->z);
}

/* Whether to read the records now; moved: the mark is not the last copy's
 * (or could not be read). Under churn (the mark moves between
 * looks) reading them all every 5 s only loads ZooKeeper, since a copy that
 * is never current cannot serve a takeover, and at N = 1,000 two followers
 * doing so made a new leader's own read take 14 s instead of 1.5 s: the
 * reads then back off, 5 s doubling to FR_FULL_MS, and return to every look
 * once two looks in a row see the same mark. */
static int read_due(folread *r, const state_mark *m, int have_mark, int moved, int64_t now) {
    int quiet = have_mark && r->looked && state_mark_same(m, &r->last_look);
    r->looked = have_mark;
    if (have_mark) r->last_look = *m;
    if (!moved) {
        r->gap_ms = FR_LOOK_MS;
        return now >= r->full_at_ms;
    }
    if (quiet) r->gap_ms = FR_LOOK_MS, r->read_ok_ms = 0;
    if (now < r->read_ok_ms) return 0;
    r->read_ok_ms = now + r->gap_ms;
    r->gap_ms = r->gap_ms * 2 < FR_FULL_MS ? r->gap_ms * 2 : FR_FULL_MS;
    return 1;
}

/* One look, the one due at `now` (its schedule, not the time ready() took
 * to open a session): the records when the mark moved (read_due) or the
 * full read is due. */
static void look(folread *r, int64_t now) {
    char err[256];
    state_mark m;
    if (!ready(r)) return;
    int have_mark = state_read_mark(r->st, &m, err, sizeof(err)) == MCM_OK;
    int moved = !r->marked || !have_mark || !state_mark_same(&m, &r->mark);
    if (moved && r->marked && have_mark && state_records_unchanged(r->st, &r->mark, &m))
        r->mark = m, moved = 0;   /* only other writes: the copy (and the core's) still holds */
    if (!read_due(r, &m, have_mark, moved, now)) return;
    fr_copy *c = calloc(1, sizeof(*c));
    if (!c) return;
    if (state_load(r->st, &c->snap, err, sizeof(err)) != MCM_OK) {   /* takes its own mark first */
        log_verbose("follower task view not refreshed: %s", err);
        fr_copy_free(c);
        return;
    }
    c->read_ms = util_now_ms() - now;   /* with the session's opening, if this look opened it */
    c->full = !moved;
    r->mark = c->snap.mark;
    r->marked = c->snap.marked;
    r->full_at_ms = now + FR_FULL_MS;
    if (!(c->tasks_json = tasks_array(&c->snap))) {
        log_error("out of memory rendering the follower's task view");
        fr_copy_free(c);
        return;
    }
    if (!r->cb(r->ud, c)) r->marked = 0;
}

static void wait_until(folread *r, int64_t at_ms) {
    struct timespec ts;
    int64_t ms = at_ms - util_now_ms();
    if (ms > 1000) ms = 1000;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    pthread_cond_timedwait(&r->cv, &r->mu, &ts);
}

static void *thread_main(void *arg) {
    folread *r = arg;
    pthread_mutex_lock(&r->mu);
    while (!r->stop) {
        int64_t now = util_now_ms();
        if (!r->on || now < r->next_ms) {
            wait_until(r, r->on ? r->next_ms : now + 1000);
            continue;
        }
        if (r->gen != r->seen_gen)   /* following again: start afresh */
            r->marked = 0, r->looked = 0, r->read_ok_ms = 0, r->gap_ms = FR_LOOK_MS, r->seen_gen = r->gen;
        r->next_ms = now + FR_LOOK_MS;
        pthread_mutex_unlock(&r->mu);
        look(r, now);
        pthread_mutex_lock(&r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

folread *fr_new(const zks_config *zc, int instances_max, fr_cb cb, void *ud) {
    folread *r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    r->hosts = strdup(zc->hosts);
    r->root = strdup(zc->root);
    r->auth = zc->auth ? strdup(zc->auth) : NULL;
    r->timeout_ms = zc->session_timeout_ms;
    r->instances_max = instances_max;
    r->cb = cb;
    r->ud = ud;
    r->gap_ms = FR_LOOK_MS;
    pthread_mutex_init(&r->mu, NULL);
    util_cond_init_monotonic(&r->cv);
    if (!r->hosts || !r->root || (zc->auth && !r->auth) || pthread_create(&r->thread, NULL, thread_main, r)) {
        pthread_cond_destroy(&r->cv);
        pthread_mutex_destroy(&r->mu);
        free(r->hosts), free(r->root), free(r->auth), free(r);
        return NULL;
    }
    return r;
}

void fr_follow(folread *r, int on, int64_t delay_ms) {
    if (!r) return;
    pthread_mutex_lock(&r->mu);
    if (on && !r->on) {
        r->gen++;
        r->next_ms = util_now_ms() + delay_ms;
    }
    r->on = on;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

void fr_free(folread *r) {
    if (!r) return;
    pthread_mutex_lock(&r->mu);
    r->stop = 1;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    state_free(r->st);
    zks_free(r->z);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r->hosts), free(r->root), free(r->auth), free(r);
}
