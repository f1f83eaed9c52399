/* test_trn.c -- the warm ring transition machine, without any server.
 *
 * Each test drives trn through events and asserts the exact action list,
 * rendered as one line: PERSIST:<phase> CLEAR PUBLISH:[addr,...]
 * SEND:<task>:<command>[:<owner>][<ring>] RETIRE:<task>. */
#include "trn.h"
#include "mcm.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1700000000000LL

static trn_config cfg;
static char line[8192];

static void setup(void) {
    trn_config_default(&cfg);
    cfg.copy_budget_ms = 60000;
    cfg.drain_ms = 10000;
    cfg.catchup_every_ms = 1000;
    cfg.resend_ms = 5000;
    cfg.cleanup_timeout_ms = 30000;
}

static trn_server srv(const char *id, int port) {
    trn_server s;
    memset(&s, 0, sizeof(s));
    snprintf(s.task_id, sizeof(s.task_id), "%s", id);
    snprintf(s.addr, sizeof(s.addr), "127.0.0.1:%d", port);
    return s;
}

static void cat(const char *fmt, const char *a, const char *b) {
    size_t n = strlen(line);
    snprintf(line + n, sizeof(line) - n, fmt, a, b);
}

static void ring_str(const char *const *ring, int n) {
    cat("%s%s", "[", "");
    for (int i = 0; i < n; i++) cat("%s%s", i ? "," : "", strchr(ring[i], ':') + 1);
    cat("%s%s", "]", "");
}

/* Renders the list (ports only, for brevity) and clears it. */
static const char *render(trn_actions *a) {
    line[0] = 0;
    ck_assert(!a->oom);
    for (int i = 0; i < a->n; i++) {
        const trn_action *x = &a->v[i];
        if (i) cat("%s%s", " ", "");
        switch (x->kind) {
        case TRN_A_PERSIST: {
            const char *p = strstr(x->record, "\"phase\":\"");
            ck_assert_ptr_nonnull(p);
            char ph[16] = "";
            sscanf(p + 9, "%15[a-z]", ph);
            cat("PERSIST:%s%s", ph, "");
            break;
        }
        case TRN_A_CLEAR: cat("CLEAR%s%s", "", ""); break;
        case TRN_A_PUBLISH: {
            const char *ring[64];
            for (int j = 0; j < x->nservers; j++) ring[j] = x->servers[j].addr;
            cat("PUBLISH:%s%s", "", "");
            ring_str(ring, x->nservers);
            break;
        }
        case TRN_A_SEND:
            cat("SEND:%s:%s", x->task_id, trn_cmd_name(x->cmd.kind));
            if (x->cmd.kind != TRN_CMD_STOP) ring_str(x->cmd.ring, x->cmd.nring);
            if (x->cmd.nlost) {   /* PURGE in ABORT: lost ones, then the sizes of R and R' */
                cat("%s%s", "-lost", "");
                ring_str(x->cmd.lost, x->cmd.nlost);
                char sizes[32];
                snprintf(sizes, sizeof(sizes), "/R%d/R'%d", x->cmd.nfrom, x->cmd.nto);
                cat("%s%s", sizes, "");
            }
            break;
        case TRN_A_RETIRE: cat("RETIRE:%s%s", x->task_id, ""); break;
        }
    }
    trn_actions_clear(a);
    return line;
}

static trn_progress answer(const char *task, int64_t id, trn_cmd_kind cmd, int done) {
    trn_progress p;
    memset(&p, 0, sizeof(p));
    snprintf(p.task_id, sizeof(p.task_id), "%s", task);
    p.id = id;
    p.cmd = cmd;
    p.done = done;
    return p;
}

static void say(trn *t, const char *task, trn_cmd_kind cmd, int64_t now, trn_actions *a) {
    trn_progress p = answer(task, 7, cmd, 1);
    ck_assert_int_eq(trn_on_progress(t, &p, now, a), 1);
}

/* a, b -> a, b, c: every server of R copies to the new one. */
static trn *begin_up(trn_actions *a) {
    trn_server from[] = {srv("a", 1001), srv("b", 1002)};
    trn_server to[] = {srv("a", 1001), srv("b", 1002), srv("c", 1003)};
    char err[256];
    trn *t = trn_new(&cfg);
    ck_assert_int_eq(trn_begin(t, 7, from, 2, to, 3, T0, a, err, sizeof(err)), MCM_OK);
    return t;
}

/* a, b, c -> a, b: only c's keys move. */
static trn *begin_down(trn_actions *a) {
    trn_server from[] = {srv("a", 1001), srv("b", 1002), srv("c", 1003)};
    trn_server to[] = {srv("a", 1001), srv("b", 1002)};
    char err[256];
    trn *t = trn_new(&cfg);
    ck_assert_int_eq(trn_begin(t, 7, from, 3, to, 2, T0, a, err, sizeof(err)), MCM_OK);
    return t;
}

START_TEST(test_trn_scale_up_persists_then_copies_from_every_old_server) {
    trn_actions a;
    trn_actions_init(&a);
    trn *t = begin_up(&a);
    ck_assert_int_eq(a.v[1].cmd.budget_ms, 58000);   /* the margin before R' is published */
    ck_assert_int_eq(a.v[1].cmd.rate_bytes, cfg.rate_bytes);
    ck_assert_str_eq(a.v[1].cmd.self, "127.0.0.1:1001");
    ck_assert_str_eq(render(&a),
                     "PERSIST:copy SEND:a:copy[1001,1002,1003] SEND:b:copy[1001,1002,1003]");
    ck_assert_int_eq(trn_phase_of(t), TRN_COPY);
    ck_assert(trn_involves(t, "c"));
    trn_free(t);
}
END_TEST

START_TEST(test_trn_publishes_only_when_every_source_is_done) {
    trn_actions a;
    trn_actions_init(&a);
    trn *t = begin_up(&a);
    render(&a);
    say(t, "a", TRN_CMD_COPY, T0 + 100, &a);
    ck_assert_str_eq(render(&a), "");
    say(t, "b", TRN_CMD_COPY, T0 + 200, &a);
    ck_assert_str_eq(render(&a), "PERSIST:catchup PUBLISH:[1001,1002,1003] "
                                 "SEND:a:catchup[1001,1002,1003] SEND:b:catchup[1001,1002,1003]");
    ck_assert_int_eq(trn_phase_of(t), TRN_CATCHUP);
    trn_free(t);
}
END_TEST

/* A copy that ended with errors (its target refusing: it may have just died)
 * waits before R' is published, so that the target's end aborts the
 * transition while R is the ring: the purge then names no ring R' (R'0). */
START_TEST(test_trn_copy_with_errors_settles_before_publishing) {
    trn_actions a;
    trn_actions_init(&a);
    trn *t = begin_up(&a);
    render(&a);
    trn_progress p = answer("a", 7, TRN_CMD_COPY, 1);
    p.errors = 1;
    ck_assert_int_eq(trn_on_progress(t, &p, T0 + 100, &a), 1);
    say(t, "b", TRN_CMD_COPY, T0 + 200, &a);
    ck_assert_str_eq(render(&a), "");   /* not yet */
    trn_tick(t, T0 + 1000, &a);
    ck_assert_str_eq(render(&a), "");
    ck_assert_int_eq(trn_phase_of(t), TRN_COPY);
    ck_assert_int_eq(trn_on_lost(t, "c", T0 + 1100, &a), 1);   /* the target's end, within the settle */
    ck_assert_str_eq(render(&a), "PERSIST:abort SEND:a:stop SEND:a:purge[1001,1002]-lost[1003]/R2/R'0 "
                                 "SEND:b:stop SEND:b:purge[1001,1002]-lost[1003]/R2/R'0");
    trn_free(t);

    t = begin_up(&a);   /* no loss: R' once the settle is over */
    render(&a);
    ck_assert_int_eq(trn_on_progress(t, &p, T0 + 100, &a), 1);
    say(t, "b", TRN_CMD_COPY, T0 + 100, &a);
    trn_tick(t, T0 + 2099, &a);
    ck_assert_str_eq(render(&a), "");
    trn_tick(t, T0 + 2100, &a);
    ck_assert_str_eq(render(&a), "PERSIST:catchup PUBLISH:[1001,1002,1003] "
                                 "SEND:a:catchup[1001,1002,1003] SEND:b:catchup[1001,1002,1003]");
    trn_free(t);
}
END_TEST

START_TEST(test_trn_catchup_rounds_then_cleanup_then_done) {
    trn_actions a;
    trn_actions_init(&a);
    trn *t = begin_up(&a);
    say(t, "a", TRN_CMD_COPY, T0, &a);
    say(t, "b", TRN_CMD_COPY, T0, &a);
    render(&a);                    /* PERSIST, PUBLISH, one catchup each at T0 */
    /* While the executors follow (a progress a second) nobody is asked again. */
    for (int64_t ms = 1000; ms <= 4000; ms += 1000) {
        trn_progress p = answer("a", 7, TRN_CMD_CATCHUP, 0);
        ck_assert_int_eq(trn_on_progress(t, &p, T0 + ms, &a), 1);
        p = answer("b", 7, TRN_CMD_CATCHUP, 0);
        ck_assert_int_eq(trn_on_progress(t, &p, T0 + ms, &a), 1);
        trn_tick(t, T0 + ms + 1, &a);
        ck_assert_str_eq(render(&a), "");
    }
    /* b goes silent: asked again resend_ms after its last progress; a's
     * follow ends (done): asked again catchup_every_ms after its command. */
    trn_progress p = answer("a", 7, TRN_CMD_CATCHUP, 0);
    ck_assert_int_eq(trn_on_progress(t, &p, T0 + 5000, &a), 1);
    trn_tick(t, T0 + 8999, &a);
    ck_assert_str_eq(render(&a), "");
    trn_tick(t, T0 + 9000, &a);
    ck_assert_str_eq(render(&a), "SEND:b:catchup[1001,1002,1003]");
    trn_tick(t, T0 + 9500, &a);
    ck_assert_str_eq(render(&a), "");   /* b's clock restarts at its resend */
    say(t, "a", TRN_CMD_CATCHUP, T0 + 9600, &a);
    ck_assert_str_eq(render(&a), "");   /* its command went at T0: due at once, on the next tick */
    trn_tick(t, T0 + 9601, &a);
    ck_assert_str_eq(render(&a), "SEND:a:catchup[1001,1002,1003]");
    trn_tick(t, T0 + 9700, &a);
    ck_assert_str_eq(render(&a), "");   /* asked once, not every tick */
    trn_tick(t, T0 + 10000, &a);   /* drain window over */
    ck_assert_str_eq(render(&a), "PERSIST:cleanup SEND:a:cleanup[1001,1002,1003] "
                                 "SEND:b:cleanup[1001,1002,1003]");
    say(t, "a", TRN_CMD_CLEANUP, T0 + 10100, &a);
    ck_assert_str_eq(render(&a), "");
    say(t, "b", TRN_CMD_CLEANUP, T0 + 10200, &a);
    ck_assert_str_eq(render(&a), "CLEAR");   /* scale up: nobody retired */
    ck_assert_int_eq(trn_phase_of(t), TRN_IDLE);
    ck_assert(!trn_involves(t, "a"));
    trn_free(t);
}
END_TEST

START_TEST(test_trn_scale_down_copies_from_the_removed_server_only_and_retires_it) {
    trn_actions a;
    trn_actions_init(&a);
    trn *t = begin_down(&a);
    ck_assert_str_eq(render(&a), "PERSIST:copy SEND:c:copy[1001,1002]");
    say(t, "c", TRN_CMD_COPY, T0 + 5, &a);
    ck_assert_str_eq(render(&a), "PERSIST:catchup PUBLISH:[1001,1002] SEND:c:catchup[1001,1002]");
    trn_tick(t, T0 + 20000, &a);
    ck_assert_str_eq(render(&a), "PERSIST:cleanup SEND:c:cleanup[1001,1002]");
    say(t, "c", TRN_CMD_CLEANUP, T0 + 20001, &a);
    ck_assert_str_eq(render(&a), "RETIRE:c CLEAR");
    trn_free(t);
}
END_TEST

START_TEST(test_trn_replacement_copies_from_all_and_retires_the_old_server) {
    trn_server from[] = {srv("a", 1001), srv("b", 1002), srv("c", 1003)};
    trn_server to[] = {srv("a", 1001), srv("b", 1002), srv("d", 1004)};
    char err[256];
    trn_actions a;
    trn_actions_init(&a);
    trn *t = trn_new(&cfg);
    ck_assert_int_eq(trn_begin(t, 7, from, 3, to, 3, T0, &a, err, sizeof(err)), MCM_OK);
    ck_assert_str_eq(render(&a), "PERSIST:copy SEND:a:copy[1001,1002,1004] "
                                 "SEND:b:copy[1001,1002,1004] SEND:c:copy[1001,1002,1004]");
    say(t, "a", TRN_CMD_COPY, T0, &a);
    say(t, "b", TRN_CMD_COPY, T0, &a);
    say(t, "c", TRN_CMD_COPY, T0, &a);
    render(&a);
    trn_tick(t, T0 + 10000, &a);
    render(&a);
    say(t, "a", TRN_CMD_CLEANUP, T0 + 10000, &a);
    say(t, "b", TRN_CMD_CLEANUP, T0 + 10000, &a);
    say(t, "c", TRN_CMD_CLEANUP, T0 + 10000, &a);
    ck_assert_str_eq(render(&a), "RETIRE:c CLEAR");
    trn_free(t);
}
END_TEST

/* A long copy whose executors report every second is never asked again:
 * resending to every source every resend_ms was N commands of R' each. */
START_TEST(test_trn_a_source_at_work_is_not_asked_again) {
    trn_actions a;
    trn_actions_init(&a);
    trn *t = begin_up(&a);
    render(&a);
    for (int64_t ms = 1000; ms < 50000; ms += 1000) {
        trn_progress p = answer("a", 7, TRN_CMD_COPY, 0);
        ck_assert_int_eq(trn_on_progress(t, &p, T0 + ms, &a), 1);
        p = answer("b", 7, TRN_CMD_COPY, 0);
        ck_assert_int_eq(trn_on_progress(t, &p, T0 + ms, &a), 1);
        trn_tick(t, T0 + ms + 500, &a);
        ck_assert_msg(a.n == 0, "a command at %lld ms: %s", (long long)ms, render(&a));
    }
    trn_tick(t, T0 + 54000, &a);   /* both silent since 49 s */
    ck_assert_str_eq(render(&a), "SEND:a:copy[1001,1002,1003] SEND:b:copy[1001,1002,1003]");
    trn_free(t);
}
END_TEST

START_TEST(test_trn_unanswered_command_is_resent_and_budget_publishes_anyway) {
    trn_actions a;
    trn_actions_init(&a);
    trn *t = begin_up(&a);
    render(&a);
    trn_progress p = answer("a", 7, TRN_CMD_COPY, 0);   /* a answers "started" */
    p.keys_copied = 10;
    p.keys_left = 30;
    trn_on_progress(t, &p, T0 + 1000, &a);
    trn_tick(t, T0 + 4999, &a);
    ck_assert_str_eq(render(&a), "");
    trn_tick(t, T0 + 5000, &a);   /* b silent for 5 s: asked again; a answered at 1 s */
    ck_assert_str_eq(render(&a), "SEND:b:copy[1001,1002,1003]");
    ck_assert_int_eq(a.n, 0);
    trn_tick(t, T0 + 5999, &a);
    ck_assert_str_eq(render(&a), "");
    trn_tick(t, T0 + 6000, &a);   /* a silent for 5 s since its progress */
    ck_assert_str_eq(render(&a), "SEND:a:copy[1001,1002,1003]");
    trn_tick(t, T0 + 10000, &a);
    ck_assert_int_eq(a.v[0].cmd.budget_ms, 48000);   /* what is left of the budget, less the margin */
    render(&a);
    trn_status s;
    trn_get_status(t, T0 + 20000, &s);
    ck_assert_int_eq(s.keys_copied, 10);
    ck_assert_int_eq(s.keys_left, 30);
    ck_assert_int_eq(s.sources, 2);
    ck_assert_int_eq(s.sources_done, 0);
    ck_assert_int_eq(s.eta_ms, 60000);   /* 30 left at 10 per 20 s */
    trn_tick(t, T0 + 60000, &a);   /* budget spent: publish, cold for the rest */
    ck_assert_str_eq(render(&a), "PERSIST:catchup PUBLISH:[1001,1002,1003] "
                                 "SEND:a:catchup[1001,1002,1003] SEND:b:catchup[1001,1002,1003]");
    trn_free(t);
}
END_TEST

START_TEST(test_trn_source_without_meta_commands_is_cold_not_blocking) {
    trn_actions a;
    trn_actions_init(&a);
    trn *t = begin_down(&a);
    render(&a);
    trn_progress p = answer("c", 7, TRN_CMD_COPY, 0);
    p.unsupported = 1;
    ck_assert_int_eq(trn_on_progress(t, &p, T0 + 1, &a), 1);
    ck_assert_str_eq(render(&a), "PERSIST:catchup PUBLISH:[1001,1002] SEND:c:catchup[1001,1002]");
    trn_status s;
    trn_get_status(t, T0 + 2, &s);
    ck_assert_int_eq(s.cold_sources, 1);
    trn_free(t);
}
END_TEST

START_TEST(test_trn_answers_of_another_transition_or_command_are_ignored) {
    trn_actions a;
    trn_actions_init(&a);
    trn *t = begin_down(&a);
    render(&a);
    trn_progress p = answer("c", 6, TRN_CMD_COPY, 1);
    ck_assert_int_eq(trn_on_progress(t, &p, T0, &a), 0);
    p = answer("c", 7, TRN_CMD_CLEANUP, 1);
    ck_assert_int_eq(trn_on_progress(t, &p, T0, &a), 0);
    p = answer("zz", 7, TRN_CMD_COPY, 1);
    ck_assert_int_eq(trn_on_progress(t, &p, T0, &a), 0);
    ck_assert_int_eq(trn_on_lost(t, "zz", T0, &a), 0);
    ck_assert_str_eq(render(&a), "");
    ck_assert_int_eq(trn_phase_of(t), TRN_COPY);
    trn_free(t);
}
END_TEST

START_TEST(test_trn_new_server_lost_in_copy_aborts_and_old_ring_stays) {
    trn_actions a;
    trn_actions_init(&a);
    trn *t = begin_up(&a);
    render(&a);
    ck_assert_int_eq(trn_on_lost(t, "c", T0 + 10, &a), 1);
    ck_assert_str_eq(render(&a), "PERSIST:abort SEND:a:stop SEND:a:purge[1001,1002]-lost[1003]/R2/R'0 "
                                 "SEND:b:stop SEND:b:purge[1001,1002]-lost[1003]/R2/R'0");
    say(t, "a", TRN_CMD_PURGE, T0 + 20, &a);
    ck_assert_str_eq(render(&a), "");
    say(t, "b", TRN_CMD_PURGE, T0 + 30, &a);
    ck_assert_str_eq(render(&a), "PUBLISH:[1001,1002] CLEAR");   /* only once purged */
    trn_free(t);
}
END_TEST

START_TEST(test_trn_source_lost_in_copy_forgets_its_share_everywhere) {
    trn_actions a;
    trn_actions_init(&a);
    trn *t = begin_down(&a);
    render(&a);
    trn_on_lost(t, "c", T0 + 10, &a);
    ck_assert_str_eq(render(&a), "PERSIST:abort "
                                 "SEND:a:purge[1001,1002]-lost[1003]/R3/R'0 "
                                 "SEND:b:purge[1001,1002]-lost[1003]/R3/R'0");
    say(t, "a", TRN_CMD_PURGE, T0 + 20, &a);
    say(t, "b", TRN_CMD_PURGE, T0 + 20, &a);
    ck_assert_str_eq(render(&a), "PUBLISH:[1001,1002] CLEAR");   /* c ended: nothing to retire */
    trn_free(t);
}
END_TEST

START_TEST(test_trn_loss_after_publishing_forgets_under_both_rings) {
    trn_actions a;
    trn_actions_init(&a);
    trn *t = begin_up(&a);
    say(t, "a", TRN_CMD_COPY, T0, &a);
    say(t, "b", TRN_CMD_COPY, T0, &a);
    render(&a);
    trn_on_lost(t, "a", T0 + 500, &a);
    ck_assert_str_eq(render(&a),
                     "PERSIST:abort "
                     "SEND:b:stop SEND:b:purge[1002,1003]-lost[1001]/R2/R'3 "
                     "SEND:c:purge[1002,1003]-lost[1001]/R2/R'3");
    trn_free(t);
}
END_TEST

START_TEST(test_trn_abort_after_publishing_retires_the_leaving_server) {
    trn_actions a;
    trn_actions_init(&a);
    trn *t = begin_down(&a);
    say(t, "c", TRN_CMD_COPY, T0, &a);
    render(&a);
    trn_on_lost(t, "b", T0 + 500, &a);   /* a staying server ends during the window */
    ck_assert_str_eq(render(&a),
                     "PERSIST:abort "
                     "SEND:a:purge[1001]-lost[1002]/R3/R'2 "
                     "SEND:c:stop SEND:c:purge[1001]-lost[1002]/R3/R'2");
    say(t, "a", TRN_CMD_PURGE, T0 + 600, &a);
    say(t, "c", TRN_CMD_PURGE, T0 + 600, &a);
    ck_assert_str_eq(render(&a), "PUBLISH:[1001] RETIRE:c CLEAR");
    trn_free(t);
}
END_TEST

START_TEST(test_trn_second_loss_in_abort_shrinks_the_ring_again) {
    trn_actions a;
    trn_actions_init(&a);
    trn *t = begin_up(&a);
    render(&a);
    trn_on_lost(t, "c", T0, &a);
    render(&a);
    ck_assert_int_eq(trn_on_lost(t, "b", T0 + 1, &a), 1);
    ck_assert_str_eq(render(&a), "PERSIST:abort SEND:a:stop "
                                 "SEND:a:purge[1001]-lost[1002,1003]/R2/R'0");
    ck_assert_int_eq(trn_on_lost(t, "b", T0 + 2, &a), 0);
    trn_free(t);
}
END_TEST

START_TEST(test_trn_abort_and_cleanup_end_at_their_timeout) {
    trn_actions a;
    trn_actions_init(&a);
    trn *t = begin_up(&a);
    render(&a);
    trn_on_lost(t, "c", T0, &a);
    render(&a);
    trn_tick(t, T0 + 5000, &a);   /* unanswered purges are resent */
    ck_assert_str_eq(render(&a), "SEND:a:stop SEND:a:purge[1001,1002]-lost[1003]/R2/R'0 "
                                 "SEND:b:stop SEND:b:purge[1001,1002]-lost[1003]/R2/R'0");
    trn_tick(t, T0 + 30000, &a);
    ck_assert_str_eq(render(&a), "PUBLISH:[1001,1002] CLEAR");
    trn_free(t);
}
END_TEST

START_TEST(test_trn_new_leader_continues_the_stored_transition) {
    trn_actions a;
    trn_actions_init(&a);
    trn *t = begin_up(&a);
    say(t, "a", TRN_CMD_COPY, T0, &a);
    say(t, "b", TRN_CMD_COPY, T0, &a);
    trn_actions_clear(&a);
    char *rec = trn_record(t);
    trn_free(t);

    char err[256];
    trn *n = trn_new(&cfg);
    ck_assert_msg(trn_load(n, rec, strlen(rec), err, sizeof(err)) == MCM_OK, "%s", err);
    free(rec);
    ck_assert_int_eq(trn_phase_of(n), TRN_CATCHUP);
    trn_resume(n, T0 + 3000, &a);
    ck_assert_str_eq(render(&a), "PUBLISH:[1001,1002,1003] SEND:a:catchup[1001,1002,1003] "
                                 "SEND:b:catchup[1001,1002,1003]");
    trn_tick(n, T0 + 10000, &a);   /* the stored drain deadline holds */
    ck_assert_str_eq(render(&a), "PERSIST:cleanup SEND:a:cleanup[1001,1002,1003] "
                                 "SEND:b:cleanup[1001,1002,1003]");
    trn_free(n);
}
END_TEST

START_TEST(test_trn_stored_abort_resends_its_purges) {
    trn_actions a;
    trn_actions_init(&a);
    trn *t = begin_down(&a);
    trn_on_lost(t, "c", T0, &a);
    trn_actions_clear(&a);
    char *rec = trn_record(t), err[256];
    trn_free(t);
    trn *n = trn_new(&cfg);
    ck_assert_int_eq(trn_load(n, rec, strlen(rec), err, sizeof(err)), MCM_OK);
    free(rec);
    trn_resume(n, T0 + 1, &a);
    ck_assert_str_eq(render(&a), "SEND:a:purge[1001,1002]-lost[1003]/R3/R'0 "
                                 "SEND:b:purge[1001,1002]-lost[1003]/R3/R'0");
    trn_free(n);
}
END_TEST

START_TEST(test_trn_begin_refuses_bad_rings) {
    trn_server ab[] = {srv("a", 1001), srv("b", 1002)};
    trn_server dup[] = {srv("a", 1001), srv("a", 1001)};
    trn_server samehost[] = {srv("a", 1001), srv("x", 1001)};
    trn_server moved[] = {srv("a", 1009), srv("b", 1002), srv("c", 1003)};
    trn_server bad = srv("a", 1001);
    snprintf(bad.addr, sizeof(bad.addr), "host\nforged:1");
    trn_server badid = srv("a b", 1001);
    char err[256];
    trn_actions a;
    trn_actions_init(&a);
    trn *t = trn_new(&cfg);
    ck_assert_int_eq(trn_begin(t, 1, ab, 2, ab, 2, T0, &a, err, sizeof(err)), MCM_ERR);
    ck_assert(strstr(err, "same"));
    ck_assert_int_eq(trn_begin(t, 1, ab, 0, ab, 2, T0, &a, err, sizeof(err)), MCM_ERR);
    ck_assert_int_eq(trn_begin(t, 0, ab, 1, ab, 2, T0, &a, err, sizeof(err)), MCM_ERR);
    ck_assert_int_eq(trn_begin(t, 1, ab, 1, dup, 2, T0, &a, err, sizeof(err)), MCM_ERR);
    ck_assert(strstr(err, "twice"));
    ck_assert_int_eq(trn_begin(t, 1, ab, 2, samehost, 2, T0, &a, err, sizeof(err)), MCM_ERR);
    ck_assert_int_eq(trn_begin(t, 1, ab, 2, moved, 3, T0, &a, err, sizeof(err)), MCM_ERR);
    ck_assert(strstr(err, "in R and"));
    ck_assert_int_eq(trn_begin(t, 1, ab, 2, &bad, 1, T0, &a, err, sizeof(err)), MCM_ERR);
    ck_assert(strstr(err, "not host:port"));
    ck_assert_int_eq(trn_begin(t, 1, ab, 2, &badid, 1, T0, &a, err, sizeof(err)), MCM_ERR);
    ck_assert_int_eq(a.n, 0);
    ck_assert_int_eq(trn_phase_of(t), TRN_IDLE);
    ck_assert_int_eq(trn_begin(t, 1, ab, 2, ab, 1, T0, &a, err, sizeof(err)), MCM_OK);
    ck_assert_int_eq(trn_begin(t, 2, ab, 1, ab, 2, T0, &a, err, sizeof(err)), MCM_ERR);
    ck_assert(strstr(err, "in phase copy"));
    trn_actions_clear(&a);
    trn_free(t);
}
END_TEST

/* Every hostile record is refused whole and leaves the machine idle. */
START_TEST(test_trn_load_refuses_out_of_range_and_contradictory_records) {
    static const char *const bad[] = {
        "",
        "[]",
        "{\"v\":1,\"v\":1}",
        "{\"v\":2,\"id\":1,\"phase\":\"copy\",\"published_to\":false,\"started_ms\":0,"
        "\"phase_since_ms\":0,\"deadline_ms\":0,\"from\":[{\"task_id\":\"a\",\"addr\":\"h:1\"}],"
        "\"to\":[{\"task_id\":\"b\",\"addr\":\"h:2\"}],\"lost\":[]}",
        NULL,
    };
    /* One good record, then each field broken in turn. */
    const char *good = "{\"v\":1,\"id\":%s,\"phase\":\"%s\",\"published_to\":%s,\"started_ms\":%s,"
                       "\"phase_since_ms\":0,\"deadline_ms\":0,"
                       "\"from\":[{\"task_id\":\"a\",\"addr\":\"%s\"}],"
                       "\"to\":[{\"task_id\":\"b\",\"addr\":\"h:2\"}],\"lost\":[%s]}";
    struct { const char *id, *phase, *pub, *t, *addr, *lost; int ok; } cases[] = {
        {"1", "copy", "false", "0", "h:1", "", 1},
        {"9007199254740992", "catchup", "true", "253402300799999", "h:1", "", 1},
        {"0", "copy", "false", "0", "h:1", "", 0},
        {"-1", "copy", "false", "0", "h:1", "", 0},
        {"9007199254740993", "copy", "false", "0", "h:1", "", 0},
        {"9223372036854775807", "copy", "false", "0", "h:1", "", 0},
        {"1", "idle", "false", "0", "h:1", "", 0},
        {"1", "warp", "false", "0", "h:1", "", 0},
        {"1", "copy", "true", "0", "h:1", "", 0},
        {"1", "catchup", "false", "0", "h:1", "", 0},
        {"1", "copy", "0", "0", "h:1", "", 0},
        {"1", "copy", "false", "-1", "h:1", "", 0},
        {"1", "copy", "false", "253402300800000", "h:1", "", 0},
        {"1", "copy", "false", "1.5", "h:1", "", 0},
        {"1", "copy", "false", "0", "h:0", "", 0},
        {"1", "copy", "false", "0", "h:65536", "", 0},
        {"1", "copy", "false", "0", "h:b:1", "", 0},
        {"1", "copy", "false", "0", "h\\n:1", "", 0},
        {"1", "copy", "false", "0", "h :1", "", 0},
        {"1", "copy", "false", "0", ":1", "", 0},
        {"1", "copy", "false", "0", "h:2", "", 0},            /* a and b at one address */
        {"1", "abort", "false", "0", "h:1", "\"a\"", 1},
        {"1", "abort", "true", "0", "h:1", "\"b\"", 1},
        {"1", "abort", "false", "0", "h:1", "\"zz\"", 0},
        {"1", "copy", "false", "0", "h:1", "\"a\"", 0},       /* lost outside abort */
        {"1", "abort", "false", "0", "h:1", "1", 0},
    };
    char doc[2048], err[256];
    trn *t = trn_new(&cfg);
    for (int i = 0; bad[i]; i++) {
        ck_assert_int_eq(trn_load(t, bad[i], strlen(bad[i]), err, sizeof(err)), MCM_ERR);
        ck_assert_int_eq(trn_phase_of(t), TRN_IDLE);
    }
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(doc, sizeof(doc), good, cases[i].id, cases[i].phase, cases[i].pub, cases[i].t,
                 cases[i].addr, cases[i].lost);
        int rc = trn_load(t, doc, strlen(doc), err, sizeof(err));
        ck_assert_msg(rc == (cases[i].ok ? MCM_OK : MCM_ERR), "case %zu: %s -> %s", i, doc,
                      rc == MCM_OK ? "accepted" : err);
        if (rc == MCM_OK) {
            ck_assert_int_ne(trn_phase_of(t), TRN_IDLE);
            trn_free(t);
            t = trn_new(&cfg);
        } else {
            ck_assert_int_eq(trn_phase_of(t), TRN_IDLE);
        }
    }
    trn_free(t);
}
END_TEST

START_TEST(test_trn_record_round_trips_every_phase) {
    trn_actions a;
    trn_actions_init(&a);
    trn *t = begin_up(&a);
    char err[256];
    for (int step = 0; step < 3; step++) {
        char *rec = trn_record(t);
        trn *n = trn_new(&cfg);
        ck_assert_msg(trn_load(n, rec, strlen(rec), err, sizeof(err)) == MCM_OK, "%s", err);
        char *again = trn_record(n);
        ck_assert_str_eq(rec, again);
        free(rec);
        free(again);
        trn_free(n);
        if (step == 0) {
            say(t, "a", TRN_CMD_COPY, T0, &a);
            say(t, "b", TRN_CMD_COPY, T0, &a);
        } else if (step == 1) {
            trn_on_lost(t, "b", T0 + 1, &a);
        }
    }
    trn_actions_clear(&a);
    trn_free(t);
}
END_TEST

/* Every command of one pass names the same ring (one copy in the list, not
 * one per server): at N = 1,000 a copy each was 300 MB and seconds of the
 * scheduler's core, and the scheduler encodes a shared ring once. */
START_TEST(test_trn_one_ring_per_pass) {
    enum { N = 200 };
    static trn_server from[N], to[N + 1];
    char id[32];
    for (int i = 0; i <= N; i++) {
        snprintf(id, sizeof(id), "t%d", i);
        to[i] = srv(id, 2000 + i);
        if (i < N) from[i] = to[i];
    }
    trn_actions a;
    trn_actions_init(&a);
    char err[256];
    trn *t = trn_new(&cfg);
    ck_assert_int_eq(trn_begin(t, 7, from, N, to, N + 1, T0, &a, err, sizeof(err)), MCM_OK);
    const char *const *ring = NULL;
    int sends = 0;
    for (int i = 0; i < a.n; i++) {
        if (a.v[i].kind != TRN_A_SEND) continue;
        sends++;
        ck_assert_int_eq(a.v[i].cmd.nring, N + 1);
        if (!ring) ring = a.v[i].cmd.ring;
        ck_assert_msg(a.v[i].cmd.ring == ring, "command %d has a ring of its own", i);
    }
    ck_assert_int_eq(sends, N);
    ck_assert_int_le(a.nblocks, 8);
    trn_actions_clear(&a);
    trn_tick(t, T0 + cfg.resend_ms, &a);          /* the resend pass: the same rule */
    ring = NULL;
    for (int i = 0; i < a.n; i++)
        if (a.v[i].kind == TRN_A_SEND) {
            if (!ring) ring = a.v[i].cmd.ring;
            ck_assert_ptr_eq(a.v[i].cmd.ring, ring);
        }
    ck_assert_ptr_nonnull(ring);
    trn_actions_clear(&a);
    trn_free(t);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("transition");
    TCase *tc = tcase_create("machine");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_trn_scale_up_persists_then_copies_from_every_old_server);
    tcase_add_test(tc, test_trn_one_ring_per_pass);
    tcase_add_test(tc, test_trn_publishes_only_when_every_source_is_done);
    tcase_add_test(tc, test_trn_copy_with_errors_settles_before_publishing);
    tcase_add_test(tc, test_trn_catchup_rounds_then_cleanup_then_done);
    tcase_add_test(tc, test_trn_scale_down_copies_from_the_removed_server_only_and_retires_it);
    tcase_add_test(tc, test_trn_replacement_copies_from_all_and_retires_the_old_server);
    tcase_add_test(tc, test_trn_unanswered_command_is_resent_and_budget_publishes_anyway);
    tcase_add_test(tc, test_trn_a_source_at_work_is_not_asked_again);
    tcase_add_test(tc, test_trn_source_without_meta_commands_is_cold_not_blocking);
    tcase_add_test(tc, test_trn_answers_of_another_transition_or_command_are_ignored);
    tcase_add_test(tc, test_trn_new_server_lost_in_copy_aborts_and_old_ring_stays);
    tcase_add_test(tc, test_trn_source_lost_in_copy_forgets_its_share_everywhere);
    tcase_add_test(tc, test_trn_loss_after_publishing_forgets_under_both_rings);
    tcase_add_test(tc, test_trn_abort_after_publishing_retires_the_leaving_server);
    tcase_add_test(tc, test_trn_second_loss_in_abort_shrinks_the_ring_again);
    tcase_add_test(tc, test_trn_abort_and_cleanup_end_at_their_timeout);
    tcase_add_test(tc, test_trn_new_leader_continues_the_stored_transition);
    tcase_add_test(tc, test_trn_stored_abort_resends_its_purges);
    tcase_add_test(tc, test_trn_begin_refuses_bad_rings);
    tcase_add_test(tc, test_trn_load_refuses_out_of_range_and_contradictory_records);
    tcase_add_test(tc, test_trn_record_round_trips_every_phase);
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
