/* test_http_conn.c -- the HTTP connection model under hostile clients.
 *
 * A real server on a free loopback port and raw sockets: 256 long polls
 * opened and closed at once, 256 slow-header (slowloris) clients, one that
 * trickles a byte at a time, many idle sockets from one address; then
 * /healthz must answer within 1 s during the attack and ordinary requests
 * within 1 s after it. Also a NUL (%00) in a path and two Content-Length
 * headers. Threads: the test's main thread; the server's MHD threads. */
#include "client.h"
#include "http.h"
#include "mcm.h"
#include "srvlist.h"
#include "util.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ATTACKERS 256
#define ANSWER_MS 1000               /* the bound: answered within 1 s */

static http_server *srv;
static int port;

static void start(unsigned per_ip, unsigned header_ms) {
    http_config cfg;
    char err[256];
    http_config_defaults(&cfg);
    cfg.per_ip_limit = per_ip;
    cfg.header_timeout_ms = header_ms;
    srv = http_new(&cfg, NULL, NULL, err, sizeof(err));
    ck_assert_msg(srv != NULL, "http_new: %s", err);
    port = http_port(srv);
    srvlist *l = srvlist_new();
    l->version = 7;
    srvlist_add(l, "10.0.0.1", 31000, "mcm-1");
    ck_assert_int_eq(http_set_servers(srv, l), MCM_OK);
    srvlist_free(l);
    http_set_zk_connected(srv, 1);
}

/* A connected socket from source address src (NULL: any) to the server. */
static int dial(const char *src) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    if (src) {
        struct sockaddr_in s = {.sin_family = AF_INET};
        inet_pton(AF_INET, src, &s.sin_addr);
        ck_assert_int_eq(bind(fd, (struct sockaddr *)&s, sizeof(s)), 0);
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

/* Status of one GET from src, or 0 if no answer within timeout_ms. */
static int get_from(const char *src, const char *path, int timeout_ms) {
    char req[256], buf[512];
    int fd = dial(src), status = 0;
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", path);
    send(fd, req, strlen(req), MSG_NOSIGNAL);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) == 1) {
        ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
        buf[n > 0 ? n : 0] = '\0';
        if (n > 12) status = atoi(buf + 9);
    }
    close(fd);
    return status;
}

/* Time until src gets `want` for path, retrying; -1 if not within limit_ms. */
static int64_t served_within(const char *src, const char *path, int want, int limit_ms) {
    int64_t t0 = util_now_ms();
    while (util_now_ms() - t0 < limit_ms) {
        int left = limit_ms - (int)(util_now_ms() - t0);
        if (get_from(src, path, left > 0 ? left : 1) == want) return util_now_ms() - t0;
        util_sleep_ms(20);
    }
    return -1;
}

static void long_polls_opened_and_closed(int n) {
    int *fds = calloc((size_t)n, sizeof(int));
    const char *req = "GET /v1/servers?wait=300s&version=7 HTTP/1.1\r\nHost: t\r\n\r\n";
    for (int i = 0; i < n; i++) {
        fds[i] = dial(NULL);
        send(fds[i], req, strlen(req), MSG_NOSIGNAL);
    }
    util_sleep_ms(300);                              /* every one is waiting in its handler */
    for (int i = 0; i < n; i++) close(fds[i]);
    free(fds);
}

START_TEST(test_http_closed_long_polls_free_their_slots) {
    start(0, 10000);
    long_polls_opened_and_closed(ATTACKERS);
    int64_t ms = served_within(NULL, "/v1/servers", 200, ANSWER_MS);
    fprintf(stderr, "after %d closed long polls: /v1/servers served in %lld ms\n", ATTACKERS, (long long)ms);
    ck_assert_msg(ms >= 0, "closed long polls still hold the slots");
    http_free(srv);
}
END_TEST

START_TEST(test_http_healthz_answers_during_attack) {
    start(0, 3000);
    int slow[ATTACKERS];
    for (int i = 0; i < ATTACKERS; i++) {           /* headers never finished */
        slow[i] = dial(NULL);
        send(slow[i], "GET /v1/ser", 11, MSG_NOSIGNAL);
    }
    long_polls_opened_and_closed(ATTACKERS);
    util_sleep_ms(200);
    int64_t t0 = util_now_ms();
    int st = get_from(NULL, "/healthz", ANSWER_MS);
    int64_t took = util_now_ms() - t0;
    fprintf(stderr, "during %d slow-header clients and %d closed long polls: /healthz %d in %lld ms\n",
            ATTACKERS, ATTACKERS, st, (long long)took);
    ck_assert_int_eq(st, 200);
    ck_assert_int_lt(took, ANSWER_MS);
    for (int i = 0; i < ATTACKERS; i++) close(slow[i]);
    int64_t ms = served_within(NULL, "/v1/servers", 200, ANSWER_MS);
    fprintf(stderr, "attackers closed: /v1/servers served in %lld ms\n", (long long)ms);
    ck_assert_msg(ms >= 0, "not served within 1 s of the attackers closing");
    http_free(srv);
}
END_TEST

/* One byte every 200 ms restarted the idle timeout forever; the header
 * deadline cuts it. */
START_TEST(test_http_trickling_headers_cut_at_deadline) {
    start(0, 1500);
    int fd = dial(NULL);
    const char *req = "GET /healthz HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    int64_t t0 = util_now_ms(), cut = -1;
    for (size_t i = 0; i < strlen(req) && cut < 0; i++) {
        if (send(fd, req + i, 1, MSG_NOSIGNAL) != 1) cut = util_now_ms() - t0;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        char b[64];
        if (cut < 0 && poll(&p, 1, 200) == 1 && recv(fd, b, sizeof(b), 0) <= 0) cut = util_now_ms() - t0;
    }
    close(fd);
    fprintf(stderr, "a trickling client was cut after %lld ms (deadline 1500)\n", (long long)cut);
    ck_assert_msg(cut >= 1400 && cut < 3000, "cut after %lld ms", (long long)cut);
    http_free(srv);
}
END_TEST

/* Idle sockets from one address take at most per_ip_limit slots; another
 * address is served meanwhile. */
START_TEST(test_http_per_address_limit) {
    start(16, 10000);
    int fds[64];
    for (int i = 0; i < 64; i++) fds[i] = dial("127.0.0.1");
    util_sleep_ms(200);
    ck_assert_int_eq(get_from("127.0.0.2", "/v1/servers", ANSWER_MS), 200);
    for (int i = 0; i < 64; i++) close(fds[i]);
    ck_assert_int_ge(served_within("127.0.0.1", "/v1/servers", 200, ANSWER_MS), 0);
    http_free(srv);
}
END_TEST

START_TEST(test_http_nul_in_path_not_cut) {
    start(0, 10000);
    ck_assert_int_eq(get_from(NULL, "/v1/scale%00x", ANSWER_MS), 404);     /* was 405: routed to scale */
    ck_assert_int_eq(get_from(NULL, "/healthz%00", ANSWER_MS), 404);
    ck_assert_int_eq(get_from(NULL, "/v1/servers?wait=1s%00&version=7", ANSWER_MS), 400);
    ck_assert_int_eq(get_from(NULL, "/heal%74hz", ANSWER_MS), 200);          /* other escapes still decode */
    http_free(srv);
}
END_TEST

START_TEST(test_http_conflicting_content_length_refused) {
    start(0, 10000);
    char buf[512];
    const char *two = "POST /v1/scale HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nContent-Length: 17\r\n\r\n"
                      "{}{\"instances\":3}";
    ck_assert_int_eq(tc_raw(port, two, strlen(two), buf, sizeof(buf), 2000), 400);
    ck_assert_ptr_nonnull(strstr(buf, "BAD_CONTENT_LENGTH"));
    const char *same = "POST /v1/scale HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}";
    ck_assert_int_eq(tc_raw(port, same, strlen(same), buf, sizeof(buf), 2000), 403);   /* reaches the route */
    http_free(srv);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("http_conn");
    TCase *tc = tcase_create("conn");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_http_closed_long_polls_free_their_slots);
    tcase_add_test(tc, test_http_healthz_answers_during_attack);
    tcase_add_test(tc, test_http_trickling_headers_cut_at_deadline);
    tcase_add_test(tc, test_http_per_address_limit);
    tcase_add_test(tc, test_http_nul_in_path_not_cut);
    tcase_add_test(tc, test_http_conflicting_content_length_refused);
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
