/* test_callq.c -- the Mesos call workers' contract (callq.h): every job's
 * outcome comes back exactly once, the jobs of one task in submission order;
 * a job of an ended term is reported as not run; beyond CALLQ_MAX_PENDING a
 * job is refused at once, through the same callback; a lane held up does not
 * hold the others.
 *
 * The client is real but never started (no master is needed): every call it
 * is asked to make fails fast with "not subscribed", which is the outcome a
 * job that was sent gets here. */
#include "callq.h"
#include "mcm.h"
#include "opt.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NJOBS 50

typedef struct seen {
    pthread_mutex_t mu;
    int n;
    char ids[CALLQ_MAX_PENDING + NJOBS + 17][TT_ID_MAX];
    char errs[CALLQ_MAX_PENDING + NJOBS + 17][64];
    char whys[CALLQ_MAX_PENDING + NJOBS + 17][16];
    int ok[CALLQ_MAX_PENDING + NJOBS + 17];
} seen;

static seen got;
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int gate_open = 1;

static void done(void *ctx, callq_job *j) {
    seen *s = ctx;
    if (!strcmp(j->a.why, "block")) {   /* holds its lane's worker until the test opens the gate */
        pthread_mutex_lock(&gate_mu);
        while (!gate_open) pthread_cond_wait(&gate_cv, &gate_mu);
        pthread_mutex_unlock(&gate_mu);
    }
    pthread_mutex_lock(&s->mu);
    snprintf(s->ids[s->n], TT_ID_MAX, "%s", j->a.task.id);
    snprintf(s->errs[s->n], sizeof(s->errs[0]), "%.60s", j->err);
    snprintf(s->whys[s->n], sizeof(s->whys[0]), "%.15s", j->a.why);
    s->ok[s->n] = j->ok;
    s->n++;
    pthread_mutex_unlock(&s->mu);
    callq_job_free(j);
}

static int count(seen *s) {
    pthread_mutex_lock(&s->mu);
    int n = s->n;
    pthread_mutex_unlock(&s->mu);
    return n;
}

static int wait_count(seen *s, int n) {
    for (int i = 0; i < 500 && count(s) < n; i++) usleep(10000);
    return count(s);
}

static mesos_sched *client(opt_master *m) {
    char err[256];
    ck_assert_int_eq(opt_parse_master("http://127.0.0.1:9", m, err, sizeof(err)), MCM_OK);
    mesos_sched_config mc = {0};
    mc.master = m;
    mc.user = "test";
    mc.name = "test";
    mesos_sched *ms = mesos_sched_new(&mc, NULL, err, sizeof(err));
    ck_assert_msg(ms != NULL, "%s", err);
    return ms;
}

/* A KILL of task `id`; why: its sequence number, or "block". */
static callq_job *kill_job_why(const char *id, int64_t term, const char *why) {
    fleet_action a;
    memset(&a, 0, sizeof(a));
    a.kind = FA_KILL;
    snprintf(a.task.id, sizeof(a.task.id), "%s", id);
    snprintf(a.why, sizeof(a.why), "%s", why);
    return callq_job_new(&a, term);
}

static callq_job *kill_job(const char *id, int64_t term) { return kill_job_why(id, term, ""); }

START_TEST(test_callq_outcomes_in_order_and_ended_terms_not_sent) {
    opt_master m;
    mesos_sched *ms = client(&m);
    atomic_llong term = 1;
    memset(&got, 0, sizeof(got));
    pthread_mutex_init(&got.mu, NULL);
    callq *q = callq_new(ms, &term, done, &got);
    ck_assert_ptr_nonnull(q);
    char id[32], seq[16];
    for (int i = 0; i < NJOBS; i++) {                /* 5 tasks, 10 jobs each, interleaved */
        snprintf(id, sizeof(id), "t%d", i % 5);
        snprintf(seq, sizeof(seq), "%02d", i);
        ck_assert_int_eq(callq_submit(q, kill_job_why(id, i < NJOBS / 2 ? 1 : 2, seq)), MCM_OK);
    }
    ck_assert_int_eq(wait_count(&got, NJOBS), NJOBS);
    int last[5] = {-1, -1, -1, -1, -1}, each[5] = {0};
    for (int i = 0; i < NJOBS; i++) {
        int task = got.ids[i][1] - '0', n = atoi(got.whys[i]);
        ck_assert_msg(n > last[task], "task %d: job %d came back after job %d", task, n, last[task]);
        last[task] = n;                            /* one task's jobs in submission order */
        each[task]++;
        ck_assert_int_eq(got.ok[i], 0);
        if (n < NJOBS / 2) ck_assert_str_eq(got.errs[i], "not subscribed");   /* sent: the client answered */
        else ck_assert_msg(strncmp(got.errs[i], "not run", 7) == 0, "job %d: %s", n, got.errs[i]);   /* term 2 != 1 */
    }
    for (int t = 0; t < 5; t++) ck_assert_int_eq(each[t], NJOBS / 5);
    ck_assert_int_eq(callq_pending(q), 0);
    callq_free(q);
    mesos_sched_free(ms);
    opt_master_free(&m);
    pthread_mutex_destroy(&got.mu);
    callq_free(NULL);
    callq_job_free(NULL);
}
END_TEST

START_TEST(test_callq_full_queue_refuses_through_the_callback) {
    opt_master m;
    mesos_sched *ms = client(&m);
    atomic_llong term = 1;
    memset(&got, 0, sizeof(got));
    pthread_mutex_init(&got.mu, NULL);
    callq *q = callq_new(ms, &term, done, &got);
    gate_open = 0;
    ck_assert_int_eq(callq_submit(q, kill_job_why("x", 1, "block")), MCM_OK);
    while (callq_pending(q) > 0) usleep(1000);   /* x's worker holds "block": the queue is empty */
    for (int i = 0; i < 16; i++) {               /* tasks in the other lanes are not held up */
        char id[16];
        snprintf(id, sizeof(id), "y%d", i);
        ck_assert_int_eq(callq_submit(q, kill_job(id, 1)), MCM_OK);
    }
    /* until the free lanes have drained: the jobs left waiting stay the same
     * for 100 ms, and each y job is either answered or waiting (a worker
     * counts a job done just before its answer is recorded) */
    for (int k = 0, prev = -1; k < 100; k++) {
        int p = callq_pending(q);
        if (p == prev && count(&got) + p == 16) break;
        prev = p;
        usleep(100000);
    }
    int stuck = callq_pending(q);                /* those hashed to x's lane wait behind it */
    ck_assert_msg(count(&got) > 0 && count(&got) + stuck == 16, "%d answered, %d waiting", count(&got), stuck);
    int before = count(&got);
    int refused = 0;
    for (int i = 0; i < CALLQ_MAX_PENDING + NJOBS; i++) refused += callq_submit(q, kill_job("x", 1)) != MCM_OK;
    ck_assert_int_eq(refused, NJOBS + stuck);
    ck_assert_int_eq(count(&got), before + NJOBS + stuck);   /* the refusals came back at once */
    for (int i = before; i < before + NJOBS + stuck; i++) ck_assert_msg(strstr(got.errs[i], "already waiting"), "%s", got.errs[i]);
    pthread_mutex_lock(&gate_mu);
    gate_open = 1;
    pthread_cond_broadcast(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
    ck_assert_int_eq(wait_count(&got, CALLQ_MAX_PENDING + NJOBS + 17), CALLQ_MAX_PENDING + NJOBS + 17);   /* each once */
    callq_free(q);
    mesos_sched_free(ms);
    opt_master_free(&m);
    pthread_mutex_destroy(&got.mu);
}
END_TEST

int main(void) {
    Suite *s = suite_create("callq");
    TCase *tc = tcase_create("callq");
    tcase_add_test(tc, test_callq_outcomes_in_order_and_ended_terms_not_sent);
    tcase_add_test(tc, test_callq_full_queue_refuses_through_the_callback);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
