/* test_report.c -- the executor report encoding: round trip, version
 * tolerance, malformed input. */
#include "report.h"
#include "mcm.h"

#include <check.h>
#include <string.h>

static char err[256];

START_TEST(test_report_round_trip) {
    report r = {.time_ms = 1700000000123, .bytes = 1000, .limit_maxbytes = 67108864,
                .evictions = 5, .get_hits = 90, .get_misses = 10, .curr_connections = 3,
                .total_items = 42, .cpu_seconds = 1.25, .uptime = 77};
    strcpy(r.task_id, "mcm-1-abc");
    char buf[REPORT_MAX_BYTES];
    int n = report_encode(&r, buf, sizeof(buf));
    ck_assert_int_gt(n, 0);
    report back;
    ck_assert_int_eq(report_decode(buf, (size_t)n, &back, err, sizeof(err)), MCM_OK);
    ck_assert_str_eq(back.task_id, "mcm-1-abc");
    ck_assert_uint_eq(back.limit_maxbytes, 67108864);
    ck_assert_uint_eq(back.get_misses, 10);
    ck_assert(back.cpu_seconds == 1.25);
    ck_assert_int_eq(back.time_ms, 1700000000123);
    ck_assert_int_eq(report_encode(&r, buf, 10), -1);
}
END_TEST

START_TEST(test_report_newer_version_with_extra_fields_accepted) {
    const char *doc = "{\"v\":2,\"task_id\":\"t\",\"time_ms\":1,\"bytes\":1,\"limit_maxbytes\":2,"
                      "\"evictions\":0,\"get_hits\":0,\"get_misses\":0,\"curr_connections\":0,"
                      "\"total_items\":0,\"cpu_seconds\":0,\"new_figure\":[1,2]}";
    report r;
    ck_assert_int_eq(report_decode(doc, strlen(doc), &r, err, sizeof(err)), MCM_OK);
    ck_assert_uint_eq(r.limit_maxbytes, 2);
}
END_TEST

START_TEST(test_report_malformed_rejected) {
    static const char *bad[] = {
        "", "x", "[]", "{}", "{\"task_id\":\"t\"}",
        "{\"v\":0,\"task_id\":\"t\",\"time_ms\":1,\"cpu_seconds\":0}",
        "{\"v\":1,\"task_id\":\"\",\"time_ms\":1,\"cpu_seconds\":0}",
        "{\"v\":1,\"task_id\":\"t\",\"time_ms\":1,\"cpu_seconds\":0}",
        "{\"v\":1,\"task_id\":\"t\",\"time_ms\":1,\"cpu_seconds\":0,\"bytes\":-1,\"limit_maxbytes\":2,"
        "\"evictions\":0,\"get_hits\":0,\"get_misses\":0,\"curr_connections\":0,\"total_items\":0}",
        "{\"v\":1,\"task_id\":\"t\",\"time_ms\":\"1\",\"cpu_seconds\":0}",
    };
    for (size_t i = 0; i < MCM_ARRAY_LEN(bad); i++) {
        report r;
        err[0] = 0;
        ck_assert_msg(report_decode(bad[i], strlen(bad[i]), &r, err, sizeof(err)) == MCM_ERR, "accepted %s", bad[i]);
        ck_assert_msg(err[0], "no reason for %s", bad[i]);
    }
    static char huge[REPORT_MAX_BYTES + 10];
    memset(huge, ' ', sizeof(huge));
    report r;
    ck_assert_int_eq(report_decode(huge, sizeof(huge), &r, err, sizeof(err)), MCM_ERR);
}
END_TEST

int main(void) {
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("report");
    tcase_add_test(tc, test_report_round_trip);
    tcase_add_test(tc, test_report_newer_version_with_extra_fields_accepted);
    tcase_add_test(tc, test_report_malformed_rejected);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
