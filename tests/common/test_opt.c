/* test_opt.c -- flags, environment and defaults through a real program
 * (opt_demo): values land where they should, bad values exit 2 with one line
 * that names the flag. */
#include "mcm.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char out[8192], errbuf[8192];

/* Runs opt_demo with args and extra environment; returns its exit status. */
static int run_demo(const char *const *args, const char *const *env) {
    int po[2], pe[2];
    ck_assert(pipe(po) == 0 && pipe(pe) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[32];
        int n = 0;
        static char exe[4096];
        snprintf(exe, sizeof(exe), "%s/tests/common/opt_demo", getenv("MCM_BUILD_DIR"));
        argv[n++] = exe;
        for (int i = 0; args && args[i]; i++) argv[n++] = (char *)args[i];
        argv[n] = NULL;
        clearenv();
        for (int i = 0; env && env[i]; i++) putenv((char *)env[i]);
        dup2(po[1], 1);
        dup2(pe[1], 2);
        execv(exe, argv);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    ssize_t n = read(po[0], out, sizeof(out) - 1);   /* outputs are small */
    out[n > 0 ? n : 0] = 0;
    n = read(pe[0], errbuf, sizeof(errbuf) - 1);
    errbuf[n > 0 ? n : 0] = 0;
    close(po[0]);
    close(pe[0]);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

START_TEST(test_opt_defaults_and_flags) {
    const char *args[] = {"--zk=zk://127.0.0.1:2181/mcm", "--count", "7", "--flag", "--mem=1GiB",
                          "--timeout=500ms", "--format=json", NULL};
    ck_assert_int_eq(run_demo(args, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "name=demo\n"));
    ck_assert_ptr_nonnull(strstr(out, "count=7\n"));
    ck_assert_ptr_nonnull(strstr(out, "flag=1\n"));
    ck_assert_ptr_nonnull(strstr(out, "mem=1073741824\n"));
    ck_assert_ptr_nonnull(strstr(out, "timeout=500\n"));
    ck_assert_ptr_nonnull(strstr(out, "format=json\n"));
    ck_assert_ptr_nonnull(strstr(out, "zk=127.0.0.1:2181/mcm\n"));
    ck_assert_ptr_nonnull(strstr(out, "mem=1073741824\n"));
}
END_TEST

START_TEST(test_opt_environment_and_precedence) {
    const char *env[] = {"MCM_ZK=zk://h:1/x", "MCM_COUNT=9", "MCM_MEM=128", "MCM_NAME=",
                         "MCM_LOG_LEVEL=debug", "MCM_MASTER=zk://m:2181/mesos", NULL};
    ck_assert_int_eq(run_demo(NULL, env), 0);
    ck_assert_ptr_nonnull(strstr(out, "count=9\n"));
    ck_assert_ptr_nonnull(strstr(out, "mem=134217728\n"));   /* plain number = MiB */
    ck_assert_ptr_nonnull(strstr(out, "name=demo\n"));       /* empty variable = unset */
    ck_assert_ptr_nonnull(strstr(out, "loglevel=debug\n"));
    ck_assert_ptr_nonnull(strstr(out, "master=m:2181\n"));
    const char *args[] = {"--count=2", "--no-flag", NULL};
    const char *env2[] = {"MCM_ZK=zk://h:1/x", "MCM_COUNT=9", "MCM_FLAG=true", NULL};
    ck_assert_int_eq(run_demo(args, env2), 0);
    ck_assert_ptr_nonnull(strstr(out, "count=2\n"));         /* flag beats environment */
    ck_assert_ptr_nonnull(strstr(out, "flag=0\n"));
}
END_TEST

START_TEST(test_opt_bad_values_exit_2_with_one_line) {
    static const struct { const char *arg; const char *env; const char *expect; } bad[] = {
        {"--count=abc", NULL, "--count: 'abc' is not a whole number"},
        {"--count=0", NULL, "--count: 0 is out of range [1, 100]"},
        {"--count=101", NULL, "--count"},
        {"--ratio=1.5", NULL, "--ratio"},
        {"--timeout=5x", NULL, "--timeout: '5x' has an unknown unit"},
        {"--timeout=10ms", NULL, "--timeout: 10ms is out of range [100ms, 1h]"},
        {"--mem=lots", NULL, "--mem"},
        {"--listen=nohost", NULL, "--listen"},
        {"--zk=http://a:1/x", NULL, "--zk: 'http://a:1/x' is not a zk:// URL"},
        {"--zk=zk://a:1", NULL, "--zk: 'zk://a:1' has no path"},
        {"--master=http://m1:1,,m2:2", NULL, "--master"},
        {"--master=ftp://m:1", NULL, "--master"},
        {"--format=yaml", NULL, "--format: 'yaml' is not one of plain|json"},
        {"--bogus=1", NULL, "unknown flag '--bogus=1'"},
        {"stray", NULL, "unexpected argument 'stray'"},
        {"--count", NULL, "--count needs a value"},
        {"--log-level=loud", NULL, "--log-level: 'loud' is not a level"},
        {NULL, "MCM_COUNT=x", "--count (from MCM_COUNT): 'x' is not a whole number"},
        {NULL, "MCM_ZK=zk://", "--zk (from MCM_ZK)"},
    };
    for (size_t i = 0; i < MCM_ARRAY_LEN(bad); i++) {
        /* the bad argument goes last, so "--count" really has no value */
        const char *args[] = {"--zk=zk://h:1/x", bad[i].arg, NULL};
        const char *env[] = {bad[i].env, NULL};
        if (bad[i].arg && !strncmp(bad[i].arg, "--zk", 4)) args[0] = bad[i].arg, args[1] = NULL;
        if (bad[i].env && !strncmp(bad[i].env, "MCM_ZK=", 7)) args[0] = NULL;
        ck_assert_msg(run_demo(args, env) == 2, "%s: status not 2", bad[i].arg ? bad[i].arg : bad[i].env);
        ck_assert_msg(strstr(errbuf, bad[i].expect), "%s: stderr was '%s'", bad[i].expect, errbuf);
        ck_assert_msg(count_lines(errbuf) == 1, "more than one line: '%s'", errbuf);
        ck_assert_msg(out[0] == 0, "printed values despite the error");
    }
}
END_TEST

START_TEST(test_opt_required_missing) {
    ck_assert_int_eq(run_demo(NULL, NULL), 2);
    ck_assert_ptr_nonnull(strstr(errbuf, "--zk is required (or set MCM_ZK)"));
}
END_TEST

START_TEST(test_opt_help_and_version) {
    const char *h[] = {"--help", NULL};
    ck_assert_int_eq(run_demo(h, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "--timeout=DURATION"));
    ck_assert_ptr_nonnull(strstr(out, "env MCM_TIMEOUT; default: 10s"));
    ck_assert_ptr_nonnull(strstr(out, "env MCM_ZK; required"));
    ck_assert_ptr_nonnull(strstr(out, "--log-level"));
    const char *v[] = {"--version", NULL};
    ck_assert_int_eq(run_demo(v, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "opt-demo " MCM_VERSION));
}
END_TEST

/* Number of '|' that separate cells (an escaped "\\|" is cell text). */
static int count_cell_bars(const char *line, size_t n) {
    int bars = 0;
    for (size_t i = 0; i < n; i++) bars += line[i] == '|' && (i == 0 || line[i - 1] != '\\');
    return bars;
}

START_TEST(test_opt_help_shows_choices_and_bounds) {
    const char *h[] = {"--help", NULL};
    ck_assert_int_eq(run_demo(h, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "env MCM_FORMAT; default: plain; one of plain|json\n"));
    ck_assert_ptr_nonnull(strstr(out, "env MCM_TIMEOUT; default: 10s; range [100ms, 1h]\n"));
    ck_assert_ptr_nonnull(strstr(out, "env MCM_COUNT; default: 3; range [1, 100]\n"));
    ck_assert_ptr_nonnull(strstr(out, "env MCM_NAME; default: demo\n"));   /* unbounded: nothing added */
}
END_TEST

START_TEST(test_opt_help_markdown_is_one_table_row_per_flag) {
    const char *h[] = {"--help=markdown", NULL};
    ck_assert_int_eq(run_demo(h, NULL), 0);
    static const char head[] = "### opt-demo\n\nDemonstrates every kind of flag.\n\n";
    ck_assert_msg(strncmp(out, head, strlen(head)) == 0, "head: %s", out);
    ck_assert_ptr_nonnull(strstr(out, "\n| flag | environment variable | default | meaning |\n|---|---|---|---|\n"));
    ck_assert_ptr_nonnull(strstr(out, "| `--timeout=DURATION` | `MCM_TIMEOUT` | `10s` | A timeout. (range [100ms, 1h]) |\n"));
    ck_assert_ptr_nonnull(strstr(out, "| `--zk=URL` | `MCM_ZK` | required | ZooKeeper. |\n"));
    ck_assert_ptr_nonnull(strstr(out, "| `--flag` | `MCM_FLAG` | `false` | A switch. |\n"));   /* no =METAVAR */
    ck_assert_ptr_nonnull(strstr(out, "(one of plain\\|json)"));                       /* '|' escaped */
    ck_assert_ptr_nonnull(strstr(out, "Where to listen (&lt;host&gt;:&lt;port&gt;)."));   /* no HTML tags */
    ck_assert_ptr_nonnull(strstr(out, "| `--log-level=LEVEL` | `MCM_LOG_LEVEL` | `info` |"));
    /* every table line has exactly five cell separators; 10 flags + log-level + 2 header lines */
    int rows = 0;
    for (const char *l = out; *l;) {
        size_t n = strcspn(l, "\n");
        if (*l == '|') {
            rows++;
            ck_assert_msg(count_cell_bars(l, n) == 5, "bad row: %.*s", (int)n, l);
        }
        l += n + (l[n] == '\n');
    }
    ck_assert_int_eq(rows, 13);
    const char *bad[] = {"--help=yaml", NULL};
    ck_assert_int_eq(run_demo(bad, NULL), 2);
    ck_assert_ptr_nonnull(strstr(errbuf, "unknown flag '--help=yaml'"));
}
END_TEST

int main(void) {
    Suite *s = suite_create("opt");
    TCase *tc = tcase_create("opt");
    tcase_add_test(tc, test_opt_defaults_and_flags);
    tcase_add_test(tc, test_opt_environment_and_precedence);
    tcase_add_test(tc, test_opt_bad_values_exit_2_with_one_line);
    tcase_add_test(tc, test_opt_required_missing);
    tcase_add_test(tc, test_opt_help_and_version);
    tcase_add_test(tc, test_opt_help_shows_choices_and_bounds);
    tcase_add_test(tc, test_opt_help_markdown_is_one_table_row_per_flag);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
