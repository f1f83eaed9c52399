/* test_page_route.c -- GET / serves the embedded status page (http_page.c),
 * through the public interface of a real server on a free loopback port:
 * the bytes are the page (page/status.html), with the headers that keep it
 * self-contained (a Content-Security-Policy allowing this origin only), and
 * the page names no other origin. The browser's view of it is
 * tests/http/test_page.c. */
#include "client.h"
#include "http.h"
#include "log.h"
#include "mcm.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static http_server *srv;
static int port;

static void start(void) {
    char err[256];
    http_config cfg;
    http_config_defaults(&cfg);
    log_set_level(LOG_WARNING);
    srv = http_new(&cfg, NULL, NULL, err, sizeof(err));
    ck_assert_msg(srv != NULL, "%s", err);
    port = http_port(srv);
}

static void stop(void) { http_free(srv); }

/* The file the page is built from, as the build embedded it. */
static char *page_source(void) {
    char path[1024];
    const char *src = getenv("MCM_SOURCE_DIR");
    snprintf(path, sizeof(path), "%s/src/http/page/status.html", src ? src : ".");
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    ck_assert_int_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = 0;
    fclose(f);
    return s;
}

START_TEST(test_page_route_serves_the_embedded_page) {
    tc_resp r;
    ck_assert_int_eq(tc_request(port, "GET", "/", NULL, NULL, &r), 200);
    char *want = page_source();
    ck_assert_uint_eq(r.len, strlen(want));
    ck_assert_str_eq(r.body, want);                      /* the same bytes, embedded at build time */
    char v[512];
    ck_assert(tc_header(&r, "Content-Type", v, sizeof(v)));
    ck_assert_str_eq(v, "text/html; charset=utf-8");
    ck_assert(tc_header(&r, "Content-Security-Policy", v, sizeof(v)));
    ck_assert_ptr_nonnull(strstr(v, "default-src 'none'"));
    ck_assert_ptr_nonnull(strstr(v, "connect-src 'self'"));
    free(want);
    tc_resp_free(&r);
}
END_TEST

START_TEST(test_page_route_names_no_other_origin) {
    tc_resp r;
    ck_assert_int_eq(tc_request(port, "GET", "/", NULL, NULL, &r), 200);
    /* No absolute URL at all: every fetch is relative to the replica. */
    ck_assert_ptr_null(strstr(r.body, "://"));
    ck_assert_ptr_null(strstr(r.body, "src=\"http"));
    ck_assert_ptr_null(strstr(r.body, "<link"));
    ck_assert_ptr_nonnull(strstr(r.body, "fetch(\"/v1/servers?wait="));   /* the long poll */
    tc_resp_free(&r);
}
END_TEST

START_TEST(test_page_route_head_and_methods) {
    tc_resp r;
    ck_assert_int_eq(tc_request(port, "HEAD", "/", NULL, NULL, &r), 200);
    tc_resp_free(&r);
    ck_assert_int_eq(tc_request(port, "POST", "/", "{}", NULL, &r), 405);   /* read-only */
    tc_resp_free(&r);
    ck_assert_int_eq(tc_request(port, "GET", "/index.html", NULL, NULL, &r), 404);
    tc_resp_free(&r);
}
END_TEST

int main(void) {
    Suite *s = suite_create("page_route");
    TCase *tc = tcase_create("page_route");
    tcase_add_checked_fixture(tc, start, stop);
    tcase_add_test(tc, test_page_route_serves_the_embedded_page);
    tcase_add_test(tc, test_page_route_names_no_other_origin);
    tcase_add_test(tc, test_page_route_head_and_methods);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
