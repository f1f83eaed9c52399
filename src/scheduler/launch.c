/* launch.c -- build the TaskInfo for one memcached server (see launch.h).
 * Shape: every protobuf struct lives by value in a launch_spec, so building
 * allocates nothing and nothing needs freeing. Threads: any. */
#include "launch.h"
#include "log.h"
#include "ring.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

void launch_new_task_id(char *buf, size_t len) {
    uint8_t u[16];
    char s[37];
    util_uuid4(u);
    util_uuid_str(u, s);
    snprintf(buf, len, "mcm-%s", s);
}

static void env_add(launch_spec *s, const char *name, const char *value) {
    size_t i = s->env.n_variables;
    if (!value || i >= LAUNCH_ENV_MAX) return;
    mesos__v1__environment__variable__init(&s->vars[i]);
    s->vars[i].name = (char *)name;
    s->vars[i].value = (char *)value;
    s->varp[i] = &s->vars[i];
    s->env.n_variables = i + 1;
}

static void build_command(launch_spec *s, const sched_config *cfg) {
    mesos__v1__command_info__init(&s->cmd);
    s->cmd.value = cfg->executor_command;
    s->cmd.has_shell = 1;
    s->cmd.shell = 1;
    if (cfg->executor_uri) {
        mesos__v1__command_info__uri__init(&s->uri);
        s->uri.value = cfg->executor_uri;
        s->uri.has_executable = 1;
        s->uri.executable = 1;
        s->uri.has_extract = 1;
        s->uri.extract = 0;
        s->uris[0] = &s->uri;
        s->cmd.n_uris = 1;
        s->cmd.uris = s->uris;
    }
    mesos__v1__environment__init(&s->env);
    s->env.variables = s->varp;
    parse_format_duration(cfg->report_interval_ms, s->report_interval, sizeof(s->report_interval));
    env_add(s, "MCM_MEMCACHED_COMMAND", cfg->docker_image ? NULL : cfg->memcached_command);
    env_add(s, "MCM_MEMCACHED_LISTEN", cfg->memcached_listen);
    env_add(s, "MCM_DOCKER_IMAGE", cfg->docker_image);
    env_add(s, "MCM_REPORT_INTERVAL", s->report_interval);
    env_add(s, "MCM_LOG_LEVEL", log_level_name((log_level)log_min_level));
    /* the probe's settings; one left at 0 (never from the flags) keeps the executor's default */
    parse_format_duration(cfg->health_interval_ms, s->health_interval, sizeof(s->health_interval));
    parse_format_duration(cfg->health_timeout_ms, s->health_timeout, sizeof(s->health_timeout));
    snprintf(s->unhealthy_after, sizeof(s->unhealthy_after), "%lld", (long long)cfg->health_unhealthy_after);
    snprintf(s->fail_after, sizeof(s->fail_after), "%lld", (long long)cfg->health_fail_after);
    env_add(s, "MCM_HEALTH_INTERVAL", cfg->health_interval_ms ? s->health_interval : NULL);
    env_add(s, "MCM_HEALTH_TIMEOUT", cfg->health_timeout_ms ? s->health_timeout : NULL);
    env_add(s, "MCM_HEALTH_UNHEALTHY_AFTER", cfg->health_unhealthy_after ? s->unhealthy_after : NULL);
    env_add(s, "MCM_HEALTH_FAIL_AFTER", cfg->health_fail_after ? s->fail_after : NULL);
    s->cmd.environment = &s->env;
}

static void add_label(launch_spec *s, const char *key, const char *value) {
    size_t i = s->labels.n_labels;
    mesos__v1__label__init(&s->label[i]);
    s->label[i].key = (char *)key;
    s->label[i].value = (char *)value;
    s->labelp[i] = &s->label[i];
    s->labels.n_labels = i + 1;
}

/* Labels and DiscoveryInfo (see launch.h): one named TCP port. */
static void build_discovery(launch_spec *s, const sched_config *cfg, int port) {
    mesos__v1__labels__init(&s->labels);
    s->labels.labels = s->labelp;
    add_label(s, "mcm.framework", cfg->framework_name);
    add_label(s, "mcm.ring", RING_NAME);
    mesos__v1__port__init(&s->port);
    s->port.number = (uint32_t)port;
    s->port.name = LAUNCH_DISCOVERY_NAME;
    s->port.protocol = "tcp";
    s->portp[0] = &s->port;
    mesos__v1__ports__init(&s->ports);
    s->ports.ports = s->portp;
    s->ports.n_ports = 1;
    mesos__v1__discovery_info__init(&s->disc);
    s->disc.visibility = MESOS__V1__DISCOVERY_INFO__VISIBILITY__CLUSTER;
    s->disc.name = LAUNCH_DISCOVERY_NAME;
    s->disc.ports = &s->ports;
    s->disc.labels = &s->labels;
}

Mesos__V1__TaskInfo *launch_build(launch_spec *s, const sched_config *cfg, const char *task_id,
                                  const Mesos__V1__Offer *offer, offer_launch *ol) {
    memset(s, 0, sizeof(*s));
    snprintf(s->id, sizeof(s->id), "%s", task_id);
    snprintf(s->exec_id_s, sizeof(s->exec_id_s), "%s.executor", task_id);
    snprintf(s->name, sizeof(s->name), "memcached:%d", ol->port);
    build_command(s, cfg);

    mesos__v1__executor_id__init(&s->exec_id);
    s->exec_id.value = s->exec_id_s;
    mesos__v1__executor_info__init(&s->exec);
    s->exec.executor_id = &s->exec_id;
    s->exec.has_type = 1;
    s->exec.type = MESOS__V1__EXECUTOR_INFO__TYPE__CUSTOM;
    s->exec.name = "mcm-executor";
    s->exec.command = &s->cmd;
    s->exec.resources = ol->exec_res;
    s->exec.n_resources = ol->n_exec_res;

    mesos__v1__task_id__init(&s->task_id);
    s->task_id.value = s->id;
    mesos__v1__agent_id__init(&s->agent_id);
    s->agent_id.value = offer->agent_id->value;
    build_discovery(s, cfg, ol->port);

    mesos__v1__task_info__init(&s->task);
    s->task.name = s->name;
    s->task.task_id = &s->task_id;
    s->task.agent_id = &s->agent_id;
    s->task.resources = ol->task_res;
    s->task.n_resources = ol->n_task_res;
    s->task.executor = &s->exec;
    s->task.labels = &s->labels;
    s->task.discovery = &s->disc;
    return &s->task;
}
