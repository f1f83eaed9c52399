/* test_parse.c -- durations, sizes, numbers, host:port and URLs, good and bad. */
#include "parse.h"
#include "mcm.h"

#include <check.h>
#include <string.h>

static char err[512];

START_TEST(test_parse_duration_units) {
    static const struct { const char *in; int64_t ms; } ok[] = {
        {"500ms", 500}, {"10s", 10000}, {"5m", 300000}, {"2h", 7200000}, {"7d", 604800000},
        {"1w", 604800000}, {"30", 30000}, {"0", 0}, {"1.5s", 1500}, {"2secs", 2000},
        {"15mins", 900000}, {"100ns", 0}, {"2500us", 3}, {"0.25", 250},
    };
    for (size_t i = 0; i < MCM_ARRAY_LEN(ok); i++) {
        int64_t v = -1;
        ck_assert_msg(parse_duration_ms(ok[i].in, &v, err, sizeof(err)) == MCM_OK, "%s: %s", ok[i].in, err);
        ck_assert_msg(v == ok[i].ms, "%s gave %lld", ok[i].in, (long long)v);
    }
}
END_TEST

START_TEST(test_parse_duration_rejects_malformed) {
    static const char *bad[] = {"", "s", "-1s", "10x", "10 s", " 10s", "1.s", ".5s", "1e3",
                                "10sec s", "abc", "99999999999999999999d", "5M", "1,5s"};
    for (size_t i = 0; i < MCM_ARRAY_LEN(bad); i++) {
        int64_t v = 42;
        err[0] = 0;
        ck_assert_msg(parse_duration_ms(bad[i], &v, err, sizeof(err)) == MCM_ERR, "accepted '%s'", bad[i]);
        ck_assert_int_eq(v, 42);
        ck_assert_msg(err[0] != 0, "no reason for '%s'", bad[i]);
    }
}
END_TEST

START_TEST(test_parse_size_units) {
    uint64_t v;
    ck_assert_int_eq(parse_size("64MiB", 1, &v, err, sizeof(err)), MCM_OK);
    ck_assert_uint_eq(v, 64ull << 20);
    ck_assert_int_eq(parse_size("1GiB", 1, &v, err, sizeof(err)), MCM_OK);
    ck_assert_uint_eq(v, 1ull << 30);
    ck_assert_int_eq(parse_size("512", 1u << 20, &v, err, sizeof(err)), MCM_OK);
    ck_assert_uint_eq(v, 512ull << 20);
    ck_assert_int_eq(parse_size("512", 1, &v, err, sizeof(err)), MCM_OK);
    ck_assert_uint_eq(v, 512);
    ck_assert_int_eq(parse_size("1.5GiB", 1, &v, err, sizeof(err)), MCM_OK);
    ck_assert_uint_eq(v, 3ull << 29);
    ck_assert_int_eq(parse_size("4kb", 1, &v, err, sizeof(err)), MCM_OK);
    ck_assert_uint_eq(v, 4096);
}
END_TEST

START_TEST(test_parse_size_rejects_malformed) {
    static const char *bad[] = {"", "MiB", "-1MiB", "1XiB", "1.5", "64 MiB", "0x10", "99999999TiB"};
    for (size_t i = 0; i < MCM_ARRAY_LEN(bad); i++) {
        uint64_t v = 7;
        ck_assert_msg(parse_size(bad[i], 1, &v, err, sizeof(err)) == MCM_ERR, "accepted '%s'", bad[i]);
        ck_assert_uint_eq(v, 7);
    }
}
END_TEST

START_TEST(test_parse_numbers_bounded) {
    int64_t i;
    double d;
    int b;
    ck_assert_int_eq(parse_int64("42", 0, 100, &i, err, sizeof(err)), MCM_OK);
    ck_assert_int_eq(i, 42);
    ck_assert_int_eq(parse_int64("101", 0, 100, &i, err, sizeof(err)), MCM_ERR);
    ck_assert_ptr_nonnull(strstr(err, "out of range"));
    ck_assert_int_eq(parse_int64("4x", 0, 100, &i, err, sizeof(err)), MCM_ERR);
    ck_assert_int_eq(parse_int64("", 0, 100, &i, err, sizeof(err)), MCM_ERR);
    ck_assert_int_eq(parse_int64("99999999999999999999", 0, INT64_MAX, &i, err, sizeof(err)), MCM_ERR);
    ck_assert_int_eq(parse_double("0.8", 0, 1, &d, err, sizeof(err)), MCM_OK);
    ck_assert(d == 0.8);
    ck_assert_int_eq(parse_double("nan", 0, 1, &d, err, sizeof(err)), MCM_ERR);
    ck_assert_int_eq(parse_double("1.5", 0, 1, &d, err, sizeof(err)), MCM_ERR);
    ck_assert_int_eq(parse_bool("off", &b, err, sizeof(err)), MCM_OK);
    ck_assert_int_eq(b, 0);
    ck_assert_int_eq(parse_bool("maybe", &b, err, sizeof(err)), MCM_ERR);
}
END_TEST

START_TEST(test_parse_host_port) {
    parse_hostport hp;
    ck_assert_int_eq(parse_host_port("127.0.0.1:8080", 0, &hp, err, sizeof(err)), MCM_OK);
    ck_assert_str_eq(hp.host, "127.0.0.1");
    ck_assert_int_eq(hp.port, 8080);
    ck_assert_int_eq(parse_host_port("[::1]:11211", 0, &hp, err, sizeof(err)), MCM_OK);
    ck_assert_str_eq(hp.host, "::1");
    ck_assert_int_eq(parse_host_port("localhost:0", 1, &hp, err, sizeof(err)), MCM_OK);
    static const char *bad[] = {"", "host", ":80", "host:", "host:0", "host:65536", "host:80x",
                                "::1:80", "[::1]80", "ho st:80", "host:-1"};
    for (size_t i = 0; i < MCM_ARRAY_LEN(bad); i++)
        ck_assert_msg(parse_host_port(bad[i], 0, &hp, err, sizeof(err)) == MCM_ERR, "accepted '%s'", bad[i]);
}
END_TEST

START_TEST(test_parse_zk_url) {
    parse_zk z = {0};
    ck_assert_int_eq(parse_zk_url("zk://a:2181,b:2182/mcm/prod", &z, err, sizeof(err)), MCM_OK);
    ck_assert_str_eq(z.hosts, "a:2181,b:2182");
    ck_assert_str_eq(z.path, "/mcm/prod");
    parse_zk_free(&z);
    ck_assert_int_eq(parse_zk_url("zk://127.0.0.1:2181/", &z, err, sizeof(err)), MCM_OK);
    ck_assert_str_eq(z.path, "/");
    parse_zk_free(&z);
    parse_zk_free(NULL);
    static const char *bad[] = {"", "http://a:1/x", "zk://", "zk:///x", "zk://a:2181", "zk://a/x",
                                "zk://a:2181,/x", "zk://,a:1/x", "zk://a:1,,b:2/x", "zk://a:1/x/",
                                "zk://a:1/x//y", "zk://a:1/x/../y", "zk://u:p@a:1/x", "zk://a:99999/x", "zk://[::1]:2181/x"};
    for (size_t i = 0; i < MCM_ARRAY_LEN(bad); i++) {
        err[0] = 0;
        ck_assert_msg(parse_zk_url(bad[i], &z, err, sizeof(err)) == MCM_ERR, "accepted '%s'", bad[i]);
        ck_assert_msg(err[0], "no reason for '%s'", bad[i]);
    }
}
END_TEST

START_TEST(test_parse_http_urls) {
    parse_urls u = {0};
    ck_assert_int_eq(parse_http_urls("http://m1:5050,m2:5051", &u, err, sizeof(err)), MCM_OK);
    ck_assert_int_eq(u.n, 2);
    ck_assert_str_eq(u.urls[0], "http://m1:5050");
    ck_assert_str_eq(u.urls[1], "http://m2:5051");
    parse_urls_free(&u);
    /* Each entry may carry its scheme, as operators often write it. */
    ck_assert_int_eq(parse_http_urls("http://m1:5050,http://m2:5051", &u, err, sizeof(err)), MCM_OK);
    ck_assert_int_eq(u.n, 2);
    ck_assert_str_eq(u.urls[0], "http://m1:5050");
    ck_assert_str_eq(u.urls[1], "http://m2:5051");
    parse_urls_free(&u);
    /* A path given once applies to every entry without one. */
    ck_assert_int_eq(parse_http_urls("http://m1:5050,m2:5051/master", &u, err, sizeof(err)), MCM_OK);
    ck_assert_str_eq(u.urls[0], "http://m1:5050/master");
    ck_assert_str_eq(u.urls[1], "http://m2:5051/master");
    parse_urls_free(&u);
    ck_assert_int_eq(parse_http_urls("https://m1:5050/master/", &u, err, sizeof(err)), MCM_OK);
    ck_assert_str_eq(u.urls[0], "https://m1:5050/master");
    parse_urls_free(&u);
    static const char *bad[] = {"", "m1:5050", "ftp://m1:21", "http://", "http://,m1:1",
                                "http://m1:1,", "http://m1:99999", "http://u:p@m1:1", "http://m1:1?x=1",
                                "http://m1:port", "http://m1:5050,http:", "http://m1:0", "http://m1:5050,http://",
                                "http://m1:5050,/x"};
    for (size_t i = 0; i < MCM_ARRAY_LEN(bad); i++) {
        err[0] = 0;
        ck_assert_msg(parse_http_urls(bad[i], &u, err, sizeof(err)) == MCM_ERR, "accepted '%s'", bad[i]);
        ck_assert_msg(err[0], "no reason for '%s'", bad[i]);
    }
}
END_TEST

START_TEST(test_parse_format_duration) {
    char b[32];
    parse_format_duration(604800000, b, sizeof(b));
    ck_assert_str_eq(b, "1w");
    parse_format_duration(1500, b, sizeof(b));
    ck_assert_str_eq(b, "1500ms");
    parse_format_duration(300000, b, sizeof(b));
    ck_assert_str_eq(b, "5m");
}
END_TEST

int main(void) {
    Suite *s = suite_create("parse");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, test_parse_duration_units);
    tcase_add_test(tc, test_parse_duration_rejects_malformed);
    tcase_add_test(tc, test_parse_size_units);
    tcase_add_test(tc, test_parse_size_rejects_malformed);
    tcase_add_test(tc, test_parse_numbers_bounded);
    tcase_add_test(tc, test_parse_host_port);
    tcase_add_test(tc, test_parse_zk_url);
    tcase_add_test(tc, test_parse_http_urls);
    tcase_add_test(tc, test_parse_format_duration);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
