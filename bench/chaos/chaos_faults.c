/* chaos_faults.c -- the faults of the chaos soak: aim, begin, end.
 *
 * What: one row per fault kind (name, whether it leaves the servers alone,
 * whether it signals the leader's process) and the three steps of a fault:
 * aim (pick the leader, a random server or its agent, with the run's seeded
 * generator), begin (inject), end (undo: SIGCONT, restart the killed
 * replica, ZooKeeper back, heartbeats or the stream released, the agent up).
 * Why this shape: a cycle may hold two faults at once, so every fault is
 * begun before either ends; the hold between is per fault (random where the
 * issue asks for "short and past the session").
 * Thread: the benchmark's main thread.
 * Invariants: every begun fault is ended (a stopped replica always gets
 * SIGCONT, a downed agent always comes back, silence always released), so a
 * failed check never leaves the installation broken for the next cycle. */
#include "chaos.h"

#include "common.h"
#include "harness.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EXIT_WAIT_MS 20000            /* a SIGTERMed sanitizer build writes its reports first */
#define STOP_SHORT_MS 500
#define STOP_PAST_SESSION_MS (CH_SESSION_MS + 1500)
#define ZK_DOWN_MIN_MS 500
#define ZK_DOWN_MAX_MS 3000
#define HEARTBEAT_OFF_MS 4000
/* Past the scheduler's deadline (misses x interval) by half of it. */
#define SILENCE_MS (CH_HEARTBEAT_MISSES * CH_HEARTBEAT_S * 1000 * 3 / 2)
#define AGENT_DOWN_MS 2000
#define SCALE_RETRY_MS 30000
#define LEADER_WAIT_MS 30000

static const struct {
    ch_kind kind;
    const char *name;
    int leader_only, leader_process;
} kinds[] = {
    {F_LEADER_KILL, "leader_kill", 1, 1},
    {F_LEADER_TERM, "leader_term", 1, 1},
    {F_LEADER_STOP_SHORT, "leader_stop_short", 1, 1},
    {F_LEADER_STOP_LONG, "leader_stop_long", 1, 1},
    {F_ZK_RESTART, "zk_restart", 1, 0},
    {F_MEMCACHED_KILL, "memcached_kill", 0, 0},
    {F_EXECUTOR_KILL, "executor_kill", 0, 0},
    {F_STREAM_DROP, "stream_drop", 1, 0},
    {F_HEARTBEAT_LOSS, "heartbeat_loss", 1, 0},
    {F_STREAM_SILENCE, "stream_silence", 1, 0},
    {F_AGENT_DOWN_UP, "agent_down_up", 0, 0},
    {F_SCALE, "scale", 0, 0},
};
_Static_assert(sizeof(kinds) / sizeof(kinds[0]) == F_NKINDS, "one row per fault kind");

static int row(ch_kind k) {
    for (int i = 0; i < F_NKINDS; i++)
        if (kinds[i].kind == k) return i;
    return 0;
}

const char *ch_kind_name(ch_kind k) { return kinds[row(k)].name; }
int ch_kind_leader_only(ch_kind k) { return kinds[row(k)].leader_only; }
int ch_kind_leader_process(ch_kind k) { return kinds[row(k)].leader_process; }

static int rnd(chaos *ch, int n) { return n > 0 ? (int)(rand_r(&ch->seed) % (unsigned)n) : 0; }

static void sim_post(chaos *ch, const char *path) {
    long code = it_post(it_sim_port(ch->c), path, NULL, NULL);
    if (code != 200) fprintf(stderr, "chaos: POST %s answered %ld\n", path, code);
}

/* The agent index of an agent ID at the simulator, -1 if unknown. */
static int agent_index(chaos *ch, const char *agent_id) {
    json_t *st = ch_sim_state(ch);
    json_t *agents = st ? json_object_get(st, "agents") : NULL;
    int idx = -1;
    for (size_t i = 0; i < json_array_size(agents) && idx < 0; i++) {
        json_t *a = json_array_get(agents, i);
        if (strcmp(ch_jstr(a, "id"), agent_id) == 0)
            idx = (int)json_integer_value(json_object_get(a, "index"));
    }
    json_decref(st);
    return idx;
}

int ch_fault_aim(chaos *ch, ch_fault *f, const ch_snap *before) {
    f->replica = -1;
    f->task[0] = f->agent_id[0] = 0;
    f->agent_idx = -1;
    f->hold_ms = 0;
    if (ch_kind_leader_process(f->kind)) {
        f->replica = it_wait_leader(ch->c, LEADER_WAIT_MS, -1);
        if (f->replica < 0) return 0;
    }
    if (f->kind == F_MEMCACHED_KILL || f->kind == F_EXECUTOR_KILL || f->kind == F_AGENT_DOWN_UP) {
        if (before->n == 0) return 0;
        const ch_srv *s = &before->s[rnd(ch, before->n)];
        snprintf(f->task, sizeof(f->task), "%s", s->task);
        snprintf(f->agent_id, sizeof(f->agent_id), "%s", s->agent);
        if (f->kind == F_AGENT_DOWN_UP && (f->agent_idx = agent_index(ch, s->agent)) < 0) return 0;
    }
    switch (f->kind) {
    case F_LEADER_STOP_SHORT: f->hold_ms = STOP_SHORT_MS; break;
    case F_LEADER_STOP_LONG: f->hold_ms = STOP_PAST_SESSION_MS; break;
    case F_ZK_RESTART: f->hold_ms = ZK_DOWN_MIN_MS + rnd(ch, ZK_DOWN_MAX_MS - ZK_DOWN_MIN_MS); break;
    case F_HEARTBEAT_LOSS: f->hold_ms = HEARTBEAT_OFF_MS; break;
    case F_STREAM_SILENCE: f->hold_ms = SILENCE_MS; break;
    case F_AGENT_DOWN_UP: f->hold_ms = AGENT_DOWN_MS; break;
    default: break;
    }
    return 1;
}

/* The executor of a task (simulator state) into fw/ex; 0 if not found. */
static int executor_of(chaos *ch, const char *task, char *ex, size_t len) {
    json_t *st = ch_sim_state(ch);
    json_t *tasks = st ? json_object_get(st, "tasks") : NULL;
    int found = 0;
    for (size_t i = 0; i < json_array_size(tasks) && !found; i++) {
        json_t *t = json_array_get(tasks, i);
        if (strcmp(ch_jstr(t, "id"), task) != 0) continue;
        snprintf(ex, len, "%s", ch_jstr(t, "executor_id"));
        found = ex[0] != 0;
    }
    json_decref(st);
    return found;
}

static void kill_memcached(chaos *ch, ch_fault *f) {
    ch_snap now;
    if (!ch_snapshot(ch, &now)) return;
    for (int i = 0; i < now.n; i++)
        if (strcmp(now.s[i].task, f->task) == 0 && now.s[i].pid > 0) kill(now.s[i].pid, SIGKILL);
}

static void kill_executor(chaos *ch, ch_fault *f) {
    char ex[200], path[600];
    if (!executor_of(ch, f->task, ex, sizeof(ex))) return;
    snprintf(path, sizeof(path), "/sim/kill-executor?framework=%s&executor=%s", ch->fw, ex);
    sim_post(ch, path);
}

/* POST /v1/scale to whoever leads, until one answers 2xx (bounded). */
static void scale(chaos *ch, ch_fault *f) {
    int to = ch->desired == CH_BASE_SERVERS ? CH_BASE_SERVERS + 1 : CH_BASE_SERVERS;
    char body[64];
    snprintf(body, sizeof(body), "{\"instances\":%d}", to);
    f->scale_to = 0;
    for (int64_t t0 = ch_mono_ms(); ch_mono_ms() - t0 < SCALE_RETRY_MS;) {
        int l = it_wait_leader(ch->c, LEADER_WAIT_MS, -1);
        long code = l >= 0 ? it_post(it_replica_port(ch->c, l), "/v1/scale", body, NULL) : 0;
        if (code >= 200 && code < 300) {
            f->scale_to = ch->desired = to;
            return;
        }
        ch_sleep_ms(200);
    }
}

void ch_fault_begin(chaos *ch, ch_fault *f) {
    char path[300];
    f->wall_begin = ch_wall_ms();
    switch (f->kind) {
    case F_LEADER_KILL: it_replica_signal(ch->c, f->replica, SIGKILL); break;
    case F_LEADER_TERM: it_replica_signal(ch->c, f->replica, SIGTERM); break;
    case F_LEADER_STOP_SHORT:
    case F_LEADER_STOP_LONG: it_replica_signal(ch->c, f->replica, SIGSTOP); break;
    case F_ZK_RESTART: it_zk_stop(ch->c); break;
    case F_MEMCACHED_KILL: kill_memcached(ch, f); break;
    case F_EXECUTOR_KILL: kill_executor(ch, f); break;
    case F_STREAM_DROP: sim_post(ch, "/sim/drop-stream"); break;
    case F_HEARTBEAT_LOSS: sim_post(ch, "/sim/heartbeats?enabled=0"); break;
    case F_STREAM_SILENCE: sim_post(ch, "/sim/silence?enabled=1"); break;
    case F_AGENT_DOWN_UP:
        snprintf(path, sizeof(path), "/sim/agent/down?agent=%d", f->agent_idx);
        sim_post(ch, path);
        break;
    case F_SCALE: scale(ch, f); break;
    default: break;
    }
}

static void restart_replica(chaos *ch, int i) {
    if (!it_replica_wait_exit(ch->c, i, EXIT_WAIT_MS)) {
        fprintf(stderr, "chaos: replica %d did not exit; SIGKILL\n", i);
        it_replica_signal(ch->c, i, SIGKILL);
        it_replica_wait_exit(ch->c, i, EXIT_WAIT_MS);
    }
    it_replica_restart(ch->c, i);
}

void ch_fault_end(chaos *ch, ch_fault *f) {
    char path[300];
    switch (f->kind) {
    case F_LEADER_KILL:
    case F_LEADER_TERM: restart_replica(ch, f->replica); break;
    case F_LEADER_STOP_SHORT:
    case F_LEADER_STOP_LONG: it_replica_signal(ch->c, f->replica, SIGCONT); break;
    case F_ZK_RESTART: it_zk_restart(ch->c); break;
    case F_HEARTBEAT_LOSS: sim_post(ch, "/sim/heartbeats?enabled=1"); break;
    case F_STREAM_SILENCE: sim_post(ch, "/sim/silence?enabled=0"); break;
    case F_AGENT_DOWN_UP:
        snprintf(path, sizeof(path), "/sim/agent/up?agent=%d", f->agent_idx);
        sim_post(ch, path);
        break;
    default: break;
    }
    f->wall_end = ch_wall_ms();
}
