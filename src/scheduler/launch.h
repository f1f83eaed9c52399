/* launch.h -- the TaskInfo (and ExecutorInfo) that starts one memcached server.
 *
 * The contract with mcm-executor (src/executor/README.md): one executor per
 * task, ExecutorInfo.command runs --executor-command through the shell (with
 * --executor-uri fetched into the sandbox when set), and tells the executor
 * how to run memcached through its environment: MCM_MEMCACHED_COMMAND,
 * MCM_MEMCACHED_LISTEN, MCM_DOCKER_IMAGE (docker mode), MCM_REPORT_INTERVAL,
 * MCM_LOG_LEVEL. The task's own resources say which port (the one-port
 * `ports` range) and how much memory (`mem`, MiB) the server gets.
 *
 * Ownership: a launch_spec holds every protobuf struct and string of one
 * TaskInfo by value; the TaskInfo returned by launch_build points into it and
 * into the offer_launch's resources, so it lives as long as both.
 * Threads: any (pure). */
#ifndef MCM_LAUNCH_H
#define MCM_LAUNCH_H

#include "config.h"
#include "offer.h"

#define LAUNCH_ENV_MAX 6

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
    Mesos__V1__Labels labels;
    Mesos__V1__Label label, *labelp[1];
    char id[192], exec_id_s[200], name[64], report_interval[32];
} launch_spec;

/* A fresh task ID: "mcm-<uuid v4>". */
void launch_new_task_id(char *buf, size_t len);
/* Fills s for task_id on the offer's agent with the matched resources. */
Mesos__V1__TaskInfo *launch_build(launch_spec *s, const sched_config *cfg, const char *task_id,
                                  const Mesos__V1__Offer *offer, offer_launch *ol);

#endif
