/* test_harness.c -- the harness's real servers work: a ZooKeeper round trip
 * with a watch, the server stopped and restarted under a live session, and a
 * memcached set/get. */
#include "harness.h"

#include <check.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zookeeper/zookeeper.h>

static atomic_int zk_state;        /* last session state seen by the watcher */
static atomic_int data_changes;    /* ZOO_CHANGED_EVENTs seen by the data watch */

static void session_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    if (type == ZOO_SESSION_EVENT) atomic_store(&zk_state, state);
}

static void data_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    if (type == ZOO_CHANGED_EVENT) atomic_fetch_add(&data_changes, 1);
}

static int is_connected(void *arg) { return atomic_load(&zk_state) == ZOO_CONNECTED_STATE; }
static int not_connected(void *arg) { return atomic_load(&zk_state) != ZOO_CONNECTED_STATE; }
static int watch_fired(void *arg) { return atomic_load(&data_changes) > 0; }

static zhandle_t *connect_zk(th_zk *z, int timeout_ms) {
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    atomic_store(&zk_state, 0);
    zhandle_t *zh = zookeeper_init(th_zk_hosts(z), session_watcher, timeout_ms, NULL, NULL, 0);
    ck_assert_ptr_nonnull(zh);
    ck_assert_msg(th_wait(is_connected, NULL, 10000), "no ZooKeeper session");
    return zh;
}

START_TEST(test_harness_zookeeper_round_trip) {
    th_zk *z = th_zk_start();
    zhandle_t *zh = connect_zk(z, 5000);
    char buf[64];
    int len = sizeof(buf);
    struct Stat st;
    ck_assert_int_eq(zoo_create(zh, "/rt", "one", 3, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0), ZOK);
    ck_assert_int_eq(zoo_wget(zh, "/rt", data_watcher, NULL, buf, &len, &st), ZOK);
    ck_assert_int_eq(len, 3);
    ck_assert(memcmp(buf, "one", 3) == 0);
    ck_assert_int_eq(atomic_load(&data_changes), 0);
    ck_assert_int_eq(zoo_set(zh, "/rt", "two", 3, -1), ZOK);
    ck_assert_msg(th_wait(watch_fired, NULL, 5000), "the data watch did not fire on set");
    len = sizeof(buf);
    ck_assert_int_eq(zoo_get(zh, "/rt", 0, buf, &len, &st), ZOK);
    ck_assert(len == 3 && memcmp(buf, "two", 3) == 0);
    ck_assert_int_eq(zoo_delete(zh, "/rt", -1), ZOK);
    ck_assert_int_eq(zoo_exists(zh, "/rt", 0, &st), ZNONODE);
    zookeeper_close(zh);
    th_zk_free(z);
}
END_TEST

START_TEST(test_harness_zookeeper_stop_and_restart) {
    th_zk *z = th_zk_start();
    zhandle_t *zh = connect_zk(z, 10000);
    ck_assert_int_eq(zoo_create(zh, "/kept", "x", 1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0), ZOK);
    ck_assert_int_eq(zoo_create(zh, "/eph", "x", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, NULL, 0), ZOK);
    int64_t session = zoo_client_id(zh)->client_id;
    th_zk_stop(z, 1);
    ck_assert(!th_zk_running(z));
    ck_assert_msg(th_wait(not_connected, NULL, 10000), "client did not notice the server stop");
    struct Stat st;
    ck_assert_int_ne(zoo_exists(zh, "/kept", 0, &st), ZOK);
    th_zk_restart(z);
    ck_assert(th_zk_running(z));
    ck_assert_msg(th_wait(is_connected, NULL, 15000), "client did not reconnect after restart");
    ck_assert(zoo_client_id(zh)->client_id == session);      /* same session survived */
    ck_assert_int_eq(zoo_exists(zh, "/kept", 0, &st), ZOK);
    ck_assert_int_eq(zoo_exists(zh, "/eph", 0, &st), ZOK);   /* its ephemeral too */
    zookeeper_close(zh);
    th_zk_free(z);
}
END_TEST

START_TEST(test_harness_memcached_set_get) {
    th_mc *m = th_mc_start(16);
    char reply[256];
    ck_assert_int_gt(th_mc_cmd("127.0.0.1", th_mc_port(m), "set k 0 0 5\r\nhello\r\n", reply, sizeof(reply), 2000), 0);
    ck_assert_str_eq(reply, "STORED\r\n");
    ck_assert_int_gt(th_mc_cmd("127.0.0.1", th_mc_port(m), "get k\r\n", reply, sizeof(reply), 2000), 0);
    ck_assert_str_eq(reply, "VALUE k 0 5\r\nhello\r\nEND\r\n");
    int port = th_mc_port(m);
    th_mc_free(m);
    ck_assert_int_eq(th_mc_cmd("127.0.0.1", port, "version\r\n", reply, sizeof(reply), 500), -1);
}
END_TEST

START_TEST(test_harness_child_dies_with_its_test) {
    /* A child of a crashed test process must not survive it (PDEATHSIG). */
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t tester = fork();
    if (tester == 0) {
        char *argv[] = {"sleep", "60", NULL};
        th_proc *p = th_proc_start(argv, NULL);
        pid_t pid = th_proc_pid(p);
        ck_assert(write(fds[1], &pid, sizeof(pid)) == sizeof(pid));
        raise(SIGKILL);                       /* crash without cleanup */
    }
    pid_t child;
    ck_assert(read(fds[0], &child, sizeof(child)) == sizeof(child));
    waitpid(tester, NULL, 0);
    int gone = 0;
    for (int i = 0; i < 200 && !gone; i++) {
        char path[64], state = 0;
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)child);
        FILE *f = fopen(path, "r");
        if (!f) { gone = 1; break; }
        if (fscanf(f, "%*d %*s %c", &state) == 1 && state == 'Z') gone = 1;
        fclose(f);
        usleep(10000);
    }
    ck_assert_msg(gone, "child %d outlived its crashed test process", (int)child);
}
END_TEST

int main(void) {
    Suite *s = suite_create("harness");
    TCase *tc = tcase_create("servers");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_harness_zookeeper_round_trip);
    tcase_add_test(tc, test_harness_zookeeper_stop_and_restart);
    tcase_add_test(tc, test_harness_memcached_set_get);
    tcase_add_test(tc, test_harness_child_dies_with_its_test);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
