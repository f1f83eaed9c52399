/* test_deploy_watch_example.c -- docs/examples/watch_example.c (the C example
 * in docs/clients.md) builds and does what the document says against a real
 * ZooKeeper: prints the published list, then each new one; survives the znode
 * holding garbage (keeps the last good list); exits 0 on SIGTERM; refuses bad
 * arguments with a usage line. */
#include "harness.h"
#include "mcm.h"
#include "srvlist.h"

#include <check.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zookeeper/zookeeper.h>

static atomic_int zk_state;
static th_zk *Z;
static zhandle_t *ZH;
static char *DIR_;
static char LOG[4200];

static void session_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    (void)zh, (void)path, (void)ctx;
    if (type == ZOO_SESSION_EVENT) atomic_store(&zk_state, state);
}

static int zk_connected(void *arg) {
    (void)arg;
    return atomic_load(&zk_state) == ZOO_CONNECTED_STATE;
}

static void setup(void) {
    zoo_set_debug_level((ZooLogLevel)0);
    Z = th_zk_start();
    ZH = zookeeper_init(th_zk_hosts(Z), session_watcher, 30000, NULL, NULL, 0);
    ck_assert_ptr_nonnull(ZH);
    ck_assert_msg(th_wait(zk_connected, NULL, 10000), "no ZooKeeper session");
    ck_assert_int_eq(zoo_create(ZH, "/mcm", NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0), ZOK);
    DIR_ = th_tempdir();
    snprintf(LOG, sizeof(LOG), "%s/example.log", DIR_);
}

static void teardown(void) {
    zookeeper_close(ZH);
    th_zk_free(Z);
    if (!getenv("MCM_KEEP_TEST_DIRS")) th_rmtree(DIR_);
    free(DIR_);
}

static void zk_put_raw(const char *data) {
    int rc = zoo_set(ZH, "/mcm/servers", data, (int)strlen(data), -1);
    if (rc == ZNONODE)
        rc = zoo_create(ZH, "/mcm/servers", data, (int)strlen(data), &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
    ck_assert_msg(rc == ZOK, "zk put: %s", zerror(rc));
}

static void zk_put(int n, int64_t version) {
    srvlist *l = srvlist_new();
    l->version = version;
    snprintf(l->updated, sizeof(l->updated), "2026-11-25T06:00:00.000Z");
    for (int i = 0; i < n; i++) {
        char host[32], task[32];
        snprintf(host, sizeof(host), "10.0.0.%d", i + 1);
        snprintf(task, sizeof(task), "mcm-task-%d", i + 1);
        ck_assert_int_eq(srvlist_add(l, host, 31000 + i, task), MCM_OK);
    }
    srvlist_sort(l);
    char *doc = srvlist_to_json(l);
    zk_put_raw(doc);
    free(doc);
    srvlist_free(l);
}

static char *example_path(void) {
    static char p[4096];
    snprintf(p, sizeof(p), "%s/tests/deploy/watch_example", getenv("MCM_BUILD_DIR"));
    return p;
}

static int log_has(void *text) {
    FILE *f = fopen(LOG, "r");
    if (!f) return 0;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, text) != NULL;
}

START_TEST(test_deploy_watch_example_prints_each_list) {
    zk_put(2, 1);
    char *argv[] = {example_path(), (char *)th_zk_hosts(Z), "/mcm/servers", NULL};
    th_proc *p = th_proc_start(argv, LOG);
    ck_assert_msg(th_wait(log_has, "version 1: 2 servers\n  10.0.0.1:31000\n  10.0.0.2:31001\n", 10000),
                  "first list not printed");
    zk_put(3, 2);
    ck_assert_msg(th_wait(log_has, "version 2: 3 servers\n  10.0.0.1:31000\n  10.0.0.2:31001\n  10.0.0.3:31002\n",
                          10000), "second list not printed");
    /* garbage in the znode is not a list: nothing printed, the example keeps running */
    zk_put_raw("{\"version\": 3, \"servers\": \"oops\"}");
    zk_put(1, 4);
    ck_assert_msg(th_wait(log_has, "version 4: 1 servers\n  10.0.0.1:31000\n", 10000), "list after garbage");
    ck_assert(!log_has("version 3"));
    int st = th_proc_stop(p, 5000);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "SIGTERM: wait status %d", st);
    th_proc_free(p);
}
END_TEST

static int exited(void *arg) {
    int st;
    return th_proc_exited(arg, &st);
}

/* Runs the example to completion (it must exit by itself); its wait status. */
static int run_to_exit(char *argv[]) {
    th_proc *p = th_proc_start(argv, LOG);
    ck_assert_msg(th_wait(exited, p, 10000), "%s did not exit by itself", argv[0]);
    int st = th_proc_stop(p, 1000);
    th_proc_free(p);
    return st;
}

START_TEST(test_deploy_watch_example_refuses_bad_arguments) {
    char *none[] = {example_path(), NULL};
    int st = run_to_exit(none);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 2, "no arguments: wait status %d", st);
    ck_assert(log_has("usage: "));
    char *relative[] = {example_path(), (char *)th_zk_hosts(Z), "mcm/servers", NULL};
    st = run_to_exit(relative);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1, "relative path: wait status %d", st);
    ck_assert(log_has("absolute znode path"));
}
END_TEST

int main(void) {
    Suite *s = suite_create("deploy_watch_example");
    TCase *tc = tcase_create("deploy_watch_example");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_deploy_watch_example_prints_each_list);
    tcase_add_test(tc, test_deploy_watch_example_refuses_bad_arguments);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
