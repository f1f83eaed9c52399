/* state_catchup.c -- a copy of the task records brought up to date from the
 * task log (state/tasklog, state_tasklog.c), not read again in full.
 *
 * A copy marked M (state_load's mark, taken before its records were read)
 * holds every record as it was at M or later. The log names the records
 * every later fenced write touched, so reading those again gives every
 * record as of the log's end T, provided the log covers M..T (no "*", M not
 * older than its start). Then the copy is exact at a new mark M' if:
 *   - M' (read after the records) has state/version's data version T: no
 *     fenced write came between the log and the records, and the log was
 *     written by every writer up to T (a replica without a task log leaves
 *     it behind state/version, so its writes are never missed);
 *   - state/tasks holds as many znodes as the copy accounts for: a record
 *     an operator deleted (or made) by hand, which no log names, shows here.
 * Anything else: MCM_ERR, and the caller reads everything. At a takeover
 * nobody writes (the old leader is fenced, the new one has not begun), so
 * the first case holds.
 *
 * Threads: the state object's (synchronous ZooKeeper reads). */
#include "mcm.h"
#include "state_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* state/tasklog as stored, parsed. */
static int read_log(state *s, tasklog *l, char *err, size_t errlen) {
    char path[STATE_PATH_MAX], *data = NULL;
    int len = 0;
    zks_path(s->z, "state/tasklog", path, sizeof(path));
    int rc = zks_get(s->z, path, STATE_TASKLOG_MAX * 2, &data, &len, NULL);
    if (rc != ZOK) {
        snprintf(err, errlen, "read %s: %s", path, rc == ZKS_TOO_LARGE ? "too large" : zks_strerror(rc));
        return MCM_ERR;
    }
    rc = tasklog_parse(data, (size_t)len, l);
    free(data);
    if (rc != MCM_OK) snprintf(err, errlen, "%s is empty or not a task log", path);
    return rc;
}

/* The IDs written since snap's mark, as paths under state/tasks. */
static int changed_ids(state *s, const state_mark *since, char ***paths, char ***names, int *n, int32_t *to,
                       char *err, size_t errlen) {
    tasklog l;
    char *ids = NULL, dir[STATE_PATH_MAX];
    *paths = *names = NULL, *n = 0;
    if (read_log(s, &l, err, errlen) != MCM_OK) return MCM_ERR;
    *to = l.to;
    int covered = tasklog_since(&l, since->version_dv, &ids);
    int32_t from = l.from;
    tasklog_clear(&l);
    if (!covered && (since->version_dv < from || since->version_dv > *to)) {
        snprintf(err, errlen, "the task log (state versions %d to %d) does not cover the copy's state version %d",
                 from, *to, since->version_dv);
        return MCM_ERR;
    }
    if (!covered) {
        snprintf(err, errlen, "a write since the copy's state version %d touched more records than the task log "
                 "names", since->version_dv);
        return MCM_ERR;
    }
    struct String_vector sv = {0};
    if (ids[0]) sv.count = 1;
    for (const char *p = ids; *p; p++) sv.count += *p == ',';
    sv.data = calloc((size_t)sv.count + 1, sizeof(*sv.data));
    int i = 0;
    char *save = NULL;
    for (char *tok = sv.data ? strtok_r(ids, ",", &save) : NULL; tok; tok = strtok_r(NULL, ",", &save))
        sv.data[i++] = tok;
    zks_path(s->z, "state/tasks", dir, sizeof(dir));
    *paths = sv.data ? state_child_paths(dir, &sv) : NULL;
    *names = *paths ? malloc(sizeof(**names) * ((size_t)sv.count + 1)) : NULL;
    if (*names)
        for (int j = 0; j < sv.count; j++) (*names)[j] = strrchr((*paths)[j], '/') + 1;
    free(sv.data);
    free(ids);
    if (!*names) {
        free(*paths);
        *paths = NULL;
        snprintf(err, errlen, "out of memory");
        return MCM_ERR;
    }
    *n = sv.count;
    return MCM_OK;
}

static int find_task(const state_snapshot *snap, const char *id) {
    for (int i = 0; i < snap->ntasks; i++)
        if (!strcmp(snap->tasks[i].id, id)) return i;
    return -1;
}

static int find_skipped(const state_snapshot *snap, const char *id) {
    for (int i = 0; i < snap->nskipped; i++)
        if (!strcmp(snap->skipped[i], id)) return i;
    return -1;
}

/* One record as read again: replaced, added or removed. */
static int apply(state_snapshot *snap, const char *path, const char *id, const state_blob *b, char *err,
                 size_t errlen) {
    char why[256];
    state_task t;
    int r = state_decode_task(path, id, b, &t, why, sizeof(why), err, errlen);
    if (r < 0) return MCM_ERR;
    if (r == 0 && why[0]) {
        snprintf(err, errlen, "%s: %s", path, why);   /* skipped records are for a full read to list */
        return MCM_ERR;
    }
    int i = find_task(snap, id), k = find_skipped(snap, id);
    if (k >= 0) {   /* it decodes now, or is gone: no longer skipped */
        memmove(&snap->skipped[k], &snap->skipped[k + 1], sizeof(*snap->skipped) * (size_t)(snap->nskipped - k - 1));
        snap->nskipped--;
        snap->nchildren--;
    }
    if (r == 0 && i >= 0) {
        memmove(&snap->tasks[i], &snap->tasks[i + 1], sizeof(t) * (size_t)(snap->ntasks - i - 1));
        snap->ntasks--;
        snap->nchildren--;
    } else if (r > 0 && i >= 0) {
        snap->tasks[i] = t;
    } else if (r > 0) {
        state_task *v = realloc(snap->tasks, sizeof(*v) * (size_t)(snap->ntasks + 1));
        if (!v) {
            snprintf(err, errlen, "out of memory");
            return MCM_ERR;
        }
        snap->tasks = v;
        v[snap->ntasks++] = t;
        snap->nchildren++;
    }
    return MCM_OK;
}

static int apply_all(state *s, state_snapshot *snap, char **paths, char **names, int n, char *err, size_t errlen) {
    state_blob *blobs = calloc((size_t)n + 1, sizeof(*blobs));
    int rc = blobs && state_fetch(s->z, paths, n, STATE_TASK_MAX, blobs) == MCM_OK ? MCM_OK : MCM_ERR;
    if (rc != MCM_OK) snprintf(err, errlen, "out of memory");
    for (int i = 0; rc == MCM_OK && i < n; i++) rc = apply(snap, paths[i], names[i], &blobs[i], err, errlen);
    state_blobs_free(blobs, blobs ? n : 0);
    return rc;
}

int state_catch_up(state *s, state_snapshot *snap, int *fetched, char *err, size_t errlen) {
    char **paths = NULL, **names = NULL;
    int n = 0;
    int32_t to = 0;
    state_mark now;
    *fetched = 0;
    int rc = snap->marked ? MCM_OK : MCM_ERR;
    if (rc != MCM_OK) snprintf(err, errlen, "the copy has no mark");
    snap->marked = 0;
    if (rc == MCM_OK) rc = changed_ids(s, &snap->mark, &paths, &names, &n, &to, err, errlen);
    if (rc == MCM_OK) rc = apply_all(s, snap, paths, names, n, err, errlen);
    free(paths);
    free(names);
    if (rc == MCM_OK) rc = state_read_mark(s, &now, err, errlen);
    if (rc != MCM_OK) return MCM_ERR;
    if (now.version_dv != to) {
        snprintf(err, errlen, "state version %d, the task log's end %d: written meanwhile, or by a writer "
                 "that keeps no task log", now.version_dv, to);
        return MCM_ERR;
    }
    if (now.tasks_children != snap->nchildren) {
        snprintf(err, errlen, "state/tasks holds %d znodes, the copy accounts for %d: changed by hand",
                 now.tasks_children, snap->nchildren);
        return MCM_ERR;
    }
    snap->mark = now;
    snap->marked = 1;
    *fetched = n;
    return MCM_OK;
}
