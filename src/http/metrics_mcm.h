/* metrics_mcm.h -- every metric mcm-scheduler exports, with its meaning.
 *
 * metrics_mcm_register() creates these families in a registry and fills a
 * struct of handles; the scheduler core keeps the struct and updates the
 * handles (metrics.h). The HTTP server registers mcm_http_requests_total
 * itself. Label values are bounded: states and reasons are fixed word lists,
 * task ids and host:port pairs follow the server set (replace those families
 * wholesale with metrics_replace() when the set changes).
 *
 * | metric | type | labels | meaning |
 * |---|---|---|---|
 * | mcm_build_info | gauge | version | always 1; the running version |
 * | mcm_start_time_seconds | gauge | | process start, Unix seconds |
 * | mcm_is_leader | gauge | | 1 while this replica leads, else 0 |
 * | mcm_leader_state | gauge | state | 1 for the current leadership state (follower, starting, reconciling, leading), 0 for the others |
 * | mcm_leadership_changes_total | counter | to | transitions into `to` (leader, follower) |
 * | mcm_failovers_total | counter | | times this replica took over an existing framework |
 * | mcm_mesos_subscriptions_total | counter | result | SUBSCRIBE attempts by result (subscribed, failed) |
 * | mcm_mesos_subscribed | gauge | | 1 while subscribed to the master |
 * | mcm_offers_received_total | counter | | offers received |
 * | mcm_offers_accepted_total | counter | | offers accepted (used to launch) |
 * | mcm_offers_declined_total | counter | | offers declined |
 * | mcm_tasks | gauge | state | tasks by Mesos state (TASK_RUNNING, ...) |
 * | mcm_desired_instances | gauge | | instances wanted |
 * | mcm_task_launches_total | counter | | tasks launched (first launch and relaunches) |
 * | mcm_task_relaunches_total | counter | | launches replacing a lost or failed task |
 * | mcm_status_updates_total | counter | state | Mesos status updates by task state |
 * | mcm_zk_session_events_total | counter | event | ZooKeeper session events (connected, disconnected, expired, auth_failed) |
 * | mcm_zk_connected | gauge | | 1 while the ZooKeeper session is connected |
 * | mcm_servers_version | gauge | | version of the published server list |
 * | mcm_servers | gauge | | servers in the published list |
 * | mcm_memcached_bytes | gauge | task_id, server | memory in use (memcached `bytes`) |
 * | mcm_memcached_limit_bytes | gauge | task_id, server | memory limit (`limit_maxbytes`) |
 * | mcm_memcached_evictions | gauge | task_id, server | evictions since the server started |
 * | mcm_memcached_hit_ratio | gauge | task_id, server | get_hits / (get_hits + get_misses), 0..1 |
 * | mcm_memcached_connections | gauge | task_id, server | open connections (`curr_connections`) |
 * | mcm_ring_transition_phase | gauge | phase | 1 for the phase of the warm ring transition under way (idle, copy, catchup, cleanup, abort) |
 * | mcm_ring_transition_keys_copied | gauge | | keys copied by the transition under way |
 * | mcm_ring_transition_bytes_copied | gauge | | bytes copied by the transition under way |
 * | mcm_ring_transition_keys_left | gauge | | keys still to copy |
 * | mcm_ring_transition_eta_seconds | gauge | | estimated end of the copy, -1 unknown |
 * | mcm_executor_messages_total | counter | | framework messages sent to executors (ring transition commands) |
 * | mcm_executor_message_bytes_total | counter | | their payload bytes: the load a transition puts on the Mesos master |
 * | mcm_http_requests_total | counter | route, code | HTTP requests answered, by route name (/v1/servers, /v1/tasks/:id/restart, other, ...) and status code |
 *
 * Threads: metrics_mcm_register() from any one thread at start; the handles
 * from any thread afterwards. */
#ifndef MCM_METRICS_MCM_H
#define MCM_METRICS_MCM_H

#include "metrics.h"

typedef struct metrics_mcm {
    metrics_family *build_info, *start_time;
    metrics_family *is_leader, *leader_state, *leadership_changes, *failovers;
    metrics_family *mesos_subscriptions, *mesos_subscribed;
    metrics_family *offers_received, *offers_accepted, *offers_declined;
    metrics_family *tasks, *desired, *launches, *relaunches, *status_updates;
    metrics_family *zk_events, *zk_connected;
    metrics_family *servers_version, *servers;
    metrics_family *mc_bytes, *mc_limit, *mc_evictions, *mc_hit_ratio, *mc_connections;
    metrics_family *trn_phase, *trn_keys_copied, *trn_bytes_copied, *trn_keys_left, *trn_eta;
    metrics_family *exec_messages, *exec_message_bytes;
} metrics_mcm;

/* Registers every family above (idempotent), sets build_info and start_time.
 * MCM_OK, or MCM_ERR if any family could not be created. */
int metrics_mcm_register(metrics *m, metrics_mcm *out);

/* One memcached server's figures, for metrics_mcm_set_memcached(). */
typedef struct metrics_mc_figures {
    const char *task_id;
    const char *server;       /* "host:port" */
    double bytes, limit_bytes, evictions, hit_ratio, connections;
} metrics_mc_figures;

/* Replaces the five per-server families with exactly these n servers (so
 * removed servers disappear). MCM_OK or MCM_ERR. */
int metrics_mcm_set_memcached(const metrics_mcm *mm, const metrics_mc_figures *figs, size_t n);

#endif
