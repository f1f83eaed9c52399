/* test_sim_cli.c -- mcm-sim's command line and its resources syntax:
 * malformed --resources and too few ports exit 2 with one clear line; the
 * ready line is exact; SIGTERM exits 0. Also the resource arithmetic the
 * allocator relies on (parse, slice, add/sub/contains). */
#include "harness.h"
#include "sim_res.h"
#include "simc.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char *run_to_end(const char *const *args, int *status) {
    char *dir = th_tempdir(), log[600], bin[512];
    snprintf(log, sizeof(log), "%s/out.log", dir);
    snprintf(bin, sizeof(bin), "%s/src/sim/mcm-sim", getenv("MCM_BUILD_DIR"));
    const char *argv[16] = {bin};
    int n = 1;
    for (int i = 0; args[i]; i++) argv[n++] = args[i];
    argv[n] = NULL;
    th_proc *p = th_proc_start((char *const *)argv, log);
    int i = 0;
    while (!th_proc_exited(p, status) && i++ < 500) usleep(10 * 1000);
    ck_assert_msg(i < 500, "mcm-sim did not exit");
    th_proc_free(p);
    FILE *f = fopen(log, "r");
    char *out = calloc(1, 8192);
    size_t len = f ? fread(out, 1, 8191, f) : 0;
    out[len] = 0;
    if (f) fclose(f);
    th_rmtree(dir);
    free(dir);
    return out;
}

static void expect_usage_error(const char *res, const char *needle) {
    const char *args[] = {"--listen", "127.0.0.1:0", "--agents", "3", "--resources", res, NULL};
    int st;
    char *out = run_to_end(args, &st);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 2, "--resources '%s': status %d, output %s", res, st, out);
    ck_assert_msg(strstr(out, needle), "--resources '%s': output '%s' lacks '%s'", res, out, needle);
    int lines = 0;
    for (char *p = out; *p; p++) lines += *p == '\n';
    ck_assert_msg(lines == 1, "--resources '%s': %d lines: %s", res, lines, out);
    free(out);
}

START_TEST(test_sim_malformed_resources_exit_2) {
    expect_usage_error("cpus:abc", "scalar 'abc'");
    expect_usage_error("cpus:-1", "scalar '-1'");
    expect_usage_error("ports:[31000-30000]", "begin <= end");
    expect_usage_error("ports:[1-2,", "ranges");
    expect_usage_error("cpus", "expected name:value");
    expect_usage_error("disk:{a,b}", "set values");
    expect_usage_error("cpus(web):2", "unreserved role");
    expect_usage_error("cpus:1;ports:[1-2]", "fewer than --agents 3");
    expect_usage_error("", "no resources");
}
END_TEST

START_TEST(test_sim_prints_ready_line_and_exits_0_on_sigterm) {
    simc *c = simc_start(NULL);
    ck_assert_int_gt(simc_port(c), 0);
    char want[100];
    snprintf(want, sizeof(want), "mcm-sim listening on http://127.0.0.1:%d\n", simc_port(c));
    ck_assert(simc_log_has(c, want));
    simc_free(c);      /* asserts exit 0 and a clean sanitizer log */
    const char *args[] = {"--agents", "0", NULL};
    int st;
    char *out = run_to_end(args, &st);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2);
    free(out);
}
END_TEST

START_TEST(test_sim_res_parse_slice_and_arithmetic) {
    char err[256], text[512];
    sim_res *r = sim_res_parse("cpus:4;mem:4096;cpus(*):0.5;ports:[31000-31009,31020-31029]", err, sizeof(err));
    ck_assert_msg(r != NULL, "%s", err);
    ck_assert_int_eq((int)sim_res_scalar_milli(r, "cpus"), 4500);
    ck_assert_int_eq((int)sim_res_range_count(r, "ports"), 20);
    sim_res *a = sim_res_slice(r, "ports", 3, 0), *b = sim_res_slice(r, "ports", 3, 2);
    sim_res_format(a, text, sizeof(text));
    ck_assert_str_eq(text, "cpus:4.500;mem:4096;ports:[31000-31005]");
    sim_res_format(b, text, sizeof(text));
    ck_assert_str_eq(text, "cpus:4.500;mem:4096;ports:[31022-31027]");
    ck_assert_ptr_null(sim_res_slice(r, "ports", 21, 0));
    sim_res *need = sim_res_parse("cpus:0.1;ports:[31001-31001]", err, sizeof(err));
    ck_assert(sim_res_contains(a, need));
    sim_res_sub(a, need);
    ck_assert(!sim_res_contains(a, need));
    sim_res_format(a, text, sizeof(text));
    ck_assert_str_eq(text, "cpus:4.400;mem:4096;ports:[31000-31000,31002-31005]");
    sim_res_add(a, need);
    sim_res_format(a, text, sizeof(text));
    ck_assert_str_eq(text, "cpus:4.500;mem:4096;ports:[31000-31005]");
    ck_assert(!sim_res_contains(a, b));
    sim_res_free(r);
    sim_res_free(a);
    sim_res_free(b);
    sim_res_free(need);
}
END_TEST

Suite *suite(void) {
    Suite *s = suite_create("sim_cli");
    TCase *tc = tcase_create("cli");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_sim_malformed_resources_exit_2);
    tcase_add_test(tc, test_sim_prints_ready_line_and_exits_0_on_sigterm);
    tcase_add_test(tc, test_sim_res_parse_slice_and_arithmetic);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
