/* test_config.c -- mcm-scheduler's cross-flag checks: each bad combination
 * is a usage error (2), a good command line runs (OPT_CONTINUE). */
#include "config.h"
#include "mcm.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int parse(const char *const *args) {
    char *argv[32];
    int argc = 0;
    argv[argc++] = "mcm-scheduler";
    for (int i = 0; args[i] && argc < 31; i++) argv[argc++] = (char *)args[i];
    argv[argc] = NULL;
    sched_config cfg;
    int rc = sched_config_parse(&cfg, argc, argv);
    sched_config_free(&cfg);
    return rc;
}

START_TEST(test_config_cross_checks_are_usage_errors) {
    static const char *const bad[][8] = {
        {"--zk", "zk://a:2181/", "--master", "http://m:5050", NULL},
        {"--zk", "zk://a:2181/mcm", "--master", "http://m:5050", "--advertise-url", "foo", NULL},
        {"--zk", "zk://a:2181/mcm", "--master", "http://m:5050", "--advertise-url", "http://a:1,b:2", NULL},
        {"--zk", "zk://a:2181/mcm", "--master", "http://m:5050", "--instances", "200", NULL},
        {"--zk", "zk://a:2181/mcm", "--master", "http://m:5050", "--scale-down-mem", "0.9", NULL},
        {"--zk", "zk://a:2181/mcm", "--master", "http://m:5050", "--secret-file", "/x", NULL},
        {"--zk", "zk://a:2181/mcm", "--master", "http://m1:5050,http:", NULL},
    };
    for (size_t i = 0; i < MCM_ARRAY_LEN(bad); i++) ck_assert_msg(parse(bad[i]) == 2, "case %zu accepted", i);
    static const char *const good[] = {"--zk", "zk://a:2181/mcm", "--master", "http://m1:5050,http://m2:5050",
                                       "--advertise-url", "http://sched1:8080", NULL};
    ck_assert_int_eq(parse(good), OPT_CONTINUE);
}
END_TEST

/* Parses into cfg (caller frees) with stderr captured into err. */
static int parse_cfg(const char *const *args, sched_config *cfg, char *err, size_t len) {
    char *argv[32];
    int argc = 0;
    argv[argc++] = "mcm-scheduler";
    for (int i = 0; args[i] && argc < 31; i++) argv[argc++] = (char *)args[i];
    argv[argc] = NULL;
    fflush(stderr);
    FILE *tmp = tmpfile();
    ck_assert_ptr_nonnull(tmp);
    int saved = dup(2);
    dup2(fileno(tmp), 2);
    int rc = sched_config_parse(cfg, argc, argv);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(tmp);
    size_t n = fread(err, 1, len - 1, tmp);
    err[n] = '\0';
    fclose(tmp);
    return rc;
}

START_TEST(test_config_constraints_repeatable_and_checked) {
    sched_config cfg;
    char err[1024];
    static const char *const two[] = {"--zk", "zk://a:2181/mcm", "--master", "http://m:5050", "--constraint",
                                      "tier:LIKE:cache", "--constraint=hostname:UNIQUE", NULL};
    ck_assert_int_eq(parse_cfg(two, &cfg, err, sizeof(err)), OPT_CONTINUE);
    ck_assert_int_eq(cfg.constraints.n, 2);
    ck_assert_str_eq(cfg.constraints.v[0], "tier:LIKE:cache");
    ck_assert_str_eq(cfg.constraints.v[1], "hostname:UNIQUE");
    ck_assert_int_eq(cfg.zone_spread, 1);                      /* on by default */
    sched_config_free(&cfg);
    ck_assert_int_eq(cfg.constraints.n, 0);
    /* the environment: one per line (blank lines skipped); the command line wins */
    setenv("MCM_CONSTRAINT", "rack:GROUP_BY:3\n\nzone:MAX_PER:2\n", 1);
    static const char *const none[] = {"--zk", "zk://a:2181/mcm", "--master", "http://m:5050", "--no-zone-spread", NULL};
    ck_assert_int_eq(parse_cfg(none, &cfg, err, sizeof(err)), OPT_CONTINUE);
    ck_assert_int_eq(cfg.constraints.n, 2);
    ck_assert_str_eq(cfg.constraints.v[1], "zone:MAX_PER:2");
    ck_assert_int_eq(cfg.zone_spread, 0);
    sched_config_free(&cfg);
    ck_assert_int_eq(parse_cfg(two, &cfg, err, sizeof(err)), OPT_CONTINUE);
    ck_assert_int_eq(cfg.constraints.n, 2);
    ck_assert_str_eq(cfg.constraints.v[0], "tier:LIKE:cache");
    sched_config_free(&cfg);
    setenv("MCM_CONSTRAINT", "rack:GROUP_BY:x", 1);           /* malformed from the environment too */
    ck_assert_int_eq(parse_cfg(none, &cfg, err, sizeof(err)), 2);
    ck_assert_msg(strstr(err, "GROUP_BY takes a group count") != NULL, "%s", err);
    sched_config_free(&cfg);
    unsetenv("MCM_CONSTRAINT");
    /* each malformed form: a usage error carrying the parser's message */
    static const char *const bad[][2] = {
        {"rack", "expected field:OPERATOR"}, {"rack:BOGUS", "unknown operator 'BOGUS'"},
        {"hostname:UNIQUE:x", "UNIQUE takes no value"}, {"tier:LIKE:(", "bad regular expression"},
        {"zone:MAX_PER:0", "MAX_PER's count"}, {"@rack:UNIQUE", "unknown field @rack"},
    };
    for (size_t i = 0; i < MCM_ARRAY_LEN(bad); i++) {
        const char *args[] = {"--zk", "zk://a:2181/mcm", "--master", "http://m:5050", "--constraint=hostname:UNIQUE",
                              "--constraint", bad[i][0], NULL};
        ck_assert_int_eq(parse_cfg(args, &cfg, err, sizeof(err)), 2);
        ck_assert_msg(strstr(err, "mcm-scheduler: --constraint: ") && strstr(err, bad[i][1]) &&
                          strstr(err, bad[i][0]),
                      "%s: %s", bad[i][0], err);
        ck_assert_ptr_null(strchr(strchr(err, '\n') + 1, '\n'));   /* one line */
        sched_config_free(&cfg);
    }
}
END_TEST

int main(void) {
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, test_config_cross_checks_are_usage_errors);
    tcase_add_test(tc, test_config_constraints_repeatable_and_checked);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
