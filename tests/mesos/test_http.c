/* test_http.c -- the HTTP helpers of the Mesos clients: 307 Location
 * resolution (scheme-less, absolute, path-only, junk), header and status
 * lines, media types, Basic auth, error-body text, base URLs. */
#include "mesos_http.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static void resolves(const char *from, const char *loc, const char *want) {
    char *got = mesos_http_resolve(from, loc);
    if (!want) {
        ck_assert_msg(got == NULL, "%s + %s gave %s", from, loc ? loc : "NULL", got ? got : "NULL");
        return;
    }
    ck_assert_msg(got && strcmp(got, want) == 0, "%s + %s gave %s, want %s", from, loc, got ? got : "NULL", want);
    free(got);
}

START_TEST(test_mesos_http_location_resolution) {
    const char *from = "http://10.0.0.1:5050/api/v1/scheduler";
    resolves(from, "//10.0.0.2:5050/master/api/v1/scheduler", "http://10.0.0.2:5050/master/api/v1/scheduler");
    resolves("https://m:5050/api/v1/scheduler", "//n:5051/api/v1/scheduler", "https://n:5051/api/v1/scheduler");
    resolves(from, "http://m2:5050/api/v1/scheduler", "http://m2:5050/api/v1/scheduler");
    resolves(from, "HTTPS://m2/x", "HTTPS://m2/x");
    resolves(from, "/master/api/v1/scheduler", "http://10.0.0.1:5050/master/api/v1/scheduler");
    resolves("http://h:1", "/x", "http://h:1/x");
    resolves(from, "", NULL);
    resolves(from, NULL, NULL);
    resolves(from, "api/v1/scheduler", NULL);
    resolves(from, "ftp://x/y", NULL);
    resolves("not a url", "//h:1/x", NULL);
}
END_TEST

START_TEST(test_mesos_http_header_and_status_lines) {
    char v[16];
    const char *l = "Mesos-Stream-Id:   abc-def \r\n";
    ck_assert_int_eq(mesos_http_header(l, strlen(l), "mesos-stream-id", v, sizeof(v)), 1);
    ck_assert_str_eq(v, "abc-def");
    ck_assert_int_eq(mesos_http_header(l, strlen(l), "Mesos-Stream", v, sizeof(v)), 0);
    ck_assert_int_eq(mesos_http_header(l, strlen(l), "Location", v, sizeof(v)), 0);
    const char *longv = "Location: 0123456789abcdefghijklmnop\r\n";
    ck_assert_int_eq(mesos_http_header(longv, strlen(longv), "Location", v, sizeof(v)), 1);
    ck_assert_str_eq(v, "0123456789abcde");   /* truncated, terminated */
    const char *empty = "Location:\r\n";
    ck_assert_int_eq(mesos_http_header(empty, strlen(empty), "Location", v, sizeof(v)), 1);
    ck_assert_str_eq(v, "");
    ck_assert_int_eq(mesos_http_status_line("HTTP/1.1 307 Temporary Redirect\r\n", 34), 307);
    ck_assert_int_eq(mesos_http_status_line("HTTP/2 200 \r\n", 13), 200);
    ck_assert_int_eq(mesos_http_status_line("HTTP/1.1 2x0 OK\r\n", 17), 0);
    ck_assert_int_eq(mesos_http_status_line("Content-Type: x\r\n", 17), 0);
    ck_assert_int_eq(mesos_http_status_line("HTTP/1.1", 8), 0);
}
END_TEST

START_TEST(test_mesos_http_media_type_auth_body_base) {
    ck_assert(mesos_http_is_protobuf("application/x-protobuf"));
    ck_assert(mesos_http_is_protobuf("Application/X-Protobuf; charset=binary"));
    ck_assert(!mesos_http_is_protobuf("application/x-protobufs"));
    ck_assert(!mesos_http_is_protobuf("application/json"));
    ck_assert(!mesos_http_is_protobuf(""));
    char *a = mesos_http_basic_auth("mcm", "s3cret");
    ck_assert_str_eq(a, "Authorization: Basic bWNtOnMzY3JldA==");
    free(a);
    a = mesos_http_basic_auth("a", "bc");   /* "a:bc": no padding */
    ck_assert_str_eq(a, "Authorization: Basic YTpiYw==");
    free(a);
    a = mesos_http_basic_auth("ab", "c");   /* "ab:c" */
    ck_assert_str_eq(a, "Authorization: Basic YWI6Yw==");
    free(a);
    a = mesos_http_basic_auth("p", "");     /* "p:" */
    ck_assert_str_eq(a, "Authorization: Basic cDo=");
    free(a);
    char t[16];
    mesos_http_body_text("  line1\nline2\t\r\n", 16, t, sizeof(t));
    ck_assert_str_eq(t, "line1 line2");
    mesos_http_body_text("0123456789abcdefghij", 20, t, sizeof(t));
    ck_assert_str_eq(t, "0123456789abcde");
    mesos_http_body_text("", 0, t, sizeof(t));
    ck_assert_str_eq(t, "");
    char b[64];
    mesos_http_base_url("http://h:5050/api/v1/scheduler", b, sizeof(b));
    ck_assert_str_eq(b, "http://h:5050");
    mesos_http_base_url("http://h:5050/master/api/v1/scheduler", b, sizeof(b));
    ck_assert_str_eq(b, "http://h:5050");
    mesos_http_base_url("http://h:5050/proxy/api/v1/scheduler", b, sizeof(b));
    ck_assert_str_eq(b, "http://h:5050/proxy");
    mesos_http_base_url("", b, sizeof(b));
    ck_assert_str_eq(b, "");
}
END_TEST

int main(void) {
    Suite *s = suite_create("mesos_http");
    TCase *tc = tcase_create("http");
    tcase_add_test(tc, test_mesos_http_location_resolution);
    tcase_add_test(tc, test_mesos_http_header_and_status_lines);
    tcase_add_test(tc, test_mesos_http_media_type_auth_body_base);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
