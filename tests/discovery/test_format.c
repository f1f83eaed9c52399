/* test_format.c -- pure parts of discovery: the four output formats, the
 * ElastiCache payload and protocol parser (fed split at every byte offset),
 * and the atomic file writer. */
#include "ecd_proto.h"
#include "harness.h"
#include "mcm.h"
#include "ring.h"
#include "srvlist.h"
#include "util.h"
#include "watch_exec.h"
#include "watch_file.h"
#include "watch_format.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static srvlist *two(void) {
    srvlist *l = srvlist_new();
    l->version = 7;
    snprintf(l->updated, sizeof(l->updated), "2026-11-25T05:47:00.123Z");
    ck_assert_int_eq(srvlist_add(l, "10.0.0.6", 31001, "mcm-b"), MCM_OK);
    ck_assert_int_eq(srvlist_add(l, "10.0.0.5", 31000, "mcm-a"), MCM_OK);
    srvlist_sort(l);
    return l;
}

static srvlist *empty(void) {
    srvlist *l = srvlist_new();
    l->version = 9;
    return l;
}

START_TEST(test_discovery_format_plain) {
    srvlist *l = two(), *e = empty();
    char *s = watch_fmt_plain(l);
    ck_assert_str_eq(s, "10.0.0.5:31000\n10.0.0.6:31001\n");
    free(s);
    s = watch_fmt_plain(e);
    ck_assert_str_eq(s, "");
    free(s);
    ck_assert_int_eq(srvlist_add(e, "::1", 5, "t"), MCM_OK);
    s = watch_fmt_plain(e);
    ck_assert_str_eq(s, "[::1]:5\n");
    free(s);
    srvlist_free(l);
    srvlist_free(e);
}
END_TEST

START_TEST(test_discovery_format_json_round_trips) {
    srvlist *l = two();
    char *s = watch_fmt_json(l);
    size_t n = strlen(s);
    ck_assert(n > 0 && s[n - 1] == '\n');
    char err[128];
    srvlist *back = srvlist_from_json(s, n - 1, err, sizeof(err));
    ck_assert_msg(back != NULL, "%s", err);
    ck_assert(srvlist_same_servers(l, back));
    ck_assert_int_eq(back->version, 7);
    free(s);
    srvlist_free(back);
    srvlist_free(l);
}
END_TEST

/* mcm's ring: MD5 keys, ketama, and every server named by its own host:port
 * (nutcracker hashes the name; without one it drops :11211). */
START_TEST(test_discovery_format_twemproxy) {
    srvlist *l = two();
    char *s = watch_fmt_twemproxy(l, "mcm", "127.0.0.1:22121");
    ck_assert_str_eq(s, "# written by mcm-watch from server list version 7; do not edit\n"
                        "# keys on mcm's ring (libketama-md5-160): hash md5, distribution ketama, each server "
                        "named by its host:port\n"
                        "mcm:\n  listen: 127.0.0.1:22121\n  hash: md5\n  distribution: ketama\n"
                        "  auto_eject_hosts: false\n  timeout: 400\n  servers:\n"
                        "   - 10.0.0.5:31000:1 10.0.0.5:31000\n   - 10.0.0.6:31001:1 10.0.0.6:31001\n");
    free(s);
    srvlist_free(l);
}
END_TEST

START_TEST(test_discovery_format_twemproxy_empty_is_placeholder) {
    srvlist *e = empty();
    char *s = watch_fmt_twemproxy(e, "p", "127.0.0.1:1");
    ck_assert_ptr_nonnull(strstr(s, "EMPTY"));
    ck_assert_ptr_nonnull(strstr(s, "   - 127.0.0.1:1:1 mcm-empty\n"));
    free(s);
    /* The name is the host:port whatever the task ID, also at port 11211. */
    ck_assert_int_eq(srvlist_add(e, "h1", 11211, "bad name#x"), MCM_OK);
    s = watch_fmt_twemproxy(e, "p", "127.0.0.1:1");
    ck_assert_ptr_nonnull(strstr(s, "   - h1:11211:1 h1:11211\n"));
    ck_assert_ptr_null(strstr(s, "bad name"));
    ck_assert_ptr_null(strstr(s, "mcm-empty"));
    free(s);
    srvlist_free(e);
}
END_TEST

START_TEST(test_discovery_format_mcrouter) {
    srvlist *l = two(), *e = empty();
    char *s = watch_fmt_mcrouter(l, "mc");
    ck_assert_str_eq(s, "{\"pools\":{\"mc\":{\"servers\":[\"10.0.0.5:31000\",\"10.0.0.6:31001\"]}},"
                        "\"route\":{\"type\":\"PoolRoute\",\"pool\":\"mc\",\"hash\":{\"hash_func\":\"Ch3\"}}}\n");
    json_error_t je;
    json_t *doc = json_loads(s, 0, &je);
    ck_assert_msg(doc != NULL, "not JSON: %s", je.text);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_object_get(doc, "route"), "hash"),
                                                       "hash_func")), "Ch3");
    json_decref(doc);
    free(s);
    s = watch_fmt_mcrouter(e, "mc");
    ck_assert_str_eq(s, "{\"pools\":{\"mc\":{\"servers\":[]}},"
                        "\"route\":{\"type\":\"PoolRoute\",\"pool\":\"mc\",\"hash\":{\"hash_func\":\"Ch3\"}}}\n");
    ck_assert_ptr_nonnull(doc = json_loads(s, 0, &je));
    json_decref(doc);
    free(s);
    srvlist_free(l);
    srvlist_free(e);
}
END_TEST

/* The owner line is mcm's ring's answer; an empty list or a list that names
 * another ring is refused with a reason. */
START_TEST(test_discovery_format_owner) {
    srvlist *l = two(), *e = empty();
    ring *r = ring_from_srvlist(l, NULL, 0);
    ck_assert_ptr_nonnull(r);
    char err[256], want[80];
    for (int i = 0; i < 200; i++) {
        char key[32];
        int n = snprintf(key, sizeof(key), "key:%d", i);
        char *s = watch_fmt_owner(l, key, (size_t)n, err, sizeof(err));
        ck_assert_msg(s != NULL, "%s", err);
        snprintf(want, sizeof(want), "%s\n", ring_owner_name(r, key, (size_t)n));
        ck_assert_str_eq(s, want);
        free(s);
    }
    ring_free(r);
    err[0] = 0;
    ck_assert_ptr_null(watch_fmt_owner(e, "k", 1, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "EMPTY"));
    snprintf(l->ring, sizeof(l->ring), "rendezvous-xx");
    ck_assert_ptr_null(watch_fmt_owner(l, "k", 1, err, sizeof(err)));
    ck_assert_msg(strstr(err, "rendezvous-xx") && strstr(err, RING_NAME), "%s", err);
    snprintf(l->ring, sizeof(l->ring), "%s", RING_NAME);
    char *s = watch_fmt_owner(l, "k", 1, err, sizeof(err));
    ck_assert_ptr_nonnull(s);
    free(s);
    srvlist_free(l);
    srvlist_free(e);
}
END_TEST

START_TEST(test_discovery_format_names) {
    watch_fmt f;
    ck_assert_int_eq(watch_fmt_parse("twemproxy", &f), 0);
    ck_assert_int_eq(f, WATCH_FMT_TWEMPROXY);
    ck_assert_int_eq(watch_fmt_parse("yaml", &f), -1);
    ck_assert(watch_pool_name_ok("mcm_pool-1"));
    ck_assert(!watch_pool_name_ok(""));
    ck_assert(!watch_pool_name_ok("a b"));
    ck_assert(!watch_pool_name_ok("a\"b"));
}
END_TEST

#define PAYLOAD2 "7\n10.0.0.5|10.0.0.5|31000 10.0.0.6|10.0.0.6|31001\n"

START_TEST(test_discovery_payload_layout) {
    srvlist *l = two(), *e = empty();
    size_t n;
    char *p = ecd_payload(l, 0, &n);
    ck_assert_str_eq(p, PAYLOAD2);
    ck_assert_uint_eq(n, strlen(PAYLOAD2));
    free(p);
    p = ecd_payload(e, 0, &n);
    ck_assert_str_eq(p, "9\n\n");
    free(p);
    ck_assert_int_eq(srvlist_add(e, "localhost", 11211, "t"), MCM_OK);
    p = ecd_payload(e, 0, &n);
    ck_assert_str_eq(p, "9\nlocalhost||11211\n");
    free(p);
    p = ecd_payload(e, 1, &n);
    ck_assert_str_eq(p, "9\nlocalhost|127.0.0.1|11211\n");
    free(p);
    srvlist_free(l);
    srvlist_free(e);
}
END_TEST

static const char *REQ = "version\r\nconfig get cluster\r\nget AmazonElastiCache:cluster\nbogus\r\n\r\n"
                         "config get other\r\nstats\r\nquit\r\nversion\r\n";
static const char *WANT = "VERSION 1.6.18\r\n"
                          "CONFIG cluster 0 50\r\n" PAYLOAD2 "\r\nEND\r\n"
                          "VALUE AmazonElastiCache:cluster 0 50\r\n" PAYLOAD2 "\r\nEND\r\n"
                          "ERROR\r\nERROR\r\nEND\r\nSTAT version 1.6.18\r\nEND\r\n";

/* Feeds req in two pieces split at cut, the way the connection code does. */
static int feed_split(const char *req, size_t cut, ecd_buf *out) {
    const char *p = PAYLOAD2;
    char in[4096];
    size_t have = 0, used = 0, len = strlen(req);
    memcpy(in, req, cut);
    have = cut;
    int rc = ecd_proto_feed(in, have, &used, p, strlen(p), out);
    if (rc != ECD_FEED_OK) return rc;
    memmove(in, in + used, have - used);
    have -= used;
    memcpy(in + have, req + cut, len - cut);
    have += len - cut;
    return ecd_proto_feed(in, have, &used, p, strlen(p), out);
}

START_TEST(test_discovery_proto_split_at_every_offset) {
    ck_assert_uint_eq(strlen(PAYLOAD2), 50);
    for (size_t cut = 0; cut <= strlen(REQ); cut++) {
        ecd_buf out = {0};
        ck_assert_int_eq(feed_split(REQ, cut, &out), ECD_FEED_QUIT);
        ck_assert_msg(out.len == strlen(WANT) && memcmp(out.p, WANT, out.len) == 0,
                      "cut %zu: got '%.*s'", cut, (int)out.len, out.p);
        ecd_buf_free(&out);
    }
}
END_TEST

START_TEST(test_discovery_proto_no_list_yet) {
    ecd_buf out = {0};
    size_t used;
    const char *req = "config get cluster\r\nget AmazonElastiCache:cluster\r\n";
    ck_assert_int_eq(ecd_proto_feed(req, strlen(req), &used, NULL, 0, &out), ECD_FEED_OK);
    ck_assert_str_eq(out.p, "END\r\nEND\r\n");
    ck_assert_uint_eq(used, strlen(req));
    ecd_buf_free(&out);
}
END_TEST

START_TEST(test_discovery_proto_garbage_and_long_lines_close) {
    ecd_buf out = {0};
    size_t used;
    const char bin[] = "\x80\x01\x00\x00";
    ck_assert_int_eq(ecd_proto_feed(bin, 4, &used, NULL, 0, &out), ECD_FEED_CLOSE);
    ck_assert_int_eq(ecd_proto_feed("ver\rsion\r\n", 10, &used, NULL, 0, &out), ECD_FEED_CLOSE);
    char *lng = malloc(ECD_LINE_MAX + 10);
    memset(lng, 'a', ECD_LINE_MAX + 10);
    ck_assert_int_eq(ecd_proto_feed(lng, ECD_LINE_MAX + 10, &used, NULL, 0, &out), ECD_FEED_CLOSE);
    /* Exactly ECD_LINE_MAX bytes plus CRLF is still a line. */
    memcpy(lng + ECD_LINE_MAX, "\r\n", 2);
    ck_assert_int_eq(ecd_proto_feed(lng, ECD_LINE_MAX + 2, &used, NULL, 0, &out), ECD_FEED_OK);
    ck_assert_str_eq(out.p, "ERROR\r\n");
    /* An incomplete line waits. */
    ck_assert_int_eq(ecd_proto_feed("config get", 10, &used, NULL, 0, &out), ECD_FEED_OK);
    ck_assert_uint_eq(used, 0);
    free(lng);
    ecd_buf_free(&out);
}
END_TEST

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static int count_entries(const char *dir) {
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "ls -A %s | wc -l", dir);
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (p && fscanf(p, "%d", &n) != 1) n = -1;
    if (p) pclose(p);
    return n;
}

START_TEST(test_discovery_file_atomic_replace) {
    char *dir = th_tempdir();
    char path[512], err[256];
    snprintf(path, sizeof(path), "%s/out.txt", dir);
    ck_assert_int_eq(watch_write_file(path, "one\n", 4, err, sizeof(err)), MCM_OK);
    ck_assert_str_eq(slurp(path), "one\n");
    struct stat a, b;
    ck_assert_int_eq(stat(path, &a), 0);
    ck_assert_int_eq(watch_write_file(path, "two\n", 4, err, sizeof(err)), MCM_OK);
    ck_assert_str_eq(slurp(path), "two\n");
    ck_assert_int_eq(stat(path, &b), 0);
    ck_assert_msg(a.st_ino != b.st_ino, "replaced by rename, not rewritten in place");
    /* Same bytes again: the file is left alone. */
    ck_assert_int_eq(watch_write_file(path, "two\n", 4, err, sizeof(err)), MCM_OK);
    ck_assert_int_eq(stat(path, &a), 0);
    ck_assert(a.st_ino == b.st_ino);
    ck_assert_int_eq(watch_write_file(path, "", 0, err, sizeof(err)), MCM_OK);
    ck_assert_str_eq(slurp(path), "");
    ck_assert_int_eq(count_entries(dir), 1);           /* no temporary file left */
    /* A directory that does not exist: a clear error, nothing left behind. */
    char bad[600];
    snprintf(bad, sizeof(bad), "%s/nope/out.txt", dir);
    ck_assert_int_eq(watch_write_file(bad, "x", 1, err, sizeof(err)), MCM_ERR);
    ck_assert_msg(strstr(err, "No such file") != NULL, "%s", err);
    th_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_discovery_exec_status_and_timeout) {
    ck_assert_int_eq(watch_exec_run("true", 5000), MCM_OK);
    ck_assert_int_eq(watch_exec_run("exit 3", 5000), MCM_ERR);
    ck_assert_int_eq(watch_exec_run("/nonexistent/command", 5000), MCM_ERR);
    int64_t t0 = util_now_ms();
    /* The shell and its child are both killed at the deadline. */
    ck_assert_int_eq(watch_exec_run("sleep 30; true", 200), MCM_ERR);
    ck_assert_msg(util_now_ms() - t0 < 10000, "the timeout did not kill the command");
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("discovery_format");
    TCase *tc = tcase_create("pure");
    tcase_add_test(tc, test_discovery_format_plain);
    tcase_add_test(tc, test_discovery_format_json_round_trips);
    tcase_add_test(tc, test_discovery_format_twemproxy);
    tcase_add_test(tc, test_discovery_format_twemproxy_empty_is_placeholder);
    tcase_add_test(tc, test_discovery_format_mcrouter);
    tcase_add_test(tc, test_discovery_format_owner);
    tcase_add_test(tc, test_discovery_format_names);
    tcase_add_test(tc, test_discovery_payload_layout);
    tcase_add_test(tc, test_discovery_proto_split_at_every_offset);
    tcase_add_test(tc, test_discovery_proto_no_list_yet);
    tcase_add_test(tc, test_discovery_proto_garbage_and_long_lines_close);
    tcase_add_test(tc, test_discovery_file_atomic_replace);
    tcase_add_test(tc, test_discovery_exec_status_and_timeout);
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
