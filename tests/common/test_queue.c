/* test_queue.c -- the core's mailbox: order, timeouts, many producers, and
 * lazy posts (queued without waking the consumer). */
#include "queue.h"
#include "mcm.h"
#include "util.h"

#include <check.h>
#include <string.h>
#include <pthread.h>
#include <stdlib.h>

#define PRODUCERS 4
#define PER_PRODUCER 5000

static void *produce(void *arg) {
    cq *q = arg;
    for (int i = 0; i < PER_PRODUCER; i++) {
        int *v = malloc(sizeof(int));
        *v = i;
        cq_post(q, 1, v, NULL, i);
    }
    return NULL;
}

START_TEST(test_queue_fifo_and_timeout) {
    cq *q = cq_create();
    ck_assert_ptr_null(cq_take(q, 0));
    int64_t t0 = util_now_ms();
    ck_assert_ptr_null(cq_take(q, 50));
    ck_assert_int_ge(util_now_ms() - t0, 45);
    for (int i = 0; i < 3; i++) cq_post(q, i, NULL, NULL, i * 10);
    ck_assert_int_eq(cq_length(q), 3);
    for (int i = 0; i < 3; i++) {
        cq_msg *m = cq_take(q, -1);
        ck_assert_int_eq(m->type, i);
        ck_assert_int_eq(m->num, i * 10);
        cq_msg_free(m);
    }
    cq_post(q, 9, malloc(16), NULL, 0);     /* freed by cq_free */
    cq_free(q);
    cq_free(NULL);
}
END_TEST

/* A heartbeat flood grew the leader from 12 to 91 MB in 8 s: droppable
 * messages coalesce (one per type waits) and stop at the limit; messages that
 * must not be lost (status updates) are always queued. */
START_TEST(test_queue_flood_of_droppable_is_bounded) {
    enum { HEARTBEAT = 1, OFFERS = 2, UPDATE = 3 };
    cq *q = cq_create();
    cq_set_limit(q, 100);
    for (int i = 0; i < 100000; i++) {
        ck_assert_int_ne(cq_post_droppable(q, HEARTBEAT, strdup("hb"), NULL, i), MCM_ERR);
        if (i % 1000 == 0) ck_assert_int_eq(cq_post(q, UPDATE, NULL, NULL, i), MCM_OK);
    }
    ck_assert_int_eq(cq_length(q), 1 + 100);          /* one heartbeat, every update */
    ck_assert_int_eq(cq_dropped(q), 99999);
    ck_assert_int_eq(cq_post_droppable(q, OFFERS, NULL, NULL, 0), CQ_DROPPED);   /* at the limit */
    cq_msg *m = cq_take(q, 0);
    ck_assert_int_eq(m->type, HEARTBEAT);              /* the first one kept its place */
    ck_assert_int_eq(m->num, 0);
    cq_msg_free(m);
    ck_assert_int_eq(cq_post_droppable(q, HEARTBEAT, NULL, NULL, 7), CQ_DROPPED);  /* 100 still queued */
    for (int i = 0; i < 100; i++) {
        m = cq_take(q, 0);
        ck_assert_int_eq(m->type, UPDATE);
        ck_assert_int_eq(m->num, i * 1000);
        cq_msg_free(m);
    }
    ck_assert_int_eq(cq_post_droppable(q, HEARTBEAT, NULL, NULL, 8), MCM_OK);       /* room again */
    cq_free(q);
}
END_TEST

/* Executor reports (bounded posts) are not merged, one report per executor
 * stays, and they stop at the limit, where status updates still queue. */
START_TEST(test_queue_bounded_posts_stop_at_the_limit_only) {
    enum { REPORT = 1, UPDATE = 2 };
    cq *q = cq_create();
    cq_set_limit(q, 50);
    for (int i = 0; i < 10000; i++) {
        int rc = cq_post_bounded(q, REPORT, strdup("r"), NULL, i);
        ck_assert_int_eq(rc, i < 50 ? MCM_OK : CQ_DROPPED);
    }
    ck_assert_int_eq(cq_length(q), 50);                 /* 50 of one type: not coalesced */
    ck_assert_int_eq(cq_dropped(q), 10000 - 50);
    ck_assert_int_eq(cq_post(q, UPDATE, NULL, NULL, 1), MCM_OK);   /* never refused */
    ck_assert_int_eq(cq_length(q), 51);
    for (int i = 0; i < 50; i++) {
        cq_msg *m = cq_take(q, 0);
        ck_assert_int_eq(m->type, REPORT);
        ck_assert_int_eq(m->num, i);                    /* the first ones, in order */
        cq_msg_free(m);
    }
    ck_assert_int_eq(cq_post_bounded(q, REPORT, NULL, NULL, 1), MCM_OK);   /* room again */
    cq_free(q);
}
END_TEST

typedef struct lazy_arg {
    cq *q;
    int delay_ms;
} lazy_arg;

static void *post_lazy_later(void *arg) {
    lazy_arg *a = arg;
    util_sleep_ms(a->delay_ms);
    cq_post_lazy(a->q, 1, NULL, NULL, 7);
    return NULL;
}

static void *post_later(void *arg) {
    lazy_arg *a = arg;
    util_sleep_ms(a->delay_ms);
    cq_post(a->q, 2, NULL, NULL, 8);
    return NULL;
}

/* A lazy post does not end a wait: it is taken when the wait times out,
 * or with the next ordinary post, in order; the bound still applies. */
START_TEST(test_queue_lazy_posts_wait_for_the_next_wake_up) {
    cq *q = cq_create();
    pthread_t t;
    lazy_arg a = {q, 50};
    pthread_create(&t, NULL, post_lazy_later, &a);
    int64_t t0 = util_now_ms();
    cq_msg *m = cq_take(q, 400);
    int64_t took = util_now_ms() - t0;
    pthread_join(t, NULL);
    ck_assert_ptr_nonnull(m);                       /* found at the timeout ... */
    ck_assert_int_eq(m->num, 7);
    ck_assert_msg(took >= 390, "woken after %lld ms by a lazy post", (long long)took);
    cq_msg_free(m);

    cq_post_lazy(q, 1, NULL, NULL, 1);              /* ... or with the next ordinary post */
    a.delay_ms = 50;
    pthread_t u;
    cq_msg_free(cq_take(q, 0));
    pthread_create(&t, NULL, post_lazy_later, &a);
    lazy_arg b = {q, 100};
    pthread_create(&u, NULL, post_later, &b);
    t0 = util_now_ms();
    m = cq_take(q, 2000);
    took = util_now_ms() - t0;
    pthread_join(t, NULL);
    pthread_join(u, NULL);
    ck_assert_msg(took < 1000, "the ordinary post did not wake the consumer (%lld ms)", (long long)took);
    ck_assert_int_eq(m->num, 7);                    /* the lazy one first: FIFO */
    cq_msg_free(m);
    m = cq_take(q, 0);
    ck_assert_int_eq(m->num, 8);
    cq_msg_free(m);

    cq_set_limit(q, 2);
    ck_assert_int_eq(cq_post_lazy(q, 1, NULL, NULL, 1), MCM_OK);
    ck_assert_int_eq(cq_post_lazy(q, 1, NULL, NULL, 2), MCM_OK);
    ck_assert_int_eq(cq_post_lazy(q, 1, NULL, NULL, 3), CQ_DROPPED);
    cq_free(q);
}
END_TEST

START_TEST(test_queue_many_producers_keep_per_producer_order) {
    cq *q = cq_create();
    pthread_t t[PRODUCERS];
    for (int i = 0; i < PRODUCERS; i++) pthread_create(&t[i], NULL, produce, q);
    int got = 0, last_seen_max = -1;
    while (got < PRODUCERS * PER_PRODUCER) {
        cq_msg *m = cq_take(q, 5000);
        ck_assert_ptr_nonnull(m);
        ck_assert_int_eq(*(int *)m->data, (int)m->num);
        if (m->num > last_seen_max) last_seen_max = (int)m->num;
        cq_msg_free(m);
        got++;
    }
    for (int i = 0; i < PRODUCERS; i++) pthread_join(t[i], NULL);
    ck_assert_int_eq(last_seen_max, PER_PRODUCER - 1);
    ck_assert_ptr_null(cq_take(q, 0));
    cq_free(q);
}
END_TEST

int main(void) {
    Suite *s = suite_create("queue");
    TCase *tc = tcase_create("queue");
    tcase_add_test(tc, test_queue_fifo_and_timeout);
    tcase_add_test(tc, test_queue_flood_of_droppable_is_bounded);
    tcase_add_test(tc, test_queue_bounded_posts_stop_at_the_limit_only);
    tcase_add_test(tc, test_queue_many_producers_keep_per_producer_order);
    tcase_add_test(tc, test_queue_lazy_posts_wait_for_the_next_wake_up);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
