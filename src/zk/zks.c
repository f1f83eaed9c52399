/* zks.c -- the process's ZooKeeper session (see zks.h).
 *
 * Shape: one zhandle_t from the multi-threaded client plus the little the
 * rest of mcm needs to know about it, kept in atomics so any thread can ask
 * "are we connected, and since when not?" without a lock. The global watcher
 * (session_watcher) is the only code that runs on the client's event thread;
 * it turns ZooKeeper session states into zks events and never blocks.
 *
 * Session states and the events they give (function behind each arrow):
 *
 *   zks_new ──zookeeper_init──▶ (connecting) ──CONNECTED_STATE──▶ connected
 *   connected ──CONNECTING_STATE──▶ disconnected      ZKS_DISCONNECTED, since = now
 *   disconnected ──CONNECTED_STATE──▶ connected       ZKS_CONNECTED, since = 0
 *   disconnected ──EXPIRED_SESSION_STATE──▶ expired   ZKS_EXPIRED (handle dead)
 *   any ──AUTH_FAILED_STATE──▶ auth failed            ZKS_AUTH_FAILED (handle dead)
 *   expired ──zks_reopen (owner: zookeeper_close, zookeeper_init)──▶ connecting
 *
 * Threads: session_watcher and auth_done on the client's threads; everything
 * else on the owner thread except the atomic getters.
 * Invariants: (1) `since_ms` is 0 exactly while `connected` is 1. (2) z->zh
 * changes only on the owner thread, and the old handle is closed (its threads
 * joined) before a new one starts, so the watcher never sees two handles at
 * once. (3) Memory handed to zks_defer_free outlives every callback of every
 * handle: it is freed only after the last zookeeper_close. */
#define LOG_COMPONENT "zk"
#include "zks.h"
#include "log.h"
#include "mcm.h"
#include "util.h"
#include "zks_digest.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct zks {
    char *hosts, *root, *auth;
    int64_t timeout_ms;               /* asked for */
    void *ctx;
    void (*on_event)(void *ctx, zks_event ev);
    zhandle_t *zh;                    /* owner thread only */
    atomic_int connected;
    atomic_llong since_ms;            /* monotonic ms of the disconnection, 0 while connected */
    atomic_llong negotiated_ms;
    atomic_llong session_id;
    atomic_int dead;                  /* expired or auth failed: handle unusable */
    pthread_mutex_t mu;               /* with cv: open_handle waits for the first connection */
    pthread_cond_t cv;
    int announced;                    /* under mu: CONNECTED delivered to on_event */
    char digest_id[256];              /* "user:base64(sha1(user:password))" */
    struct ACL acl[2];
    struct ACL_vector aclv;
    void **deferred;                  /* freed in zks_free, after the last close */
    int ndeferred;
};

/* --- ZooKeeper's own log ------------------------------------------------------ */

static void zoo_log_cb(const char *message) {
    size_t n = strlen(message);
    while (n > 0 && (message[n - 1] == '\n' || message[n - 1] == '\r')) n--;
    log_verbose("zookeeper client: %.*s", (int)n, message);
}

static void set_zoo_log_level(void) {
    /* The client logs every failed connect attempt at ERROR; that is noise
     * for us (zks reports the session state itself), so it shows only at
     * verbose and the chatty INFO lines only at debug. */
    if (log_min_level <= LOG_DEBUG) zoo_set_debug_level(ZOO_LOG_LEVEL_INFO);
    else if (log_min_level <= LOG_VERBOSE) zoo_set_debug_level(ZOO_LOG_LEVEL_WARN);
    else zoo_set_debug_level((ZooLogLevel)0);
}

/* --- the event thread ------------------------------------------------------- */

static void emit(zks *z, zks_event ev) {
    if (z->on_event) z->on_event(z->ctx, ev);
}

static void mark_disconnected(zks *z) {
    long long zero = 0;
    atomic_compare_exchange_strong(&z->since_ms, &zero, (long long)util_now_ms());
}

static void on_connected(zks *z, zhandle_t *zh) {
    const clientid_t *id = zoo_client_id(zh);
    atomic_store(&z->negotiated_ms, (long long)zoo_recv_timeout(zh));
    if (id) atomic_store(&z->session_id, (long long)id->client_id);
    atomic_store(&z->since_ms, 0);
    int was = atomic_exchange(&z->connected, 1);
    if (!was) {
        log_info("ZooKeeper session 0x%llx connected (timeout %lld ms)",
                 (unsigned long long)atomic_load(&z->session_id),
                 (long long)atomic_load(&z->negotiated_ms));
        emit(z, ZKS_CONNECTED);
    }
    pthread_mutex_lock(&z->mu);       /* after the event: zks_new/reopen return after it */
    z->announced = 1;
    pthread_cond_broadcast(&z->cv);
    pthread_mutex_unlock(&z->mu);
}

static void on_lost(zks *z, zks_event ev) {
    mark_disconnected(z);
    atomic_store(&z->connected, 0);
    atomic_store(&z->dead, 1);
    pthread_mutex_lock(&z->mu);
    pthread_cond_broadcast(&z->cv);
    pthread_mutex_unlock(&z->mu);
    log_warn("ZooKeeper session 0x%llx %s", (unsigned long long)atomic_load(&z->session_id),
             ev == ZKS_EXPIRED ? "expired: its ephemeral nodes are gone"
                               : "refused: authentication failed (check the auth file)");
    emit(z, ev);
}

static void session_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    zks *z = ctx;
    if (type != ZOO_SESSION_EVENT) return;
    if (state == ZOO_CONNECTED_STATE) {
        on_connected(z, zh);
    } else if (state == ZOO_EXPIRED_SESSION_STATE) {
        on_lost(z, ZKS_EXPIRED);
    } else if (state == ZOO_AUTH_FAILED_STATE) {
        on_lost(z, ZKS_AUTH_FAILED);
    } else if (state == ZOO_CONNECTING_STATE || state == ZOO_ASSOCIATING_STATE) {
        mark_disconnected(z);
        if (atomic_exchange(&z->connected, 0)) {
            log_info("ZooKeeper connection lost; reconnecting (session 0x%llx may survive)",
                     (unsigned long long)atomic_load(&z->session_id));
            emit(z, ZKS_DISCONNECTED);
        }
    }
}

static void auth_done(int rc, const void *data) {
    /* Before the first connection the client answers ZCONNECTIONLOSS but keeps
     * the credentials and sends them with every (re)connection. */
    if (rc == ZCONNECTIONLOSS) log_debug("digest credentials queued until connected");
    else if (rc != ZOK) log_warn("ZooKeeper digest authentication: %s", zks_strerror(rc));
}

/* --- owner thread ------------------------------------------------------------- */

static int wait_connected(zks *z, int64_t timeout_ms) {
    int64_t deadline = util_now_ms() + timeout_ms;
    pthread_mutex_lock(&z->mu);
    while (!z->announced && !atomic_load(&z->dead)) {
        int64_t left = deadline - util_now_ms();
        if (left <= 0) break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + (left % 1000) * 1000000;
        ts.tv_sec += (time_t)(left / 1000 + ns / 1000000000);
        ts.tv_nsec = (long)(ns % 1000000000);
        pthread_cond_timedwait(&z->cv, &z->mu, &ts);
    }
    int ok = z->announced && atomic_load(&z->connected);
    pthread_mutex_unlock(&z->mu);
    return ok ? MCM_OK : MCM_ERR;
}

static int open_handle(zks *z, int64_t connect_timeout_ms, char *err, size_t errlen) {
    set_zoo_log_level();
    atomic_store(&z->dead, 0);
    atomic_store(&z->connected, 0);
    mark_disconnected(z);
    pthread_mutex_lock(&z->mu);
    z->announced = 0;
    pthread_mutex_unlock(&z->mu);
    z->zh = zookeeper_init2(z->hosts, session_watcher, (int)z->timeout_ms, NULL, z, 0, zoo_log_cb);
    if (!z->zh) {
        snprintf(err, errlen, "zookeeper_init %s: %s", z->hosts, strerror(errno));
        return MCM_ERR;
    }
    if (z->auth) {
        int rc = zoo_add_auth(z->zh, "digest", z->auth, (int)strlen(z->auth), auth_done, NULL);
        if (rc != ZOK) {
            snprintf(err, errlen, "zoo_add_auth: %s", zks_strerror(rc));
            return MCM_ERR;
        }
    }
    if (wait_connected(z, connect_timeout_ms) != MCM_OK) {
        snprintf(err, errlen, "no ZooKeeper session with %s within %lld ms%s", z->hosts,
                 (long long)connect_timeout_ms,
                 atomic_load(&z->dead) ? " (session refused: expired or auth failed)" : "");
        return MCM_ERR;
    }
    return MCM_OK;
}

static int setup_acl(zks *z, char *err, size_t errlen) {
    if (!z->auth) return MCM_OK;
    const char *colon = strchr(z->auth, ':');
    if (!colon || colon == z->auth || !colon[1]) {
        snprintf(err, errlen, "ZooKeeper auth must be \"user:password\" (non-empty user and password)");
        return MCM_ERR;
    }
    if (zks_digest_id(z->auth, z->digest_id, sizeof(z->digest_id)) != MCM_OK) {
        snprintf(err, errlen, "cannot compute the digest ACL id (libcrypto SHA-1 failed)");
        return MCM_ERR;
    }
    z->acl[0] = (struct ACL){.perms = ZOO_PERM_ALL, .id = {.scheme = "digest", .id = z->digest_id}};
    z->acl[1] = (struct ACL){.perms = ZOO_PERM_READ, .id = {.scheme = "world", .id = "anyone"}};
    z->aclv = (struct ACL_vector){.count = 2, .data = z->acl};
    return MCM_OK;
}

static char *normalize_root(const char *root) {
    if (!root) root = "";
    size_t n = strlen(root);
    while (n > 0 && root[n - 1] == '/') n--;
    return strndup(root, n);
}

zks *zks_new(const zks_config *cfg, int64_t connect_timeout_ms, char *err, size_t errlen) {
    zks *z = calloc(1, sizeof(*z));
    if (!z) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&z->mu, NULL);
    pthread_cond_init(&z->cv, NULL);
    z->hosts = strdup(cfg->hosts ? cfg->hosts : "");
    z->root = normalize_root(cfg->root);
    z->auth = cfg->auth ? strdup(cfg->auth) : NULL;
    z->timeout_ms = cfg->session_timeout_ms;
    z->ctx = cfg->ctx;
    z->on_event = cfg->on_event;
    if (!z->hosts || !z->root || (cfg->auth && !z->auth)) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (z->root[0] && z->root[0] != '/') {
        snprintf(err, errlen, "ZooKeeper root \"%s\" must be an absolute path", cfg->root);
        goto fail;
    }
    if (setup_acl(z, err, errlen) != MCM_OK) goto fail;
    if (open_handle(z, connect_timeout_ms, err, errlen) != MCM_OK) goto fail;
    if (z->root[0] && zks_mkdirs(z, z->root, err, errlen) != MCM_OK) goto fail;
    return z;
fail:
    zks_free(z);
    return NULL;
}

int zks_reopen(zks *z, int64_t connect_timeout_ms, char *err, size_t errlen) {
    if (z->zh) zookeeper_close(z->zh);
    z->zh = NULL;
    atomic_store(&z->session_id, 0);
    if (open_handle(z, connect_timeout_ms, err, errlen) != MCM_OK) return MCM_ERR;
    log_notice("new ZooKeeper session 0x%llx after the old one ended",
               (unsigned long long)atomic_load(&z->session_id));
    return MCM_OK;
}

void zks_free(zks *z) {
    if (!z) return;
    if (z->zh) zookeeper_close(z->zh);
    for (int i = 0; i < z->ndeferred; i++) free(z->deferred[i]);
    free(z->deferred);
    pthread_mutex_destroy(&z->mu);
    pthread_cond_destroy(&z->cv);
    free(z->hosts);
    free(z->root);
    if (z->auth) memset(z->auth, 0, strlen(z->auth));
    free(z->auth);
    free(z);
}

void zks_defer_free(zks *z, void *p) {
    void **d = realloc(z->deferred, sizeof(*d) * (size_t)(z->ndeferred + 1));
    if (!d) return;                   /* leak rather than risk a callback on freed memory */
    z->deferred = d;
    z->deferred[z->ndeferred++] = p;
}

zhandle_t *zks_handle(zks *z) { return z->zh; }

int zks_connected(const zks *z) { return atomic_load(&((zks *)z)->connected); }

int zks_expired(const zks *z) { return atomic_load(&((zks *)z)->dead); }

int64_t zks_disconnected_ms(const zks *z) {
    long long since = atomic_load(&((zks *)z)->since_ms);
    if (since == 0) return 0;
    int64_t d = util_now_ms() - since;
    return d > 0 ? d : 1;
}

int64_t zks_session_timeout_ms(const zks *z) {
    long long n = atomic_load(&((zks *)z)->negotiated_ms);
    return n > 0 ? n : z->timeout_ms;
}

int64_t zks_session_id(const zks *z) { return atomic_load(&((zks *)z)->session_id); }

void zks_path(const zks *z, const char *rel, char *buf, size_t len) {
    if (!rel || !*rel) snprintf(buf, len, "%s", z->root[0] ? z->root : "/");
    else snprintf(buf, len, "%s/%s", z->root, rel);
}

struct ACL_vector *zks_acl(zks *z) {
    return z->auth ? &z->aclv : &ZOO_OPEN_ACL_UNSAFE;
}

const char *zks_digest(const zks *z) { return z->auth ? z->digest_id : NULL; }

int zks_mkdirs(zks *z, const char *abs_path, char *err, size_t errlen) {
    size_t n = strlen(abs_path);
    if (n == 0 || abs_path[0] != '/') {
        snprintf(err, errlen, "zks_mkdirs: \"%s\" is not an absolute path", abs_path);
        return MCM_ERR;
    }
    char *p = strdup(abs_path);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return MCM_ERR;
    }
    int ret = MCM_OK;
    for (size_t i = 1; i <= n && ret == MCM_OK; i++) {
        if (p[i] != '/' && p[i] != '\0') continue;
        char c = p[i];
        p[i] = '\0';
        /* exists first: without CREATE permission on the parent, create
         * answers "not authorized" even when the node is already there */
        int rc = zoo_exists(z->zh, p, 0, NULL);
        if (rc == ZNONODE) rc = zoo_create(z->zh, p, NULL, -1, zks_acl(z), 0, NULL, 0);
        if (rc != ZOK && rc != ZNODEEXISTS) {
            snprintf(err, errlen, "create %s: %s", p, zks_strerror(rc));
            ret = MCM_ERR;
        }
        p[i] = c;
    }
    free(p);
    return ret;
}

int zks_get(zks *z, const char *abs_path, int max, char **data, int *len, struct Stat *st) {
    struct Stat stat;
    int cap = max < 4096 ? max : 4096;
    *data = NULL;
    *len = 0;
    for (;;) {
        char *buf = malloc((size_t)cap + 1);
        if (!buf) return ZSYSTEMERROR;
        int n = cap;
        int rc = zoo_get(z->zh, abs_path, 0, buf, &n, &stat);
        if (rc != ZOK) {
            free(buf);
            return rc;
        }
        if (st) *st = stat;
        if (stat.dataLength > max) {
            free(buf);
            *len = stat.dataLength;
            return ZKS_TOO_LARGE;
        }
        if (stat.dataLength <= cap) {
            if (n < 0) n = 0;                     /* NULL data reads as -1 */
            buf[n] = '\0';
            *data = buf;
            *len = n;
            return ZOK;
        }
        free(buf);                                 /* grew: read again at its size */
        cap = stat.dataLength;
    }
}

const char *zks_strerror(int rc) {
    switch (rc) {
    case ZOK: return "ok";
    case ZKS_TOO_LARGE: return "znode larger than the reader accepts";
    case ZCONNECTIONLOSS: return "connection loss (result unknown)";
    case ZOPERATIONTIMEOUT: return "operation timed out";
    case ZSESSIONEXPIRED: return "session expired";
    case ZSESSIONMOVED: return "session moved to another connection";
    case ZAUTHFAILED: return "authentication failed";
    case ZNOAUTH: return "not authorized (ACL)";
    case ZNONODE: return "no such znode";
    case ZNODEEXISTS: return "znode exists";
    case ZBADVERSION: return "version mismatch";
    case ZNOTEMPTY: return "znode has children";
    case ZNOCHILDRENFOREPHEMERALS: return "ephemeral znodes cannot have children";
    case ZINVALIDSTATE: return "handle in an invalid state (expired or closed)";
    case ZBADARGUMENTS: return "bad arguments";
    case ZMARSHALLINGERROR: return "marshalling error (request too large?)";
    case ZRUNTIMEINCONSISTENCY: return "not applied (an earlier op of the multi failed)";
    default: return zerror(rc);
    }
}
