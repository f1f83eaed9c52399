/* test_failover.c -- numbered failover scenarios, end to end (real
 * ZooKeeper, mcm-sim, three mcm-scheduler replicas, real memcached).
 *
 * In each: the framework ID never changes, no memcached server is restarted
 * by the failover (a key stored before is still there after), and the
 * published server list is unchanged.
 *   1. the leader is killed with SIGKILL (takeover after the session timeout)
 *   2. the leader gets SIGTERM (it resigns: takeover well within the timeout)
 *   3. the leader is paused with SIGSTOP for longer than the session timeout,
 *      then resumed: it must not act again (the simulator's call log shows no
 *      call with its stream after the new leader subscribed, and no later
 *      SUBSCRIBE), neither its /v1/status says "leading" nor its /metrics
 *      mcm_is_leader 1 from the moment it resumes (its HTTP threads run
 *      before its core has noticed), and it rejoins as a follower.
 *   4. ZooKeeper is down for twice the session timeout: every replica stops
 *      acting, memcached keeps serving, and when ZooKeeper is back one
 *      replica leads the same framework with the same servers.
 *   5. the master drops the leader's stream: the leader re-subscribes with the
 *      same framework ID, reconciles, and nothing changes.
 *   6. the leader dies while a server drains after a scale-down: the new leader
 *      continues that drain; the server never comes back into the list.
 *   7. the master answers every call 3 s late, with a 4 s session timeout
 *      (the pause detector's limit is 2 s): the leader keeps leading, and an
 *      operator restart's KILL and the replacement's LAUNCH complete. */
#include "cluster.h"
#include "common.h"
#include "harness.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define UP_MS 90000
#define SESSION_MS 4000

typedef struct before {
    it_cluster *c;
    int leader;
    char fw[256];
    char *servers;
    json_t *doc;
} before;

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* extra: one more scheduler flag, or NULL. */
static void setup_with(before *b, const char *extra) {
    it_opts o = {.instances = 3, .session_timeout_ms = SESSION_MS, .extra = {extra, NULL}};
    b->c = it_start(&o);
    b->doc = it_wait_servers(b->c, 0, 3, UP_MS);
    ck_assert_msg(b->doc != NULL, "servers never published (logs in %s)", it_dir(b->c));
    b->leader = it_wait_leader(b->c, 10000, -1);
    ck_assert_int_ge(b->leader, 0);
    it_status_str(it_replica_port(b->c, b->leader), "framework_id", b->fw, sizeof(b->fw));
    ck_assert(b->fw[0]);
    b->servers = it_servers_key(b->doc);
    it_set_all(b->doc, "failover-key", "kept");
}

static void setup(before *b) { setup_with(b, NULL); }

/* Waits for a new leader, then checks framework ID, list and kept keys. */
static int64_t check_takeover(before *b, int64_t t0) {
    int nl = it_wait_leader(b->c, 60000, b->leader);
    int64_t took = mono_ms() - t0;
    ck_assert_msg(nl >= 0, "no new leader (logs in %s)", it_dir(b->c));
    fprintf(stderr, "new leader: replica %d after %lld ms\n", nl, (long long)took);
    char fw[256];
    it_status_str(it_replica_port(b->c, nl), "framework_id", fw, sizeof(fw));
    ck_assert_str_eq(fw, b->fw);
    json_t *d = it_wait_servers(b->c, nl, 3, 20000);
    ck_assert(d != NULL);
    char *k = it_servers_key(d);
    ck_assert_str_eq(k, b->servers);
    ck_assert_int_eq(it_count_with(d, "failover-key", "kept"), 3);   /* nothing restarted */
    free(k);
    json_decref(d);
    return took;
}

static void teardown(before *b) {
    free(b->servers);
    json_decref(b->doc);
    it_stop(b->c);
}

START_TEST(test_failover_1_sigkill) {
    before b;
    setup(&b);
    int64_t t0 = mono_ms();
    it_replica_signal(b.c, b.leader, SIGKILL);
    check_takeover(&b, t0);
    teardown(&b);
}
END_TEST

/* Replica i's follower copy as /v1/status shows it: its record count, -1 if none shown. */
static int copy_records(it_cluster *c, int i) {
    json_t *j = it_get_json(it_replica_port(c, i), "/v1/status");
    json_t *cp = j ? json_object_get(j, "copy") : NULL;
    int n = cp ? (int)json_integer_value(json_object_get(cp, "records")) : -1;
    json_decref(j);
    return n;
}

START_TEST(test_failover_2_sigterm_resigns_at_once) {
    before b;
    setup(&b);
    /* Both followers show a copy of the three servers' records (what a
     * takeover starts from), and the leader shows none. */
    int64_t until = mono_ms() + 15000;
    for (int i = 0; i < 3; i++)
        while (i != b.leader && copy_records(b.c, i) != 3 && mono_ms() < until) usleep(100000);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(copy_records(b.c, i), i == b.leader ? -1 : 3);
    int64_t t0 = mono_ms();
    it_replica_signal(b.c, b.leader, SIGTERM);
    ck_assert_msg(it_replica_wait_exit(b.c, b.leader, 10000), "leader did not exit on SIGTERM");
    int64_t took = check_takeover(&b, t0);
    /* Resignation deletes the member znode: no waiting for the session timeout. */
    ck_assert_msg(took < SESSION_MS, "takeover took %lld ms, not less than the session timeout", (long long)took);
    /* ...and the new term started from its follower's copy, not a full read */
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "grep -q -E \"task records (taken from|brought up to date)\" %s/scheduler-*.log",
             it_dir(b.c));
    ck_assert_msg(system(cmd) == 0, "the new leader read every record (logs in %s)", it_dir(b.c));
    teardown(&b);
}
END_TEST

/* --- 3: the paused leader ------------------------------------------------------- */

/* Stream ids used by calls in the simulator's log so far. */
static json_t *sim_calls(it_cluster *c) {
    json_t *j = it_get_json(it_sim_port(c), "/sim/calls");
    ck_assert_msg(j != NULL, "GET /sim/calls failed");
    json_t *calls = json_is_array(j) ? j : json_incref(json_object_get(j, "calls"));
    if (calls != j) json_decref(j);
    ck_assert(json_is_array(calls));
    return calls;
}

static const char *call_str(json_t *call, const char *k) {
    const char *s = json_string_value(json_object_get(call, k));
    return s ? s : "";
}

START_TEST(test_failover_3_paused_leader_never_acts_again) {
    before b;
    setup(&b);
    json_t *old = sim_calls(b.c);
    size_t nold = json_array_size(old);
    json_t *old_streams = json_object();
    for (size_t i = 0; i < nold; i++) {
        const char *sid = call_str(json_array_get(old, i), "stream_id");
        if (sid[0]) json_object_set_new(old_streams, sid, json_true());
    }
    ck_assert_msg(json_object_size(old_streams) > 0, "no call with a stream id before the pause");
    it_replica_signal(b.c, b.leader, SIGSTOP);
    int64_t t0 = mono_ms();
    check_takeover(&b, t0);
    while (mono_ms() - t0 < 2 * SESSION_MS) usleep(100000);
    it_replica_signal(b.c, b.leader, SIGCONT);
    /* From the first moment it runs again it must not claim a leadership it
     * cannot prove (its HTTP threads resume with the core). */
    int claims = 0, answers = 0, mclaims = 0, manswers = 0;
    for (int64_t t1 = mono_ms(); mono_ms() - t1 < 500;) {
        char ls[32];
        it_status_str(it_replica_port(b.c, b.leader), "leader_state", ls, sizeof(ls));
        answers += ls[0] != 0;
        claims += strcmp(ls, "leading") == 0;
        char *m = it_get_text(it_replica_port(b.c, b.leader), "/metrics");
        manswers += m != NULL;
        mclaims += m && strstr(m, "\nmcm_is_leader 1\n");
        free(m);
    }
    ck_assert_msg(answers > 0, "the resumed replica never answered /v1/status");
    ck_assert_msg(claims == 0, "the resumed ex-leader said \"leading\" %d times (of %d answers)", claims, answers);
    ck_assert_msg(manswers > 0, "the resumed replica never answered /metrics");
    ck_assert_msg(mclaims == 0, "the resumed ex-leader's /metrics said mcm_is_leader 1 %d times (of %d)",
                  mclaims, manswers);
    sleep(5);   /* give the resumed replica every chance to misbehave */
    char st[32];
    it_status_str(it_replica_port(b.c, b.leader), "leader_state", st, sizeof(st));
    ck_assert_str_eq(st, "follower");

    json_t *all = sim_calls(b.c);
    size_t last_subscribe = 0;
    for (size_t i = nold; i < json_array_size(all); i++)
        if (strcmp(call_str(json_array_get(all, i), "type"), "SUBSCRIBE") == 0) last_subscribe = i;
    ck_assert_msg(last_subscribe > 0, "the new leader's SUBSCRIBE is not in the call log");
    int subscribes_after = 0, old_after = 0;
    for (size_t i = nold; i < json_array_size(all); i++) {
        json_t *call = json_array_get(all, i);
        if (i > last_subscribe && json_object_get(old_streams, call_str(call, "stream_id"))) old_after++;
        if (strcmp(call_str(call, "type"), "SUBSCRIBE") == 0) subscribes_after++;
    }
    ck_assert_msg(old_after == 0, "%d calls with the paused leader's stream after the takeover", old_after);
    ck_assert_msg(subscribes_after == 1, "%d SUBSCRIBE calls after the pause (want exactly the new leader's)",
                  subscribes_after);
    json_decref(all);
    json_decref(old);
    json_decref(old_streams);
    teardown(&b);
}
END_TEST

START_TEST(test_failover_4_zookeeper_outage) {
    before b;
    setup(&b);
    it_zk_stop(b.c);
    int64_t t0 = mono_ms();
    /* Within the session timeout every replica must have stopped leading. */
    int leaders = 1;
    while (mono_ms() - t0 < 2 * SESSION_MS) {
        leaders = it_leader(b.c) >= 0;
        if (!leaders) break;
        usleep(100000);
    }
    ck_assert_msg(!leaders, "a replica still leads with ZooKeeper down for %lld ms", (long long)(mono_ms() - t0));
    ck_assert_int_eq(it_count_with(b.doc, "failover-key", "kept"), 3);   /* the servers do not care */
    while (mono_ms() - t0 < 2 * SESSION_MS) usleep(100000);
    it_zk_restart(b.c);
    b.leader = -1;   /* anyone may lead now */
    check_takeover(&b, mono_ms());
    teardown(&b);
}
END_TEST

START_TEST(test_failover_5_mesos_stream_dropped) {
    before b;
    setup(&b);
    json_t *before_drop = sim_calls(b.c);
    size_t nold = json_array_size(before_drop);
    json_decref(before_drop);
    ck_assert(it_post(it_sim_port(b.c), "/sim/drop-stream", NULL, NULL) / 100 == 2);
    int resubscribed = 0;
    for (int t = 0; t < 30000 && !resubscribed; t += 200) {
        json_t *all = sim_calls(b.c);
        for (size_t i = nold; i < json_array_size(all); i++) {
            json_t *call = json_array_get(all, i);
            if (strcmp(call_str(call, "type"), "SUBSCRIBE") == 0 &&
                strcmp(call_str(call, "framework_id"), b.fw) == 0)
                resubscribed = 1;
        }
        json_decref(all);
        usleep(200000);
    }
    ck_assert_msg(resubscribed, "no SUBSCRIBE with framework %s after the drop (logs in %s)", b.fw, it_dir(b.c));
    ck_assert_int_eq(it_wait_leader(b.c, 30000, -1), b.leader);   /* same leader, reconciled again */
    json_t *d = it_wait_servers(b.c, b.leader, 3, 10000);
    char *k = it_servers_key(d);
    ck_assert_str_eq(k, b.servers);
    ck_assert_int_eq(it_count_with(d, "failover-key", "kept"), 3);
    free(k);
    json_decref(d);
    teardown(&b);
}
END_TEST

/* 1 while the simulator says task id is still running. */
static int sim_task_running(it_cluster *c, const char *id) {
    json_t *st = it_get_json(it_sim_port(c), "/sim/state"), *t;
    size_t i;
    int running = 0;
    json_array_foreach(json_object_get(st, "tasks"), i, t) {
        if (strcmp(call_str(t, "id"), id) == 0) running = strcmp(call_str(t, "state"), "TASK_RUNNING") == 0;
    }
    json_decref(st);
    return running;
}

#define DRAIN_MS 20000

START_TEST(test_failover_6_leader_dies_during_a_drain) {
    it_opts o = {.instances = 3, .session_timeout_ms = SESSION_MS, .extra = {"--drain-time", "20s", NULL}};
    it_cluster *c = it_start(&o);
    json_t *three = it_wait_servers(c, 0, 3, UP_MS);
    ck_assert_msg(three != NULL, "servers never published (logs in %s)", it_dir(c));
    int leader = it_wait_leader(c, 10000, -1), watcher = (leader + 1) % 3;
    int64_t scaled = mono_ms();
    ck_assert_int_eq(it_post(it_replica_port(c, leader), "/v1/scale", "{\"instances\":2}", NULL), 200);
    json_t *two = it_wait_servers(c, watcher, 2, 20000);
    ck_assert_msg(two != NULL, "no server unpublished (logs in %s)", it_dir(c));
    char *k3 = it_servers_key(three), *k2 = it_servers_key(two), victim[256] = "";
    for (char *line = strtok(k3, "\n"); line; line = strtok(NULL, "\n"))
        if (!strstr(k2, line)) snprintf(victim, sizeof(victim), "%.*s", (int)strcspn(line, " "), line);
    ck_assert(victim[0]);
    it_replica_signal(c, leader, SIGKILL);
    int64_t t0 = mono_ms();
    while (mono_ms() - t0 < 3 * SESSION_MS) {   /* through the takeover and the new leader's first publication */
        json_t *d = it_get_json(it_replica_port(c, watcher), "/v1/servers");
        char *k = d ? it_servers_key(d) : NULL;
        ck_assert_msg(!k || !strstr(k, victim), "draining server %s published again (logs in %s)", victim, it_dir(c));
        free(k);
        json_decref(d);
        usleep(100000);
    }
    ck_assert_int_ge(it_wait_leader(c, 30000, leader), 0);
    /* The drain ends when the old leader said, not a drain time after the takeover. */
    while (sim_task_running(c, victim) && mono_ms() - scaled < 3 * DRAIN_MS) usleep(200000);
    int64_t killed = mono_ms() - scaled;
    fprintf(stderr, "drained server killed %lld ms after the scale-down\n", (long long)killed);
    ck_assert_msg(killed >= DRAIN_MS - 1000 && killed < DRAIN_MS + SESSION_MS / 2,
                  "drained server killed %lld ms after the scale-down, not at the drain deadline (logs in %s)",
                  (long long)killed, it_dir(c));
    json_t *after = it_wait_servers(c, watcher, 2, 5000);
    ck_assert(after != NULL);
    char *ka = it_servers_key(after);
    ck_assert_str_eq(ka, k2);   /* the same two servers: nothing else was drained */
    free(ka);
    free(k3);
    free(k2);
    json_decref(after);
    json_decref(two);
    json_decref(three);
    it_stop(c);
}
END_TEST

/* --- 7: a slow master ------------------------------------------------------------ */

#define SLOW_CALL_MS 3000

static int64_t elected_ms(int port) {
    json_t *st = it_get_json(port, "/v1/status");
    int64_t v = (int64_t)json_integer_value(json_object_get(json_object_get(st, "term"), "elected_ms"));
    json_decref(st);
    return v;
}

/* Calls of `type` after index `from` of the simulator's log that got 202. */
static int calls_accepted(it_cluster *c, size_t from, const char *type) {
    json_t *all = sim_calls(c);
    int n = 0;
    for (size_t i = from; i < json_array_size(all); i++) {
        json_t *call = json_array_get(all, i);
        n += strcmp(call_str(call, "type"), type) == 0 && json_integer_value(json_object_get(call, "status")) == 202;
    }
    json_decref(all);
    return n;
}

START_TEST(test_failover_7_slow_master_keeps_the_leader) {
    before b;
    /* A cold restart: its KILL is the call answered late. (A warm restart
     * launches first and kills after the copy: tests/integration/test_warm*.c.) */
    setup_with(&b, "--no-warm-transitions");
    int port = it_replica_port(b.c, b.leader);
    int64_t term = elected_ms(port);
    ck_assert(term > 0);
    json_t *log0 = sim_calls(b.c);
    size_t nold = json_array_size(log0);
    json_decref(log0);
    char victim[256], path[320];
    snprintf(victim, sizeof(victim), "%.*s", (int)strcspn(b.servers, " "), b.servers);
    ck_assert(it_post(it_sim_port(b.c), "/sim/call-delay?ms=3000", NULL, NULL) / 100 == 2);
    int64_t t0 = mono_ms();
    snprintf(path, sizeof(path), "/v1/tasks/%s/restart", victim);
    ck_assert_int_eq(it_post(port, path, NULL, NULL), 202);
    int64_t answered = mono_ms() - t0;
    ck_assert_msg(answered >= SLOW_CALL_MS - 200, "restart answered after %lld ms, before its KILL did",
                  (long long)answered);
    int replaced = 0;
    while (!replaced && mono_ms() - t0 < 150000) {
        ck_assert_msg(it_leader(b.c) == b.leader && elected_ms(port) == term,
                      "the leader stepped down under a slow master (logs in %s)", it_dir(b.c));
        json_t *d = it_get_json(port, "/v1/servers");
        char *k = d ? it_servers_key(d) : NULL;
        replaced = k && !strstr(k, victim) && json_array_size(json_object_get(d, "servers")) == 3;
        free(k);
        json_decref(d);
        usleep(200000);
    }
    fprintf(stderr, "slow master: replacement published after %lld ms\n", (long long)(mono_ms() - t0));
    ck_assert_msg(replaced, "no replacement published within 150 s (logs in %s)", it_dir(b.c));
    ck_assert_int_ge(calls_accepted(b.c, nold, "KILL"), 1);
    ck_assert_int_ge(calls_accepted(b.c, nold, "ACCEPT"), 1);
    /* The victim's TASK_KILLED and the replacement's STARTING and RUNNING;
     * the last one's ACKNOWLEDGE may still be in flight (3 s) when the list
     * is published: its own call worker lane sends it at once. */
    int64_t acks_by = mono_ms() + 2 * SLOW_CALL_MS + 2000;
    while (calls_accepted(b.c, nold, "ACKNOWLEDGE") < 3 && mono_ms() < acks_by) usleep(200000);
    ck_assert_int_ge(calls_accepted(b.c, nold, "ACKNOWLEDGE"), 3);
    ck_assert(it_post(it_sim_port(b.c), "/sim/call-delay?ms=0", NULL, NULL) / 100 == 2);
    ck_assert_int_eq(it_leader(b.c), b.leader);
    ck_assert(elected_ms(port) == term);
    teardown(&b);
}
END_TEST

int main(void) {
    Suite *s = suite_create("failover");
    TCase *tc = tcase_create("failover");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_failover_1_sigkill);
    tcase_add_test(tc, test_failover_2_sigterm_resigns_at_once);
    tcase_add_test(tc, test_failover_3_paused_leader_never_acts_again);
    tcase_add_test(tc, test_failover_4_zookeeper_outage);
    tcase_add_test(tc, test_failover_5_mesos_stream_dropped);
    tcase_add_test(tc, test_failover_6_leader_dies_during_a_drain);
    tcase_add_test(tc, test_failover_7_slow_master_keeps_the_leader);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
