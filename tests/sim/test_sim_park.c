/* test_sim_park.c -- the parked-connection set (src/sim/sim_park.c) on its
 * own: a hang-up runs its callback once, on the set's thread; a cancel wins
 * or loses cleanly; and sim_park_wake_all returns only after a callback the
 * thread had already taken has returned, so mcm-sim never calls
 * MHD_stop_daemon while a connection still waits to be resumed (that race
 * aborted mcm-sim at shutdown in a CI run of test_sim_tasks). */
#include "sim_park.h"
#include "mcm.h"

#include <check.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static atomic_int started, finished, calls;
static atomic_int last_why;

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Stands in for on_park: slow, as a resume under load can be. */
static void slow_cb(void *arg, sim_park_why why) {
    (void)arg;
    atomic_store(&last_why, (int)why);
    atomic_fetch_add(&calls, 1);
    atomic_store(&started, 1);
    sleep_ms(300);
    atomic_store(&finished, 1);
}

static void setup(void) {
    char err[128];
    atomic_store(&started, 0);
    atomic_store(&finished, 0);
    atomic_store(&calls, 0);
    ck_assert_int_eq(sim_park_start(err, sizeof(err)), MCM_OK);
}

static void teardown(void) {
    sim_park_stop();
}

static int wait_for(atomic_int *flag, int ms) {
    for (int i = 0; i < ms / 5 && !atomic_load(flag); i++) sleep_ms(5);
    return atomic_load(flag);
}

START_TEST(test_hangup_runs_callback_once) {
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    uint64_t id = sim_park_add(sv[0], -1, slow_cb, NULL);
    ck_assert(id != 0);
    close(sv[1]);
    ck_assert(wait_for(&finished, 3000));
    ck_assert_int_eq(atomic_load(&last_why), SIM_PARK_HUP);
    ck_assert_int_eq(sim_park_cancel(id), 0);       /* already taken */
    sim_park_wake_all();
    ck_assert_int_eq(atomic_load(&calls), 1);
    close(sv[0]);
}
END_TEST

START_TEST(test_cancel_wins_before_hangup) {
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    uint64_t id = sim_park_add(sv[0], -1, slow_cb, NULL);
    ck_assert_int_eq(sim_park_cancel(id), 1);
    close(sv[1]);
    sleep_ms(100);
    sim_park_wake_all();
    ck_assert_int_eq(atomic_load(&calls), 0);
    ck_assert_int_eq(sim_park_add(-1, -1, slow_cb, NULL), 0);   /* stopping: refused */
    close(sv[0]);
}
END_TEST

START_TEST(test_wake_all_waits_for_a_taken_callback) {
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ck_assert(sim_park_add(sv[0], -1, slow_cb, NULL) != 0);
    close(sv[1]);
    ck_assert(wait_for(&started, 3000));           /* the thread took it and is in it */
    ck_assert_int_eq(atomic_load(&finished), 0);
    sim_park_wake_all();                            /* the list is empty now, but ... */
    int done = atomic_load(&finished);
    ck_assert_msg(done, "sim_park_wake_all returned while a taken callback still ran");
    ck_assert_int_eq(atomic_load(&calls), 1);
    close(sv[0]);
}
END_TEST

START_TEST(test_wake_all_runs_deadlines_as_stop) {
    ck_assert(sim_park_add(-1, -1, slow_cb, NULL) != 0);
    sim_park_wake_all();
    ck_assert_int_eq(atomic_load(&finished), 1);
    ck_assert_int_eq(atomic_load(&last_why), SIM_PARK_STOP);
}
END_TEST

int main(void) {
    Suite *s = suite_create("sim_park");
    TCase *tc = tcase_create("park");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_hangup_runs_callback_once);
    tcase_add_test(tc, test_cancel_wins_before_hangup);
    tcase_add_test(tc, test_wake_all_waits_for_a_taken_callback);
    tcase_add_test(tc, test_wake_all_runs_deadlines_as_stop);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
