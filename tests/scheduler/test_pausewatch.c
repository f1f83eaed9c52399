/* test_pausewatch.c -- the stop watch (pausewatch.h): a busy or blocked
 * thread is not a stop; a SIGSTOPped process is, and by how long. */
#include "pausewatch.h"

#include <check.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(int ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0) {}
}

START_TEST(test_pausewatch_busy_caller_is_not_a_stop) {
    pausewatch *w = pw_start();
    ck_assert_ptr_nonnull(w);
    sleep_ms(1500);                          /* the caller blocked for 1.5 s, the process ran */
    int64_t g = pw_take(w);
    ck_assert_msg(g >= 50 && g < 1000, "gap %lld ms", (long long)g);
    ck_assert_int_lt(pw_peek(w), 1000);
    pw_stop(w);
    pw_stop(NULL);
}
END_TEST

/* A child runs the watch; the parent stops it for 1.2 s; the child's next
 * take must report the stop (the exit status carries it in tenths of s). */
START_TEST(test_pausewatch_sees_a_sigstop) {
    int go[2];
    ck_assert_int_eq(pipe(go), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        pausewatch *w = pw_start();
        if (!w) _exit(255);
        pw_take(w);
        char b = 1;
        if (write(go[1], &b, 1) != 1) _exit(254);
        sleep_ms(2500);                      /* stopped somewhere in here */
        int64_t g = pw_take(w);
        pw_stop(w);
        _exit(g / 100 > 200 ? 200 : (int)(g / 100));
    }
    char b;
    ck_assert_int_eq(read(go[0], &b, 1), 1);
    sleep_ms(300);
    kill(pid, SIGSTOP);
    sleep_ms(1200);
    kill(pid, SIGCONT);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st));
    int tenths = WEXITSTATUS(st);
    ck_assert_msg(tenths >= 11 && tenths <= 30, "stop seen as %d tenths of a second", tenths);
}
END_TEST

int main(void) {
    Suite *s = suite_create("pausewatch");
    TCase *tc = tcase_create("pausewatch");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_pausewatch_busy_caller_is_not_a_stop);
    tcase_add_test(tc, test_pausewatch_sees_a_sigstop);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
