/* state_batch.c -- many task records deleted or stored in a few fenced
 * multis (state_batch.h).
 *
 * Shape: the records are cut into batches of at most STATE_BATCH_OPS ops
 * and STATE_PACKET_BUDGET / 2 estimated bytes, each run through the fence
 * (state_fenced_exec: check our member znode, bump state/version, the
 * writes) as one multi. A multi fails whole when one record is not as
 * expected (a delete finds it gone, a create finds it there, a set finds it
 * missing: e.g. changed by hand meanwhile): that batch is then done record
 * by record with state_delete_task / state_put_task, which handle both.
 *
 * Threads: owner thread only. Invariant: a batch is either applied whole or
 * not at all, so *deleted is always a prefix of ids. */
#include "state_batch.h"

#include "mcm.h"
#include "state_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATE_BATCH_OPS 500

static int room(const zbatch *b) {
    return zbatch_count(b) < STATE_BATCH_OPS && zbatch_bytes(b) < STATE_PACKET_BUDGET / 2;
}

static void task_path(state *s, const char *id, char *path) {
    char rel[STATE_ID_MAX + 16];
    snprintf(rel, sizeof(rel), "state/tasks/%s", id);
    zks_path(s->z, rel, path, STATE_PATH_MAX);
}

/* ids[from..) into b until a limit; returns the index after the last taken. */
static int fill_deletes(state *s, zbatch *b, const char *const *ids, int from, int n, char *err, size_t errlen) {
    int i = from;
    for (; i < n && room(b); i++) {
        char path[STATE_PATH_MAX];
        if (!state_valid_id(ids[i])) {
            snprintf(err, errlen, "task ID \"%s\" is not a valid znode name", ids[i]);
            return -1;
        }
        task_path(s, ids[i], path);
        if (zbatch_delete(b, path, -1) != MCM_OK) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    return i;
}

/* t[from..) into b until a limit, as fill_deletes. */
static int fill_puts(state *s, zbatch *b, const state_task *t, const int *fresh, int from, int n, char *err,
                     size_t errlen) {
    int i = from;
    for (; i < n && room(b); i++) {
        char path[STATE_PATH_MAX];
        char *json = state_task_record(&t[i], err, errlen);
        if (!json) return -1;
        task_path(s, t[i].id, path);
        size_t len = strlen(json);
        int rc = fresh && fresh[i] ? zbatch_create(b, path, json, len, zks_acl(s->z), 0)
                                   : zbatch_set(b, path, json, len, -1);
        free(json);
        if (rc != MCM_OK) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    return i;
}

/* Runs one filled batch; a refusal for `redo` (ZNONODE, ZNODEEXISTS) is
 * reported as STATE_REDO: the batch is then done record by record. */
#define STATE_REDO (-100)
static int run(state *s, zbatch *b, int to, int redo1, int redo2, char *err, size_t errlen) {
    int op = -1, zrc = ZOK, rc = to < 0 ? MCM_ERR : state_fenced_exec(s, b, &op, &zrc, err, errlen);
    zbatch_free(b);
    if (rc == MCM_ERR && op >= 0 && (zrc == redo1 || zrc == redo2)) return STATE_REDO;
    return rc;
}

int state_delete_tasks(state *s, const char *const *ids, int n, int *deleted, char *err, size_t errlen) {
    *deleted = 0;
    for (int from = 0; from < n;) {
        zbatch *b = zbatch_new();
        int to = b ? fill_deletes(s, b, ids, from, n, err, errlen) : -1;
        if (!b) snprintf(err, errlen, "out of memory");
        int rc = run(s, b, to, ZNONODE, ZNONODE, err, errlen);
        if (rc == MCM_OK) *deleted += to - from;
        else if (rc == STATE_REDO)                              /* one was gone: "gone" is done */
            for (int i = from; i < to && (rc = state_delete_task(s, ids[i], err, errlen)) == MCM_OK; i++)
                (*deleted)++;
        if (rc != MCM_OK) return rc;
        from = to;
    }
    return MCM_OK;
}

int state_put_tasks(state *s, const state_task *t, const int *fresh, int n, int *stored, char *err,
                    size_t errlen) {
    *stored = 0;
    for (int from = 0; from < n;) {
        zbatch *b = zbatch_new();
        int to = b ? fill_puts(s, b, t, fresh, from, n, err, errlen) : -1;
        if (!b) snprintf(err, errlen, "out of memory");
        int rc = run(s, b, to, ZNONODE, ZNODEEXISTS, err, errlen);
        if (rc == MCM_OK) *stored += to - from;
        else if (rc == STATE_REDO)                              /* set or create, whichever fits */
            for (int i = from; i < to && (rc = state_put_task(s, &t[i], err, errlen)) == MCM_OK; i++)
                (*stored)++;
        if (rc != MCM_OK) return rc;
        from = to;
    }
    return MCM_OK;
}
