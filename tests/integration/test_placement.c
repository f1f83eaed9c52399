/* test_placement.c -- placement end to end (issue 18): real ZooKeeper,
 * mcm-sim agents with fault domains and attributes, mcm-scheduler, the real
 * executor and memcached.
 *
 *  1. zones: 9 agents over three zones, 6 servers -> 2 per zone; a step up
 *     puts the 7th in some zone, whose servers are then filled with data
 *     (least memory first alone would remove a server of another zone);
 *     after a leader failover (the new leader has seen no offer: it knows
 *     the zones only from the stored task records) the step down removes
 *     from that fullest zone; then zone c's agents are
 *     removed: at most ceil(6/3) = 2 servers are lost and the replacements
 *     go to zones a and b (3 each).
 *  2. constraints: tier:LIKE:cache and hostname:UNIQUE over five agents, two
 *     of them tier:batch, on two host names (three cache agents, two of them
 *     on one host): one server per host on a cache agent; the third waits,
 *     each offer declined by the rule it breaks.
 *
 * Case 1 runs cold (--no-warm-transitions): a warm transition's cleanup
 * would delete the filler keys from servers that do not own them.
 *
 * The server's zone is the simulator's: /sim/state says which agent runs
 * each task and which zone each agent is in. Every wait is bounded. */
#include "cluster.h"
#include "harness.h"
#include "zkt.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define UP_MS 90000
/* Agent i is in zone i / 3 (the simulator takes item i of the list): the
 * simulator offers agents in index order, so without the spread the first
 * six offers would put 3/3/0 servers in a/b/c. */
#define ZONES "r/a|r/a|r/a|r/b|r/b|r/b|r/c|r/c|r/c"
#define FILL_KEYS 200                 /* x 8 KiB: what makes a server "the most used" */
#define FILL_VALUE 8192

/* The zone (0 a, 1 b, 2 c) of task id in the simulator's state st. */
static int zone_of(json_t *st, const char *id) {
    size_t k, a;
    json_t *task, *ag;
    const char *agent = NULL, *zone = NULL;
    json_array_foreach(json_object_get(st, "tasks"), k, task)
        if (!strcmp(json_string_value(json_object_get(task, "id")), id))
            agent = json_string_value(json_object_get(task, "agent_id"));
    ck_assert_msg(agent != NULL, "published %s is no task of the simulator", id);
    json_array_foreach(json_object_get(st, "agents"), a, ag)
        if (!strcmp(json_string_value(json_object_get(ag, "id")), agent))
            zone = json_string_value(json_object_get(ag, "zone"));
    ck_assert_msg(zone && zone[0] >= 'a' && zone[0] <= 'c', "agent %s has no zone", agent);
    return zone[0] - 'a';
}

/* Servers per zone a, b, c of a servers document, from the simulator's view. */
static void per_zone(it_cluster *c, json_t *doc, int *n) {
    json_t *st = it_get_json(it_sim_port(c), "/sim/state");
    ck_assert_ptr_nonnull(st);
    n[0] = n[1] = n[2] = 0;
    size_t i;
    json_t *srv;
    json_array_foreach(json_object_get(doc, "servers"), i, srv)
        n[zone_of(st, json_string_value(json_object_get(srv, "task_id")))]++;
    json_decref(st);
}

/* Stores FILL_KEYS values on every server of zone z (the others stay
 * empty), so that the fleet's own preference, least memory first, would
 * remove a server of another zone. */
static void fill_zone(it_cluster *c, json_t *doc, int z) {
    json_t *st = it_get_json(it_sim_port(c), "/sim/state");
    static char cmd[FILL_VALUE + 128];
    char reply[256], value[FILL_VALUE + 1];
    memset(value, 'v', FILL_VALUE);
    value[FILL_VALUE] = '\0';
    size_t i;
    json_t *srv;
    json_array_foreach(json_object_get(doc, "servers"), i, srv) {
        if (zone_of(st, json_string_value(json_object_get(srv, "task_id"))) != z) continue;
        const char *host = json_string_value(json_object_get(srv, "host"));
        int port = (int)json_integer_value(json_object_get(srv, "port"));
        for (int k = 0; k < FILL_KEYS; k++) {
            snprintf(cmd, sizeof(cmd), "set fill-%d 0 0 %d\r\n%s\r\n", k, FILL_VALUE, value);
            ck_assert_msg(th_mc_cmd(host, port, cmd, reply, sizeof(reply), 3000) > 0 && strstr(reply, "STORED"),
                          "set on %s:%d", host, port);
        }
    }
    json_decref(st);
}

/* Waits until the leader's reports show n servers holding more than a MiB. */
static int wait_reported_full(it_cluster *c, int leader, int n, int timeout_ms) {
    for (int t = 0; t < timeout_ms; t += 250) {
        json_t *tasks = it_get_json(it_replica_port(c, leader), "/v1/tasks");
        int full = 0;
        size_t i;
        json_t *task;
        json_array_foreach(json_object_get(tasks, "tasks"), i, task) {
            json_t *b = json_object_get(json_object_get(task, "figures"), "bytes");
            full += b && json_integer_value(b) > (1 << 20);
        }
        json_decref(tasks);
        if (full >= n) return 1;
        usleep(250000);
    }
    return 0;
}

static int servers_of(json_t *doc) { return (int)json_array_size(json_object_get(doc, "servers")); }

/* Waits until replica i publishes n servers spread as want (NULL: any). */
static json_t *wait_spread(it_cluster *c, int i, int n, const int *want, int timeout_ms) {
    for (int t = 0; t < timeout_ms; t += 500) {
        json_t *doc = it_wait_servers(c, i, n, 500);
        if (doc) {
            int z[3];
            per_zone(c, doc, z);
            if (!want || (z[0] == want[0] && z[1] == want[1] && z[2] == want[2])) return doc;
            json_decref(doc);
        }
        usleep(250000);
    }
    return NULL;
}

/* Every stored task record names its agent's fault domain (what a new
 * leader starts from): the count of records with "zone":"<a|b|c>". */
static int records_with_zone(it_cluster *c) {
    zhandle_t *zh = zkt_connect(it_zk_hosts(c), NULL, 10000);
    struct String_vector kids = {0, NULL};
    ck_assert_int_eq(zoo_get_children(zh, "/mcm/state/tasks", 0, &kids), ZOK);
    int n = 0;
    for (int i = 0; i < kids.count; i++) {
        char path[512], buf[4096];
        int len = sizeof(buf) - 1;
        snprintf(path, sizeof(path), "/mcm/state/tasks/%s", kids.data[i]);
        if (zoo_get(zh, path, 0, buf, &len, NULL) != ZOK || len < 0) continue;
        buf[len] = '\0';
        n += strstr(buf, "\"region\":\"r\"") && (strstr(buf, "\"zone\":\"a\"") || strstr(buf, "\"zone\":\"b\"") ||
                                                 strstr(buf, "\"zone\":\"c\""));
    }
    deallocate_String_vector(&kids);
    zookeeper_close(zh);
    return n;
}

static int max3(const int *z) { return z[0] > z[1] ? (z[0] > z[2] ? 0 : 2) : (z[1] > z[2] ? 1 : 2); }

static void scale(it_cluster *c, int leader, int n) {
    char body[64];
    snprintf(body, sizeof(body), "{\"instances\":%d}", n);
    ck_assert_int_eq(it_post(it_replica_port(c, leader), "/v1/scale", body, NULL), 200);
}

START_TEST(test_placement_1_zones_spread_step_down_and_zone_loss) {
    it_opts o = {.agents = 9, .instances = 6, .replicas = 2,
                 .extra = {"--no-autoscale", "--no-warm-transitions", "--drain-time", "2s", NULL},
                 .sim_extra = {"--domains", ZONES, NULL}};
    it_cluster *c = it_start(&o);
    static const int even[] = {2, 2, 2};
    json_t *doc = wait_spread(c, 0, 6, NULL, UP_MS);
    ck_assert_msg(doc != NULL, "6 servers never published (logs in %s)", it_dir(c));
    int z[3];
    per_zone(c, doc, z);
    json_decref(doc);
    ck_assert_msg(z[0] == 2 && z[1] == 2 && z[2] == 2, "6 servers spread %d/%d/%d, not 2/2/2", z[0], z[1], z[2]);

    int leader = it_wait_leader(c, 10000, -1);
    ck_assert_int_ge(leader, 0);
    scale(c, leader, 7);
    doc = wait_spread(c, 0, 7, NULL, UP_MS);
    ck_assert_msg(doc != NULL, "7 servers never published (logs in %s)", it_dir(c));
    per_zone(c, doc, z);
    int full = max3(z);
    ck_assert_msg(z[full] == 3 && z[0] + z[1] + z[2] == 7, "7 servers spread %d/%d/%d", z[0], z[1], z[2]);
    ck_assert_int_eq(records_with_zone(c), 7);
    fill_zone(c, doc, full);
    json_decref(doc);

    /* a new leader that has seen no offer (the fleet is full: offers suppressed) */
    it_replica_signal(c, leader, SIGKILL);
    ck_assert(it_replica_wait_exit(c, leader, 10000));
    int next = it_wait_leader(c, 60000, leader);
    ck_assert_msg(next >= 0, "no new leader (logs in %s)", it_dir(c));
    ck_assert_msg(wait_reported_full(c, next, 3, 30000), "the new leader never saw zone %c's 3 servers filled",
                  'a' + full);
    scale(c, next, 6);
    doc = wait_spread(c, next, 6, even, UP_MS);
    ck_assert_msg(doc != NULL, "the step down did not remove from the fullest zone %c (logs in %s)", 'a' + full,
                  it_dir(c));
    json_decref(doc);

    /* zone c's agents disappear */
    for (int i = 6; i < 9; i++) {
        char path[64];
        snprintf(path, sizeof(path), "/sim/agent/down?agent=%d", i);
        ck_assert_int_eq(it_post(it_sim_port(c), path, NULL, NULL), 200);
    }
    int fewest = 6;
    static const int two_zones[] = {3, 3, 0};
    for (int t = 0; t < UP_MS; t += 250) {
        doc = it_get_json(it_replica_port(c, next), "/v1/servers");
        int n = doc ? servers_of(doc) : 6;
        json_decref(doc);
        fewest = n < fewest ? n : fewest;
        if ((doc = wait_spread(c, next, 6, two_zones, 1)) != NULL) break;
        usleep(250000);
    }
    ck_assert_msg(doc != NULL, "zone c's servers not replaced in zones a and b (logs in %s)", it_dir(c));
    json_decref(doc);
    ck_assert_msg(fewest >= 4, "%d servers published at the worst: more than ceil(6/3) lost", fewest);
    fprintf(stderr, "placement 1: zone c lost, fewest published %d of 6, replaced 3/3 in a/b\n", fewest);
    it_stop(c);
}
END_TEST

/* 1 if the file holds needle. */
static int log_has(const char *path, const char *needle) {
    FILE *f = fopen(path, "r");
    char line[4096];
    int found = 0;
    while (f && !found && fgets(line, sizeof(line), f)) found = strstr(line, needle) != NULL;
    if (f) fclose(f);
    return found;
}

START_TEST(test_placement_2_constraints_honoured_on_launch) {
    it_opts o = {.agents = 5, .instances = 3, .replicas = 1,
                 .extra = {"--no-autoscale", "--no-warm-transitions", "--constraint", "tier:LIKE:cache", "--constraint",
                           "hostname:UNIQUE", NULL},
                 .sim_extra = {"--attributes", "tier:cache|tier:batch|tier:cache;rack:r2|tier:batch|tier:cache",
                               "--agent-hostname", "127.0.0.1|127.0.0.1|localhost|localhost|127.0.0.1", NULL}};
    it_cluster *c = it_start(&o);
    json_t *doc = it_wait_servers(c, 0, 2, UP_MS);
    ck_assert_msg(doc != NULL, "2 servers never published (logs in %s)", it_dir(c));
    json_decref(doc);
    sleep(6);   /* a dozen offer rounds (500 ms) and three refuse times (2 s) */
    json_t *st = it_get_json(it_sim_port(c), "/sim/state");
    ck_assert_ptr_nonnull(st);
    size_t i;
    json_t *task;
    int running = 0, on[5] = {0};
    json_array_foreach(json_object_get(st, "tasks"), i, task) {
        const char *ag = json_string_value(json_object_get(task, "agent_id"));
        const char *s = strrchr(ag, 'S');
        int idx = s ? atoi(s + 1) : -1;
        ck_assert_msg(idx >= 0 && idx < 5, "task on agent %s", ag);
        on[idx]++;
        running += !strcmp(json_string_value(json_object_get(task, "state")), "TASK_RUNNING");
    }
    json_decref(st);
    ck_assert_msg(on[1] == 0 && on[3] == 0, "a server on a tier:batch agent (%d, %d)", on[1], on[3]);
    ck_assert_msg(on[0] + on[4] == 1 && on[2] == 1, "cache agents hold %d, %d and %d servers: one per host wanted",
                  on[0], on[2], on[4]);
    ck_assert_int_eq(running, 2);
    doc = it_get_json(it_replica_port(c, 0), "/v1/servers");
    ck_assert_int_eq(servers_of(doc), 2);   /* desired 3: the third waits for a qualifying agent */
    json_decref(doc);
    char log[1024];
    snprintf(log, sizeof(log), "%s/scheduler-0.log", it_dir(c));
    ck_assert_msg(log_has(log, "declined: tier:LIKE:cache: 'batch' does not qualify"), "no decline logged (%s)", log);
    ck_assert_msg(log_has(log, "declined: hostname:UNIQUE"), "no UNIQUE decline logged (%s)", log);
    it_stop(c);
}
END_TEST

int main(void) {
    Suite *s = suite_create("placement");
    TCase *tc = tcase_create("placement");
    tcase_set_timeout(tc, 400);
    tcase_add_test(tc, test_placement_1_zones_spread_step_down_and_zone_loss);
    tcase_add_test(tc, test_placement_2_constraints_honoured_on_launch);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
