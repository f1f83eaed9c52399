/* state.c -- mcm's durable state: layout, validated reads, fenced writes of the
 * framework ID, the desired count and the task records (see state.h).
 *
 * Shape: every write builds a batch (state_fence.c) and runs it through the
 * fence; a write to a znode that does not exist yet retries as a create.
 * Reads never trust ZooKeeper's content: every znode is size-capped and
 * decoded strictly; what fails is logged with its path and skipped, except
 * the framework ID, which must be right or the replica must not lead.
 *
 * Threads: owner thread only (synchronous zoo_* calls).
 * Invariants: (1) nothing is written unless elect says we lead (state_fenced_exec
 * checks it, then ZooKeeper checks the member znode). (2) A snapshot handed
 * out holds only records that decoded completely. */
#define LOG_COMPONENT "state"
#include "log.h"
#include "mcm.h"
#include "state_int.h"
#include "util.h"

#define STATE_WHY_MAX 256            /* why one record was skipped */
#define STATE_SKIPS_LOGGED 5         /* malformed task records named one by one per new set */

#include <ctype.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

state *state_new(zks *z, elect *e) {
    state *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->z = z;
    s->e = e;
    s->instances_max = SRVLIST_MAX_SERVERS;
    return s;
}

void state_set_instances_max(state *s, int max) { s->instances_max = max; }

void state_free(state *s) {
    if (!s) return;
    state_caches_drop(s);
    free(s);
}

void state_snapshot_clear(state_snapshot *snap) {
    if (!snap) return;
    free(snap->autoscale_json);
    free(snap->tasks);
    free(snap->skipped);
    memset(snap, 0, sizeof(*snap));
    snap->desired = -1;
}

int state_snapshot_dup(const state_snapshot *src, state_snapshot *dst) {
    *dst = *src;
    dst->autoscale_json = NULL, dst->tasks = NULL, dst->skipped = NULL;
    size_t tb = sizeof(*src->tasks) * (size_t)src->ntasks, sb = sizeof(*src->skipped) * (size_t)src->nskipped;
    int ok = (!src->autoscale_json || (dst->autoscale_json = strdup(src->autoscale_json))) &&
             (!tb || (dst->tasks = malloc(tb))) && (!sb || (dst->skipped = malloc(sb)));
    if (!ok) {
        state_snapshot_clear(dst);
        return MCM_ERR;
    }
    if (tb) memcpy(dst->tasks, src->tasks, tb);
    if (sb) memcpy(dst->skipped, src->skipped, sb);
    return MCM_OK;
}

static void path_of(state *s, const char *rel, char *buf) {
    zks_path(s->z, rel, buf, STATE_PATH_MAX);
}

/* Printable excerpt of untrusted bytes for log lines. */
static void excerpt(const char *data, int len, char *out, size_t cap) {
    size_t j = 0;
    for (int i = 0; i < len && j + 5 < cap && i < 64; i++) {
        unsigned char c = (unsigned char)data[i];
        if (isprint(c) && c != '"' && c != '\\') out[j++] = (char)c;
        else j += (size_t)snprintf(out + j, cap - j, "\\x%02x", c);
    }
    out[j] = '\0';
}

int state_init(state *s, char *err, size_t errlen) {
    static const char *const dirs[] = {"state/tasks", "serverset"};
    static const char *const files[][2] = {
        {"state/version", "0"}, {"state/framework_id", ""}, {"state/desired", ""}, {"state/tasklog", ""}};
    char path[STATE_PATH_MAX];
    if (state_connected(s, err, errlen) != MCM_OK) return MCM_ERR;
    for (size_t i = 0; i < MCM_ARRAY_LEN(dirs); i++) {
        path_of(s, dirs[i], path);
        if (zks_mkdirs(s->z, path, err, errlen) != MCM_OK) return MCM_ERR;
    }
    for (size_t i = 0; i < MCM_ARRAY_LEN(files); i++) {
        path_of(s, files[i][0], path);
        int rc = zoo_exists(zks_handle(s->z), path, 0, NULL);      /* see zks_mkdirs */
        if (rc == ZNONODE)
            rc = zoo_create(zks_handle(s->z), path, files[i][1], (int)strlen(files[i][1]), zks_acl(s->z), 0,
                            NULL, 0);
        if (rc != ZOK && rc != ZNODEEXISTS) {
            snprintf(err, errlen, "create %s: %s", path, zks_strerror(rc));
            return MCM_ERR;
        }
    }
    return MCM_OK;
}

/* --- reads ----------------------------------------------------------------------- */

static int load_framework_id(state *s, state_snapshot *out, char *err, size_t errlen) {
    char path[STATE_PATH_MAX], *data = NULL, ex[400];
    int len = 0;
    path_of(s, "state/framework_id", path);
    int rc = zks_get(s->z, path, STATE_ID_MAX - 1, &data, &len, NULL);
    if (rc == ZNONODE) return MCM_OK;
    if (rc == ZKS_TOO_LARGE) {
        snprintf(err, errlen, "%s: malformed framework ID: %d bytes (at most %d); refusing to lead "
                 "until an operator fixes or deletes it", path, len, STATE_ID_MAX - 1);
        return STATE_MALFORMED;
    }
    if (rc != ZOK) {
        snprintf(err, errlen, "read %s: %s", path, zks_strerror(rc));
        return MCM_ERR;
    }
    if (state_check_framework_id(data, len) != MCM_OK) {
        excerpt(data, len, ex, sizeof(ex));
        snprintf(err, errlen, "%s: malformed framework ID \"%s\"; refusing to lead until an operator "
                 "fixes or deletes it", path, ex);
        free(data);
        return STATE_MALFORMED;
    }
    snprintf(out->framework_id, sizeof(out->framework_id), "%s", data);
    free(data);
    return MCM_OK;
}

static int load_desired(state *s, state_snapshot *out, char *err, size_t errlen) {
    char path[STATE_PATH_MAX], *data = NULL, why[200];
    int len = 0;
    path_of(s, "state/desired", path);
    int rc = zks_get(s->z, path, STATE_DOC_MAX, &data, &len, NULL);
    if (rc == ZNONODE) return MCM_OK;
    if (rc == ZKS_TOO_LARGE) {
        log_warn("%s: %d bytes, more than we accept (%d); desired count unknown", path, len, STATE_DOC_MAX);
        return MCM_OK;
    }
    if (rc != ZOK) {
        snprintf(err, errlen, "read %s: %s", path, zks_strerror(rc));
        return MCM_ERR;
    }
    int n = -1;
    if (len > 0 && state_decode_desired(data, (size_t)len, &n, &out->autoscale_json, why, sizeof(why)) != MCM_OK)
        log_warn("%s: malformed (%s); desired count unknown", path, why);
    else if (len > 0 && n > s->instances_max) {
        if (n != s->desired_warned)      /* once per value: followers load every few seconds */
            log_warn("%s: %d servers desired, above --instances-max %d (mcm never writes that); using %d",
                     path, n, s->instances_max, s->instances_max);
        s->desired_warned = n;
        n = s->instances_max;
    }
    out->desired = n;
    free(data);
    return MCM_OK;
}

static int load_version(state *s, state_snapshot *out, char *err, size_t errlen) {
    char path[STATE_PATH_MAX], *data = NULL;
    int len = 0;
    struct Stat st;
    path_of(s, "state/version", path);
    int rc = zks_get(s->z, path, 64, &data, &len, &st);
    if (rc == ZNONODE) return MCM_OK;
    if (rc != ZOK && rc != ZKS_TOO_LARGE) {
        snprintf(err, errlen, "read %s: %s", path, zks_strerror(rc));
        return MCM_ERR;
    }
    int64_t v = 0;
    if (rc != ZOK || state_parse_version(data, len, &v) != MCM_OK) {
        log_verbose("%s: not a version number from 0 to %lld; taking its znode version %d", path,
                    STATE_VERSION_MAX, st.version);
        v = st.version;
    }
    out->version = v;
    free(data);
    return MCM_OK;
}

/* A task znode that exists but did not decode, kept to be logged once. */
typedef struct skip {
    char *name;
    char why[STATE_WHY_MAX];
} skip;

typedef struct skips {
    skip *v;
    int n;
} skips;

static void skips_clear(skips *k) {
    for (int i = 0; i < k->n; i++) free(k->v[i].name);
    free(k->v);
    memset(k, 0, sizeof(*k));
}

static int skips_add(skips *k, const char *name, const char *why) {
    skip *v = realloc(k->v, sizeof(*v) * (size_t)(k->n + 1));
    if (!v) return MCM_ERR;
    k->v = v;
    if (!(v[k->n].name = strdup(name))) return MCM_ERR;
    snprintf(v[k->n].why, sizeof(v[k->n].why), "%s", why);
    k->n++;
    return MCM_OK;
}

static int cmp_skip(const void *a, const void *b) { return strcmp(((const skip *)a)->name, ((const skip *)b)->name); }

/* FNV-1a over the sorted names and reasons: the identity of a set of junk. */
static uint64_t skips_hash(const skips *k) {
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < k->n; i++)
        for (const char *p[] = {k->v[i].name, "/", k->v[i].why, "\n"}, **q = p; q < p + 4; q++)
            for (const char *c = *q; *c; c++) h = (h ^ (unsigned char)*c) * 1099511628211ULL;
    return h;
}

/* Logs the skipped records only when their set differs from the last one
 * logged: 2,000 junk children must not give 2,000 warnings per reload. */
static void skips_report(state *s, const char *dir, skips *k) {
    if (k->n) qsort(k->v, (size_t)k->n, sizeof(*k->v), cmp_skip);
    uint64_t h = k->n ? skips_hash(k) : 0;
    if (h == s->skipped_hash) {
        if (k->n) log_verbose("%d task records under %s still malformed (logged before)", k->n, dir);
        return;
    }
    s->skipped_hash = h;
    for (int i = 0; i < k->n && i < STATE_SKIPS_LOGGED; i++) {
        char ex[400];
        excerpt(k->v[i].name, (int)strlen(k->v[i].name), ex, sizeof(ex));
        log_warn("%s/%s: malformed task record (%s); skipped", dir, ex, k->v[i].why);
    }
    if (k->n) log_warn("%d task records under %s are malformed and skipped%s; logged again only when that "
                       "set changes. The leader leaves the servers behind them alone: repair or delete them",
                       k->n, dir, k->n > STATE_SKIPS_LOGGED ? " (the first ones above)" : "");
}

/* The snapshot names the skipped records that could be task IDs. */
static int skips_to_snapshot(const skips *k, state_snapshot *out) {
    out->skipped = calloc((size_t)k->n + 1, sizeof(*out->skipped));
    if (!out->skipped) return MCM_ERR;
    for (int i = 0; i < k->n; i++)
        if (state_valid_id(k->v[i].name))
            snprintf(out->skipped[out->nskipped++], STATE_ID_MAX, "%s", k->v[i].name);
    return MCM_OK;
}

int state_decode_task(const char *path, const char *name, const state_blob *b, state_task *t, char *why,
                       size_t whylen, char *err, size_t errlen) {
    why[0] = '\0';
    if (b->rc == ZNONODE) return 0;
    if (b->rc == ZKS_TOO_LARGE) {
        snprintf(why, whylen, "%d bytes, more than a task record can be (%d)", b->len, STATE_TASK_MAX);
        return 0;
    }
    if (b->rc != ZOK) {
        snprintf(err, errlen, "read %s: %s", path, zks_strerror(b->rc));
        return -1;
    }
    int ok = state_task_from_json(b->data, (size_t)b->len, t, why, whylen) == MCM_OK;
    if (ok && strcmp(t->id, name)) {
        snprintf(why, whylen, "holds task_id \"%s\", not its znode name", t->id);
        ok = 0;
    }
    return ok;
}

/* Every record is read at once (state_fetch: one round trip's wait for the
 * lot, not one per record), then decoded in order. */
static int load_tasks(state *s, state_snapshot *out, char *err, size_t errlen) {
    char dir[STATE_PATH_MAX], why[STATE_WHY_MAX];
    struct String_vector sv = {0};
    skips k = {0};
    path_of(s, "state/tasks", dir);
    int rc = zoo_get_children(zks_handle(s->z), dir, 0, &sv);
    if (rc == ZNONODE) return MCM_OK;
    if (rc != ZOK) {
        snprintf(err, errlen, "list %s: %s", dir, zks_strerror(rc));
        return MCM_ERR;
    }
    char **paths = state_child_paths(dir, &sv);
    state_blob *blobs = calloc((size_t)sv.count + 1, sizeof(*blobs));
    int ret = MCM_OK, oom = !paths || !blobs || !(out->tasks = calloc((size_t)sv.count + 1, sizeof(*out->tasks)));
    if (!oom) oom = state_fetch(s->z, paths, sv.count, STATE_TASK_MAX, blobs) != MCM_OK;
    for (int i = 0; !oom && ret == MCM_OK && i < sv.count; i++) {
        int r = state_decode_task(paths[i], sv.data[i], &blobs[i], &out->tasks[out->ntasks], why, sizeof(why), err, errlen);
        if (r < 0) ret = MCM_ERR;                          /* err says why */
        else if (r > 0) out->ntasks++;
        else if (why[0]) oom = skips_add(&k, sv.data[i], why) != MCM_OK;
    }
    if (!oom && ret == MCM_OK) {
        out->nchildren = out->ntasks + k.n;
        skips_report(s, dir, &k);
        oom = skips_to_snapshot(&k, out) != MCM_OK;
    }
    if (oom) {
        snprintf(err, errlen, "out of memory");
        ret = MCM_ERR;
    }
    state_blobs_free(blobs, blobs ? sv.count : 0);
    free(paths);
    skips_clear(&k);
    deallocate_String_vector(&sv);
    return ret;
}

/* Task records with no framework ID: the framework that runs them is
 * unknown. Registering a new one would orphan them (Mesos keeps them running
 * under the old ID until its failover timeout), so the leader must not guess. */
static int check_contradiction(state *s, const state_snapshot *out, char *err, size_t errlen) {
    char fw[STATE_PATH_MAX], dir[STATE_PATH_MAX];
    if (out->framework_id[0] || out->ntasks == 0) return MCM_OK;
    path_of(s, "state/framework_id", fw);
    path_of(s, "state/tasks", dir);
    snprintf(err, errlen, "%s is empty or missing but %s holds %d task record(s) (%s, ...): the framework "
             "that runs them is unknown; refusing to lead. Repair: write that framework's ID back into %s "
             "(the Mesos master lists it under /frameworks), or, if it is gone for good, delete the records "
             "under %s", fw, dir, out->ntasks, out->tasks[0].id, fw, dir);
    return STATE_CONTRADICTION;
}

/* See ready() in state_fence.c: no synchronous call on a handle that is not
 * connected (it would stall the owner thread until the next connect attempt). */
int state_connected(state *s, char *err, size_t errlen) {
    if (zks_connected(s->z)) return MCM_OK;
    snprintf(err, errlen, "%s", zks_expired(s->z) ? "ZooKeeper session expired"
                                                  : "not connected to ZooKeeper");
    return MCM_ERR;
}

/* A znode's stat (all zero if it does not exist yet). */
static int stat_of(state *s, const char *rel, struct Stat *st, char *err, size_t errlen) {
    char path[STATE_PATH_MAX];
    path_of(s, rel, path);
    int rc = zoo_exists(zks_handle(s->z), path, 0, st);
    if (rc != ZOK) memset(st, 0, sizeof(*st));
    if (rc == ZOK || rc == ZNONODE) return MCM_OK;
    snprintf(err, errlen, "stat %s: %s", path, zks_strerror(rc));
    return MCM_ERR;
}

int state_read_mark(state *s, state_mark *m, char *err, size_t errlen) {
    struct Stat v, t;
    if (state_connected(s, err, errlen) != MCM_OK) return MCM_ERR;
    if (stat_of(s, "state/version", &v, err, errlen) != MCM_OK || stat_of(s, "state/tasks", &t, err, errlen) != MCM_OK)
        return MCM_ERR;
    *m = (state_mark){v.mzxid, t.pzxid, v.version, t.numChildren};
    return MCM_OK;
}

int state_mark_same(const state_mark *a, const state_mark *b) {
    return a->version_mzxid == b->version_mzxid && a->tasks_pzxid == b->tasks_pzxid;
}

/* warm brought up to the mark `now` from the task log, if it can be. */
static void catch_up_warm(state *s, state_snapshot *warm, state_mark *now) {
    char why[256];
    int fetched = 0;
    int64_t t0 = util_now_ms();
    if (!warm || !warm->marked || state_mark_same(&warm->mark, now)) return;
    if (state_catch_up(s, warm, &fetched, why, sizeof(why)) != MCM_OK) {
        log_info("the follower's copy of the task records cannot be brought up to date (%s); reading them all", why);
        return;
    }
    log_info("the follower's copy of the task records brought up to date: %d changed record(s) read in %lld ms",
             fetched, (long long)(util_now_ms() - t0));
    *now = warm->mark;   /* exact at its new mark, taken after ours */
}

/* The records (and the skipped names) of warm, if its mark is the one
 * ZooKeeper has now, directly or once caught up from the task log: they are
 * moved, not copied. Else read them all. */
static int tasks_warm_or_read(state *s, state_snapshot *out, state_snapshot *warm, int *reused, char *err,
                              size_t errlen) {
    if (state_read_mark(s, &out->mark, err, errlen) != MCM_OK) return MCM_ERR;
    catch_up_warm(s, warm, &out->mark);
    if (!warm || !warm->marked || !state_mark_same(&warm->mark, &out->mark)) {
        out->marked = 1;
        return load_tasks(s, out, err, errlen);
    }
    out->tasks = warm->tasks, out->ntasks = warm->ntasks;
    out->skipped = warm->skipped, out->nskipped = warm->nskipped;
    out->nchildren = warm->nchildren;
    warm->tasks = NULL, warm->ntasks = 0, warm->skipped = NULL, warm->nskipped = 0, warm->marked = 0;
    out->marked = 1;
    *reused = 1;
    return MCM_OK;
}

int state_load(state *s, state_snapshot *out, char *err, size_t errlen) {
    int reused;
    return state_load_warm(s, out, NULL, &reused, err, errlen);
}

int state_load_warm(state *s, state_snapshot *out, state_snapshot *warm, int *reused, char *err, size_t errlen) {
    memset(out, 0, sizeof(*out));
    out->desired = -1;
    *reused = 0;
    if (state_connected(s, err, errlen) != MCM_OK) return MCM_ERR;
    int rc = load_framework_id(s, out, err, errlen);
    if (rc == MCM_OK && (load_desired(s, out, err, errlen) != MCM_OK || load_version(s, out, err, errlen) != MCM_OK ||
                         tasks_warm_or_read(s, out, warm, reused, err, errlen) != MCM_OK))
        rc = MCM_ERR;
    if (rc == MCM_OK) rc = check_contradiction(s, out, err, errlen);
    if (rc != MCM_OK) {
        state_snapshot_clear(out);
        return rc;
    }
    log_verbose("state loaded: framework ID %s, %d tasks, desired %d, version %lld",
             out->framework_id[0] ? out->framework_id : "(none)", out->ntasks, out->desired,
             (long long)out->version);
    return MCM_OK;
}

/* --- writes ------------------------------------------------------------------- */

/* Fenced write of one znode's data; creates it if missing. */
static int put_node(state *s, const char *rel, const char *data, size_t len, char *err, size_t errlen) {
    char path[STATE_PATH_MAX];
    path_of(s, rel, path);
    if (zbatch_op_bytes(path, len, zks_acl(s->z)) + 256 > STATE_PACKET_BUDGET) {
        snprintf(err, errlen, "%s: %zu bytes is more than ZooKeeper accepts in one request "
                 "(jute.maxbuffer, 1 MiB; we keep under %d)", path, len, STATE_PACKET_BUDGET);
        return MCM_ERR;
    }
    int ret = MCM_ERR, op = -1, rc = ZOK;
    for (int create = 0; create < 2; create++) {
        zbatch *b = zbatch_new();
        if (!b || (create ? zbatch_create(b, path, data, len, zks_acl(s->z), 0)
                          : zbatch_set(b, path, data, len, -1)) != MCM_OK) {
            zbatch_free(b);
            snprintf(err, errlen, "out of memory");
            return MCM_ERR;
        }
        ret = state_fenced_exec(s, b, &op, &rc, err, errlen);
        zbatch_free(b);
        if (ret != MCM_ERR || op != 0 || rc != ZNONODE) break;
    }
    if (ret == MCM_ERR && op == 0) {
        char why[256];
        snprintf(why, sizeof(why), "%s", err);
        snprintf(err, errlen, "write %s: %s", path, why);
    }
    return ret;
}

int state_set_framework_id(state *s, const char *id, char *err, size_t errlen) {
    if (!id || !state_valid_id(id)) {
        snprintf(err, errlen, "\"%s\" is not a valid framework ID", id ? id : "(null)");
        return MCM_ERR;
    }
    return put_node(s, "state/framework_id", id, strlen(id), err, errlen);
}

int state_clear_framework_id(state *s, char *err, size_t errlen) {
    return put_node(s, "state/framework_id", "", 0, err, errlen);
}

char *state_task_record(const state_task *t, char *err, size_t errlen) {
    if (!state_valid_id(t->id)) {
        snprintf(err, errlen, "task ID \"%s\" is not a valid znode name ([A-Za-z0-9._:-]+)", t->id);
        return NULL;
    }
    char why[200];
    if (state_task_check(t, why, sizeof(why)) != MCM_OK) {
        snprintf(err, errlen, "task %s: not stored: %s", t->id, why);
        return NULL;
    }
    char *json = state_task_to_json(t);
    if (!json) snprintf(err, errlen, "out of memory");
    return json;
}

int state_put_task(state *s, const state_task *t, char *err, size_t errlen) {
    char rel[STATE_ID_MAX + 16];
    char *json = state_task_record(t, err, errlen);
    if (!json) return MCM_ERR;
    snprintf(rel, sizeof(rel), "state/tasks/%s", t->id);
    int ret = put_node(s, rel, json, strlen(json), err, errlen);
    free(json);
    return ret;
}

/* A fenced delete of <root>/rel; a znode already gone is fine. */
static int delete_node(state *s, const char *rel, char *err, size_t errlen) {
    char path[STATE_PATH_MAX];
    path_of(s, rel, path);
    zbatch *b = zbatch_new();
    if (!b || zbatch_delete(b, path, -1) != MCM_OK) {
        zbatch_free(b);
        snprintf(err, errlen, "out of memory");
        return MCM_ERR;
    }
    int op, rc, ret = state_fenced_exec(s, b, &op, &rc, err, errlen);
    zbatch_free(b);
    if (ret == MCM_ERR && op == 0 && rc == ZNONODE) return MCM_OK;     /* already gone */
    return ret;
}

int state_delete_task(state *s, const char *task_id, char *err, size_t errlen) {
    char rel[STATE_ID_MAX + 16];
    if (!state_valid_id(task_id)) {
        snprintf(err, errlen, "task ID \"%s\" is not a valid znode name", task_id);
        return MCM_ERR;
    }
    snprintf(rel, sizeof(rel), "state/tasks/%s", task_id);
    return delete_node(s, rel, err, errlen);
}

/* --- the warm ring transition's record (state/transition) ------------------ */

int state_put_transition(state *s, const char *json, char *err, size_t errlen) {
    return put_node(s, "state/transition", json, strlen(json), err, errlen);
}

int state_delete_transition(state *s, char *err, size_t errlen) {
    return delete_node(s, "state/transition", err, errlen);
}

int state_read_transition(state *s, char **out, size_t *len, char *err, size_t errlen) {
    char path[STATE_PATH_MAX], *data = NULL;
    int n = 0;
    *out = NULL;
    *len = 0;
    path_of(s, "state/transition", path);
    int rc = zks_get(s->z, path, STATE_DOC_MAX, &data, &n, NULL);
    if (rc == ZNONODE) return MCM_OK;
    if (rc == ZKS_TOO_LARGE) {   /* mcm never writes that much: refused like any malformed record */
        snprintf(err, errlen, "%s: %d bytes, more than mcm writes (%d)", path, n, STATE_DOC_MAX);
        return STATE_MALFORMED;
    }
    if (rc != ZOK) {
        snprintf(err, errlen, "read %s: %s", path, zks_strerror(rc));
        return MCM_ERR;
    }
    if (n <= 0) {
        free(data);
        return MCM_OK;
    }
    *out = data;
    *len = (size_t)n;
    return MCM_OK;
}

int state_set_desired(state *s, int instances, const char *autoscale_json, char *err, size_t errlen) {
    json_error_t je;
    json_t *a = NULL;
    if (instances < 0 || instances > s->instances_max) {
        snprintf(err, errlen, "desired instances %d is outside 0..%d (--instances-max)", instances, s->instances_max);
        return MCM_ERR;
    }
    if (autoscale_json && !(a = json_loads(autoscale_json, JSON_DECODE_ANY, &je))) {
        snprintf(err, errlen, "autoscale history is not JSON: %s", je.text);
        return MCM_ERR;
    }
    json_t *o = json_pack("{s:i, s:o}", "instances", instances, "autoscale", a ? a : json_null());
    char *doc = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!doc) {
        snprintf(err, errlen, "out of memory");
        return MCM_ERR;
    }
    int ret = put_node(s, "state/desired", doc, strlen(doc), err, errlen);
    free(doc);
    return ret;
}
