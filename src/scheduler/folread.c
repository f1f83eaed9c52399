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
 *   not on                     -> drop the thread's copy; wait for fr_follow
 *   before next look           -> wait until then (or a switch)
 *   due                        -> look(): mark same and the full read not due:
 *                                 nothing. Mark moved: the thread's own copy
 *                                 brought up to date from the task log
 *                                 (state_catch_up: only the records written
 *                                 since), the small znodes read again, and
 *                                 the copy handed on.
 *                                 The log cannot tell (trimmed, a "*", a hand
 *                                 edit), no copy yet, or the minute's full
 *                                 read due: state_load, subject to the churn
 *                                 back-off (read_due); next look in FR_LOOK_MS
 * The thread keeps its copy (to catch it up) and hands the callback a deep
 * copy of it, so a follower holds the records twice: about 3 KB a record.
 * fr_follow(1) after (0) forgets the copy, so following starts with a full
 * read at once. */
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
    state_snapshot snap;       /* the thread's copy; valid while have_snap */
    int have_snap;
    int posted;                /* the callback took the copy as it is now */
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

/* Hands the callback a deep copy of the thread's copy. */
static void post(folread *r, int64_t started, int full, int fetched) {
    fr_copy *c = calloc(1, sizeof(*c));
    if (!c || state_snapshot_dup(&r->snap, &c->snap) != MCM_OK || !(c->tasks_json = tasks_array(&c->snap))) {
        log_error("out of memory copying the follower's task records");
        fr_copy_free(c);
        r->posted = 0;
        return;
    }
    c->read_ms = util_now_ms() - started;   /* with the session's opening, if this look opened it */
    c->full = full;
    c->caught_up = fetched >= 0;
    c->fetched = fetched;
    r->posted = r->cb(r->ud, c);
}

static void drop_snap(folread *r) {
    state_snapshot_clear(&r->snap);
    r->have_snap = r->posted = 0;
}

/* The thread's copy brought up to date from the task log, and the small
 * znodes (framework ID, desired count and autoscaling history, version)
 * read again, since any write moves the mark; 1 if it now matches
 * ZooKeeper (and was handed on: the mark moved, or the last copy was not
 * taken). */
static int catch_up(folread *r, int moved, int64_t now) {
    char err[256];
    int fetched = 0, reused = 0;
    if (moved) {
        state_snapshot fresh;
        if (state_catch_up(r->st, &r->snap, &fetched, err, sizeof(err)) != MCM_OK ||
            state_load_warm(r->st, &fresh, &r->snap, &reused, err, sizeof(err)) != MCM_OK) {
            log_verbose("follower copy not brought up to date (%s): reading every record", err);
            drop_snap(r);
            return 0;
        }
        state_snapshot_clear(&r->snap);   /* its records moved to fresh if reused */
        r->snap = fresh;
        r->have_snap = fresh.marked;
        r->posted = 0;
        if (!reused) fetched = -1;         /* written meanwhile: state_load_warm read them all */
    }
    r->gap_ms = FR_LOOK_MS, r->read_ok_ms = 0;   /* followed by the log: no churn of full reads */
    if (!r->posted) post(r, now, 0, fetched);
    return 1;
}

/* One look, the one due at `now` (its schedule, not the time ready() took
 * to open a session): the records brought up to date from the task log
 * when the mark moved, or all of them read when the log cannot tell or the
 * full read is due (read_due). */
static void look(folread *r, int64_t now) {
    char err[256];
    state_mark m;
    if (!ready(r)) return;
    int have_mark = state_read_mark(r->st, &m, err, sizeof(err)) == MCM_OK;
    int moved = !r->have_snap || !have_mark || !state_mark_same(&m, &r->snap.mark);
    if (have_mark && r->have_snap && now < r->full_at_ms && (moved || !r->posted)) {
        if (catch_up(r, moved, now)) {
            r->looked = 1, r->last_look = m;
            return;
        }
    }
    if (!read_due(r, &m, have_mark, moved, now)) return;
    drop_snap(r);
    if (state_load(r->st, &r->snap, err, sizeof(err)) != MCM_OK) {   /* takes its own mark first */
        log_verbose("follower task view not refreshed: %s", err);
        state_snapshot_clear(&r->snap);
        return;
    }
    r->have_snap = r->snap.marked;
    r->full_at_ms = now + FR_FULL_MS;
    post(r, now, !moved, -1);
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
        if (!r->on && r->have_snap) drop_snap(r);   /* a leader keeps no copy */
        if (!r->on || now < r->next_ms) {
            wait_until(r, r->on ? r->next_ms : now + 1000);
            continue;
        }
        if (r->gen != r->seen_gen) {   /* following again: start afresh */
            drop_snap(r);
            r->looked = 0, r->read_ok_ms = 0, r->gap_ms = FR_LOOK_MS, r->seen_gen = r->gen;
        }
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
    state_snapshot_clear(&r->snap);
    state_free(r->st);
    zks_free(r->z);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r->hosts), free(r->root), free(r->auth), free(r);
}
