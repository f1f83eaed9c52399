/* test_state_batch.c -- many task records at once against a real ZooKeeper:
 * the pipelined read of every record (state_fetch.c, through state_load) and
 * the batched fenced delete (state_batch.c).
 *
 * Covered: 1,200 records (more than one read window and more than one
 * delete multi) load complete and equal to what was written; 1,100 of them
 * deleted in batches, one of which was already deleted by hand (its multi
 * falls back to one by one) -- exactly the other 100 remain; a follower's
 * batch is fenced and deletes nothing; an invalid ID stops the batch with
 * an error and what was deleted before it is counted. */
#include "elect.h"
#include "harness.h"
#include "mcm.h"
#include "state.h"
#include "state_batch.h"
#include "stnode.h"
#include "zkt.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_RECORDS 1200
#define N_DELETED 1100

static char ids[N_RECORDS][32];
static const char *idp[N_RECORDS];

static void put_all(node *a) {
    for (int i = 0; i < N_RECORDS; i++) {
        snprintf(ids[i], sizeof(ids[i]), "mcm-batch-%04d", i);
        idp[i] = ids[i];
        state_task t = task(ids[i], 20000 + i, i % 2 ? 1 : 2);   /* RUNNING, FINISHED */
        put(a, &t);
    }
}

START_TEST(test_state_batch_loads_and_deletes_1200_records) {
    th_zk *zk = th_zk_start();
    node *a = node_new(zk, "a", NULL);
    char err[512];
    ck_assert_int_eq(state_set_framework_id(a->s, "2c9c0d5c-7f0a-4f6e-a8b1-3c1f1e9d2a10-0001", err, sizeof(err)),
                     MCM_OK);
    put_all(a);
    state_snapshot s = load(a);
    ck_assert_int_eq(s.ntasks, N_RECORDS);
    for (int i = 0; i < N_RECORDS; i++) {
        const state_task *t = find_task(&s, ids[i]);
        ck_assert_msg(t != NULL, "%s not loaded", ids[i]);
        ck_assert_int_eq(t->port, 20000 + i);
        ck_assert_int_eq(t->state, i % 2 ? 1 : 2);
    }
    state_snapshot_clear(&s);

    zhandle_t *zh = zkt_connect(th_zk_hosts(zk), NULL, 5000);
    ck_assert_int_eq(zoo_delete(zh, "/mcm/state/tasks/mcm-batch-0700", -1), ZOK);   /* gone by hand */
    zookeeper_close(zh);
    int deleted = -1;
    ck_assert_int_eq(state_delete_tasks(a->s, idp, N_DELETED, &deleted, err, sizeof(err)), MCM_OK);
    ck_assert_int_eq(deleted, N_DELETED);
    s = load(a);
    ck_assert_int_eq(s.ntasks, N_RECORDS - N_DELETED);
    for (int i = N_DELETED; i < N_RECORDS; i++) ck_assert_ptr_nonnull(find_task(&s, ids[i]));
    state_snapshot_clear(&s);
    node_free(a);
    th_zk_free(zk);
}
END_TEST

START_TEST(test_state_batch_follower_is_fenced_and_bad_id_stops) {
    th_zk *zk = th_zk_start();
    node *a = node_new(zk, "a", NULL), *b = node_new(zk, "b", NULL);
    char err[512];
    ck_assert_int_eq(state_set_framework_id(a->s, "2c9c0d5c-7f0a-4f6e-a8b1-3c1f1e9d2a10-0001", err, sizeof(err)),
                     MCM_OK);
    for (int i = 0; i < 3; i++) {
        snprintf(ids[i], sizeof(ids[i]), "mcm-f-%d", i);
        idp[i] = ids[i];
        state_task t = task(ids[i], 21000 + i, 2);
        put(a, &t);
    }
    int deleted = -1;
    ck_assert_int_eq(state_delete_tasks(b->s, idp, 3, &deleted, err, sizeof(err)), STATE_FENCED);
    ck_assert_int_eq(deleted, 0);
    state_snapshot s = load(a);
    ck_assert_int_eq(s.ntasks, 3);
    state_snapshot_clear(&s);
    const char *bad[] = {ids[0], "../escape", ids[1]};
    ck_assert_int_eq(state_delete_tasks(a->s, bad, 3, &deleted, err, sizeof(err)), MCM_ERR);
    ck_assert_msg(strstr(err, "not a valid znode name"), "err: %s", err);
    ck_assert_int_eq(deleted, 0);                      /* the batch holding it was never sent */
    s = load(a);
    ck_assert_int_eq(s.ntasks, 3);
    state_snapshot_clear(&s);
    node_free(b);
    node_free(a);
    th_zk_free(zk);
}
END_TEST

int main(void) {
    Suite *s = suite_create("state_batch");
    TCase *tc = tcase_create("batch");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_state_batch_loads_and_deletes_1200_records);
    tcase_add_test(tc, test_state_batch_follower_is_fenced_and_bad_id_stops);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
