/* zks.h -- the one ZooKeeper session of a process, shared by election and state.
 *
 * Wraps the multi-threaded ZooKeeper C client (zookeeper_mt). All paths given
 * to election and state are relative to mcm's root (the path of `--zk
 * zk://h1:p1,h2:p2/root`); zks_path() makes them absolute. zks_new() creates
 * the root (and its parents) if missing.
 *
 * Connection loss and session expiry are different events:
 *   ZKS_DISCONNECTED  the client lost its server and reconnects by itself;
 *                     the session (and our ephemeral nodes) may still live.
 *                     zks_disconnected_ms() tells for how long: a leader stops
 *                     acting after a safe fraction of the session timeout.
 *   ZKS_CONNECTED     (re)connected within the same session.
 *   ZKS_EXPIRED       the session is gone, with every ephemeral node. The old
 *                     handle is dead; the owner stops leading at once, then
 *                     calls zks_reopen() to get a new session and rejoins.
 *   ZKS_AUTH_FAILED   digest authentication was refused.
 *
 * THREADS: on_event runs on the ZooKeeper client's completion/event thread: it
 * must not block and must not make synchronous zoo_* calls (that thread is the
 * one that would complete them). Everything else -- zks_new, zks_reopen,
 * zks_free and synchronous zoo_* calls on zks_handle() -- runs on the owner
 * thread. zks_connected()/zks_disconnected_ms() may be called from any thread.
 *
 * ACLs: with an auth file ("user:password"), nodes mcm creates are writable by
 * that digest identity only and readable by everyone (clients read
 * `servers`); without, they are open. The digest id is
 * "user:base64(sha1(user:password))" (ZooKeeper's digest scheme, computed with
 * libcrypto); the password never leaves the process except in zoo_add_auth.
 *
 * Logging: the client library's own log goes through log.h (component "zk"):
 * its warnings and errors at verbose, its INFO lines at debug, nothing above.
 *
 * Lifetime: free elect and state objects before the zks they use. */
#ifndef MCM_ZKS_H
#define MCM_ZKS_H

#include <stddef.h>
#include <stdint.h>
#include <zookeeper/zookeeper.h>

typedef enum zks_event {
    ZKS_CONNECTED = 1,
    ZKS_DISCONNECTED,
    ZKS_EXPIRED,
    ZKS_AUTH_FAILED,
} zks_event;

typedef struct zks zks;

typedef struct zks_config {
    const char *hosts;              /* "h1:p1,h2:p2" */
    const char *root;               /* "/mcm" (absolute, no trailing '/') */
    int64_t session_timeout_ms;
    const char *auth;               /* "user:password" or NULL */
    void *ctx;
    void (*on_event)(void *ctx, zks_event ev);   /* see THREADS; may be NULL */
} zks_config;

/* Connects (waits up to connect_timeout_ms for the first connection) and
 * creates the root. NULL with a reason in err. Strings are copied. */
zks *zks_new(const zks_config *cfg, int64_t connect_timeout_ms, char *err, size_t errlen);
/* After ZKS_EXPIRED: closes the dead handle and opens a new session. */
int zks_reopen(zks *z, int64_t connect_timeout_ms, char *err, size_t errlen);
/* Closes the session (ephemeral nodes go at once). NULL-safe. */
void zks_free(zks *z);

zhandle_t *zks_handle(zks *z);               /* owner thread; changes on reopen */
int zks_connected(const zks *z);             /* any thread */
int64_t zks_disconnected_ms(const zks *z);   /* 0 while connected; any thread */
int64_t zks_session_timeout_ms(const zks *z);/* as negotiated with the server */
int64_t zks_session_id(const zks *z);
/* 1 once the session has expired or authentication failed (the handle is
 * dead until zks_reopen); any thread. */
int zks_expired(const zks *z);
/* "<root>/<rel>" into buf (rel "" gives the root). */
void zks_path(const zks *z, const char *rel, char *buf, size_t len);
/* ACL for nodes mcm creates (see above). */
struct ACL_vector *zks_acl(zks *z);
/* Creates path and missing parents as persistent nodes with zks_acl (absolute path). */
int zks_mkdirs(zks *z, const char *abs_path, char *err, size_t errlen);
/* The digest ACL id "user:base64(sha1(user:password))", or NULL without auth. */
const char *zks_digest(const zks *z);
/* Takes ownership of p and frees it in zks_free, after the handle is closed:
 * for watcher contexts that must outlive every callback of every handle
 * (a watch's context can still be in the client's queue when its owner goes).
 * Owner thread. */
void zks_defer_free(zks *z, void *p);
/* Reads a znode whatever its size up to max bytes: on ZOK *data is a malloc'd
 * NUL-terminated copy (caller frees) of *len bytes and *st (if not NULL) its
 * stat. ZKS_TOO_LARGE (with *len the real size) if it holds more than max;
 * otherwise the ZooKeeper return code. Owner thread (synchronous). */
#define ZKS_TOO_LARGE 1
int zks_get(zks *z, const char *abs_path, int max, char **data, int *len, struct Stat *st);
/* "connection loss", "session expired", ... for a ZooKeeper return code. */
const char *zks_strerror(int rc);

#endif
