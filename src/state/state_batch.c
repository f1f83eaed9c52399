/* state_batch.c -- many task records deleted in a few fenced multis (state_batch.h).
 *
 * Shape: the ids are cut into batches of at most STATE_BATCH_OPS deletes
 * and STATE_PACKET_BUDGET / 2 estimated bytes, each run through the fence
 * (state_fenced_exec: check our member znode, bump state/version, the
 * deletes) as one multi. A multi fails whole when one record is already
 * gone (ZNONODE, e.g. deleted by hand meanwhile): that batch is then done
 * record by record with state_delete_task, which takes "gone" as done.
 *
 * Threads: owner thread only. Invariant: a batch is either applied whole or
 * not at all, so *deleted is always a prefix of ids. */
#include "state_batch.h"

#include "mcm.h"
#include "state_int.h"

#include <stdio.h>

#define STATE_BATCH_OPS 500

/* ids[from..) into b until a limit; returns the index after the last taken. */
static int fill(state *s, zbatch *b, const char *const *ids, int from, int n, char *err, size_t errlen) {
    int i = from;
    for (; i < n && zbatch_count(b) < STATE_BATCH_OPS && zbatch_bytes(b) < STATE_PACKET_BUDGET / 2; i++) {
        char rel[STATE_ID_MAX + 16], path[STATE_PATH_MAX];
        if (!state_valid_id(ids[i])) {
            snprintf(err, errlen, "task ID \"%s\" is not a valid znode name", ids[i]);
            return -1;
        }
        snprintf(rel, sizeof(rel), "state/tasks/%s", ids[i]);
        zks_path(s->z, rel, path, sizeof(path));
        if (zbatch_delete(b, path, -1) != MCM_OK) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    return i;
}

/* The batch ids[from..to) one by one (after a multi refused for ZNONODE). */
static int one_by_one(state *s, const char *const *ids, int from, int to, int *deleted, char *err, size_t errlen) {
    for (int i = from; i < to; i++) {
        int rc = state_delete_task(s, ids[i], err, errlen);
        if (rc != MCM_OK) return rc;
        (*deleted)++;
    }
    return MCM_OK;
}

int state_delete_tasks(state *s, const char *const *ids, int n, int *deleted, char *err, size_t errlen) {
    *deleted = 0;
    for (int from = 0; from < n;) {
        zbatch *b = zbatch_new();
        int to = b ? fill(s, b, ids, from, n, err, errlen) : -1;
        if (!b) snprintf(err, errlen, "out of memory");
        int op = -1, zrc = ZOK, rc = to < 0 ? MCM_ERR : state_fenced_exec(s, b, &op, &zrc, err, errlen);
        zbatch_free(b);
        if (to < 0) return MCM_ERR;
        if (rc == MCM_ERR && op >= 0 && zrc == ZNONODE) rc = one_by_one(s, ids, from, to, deleted, err, errlen);
        else if (rc == MCM_OK) *deleted += to - from;
        if (rc != MCM_OK) return rc;
        from = to;
    }
    return MCM_OK;
}
