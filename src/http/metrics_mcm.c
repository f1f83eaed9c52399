/* metrics_mcm.c -- registers mcm's metric families (the table in metrics_mcm.h).
 *
 * Shape: one table of {type, name, help, labels, slot} so the names, their
 * documentation and the handle struct stay side by side.
 * Threads: register from one thread at start; the memcached setter from any.
 * Invariant: every handle in metrics_mcm is non-NULL after MCM_OK. */
#include "metrics_mcm.h"
#include "mcm.h"
#include "util.h"

#include <stdlib.h>

#define SLOT(field) offsetof(metrics_mcm, field)

static const struct fam {
    metrics_type type;
    const char *name, *help, *labels;
    size_t slot;
} families[] = {
    {METRICS_GAUGE, "mcm_build_info", "Always 1; the label names the running mcm version.", "version", SLOT(build_info)},
    {METRICS_GAUGE, "mcm_start_time_seconds", "Process start time, seconds since the Unix epoch.", NULL, SLOT(start_time)},
    {METRICS_GAUGE, "mcm_is_leader", "1 while this replica is the leader, else 0.", NULL, SLOT(is_leader)},
    {METRICS_GAUGE, "mcm_leader_state", "1 for the current leadership state, 0 for the others.", "state", SLOT(leader_state)},
    {METRICS_COUNTER, "mcm_leadership_changes_total", "Leadership transitions, by the role entered.", "to", SLOT(leadership_changes)},
    {METRICS_COUNTER, "mcm_failovers_total", "Times this replica took over an existing framework.", NULL, SLOT(failovers)},
    {METRICS_COUNTER, "mcm_mesos_subscriptions_total", "Mesos SUBSCRIBE attempts, by result.", "result", SLOT(mesos_subscriptions)},
    {METRICS_GAUGE, "mcm_mesos_subscribed", "1 while subscribed to the Mesos master.", NULL, SLOT(mesos_subscribed)},
    {METRICS_COUNTER, "mcm_offers_received_total", "Resource offers received.", NULL, SLOT(offers_received)},
    {METRICS_COUNTER, "mcm_offers_accepted_total", "Resource offers accepted.", NULL, SLOT(offers_accepted)},
    {METRICS_COUNTER, "mcm_offers_declined_total", "Resource offers declined.", NULL, SLOT(offers_declined)},
    {METRICS_GAUGE, "mcm_tasks", "Tasks by Mesos task state.", "state", SLOT(tasks)},
    {METRICS_GAUGE, "mcm_desired_instances", "memcached instances wanted.", NULL, SLOT(desired)},
    {METRICS_COUNTER, "mcm_task_launches_total", "Tasks launched, relaunches included.", NULL, SLOT(launches)},
    {METRICS_COUNTER, "mcm_task_relaunches_total", "Launches that replace a lost or failed task.", NULL, SLOT(relaunches)},
    {METRICS_COUNTER, "mcm_status_updates_total", "Mesos task status updates, by task state.", "state", SLOT(status_updates)},
    {METRICS_COUNTER, "mcm_zk_session_events_total", "ZooKeeper session events, by event.", "event", SLOT(zk_events)},
    {METRICS_GAUGE, "mcm_zk_connected", "1 while the ZooKeeper session is connected.", NULL, SLOT(zk_connected)},
    {METRICS_GAUGE, "mcm_servers_version", "Version of the published server list.", NULL, SLOT(servers_version)},
    {METRICS_GAUGE, "mcm_servers", "Servers in the published server list.", NULL, SLOT(servers)},
    {METRICS_GAUGE, "mcm_memcached_bytes", "Memory used by memcached, bytes.", "task_id,server", SLOT(mc_bytes)},
    {METRICS_GAUGE, "mcm_memcached_limit_bytes", "memcached memory limit, bytes.", "task_id,server", SLOT(mc_limit)},
    {METRICS_GAUGE, "mcm_memcached_evictions", "Evictions since the memcached server started.", "task_id,server", SLOT(mc_evictions)},
    {METRICS_GAUGE, "mcm_memcached_hit_ratio", "get hits / (hits + misses), 0..1.", "task_id,server", SLOT(mc_hit_ratio)},
    {METRICS_GAUGE, "mcm_memcached_connections", "Open memcached connections.", "task_id,server", SLOT(mc_connections)},
    {METRICS_GAUGE, "mcm_ring_transition_phase", "1 for the phase of the ring transition under way (idle, copy, catchup, cleanup, abort), 0 for the others.", "phase", SLOT(trn_phase)},
    {METRICS_GAUGE, "mcm_ring_transition_keys_copied", "Keys copied by the ring transition under way.", NULL, SLOT(trn_keys_copied)},
    {METRICS_GAUGE, "mcm_ring_transition_bytes_copied", "Bytes copied by the ring transition under way.", NULL, SLOT(trn_bytes_copied)},
    {METRICS_GAUGE, "mcm_ring_transition_keys_left", "Keys the ring transition under way has still to copy.", NULL, SLOT(trn_keys_left)},
    {METRICS_GAUGE, "mcm_ring_transition_eta_seconds", "Estimated time to the end of the copy, -1 if unknown.", NULL, SLOT(trn_eta)},
    {METRICS_COUNTER, "mcm_executor_messages_total", "Framework messages sent to executors (ring transition commands).", NULL, SLOT(exec_messages)},
    {METRICS_COUNTER, "mcm_executor_message_bytes_total", "Payload bytes of the framework messages sent to executors.", NULL, SLOT(exec_message_bytes)},
};

int metrics_mcm_register(metrics *m, metrics_mcm *out) {
    for (size_t i = 0; i < MCM_ARRAY_LEN(families); i++) {
        const struct fam *d = &families[i];
        metrics_family *f = metrics_family_add(m, d->type, d->name, d->help, d->labels);
        if (!f) return MCM_ERR;
        *(metrics_family **)((char *)out + d->slot) = f;
    }
    metrics_set(out->build_info, METRICS_L(MCM_VERSION), 1);
    metrics_set(out->start_time, NULL, (double)(util_wall_ms() / 1000));
    return MCM_OK;
}

/* Replaces one family from figs, picking the figure at byte offset `off`. */
static int replace_one(metrics_family *f, const metrics_mc_figures *figs, size_t n,
                       size_t off, const char **lv, double *v) {
    for (size_t i = 0; i < n; i++) {
        lv[2 * i] = figs[i].task_id;
        lv[2 * i + 1] = figs[i].server;
        v[i] = *(const double *)((const char *)&figs[i] + off);
    }
    return metrics_replace(f, n, lv, v);
}

int metrics_mcm_set_memcached(const metrics_mcm *mm, const metrics_mc_figures *figs, size_t n) {
    if (n > METRICS_MAX_SERIES) return MCM_ERR;
    const char **lv = calloc(2 * n + 1, sizeof(*lv));
    double *v = calloc(n + 1, sizeof(*v));
    int rc = lv && v ? MCM_OK : MCM_ERR;
    if (rc == MCM_OK) {
        rc |= replace_one(mm->mc_bytes, figs, n, offsetof(metrics_mc_figures, bytes), lv, v);
        rc |= replace_one(mm->mc_limit, figs, n, offsetof(metrics_mc_figures, limit_bytes), lv, v);
        rc |= replace_one(mm->mc_evictions, figs, n, offsetof(metrics_mc_figures, evictions), lv, v);
        rc |= replace_one(mm->mc_hit_ratio, figs, n, offsetof(metrics_mc_figures, hit_ratio), lv, v);
        rc |= replace_one(mm->mc_connections, figs, n, offsetof(metrics_mc_figures, connections), lv, v);
    }
    free(lv);
    free(v);
    return rc ? MCM_ERR : MCM_OK;
}
