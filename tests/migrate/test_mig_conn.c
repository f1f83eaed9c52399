/* test_mig_conn.c -- the meta-protocol client against real memcached 1.6:
 * each meta flag mcm relies on, checked on the server rather than assumed;
 * binary and 1 MB+ values, 250-byte and binary keys, long pipelines; and
 * what a dead, silent or hostile server does to the client (clear errors,
 * never a crash). */
#include "mig_conn.h"
#include "mig_dump.h"
#include "tmc.h"

#include "harness.h"
#include "mcm.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TIMEOUT_MS 3000

static mig_key K(const char *s) {
    mig_key k;
    ck_assert_int_eq(mig_key_token(s, strlen(s), &k), MCM_OK);
    return k;
}

static mig_conn *open_or_die(const char *addr) {
    char err[256];
    mig_conn *c = mig_conn_open(addr, TIMEOUT_MS, err, sizeof(err));
    ck_assert_msg(c != NULL, "%s", err);
    return c;
}

static void reply_or_die(mig_conn *c, mig_reply *r) {
    ck_assert_msg(mig_conn_reply(c, r) == MCM_OK, "%s", mig_conn_errstr(c));
}

/* `me <key>`: memcached's own view of the item (fetch state, last access),
 * one line read through the stream interface. */
typedef struct line_buf {
    char s[1024];
    size_t n;
} line_buf;

static long take_line(void *arg, const char *buf, size_t len, int *done) {
    line_buf *l = arg;
    const char *nl = memchr(buf, '\n', len);
    size_t n = nl ? (size_t)(nl - buf) + 1 : len;
    if (l->n + n >= sizeof(l->s)) return -1;
    memcpy(l->s + l->n, buf, n);
    l->n += n;
    l->s[l->n] = '\0';
    *done = nl != NULL;
    return (long)n;
}

static void meta_debug(mig_conn *c, const char *key, mig_dump_item *it) {
    char cmd[300];
    line_buf l = {.n = 0};
    snprintf(cmd, sizeof(cmd), "me %s", key);
    ck_assert_int_eq(mig_conn_raw(c, cmd), MCM_OK);
    ck_assert_int_eq(mig_conn_stream(c, take_line, &l), MCM_OK);
    ck_assert_msg(!strncmp(l.s, "ME ", 3), "me answered %s", l.s);
    const char *fields = strchr(l.s + 3, ' ');
    ck_assert_ptr_nonnull(fields);
    char line[1100];
    snprintf(line, sizeof(line), "key=%s%.*s", key, (int)strcspn(fields, "\r\n"), fields);
    ck_assert_int_eq(mig_dump_parse_line(line, strlen(line), it), MCM_OK);
}

START_TEST(test_mig_conn_set_returns_cas_and_get_reads_flags_ttl_cas) {
    tmc *m = tmc_start(64);
    mig_conn *c = open_or_die(tmc_addr(m));
    mig_key k = K("foo");
    mig_reply r;
    ck_assert_int_eq(mig_conn_ms(c, &k, "abc", 3, "T100 F77 c"), MCM_OK);
    reply_or_die(c, &r);
    ck_assert_int_eq(r.rc, MIG_RC_HD);
    ck_assert(r.have & MIG_HAVE_CAS);
    uint64_t cas = r.cas;
    ck_assert_int_eq(mig_conn_mg(c, &k, "v f t c u"), MCM_OK);
    reply_or_die(c, &r);
    ck_assert_int_eq(r.rc, MIG_RC_VA);
    ck_assert_uint_eq(r.vlen, 3);
    ck_assert(!memcmp(r.value, "abc", 3));
    ck_assert_uint_eq(r.flags, 77);
    ck_assert_int_le(r.ttl, 100);
    ck_assert_int_ge(r.ttl, 98);
    ck_assert_uint_eq(r.cas, cas);                       /* ms's c is the item's CAS */
    mig_key k2 = K("nottl");
    ck_assert_int_eq(mig_conn_ms(c, &k2, "x", 1, "c"), MCM_OK);
    ck_assert_int_eq(mig_conn_mg(c, &k2, "v f t c u"), MCM_OK);
    ck_assert_int_eq(mig_conn_mg(c, &(mig_key){"missing", 7, 0}, "v f t c u"), MCM_OK);
    ck_assert_int_eq(mig_conn_mn(c), MCM_OK);
    reply_or_die(c, &r);
    ck_assert_int_eq(r.rc, MIG_RC_HD);
    reply_or_die(c, &r);
    ck_assert_int_eq(r.ttl, -1);                         /* no TTL */
    ck_assert_uint_eq(r.flags, 0);
    reply_or_die(c, &r);
    ck_assert_int_eq(r.rc, MIG_RC_EN);
    reply_or_die(c, &r);
    ck_assert_int_eq(r.rc, MIG_RC_MN);
    mig_conn_free(c);
    tmc_free(m);
}
END_TEST

START_TEST(test_mig_conn_get_with_u_leaves_fetch_state_alone) {
    tmc *m = tmc_start(64);
    mig_conn *c = open_or_die(tmc_addr(m));
    mig_key k = K("quiet"), k2 = K("loud");
    mig_reply r;
    mig_conn_ms(c, &k, "v", 1, "");
    mig_conn_ms(c, &k2, "v", 1, "");
    mig_conn_mg(c, &k, "v f t c u");
    mig_conn_mg(c, &k2, "v f t c");
    for (int i = 0; i < 4; i++) reply_or_die(c, &r);
    mig_dump_item it;
    meta_debug(c, "quiet", &it);
    ck_assert_int_eq(it.fetched, 0);                     /* u: not marked fetched */
    meta_debug(c, "loud", &it);
    ck_assert_int_eq(it.fetched, 1);                     /* the check can fail */
    mig_conn_free(c);
    tmc_free(m);
}
END_TEST

START_TEST(test_mig_conn_compare_and_set_and_delete) {
    tmc *m = tmc_start(64);
    mig_conn *c = open_or_die(tmc_addr(m));
    mig_key k = K("k");
    mig_reply r;
    mig_conn_ms(c, &k, "one", 3, "T50 F3 c");
    reply_or_die(c, &r);
    uint64_t cas = r.cas;
    mig_conn_ms(c, &k, "two", 3, "T50 F3 c C1234567");
    reply_or_die(c, &r);
    ck_assert_int_eq(r.rc, MIG_RC_EX);                   /* wrong CAS: not stored */
    char flags[64];
    snprintf(flags, sizeof(flags), "T50 F4 c C%llu", (unsigned long long)cas);
    mig_conn_ms(c, &k, "two", 3, flags);
    reply_or_die(c, &r);
    ck_assert_int_eq(r.rc, MIG_RC_HD);
    ck_assert_uint_ne(r.cas, cas);
    uint64_t cas2 = r.cas;
    mig_conn_mg(c, &k, "v f t u");
    reply_or_die(c, &r);
    ck_assert(!memcmp(r.value, "two", 3));
    ck_assert_uint_eq(r.flags, 4);
    ck_assert_int_le(r.ttl, 50);
    mig_conn_ms(c, &(mig_key){"absent", 6, 0}, "x", 1, "c C5");
    reply_or_die(c, &r);
    ck_assert_int_eq(r.rc, MIG_RC_NF);                   /* CAS set of a missing key */
    mig_conn_md(c, &k, "C1");
    reply_or_die(c, &r);
    ck_assert_int_eq(r.rc, MIG_RC_EX);
    snprintf(flags, sizeof(flags), "C%llu", (unsigned long long)cas2);
    mig_conn_md(c, &k, flags);
    reply_or_die(c, &r);
    ck_assert_int_eq(r.rc, MIG_RC_HD);
    mig_conn_md(c, &k, flags);
    reply_or_die(c, &r);
    ck_assert_int_eq(r.rc, MIG_RC_NF);
    mig_conn_free(c);
    tmc_free(m);
}
END_TEST

START_TEST(test_mig_conn_binary_megabyte_values_and_long_keys) {
    tmc *m = tmc_start(64);
    mig_conn *c = open_or_die(tmc_addr(m));
    size_t n = 1536 * 1024;                              /* 1.5 MB, every byte value */
    unsigned char *v = malloc(n);
    for (size_t i = 0; i < n; i++) v[i] = (unsigned char)(i * 7 + (i >> 11));
    memcpy(v + 100, "\r\nEND\r\n", 7);
    char key250[MIG_KEY_MAX + 1];
    memset(key250, 'q', MIG_KEY_MAX);
    key250[MIG_KEY_MAX] = '\0';
    mig_key k = K(key250), kb;
    const unsigned char binkey[] = {'a', ' ', 'b', '\n', 0, 0xff};
    ck_assert_int_eq(mig_key_token(binkey, sizeof(binkey), &kb), MCM_OK);
    mig_reply r;
    mig_conn_ms(c, &k, v, n, "c");
    mig_conn_ms(c, &kb, "bin", 3, "c");
    reply_or_die(c, &r);
    ck_assert_msg(r.rc == MIG_RC_HD, "1.5 MB set: %s", r.msg);
    reply_or_die(c, &r);
    ck_assert_int_eq(r.rc, MIG_RC_HD);
    mig_conn_mg(c, &k, "v u");
    mig_conn_mg(c, &kb, "v u");
    reply_or_die(c, &r);
    ck_assert_uint_eq(r.vlen, n);
    ck_assert(!memcmp(r.value, v, n));
    reply_or_die(c, &r);
    ck_assert_uint_eq(r.vlen, 3);
    mig_conn_free(c);
    free(v);
    tmc_free(m);
}
END_TEST

START_TEST(test_mig_conn_long_pipeline_of_large_replies) {
    tmc *m = tmc_start(128);
    mig_conn *c = open_or_die(tmc_addr(m));
    enum { N = 3000, VLEN = 8192 };                      /* 24 MB of replies queued at once */
    char *v = malloc(VLEN), key[32];
    memset(v, 'v', VLEN);
    mig_reply r;
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "p%d", i);
        mig_key k = K(key);
        snprintf(v, 16, "%015d", i);
        ck_assert_int_eq(mig_conn_ms(c, &k, v, VLEN, "q"), MCM_OK);  /* q: no HD lines */
    }
    ck_assert_int_eq(mig_conn_mn(c), MCM_OK);
    reply_or_die(c, &r);
    ck_assert_int_eq(r.rc, MIG_RC_MN);                   /* every set stored quietly */
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "p%d", i);
        mig_key k = K(key);
        mig_conn_mg(c, &k, "v u");
    }
    for (int i = 0; i < N; i++) {
        reply_or_die(c, &r);
        ck_assert_int_eq(r.rc, MIG_RC_VA);
        char want[16];
        snprintf(want, sizeof(want), "%015d", i);
        ck_assert(!memcmp(r.value, want, 15));           /* in request order */
    }
    free(v);
    mig_conn_free(c);
    tmc_free(m);
}
END_TEST

START_TEST(test_mig_conn_refused_and_silent_servers) {
    char err[256];
    int port = th_free_port(), fd = socket(AF_INET, SOCK_STREAM, 0);
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    ck_assert_ptr_null(mig_conn_open(addr, TIMEOUT_MS, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "refused"));
    ck_assert_ptr_null(mig_conn_open("nohostport", TIMEOUT_MS, err, sizeof(err)));
    ck_assert_ptr_null(mig_conn_open("127.0.0.1:0", TIMEOUT_MS, err, sizeof(err)));
    /* a server that accepts (kernel backlog) and never answers */
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(fd, 4), 0);
    mig_conn *c = mig_conn_open(addr, 300, err, sizeof(err));
    ck_assert_ptr_nonnull(c);
    mig_reply r;
    mig_conn_mn(c);
    ck_assert_int_eq(mig_conn_reply(c, &r), MCM_ERR);
    ck_assert_ptr_nonnull(strstr(mig_conn_errstr(c), "no answer within 300 ms"));
    ck_assert_int_eq(mig_conn_mn(c), MCM_ERR);          /* sticky */
    mig_conn_free(c);
    close(fd);
}
END_TEST

/* A fake server that answers every connection with one canned byte string. */
typedef struct hostile {
    int fd;
    const char *say;
    size_t len;
} hostile;

static void *hostile_main(void *arg) {
    hostile *h = arg;
    int c = accept(h->fd, NULL, NULL);
    if (c >= 0) {
        char buf[256];
        (void)!recv(c, buf, sizeof(buf), 0);
        (void)!send(c, h->say, h->len, MSG_NOSIGNAL);
        usleep(300 * 1000);
        close(c);
    }
    return NULL;
}

static const char *hostile_error(const char *say, size_t len) {
    static char err[256];
    int port = th_free_port(), fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    listen(fd, 4);
    hostile h = {fd, say, len};
    pthread_t t;
    pthread_create(&t, NULL, hostile_main, &h);
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    mig_conn *c = mig_conn_open(addr, 2000, err, sizeof(err));
    ck_assert_ptr_nonnull(c);
    mig_conn_set_max_value(c, 1 << 20);
    mig_reply r;
    mig_conn_mg(c, &(mig_key){"k", 1, 0}, "v");
    ck_assert_int_eq(mig_conn_reply(c, &r), MCM_ERR);
    snprintf(err, sizeof(err), "%s", mig_conn_errstr(c));
    mig_conn_free(c);
    pthread_join(t, NULL);
    close(fd);
    return err;
}

START_TEST(test_mig_conn_hostile_replies_are_clear_errors) {
    ck_assert_ptr_nonnull(strstr(hostile_error("VA 99999999 c1\r\n", 16), "over the"));
    ck_assert_ptr_nonnull(strstr(hostile_error("VA 3 c1\r\nabc", 12), "closed"));   /* truncated */
    ck_assert_ptr_nonnull(strstr(hostile_error("ZZ top\r\n", 8), "unknown reply"));
    static char junk[4 * MIG_REPLY_LINE_MAX];
    memset(junk, 'A', sizeof(junk));
    ck_assert_ptr_nonnull(strstr(hostile_error(junk, sizeof(junk)), "longer than"));
}
END_TEST

int main(void) {
    Suite *s = suite_create("mig_conn");
    TCase *tc = tcase_create("conn");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_mig_conn_set_returns_cas_and_get_reads_flags_ttl_cas);
    tcase_add_test(tc, test_mig_conn_get_with_u_leaves_fetch_state_alone);
    tcase_add_test(tc, test_mig_conn_compare_and_set_and_delete);
    tcase_add_test(tc, test_mig_conn_binary_megabyte_values_and_long_keys);
    tcase_add_test(tc, test_mig_conn_long_pipeline_of_large_replies);
    tcase_add_test(tc, test_mig_conn_refused_and_silent_servers);
    tcase_add_test(tc, test_mig_conn_hostile_replies_are_clear_errors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
