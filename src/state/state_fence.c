/* state_fence.c -- the fenced multi every state write goes through.
 *
 * Every write is one multi (zks_multi) laid out as
 *
 *   op 0  check   <root>/leader/member_<seq>  version -1   (the fence: exists?)
 *   op 1  set     <root>/state/version  "N+1"  version V    (ordering)
 *   op 2  set     <root>/state/tasklog  the task log with this write's IDs
 *   op 3… the write itself (set/create/delete of state, servers, serverset)
 *
 * and ZooKeeper applies all of it or none. Op 0 fails once our member znode
 * is gone -- our session expired or we resigned -- so a deposed leader can
 * never write, even through a handle it still holds or a new session. Op 1
 * orders writes: V is the znode's data version as we last saw it; if it moved
 * (another leader wrote while our caches were built), we re-read it and try
 * once more, because the fence, not the version, is what keeps writers apart.
 * Op 2 keeps the task log (state_tasklog.c): which task records the recent
 * writes touched, taken from the batch's own paths, so no kind of write can
 * forget it. Whenever the version is (re-)read, the writer takes the stored
 * log up if it ends at that version, else starts afresh (covering nothing
 * before), since writes it did not see may lie behind.
 *
 * Why a batch type: zoo_op_t points at its strings, so the batch owns copies
 * of them until the multi is done, and keeps a running size estimate (a multi
 * above jute.maxbuffer makes the server drop the connection).
 *
 * Why zks_multi, not zoo_multi: the library's synchronous multi leaks its
 * per-op completions when the connection drops under it (zks_multi.h), which
 * happens whenever ZooKeeper restarts during a write.
 *
 * Threads: owner thread (synchronous multi, zks_multi).
 * Invariants: (1) a write is attempted only while elect says we lead, and
 * under the member path current at that moment. (2) Caches (version,
 * servers, serverset) belong to one member path; a new path drops them, and
 * so does any write whose outcome is unknown (connection loss). (3) The
 * state/version written is always 1..STATE_VERSION_MAX: a stored value out
 * of range, or the limit itself, continues from the znode's data version;
 * it never wraps. */
#define LOG_COMPONENT "state"
#include "log.h"
#include "mcm.h"
#include "state_int.h"
#include "zks_multi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESERVED 3                    /* fence, version and task log ops in front of the batch */

struct zbatch {
    zoo_op_t *ops;                    /* RESERVED + n */
    char **owned;                     /* per batch op: path, data, created-path buffers */
    char **made;                      /* per batch op: created path buffer or NULL */
    int n, cap;
    size_t bytes;
};

zbatch *zbatch_new(void) {
    zbatch *b = calloc(1, sizeof(*b));
    if (!b) return NULL;
    b->bytes = 256;                   /* multi header, fence and version ops (the log: at exec) */
    return b;
}

void zbatch_free(zbatch *b) {
    if (!b) return;
    for (int i = 0; i < b->n * 2; i++) free(b->owned[i]);
    for (int i = 0; i < b->n; i++) free(b->made[i]);
    free(b->owned);
    free(b->made);
    free(b->ops);
    free(b);
}

int zbatch_count(const zbatch *b) { return b->n; }
size_t zbatch_bytes(const zbatch *b) { return b->bytes; }

size_t zbatch_op_bytes(const char *path, size_t datalen, const struct ACL_vector *acl) {
    size_t n = 24 + strlen(path) + datalen;
    for (int i = 0; acl && i < acl->count; i++)
        n += 16 + strlen(acl->data[i].id.scheme) + strlen(acl->data[i].id.id);
    return n;
}

/* Room for one more op; copies of path and data in owned[2i], owned[2i+1]. */
static zoo_op_t *add(zbatch *b, const char *path, const char *data, size_t len,
                     const char **pcopy, const char **dcopy) {
    if (b->n == b->cap) {
        int cap = b->cap ? b->cap * 2 : 8;
        zoo_op_t *ops = realloc(b->ops, sizeof(*ops) * (size_t)(cap + RESERVED));
        if (ops) b->ops = ops;
        char **owned = realloc(b->owned, sizeof(*owned) * (size_t)cap * 2);
        if (owned) b->owned = owned;
        char **made = realloc(b->made, sizeof(*made) * (size_t)cap);
        if (made) b->made = made;
        if (!ops || !owned || !made) return NULL;
        b->cap = cap;
    }
    char *p = strdup(path), *d = NULL;
    if (data && (d = malloc(len + 1))) {
        memcpy(d, data, len);
        d[len] = '\0';
    }
    if (!p || (data && !d)) {
        free(p);
        free(d);
        return NULL;
    }
    int i = b->n++;
    b->owned[2 * i] = p;
    b->owned[2 * i + 1] = d;
    b->made[i] = NULL;
    *pcopy = p;
    *dcopy = d;
    return &b->ops[RESERVED + i];
}

int zbatch_set(zbatch *b, const char *path, const char *data, size_t len, int version) {
    const char *p, *d;
    zoo_op_t *op = add(b, path, data, len, &p, &d);
    if (!op) return MCM_ERR;
    zoo_set_op_init(op, p, d, (int)len, version, NULL);
    b->bytes += zbatch_op_bytes(path, len, NULL);
    return MCM_OK;
}

int zbatch_create(zbatch *b, const char *path, const char *data, size_t len, struct ACL_vector *acl, int flags) {
    const char *p, *d;
    zoo_op_t *op = add(b, path, data, len, &p, &d);
    if (!op) return MCM_ERR;
    size_t madelen = strlen(path) + 16;               /* room for a 10-digit sequence */
    char *made = calloc(1, madelen);
    if (!made) {
        b->n--;
        free(b->owned[2 * b->n]);
        free(b->owned[2 * b->n + 1]);
        return MCM_ERR;
    }
    b->made[b->n - 1] = made;
    zoo_create_op_init(op, p, d, d ? (int)len : -1, acl, flags, made, (int)madelen);
    b->bytes += zbatch_op_bytes(path, len, acl);
    return MCM_OK;
}

int zbatch_delete(zbatch *b, const char *path, int version) {
    const char *p, *d;
    zoo_op_t *op = add(b, path, NULL, 0, &p, &d);
    if (!op) return MCM_ERR;
    zoo_delete_op_init(op, p, version);
    b->bytes += zbatch_op_bytes(path, 0, NULL);
    return MCM_OK;
}

const char *zbatch_created(const zbatch *b, int i) {
    return i >= 0 && i < b->n ? b->made[i] : NULL;
}

/* --- the fence ------------------------------------------------------------------ */

void state_caches_drop(state *s) {
    s->have_version = 0;
    tasklog_clear(&s->log);
    s->have_servers = 0;
    srvlist_free(s->servers);
    s->servers = NULL;
    state_members_clear(s);
}

int state_fence_current(state *s) {
    const char *m = elect_member_path(s->e);
    if (!elect_is_leader(s->e) || !m[0]) return 0;
    if (strcmp(s->fence, m)) {
        state_caches_drop(s);
        snprintf(s->fence, sizeof(s->fence), "%s", m);
    }
    return 1;
}

/* The task log this writer continues: the stored one if it ends at data
 * version dv (the last writer kept it, so it holds for us too: a new
 * leader does not cut a third replica's copy off), else one covering
 * nothing before dv. Made if missing (unfenced, like state_init: a layout
 * from before the log lacks it; an empty log covers nothing). */
static int load_tasklog(state *s, int32_t dv, char *err, size_t errlen) {
    char path[STATE_PATH_MAX], *data = NULL;
    int len = 0;
    tasklog l;
    zks_path(s->z, "state/tasklog", path, sizeof(path));
    int rc = zks_get(s->z, path, STATE_TASKLOG_MAX * 2, &data, &len, NULL);
    if (rc == ZNONODE) rc = zoo_create(zks_handle(s->z), path, "", 0, zks_acl(s->z), 0, NULL, 0);
    if (rc != ZOK && rc != ZNODEEXISTS && rc != ZKS_TOO_LARGE) {
        snprintf(err, errlen, "read %s: %s", path, zks_strerror(rc));
        return MCM_ERR;
    }
    tasklog_reset(&s->log, dv);
    if (data && tasklog_parse(data, (size_t)len, &l) == MCM_OK) {
        if (l.to == dv) tasklog_clear(&s->log), s->log = l;
        else tasklog_clear(&l);
    }
    free(data);
    return MCM_OK;
}

/* The task IDs the batch's ops name under state/tasks, "<id>,<id>" ("" for
 * none), malloc'd; NULL when out of memory. */
static char *batch_ids(state *s, const zbatch *b) {
    char dir[STATE_PATH_MAX];
    zks_path(s->z, "state/tasks/", dir, sizeof(dir));
    size_t dl = strlen(dir), len = 0, cap = 1;
    for (int i = 0; i < b->n; i++) cap += strlen(b->owned[2 * i]) + 1;
    char *ids = malloc(cap);
    if (!ids) return NULL;
    ids[0] = '\0';
    for (int i = 0; i < b->n; i++) {
        const char *p = b->owned[2 * i];
        if (strncmp(p, dir, dl) || !state_valid_id(p + dl)) continue;
        len += (size_t)snprintf(ids + len, cap - len, "%s%s", len ? "," : "", p + dl);
    }
    return ids;
}

/* The log after this write, within what the multi can still carry; its
 * text in *text. */
static int next_log(state *s, const zbatch *b, tasklog *after, char **text, size_t *len) {
    char *ids = batch_ids(s, b);
    size_t room = STATE_PACKET_BUDGET > b->bytes + 512 ? STATE_PACKET_BUDGET - b->bytes - 512 : 0;
    if (room > STATE_TASKLOG_MAX) room = STATE_TASKLOG_MAX;
    int rc = ids ? tasklog_append(&s->log, s->version_stat + 1, ids, room, after) : MCM_ERR;
    free(ids);
    if (rc == MCM_OK && !(*text = tasklog_text(after, len))) rc = MCM_ERR;
    if (rc != MCM_OK) tasklog_clear(after);
    return rc;
}

static int read_version(state *s, char *err, size_t errlen) {
    char path[STATE_PATH_MAX], *data = NULL;
    int len = 0;
    struct Stat st;
    zks_path(s->z, "state/version", path, sizeof(path));
    int rc = zks_get(s->z, path, 64, &data, &len, &st);
    if (rc != ZOK) {
        snprintf(err, errlen, "read %s: %s%s", path, zks_strerror(rc),
                 rc == ZNONODE ? " (state_init not run?)" : "");
        return MCM_ERR;
    }
    int64_t v = 0;
    if (state_parse_version(data, len, &v) != MCM_OK) {
        log_warn("%s: not a version number from 0 to %lld (%d bytes); continuing from its znode version %d",
                 path, STATE_VERSION_MAX, len, st.version);
        v = st.version;
    }
    free(data);
    if (load_tasklog(s, st.version, err, errlen) != MCM_OK) return MCM_ERR;
    s->version = v;
    s->version_stat = st.version;
    s->have_version = 1;
    return MCM_OK;
}

/* state/version + 1, or, at STATE_VERSION_MAX, a restart from the znode's
 * data version + 1 (which only grows and is far below it): the counter is
 * for people and ordering; the optimistic check uses the data version. */
static int64_t next_version(state *s) {
    if (s->version < STATE_VERSION_MAX) return s->version + 1;
    log_notice("state/version reached %lld; continuing from %d", STATE_VERSION_MAX, s->version_stat + 1);
    return (int64_t)s->version_stat + 1;
}

static int first_failure(const zoo_op_result_t *res, int n) {
    for (int i = 0; i < n; i++)
        if (res[i].err != ZOK && res[i].err != ZRUNTIMEINCONSISTENCY) return i;
    return -1;
}

/* Classifies a failed multi. 1 if worth one retry (version moved). */
static int failed(state *s, int rc, const zoo_op_result_t *res, int n, int *failed_op,
                  int *failed_rc, int *ret, char *err, size_t errlen) {
    int c = first_failure(res, n);
    if (rc == ZCONNECTIONLOSS || rc == ZOPERATIONTIMEOUT) {
        state_caches_drop(s);
        snprintf(err, errlen, "ZooKeeper: %s; the write may or may not have been applied", zks_strerror(rc));
        *ret = MCM_ERR;
    } else if (rc == ZSESSIONEXPIRED || rc == ZINVALIDSTATE || rc == ZAUTHFAILED) {
        snprintf(err, errlen, "fenced: ZooKeeper %s, so we are no longer the leader", zks_strerror(rc));
        *ret = STATE_FENCED;
    } else if (c == 0) {
        snprintf(err, errlen, "fenced: our member znode %s is gone (%s); another replica may lead",
                 s->fence, zks_strerror(res[0].err));
        *ret = STATE_FENCED;
    } else if (c == 2) {   /* the task log gone (deleted by hand): made again at the next write */
        s->have_version = 0;
        snprintf(err, errlen, "state/tasklog: %s", zks_strerror(res[2].err));
        *ret = MCM_ERR;
    } else if (c == 1 && res[1].err == ZBADVERSION) {
        s->have_version = 0;
        snprintf(err, errlen, "state/version moved twice under us (a concurrent writer?)");
        *ret = MCM_ERR;
        return 1;
    } else {
        if (c >= RESERVED) {
            *failed_op = c - RESERVED;
            *failed_rc = res[c].err;
        }
        snprintf(err, errlen, "multi op %d: %s", c < 0 ? -1 : c, zks_strerror(c < 0 ? rc : res[c].err));
        *ret = MCM_ERR;
    }
    return 0;
}

/* Never hand a multi a dead or disconnected handle. The C client (3.8)
 * frees an uninitialised path pointer in zoo_amulti when a sub-op fails its
 * local checks (every op after the first fails them on an expired handle).
 * Not connected: nothing would be sent before the reconnect, and the owner
 * thread would wait for it. (A multi the connection drops under no longer
 * leaks: zks_multi.) */
static int ready(state *s, char *err, size_t errlen) {
    zhandle_t *zh = zks_handle(s->z);
    if (!zh || is_unrecoverable(zh) != ZOK || zks_expired(s->z)) {
        snprintf(err, errlen, "fenced: ZooKeeper session expired, so we are no longer the leader");
        return STATE_FENCED;
    }
    if (zoo_state(zh) != ZOO_CONNECTED_STATE) {
        snprintf(err, errlen, "not connected to ZooKeeper (for %lld ms); nothing written",
                 (long long)zks_disconnected_ms(s->z));
        return MCM_ERR;
    }
    return MCM_OK;
}

int state_fenced_exec(state *s, zbatch *b, int *failed_op, int *failed_rc, char *err, size_t errlen) {
    *failed_op = -1;
    *failed_rc = ZOK;
    if (!state_fence_current(s)) {
        snprintf(err, errlen, "fenced: not the leader");
        return STATE_FENCED;
    }
    int n = b->n + RESERVED, ret = MCM_ERR;
    zoo_op_result_t *res = calloc((size_t)n, sizeof(*res));
    char vpath[STATE_PATH_MAX], lpath[STATE_PATH_MAX], vbuf[32];
    zks_path(s->z, "state/version", vpath, sizeof(vpath));
    zks_path(s->z, "state/tasklog", lpath, sizeof(lpath));
    if (!res) {
        snprintf(err, errlen, "out of memory");
        return MCM_ERR;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        tasklog after;
        char *ltext = NULL;
        size_t llen = 0;
        if (!s->have_version && read_version(s, err, errlen) != MCM_OK) break;
        if (next_log(s, b, &after, &ltext, &llen) != MCM_OK) {
            snprintf(err, errlen, "out of memory");
            break;
        }
        snprintf(vbuf, sizeof(vbuf), "%lld", (long long)next_version(s));
        zoo_check_op_init(&b->ops[0], s->fence, -1);
        zoo_set_op_init(&b->ops[1], vpath, vbuf, (int)strlen(vbuf), s->version_stat, NULL);
        zoo_set_op_init(&b->ops[2], lpath, ltext, (int)llen, -1, NULL);
        memset(res, 0, sizeof(*res) * (size_t)n);
        int rc = (ret = ready(s, err, errlen)) == MCM_OK ? zks_multi(zks_handle(s->z), n, b->ops, res) : ZOK;
        free(ltext);
        if (ret != MCM_OK) {
            tasklog_clear(&after);
            break;
        }
        if (rc == ZOK) {
            s->version++;
            s->version_stat++;
            tasklog_clear(&s->log);
            s->log = after;
            ret = MCM_OK;
            break;
        }
        tasklog_clear(&after);
        if (!failed(s, rc, res, n, failed_op, failed_rc, &ret, err, errlen)) break;
        log_info("state/version moved under us (another leader wrote since our last look); re-reading");
    }
    free(res);
    if (ret == STATE_FENCED) log_notice("write refused: %s", err);
    return ret;
}
