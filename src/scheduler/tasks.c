/* tasks.c -- the leader's task table (see tasks.h).
 * Shape: a growable array (tt_at's order) and a hash index of ids to array
 * positions (idx.h). The leader looks a task up on every executor report and
 * every published server: at 1,000 servers a linear search made each report
 * interval O(N^2) (bench/scale). tt_remove moves the last entry into the
 * freed position, one index update.
 * Threads: the core only. Invariant: ids are unique within the table, and
 * the index holds exactly v[0..n). */
#include "tasks.h"
#include "idx.h"
#include "mcm.h"
#include "task_state.h"

#include <stdlib.h>
#include <string.h>

struct tt {
    tt_task *v;
    int n, cap;
    idx *ix;
    uint64_t gen;               /* tt_generation */
};

/* Raw, not tt_at: the index asks for the old last position during a move. */
static const char *key(void *ctx, int i) { return ((tt *)ctx)->v[i].id; }

tt *tt_create(void) {
    tt *t = calloc(1, sizeof(tt));
    if (t && !(t->ix = idx_new(key, t))) {
        free(t);
        return NULL;
    }
    return t;
}

void tt_free(tt *t) {
    if (!t) return;
    free(t->v);
    idx_free(t->ix);
    free(t);
}

uint64_t tt_generation(const tt *t) { return t->gen; }

void tt_clear(tt *t) {
    t->gen++;
    t->n = 0;
    idx_clear(t->ix);
}

int tt_count(const tt *t) { return t->n; }
tt_task *tt_at(tt *t, int i) { return i >= 0 && i < t->n ? &t->v[i] : NULL; }

tt_task *tt_find(tt *t, const char *id) {
    int i = idx_find(t->ix, id);
    return i >= 0 ? &t->v[i] : NULL;
}

tt_task *tt_add(tt *t, const tt_task *task) {
    if (tt_find(t, task->id)) return NULL;
    if (t->n == t->cap) {
        int cap = t->cap ? t->cap * 2 : 16;
        tt_task *grown = realloc(t->v, sizeof(tt_task) * (size_t)cap);
        if (!grown) return NULL;
        t->v = grown;
        t->cap = cap;
    }
    t->v[t->n] = *task;
    if (idx_add(t->ix, t->v[t->n].id, t->n, t->n + 1) != MCM_OK) return NULL;
    t->gen++;
    return &t->v[t->n++];
}

void tt_remove(tt *t, const char *id) {
    int i = idx_find(t->ix, id);
    if (i < 0) return;
    t->gen++;
    idx_remove(t->ix, t->v[i].id);
    if (i != --t->n) {   /* the last entry fills the hole */
        t->v[i] = t->v[t->n];
        idx_moved(t->ix, t->v[i].id, i);
    }
}

int tt_on_agent(const tt *t, const char *agent_id) {
    int n = 0;
    for (int i = 0; i < t->n; i++)
        n += !strcmp(t->v[i].agent_id, agent_id) && !tt_state_is_final(t->v[i].state) &&
             t->v[i].state != MESOS__V1__TASK_STATE__TASK_UNREACHABLE;
    return n;
}

int tt_state_is_final(int s) {
    switch (s) {
    case MESOS__V1__TASK_STATE__TASK_FINISHED: case MESOS__V1__TASK_STATE__TASK_FAILED:
    case MESOS__V1__TASK_STATE__TASK_KILLED: case MESOS__V1__TASK_STATE__TASK_LOST:
    case MESOS__V1__TASK_STATE__TASK_ERROR: case MESOS__V1__TASK_STATE__TASK_DROPPED:
    case MESOS__V1__TASK_STATE__TASK_GONE: case MESOS__V1__TASK_STATE__TASK_GONE_BY_OPERATOR:
    case MESOS__V1__TASK_STATE__TASK_UNKNOWN:
        return 1;
    default:
        return 0;    /* STARTING RUNNING STAGING KILLING UNREACHABLE (may come back) */
    }
}

const char *tt_state_name(int s) {
    const char *name = task_state_name(s);
    return name ? name : "TASK_INVALID";
}

int tt_serving(const tt_task *t) {
    return t->state == MESOS__V1__TASK_STATE__TASK_RUNNING && !t->drain_until_ms && !t->kill_sent_ms;
}
