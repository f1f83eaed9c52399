/* tasks.c -- the leader's task table (see tasks.h).
 * Shape: a growable array (tt_at's order) and an open-addressing hash index
 * of ids to array slots, linear probing, at most half full. The leader looks
 * a task up on every executor report and every published server: at 1,000
 * servers a linear search made each report interval O(N^2) (bench/scale).
 * tt_remove moves the last entry into the freed slot (one index update) and
 * deletes by backward shift, so there are no tombstones to clean.
 * Threads: the core only. Invariant: ids are unique within the table, and
 * slot[h] is -1 or the index in v of the entry whose id probes through h. */
#include "tasks.h"
#include "mcm.h"
#include "task_state.h"

#include <stdlib.h>
#include <string.h>

struct tt {
    tt_task *v;
    int n, cap;
    int *slot;                  /* nslots entries, -1 = free */
    size_t nslots;              /* a power of two, >= 2 * cap */
};

tt *tt_create(void) { return calloc(1, sizeof(tt)); }

void tt_free(tt *t) {
    if (!t) return;
    free(t->v);
    free(t->slot);
    free(t);
}

static size_t id_hash(const char *id) {   /* FNV-1a */
    uint64_t h = 14695981039346656037ULL;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++) h = (h ^ *p) * 1099511628211ULL;
    return (size_t)h;
}

/* The slot holding id, or the free slot where it would go. */
static size_t probe(const tt *t, const char *id) {
    size_t mask = t->nslots - 1, h = id_hash(id) & mask;
    while (t->slot[h] >= 0 && strcmp(t->v[t->slot[h]].id, id) != 0) h = (h + 1) & mask;
    return h;
}

static int reindex(tt *t, size_t nslots) {
    int *slot = malloc(sizeof(*slot) * nslots);
    if (!slot) return MCM_ERR;
    for (size_t i = 0; i < nslots; i++) slot[i] = -1;
    free(t->slot);
    t->slot = slot;
    t->nslots = nslots;
    for (int i = 0; i < t->n; i++) t->slot[probe(t, t->v[i].id)] = i;
    return MCM_OK;
}

void tt_clear(tt *t) {
    t->n = 0;
    for (size_t i = 0; i < t->nslots; i++) t->slot[i] = -1;
}

int tt_count(const tt *t) { return t->n; }
tt_task *tt_at(tt *t, int i) { return i >= 0 && i < t->n ? &t->v[i] : NULL; }

tt_task *tt_find(tt *t, const char *id) {
    if (!t->n || !id) return NULL;
    size_t h = probe(t, id);
    return t->slot[h] >= 0 ? &t->v[t->slot[h]] : NULL;
}

static int grow(tt *t) {
    int cap = t->cap ? t->cap * 2 : 16;
    tt_task *grown = realloc(t->v, sizeof(tt_task) * (size_t)cap);
    if (!grown) return MCM_ERR;
    t->v = grown;
    t->cap = cap;
    return MCM_OK;
}

tt_task *tt_add(tt *t, const tt_task *task) {
    if (tt_find(t, task->id)) return NULL;
    if (t->n == t->cap && grow(t) != MCM_OK) return NULL;
    if (t->nslots < 2 * (size_t)t->cap && reindex(t, 4 * (size_t)t->cap) != MCM_OK) return NULL;
    t->v[t->n] = *task;
    t->slot[probe(t, task->id)] = t->n;
    return &t->v[t->n++];
}

/* Frees slot h and shifts back the entries after it that probed past it. */
static void unslot(tt *t, size_t h) {
    size_t mask = t->nslots - 1, j = h;
    t->slot[h] = -1;
    for (;;) {
        j = (j + 1) & mask;
        if (t->slot[j] < 0) return;
        size_t home = id_hash(t->v[t->slot[j]].id) & mask;
        /* j's entry may move to h unless its home lies cyclically in (h, j] */
        int stays = h <= j ? (h < home && home <= j) : (h < home || home <= j);
        if (stays) continue;
        t->slot[h] = t->slot[j];
        t->slot[j] = -1;
        h = j;
    }
}

void tt_remove(tt *t, const char *id) {
    if (!t->n || !id) return;
    size_t h = probe(t, id);
    int i = t->slot[h];
    if (i < 0) return;
    unslot(t, h);
    if (i != --t->n) {   /* the last entry fills the hole */
        t->v[i] = t->v[t->n];
        t->slot[probe(t, t->v[i].id)] = i;
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
