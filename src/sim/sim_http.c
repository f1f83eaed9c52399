/* sim_http.c -- the simulator's libmicrohttpd daemons: the master port and
 * one port per agent; request bodies, routing, small replies.
 *
 * Shape: event driven (MHD_USE_EPOLL with internal polling threads, and
 * MHD_ALLOW_SUSPEND_RESUME): two daemons, each with a small pool of epoll
 * threads that serve all of its connections -- the master's port
 * (SIM_MASTER_THREADS), and every agent's port (SIM_AGENT_THREADS, whatever
 * the number of agents: the daemon has no listening socket, sim_listen.c
 * accepts on the agents' sockets and hands it each connection, and the
 * connection's local port names its agent, on_agent_conn). Nothing on these
 * threads waits but for s->mu: an event stream with nothing queued suspends
 * its connection and is resumed when there is (sim_stream.c), and a
 * scheduler call held back by /sim/call-delay is suspended until its
 * deadline (sim_park.c) and handled when resumed. Idle connections and idle
 * streams thus cost no thread and no wake-up. It replaced a daemon per port
 * with a thread per connection, where each stream's thread woke every
 * 100 ms to poll its socket (2,203 threads and a load average over 100 at
 * 1,000 agents, bench/scale). The access handler collects the
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
#define SIM_MASTER_THREADS 2u      /* the master port's epoll threads */
#define SIM_MASTER_CONNS 512u
#define SIM_AGENT_THREADS 2u       /* the agents' daemon's epoll threads, for all agents */
#define SIM_AGENT_CONNS_BASE 512u  /* its connection limit: this plus ... */
#define SIM_AGENT_CONNS_EACH 8u    /* ... per agent (an executor keeps about 2 open) */

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

/* The agents' daemon (cls NULL): the endpoint noted when the connection started. */
static endpoint *endpoint_of(struct MHD_Connection *c, void *cls) {
    if (cls) return cls;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size,
                                  void **con_cls) {
    endpoint *ep = endpoint_of(c, cls);
    sim_req *r = *con_cls;
    if (!ep) return MHD_NO;                          /* not one of our ports: cannot happen */
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

/* Agents' daemon: which agent's port the connection came in on. */
static void on_agent_conn(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
    sim *s = cls;
    if (code != MHD_CONNECTION_NOTIFY_STARTED) return;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (!ci || getsockname(ci->connect_fd, (struct sockaddr *)&ss, &sl) != 0) return;
    int port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                        : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    int i = sim_listen_index(s->listen, port);
    if (i >= 0) *socket_context = &s->eps[i + 1];
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

static int resolve(const char *host, int port, struct sockaddr_storage *ss, socklen_t *sl, char *err,
                   size_t errlen) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV}, *res = NULL;
    char ps[16];
    snprintf(ps, sizeof(ps), "%d", port);
    int rc = getaddrinfo(host, ps, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "listen address %s: %s", host, gai_strerror(rc));
        return MCM_ERR;
    }
    memset(ss, 0, sizeof(*ss));
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *sl = res->ai_addrlen;
    freeaddrinfo(res);
    return MCM_OK;
}

#define SIM_DAEMON_FLAGS (MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | \
                          MHD_USE_ERROR_LOG)

static struct MHD_Daemon *start_master(sim *s, const struct sockaddr_storage *ss, char *err, size_t errlen) {
    unsigned flags = SIM_DAEMON_FLAGS | (ss->ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    struct MHD_Daemon *d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, &s->eps[0],
                                            MHD_OPTION_THREAD_POOL_SIZE, SIM_MASTER_THREADS,
                                            MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
                                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)ss,
                                            MHD_OPTION_CONNECTION_LIMIT, SIM_MASTER_CONNS,
                                            MHD_OPTION_CONNECTION_TIMEOUT, 0u,
                                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                                            MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
                                            MHD_OPTION_END);
    if (!d) {
        snprintf(err, errlen, "cannot listen on %s:%d (address in use or not local?)", s->cfg.listen_host,
                 s->cfg.listen_port);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : s->cfg.listen_port;
    return d;
}

/* One daemon for every agent, without a listening socket: sim_listen.c accepts. */
static struct MHD_Daemon *start_agents(sim *s, char *err, size_t errlen) {
    unsigned limit = SIM_AGENT_CONNS_BASE + SIM_AGENT_CONNS_EACH * (unsigned)s->nagents;
    struct MHD_Daemon *d = MHD_start_daemon(SIM_DAEMON_FLAGS | MHD_USE_NO_LISTEN_SOCKET, 0, NULL, NULL,
                                            on_request, NULL,
                                            MHD_OPTION_THREAD_POOL_SIZE, SIM_AGENT_THREADS,
                                            MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
                                            MHD_OPTION_CONNECTION_LIMIT, limit,
                                            MHD_OPTION_CONNECTION_TIMEOUT, 0u,
                                            MHD_OPTION_NOTIFY_CONNECTION, on_agent_conn, s,
                                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                                            MHD_OPTION_END);
    if (!d) snprintf(err, errlen, "cannot start the agents' HTTP daemon");
    return d;
}

int sim_http_start(sim *s, char *err, size_t errlen) {
    /* eps[0] is the master's, eps[1 + i] agent i's */
    s->eps = calloc((size_t)s->nagents + 1, sizeof(*s->eps));
    int *ports = calloc((size_t)s->nagents + 1, sizeof(*ports));
    if (!s->eps || !ports) abort();
    struct sockaddr_storage ss;
    socklen_t sl;
    int rc = MCM_ERR;
    if (sim_park_start(err, errlen) != MCM_OK) goto out;
    if (resolve(s->cfg.listen_host, s->cfg.listen_port, &ss, &sl, err, errlen) != MCM_OK) goto out;
    s->eps[0].s = s;
    for (int i = 0; i < s->nagents; i++) s->eps[i + 1] = (endpoint){s, &s->agents[i]};
    if (!(s->d = start_master(s, &ss, err, errlen))) goto out;
    if (!(s->agents_d = start_agents(s, err, errlen))) goto out;
    if (!(s->listen = sim_listen_new(s->agents_d, &ss, sl, s->nagents, ports, err, errlen))) goto out;
    for (int i = 0; i < s->nagents; i++) s->agents[i].port = ports[i];
    rc = MCM_OK;
out:
    free(ports);
    return rc;
}

void sim_http_stop(sim *s) {
    sim_listen_free(s->listen);         /* no connection is added to agents_d after this */
    s->listen = NULL;
    if (s->agents_d) MHD_stop_daemon(s->agents_d);
    s->agents_d = NULL;
    if (s->d) MHD_stop_daemon(s->d);
    s->d = NULL;
    sim_park_stop();
    free(s->eps);
    s->eps = NULL;
}
