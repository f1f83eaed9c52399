/* test_state_zk_restart.c -- fenced writes in flight while ZooKeeper restarts.
 *
 * Issue 17 item 3: a fenced multi that was sent but not answered when the
 * connection dropped leaked libzookeeper's per-op completions (the
 * synchronous zoo_multi path frees the multi's entry, not its sub-op list).
 * Under ASan with detect_leaks=1 that leak makes the process exit non-zero,
 * so this suite passes only if nothing leaks.
 *
 * Shape: the leader node talks to ZooKeeper through zkt_proxy. A writer
 * thread (the node's only user, so the owner thread of its zks/elect/state)
 * puts task records back to back. Each of 20 cycles black-holes the proxy,
 * waits until a write has been sent into the hole, kills the server (the
 * proxy then drops the connection under the unanswered multi), restarts the
 * server, heals the proxy and waits for the next successful write. Every
 * cycle must end exactly one write with "connection loss" (so a multi was in
 * flight each time), none may be fenced: the 20 s session survives. Then
 * everything is closed cleanly and LeakSanitizer checks at exit.
 * Threads: the test's main thread drives the server and proxy; the writer
 * thread owns the node. */
#include "harness.h"
#include "mcm.h"
#include "state.h"
#include "stnode.h"
#include "util.h"
#include "zkt.h"

#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define CYCLES 20
#define SESSION_MS 20000

typedef struct writer {
    node *n;
    atomic_int stop;
    atomic_int started, finished;     /* calls begun, calls returned */
    atomic_int ok, lost, fenced;      /* outcomes: written, in flight at a drop, fenced */
    char last_err[512];               /* the writer's; read after join */
} writer;

static void *writer_main(void *arg) {
    writer *w = arg;
    char err[512];
    for (int i = 0; !atomic_load(&w->stop); i++) {
        state_task t = task("mcm-restart", 31000 + i % 1000, 1);
        atomic_fetch_add(&w->started, 1);
        int rc = state_put_task(w->n->s, &t, err, sizeof(err));
        if (rc == MCM_OK) atomic_fetch_add(&w->ok, 1);
        else if (rc == STATE_FENCED) atomic_fetch_add(&w->fenced, 1);
        else if (strstr(err, "may or may not have been applied")) atomic_fetch_add(&w->lost, 1);
        if (rc != MCM_OK) snprintf(w->last_err, sizeof(w->last_err), "%s", err);
        atomic_fetch_add(&w->finished, 1);
        if (rc != MCM_OK) util_sleep_ms(5);          /* not connected: wait for the session */
    }
    return NULL;
}

static int in_flight(writer *w) { return atomic_load(&w->finished) < atomic_load(&w->started); }

static int wait_for(atomic_int *counter, int above, int timeout_ms) {
    int64_t deadline = util_now_ms() + timeout_ms;
    while (atomic_load(counter) <= above && util_now_ms() < deadline) util_sleep_ms(5);
    return atomic_load(counter) > above;
}

/* One cycle: a write sent into the hole, the server killed under it, back. */
static void restart_under_write(th_zk *zk, zkt_proxy *px, writer *w, int cycle) {
    zkt_proxy_blackhole(px, 1);
    int lost0 = atomic_load(&w->lost), ok0;
    /* A write sent just before the hole opened may still be answered: wait
     * for one that stays unanswered for 100 ms (sent into the hole). */
    int64_t deadline = util_now_ms() + 5000;
    int stuck = 0;
    while (!stuck && util_now_ms() < deadline) {
        while (!in_flight(w) && util_now_ms() < deadline) util_sleep_ms(1);
        int started = atomic_load(&w->started);
        util_sleep_ms(100);
        stuck = in_flight(w) && atomic_load(&w->started) == started;
    }
    ck_assert_msg(stuck, "cycle %d: no write stuck in the black hole", cycle);
    th_zk_stop(zk, 1);
    ck_assert_msg(wait_for(&w->lost, lost0, 10000), "cycle %d: the in-flight write did not fail", cycle);
    ok0 = atomic_load(&w->ok);
    th_zk_restart(zk);                               /* answering before the client may reach it */
    zkt_proxy_blackhole(px, 0);
    ck_assert_msg(wait_for(&w->ok, ok0, 20000), "cycle %d: no write after the restart", cycle);
}

START_TEST(test_state_writes_in_flight_across_zk_restarts_leak_nothing) {
    th_zk *zk = th_zk_start();
    zkt_proxy *px = zkt_proxy_start(th_zk_port(zk));
    char hosts[64];
    snprintf(hosts, sizeof(hosts), "127.0.0.1:%d", zkt_proxy_port(px));
    writer w = {.n = node_new_at(hosts, "a", NULL, SESSION_MS)};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, writer_main, &w), 0);
    ck_assert(wait_for(&w.ok, 0, 10000));
    for (int c = 0; c < CYCLES; c++) restart_under_write(zk, px, &w, c);
    atomic_store(&w.stop, 1);
    pthread_join(th, NULL);
    ck_assert_msg(atomic_load(&w.lost) == CYCLES, "lost %d of %d (last error: %s)",
                  atomic_load(&w.lost), CYCLES, w.last_err);
    ck_assert_msg(atomic_load(&w.fenced) == 0, "fenced: %s", w.last_err);
    printf("restart: %d cycles, %d writes, %d in flight at a drop\n", CYCLES,
           atomic_load(&w.ok), atomic_load(&w.lost));
    node_free(w.n);
    zkt_proxy_free(px);
    th_zk_free(zk);
}
END_TEST

int main(void) {
    Suite *s = suite_create("state_zk_restart");
    TCase *tc = tcase_create("restart");
    tcase_set_timeout(tc, 400);
    tcase_add_test(tc, test_state_writes_in_flight_across_zk_restarts_leak_nothing);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
