/* test_ring.c -- mcm's ring (src/ring) against libmemcached, the independent
 * implementation: for several server lists (ports other than 11211) and
 * thousands of keys, ring_owner names the server memcached_server_by_key
 * names under MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED. At port 11211 the two
 * differ, and the test shows exactly how (libmemcached drops ":11211").
 * Then the ring's own properties: the shares match the keys, growing by one
 * server moves keys only to it, the order of the list does not matter, and
 * bad input is refused. No server is needed: libmemcached computes its
 * placement without connecting. */
#include "mcm.h"
#include "ring.h"
#include "srvlist.h"

#include <check.h>
#include <libmemcached/memcached.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEYS 5000
#define MAX_SRV 16

static char err[256];

/* Key i: lengths from 1 to about 200 bytes, several shapes. */
static size_t key_of(int i, char *buf, size_t len) {
    switch (i % 4) {
    case 0: return (size_t)snprintf(buf, len, "key:%d", i);
    case 1: return (size_t)snprintf(buf, len, "user/%d/profile", i * 7919);
    case 2: return (size_t)snprintf(buf, len, "%d", i);
    default: return (size_t)snprintf(buf, len, "%0*d", 1 + i % 200, i);
    }
}

/* A libmemcached client over "host:port" names, KETAMA_WEIGHTED (MD5 keys
 * and points, 160 points per server); nothing is connected. */
static memcached_st *lm_client(const char *const *names, int n) {
    memcached_st *mc = memcached_create(NULL);
    ck_assert_ptr_nonnull(mc);
    ck_assert_int_eq(memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1), MEMCACHED_SUCCESS);
    for (int i = 0; i < n; i++) {
        char host[128];
        const char *colon = strrchr(names[i], ':');
        ck_assert_ptr_nonnull(colon);
        snprintf(host, sizeof(host), "%.*s", (int)(colon - names[i]), names[i]);
        ck_assert_int_eq(memcached_server_add_with_weight(mc, host, (in_port_t)atoi(colon + 1), 1),
                         MEMCACHED_SUCCESS);
    }
    ck_assert_int_eq(memcached_behavior_get_distribution(mc), MEMCACHED_DISTRIBUTION_CONSISTENT_WEIGHTED);
    ck_assert_int_eq(memcached_behavior_get_key_hash(mc), MEMCACHED_HASH_MD5);
    return mc;
}

static void lm_owner(memcached_st *mc, const char *key, size_t len, char *out, size_t outlen) {
    memcached_return_t rc;
    const memcached_instance_st *s = memcached_server_by_key(mc, key, len, &rc);
    ck_assert_msg(s != NULL, "libmemcached: no server for %s: %s", key, memcached_strerror(mc, rc));
    snprintf(out, outlen, "%s:%d", memcached_server_name(s), (int)memcached_server_port(s));
}

/* Keys (of KEYS) that mcm's ring over `ring_names` and libmemcached over
 * `lm_names` put on the same server; both name servers "host:port". */
static int agreement(const char *const *ring_names, const char *const *lm_names, int n) {
    ring *r = ring_new(ring_names, n, err, sizeof(err));
    ck_assert_msg(r != NULL, "%s", err);
    memcached_st *mc = lm_client(lm_names, n);
    int agree = 0;
    for (int i = 0; i < KEYS; i++) {
        char key[256], lm[160];
        size_t len = key_of(i, key, sizeof(key));
        lm_owner(mc, key, len, lm, sizeof(lm));
        int o = ring_owner(r, key, len);
        ck_assert(o >= 0 && o < n);
        agree += strcmp(lm, lm_names[o]) == 0;
    }
    memcached_free(mc);
    ring_free(r);
    return agree;
}

static const char *const ONE[] = {"127.0.0.1:31000"};
static const char *const THREE[] = {"10.0.0.5:31000", "10.0.0.6:31001", "10.0.0.7:31002"};
static const char *const FOUR[] = {"127.0.0.1:20001", "127.0.0.1:20002", "127.0.0.1:20003", "127.0.0.1:20004"};
static const char *const FIVE[] = {"mc-a.example.org:31000", "mc-b.example.org:31000", "mc-c.example.org:31017",
                                   "10.1.2.3:1", "10.1.2.4:65535"};
static const char *const SEVEN[] = {"10.0.0.1:31000", "10.0.0.2:31000", "10.0.0.3:31000", "10.0.0.4:31000",
                                    "10.0.0.5:31000", "10.0.0.6:31000", "10.0.0.7:31000"};
static const char *const TWELVE[] = {"h:1", "h:2", "h:3", "h:4", "h:5", "h:6",
                                     "h:7", "h:8", "h:9", "h:10", "h:11", "h:12"};

START_TEST(test_ring_agrees_with_libmemcached_ketama_weighted) {
    struct { const char *const *names; int n; } lists[] = {
        {ONE, 1}, {THREE, 3}, {FOUR, 4}, {FIVE, 5}, {SEVEN, 7}, {TWELVE, 12},
    };
    for (size_t l = 0; l < MCM_ARRAY_LEN(lists); l++) {
        int agree = agreement(lists[l].names, lists[l].names, lists[l].n);
        printf("ring vs libmemcached KETAMA_WEIGHTED, %2d servers: %d/%d keys on the same server\n",
               lists[l].n, agree, KEYS);
        fflush(stdout);
        ck_assert_msg(agree == KEYS, "%d servers (first %s): only %d of %d keys agree", lists[l].n,
                      lists[l].names[0], agree, KEYS);
    }
}
END_TEST

/* libmemcached names a point "host-i" instead of "host:11211-i" for a server
 * on the default port: mcm's ring (and libketama, spymemcached, twemproxy as
 * mcm-watch writes it) then differ from it. Shown both ways: the plain ring
 * disagrees on many keys, and a ring over the names with ":11211" dropped
 * agrees on every key, so that is the whole difference. */
START_TEST(test_ring_port_11211_differs_from_libmemcached_by_the_dropped_port) {
    static const char *const with[] = {"127.0.0.1:11211", "127.0.0.2:11211", "127.0.0.3:31000", "127.0.0.4:31001"};
    static const char *const dropped[] = {"127.0.0.1", "127.0.0.2", "127.0.0.3:31000", "127.0.0.4:31001"};
    int plain = agreement(with, with, 4);
    /* ring over "127.0.0.1" etc., compared by index with libmemcached over the real list */
    ring *r = ring_new(dropped, 4, err, sizeof(err));
    ck_assert_msg(r != NULL, "%s", err);
    memcached_st *mc = lm_client(with, 4);
    int same = 0;
    for (int i = 0; i < KEYS; i++) {
        char key[256], lm[160];
        size_t len = key_of(i, key, sizeof(key));
        lm_owner(mc, key, len, lm, sizeof(lm));
        same += strcmp(lm, with[ring_owner(r, key, len)]) == 0;
    }
    memcached_free(mc);
    ring_free(r);
    printf("port 11211: ring over host:port agrees with libmemcached on %d/%d keys; over the names "
           "libmemcached hashes (\":11211\" dropped) on %d/%d\n", plain, KEYS, same, KEYS);
    fflush(stdout);
    ck_assert_msg(plain < KEYS * 9 / 10, "expected a visible difference at 11211, got %d/%d", plain, KEYS);
    ck_assert_int_eq(same, KEYS);
}
END_TEST

START_TEST(test_ring_hash_is_md5_first_word_little_endian) {
    /* MD5("") = d41d8cd9 8f00b204 ...; MD5("a") = 0cc175b9 ... */
    ck_assert_uint_eq(ring_hash("", 0), 0xd98c1dd4u);
    ck_assert_uint_eq(ring_hash("a", 1), 0xb975c10cu);
    ck_assert_str_eq(RING_NAME, "libketama-md5-160");
    ck_assert_int_eq(RING_POINTS_PER_SERVER, 160);
}
END_TEST

/* The share of the hash space predicts where keys land, and shares sum to 1. */
START_TEST(test_ring_share_matches_keys) {
    enum { N = 100000 };
    ring *r = ring_new(FOUR, 4, err, sizeof(err));
    ck_assert_msg(r != NULL, "%s", err);
    int count[4] = {0};
    for (int i = 0; i < N; i++) {
        char key[256];
        size_t len = key_of(i, key, sizeof(key));
        count[ring_owner(r, key, len)]++;
    }
    double sum = 0;
    for (int s = 0; s < 4; s++) {
        double share = ring_share(r, s), seen = (double)count[s] / N;
        sum += share;
        ck_assert_msg(share > 0.15 && share < 0.35, "server %d owns %.4f", s, share);
        /* 7 standard errors of a binomial fraction at N keys */
        ck_assert_msg(seen > share - 0.01 && seen < share + 0.01, "server %d: share %.4f, keys %.4f", s, share, seen);
    }
    ck_assert_msg(sum > 1 - 1e-9 && sum < 1 + 1e-9, "shares sum to %.12f", sum);
    ck_assert(ring_share(r, 4) == 0 && ring_share(r, -1) == 0);
    ring_free(r);
}
END_TEST

/* 4 -> 5 servers: a key that changes owner moves to the new server only, and
 * about the new server's share of keys moves. */
START_TEST(test_ring_growth_moves_keys_only_to_the_new_server) {
    static const char *const five[] = {"127.0.0.1:20001", "127.0.0.1:20002", "127.0.0.1:20003",
                                       "127.0.0.1:20004", "127.0.0.1:20005"};
    ring *a = ring_new(five, 4, err, sizeof(err)), *b = ring_new(five, 5, err, sizeof(err));
    ck_assert(a && b);
    int moved = 0;
    for (int i = 0; i < KEYS; i++) {
        char key[256];
        size_t len = key_of(i, key, sizeof(key));
        const char *was = ring_owner_name(a, key, len), *now = ring_owner_name(b, key, len);
        if (strcmp(was, now) == 0) continue;
        moved++;
        ck_assert_msg(strcmp(now, five[4]) == 0, "key %s moved %s -> %s", key, was, now);
    }
    double share = ring_share(b, 4), frac = (double)moved / KEYS;
    ck_assert_msg(frac > share - 0.03 && frac < share + 0.03, "moved %.4f, new server's share %.4f", frac, share);
    ring_free(a);
    ring_free(b);
}
END_TEST

START_TEST(test_ring_order_of_servers_does_not_matter) {
    const char *rev[7];
    for (int i = 0; i < 7; i++) rev[i] = SEVEN[6 - i];
    ring *a = ring_new(SEVEN, 7, err, sizeof(err)), *b = ring_new(rev, 7, err, sizeof(err));
    ck_assert(a && b);
    for (int i = 0; i < KEYS; i++) {
        char key[256];
        size_t len = key_of(i, key, sizeof(key));
        ck_assert_str_eq(ring_owner_name(a, key, len), ring_owner_name(b, key, len));
        ck_assert_int_eq(ring_owner(b, key, len), 6 - ring_owner(a, key, len));
    }
    ck_assert_int_eq(ring_find(b, "10.0.0.1:31000"), 6);
    ck_assert_int_eq(ring_find(b, "10.0.0.1:31001"), -1);
    ck_assert_str_eq(ring_server(b, 0), "10.0.0.7:31000");
    ck_assert_ptr_null(ring_server(b, 7));
    ring_free(a);
    ring_free(b);
}
END_TEST

START_TEST(test_ring_refuses_bad_lists_and_handles_empty) {
    static const char *const dup[] = {"h:1", "h:2", "h:1"};
    static const char *const blank[] = {"h:1", ""};
    static const char *const null[] = {"h:1", NULL};
    char longname[RING_SERVER_MAX + 2];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    const char *const toolong[] = {longname};
    err[0] = 0;
    ck_assert_ptr_null(ring_new(dup, 3, err, sizeof(err)));
    ck_assert_msg(strstr(err, "h:1") && strstr(err, "twice"), "%s", err);
    ck_assert_ptr_null(ring_new(blank, 2, err, sizeof(err)));
    ck_assert_ptr_null(ring_new(null, 2, err, sizeof(err)));
    ck_assert_ptr_null(ring_new(toolong, 1, err, sizeof(err)));
    ck_assert_ptr_null(ring_new(dup, -1, err, sizeof(err)));
    ring *e = ring_new(NULL, 0, err, sizeof(err));
    ck_assert_msg(e != NULL, "%s", err);
    ck_assert_int_eq(ring_count(e), 0);
    ck_assert_int_eq(ring_owner(e, "k", 1), -1);
    ck_assert_ptr_null(ring_owner_name(e, "k", 1));
    ck_assert(ring_share(e, 0) == 0);
    ring_free(e);
    ring_free(NULL);
}
END_TEST

/* The published list: names "<host>:<port>", a host:port twice is on the ring
 * once, and an empty list is an empty ring. */
START_TEST(test_ring_from_srvlist) {
    srvlist *l = srvlist_new();
    ck_assert_int_eq(srvlist_add(l, "10.0.0.6", 31001, "mcm-b"), MCM_OK);
    ck_assert_int_eq(srvlist_add(l, "10.0.0.5", 31000, "mcm-a"), MCM_OK);
    ck_assert_int_eq(srvlist_add(l, "10.0.0.5", 31000, "mcm-a2"), MCM_OK);
    srvlist_sort(l);
    ring *r = ring_from_srvlist(l, err, sizeof(err));
    ck_assert_msg(r != NULL, "%s", err);
    ck_assert_int_eq(ring_count(r), 2);
    ck_assert_str_eq(ring_server(r, 0), "10.0.0.5:31000");
    ck_assert_str_eq(ring_server(r, 1), "10.0.0.6:31001");
    ring *direct = ring_new((const char *const[]){"10.0.0.5:31000", "10.0.0.6:31001"}, 2, err, sizeof(err));
    for (int i = 0; i < 1000; i++) {
        char key[256];
        size_t len = key_of(i, key, sizeof(key));
        ck_assert_int_eq(ring_owner(r, key, len), ring_owner(direct, key, len));
    }
    ring_free(direct);
    ring_free(r);
    srvlist *e = srvlist_new();
    r = ring_from_srvlist(e, err, sizeof(err));
    ck_assert(r && ring_count(r) == 0);
    ring_free(r);
    srvlist_free(e);
    srvlist_free(l);
}
END_TEST

int main(void) {
    Suite *s = suite_create("ring");
    TCase *tc = tcase_create("ring");
    tcase_add_test(tc, test_ring_agrees_with_libmemcached_ketama_weighted);
    tcase_add_test(tc, test_ring_port_11211_differs_from_libmemcached_by_the_dropped_port);
    tcase_add_test(tc, test_ring_hash_is_md5_first_word_little_endian);
    tcase_add_test(tc, test_ring_share_matches_keys);
    tcase_add_test(tc, test_ring_growth_moves_keys_only_to_the_new_server);
    tcase_add_test(tc, test_ring_order_of_servers_does_not_matter);
    tcase_add_test(tc, test_ring_refuses_bad_lists_and_handles_empty);
    tcase_add_test(tc, test_ring_from_srvlist);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
