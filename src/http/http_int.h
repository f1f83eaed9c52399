/* http_int.h -- internals shared by the files of the HTTP server (not public).
 *
 * Files: http_server.c (daemon, routing, request bodies, replies),
 * http_snap.c (the published snapshots and their setters), http_read.c (the
 * GET endpoints), http_ops.c (the operator POSTs: auth, leader redirect,
 * hooks), http_guard.c (header deadline, health slots, gone-client probe,
 * URL unescaping), http_defer.c (blocking requests moved off the event threads).
 *
 * Lock rules: h->mu guards every published field below it; it is held only to
 * copy a field, to queue the cached server-list response, or while a long
 * poll waits on h->cond. Nothing blocks while holding it. The metrics registry
 * has its own locks and is never called with h->mu held. */
#ifndef MCM_HTTP_INT_H
#define MCM_HTTP_INT_H

#include "http.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define HTTP_TASK_ID_MAX 255
#define HTTP_HEALTH_RESERVE 8        /* connections beyond conn_limit, for /healthz and /readyz only */
#define HTTP_PROBE_MS 100            /* a long poll looks at its socket this often */

typedef struct http_guard http_guard;

/* One request, from its first access-handler call to MHD's completion callback. */
typedef struct http_req {
    const char *route;      /* route name for metrics ("/v1/tasks/:id/restart", "other") */
    const char *method;
    const char *url;
    char *body;             /* up to body_max bytes, NUL-terminated */
    size_t len;
    int too_large;          /* body exceeded body_max: discarded, 413 at the end */
    /* Deferred requests (http_defer.c); written by the helper, read by the
     * pool thread after the resume. */
    int deferred;           /* the handler runs on a helper: http_queue records, not queues */
    int waited;             /* GET /v1/servers: the long poll's wait is over */
    int gone;               /* the client left during the wait: close */
    unsigned code;          /* recorded reply (resp != NULL) */
    struct MHD_Response *resp;
} http_req;

/* An on-demand view (http.h): when it was last set and last asked for. */
typedef struct http_demand {
    int64_t set_ms;                   /* monotonic, under mu; 0 never */
    _Atomic int64_t asked_ms;         /* monotonic; 0 never */
} http_demand;

struct http_server {
    http_config cfg;
    char *token;                      /* owned copy of cfg.admin_token */
    size_t token_len;
    http_hooks hooks;
    metrics *m;
    int own_m;
    metrics_family *requests;         /* mcm_http_requests_total{route,code} */
    http_guard *guard;                /* http_guard.c; created before d, freed after */
    struct MHD_Daemon *d;
    int port;
    int64_t start_ms;                 /* monotonic, for uptime */

    pthread_mutex_t mu;
    pthread_cond_t cond;              /* broadcast on a new list and on stop */
    pthread_cond_t idle;              /* broadcast when a deferred request's helper ends */
    unsigned deferred_n;              /* helpers running (http_defer.c) */
    int stopping;
    int srv_loaded;
    int64_t srv_version;
    size_t srv_count;
    struct MHD_Response *srv_resp;    /* cached 200 answer of the current list */
    struct MHD_Response *srv_304;     /* cached 304 answer for its version */
    int self_leader;
    char *leader_url;                 /* NULL: no leader known */
    char *leader_json;
    char *tasks_json;
    char *status_json;
    char *framework_id;               /* from status_json */
    int zk_connected;
    char *autoscale_json;             /* http_view.c */
    char *history_json;
    http_demand demand[HTTP_VIEW_COUNT];   /* the on-demand views (http_asked_ms) */
    char *replicas_json;
    const _Atomic int64_t *core_loop_ms;   /* http_set_liveness; NULL: none */
    int64_t core_loop_limit_ms;
};

/* --- http_snap.c: liveness ---------------------------------------------------- */
/* 1 when the core's loop has not run within its pause limit (see
 * http_set_liveness), with the idle time in *idle_ms; 0 without a loop clock. */
int http_core_stale(http_server *h, int64_t *idle_ms);

/* --- http_server.c: replies (each counts the request in the metrics) --------- */
enum MHD_Result http_queue(http_server *h, struct MHD_Connection *c, http_req *r,
                           unsigned code, struct MHD_Response *resp);
/* Takes ownership of body (malloc'd, may be NULL = out of memory -> 500). */
enum MHD_Result http_reply_body(http_server *h, struct MHD_Connection *c, http_req *r,
                                unsigned code, char *body, const char *ctype);
/* {"error":code,"message":...}, plus header name/value when hname != NULL. */
enum MHD_Result http_reply_error(http_server *h, struct MHD_Connection *c, http_req *r,
                                 unsigned status, const char *code, const char *hname,
                                 const char *hval, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));
void http_count(http_server *h, http_req *r, unsigned code);
/* Copies the client's numeric address into buf. */
void http_peer(struct MHD_Connection *c, char *buf, size_t len);

/* --- http_guard.c ---------------------------------------------------------------- */
http_guard *http_guard_new(int64_t header_ms);              /* starts the watchdog */
void http_guard_free(http_guard *g);                        /* NULL-safe; after MHD_stop_daemon */
/* MHD_OPTION_NOTIFY_CONNECTION callback (cls: the http_server). */
void http_guard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                       enum MHD_ConnectionNotificationCode code);
/* begun 1: headers complete, the handler runs (no deadline); 0: the request
 * ended, the next one's header deadline starts. Returns the open connections. */
unsigned http_guard_request(http_server *h, struct MHD_Connection *c, int begun);
unsigned long http_guard_cut(http_server *h);               /* cut for slow headers so far */
/* 1 if the client of c has closed its side or the socket failed. */
int http_client_gone(struct MHD_Connection *c);
size_t http_unescape(void *cls, struct MHD_Connection *c, char *s);   /* MHD_OPTION_UNESCAPE_CALLBACK */

/* --- http_defer.c ---------------------------------------------------------------- */
typedef void (*http_defer_fn)(http_server *h, struct MHD_Connection *c, http_req *r);
/* From the access handler: suspends c and runs fn on a helper thread, which
 * resumes c when fn returns; the access handler is then called again.
 * MCM_ERR if stopping or no thread could start (nothing suspended). */
int http_defer(http_server *h, struct MHD_Connection *c, http_req *r, http_defer_fn fn);
/* Waits until no helper runs (http_free, after setting stopping). */
void http_defer_drain(http_server *h);

/* --- http_snap.c ---------------------------------------------------------------- */
char *http_snap_strdup(http_server *h, char *const *field);   /* copy under h->mu */
/* On-demand views, the handler's side: stamps the request, waits while the
 * view is stale (the setter's side is http_view_current, http.h). */
void http_demand_wait(http_server *h, http_view v);
void http_snap_free(http_server *h);                          /* at http_free */

/* --- http_read.c: GET handlers ---------------------------------------------------- */
enum MHD_Result http_get_servers(http_server *h, struct MHD_Connection *c, http_req *r);
/* A CLOCK_MONOTONIC deadline ms from now, for pthread_cond_timedwait on h->cond. */
struct timespec http_deadline_in(int64_t ms);
/* 1 if this GET /v1/servers asks for a long poll (?wait=...): it is deferred. */
int http_servers_waits(struct MHD_Connection *c);
/* The long poll's wait, on a helper thread (an http_defer_fn): returns when
 * the version differs, the wait ends, the client leaves (r->gone) or the
 * server stops; sets r->waited. A malformed query returns at once (the
 * handler then answers 400). */
void http_servers_wait(http_server *h, struct MHD_Connection *c, http_req *r);
enum MHD_Result http_get_leader(http_server *h, struct MHD_Connection *c, http_req *r);
enum MHD_Result http_get_tasks(http_server *h, struct MHD_Connection *c, http_req *r);
enum MHD_Result http_get_status(http_server *h, struct MHD_Connection *c, http_req *r);
enum MHD_Result http_get_healthz(http_server *h, struct MHD_Connection *c, http_req *r);
enum MHD_Result http_get_readyz(http_server *h, struct MHD_Connection *c, http_req *r);
enum MHD_Result http_get_metrics(http_server *h, struct MHD_Connection *c, http_req *r);

/* --- http_view.c: the status page's views ---------------------------------------- */
enum MHD_Result http_get_autoscale(http_server *h, struct MHD_Connection *c, http_req *r);
enum MHD_Result http_get_history(http_server *h, struct MHD_Connection *c, http_req *r);
enum MHD_Result http_get_replicas(http_server *h, struct MHD_Connection *c, http_req *r);
void http_view_free(http_server *h);                          /* at http_free */

/* --- http_ops.c: operator POST handlers -------------------------------------------- */
enum MHD_Result http_post_scale(http_server *h, struct MHD_Connection *c, http_req *r);
enum MHD_Result http_post_restart(http_server *h, struct MHD_Connection *c, http_req *r);
enum MHD_Result http_post_teardown(http_server *h, struct MHD_Connection *c, http_req *r);

#endif
