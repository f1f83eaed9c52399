/* test_exec_health.c -- the executor's hung-memcached rule: the pure counting
 * (exec_health.h: every verdict and when it is given, with a fake clock), and
 * the non-blocking probe (probe.h) against a real memcached that answers,
 * is stopped (SIGSTOP: it keeps its socket, answers nothing) and continued,
 * and against a closed port. Each poll is timed: none may block. */
#include "exec_health.h"
#include "probe.h"
#include "harness.h"
#include "mcm.h"
#include "util.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* --- counting ------------------------------------------------------------------------ */

START_TEST(test_exec_health_first_probe_due_one_interval_after_running) {
    exec_health h;
    exec_health_init(&h, 5000, 3, 6, 1000);
    ck_assert(!exec_health_due(&h, 1000));
    ck_assert(!exec_health_due(&h, 5999));
    ck_assert(exec_health_due(&h, 6000));
    exec_health_started(&h, 6010);
    ck_assert(!exec_health_due(&h, 11009));
    ck_assert(exec_health_due(&h, 11010));
}
END_TEST

START_TEST(test_exec_health_unhealthy_after_n_then_fail_after_m) {
    exec_health h;
    exec_health_init(&h, 100, 3, 6, 0);
    ck_assert_int_eq(exec_health_result(&h, 0), EH_QUIET);
    ck_assert_int_eq(exec_health_result(&h, 0), EH_QUIET);
    ck_assert(!exec_health_is_unhealthy(&h));
    ck_assert_int_eq(exec_health_result(&h, 0), EH_UNHEALTHY);
    ck_assert(exec_health_is_unhealthy(&h));
    ck_assert_int_eq(exec_health_misses(&h), 3);
    ck_assert_int_eq(exec_health_result(&h, 0), EH_QUIET);    /* told once */
    ck_assert_int_eq(exec_health_result(&h, 0), EH_QUIET);
    ck_assert_int_eq(exec_health_result(&h, 0), EH_FAIL);
    ck_assert_int_eq(exec_health_misses(&h), 6);
    /* sticky: nothing more is due or said, even if it answers now */
    ck_assert(!exec_health_due(&h, 1000000));
    ck_assert_int_eq(exec_health_result(&h, 1), EH_QUIET);
    ck_assert_int_eq(exec_health_result(&h, 0), EH_QUIET);
    ck_assert(exec_health_is_unhealthy(&h));
}
END_TEST

START_TEST(test_exec_health_an_answer_resets_the_count_and_reports_healthy_once) {
    exec_health h;
    exec_health_init(&h, 100, 2, 4, 0);
    ck_assert_int_eq(exec_health_result(&h, 0), EH_QUIET);
    ck_assert_int_eq(exec_health_result(&h, 1), EH_QUIET);   /* never reported unhealthy: nothing to undo */
    ck_assert_int_eq(exec_health_misses(&h), 0);
    ck_assert_int_eq(exec_health_result(&h, 0), EH_QUIET);
    ck_assert_int_eq(exec_health_result(&h, 0), EH_UNHEALTHY);
    ck_assert_int_eq(exec_health_result(&h, 0), EH_QUIET);
    ck_assert_int_eq(exec_health_result(&h, 1), EH_HEALTHY);
    ck_assert(!exec_health_is_unhealthy(&h));
    ck_assert_int_eq(exec_health_result(&h, 1), EH_QUIET);
    /* a new run of failures counts from zero: 3 misses before did not carry over */
    ck_assert_int_eq(exec_health_result(&h, 0), EH_QUIET);
    ck_assert_int_eq(exec_health_result(&h, 0), EH_UNHEALTHY);
    ck_assert_int_eq(exec_health_result(&h, 0), EH_QUIET);
    ck_assert_int_eq(exec_health_result(&h, 0), EH_FAIL);
}
END_TEST

START_TEST(test_exec_health_equal_thresholds_fail_without_unhealthy_first) {
    exec_health h;
    exec_health_init(&h, 100, 2, 2, 0);
    ck_assert_int_eq(exec_health_result(&h, 0), EH_QUIET);
    ck_assert_int_eq(exec_health_result(&h, 0), EH_FAIL);
}
END_TEST

START_TEST(test_exec_health_bad_bounds_are_clamped) {
    exec_health h;
    exec_health_init(&h, 0, 0, -5, 0);          /* interval >= 1, thresholds >= 1 */
    ck_assert(exec_health_due(&h, 1));
    ck_assert_int_eq(exec_health_result(&h, 0), EH_FAIL);
    exec_health_init(&h, 100, 4, 2, 0);         /* fail_after raised to unhealthy_after */
    for (int i = 0; i < 3; i++) ck_assert_int_eq(exec_health_result(&h, 0), EH_QUIET);
    ck_assert_int_eq(exec_health_result(&h, 0), EH_FAIL);
}
END_TEST

/* --- the probe against real memcached ------------------------------------------------------ */

#define POLL_MAX_MS 20     /* a poll that took longer blocked */

/* Polls every 10 ms until an outcome; each poll timed. */
static int run_probe(probe *p, int64_t timeout_ms, char *why, size_t len, int64_t *took_ms) {
    int64_t start = util_now_ms();
    probe_start(p, start, timeout_ms);
    for (;;) {
        int64_t t0 = util_now_ms();
        int r = probe_poll(p, t0, why, len);
        ck_assert_int_le(util_now_ms() - t0, POLL_MAX_MS);
        if (r != PROBE_PENDING) {
            ck_assert(!probe_busy(p));
            *took_ms = util_now_ms() - start;
            return r;
        }
        ck_assert(probe_busy(p));
        util_sleep_ms(10);
    }
}

static pid_t mc_pid(int port) {
    char buf[8192];
    ck_assert_int_gt(th_mc_cmd("127.0.0.1", port, "stats\r\n", buf, sizeof(buf), 2000), 0);
    const char *p = strstr(buf, "STAT pid ");
    ck_assert_ptr_nonnull(p);
    return (pid_t)strtol(p + 9, NULL, 10);
}

START_TEST(test_probe_answers_stopped_continued_memcached) {
    char err[256], why[256] = "";
    int64_t took;
    th_mc *mc = th_mc_start(16);
    ck_assert_ptr_nonnull(mc);
    pid_t pid = mc_pid(th_mc_port(mc));
    probe *p = probe_new("127.0.0.1", th_mc_port(mc), err, sizeof(err));
    ck_assert_msg(p != NULL, "%s", err);
    ck_assert(!probe_busy(p));
    ck_assert_int_eq(probe_poll(p, util_now_ms(), why, sizeof(why)), PROBE_PENDING);   /* idle */

    ck_assert_msg(run_probe(p, 1000, why, sizeof(why), &took) == PROBE_OK, "%s", why);
    ck_assert_int_lt(took, 500);

    kill(pid, SIGSTOP);
    ck_assert_int_eq(run_probe(p, 300, why, sizeof(why), &took), PROBE_FAILED);
    ck_assert_str_eq(why, "no answer to `version` within 300ms");
    ck_assert_int_ge(took, 300);
    ck_assert_int_lt(took, 1000);

    kill(pid, SIGCONT);
    ck_assert_msg(run_probe(p, 1000, why, sizeof(why), &took) == PROBE_OK, "%s", why);

    /* a second start while one is in flight abandons the first */
    kill(pid, SIGSTOP);
    probe_start(p, util_now_ms(), 5000);
    kill(pid, SIGCONT);
    ck_assert_msg(run_probe(p, 1000, why, sizeof(why), &took) == PROBE_OK, "%s", why);
    probe_free(p);
    th_mc_free(mc);
}
END_TEST

START_TEST(test_probe_closed_port_fails_with_the_reason) {
    char err[256], why[256] = "";
    int64_t took;
    probe *p = probe_new("127.0.0.1", th_free_port(), err, sizeof(err));
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(run_probe(p, 1000, why, sizeof(why), &took), PROBE_FAILED);
    ck_assert_msg(strstr(why, "Connection refused") != NULL, "%s", why);
    ck_assert_int_lt(took, 500);
    probe_free(p);
    probe_free(NULL);
}
END_TEST

START_TEST(test_probe_refuses_a_name_it_cannot_connect_to) {
    char err[256];
    ck_assert_ptr_null(probe_new("localhost", 11211, err, sizeof(err)));
    ck_assert_str_eq(err, "probe address 'localhost' is not a numeric IP address");
    probe *p = probe_new("::1", 11211, err, sizeof(err));
    ck_assert_ptr_nonnull(p);
    probe_free(p);
}
END_TEST

/* A service on the port that answers something else than VERSION: the test
 * itself listens, accepts the probe's connection and answers ERROR. */
START_TEST(test_probe_wrong_answer_fails) {
    char err[256], why[256] = "", req[64];
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(lfd, 1), 0);
    ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&a, &al), 0);
    probe *p = probe_new("127.0.0.1", ntohs(a.sin_port), err, sizeof(err));
    probe_start(p, util_now_ms(), 2000);
    int cfd = accept(lfd, NULL, NULL);
    ck_assert_int_ge(cfd, 0);
    int r = PROBE_PENDING;
    for (int i = 0; i < 100 && r == PROBE_PENDING; i++) {   /* until the request is sent */
        r = probe_poll(p, util_now_ms(), why, sizeof(why));
        struct pollfd pf = {.fd = cfd, .events = POLLIN};
        if (poll(&pf, 1, 10) > 0) break;
    }
    ck_assert_int_eq(r, PROBE_PENDING);
    ck_assert_int_gt(recv(cfd, req, sizeof(req) - 1, 0), 0);
    ck_assert_int_eq(send(cfd, "ERROR\r\n", 7, 0), 7);
    int64_t end = util_now_ms() + 2000;
    while ((r = probe_poll(p, util_now_ms(), why, sizeof(why))) == PROBE_PENDING && util_now_ms() < end)
        util_sleep_ms(5);
    ck_assert_int_eq(r, PROBE_FAILED);
    ck_assert_str_eq(why, "unexpected answer to `version`: 'ERROR'");
    probe_free(p);
    close(cfd);
    close(lfd);
}
END_TEST

int main(void) {
    Suite *s = suite_create("exec_health");
    TCase *pure = tcase_create("count");
    tcase_add_test(pure, test_exec_health_first_probe_due_one_interval_after_running);
    tcase_add_test(pure, test_exec_health_unhealthy_after_n_then_fail_after_m);
    tcase_add_test(pure, test_exec_health_an_answer_resets_the_count_and_reports_healthy_once);
    tcase_add_test(pure, test_exec_health_equal_thresholds_fail_without_unhealthy_first);
    tcase_add_test(pure, test_exec_health_bad_bounds_are_clamped);
    suite_add_tcase(s, pure);
    TCase *probe = tcase_create("probe");
    tcase_set_timeout(probe, 30);
    tcase_add_test(probe, test_probe_answers_stopped_continued_memcached);
    tcase_add_test(probe, test_probe_closed_port_fails_with_the_reason);
    tcase_add_test(probe, test_probe_refuses_a_name_it_cannot_connect_to);
    tcase_add_test(probe, test_probe_wrong_answer_fails);
    suite_add_tcase(s, probe);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
