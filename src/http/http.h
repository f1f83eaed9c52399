/* http.h -- the HTTP API every mcm-scheduler replica serves.
 *
 * The scheduler core owns all scheduler state; this server owns none of it.
 * The core PUBLISHES immutable snapshots here through the http_set_*()
 * setters (each copies its argument under a short lock and returns at once),
 * and operator calls come back through hooks the scheduler implements (it
 * posts them to the core and waits for the answer with its own timeout).
 *
 * Endpoints (JSON unless said otherwise; errors are {"error":"CODE","message":"..."}):
 *   GET  /v1/servers   the server list (srvlist.h JSON, same bytes as the znode);
 *                      ETag "<version>"; If-None-Match -> 304; long poll with
 *                      ?wait=<duration>&version=<v>: answers 200 as soon as the
 *                      version differs from v in EITHER direction (at once if
 *                      it already does: after a ZooKeeper data loss versions
 *                      restart lower), or 304 when `wait` passes with the
 *                      version still v (wait <= longpoll_max_s; a plain number
 *                      means seconds). 503 NOT_LOADED until the first list is set.
 *   GET  /v1/leader    the leader's identity JSON; 503 NO_LEADER if none known.
 *   GET  /v1/tasks     the task JSON the core published; 503 NOT_LOADED before.
 *   GET  /v1/status    the status JSON the core published (object), with
 *                      "uptime_s" and "version" added when absent.
 *   GET  /v1/autoscale the autoscaling view the core published (thresholds,
 *                      figures, recent decisions); 503 NOT_LOADED before.
 *   GET  /v1/history   each server's recent reports (leader; a follower's
 *                      list is empty); ?task=<id> one server (404 NOT_FOUND),
 *                      ?points=N the newest N (1..HTTP_HISTORY_POINTS_MAX,
 *                      else 400 BAD_POINTS); 503 NOT_LOADED before.
 *   GET  /v1/replicas  the election's members and which leads; 503 NOT_LOADED.
 *                      These three take no other query parameter (400 BAD_QUERY).
 *   GET  /healthz      200 {"status":"ok"} while the process serves.
 *   GET  /readyz       200 when the ZooKeeper session is connected AND a server
 *                      list is loaded; else 503 NOT_READY naming what is missing.
 *   GET  /metrics      Prometheus text format 0.0.4 of the registry (metrics.h).
 *   POST /v1/scale                 {"instances": N}, N integer in [scale_min, scale_max]
 *   POST /v1/tasks/<id>/restart    (body ignored; id [A-Za-z0-9._:-]{1,255})
 *   POST /v1/teardown              {"confirm": "<framework id>"}: must equal the
 *                                  "framework_id" string of the published status
 *                                  (409 NO_FRAMEWORK_ID if none known; 422
 *                                  CONFIRM_MISMATCH; 400 MISSING_FIELD/BAD_CONFIRM)
 * Operator calls (the three POSTs), checked in this order:
 *   no admin token configured and not admin_insecure -> 403 ADMIN_DISABLED;
 *   token configured and `Authorization: Bearer <token>` missing or wrong ->
 *   401 UNAUTHORIZED with `WWW-Authenticate: Bearer` (constant-time compare);
 *   this replica is not the leader -> 307 NOT_LEADER with `Location: <leader
 *   URL><path>` and {"error":"NOT_LEADER","leader":"<url>"}, or 503 NO_LEADER
 *   if no leader is known; then the body is validated (400/422) and the hook
 *   runs. Its http_hook_result maps to the status (see below). Every operator
 *   call is logged at NOTICE with the remote address, the call and the result.
 * Limits: bodies over body_max -> 413; unknown path 404; wrong method 405 with
 * Allow; connection limits and an idle timeout (MHD options).
 *
 * Threading model: libmicrohttpd with a pool of two epoll threads serving
 * every connection. A request that blocks is deferred: its connection is
 * suspended and a helper thread of its own runs the blocking part -- a long
 * poll's wait on a condition variable (woken by http_set_servers, never
 * polled), or an operator hook, which may block for its bounded timeout --
 * then resumes it (http_defer.c). The connection limit bounds the helpers.
 *
 * Threads: http_new/http_free from the owner (scheduler main) thread; every
 * setter from any thread (normally the core). Hooks are called on helper
 * threads, possibly several at once, and never after http_free() has
 * returned. */
#ifndef MCM_HTTP_H
#define MCM_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "metrics.h"
#include "srvlist.h"

/* What a hook answers; the server maps it to a status code. */
typedef enum http_hook_result {
    HTTP_HOOK_OK = 0,        /* 200 done */
    HTTP_HOOK_ACCEPTED,      /* 202 accepted, will happen asynchronously */
    HTTP_HOOK_NOT_FOUND,     /* 404 NOT_FOUND (e.g. unknown task id) */
    HTTP_HOOK_CONFLICT,      /* 409 CONFLICT (not possible in the current state) */
    HTTP_HOOK_INVALID,       /* 422 INVALID (well-formed but refused) */
    HTTP_HOOK_NOT_LEADER,    /* lost leadership meanwhile: 307 to the leader or 503 */
    HTTP_HOOK_TIMEOUT,       /* 503 TIMEOUT with Retry-After: 1 (core did not answer) */
    HTTP_HOOK_ERROR          /* 500 INTERNAL */
} http_hook_result;

/* Operator hooks. Each gets a buffer for a short human-readable message that
 * goes into the reply ("message"); leave it empty for a default. A NULL hook
 * answers 501 NOT_IMPLEMENTED. */
typedef struct http_hooks {
    void *ctx;
    http_hook_result (*scale)(void *ctx, int instances, char *msg, size_t msglen);
    http_hook_result (*restart)(void *ctx, const char *task_id, char *msg, size_t msglen);
    /* framework_id: the id the operator confirmed (already equal to the
     * published one; the core should check it against its own once more). */
    http_hook_result (*teardown)(void *ctx, const char *framework_id, char *msg, size_t msglen);
} http_hooks;

typedef struct http_config {
    const char *listen_host;   /* numeric or name; NULL or "" = all IPv4 addresses */
    int port;                  /* 0 = a free port, see http_port() */
    const char *admin_token;   /* NULL = no token (operator calls disabled unless insecure); copied */
    int admin_insecure;        /* allow operator calls without a token */
    int scale_min, scale_max;  /* bounds of POST /v1/scale */
    int longpoll_max_s;        /* upper bound of ?wait (default 300) */
    unsigned conn_limit;       /* concurrent connections (default 256) */
    unsigned per_ip_limit;     /* per client address (default 64; 0 = none) */
    unsigned conn_timeout_s;   /* idle connection timeout (default 30) */
    unsigned header_timeout_ms;/* a request's headers must be complete within this (default 10000) */
    size_t body_max;           /* request body limit (default 64 KiB) */
} http_config;

typedef struct http_server http_server;

/* Fills the defaults above (listen 127.0.0.1:0, scale 0..100). */
void http_config_defaults(http_config *c);

/* Starts serving. `m` is the registry /metrics exposes (borrowed; must outlive
 * the server), or NULL for a private one (see http_metrics). Hooks are copied.
 * NULL with a reason in err on failure (bad address, port in use, ...). */
http_server *http_new(const http_config *cfg, const http_hooks *hooks, metrics *m,
                      char *err, size_t errlen);
/* Stops: wakes long polls, closes connections, joins threads. NULL-safe. */
void http_free(http_server *h);

int http_port(const http_server *h);         /* the bound port */
metrics *http_metrics(http_server *h);       /* the registry /metrics serves */

/* --- snapshots published by the core (copied; any thread) ------------------- */
/* The server list; wakes long polls. MCM_ERR if out of memory (old list kept). */
int http_set_servers(http_server *h, const srvlist *l);
/* Who leads. self: 1 if this replica leads (operator calls run here).
 * url: the leader's HTTP base URL ("http://host:port", no trailing '/') or
 * NULL when no leader is known. identity_json: the leader's identity document
 * for GET /v1/leader (NULL: {"url": url}). */
int http_set_leader(http_server *h, int self, const char *url, const char *identity_json);
int http_set_tasks_json(http_server *h, const char *json);
/* Must be a JSON object; its "framework_id" string (if any) is what
 * POST /v1/teardown's confirmation is checked against. MCM_ERR if not an object. */
int http_set_status_json(http_server *h, const char *json);
/* The page's views (http_view.c); each must be JSON of the shape named,
 * else MCM_ERR and the old one stays:
 *   autoscale: an object;
 *   history:   {"servers":[{"task_id":..,"samples":[..]},...], ...};
 *   replicas:  {"replicas":[...], ...}. */
#define HTTP_HISTORY_POINTS_MAX 60
int http_set_autoscale_json(http_server *h, const char *json);
int http_set_history_json(http_server *h, const char *json);
/* Views rendered on demand: at 1,000 servers /v1/history is 4 MB of JSON and
 * /v1/tasks 500 KB, and rendering them every second was most of the
 * leader's steady CPU. The core renders them while they are asked for.
 * http_asked_ms: the monotonic time (util_now_ms) of the view's last GET, 0
 * if none. A request that finds its document older than HTTP_FRESH_MS waits
 * up to HTTP_DEMAND_WAIT_MS for the core to set a new one, then answers what
 * it has. */
typedef enum http_view { HTTP_VIEW_TASKS, HTTP_VIEW_HISTORY, HTTP_VIEW_COUNT } http_view;
#define HTTP_FRESH_MS 2000
#define HTTP_DEMAND_WAIT_MS 1000
int64_t http_asked_ms(http_server *h, http_view v);
/* The view's document is current as of now (its setter calls this; a core
 * whose document is unchanged but checked, a follower's task list, too):
 * requests waiting for a fresh one are answered. */
void http_view_current(http_server *h, http_view v);
int http_set_replicas_json(http_server *h, const char *json);
/* ZooKeeper session state, for /readyz. */
void http_set_zk_connected(http_server *h, int connected);
/* The core's loop clock (monotonic ms, written by the core at every turn of
 * its loop, read here with atomic loads; it must outlive h). While it is
 * older than limit_ms (the core's own pause limit) the process may have been
 * stopped and its leadership lost without its knowing: GET /v1/status then
 * claims none ("role":"unknown", "leader_state":"unproven") until the core
 * has run again and decided, as core_may_act() would; so do the metrics
 * mcm_is_leader and mcm_leader_state (all 0 meanwhile). NULL: no such check. */
void http_set_liveness(http_server *h, const _Atomic int64_t *core_loop_ms, int64_t limit_ms);

#endif
