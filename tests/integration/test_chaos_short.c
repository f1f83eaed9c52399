/* test_chaos_short.c -- the chaos soak's short mode in the suite (bench/chaos).
 *
 * What: runs bench_chaos --short (20 seeded cycles over a whole loopback
 * installation, every fault kind at least once, 30 % of the later cycles
 * with two faults) and requires 0 violations in its last line; then runs it
 * with --sabotage for two cycles (an untouched memcached killed behind the
 * faults' back, a sanitizer line planted in a log) and requires that both
 * are reported, so the soak's checks are shown to fail when a rule breaks.
 * Why a child process: the benchmark is the one implementation of the soak;
 * the test only judges its output.
 * Thread: the test's main thread. */
#include "harness.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SHORT_BUDGET_MS (12 * 60 * 1000)   /* the bench stops itself after 10 minutes */
#define SABOTAGE_BUDGET_MS (5 * 60 * 1000)
#define POLL_MS 200

static char *slurp(const char *path) {
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot read %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = calloc(1, (size_t)n + 1);
    ck_assert_int_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return s;
}

/* Runs bench_chaos with args; returns its output (stdout and stderr), exit code in *rc. */
static char *run_bench(const char *const *args, int budget_ms, int *rc) {
    char bin[1024], log[1024];
    const char *b = getenv("MCM_BUILD_DIR");
    ck_assert_msg(b != NULL, "MCM_BUILD_DIR not set (run through ctest)");
    snprintf(bin, sizeof(bin), "%s/bench/chaos/bench_chaos", b);
    ck_assert_msg(access(bin, X_OK) == 0, "%s is not built", bin);
    char *dir = th_tempdir();
    snprintf(log, sizeof(log), "%s/bench_chaos.out", dir);
    char *argv[16] = {bin};
    int n = 1;
    for (int i = 0; args[i] && n < 15; i++) argv[n++] = (char *)args[i];
    th_proc *p = th_proc_start(argv, log);
    int st = 0, t = 0;
    while (!th_proc_exited(p, &st) && t < budget_ms) {
        usleep(POLL_MS * 1000);
        t += POLL_MS;
    }
    ck_assert_msg(t < budget_ms, "bench_chaos still running after %d ms (output in %s)", budget_ms, log);
    th_proc_free(p);
    char *out = slurp(log);
    fputs(out, stderr);   /* the cycle lines belong in the test's log */
    th_rmtree(dir);
    free(dir);
    *rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return out;
}

/* The value of name= in the last "seed=" line; -1 if absent. */
static int figure(const char *out, const char *name) {
    const char *last = NULL;
    for (const char *p = out; (p = strstr(p, "seed=")); p++)
        if (p == out || p[-1] == '\n') last = p;
    char pat[64];
    snprintf(pat, sizeof(pat), " %s=", name);
    const char *v = last ? strstr(last, pat) : NULL;
    return v ? atoi(v + strlen(pat)) : -1;
}

START_TEST(test_chaos_short_soak_has_no_violation) {
    const char *args[] = {"--short", NULL};
    int rc;
    char *out = run_bench(args, SHORT_BUDGET_MS, &rc);
    ck_assert_msg(figure(out, "cycles") == 20, "the short soak did not run its 20 cycles");
    ck_assert_msg(figure(out, "violations") == 0, "the short soak reported violations (cycle lines above)");
    ck_assert_msg(rc == 0, "bench_chaos --short exited %d", rc);
    free(out);
}
END_TEST

START_TEST(test_chaos_checks_catch_sabotage) {
    const char *args[] = {"--sabotage", "--cycles", "2", "--seed", "5", NULL};
    int rc;
    char *out = run_bench(args, SABOTAGE_BUDGET_MS, &rc);
    ck_assert_msg(figure(out, "violations") >= 2, "sabotage not reported (%d violations)", figure(out, "violations"));
    ck_assert_msg(strstr(out, "restarted") || strstr(out, "replaced"), "the killed memcached was not reported");
    ck_assert_msg(strstr(out, "sanitizer report"), "the planted sanitizer line was not reported");
    ck_assert_msg(rc == 1, "bench_chaos --sabotage exited %d, not 1", rc);
    free(out);
}
END_TEST

int main(void) {
    Suite *s = suite_create("chaos_short");
    TCase *tc = tcase_create("chaos");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, test_chaos_checks_catch_sabotage);
    tcase_add_test(tc, test_chaos_short_soak_has_no_violation);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
