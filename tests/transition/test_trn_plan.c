/* test_trn_plan.c -- when a ring change begins, and between which rings. */
#include "trn_plan.h"
#include "mcm.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#define NOW 1700000000000LL

static trn_server srv(const char *id, int port) {
    trn_server s;
    memset(&s, 0, sizeof(s));
    snprintf(s.task_id, sizeof(s.task_id), "%s", id);
    snprintf(s.addr, sizeof(s.addr), "127.0.0.1:%d", port);
    return s;
}

static trn_member mem(const char *id, int port, trn_class c) {
    trn_member m = {srv(id, port), c};
    return m;
}

/* "a,b" of a list's task ids. */
static const char *ids(const trn_server *l, int n) {
    static char buf[4][256];
    static int k;
    char *b = buf[k++ % 4];
    b[0] = 0;
    for (int i = 0; i < n; i++) {
        strcat(b, i ? "," : "");
        strcat(b, l[i].task_id);
    }
    return b;
}

static int awaiting;   /* servers wanted, not launched yet */

static trn_plan plan(const trn_server *pub, int np, const trn_member *m, int nm, int64_t since) {
    trn_plan p;
    ck_assert_int_eq(trn_plan_make(pub, np, m, nm, awaiting, since, 60000, NOW, &p), MCM_OK);
    return p;
}

START_TEST(test_trn_plan_same_ring_is_nothing) {
    trn_server pub[] = {srv("a", 1), srv("b", 2)};
    trn_member m[] = {mem("b", 2, TRN_SERVING), mem("a", 1, TRN_SERVING)};
    trn_plan p = plan(pub, 2, m, 2, 0);
    ck_assert_int_eq(p.kind, TRN_PLAN_NONE);
    trn_plan_free(&p);
}
END_TEST

START_TEST(test_trn_plan_new_server_begins_a_transition) {
    trn_server pub[] = {srv("a", 1), srv("b", 2)};
    trn_member m[] = {mem("a", 1, TRN_SERVING), mem("b", 2, TRN_SERVING), mem("c", 3, TRN_SERVING)};
    trn_plan p = plan(pub, 2, m, 3, 0);
    ck_assert_int_eq(p.kind, TRN_PLAN_BEGIN);
    ck_assert_str_eq(ids(p.from, p.nfrom), "a,b");
    ck_assert_str_eq(ids(p.to, p.nto), "a,b,c");
    trn_plan_free(&p);
}
END_TEST

START_TEST(test_trn_plan_leaving_server_begins_a_transition_without_it) {
    trn_server pub[] = {srv("a", 1), srv("b", 2), srv("c", 3)};
    trn_member m[] = {mem("a", 1, TRN_SERVING), mem("b", 2, TRN_SERVING), mem("c", 3, TRN_LEAVING)};
    trn_plan p = plan(pub, 3, m, 3, 0);
    ck_assert_int_eq(p.kind, TRN_PLAN_BEGIN);
    ck_assert_str_eq(ids(p.from, p.nfrom), "a,b,c");
    ck_assert_str_eq(ids(p.to, p.nto), "a,b");
    trn_plan_free(&p);
}
END_TEST

START_TEST(test_trn_plan_dead_server_is_removed_cold_first) {
    trn_server pub[] = {srv("a", 1), srv("b", 2), srv("c", 3)};
    /* c ended (not a member), b moved address (a different server), d new. */
    trn_member m[] = {mem("a", 1, TRN_SERVING), mem("b", 9, TRN_SERVING), mem("d", 4, TRN_SERVING)};
    trn_plan p = plan(pub, 3, m, 3, 0);
    ck_assert_int_eq(p.kind, TRN_PLAN_PUBLISH);
    ck_assert_str_eq(ids(p.to, p.nto), "a");
    ck_assert(strstr(p.why, "2 published servers"));
    trn_plan_free(&p);
    trn_member starting[] = {mem("a", 1, TRN_SERVING), mem("b", 2, TRN_STARTING)};
    p = plan(pub, 2, starting, 2, NOW);
    ck_assert_int_eq(p.kind, TRN_PLAN_PUBLISH);   /* published but only starting: not serving */
    ck_assert_str_eq(ids(p.to, p.nto), "a");
    trn_plan_free(&p);
}
END_TEST

START_TEST(test_trn_plan_waits_for_starting_servers_within_the_prepare_timeout) {
    trn_server pub[] = {srv("a", 1), srv("b", 2), srv("c", 3)};
    /* A replacement: c leaves, d starts. */
    trn_member m[] = {mem("a", 1, TRN_SERVING), mem("b", 2, TRN_SERVING), mem("c", 3, TRN_LEAVING),
                      mem("d", 4, TRN_STARTING)};
    trn_plan p = plan(pub, 3, m, 4, NOW - 59999);
    ck_assert_int_eq(p.kind, TRN_PLAN_WAIT);
    ck_assert(strstr(p.why, "1 starting"));
    trn_plan_free(&p);
    p = plan(pub, 3, m, 4, NOW - 60000);   /* d is late: move c's keys without it */
    ck_assert_int_eq(p.kind, TRN_PLAN_BEGIN);
    ck_assert_str_eq(ids(p.to, p.nto), "a,b");
    trn_plan_free(&p);
    m[3].cls = TRN_SERVING;
    p = plan(pub, 3, m, 4, 0);
    ck_assert_int_eq(p.kind, TRN_PLAN_BEGIN);
    ck_assert_str_eq(ids(p.from, p.nfrom), "a,b,c");
    ck_assert_str_eq(ids(p.to, p.nto), "a,b,d");
    trn_plan_free(&p);
}
END_TEST

START_TEST(test_trn_plan_nothing_published_or_nothing_left_is_cold) {
    trn_member m[] = {mem("a", 1, TRN_SERVING), mem("b", 2, TRN_SERVING)};
    trn_plan p = plan(NULL, 0, m, 2, 0);
    ck_assert_int_eq(p.kind, TRN_PLAN_PUBLISH);
    ck_assert_str_eq(ids(p.to, p.nto), "a,b");
    trn_plan_free(&p);
    trn_server pub[] = {srv("a", 1)};
    trn_member leaving[] = {mem("a", 1, TRN_LEAVING)};
    p = plan(pub, 1, leaving, 1, 0);
    ck_assert_int_eq(p.kind, TRN_PLAN_PUBLISH);
    ck_assert_int_eq(p.nto, 0);
    trn_plan_free(&p);
    p = plan(NULL, 0, NULL, 0, 0);
    ck_assert_int_eq(p.kind, TRN_PLAN_NONE);
    trn_plan_free(&p);
}
END_TEST

START_TEST(test_trn_plan_waits_for_a_replacement_not_launched_yet) {
    trn_server pub[] = {srv("a", 1), srv("b", 2), srv("c", 3)};
    trn_member m[] = {mem("a", 1, TRN_SERVING), mem("b", 2, TRN_SERVING), mem("c", 3, TRN_LEAVING)};
    awaiting = 1;   /* c is replaced: its successor waits for an offer */
    trn_plan p = plan(pub, 3, m, 3, NOW - 100);
    ck_assert_int_eq(p.kind, TRN_PLAN_WAIT);
    trn_plan_free(&p);
    p = plan(pub, 3, m, 3, NOW - 60000);   /* no offer in time: c's keys move without it */
    ck_assert_int_eq(p.kind, TRN_PLAN_BEGIN);
    ck_assert_str_eq(ids(p.to, p.nto), "a,b");
    trn_plan_free(&p);
    awaiting = 0;
    p = plan(pub, 3, m, 3, 0);   /* a plain step down does not wait */
    ck_assert_int_eq(p.kind, TRN_PLAN_BEGIN);
    trn_plan_free(&p);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("transition_plan");
    TCase *tc = tcase_create("plan");
    tcase_add_test(tc, test_trn_plan_same_ring_is_nothing);
    tcase_add_test(tc, test_trn_plan_new_server_begins_a_transition);
    tcase_add_test(tc, test_trn_plan_leaving_server_begins_a_transition_without_it);
    tcase_add_test(tc, test_trn_plan_dead_server_is_removed_cold_first);
    tcase_add_test(tc, test_trn_plan_waits_for_starting_servers_within_the_prepare_timeout);
    tcase_add_test(tc, test_trn_plan_nothing_published_or_nothing_left_is_cold);
    tcase_add_test(tc, test_trn_plan_waits_for_a_replacement_not_launched_yet);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
