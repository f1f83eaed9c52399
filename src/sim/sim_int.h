/* sim_int.h -- the simulator's shared state, for its own .c files only.
 *
 * One struct sim holds the master (frameworks, offers, tasks, call log) and N
 * agents (each serving the executor API on its own port; one libmicrohttpd
 * daemon serves all of those ports), all under ONE mutex `mu`:
 *   - MHD event threads (master's daemon and the agents'; event driven,
 *     sim_http.c) take `mu` for the whole handling of a call and answer after
 *     releasing it; nothing there waits for anything but `mu`;
 *   - the loop thread (sim_loop.c) takes `mu` every tick (50 ms) for timers,
 *     offers, heartbeats, child reaping, executor launches;
 *   - stream mutexes (sim_stream.c) nest inside `mu`, never around it;
 *   - MHD_stop_daemon is never called with `mu` held (it joins threads that
 *     may be waiting for `mu`).
 * Executors are forked by the loop thread only: PR_SET_PDEATHSIG fires when
 * the *thread* that forked dies, and it must outlive every executor.
 *
 * Object lifetimes (all lists are singly linked, newest first):
 *   sim_fw    never freed before sim_free: a removed framework stays with
 *             `removed` set, so its ID is refused forever and pointers from
 *             executors being shut down stay valid.
 *   sim_offer freed when accepted, declined, rescinded or its framework loses
 *             the subscription.
 *   sim_task  freed when its latest state is terminal and no status update
 *             waits for an acknowledgement (the master then forgets it, as
 *             Mesos moves it to completed tasks); a line is kept in `done`.
 *   sim_exec  kept until its process is reaped, then marked EX_DONE and kept
 *             (small) so late calls find "Executor cannot be found" cleanly. */
#ifndef MCM_SIM_INT_H
#define MCM_SIM_INT_H

#include "sim.h"
#include "sim_pb.h"
#include "sim_res.h"
#include "sim_stream.h"

#include "mesos/v1/executor/executor.pb-c.h"
#include "mesos/v1/mesos.pb-c.h"
#include "mesos/v1/scheduler/scheduler.pb-c.h"

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#define SIM_ID_MAX 256
#define SIM_UPDATE_RETRY_MAX_MS (10 * 60 * 1000)
#define SIM_SEEN_UUIDS 16
#define SIM_DONE_MAX 1000
#define SIM_CALLS_MAX 20000
#define SIM_DOMAIN_MAX 128

typedef struct sim sim;
typedef struct sim_fw sim_fw;

typedef struct sim_filter {
    struct sim_filter *next;
    int agent;
    sim_res *res;            /* refused resources: offers contained in them are held back */
    int64_t until_ms;
} sim_filter;

struct sim_fw {
    sim_fw *next;
    char id[SIM_ID_MAX];
    Mesos__V1__FrameworkInfo *info;   /* own copy, id filled in */
    char role[SIM_ID_MAX];            /* role its offers are allocated to */
    int multi_role, partition_aware;
    sim_stream *stream;               /* NULL: not connected */
    char stream_id[37];
    char remote[64];                  /* who subscribed, for logs */
    int64_t disconnected_ms;          /* failover timer start; 0 while connected */
    int64_t next_hb_ms;
    int suppressed;
    int removed;
    sim_filter *filters;
};

typedef struct sim_offer {
    struct sim_offer *next;
    char id[SIM_ID_MAX];
    sim_fw *fw;
    int agent;
    sim_res *res;
} sim_offer;

typedef enum { EX_PENDING, EX_LAUNCHED, EX_SUBSCRIBED, EX_DONE } sim_exec_state;

typedef struct sim_exec {
    struct sim_exec *next;
    sim_fw *fw;
    int agent;
    char id[SIM_ID_MAX];
    Mesos__V1__ExecutorInfo *info;    /* own copy, framework_id filled in */
    sim_res *res;
    sim_exec_state state;
    pid_t pid;                        /* > 0 while the process may be alive */
    char *sandbox;
    char container[37];
    sim_stream *stream;               /* executor subscription, NULL if none */
    int64_t launched_ms;              /* for the registration timeout */
    int64_t kill_at_ms;               /* SIGKILL after a SHUTDOWN's grace period; 0 none */
    int reason;                       /* TaskStatus reason for tasks it leaves behind */
    int silent;                       /* agent gone: its death reports nothing */
    char *launch_error;               /* why the launch failed (fetch, exec) */
} sim_exec;

typedef struct sim_upd {
    struct sim_upd *next;
    Mesos__V1__TaskStatus *status;    /* own copy, with uuid */
} sim_upd;

typedef struct sim_task {
    struct sim_task *next;
    char id[SIM_ID_MAX];
    sim_fw *fw;
    int agent;
    sim_exec *ex;
    Mesos__V1__TaskInfo *info;        /* own copy */
    sim_res *res;
    int state;                        /* latest state (TaskState) */
    int launched;                     /* LAUNCH event delivered to the executor */
    int unreachable;                  /* its agent disappeared or is partitioned */
    int agent_state;                  /* partitioned: the state the agent knows (sim_partition.c) */
    sim_upd *updates;                 /* head is forwarded, waits for ACKNOWLEDGE */
    int64_t next_retry_ms, retry_ms;
    uint8_t seen[SIM_SEEN_UUIDS][16]; /* uuids the agent stored (dedup) */
    int nseen;
} sim_task;

typedef struct sim_agent {
    sim *s;
    int idx;
    char id[SIM_ID_MAX];
    int port;                         /* its own listening socket (sim_listen.c) */
    sim_res *total;
    int gone;
    int partitioned;                  /* cut off from the master, processes running (sim_partition.c) */
    char *attributes;                 /* Mesos --attributes text, "" none (sim_attr.c) */
    char region[SIM_DOMAIN_MAX], zone[SIM_DOMAIN_MAX];   /* fault domain; "" none */
    char hostname[256];               /* Offer.hostname, AgentInfo.hostname (--agent-hostname) */
} sim_agent;

typedef struct sim_call_rec {
    int64_t seq, mono_ms, wall_ms;
    char remote[64];
    char fw[SIM_ID_MAX];
    char stream[64];
    char type[40];
    int status;
} sim_call_rec;

struct sim {
    pthread_mutex_t mu;
    sim_config cfg;                   /* strings owned (copied in sim_new) */
    char master_id[37];
    char host[256];                   /* advertised master host (IP) */
    int port;
    struct MHD_Daemon *d;             /* the master's port */
    struct MHD_Daemon *agents_d;      /* every agent's port, fed by `listen` (sim_http.c) */
    struct sim_listen *listen;        /* the agents' listening sockets (sim_listen.c) */
    struct sim_endpoint *eps;         /* MHD callback contexts (sim_http.c) */
    sim_agent *agents;
    int nagents;
    sim_fw *fws;
    sim_offer *offers;
    sim_task *tasks;
    sim_exec *execs;
    int64_t fw_seq, offer_seq, rr;
    /* leadership */
    int zk_leading;                   /* --zk: our node is the lowest */
    char zk_leader[300];              /* --zk: "//host:port" of the leader, "" unknown */
    int admin_follow;                 /* admin forced non-leading mode */
    char admin_redirect[300];         /* ... with this "//host:port" ("" = none known) */
    int heartbeats_paused;
    int silenced;                     /* admin: scheduler streams held, no event reaches a framework */
    int call_delay_ms;                /* admin: every scheduler call is answered this late */
    int64_t next_offer_ms;
    /* call log (ring) */
    sim_call_rec *calls;
    int64_t ncalls;
    /* completed tasks (ring of JSON-ready lines) */
    struct { char id[SIM_ID_MAX], fw[SIM_ID_MAX]; int state; } done[SIM_DONE_MAX];
    int64_t ndone;
    /* threads */
    pthread_t loop;
    int loop_started, stopping;
    struct sim_zk *zk;
    char *own_work_dir;               /* temp dir we made and remove */
    char *credentials;                /* "principal secret\n..." contents; NULL = open */
    char master_region[SIM_DOMAIN_MAX]; /* the first agent region; "" if no agent has a domain */
    struct sim_maint *maint;          /* maintenance schedule, inverse offers (sim_maint.c) */
    struct sim_drain *drain;          /* agent drains (sim_drain.c) */
};

/* --- sim.c --------------------------------------------------------------- */
int sim_leading(const sim *s);
/* "//host:port" of the leader if known while not leading, else "". */
const char *sim_leader_location(const sim *s);
sim_fw *sim_fw_find(sim *s, const char *id);
sim_exec *sim_exec_find(sim *s, int agent, const char *fw_id, const char *exec_id);  /* live ones */
sim_task *sim_task_find(sim *s, const char *fw_id, const char *task_id);
sim_agent *sim_agent_by_id(sim *s, const char *agent_id);
/* TaskState as the framework may see it: without PARTITION_AWARE the
 * partition states become TASK_LOST. */
int sim_visible_state(const sim_fw *fw, int state);

/* --- sim_http.c ---------------------------------------------------------- */
typedef struct sim_req {
    char *body;
    size_t len;
    int too_large;
    const char *url, *method;
    char remote[64];
    int delayed;                     /* /sim/call-delay: parked once, handled after the resume */
    struct MHD_Connection *conn;     /* while delayed, for the resume */
} sim_req;
int sim_http_start(sim *s, char *err, size_t errlen);        /* master + agent daemons */
void sim_http_stop(sim *s);
/* Queues a reply with a text body (copied); hname/hval: one extra header or NULL. */
enum MHD_Result sim_reply(struct MHD_Connection *c, unsigned code, const char *ctype, const char *body,
                          const char *hname, const char *hval);
enum MHD_Result sim_reply_json(struct MHD_Connection *c, unsigned code, char *json /* freed */);

/* --- sim_listen.c (the agents' ports) ------------------------------------- */
typedef struct sim_listen sim_listen;
/* n listening sockets on addr's host, each on a free port (ports[i]), and the
 * thread that hands their connections to d (MHD_add_connection). NULL with
 * err on failure. Owner thread. */
sim_listen *sim_listen_new(struct MHD_Daemon *d, const struct sockaddr_storage *addr, socklen_t alen, int n,
                           int *ports, char *err, size_t errlen);
/* Stops accepting and closes the sockets; call before stopping d. NULL-safe. */
void sim_listen_free(sim_listen *l);
/* The agent index listening on port, -1 if none. Any thread. */
int sim_listen_index(const sim_listen *l, int port);

/* --- sim_master.c (scheduler API) --------------------------------------- */
enum MHD_Result sim_master_handle(sim *s, struct MHD_Connection *c, sim_req *r);
/* Packs ev and pushes it to the framework's stream; 0 if not connected. */
int sim_send(sim_fw *fw, const Mesos__V1__Scheduler__Event *ev);
void sim_send_heartbeat(sim *s, sim_fw *fw);
/* Loop thread: dead streams, failover timeouts, heartbeats. */
void sim_master_tick(sim *s, int64_t now);
/* Accept header: 1 protobuf acceptable, 0 only JSON, -1 neither. */
int sim_accepts_protobuf(struct MHD_Connection *c);

/* --- sim_accept.c (ACCEPT / LAUNCH) ------------------------------------- */
void sim_master_accept(sim *s, sim_fw *fw, const Mesos__V1__Scheduler__Call__Accept *ac);
/* Ends the framework's subscription: stream closed (abort: dropped without
 * more bytes), offers gone, failover timer started. */
void sim_fw_disconnect(sim *s, sim_fw *fw, int abort_conn, const char *why);
/* TEARDOWN or failover timeout: tasks killed, executors shut down, ID refused forever. */
void sim_fw_remove(sim *s, sim_fw *fw, const char *why);

/* --- sim_alloc.c (offers) ----------------------------------------------- */
void sim_alloc_run(sim *s, int64_t now);
sim_res *sim_agent_free_res(sim *s, int agent);         /* total - used - offered */
void sim_offer_remove(sim *s, sim_offer *o);            /* unlink + free; no event */
sim_offer *sim_offer_find(sim *s, const char *id);
void sim_offers_drop_fw(sim *s, sim_fw *fw);            /* no RESCIND (failover semantics) */
void sim_offers_rescind_agent(sim *s, int agent);       /* RESCIND to owners */
/* Refuse res on agent for fw for refuse_s seconds (Mesos Filters semantics). */
void sim_filter_add(sim *s, sim_fw *fw, int agent, const sim_res *res, double refuse_s);
void sim_filters_clear(sim_fw *fw);

/* --- sim_task.c (tasks and status updates) ------------------------------ */
sim_task *sim_task_new(sim *s, sim_fw *fw, int agent, sim_exec *ex, const Mesos__V1__TaskInfo *ti,
                       sim_res *res /* taken */);
void sim_task_free(sim *s, sim_task *t);                /* unlink + free + remember in done */
/* Master-made update (no uuid) straight to the framework. */
void sim_task_master_update(sim *s, sim_fw *fw, const char *task_id, const char *agent_id,
                            const char *exec_id, int state, int reason, const char *msg);
/* An update the agent stored (executor- or agent-made, with uuid): queued
 * per task, forwarded when it reaches the head. status is taken. Returns 1
 * if new, 0 if a duplicate uuid. */
int sim_task_agent_update(sim *s, sim_task *t, Mesos__V1__TaskStatus *status);
/* Agent-made update for t (SOURCE_AGENT, with a fresh uuid). */
void sim_task_agent_status(sim *s, sim_task *t, int state, int reason, const char *msg);
/* Scheduler ACKNOWLEDGE. */
void sim_task_ack(sim *s, sim_task *t, const uint8_t *uuid, size_t len);
/* Forward every head update of fw now (after a re-subscription). */
void sim_task_resend_fw(sim *s, sim_fw *fw);
/* Forwards t's oldest held update now (a partition healed). */
void sim_task_resend(sim *s, sim_task *t);
void sim_task_retry(sim *s, int64_t now);
/* The master's reconciliation answers for one call. */
void sim_task_reconcile(sim *s, sim_fw *fw, const Mesos__V1__Scheduler__Call__Reconcile *rc);

/* --- sim_agent.c (executor API, executors) ------------------------------ */
enum MHD_Result sim_agent_handle(sim_agent *a, struct MHD_Connection *c, sim_req *r);
/* The live executor a launch with ei would use: MCM_OK and *out (NULL if a
 * new one is needed), or MCM_ERR + err when ei differs from the running one's. */
int sim_exec_lookup(sim *s, sim_fw *fw, int agent, const Mesos__V1__ExecutorInfo *ei, sim_exec **out,
                    char *err, size_t errlen);
/* A new executor (EX_PENDING; the loop thread forks it). res is taken. */
sim_exec *sim_exec_create(sim *s, sim_fw *fw, int agent, const Mesos__V1__ExecutorInfo *ei, sim_res *res);
/* Delivers LAUNCH for t if its executor is subscribed, else leaves it queued. */
void sim_agent_launch_task(sim *s, sim_task *t);
void sim_agent_kill_task(sim *s, sim_task *t);
void sim_agent_message(sim *s, sim_exec *ex, const ProtobufCBinaryData *data);
/* SHUTDOWN event; SIGKILL after the grace period (now if not subscribed). */
void sim_exec_shutdown(sim *s, sim_exec *ex);
/* Loop thread: launches, reaping, registration timeouts, grace kills, dead streams. */
void sim_agent_tick(sim *s, int64_t now);
void sim_agent_down(sim *s, int agent);
void sim_agent_up(sim *s, int agent);
void sim_exec_kill_all(sim *s);                          /* shutdown: SIGKILL every group, reap */

/* --- sim_proc.c (sandbox, fetch, fork) ---------------------------------- */
/* Creates the sandbox, fetches URIs, forks the executor in its own process
 * group. Called by the loop thread. MCM_ERR with err filled on failure. */
int sim_proc_launch(sim *s, sim_exec *ex, char *err, size_t errlen);

/* --- sim_admin.c --------------------------------------------------------- */
enum MHD_Result sim_admin_handle(sim *s, struct MHD_Connection *c, sim_req *r);
void sim_call_log(sim *s, const char *remote, const char *fw, const char *stream, const char *type,
                  int status);

/* --- sim_attr.c (attributes, fault domains) ----------------------------- */
/* Per-agent attributes and domains from cfg (agent_attributes/agent_domains
 * are only read here, during sim_new); the master region. */
int sim_attr_setup(sim *s, char *err, size_t errlen);
int sim_attr_check(const char *text, char *err, size_t errlen);
Mesos__V1__Attribute **sim_attr_to_pb(sim_arena *a, const char *text, size_t *n, char *err, size_t errlen);
/* "region/zone" ("" or NULL: none) into region and zone (cap bytes each). */
int sim_domain_parse(const char *text, char *region, char *zone, size_t cap, char *err, size_t errlen);
Mesos__V1__DomainInfo *sim_domain_to_pb(sim_arena *a, const char *region, const char *zone);
/* 1 if the agent's region differs from the master's (Mesos isRemoteSlave). */
int sim_agent_remote(const sim *s, int agent);
/* 1 if the framework has the REGION_AWARE capability. */
int sim_fw_region_aware(const sim_fw *fw);
/* Admin: new attributes and/or domain for an agent (NULL: unchanged); its
 * outstanding offers are rescinded. MCM_ERR with err. */
int sim_attr_set(sim *s, int agent, const char *attributes, const char *domain, char *err, size_t errlen);

/* --- sim_maint.c (maintenance schedule, inverse offers) ----------------- */
int sim_maint_new(sim *s);                               /* MCM_ERR: out of memory */
void sim_maint_free(sim *s);                             /* NULL-safe */
/* The agent's Unavailability for an offer (arena-allocated), NULL if none. */
Mesos__V1__Unavailability *sim_maint_unavailability(sim *s, sim_arena *a, int agent);
/* Replaces the schedule (the master's /maintenance/schedule body); MCM_ERR with err. */
int sim_maint_schedule(sim *s, const char *body, size_t len, char *err, size_t errlen);
/* Allocation cycle, after the offers: inverse offers (generateInverseOffers). */
void sim_maint_run(sim *s, int64_t now);
/* ACCEPT_INVERSE_OFFERS (accepted=1) / DECLINE_INVERSE_OFFERS. */
void sim_maint_answer(sim *s, sim_fw *fw, Mesos__V1__OfferID **ids, size_t n, const Mesos__V1__Filters *filters,
                      int accepted);
/* The agent's offers (RESCIND) and inverse offers (RESCIND_INVERSE_OFFER) go. */
void sim_maint_rescind_agent(sim *s, int agent, const char *why);
json_t *sim_maint_json(sim *s);                          /* GET /sim/state "maintenance" */
/* /sim/maintenance, /sim/agent/drain, /sim/agent/reactivate; NULL for other URLs. */
char *sim_maint_admin(sim *s, struct MHD_Connection *c, const sim_req *r, unsigned *code);

/* --- sim_drain.c (DRAIN_AGENT) ------------------------------------------- */
int sim_drain_new(sim *s);
void sim_drain_free(sim *s);                             /* NULL-safe */
int sim_drain_offerable(const sim *s, int agent);        /* 0 while draining or drained */
int sim_drain_gone(const sim *s, int agent);             /* drained with mark_gone */
int sim_drain_start(sim *s, int agent, int64_t max_grace_ms /* -1 none */, int mark_gone, char *err, size_t errlen);
int sim_drain_reactivate(sim *s, int agent, char *err, size_t errlen);
/* An agent-stored update of t: reason (and state) as a draining agent sets them. */
void sim_drain_status(sim *s, const sim_task *t, Mesos__V1__TaskStatus *st);
void sim_drain_tick(sim *s);                             /* DRAINING -> DRAINED */
json_t *sim_drain_json(sim *s);

/* --- sim_zk.c ------------------------------------------------------------ */
struct sim_zk *sim_zk_new(sim *s, char *err, size_t errlen);
void sim_zk_free(struct sim_zk *z);
/* Loop thread, without `mu`: (re)creates our node, re-reads the children,
 * then updates s->zk_leading / s->zk_leader under `mu`. */
void sim_zk_poll(sim *s, struct sim_zk *z);

/* --- sim_partition.c (an agent cut off from the master) ------------------- */
int sim_partitioned(const sim *s, int agent);
/* /sim/agent/partition, /sim/agent/heal; NULL for other URLs. */
char *sim_partition_admin(sim *s, struct MHD_Connection *c, const sim_req *r, unsigned *code);

#endif
