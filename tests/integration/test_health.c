/* test_health.c -- a hung memcached end to end (issue 18): real ZooKeeper,
 * mcm-sim, mcm-scheduler replicas, the real mcm-executor and memcached.
 *
 * A hung memcached keeps its port open and answers nothing (SIGSTOP does
 * exactly that: the kernel still accepts connections). Its executor probes it
 * (`version`, every 300 ms here, 300 ms timeout): after 2 failures in a row
 * it reports the task unhealthy (the leader's /v1/tasks shows
 * "healthy":false), after 15 it kills memcached and fails the task, and the
 * scheduler replaces the server. Continued before the limit, the server is
 * healthy again and keeps its place (same task, still published). */
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

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The leader's "healthy" for task id: 1, 0, or -1 (absent or no such task). */
static int task_healthy(it_cluster *c, int leader, const char *id) {
    json_t *t = it_get_json(it_replica_port(c, leader), "/v1/tasks"), *task;
    size_t i;
    int h = -1;
    json_array_foreach(json_object_get(t, "tasks"), i, task) {
        json_t *v = json_object_get(task, "healthy");
        if (!strcmp(json_string_value(json_object_get(task, "task_id")), id) && json_is_boolean(v))
            h = json_is_true(v);
    }
    json_decref(t);
    return h;
}

typedef struct { it_cluster *c; int leader; const char *id; int want; } health_wait;

static int health_is(void *arg) {
    health_wait *w = arg;
    return task_healthy(w->c, w->leader, w->id) == w->want;
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

/* Two servers listed, the hung one not among them, and both answer. */
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

START_TEST(test_health_stopped_memcached_unhealthy_recovers_then_hung_is_replaced) {
    it_opts o = {.instances = 2, .replicas = 2,
                 .extra = {"--health-interval", "300ms", "--health-timeout", "300ms", "--health-unhealthy-after", "2",
                           "--health-fail-after", "15", NULL}};
    it_cluster *c = it_start(&o);
    json_t *doc = it_wait_servers(c, 0, 2, UP_MS);
    ck_assert_msg(doc != NULL, "servers never published (logs in %s)", it_dir(c));
    int leader = it_wait_leader(c, 10000, -1);
    ck_assert_int_ge(leader, 0);
    json_t *victim = json_array_get(json_object_get(doc, "servers"), 0);
    int port = (int)json_integer_value(json_object_get(victim, "port"));
    char id[256];
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(victim, "task_id")));
    pid_t pid = it_memcached_pid(port);
    ck_assert_msg(pid > 0, "no memcached process found on port %d", port);
    health_wait w = {c, leader, id, 1};
    ck_assert_msg(th_wait(health_is, &w, 10000), "%s never shown healthy (logs in %s)", id, it_dir(c));

    /* 1. stopped, seen unhealthy, continued before the limit: healthy again, not replaced */
    kill(pid, SIGSTOP);
    w.want = 0;
    int seen = th_wait(health_is, &w, 10000);
    kill(pid, SIGCONT);
    ck_assert_msg(seen, "%s never shown unhealthy (logs in %s)", id, it_dir(c));
    ck_assert_msg(listed(c, id, 2), "an unhealthy server left the list before its task failed");
    w.want = 1;
    ck_assert_msg(th_wait(health_is, &w, 10000), "%s never healthy again (logs in %s)", id, it_dir(c));
    usleep(3000 * 1000);   /* longer than the 15 probes a failure needs */
    ck_assert_msg(listed(c, id, 2), "%s was replaced although it answered again", id);
    ck_assert_int_eq(it_memcached_pid(port), pid);

    /* 2. stopped for good: unhealthy, then failed by its executor and replaced */
    kill(pid, SIGSTOP);
    int64_t stopped = now_ms();
    w.want = 0;
    ck_assert_msg(th_wait(health_is, &w, 10000), "%s never shown unhealthy (logs in %s)", id, it_dir(c));
    replace_wait r = {c, id};
    ck_assert_msg(th_wait(replaced, &r, UP_MS), "hung server %s never replaced (logs in %s)", id, it_dir(c));
    int64_t took = now_ms() - stopped;
    ck_assert_msg(took >= 4500, "replaced %lld ms after SIGSTOP: before its 15 probes failed", (long long)took);
    ck_assert_int_eq(kill(pid, 0), -1);   /* the hung memcached was killed */
    fprintf(stderr, "test_health: hung server replaced %lld ms after SIGSTOP\n", (long long)took);
    json_decref(doc);
    it_stop(c);
}
END_TEST

int main(void) {
    Suite *s = suite_create("health");
    TCase *tc = tcase_create("health");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_health_stopped_memcached_unhealthy_recovers_then_hung_is_replaced);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
