/* http_server.c -- the libmicrohttpd daemon: start/stop, routing, bodies, replies.
 *
 * Shape: a pool of HTTP_POOL_THREADS epoll threads (MHD_USE_EPOLL with
 * MHD_OPTION_THREAD_POOL_SIZE), each serving many connections, so the
 * common answers (the cached server list, 304s, status, health) cost no
 * thread switch per request. It replaced one thread per connection, which
 * served GET /v1/servers at 0.86x nginx's rate (0.56x for 304: a wake-up and
 * a context switch per request, bench/discovery). Requests that block -- a
 * long poll, an operator hook waiting for the core -- are deferred: their
 * connection is suspended and a helper thread runs them (http_defer.c), so
 * they keep their simple blocking code and never stall a pool thread. The
 * access handler is a four-phase dispatcher: first call (allocate the
 * request, refuse a declared oversized body at once), body chunks (append up
 * to body_max, then discard and remember), last call (route, method check,
 * handler or deferral), and the call after a deferred request's resume
 * (queue what the helper recorded, or run the handler again).
 *
 * Connection guards (header deadline, health slots, closed long polls,
 * %00 in URLs) live in http_guard.c.
 *
 * Threads: http_new/http_free on the owner thread; everything else on MHD's
 * pool threads, except a deferred request's blocking part (its helper).
 * Invariants: every answered request is counted exactly once in
 * mcm_http_requests_total (http_queue); route labels come from the fixed
 * route table or "other", so label sets stay bounded; no request ever reads
 * more than body_max bytes into memory. */
#include "http_int.h"
#include "http_page.h"
#include "mcm.h"
#include "util.h"

#define LOG_COMPONENT "http"
#include "log.h"

#include <jansson.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define HTTP_POOL_THREADS 2     /* epoll threads: one per core of a small host */
/* Each connection's memory (request line, headers, the answer's headers).
 * libmicrohttpd zeroes all of it on every keep-alive request, so its size is
 * paid per request (the memset is about 8 % of a 304's CPU time at 32 KiB,
 * 3 % at 8 KiB), but 16 KiB already refuses an 8 KiB cookie with 431, the
 * line length nginx accepts by default (test_http checks that it fits). */
#define HTTP_CONN_MEMORY ((size_t)32 * 1024)

typedef enum MHD_Result (*http_handler)(http_server *, struct MHD_Connection *, http_req *);

/* How a route may block, and so what runs on a helper (http_defer.c). */
typedef enum route_blocks {
    BLOCKS_NEVER = 0,          /* answered on the pool thread */
    BLOCKS_WAIT,               /* GET /v1/servers?wait=: the wait on a helper, the answer here */
    BLOCKS_HOOK                /* an operator call: the whole handler on a helper */
} route_blocks;

static const struct route {
    const char *name;          /* route name (the path, ":id" for the task id) */
    const char *method;        /* "GET" (HEAD too) or "POST" */
    http_handler fn;
    route_blocks blocks;
} routes[] = {
    {"/", "GET", http_get_page, BLOCKS_NEVER},
    {"/v1/servers", "GET", http_get_servers, BLOCKS_WAIT},
    {"/v1/leader", "GET", http_get_leader, BLOCKS_NEVER},
    {"/v1/tasks", "GET", http_get_tasks, BLOCKS_NEVER},
    {"/v1/status", "GET", http_get_status, BLOCKS_NEVER},
    {"/v1/autoscale", "GET", http_get_autoscale, BLOCKS_NEVER},
    {"/v1/history", "GET", http_get_history, BLOCKS_NEVER},
    {"/v1/replicas", "GET", http_get_replicas, BLOCKS_NEVER},
    {"/healthz", "GET", http_get_healthz, BLOCKS_NEVER},
    {"/readyz", "GET", http_get_readyz, BLOCKS_NEVER},
    {"/metrics", "GET", http_get_metrics, BLOCKS_NEVER},
    {"/v1/scale", "POST", http_post_scale, BLOCKS_HOOK},
    {"/v1/tasks/:id/restart", "POST", http_post_restart, BLOCKS_HOOK},
    {"/v1/teardown", "POST", http_post_teardown, BLOCKS_HOOK},
};

/* --- replies -------------------------------------------------------------------- */

void http_count(http_server *h, http_req *r, unsigned code) {
    char cs[16];
    snprintf(cs, sizeof(cs), "%u", code);
    metrics_inc(h->requests, METRICS_L(r && r->route ? r->route : "other", cs));
}

/* On a deferred request's helper the reply is recorded in r and queued by
 * the pool thread after the resume (on_request): libmicrohttpd queues only
 * from inside the access handler. */
enum MHD_Result http_queue(http_server *h, struct MHD_Connection *c, http_req *r,
                           unsigned code, struct MHD_Response *resp) {
    if (!resp) return MHD_NO;          /* out of memory: MHD closes the connection */
    if (r && r->deferred && !r->resp) {
        r->code = code;
        r->resp = resp;
        http_count(h, r, code);
        return MHD_YES;
    }
    enum MHD_Result rc = MHD_queue_response(c, code, resp);
    MHD_destroy_response(resp);
    http_count(h, r, code);
    return rc;
}

enum MHD_Result http_reply_body(http_server *h, struct MHD_Connection *c, http_req *r,
                                unsigned code, char *body, const char *ctype) {
    if (!body) return http_queue(h, c, r, 500, NULL);
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype ? ctype : "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    return http_queue(h, c, r, code, resp);
}

enum MHD_Result http_reply_error(http_server *h, struct MHD_Connection *c, http_req *r,
                                 unsigned status, const char *code, const char *hname,
                                 const char *hval, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_t *doc = json_pack("{s:s, s:s}", "error", code, "message", msg);
    char *body = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII) : NULL;
    json_decref(doc);
    if (!body) return MHD_NO;
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (hname) MHD_add_response_header(resp, hname, hval);
    return http_queue(h, c, r, status, resp);
}

void http_peer(struct MHD_Connection *c, char *buf, size_t len) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(buf, len, "?");
    if (!ci || !ci->client_addr) return;
    socklen_t sl = ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                           : sizeof(struct sockaddr_in);
    char host[NI_MAXHOST], port[NI_MAXSERV];
    if (getnameinfo(ci->client_addr, sl, host, sizeof(host), port, sizeof(port),
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0)
        snprintf(buf, len, "%s:%s", host, port);
}

/* --- routing -------------------------------------------------------------------- */

/* 1 if url matches the route name; ":id" matches one non-empty segment. */
static int route_match(const char *name, const char *url) {
    const char *id = strstr(name, ":id");
    if (!id) return strcmp(name, url) == 0;
    size_t pre = (size_t)(id - name);
    const char *suffix = id + 3;
    size_t ulen = strlen(url), slen = strlen(suffix);
    if (strncmp(url, name, pre) != 0 || ulen < pre + slen + 1) return 0;
    if (strcmp(url + ulen - slen, suffix) != 0) return 0;
    return memchr(url + pre, '/', ulen - pre - slen) == NULL;
}

static const struct route *route_find(const char *url) {
    for (size_t i = 0; i < MCM_ARRAY_LEN(routes); i++)
        if (route_match(routes[i].name, url)) return &routes[i];
    return NULL;
}

static int method_ok(const struct route *rt, const char *method) {
    if (strcmp(rt->method, "GET") == 0)
        return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    return strcmp(method, rt->method) == 0;
}

/* A helper's body for BLOCKS_HOOK routes: the route's handler, replies recorded. */
static void run_hook(http_server *h, struct MHD_Connection *c, http_req *r) {
    const struct route *rt = route_find(r->url);
    if (rt) rt->fn(h, c, r);
}

static enum MHD_Result defer(http_server *h, struct MHD_Connection *c, http_req *r, http_defer_fn fn) {
    if (http_defer(h, c, r, fn) == MCM_OK) return MHD_YES;
    return http_reply_error(h, c, r, 503, "BUSY", MHD_HTTP_HEADER_RETRY_AFTER, "1",
                            "cannot take a blocking request now (stopping, or out of threads)");
}

static enum MHD_Result dispatch(http_server *h, struct MHD_Connection *c, http_req *r) {
    const struct route *rt = route_find(r->url);
    if (!rt)
        return http_reply_error(h, c, r, 404, "NOT_FOUND", NULL, NULL, "no such endpoint; see /v1/status");
    r->route = rt->name;
    if (!method_ok(rt, r->method)) {
        int get = strcmp(rt->method, "GET") == 0;
        return http_reply_error(h, c, r, 405, "METHOD_NOT_ALLOWED", MHD_HTTP_HEADER_ALLOW,
                                get ? "GET, HEAD" : rt->method, "%s takes %s", rt->name,
                                get ? "GET or HEAD" : rt->method);
    }
    if (r->too_large)
        return http_reply_error(h, c, r, 413, "BODY_TOO_LARGE", NULL, NULL,
                                "request body over %zu bytes", h->cfg.body_max);
    if (rt->blocks == BLOCKS_WAIT && !r->waited && http_servers_waits(c))
        return defer(h, c, r, http_servers_wait);
    if (rt->blocks == BLOCKS_HOOK) return defer(h, c, r, run_hook);
    return rt->fn(h, c, r);
}

/* After a deferred request's resume: the recorded reply, or (a finished
 * wait) the handler once more; no reply recorded means out of memory. */
static enum MHD_Result resumed(http_server *h, struct MHD_Connection *c, http_req *r) {
    if (r->resp) {
        enum MHD_Result rc = MHD_queue_response(c, r->code, r->resp);
        MHD_destroy_response(r->resp);
        r->resp = NULL;
        return rc;
    }
    if (!r->waited) return MHD_NO;
    r->deferred = 0;                /* the answer is built here, queued at once */
    return dispatch(h, c, r);
}

/* Content-Length headers seen: two that differ are a request-smuggling
 * attempt (RFC 9112 section 6.3: refuse). */
typedef struct cl_header {
    const char *first;
    int conflict;
} cl_header;

static enum MHD_Result count_cl(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
    cl_header *ch = cls;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) != 0) return MHD_YES;
    if (ch->first && strcmp(ch->first, value ? value : "") != 0) ch->conflict = 1;
    if (!ch->first) ch->first = value ? value : "";
    return MHD_YES;
}

/* First call: the health slots kept (see http_guard.c), conflicting
 * Content-Length refused, and a declared one over the limit refused before
 * reading. */
static enum MHD_Result first_call(http_server *h, struct MHD_Connection *c, http_req *r,
                                  const char *version) {
    /* RFC 9112 section 3.2: an HTTP/1.1 request without Host is answered 400.
     * libmicrohttpd 0.9.75 only checks this in its pedantic mode. */
    if (strcmp(version, MHD_HTTP_VERSION_1_1) == 0 &&
        !MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST))
        return http_reply_error(h, c, r, 400, "NO_HOST", NULL, NULL, "HTTP/1.1 request without Host");
    const struct route *rt = route_find(r->url);
    unsigned open = http_guard_request(h, c, 1);
    if (open > h->cfg.conn_limit && !(rt && rt->fn == http_get_healthz) && !(rt && rt->fn == http_get_readyz)) {
        r->route = rt ? rt->name : "other";
        return http_reply_error(h, c, r, 503, "BUSY", MHD_HTTP_HEADER_CONNECTION, "close",
                                "%u connections open (limit %u); the remaining slots serve health checks",
                                open, h->cfg.conn_limit);
    }
    cl_header ch = {0};
    MHD_get_connection_values(c, MHD_HEADER_KIND, count_cl, &ch);
    if (ch.conflict)
        return http_reply_error(h, c, r, 400, "BAD_CONTENT_LENGTH", MHD_HTTP_HEADER_CONNECTION, "close",
                                "conflicting Content-Length headers");
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > h->cfg.body_max) {
        r->route = rt ? rt->name : "other";
        return http_reply_error(h, c, r, 413, "BODY_TOO_LARGE", NULL, NULL,
                                "request body over %zu bytes", h->cfg.body_max);
    }
    return MHD_YES;
}

static void body_append(http_server *h, http_req *r, const char *data, size_t n) {
    if (r->too_large || r->len + n > h->cfg.body_max) {
        r->too_large = 1;
        free(r->body);
        r->body = NULL;
        r->len = 0;
        return;
    }
    char *grown = realloc(r->body, r->len + n + 1);
    if (!grown) {
        r->too_large = 1;
        return;
    }
    memcpy(grown + r->len, data, n);
    r->body = grown;
    r->len += n;
    r->body[r->len] = 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls) {
    http_server *h = cls;
    http_req *r = *con_cls;
    if (!r) {
        if (!(r = calloc(1, sizeof(*r)))) return MHD_NO;
        r->route = "other";
        r->method = method;
        r->url = url;
        *con_cls = r;
        return first_call(h, c, r, version);
    }
    if (*upload_size) {
        body_append(h, r, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->deferred || r->waited) return resumed(h, c, r);
    return dispatch(h, c, r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    http_req *r = *con_cls;
    http_guard_request(cls, c, 0);
    if (!r) return;
    if (r->resp) MHD_destroy_response(r->resp);
    free(r->body);
    free(r);
    *con_cls = NULL;
}

/* libmicrohttpd's own messages are per connection (one for every client that
 * closes without a request, e.g. a TCP health probe): VERBOSE, not INFO, so a
 * port scanner cannot flood the log. Real failures (cannot listen) are
 * reported by http_new's error, not through here. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
    log_verbose("libmicrohttpd: %s", line);
}

/* --- lifecycle -------------------------------------------------------------------- */

void http_config_defaults(http_config *c) {
    memset(c, 0, sizeof(*c));
    c->listen_host = "127.0.0.1";
    c->scale_min = 0;
    c->scale_max = 100;
    c->longpoll_max_s = 300;
    c->conn_limit = 256;
    c->per_ip_limit = 64;
    c->conn_timeout_s = 30;
    c->header_timeout_ms = 10000;
    c->body_max = 64 * 1024;
}

static int resolve(const http_config *cfg, struct sockaddr_storage *ss, char *err, size_t errlen) {
    const char *host = cfg->listen_host && *cfg->listen_host ? cfg->listen_host : "0.0.0.0";
    char port[16];
    snprintf(port, sizeof(port), "%d", cfg->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV}, *res = NULL;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "http listen address %s: %s", host, gai_strerror(rc));
        return MCM_ERR;
    }
    memset(ss, 0, sizeof(*ss));
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return MCM_OK;
}

static int check_config(const http_config *cfg, char *err, size_t errlen) {
    if (cfg->port < 0 || cfg->port > 65535) snprintf(err, errlen, "http port %d out of range", cfg->port);
    else if (cfg->scale_min < 0 || cfg->scale_max < cfg->scale_min)
        snprintf(err, errlen, "scale bounds %d..%d are invalid", cfg->scale_min, cfg->scale_max);
    else if (cfg->longpoll_max_s < 0) snprintf(err, errlen, "long poll maximum must be >= 0");
    else if (cfg->conn_limit == 0 || cfg->body_max == 0) snprintf(err, errlen, "connection limit and body limit must be > 0");
    else return MCM_OK;
    return MCM_ERR;
}

static int start_daemon(http_server *h, char *err, size_t errlen) {
    struct sockaddr_storage ss;
    if (resolve(&h->cfg, &ss, err, errlen) != MCM_OK) return MCM_ERR;
    if (!(h->guard = http_guard_new(h->cfg.header_timeout_ms ? h->cfg.header_timeout_ms : 10000))) {
        snprintf(err, errlen, "cannot start the HTTP connection guard (out of threads?)");
        return MCM_ERR;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
                            MHD_OPTION_THREAD_POOL_SIZE, (unsigned)HTTP_POOL_THREADS,
                            MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                            MHD_OPTION_CONNECTION_LIMIT, h->cfg.conn_limit + HTTP_HEALTH_RESERVE,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, h->cfg.per_ip_limit,
                            MHD_OPTION_CONNECTION_TIMEOUT, h->cfg.conn_timeout_s,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, HTTP_CONN_MEMORY,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                            MHD_OPTION_NOTIFY_CONNECTION, http_guard_notify, h,
                            MHD_OPTION_UNESCAPE_CALLBACK, http_unescape, h,
                            MHD_OPTION_END);
    if (!h->d) {
        snprintf(err, errlen, "cannot listen on %s:%d (address in use or not local?)",
                 h->cfg.listen_host ? h->cfg.listen_host : "*", h->cfg.port);
        return MCM_ERR;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = di ? di->port : h->cfg.port;
    return MCM_OK;
}

static int init_fields(http_server *h, const http_config *cfg, const http_hooks *hooks, metrics *m) {
    h->cfg = *cfg;
    if (hooks) h->hooks = *hooks;
    h->start_ms = util_now_ms();
    pthread_mutex_init(&h->mu, NULL);
    util_cond_init_monotonic(&h->cond);
    pthread_cond_init(&h->idle, NULL);
    if (cfg->admin_token) {
        if (!(h->token = strdup(cfg->admin_token))) return MCM_ERR;
        h->token_len = strlen(h->token);
    }
    h->cfg.admin_token = h->token;
    h->m = m ? m : metrics_new();
    h->own_m = !m;
    if (!h->m) return MCM_ERR;
    h->requests = metrics_family_add(h->m, METRICS_COUNTER, "mcm_http_requests_total",
                                     "HTTP requests answered, by route and status code.", "route,code");
    return h->requests ? MCM_OK : MCM_ERR;
}

http_server *http_new(const http_config *cfg, const http_hooks *hooks, metrics *m,
                      char *err, size_t errlen) {
    if (check_config(cfg, err, errlen) != MCM_OK) return NULL;
    http_server *h = calloc(1, sizeof(*h));
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (init_fields(h, cfg, hooks, m) != MCM_OK) {
        snprintf(err, errlen, "out of memory");
        goto err;
    }
    if (start_daemon(h, err, errlen) != MCM_OK) goto err;
    log_info("HTTP API listening on %s:%d (%s)", cfg->listen_host ? cfg->listen_host : "*", h->port,
             h->token ? "operator calls need a token" : cfg->admin_insecure ? "operator calls OPEN (insecure)"
                                                                         : "operator calls disabled");
    return h;
err:
    http_free(h);
    return NULL;
}

void http_free(http_server *h) {
    if (!h) return;
    pthread_mutex_lock(&h->mu);
    h->stopping = 1;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->mu);
    http_defer_drain(h);            /* no suspended connection may meet MHD_stop_daemon */
    if (h->d) MHD_stop_daemon(h->d);
    http_guard_free(h->guard);
    http_snap_free(h);
    if (h->own_m) metrics_free(h->m);
    free(h->token);
    pthread_cond_destroy(&h->cond);
    pthread_cond_destroy(&h->idle);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

int http_port(const http_server *h) { return h ? h->port : 0; }
metrics *http_metrics(http_server *h) { return h ? h->m : NULL; }
