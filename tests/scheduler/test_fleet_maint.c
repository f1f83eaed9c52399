/* test_fleet_maint.c -- the maintenance rules (fleet_maint.h), one test per
 * rule, each asserting the exact action list. Pure: a task table, windows
 * and the test's own wall clock; no server. A list is rendered as one line
 * ("DRAIN(t1) ACCEPT(io1)") and compared whole. */
#include "fleet.h"
#include "fleet_maint.h"
#include "mcm.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#define SEC 1000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define NOW 1700000000000LL

static tt *T;
static fmaint *M;

static void setup(void) {
    T = tt_create();
    M = fmaint_new(HOUR);
    ck_assert(T && M);
}

static void teardown(void) {
    tt_free(T);
    fmaint_free(M);
}

static void add_task(const char *id, const char *agent, int state) {
    tt_task t;
    memset(&t, 0, sizeof(t));
    snprintf(t.id, sizeof(t.id), "%s", id);
    snprintf(t.agent_id, sizeof(t.agent_id), "%s", agent);
    snprintf(t.hostname, sizeof(t.hostname), "h-%s", agent);
    t.port = 31000;
    t.state = state;
    ck_assert_ptr_nonnull(tt_add(T, &t));
}

static const char *tick(int64_t now) {
    static char buf[2048];
    fmaint_actions l;
    fmaint_actions_init(&l);
    fmaint_tick(M, T, now, &l);
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; i < l.n; i++)
        off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s(%s)", i ? " " : "",
                                l.v[i].kind == FM_DRAIN ? "DRAIN" : "ACCEPT",
                                l.v[i].kind == FM_DRAIN ? l.v[i].task_id : l.v[i].id);
    ck_assert(!l.oom);
    fmaint_actions_clear(&l);
    return buf;
}

static fmaint_window win(int64_t start, int64_t dur) { return (fmaint_window){start, dur}; }

#define RUNNING MESOS__V1__TASK_STATE__TASK_RUNNING

/* Rule 1: a window starting within the horizon blocks new servers on its
 * agent; one beyond it does not yet; one that ended does not any more. */
START_TEST(test_fleet_maint_horizon_blocks_new_servers) {
    fmaint_window far = win(NOW + 2 * HOUR, HOUR), near = win(NOW + 30 * MIN, HOUR);
    fmaint_on_offer(M, "a1", &far);
    fmaint_on_offer(M, "a2", &near);
    ck_assert_int_eq(fmaint_blocked(M, "a1", NOW), 0);
    ck_assert_int_eq(fmaint_blocked(M, "a1", NOW + HOUR + MIN), 1);   /* the far one comes into the horizon */
    ck_assert_int_eq(fmaint_blocked(M, "a2", NOW), 1);
    ck_assert_int_eq(fmaint_blocked(M, "a2", NOW + 30 * MIN + 10 * MIN), 1);   /* inside the window */
    ck_assert_int_eq(fmaint_blocked(M, "a2", NOW + 30 * MIN + HOUR), 0);       /* over */
    ck_assert_int_eq(fmaint_blocked(M, "a3", NOW), 0);
    ck_assert_int_eq(fmaint_blocked(M, NULL, NOW), 0);
    fmaint_window forever = win(NOW - HOUR, -1);
    fmaint_on_offer(M, "a3", &forever);
    ck_assert_int_eq(fmaint_blocked(M, "a3", NOW + 1000 * HOUR), 1);   /* no duration: never ends */
}
END_TEST

/* Rule 2: the servers on an agent with a due window are drained (the warm
 * restart path), the others and those of far windows are left alone; a
 * server already draining or being killed is not drained again. */
START_TEST(test_fleet_maint_due_window_drains_its_servers) {
    add_task("t1", "a1", RUNNING);
    add_task("t2", "a2", RUNNING);
    add_task("t3", "a3", RUNNING);
    fmaint_window near = win(NOW + 10 * MIN, HOUR), far = win(NOW + 5 * HOUR, HOUR);
    fmaint_on_offer(M, "a1", &near);
    fmaint_on_offer(M, "a3", &far);
    ck_assert_str_eq(tick(NOW), "DRAIN(t1)");
    tt_find(T, "t1")->drain_until_ms = 1;   /* stored by fleet_drain */
    ck_assert_str_eq(tick(NOW + SEC), "");
    ck_assert_str_eq(tick(NOW + 5 * HOUR - HOUR / 2), "DRAIN(t3)");
    tt_find(T, "t3")->kill_sent_ms = 1;
    ck_assert_str_eq(tick(NOW + 5 * HOUR - HOUR / 2), "");
}
END_TEST

/* Rules 2 and 3 with an inverse offer: its agent's server is drained first;
 * the inverse offer is accepted only once no server holds a place there
 * (the drained one ended), exactly once; a failed ACCEPT is sent again. */
START_TEST(test_fleet_maint_inverse_offer_accepted_after_the_replacement) {
    add_task("t1", "a1", RUNNING);
    add_task("t2", "a2", RUNNING);
    fmaint_window w = win(NOW + 20 * MIN, HOUR);
    ck_assert_int_eq(fmaint_on_inverse(M, "io1", "a1", &w), MCM_OK);
    ck_assert_int_eq(fmaint_blocked(M, "a1", NOW), 1);
    ck_assert_str_eq(tick(NOW), "DRAIN(t1)");
    tt_find(T, "t1")->drain_until_ms = 1;
    ck_assert_str_eq(tick(NOW + SEC), "");                   /* draining: still holds its place */
    add_task("t4", "a3", MESOS__V1__TASK_STATE__TASK_STAGING);   /* the replacement elsewhere */
    ck_assert_str_eq(tick(NOW + 2 * SEC), "");
    tt_remove(T, "t1");                                      /* the old server ended */
    ck_assert_str_eq(tick(NOW + 3 * SEC), "ACCEPT(io1)");
    ck_assert_str_eq(tick(NOW + 4 * SEC), "");               /* in flight */
    fmaint_done(M, "io1", 0);
    ck_assert_str_eq(tick(NOW + 5 * SEC), "ACCEPT(io1)");    /* not sent: again */
    fmaint_done(M, "io1", 1);
    ck_assert_int_eq(fmaint_accepted(M), 1);
    ck_assert_int_eq(fmaint_outstanding(M), 0);
    ck_assert_str_eq(tick(NOW + 6 * SEC), "");
    fmaint_done(M, "io1", 1);                                /* late duplicate: ignored */
    ck_assert_int_eq(fmaint_accepted(M), 1);
}
END_TEST

/* Rule 3: an inverse offer for an agent where mcm has no server (only
 * offers there) is accepted at once, even for a window beyond the horizon;
 * one for a far window on an agent with a server waits unanswered. */
START_TEST(test_fleet_maint_nothing_there_accepts_at_once) {
    add_task("t2", "a2", RUNNING);
    fmaint_window far = win(NOW + 10 * HOUR, HOUR);
    ck_assert_int_eq(fmaint_on_inverse(M, "io1", "a1", &far), MCM_OK);
    ck_assert_int_eq(fmaint_on_inverse(M, "io2", "a2", &far), MCM_OK);
    ck_assert_str_eq(tick(NOW), "ACCEPT(io1)");
    fmaint_done(M, "io1", 1);
    ck_assert_str_eq(tick(NOW + MIN), "");
    ck_assert_int_eq(fmaint_outstanding(M), 1);
    ck_assert_str_eq(tick(NOW + 9 * HOUR + MIN), "DRAIN(t2)");
}
END_TEST

/* Rule 4: an offer without unavailability clears its agent's window; a
 * rescinded inverse offer takes its window with it; an unknown rescind or a
 * bad inverse offer changes nothing. */
START_TEST(test_fleet_maint_removed_windows_and_rescinds) {
    add_task("t1", "a1", RUNNING);
    fmaint_window near = win(NOW + MIN, HOUR);
    fmaint_on_offer(M, "a1", &near);
    ck_assert_int_eq(fmaint_blocked(M, "a1", NOW), 1);
    fmaint_on_offer(M, "a1", NULL);
    ck_assert_int_eq(fmaint_blocked(M, "a1", NOW), 0);
    ck_assert_str_eq(tick(NOW), "");
    ck_assert_int_eq(fmaint_on_inverse(M, "io1", "a1", &near), MCM_OK);
    ck_assert_int_eq(fmaint_blocked(M, "a1", NOW), 1);
    fmaint_on_rescind(M, "nope");
    fmaint_on_rescind(M, NULL);
    ck_assert_int_eq(fmaint_outstanding(M), 1);
    fmaint_on_rescind(M, "io1");
    ck_assert_int_eq(fmaint_blocked(M, "a1", NOW), 0);
    ck_assert_str_eq(tick(NOW), "");
    ck_assert_int_eq(fmaint_on_inverse(M, "", "a1", &near), MCM_ERR);
    ck_assert_int_eq(fmaint_on_inverse(M, "io2", NULL, &near), MCM_ERR);
    ck_assert_int_eq(fmaint_on_inverse(M, "io2", "a1", NULL), MCM_ERR);
    char longid[TT_ID_MAX + 10];
    memset(longid, 'x', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    ck_assert_int_eq(fmaint_on_inverse(M, longid, "a1", &near), MCM_ERR);
    ck_assert_int_eq(fmaint_outstanding(M), 0);
    for (int i = 0; i < FMAINT_INVERSE_MAX; i++) {
        char id[32];
        snprintf(id, sizeof(id), "io-%d", i);
        ck_assert_int_eq(fmaint_on_inverse(M, id, "a9", &near), MCM_OK);
    }
    ck_assert_int_eq(fmaint_on_inverse(M, "one-too-many", "a9", &near), MCM_ERR);
    ck_assert_int_eq(fmaint_on_inverse(M, "io-5", "a9", &near), MCM_OK);   /* a resend of a known one */
}
END_TEST

/* An operator drain (tasks ending with REASON_AGENT_DRAINING) blocks the
 * agent until it offers again (Mesos reactivated it); nothing is drained by
 * fleet_maint (the master kills them) and rule 5 forgets it all. */
START_TEST(test_fleet_maint_operator_drain_and_term_end) {
    add_task("t1", "a1", RUNNING);
    fmaint_on_drained(M, "a1");
    fmaint_on_drained(M, "a1");
    ck_assert_int_eq(fmaint_blocked(M, "a1", NOW), 1);
    ck_assert_str_eq(tick(NOW), "");
    fmaint_on_offer(M, "a1", NULL);
    ck_assert_int_eq(fmaint_blocked(M, "a1", NOW), 0);
    fmaint_on_drained(M, "a1");
    fmaint_window near = win(NOW + MIN, HOUR);
    ck_assert_int_eq(fmaint_on_inverse(M, "io1", "a2", &near), MCM_OK);
    fmaint_clear(M);
    ck_assert_int_eq(fmaint_blocked(M, "a1", NOW), 0);
    ck_assert_int_eq(fmaint_outstanding(M), 0);
    ck_assert_str_eq(tick(NOW), "");
    fmaint_free(NULL);
    fmaint *d = fmaint_new(-1);   /* the default horizon, 1 h */
    ck_assert_ptr_nonnull(d);
    fmaint_on_offer(d, "a1", &(fmaint_window){NOW + FMAINT_DEFAULT_HORIZON_MS + MIN, MIN});
    ck_assert_int_eq(fmaint_blocked(d, "a1", NOW), 0);
    ck_assert_int_eq(fmaint_blocked(d, "a1", NOW + 2 * MIN), 1);
    fmaint_free(d);
}
END_TEST

/* --- how the fleet treats a drained task (fleet.c, unchanged) --------------------- */

/* Every action succeeds: persists stored, calls done (follow-ups appended). */
static void all_ok(fleet *f, fleet_actions *l, fleet_clock now) {
    for (int i = 0; i < l->n; i++) {
        fleet_action a = l->v[i];
        if (a.kind == FA_PUT_TASK || a.kind == FA_DELETE_TASK) fleet_stored(f, &a, 1, now);
        else if (a.kind != FA_PUBLISH && a.kind != FA_PHASE) fleet_done(f, &a, 1, "", now, l);
    }
    fleet_actions_clear(l);
}

static const uint8_t UUID[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

/* A LEADING fleet with t1..t3 running on a1..a3, desired 3. */
static fleet *leading(fleet_clock now) {
    fleet_config c = {.cpus = 0.5, .mem_mb = 128, .max_per_agent = 1, .refuse_s = 30, .drain_time_ms = 30 * SEC,
                      .reconcile_interval_ms = HOUR, .backoff_min_ms = 10 * SEC, .backoff_max_ms = 60 * SEC};
    fleet *f = fleet_new(&c);
    ck_assert_ptr_nonnull(f);
    tt_task ts[3];
    for (int i = 0; i < 3; i++) {
        memset(&ts[i], 0, sizeof(ts[i]));
        snprintf(ts[i].id, sizeof(ts[i].id), "t%d", i + 1);
        snprintf(ts[i].agent_id, sizeof(ts[i].agent_id), "a%d", i + 1);
        ts[i].state = RUNNING;
    }
    ck_assert_int_eq(fleet_begin_term(f, ts, 3, 3), MCM_OK);
    fleet_actions l;
    fleet_actions_init(&l);
    fleet_on_subscribed(f, now, &l);
    all_ok(f, &l, now);
    for (int i = 0; i < 3; i++) {
        fleet_status st = {ts[i].id, ts[i].agent_id, RUNNING, NULL, UUID, sizeof(UUID)};
        fleet_on_update(f, &st, now, &l);
        all_ok(f, &l, now);
    }
    fleet_tick(f, now, &l);
    all_ok(f, &l, now);
    ck_assert(fleet_leading(f));
    return f;
}

/* Launches decided for one offer from agent, right after t1 (on a1) ended in state. */
static int launches_after(int state, const char *agent) {
    fleet_clock now = {1000 * SEC, NOW};
    fleet *f = leading(now);
    fleet_actions l;
    fleet_actions_init(&l);
    fleet_status st = {"t1", "a1", state, "Killed: agent draining", UUID, sizeof(UUID)};
    fleet_on_update(f, &st, now, &l);
    all_ok(f, &l, now);
    fleet_tick(f, now, &l);   /* REVIVE */
    all_ok(f, &l, now);
    fleet_offer o = {.id = "o1", .agent_id = agent, .hostname = agent, .fits = 1, .port = 31001, .new_task_id = "t9"};
    fleet_on_offers(f, &o, 1, now, &l);
    int n = 0;
    for (int i = 0; i < l.n; i++) n += l.v[i].kind == FA_LAUNCH;
    fleet_actions_clear(&l);
    fleet_free(f);
    return n;
}

/* A task the operator's drain ended (TASK_KILLED, or TASK_GONE_BY_OPERATOR
 * with mark_gone; reason REASON_AGENT_DRAINING) is replaced on the very next
 * offer: neither state is a failure, so no relaunch backoff holds the agent
 * back, unlike TASK_FAILED. (A drained agent offers nothing until it is
 * reactivated; fleet_maint blocks it until then, core_maint.c.) */
START_TEST(test_fleet_maint_drained_task_is_replaced_at_once) {
    ck_assert_int_eq(launches_after(MESOS__V1__TASK_STATE__TASK_KILLED, "a4"), 1);
    ck_assert_int_eq(launches_after(MESOS__V1__TASK_STATE__TASK_GONE_BY_OPERATOR, "a4"), 1);
    ck_assert_int_eq(launches_after(MESOS__V1__TASK_STATE__TASK_KILLED, "a1"), 1);    /* no backoff on a1 either */
    ck_assert_int_eq(launches_after(MESOS__V1__TASK_STATE__TASK_FAILED, "a1"), 0);    /* a failure: backed off */
    ck_assert_int_eq(launches_after(MESOS__V1__TASK_STATE__TASK_FAILED, "a4"), 1);
}
END_TEST

int main(void) {
    Suite *s = suite_create("fleet_maint");
    TCase *tc = tcase_create("maint");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_fleet_maint_horizon_blocks_new_servers);
    tcase_add_test(tc, test_fleet_maint_due_window_drains_its_servers);
    tcase_add_test(tc, test_fleet_maint_inverse_offer_accepted_after_the_replacement);
    tcase_add_test(tc, test_fleet_maint_nothing_there_accepts_at_once);
    tcase_add_test(tc, test_fleet_maint_removed_windows_and_rescinds);
    tcase_add_test(tc, test_fleet_maint_operator_drain_and_term_end);
    tcase_add_test(tc, test_fleet_maint_drained_task_is_replaced_at_once);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
