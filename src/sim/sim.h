/* sim.h -- mcm-sim: a Mesos master and N agents in one process, speaking the
 * real Mesos v1 HTTP APIs (protobuf over HTTP, RecordIO streams), so that
 * mcm-scheduler's real client and the real mcm-executor run against it in
 * tests and in the local demo.
 *
 * WHAT IT SERVES
 *   master port:  POST /api/v1/scheduler (also /master/api/v1/scheduler)
 *                 GET|POST /sim/...   (fault controls, below)
 *   agent i port: POST /api/v1/executor (also /slave(1)/api/v1/executor);
 *                 executors get MESOS_AGENT_ENDPOINT=<host>:<agent i port>.
 * Agent i has the --resources of the command line, except that the `ports`
 * ranges are cut into --agents equal slices in ascending order and agent i
 * gets slice i (agents share the host's port space; the remainder of an
 * uneven split is not offered).
 *
 * ADMIN API (on the master port; answered in every leadership mode; every
 * POST answers 200 {"ok":true,...} or 4xx {"error":"..."}):
 *   GET  /sim/state                       frameworks, agents, offers, tasks,
 *                                         executors (with pid, sandbox), completed tasks
 *   GET  /sim/calls[?since=SEQ]           the scheduler call log: JSON array of
 *        {"seq","mono_ms","wall_ms","remote","framework_id","stream_id","type","status"}
 *        for every scheduler API call received (rejected ones too; type is the
 *        Call type name, or "-" when the body could not be read)
 *   POST /sim/drop-stream[?framework=ID]  drops the subscription connection(s)
 *                                         without an event (network failure); the
 *                                         failover timeout starts
 *   POST /sim/heartbeats?enabled=0|1      stops / resumes HEARTBEAT events
 *   POST /sim/silence?enabled=1|0         holds / releases every framework's event
 *                                         stream (no event at all, new streams too)
 *   POST /sim/agent/down?agent=I|ID       the agent disappears: its executors'
 *                                         process groups get SIGKILL, its tasks become
 *                                         TASK_UNREACHABLE (TASK_LOST without
 *                                         PARTITION_AWARE), its offers are rescinded
 *   POST /sim/agent/up?agent=I|ID         it comes back, empty (same agent ID)
 *   POST /sim/agent/partition?agent=I|ID  cut off from the master, processes running:
 *                                         TASK_UNREACHABLE (REASON_AGENT_REMOVED),
 *                                         updates held, no offers (sim_partition.c)
 *   POST /sim/agent/heal?agent=I|ID       reregisters with its tasks; held updates sent
 *   POST /sim/leader?redirect=URL         non-leading mode: scheduler calls get 307
 *                                         to URL (http://host:port); without
 *                                         `redirect`: 503 (no leader known); streams
 *                                         are dropped
 *   POST /sim/leader?leading=1            leading again (same state; frameworks
 *                                         must re-subscribe)
 *   POST /sim/kill-executor?framework=ID&executor=ID[&signal=N]
 *                                         signal (default 9) to the executor's process group
 *   POST /sim/maintenance                 the maintenance schedule (JSON body of the master's
 *                                         /maintenance/schedule; sim_maint.c)
 *   POST /sim/agent/drain?agent=I|ID[&max_grace=D][&mark_gone=1]   DRAIN_AGENT (sim_drain.c)
 *   POST /sim/agent/reactivate?agent=I|ID REACTIVATE_AGENT
 *
 * Threads: sim_new/sim_free/sim_port from the owner (main) thread. */
#ifndef MCM_SIM_H
#define MCM_SIM_H

#include <stddef.h>
#include <stdint.h>

typedef struct sim_config {
    const char *listen_host;          /* master listen address */
    int listen_port;                  /* 0: any free port */
    int agents;
    const char *resources;            /* Mesos --resources syntax */
    int64_t offer_interval_ms;
    int64_t heartbeat_interval_ms;
    const char *agent_hostname;       /* Offer.hostname, AgentInfo.hostname */
    const char *work_dir;             /* sandboxes; NULL: a temp dir removed at exit */
    const char *zk_hosts, *zk_path;   /* --zk; NULL: none */
    const char *redirect_to;          /* "http://host:port": start non-leading; NULL: none */
    int64_t registration_timeout_ms;  /* executor must SUBSCRIBE within this */
    int64_t update_retry_ms;          /* first resend of an unacknowledged update */
    int64_t shutdown_grace_ms;        /* default executor shutdown grace period */
    const char *credentials_file;     /* "principal secret" lines; NULL: no authentication */
    const char *agent_attributes;     /* Mesos --attributes per agent, "|"-separated, agent i
                                       * takes set i % count; NULL: none (see sim_attr.c) */
    const char *agent_domains;        /* "region/zone|..." the same way; NULL: no fault domains */
} sim_config;

typedef struct sim sim;

/* Validates cfg, starts the master and agent daemons and the loop thread.
 * NULL with a one-line reason in err. Config errors (bad --resources, too few
 * ports) are reported with *usage = 1 so main can exit 2. */
sim *sim_new(const sim_config *cfg, int *usage, char *err, size_t errlen);
/* Kills every executor's process group, stops all threads and daemons,
 * removes the temp work dir it made. NULL-safe. */
void sim_free(sim *s);
int sim_port(const sim *s);
/* Port of agent i (for logs and tests). */
int sim_agent_port(const sim *s, int i);

#endif
