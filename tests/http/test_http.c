/* test_http.c -- the HTTP API through its public interface: a real server on
 * a free loopback port, snapshots published the way the scheduler core will,
 * a small test implementation of the operator hooks, and real requests with
 * libcurl (raw sockets for bytes curl would not send). */
#include "client.h"
#include "http.h"
#include "log.h"
#include "mcm.h"
#include "metrics_mcm.h"
#include "promparse.h"
#include "util.h"

#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TOKEN "s3cret-token"
#define FID "fw-0001"

/* --- the test's hooks: count calls, remember arguments, answer as told ------- */
typedef struct hookctx {
    pthread_mutex_t mu;
    int scale_calls, restart_calls, teardown_calls;
    int last_n;
    char last_task[300], last_fid[64];
    http_hook_result answer;
} hookctx;

static hookctx hk = {.mu = PTHREAD_MUTEX_INITIALIZER};

static http_hook_result h_scale(void *ctx, int n, char *msg, size_t len) {
    hookctx *c = ctx;
    pthread_mutex_lock(&c->mu);
    c->scale_calls++;
    c->last_n = n;
    snprintf(msg, len, "scaling to %d", n);
    http_hook_result a = c->answer;
    pthread_mutex_unlock(&c->mu);
    return a;
}

static http_hook_result h_restart(void *ctx, const char *task, char *msg, size_t len) {
    hookctx *c = ctx;
    pthread_mutex_lock(&c->mu);
    c->restart_calls++;
    snprintf(c->last_task, sizeof(c->last_task), "%s", task);
    http_hook_result a = strcmp(task, "unknown-task") == 0 ? HTTP_HOOK_NOT_FOUND : c->answer;
    pthread_mutex_unlock(&c->mu);
    return a;
}

static http_hook_result h_teardown(void *ctx, const char *fid, char *msg, size_t len) {
    hookctx *c = ctx;
    pthread_mutex_lock(&c->mu);
    c->teardown_calls++;
    snprintf(c->last_fid, sizeof(c->last_fid), "%s", fid);
    http_hook_result a = c->answer;
    pthread_mutex_unlock(&c->mu);
    return a;
}

static const http_hooks hooks = {&hk, h_scale, h_restart, h_teardown};

/* --- fixtures ------------------------------------------------------------------ */
static http_server *srv;
static int port;

static http_server *start_with(const http_config *cfg) {
    char err[256] = "";
    http_server *h = http_new(cfg, &hooks, NULL, err, sizeof(err));
    ck_assert_msg(h != NULL, "http_new: %s", err);
    ck_assert_int_gt(http_port(h), 0);
    return h;
}

/* A leader with a token, scale bounds 1..50, everything published. */
static void start_leader(void) {
    http_config cfg;
    http_config_defaults(&cfg);
    cfg.admin_token = TOKEN;
    cfg.scale_min = 1;
    cfg.scale_max = 50;
    cfg.longpoll_max_s = 60;
    cfg.conn_timeout_s = 2;
    srv = start_with(&cfg);
    port = http_port(srv);
    http_set_leader(srv, 1, "http://127.0.0.1:1", "{\"id\":\"me\",\"http\":\"http://127.0.0.1:1\"}");
    http_set_status_json(srv, "{\"role\":\"leader\",\"framework_id\":\"" FID "\"}");
    http_set_tasks_json(srv, "{\"tasks\":[]}");
    http_set_zk_connected(srv, 1);
    hk.answer = HTTP_HOOK_OK;
}

static void stop(void) {
    http_free(srv);
    srv = NULL;
}

static srvlist *list_of(int64_t version, int n) {
    srvlist *l = srvlist_new();
    l->version = version;
    for (int i = 0; i < n; i++) {
        char task[32];
        snprintf(task, sizeof(task), "mcm-%d", i);
        srvlist_add(l, "10.0.0.1", 31000 + i, task);
    }
    srvlist_sort(l);
    return l;
}

static void publish(int64_t version, int n) {
    srvlist *l = list_of(version, n);
    ck_assert_int_eq(http_set_servers(srv, l), MCM_OK);
    srvlist_free(l);
}

static const char *const auth_hdr[] = {"Authorization: Bearer " TOKEN, NULL};

/* One request; asserts the status and (if code != NULL) the JSON error code. */
static void expect(const char *method, const char *path, const char *body, const char *const *hdrs,
                   long status, const char *code) {
    tc_resp r;
    tc_request(port, method, path, body, hdrs, &r);
    ck_assert_msg(r.code == status, "%s %s: got %ld, want %ld (%s)", method, path, r.code, status, r.body);
    char got[64] = "";
    if (code) {
        ck_assert_msg(tc_error_code(&r, got, sizeof(got)), "%s %s: no error code in %s", method, path, r.body);
        ck_assert_msg(strcmp(got, code) == 0, "%s %s: code %s, want %s", method, path, got, code);
    }
    tc_resp_free(&r);
}

/* --- GET /v1/servers ------------------------------------------------------------ */

START_TEST(test_http_servers_not_loaded_then_served_with_etag) {
    start_leader();
    expect("GET", "/v1/servers", NULL, NULL, 503, "NOT_LOADED");
    publish(7, 2);
    tc_resp r;
    ck_assert_int_eq(tc_request(port, "GET", "/v1/servers", NULL, NULL, &r), 200);
    srvlist *want = list_of(7, 2);
    char *json = srvlist_to_json(want);
    ck_assert_str_eq(r.body, json);                /* the very bytes of the znode */
    char etag[64], ctype[64];
    ck_assert(tc_header(&r, "ETag", etag, sizeof(etag)));
    ck_assert_str_eq(etag, "\"7\"");
    ck_assert(tc_header(&r, "Content-Type", ctype, sizeof(ctype)));
    ck_assert_str_eq(ctype, "application/json");
    free(json);
    srvlist_free(want);
    tc_resp_free(&r);
    ck_assert_int_eq(tc_request(port, "HEAD", "/v1/servers", NULL, NULL, &r), 200);
    ck_assert_uint_eq(r.len, 0);
    tc_resp_free(&r);
    stop();
}
END_TEST

START_TEST(test_http_servers_if_none_match_304) {
    start_leader();
    publish(7, 1);
    const char *const same[] = {"If-None-Match: \"7\"", NULL};
    const char *const weak_list[] = {"If-None-Match: \"3\", W/\"7\"", NULL};
    const char *const star[] = {"If-None-Match: *", NULL};
    const char *const old[] = {"If-None-Match: \"6\"", NULL};
    const char *const prefix[] = {"If-None-Match: \"77\"", NULL};
    tc_resp r;
    ck_assert_int_eq(tc_request(port, "GET", "/v1/servers", NULL, same, &r), 304);
    char etag[64];
    ck_assert(tc_header(&r, "ETag", etag, sizeof(etag)));
    ck_assert_str_eq(etag, "\"7\"");
    ck_assert_uint_eq(r.len, 0);
    tc_resp_free(&r);
    expect("GET", "/v1/servers", NULL, weak_list, 304, NULL);
    expect("GET", "/v1/servers", NULL, star, 304, NULL);
    expect("GET", "/v1/servers", NULL, old, 200, NULL);
    expect("GET", "/v1/servers", NULL, prefix, 200, NULL);
    publish(8, 1);
    expect("GET", "/v1/servers", NULL, same, 200, NULL);
    /* the cached 304 follows the list: it names the new version, not 7 */
    const char *const now8[] = {"If-None-Match: \"8\"", NULL};
    ck_assert_int_eq(tc_request(port, "GET", "/v1/servers", NULL, now8, &r), 304);
    ck_assert(tc_header(&r, "ETag", etag, sizeof(etag)));
    ck_assert_str_eq(etag, "\"8\"");
    tc_resp_free(&r);
    /* an 8 KiB cookie (the largest line nginx takes by default) still fits */
    static char cookie[8 * 1024];
    int n = snprintf(cookie, sizeof(cookie), "Cookie: c=");
    memset(cookie + n, 'a', sizeof(cookie) - (size_t)n - 1);
    const char *const big[] = {cookie, NULL};
    expect("GET", "/v1/servers", NULL, big, 200, NULL);
    stop();
}
END_TEST

typedef struct poller {
    const char *path;
    tc_resp r;
    int64_t done_ms;
} poller;

static void *poll_thread(void *arg) {
    poller *p = arg;
    tc_request(port, "GET", p->path, NULL, NULL, &p->r);
    __atomic_store_n(&p->done_ms, util_now_ms(), __ATOMIC_RELEASE);
    return NULL;
}

START_TEST(test_http_servers_long_poll_wakes_on_change) {
    start_leader();
    publish(5, 1);
    expect("GET", "/v1/servers?wait=5&version=4", NULL, NULL, 200, NULL);   /* already newer: at once */
    poller p = {.path = "/v1/servers?wait=30&version=5"};
    pthread_t t;
    pthread_create(&t, NULL, poll_thread, &p);
    util_sleep_ms(300);            /* let it block */
    ck_assert_int_eq(__atomic_load_n(&p.done_ms, __ATOMIC_ACQUIRE), 0);
    publish(5, 2);                 /* same version: no wake */
    util_sleep_ms(100);
    ck_assert_int_eq(__atomic_load_n(&p.done_ms, __ATOMIC_ACQUIRE), 0);
    int64_t t0 = util_now_ms();
    publish(6, 3);
    pthread_join(t, NULL);
    int64_t lat = p.done_ms - t0;
    fprintf(stderr, "long poll wake latency after http_set_servers: %lld ms\n", (long long)lat);
    ck_assert_int_eq(p.r.code, 200);
    ck_assert_ptr_nonnull(strstr(p.r.body, "\"version\":6"));
    ck_assert_int_lt(lat, 1000);   /* generous; the design target is < 100 ms */
    tc_resp_free(&p.r);
    stop();
}
END_TEST

START_TEST(test_http_servers_long_poll_times_out_304) {
    start_leader();
    publish(5, 1);
    tc_resp r;
    int64_t t0 = util_now_ms();
    ck_assert_int_eq(tc_request(port, "GET", "/v1/servers?wait=700ms&version=5", NULL, NULL, &r), 304);
    int64_t took = util_now_ms() - t0;
    fprintf(stderr, "long poll of 700 ms answered after %lld ms\n", (long long)took);
    ck_assert_int_ge(took, 650);
    ck_assert_int_lt(took, 5000);
    char etag[64];
    ck_assert(tc_header(&r, "ETag", etag, sizeof(etag)));
    ck_assert_str_eq(etag, "\"5\"");
    tc_resp_free(&r);
    stop();
}
END_TEST

/* After a ZooKeeper data loss the published version restarts lower. A client
 * still holding the old, higher version must get the current list at once,
 * not 304 after 304 forever; and a poll waiting on the current version is
 * woken by a lower one too. Only version == current waits. */
START_TEST(test_http_servers_long_poll_answers_any_other_version) {
    start_leader();
    publish(5, 1);
    tc_resp r;
    int64_t t0 = util_now_ms();
    ck_assert_int_eq(tc_request(port, "GET", "/v1/servers?wait=3s&version=9", NULL, NULL, &r), 200);
    int64_t took = util_now_ms() - t0;
    ck_assert_msg(took < 1500, "a higher client version waited %lld ms", (long long)took);
    ck_assert_ptr_nonnull(strstr(r.body, "\"version\":5"));
    tc_resp_free(&r);
    poller p = {.path = "/v1/servers?wait=30&version=5"};
    pthread_t t;
    pthread_create(&t, NULL, poll_thread, &p);
    util_sleep_ms(300);
    ck_assert_int_eq(__atomic_load_n(&p.done_ms, __ATOMIC_ACQUIRE), 0);
    t0 = util_now_ms();
    publish(1, 2);                 /* the version restarted after a data loss */
    pthread_join(t, NULL);
    ck_assert_int_eq(p.r.code, 200);
    ck_assert_ptr_nonnull(strstr(p.r.body, "\"version\":1"));
    ck_assert_int_lt(p.done_ms - t0, 1000);
    tc_resp_free(&p.r);
    expect("GET", "/v1/servers?wait=300ms&version=1", NULL, NULL, 304, NULL);   /* equal still waits */
    stop();
}
END_TEST

START_TEST(test_http_long_poll_before_any_list) {
    start_leader();
    expect("GET", "/v1/servers?wait=300ms&version=0", NULL, NULL, 503, "NOT_LOADED");
    poller p = {.path = "/v1/servers?wait=30&version=0"};
    pthread_t t;
    pthread_create(&t, NULL, poll_thread, &p);
    util_sleep_ms(200);
    publish(1, 1);
    pthread_join(t, NULL);
    ck_assert_int_eq(p.r.code, 200);
    tc_resp_free(&p.r);
    stop();
}
END_TEST

START_TEST(test_http_free_releases_long_polls) {
    start_leader();
    publish(1, 1);
    poller p = {.path = "/v1/servers?wait=60&version=1"};
    pthread_t t;
    pthread_create(&t, NULL, poll_thread, &p);
    util_sleep_ms(200);
    int64_t t0 = util_now_ms();
    stop();                        /* must not wait out the 60 s */
    int64_t took = util_now_ms() - t0;
    pthread_join(t, NULL);
    fprintf(stderr, "http_free with a long poll pending took %lld ms\n", (long long)took);
    ck_assert_int_lt(took, 5000);
    tc_resp_free(&p.r);
}
END_TEST

/* --- leader, tasks, status, health -------------------------------------------------- */

START_TEST(test_http_leader_tasks_status) {
    http_config cfg;
    http_config_defaults(&cfg);
    srv = start_with(&cfg);
    port = http_port(srv);
    expect("GET", "/v1/leader", NULL, NULL, 503, "NO_LEADER");
    expect("GET", "/v1/tasks", NULL, NULL, 503, "NOT_LOADED");
    tc_resp r;
    ck_assert_int_eq(tc_request(port, "GET", "/v1/status", NULL, NULL, &r), 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"uptime_s\":"));
    ck_assert_ptr_nonnull(strstr(r.body, "\"version\":\"" MCM_VERSION "\""));
    tc_resp_free(&r);
    http_set_leader(srv, 0, "http://10.1.1.1:8080", NULL);
    ck_assert_int_eq(tc_request(port, "GET", "/v1/leader", NULL, NULL, &r), 200);
    ck_assert_str_eq(r.body, "{\"url\":\"http://10.1.1.1:8080\"}");
    tc_resp_free(&r);
    http_set_leader(srv, 0, "http://10.1.1.1:8080", "{\"id\":\"r2\",\"http\":\"http://10.1.1.1:8080\"}");
    ck_assert_int_eq(tc_request(port, "GET", "/v1/leader", NULL, NULL, &r), 200);
    ck_assert_str_eq(r.body, "{\"id\":\"r2\",\"http\":\"http://10.1.1.1:8080\"}");
    tc_resp_free(&r);
    http_set_tasks_json(srv, "{\"tasks\":[{\"id\":\"t1\",\"state\":\"TASK_RUNNING\"}]}");
    ck_assert_int_eq(tc_request(port, "GET", "/v1/tasks", NULL, NULL, &r), 200);
    ck_assert_ptr_nonnull(strstr(r.body, "TASK_RUNNING"));
    tc_resp_free(&r);
    ck_assert_int_eq(http_set_status_json(srv, "[1]"), MCM_ERR);
    ck_assert_int_eq(http_set_status_json(srv, "not json"), MCM_ERR);
    ck_assert_int_eq(http_set_status_json(srv, "{\"role\":\"follower\",\"zk\":\"connected\",\"uptime_s\":5}"), MCM_OK);
    ck_assert_int_eq(tc_request(port, "GET", "/v1/status", NULL, NULL, &r), 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"role\":\"follower\""));
    ck_assert_ptr_nonnull(strstr(r.body, "\"uptime_s\":5"));     /* the core's own value wins */
    tc_resp_free(&r);
    http_set_leader(srv, 0, NULL, NULL);
    expect("GET", "/v1/leader", NULL, NULL, 503, "NO_LEADER");
    stop();
}
END_TEST

/* Issue 17 item 4: while the core's loop clock is older than its pause limit
 * (a process just resumed from SIGSTOP, its core not yet run), neither
 * /v1/status nor the leadership metrics claim leadership; once the core has
 * run again they show what it published. */
START_TEST(test_http_stale_core_claims_no_leadership) {
    metrics *m = metrics_new();
    metrics_family *is_leader = metrics_family_add(m, METRICS_GAUGE, "mcm_is_leader", "leader", NULL);
    metrics_family *state = metrics_family_add(m, METRICS_GAUGE, "mcm_leader_state", "state", "state");
    metrics_set(is_leader, NULL, 1);
    metrics_set(state, METRICS_L("leading"), 1);
    http_config cfg;
    http_config_defaults(&cfg);
    char err[256] = "";
    srv = http_new(&cfg, &hooks, m, err, sizeof(err));
    ck_assert_msg(srv != NULL, "http_new: %s", err);
    port = http_port(srv);
    http_set_status_json(srv, "{\"role\":\"leader\",\"leader_state\":\"leading\"}");
    static _Atomic int64_t loop;
    atomic_store(&loop, util_now_ms() - 5000);              /* the core last ran 5 s ago */
    http_set_liveness(srv, &loop, 2000);
    tc_resp r;
    ck_assert_int_eq(tc_request(port, "GET", "/metrics", NULL, NULL, &r), 200);
    ck_assert_msg(strstr(r.body, "\nmcm_is_leader 0\n"), "stale core, metrics: %s", r.body);
    ck_assert_msg(strstr(r.body, "mcm_leader_state{state=\"leading\"} 0\n"), "metrics: %s", r.body);
    tc_resp_free(&r);
    ck_assert_int_eq(tc_request(port, "GET", "/v1/status", NULL, NULL, &r), 200);
    ck_assert_msg(strstr(r.body, "\"leader_state\":\"unproven\""), "status: %s", r.body);
    tc_resp_free(&r);
    atomic_store(&loop, util_now_ms());                     /* the core has run and decided */
    ck_assert_int_eq(tc_request(port, "GET", "/metrics", NULL, NULL, &r), 200);
    ck_assert_msg(strstr(r.body, "\nmcm_is_leader 1\n"), "live core, metrics: %s", r.body);
    ck_assert_msg(strstr(r.body, "mcm_leader_state{state=\"leading\"} 1\n"), "metrics: %s", r.body);
    tc_resp_free(&r);
    ck_assert_int_eq(tc_request(port, "GET", "/v1/status", NULL, NULL, &r), 200);
    ck_assert_msg(strstr(r.body, "\"leader_state\":\"leading\""), "status: %s", r.body);
    tc_resp_free(&r);
    stop();
    metrics_free(m);
}
END_TEST

START_TEST(test_http_healthz_and_readyz_transitions) {
    http_config cfg;
    http_config_defaults(&cfg);
    srv = start_with(&cfg);
    port = http_port(srv);
    expect("GET", "/healthz", NULL, NULL, 200, NULL);
    tc_resp r;
    ck_assert_int_eq(tc_request(port, "GET", "/readyz", NULL, NULL, &r), 503);
    ck_assert_ptr_nonnull(strstr(r.body, "zookeeper session not connected; server list not loaded"));
    tc_resp_free(&r);
    http_set_zk_connected(srv, 1);
    ck_assert_int_eq(tc_request(port, "GET", "/readyz", NULL, NULL, &r), 503);
    ck_assert_ptr_nonnull(strstr(r.body, "server list not loaded"));
    ck_assert_ptr_null(strstr(r.body, "zookeeper"));
    tc_resp_free(&r);
    publish(1, 1);
    expect("GET", "/readyz", NULL, NULL, 200, NULL);
    http_set_zk_connected(srv, 0);
    ck_assert_int_eq(tc_request(port, "GET", "/readyz", NULL, NULL, &r), 503);
    ck_assert_ptr_nonnull(strstr(r.body, "zookeeper session not connected\""));
    tc_resp_free(&r);
    expect("GET", "/healthz", NULL, NULL, 200, NULL);
    http_set_zk_connected(srv, 1);
    expect("GET", "/readyz", NULL, NULL, 200, NULL);
    stop();
}
END_TEST

/* --- operator calls ---------------------------------------------------------------- */

static int hook_calls(int *field) {
    pthread_mutex_lock(&hk.mu);
    int v = *field;
    pthread_mutex_unlock(&hk.mu);
    return v;
}

static void set_answer(http_hook_result a) {
    pthread_mutex_lock(&hk.mu);
    hk.answer = a;
    pthread_mutex_unlock(&hk.mu);
}

START_TEST(test_http_leader_operator_calls_reach_hooks) {
    start_leader();
    tc_resp r;
    ck_assert_int_eq(tc_request(port, "POST", "/v1/scale", "{\"instances\": 5}", auth_hdr, &r), 200);
    ck_assert_str_eq(r.body, "{\"result\":\"ok\",\"message\":\"scaling to 5\"}");
    tc_resp_free(&r);
    ck_assert_int_eq(hook_calls(&hk.scale_calls), 1);
    ck_assert_int_eq(hook_calls(&hk.last_n), 5);
    expect("POST", "/v1/scale", "{\"instances\": 1}", auth_hdr, 200, NULL);     /* bounds inclusive */
    expect("POST", "/v1/scale", "{\"instances\": 50, \"note\": \"x\"}", auth_hdr, 200, NULL);
    ck_assert_int_eq(hook_calls(&hk.last_n), 50);

    ck_assert_int_eq(tc_request(port, "POST", "/v1/tasks/mcm-1.abc_d:e-f/restart", NULL, auth_hdr, &r), 200);
    tc_resp_free(&r);
    pthread_mutex_lock(&hk.mu);
    ck_assert_str_eq(hk.last_task, "mcm-1.abc_d:e-f");
    pthread_mutex_unlock(&hk.mu);
    expect("POST", "/v1/tasks/unknown-task/restart", "", auth_hdr, 404, "NOT_FOUND");

    expect("POST", "/v1/teardown", "{\"confirm\": \"" FID "\"}", auth_hdr, 200, NULL);
    ck_assert_int_eq(hook_calls(&hk.teardown_calls), 1);
    pthread_mutex_lock(&hk.mu);
    ck_assert_str_eq(hk.last_fid, FID);
    pthread_mutex_unlock(&hk.mu);

    /* Every hook answer maps to its status. */
    static const struct { http_hook_result a; long status; const char *code; } map[] = {
        {HTTP_HOOK_ACCEPTED, 202, NULL}, {HTTP_HOOK_NOT_FOUND, 404, "NOT_FOUND"},
        {HTTP_HOOK_CONFLICT, 409, "CONFLICT"}, {HTTP_HOOK_INVALID, 422, "INVALID"},
        {HTTP_HOOK_TIMEOUT, 503, "TIMEOUT"}, {HTTP_HOOK_ERROR, 500, "INTERNAL"},
        {(http_hook_result)99, 500, "INTERNAL"}, {HTTP_HOOK_NOT_LEADER, 307, "NOT_LEADER"},
    };
    for (size_t i = 0; i < MCM_ARRAY_LEN(map); i++) {
        set_answer(map[i].a);
        expect("POST", "/v1/scale", "{\"instances\": 3}", auth_hdr, map[i].status, map[i].code);
    }
    set_answer(HTTP_HOOK_TIMEOUT);
    ck_assert_int_eq(tc_request(port, "POST", "/v1/scale", "{\"instances\": 3}", auth_hdr, &r), 503);
    char ra[16];
    ck_assert(tc_header(&r, "Retry-After", ra, sizeof(ra)));
    tc_resp_free(&r);
    /* A hook that says "not leader any more" while no leader is known: 503. */
    set_answer(HTTP_HOOK_NOT_LEADER);
    http_set_leader(srv, 1, NULL, NULL);
    expect("POST", "/v1/scale", "{\"instances\": 3}", auth_hdr, 503, "NO_LEADER");
    stop();
}
END_TEST

START_TEST(test_http_operator_hooks_missing_answer_501) {
    http_config cfg;
    http_config_defaults(&cfg);
    cfg.admin_insecure = 1;
    char err[256];
    http_hooks none = {0};
    srv = http_new(&cfg, &none, NULL, err, sizeof(err));
    ck_assert_ptr_nonnull(srv);
    port = http_port(srv);
    http_set_leader(srv, 1, "http://127.0.0.1:1", NULL);
    http_set_status_json(srv, "{\"framework_id\":\"" FID "\"}");
    expect("POST", "/v1/scale", "{\"instances\": 3}", NULL, 501, "NOT_IMPLEMENTED");
    expect("POST", "/v1/tasks/t1/restart", NULL, NULL, 501, "NOT_IMPLEMENTED");
    expect("POST", "/v1/teardown", "{\"confirm\":\"" FID "\"}", NULL, 501, "NOT_IMPLEMENTED");
    stop();
}
END_TEST

START_TEST(test_http_follower_redirects_to_leader) {
    start_leader();
    http_set_leader(srv, 0, "http://10.2.3.4:8080", NULL);
    static const char *const calls[][2] = {
        {"/v1/scale", "{\"instances\": 3}"}, {"/v1/tasks/t-1/restart", NULL},
        {"/v1/teardown", "{\"confirm\": \"" FID "\"}"},
    };
    for (size_t i = 0; i < MCM_ARRAY_LEN(calls); i++) {
        tc_resp r;
        ck_assert_int_eq(tc_request(port, "POST", calls[i][0], calls[i][1], auth_hdr, &r), 307);
        char loc[256], want[256];
        ck_assert(tc_header(&r, "Location", loc, sizeof(loc)));
        snprintf(want, sizeof(want), "http://10.2.3.4:8080%s", calls[i][0]);
        ck_assert_str_eq(loc, want);
        ck_assert_ptr_nonnull(strstr(r.body, "\"error\":\"NOT_LEADER\",\"leader\":\"http://10.2.3.4:8080\""));
        tc_resp_free(&r);
    }
    /* Auth is checked before the redirect: a follower does not hint to strangers. */
    expect("POST", "/v1/scale", "{\"instances\": 3}", NULL, 401, "UNAUTHORIZED");
    http_set_leader(srv, 0, NULL, NULL);
    for (size_t i = 0; i < MCM_ARRAY_LEN(calls); i++)
        expect("POST", calls[i][0], calls[i][1], auth_hdr, 503, "NO_LEADER");
    ck_assert_int_eq(hook_calls(&hk.scale_calls) + hook_calls(&hk.restart_calls) + hook_calls(&hk.teardown_calls), 0);
    /* Reads are served by followers. */
    publish(3, 1);
    expect("GET", "/v1/servers", NULL, NULL, 200, NULL);
    expect("GET", "/v1/status", NULL, NULL, 200, NULL);
    stop();
}
END_TEST

START_TEST(test_http_token_checks) {
    start_leader();
    const char *body = "{\"instances\": 3}";
    tc_resp r;
    ck_assert_int_eq(tc_request(port, "POST", "/v1/scale", body, NULL, &r), 401);
    char www[64];
    ck_assert(tc_header(&r, "WWW-Authenticate", www, sizeof(www)));
    ck_assert_ptr_nonnull(strstr(www, "Bearer"));
    tc_resp_free(&r);
    static const char *const wrong[] = {
        "Authorization: Bearer wrong", "Authorization: Bearer " TOKEN "x", "Authorization: Bearer s3cret",
        "Authorization: Basic czNjcmV0LXRva2Vu", "Authorization: Bearer", "Authorization: " TOKEN,
        "Authorization: Bearer S3CRET-TOKEN",
    };
    for (size_t i = 0; i < MCM_ARRAY_LEN(wrong); i++) {
        const char *const h[] = {wrong[i], NULL};
        expect("POST", "/v1/scale", body, h, 401, "UNAUTHORIZED");
    }
    ck_assert_int_eq(hook_calls(&hk.scale_calls), 0);
    const char *const lower[] = {"Authorization: bearer " TOKEN, NULL};
    expect("POST", "/v1/scale", body, lower, 200, NULL);
    expect("POST", "/v1/scale", body, auth_hdr, 200, NULL);
    ck_assert_int_eq(hook_calls(&hk.scale_calls), 2);
    stop();

    /* No token file: disabled, whatever the client sends. */
    http_config cfg;
    http_config_defaults(&cfg);
    srv = start_with(&cfg);
    port = http_port(srv);
    http_set_leader(srv, 1, "http://127.0.0.1:1", NULL);
    expect("POST", "/v1/scale", body, NULL, 403, "ADMIN_DISABLED");
    expect("POST", "/v1/scale", body, auth_hdr, 403, "ADMIN_DISABLED");
    stop();
    ck_assert_int_eq(hook_calls(&hk.scale_calls), 2);

    /* --admin-insecure: open without a token. */
    cfg.admin_insecure = 1;
    srv = start_with(&cfg);
    port = http_port(srv);
    http_set_leader(srv, 1, "http://127.0.0.1:1", NULL);
    expect("POST", "/v1/scale", body, NULL, 200, NULL);
    ck_assert_int_eq(hook_calls(&hk.scale_calls), 3);
    stop();
}
END_TEST

/* --- malformed requests: a table --------------------------------------------------- */

static char big_body[70 * 1024 + 1];

START_TEST(test_http_malformed_requests_table) {
    start_leader();
    publish(4, 1);
    memset(big_body, ' ', sizeof(big_body) - 1);
    memcpy(big_body, "{\"instances\":", 13);
    static const char *const garbage_auth[] = {"Authorization: \x01\x02garbage", NULL};
    static const char *const garbage_inm[] = {"If-None-Match: \"\"\"W/,,,\"", NULL};
    static const char *const no_expect[] = {"Authorization: Bearer " TOKEN, "Expect:", NULL};
    const struct {
        const char *method, *path, *body;
        const char *const *hdrs;
        long status;
        const char *code;
    } t[] = {
        {"GET", "/nope", NULL, NULL, 404, "NOT_FOUND"},
        {"GET", "/v1", NULL, NULL, 404, "NOT_FOUND"},        /* "/" is the status page now */
        {"GET", "/v1/servers/", NULL, NULL, 404, "NOT_FOUND"},
        {"GET", "/v1/serversX", NULL, NULL, 404, "NOT_FOUND"},
        {"POST", "/v1/tasks//restart", NULL, auth_hdr, 404, "NOT_FOUND"},
        {"POST", "/v1/tasks/a/b/restart", NULL, auth_hdr, 404, "NOT_FOUND"},
        {"POST", "/v1/servers", "{}", NULL, 405, "METHOD_NOT_ALLOWED"},
        {"DELETE", "/v1/servers", NULL, NULL, 405, "METHOD_NOT_ALLOWED"},
        {"GET", "/v1/scale", NULL, auth_hdr, 405, "METHOD_NOT_ALLOWED"},
        {"PUT", "/v1/teardown", "{}", auth_hdr, 405, "METHOD_NOT_ALLOWED"},
        {"GET", "/v1/tasks/x/restart", NULL, NULL, 405, "METHOD_NOT_ALLOWED"},
        {"POST", "/v1/scale", "{", auth_hdr, 400, "MALFORMED_JSON"},
        {"POST", "/v1/scale", "", auth_hdr, 400, "MALFORMED_JSON"},
        {"POST", "/v1/scale", "[5]", auth_hdr, 400, "MALFORMED_JSON"},
        {"POST", "/v1/scale", "5", auth_hdr, 400, "MALFORMED_JSON"},
        {"POST", "/v1/scale", "{\"instances\":5} trailing", auth_hdr, 400, "MALFORMED_JSON"},
        {"POST", "/v1/scale", "{\"instances\":1,\"instances\":2}", auth_hdr, 400, "MALFORMED_JSON"},
        {"POST", "/v1/scale", "{}", auth_hdr, 400, "MISSING_FIELD"},
        {"POST", "/v1/scale", "{\"instances\":\"3\"}", auth_hdr, 400, "BAD_INSTANCES"},
        {"POST", "/v1/scale", "{\"instances\":null}", auth_hdr, 400, "BAD_INSTANCES"},
        {"POST", "/v1/scale", "{\"instances\":2.5}", auth_hdr, 400, "BAD_INSTANCES"},
        {"POST", "/v1/scale", "{\"instances\":true}", auth_hdr, 400, "BAD_INSTANCES"},
        {"POST", "/v1/scale", "{\"instances\":-1}", auth_hdr, 422, "OUT_OF_RANGE"},
        {"POST", "/v1/scale", "{\"instances\":0}", auth_hdr, 422, "OUT_OF_RANGE"},
        {"POST", "/v1/scale", "{\"instances\":51}", auth_hdr, 422, "OUT_OF_RANGE"},
        {"POST", "/v1/scale", "{\"instances\":4294967297}", auth_hdr, 422, "OUT_OF_RANGE"},
        {"POST", "/v1/scale", "{\"instances\":-9223372036854775808}", auth_hdr, 422, "OUT_OF_RANGE"},
        {"POST", "/v1/scale", "{\"instances\":99999999999999999999999}", auth_hdr, 400, "MALFORMED_JSON"},
        {"POST", "/v1/scale", "{\"instances\":1e400}", auth_hdr, 400, "MALFORMED_JSON"},
        {"POST", "/v1/scale", big_body, auth_hdr, 413, "BODY_TOO_LARGE"},
        {"POST", "/v1/scale", big_body, no_expect, 413, "BODY_TOO_LARGE"},
        {"POST", "/v1/tasks/a%20b/restart", NULL, auth_hdr, 400, "BAD_TASK_ID"},
        {"POST", "/v1/tasks/a%22%0A/restart", NULL, auth_hdr, 400, "BAD_TASK_ID"},
        {"POST", "/v1/teardown", "{}", auth_hdr, 400, "MISSING_FIELD"},
        {"POST", "/v1/teardown", "{\"confirm\":true}", auth_hdr, 400, "BAD_CONFIRM"},
        {"POST", "/v1/teardown", "{\"confirm\":\"fw-other\"}", auth_hdr, 422, "CONFIRM_MISMATCH"},
        {"POST", "/v1/teardown", "{\"confirm\":\"\"}", auth_hdr, 422, "CONFIRM_MISMATCH"},
        {"GET", "/v1/servers?wait=abc&version=1", NULL, NULL, 400, "BAD_WAIT"},
        {"GET", "/v1/servers?wait=-1&version=1", NULL, NULL, 400, "BAD_WAIT"},
        {"GET", "/v1/servers?wait=61&version=1", NULL, NULL, 400, "BAD_WAIT"},
        {"GET", "/v1/servers?wait=1e9&version=1", NULL, NULL, 400, "BAD_WAIT"},
        {"GET", "/v1/servers?wait=&version=1", NULL, NULL, 400, "BAD_WAIT"},
        {"GET", "/v1/servers?wait=1&version=abc", NULL, NULL, 400, "BAD_VERSION"},
        {"GET", "/v1/servers?wait=1&version=-5", NULL, NULL, 400, "BAD_VERSION"},
        {"GET", "/v1/servers?wait=1&version=99999999999999999999", NULL, NULL, 400, "BAD_VERSION"},
        {"GET", "/v1/servers?wait=1", NULL, NULL, 400, "BAD_VERSION"},
        {"GET", "/v1/servers?version=x", NULL, NULL, 400, "BAD_VERSION"},
        {"POST", "/v1/scale", "{\"instances\":3}", garbage_auth, 401, "UNAUTHORIZED"},
        {"GET", "/v1/servers", NULL, garbage_inm, 200, NULL},
    };
    for (size_t i = 0; i < MCM_ARRAY_LEN(t); i++) expect(t[i].method, t[i].path, t[i].body, t[i].hdrs, t[i].status, t[i].code);
    tc_resp r;
    ck_assert_int_eq(tc_request(port, "POST", "/v1/servers", NULL, NULL, &r), 405);
    char allow[64];
    ck_assert(tc_header(&r, "Allow", allow, sizeof(allow)));
    ck_assert_str_eq(allow, "GET, HEAD");
    tc_resp_free(&r);
    ck_assert_int_eq(tc_request(port, "GET", "/v1/teardown", NULL, NULL, &r), 405);
    ck_assert(tc_header(&r, "Allow", allow, sizeof(allow)));
    ck_assert_str_eq(allow, "POST");
    tc_resp_free(&r);
    ck_assert_int_eq(hook_calls(&hk.scale_calls) + hook_calls(&hk.restart_calls) + hook_calls(&hk.teardown_calls), 0);
    expect("GET", "/healthz", NULL, NULL, 200, NULL);
    stop();
}
END_TEST

/* Bytes no well-behaved client sends: MHD or we answer 4xx, the server lives on. */
START_TEST(test_http_raw_garbage_table) {
    start_leader();
    static char huge_hdr[48 * 1024];
    int n = snprintf(huge_hdr, sizeof(huge_hdr), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(huge_hdr + n, 'a', sizeof(huge_hdr) - (size_t)n - 5);
    memcpy(huge_hdr + sizeof(huge_hdr) - 5, "\r\n\r\n", 5);
    static char chunked[80 * 1024];
    n = snprintf(chunked, sizeof(chunked), "POST /v1/scale HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " TOKEN
                 "\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 9; i++) {
        n += snprintf(chunked + n, sizeof(chunked) - (size_t)n, "2000\r\n");
        memset(chunked + n, ' ', 0x2000);
        n += 0x2000;
        n += snprintf(chunked + n, sizeof(chunked) - (size_t)n, "\r\n");
    }
    n += snprintf(chunked + n, sizeof(chunked) - (size_t)n, "0\r\n\r\n");
    const struct { const char *bytes; size_t len; int lo, hi; const char *code; } t[] = {
        {"GARBAGE\r\n\r\n", 0, 0, 499, NULL},
        {"GET /healthz HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n", 0, 400, 400, NULL},
        {"POST /v1/scale HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 0, 400, 400, NULL},
        {"POST /v1/scale HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n", 0, 413, 413, "BODY_TOO_LARGE"},
        {"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", 0, 400, 505, NULL},
        {"GET /healthz HTTP/1.1\r\n\r\n", 0, 400, 400, NULL},                 /* HTTP/1.1 needs Host */
        {"GET /v1/servers?wait=1&version=%ZZ HTTP/1.1\r\nHost: x\r\n\r\n", 0, 400, 400, NULL},
        {huge_hdr, sizeof(huge_hdr) - 1, 400, 499, NULL},
        {chunked, (size_t)n, 413, 413, "BODY_TOO_LARGE"},
    };
    char buf[4096];
    for (size_t i = 0; i < MCM_ARRAY_LEN(t); i++) {
        size_t len = t[i].len ? t[i].len : strlen(t[i].bytes);
        int st = tc_raw(port, t[i].bytes, len, buf, sizeof(buf), 5000);
        fprintf(stderr, "raw case %zu: %d\n", i, st);
        ck_assert_msg(st >= t[i].lo && st <= t[i].hi, "raw case %zu: status %d, want %d..%d\n%s", i, st,
                      t[i].lo, t[i].hi, buf);
        if (t[i].code) ck_assert_msg(strstr(buf, t[i].code) != NULL, "raw case %zu: %s", i, buf);
    }
    ck_assert_int_eq(hook_calls(&hk.scale_calls), 0);
    expect("GET", "/healthz", NULL, NULL, 200, NULL);
    stop();
}
END_TEST

START_TEST(test_http_slow_client_is_cut_off) {
    start_leader();    /* connection timeout 2 s */
    char buf[256];
    int64_t t0 = util_now_ms();
    int st = tc_raw(port, "GET /healthz HTTP/1.1\r\nHo", 26, buf, sizeof(buf), 10000);
    int64_t took = util_now_ms() - t0;
    fprintf(stderr, "a half-sent request was closed after %lld ms (status %d)\n", (long long)took, st);
    ck_assert_int_le(st, 0);
    ck_assert_int_lt(took, 8000);
    ck_assert_int_ge(took, 1000);
    expect("GET", "/healthz", NULL, NULL, 200, NULL);
    stop();
}
END_TEST

/* A TCP probe: connect, then close without a request (rst: with a reset, as
 * load balancers' health checks and port scanners often do). */
static void probe(int rst) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    if (rst) {
        struct linger lg = {1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    } else {
        send(fd, "GET /hea", 8, MSG_NOSIGNAL);      /* half a request, then gone */
    }
    close(fd);
    /* A header line without a colon: libmicrohttpd says so (with epoll it no
     * longer reports the dropped sockets above). */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    const char *bad = "GET /healthz HTTP/1.1\r\nHost: x\r\nno-colon-here\r\n\r\n";
    send(fd, bad, strlen(bad), MSG_NOSIGNAL);
    char buf[512];
    (void)recv(fd, buf, sizeof(buf), 0);
    close(fd);
}

/* Runs 2 x n probes with log level `level`, this process's stderr going to a
 * file; returns how many lines mention libmicrohttpd (`need`: in this text). */
static int mhd_lines_after_probes(log_level level, int n, const char *need) {
    char path[] = "/tmp/mcm-test-http-log-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    log_set_level(level);
    for (int i = 0; i < n; i++) {
        probe(0);
        probe(1);
    }
    util_sleep_ms(500);                    /* MHD handles them on its threads */
    expect("GET", "/healthz", NULL, NULL, 200, NULL);
    log_set_level(LOG_INFO);
    dup2(saved, STDERR_FILENO);
    close(saved);
    FILE *f = fdopen(fd, "r");
    rewind(f);
    char line[1024];
    int count = 0;
    while (fgets(line, sizeof(line), f)) {
        int hit = strstr(line, "libmicrohttpd:") && strstr(line, need);
        if (hit && count < 2) fputs(line, stderr);
        count += hit;
    }
    fclose(f);
    unlink(path);
    return count;
}

/* libmicrohttpd reports every connection a client drops; at INFO that was
 * one line per probe socket (303 lines for 300 probes). Now VERBOSE. */
START_TEST(test_http_mhd_messages_logged_at_verbose) {
    start_leader();
    int at_info = mhd_lines_after_probes(LOG_INFO, 20, "");
    int at_verbose = mhd_lines_after_probes(LOG_VERBOSE, 20, " verbose http: ");
    fprintf(stderr, "libmicrohttpd lines for 40 probes: %d at level info, %d at level verbose\n", at_info,
            at_verbose);
    ck_assert_int_eq(at_info, 0);
    ck_assert_int_gt(at_verbose, 0);       /* the probes do make it talk */
    stop();
}
END_TEST

START_TEST(test_http_config_errors) {
    http_config cfg;
    http_config_defaults(&cfg);
    char err[256] = "";
    srv = start_with(&cfg);
    cfg.port = http_port(srv);
    ck_assert_ptr_null(http_new(&cfg, &hooks, NULL, err, sizeof(err)));    /* port in use */
    ck_assert_ptr_nonnull(strstr(err, "cannot listen"));
    stop();
    http_config_defaults(&cfg);
    cfg.listen_host = "no-such-host.invalid";
    ck_assert_ptr_null(http_new(&cfg, &hooks, NULL, err, sizeof(err)));
    http_config_defaults(&cfg);
    cfg.scale_min = 5;
    cfg.scale_max = 4;
    ck_assert_ptr_null(http_new(&cfg, &hooks, NULL, err, sizeof(err)));
    http_config_defaults(&cfg);
    cfg.port = 70000;
    ck_assert_ptr_null(http_new(&cfg, &hooks, NULL, err, sizeof(err)));
    http_free(NULL);
    ck_assert_int_eq(http_set_servers(NULL, NULL), MCM_ERR);
}
END_TEST

/* --- metrics --------------------------------------------------------------------------- */

START_TEST(test_http_metrics_exposition_parses) {
    metrics *m = metrics_new();
    metrics_mcm mm;
    ck_assert_int_eq(metrics_mcm_register(m, &mm), MCM_OK);
    http_config cfg;
    http_config_defaults(&cfg);
    char err[256];
    srv = http_new(&cfg, &hooks, m, err, sizeof(err));
    ck_assert_ptr_nonnull(srv);
    ck_assert_ptr_eq(http_metrics(srv), m);
    port = http_port(srv);
    metrics_set(mm.is_leader, NULL, 1);
    metrics_inc(mm.offers_declined, NULL);
    metrics_set(mm.tasks, METRICS_L("TASK_RUNNING"), 3);
    metrics_mc_figures f = {"task \"quoted\" \\ odd\nname", "10.0.0.1:31000", 1024, 65536, 2, 0.75, 9};
    metrics_mcm_set_memcached(&mm, &f, 1);
    expect("GET", "/v1/tasks/some-task/restart", NULL, NULL, 405, NULL);
    expect("GET", "/definitely/not/here", NULL, NULL, 404, NULL);
    expect("GET", "/v1/servers", NULL, NULL, 503, NULL);
    tc_resp r;
    ck_assert_int_eq(tc_request(port, "GET", "/metrics", NULL, NULL, &r), 200);
    char ctype[128];
    ck_assert(tc_header(&r, "Content-Type", ctype, sizeof(ctype)));
    ck_assert_str_eq(ctype, METRICS_CONTENT_TYPE);
    prom_doc d;
    ck_assert_msg(prom_parse(r.body, &d, err, sizeof(err)) == 0, "%s\n%s", err, r.body);
    ck_assert(prom_find(&d, "mcm_is_leader", NULL)->value == 1);
    ck_assert(prom_find(&d, "mcm_offers_declined_total", NULL)->value == 1);
    ck_assert(prom_find(&d, "mcm_tasks", "state=TASK_RUNNING")->value == 3);
    int found = 0;
    for (size_t i = 0; i < d.n; i++)
        if (strcmp(d.s[i].name, "mcm_memcached_hit_ratio") == 0 && strcmp(d.s[i].lvalue[0], f.task_id) == 0 &&
            d.s[i].value == 0.75)
            found = 1;
    ck_assert(found);
    /* Routes are normalised: the task id never becomes a label value. */
    ck_assert(prom_find(&d, "mcm_http_requests_total", "route=/v1/tasks/:id/restart,code=405")->value == 1);
    ck_assert(prom_find(&d, "mcm_http_requests_total", "route=other,code=404")->value == 1);
    ck_assert(prom_find(&d, "mcm_http_requests_total", "route=/v1/servers,code=503")->value == 1);
    for (size_t i = 0; i < d.n; i++)
        for (int j = 0; j < d.s[i].nlabels; j++) ck_assert_ptr_null(strstr(d.s[i].lvalue[j], "some-task"));
    prom_free(&d);
    tc_resp_free(&r);
    ck_assert_int_eq(tc_request(port, "GET", "/metrics", NULL, NULL, &r), 200);
    ck_assert_int_eq(prom_parse(r.body, &d, err, sizeof(err)), 0);
    ck_assert(prom_find(&d, "mcm_http_requests_total", "route=/metrics,code=200")->value == 1);
    prom_free(&d);
    tc_resp_free(&r);
    stop();
    metrics_free(m);
}
END_TEST

/* --- concurrency --------------------------------------------------------------------- */

typedef struct client_arg {
    int64_t until;
    int requests, bad;
} client_arg;

static void *client_loop(void *arg) {
    client_arg *a = arg;
    static const char *const paths[] = {"/v1/servers", "/v1/status", "/v1/tasks", "/v1/leader",
                                        "/metrics", "/readyz", "/v1/servers?wait=50ms&version=0"};
    for (int i = 0; util_now_ms() < a->until; i++) {
        tc_resp r;
        long code = tc_request(port, "GET", paths[i % MCM_ARRAY_LEN(paths)], NULL, NULL, &r);
        if (code != 200 && code != 304 && code != 503) a->bad++;
        if (code == 200 && i % MCM_ARRAY_LEN(paths) == 0 && !strstr(r.body, "\"servers\":[")) a->bad++;
        a->requests++;
        tc_resp_free(&r);
    }
    return NULL;
}

START_TEST(test_http_concurrent_requests_while_snapshots_swap) {
    metrics *m = metrics_new();
    metrics_mcm mm;
    metrics_mcm_register(m, &mm);
    http_config cfg;
    http_config_defaults(&cfg);
    char err[256];
    srv = http_new(&cfg, &hooks, m, err, sizeof(err));
    ck_assert_ptr_nonnull(srv);
    port = http_port(srv);
    enum { NCLIENTS = 4 };
    client_arg args[NCLIENTS];
    pthread_t t[NCLIENTS];
    int64_t until = util_now_ms() + 2500;
    for (int i = 0; i < NCLIENTS; i++) {
        args[i] = (client_arg){.until = until};
        pthread_create(&t[i], NULL, client_loop, &args[i]);
    }
    int swaps = 0;
    for (int64_t v = 1; util_now_ms() < until; v++, swaps++) {
        publish(v, (int)(v % 50));
        char json[128];
        snprintf(json, sizeof(json), "{\"role\":\"leader\",\"n\":%lld}", (long long)v);
        http_set_status_json(srv, json);
        http_set_tasks_json(srv, json);
        http_set_leader(srv, (int)(v % 2), v % 3 ? "http://127.0.0.1:9" : NULL, NULL);
        http_set_zk_connected(srv, (int)(v % 2));
        metrics_set(mm.servers_version, NULL, (double)v);
        metrics_mc_figures f = {"t", "h:1", (double)v, 1, 2, 0.5, 1};
        metrics_mcm_set_memcached(&mm, &f, (size_t)(v % 2));
        util_sleep_ms(2);
    }
    int total = 0, bad = 0;
    for (int i = 0; i < NCLIENTS; i++) {
        pthread_join(t[i], NULL);
        total += args[i].requests;
        bad += args[i].bad;
    }
    fprintf(stderr, "stress: %d requests from %d clients during %d snapshot swaps, %d bad\n", total, NCLIENTS,
            swaps, bad);
    ck_assert_int_eq(bad, 0);
    ck_assert_int_gt(total, 50);
    stop();
    metrics_free(m);
}
END_TEST

int main(void) {
    curl_global_init(CURL_GLOBAL_ALL);
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("http");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_http_servers_not_loaded_then_served_with_etag);
    tcase_add_test(tc, test_http_servers_if_none_match_304);
    tcase_add_test(tc, test_http_servers_long_poll_wakes_on_change);
    tcase_add_test(tc, test_http_servers_long_poll_times_out_304);
    tcase_add_test(tc, test_http_servers_long_poll_answers_any_other_version);
    tcase_add_test(tc, test_http_long_poll_before_any_list);
    tcase_add_test(tc, test_http_free_releases_long_polls);
    tcase_add_test(tc, test_http_leader_tasks_status);
    tcase_add_test(tc, test_http_stale_core_claims_no_leadership);
    tcase_add_test(tc, test_http_healthz_and_readyz_transitions);
    tcase_add_test(tc, test_http_leader_operator_calls_reach_hooks);
    tcase_add_test(tc, test_http_operator_hooks_missing_answer_501);
    tcase_add_test(tc, test_http_follower_redirects_to_leader);
    tcase_add_test(tc, test_http_token_checks);
    tcase_add_test(tc, test_http_malformed_requests_table);
    tcase_add_test(tc, test_http_raw_garbage_table);
    tcase_add_test(tc, test_http_slow_client_is_cut_off);
    tcase_add_test(tc, test_http_mhd_messages_logged_at_verbose);
    tcase_add_test(tc, test_http_config_errors);
    tcase_add_test(tc, test_http_metrics_exposition_parses);
    tcase_add_test(tc, test_http_concurrent_requests_while_snapshots_swap);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    curl_global_cleanup();
    return failed ? 1 : 0;
}
