/* test_trn_keep.c -- the ring keeper: the published ring, cold removals,
 * warm changes, failed writes written again, a new leader continuing. */
#include "trn_keep.h"
#include "mcm.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1700000000000LL

static trn_keep_config cfg;
static char line[8192];

static void setup(void) {
    trn_keep_config_default(&cfg);
    cfg.trn.drain_ms = 10000;
    cfg.prepare_timeout_ms = 30000;
}

static trn_member mem(const char *id, int port, trn_class c) {
    trn_member m;
    memset(&m, 0, sizeof(m));
    snprintf(m.s.task_id, sizeof(m.s.task_id), "%s", id);
    snprintf(m.s.addr, sizeof(m.s.addr), "127.0.0.1:%d", port);
    m.cls = c;
    return m;
}

static void add(const char *s) {
    size_t n = strlen(line);
    snprintf(line + n, sizeof(line) - n, "%s%s", n ? " " : "", s);
}

/* Kinds only (the machine's own tests check the details), PUBLISH with ports. */
static const char *render(trn_actions *a) {
    static const char *const names[] = {"", "PERSIST", "CLEAR", "PUBLISH", "SEND", "RETIRE"};
    line[0] = 0;
    ck_assert(!a->oom);
    for (int i = 0; i < a->n; i++) {
        char buf[512];
        const trn_action *x = &a->v[i];
        snprintf(buf, sizeof(buf), "%s", names[x->kind]);
        if (x->kind == TRN_A_PUBLISH) {
            strcat(buf, ":[");
            for (int j = 0; j < x->nservers; j++) {
                strcat(buf, j ? "," : "");
                strcat(buf, x->servers[j].task_id);
            }
            strcat(buf, "]");
        } else if (x->kind == TRN_A_SEND || x->kind == TRN_A_RETIRE) {
            strcat(buf, ":");
            strcat(buf, x->task_id);
            if (x->kind == TRN_A_SEND) {
                strcat(buf, ":");
                strcat(buf, trn_cmd_name(x->cmd.kind));
            }
        }
        add(buf);
    }
    trn_actions_clear(a);
    return line;
}

static const char *published(trn_keep *k, const trn_member *m, int nm) {
    static char buf[256];
    trn_server l[16];
    int n = trn_keep_published(k, m, nm, l, 16);
    buf[0] = 0;
    for (int i = 0; i < n; i++) {
        strcat(buf, i ? "," : "");
        strcat(buf, l[i].task_id);
    }
    return buf;
}

static trn_keep *start(const char *const *ids, int n, trn_actions *a) {
    trn_server pub[8];
    for (int i = 0; i < n; i++) pub[i] = mem(ids[i], 1001 + i, TRN_SERVING).s;
    char err[128];
    trn_keep *k = trn_keep_new(&cfg);
    ck_assert_int_eq(trn_keep_begin_term(k, pub, n, NULL, 0, T0, a, err, sizeof(err)), MCM_OK);
    ck_assert_int_eq(a->n, 0);
    return k;
}

static void answer(trn_keep *k, const char *task, trn_cmd_kind cmd, int64_t now, trn_actions *a) {
    trn_status s;
    trn_get_status(trn_keep_machine(k), now, &s);
    trn_progress p;
    memset(&p, 0, sizeof(p));
    snprintf(p.task_id, sizeof(p.task_id), "%s", task);
    p.id = s.id;
    p.cmd = cmd;
    p.done = 1;
    trn_keep_on_progress(k, &p, now, a);
}

START_TEST(test_trn_keep_new_server_waits_for_start_then_warm) {
    const char *ids[] = {"a", "b"};
    trn_actions a;
    trn_actions_init(&a);
    trn_keep *k = start(ids, 2, &a);
    trn_member m[] = {mem("a", 1001, TRN_SERVING), mem("b", 1002, TRN_SERVING), mem("c", 1003, TRN_STARTING)};
    trn_keep_tick(k, m, 3, 0, T0, T0 + 100, &a);
    ck_assert_str_eq(render(&a), "");
    m[2].cls = TRN_SERVING;
    trn_keep_tick(k, m, 3, 0, 0, T0 + 200, &a);
    ck_assert_str_eq(render(&a), "PERSIST SEND:a:copy SEND:b:copy");
    ck_assert_str_eq(published(k, m, 3), "a,b");   /* c runs but is not published yet */
    answer(k, "a", TRN_CMD_COPY, T0 + 300, &a);
    answer(k, "b", TRN_CMD_COPY, T0 + 300, &a);
    ck_assert_str_eq(render(&a), "PERSIST PUBLISH:[a,b,c] SEND:a:catchup SEND:b:catchup");
    ck_assert_str_eq(published(k, m, 3), "a,b,c");
    trn_keep_free(k);
}
END_TEST

START_TEST(test_trn_keep_cold_when_warm_transitions_are_off) {
    cfg.warm = 0;
    const char *ids[] = {"a", "b"};
    trn_actions a;
    trn_actions_init(&a);
    trn_keep *k = start(ids, 2, &a);
    trn_member m[] = {mem("a", 1001, TRN_SERVING), mem("b", 1002, TRN_LEAVING), mem("c", 1003, TRN_SERVING)};
    trn_keep_tick(k, m, 3, 0, 0, T0, &a);
    ck_assert_str_eq(render(&a), "PUBLISH:[a,c]");
    ck_assert_str_eq(published(k, m, 3), "a,c");
    trn_keep_tick(k, m, 3, 0, 0, T0 + 1, &a);
    ck_assert_str_eq(render(&a), "");
    trn_keep_free(k);
}
END_TEST

START_TEST(test_trn_keep_dead_server_leaves_at_once) {
    const char *ids[] = {"a", "b", "c"};
    trn_actions a;
    trn_actions_init(&a);
    trn_keep *k = start(ids, 3, &a);
    trn_member m[] = {mem("a", 1001, TRN_SERVING), mem("c", 1003, TRN_SERVING)};
    ck_assert_str_eq(published(k, m, 2), "a,c");   /* before any tick */
    trn_keep_tick(k, m, 2, 0, 0, T0, &a);
    ck_assert_str_eq(render(&a), "PUBLISH:[a,c]");
    trn_keep_free(k);
}
END_TEST

START_TEST(test_trn_keep_failed_writes_come_back_first) {
    const char *ids[] = {"a", "b", "c"};
    trn_actions a;
    trn_actions_init(&a);
    trn_keep *k = start(ids, 3, &a);
    trn_member m[] = {mem("a", 1001, TRN_SERVING), mem("b", 1002, TRN_SERVING), mem("c", 1003, TRN_LEAVING)};
    trn_keep_tick(k, m, 3, 0, 0, T0, &a);
    ck_assert_str_eq(render(&a), "PERSIST SEND:c:copy");
    trn_keep_stored(k, TRN_A_PERSIST, 0);
    trn_keep_tick(k, m, 3, 0, 0, T0 + 100, &a);
    ck_assert_str_eq(render(&a), "PERSIST PUBLISH:[a,b,c]");
    trn_keep_stored(k, TRN_A_PERSIST, 1);
    trn_keep_tick(k, m, 3, 0, 0, T0 + 200, &a);
    ck_assert_str_eq(render(&a), "");
    answer(k, "c", TRN_CMD_COPY, T0 + 300, &a);
    ck_assert_str_eq(render(&a), "PERSIST PUBLISH:[a,b] SEND:c:catchup");
    trn_keep_stored(k, TRN_A_PUBLISH, 0);
    trn_keep_tick(k, m, 3, 0, 0, T0 + 400, &a);
    ck_assert_str_eq(render(&a), "PUBLISH:[a,b]");   /* the list again; c already follows: no second catchup */
    trn_keep_free(k);
}
END_TEST

START_TEST(test_trn_keep_new_leader_continues_the_stored_transition) {
    const char *ids[] = {"a", "b", "c"};
    trn_actions a;
    trn_actions_init(&a);
    trn_keep *k = start(ids, 3, &a);
    trn_member m[] = {mem("a", 1001, TRN_SERVING), mem("b", 1002, TRN_SERVING), mem("c", 1003, TRN_LEAVING)};
    trn_keep_tick(k, m, 3, 0, 0, T0, &a);
    answer(k, "c", TRN_CMD_COPY, T0 + 10, &a);
    trn_actions_clear(&a);
    char *rec = trn_record(trn_keep_machine(k));
    trn_keep_free(k);

    /* The new leader read the old list (the publication had not happened)
     * and the record (it had been stored): it publishes R' and catches up. */
    trn_server pub[] = {m[0].s, m[1].s, m[2].s};
    char err[128];
    k = trn_keep_new(&cfg);
    ck_assert_int_eq(trn_keep_begin_term(k, pub, 3, rec, strlen(rec), T0 + 5000, &a, err, sizeof(err)), MCM_OK);
    ck_assert_str_eq(render(&a), "PUBLISH:[a,b] SEND:c:catchup");
    ck_assert_str_eq(published(k, m, 3), "a,b");
    trn_keep_tick(k, m, 3, 0, 0, T0 + 10010, &a);   /* the stored drain end */
    ck_assert_str_eq(render(&a), "PERSIST SEND:c:cleanup");
    answer(k, "c", TRN_CMD_CLEANUP, T0 + 10020, &a);
    ck_assert_str_eq(render(&a), "RETIRE:c CLEAR");
    free(rec);
    trn_keep_free(k);
}
END_TEST

START_TEST(test_trn_keep_bad_record_is_cleared_and_the_list_kept) {
    trn_server pub[] = {mem("a", 1001, TRN_SERVING).s};
    trn_actions a;
    trn_actions_init(&a);
    char err[128];
    trn_keep *k = trn_keep_new(&cfg);
    ck_assert_int_eq(trn_keep_begin_term(k, pub, 1, "{\"v\":1}", 7, T0, &a, err, sizeof(err)), MCM_ERR);
    ck_assert(err[0]);
    ck_assert_str_eq(render(&a), "CLEAR");
    trn_member m[] = {mem("a", 1001, TRN_SERVING)};
    ck_assert_str_eq(published(k, m, 1), "a");
    ck_assert_int_eq(trn_phase_of(trn_keep_machine(k)), TRN_IDLE);
    trn_keep_free(k);
}
END_TEST

START_TEST(test_trn_keep_ids_grow_and_nothing_happens_outside_a_term) {
    const char *ids[] = {"a", "b"};
    trn_actions a;
    trn_actions_init(&a);
    trn_keep *k = start(ids, 2, &a);
    trn_member m[] = {mem("a", 1001, TRN_SERVING), mem("b", 1002, TRN_LEAVING)};
    trn_keep_tick(k, m, 2, 0, 0, T0, &a);
    trn_status s1, s2;
    trn_get_status(trn_keep_machine(k), T0, &s1);
    ck_assert_int_eq(s1.id, T0);
    trn_keep_on_lost(k, "b", T0, &a);   /* abort... */
    answer(k, "a", TRN_CMD_PURGE, T0, &a);   /* ...over */
    ck_assert_int_eq(trn_phase_of(trn_keep_machine(k)), TRN_IDLE);
    trn_actions_clear(&a);
    trn_member m2[] = {mem("a", 1001, TRN_SERVING), mem("c", 1003, TRN_SERVING)};
    trn_keep_tick(k, m2, 2, 0, 0, T0, &a);   /* same millisecond: id + 1 */
    trn_get_status(trn_keep_machine(k), T0, &s2);
    ck_assert_int_eq(s2.id, T0 + 1);
    trn_actions_clear(&a);
    trn_keep_end_term(k);
    trn_keep_tick(k, m2, 2, 0, 0, T0 + 1, &a);
    ck_assert_int_eq(a.n, 0);
    trn_keep_free(k);
}
END_TEST

/* Settled: only after a tick that planned nothing, with no transition under
 * way and no write owed; a failed write or a transition unsettles it. */
START_TEST(test_trn_keep_settled_only_when_a_tick_would_do_nothing) {
    const char *ids[] = {"a", "b"};
    trn_actions a;
    trn_actions_init(&a);
    trn_keep *k = start(ids, 2, &a);
    ck_assert(!trn_keep_settled(k));   /* nothing planned yet this term */
    trn_member m[] = {mem("a", 1001, TRN_SERVING), mem("b", 1002, TRN_SERVING), mem("c", 1003, TRN_STARTING)};
    trn_keep_tick(k, m, 2, 0, 0, T0, &a);
    ck_assert_str_eq(render(&a), "");
    ck_assert(trn_keep_settled(k));
    trn_keep_stored(k, TRN_A_PUBLISH, 0);   /* a failed write: owed again */
    ck_assert(!trn_keep_settled(k));
    trn_keep_tick(k, m, 2, 0, 0, T0 + 10, &a);
    ck_assert_str_eq(render(&a), "PUBLISH:[a,b]");
    trn_keep_tick(k, m, 3, 0, T0, T0 + 20, &a);   /* c starting, the serving set published: nothing */
    ck_assert_str_eq(render(&a), "");
    ck_assert(trn_keep_settled(k));
    m[2].cls = TRN_SERVING;
    trn_keep_tick(k, m, 3, 0, 0, T0 + 30, &a);
    ck_assert_str_eq(render(&a), "PERSIST SEND:a:copy SEND:b:copy");
    ck_assert(!trn_keep_settled(k));   /* a transition runs */
    trn_keep_end_term(k);
    ck_assert(!trn_keep_settled(k));
    trn_keep_free(k);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("transition_keep");
    TCase *tc = tcase_create("keep");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_trn_keep_new_server_waits_for_start_then_warm);
    tcase_add_test(tc, test_trn_keep_cold_when_warm_transitions_are_off);
    tcase_add_test(tc, test_trn_keep_dead_server_leaves_at_once);
    tcase_add_test(tc, test_trn_keep_failed_writes_come_back_first);
    tcase_add_test(tc, test_trn_keep_new_leader_continues_the_stored_transition);
    tcase_add_test(tc, test_trn_keep_bad_record_is_cleared_and_the_list_kept);
    tcase_add_test(tc, test_trn_keep_ids_grow_and_nothing_happens_outside_a_term);
    tcase_add_test(tc, test_trn_keep_settled_only_when_a_tick_would_do_nothing);
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
