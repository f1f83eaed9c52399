/* elect.c -- leader election among replicas (see elect.h for the recipe).
 *
 * Shape: all ZooKeeper work is synchronous and happens in elect_check and
 * friends on the owner thread; the only code on ZooKeeper's thread is
 * watcher(), which calls the owner's wake() through an "anchor". The anchor
 * outlives the elect object (zks frees it after closing the handle) because
 * a watch registered on the server can fire after elect_free; the anchor's
 * `dead` flag, set under its mutex, makes such late events no-ops.
 *
 * Leadership states (function behind each transition; every way out of
 * LEADER calls `deposed`, the way in calls `elected`):
 *
 *                  elect_join              elect_check: we are lowest
 *   NOT A MEMBER ─────────────▶ FOLLOWER ───────────────────────────▶ LEADER
 *        ▲                         ▲                                    │
 *        │                         └── elect_tick: disconnected for ────┤
 *        │                             >= the limit (node kept, so the  │
 *        │                             next elect_check may re-elect)   │
 *        └── elect_session_lost, elect_resign, or elect_check finding ──┘
 *            our node gone (it then rejoins at once: -> FOLLOWER)
 *
 * Invariants: (1) `leader` is 1 only while `member` names a znode that was
 * lowest at our last successful getChildren and the session has not been out
 * of touch for elect_disconnect_limit_ms since. (2) elected/deposed alternate,
 * starting with elected: the owner sees a clean sequence. (3) A watch is set
 * after every successful elect_check: on our own node always, and when
 * following also on our predecessor and on the leader node, so any change
 * that matters wakes the owner.
 *
 * Threads: watcher() on the ZooKeeper event thread; everything else on the
 * owner thread. */
#define LOG_COMPONENT "elect"
#include "elect.h"
#include "log.h"
#include "mcm.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ELECT_PATH_MAX 512
#define ELECT_ROUNDS 16               /* re-list when a node vanished mid-check */
#define ELECT_IDENTITY_MAX (1 << 20)

typedef struct elect_anchor {
    pthread_mutex_t mu;
    int dead;
    void *ctx;
    void (*wake)(void *ctx);
} elect_anchor;

struct elect {
    zks *z;
    char *identity;
    elect_callbacks cb;
    elect_anchor *anchor;
    char dir[ELECT_PATH_MAX];         /* <root>/leader */
    char member[ELECT_PATH_MAX];      /* our member znode, "" if none */
    int leader;
    int resigned;                     /* elect_check does nothing until elect_join */
    char *leader_identity;            /* as of the last elect_check */
};

/* --- ZooKeeper thread ---------------------------------------------------------- */

static void watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    elect_anchor *a = ctx;
    if (type == ZOO_SESSION_EVENT) return;        /* zks reports those */
    pthread_mutex_lock(&a->mu);
    if (!a->dead && a->wake) a->wake(a->ctx);
    pthread_mutex_unlock(&a->mu);
}

/* --- owner thread ------------------------------------------------------------ */

elect *elect_new(zks *z, const char *identity_json, const elect_callbacks *cb) {
    elect *e = calloc(1, sizeof(*e));
    elect_anchor *a = calloc(1, sizeof(*a));
    if (!e || !a) goto fail;
    e->identity = strdup(identity_json ? identity_json : "{}");
    if (!e->identity) goto fail;
    pthread_mutex_init(&a->mu, NULL);
    if (cb) e->cb = *cb;
    a->ctx = e->cb.ctx;
    a->wake = e->cb.wake;
    e->anchor = a;
    e->z = z;
    zks_path(z, "leader", e->dir, sizeof(e->dir));
    zks_defer_free(z, a);
    return e;
fail:
    if (e) free(e->identity);
    free(e);
    free(a);
    return NULL;
}

void elect_free(elect *e) {
    if (!e) return;
    char err[256];
    if (e->member[0] && elect_resign(e, err, sizeof(err)) != MCM_OK)
        log_info("leaving the election: %s (the node goes with the session)", err);
    pthread_mutex_lock(&e->anchor->mu);
    e->anchor->dead = 1;              /* the anchor itself is freed by zks_free */
    pthread_mutex_unlock(&e->anchor->mu);
    free(e->identity);
    free(e->leader_identity);
    free(e);
}

static void set_leader_identity(elect *e, char *identity) {
    free(e->leader_identity);
    e->leader_identity = identity;
}

static void become_leader(elect *e) {
    if (e->leader) return;
    e->leader = 1;
    log_notice("elected leader (member %s)", e->member);
    if (e->cb.elected) e->cb.elected(e->cb.ctx);
}

static void depose(elect *e, const char *why) {
    if (!e->leader) return;
    e->leader = 0;
    log_notice("no longer the leader: %s", why);
    if (e->cb.deposed) e->cb.deposed(e->cb.ctx, why);
}

static int zk_gone(int rc) {
    return rc == ZSESSIONEXPIRED || rc == ZINVALIDSTATE || rc == ZAUTHFAILED;
}

/* After a session-level failure: nothing we hold in ZooKeeper is ours any more. */
static void lost(elect *e, const char *why) {
    depose(e, why);
    e->member[0] = '\0';
    set_leader_identity(e, NULL);
}

/* dir/name into buf; 0 if it did not fit (then buf holds "", which no znode is). */
static int join(char *buf, size_t len, const char *dir, const char *name) {
    int n = snprintf(buf, len, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= len) { buf[0] = '\0'; return 0; }
    return 1;
}

static int64_t seq_of(const char *name) {
    const char *u = strrchr(name, '_');
    return u ? strtoll(u + 1, NULL, 10) : -1;
}

static int by_seq(const void *a, const void *b) {
    int64_t x = seq_of(*(char *const *)a), y = seq_of(*(char *const *)b);
    return x < y ? -1 : x > y;
}

/* Members sorted by sequence (pointers into sv). */
static char **sorted_members(const struct String_vector *sv, int *n) {
    char **v = calloc((size_t)sv->count + 1, sizeof(*v));
    *n = 0;
    if (!v) return NULL;
    for (int i = 0; i < sv->count; i++)
        if (!strncmp(sv->data[i], "member_", 7) && seq_of(sv->data[i]) >= 0) v[(*n)++] = sv->data[i];
    qsort(v, (size_t)*n, sizeof(*v), by_seq);
    return v;
}

/* A member znode this session already owns (a create whose reply was lost
 * to a connection loss still made one): adopt it instead of making another. */
static int adopt_own(elect *e, char *err, size_t errlen) {
    struct String_vector sv = {0};
    int rc = zoo_get_children(zks_handle(e->z), e->dir, 0, &sv);
    if (rc == ZNONODE) return MCM_OK;
    if (rc != ZOK) {
        snprintf(err, errlen, "list %s: %s", e->dir, zks_strerror(rc));
        return MCM_ERR;
    }
    int64_t sid = zks_session_id(e->z);
    for (int i = 0; i < sv.count && !e->member[0]; i++) {
        char path[ELECT_PATH_MAX];
        struct Stat st;
        if (!join(path, sizeof(path), e->dir, sv.data[i])) continue;
        if (zoo_exists(zks_handle(e->z), path, 0, &st) == ZOK && st.ephemeralOwner == sid) {
            snprintf(e->member, sizeof(e->member), "%s", path);
            log_info("adopting member znode %s (created before a connection loss)", path);
        }
    }
    deallocate_String_vector(&sv);
    return MCM_OK;
}

static int create_member(elect *e, char *err, size_t errlen) {
    char prefix[ELECT_PATH_MAX], made[ELECT_PATH_MAX];
    join(prefix, sizeof(prefix), e->dir, "member_");
    for (int attempt = 0; attempt < 2; attempt++) {
        int rc = zoo_create(zks_handle(e->z), prefix, e->identity, (int)strlen(e->identity),
                            zks_acl(e->z), ZOO_EPHEMERAL | ZOO_SEQUENCE, made, sizeof(made));
        if (rc == ZOK) {
            snprintf(e->member, sizeof(e->member), "%s", made);
            log_info("joined the election as %s", made);
            return MCM_OK;
        }
        if (rc != ZNONODE || attempt > 0) {
            snprintf(err, errlen, "create %s: %s", prefix, zks_strerror(rc));
            if (zk_gone(rc)) lost(e, "ZooKeeper session expired");
            return MCM_ERR;
        }
        if (zks_mkdirs(e->z, e->dir, err, errlen) != MCM_OK) return MCM_ERR;
    }
    return MCM_ERR;
}

/* Synchronous calls on a disconnected handle wait for the client's next
 * connection attempt (up to 2/3 of the session timeout when the network is
 * silent), which would stall the owner thread, elect_tick included. */
static int usable(elect *e, char *err, size_t errlen) {
    if (zks_expired(e->z)) {
        lost(e, "ZooKeeper session expired");
        snprintf(err, errlen, "ZooKeeper session expired");
        return MCM_ERR;
    }
    if (!zks_connected(e->z)) {
        snprintf(err, errlen, "not connected to ZooKeeper (for %lld ms); role unchanged",
                 (long long)zks_disconnected_ms(e->z));
        return MCM_ERR;
    }
    return MCM_OK;
}

int elect_join(elect *e, char *err, size_t errlen) {
    e->resigned = 0;
    if (usable(e, err, errlen) != MCM_OK) return MCM_ERR;
    if (e->member[0]) {
        int rc = zoo_exists(zks_handle(e->z), e->member, 0, NULL);
        if (rc == ZOK) return MCM_OK;
        if (rc != ZNONODE) {
            snprintf(err, errlen, "exists %s: %s", e->member, zks_strerror(rc));
            if (zk_gone(rc)) lost(e, "ZooKeeper session expired");
            return MCM_ERR;
        }
        lost(e, "our member znode is gone");
    }
    if (adopt_own(e, err, errlen) != MCM_OK) return MCM_ERR;
    if (e->member[0]) return MCM_OK;
    return create_member(e, err, errlen);
}

/* We are lowest: watch our own node (it vanishing means we no longer lead). */
static int check_lowest(elect *e, int *again, char *err, size_t errlen) {
    int rc = zoo_wexists(zks_handle(e->z), e->member, watcher, e->anchor, NULL);
    if (rc == ZNONODE) { *again = 1; return MCM_OK; }
    if (rc != ZOK) {
        snprintf(err, errlen, "watch %s: %s", e->member, zks_strerror(rc));
        return MCM_ERR;
    }
    set_leader_identity(e, strdup(e->identity));
    become_leader(e);
    return MCM_OK;
}

/* We follow: read the leader's identity and watch our own node (deleted by
 * hand: rejoin), our predecessor (whose going may make us leader) and the
 * leader (whose going changes the identity we report; for the second in line
 * predecessor and leader are the same node). */
static int check_follower(elect *e, const char *lowest, const char *pred, int *again,
                          char *err, size_t errlen) {
    char lpath[ELECT_PATH_MAX], ppath[ELECT_PATH_MAX];
    join(lpath, sizeof(lpath), e->dir, lowest);
    join(ppath, sizeof(ppath), e->dir, pred);
    char *data = NULL;
    int len = 0;
    int rc = zks_get(e->z, lpath, ELECT_IDENTITY_MAX, &data, &len, NULL);
    if (rc == ZOK) rc = zoo_wexists(zks_handle(e->z), e->member, watcher, e->anchor, NULL);
    if (rc == ZOK) rc = zoo_wexists(zks_handle(e->z), lpath, watcher, e->anchor, NULL);
    if (rc == ZOK && strcmp(lpath, ppath)) rc = zoo_wexists(zks_handle(e->z), ppath, watcher, e->anchor, NULL);
    if (rc == ZNONODE) {
        free(data);
        *again = 1;
        return MCM_OK;
    }
    if (rc != ZOK) {
        free(data);
        snprintf(err, errlen, "read/watch %s: %s", rc == ZKS_TOO_LARGE ? lpath : ppath, zks_strerror(rc));
        return MCM_ERR;
    }
    set_leader_identity(e, data);
    if (e->leader) {
        char why[ELECT_PATH_MAX + 64];
        snprintf(why, sizeof(why), "%s is ahead of us", lowest);
        depose(e, why);
    }
    return MCM_OK;
}

/* One look at the members; *again when a node vanished between calls. */
static int check_round(elect *e, int *again, char *err, size_t errlen) {
    struct String_vector sv = {0};
    int rc = zoo_get_children(zks_handle(e->z), e->dir, 0, &sv);
    if (rc != ZOK && rc != ZNONODE) {
        snprintf(err, errlen, "list %s: %s", e->dir, zks_strerror(rc));
        if (zk_gone(rc)) lost(e, "ZooKeeper session expired");
        return MCM_ERR;
    }
    int n = 0, me = -1, ret;
    char **m = sorted_members(&sv, &n);
    const char *mine = strrchr(e->member, '/');
    for (int i = 0; m && mine && i < n; i++)
        if (!strcmp(m[i], mine + 1)) me = i;
    if (!m) {
        snprintf(err, errlen, "out of memory");
        ret = MCM_ERR;
    } else if (me < 0) {
        lost(e, "our member znode is gone");      /* deleted under a live session: rejoin */
        ret = create_member(e, err, errlen);
        *again = ret == MCM_OK;
    } else if (me == 0) {
        ret = check_lowest(e, again, err, errlen);
    } else {
        ret = check_follower(e, m[0], m[me - 1], again, err, errlen);
    }
    free(m);
    deallocate_String_vector(&sv);
    return ret;
}

int elect_check(elect *e, char *err, size_t errlen) {
    if (e->resigned) return MCM_OK;
    if (usable(e, err, errlen) != MCM_OK) return MCM_ERR;
    if (!e->member[0] && elect_join(e, err, errlen) != MCM_OK) return MCM_ERR;
    for (int round = 0; round < ELECT_ROUNDS; round++) {
        int again = 0;
        if (check_round(e, &again, err, errlen) != MCM_OK) return MCM_ERR;
        if (!again) return MCM_OK;
    }
    snprintf(err, errlen, "election members kept changing during %d rounds; will retry", ELECT_ROUNDS);
    return MCM_ERR;
}

int elect_resign(elect *e, char *err, size_t errlen) {
    e->resigned = 1;
    int rc = ZOK;
    char path[ELECT_PATH_MAX];
    snprintf(path, sizeof(path), "%s", e->member);
    if (path[0] && zks_connected(e->z)) rc = zoo_delete(zks_handle(e->z), path, -1);
    else if (path[0]) rc = ZCONNECTIONLOSS;           /* the node goes when the session ends */
    depose(e, "resigned");
    e->member[0] = '\0';
    set_leader_identity(e, NULL);
    if (rc != ZOK && rc != ZNONODE) {
        snprintf(err, errlen, "delete %s: %s", path, zks_strerror(rc));
        return MCM_ERR;
    }
    if (path[0]) log_info("resigned: deleted %s", path);
    return MCM_OK;
}

void elect_session_lost(elect *e) {
    lost(e, "ZooKeeper session expired");
}

int64_t elect_disconnect_limit_ms(const elect *e) {
    return zks_session_timeout_ms(e->z) * ELECT_DISCONNECT_NUM / ELECT_DISCONNECT_DEN;
}

int elect_tick(elect *e) {
    if (!e->leader) return 0;
    if (zks_expired(e->z)) {
        depose(e, "ZooKeeper session expired");
        return 0;
    }
    int64_t off = zks_disconnected_ms(e->z), limit = elect_disconnect_limit_ms(e);
    if (off >= limit) {
        char why[160];
        snprintf(why, sizeof(why), "ZooKeeper unreachable for %lld ms (limit %lld ms of a %lld ms session)",
                 (long long)off, (long long)limit, (long long)zks_session_timeout_ms(e->z));
        depose(e, why);
    }
    return e->leader;
}

int elect_is_leader(const elect *e) { return e->leader; }

int elect_is_member(const elect *e) { return e->member[0] != '\0'; }

const char *elect_member_path(const elect *e) { return e->member; }

char *elect_leader_identity(const elect *e) {
    return e->leader_identity ? strdup(e->leader_identity) : NULL;
}
