/* sim_http.c -- the simulator's libmicrohttpd daemons: the master port and
 * one port per agent; request bodies, routing, small replies.
 *
 * Shape: event driven (MHD_USE_EPOLL with an internal polling thread, and
 * MHD_ALLOW_SUSPEND_RESUME): the master's daemon has SIM_MASTER_THREADS
 * epoll threads, each agent's one, and every thread serves all of its
 * daemon's connections. Nothing on these threads waits but for s->mu: an
 * event stream with nothing queued suspends its connection and is resumed
 * when there is (sim_stream.c), and a scheduler call held back by
 * /sim/call-delay is suspended until its deadline (sim_park.c) and handled
 * when resumed. Idle connections and idle streams thus cost no thread and
 * no wake-up; it replaced thread per connection, where each stream's thread
 * woke every 100 ms to poll its socket (2,203 threads and a load average
 * over 100 at 1,000 agents, bench/scale). The access handler collects the
 * body (bounded) and dispatches on the path on the last call; a delayed
 * call comes back to it once more after its resume.
 * No connection timeout: subscriptions may be silent for a heartbeat
 * interval or longer (heartbeats can be paused).
 * Threads: sim_http_start/stop from the owner thread; handlers on MHD's
 * event threads; on_delay_done on the park thread.
 * Invariants: a body over SIM_BODY_MAX is never kept in memory (413); a
 * delayed call is suspended before it is parked and resumed exactly once
 * (by its park callback, or at once when it cannot be parked). */
#include "sim_int.h"

#include "mcm.h"
#include "sim_park.h"
#include "util.h"

#define LOG_COMPONENT "sim"
#include "log.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define SIM_BODY_MAX (16u * 1024 * 1024)
#define SIM_MASTER_THREADS 2       /* the master port's epoll threads */

enum MHD_Result sim_reply(struct MHD_Connection *c, unsigned code, const char *ctype, const char *body,
                          const char *hname, const char *hval) {
    size_t n = body ? strlen(body) : 0;
    struct MHD_Response *r = MHD_create_response_from_buffer(n, (void *)(body ? body : ""), MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    if (ctype) MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (hname) MHD_add_response_header(r, hname, hval);
    enum MHD_Result rc = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return rc;
}

enum MHD_Result sim_reply_json(struct MHD_Connection *c, unsigned code, char *json) {
    if (!json) return sim_reply(c, 500, "text/plain", "out of memory", NULL, NULL);
    enum MHD_Result rc = sim_reply(c, code, "application/json", json, NULL, NULL);
    free(json);
    return rc;
}

static void peer(struct MHD_Connection *c, char *buf, size_t len) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(buf, len, "?");
    if (!ci || !ci->client_addr) return;
    socklen_t sl = ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                           : sizeof(struct sockaddr_in);
    char host[64], port[16];
    if (getnameinfo(ci->client_addr, sl, host, sizeof(host), port, sizeof(port),
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0)
        snprintf(buf, len, "%.40s:%.8s", host, port);
}

static void body_append(sim_req *r, const char *data, size_t n) {
    if (r->too_large || r->len + n > SIM_BODY_MAX) {
        r->too_large = 1;
        free(r->body);
        r->body = NULL;
        r->len = 0;
        return;
    }
    char *g = realloc(r->body, r->len + n + 1);
    if (!g) abort();
    memcpy(g + r->len, data, n);
    r->body = g;
    r->len += n;
    r->body[r->len] = 0;
}

/* Park thread: the call's delay is over (or the simulator stops). */
static void on_delay_done(void *arg, sim_park_why why) {
    sim_req *r = arg;
    MHD_resume_connection(r->conn);
}

/* POST /sim/call-delay: 1 if the call was suspended until its deadline (the
 * handler runs when it is resumed), 0 to handle it now. */
static int delay_call(sim *s, struct MHD_Connection *c, sim_req *r) {
    pthread_mutex_lock(&s->mu);
    int ms = s->call_delay_ms;
    pthread_mutex_unlock(&s->mu);
    if (r->delayed || ms <= 0) return 0;
    r->delayed = 1;
    r->conn = c;
    MHD_suspend_connection(c);                       /* before the park thread can resume it */
    if (!sim_park_add(-1, util_now_ms() + ms, on_delay_done, r)) MHD_resume_connection(c);  /* stopping */
    return 1;
}

/* Master port: scheduler API and /sim/ admin. */
static enum MHD_Result master_route(sim *s, struct MHD_Connection *c, sim_req *r) {
    if (strncmp(r->url, "/sim/", 5) == 0) return sim_admin_handle(s, c, r);
    if (strcmp(r->url, "/api/v1/scheduler") == 0 || strcmp(r->url, "/master/api/v1/scheduler") == 0)
        return delay_call(s, c, r) ? MHD_YES : sim_master_handle(s, c, r);
    return sim_reply(c, 404, "text/plain", "no such endpoint", NULL, NULL);
}

static enum MHD_Result agent_route(sim_agent *a, struct MHD_Connection *c, sim_req *r) {
    if (strcmp(r->url, "/api/v1/executor") == 0 || strcmp(r->url, "/slave(1)/api/v1/executor") == 0)
        return sim_agent_handle(a, c, r);
    return sim_reply(c, 404, "text/plain", "no such endpoint", NULL, NULL);
}

struct sim_endpoint {
    sim *s;
    sim_agent *agent;     /* NULL: master */
};
typedef struct sim_endpoint endpoint;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size,
                                  void **con_cls) {
    endpoint *ep = cls;
    sim_req *r = *con_cls;
    if (!r) {
        if (!(r = calloc(1, sizeof(*r)))) return MHD_NO;
        r->url = url;
        r->method = method;
        peer(c, r->remote, sizeof(r->remote));
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_size) {
        body_append(r, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->too_large) return sim_reply(c, 413, "text/plain", "request body too large", NULL, NULL);
    return ep->agent ? agent_route(ep->agent, c, r) : master_route(ep->s, c, r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    sim_req *r = *con_cls;
    if (!r) return;
    free(r->body);
    free(r);
    *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
    log_verbose("libmicrohttpd: %s", line);
}

static struct MHD_Daemon *start(const char *host, int port, endpoint *ep, int *bound, char *err, size_t errlen) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV}, *res = NULL;
    char ps[16];
    snprintf(ps, sizeof(ps), "%d", port);
    int rc = getaddrinfo(host, ps, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "listen address %s: %s", host, gai_strerror(rc));
        return NULL;
    }
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    memcpy(&ss, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    struct MHD_Daemon *d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, ep,
                                            MHD_OPTION_THREAD_POOL_SIZE, ep->agent ? 1u : SIM_MASTER_THREADS,
                                            MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
                                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                                            MHD_OPTION_CONNECTION_LIMIT, 512u,
                                            MHD_OPTION_CONNECTION_TIMEOUT, 0u,
                                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, ep,
                                            MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
                                            MHD_OPTION_END);
    if (!d) {
        snprintf(err, errlen, "cannot listen on %s:%d (address in use or not local?)", host, port);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    *bound = di ? di->port : port;
    return d;
}

int sim_http_start(sim *s, char *err, size_t errlen) {
    /* eps[0] is the master's, eps[1 + i] agent i's */
    s->eps = calloc((size_t)s->nagents + 1, sizeof(*s->eps));
    if (!s->eps) abort();
    if (sim_park_start(err, errlen) != MCM_OK) return MCM_ERR;
    s->eps[0].s = s;
    s->d = start(s->cfg.listen_host, s->cfg.listen_port, &s->eps[0], &s->port, err, errlen);
    if (!s->d) return MCM_ERR;
    for (int i = 0; i < s->nagents; i++) {
        s->eps[i + 1].s = s;
        s->eps[i + 1].agent = &s->agents[i];
        s->agents[i].d = start(s->cfg.listen_host, 0, &s->eps[i + 1], &s->agents[i].port, err, errlen);
        if (!s->agents[i].d) return MCM_ERR;
    }
    return MCM_OK;
}

void sim_http_stop(sim *s) {
    for (int i = 0; s->agents && i < s->nagents; i++)
        if (s->agents[i].d) {
            MHD_stop_daemon(s->agents[i].d);
            s->agents[i].d = NULL;
        }
    if (s->d) MHD_stop_daemon(s->d);
    s->d = NULL;
    sim_park_stop();
    free(s->eps);
    s->eps = NULL;
}
