/* test_mcd.c -- the executor's memcached handling against real memcached:
 * start on a given port with a derived -m, readiness, figures, crash
 * detection, graceful stop, and start failures with clear reasons. */
#include "harness.h"
#include "mcd.h"
#include "mcm.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static char err[512];

static mcd *start(int port, const char *command, uint64_t mem) {
    mcd_config c = {.command = command, .listen = "127.0.0.1", .port = port, .task_mem_mib = mem};
    return mcd_start(&c, err, sizeof(err));
}

START_TEST(test_mcd_memory_headroom) {
    ck_assert_uint_eq(mcd_memory_limit_mib(64), 48);
    ck_assert_uint_eq(mcd_memory_limit_mib(1024), 922);
    ck_assert_uint_eq(mcd_memory_limit_mib(65536), 65024);
    ck_assert_uint_eq(mcd_memory_limit_mib(10), 8);
}
END_TEST

START_TEST(test_mcd_runs_memcached_and_reports_figures) {
    int port = th_free_port();
    mcd *m = start(port, "memcached", 64);
    ck_assert_ptr_nonnull(m);
    ck_assert_msg(mcd_wait_ready(m, 10000, err, sizeof(err)) == MCM_OK, "%s", err);
    char reply[128];
    th_mc_cmd("127.0.0.1", port, "set k 0 0 3\r\nabc\r\n", reply, sizeof(reply), 2000);
    ck_assert_str_eq(reply, "STORED\r\n");
    th_mc_cmd("127.0.0.1", port, "get k\r\n", reply, sizeof(reply), 2000);
    th_mc_cmd("127.0.0.1", port, "get missing\r\n", reply, sizeof(reply), 2000);
    report r;
    memset(&r, 0, sizeof(r));
    ck_assert_msg(mcd_stats(m, &r, 2000, err, sizeof(err)) == MCM_OK, "%s", err);
    ck_assert_uint_eq(r.limit_maxbytes, 48ull << 20);
    ck_assert_uint_eq(r.get_hits, 1);
    ck_assert_uint_eq(r.get_misses, 1);
    ck_assert_uint_eq(r.total_items, 1);
    ck_assert_uint_gt(r.bytes, 0);
    ck_assert(r.cpu_seconds >= 0);
    ck_assert_int_eq(mcd_exited(m, NULL, 0), 0);
    mcd_stop(m, 2000);
    char why[128];
    ck_assert_int_eq(mcd_exited(m, why, sizeof(why)), 1);
    ck_assert_int_eq(th_mc_cmd("127.0.0.1", port, "version\r\n", reply, sizeof(reply), 300), -1);
    mcd_free(m);
}
END_TEST

static int has_exited(void *arg) { return mcd_exited(arg, NULL, 0); }

START_TEST(test_mcd_detects_a_killed_memcached) {
    int port = th_free_port();
    mcd *m = start(port, "memcached", 32);
    ck_assert_msg(mcd_wait_ready(m, 10000, err, sizeof(err)) == MCM_OK, "%s", err);
    kill(mcd_pid(m), SIGKILL);
    ck_assert(th_wait(has_exited, m, 5000));
    char why[128];
    mcd_exited(m, why, sizeof(why));
    ck_assert_str_eq(why, "memcached was killed by signal 9");
    report r;
    ck_assert_int_eq(mcd_stats(m, &r, 500, err, sizeof(err)), MCM_ERR);
    mcd_free(m);
}
END_TEST

START_TEST(test_mcd_start_failures_have_reasons) {
    mcd *m = start(th_free_port(), "/nonexistent/memcached", 32);
    ck_assert_ptr_nonnull(m);       /* the shell starts; the exec fails */
    ck_assert_int_eq(mcd_wait_ready(m, 5000, err, sizeof(err)), MCM_ERR);
    ck_assert_msg(strstr(err, "exited with status 127"), "%s", err);
    mcd_free(m);
    /* port already taken by another memcached */
    th_mc *other = th_mc_start(16);
    m = start(th_mc_port(other), "memcached", 32);
    ck_assert_int_eq(mcd_wait_ready(m, 5000, err, sizeof(err)), MCM_ERR);
    ck_assert_msg(strstr(err, "exited with status"), "%s", err);
    mcd_free(m);
    th_mc_free(other);
}
END_TEST

int main(void) {
    Suite *s = suite_create("mcd");
    TCase *tc = tcase_create("mcd");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_mcd_memory_headroom);
    tcase_add_test(tc, test_mcd_runs_memcached_and_reports_figures);
    tcase_add_test(tc, test_mcd_detects_a_killed_memcached);
    tcase_add_test(tc, test_mcd_start_failures_have_reasons);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
