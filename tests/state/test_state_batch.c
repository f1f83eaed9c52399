/* test_state_batch.c -- many task records at once against a real ZooKeeper:
 * the pipelined read of every record (state_fetch.c, through state_load) and
 * the batched fenced delete (state_batch.c).
 *
 * Covered: 1,200 records (more than one read window and more than one
 * delete multi) load complete and equal to what was written; 1,100 of them
 * deleted in batches, one of which was already deleted by hand (its multi
 * falls back to one by one) -- exactly the other 100 remain; a follower's
 * batch is fenced and deletes nothing; an invalid ID stops the batch with
 * an error and what was deleted before it is counted. The batched store
 * (state_put_tasks): 800 new records created in two multis while one of
 * them was already made by hand, then all rewritten while one was deleted by
 * hand (each refused multi redone one by one): every record ends as the
 * last write said; a follower's store is fenced; an invalid record ends the
 * stored prefix before its multi. */
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

#define N_PUT 800

static state_task put_tasks[N_PUT];
static int fresh[N_PUT];

/* The records as state_load sees them: each one's port is base + i. */
static void ck_ports(node *a, int base) {
    state_snapshot s = load(a);
    ck_assert_int_eq(s.ntasks, N_PUT);
    for (int i = 0; i < N_PUT; i++) {
        const state_task *t = find_task(&s, put_tasks[i].id);
        ck_assert_msg(t != NULL, "%s not stored", put_tasks[i].id);
        ck_assert_int_eq(t->port, base + i);
    }
    state_snapshot_clear(&s);
}

START_TEST(test_state_batch_puts_create_and_rewrite_with_records_changed_by_hand) {
    th_zk *zk = th_zk_start();
    node *a = node_new(zk, "a", NULL), *b = node_new(zk, "b", NULL);
    char err[512];
    ck_assert_int_eq(state_set_framework_id(a->s, "2c9c0d5c-7f0a-4f6e-a8b1-3c1f1e9d2a10-0001", err, sizeof(err)),
                     MCM_OK);
    for (int i = 0; i < N_PUT; i++) {
        char id[32];
        snprintf(id, sizeof(id), "mcm-put-%04d", i);
        put_tasks[i] = task(id, 22000 + i, 1);
        fresh[i] = 1;
    }
    state_task early = task("mcm-put-0600", 1, 1);   /* in the second multi, already there */
    put(a, &early);
    int stored = -1;
    ck_assert_int_eq(state_put_tasks(b->s, put_tasks, fresh, N_PUT, &stored, err, sizeof(err)), STATE_FENCED);
    ck_assert_int_eq(stored, 0);
    ck_assert_int_eq(state_put_tasks(a->s, put_tasks, fresh, N_PUT, &stored, err, sizeof(err)), MCM_OK);
    ck_assert_int_eq(stored, N_PUT);
    ck_ports(a, 22000);

    zhandle_t *zh = zkt_connect(th_zk_hosts(zk), NULL, 5000);
    ck_assert_int_eq(zoo_delete(zh, "/mcm/state/tasks/mcm-put-0100", -1), ZOK);   /* gone by hand */
    zookeeper_close(zh);
    for (int i = 0; i < N_PUT; i++) put_tasks[i].port = 23000 + i;
    ck_assert_int_eq(state_put_tasks(a->s, put_tasks, NULL, N_PUT, &stored, err, sizeof(err)), MCM_OK);
    ck_assert_int_eq(stored, N_PUT);
    ck_ports(a, 23000);

    snprintf(put_tasks[700].id, sizeof(put_tasks[700].id), "../escape");
    for (int i = 0; i < N_PUT; i++) put_tasks[i].port = 24000 + i;
    ck_assert_int_eq(state_put_tasks(a->s, put_tasks, NULL, N_PUT, &stored, err, sizeof(err)), MCM_ERR);
    ck_assert_msg(strstr(err, "not a valid znode name"), "err: %s", err);
    ck_assert_msg(stored > 0 && stored <= 700, "stored %d: not the prefix before the bad record's multi", stored);
    state_snapshot s = load(a);
    for (int i = 0; i < N_PUT; i++) {
        const state_task *t = i == 700 ? NULL : find_task(&s, put_tasks[i].id);
        if (t) ck_assert_int_eq(t->port, (i < stored ? 24000 : 23000) + i);
    }
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
    tcase_add_test(tc, test_state_batch_puts_create_and_rewrite_with_records_changed_by_hand);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
