/* scale_tasks.c -- a new leader's start with 10,000 task records stored.
 *
 * What: tops <root>/state/tasks up to o->tasks records, then stops the
 * leader (SIGTERM: it resigns; SIGKILL: its session must expire) and reads,
 * from the replica that takes over, its own wall-clock milestones of the new
 * term (/v1/status "term": subscribed_ms, reconciled_ms), minus the moment
 * of the signal: the time to load the state, subscribe, reconcile every
 * stored task and lead. Signalled at once after planting, no follower has
 * read the records yet (cold); warm, once every follower's /v1/status says
 * its copy holds them all (and SCALE_SETTLE_MS more), so the new term starts
 * from that copy (state_load_warm), brought up to date from the task log.
 * The N live servers' records are mcm's own; the others are planted: finished tasks (TASK_FINISHED, TASK_KILLED,
 * TASK_FAILED in turn) on the installation's agents, encoded by src/state's
 * own encoder (state_task_to_json), so they are byte for byte what a leader
 * writes. A leader deletes the record of a task that ended, so after a
 * takeover fewer remain ("left"); the next run plants them again.
 *
 * Why plant finished tasks: a long-lived installation's history is
 * replacements, restarts and scale-downs whose records a leader may still
 * hold when it dies; N running servers alone would not show how loading and
 * reconciling grow with the stored set.
 *
 * Threads: the main thread; ZooKeeper completions only count (atomic). */
#include "scale.h"

#include "mcm.h"
#include "state.h"
#include "util.h"

#include <check.h>
#include <mesos/v1/mesos.pb-c.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zookeeper/zookeeper.h>

static _Atomic int done, failed;

static void on_created(int rc, const char *value, const void *data) {
    (void)value, (void)data;
    if (rc != ZOK && rc != ZNODEEXISTS) atomic_fetch_add(&failed, 1);
    atomic_fetch_add(&done, 1);
}

static zhandle_t *connect_zk(const scale_inst *s) {
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    zhandle_t *zh = zookeeper_init(scale_zk_hosts(s), NULL, 10000, NULL, NULL, 0);
    ck_assert(zh != NULL);
    for (int t = 0; t < 10000 && zoo_state(zh) != ZOO_CONNECTED_STATE; t += 10) usleep(10000);
    ck_assert_msg(zoo_state(zh) == ZOO_CONNECTED_STATE, "cannot connect to ZooKeeper");
    return zh;
}

static int count_tasks(zhandle_t *zh, const char *dir) {
    struct String_vector v = {0};
    int n = zoo_get_children(zh, dir, 0, &v) == ZOK ? v.count : -1;
    deallocate_String_vector(&v);
    return n;
}

/* The agent ID prefix ("<master id>-S") and host of a stored live record. */
static void sample_record(zhandle_t *zh, const char *dir, char *prefix, size_t plen, char *host, size_t hlen) {
    struct String_vector v = {0};
    ck_assert(zoo_get_children(zh, dir, 0, &v) == ZOK && v.count > 0);
    char path[512], b[4096], err[128];
    snprintf(path, sizeof(path), "%s/%s", dir, v.data[0]);
    deallocate_String_vector(&v);
    int len = sizeof(b) - 1;
    ck_assert(zoo_get(zh, path, 0, b, &len, NULL) == ZOK && len > 0);
    state_task t;
    ck_assert_msg(state_task_from_json(b, (size_t)len, &t, err, sizeof(err)) == MCM_OK, "%s: %s", path, err);
    char *s = strstr(t.agent_id, "-S");
    ck_assert_msg(s != NULL, "agent id %s has no -S", t.agent_id);
    snprintf(prefix, plen, "%.*s", (int)(s + 2 - t.agent_id), t.agent_id);
    snprintf(host, hlen, "%s", t.hostname);
}

static void plant(zhandle_t *zh, const char *dir, int want, int agents) {
    int have = count_tasks(zh, dir);
    ck_assert(have >= 0);
    char prefix[STATE_ID_MAX], host[STATE_HOST_MAX];
    sample_record(zh, dir, prefix, sizeof(prefix), host, sizeof(host));
    static const int ended[] = {MESOS__V1__TASK_STATE__TASK_FINISHED, MESOS__V1__TASK_STATE__TASK_KILLED,
                                MESOS__V1__TASK_STATE__TASK_FAILED};
    atomic_store(&done, 0);
    atomic_store(&failed, 0);
    int n = want - have;
    for (int i = 0; i < n; i++) {
        state_task t = {.port = 20000 + i % 10000, .state = ended[i % 3], .cpus = 0.1, .mem_mb = 32};
        uint8_t u[16];
        char us[37], path[512];
        util_uuid4(u);
        util_uuid_str(u, us);
        snprintf(t.id, sizeof(t.id), "mcm-%s", us);
        if (snprintf(t.agent_id, sizeof(t.agent_id), "%.160s%d", prefix, i % agents) < 0) t.agent_id[0] = 0;
        snprintf(t.hostname, sizeof(t.hostname), "%s", host);
        snprintf(t.reason, sizeof(t.reason), "planted by bench_scale");
        t.changed_ms = util_wall_ms() - 3600000;
        char *json = state_task_to_json(&t);
        ck_assert(json != NULL);
        snprintf(path, sizeof(path), "%s/%s", dir, t.id);
        ck_assert(zoo_acreate(zh, path, json, (int)strlen(json), &ZOO_OPEN_ACL_UNSAFE, 0, on_created, NULL) == ZOK);
        free(json);
        while (i - atomic_load(&done) > 500) usleep(1000);   /* at most 500 in flight */
    }
    while (atomic_load(&done) < n) usleep(1000);
    ck_assert_msg(atomic_load(&failed) == 0, "%d of %d records could not be written", atomic_load(&failed), n);
}

/* The milestones of replica i's current term, wall clock ms (0: not yet). */
static void term_of(scale_inst *s, int i, int64_t *sub, int64_t *rec) {
    json_t *j = scale_get_json(scale_port(s, i), "/v1/status");
    json_t *t = j ? json_object_get(j, "term") : NULL;
    *sub = t ? (int64_t)json_integer_value(json_object_get(t, "subscribed_ms")) : 0;
    *rec = t ? (int64_t)json_integer_value(json_object_get(t, "reconciled_ms")) : 0;
    json_decref(j);
}

/* Records in replica i's follower copy (/v1/status "copy"); -1: not a follower. */
static int copy_records(scale_inst *s, int i) {
    json_t *j = scale_get_json(scale_port(s, i), "/v1/status");
    json_t *c = j ? json_object_get(j, "copy") : NULL;
    int n = c ? (int)json_integer_value(json_object_get(c, "records")) : -1;
    json_decref(j);
    return n;
}

/* Until every follower's copy holds `stored` records: the ms it took, -1 past the wait. */
static int64_t wait_copies(scale_inst *s, int leader, int stored) {
    int64_t m0 = scale_mono_ms();
    while (scale_mono_ms() - m0 < SCALE_COPIES_WAIT_MS) {
        int all = 1;
        for (int i = 0; i < SCALE_REPLICAS && all; i++)
            if (i != leader && scale_alive(s, i) && copy_records(s, i) != stored) all = 0;
        if (all) return scale_mono_ms() - m0;
        usleep(200000);
    }
    return -1;
}

void scale_failover(scale_inst *s, const scale_opts *o, int sig, int warm, scale_failover_figures *f) {
    char dir[256];
    snprintf(dir, sizeof(dir), "%s/state/tasks", scale_zk_root(s));
    zhandle_t *zh = connect_zk(s);
    plant(zh, dir, o->tasks, o->n);
    f->stored = count_tasks(zh, dir);
    int old = scale_wait_leader(s, 60000, -1);
    ck_assert_msg(old >= 0, "no leader before the failover");
    f->copies_ms = 0;
    if (warm) {
        f->copies_ms = wait_copies(s, old, f->stored);
        usleep(SCALE_SETTLE_MS * 1000);
    }
    int64_t t0 = scale_wall_ms(), m0 = scale_mono_ms();
    scale_signal(s, old, sig);
    f->subscribed_ms = f->reconciled_ms = -1;
    while (scale_mono_ms() - m0 < o->session_ms + 180000 && f->reconciled_ms < 0)
        for (int i = 0; i < SCALE_REPLICAS && f->reconciled_ms < 0; i++) {
            int64_t sub, rec;
            if (i == old || !scale_alive(s, i)) continue;
            term_of(s, i, &sub, &rec);
            if (sub >= t0 && rec >= t0) f->subscribed_ms = sub - t0, f->reconciled_ms = rec - t0;
            usleep(10000);
        }
    ck_assert_msg(f->reconciled_ms >= 0, "no replica led within %d ms of the signal", o->session_ms + 180000);
    f->left = count_tasks(zh, dir);
    zookeeper_close(zh);
    scale_restart(s, old);   /* three replicas again for the next run, as under Marathon */
}
