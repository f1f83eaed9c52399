/* test_system.c -- mcm end to end: real ZooKeeper, mcm-sim, three
 * mcm-scheduler replicas, the real mcm-executor and real memcached.
 * One START_TEST per behaviour; every test starts its own cluster. */
#include "cluster.h"
#include "common.h"
#include "harness.h"

#include <check.h>
#include "zkt.h"

#include <zookeeper/zookeeper.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define UP_MS 90000

/* The running tasks a replica reports, as "task_id host:port" lines. */
static char *leader_running_key(it_cluster *c, int leader) {
    json_t *t = it_get_json(it_replica_port(c, leader), "/v1/tasks");
    ck_assert_msg(t != NULL, "GET /v1/tasks failed");
    json_t *doc = json_pack("{s:[]}", "servers");
    json_t *arr = json_object_get(doc, "servers"), *task;
    size_t i;
    json_array_foreach(json_object_get(t, "tasks"), i, task) {
        if (strcmp(json_string_value(json_object_get(task, "state")), "TASK_RUNNING") != 0) continue;
        json_array_append_new(arr, json_pack("{s:O, s:O, s:O}", "task_id", json_object_get(task, "task_id"), "host",
                                             json_object_get(task, "hostname"), "port", json_object_get(task, "port")));
    }
    char *key = it_servers_key(doc);
    json_decref(doc);
    json_decref(t);
    return key;
}

START_TEST(test_system_servers_come_up_and_answer) {
    it_opts o = {.instances = 3};
    it_cluster *c = it_start(&o);
    json_t *doc = it_wait_servers(c, 0, 3, UP_MS);
    ck_assert_msg(doc != NULL, "3 servers never published (logs in %s)", it_dir(c));
    it_check_all_answer(doc);
    int leader = it_wait_leader(c, 10000, -1);
    ck_assert_int_ge(leader, 0);
    char *published = it_servers_key(doc), *running = leader_running_key(c, leader);
    ck_assert_str_eq(published, running);
    for (int i = 1; i < 3; i++) {   /* followers serve the same list from their own watch */
        json_t *d = it_wait_servers(c, i, 3, 10000);
        ck_assert(d != NULL);
        char *k = it_servers_key(d);
        ck_assert_str_eq(k, published);
        free(k);
        json_decref(d);
    }
    /* A follower shows the task records the leader stored in ZooKeeper. */
    int follower = (leader + 1) % 3;
    char *seen = NULL;
    for (int t = 0; t < 15000; t += 250) {
        free(seen);
        seen = leader_running_key(c, follower);
        if (strcmp(seen, running) == 0) break;
        usleep(250000);
    }
    ck_assert_str_eq(seen, running);
    json_t *ft = it_get_json(it_replica_port(c, follower), "/v1/tasks");
    ck_assert_str_eq(json_string_value(json_object_get(ft, "source")), "zookeeper");
    json_decref(ft);
    free(seen);
    free(published);
    free(running);
    json_decref(doc);
    it_stop(c);
}
END_TEST

static int server_count(json_t *doc) { return (int)json_array_size(json_object_get(doc, "servers")); }

START_TEST(test_system_killed_memcached_is_replaced) {
    it_opts o = {.instances = 2};
    it_cluster *c = it_start(&o);
    json_t *doc = it_wait_servers(c, 0, 2, UP_MS);
    ck_assert_msg(doc != NULL, "servers never published (logs in %s)", it_dir(c));
    json_t *victim = json_array_get(json_object_get(doc, "servers"), 0);
    int port = (int)json_integer_value(json_object_get(victim, "port"));
    char victim_id[256];
    snprintf(victim_id, sizeof(victim_id), "%s", json_string_value(json_object_get(victim, "task_id")));
    pid_t pid = it_memcached_pid(port);
    ck_assert_msg(pid > 0, "no memcached process found on port %d", port);
    kill(pid, SIGKILL);
    /* The list loses the server, then regains a replacement with a new task ID. */
    int replaced = 0;
    for (int t = 0; t < UP_MS && !replaced; t += 200) {
        json_t *d = it_get_json(it_replica_port(c, 1), "/v1/servers");
        if (d && server_count(d) == 2) {
            char *k = it_servers_key(d);
            replaced = strstr(k, victim_id) == NULL;
            free(k);
            if (replaced) it_check_all_answer(d);
        }
        json_decref(d);
        usleep(200000);
    }
    ck_assert_msg(replaced, "killed server %s never replaced (logs in %s)", victim_id, it_dir(c));
    json_decref(doc);
    it_stop(c);
}
END_TEST

START_TEST(test_system_simulator_restart_relaunches_lost_servers) {
    it_opts o = {.instances = 2};
    it_cluster *c = it_start(&o);
    json_t *doc = it_wait_servers(c, 0, 2, UP_MS);
    ck_assert_msg(doc != NULL, "servers never published (logs in %s)", it_dir(c));
    char *before = it_servers_key(doc);
    int leader = it_wait_leader(c, 10000, -1);
    char fw[256], fw2[256];
    it_status_str(it_replica_port(c, leader), "framework_id", fw, sizeof(fw));
    it_sim_stop(c);   /* the master and agents are gone, and with them the tasks */
    it_sim_start(c);
    int ok = 0;
    for (int t = 0; t < UP_MS * 2 && !ok; t += 250) {
        json_t *d = it_get_json(it_replica_port(c, 0), "/v1/servers");
        if (d && server_count(d) == 2) {
            char *k = it_servers_key(d);
            ok = strcmp(k, before) != 0;
            int i;
            for (i = 0; ok && i < 2; i++) {   /* no old task may remain */
                char id[256];
                snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(json_array_get(json_object_get(d, "servers"), i), "task_id")));
                ok = strstr(before, id) == NULL;
            }
            free(k);
            if (ok) it_check_all_answer(d);
        }
        json_decref(d);
        usleep(250000);
    }
    ck_assert_msg(ok, "servers not relaunched after the simulator restart (logs in %s)", it_dir(c));
    leader = it_wait_leader(c, 10000, -1);
    it_status_str(it_replica_port(c, leader), "framework_id", fw2, sizeof(fw2));
    ck_assert_str_eq(fw, fw2);   /* the new master adopted the same framework ID */
    free(before);
    json_decref(doc);
    it_stop(c);
}
END_TEST

static int has_task(json_t *doc, const char *id) {
    char *k = it_servers_key(doc);
    int yes = strstr(k, id) != NULL;
    free(k);
    return yes;
}

/* Operator calls through the real replicas: a follower redirects, the leader
 * scales, restarts one server and tears the framework down. */
START_TEST(test_system_operator_calls_scale_restart_teardown) {
    it_opts o = {.instances = 2};
    it_cluster *c = it_start(&o);
    json_t *doc = it_wait_servers(c, 0, 2, UP_MS);
    ck_assert_msg(doc != NULL, "servers never published (logs in %s)", it_dir(c));
    json_decref(doc);
    int leader = it_wait_leader(c, 10000, -1), follower = (leader + 1) % 3;
    int lp = it_replica_port(c, leader);
    ck_assert_int_eq(it_post(it_replica_port(c, follower), "/v1/scale", "{\"instances\":3}", NULL), 307);
    ck_assert_int_eq(it_post(lp, "/v1/scale", "{\"instances\":1000}", NULL), 422);   /* over --instances-max */
    ck_assert_int_eq(it_post(lp, "/v1/scale", "{\"instances\":3}", NULL), 200);
    doc = it_wait_servers(c, follower, 3, UP_MS);
    ck_assert_msg(doc != NULL, "scale to 3 not served (logs in %s)", it_dir(c));
    char id[256], path[400];
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(json_array_get(json_object_get(doc, "servers"), 0), "task_id")));
    json_decref(doc);
    snprintf(path, sizeof(path), "/v1/tasks/%s/restart", id);
    ck_assert_int_eq(it_post(lp, "/v1/tasks/no-such-task/restart", NULL, NULL), 404);
    ck_assert_int_eq(it_post(lp, path, NULL, NULL), 202);
    int replaced = 0;
    for (int t = 0; t < UP_MS && !replaced; t += 200) {
        json_t *d = it_get_json(it_replica_port(c, follower), "/v1/servers");
        replaced = d && server_count(d) == 3 && !has_task(d, id);
        json_decref(d);
        usleep(200000);
    }
    ck_assert_msg(replaced, "restarted server %s not replaced (logs in %s)", id, it_dir(c));
    char fw[256], body[400];
    it_status_str(lp, "framework_id", fw, sizeof(fw));
    ck_assert_int_eq(it_post(lp, "/v1/teardown", "{\"confirm\":\"not-it\"}", NULL), 422);
    snprintf(body, sizeof(body), "{\"confirm\":\"%s\"}", fw);
    ck_assert_int_eq(it_post(lp, "/v1/teardown", body, NULL), 200);
    doc = it_wait_servers(c, follower, 0, 30000);
    ck_assert_msg(doc != NULL, "list not emptied after teardown (logs in %s)", it_dir(c));
    json_decref(doc);
    json_t *state = it_get_json(it_sim_port(c), "/sim/state");
    char *dump = json_dumps(state, 0);
    ck_assert_msg(strstr(dump, "TASK_RUNNING") == NULL, "tasks still running after teardown: %s", dump);
    free(dump);
    json_decref(state);
    it_stop(c);
}
END_TEST

/* --executor-uri: the agent fetches mcm-executor into the sandbox and runs
 * it from there (./mcm-executor), as on a cluster without mcm installed. */
START_TEST(test_system_executor_fetched_from_uri) {
    char uri[1200];
    snprintf(uri, sizeof(uri), "file://%s/src/executor/mcm-executor",
             getenv("MCM_BUILD_DIR") ? getenv("MCM_BUILD_DIR") : ".");
    it_opts o = {.instances = 1, .extra = {"--executor-uri", uri, "--executor-command", "./mcm-executor", NULL}};
    it_cluster *c = it_start(&o);
    json_t *doc = it_wait_servers(c, 0, 1, UP_MS);
    ck_assert_msg(doc != NULL, "server never published (logs in %s)", it_dir(c));
    it_check_all_answer(doc);
    json_decref(doc);
    it_stop(c);
}
END_TEST

/* --- malformed state ------------------------------------------------------ */

static zhandle_t *zk_connect(const char *hosts) {
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    return zkt_connect(hosts, NULL, 10000);
}

static const char bad_id[] = "bad id\x01";

static void plant_bad_framework_id(const char *hosts) {
    zhandle_t *zh = zk_connect(hosts);
    zoo_create(zh, "/mcm", "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
    zoo_create(zh, "/mcm/state", "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
    ck_assert_int_eq(zoo_create(zh, "/mcm/state/framework_id", bad_id, (int)sizeof(bad_id) - 1,
                                &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0), ZOK);
    zookeeper_close(zh);
}

/* A framework ID an operator must fix: no replica leads (none invents a new
 * framework, orphaning the old one's servers), nobody overwrites it, the logs
 * say what is wrong; once it is fixed a replica leads. */
START_TEST(test_system_malformed_framework_id_refuses_to_lead) {
    it_opts o = {.instances = 1, .prepare = plant_bad_framework_id};
    it_cluster *c = it_start(&o);
    for (int t = 0; t < 8000; t += 250) {
        ck_assert_msg(it_leader(c) < 0, "a replica leads with a malformed framework ID (logs in %s)", it_dir(c));
        usleep(250000);
    }
    zhandle_t *zh = zk_connect(it_zk_hosts(c));
    char buf[64];
    int len = sizeof(buf);
    ck_assert_int_eq(zoo_get(zh, "/mcm/state/framework_id", 0, buf, &len, NULL), ZOK);
    ck_assert(len == (int)sizeof(bad_id) - 1 && memcmp(buf, bad_id, (size_t)len) == 0);
    char log[1200];
    snprintf(log, sizeof(log), "grep -q 'malformed framework ID' %s/scheduler-*.log", it_dir(c));
    ck_assert_msg(system(log) == 0, "no replica says why it does not lead (logs in %s)", it_dir(c));
    ck_assert_int_eq(zoo_delete(zh, "/mcm/state/framework_id", -1), ZOK);   /* the operator's fix */
    zookeeper_close(zh);
    ck_assert_msg(it_wait_leader(c, 60000, -1) >= 0, "nobody leads after the fix (logs in %s)", it_dir(c));
    json_t *doc = it_wait_servers(c, 0, 1, UP_MS);
    ck_assert(doc != NULL);
    json_decref(doc);
    it_stop(c);
}
END_TEST

/* The leader rewrites a servers znode someone corrupted or deleted, with a
 * version above every one it has published. */
static int64_t stored_version(zhandle_t *zh, int want_servers) {
    char buf[8192];
    int len = sizeof(buf) - 1;
    if (zoo_get(zh, "/mcm/servers", 0, buf, &len, NULL) != ZOK || len < 0) return -1;
    buf[len] = 0;
    json_t *j = json_loads(buf, 0, NULL);
    int64_t v = j && (int)json_array_size(json_object_get(j, "servers")) == want_servers
                    ? (int64_t)json_integer_value(json_object_get(j, "version")) : -1;
    json_decref(j);
    return v;
}

START_TEST(test_system_leader_repairs_servers_znode) {
    it_opts o = {.instances = 2};
    it_cluster *c = it_start(&o);
    json_t *doc = it_wait_servers(c, 0, 2, UP_MS);
    ck_assert_msg(doc != NULL, "servers never published (logs in %s)", it_dir(c));
    int64_t v0 = json_integer_value(json_object_get(doc, "version"));
    json_decref(doc);
    zhandle_t *zh = zk_connect(it_zk_hosts(c));
    ck_assert_int_eq(zoo_set(zh, "/mcm/servers", "garbage", 7, -1), ZOK);
    int64_t v1 = -1;
    for (int t = 0; t < 30000 && v1 <= v0; t += 250, usleep(250000)) v1 = stored_version(zh, 2);
    ck_assert_msg(v1 > v0, "corrupted servers znode not repaired (logs in %s)", it_dir(c));
    ck_assert_int_eq(zoo_delete(zh, "/mcm/servers", -1), ZOK);
    int64_t v2 = -1;
    for (int t = 0; t < 30000 && v2 <= v1; t += 250, usleep(250000)) v2 = stored_version(zh, 2);
    ck_assert_msg(v2 > v1, "deleted servers znode not recreated above version %lld (logs in %s)", (long long)v1,
                  it_dir(c));
    zookeeper_close(zh);
    it_stop(c);
}
END_TEST

/* A memcached command that cannot run: every server fails before running,
 * nothing is published, and the leader says what to check. */
START_TEST(test_system_bad_memcached_command_is_reported) {
    it_opts o = {.instances = 2, .extra = {"--memcached-command", "/nonexistent/memcached", NULL}};
    it_cluster *c = it_start(&o);
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "grep -q 'failed before running.*check --memcached-command' %s/scheduler-*.log",
             it_dir(c));
    int said = 0;
    for (int t = 0; t < 60000 && !said; t += 500) {
        said = system(cmd) == 0;
        if (!said) usleep(500000);
    }
    ck_assert_msg(said, "no warning about servers failing to start (logs in %s)", it_dir(c));
    json_t *doc = it_wait_servers(c, 0, 0, 5000);
    ck_assert_msg(doc != NULL, "a server that never ran was published (logs in %s)", it_dir(c));
    json_decref(doc);
    it_stop(c);
}
END_TEST

int main(void) {
    Suite *s = suite_create("system");
    TCase *tc = tcase_create("system");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_system_servers_come_up_and_answer);
    tcase_add_test(tc, test_system_killed_memcached_is_replaced);
    tcase_add_test(tc, test_system_simulator_restart_relaunches_lost_servers);
    tcase_add_test(tc, test_system_operator_calls_scale_restart_teardown);
    tcase_add_test(tc, test_system_executor_fetched_from_uri);
    tcase_add_test(tc, test_system_malformed_framework_id_refuses_to_lead);
    tcase_add_test(tc, test_system_leader_repairs_servers_znode);
    tcase_add_test(tc, test_system_bad_memcached_command_is_reported);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
