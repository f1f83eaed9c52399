/* test_detect.c -- zk:// master detection against a real ZooKeeper: lowest
 * json.info_ wins, other names and malformed MasterInfo are skipped, the
 * leader's node going away moves the detector and the scheduler client to the
 * next master. */
#include "mesos_detect.h"
#include "mesos_sched.h"

#include "harness.h"
#include "mcm.h"
#include "opt.h"
#include "peer.h"
#include "util.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zookeeper/zookeeper.h>

static th_zk *zk;

static int connected;
static void conn_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    if (type == ZOO_SESSION_EVENT && state == ZOO_CONNECTED_STATE) __atomic_store_n(&connected, 1, __ATOMIC_SEQ_CST);
}
static int conn_cond(void *arg) {
    return __atomic_load_n(&connected, __ATOMIC_SEQ_CST);
}

static zhandle_t *zk_connect(void) {
    connected = 0;
    zhandle_t *zh = zookeeper_init(th_zk_hosts(zk), conn_watcher, 10000, NULL, NULL, 0);
    ck_assert_ptr_nonnull(zh);
    ck_assert_msg(th_wait(conn_cond, NULL, 10000), "no ZooKeeper session");
    return zh;
}

static void mk(zhandle_t *zh, const char *path, const char *data, int flags, char *out, int outlen) {
    int rc = zoo_create(zh, path, data, data ? (int)strlen(data) : -1, &ZOO_OPEN_ACL_UNSAFE, flags, out, outlen);
    ck_assert_msg(rc == ZOK, "create %s: %s", path, zerror(rc));
}

static void master_node(zhandle_t *zh, const char *root, int port, char *out, int outlen) {
    char json[512], path[256];
    snprintf(json, sizeof(json),
             "{\"address\":{\"hostname\":\"no-such-host.invalid\",\"ip\":\"127.0.0.1\",\"port\":%d},"
             "\"hostname\":\"no-such-host.invalid\",\"id\":\"m-%d\",\"ip\":16777343,\"pid\":\"master@127.0.0.1:%d\","
             "\"port\":%d,\"version\":\"1.11.0\"}", port, port, port, port);
    snprintf(path, sizeof(path), "%s/json.info_", root);
    mk(zh, path, json, ZOO_EPHEMERAL | ZOO_SEQUENCE, out, outlen);
}

typedef struct leader_is {
    mdet *d;
    const char *want;
} leader_is;

static int leader_cond(void *arg) {
    leader_is *l = arg;
    char buf[300];
    uint64_t g = mdet_leader(l->d, buf, sizeof(buf));
    return g > 0 && strcmp(buf, l->want) == 0;
}

static void wait_leader(mdet *d, const char *want) {
    leader_is l = {d, want};
    char buf[300];
    int ok = th_wait(leader_cond, &l, 10000);
    mdet_leader(d, buf, sizeof(buf));
    ck_assert_msg(ok, "leader is '%s', want '%s'", buf, want);
}

START_TEST(test_mesos_detect_parses_master_info) {
    char out[300], err[256];
    const char *full = "{\"address\":{\"hostname\":\"m1\",\"ip\":\"10.0.0.1\",\"port\":5050},\"hostname\":\"m1\","
                       "\"id\":\"x\",\"ip\":16777226,\"pid\":\"master@10.0.0.1:5050\",\"port\":5050}";
    ck_assert_int_eq(mdet_parse_master_info(full, strlen(full), out, sizeof(out), err, sizeof(err)), MCM_OK);
    ck_assert_str_eq(out, "10.0.0.1:5050");
    const char *hostonly = "{\"address\":{\"hostname\":\"m1\",\"port\":5051}}";
    ck_assert_int_eq(mdet_parse_master_info(hostonly, strlen(hostonly), out, sizeof(out), err, sizeof(err)), MCM_OK);
    ck_assert_str_eq(out, "m1:5051");
    const char *top = "{\"hostname\":\"m2\",\"port\":5052}";
    ck_assert_int_eq(mdet_parse_master_info(top, strlen(top), out, sizeof(out), err, sizeof(err)), MCM_OK);
    ck_assert_str_eq(out, "m2:5052");
    const char *legacy = "{\"ip\":16777226,\"port\":5050}";
    ck_assert_int_eq(mdet_parse_master_info(legacy, strlen(legacy), out, sizeof(out), err, sizeof(err)), MCM_OK);
    ck_assert_str_eq(out, "10.0.0.1:5050");
    const char *v6 = "{\"address\":{\"ip\":\"::1\",\"port\":5050}}";
    ck_assert_int_eq(mdet_parse_master_info(v6, strlen(v6), out, sizeof(out), err, sizeof(err)), MCM_OK);
    ck_assert_str_eq(out, "[::1]:5050");
    const char *bad[] = {"", "not json", "[1,2]", "{\"address\":{\"ip\":\"10.0.0.1\"}}",
                         "{\"address\":{\"ip\":\"10.0.0.1\",\"port\":70000}}", "{\"hostname\":\"h\",\"port\":\"5050\"}",
                         "{\"address\":{\"ip\":\"\",\"port\":5050}}"};
    for (size_t i = 0; i < MCM_ARRAY_LEN(bad); i++)
        ck_assert_msg(mdet_parse_master_info(bad[i], strlen(bad[i]), out, sizeof(out), err, sizeof(err)) == MCM_ERR,
                      "accepted %s", bad[i]);
}
END_TEST

START_TEST(test_mesos_detect_lowest_json_info_wins_and_moves) {
    zhandle_t *zh = zk_connect();
    char a[256], b[256], junk[256];
    mk(zh, "/mesos", NULL, 0, NULL, 0);
    mk(zh, "/mesos/log_replicas", "x", 0, NULL, 0);
    mk(zh, "/mesos/info_", "\x08\x01binary", ZOO_EPHEMERAL | ZOO_SEQUENCE, NULL, 0);   /* legacy: skipped */
    mk(zh, "/mesos/json.info_", "{not json", ZOO_EPHEMERAL | ZOO_SEQUENCE, junk, sizeof(junk));
    master_node(zh, "/mesos", 5050, a, sizeof(a));
    master_node(zh, "/mesos", 5051, b, sizeof(b));
    char err[256];
    mdet *d = mdet_new(th_zk_hosts(zk), "/mesos", 10000, err, sizeof(err));
    ck_assert_msg(d != NULL, "%s", err);
    wait_leader(d, "127.0.0.1:5050");   /* the malformed lower one was skipped */
    char buf[300];
    uint64_t g1 = mdet_leader(d, buf, sizeof(buf));
    ck_assert_int_eq(zoo_delete(zh, a, -1), ZOK);
    wait_leader(d, "127.0.0.1:5051");
    uint64_t g2 = mdet_leader(d, buf, sizeof(buf));
    ck_assert(g2 > g1);
    ck_assert_int_eq(zoo_delete(zh, junk, -1), ZOK);   /* no leader change: no new generation */
    util_sleep_ms(300);
    ck_assert(mdet_leader(d, buf, sizeof(buf)) == g2);
    ck_assert_int_eq(zoo_delete(zh, b, -1), ZOK);
    wait_leader(d, "");
    char c[256];
    master_node(zh, "/mesos", 5052, c, sizeof(c));
    uint64_t g3 = mdet_leader(d, buf, sizeof(buf));
    ck_assert(mdet_wait(d, g3, 10000) > g3);
    wait_leader(d, "127.0.0.1:5052");
    mdet_free(d);
    mdet_free(NULL);
    zookeeper_close(zh);
}
END_TEST

START_TEST(test_mesos_detect_path_created_later) {
    zhandle_t *zh = zk_connect();
    char err[256];
    mdet *d = mdet_new(th_zk_hosts(zk), "/later/mesos", 10000, err, sizeof(err));
    ck_assert_msg(d != NULL, "%s", err);
    wait_leader(d, "");   /* answered: no such path, no leader */
    mk(zh, "/later", NULL, 0, NULL, 0);
    mk(zh, "/later/mesos", NULL, 0, NULL, 0);
    char a[256];
    master_node(zh, "/later/mesos", 6000, a, sizeof(a));
    wait_leader(d, "127.0.0.1:6000");
    mdet_free(d);
    zookeeper_close(zh);
}
END_TEST

START_TEST(test_mesos_detect_bad_arguments) {
    char err[256];
    ck_assert_ptr_null(mdet_new("", "/mesos", 0, err, sizeof(err)));
    ck_assert_ptr_null(mdet_new("127.0.0.1:1", "mesos", 0, err, sizeof(err)));
    ck_assert_msg(strstr(err, "absolute path"), "%s", err);
}
END_TEST

/* --- the scheduler client follows a failover --------------------------------- */

typedef struct rec {
    pthread_mutex_t mu;
    int ndown;
    char why[8][512];
} rec;

static void on_event(void *ctx, Mesos__V1__Scheduler__Event *ev) {
    mesos__v1__scheduler__event__free_unpacked(ev, NULL);
}

static void on_down(void *ctx, const char *why) {
    rec *r = ctx;
    pthread_mutex_lock(&r->mu);
    if (r->ndown < 8) snprintf(r->why[r->ndown], sizeof(r->why[0]), "%s", why);
    r->ndown++;
    pthread_mutex_unlock(&r->mu);
}

typedef struct sub_at {
    mesos_sched *s;
    const char *url;
} sub_at;

static int sub_at_cond(void *arg) {
    sub_at *w = arg;
    char buf[256];
    mesos_sched_master_url(w->s, buf, sizeof(buf));
    return mesos_sched_subscribed(w->s) && strcmp(buf, w->url) == 0;
}

START_TEST(test_mesos_detect_scheduler_follows_leader_failover) {
    zhandle_t *zh = zk_connect();
    peer *pa = peer_start(), *pb = peer_start();
    char a[256], b[256], master[256], err[256];
    mk(zh, "/fo", NULL, 0, NULL, 0);
    master_node(zh, "/fo", peer_port(pa), a, sizeof(a));
    master_node(zh, "/fo", peer_port(pb), b, sizeof(b));
    snprintf(master, sizeof(master), "zk://%s/fo", th_zk_hosts(zk));
    opt_master om;
    ck_assert_msg(opt_parse_master(master, &om, err, sizeof(err)) == MCM_OK, "%s", err);
    rec r = {.mu = PTHREAD_MUTEX_INITIALIZER};
    mesos_sched_config cfg = {.master = &om, .user = "nobody", .name = "mcm-test", .role = "mcm",
                              .failover_timeout_s = 3600, .backoff_min_ms = 20, .backoff_max_ms = 200,
                              .subscribe_timeout_ms = 3000};
    mesos_sched_callbacks cb = {&r, on_event, on_down, NULL};
    mesos_sched *s = mesos_sched_new(&cfg, &cb, err, sizeof(err));
    ck_assert_msg(s != NULL, "%s", err);
    ck_assert_int_eq(mesos_sched_start(s, NULL), MCM_OK);
    sub_at wa = {s, peer_url(pa)};
    ck_assert_msg(th_wait(sub_at_cond, &wa, 10000), "not subscribed to master A");
    /* A's ZooKeeper node goes (A lost leadership); its stream stays open, but
     * the client must leave it for B. */
    ck_assert_int_eq(zoo_delete(zh, a, -1), ZOK);
    sub_at wb = {s, peer_url(pb)};
    ck_assert_msg(th_wait(sub_at_cond, &wb, 10000), "did not move to master B");
    pthread_mutex_lock(&r.mu);
    ck_assert_int_eq(r.ndown, 1);
    ck_assert_msg(strstr(r.why[0], "leading master changed from 127.0.0.1:") != NULL, "%s", r.why[0]);
    pthread_mutex_unlock(&r.mu);
    peer_req req;
    ck_assert_int_eq(peer_requests(pb, &req, 1), 1);
    ck_assert_str_eq(req.info_fwid, "fw-1");   /* same framework, new master */
    mesos_sched_free(s);
    opt_master_free(&om);
    peer_free(pa);
    peer_free(pb);
    zookeeper_close(zh);
}
END_TEST

START_TEST(test_mesos_detect_scheduler_reports_no_leader) {
    char master[256], err[256];
    snprintf(master, sizeof(master), "zk://%s/empty", th_zk_hosts(zk));
    opt_master om;
    ck_assert_int_eq(opt_parse_master(master, &om, err, sizeof(err)), MCM_OK);
    rec r = {.mu = PTHREAD_MUTEX_INITIALIZER};
    mesos_sched_config cfg = {.master = &om, .user = "nobody", .name = "t", .backoff_min_ms = 20,
                              .backoff_max_ms = 100, .subscribe_timeout_ms = 300};
    mesos_sched_callbacks cb = {&r, on_event, on_down, NULL};
    mesos_sched *s = mesos_sched_new(&cfg, &cb, err, sizeof(err));
    ck_assert_int_eq(mesos_sched_start(s, NULL), MCM_OK);
    /* The first attempts may time out reaching ZooKeeper on a loaded
     * machine (300 ms); one of the reasons must name the missing master. */
    int named = 0;
    for (int t = 0; t < 5000 && !named; t += 100) {
        util_sleep_ms(100);
        pthread_mutex_lock(&r.mu);
        for (int i = 0; i < r.ndown && i < 8 && !named; i++)
            named = strstr(r.why[i], "no leading Mesos master in zk://") != NULL;
        pthread_mutex_unlock(&r.mu);
    }
    pthread_mutex_lock(&r.mu);
    ck_assert_msg(named, "%d downs, none for the missing master; first: %s", r.ndown, r.ndown ? r.why[0] : "");
    pthread_mutex_unlock(&r.mu);
    int64_t t0 = util_now_ms();
    mesos_sched_stop(s);
    ck_assert_int_lt(util_now_ms() - t0, 500);
    mesos_sched_free(s);
    opt_master_free(&om);
}
END_TEST

static void setup(void) {
    zoo_set_debug_level((ZooLogLevel)0);
    zk = th_zk_start();
}

static void teardown(void) {
    th_zk_free(zk);
}

int main(void) {
    Suite *s = suite_create("mesos_detect");
    TCase *pure = tcase_create("pure");
    tcase_add_test(pure, test_mesos_detect_parses_master_info);
    tcase_add_test(pure, test_mesos_detect_bad_arguments);
    suite_add_tcase(s, pure);
    TCase *tc = tcase_create("zookeeper");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_mesos_detect_lowest_json_info_wins_and_moves);
    tcase_add_test(tc, test_mesos_detect_path_created_later);
    tcase_add_test(tc, test_mesos_detect_scheduler_follows_leader_failover);
    tcase_add_test(tc, test_mesos_detect_scheduler_reports_no_leader);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
