/* test_folread.c -- the follower's reader thread (folread.h) against a real
 * ZooKeeper, with a real leader (elect + state) writing the records.
 *
 * Covered: following delivers a full copy at once, with its records as
 * JSON; a record the leader writes shows in a copy within one look; a look
 * whose mark has not moved delivers nothing; a copy the receiver refused is
 * read again at the next look though the mark holds; not following, nothing
 * arrives; following again after a pause reads at once after its delay;
 * the leader's writes are followed through the task log (the copy brought
 * up to date by reading only the records written, at every look, however
 * long the writes go on); records made by hand (which the log cannot tell)
 * are read in full, and under such churn those reads back off, and resume
 * at once when it stops. */
#include "folread.h"
#include "harness.h"
#include "log.h"
#include "mcm.h"
#include "stnode.h"
#include "util.h"
#include "zkt.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct got {
    pthread_mutex_t mu;
    int copies, refuse;
    int ntasks, caught_up, fetched, caught_copies, desired;
    char json[4096];
} got;

static int on_copy(void *ud, fr_copy *cp) {
    got *g = ud;
    pthread_mutex_lock(&g->mu);
    g->copies++;
    g->ntasks = cp->snap.ntasks;
    g->desired = cp->snap.desired;
    g->caught_up = cp->caught_up;
    g->fetched = cp->fetched;
    g->caught_copies += cp->caught_up;
    snprintf(g->json, sizeof(g->json), "%s", cp->tasks_json);
    int accepted = !g->refuse;
    pthread_mutex_unlock(&g->mu);
    fr_copy_free(cp);
    return accepted;
}

static int copies(got *g) {
    pthread_mutex_lock(&g->mu);
    int n = g->copies;
    pthread_mutex_unlock(&g->mu);
    return n;
}

/* Waits up to ms for more than `than` copies; the count seen. */
static int wait_copies(got *g, int than, int ms) {
    int64_t end = util_now_ms() + ms;
    while (copies(g) <= than && util_now_ms() < end) util_sleep_ms(20);
    return copies(g);
}

START_TEST(test_folread_copies_when_the_mark_moves_and_only_while_following) {
    log_set_level(LOG_VERBOSE);   /* a refused read says why */
    th_zk *zk = th_zk_start();
    node *a = node_new(zk, "a", NULL);
    char err[256];
    ck_assert_int_eq(state_set_framework_id(a->s, "2c9c0d5c-7f0a-4f6e-a8b1-3c1f1e9d2a10-0001", err, sizeof(err)),
                     MCM_OK);
    state_task t1 = task("mcm-fr-1", 21001, 1);
    put(a, &t1);
    got g = {.mu = PTHREAD_MUTEX_INITIALIZER};
    zks_config zc = {.hosts = th_zk_hosts(zk), .root = "/mcm", .session_timeout_ms = 4000};
    folread *r = fr_new(&zc, 100, on_copy, &g);
    ck_assert_ptr_nonnull(r);
    util_sleep_ms(300);
    ck_assert_int_eq(copies(&g), 0);                         /* not following yet */
    fr_follow(r, 1, 0);
    ck_assert_int_eq(wait_copies(&g, 0, 3000), 1);
    ck_assert_int_eq(g.ntasks, 1);
    ck_assert_msg(g.json[0] == '[' && strstr(g.json, "\"mcm-fr-1\""), "tasks: %s", g.json);

    state_task t2 = task("mcm-fr-2", 21002, 1);
    put(a, &t2);                                             /* the mark moves */
    ck_assert_int_eq(wait_copies(&g, 1, FR_LOOK_MS + 2000), 2);
    ck_assert_int_eq(g.ntasks, 2);
    ck_assert_int_eq(g.caught_up, 1);                         /* from the task log ... */
    ck_assert_int_eq(g.fetched, 1);                           /* ... by reading the one record */
    /* A write that names no record: handed on with the new desired count
     * (the follower's /v1/autoscale shows it), no record read again. */
    ck_assert_int_eq(state_set_desired(a->s, 5, NULL, err, sizeof(err)), MCM_OK);
    ck_assert_int_eq(wait_copies(&g, 2, FR_LOOK_MS + 2000), 3);
    ck_assert_int_eq(g.desired, 5);
    ck_assert_int_eq(g.caught_up, 1);
    ck_assert_int_eq(g.fetched, 0);
    ck_assert_int_eq(wait_copies(&g, 3, FR_LOOK_MS + 1000), 3);   /* a look, mark unchanged: nothing */

    pthread_mutex_lock(&g.mu);
    g.refuse = 1;
    pthread_mutex_unlock(&g.mu);
    state_task t3 = task("mcm-fr-3", 21003, 1);
    put(a, &t3);
    ck_assert_int_eq(wait_copies(&g, 3, FR_LOOK_MS + 2000), 4);   /* refused ... */
    pthread_mutex_lock(&g.mu);
    g.refuse = 0;
    pthread_mutex_unlock(&g.mu);
    ck_assert_int_eq(wait_copies(&g, 4, FR_LOOK_MS + 2000), 5);   /* ... so handed on again, mark unmoved */
    ck_assert_int_eq(g.ntasks, 3);

    fr_follow(r, 0, 0);
    state_task t4 = task("mcm-fr-4", 21004, 1);
    put(a, &t4);
    ck_assert_int_eq(wait_copies(&g, 5, FR_LOOK_MS + 1000), 5);   /* not following: nothing */
    int64_t t0 = util_now_ms();
    fr_follow(r, 1, 1000);
    ck_assert_int_eq(wait_copies(&g, 5, 4000), 6);
    ck_assert_msg(util_now_ms() - t0 >= 900, "read before its delay");
    ck_assert_int_eq(g.ntasks, 4);

    /* The leader writing a record every second for 12 s: followed at every
     * look, each copy brought up to date from the log. */
    int c0 = copies(&g), k0 = g.caught_copies;
    for (int i = 0; i < 12; i++) {
        char id[32];
        snprintf(id, sizeof(id), "mcm-lead-%02d", i);
        state_task t = task(id, 22000 + i, 1);
        put(a, &t);
        util_sleep_ms(1000);
    }
    ck_assert_int_eq(wait_copies(&g, c0 + 1, FR_LOOK_MS + 2000) > c0 + 1, 1);
    pthread_mutex_lock(&g.mu);
    int followed = g.copies - c0, caught = g.caught_copies - k0;
    pthread_mutex_unlock(&g.mu);
    ck_assert_msg(followed >= 2 && caught == followed, "%d copies, %d caught up", followed, caught);

    /* Churn the log cannot follow: a record made by hand every second for
     * 24 s. Reading on every look would be 4-5 copies; backing off (5, 10,
     * 20 s) gives at most 3. */
    zhandle_t *zh = zkt_connect(th_zk_hosts(zk), NULL, 5000);
    c0 = copies(&g);
    for (int i = 0; i < 24; i++) {
        char id[32], path[96];
        snprintf(id, sizeof(id), "mcm-hand-%02d", i);
        state_task t = task(id, 23000 + i, 1);
        char *js = state_task_to_json(&t);
        snprintf(path, sizeof(path), "/mcm/state/tasks/%s", id);
        ck_assert_int_eq(zoo_create(zh, path, js, (int)strlen(js), &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0), ZOK);
        free(js);
        util_sleep_ms(1000);
    }
    int during = copies(&g) - c0;
    ck_assert_msg(during >= 1 && during <= 3, "%d copies during 24 s of churn", during);
    /* Quiet again: two looks agree, and the next look reads at once. */
    int64_t end = util_now_ms() + 3 * FR_LOOK_MS;
    while (util_now_ms() < end) {
        pthread_mutex_lock(&g.mu);
        int n = g.ntasks;
        pthread_mutex_unlock(&g.mu);
        if (n == 40) break;
        util_sleep_ms(100);
    }
    ck_assert_int_eq(g.ntasks, 40);
    zookeeper_close(zh);
    fr_free(r);
    node_free(a);
    th_zk_free(zk);
}
END_TEST

int main(void) {
    Suite *s = suite_create("folread");
    TCase *tc = tcase_create("folread");
    tcase_set_timeout(tc, 140);
    tcase_add_test(tc, test_folread_copies_when_the_mark_moves_and_only_while_following);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
