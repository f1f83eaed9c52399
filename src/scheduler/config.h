/* config.h -- mcm-scheduler's configuration: every flag, its environment
 * variable, default and bounds, in one table (opt.h does the parsing).
 *
 * `--help` is generated from the table and the README's configuration
 * reference is generated from `--help` (a test compares them).
 * Threads: filled by main before any thread starts; read-only afterwards. */
#ifndef MCM_SCHED_CONFIG_H
#define MCM_SCHED_CONFIG_H

#include "opt.h"
#include <stdint.h>

typedef struct sched_config {
    /* ZooKeeper */
    parse_zk zk;
    int64_t zk_session_timeout_ms;
    char *zk_auth_file;
    /* Mesos */
    opt_master master;
    char *framework_name, *framework_user, *role, *principal, *secret_file, *hostname;
    int64_t failover_timeout_ms;
    int64_t refuse_ms;                /* DECLINE filter */
    int64_t reconcile_interval_ms;
    int64_t heartbeat_misses;
    /* memcached servers */
    int64_t instances, instances_min, instances_max, max_per_agent;
    double cpus;
    uint64_t mem_bytes;
    char *memcached_command, *docker_image, *memcached_listen;
    char *executor_command, *executor_uri;
    int64_t report_interval_ms;
    int64_t health_interval_ms, health_timeout_ms;     /* the executors' hung-memcached probe */
    int64_t health_unhealthy_after, health_fail_after;
    int64_t relaunch_backoff_min_ms, relaunch_backoff_max_ms;
    /* placement (place.h) */
    opt_list constraints;             /* --constraint, each one parsed by cross_check */
    int zone_spread;
    /* HTTP and discovery */
    parse_hostport http_listen;
    char *advertise_url;
    char *admin_token_file;
    int admin_insecure;
    parse_hostport discovery_listen;   /* host "" = off */
    /* autoscaling */
    int autoscale;
    double scale_up_mem, scale_up_cpu, scale_up_evictions, scale_down_mem;
    int64_t scale_up_window_ms, scale_down_window_ms, cooldown_ms, report_max_age_ms;
    int64_t operator_pause_ms, drain_time_ms;
    /* warm ring transitions */
    int warm_transitions;
    uint64_t migrate_rate;            /* bytes/s per source, 0 = unlimited */
    int64_t migrate_timeout_ms;
    /* maintenance (fleet_maint.h) */
    int64_t maintenance_horizon_ms;
    /* partitions (fleet_partition.c) */
    int64_t unreachable_grace_ms;
} sched_config;

/* Parses argv/environment into cfg. Returns OPT_CONTINUE to run, or the exit
 * status (0 after --help/--version, 2 after a reported usage error). */
int sched_config_parse(sched_config *cfg, int argc, char **argv);
void sched_config_free(sched_config *cfg);

#endif
