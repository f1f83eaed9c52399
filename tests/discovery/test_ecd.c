/* test_ecd.c -- the ElastiCache-compatible endpoint over real TCP: exact
 * bytes for a two-server list in both command forms, version, unknown
 * commands, pipelined and split commands, and the connections it must close
 * (garbage, an overlong line, too many connections, idle ones), with the
 * connection-limit warning rate-limited. */
#include "ecd.h"
#include "harness.h"
#include "log.h"
#include "mcm.h"
#include "util.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PAYLOAD "7\n10.0.0.5|10.0.0.5|31000 10.0.0.6|10.0.0.6|31001\n"
#define CONFIG_REPLY "CONFIG cluster 0 50\r\n" PAYLOAD "\r\nEND\r\n"
#define VALUE_REPLY "VALUE AmazonElastiCache:cluster 0 50\r\n" PAYLOAD "\r\nEND\r\n"

static ecd *E;

static int served(void *arg) { return ecd_served_version(E) == *(long long *)arg; }

static void setup(void) {
    char err[256];
    E = ecd_create("127.0.0.1", 0, 4, err, sizeof(err));
    ck_assert_msg(E != NULL, "%s", err);
    srvlist *l = srvlist_new();
    l->version = 7;
    ck_assert_int_eq(srvlist_add(l, "10.0.0.6", 31001, "mcm-b"), MCM_OK);
    ck_assert_int_eq(srvlist_add(l, "10.0.0.5", 31000, "mcm-a"), MCM_OK);
    srvlist_sort(l);
    ck_assert_int_eq(ecd_set_servers(E, l), MCM_OK);
    srvlist_free(l);
    long long v = 7;
    ck_assert(th_wait(served, &v, 5000));
}

static void teardown(void) {
    ecd_free(E);
    E = NULL;
}

static int dial(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)ecd_port(E))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static void send_all(int fd, const char *s, size_t n) {
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w <= 0) return;            /* the server may have closed: callers check reads */
        s += w;
        n -= (size_t)w;
    }
}

/* Reads until want bytes arrived, EOF, or timeout; *eof set on EOF/reset. */
static size_t recv_upto(int fd, char *buf, size_t cap, size_t want, int timeout_ms, int *eof) {
    size_t have = 0;
    *eof = 0;
    while (have < want && have < cap - 1) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, timeout_ms) <= 0) break;
        ssize_t n = recv(fd, buf + have, cap - 1 - have, 0);
        if (n <= 0) { *eof = 1; break; }
        have += (size_t)n;
    }
    buf[have] = '\0';
    return have;
}

/* Sends req, expects exactly want back and the connection still open. */
static void expect_reply(int fd, const char *req, const char *want) {
    char buf[8192];
    int eof;
    send_all(fd, req, strlen(req));
    size_t n = recv_upto(fd, buf, sizeof(buf), strlen(want), 3000, &eof);
    ck_assert_msg(n == strlen(want) && memcmp(buf, want, n) == 0, "sent '%s', got '%s'", req, buf);
}

/* Drains whatever replies were already sent, then must see EOF or a reset. */
static void expect_closed(int fd) {
    char buf[65536];
    int eof = 0;
    while (!eof && recv_upto(fd, buf, sizeof(buf), sizeof(buf) - 1, 3000, &eof) > 0) {}
    ck_assert_msg(eof, "the connection should have been closed");
}

START_TEST(test_discovery_ecd_config_get_cluster_bytes) {
    int fd = dial();
    expect_reply(fd, "config get cluster\r\n", CONFIG_REPLY);
    expect_reply(fd, "config get cluster\n", CONFIG_REPLY);
    close(fd);
}
END_TEST

START_TEST(test_discovery_ecd_legacy_get_bytes) {
    int fd = dial();
    expect_reply(fd, "get AmazonElastiCache:cluster\r\n", VALUE_REPLY);
    expect_reply(fd, "get other\r\n", "END\r\n");
    close(fd);
}
END_TEST

START_TEST(test_discovery_ecd_version_and_unknown) {
    int fd = dial();
    expect_reply(fd, "version\r\n", "VERSION 1.6.18\r\n");
    expect_reply(fd, "set k 0 0 1\r\n", "ERROR\r\n");
    expect_reply(fd, "stats\r\n", "STAT version 1.6.18\r\nEND\r\n");
    send_all(fd, "quit\r\n", 6);
    expect_closed(fd);
    close(fd);
}
END_TEST

START_TEST(test_discovery_ecd_pipelined_in_one_write) {
    int fd = dial();
    expect_reply(fd, "version\r\nconfig get cluster\r\nget AmazonElastiCache:cluster\r\nnope\r\n",
                 "VERSION 1.6.18\r\n" CONFIG_REPLY VALUE_REPLY "ERROR\r\n");
    close(fd);
}
END_TEST

START_TEST(test_discovery_ecd_split_across_writes) {
    int fd = dial();
    const char *req = "config get cluster\r\n";
    for (size_t i = 0; req[i]; i++) {
        send_all(fd, req + i, 1);
        usleep(2000);
    }
    char buf[1024];
    int eof;
    size_t n = recv_upto(fd, buf, sizeof(buf), strlen(CONFIG_REPLY), 3000, &eof);
    ck_assert_msg(n == strlen(CONFIG_REPLY) && memcmp(buf, CONFIG_REPLY, n) == 0, "got '%s'", buf);
    close(fd);
}
END_TEST

START_TEST(test_discovery_ecd_garbage_closes) {
    int fd = dial();
    send_all(fd, "\x80\x0a\x00\x00\x00\x00\x00\x00", 8);      /* a binary-protocol request */
    expect_closed(fd);
    close(fd);
    fd = dial();
    expect_reply(fd, "version\r\n", "VERSION 1.6.18\r\n");   /* the endpoint lives on */
    close(fd);
}
END_TEST

START_TEST(test_discovery_ecd_long_line_closes) {
    int fd = dial();
    char big[3000];
    memset(big, 'a', sizeof(big));
    send_all(fd, big, sizeof(big));
    expect_closed(fd);
    close(fd);
}
END_TEST

START_TEST(test_discovery_ecd_client_not_reading_is_closed) {
    int fd = dial();
    /* ~5.5 MB of pipelined requests whose ~20 MB of replies are never read. */
    static char req[1 << 20];
    const char *one = "config get cluster\r\n";
    size_t n = 0;
    while (n + strlen(one) < sizeof(req)) {
        memcpy(req + n, one, strlen(one));
        n += strlen(one);
    }
    for (int i = 0; i < 6; i++) send_all(fd, req, n);
    expect_closed(fd);
    close(fd);
}
END_TEST

/* 256 idle sockets from one address held every slot for two minutes; now
 * that address holds its share and another one is served. */
START_TEST(test_discovery_ecd_per_address_limit) {
    char err[256];
    ecd *big = ecd_create("127.0.0.1", 0, 256, err, sizeof(err));
    ck_assert_msg(big != NULL, "%s", err);
    ecd *saved = E;
    E = big;
    int fds[256];
    for (int i = 0; i < 256; i++) fds[i] = dial();
    usleep(200000);
    int other = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in src = {.sin_family = AF_INET}, dst = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.2", &src.sin_addr);
    ck_assert_int_eq(bind(other, (struct sockaddr *)&src, sizeof(src)), 0);
    dst.sin_port = htons((uint16_t)ecd_port(E));
    dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(other, (struct sockaddr *)&dst, sizeof(dst)), 0);
    expect_reply(other, "version\r\n", "VERSION 1.6.18\r\n");
    close(other);
    for (int i = 0; i < 256; i++) close(fds[i]);
    usleep(200000);
    int fd = dial();                               /* and the flooding address again, once it closed */
    expect_reply(fd, "version\r\n", "VERSION 1.6.18\r\n");
    close(fd);
    E = saved;
    ecd_free(big);
}
END_TEST

START_TEST(test_discovery_ecd_connection_limit) {
    int fds[5];
    for (int i = 0; i < 4; i++) {
        fds[i] = dial();
        expect_reply(fds[i], "version\r\n", "VERSION 1.6.18\r\n");
    }
    fds[4] = dial();
    expect_closed(fds[4]);
    close(fds[0]);
    usleep(100000);
    int fd = dial();
    expect_reply(fd, "version\r\n", "VERSION 1.6.18\r\n");
    close(fd);
    for (int i = 1; i < 5; i++) close(fds[i]);
}
END_TEST

/* Sockets that send nothing used to hold the limit forever, locking every
 * new discovery client out. Now each is closed after the idle timeout and
 * the slots serve new clients; a connection that keeps asking stays. */
START_TEST(test_discovery_ecd_idle_connections_are_closed) {
    ecd_set_idle_timeout(E, 600);
    int busy = dial(), fds[3];
    expect_reply(busy, "version\r\n", "VERSION 1.6.18\r\n");
    for (int i = 0; i < 3; i++) fds[i] = dial();          /* never send a byte */
    int extra = dial();
    expect_closed(extra);                                  /* the limit (4) is full */
    close(extra);
    int64_t t0 = util_now_ms();
    for (int i = 0; i < 8; i++) {                          /* 1.6 s of asking every 200 ms */
        usleep(200 * 1000);
        expect_reply(busy, "config get cluster\r\n", CONFIG_REPLY);
    }
    for (int i = 0; i < 3; i++) expect_closed(fds[i]);     /* already closed by now */
    int64_t took = util_now_ms() - t0;
    fprintf(stderr, "idle timeout 600 ms: idle connections closed, the busy one kept, %lld ms\n",
            (long long)took);
    int fresh[3];
    for (int i = 0; i < 3; i++) {
        fresh[i] = dial();
        expect_reply(fresh[i], "config get cluster\r\n", CONFIG_REPLY);
    }
    expect_reply(busy, "version\r\n", "VERSION 1.6.18\r\n");
    ecd_set_idle_timeout(E, 0);                            /* 0: never */
    usleep(900 * 1000);
    expect_reply(fresh[0], "version\r\n", "VERSION 1.6.18\r\n");
    for (int i = 0; i < 3; i++) {
        close(fds[i]);
        close(fresh[i]);
    }
    close(busy);
}
END_TEST

/* Runs fn with this process's stderr in a file; returns how many lines hold text. */
static int log_lines_during(void (*fn)(void), const char *text, char *last, size_t lastlen) {
    char path[] = "/tmp/mcm-test-ecd-log-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    fn();
    dup2(saved, STDERR_FILENO);
    close(saved);
    FILE *f = fdopen(fd, "r");
    rewind(f);
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof(line), f))
        if (strstr(line, text)) {
            n++;
            snprintf(last, lastlen, "%s", line);
        }
    fclose(f);
    unlink(path);
    return n;
}

static void refused_burst(void) {
    for (int i = 0; i < 50; i++) {
        int fd = dial();
        expect_closed(fd);
        close(fd);
    }
}

static void refused_one(void) {
    int fd = dial();
    expect_closed(fd);
    close(fd);
}

/* A flood at the limit logged one warning per refused connection (1,745
 * identical lines). Now at most one per 10 s, the next one counting the rest. */
START_TEST(test_discovery_ecd_limit_warning_rate_limited) {
    int fds[4];
    for (int i = 0; i < 4; i++) {
        fds[i] = dial();
        expect_reply(fds[i], "version\r\n", "VERSION 1.6.18\r\n");
    }
    char last[1024] = "";
    int n = log_lines_during(refused_burst, "(the limit)", last, sizeof(last));
    ck_assert_msg(n == 1, "50 refused connections logged %d limit warnings", n);
    ck_assert_msg(strstr(last, " warning discovery: ") != NULL, "not a warning: %s", last);
    fprintf(stderr, "%s", last);
    sleep(10);
    n = log_lines_during(refused_one, "(the limit)", last, sizeof(last));
    ck_assert_int_eq(n, 1);
    ck_assert_msg(strstr(last, "49 more refused since the last warning") != NULL, "%s", last);
    fprintf(stderr, "%s", last);
    for (int i = 0; i < 4; i++) close(fds[i]);
}
END_TEST

START_TEST(test_discovery_ecd_new_list_new_version) {
    srvlist *l = srvlist_new();
    l->version = 8;
    ecd_set_servers(E, l);
    srvlist_free(l);
    long long v = 8;
    ck_assert(th_wait(served, &v, 5000));
    int fd = dial();
    expect_reply(fd, "config get cluster\r\n", "CONFIG cluster 0 3\r\n8\n\n\r\nEND\r\n");
    close(fd);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("discovery_ecd");
    TCase *tc = tcase_create("tcp");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_discovery_ecd_config_get_cluster_bytes);
    tcase_add_test(tc, test_discovery_ecd_legacy_get_bytes);
    tcase_add_test(tc, test_discovery_ecd_version_and_unknown);
    tcase_add_test(tc, test_discovery_ecd_pipelined_in_one_write);
    tcase_add_test(tc, test_discovery_ecd_split_across_writes);
    tcase_add_test(tc, test_discovery_ecd_garbage_closes);
    tcase_add_test(tc, test_discovery_ecd_long_line_closes);
    tcase_add_test(tc, test_discovery_ecd_client_not_reading_is_closed);
    tcase_add_test(tc, test_discovery_ecd_connection_limit);
    tcase_add_test(tc, test_discovery_ecd_new_list_new_version);
    tcase_add_test(tc, test_discovery_ecd_idle_connections_are_closed);
    tcase_add_test(tc, test_discovery_ecd_limit_warning_rate_limited);
    tcase_add_test(tc, test_discovery_ecd_per_address_limit);
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
