/* test_rhist.c -- the leader's per-server report history (rhist.h), pure:
 * bounded to RHIST_POINTS samples per server (the newest kept), eviction
 * rates from consecutive reports (unknown first and after a restart),
 * repeated reports ignored, servers freed by forget/retain. */
#include "mcm.h"
#include "rhist.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

static report rep(int64_t t, uint64_t bytes, uint64_t evictions, uint64_t hits, uint64_t misses) {
    report r;
    memset(&r, 0, sizeof(r));
    r.time_ms = t;
    r.bytes = bytes;
    r.limit_maxbytes = 1000;
    r.evictions = evictions;
    r.get_hits = hits;
    r.get_misses = misses;
    return r;
}

START_TEST(test_rhist_keeps_the_newest_points) {
    rhist *h = rhist_new();
    for (int i = 1; i <= RHIST_POINTS + 25; i++) {
        report r = rep(i * 1000, (uint64_t)i, 0, 0, 0);
        ck_assert_int_eq(rhist_add(h, "a", &r), MCM_OK);
    }
    rhist_sample v[RHIST_POINTS + 10];
    int n = rhist_samples(h, "a", v, RHIST_POINTS + 10);
    ck_assert_int_eq(n, RHIST_POINTS);
    ck_assert_int_eq(v[0].t_ms, 26 * 1000);                       /* the 25 oldest are gone */
    ck_assert_int_eq(v[n - 1].t_ms, (RHIST_POINTS + 25) * 1000);
    for (int i = 1; i < n; i++) ck_assert_int_gt(v[i].t_ms, v[i - 1].t_ms);
    ck_assert_int_eq(rhist_samples(h, "a", v, 3), 3);             /* the newest three */
    ck_assert_int_eq(v[2].t_ms, (RHIST_POINTS + 25) * 1000);
    rhist_free(h);
}
END_TEST

START_TEST(test_rhist_eviction_rate_and_hit_ratio) {
    rhist *h = rhist_new();
    report r1 = rep(1000, 10, 100, 0, 0), r2 = rep(3000, 20, 300, 3, 1), r3 = rep(5000, 20, 5, 3, 1);
    rhist_add(h, "a", &r1);
    rhist_add(h, "a", &r2);
    rhist_add(h, "a", &r2);                                      /* seen again: ignored */
    rhist_add(h, "a", &r3);                                      /* counter went down: restarted */
    rhist_sample v[4];
    ck_assert_int_eq(rhist_samples(h, "a", v, 4), 3);
    ck_assert_double_eq(v[0].evictions_per_s, -1);               /* first: unknown */
    ck_assert_double_eq(v[0].hit_ratio, -1);                     /* no lookup yet */
    ck_assert_double_eq_tol(v[1].evictions_per_s, 100.0, 1e-9);  /* 200 in 2 s */
    ck_assert_double_eq_tol(v[1].hit_ratio, 0.75, 1e-9);
    ck_assert_double_eq(v[2].evictions_per_s, -1);
    ck_assert_uint_eq(v[1].bytes, 20);
    ck_assert_uint_eq(v[1].limit_bytes, 1000);
    rhist_free(h);
}
END_TEST

static int keep_b(void *ctx, const char *id) {
    (void)ctx;
    return strcmp(id, "b") == 0;
}

START_TEST(test_rhist_forget_and_retain_free_servers) {
    rhist *h = rhist_new();
    report r = rep(1000, 1, 0, 0, 0);
    rhist_add(h, "a", &r);
    rhist_add(h, "b", &r);
    rhist_add(h, "c", &r);
    ck_assert_int_eq(rhist_count(h), 3);
    rhist_forget(h, "a");
    rhist_forget(h, "nobody");
    ck_assert_int_eq(rhist_count(h), 2);
    rhist_sample v[1];
    ck_assert_int_eq(rhist_samples(h, "a", v, 1), 0);
    rhist_retain(h, keep_b, NULL);
    ck_assert_int_eq(rhist_count(h), 1);
    ck_assert_str_eq(rhist_id(h, 0), "b");
    ck_assert_ptr_null(rhist_id(h, 1));
    rhist_clear(h);
    ck_assert_int_eq(rhist_count(h), 0);
    ck_assert_int_eq(rhist_add(h, "", &r), MCM_ERR);
    rhist_free(h);
    rhist_free(NULL);
}
END_TEST

START_TEST(test_rhist_servers_are_bounded) {
    rhist *h = rhist_new();
    report r = rep(1000, 1, 0, 0, 0);
    char id[32];
    for (int i = 0; i < RHIST_SERVERS_MAX; i++) {
        snprintf(id, sizeof(id), "t%d", i);
        ck_assert_int_eq(rhist_add(h, id, &r), MCM_OK);
    }
    ck_assert_int_eq(rhist_add(h, "one-too-many", &r), MCM_ERR);
    ck_assert_int_eq(rhist_count(h), RHIST_SERVERS_MAX);
    rhist_free(h);
}
END_TEST

int main(void) {
    Suite *s = suite_create("rhist");
    TCase *tc = tcase_create("rhist");
    tcase_add_test(tc, test_rhist_keeps_the_newest_points);
    tcase_add_test(tc, test_rhist_eviction_rate_and_hit_ratio);
    tcase_add_test(tc, test_rhist_forget_and_retain_free_servers);
    tcase_add_test(tc, test_rhist_servers_are_bounded);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
