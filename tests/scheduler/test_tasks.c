/* test_tasks.c -- the leader's task table (tasks.h), pure: lookups by id
 * through its hash index agree with a plain model over thousands of random
 * adds and removes (removal's backward shift and the last entry moving into
 * the hole included), duplicates are refused, and clear empties it. */
#include "mcm.h"
#include "tasks.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IDS 3000

static tt_task task(int i) {
    tt_task t;
    memset(&t, 0, sizeof(t));
    snprintf(t.id, sizeof(t.id), "mcm-memcached-%d", i);
    t.port = 10000 + i;
    return t;
}

/* Every id the model holds is found with its own port; every other is not. */
static void agrees(tt *T, const char *in) {
    int n = 0;
    for (int i = 0; i < IDS; i++) {
        tt_task t = task(i);
        tt_task *f = tt_find(T, t.id);
        if (in[i]) {
            ck_assert_msg(f != NULL, "%s not found", t.id);
            ck_assert_int_eq(f->port, t.port);
            n++;
        } else {
            ck_assert_msg(f == NULL, "%s found after removal", t.id);
        }
    }
    ck_assert_int_eq(tt_count(T), n);
    for (int i = 0; i < tt_count(T); i++) ck_assert_ptr_eq(tt_find(T, tt_at(T, i)->id), tt_at(T, i));
}

START_TEST(test_tasks_index_agrees_with_a_model) {
    tt *T = tt_create();
    char in[IDS] = {0};
    srand(7);
    for (int round = 0; round < 20; round++) {
        for (int k = 0; k < 1500; k++) {
            int i = rand() % IDS;
            tt_task t = task(i);
            uint64_t gen = tt_generation(T);
            if (rand() % 3) {
                tt_task *a = tt_add(T, &t);
                ck_assert(in[i] ? tt_generation(T) == gen : tt_generation(T) != gen);
                if (in[i]) ck_assert_ptr_null(a);   /* a duplicate id is refused */
                else ck_assert_ptr_nonnull(a);
                in[i] = 1;
            } else {
                tt_remove(T, t.id);
                ck_assert(in[i] ? tt_generation(T) != gen : tt_generation(T) == gen);
                in[i] = 0;
            }
        }
        agrees(T, in);
    }
    tt_remove(T, "never-added");
    ck_assert_ptr_null(tt_find(T, ""));
    tt_clear(T);
    memset(in, 0, sizeof(in));
    agrees(T, in);
    tt_task t = task(5);
    ck_assert_ptr_nonnull(tt_add(T, &t));
    in[5] = 1;
    agrees(T, in);
    tt_free(T);
}
END_TEST

int main(void) {
    Suite *s = suite_create("tasks");
    TCase *tc = tcase_create("tasks");
    tcase_add_test(tc, test_tasks_index_agrees_with_a_model);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
