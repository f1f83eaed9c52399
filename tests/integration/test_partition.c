/* test_partition.c -- servers on partitioned agents end to end (issue 18,
 * --unreachable-grace): real ZooKeeper, mcm-sim, two mcm-scheduler
 * replicas, the real mcm-executor and memcached.
 *
 * /sim/agent/partition cuts an agent off from the master the way a Mesos
 * master sees a partition (TASK_UNREACHABLE, no offers) while its executor
 * and memcached keep running. The leader probes the server itself:
 *  1. memcached still answers: the server stays published (two servers
 *     listed, no replacement) until the 8 s grace ends, then it is replaced;
 *  2. memcached stopped (SIGSTOP) on a partitioned agent: two failed probes
 *     (every 1 s, 500 ms timeout) give it up well before the grace. */
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
#define GRACE_MS 8000

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The agent of task id, from the leader's /v1/tasks. */
static void agent_of(it_cluster *c, int leader, const char *id, char *out, size_t len) {
    json_t *t = it_get_json(it_replica_port(c, leader), "/v1/tasks"), *task;
    size_t i;
    out[0] = '\0';
    json_array_foreach(json_object_get(t, "tasks"), i, task)
        if (!strcmp(json_string_value(json_object_get(task, "task_id")), id))
            snprintf(out, len, "%s", json_string_value(json_object_get(task, "agent_id")));
    json_decref(t);
}

/* 1 if /v1/servers (replica 0) lists n servers and id among them. */
static int listed(it_cluster *c, const char *id, int n) {
    json_t *d = it_get_json(it_replica_port(c, 0), "/v1/servers");
    char *k = d ? it_servers_key(d) : NULL;
    int yes = d && (int)json_array_size(json_object_get(d, "servers")) == n && strstr(k, id) != NULL;
    free(k);
    json_decref(d);
    return yes;
}

typedef struct { it_cluster *c; const char *gone_id; } replace_wait;

/* Two servers listed, the lost one not among them, and both answer. */
static int replaced(void *arg) {
    replace_wait *w = arg;
    json_t *d = it_get_json(it_replica_port(w->c, 0), "/v1/servers");
    char *k = d ? it_servers_key(d) : NULL;
    int yes = d && json_array_size(json_object_get(d, "servers")) == 2 && !strstr(k, w->gone_id);
    if (yes) it_check_all_answer(d);
    free(k);
    json_decref(d);
    return yes;
}

/* The first server of the list: its task ID, port and agent. */
static void pick(it_cluster *c, int leader, char *id, size_t idlen, int *port, char *agent, size_t alen) {
    json_t *doc = it_wait_servers(c, 0, 2, UP_MS);
    ck_assert_msg(doc != NULL, "servers never published (logs in %s)", it_dir(c));
    json_t *s = json_array_get(json_object_get(doc, "servers"), 0);
    snprintf(id, idlen, "%s", json_string_value(json_object_get(s, "task_id")));
    *port = (int)json_integer_value(json_object_get(s, "port"));
    json_decref(doc);
    agent_of(c, leader, id, agent, alen);
    ck_assert_msg(agent[0], "no agent for %s", id);
}

static void partition(it_cluster *c, const char *agent) {
    char path[400];
    snprintf(path, sizeof(path), "/sim/agent/partition?agent=%s", agent);
    ck_assert_int_eq(it_post(it_sim_port(c), path, "", NULL), 200);
}

START_TEST(test_partition_answering_server_kept_until_grace_then_replaced_hung_one_at_once) {
    it_opts o = {.instances = 2, .replicas = 2, .extra = {"--unreachable-grace", "8s", "--health-timeout", "500ms", NULL}};
    it_cluster *c = it_start(&o);
    json_t *up = it_wait_servers(c, 0, 2, UP_MS);
    ck_assert_msg(up != NULL, "servers never published (logs in %s)", it_dir(c));
    json_decref(up);
    int leader = it_wait_leader(c, 10000, -1);
    ck_assert_int_ge(leader, 0);

    /* 1. partitioned, memcached answers: kept for the grace, then replaced */
    char id[256], agent[256];
    int port;
    pick(c, leader, id, sizeof(id), &port, agent, sizeof(agent));
    partition(c, agent);
    int64_t cut = now_ms();
    while (now_ms() - cut < GRACE_MS - 2000) {
        ck_assert_msg(listed(c, id, 2), "%s left the list %lld ms into its partition although it answers (logs in %s)",
                      id, (long long)(now_ms() - cut), it_dir(c));
        usleep(250 * 1000);
    }
    replace_wait r = {c, id};
    ck_assert_msg(th_wait(replaced, &r, UP_MS), "%s never replaced after the grace (logs in %s)", id, it_dir(c));
    int64_t took = now_ms() - cut;
    ck_assert_msg(took >= GRACE_MS - 1000, "replaced %lld ms into the partition: before the grace ended",
                  (long long)took);
    fprintf(stderr, "test_partition: answering server replaced %lld ms into its partition\n", (long long)took);

    /* 2. partitioned with memcached stopped: replaced after two failed probes */
    char id2[256], agent2[256];
    int port2;
    leader = it_wait_leader(c, 10000, -1);
    pick(c, leader, id2, sizeof(id2), &port2, agent2, sizeof(agent2));
    pid_t pid = it_memcached_pid(port2);
    ck_assert_msg(pid > 0, "no memcached process found on port %d", port2);
    kill(pid, SIGSTOP);
    partition(c, agent2);
    cut = now_ms();
    replace_wait r2 = {c, id2};
    int ok = th_wait(replaced, &r2, UP_MS);
    took = now_ms() - cut;
    kill(pid, SIGCONT);
    ck_assert_msg(ok, "stopped server %s never replaced (logs in %s)", id2, it_dir(c));
    ck_assert_msg(took < GRACE_MS - 2000, "stopped server replaced only %lld ms into its partition: probes ignored",
                  (long long)took);
    fprintf(stderr, "test_partition: stopped server replaced %lld ms into its partition\n", (long long)took);
    it_stop(c);
}
END_TEST

int main(void) {
    Suite *s = suite_create("partition");
    TCase *tc = tcase_create("partition");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_partition_answering_server_kept_until_grace_then_replaced_hung_one_at_once);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
