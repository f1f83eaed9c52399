/* sim_partition.c -- a network partition between one agent and the master.
 *
 * What: POST /sim/agent/partition?agent=I|ID cuts the agent off from the
 * master while its executors (and their memcached) keep running;
 * POST /sim/agent/heal?agent=I|ID joins it again. Following apache/mesos:
 *  - Master::markUnreachable (after the agent's pings time out,
 *    --agent_ping_timeout x --max_agent_ping_timeouts): every task of the
 *    agent becomes TASK_UNREACHABLE for its framework, with reason
 *    REASON_AGENT_REMOVED (v0 REASON_SLAVE_REMOVED), source SOURCE_MASTER and
 *    unreachable_time; the agent's offers are rescinded and the allocator
 *    offers it no more.
 *    Reconciliation answers TASK_UNREACHABLE for its tasks.
 *  - The agent itself goes on: its executors run, their status updates are
 *    stored by the agent (acknowledged to the executor) but not forwarded;
 *    framework messages are dropped (the agent cannot reach the master);
 *    kills sent to the master for its tasks do not reach it.
 *  - Master::__reregisterSlave: the agent comes back with its tasks; the
 *    master knows them again in the agent's state (reconciliation says so),
 *    and the agent resends every update it holds. No update is made up for
 *    a task that did not change: a PARTITION_AWARE framework learns of it by
 *    reconciling (or from the agent's offers).
 * Unlike /sim/agent/down (the agent and its processes are gone for good),
 * nothing is killed.
 *
 * Threads: MHD threads, under s->mu. Invariants: a partitioned agent is
 * never offered; while partitioned, t->state of its tasks is what the master
 * says (UNREACHABLE) and t->agent_state what the agent knows. */
#include "sim_int.h"

#include "mcm.h"

#define LOG_COMPONENT "sim"
#include "log.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sim_partitioned(const sim *s, int agent) { return s->agents[agent].partitioned; }

static void partition(sim *s, int agent) {
    sim_agent *a = &s->agents[agent];
    a->partitioned = 1;
    int n = 0;
    for (sim_task *t = s->tasks; t; t = t->next) {
        if (t->agent != agent || sim_pb_terminal(t->state)) continue;
        t->agent_state = t->state;
        t->unreachable = 1;
        t->state = MESOS__V1__TASK_STATE__TASK_UNREACHABLE;
        sim_task_master_update(s, t->fw, t->id, a->id, t->ex ? t->ex->id : NULL, t->state,
                               MESOS__V1__TASK_STATUS__REASON__REASON_AGENT_REMOVED,
                               "Agent is unreachable: health check timed out");
        n++;
    }
    sim_offers_rescind_agent(s, agent);
    log_notice("admin: agent %s partitioned from the master: %d task(s) unreachable, its processes keep running",
               a->id, n);
}

static void heal(sim *s, int agent) {
    sim_agent *a = &s->agents[agent];
    a->partitioned = 0;
    int n = 0;
    for (sim_task *t = s->tasks; t; t = t->next) {
        if (t->agent != agent || !t->unreachable) continue;
        t->unreachable = 0;
        t->state = t->agent_state;
        sim_task_resend(s, t);   /* what the agent held goes now */
        n++;
    }
    log_notice("admin: agent %s reregistered after a partition with %d task(s)", a->id, n);
}

static int agent_arg(sim *s, struct MHD_Connection *c) {
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "agent");
    if (!v || !*v) return -1;
    sim_agent *a = sim_agent_by_id(s, v);
    if (a) return a->idx;
    char *end;
    long i = strtol(v, &end, 10);
    return *end == 0 && i >= 0 && i < s->nagents ? (int)i : -1;
}

static char *reply(unsigned *code, unsigned status, const char *key, const char *msg) {
    *code = status;
    json_t *j = status == 200 ? json_pack("{s:b, s:s}", "ok", 1, key, msg) : json_pack("{s:s}", key, msg);
    char *out = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return out;
}

char *sim_partition_admin(sim *s, struct MHD_Connection *c, const sim_req *r, unsigned *code) {
    int part = strcmp(r->url, "/sim/agent/partition") == 0;
    if (!part && strcmp(r->url, "/sim/agent/heal") != 0) return NULL;
    int ag = agent_arg(s, c);
    if (ag < 0) return reply(code, 400, "error", "agent=<index or agent ID> required");
    if (s->agents[ag].gone) return reply(code, 409, "error", "the agent is down (/sim/agent/down)");
    if (part == s->agents[ag].partitioned)
        return reply(code, 409, "error", part ? "the agent is partitioned already" : "the agent is not partitioned");
    if (part) partition(s, ag);
    else heal(s, ag);
    return reply(code, 200, "done", part ? "partitioned" : "healed");
}
