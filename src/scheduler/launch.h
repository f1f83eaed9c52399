/* launch.h -- the TaskInfo (and ExecutorInfo) that starts one memcached server.
 *
 * The contract with mcm-executor (src/executor/README.md): one executor per
 * task, ExecutorInfo.command runs --executor-command through the shell (with
 * --executor-uri fetched into the sandbox when set), and tells the executor
 * how to run memcached through its environment: MCM_MEMCACHED_COMMAND,
 * MCM_MEMCACHED_LISTEN, MCM_DOCKER_IMAGE (docker mode), MCM_REPORT_INTERVAL,
 * MCM_LOG_LEVEL, and the hung-memcached probe: MCM_HEALTH_INTERVAL,
 * MCM_HEALTH_TIMEOUT, MCM_HEALTH_UNHEALTHY_AFTER, MCM_HEALTH_FAIL_AFTER. The task's own resources say which port (the one-port
 * `ports` range) and how much memory (`mem`, MiB) the server gets.
 *
 * Discovery for the rest of the Mesos ecosystem (Mesos-DNS, mesos-consul,
 * Traefik...), which read tasks from the master's state:
 * TaskInfo.discovery = {visibility CLUSTER, name "memcached", ports
 * [{number <port>, name "memcached", protocol "tcp"}], labels}, so Mesos-DNS
 * serves memcached.<framework>.mesos (A) and _memcached._tcp.<framework>.mesos
 * and _memcached._memcached._tcp.<framework>.mesos (SRV). The task and its
 * DiscoveryInfo carry the same labels: mcm.framework = --framework-name and
 * mcm.ring = the hash clients must use (RING_NAME). These list every running
 * server, including one a warm transition has not published yet: clients
 * that hash keys should follow the published list (docs/clients.md).
 *
 * Ownership: a launch_spec holds every protobuf struct and string of one
 * TaskInfo by value; the TaskInfo returned by launch_build points into it and
 * into the offer_launch's resources, so it lives as long as both.
 * Threads: any (pure). */
#ifndef MCM_LAUNCH_H
#define MCM_LAUNCH_H

#include "config.h"
#include "offer.h"

#define LAUNCH_ENV_MAX 10
#define LAUNCH_LABELS 2
#define LAUNCH_DISCOVERY_NAME "memcached"   /* DiscoveryInfo.name and the port's name */

typedef struct launch_spec {
    Mesos__V1__TaskInfo task;
    Mesos__V1__TaskID task_id;
    Mesos__V1__AgentID agent_id;
    Mesos__V1__ExecutorInfo exec;
    Mesos__V1__ExecutorID exec_id;
    Mesos__V1__CommandInfo cmd;
    Mesos__V1__CommandInfo__URI uri, *uris[1];
    Mesos__V1__Environment env;
    Mesos__V1__Environment__Variable vars[LAUNCH_ENV_MAX], *varp[LAUNCH_ENV_MAX];
    Mesos__V1__Labels labels;         /* the task's and its DiscoveryInfo's */
    Mesos__V1__Label label[LAUNCH_LABELS], *labelp[LAUNCH_LABELS];
    Mesos__V1__DiscoveryInfo disc;
    Mesos__V1__Ports ports;
    Mesos__V1__Port port, *portp[1];
    char id[192], exec_id_s[200], name[64], report_interval[32];
    char health_interval[32], health_timeout[32], unhealthy_after[24], fail_after[24];
} launch_spec;

/* A fresh task ID: "mcm-<uuid v4>". */
void launch_new_task_id(char *buf, size_t len);
/* Fills s for task_id on the offer's agent with the matched resources. */
Mesos__V1__TaskInfo *launch_build(launch_spec *s, const sched_config *cfg, const char *task_id,
                                  const Mesos__V1__Offer *offer, offer_launch *ol);

#endif
