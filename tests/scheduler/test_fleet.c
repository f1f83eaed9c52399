/* test_fleet.c -- the scheduler's rules (fleet.h), one test per rule, each
 * asserting the exact action list the fleet decides.
 *
 * No server is involved: the fleet is pure, time is the test's. A list is
 * rendered as one line ("PUT_TASK(t1) ACK(t1) PUBLISH") and compared whole.
 * outcome() plays the runner's part of the contract: it reports each action
 * as stored/sent (or failed, for the kind and error a test names), stops at
 * a failed persist reporting the rest as not run, and runs follow-ups. */
#include "fleet.h"
#include "mig_msg.h"
#include "mcm.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEC 1000LL
#define T0 (100 * SEC)
#define WALL0 1700000000000LL

static fleet_config cfg_test(void) {
    fleet_config c = {0.5, 128, 1, 30.0, 30 * SEC, 3600 * SEC, 10 * SEC, 60 * SEC, {{0}, 0, 0}, NULL, 0, 1, 0};   /* cold ring, no grace */
    return c;
}

static fleet_clock at(int64_t ms) { return (fleet_clock){ms, WALL0 + ms}; }

static const char *phase_name(fleet_phase p) { return p == FLEET_LEADING ? "LEADING" : "RECONCILING"; }

/* "KIND(arg,...)" for each action, space-separated. */
static const char *render(const fleet_actions *l) {
    static char buf[4096];
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; i < l->n; i++) {
        const fleet_action *a = &l->v[i];
        char args[1024] = "";
        size_t k = 0;
        switch (a->kind) {
        case FA_PUBLISH: break;
        case FA_REVIVE: case FA_SUPPRESS: break;
        case FA_PHASE: snprintf(args, sizeof(args), "(%s)", phase_name(a->phase)); break;
        case FA_LAUNCH: snprintf(args, sizeof(args), "(%s@%d)", a->task.id, a->offer); break;
        case FA_DECLINE: case FA_RECONCILE:
            k += (size_t)snprintf(args + k, sizeof(args) - k, "(");
            for (int j = 0; j < a->n && k < sizeof(args); j++)
                k += (size_t)snprintf(args + k, sizeof(args) - k, "%s%s", j ? "," : "", a->ids[j]);
            if (k < sizeof(args)) snprintf(args + k, sizeof(args) - k, ")");
            break;
        default: snprintf(args, sizeof(args), "(%s)", a->task.id);
        }
        off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s%s", i ? " " : "", fleet_action_name(a->kind), args);
    }
    return buf;
}

/* The runner's part: every action succeeds except those of kind `fail`
 * (error `err`). Follow-ups are appended to l (so render(l) afterwards shows
 * them too). Returns the index where the list stopped (l->n if it did not). */
static int outcome(fleet *f, fleet_actions *l, fleet_clock now, fleet_action_kind fail, const char *err) {
    for (int i = 0; i < l->n; i++) {
        fleet_action a = l->v[i];
        int ok = a.kind != fail;
        if (a.kind == FA_PUT_TASK || a.kind == FA_DELETE_TASK) {
            fleet_stored(f, &a, ok, now);
            if (ok) continue;
            fleet_actions ignored;
            fleet_actions_init(&ignored);
            for (int j = i + 1; j < l->n; j++) {
                fleet_action b = l->v[j];
                if (b.kind != FA_PUT_TASK && b.kind != FA_DELETE_TASK) fleet_done(f, &b, 0, "not run", now, &ignored);
            }
            fleet_actions_clear(&ignored);
            return i;
        }
        if (a.kind != FA_PUBLISH && a.kind != FA_PHASE) fleet_done(f, &a, ok, ok ? "" : err, now, l);
    }
    return l->n;
}

/* Decide, render, then report success: the list as decided. */
#define RUN(f, call, now, expect)                                                                                 \
    do {                                                                                                          \
        fleet_actions l_;                                                                                         \
        fleet_actions_init(&l_);                                                                                  \
        call;                                                                                                     \
        ck_assert_str_eq(render(&l_), expect);                                                                    \
        outcome((f), &l_, (now), 0, NULL);                                                                        \
        fleet_actions_clear(&l_);                                                                                 \
    } while (0)

static tt_task task(const char *id, const char *agent, int state) {
    tt_task t;
    memset(&t, 0, sizeof(t));
    snprintf(t.id, sizeof(t.id), "%s", id);
    snprintf(t.agent_id, sizeof(t.agent_id), "%s", agent);
    snprintf(t.hostname, sizeof(t.hostname), "host-%s", agent);
    t.port = 31000;
    t.state = state;
    return t;
}

static const uint8_t UUID[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static fleet_status update(const char *id, const char *agent, int state) {
    fleet_status s = {id, agent, state, NULL, UUID, sizeof(UUID)};
    return s;
}

#define RUNNING MESOS__V1__TASK_STATE__TASK_RUNNING
#define STAGING MESOS__V1__TASK_STATE__TASK_STAGING
#define UNREACHABLE MESOS__V1__TASK_STATE__TASK_UNREACHABLE

/* A fleet that has reconciled: LEADING at T0, every task confirmed. The
 * lists on the way are the reconciliation rule's (asserted in its test). */
static fleet *leading_fleet_with(const fleet_config *c, const tt_task *tasks, int n, int desired) {
    fleet *f = fleet_new(c);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fleet_begin_term(f, tasks, n, desired), MCM_OK);
    fleet_actions l;
    fleet_actions_init(&l);
    fleet_on_subscribed(f, at(T0), &l);
    outcome(f, &l, at(T0), 0, NULL);
    fleet_actions_clear(&l);
    for (int i = 0; i < n; i++) {
        fleet_status s = update(tasks[i].id, tasks[i].agent_id, tasks[i].state);
        fleet_on_update(f, &s, at(T0), &l);
        outcome(f, &l, at(T0), 0, NULL);
        fleet_actions_clear(&l);
    }
    fleet_tick(f, at(T0), &l);   /* the implicit RECONCILE; once sent: LEADING */
    outcome(f, &l, at(T0), 0, NULL);
    fleet_actions_clear(&l);
    ck_assert(fleet_leading(f));
    return f;
}

static fleet *leading_fleet(const tt_task *tasks, int n, int desired) {
    fleet_config c = cfg_test();
    return leading_fleet_with(&c, tasks, n, desired);
}

static fleet_offer offer(const char *id, const char *agent, const char *new_id) {
    fleet_offer o = {id, agent, agent, 1, 31001, new_id, NULL};
    return o;
}

/* --- store before acknowledging ------------------------------------------------ */

START_TEST(test_fleet_update_stored_before_ack) {
    tt_task t[] = {task("t1", "a1", STAGING)};
    fleet *f = leading_fleet(t, 1, 1);
    fleet_status s = update("t1", "a1", RUNNING);
    fleet_actions l;
    fleet_actions_init(&l);
    fleet_on_update(f, &s, at(T0 + SEC), &l);
    ck_assert_str_eq(render(&l), "PUT_TASK(t1) ACK(t1) PUBLISH");
    ck_assert_int_eq(l.v[0].task.state, RUNNING);
    ck_assert_int_eq(fleet_find(f, "t1")->state, STAGING);   /* the table waits for the store */
    ck_assert_int_eq(outcome(f, &l, at(T0 + SEC), FA_PUT_TASK, "connection loss"), 0);
    ck_assert_int_eq(fleet_find(f, "t1")->state, STAGING);   /* not stored: unchanged, no ACK */
    fleet_actions_clear(&l);
    /* Mesos resends the unacknowledged update: the same decision again */
    RUN(f, fleet_on_update(f, &s, at(T0 + 2 * SEC), &l_), at(T0 + 2 * SEC), "PUT_TASK(t1) ACK(t1) PUBLISH");
    ck_assert_int_eq(fleet_find(f, "t1")->state, RUNNING);
    ck_assert_int_eq(fleet_find(f, "t1")->changed_ms, WALL0 + T0 + 2 * SEC);
    /* the same state again: acknowledged, nothing stored */
    RUN(f, fleet_on_update(f, &s, at(T0 + 3 * SEC), &l_), at(T0 + 3 * SEC), "ACK(t1)");
    /* made by the master (no uuid): nothing to acknowledge */
    fleet_status m = {"t1", "a1", RUNNING, NULL, NULL, 0};
    RUN(f, fleet_on_update(f, &m, at(T0 + 4 * SEC), &l_), at(T0 + 4 * SEC), "");
    fleet_free(f);
}
END_TEST

/* Updates queued together are decided in order, with one PUBLISH at the end,
 * so the runner stores their records in one multi before the ACKs go. */
START_TEST(test_fleet_updates_batched_one_publish) {
    tt_task t[] = {task("t1", "a1", STAGING), task("t2", "a2", STAGING), task("t3", "a3", RUNNING)};
    fleet *f = leading_fleet(t, 3, 3);
    fleet_status s[] = {update("t1", "a1", RUNNING), update("t2", "a2", MESOS__V1__TASK_STATE__TASK_STARTING),
                        update("t3", "a3", RUNNING), update("t9", "a9", RUNNING)};
    RUN(f, fleet_on_updates(f, s, 4, at(T0 + SEC), &l_), at(T0 + SEC),
        "PUT_TASK(t1) ACK(t1) PUT_TASK(t2) ACK(t2) ACK(t3) KILL(t9) ACK(t9) PUBLISH");
    ck_assert_int_eq(fleet_find(f, "t1")->state, RUNNING);
    ck_assert_int_eq(fleet_find(f, "t2")->state, MESOS__V1__TASK_STATE__TASK_STARTING);
    /* nothing to publish: no PUBLISH */
    RUN(f, fleet_on_updates(f, s, 1, at(T0 + 2 * SEC), &l_), at(T0 + 2 * SEC), "ACK(t1)");
    /* a store that fails leaves the table as it was: no ACK goes, Mesos resends */
    fleet_status r[] = {update("t2", "a2", RUNNING)};
    fleet_actions l;
    fleet_actions_init(&l);
    fleet_on_updates(f, r, 1, at(T0 + 3 * SEC), &l);
    ck_assert_str_eq(render(&l), "PUT_TASK(t2) ACK(t2) PUBLISH");
    outcome(f, &l, at(T0 + 3 * SEC), FA_PUT_TASK, "connection loss");
    ck_assert_int_eq(fleet_find(f, "t2")->state, MESOS__V1__TASK_STATE__TASK_STARTING);
    fleet_actions_clear(&l);
    fleet_free(f);
}
END_TEST

/* What may join a batch: only an update whose decision reads no record but
 * its own task's, as stored. */
START_TEST(test_fleet_update_batchable) {
    tt_task t[] = {task("t1", "a1", STAGING), task("t2", "a2", UNREACHABLE)};
    fleet *f = leading_fleet(t, 2, 2);
    fleet_status run1 = update("t1", "a1", RUNNING), run2 = update("t2", "a2", RUNNING);
    fleet_status lost1 = update("t1", "a1", UNREACHABLE), fail1 = update("t1", "a1", MESOS__V1__TASK_STATE__TASK_FAILED);
    fleet_status unknown = update("t7", "a7", RUNNING);
    const char *in_batch[] = {"t5", "t1"};
    ck_assert_int_eq(fleet_update_batchable(f, &run1, NULL, 0), 1);
    ck_assert_int_eq(fleet_update_batchable(f, &unknown, NULL, 0), 1);              /* an orphan: killed alone */
    ck_assert_int_eq(fleet_update_batchable(f, &run1, in_batch, 2), 0);             /* t1 is in it already */
    ck_assert_int_eq(fleet_update_batchable(f, &run1, in_batch, 1), 1);
    ck_assert_int_eq(fleet_update_batchable(f, &fail1, NULL, 0), 0);               /* final: replacements count */
    ck_assert_int_eq(fleet_update_batchable(f, &lost1, NULL, 0), 0);               /* partitions count the fleet */
    ck_assert_int_eq(fleet_update_batchable(f, &run2, NULL, 0), 0);                /* back from one, too */
    fleet_free(f);
}
END_TEST

START_TEST(test_fleet_ended_task_deleted_then_replaced) {
    tt_task t[] = {task("t1", "a1", RUNNING), task("t2", "a2", RUNNING)};
    fleet *f = leading_fleet(t, 2, 2);
    fleet_status s = update("t1", "a1", MESOS__V1__TASK_STATE__TASK_FAILED);
    RUN(f, fleet_on_update(f, &s, at(T0 + SEC), &l_), at(T0 + SEC), "DELETE_TASK(t1) ACK(t1) PUBLISH");
    ck_assert_ptr_null(fleet_find(f, "t1"));
    RUN(f, fleet_tick(f, at(T0 + 2 * SEC), &l_), at(T0 + 2 * SEC), "REVIVE");
    /* a1 failed: in relaunch backoff, so the launch goes to a3 */
    fleet_offer o[] = {offer("o0", "a1", "n0"), offer("o1", "a3", "n1")};
    fleet_actions l;
    fleet_actions_init(&l);
    fleet_on_offers(f, o, 2, at(T0 + 2 * SEC), &l);
    ck_assert_str_eq(render(&l), "DECLINE(o0) PUT_TASK(n1) LAUNCH(n1@1)");
    /* filtered only for what the backoff has left, not --refuse-time (30 s) */
    ck_assert_msg(l.v[0].refuse_s > 0 && l.v[0].refuse_s < 30.0, "refuse %.1f s", l.v[0].refuse_s);
    outcome(f, &l, at(T0 + 2 * SEC), 0, NULL);
    ck_assert_ptr_nonnull(fleet_find(f, "n1"));
    fleet_actions_clear(&l);
    fleet_free(f);
}
END_TEST

/* An agent back without its task (issue 17 item 1): its UNREACHABLE record
 * does not hold the place, and Mesos is asked about it at once. */
START_TEST(test_fleet_agent_back_empty_is_used_and_its_task_asked_about) {
    tt_task t[] = {task("t1", "a1", RUNNING), task("t2", "a2", UNREACHABLE)};
    fleet *f = leading_fleet(t, 2, 2);
    fleet_offer o[] = {offer("o0", "a2", "n0")};
    RUN(f, fleet_on_offers(f, o, 1, at(T0 + 61 * SEC), &l_), at(T0 + 61 * SEC),
        "RECONCILE(t2) PUT_TASK(n0) LAUNCH(n0@0)");
    fleet_offer o2[] = {offer("o1", "a2", "n1")};
    RUN(f, fleet_on_offers(f, o2, 1, at(T0 + 62 * SEC), &l_), at(T0 + 62 * SEC), "DECLINE(o1)");   /* asked 1 s ago */
    fleet_free(f);
}
END_TEST

/* --- persist before launching ---------------------------------------------------- */

START_TEST(test_fleet_launch_stored_first) {
    tt_task t[] = {task("t1", "a1", RUNNING)};
    fleet *f = leading_fleet(t, 1, 3);
    fleet_offer o[] = {offer("o0", "a2", "n0"), offer("o1", "a2", "n1"), offer("o2", "a2", "n2"),
                       offer("o3", "a3", "n3")};
    o[0].fits = 0;   /* too small */
    fleet_actions l;
    fleet_actions_init(&l);
    fleet_on_offers(f, o, 4, at(T0 + SEC), &l);
    /* one per agent (max 1), two wanted, the rest declined first */
    ck_assert_str_eq(render(&l), "DECLINE(o0,o2) PUT_TASK(n1) LAUNCH(n1@1) PUT_TASK(n3) LAUNCH(n3@3)");
    ck_assert_int_eq(l.v[1].task.state, STAGING);
    ck_assert_int_eq(l.v[2].port, 31001);
    ck_assert_ptr_null(fleet_find(f, "n1"));   /* not in the table before it is stored */
    /* the second store fails: the list stops before its LAUNCH */
    fleet_action_kind kinds[8];
    for (int i = 0; i < l.n; i++) kinds[i] = l.v[i].kind;
    ck_assert(kinds[3] == FA_PUT_TASK && kinds[4] == FA_LAUNCH);
    fleet_action put2 = l.v[3];
    l.n = 3;   /* run the first three... */
    outcome(f, &l, at(T0 + SEC), 0, NULL);
    fleet_stored(f, &put2, 0, at(T0 + SEC));   /* ...then the failed store: n2 never joins */
    ck_assert_ptr_nonnull(fleet_find(f, "n1"));
    ck_assert_ptr_null(fleet_find(f, "n3"));
    l.n = 5;
    fleet_actions_clear(&l);
    fleet_free(f);
}
END_TEST

/* --- a LAUNCH refused vs one whose fate is unknown ----------------------------------- */

START_TEST(test_fleet_launch_refused_forgets_timeout_keeps) {
    tt_task t[] = {task("t1", "a1", RUNNING)};
    fleet *f = leading_fleet(t, 1, 3);
    fleet_offer o[] = {offer("o0", "a2", "n0"), offer("o1", "a3", "n1")};
    fleet_actions l;
    fleet_actions_init(&l);
    fleet_on_offers(f, o, 2, at(T0 + SEC), &l);
    ck_assert_str_eq(render(&l), "PUT_TASK(n0) LAUNCH(n0@0) PUT_TASK(n1) LAUNCH(n1@1)");
    /* every LAUNCH fails: n0 with 400 (refused), n1 times out */
    for (int i = 0; i < 4; i++) {
        fleet_action a = l.v[i];
        if (a.kind == FA_PUT_TASK) {
            fleet_stored(f, &a, 1, at(T0 + SEC));
            continue;
        }
        const char *err = i == 1 ? "400 Invalid offer" : "POST http://m/api/v1/scheduler: Timeout was reached";
        fleet_done(f, &a, 0, err, at(T0 + SEC), &l);
    }
    /* follow-ups: the refused one's record goes; the other is asked about */
    ck_assert_str_eq(render(&l),
                     "PUT_TASK(n0) LAUNCH(n0@0) PUT_TASK(n1) LAUNCH(n1@1) DELETE_TASK(n0) RECONCILE(t1,n0,n1)");
    fleet_stored(f, &l.v[4], 1, at(T0 + SEC));
    ck_assert_ptr_null(fleet_find(f, "n0"));
    ck_assert_ptr_nonnull(fleet_find(f, "n1"));
    ck_assert_int_eq(fleet_find(f, "n1")->state, STAGING);   /* counted: nothing replaces it yet */
    ck_assert(fleet_recon_active(f));
    ck_assert(fleet_leading(f));                              /* a periodic run: still leading */
    fleet_actions_clear(&l);
    fleet_free(f);
}
END_TEST

/* --- tasks mcm does not know ---------------------------------------------------------- */

START_TEST(test_fleet_orphan_killed) {
    tt_task t[] = {task("t1", "a1", RUNNING)};
    fleet *f = leading_fleet(t, 1, 1);
    fleet_status s = update("x9", "a7", RUNNING);
    fleet_actions l;
    fleet_actions_init(&l);
    fleet_on_update(f, &s, at(T0 + SEC), &l);
    ck_assert_str_eq(render(&l), "KILL(x9) ACK(x9)");
    ck_assert_str_eq(l.v[0].task.agent_id, "a7");
    outcome(f, &l, at(T0 + SEC), 0, NULL);
    fleet_actions_clear(&l);
    ck_assert_ptr_null(fleet_find(f, "x9"));   /* never adopted */
    fleet_status gone = update("x9", "a7", MESOS__V1__TASK_STATE__TASK_KILLED);
    RUN(f, fleet_on_update(f, &gone, at(T0 + 2 * SEC), &l_), at(T0 + 2 * SEC), "ACK(x9)");
    fleet_free(f);
}
END_TEST

START_TEST(test_fleet_quarantined_task_is_never_killed) {
    tt_task t[] = {task("t1", "a1", RUNNING)};
    fleet *f = leading_fleet(t, 1, 1);
    char q[1][TT_ID_MAX] = {"x9"};
    ck_assert_int_eq(fleet_set_quarantine(f, (const char (*)[TT_ID_MAX])q, 1), MCM_OK);
    fleet_status s = update("x9", "a7", RUNNING);
    RUN(f, fleet_on_update(f, &s, at(T0 + SEC), &l_), at(T0 + SEC), "ACK(x9)");   /* its record is corrupt */
    fleet_status o = update("y1", "a7", RUNNING);
    RUN(f, fleet_on_update(f, &o, at(T0 + SEC), &l_), at(T0 + SEC), "KILL(y1) ACK(y1)");   /* truly unknown */
    fleet_free(f);
}
END_TEST

/* --- warm ring transitions (fleet_ring.c) ---------------------------------------------- */

/* Like leading_fleet, with warm transitions and `pub` as the stored list. */
static fleet *warm_fleet(const tt_task *tasks, int n, int desired, const char *const *pub, int npub) {
    fleet_config c = cfg_test();
    trn_keep_config_default(&c.ring);
    c.ring.trn.drain_ms = 10 * SEC;
    fleet *f = fleet_new(&c);
    trn_server p[8];
    memset(p, 0, sizeof(p));
    for (int i = 0; i < npub; i++)
        for (int j = 0; j < n; j++)
            if (!strcmp(tasks[j].id, pub[i])) {
                snprintf(p[i].task_id, sizeof(p[i].task_id), "%s", tasks[j].id);
                snprintf(p[i].addr, sizeof(p[i].addr), "%s:%d", tasks[j].hostname, tasks[j].port);
            }
    ck_assert_int_eq(fleet_set_ring(f, p, npub, NULL, 0), MCM_OK);
    ck_assert_int_eq(fleet_begin_term(f, tasks, n, desired), MCM_OK);
    fleet_actions l;
    fleet_actions_init(&l);
    fleet_on_subscribed(f, at(T0), &l);
    outcome(f, &l, at(T0), 0, NULL);
    fleet_actions_clear(&l);
    for (int i = 0; i < n; i++) {
        fleet_status s = update(tasks[i].id, tasks[i].agent_id, tasks[i].state);
        fleet_on_update(f, &s, at(T0), &l);
        outcome(f, &l, at(T0), 0, NULL);
        fleet_actions_clear(&l);
    }
    fleet_tick(f, at(T0 + 60 * SEC), &l);   /* the reconciliation's patience: LEADING */
    outcome(f, &l, at(T0 + 60 * SEC), 0, NULL);
    fleet_actions_clear(&l);
    return f;
}

static const char *published_ids(fleet *f) {
    static char buf[256];
    trn_server l[8];
    int n = fleet_published(f, l, 8);
    buf[0] = 0;
    for (int i = 0; i < n; i++) {
        strcat(buf, i ? "," : "");
        strcat(buf, l[i].task_id);
    }
    return buf;
}

/* The executor of task answers "done" to phase of the current transition. */
static void answer(fleet *f, const char *task_id, mig_cmd_phase phase, fleet_clock now, fleet_actions *out) {
    trn_status st;
    fleet_ring_status(f, now, &st);
    mig_msg_progress m;
    memset(&m, 0, sizeof(m));
    snprintf(m.task_id, sizeof(m.task_id), "%s", task_id);
    m.id = st.id;
    m.phase = phase;
    m.done = 1;
    char buf[MIG_MSG_PROGRESS_MAX];
    int n = mig_progress_encode(&m, buf, sizeof(buf));
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(fleet_on_executor_message(f, buf, (size_t)n, now, out), 1);
}

static void assert_phase(const fleet_action *a, const char *phase) {
    char want[64];
    snprintf(want, sizeof(want), "\"phase\":\"%s\"", phase);
    ck_assert_msg(a->data && strstr(a->data, want), "%s not in %s", want, a->data ? a->data : "(null)");
}

START_TEST(test_fleet_warm_new_server_published_after_its_keys_are_copied) {
    tt_task t[] = {task("t1", "a1", RUNNING), task("t2", "a2", RUNNING), task("t3", "a3", RUNNING)};
    const char *pub[] = {"t1", "t2"};
    fleet *f = warm_fleet(t, 3, 3, pub, 2);
    ck_assert_str_eq(published_ids(f), "t1,t2");   /* t3 runs, but holds none of its keys yet */
    fleet_actions l;
    fleet_actions_init(&l);
    fleet_tick(f, at(T0 + 61 * SEC), &l);
    ck_assert_str_eq(render(&l), "PUT_RING() MESSAGE(t1) MESSAGE(t2)");
    assert_phase(&l.v[1], "copy");
    fleet_actions_clear(&l);
    answer(f, "t1", MIG_CMD_COPY, at(T0 + 62 * SEC), &l);
    ck_assert_str_eq(render(&l), "");
    answer(f, "t2", MIG_CMD_COPY, at(T0 + 62 * SEC), &l);
    ck_assert_str_eq(render(&l), "PUT_RING() PUBLISH MESSAGE(t1) MESSAGE(t2)");   /* stored, published, caught up */
    assert_phase(&l.v[2], "catchup");
    ck_assert_str_eq(published_ids(f), "t1,t2,t3");
    fleet_actions_clear(&l);
    fleet_free(f);
}
END_TEST

START_TEST(test_fleet_warm_drained_server_stays_published_until_its_keys_moved) {
    tt_task t[] = {task("t1", "a1", RUNNING), task("t2", "a2", RUNNING), task("t3", "a3", RUNNING)};
    const char *pub[] = {"t1", "t2", "t3"};
    fleet *f = warm_fleet(t, 3, 2, pub, 3);
    fleet_actions l;
    fleet_actions_init(&l);
    /* LEADING (in warm_fleet) drained the surplus: the least used, t1 (all equal, first). */
    ck_assert(fleet_find(f, "t1")->drain_until_ms > 0);
    ck_assert_str_eq(published_ids(f), "t1,t2,t3");   /* still: its keys are only there */
    fleet_tick(f, at(T0 + 62 * SEC), &l);
    ck_assert_str_eq(render(&l), "PUT_RING() MESSAGE(t1)");   /* a step down: only t1's keys move */
    fleet_actions_clear(&l);
    answer(f, "t1", MIG_CMD_COPY, at(T0 + 63 * SEC), &l);
    ck_assert_str_eq(render(&l), "PUT_RING() PUBLISH MESSAGE(t1)");
    ck_assert_str_eq(published_ids(f), "t2,t3");
    fleet_actions_clear(&l);
    fleet_tick(f, at(T0 + 73 * SEC), &l);   /* the drain window (10 s) is over */
    ck_assert_str_eq(render(&l), "PUT_RING() MESSAGE(t1)");
    assert_phase(&l.v[1], "cleanup");
    fleet_actions_clear(&l);
    answer(f, "t1", MIG_CMD_CLEANUP, at(T0 + 74 * SEC), &l);
    ck_assert_str_eq(render(&l), "KILL(t1) CLEAR_RING()");
    fleet_actions_clear(&l);
    fleet_free(f);
}
END_TEST

/* A step down drains the surplus t1; before any key of it has moved, t2
 * ends: t1 is kept, not drained on while a replacement for t2 starts (two
 * servers' keys moved for none). */
START_TEST(test_fleet_surplus_kept_when_the_fleet_falls_short) {
    tt_task t[] = {task("t1", "a1", RUNNING), task("t2", "a2", RUNNING), task("t3", "a3", RUNNING)};
    const char *pub[] = {"t1", "t2", "t3"};
    fleet *f = warm_fleet(t, 3, 2, pub, 3);   /* t1 drained on LEADING */
    fleet_actions l;
    fleet_actions_init(&l);
    ck_assert(fleet_find(f, "t1")->drain_until_ms > 0);
    fleet_status gone = update("t2", "a2", MESOS__V1__TASK_STATE__TASK_FAILED);
    fleet_on_update(f, &gone, at(T0 + SEC), &l);
    outcome(f, &l, at(T0 + SEC), 0, NULL);
    fleet_actions_clear(&l);
    fleet_tick(f, at(T0 + 2 * SEC), &l);
    ck_assert_str_eq(render(&l), "PUT_TASK(t1) PUBLISH");   /* kept; no REVIVE */
    outcome(f, &l, at(T0 + 2 * SEC), 0, NULL);
    fleet_actions_clear(&l);
    ck_assert_int_eq(fleet_find(f, "t1")->drain_until_ms, 0);
    ck_assert_int_eq(fleet_active(f), 2);
    fleet_tick(f, at(T0 + 120 * SEC), &l);   /* no transition, no kill: t1 and t3 are the ring */
    ck_assert_str_eq(render(&l), "");
    ck_assert_str_eq(published_ids(f), "t1,t3");
    fleet_free(f);

    /* Once R' without t1 is published, clients have left t1: it goes, and
     * t2 is replaced. */
    f = warm_fleet(t, 3, 2, pub, 3);
    fleet_tick(f, at(T0 + 62 * SEC), &l);
    fleet_actions_clear(&l);
    answer(f, "t1", MIG_CMD_COPY, at(T0 + 63 * SEC), &l);
    fleet_actions_clear(&l);
    ck_assert_str_eq(published_ids(f), "t2,t3");
    fleet_on_update(f, &gone, at(T0 + 64 * SEC), &l);
    outcome(f, &l, at(T0 + 64 * SEC), 0, NULL);
    fleet_actions_clear(&l);
    fleet_tick(f, at(T0 + 65 * SEC), &l);
    ck_assert_msg(!strstr(render(&l), "PUT_TASK(t1)"), "t1 kept after R' without it was published");
    fleet_actions_clear(&l);
    ck_assert(fleet_find(f, "t1")->drain_until_ms > 0);
    ck_assert_int_eq(fleet_active(f), 1);
    fleet_free(f);
}
END_TEST

START_TEST(test_fleet_warm_loss_mid_copy_purges_then_publishes_without_it) {
    tt_task t[] = {task("t1", "a1", RUNNING), task("t2", "a2", RUNNING), task("t3", "a3", RUNNING)};
    const char *pub[] = {"t1", "t2"};
    fleet *f = warm_fleet(t, 3, 3, pub, 2);
    fleet_actions l;
    fleet_actions_init(&l);
    fleet_tick(f, at(T0 + 61 * SEC), &l);
    fleet_actions_clear(&l);
    fleet_status gone = update("t2", "a2", MESOS__V1__TASK_STATE__TASK_FAILED);
    fleet_on_update(f, &gone, at(T0 + 62 * SEC), &l);
    ck_assert_str_eq(render(&l), "DELETE_TASK(t2) ACK(t2) PUT_RING() MESSAGE(t1) MESSAGE(t1) MESSAGE(t3) PUBLISH");
    assert_phase(&l.v[3], "abort");
    assert_phase(&l.v[4], "purge");
    ck_assert(strstr(l.v[4].data, "\"lost\":[\"host-a2:31000\"]"));
    outcome(f, &l, at(T0 + 62 * SEC), 0, NULL);
    fleet_actions_clear(&l);
    ck_assert_str_eq(published_ids(f), "t1,t2");   /* t2 stays listed (a miss) until nothing stale is left */
    answer(f, "t1", MIG_CMD_PURGE, at(T0 + 63 * SEC), &l);
    answer(f, "t3", MIG_CMD_PURGE, at(T0 + 63 * SEC), &l);
    ck_assert_str_eq(render(&l), "PUBLISH CLEAR_RING()");
    fleet_actions_clear(&l);
    ck_assert_str_eq(published_ids(f), "t1");
    fleet_free(f);
}
END_TEST

START_TEST(test_fleet_warm_new_leader_continues_the_stored_transition) {
    tt_task t[] = {task("t1", "a1", RUNNING), task("t2", "a2", RUNNING), task("t3", "a3", RUNNING)};
    const char *pub[] = {"t1", "t2", "t3"};
    fleet *f = warm_fleet(t, 3, 2, pub, 3);   /* t1 drained on LEADING */
    fleet_actions l;
    fleet_actions_init(&l);
    fleet_tick(f, at(T0 + 62 * SEC), &l);
    fleet_actions_clear(&l);
    answer(f, "t1", MIG_CMD_COPY, at(T0 + 63 * SEC), &l);   /* PUT_RING(catchup) PUBLISH MESSAGE */
    ck_assert_int_eq(l.v[0].kind, FA_PUT_RING);
    char *rec = strdup(l.v[0].data);
    fleet_actions_clear(&l);
    tt_task now[3] = {t[0], t[1], t[2]};
    now[0].drain_until_ms = fleet_find(f, "t1")->drain_until_ms;
    fleet_free(f);

    /* The new leader read the published list (t2, t3) and the record. */
    fleet_config c = cfg_test();
    trn_keep_config_default(&c.ring);
    c.ring.trn.drain_ms = 10 * SEC;
    f = fleet_new(&c);
    trn_server p[2];
    memset(p, 0, sizeof(p));
    snprintf(p[0].task_id, sizeof(p[0].task_id), "t2");
    snprintf(p[0].addr, sizeof(p[0].addr), "host-a2:31000");
    snprintf(p[1].task_id, sizeof(p[1].task_id), "t3");
    snprintf(p[1].addr, sizeof(p[1].addr), "host-a3:31000");
    ck_assert_int_eq(fleet_begin_term(f, now, 3, 2), MCM_OK);
    ck_assert_int_eq(fleet_set_ring(f, p, 2, rec, strlen(rec)), MCM_OK);
    free(rec);
    fleet_on_subscribed(f, at(T0 + 64 * SEC), &l);
    outcome(f, &l, at(T0 + 64 * SEC), 0, NULL);
    fleet_actions_clear(&l);
    for (int i = 0; i < 3; i++) {
        fleet_status s = update(now[i].id, now[i].agent_id, RUNNING);
        fleet_on_update(f, &s, at(T0 + 64 * SEC), &l);
        outcome(f, &l, at(T0 + 64 * SEC), 0, NULL);
        fleet_actions_clear(&l);
    }
    fleet_tick(f, at(T0 + 65 * SEC), &l);   /* the implicit RECONCILE */
    outcome(f, &l, at(T0 + 65 * SEC), 0, NULL);
    trn_status st;
    fleet_ring_status(f, at(T0 + 65 * SEC), &st);
    ck_assert_str_eq(trn_phase_name(st.phase), "catchup");
    ck_assert_str_eq(published_ids(f), "t2,t3");
    fleet_actions_clear(&l);
    fleet_free(f);
}
END_TEST

/* --- back from a partition ----------------------------------------------------------- */

START_TEST(test_fleet_back_from_partition_after_replacement_killed) {
    tt_task t[] = {task("t1", "a1", UNREACHABLE), task("t2", "a2", RUNNING)};
    fleet *f = leading_fleet(t, 2, 1);   /* t2 replaced t1 */
    fleet_status s = update("t1", "a1", RUNNING);
    RUN(f, fleet_on_update(f, &s, at(T0 + SEC), &l_), at(T0 + SEC), "PUT_TASK(t1) ACK(t1) KILL(t1) PUBLISH");
    ck_assert(fleet_find(f, "t1")->kill_sent_ms > 0);
    ck_assert(!tt_serving(fleet_find(f, "t1")));   /* never published again */
    fleet_free(f);

    tt_task u[] = {task("t1", "a1", UNREACHABLE)};
    f = leading_fleet(u, 1, 1);               /* no replacement yet: welcome back */
    RUN(f, fleet_on_update(f, &s, at(T0 + SEC), &l_), at(T0 + SEC), "PUT_TASK(t1) ACK(t1) PUBLISH");
    ck_assert(tt_serving(fleet_find(f, "t1")));
    fleet_free(f);
}
END_TEST

/* --- partitions: --unreachable-grace (fleet_partition.c) ------------------------------ */

static fleet *grace_fleet(int64_t grace_ms) {
    tt_task t[] = {task("t1", "a1", RUNNING), task("t2", "a2", RUNNING)};
    fleet_config c = cfg_test();
    c.unreachable_grace_ms = grace_ms;
    return leading_fleet_with(&c, t, 2, 2);
}

START_TEST(test_fleet_partition_answering_server_stays_published_no_launch) {
    fleet *f = grace_fleet(60 * SEC);
    fleet_status s = update("t1", "a1", UNREACHABLE);
    RUN(f, fleet_on_update(f, &s, at(T0 + SEC), &l_), at(T0 + SEC), "PUT_TASK(t1) ACK(t1) PUBLISH");
    ck_assert(fleet_part_probing(fleet_find(f, "t1")));
    ck_assert_str_eq(published_ids(f), "t1,t2");
    ck_assert_int_eq(fleet_active(f), 2);
    for (int i = 2; i < 50; i++) {   /* answers for 48 s: nothing to do but ask Mesos every 10 s */
        RUN(f, fleet_on_probe(f, "t1", 1, NULL, at(T0 + i * SEC), &l_), at(T0 + i * SEC), "");
        RUN(f, fleet_tick(f, at(T0 + i * SEC), &l_), at(T0 + i * SEC), i % 10 == 1 ? "RECONCILE(t1)" : "");
    }
    fleet_offer o[] = {offer("o0", "a3", "n0")};
    RUN(f, fleet_on_offers(f, o, 1, at(T0 + 50 * SEC), &l_), at(T0 + 50 * SEC), "DECLINE(o0)");
    ck_assert_str_eq(published_ids(f), "t1,t2");
    fleet_free(f);
}
END_TEST

START_TEST(test_fleet_partition_failed_probes_replace) {
    fleet *f = grace_fleet(60 * SEC);
    fleet_status s = update("t1", "a1", UNREACHABLE);
    RUN(f, fleet_on_update(f, &s, at(T0 + SEC), &l_), at(T0 + SEC), "PUT_TASK(t1) ACK(t1) PUBLISH");
    RUN(f, fleet_on_probe(f, "t1", 0, "no answer", at(T0 + 2 * SEC), &l_), at(T0 + 2 * SEC), "");
    RUN(f, fleet_on_probe(f, "t1", 1, NULL, at(T0 + 3 * SEC), &l_), at(T0 + 3 * SEC), "");   /* in a row only */
    RUN(f, fleet_on_probe(f, "t1", 0, "no answer", at(T0 + 4 * SEC), &l_), at(T0 + 4 * SEC), "");
    RUN(f, fleet_on_probe(f, "t1", 0, "no answer", at(T0 + 5 * SEC), &l_), at(T0 + 5 * SEC), "PUBLISH");
    ck_assert(!fleet_part_probing(fleet_find(f, "t1")));
    ck_assert_str_eq(published_ids(f), "t2");
    RUN(f, fleet_tick(f, at(T0 + 6 * SEC), &l_), at(T0 + 6 * SEC), "REVIVE");
    fleet_offer o[] = {offer("o0", "a3", "n0")};
    RUN(f, fleet_on_offers(f, o, 1, at(T0 + 6 * SEC), &l_), at(T0 + 6 * SEC), "PUT_TASK(n0) LAUNCH(n0@0)");
    /* later answers change nothing: given up for good */
    RUN(f, fleet_on_probe(f, "t1", 1, NULL, at(T0 + 7 * SEC), &l_), at(T0 + 7 * SEC), "");
    ck_assert(!fleet_part_probing(fleet_find(f, "t1")));
    fleet_free(f);
}
END_TEST

START_TEST(test_fleet_partition_grace_over_replaces) {
    fleet *f = grace_fleet(6 * SEC);
    fleet_status s = update("t1", "a1", UNREACHABLE);
    RUN(f, fleet_on_update(f, &s, at(T0 + SEC), &l_), at(T0 + SEC), "PUT_TASK(t1) ACK(t1) PUBLISH");
    RUN(f, fleet_on_probe(f, "t1", 1, NULL, at(T0 + 6 * SEC), &l_), at(T0 + 6 * SEC), "");
    RUN(f, fleet_tick(f, at(T0 + 6 * SEC), &l_), at(T0 + 6 * SEC), "");
    RUN(f, fleet_tick(f, at(T0 + 7 * SEC), &l_), at(T0 + 7 * SEC), "PUBLISH REVIVE");   /* 6 s after the update */
    ck_assert_str_eq(published_ids(f), "t2");
    ck_assert_int_eq(fleet_active(f), 1);
    fleet_free(f);
}
END_TEST

START_TEST(test_fleet_partition_grace_zero_replaces_at_once) {
    fleet *f = grace_fleet(0);
    fleet_status s = update("t1", "a1", UNREACHABLE);
    RUN(f, fleet_on_update(f, &s, at(T0 + SEC), &l_), at(T0 + SEC), "PUT_TASK(t1) ACK(t1) PUBLISH");
    ck_assert(!fleet_part_probing(fleet_find(f, "t1")));
    ck_assert_str_eq(published_ids(f), "t2");
    RUN(f, fleet_tick(f, at(T0 + 2 * SEC), &l_), at(T0 + 2 * SEC), "REVIVE");
    fleet_free(f);
}
END_TEST

START_TEST(test_fleet_partition_back_within_grace_continues) {
    fleet *f = grace_fleet(60 * SEC);
    fleet_status s = update("t1", "a1", UNREACHABLE), r = update("t1", "a1", RUNNING);
    RUN(f, fleet_on_update(f, &s, at(T0 + SEC), &l_), at(T0 + SEC), "PUT_TASK(t1) ACK(t1) PUBLISH");
    RUN(f, fleet_on_update(f, &r, at(T0 + 20 * SEC), &l_), at(T0 + 20 * SEC), "PUT_TASK(t1) ACK(t1) PUBLISH");
    ck_assert(tt_serving(fleet_find(f, "t1")));
    ck_assert_int_eq(fleet_find(f, "t1")->kill_sent_ms, 0);
    ck_assert_str_eq(published_ids(f), "t1,t2");
    RUN(f, fleet_tick(f, at(T0 + 90 * SEC), &l_), at(T0 + 90 * SEC), "");   /* no grace left to end */
    fleet_free(f);
}
END_TEST

/* A new leader keeps an UNREACHABLE record for what is left of the grace,
 * counted from the record's changed time. */
START_TEST(test_fleet_partition_new_leader_keeps_for_the_rest_of_the_grace) {
    tt_task t[] = {task("t1", "a1", UNREACHABLE), task("t2", "a2", RUNNING)};
    t[0].changed_ms = WALL0 + T0 - 50 * SEC;   /* 50 s of a 60 s grace gone */
    fleet_config c = cfg_test();
    c.unreachable_grace_ms = 60 * SEC;
    fleet *f = leading_fleet_with(&c, t, 2, 2);
    ck_assert(fleet_part_probing(fleet_find(f, "t1")));
    ck_assert_str_eq(published_ids(f), "t1,t2");
    RUN(f, fleet_tick(f, at(T0 + 9 * SEC), &l_), at(T0 + 9 * SEC), "RECONCILE(t1)");   /* 59 s unreachable */
    RUN(f, fleet_tick(f, at(T0 + 10 * SEC), &l_), at(T0 + 10 * SEC), "PUBLISH REVIVE");
    fleet_free(f);
}
END_TEST

/* --- KILL resent after 30 s ---------------------------------------------------------- */

START_TEST(test_fleet_kill_resent_after_30s) {
    tt_task t[] = {task("t1", "a1", RUNNING), task("t2", "a2", RUNNING)};
    fleet *f = leading_fleet(t, 2, 2);
    fleet_actions l;
    fleet_actions_init(&l);
    ck_assert_int_eq(fleet_restart(f, "t1", at(T0), &l), MCM_OK);
    ck_assert_str_eq(render(&l), "KILL(t1)");
    outcome(f, &l, at(T0), 0, NULL);
    fleet_actions_clear(&l);
    ck_assert_int_eq(fleet_restart(f, "t1", at(T0), &l), FLEET_CONFLICT);
    ck_assert_int_eq(fleet_restart(f, "nope", at(T0), &l), FLEET_NOT_FOUND);
    ck_assert_int_eq(l.n, 0);
    RUN(f, fleet_tick(f, at(T0 + FLEET_KILL_RESEND_MS - 1), &l_), at(T0 + FLEET_KILL_RESEND_MS - 1), "REVIVE");
    RUN(f, fleet_tick(f, at(T0 + FLEET_KILL_RESEND_MS), &l_), at(T0 + FLEET_KILL_RESEND_MS), "KILL(t1)");
    /* a KILL that could not be sent is tried again at the next tick */
    int64_t t2 = T0 + 2 * FLEET_KILL_RESEND_MS;
    fleet_tick(f, at(t2), &l);
    ck_assert_str_eq(render(&l), "KILL(t1)");
    outcome(f, &l, at(t2), FA_KILL, "not subscribed");
    fleet_actions_clear(&l);
    RUN(f, fleet_tick(f, at(t2 + 100), &l_), at(t2 + 100), "KILL(t1)");
    fleet_free(f);
}
END_TEST

/* --- the surplus server ---------------------------------------------------------------- */

/* The chaos soak's cycle 855 (seed 3): a step down drains a surplus server
 * and its agent goes down at once. The fleet is at its size, so offers are
 * SUPPRESSed and the returned agent never offers: the tick asks Mesos about
 * the UNREACHABLE record after 10 s (every 10 s), and its end frees the
 * fleet (autoscaling waits while anything drains). Before, the record stayed
 * until the drain deadline or the next full reconciliation. */
START_TEST(test_fleet_unreachable_drain_asked_about_without_offers) {
    tt_task t[] = {task("big", "a1", RUNNING), task("small", "a2", RUNNING), task("mid", "a3", RUNNING)};
    t[0].has_report = t[1].has_report = t[2].has_report = 1;
    t[0].last.bytes = 100 << 20;
    t[1].last.bytes = 10 << 20;
    t[2].last.bytes = 50 << 20;
    fleet *f = leading_fleet(t, 3, 3);
    fleet_set_desired(f, 2);
    RUN(f, fleet_tick(f, at(T0 + SEC), &l_), at(T0 + SEC), "PUT_TASK(small) PUBLISH");   /* drained */
    fleet_status s = update("small", "a2", UNREACHABLE);
    RUN(f, fleet_on_update(f, &s, at(T0 + 2 * SEC), &l_), at(T0 + 2 * SEC), "PUT_TASK(small) ACK(small) PUBLISH");
    RUN(f, fleet_tick(f, at(T0 + 11 * SEC), &l_), at(T0 + 11 * SEC), "");   /* 9 s: the master just said so */
    RUN(f, fleet_tick(f, at(T0 + 12 * SEC), &l_), at(T0 + 12 * SEC), "RECONCILE(small)");
    RUN(f, fleet_tick(f, at(T0 + 21 * SEC), &l_), at(T0 + 21 * SEC), "");   /* asked 9 s ago */
    RUN(f, fleet_tick(f, at(T0 + 22 * SEC), &l_), at(T0 + 22 * SEC), "RECONCILE(small)");
    fleet_status g = update("small", "a2", MESOS__V1__TASK_STATE__TASK_GONE);
    RUN(f, fleet_on_update(f, &g, at(T0 + 22 * SEC), &l_), at(T0 + 22 * SEC), "DELETE_TASK(small) ACK(small) PUBLISH");
    ck_assert_ptr_null(fleet_find(f, "small"));
    RUN(f, fleet_tick(f, at(T0 + 40 * SEC), &l_), at(T0 + 40 * SEC), "");   /* 2 running, 2 desired */
    fleet_free(f);
}
END_TEST

START_TEST(test_fleet_surplus_not_running_first_then_least_memory) {
    tt_task t[] = {task("big", "a1", RUNNING), task("small", "a2", RUNNING), task("new", "a3", STAGING)};
    t[0].has_report = t[1].has_report = 1;
    t[0].last.bytes = 100 << 20;
    t[1].last.bytes = 10 << 20;
    fleet *f = leading_fleet(t, 3, 3);
    fleet_set_desired(f, 2);
    RUN(f, fleet_tick(f, at(T0 + SEC), &l_), at(T0 + SEC), "KILL(new)");   /* not running: killed, no drain */
    fleet_free(f);

    t[2].state = RUNNING;
    t[2].has_report = 1;
    t[2].last.bytes = 50 << 20;
    f = leading_fleet(t, 3, 3);
    fleet_set_desired(f, 2);
    RUN(f, fleet_tick(f, at(T0 + SEC), &l_), at(T0 + SEC), "PUT_TASK(small) PUBLISH");   /* drained */
    tt_task *v = fleet_find(f, "small");
    ck_assert_int_eq(v->drain_until_ms, T0 + SEC + 30 * SEC);
    ck_assert(!tt_serving(v));
    ck_assert_int_eq(fleet_active(f), 2);
    RUN(f, fleet_tick(f, at(T0 + 30 * SEC), &l_), at(T0 + 30 * SEC), "");
    RUN(f, fleet_tick(f, at(T0 + 31 * SEC), &l_), at(T0 + 31 * SEC), "KILL(small)");   /* drain over */
    fleet_free(f);
}
END_TEST


/* --- placement (fleet_place.c over place.h) ------------------------------------------- */

/* An agent as an offer shows it: "tier" attribute (NULL: none), zone in
 * region "r" (NULL: no fault domain). The pool outlives each test's use. */
typedef struct fx_agent {
    place_attr attr;
    char tier[32], zone[16], host[32];
    place_agent a;
} fx_agent;

static fx_agent fx_pool[64];
static int fx_n;

static const place_agent *pagent(const char *host, const char *tier, const char *zone) {
    fx_agent *x = &fx_pool[fx_n++ % 64];
    memset(x, 0, sizeof(*x));
    snprintf(x->host, sizeof(x->host), "%s", host);
    snprintf(x->tier, sizeof(x->tier), "%s", tier ? tier : "");
    snprintf(x->zone, sizeof(x->zone), "%s", zone ? zone : "");
    x->attr = (place_attr){"tier", x->tier};
    x->a = (place_agent){NULL, x->host, &x->attr, tier ? 1 : 0, zone ? "r" : NULL, zone ? x->zone : NULL};
    return &x->a;
}

static fleet_offer poffer(const char *id, const char *agent, const char *new_id, const place_agent *a) {
    fleet_offer o = {id, agent, a->hostname, 1, 31001, new_id, a};
    return o;
}

/* A stored task on an agent in `zone` (as a new leader reads it back). */
static tt_task ztask(const char *id, const char *agent, const char *zone, const char *attrs) {
    tt_task t = task(id, agent, RUNNING);
    snprintf(t.region, sizeof(t.region), "r");
    snprintf(t.zone, sizeof(t.zone), "%s", zone);
    snprintf(t.attrs, sizeof(t.attrs), "%s", attrs ? attrs : "");
    return t;
}

static fleet_config cfg_cons(const char *const *cons, int n) {
    fleet_config c = cfg_test();
    c.constraints = cons;
    c.nconstraints = n;
    return c;
}

START_TEST(test_fleet_place_constraints_decline_offers_that_break_them) {
    static const char *const cons[] = {"tier:LIKE:cache", "hostname:UNIQUE"};
    fleet_config c = cfg_cons(cons, 2);
    fleet *f = leading_fleet_with(&c, NULL, 0, 3);
    fleet_offer o[] = {poffer("o0", "a0", "n0", pagent("h0", "batch", NULL)),
                       poffer("o1", "a1", "n1", pagent("h1", "cache", NULL)),
                       poffer("o2", "a2", "n2", pagent("h1", "cache", NULL)),    /* h1 again: UNIQUE */
                       poffer("o3", "a3", "n3", pagent("h3", NULL, NULL)),       /* no tier: LIKE fails */
                       poffer("o4", "a4", "n4", pagent("h4", "cache", NULL))};
    RUN(f, fleet_on_offers(f, o, 5, at(T0 + SEC), &l_), at(T0 + SEC),
        "DECLINE(o0,o2,o3) PUT_TASK(n1) LAUNCH(n1@1) PUT_TASK(n4) LAUNCH(n4@4)");
    /* the launched records carry their agent's attributes (stored with them) */
    ck_assert_str_eq(fleet_find(f, "n1")->attrs, "tier:cache");
    ck_assert_str_eq(fleet_find(f, "n1")->zone, "");
    /* a later batch: h1 and h4 are taken, a batch agent still declined */
    fleet_offer p[] = {poffer("o5", "a5", "n5", pagent("h4", "cache", NULL)),
                       poffer("o6", "a6", "n6", pagent("h6", "batch", NULL))};
    RUN(f, fleet_on_offers(f, p, 2, at(T0 + 2 * SEC), &l_), at(T0 + 2 * SEC), "DECLINE(o5,o6)");
    fleet_free(f);
}
END_TEST

START_TEST(test_fleet_place_zone_spread_over_three_zones) {
    fleet_config c = cfg_test();
    fleet *f = leading_fleet_with(&c, NULL, 0, 3);
    /* zone a offers first and twice: the second waits for b and c */
    fleet_offer o[] = {poffer("o0", "a0", "n0", pagent("h0", NULL, "a")),
                       poffer("o1", "a1", "n1", pagent("h1", NULL, "a")),
                       poffer("o2", "b0", "n2", pagent("h2", NULL, "b")),
                       poffer("o3", "c0", "n3", pagent("h3", NULL, "c"))};
    RUN(f, fleet_on_offers(f, o, 4, at(T0 + SEC), &l_), at(T0 + SEC),
        "DECLINE(o1) PUT_TASK(n0) LAUNCH(n0@0) PUT_TASK(n2) LAUNCH(n2@2) PUT_TASK(n3) LAUNCH(n3@3)");
    ck_assert_str_eq(fleet_find(f, "n2")->zone, "b");
    ck_assert_str_eq(fleet_find(f, "n2")->region, "r");
    /* spread off: the first offers take the servers, whatever their zone */
    fleet_free(f);
    c.zone_spread = 0;
    f = leading_fleet_with(&c, NULL, 0, 3);
    RUN(f, fleet_on_offers(f, o, 4, at(T0 + SEC), &l_), at(T0 + SEC),
        "DECLINE(o3) PUT_TASK(n0) LAUNCH(n0@0) PUT_TASK(n1) LAUNCH(n1@1) PUT_TASK(n2) LAUNCH(n2@2)");
    fleet_free(f);
}
END_TEST

/* Zone c's agents are gone: its servers unreachable, no more offers from
 * it. Until its last offer is older than the zone memory (2 x refuse time +
 * 5 s = 65 s here), a and b keep their share of 2; then they take 3 each. */
START_TEST(test_fleet_place_lost_zone_replaced_in_the_others) {
    tt_task t[] = {ztask("t0", "a0", "a", NULL), ztask("t1", "a1", "a", NULL), ztask("t2", "b0", "b", NULL),
                   ztask("t3", "b1", "b", NULL), ztask("t4", "c0", "c", NULL), ztask("t5", "c1", "c", NULL)};
    fleet *f = leading_fleet(t, 6, 6);
    fleet_offer all[] = {poffer("o0", "a2", "n0", pagent("h", NULL, "a")),
                         poffer("o1", "b2", "n1", pagent("h", NULL, "b")),
                         poffer("o2", "c2", "n2", pagent("h", NULL, "c"))};
    RUN(f, fleet_on_offers(f, all, 3, at(T0 + SEC), &l_), at(T0 + SEC), "DECLINE(o0,o1,o2)");   /* full */
    fleet_status s4 = update("t4", "c0", UNREACHABLE), s5 = update("t5", "c1", UNREACHABLE);
    RUN(f, fleet_on_update(f, &s4, at(T0 + 2 * SEC), &l_), at(T0 + 2 * SEC), "PUT_TASK(t4) ACK(t4) PUBLISH");
    RUN(f, fleet_on_update(f, &s5, at(T0 + 2 * SEC), &l_), at(T0 + 2 * SEC), "PUT_TASK(t5) ACK(t5) PUBLISH");
    int64_t when[] = {T0 + 3 * SEC, T0 + 25 * SEC, T0 + 45 * SEC, T0 + 65 * SEC};
    for (int i = 0; i < 4; i++) {   /* c2 offered last at T0+1s: zone c still counts */
        char a[16], b[16];
        snprintf(a, sizeof(a), "oa%d", i);
        snprintf(b, sizeof(b), "ob%d", i);
        fleet_offer o[] = {poffer(a, "a2", "na", pagent("h", NULL, "a")), poffer(b, "b2", "nb", pagent("h", NULL, "b"))};
        char want[64];
        snprintf(want, sizeof(want), "DECLINE(%s,%s)", a, b);
        RUN(f, fleet_on_offers(f, o, 2, at(when[i]), &l_), at(when[i]), want);
    }
    fleet_offer o[] = {poffer("oa", "a2", "na", pagent("h", NULL, "a")), poffer("ob", "b2", "nb", pagent("h", NULL, "b"))};
    RUN(f, fleet_on_offers(f, o, 2, at(T0 + 67 * SEC), &l_), at(T0 + 67 * SEC),
        "PUT_TASK(na) LAUNCH(na@0) PUT_TASK(nb) LAUNCH(nb@1)");
    fleet_free(f);
}
END_TEST

/* A zone that holds servers but has no room (its agents full) would keep
 * the others at their share for ever: after twice the zone memory of only
 * the spread holding a needed server back, it is waived. */
START_TEST(test_fleet_place_spread_waived_when_a_zone_has_no_room) {
    tt_task t[] = {ztask("t0", "a0", "a", NULL), ztask("t1", "a1", "a", NULL), ztask("t2", "b0", "b", NULL),
                   ztask("t3", "b1", "b", NULL), ztask("t4", "c0", "c", NULL)};
    fleet *f = leading_fleet(t, 5, 6);
    for (int64_t s = 1; s <= 121; s += 20) {   /* offers keep coming (every refuse time and less) */
        fleet_offer o[] = {poffer("oa", "a2", "na", pagent("h", NULL, "a"))};
        RUN(f, fleet_on_offers(f, o, 1, at(T0 + s * SEC), &l_), at(T0 + s * SEC), "DECLINE(oa)");
    }
    fleet_offer o[] = {poffer("oa", "a2", "na", pagent("h", NULL, "a"))};
    RUN(f, fleet_on_offers(f, o, 1, at(T0 + 132 * SEC), &l_), at(T0 + 132 * SEC), "PUT_TASK(na) LAUNCH(na@0)");
    fleet_free(f);
}
END_TEST

START_TEST(test_fleet_place_step_down_from_the_fullest_zone) {
    tt_task t[] = {ztask("t0", "a0", "a", NULL), ztask("t1", "b0", "b", NULL), ztask("t2", "b1", "b", NULL),
                   ztask("t3", "c0", "c", NULL)};
    for (int i = 0; i < 4; i++) t[i].has_report = 1, t[i].last.bytes = (uint64_t)(10 - i) << 20;
    fleet *f = leading_fleet(t, 4, 4);   /* zones as stored: no offer needed */
    fleet_set_desired(f, 3);
    /* t3 uses the least memory, but zone b is the fullest: its lighter one goes */
    RUN(f, fleet_tick(f, at(T0 + SEC), &l_), at(T0 + SEC), "PUT_TASK(t2) PUBLISH");
    fleet_free(f);
    /* spread off: the preference order alone (least memory) */
    fleet_config c = cfg_test();
    c.zone_spread = 0;
    f = leading_fleet_with(&c, t, 4, 4);
    fleet_set_desired(f, 3);
    RUN(f, fleet_tick(f, at(T0 + SEC), &l_), at(T0 + SEC), "PUT_TASK(t3) PUBLISH");
    fleet_free(f);
}
END_TEST

/* A server whose agent no longer satisfies a constraint (the operator added
 * it, or the agent's attributes changed) is the first to go on a step down. */
START_TEST(test_fleet_place_step_down_removes_a_misplaced_server_first) {
    static const char *const cons[] = {"tier:UNLIKE:batch"};
    tt_task t[] = {ztask("t0", "a0", "a", "tier:cache"), ztask("t1", "a1", "a", "rack:r1;tier:batch"),
                   ztask("t2", "a2", "a", "tier:cache")};
    for (int i = 0; i < 3; i++) t[i].has_report = 1, t[i].last.bytes = (uint64_t)(i == 2 ? 1 : 50) << 20;
    fleet_config c = cfg_cons(cons, 1);
    fleet *f = leading_fleet_with(&c, t, 3, 3);
    fleet_set_desired(f, 2);
    RUN(f, fleet_tick(f, at(T0 + SEC), &l_), at(T0 + SEC), "PUT_TASK(t1) PUBLISH");
    fleet_free(f);
}
END_TEST

START_TEST(test_fleet_place_bad_constraint_no_fleet) {
    static const char *const cons[] = {"tier:LIKE"};
    fleet_config c = cfg_cons(cons, 1);
    ck_assert_ptr_null(fleet_new(&c));
}
END_TEST

/* --- reconciliation ----------------------------------------------------------------------- */

START_TEST(test_fleet_reconciliation_patience_60s) {
    fleet_config c = cfg_test();
    fleet *f = fleet_new(&c);
    tt_task t[] = {task("t1", "a1", RUNNING), task("t2", "a2", RUNNING)};
    ck_assert_int_eq(fleet_begin_term(f, t, 2, 2), MCM_OK);
    RUN(f, fleet_on_subscribed(f, at(0), &l_), at(0), "PHASE(RECONCILING) RECONCILE(t1,t2)");
    fleet_status s = update("t1", "a1", RUNNING);
    RUN(f, fleet_on_update(f, &s, at(500), &l_), at(500), "ACK(t1)");
    /* offers before LEADING: declined for FLEET_NOT_LEADING_REFUSE_S, nothing launched */
    fleet_offer o[] = {offer("o0", "a3", "n0")};
    fleet_actions l;
    fleet_actions_init(&l);
    fleet_on_offers(f, o, 1, at(600), &l);
    ck_assert_str_eq(render(&l), "DECLINE(o0)");
    ck_assert(l.v[0].refuse_s == FLEET_NOT_LEADING_REFUSE_S);
    fleet_actions_clear(&l);
    /* t2 never answers: asked again after 2, 4, 8, 16 s (backoff) */
    RUN(f, fleet_tick(f, at(1999), &l_), at(1999), "");
    RUN(f, fleet_tick(f, at(2000), &l_), at(2000), "RECONCILE(t2)");
    RUN(f, fleet_tick(f, at(5999), &l_), at(5999), "");
    RUN(f, fleet_tick(f, at(6000), &l_), at(6000), "RECONCILE(t2)");
    RUN(f, fleet_tick(f, at(14000), &l_), at(14000), "RECONCILE(t2)");
    RUN(f, fleet_tick(f, at(30000), &l_), at(30000), "RECONCILE(t2)");
    RUN(f, fleet_tick(f, at(59999), &l_), at(59999), "");
    ck_assert(!fleet_leading(f));
    /* 60 s: leading anyway, t2 kept as it was (counted: nothing launched for it) */
    fleet_tick(f, at(60000), &l);
    ck_assert_str_eq(render(&l), "RECONCILE()");
    outcome(f, &l, at(60000), 0, NULL);
    ck_assert_str_eq(render(&l), "RECONCILE() PHASE(LEADING) SUPPRESS PUBLISH");
    fleet_actions_clear(&l);
    ck_assert(fleet_leading(f));
    ck_assert_ptr_nonnull(fleet_find(f, "t2"));
    ck_assert_int_eq(fleet_active(f), 2);
    fleet_free(f);
}
END_TEST

START_TEST(test_fleet_implicit_reconcile_failed_is_retried) {
    fleet_config c = cfg_test();
    fleet *f = fleet_new(&c);
    ck_assert_int_eq(fleet_begin_term(f, NULL, 0, 1), MCM_OK);
    RUN(f, fleet_on_subscribed(f, at(0), &l_), at(0), "PHASE(RECONCILING)");
    fleet_actions l;
    fleet_actions_init(&l);
    fleet_tick(f, at(100), &l);
    ck_assert_str_eq(render(&l), "RECONCILE()");
    outcome(f, &l, at(100), FA_RECONCILE, "503 No leader elected");
    ck_assert_str_eq(render(&l), "RECONCILE()");   /* no follow-up: still reconciling */
    fleet_actions_clear(&l);
    ck_assert(!fleet_leading(f));
    RUN(f, fleet_tick(f, at(200), &l_), at(200), "RECONCILE()");
    ck_assert(fleet_leading(f));
    fleet_free(f);
}
END_TEST

START_TEST(test_fleet_answer_about_an_earlier_run_ignored) {
    fleet_config c = cfg_test();
    fleet *f = fleet_new(&c);
    ck_assert_int_eq(fleet_begin_term(f, NULL, 0, 1), MCM_OK);
    RUN(f, fleet_on_subscribed(f, at(0), &l_), at(0), "PHASE(RECONCILING)");
    fleet_actions old;
    fleet_actions_init(&old);
    fleet_tick(f, at(100), &old);
    ck_assert_str_eq(render(&old), "RECONCILE()");   /* sent; its answer is slow */
    fleet_on_unsubscribed(f);                        /* the stream drops, then a new SUBSCRIBED */
    RUN(f, fleet_on_subscribed(f, at(200), &l_), at(200), "PHASE(RECONCILING)");
    fleet_actions l;
    fleet_actions_init(&l);
    fleet_tick(f, at(300), &l);
    ck_assert_str_eq(render(&l), "RECONCILE()");
    outcome(f, &old, at(400), 0, NULL);              /* the first run's answer arrives */
    ck_assert_str_eq(render(&old), "RECONCILE()");   /* no follow-up: the new run is not over */
    ck_assert(!fleet_leading(f));
    outcome(f, &l, at(500), 0, NULL);
    ck_assert_str_eq(render(&l), "RECONCILE() PHASE(LEADING) PUBLISH");
    ck_assert(fleet_leading(f));
    fleet_actions_clear(&old);
    fleet_actions_clear(&l);
    fleet_free(f);
}
END_TEST

/* --- nothing outside leadership ------------------------------------------------------------- */

START_TEST(test_fleet_nothing_outside_a_term) {
    fleet_config c = cfg_test();
    fleet *f = fleet_new(&c);
    fleet_status s = update("t1", "a1", RUNNING);
    fleet_offer o[] = {offer("o0", "a1", "n0")};
    for (int round = 0; round < 2; round++) {   /* before the first term, then after one */
        RUN(f, fleet_on_update(f, &s, at(SEC), &l_), at(SEC), "");
        RUN(f, fleet_on_offers(f, o, 1, at(SEC), &l_), at(SEC), "");
        RUN(f, fleet_tick(f, at(SEC), &l_), at(SEC), "");
        RUN(f, fleet_on_subscribed(f, at(SEC), &l_), at(SEC), "");
        RUN(f, fleet_drain(f, "t1", "test", at(SEC), &l_), at(SEC), "");
        RUN(f, fleet_forget_all(f, &l_), at(SEC), "");
        ck_assert_int_eq(fleet_restart(f, "t1", at(SEC), NULL), FLEET_NOT_FOUND);
        ck_assert(!fleet_in_term(f) && !fleet_leading(f));
        tt_task t[] = {task("t1", "a1", RUNNING)};
        ck_assert_int_eq(fleet_begin_term(f, t, 1, 1), MCM_OK);
        fleet_end_term(f);   /* a step-down forgets the table */
        ck_assert_int_eq(tt_count(fleet_table(f)), 0);
    }
    fleet_free(f);
    fleet_free(NULL);
}
END_TEST

START_TEST(test_fleet_revive_failed_is_retried) {
    tt_task t[] = {task("t1", "a1", RUNNING), task("t2", "a2", RUNNING)};
    fleet *f = leading_fleet(t, 2, 2);   /* at size: SUPPRESS was sent on the way */
    fleet_set_desired(f, 3);
    fleet_actions l;
    fleet_actions_init(&l);
    fleet_tick(f, at(T0 + SEC), &l);
    ck_assert_str_eq(render(&l), "REVIVE");
    outcome(f, &l, at(T0 + SEC), FA_REVIVE, "not subscribed");
    fleet_actions_clear(&l);
    RUN(f, fleet_tick(f, at(T0 + 2 * SEC), &l_), at(T0 + 2 * SEC), "REVIVE");
    RUN(f, fleet_tick(f, at(T0 + 3 * SEC), &l_), at(T0 + 3 * SEC), "");
    fleet_set_desired(f, 2);
    RUN(f, fleet_tick(f, at(T0 + 4 * SEC), &l_), at(T0 + 4 * SEC), "SUPPRESS");
    fleet_free(f);
}
END_TEST

int main(void) {
    Suite *s = suite_create("fleet");
    TCase *tc = tcase_create("fleet");
    tcase_add_test(tc, test_fleet_update_stored_before_ack);
    tcase_add_test(tc, test_fleet_updates_batched_one_publish);
    tcase_add_test(tc, test_fleet_update_batchable);
    tcase_add_test(tc, test_fleet_ended_task_deleted_then_replaced);
    tcase_add_test(tc, test_fleet_launch_stored_first);
    tcase_add_test(tc, test_fleet_launch_refused_forgets_timeout_keeps);
    tcase_add_test(tc, test_fleet_orphan_killed);
    tcase_add_test(tc, test_fleet_agent_back_empty_is_used_and_its_task_asked_about);
    tcase_add_test(tc, test_fleet_quarantined_task_is_never_killed);
    tcase_add_test(tc, test_fleet_warm_new_server_published_after_its_keys_are_copied);
    tcase_add_test(tc, test_fleet_warm_drained_server_stays_published_until_its_keys_moved);
    tcase_add_test(tc, test_fleet_warm_loss_mid_copy_purges_then_publishes_without_it);
    tcase_add_test(tc, test_fleet_warm_new_leader_continues_the_stored_transition);
    tcase_add_test(tc, test_fleet_back_from_partition_after_replacement_killed);
    tcase_add_test(tc, test_fleet_partition_answering_server_stays_published_no_launch);
    tcase_add_test(tc, test_fleet_partition_failed_probes_replace);
    tcase_add_test(tc, test_fleet_partition_grace_over_replaces);
    tcase_add_test(tc, test_fleet_partition_grace_zero_replaces_at_once);
    tcase_add_test(tc, test_fleet_partition_back_within_grace_continues);
    tcase_add_test(tc, test_fleet_partition_new_leader_keeps_for_the_rest_of_the_grace);
    tcase_add_test(tc, test_fleet_kill_resent_after_30s);
    tcase_add_test(tc, test_fleet_surplus_not_running_first_then_least_memory);
    tcase_add_test(tc, test_fleet_unreachable_drain_asked_about_without_offers);
    tcase_add_test(tc, test_fleet_surplus_kept_when_the_fleet_falls_short);
    tcase_add_test(tc, test_fleet_place_constraints_decline_offers_that_break_them);
    tcase_add_test(tc, test_fleet_place_zone_spread_over_three_zones);
    tcase_add_test(tc, test_fleet_place_lost_zone_replaced_in_the_others);
    tcase_add_test(tc, test_fleet_place_spread_waived_when_a_zone_has_no_room);
    tcase_add_test(tc, test_fleet_place_step_down_from_the_fullest_zone);
    tcase_add_test(tc, test_fleet_place_step_down_removes_a_misplaced_server_first);
    tcase_add_test(tc, test_fleet_place_bad_constraint_no_fleet);
    tcase_add_test(tc, test_fleet_reconciliation_patience_60s);
    tcase_add_test(tc, test_fleet_implicit_reconcile_failed_is_retried);
    tcase_add_test(tc, test_fleet_answer_about_an_earlier_run_ignored);
    tcase_add_test(tc, test_fleet_nothing_outside_a_term);
    tcase_add_test(tc, test_fleet_revive_failed_is_retried);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
