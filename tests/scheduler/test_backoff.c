/* test_backoff.c -- per-agent relaunch backoff: doubling, cap, isolation. */
#include "backoff.h"

#include <check.h>

START_TEST(test_backoff_doubles_per_agent_and_caps) {
    backoff *b = backoff_create(1000, 8000);
    ck_assert_int_eq(backoff_wait_ms(b, "a1", 0), 0);
    backoff_failure(b, "a1", 0);
    int64_t w1 = backoff_wait_ms(b, "a1", 0);
    ck_assert(w1 >= 800 && w1 <= 1200);
    backoff_failure(b, "a1", 0);
    int64_t w2 = backoff_wait_ms(b, "a1", 0);
    ck_assert(w2 >= 1600 && w2 <= 2400);
    for (int i = 0; i < 10; i++) backoff_failure(b, "a1", 0);
    int64_t wmax = backoff_wait_ms(b, "a1", 0);
    ck_assert(wmax >= 6400 && wmax <= 9600);
    ck_assert_int_eq(backoff_failures(b, "a1"), 12);
    ck_assert_int_eq(backoff_wait_ms(b, "a2", 0), 0);     /* other agents are not delayed */
    ck_assert_int_eq(backoff_wait_ms(b, "a1", 20000), 0); /* time passes */
    backoff_success(b, "a1");
    ck_assert_int_eq(backoff_failures(b, "a1"), 0);
    backoff_failure(b, "a1", 0);
    ck_assert(backoff_wait_ms(b, "a1", 0) <= 1200);        /* reset after success */
    backoff_free(b);
    backoff_free(NULL);
}
END_TEST

int main(void) {
    Suite *s = suite_create("backoff");
    TCase *tc = tcase_create("backoff");
    tcase_add_test(tc, test_backoff_doubles_per_agent_and_caps);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
