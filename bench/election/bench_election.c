/* bench_election.c -- how fast leadership moves, and how fast the leader writes.
 *
 * Starts a real ZooKeeper (harness; tickTime 100 ms) and three replicas
 * (tests/election/replica.h: each its own session, elect, state and owner
 * thread, as three mcm-scheduler processes would have), then RUNS times each:
 *   resign  the leader resigns (elect_resign deletes its member znode) ->
 *           time until another replica's `elected` callback ran;
 *   close   the leader's session is closed without resigning
 *           (zookeeper_close, what a killed process does) -> the same.
 * The stopped replica is started again (it joins at the back) before the
 * next run. Then the leader writes task records through state_put_task (one
 * fenced multi each, sequential) for WRITE_S seconds, and publishes 10,000
 * servers (state_publish_servers: new, then with one server replaced).
 *
 * Usage: bench_election [runs [session_timeout_ms [write_s]]]   (20 4000 5)
 * Last line: name=value pairs.
 *
 * Shape: runs inside one Check test with CK_NOFORK so the harness's
 * ck_abort_msg() failures work as in the tests (printed, exit status 1).
 * Threads: the main thread, plus each replica's owner thread. */
#include "harness.h"
#include "log.h"
#include "mcm.h"
#include "replica.h"
#include "srvlist.h"
#include "util.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int runs = 20, write_s = 5;
static int64_t timeout_ms = 4000;

typedef struct figures {
    int64_t resign[1000], close[1000];
    double writes_per_s, write_us_p50, write_us_p99;
    long writes;
    int64_t pub_first_ms, pub_change_ms;
} figures;

static figures F;

static int cmp64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int64_t pct(int64_t *v, int n, int p) {
    int64_t *c = malloc(sizeof(*c) * (size_t)n);
    memcpy(c, v, sizeof(*c) * (size_t)n);
    qsort(c, (size_t)n, sizeof(*c), cmp64);
    int i = (p * n + 99) / 100 - 1;
    int64_t r = c[i < 0 ? 0 : i];
    free(c);
    return r;
}

/* One handover: stops the leader (resigning or not), returns ms until the
 * next elected callback, and starts the stopped replica again. */
static int64_t handover(replica **rs, const char *hosts, int resign, int *gen) {
    int l = replicas_wait_one_leader(rs, 3, 20000);
    ck_assert_msg(l >= 0, "no single leader");
    char name[32];
    snprintf(name, sizeof(name), "%s", replica_name(rs[l]));
    int64_t t0 = replica_stop(rs[l], resign);
    rs[l] = NULL;
    int next = replicas_wait_one_leader(rs, 3, (int)timeout_ms * 3);
    ck_assert_msg(next >= 0, "nobody elected after %s %s", name, resign ? "resigned" : "closed");
    int64_t took = replica_elected_after(rs[next], t0) - t0;
    ck_assert_msg(took >= 0, "elected before the handover?");
    snprintf(name, sizeof(name), "r%d", (*gen)++);
    rs[l] = replica_start(name, hosts, "/mcm", timeout_ms, NULL);
    return took;
}

typedef struct pub { int n; int64_t first_ms, change_ms; char err[512]; } pub;

static srvlist *servers(int n, int skew) {
    srvlist *l = srvlist_new();
    for (int i = 0; i < n; i++) {
        char host[32], id[48];
        snprintf(host, sizeof(host), "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        snprintf(id, sizeof(id), "mcm-%08d-0000-4000-8000-%012d", i + (i == 42 ? skew : 0), i);
        srvlist_add(l, i == 42 && skew ? "192.168.0.1" : host, 31000 + i % 1000, id);
    }
    return l;
}

/* On the leader's owner thread: publish n new servers, then replace one. */
static int publish_loop(replica *r, void *arg) {
    pub *p = arg;
    srvlist *a = servers(p->n, 0), *b = servers(p->n, 1);
    int64_t t0 = util_now_ms();
    int rc = state_publish_servers(replica_state(r), a, NULL, p->err, sizeof(p->err));
    int64_t t1 = util_now_ms();
    if (rc == MCM_OK) rc = state_publish_servers(replica_state(r), b, NULL, p->err, sizeof(p->err));
    p->first_ms = t1 - t0;
    p->change_ms = util_now_ms() - t1;
    srvlist_free(a);
    srvlist_free(b);
    return rc;
}

typedef struct writes { int seconds; long n; int64_t *lat_us; long cap; char err[512]; } writes;

static int64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* On the leader's owner thread: sequential fenced task updates. */
static int write_loop(replica *r, void *arg) {
    writes *w = arg;
    state *s = replica_state(r);
    int64_t end = util_now_ms() + w->seconds * 1000;
    state_task t = {.port = 31000, .state = 1, .cpus = 0.5, .mem_mb = 1024};
    snprintf(t.agent_id, sizeof(t.agent_id), "2c9c0d5c-7f0a-4f6e-a8b1-3c1f1e9d2a10-S3");
    snprintf(t.hostname, sizeof(t.hostname), "10.0.3.17");
    while (util_now_ms() < end && w->n < w->cap) {
        snprintf(t.id, sizeof(t.id), "mcm-%08ld-0000-4000-8000-000000000000", w->n % 100);
        t.changed_ms = util_wall_ms();
        snprintf(t.reason, sizeof(t.reason), "update %ld", w->n);
        int64_t t0 = now_us();
        if (state_put_task(s, &t, w->err, sizeof(w->err)) != MCM_OK) return -1;
        w->lat_us[w->n++] = now_us() - t0;
    }
    return 0;
}

START_TEST(bench) {
    th_zk *zk = th_zk_start();
    replica *rs[3];
    int gen = 3;
    for (int i = 0; i < 3; i++) {
        char name[8];
        snprintf(name, sizeof(name), "r%d", i);
        rs[i] = replica_start(name, th_zk_hosts(zk), "/mcm", timeout_ms, NULL);
    }
    for (int i = 0; i < runs; i++) {
        F.resign[i] = handover(rs, th_zk_hosts(zk), 1, &gen);
        F.close[i] = handover(rs, th_zk_hosts(zk), 0, &gen);
        printf("run %2d: resign -> elected %3lld ms, close -> elected %3lld ms\n", i + 1,
               (long long)F.resign[i], (long long)F.close[i]);
    }
    int l = replicas_wait_one_leader(rs, 3, 20000);
    ck_assert(l >= 0);
    writes w = {.seconds = write_s, .cap = 10000000};
    w.lat_us = malloc(sizeof(*w.lat_us) * (size_t)w.cap);
    int64_t t0 = util_now_ms();
    ck_assert_msg(replica_call(rs[l], write_loop, &w) == 0, "write: %s", w.err);
    double secs = (double)(util_now_ms() - t0) / 1000.0;
    F.writes = w.n;
    F.writes_per_s = (double)w.n / secs;
    F.write_us_p50 = (double)pct(w.lat_us, (int)w.n, 50);
    F.write_us_p99 = (double)pct(w.lat_us, (int)w.n, 99);
    printf("fenced writes: %ld state_put_task in %.1f s = %.0f/s (p50 %.0f us, p99 %.0f us)\n", w.n, secs,
           F.writes_per_s, F.write_us_p50, F.write_us_p99);
    free(w.lat_us);
    pub p = {.n = 10000};
    ck_assert_msg(replica_call(rs[l], publish_loop, &p) == MCM_OK, "publish: %s", p.err);
    F.pub_first_ms = p.first_ms;
    F.pub_change_ms = p.change_ms;
    printf("publish 10,000 servers: %lld ms (new, chunked fenced multis); one replaced: %lld ms (one multi)\n",
           (long long)p.first_ms, (long long)p.change_ms);
    for (int i = 0; i < 3; i++) replica_stop(rs[i], 1);
    th_zk_free(zk);
}
END_TEST


int main(int argc, char **argv) {
    if (argc > 1) runs = atoi(argv[1]);
    if (argc > 2) timeout_ms = atoi(argv[2]);
    if (argc > 3) write_s = atoi(argv[3]);
    if (argc > 4 || runs < 1 || runs > 1000 || timeout_ms < 200 || write_s < 1) {
        fprintf(stderr, "usage: %s [runs (1-1000) [session_timeout_ms [write_s]]]\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    log_set_level(LOG_WARNING);
    if (th_run_alone("bench_election", bench)) return 1;
    printf("runs=%d session_timeout_ms=%lld resign_ms_p50=%lld resign_ms_p99=%lld resign_ms_max=%lld "
           "close_ms_p50=%lld close_ms_p99=%lld close_ms_max=%lld writes=%ld writes_per_s=%.0f "
           "write_us_p50=%.0f write_us_p99=%.0f publish10k_new_ms=%lld publish10k_one_changed_ms=%lld\n",
           runs, (long long)timeout_ms, (long long)pct(F.resign, runs, 50), (long long)pct(F.resign, runs, 99),
           (long long)pct(F.resign, runs, 100), (long long)pct(F.close, runs, 50), (long long)pct(F.close, runs, 99),
           (long long)pct(F.close, runs, 100), F.writes, F.writes_per_s, F.write_us_p50, F.write_us_p99,
           (long long)F.pub_first_ms, (long long)F.pub_change_ms);
    return 0;
}
