/* test_http_view.c -- GET /v1/autoscale, /v1/history and /v1/replicas
 * (http_view.c) through a real server on a free loopback port: 503 before
 * the core published, the published bytes after, setters that refuse the
 * wrong shape and keep the old view, strict queries (400 naming the
 * parameter), ?points= bounded to HTTP_HISTORY_POINTS_MAX, ?task= filtering
 * (404 for an unknown task), 405 for anything but GET/HEAD, and the history
 * on demand: a request is recorded for the core, and one that finds the
 * document stale waits for a new one (or, none coming, answers the old). */
#include "client.h"
#include "http.h"
#include "log.h"
#include "mcm.h"

#include "util.h"

#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <unistd.h>
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

/* GETs path; checks the status and, for errors, the code word. */
static void expect(const char *method, const char *path, long code, const char *err_code) {
    tc_resp r;
    char buf[64] = "";
    ck_assert_int_eq(tc_request(port, method, path, NULL, NULL, &r), code);
    if (err_code) {
        ck_assert_msg(tc_error_code(&r, buf, sizeof(buf)), "%s: no error code in %s", path, r.body);
        ck_assert_str_eq(buf, err_code);
    }
    tc_resp_free(&r);
}

static json_t *get(const char *path) {
    tc_resp r;
    ck_assert_int_eq(tc_request(port, "GET", path, NULL, NULL, &r), 200);
    json_t *doc = json_loads(r.body, 0, NULL);
    ck_assert_msg(doc != NULL, "%s: not JSON: %s", path, r.body);
    tc_resp_free(&r);
    return doc;
}

/* A history of two servers with n samples each, t = 1..n. */
static char *history_doc(int n) {
    json_t *servers = json_array();
    for (int s = 0; s < 2; s++) {
        json_t *samples = json_array();
        for (int i = 1; i <= n; i++)
            json_array_append_new(samples, json_pack("{s:i, s:i, s:i, s:f, s:n}", "t", i, "bytes", 10 * i, "limit",
                                                     1000, "hit", 0.5, "evr"));
        json_array_append_new(servers, json_pack("{s:s, s:s, s:o}", "task_id", s ? "task-b" : "task-a", "server",
                                                 s ? "h:2" : "h:1", "samples", samples));
    }
    json_t *doc = json_pack("{s:s, s:i, s:o}", "role", "leader", "points_max", n, "servers", servers);
    char *out = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return out;
}

START_TEST(test_http_view_not_loaded_before_publication) {
    expect("GET", "/v1/autoscale", 503, "NOT_LOADED");
    expect("GET", "/v1/history", 503, "NOT_LOADED");
    expect("GET", "/v1/replicas", 503, "NOT_LOADED");
}
END_TEST

START_TEST(test_http_view_serves_what_was_published) {
    const char *as = "{\"role\":\"leader\",\"thresholds\":{\"scale_up_mem\":0.8},\"decisions\":[]}";
    const char *rp = "{\"self\":\"h:1\",\"replicas\":[{\"id\":\"h:1\",\"leader\":true}]}";
    ck_assert_int_eq(http_set_autoscale_json(srv, as), MCM_OK);
    ck_assert_int_eq(http_set_replicas_json(srv, rp), MCM_OK);
    tc_resp r;
    ck_assert_int_eq(tc_request(port, "GET", "/v1/autoscale", NULL, NULL, &r), 200);
    ck_assert_str_eq(r.body, as);
    tc_resp_free(&r);
    ck_assert_int_eq(tc_request(port, "GET", "/v1/replicas", NULL, NULL, &r), 200);
    ck_assert_str_eq(r.body, rp);
    tc_resp_free(&r);
    ck_assert_int_eq(tc_request(port, "HEAD", "/v1/replicas", NULL, NULL, &r), 200);
    tc_resp_free(&r);
}
END_TEST

START_TEST(test_http_view_setters_refuse_the_wrong_shape) {
    ck_assert_int_eq(http_set_replicas_json(srv, "{\"replicas\":[]}"), MCM_OK);
    ck_assert_int_eq(http_set_autoscale_json(srv, "[1]"), MCM_ERR);
    ck_assert_int_eq(http_set_autoscale_json(srv, "not json"), MCM_ERR);
    ck_assert_int_eq(http_set_autoscale_json(srv, NULL), MCM_ERR);
    ck_assert_int_eq(http_set_history_json(srv, "{\"servers\":{}}"), MCM_ERR);
    ck_assert_int_eq(http_set_replicas_json(srv, "{\"members\":[]}"), MCM_ERR);
    expect("GET", "/v1/autoscale", 503, "NOT_LOADED");      /* nothing was published */
    json_t *doc = get("/v1/replicas");                       /* the old view stays */
    ck_assert(json_is_array(json_object_get(doc, "replicas")));
    json_decref(doc);
}
END_TEST

START_TEST(test_http_view_rejects_unknown_queries) {
    ck_assert_int_eq(http_set_autoscale_json(srv, "{}"), MCM_OK);
    ck_assert_int_eq(http_set_replicas_json(srv, "{\"replicas\":[]}"), MCM_OK);
    char *h = history_doc(3);
    ck_assert_int_eq(http_set_history_json(srv, h), MCM_OK);
    free(h);
    expect("GET", "/v1/autoscale?wait=1s", 400, "BAD_QUERY");
    expect("GET", "/v1/replicas?all=1", 400, "BAD_QUERY");
    expect("GET", "/v1/history?point=5", 400, "BAD_QUERY");
    tc_resp r;
    ck_assert_int_eq(tc_request(port, "GET", "/v1/history?point=5", NULL, NULL, &r), 400);
    ck_assert_ptr_nonnull(strstr(r.body, "'point'"));         /* the message names it */
    tc_resp_free(&r);
}
END_TEST

START_TEST(test_http_view_history_points_are_bounded) {
    char *h = history_doc(HTTP_HISTORY_POINTS_MAX);
    ck_assert_int_eq(http_set_history_json(srv, h), MCM_OK);
    free(h);
    expect("GET", "/v1/history?points=0", 400, "BAD_POINTS");
    expect("GET", "/v1/history?points=61", 400, "BAD_POINTS");
    expect("GET", "/v1/history?points=-1", 400, "BAD_POINTS");
    expect("GET", "/v1/history?points=ten", 400, "BAD_POINTS");
    json_t *doc = get("/v1/history?points=5");
    json_t *s;
    size_t i;
    ck_assert_int_eq(json_array_size(json_object_get(doc, "servers")), 2);
    json_array_foreach(json_object_get(doc, "servers"), i, s) {
        json_t *samples = json_object_get(s, "samples");
        ck_assert_int_eq(json_array_size(samples), 5);
        /* the newest five, oldest first */
        ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(samples, 0), "t")), HTTP_HISTORY_POINTS_MAX - 4);
        ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(samples, 4), "t")), HTTP_HISTORY_POINTS_MAX);
    }
    json_decref(doc);
    doc = get("/v1/history");
    ck_assert_int_eq(json_array_size(json_object_get(json_array_get(json_object_get(doc, "servers"), 0), "samples")),
                     HTTP_HISTORY_POINTS_MAX);
    json_decref(doc);
}
END_TEST

START_TEST(test_http_view_history_of_one_task) {
    char *h = history_doc(4);
    ck_assert_int_eq(http_set_history_json(srv, h), MCM_OK);
    free(h);
    json_t *doc = get("/v1/history?task=task-b&points=2");
    json_t *list = json_object_get(doc, "servers");
    ck_assert_int_eq(json_array_size(list), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "task_id")), "task-b");
    ck_assert_int_eq(json_array_size(json_object_get(json_array_get(list, 0), "samples")), 2);
    json_decref(doc);
    expect("GET", "/v1/history?task=task-z", 404, "NOT_FOUND");
    expect("GET", "/v1/history?task=", 400, "BAD_TASK");
}
END_TEST

START_TEST(test_http_view_read_only) {
    expect("POST", "/v1/autoscale", 405, NULL);
    expect("PUT", "/v1/history", 405, NULL);
    expect("DELETE", "/v1/replicas", 405, NULL);
    tc_resp r;
    char allow[64];
    ck_assert_int_eq(tc_request(port, "POST", "/v1/history", "{}", NULL, &r), 405);
    ck_assert(tc_header(&r, "Allow", allow, sizeof(allow)));
    ck_assert_ptr_nonnull(strstr(allow, "GET"));
    tc_resp_free(&r);
}
END_TEST

/* The core's side of the demand, played by a thread: a new document 300 ms
 * after the request asked for one. */
static void *publish_later(void *arg) {
    usleep(300 * 1000);
    ck_assert_int_eq(http_set_history_json(srv, arg), MCM_OK);
    return NULL;
}

START_TEST(test_http_view_stale_history_waits_for_a_new_one) {
    char *old = history_doc(3), *fresh = history_doc(4);
    ck_assert_int_eq(http_set_history_json(srv, old), MCM_OK);
    ck_assert_int_eq(http_asked_ms(srv, HTTP_VIEW_HISTORY), 0);
    json_t *doc = get("/v1/history");   /* fresh: answered at once */
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "points_max")), 3);
    json_decref(doc);
    int64_t asked = http_asked_ms(srv, HTTP_VIEW_HISTORY);
    ck_assert_int_gt(asked, 0);
    usleep((HTTP_FRESH_MS + 200) * 1000);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, publish_later, fresh), 0);
    int64_t t0 = util_now_ms();
    doc = get("/v1/history");   /* stale: waits for the new one */
    int64_t took = util_now_ms() - t0;
    pthread_join(th, NULL);
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "points_max")), 4);
    ck_assert_msg(took >= 250 && took < HTTP_DEMAND_WAIT_MS, "answered after %lld ms", (long long)took);
    ck_assert_int_gt(http_asked_ms(srv, HTTP_VIEW_HISTORY), asked);
    json_decref(doc);
    usleep((HTTP_FRESH_MS + 200) * 1000);
    t0 = util_now_ms();
    doc = get("/v1/history");   /* stale, and nothing new comes: the old one, after the wait */
    took = util_now_ms() - t0;
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "points_max")), 4);
    ck_assert_msg(took >= HTTP_DEMAND_WAIT_MS - 50, "answered after %lld ms", (long long)took);
    json_decref(doc);
    free(old);
    free(fresh);
}
END_TEST

int main(void) {
    Suite *s = suite_create("http_view");
    TCase *tc = tcase_create("http_view");
    tcase_add_checked_fixture(tc, start, stop);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_http_view_not_loaded_before_publication);
    tcase_add_test(tc, test_http_view_serves_what_was_published);
    tcase_add_test(tc, test_http_view_setters_refuse_the_wrong_shape);
    tcase_add_test(tc, test_http_view_rejects_unknown_queries);
    tcase_add_test(tc, test_http_view_history_points_are_bounded);
    tcase_add_test(tc, test_http_view_history_of_one_task);
    tcase_add_test(tc, test_http_view_read_only);
    tcase_add_test(tc, test_http_view_stale_history_waits_for_a_new_one);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
