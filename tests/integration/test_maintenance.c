/* test_maintenance.c -- Mesos maintenance and agent drains end to end (issue
 * 18): real ZooKeeper, mcm-sim (its maintenance schedule and DRAIN_AGENT,
 * src/sim/sim_maint.c, sim_drain.c), three mcm-scheduler replicas, the real
 * mcm-executor and memcached.
 *
 * One installation (5 agents, 3 servers), in order:
 *   1. a window beyond --maintenance-horizon (2 h away, horizon 1 h) on the
 *      agent of one server: nothing changes for a few seconds (same list, no
 *      inverse offer accepted);
 *   2. the window moved to 10 minutes from now: that server is replaced
 *      before the window starts (warm: the replacement runs and is published
 *      before the old one leaves), then the inverse offer is accepted, and
 *      the agent gets no server; all along, the published list (polled every
 *      50 ms on a follower's /v1/servers) never has fewer than 3 servers;
 *   3. an operator drain (DRAIN_AGENT) of another server's agent: the master
 *      kills it (REASON_AGENT_DRAINING), the leader logs it as a planned
 *      loss, and a replacement is placed at once on a third agent.
 * A second installation has its leader SIGKILLed while the replacement for a
 * window runs: the new leader (the master sends it the inverse offer again)
 * finishes the replacement and accepts, still never fewer than 3 published.
 * Every wait is bounded; every failure names the log directory. */
#include "cluster.h"
#include "harness.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#define N 3
#define MIN_NS (60LL * 1000000000LL)
#define WAIT_MS 120000

static it_cluster *c;
static int leader, follower;
static int min_seen = 1000;           /* fewest servers the follower ever listed */

static int64_t wall_ms(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* One look at the follower's list; min_seen follows it. */
static int poll_servers(void) {
    json_t *doc = it_get_json(it_replica_port(c, follower), "/v1/servers");
    int n = doc ? (int)json_array_size(json_object_get(doc, "servers")) : -1;
    json_decref(doc);
    if (n >= 0 && n < min_seen) min_seen = n;
    return n;
}

/* Polls the list for ms milliseconds. */
static void watch_for(int ms) {
    for (int t = 0; t < ms; t += 50) {
        poll_servers();
        usleep(50000);
    }
}

static int agent_index(const char *agent_id) {
    const char *p = strrchr(agent_id, 'S');
    return p ? atoi(p + 1) : -1;
}

/* Agent index of task id in the sim's state, -1 if the sim does not run it. */
static int agent_of_task(json_t *state, const char *id) {
    json_t *tasks = json_object_get(state, "tasks");
    for (size_t i = 0; i < json_array_size(tasks); i++) {
        json_t *t = json_array_get(tasks, i);
        if (!strcmp(json_string_value(json_object_get(t, "id")), id))
            return agent_index(json_string_value(json_object_get(t, "agent_id")));
    }
    return -1;
}

/* Live (not terminal) tasks in the sim, all agents. */
static int live_tasks(json_t *state) {
    int n = 0;
    json_t *tasks = json_object_get(state, "tasks");
    for (size_t i = 0; i < json_array_size(tasks); i++) {
        const char *st = json_string_value(json_object_get(json_array_get(tasks, i), "state"));
        n += strcmp(st, "TASK_KILLED") && strcmp(st, "TASK_FINISHED") && strcmp(st, "TASK_FAILED") &&
             strcmp(st, "TASK_GONE_BY_OPERATOR");
    }
    return n;
}

/* Live (not terminal) tasks on agent ag. */
static int tasks_on(json_t *state, int ag) {
    json_t *tasks = json_object_get(state, "tasks");
    int n = 0;
    for (size_t i = 0; i < json_array_size(tasks); i++) {
        json_t *t = json_array_get(tasks, i);
        const char *st = json_string_value(json_object_get(t, "state"));
        n += agent_index(json_string_value(json_object_get(t, "agent_id"))) == ag && strcmp(st, "TASK_KILLED") &&
             strcmp(st, "TASK_FINISHED") && strcmp(st, "TASK_FAILED") && strcmp(st, "TASK_GONE_BY_OPERATOR");
    }
    return n;
}

static int accepted_for(json_t *state, int ag) {
    json_t *ans = json_object_get(json_object_get(state, "maintenance"), "inverse_offer_answers");
    for (size_t i = 0; i < json_array_size(ans); i++) {
        json_t *a = json_array_get(ans, i);
        if (agent_index(json_string_value(json_object_get(a, "agent_id"))) == ag &&
            !strcmp(json_string_value(json_object_get(a, "answer")), "ACCEPT"))
            return 1;
    }
    return 0;
}

/* The task IDs of the published list, and the agents they run on (sim state). */
static void published(char ids[N][256], int agents[N]) {
    json_t *doc = it_wait_servers(c, follower, N, WAIT_MS);
    ck_assert_msg(doc != NULL, "no list of %d servers (logs in %s)", N, it_dir(c));
    json_t *state = it_get_json(it_sim_port(c), "/sim/state");
    json_t *srv = json_object_get(doc, "servers");
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], 256, "%s", json_string_value(json_object_get(json_array_get(srv, i), "task_id")));
        agents[i] = agent_of_task(state, ids[i]);
        ck_assert_msg(agents[i] >= 0, "published %s is not run by the master (logs in %s)", ids[i], it_dir(c));
    }
    json_decref(state);
    json_decref(doc);
}

static void schedule(int ag, int64_t start_ms, int64_t dur_ms) {
    char body[512];
    snprintf(body, sizeof(body),
             "{\"windows\":[{\"machine_ids\":[{\"agent\":\"%d\"}],\"unavailability\":{\"start\":{\"nanoseconds\":%lld}"
             ",\"duration\":{\"nanoseconds\":%lld}}}]}",
             ag, (long long)start_ms * 1000000LL, (long long)dur_ms * 1000000LL);
    ck_assert_int_eq(it_post(it_sim_port(c), "/sim/maintenance", body, NULL), 200);
}

static int leader_log_has(const char *text) {
    char path[1024];
    snprintf(path, sizeof(path), "%s/scheduler-%d.log", it_dir(c), leader);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[4096];
    int hit = 0;
    while (!hit && fgets(line, sizeof(line), f)) hit = strstr(line, text) != NULL;
    fclose(f);
    return hit;
}

START_TEST(test_maintenance_window_replaces_before_and_drain_replaces_at_once) {
    it_opts o = {.agents = 5, .instances = N,
                 .extra = {"--drain-time", "2s", "--migrate-rate", "0", "--no-autoscale", "--refuse-time", "2s",
                           "--maintenance-horizon", "1h", NULL}};
    c = it_start(&o);
    leader = it_wait_leader(c, 60000, -1);
    ck_assert_msg(leader >= 0, "no leader (logs in %s)", it_dir(c));
    follower = (leader + 1) % 3;
    char ids[N][256];
    int agents[N];
    published(ids, agents);
    int victim = agents[0];
    char victim_id[256];
    snprintf(victim_id, sizeof(victim_id), "%s", ids[0]);

    /* 1. beyond the horizon: nothing happens */
    schedule(victim, wall_ms() + 120 * 60 * 1000, 60 * 60 * 1000);
    watch_for(4000);
    json_t *state = it_get_json(it_sim_port(c), "/sim/state");
    ck_assert_msg(!accepted_for(state, victim) && tasks_on(state, victim) == 1,
                  "a window 2 h away (horizon 1 h) already moved the server (logs in %s)", it_dir(c));
    json_decref(state);
    ck_assert_int_eq(min_seen, N);

    /* 2. within the horizon: replaced before the window, then accepted */
    int64_t scheduled_ms = wall_ms(), window_ms = scheduled_ms + 10 * 60 * 1000;
    schedule(victim, window_ms, 60 * 60 * 1000);
    int done = 0;
    int64_t deadline = wall_ms() + WAIT_MS;
    while (!done && wall_ms() < deadline) {
        watch_for(500);
        state = it_get_json(it_sim_port(c), "/sim/state");
        if (accepted_for(state, victim)) {
            ck_assert_msg(tasks_on(state, victim) == 0, "inverse offer accepted while mcm still runs on agent %d",
                          victim);
            done = 1;
        }
        json_decref(state);
    }
    ck_assert_msg(done, "the inverse offer for agent %d was not accepted in %d s (logs in %s)", victim,
                  WAIT_MS / 1000, it_dir(c));
    ck_assert_msg(wall_ms() < window_ms, "replaced only after the window began");
    fprintf(stderr, "test_maintenance: window scheduled -> server replaced and inverse offer accepted in %lld ms, "
                    "fewest servers listed %d\n", (long long)(wall_ms() - scheduled_ms), min_seen);
    ck_assert_msg(min_seen >= N, "the published list had %d servers during the replacement (logs in %s)", min_seen,
                  it_dir(c));
    published(ids, agents);
    for (int i = 0; i < N; i++) {
        ck_assert_msg(agents[i] != victim, "a server is still on the agent under maintenance (logs in %s)", it_dir(c));
        ck_assert_str_ne(ids[i], victim_id);
    }
    watch_for(3000);   /* no new server goes back there while it stays scheduled */
    state = it_get_json(it_sim_port(c), "/sim/state");
    ck_assert_int_eq(tasks_on(state, victim), 0);
    json_decref(state);
    ck_assert_int_eq(min_seen, N);

    /* 3. an operator drain: a planned loss, replaced at once elsewhere */
    int drained = agents[0];
    char drained_id[256], path[128];
    snprintf(drained_id, sizeof(drained_id), "%s", ids[0]);
    snprintf(path, sizeof(path), "/sim/agent/drain?agent=%d&max_grace=2s", drained);
    int64_t t0 = wall_ms();
    ck_assert_int_eq(it_post(it_sim_port(c), path, NULL, NULL), 200);
    int replaced = 0;
    while (!replaced && wall_ms() - t0 < 60000) {
        usleep(100000);
        json_t *doc = it_get_json(it_replica_port(c, follower), "/v1/servers");
        json_t *srv = json_object_get(doc, "servers");
        state = it_get_json(it_sim_port(c), "/sim/state");
        int fresh = 0, gone = 1;
        for (size_t i = 0; i < json_array_size(srv); i++) {
            const char *id = json_string_value(json_object_get(json_array_get(srv, i), "task_id"));
            int ag = agent_of_task(state, id);
            gone &= strcmp(id, drained_id) != 0;
            fresh += ag >= 0 && ag != drained && ag != victim;
        }
        replaced = gone && fresh == N && json_array_size(srv) == N;
        json_decref(state);
        json_decref(doc);
    }
    int64_t took = wall_ms() - t0;
    ck_assert_msg(replaced, "no replacement for the drained server within 60 s (logs in %s)", it_dir(c));
    fprintf(stderr, "test_maintenance: drained server replaced and published in %lld ms\n", (long long)took);
    ck_assert_msg(took < 30000, "the drained server took %lld ms to replace (logs in %s)", (long long)took, it_dir(c));
    ck_assert_msg(leader_log_has("drained by the operator: a planned loss"),
                  "the leader did not see REASON_AGENT_DRAINING (logs in %s)", it_dir(c));
    it_stop(c);
    c = NULL;
}
END_TEST

/* Waits (polling the list) until the inverse offer for ag is accepted; 1 if it was. */
static int await_accept(int ag, int timeout_ms) {
    int64_t deadline = wall_ms() + timeout_ms;
    while (wall_ms() < deadline) {
        watch_for(500);
        json_t *state = it_get_json(it_sim_port(c), "/sim/state");
        int done = state && accepted_for(state, ag);
        if (done) ck_assert_msg(tasks_on(state, ag) == 0, "inverse offer accepted while mcm still runs on agent %d", ag);
        json_decref(state);
        if (done) return 1;
    }
    return 0;
}

START_TEST(test_maintenance_leader_killed_during_the_replacement) {
    it_opts o = {.agents = 5, .instances = N,
                 .extra = {"--drain-time", "2s", "--migrate-rate", "0", "--no-autoscale", "--refuse-time", "2s", NULL}};
    c = it_start(&o);
    leader = it_wait_leader(c, 60000, -1);
    ck_assert_msg(leader >= 0, "no leader (logs in %s)", it_dir(c));
    follower = (leader + 1) % 3;
    char ids[N][256];
    int agents[N];
    published(ids, agents);
    int victim = agents[0];
    schedule(victim, wall_ms() + 10 * 60 * 1000, 60 * 60 * 1000);
    int launched = 0;
    for (int t = 0; !launched && t < 30000; t += 50) {   /* the replacement exists: kill the leader now */
        json_t *state = it_get_json(it_sim_port(c), "/sim/state");
        launched = state && live_tasks(state) > N;
        json_decref(state);
        poll_servers();
        usleep(50000);
    }
    ck_assert_msg(launched, "no replacement launched for the window (logs in %s)", it_dir(c));
    it_replica_signal(c, leader, SIGKILL);
    int next = -1;
    for (int t = 0; next < 0 && t < 60000; t += 500) {
        watch_for(500);
        next = it_leader(c);
        if (next == leader) next = -1;
    }
    ck_assert_msg(next >= 0, "no new leader (logs in %s)", it_dir(c));
    ck_assert_msg(await_accept(victim, WAIT_MS), "the new leader did not accept the inverse offer (logs in %s)",
                  it_dir(c));
    ck_assert_msg(min_seen >= N, "the published list had %d servers across the failover (logs in %s)", min_seen,
                  it_dir(c));
    published(ids, agents);
    for (int i = 0; i < N; i++)
        ck_assert_msg(agents[i] != victim, "a server is still on the agent under maintenance (logs in %s)", it_dir(c));
    it_stop(c);
    c = NULL;
}
END_TEST

int main(void) {
    Suite *s = suite_create("maintenance");
    TCase *tc = tcase_create("maintenance");
    tcase_set_timeout(tc, 400);
    tcase_add_test(tc, test_maintenance_window_replaces_before_and_drain_replaces_at_once);
    tcase_add_test(tc, test_maintenance_leader_killed_during_the_replacement);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
