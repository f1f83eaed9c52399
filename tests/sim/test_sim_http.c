/* test_sim_http.c -- mcm-sim's HTTP model (sim_http.c, sim_stream.c,
 * sim_park.c, sim_listen.c): its threads do not grow with agents,
 * subscriptions or idle streams; a closed subscription is noticed while its
 * stream is idle and while it is held by /sim/silence; a call held back by
 * /sim/call-delay is parked, not slept on, so other requests are answered
 * meanwhile. The real program as a child; every wait is bounded. */
#include "harness.h"
#include "simc.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EV(t) MESOS__V1__SCHEDULER__EVENT__TYPE__##t
#define CALL(t) MESOS__V1__SCHEDULER__CALL__TYPE__##t
#define HTTP_THREADS_MAX 10   /* main, loop, 2 + 2 epoll, accept, park: 8, and some slack */
#define DELAYED_CALLS 4       /* more than the master's 2 epoll threads */

static simc *S;

static void teardown(void) {
    simc_free(S);
    S = NULL;
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int threads_of(int pid) {
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    int n = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "Threads: %d", &n) == 1) break;
    if (f) fclose(f);
    return n;
}

static simc_sub *subscribe(const char *name, char *id, size_t idlen, Mesos__V1__FrameworkInfo **fi) {
    *fi = simc_fi(name, NULL, 1, 3600);
    simc_sub *sub = simc_subscribe(simc_port(S), *fi);
    ck_assert_int_eq(simc_sub_status(sub, 5000), 200);
    Mesos__V1__Scheduler__Event *ev = simc_sub_next(sub, EV(SUBSCRIBED), 5000);
    ck_assert_ptr_nonnull(ev);
    snprintf(id, idlen, "%s", ev->subscribed->framework_id->value);
    mesos__v1__scheduler__event__free_unpacked(ev, NULL);
    return sub;
}

/* 1 once /sim/state shows framework 0 disconnected, within timeout_ms. */
static int disconnected_within(int timeout_ms) {
    for (int64_t end = now_ms() + timeout_ms; now_ms() < end; usleep(50 * 1000)) {
        json_t *st = simc_state(S);
        json_t *f = json_array_get(json_object_get(st, "frameworks"), 0);
        int gone = f && json_is_false(json_object_get(f, "connected"));
        json_decref(st);
        if (gone) return 1;
    }
    return 0;
}

START_TEST(test_sim_http_threads_do_not_grow_with_agents_or_streams) {
    const char *args[] = {"--agents", "64", "--resources", "cpus:4;mem:4096;ports:[31000-31999]", NULL};
    S = simc_start(args);
    int idle = threads_of(simc_pid(S));
    ck_assert_msg(idle > 0 && idle <= HTTP_THREADS_MAX, "64 agents, no client: %d threads", idle);
    Mesos__V1__FrameworkInfo *fi[3];
    simc_sub *sub[3];
    char id[256];
    for (int i = 0; i < 3; i++) sub[i] = subscribe("threads", id, sizeof(id), &fi[i]);
    usleep(300 * 1000);                        /* the streams are idle now: suspended */
    int busy = threads_of(simc_pid(S));
    ck_assert_msg(busy <= HTTP_THREADS_MAX, "3 idle subscriptions: %d threads (%d without)", busy, idle);
    for (int i = 0; i < 3; i++) simc_sub_close(sub[i]), simc_fi_free(fi[i]);
}
END_TEST

START_TEST(test_sim_http_closed_idle_subscription_is_noticed) {
    S = simc_start(NULL);
    Mesos__V1__FrameworkInfo *fi;
    char id[256];
    simc_sub *sub = subscribe("hup", id, sizeof(id), &fi);
    usleep(200 * 1000);                        /* idle: the stream's connection is suspended */
    simc_sub_close(sub);
    ck_assert_msg(disconnected_within(2000), "a closed idle subscription was not noticed within 2 s");
    ck_assert(simc_log_has(S, "client hung up"));
    simc_fi_free(fi);
}
END_TEST

START_TEST(test_sim_http_closed_silenced_subscription_is_noticed) {
    S = simc_start(NULL);
    Mesos__V1__FrameworkInfo *fi;
    char id[256];
    simc_sub *sub = subscribe("held", id, sizeof(id), &fi);
    ck_assert_int_eq(simc_http(simc_port(S), "POST", "/sim/silence?enabled=1", NULL), 200);
    usleep(1500 * 1000);                       /* an offer round is queued and held */
    simc_sub_close(sub);
    ck_assert_msg(disconnected_within(2000), "a closed held subscription was not noticed within 2 s");
    simc_fi_free(fi);
}
END_TEST

typedef struct delayed {
    int port, status;
    int64_t ms;
} delayed;

static void *delayed_call(void *arg) {
    delayed *d = arg;
    Mesos__V1__Scheduler__Call c;
    Mesos__V1__FrameworkID fid;
    simc_call_init(&c, &fid, "no-such-framework", CALL(REVIVE));
    int64_t t0 = now_ms();
    d->status = simc_call(d->port, "x", &c, NULL, 0);
    d->ms = now_ms() - t0;
    return NULL;
}

START_TEST(test_sim_http_call_delay_parks_calls_and_serves_others) {
    S = simc_start(NULL);
    ck_assert_int_eq(simc_http(simc_port(S), "POST", "/sim/call-delay?ms=1500", NULL), 200);
    delayed d[DELAYED_CALLS];
    pthread_t t[DELAYED_CALLS];
    for (int i = 0; i < DELAYED_CALLS; i++) {
        d[i] = (delayed){.port = simc_port(S)};
        ck_assert_int_eq(pthread_create(&t[i], NULL, delayed_call, &d[i]), 0);
    }
    usleep(300 * 1000);                        /* every call is parked now */
    int64_t t0 = now_ms();
    json_t *st = simc_state(S);
    int64_t state_ms = now_ms() - t0;
    ck_assert_ptr_nonnull(st);
    json_decref(st);
    ck_assert_msg(state_ms < 500, "GET /sim/state took %lld ms while %d calls were delayed", (long long)state_ms,
                  DELAYED_CALLS);
    for (int i = 0; i < DELAYED_CALLS; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(d[i].status, 400);    /* "Framework cannot be found", after the delay */
        ck_assert_msg(d[i].ms >= 1400, "call %d answered after %lld ms, before its delay", i, (long long)d[i].ms);
    }
}
END_TEST

Suite *suite(void) {
    Suite *s = suite_create("sim_http");
    TCase *tc = tcase_create("http");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_sim_http_threads_do_not_grow_with_agents_or_streams);
    tcase_add_test(tc, test_sim_http_closed_idle_subscription_is_noticed);
    tcase_add_test(tc, test_sim_http_closed_silenced_subscription_is_noticed);
    tcase_add_test(tc, test_sim_http_call_delay_parks_calls_and_serves_others);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
