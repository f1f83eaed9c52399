/* test_config.c -- mcm-scheduler's cross-flag checks: each bad combination
 * is a usage error (2), a good command line runs (OPT_CONTINUE). */
#include "config.h"
#include "mcm.h"

#include <check.h>
#include <stdlib.h>

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

int main(void) {
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, test_config_cross_checks_are_usage_errors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
