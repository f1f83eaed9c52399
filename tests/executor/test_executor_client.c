/* test_executor_client.c -- the Mesos executor client (mesos_exec) against
 * the test agent endpoint (tagent, a real HTTP server): events reach the
 * callback, updates are kept until ACKNOWLEDGED and go out with the next
 * SUBSCRIBE when they could not be sent, a refused or broken stream is
 * retried with checkpointing and final without, bad framing and undecodable
 * Events end the stream with a clear reason, and stop is prompt. */
#include "harness.h"
#include "mcm.h"
#include "mesos_exec.h"
#include "tagent.h"
#include "util.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXEC_ID "exec-client-1"

typedef struct seen {
    pthread_mutex_t mu;
    int events[16];           /* count per Event type */
    int lost, final;
    char why[512];
} seen;

static seen S = {.mu = PTHREAD_MUTEX_INITIALIZER};
static tagent *A;
static mesos_exec *E;
static char err[512];

static void on_event(void *ctx, Mesos__V1__Executor__Event *ev) {
    pthread_mutex_lock(&S.mu);
    int t = ev->has_type ? (int)ev->type : 0;
    if (t >= 0 && t < 16) S.events[t]++;
    pthread_mutex_unlock(&S.mu);
    mesos__v1__executor__event__free_unpacked(ev, NULL);
}

static void on_disconnected(void *ctx, const char *why, int final) {
    pthread_mutex_lock(&S.mu);
    S.lost++;
    S.final |= final;
    snprintf(S.why, sizeof(S.why), "%s", why);
    pthread_mutex_unlock(&S.mu);
}

static int count(int type) {
    pthread_mutex_lock(&S.mu);
    int n = S.events[type];
    pthread_mutex_unlock(&S.mu);
    return n;
}

static int got_final(void *arg) {
    pthread_mutex_lock(&S.mu);
    int f = S.final;
    pthread_mutex_unlock(&S.mu);
    return f;
}

static int subscribed(void *arg) { return mesos_exec_subscribed(E); }
static int all_acked(void *arg) { return mesos_exec_unacked(E) == 0; }
static int two_attempts(void *arg) { return mesos_exec_subscribe_attempts(E) >= 2; }

static void start_client_token(int checkpoint, const char *token) {
    mesos_exec_config c = {0};
    char url[128];
    snprintf(url, sizeof(url), "http://%s/api/v1/executor", tagent_endpoint(A));
    c.agent_endpoint = (char *)tagent_endpoint(A);
    c.agent_url = url;
    c.framework_id = TAGENT_FRAMEWORK_ID;
    c.executor_id = EXEC_ID;
    c.checkpoint = checkpoint;
    c.backoff_max_ms = 100;
    c.recovery_timeout_ms = 20000;
    c.call_timeout_ms = 3000;
    c.auth_token = (char *)token;
    mesos_exec_callbacks cb = {NULL, on_event, on_disconnected};
    E = mesos_exec_new(&c, &cb, err, sizeof(err));
    ck_assert_msg(E != NULL, "%s", err);
    ck_assert_int_eq(mesos_exec_start(E), MCM_OK);
    ck_assert_int_eq(mesos_exec_start(E), MCM_ERR);        /* once */
}

static void start_client(int checkpoint) { start_client_token(checkpoint, NULL); }

static void setup(void) { A = tagent_start(0, EXEC_ID); }

static void teardown(void) {
    char v[256];
    mesos_exec_free(E);
    E = NULL;
    int n = tagent_violations(A, v, sizeof(v));
    tagent_free(A);
    ck_assert_msg(n == 0, "protocol violations: %d, first: %s", n, v);
}

START_TEST(test_executor_client_events_updates_and_prompt_stop) {
    start_client(0);
    ck_assert(th_wait(subscribed, NULL, 5000));
    Mesos__V1__Executor__Call *sub = tagent_wait_call(A, MESOS__V1__EXECUTOR__CALL__TYPE__SUBSCRIBE, 1000);
    ck_assert_ptr_nonnull(sub);
    ck_assert_ptr_nonnull(sub->subscribe);                  /* sent even when empty */
    ck_assert_int_eq(sub->subscribe->n_unacknowledged_updates, 0);
    mesos__v1__executor__call__free_unpacked(sub, NULL);
    tagent_set_auto_ack(A, 0);
    uint8_t uuid[16];
    ck_assert_msg(mesos_exec_update(E, "t1", MESOS__V1__TASK_STATE__TASK_RUNNING, -1, "up", uuid, err,
                                    sizeof(err)) == MCM_OK, "%s", err);
    ck_assert_int_eq(uuid[6] >> 4, 4);
    ck_assert_uint_eq(mesos_exec_unacked(E), 1);
    Mesos__V1__Executor__Call *up = tagent_wait_update(A, MESOS__V1__TASK_STATE__TASK_RUNNING, 2000);
    ck_assert_ptr_nonnull(up);
    ck_assert_str_eq(up->update->status->agent_id->value, TAGENT_AGENT_ID);
    ck_assert_str_eq(up->update->status->message, "up");
    ck_assert_int_eq(up->update->status->has_reason, 0);
    ck_assert_int_eq(memcmp(up->update->status->uuid.data, uuid, 16), 0);
    tagent_ack(A, up->update->status);
    mesos__v1__executor__call__free_unpacked(up, NULL);
    ck_assert(th_wait(all_acked, NULL, 2000));
    ck_assert_int_eq(mesos_exec_message(E, "hello", 5, err, sizeof(err)), MCM_OK);
    Mesos__V1__Executor__Call *msg = tagent_wait_call(A, MESOS__V1__EXECUTOR__CALL__TYPE__MESSAGE, 2000);
    ck_assert_ptr_nonnull(msg);
    ck_assert_int_eq(msg->message->data.len, 5);
    ck_assert_int_eq(memcmp(msg->message->data.data, "hello", 5), 0);
    mesos__v1__executor__call__free_unpacked(msg, NULL);
    tagent_shutdown(A);
    while (count(MESOS__V1__EXECUTOR__EVENT__TYPE__SHUTDOWN) == 0) util_sleep_ms(10);
    ck_assert_int_eq(count(MESOS__V1__EXECUTOR__EVENT__TYPE__SUBSCRIBED), 1);
    ck_assert_int_eq(count(MESOS__V1__EXECUTOR__EVENT__TYPE__ACKNOWLEDGED), 1);
    int64_t t0 = util_now_ms();
    mesos_exec_stop(E);
    ck_assert_int_lt(util_now_ms() - t0, 1000);
    ck_assert_int_eq(mesos_exec_message(E, "x", 1, err, sizeof(err)), MCM_ERR);
    ck_assert_int_eq(S.lost, 0);                            /* stop is not a disconnection */
}
END_TEST

/* The agent refuses SUBSCRIBE (503, "recovering"): the update made meanwhile
 * is not lost but rides in the first SUBSCRIBE that succeeds. */
START_TEST(test_executor_client_update_made_offline_goes_in_subscribe) {
    tagent_set_refuse(A, 503);
    start_client(1);
    ck_assert(th_wait(two_attempts, NULL, 5000));
    uint8_t uuid[16];
    ck_assert_int_eq(mesos_exec_update(E, "t1", MESOS__V1__TASK_STATE__TASK_STARTING, -1, NULL, uuid, err,
                                       sizeof(err)), MCM_ERR);
    ck_assert_msg(strstr(err, "not subscribed"), "%s", err);
    ck_assert_uint_eq(mesos_exec_unacked(E), 1);
    ck_assert_int_eq(got_final(NULL), 0);
    tagent_set_refuse(A, 0);
    Mesos__V1__Executor__Call *sub = tagent_wait_call(A, MESOS__V1__EXECUTOR__CALL__TYPE__SUBSCRIBE, 5000);
    ck_assert_ptr_nonnull(sub);
    /* A retry already under way when the refusal ended was built before the
     * update: then the update must follow as an UPDATE right after
     * SUBSCRIBED (the next test's rule), else it rides in the SUBSCRIBE. */
    Mesos__V1__Executor__Call *up = NULL;
    Mesos__V1__TaskStatus *st;
    if (sub->subscribe->n_unacknowledged_updates == 0) {
        up = tagent_wait_call(A, MESOS__V1__EXECUTOR__CALL__TYPE__UPDATE, 3000);
        ck_assert_msg(up != NULL, "the offline update is neither in the SUBSCRIBE nor sent after it");
        st = up->update->status;
    } else {
        ck_assert_int_eq(sub->subscribe->n_unacknowledged_updates, 1);
        st = sub->subscribe->unacknowledged_updates[0]->status;
    }
    ck_assert_int_eq(st->state, MESOS__V1__TASK_STATE__TASK_STARTING);
    ck_assert_int_eq(memcmp(st->uuid.data, uuid, 16), 0);
    tagent_ack(A, st);
    if (up) mesos__v1__executor__call__free_unpacked(up, NULL);
    mesos__v1__executor__call__free_unpacked(sub, NULL);
    ck_assert(th_wait(all_acked, NULL, 3000));
    ck_assert_int_eq(S.lost, 0);                            /* never had a subscription to lose */
}
END_TEST

/* An update made while SUBSCRIBE is in flight is not in that SUBSCRIBE: it
 * must go out right after SUBSCRIBED, not wait for the next reconnection. */
START_TEST(test_executor_client_update_during_subscribe_is_sent_after) {
    tagent_set_subscribe_delay(A, 700);
    start_client(1);
    int64_t end = util_now_ms() + 3000;
    while (tagent_count(A, MESOS__V1__EXECUTOR__CALL__TYPE__SUBSCRIBE) == 0 && util_now_ms() < end) util_sleep_ms(5);
    ck_assert_int_eq(mesos_exec_subscribed(E), 0);
    ck_assert_int_eq(mesos_exec_update(E, "t1", MESOS__V1__TASK_STATE__TASK_STARTING, -1, NULL, NULL, err,
                                       sizeof(err)), MCM_ERR);
    Mesos__V1__Executor__Call *up = tagent_wait_update(A, MESOS__V1__TASK_STATE__TASK_STARTING, 3000);
    ck_assert_msg(up != NULL, "the update made during SUBSCRIBE never went out");
    mesos__v1__executor__call__free_unpacked(up, NULL);
    ck_assert_int_eq(tagent_count(A, MESOS__V1__EXECUTOR__CALL__TYPE__SUBSCRIBE), 1);
    ck_assert(th_wait(all_acked, NULL, 2000));
    ck_assert_int_eq(mesos_exec_update(E, "t1", MESOS__V1__TASK_STATE__TASK_RUNNING, -1, NULL, NULL, err,
                                       sizeof(err)), MCM_OK);
}
END_TEST

START_TEST(test_executor_client_without_checkpointing_gives_up_at_once) {
    tagent_set_refuse(A, 503);
    start_client(0);
    ck_assert(th_wait(got_final, NULL, 5000));
    ck_assert_msg(strstr(S.why, "HTTP 503") && strstr(S.why, "no checkpointing"), "%s", S.why);
    ck_assert_int_eq(mesos_exec_subscribe_attempts(E), 1);
    ck_assert_int_eq(mesos_exec_update(E, "t1", MESOS__V1__TASK_STATE__TASK_RUNNING, -1, NULL, NULL, err,
                                       sizeof(err)), MCM_ERR);
}
END_TEST

/* A broken stream: reported (not final), then a new SUBSCRIBE carries the
 * unacknowledged update and the LAUNCHed TaskInfo. */
static void broken_stream_recovers(const void *raw, size_t len, const char *reason) {
    tagent_set_auto_ack(A, 0);
    start_client(1);
    ck_assert(th_wait(subscribed, NULL, 5000));
    tagent_launch(A, "t9", 31000, 64);
    while (count(MESOS__V1__EXECUTOR__EVENT__TYPE__LAUNCH) == 0) util_sleep_ms(10);
    ck_assert_int_eq(mesos_exec_update(E, "t9", MESOS__V1__TASK_STATE__TASK_RUNNING, -1, NULL, NULL, err,
                                       sizeof(err)), MCM_OK);
    if (raw) tagent_send_raw(A, raw, len);
    else tagent_drop_stream(A);
    Mesos__V1__Executor__Call *sub;
    ck_assert_ptr_nonnull(sub = tagent_wait_call(A, MESOS__V1__EXECUTOR__CALL__TYPE__SUBSCRIBE, 3000));
    mesos__v1__executor__call__free_unpacked(sub, NULL);     /* the first one */
    ck_assert_ptr_nonnull(sub = tagent_wait_call(A, MESOS__V1__EXECUTOR__CALL__TYPE__SUBSCRIBE, 5000));
    ck_assert_int_eq(sub->subscribe->n_unacknowledged_updates, 1);
    ck_assert_int_eq(sub->subscribe->n_unacknowledged_tasks, 1);
    ck_assert_str_eq(sub->subscribe->unacknowledged_tasks[0]->task_id->value, "t9");
    mesos__v1__executor__call__free_unpacked(sub, NULL);
    pthread_mutex_lock(&S.mu);
    ck_assert_int_eq(S.lost, 1);
    ck_assert_int_eq(S.final, 0);
    ck_assert_msg(strstr(S.why, reason), "'%s' lacks '%s'", S.why, reason);
    pthread_mutex_unlock(&S.mu);
}

START_TEST(test_executor_client_dropped_stream_resubscribes_with_unacked) {
    broken_stream_recovers(NULL, 0, "agent 127.0.0.1");
}
END_TEST

START_TEST(test_executor_client_bad_framing_ends_stream) {
    broken_stream_recovers("12x\n", 4, "bad RecordIO framing");
}
END_TEST

START_TEST(test_executor_client_undecodable_event_ends_stream) {
    broken_stream_recovers("3\n\xff\xff\xff", 5, "undecodable Event");
}
END_TEST

/* The agent goes away for longer than MESOS_RECOVERY_TIMEOUT: final. */
START_TEST(test_executor_client_recovery_timeout_is_final) {
    mesos_exec_config c = {0};
    char url[128];
    snprintf(url, sizeof(url), "http://%s/api/v1/executor", tagent_endpoint(A));
    c.agent_endpoint = (char *)tagent_endpoint(A);
    c.agent_url = url;
    c.framework_id = TAGENT_FRAMEWORK_ID;
    c.executor_id = EXEC_ID;
    c.checkpoint = 1;
    c.backoff_max_ms = 200;
    c.recovery_timeout_ms = 1000;
    mesos_exec_callbacks cb = {NULL, on_event, on_disconnected};
    ck_assert_ptr_nonnull(E = mesos_exec_new(&c, &cb, err, sizeof(err)));
    ck_assert_int_eq(mesos_exec_start(E), MCM_OK);
    ck_assert(th_wait(subscribed, NULL, 5000));
    int64_t t0 = util_now_ms();
    tagent_stop(A);
    ck_assert(th_wait(got_final, NULL, 5000));
    int64_t took = util_now_ms() - t0;
    ck_assert_msg(took >= 900 && took < 3000, "gave up after %lld ms", (long long)took);
    ck_assert_msg(strstr(S.why, "MESOS_RECOVERY_TIMEOUT"), "%s", S.why);
    ck_assert_int_ge(mesos_exec_subscribe_attempts(E), 3);  /* retried meanwhile */
}
END_TEST

/* MESOS_EXECUTOR_AUTHENTICATION_TOKEN goes out as a Bearer token. */
START_TEST(test_executor_client_sends_the_agent_token) {
    tagent_set_token(A, "s3cret");
    start_client_token(0, "s3cret");
    ck_assert(th_wait(subscribed, NULL, 5000));
    ck_assert_int_eq(mesos_exec_message(E, "m", 1, err, sizeof(err)), MCM_OK);
    mesos_exec_free(E);
    memset(&S.events, 0, sizeof(S.events));
    start_client_token(0, "wrong");
    ck_assert(th_wait(got_final, NULL, 5000));
    ck_assert_msg(strstr(S.why, "HTTP 401"), "%s", S.why);
}
END_TEST

START_TEST(test_executor_client_refuses_incomplete_config) {
    mesos_exec_config c = {0};
    mesos_exec_callbacks cb = {NULL, on_event, on_disconnected};
    ck_assert_ptr_null(mesos_exec_new(&c, &cb, err, sizeof(err)));
    ck_assert_msg(strstr(err, "required"), "%s", err);
    mesos_exec_free(NULL);
}
END_TEST

int main(void) {
    Suite *s = suite_create("executor_client");
    TCase *tc = tcase_create("client");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_executor_client_events_updates_and_prompt_stop);
    tcase_add_test(tc, test_executor_client_update_made_offline_goes_in_subscribe);
    tcase_add_test(tc, test_executor_client_update_during_subscribe_is_sent_after);
    tcase_add_test(tc, test_executor_client_without_checkpointing_gives_up_at_once);
    tcase_add_test(tc, test_executor_client_dropped_stream_resubscribes_with_unacked);
    tcase_add_test(tc, test_executor_client_bad_framing_ends_stream);
    tcase_add_test(tc, test_executor_client_undecodable_event_ends_stream);
    tcase_add_test(tc, test_executor_client_recovery_timeout_is_final);
    tcase_add_test(tc, test_executor_client_sends_the_agent_token);
    tcase_add_test(tc, test_executor_client_refuses_incomplete_config);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
