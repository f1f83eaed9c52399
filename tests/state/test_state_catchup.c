/* test_state_catchup.c -- the task log (state/tasklog) and a follower's copy
 * of the records brought up to date from it, against a real ZooKeeper.
 *
 * Covered, codec (no server): a log's text parses back to itself; lines are
 * dropped oldest first to fit, moving "from"; a write naming too many IDs is
 * "*", and so is one that cannot fit at all; what "since" answers at, before
 * and after the covered range and behind a "*"; malformed texts refused.
 * Against ZooKeeper: a copy caught up over a changed, a deleted and a new
 * record and a write that touched none (exactly ZooKeeper's records, only
 * the named ones read); records unchanged when only other writes moved the
 * version; the log continued across a change of leader (a third replica's
 * copy caught up over both leaders' writes); a full read (and the right
 * records) when the log was trimmed past the copy, behind a "*", when a
 * writer bypassed the log, when the log is garbage, and when a record was
 * deleted by hand. */
#include "elect.h"
#include "harness.h"
#include "mcm.h"
#include "state.h"
#include "state_batch.h"
#include "state_int.h"
#include "stnode.h"
#include "zkt.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- codec --------------------------------------------------------------------- */

static tasklog appended(const tasklog *l, int32_t dv, const char *ids, size_t max) {
    tasklog out;
    ck_assert_int_eq(tasklog_append(l, dv, ids, max, &out), MCM_OK);
    return out;
}

static char *since(const tasklog *l, int32_t dv) {
    char *ids = NULL;
    return tasklog_since(l, dv, &ids) ? ids : NULL;
}

START_TEST(test_tasklog_codec) {
    tasklog l, a, b, c, p;
    tasklog_reset(&l, 10);
    a = appended(&l, 11, "mcm-1,mcm-2", 4096);
    b = appended(&a, 12, "", 4096);                 /* a write that touched no record */
    c = appended(&b, 13, "mcm-3", 4096);
    size_t len;
    char *text = tasklog_text(&c, &len);
    ck_assert_str_eq(text, "mcm-tasklog 1 from=10 to=13\n11 mcm-1,mcm-2\n13 mcm-3\n");
    ck_assert_int_eq(tasklog_parse(text, len, &p), MCM_OK);
    ck_assert_int_eq(p.from, 10);
    ck_assert_int_eq(p.to, 13);
    ck_assert_str_eq(p.lines, c.lines);
    char *ids = since(&p, 10);
    ck_assert_str_eq(ids, "mcm-1,mcm-2,mcm-3");
    free(ids);
    ck_assert_str_eq((ids = since(&p, 11)), "mcm-3");
    free(ids);
    ck_assert_str_eq((ids = since(&p, 13)), "");    /* current: nothing to read */
    free(ids);
    ck_assert_ptr_null(since(&p, 9));                /* older than the log */
    ck_assert_ptr_null(since(&p, 14));               /* newer than it: another writer's */
    free(text);
    tasklog_clear(&p);

    /* trimmed to fit: the oldest line goes, and "from" moves to it */
    tasklog t = appended(&c, 14, "mcm-4", 60);
    text = tasklog_text(&t, &len);
    ck_assert_str_eq(text, "mcm-tasklog 1 from=11 to=14\n13 mcm-3\n14 mcm-4\n");
    ck_assert_ptr_null(since(&t, 10));
    free(text);
    tasklog_clear(&t);

    /* too many IDs to name: "*", and nothing before it can be caught up */
    char big[STATE_TASKLOG_ENTRY_MAX + 64];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    t = appended(&c, 14, big, STATE_TASKLOG_MAX);
    ck_assert_str_eq(t.lines + strlen(c.lines), "14 *\n");
    ck_assert_ptr_null(since(&t, 13));
    ck_assert_str_eq((ids = since(&t, 14)), "");
    free(ids);
    tasklog_clear(&t);
    t = appended(&c, 14, "mcm-44444444", 40);       /* no room even alone */
    ck_assert_str_eq(t.lines, "14 *\n");
    ck_assert_int_eq(t.from, 13);
    tasklog_clear(&t);

    static const char *const bad[] = {
        "", "mcm-tasklog 2 from=1 to=2\n", "mcm-tasklog 1 from=3 to=2\n", "mcm-tasklog 1 from=1 to=2",
        "mcm-tasklog 1 from=1 to=3\n2 a\n2 b\n", "mcm-tasklog 1 from=1 to=3\n4 a\n", "mcm-tasklog 1 from=1 to=3\n1 a\n",
        "mcm-tasklog 1 from=1 to=3\n2 a,\n", "mcm-tasklog 1 from=1 to=3\n2 ,a\n", "mcm-tasklog 1 from=1 to=3\n2 a/b\n",
        "mcm-tasklog 1 from=1 to=3\n2 ..\n", "mcm-tasklog 1 from=1 to=3\n2 a", "mcm-tasklog 1 from=1 to=3\n2\n",
        "mcm-tasklog 1 from=1 to=99999999999\n", "mcm-tasklog 1 from=-1 to=3\n", "mcm-tasklog 1 from=1 to=3\n2 *x\n", "mcm-tasklog 1 from=01 to=3\n"};
    for (size_t i = 0; i < MCM_ARRAY_LEN(bad); i++)
        ck_assert_msg(tasklog_parse(bad[i], strlen(bad[i]), &p) == MCM_ERR, "accepted: %s", bad[i]);
    static const char nul[] = "mcm-tasklog 1 from=1 to=3\n2 mcm-1\0mcm-2\n";   /* a NUL inside an ID */
    ck_assert_int_eq(tasklog_parse(nul, sizeof(nul) - 1, &p), MCM_ERR);
    tasklog_clear(&p);
    tasklog_clear(&a), tasklog_clear(&b), tasklog_clear(&c), tasklog_clear(&l);
}
END_TEST

/* --- against ZooKeeper --------------------------------------------------------------- */

static state_snapshot warm_load(node *n, state_snapshot *warm, int *reused) {
    char err[256];
    state_snapshot out;
    ck_assert_msg(state_load_warm(n->s, &out, warm, reused, err, sizeof(err)) == MCM_OK, "%s", err);
    return out;
}

/* out holds exactly what a full read gives now. */
static void same_as_full(node *n, const state_snapshot *out) {
    state_snapshot full = load(n);
    ck_assert_int_eq(out->ntasks, full.ntasks);
    for (int i = 0; i < full.ntasks; i++) {
        const state_task *t = find_task(out, full.tasks[i].id);
        ck_assert_msg(t != NULL, "%s missing", full.tasks[i].id);
        ck_assert_int_eq(t->state, full.tasks[i].state);
        ck_assert_int_eq(t->port, full.tasks[i].port);
    }
    state_snapshot_clear(&full);
}

static void del(node *n, const char *id) {
    char err[256];
    ck_assert_msg(state_delete_task(n->s, id, err, sizeof(err)) == MCM_OK, "%s", err);
}

START_TEST(test_copy_caught_up) {
    th_zk *zk = th_zk_start();
    node *a = node_new(zk, "a", NULL), *b = node_new(zk, "b", NULL);
    char err[256];
    int reused;
    ck_assert_int_eq(state_set_framework_id(a->s, "fw-1", err, sizeof(err)), MCM_OK);
    for (int i = 0; i < 50; i++) {
        char id[32];
        snprintf(id, sizeof(id), "mcm-%d", i);
        state_task t = task(id, 31000 + i, 1);
        put(a, &t);
    }
    state_snapshot warm = load(b);
    state_task t1 = task("mcm-1", 31001, 6), t9 = task("mcm-new", 32000, 1);
    put(a, &t1);
    del(a, "mcm-2");
    ck_assert_int_eq(state_set_desired(a->s, 7, NULL, err, sizeof(err)), MCM_OK);   /* names no record */
    put(a, &t9);
    state_snapshot s = warm_load(b, &warm, &reused);
    ck_assert_int_eq(reused, 1);
    ck_assert_int_eq(s.ntasks, 50);
    ck_assert_int_eq(find_task(&s, "mcm-1")->state, 6);
    ck_assert_ptr_null(find_task(&s, "mcm-2"));
    ck_assert_ptr_nonnull(find_task(&s, "mcm-new"));
    ck_assert_int_eq(s.desired, 7);
    same_as_full(b, &s);

    /* only other writes since: the records are unchanged, and nothing is read */
    state_mark was = s.mark, now;
    ck_assert_int_eq(state_set_desired(a->s, 8, NULL, err, sizeof(err)), MCM_OK);
    ck_assert_int_eq(state_read_mark(b->s, &now, err, sizeof(err)), MCM_OK);
    ck_assert(!state_mark_same(&was, &now));
    int fetched = -1;
    ck_assert_msg(state_catch_up(b->s, &s, &fetched, err, sizeof(err)) == MCM_OK, "%s", err);
    ck_assert_int_eq(fetched, 0);
    ck_assert(state_mark_same(&s.mark, &now));
    put(a, &t1);
    ck_assert_msg(state_catch_up(b->s, &s, &fetched, err, sizeof(err)) == MCM_OK, "%s", err);
    ck_assert_int_eq(fetched, 1);

    /* a deep copy stands on its own */
    state_snapshot d;
    ck_assert_int_eq(state_snapshot_dup(&s, &d), MCM_OK);
    ck_assert_int_eq(d.ntasks, s.ntasks);
    ck_assert_ptr_ne(d.tasks, s.tasks);
    ck_assert_str_eq(find_task(&d, "mcm-1")->id, "mcm-1");
    state_snapshot_clear(&d);
    state_snapshot_clear(&s);
    state_snapshot_clear(&warm);
    node_free(a);
    node_free(b);
    th_zk_free(zk);
}
END_TEST

/* The next leader takes the stored log up: a third replica's copy, taken
 * before the first leader's last writes, is caught up over both leaders'. */
START_TEST(test_log_continued_by_next_leader) {
    th_zk *zk = th_zk_start();
    node *a = node_new(zk, "a", NULL), *b = node_new(zk, "b", NULL), *c = node_new(zk, "c", NULL);
    char err[256];
    int reused;
    ck_assert_int_eq(state_set_framework_id(a->s, "fw-1", err, sizeof(err)), MCM_OK);
    state_task t1 = task("mcm-1", 31000, 1), t2 = task("mcm-2", 31001, 1);
    put(a, &t1);
    state_snapshot warm = load(c);
    put(a, &t2);
    ck_assert_int_eq(elect_resign(a->e, err, sizeof(err)), MCM_OK);   /* b leads */
    check_ok(b);
    ck_assert(elect_is_leader(b->e));
    state_task t1b = task("mcm-1", 31000, 6);
    put(b, &t1b);
    state_snapshot s = warm_load(c, &warm, &reused);
    ck_assert_int_eq(reused, 1);
    ck_assert_int_eq(find_task(&s, "mcm-1")->state, 6);
    ck_assert_ptr_nonnull(find_task(&s, "mcm-2"));
    same_as_full(c, &s);
    state_snapshot_clear(&s);
    state_snapshot_clear(&warm);
    node_free(a);
    node_free(b);
    node_free(c);
    th_zk_free(zk);
}
END_TEST

/* Every way the log cannot vouch for a copy ends in a full read, with the
 * records right. */
START_TEST(test_full_read_when_log_cannot_tell) {
    th_zk *zk = th_zk_start();
    node *a = node_new(zk, "a", NULL), *b = node_new(zk, "b", NULL);
    zhandle_t *zh = zkt_connect(th_zk_hosts(zk), NULL, 5000);
    char err[256], longid[STATE_ID_MAX];
    int reused;
    ck_assert_int_eq(state_set_framework_id(a->s, "fw-1", err, sizeof(err)), MCM_OK);
    state_task t1 = task("mcm-1", 31000, 1);
    put(a, &t1);

    /* trimmed past the copy: 200 writes of 180-byte IDs are more than the log keeps */
    state_snapshot warm = load(b);
    for (int i = 0; i < 200; i++) {
        snprintf(longid, sizeof(longid), "mcm-%03d-%0176d", i, 0);
        state_task t = task(longid, 31000 + i, 1);
        put(a, &t);
    }
    state_snapshot s = warm_load(b, &warm, &reused);
    ck_assert_int_eq(reused, 0);
    ck_assert_int_eq(s.ntasks, 201);
    state_snapshot_clear(&s);
    state_snapshot_clear(&warm);

    /* behind a "*": one multi naming more than an entry holds */
    warm = load(b);
    state_task many[100];
    for (int i = 0; i < 100; i++) {
        snprintf(longid, sizeof(longid), "mcm-%03d-%0176d", i, 0);
        many[i] = task(longid, 31000 + i, 6);
    }
    int stored = 0;
    ck_assert_msg(state_put_tasks(a->s, many, NULL, 100, &stored, err, sizeof(err)) == MCM_OK, "%s", err);
    s = warm_load(b, &warm, &reused);
    ck_assert_int_eq(reused, 0);
    ck_assert_int_eq(s.ntasks, 201);
    state_snapshot_clear(&s);
    state_snapshot_clear(&warm);

    /* a writer that bypasses the log (as a replica from before it would) */
    warm = load(b);
    ck_assert_int_eq(zoo_set(zh, "/mcm/state/version", "999", 3, -1), ZOK);
    s = warm_load(b, &warm, &reused);
    ck_assert_int_eq(reused, 0);
    state_snapshot_clear(&s);
    state_snapshot_clear(&warm);

    /* garbage in the log after a logged write (the leader's next write
     * starts a good one again) */
    warm = load(b);
    state_task t0 = task("mcm-0", 30999, 1);
    put(a, &t0);
    ck_assert_int_eq(zoo_set(zh, "/mcm/state/tasklog", "junk", 4, -1), ZOK);
    s = warm_load(b, &warm, &reused);
    ck_assert_int_eq(reused, 0);
    state_snapshot_clear(&s);
    state_snapshot_clear(&warm);

    /* a record deleted by hand, next to a logged write */
    warm = load(b);
    ck_assert_int_eq(zoo_delete(zh, "/mcm/state/tasks/mcm-1", -1), ZOK);
    state_task t2 = task("mcm-2", 31001, 1);
    put(a, &t2);
    s = warm_load(b, &warm, &reused);
    ck_assert_int_eq(reused, 0);
    ck_assert_ptr_null(find_task(&s, "mcm-1"));
    ck_assert_ptr_nonnull(find_task(&s, "mcm-2"));
    same_as_full(b, &s);
    state_snapshot_clear(&s);
    state_snapshot_clear(&warm);

    /* and once all is quiet again, a copy is caught up again */
    warm = load(b);
    state_task t3 = task("mcm-3", 31002, 1);
    put(a, &t3);
    s = warm_load(b, &warm, &reused);
    ck_assert_int_eq(reused, 1);
    same_as_full(b, &s);
    state_snapshot_clear(&s);
    state_snapshot_clear(&warm);
    zookeeper_close(zh);
    node_free(a);
    node_free(b);
    th_zk_free(zk);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("state_catchup");
    TCase *tc = tcase_create("catchup");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_tasklog_codec);
    tcase_add_test(tc, test_copy_caught_up);
    tcase_add_test(tc, test_log_continued_by_next_leader);
    tcase_add_test(tc, test_full_read_when_log_cannot_tell);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
