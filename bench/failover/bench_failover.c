/* bench_failover.c -- how long a failover takes, and what the scheduler costs.
 *
 * Starts a loopback cluster (real ZooKeeper, mcm-sim, three mcm-scheduler
 * replicas, real memcached through mcm-executor; tests/integration/cluster.h)
 * and, RUNS times each, kills the leader with SIGKILL or SIGTERM and polls the
 * other replicas' /v1/status for the new leader's term milestones: (a)
 * SUBSCRIBED received and (b) reconciliation finished (wall clock times the
 * replica records itself, so polling adds no error). The killed replica is
 * restarted (as a follower) before the next run. Then it starts a cluster
 * with 100 agents and 100 servers and reads the leader's RSS and CPU time
 * from /proc once they all run.
 *
 * Usage: bench_failover [runs] [session_timeout_ms] [servers]
 * Last line: name=value pairs. */
#include "cluster.h"
#include "harness.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int cmp64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int64_t pct(int64_t *v, int n, int p) {
    qsort(v, (size_t)n, sizeof(*v), cmp64);
    int i = (p * n + 99) / 100 - 1;
    return v[i < 0 ? 0 : i];
}

static int64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Replica i's milestones of its current term (wall clock ms, from
 * /v1/status "term"); 1 once it leads with reconciliation done. */
static int term_of(it_cluster *c, int i, int64_t *subscribed, int64_t *reconciled) {
    json_t *s = it_get_json(it_replica_port(c, i), "/v1/status");
    json_t *t = s ? json_object_get(s, "term") : NULL;
    *subscribed = t ? (int64_t)json_integer_value(json_object_get(t, "subscribed_ms")) : 0;
    *reconciled = t ? (int64_t)json_integer_value(json_object_get(t, "reconciled_ms")) : 0;
    json_decref(s);
    return *subscribed > 0 && *reconciled > 0;
}

static void one_run(it_cluster *c, int sig, int64_t *to_sub, int64_t *to_lead) {
    int old = it_wait_leader(c, 60000, -1);
    int64_t t0 = mono_ms(), w0 = wall_ms();
    it_replica_signal(c, old, sig);
    *to_sub = *to_lead = -1;
    while (mono_ms() - t0 < 60000 && *to_lead < 0) {
        for (int i = 0; i < 3 && *to_lead < 0; i++) {
            int64_t sub, rec;
            if (i == old || !term_of(c, i, &sub, &rec) || sub < w0) continue;
            *to_sub = sub - w0;
            *to_lead = rec - w0;
        }
        usleep(20000);
    }
    it_replica_wait_exit(c, old, 10000);
    it_replica_restart(c, old);
}

static void failovers(int runs, int session_ms, const char *name, int sig, int64_t out[4]) {
    it_opts o = {.instances = 3, .session_timeout_ms = session_ms};
    it_cluster *c = it_start(&o);
    json_t *d = it_wait_servers(c, 0, 3, 120000);
    if (!d) { fprintf(stderr, "cluster did not come up (logs in %s)\n", it_dir(c)); exit(1); }
    json_decref(d);
    int64_t sub[64], lead[64];
    for (int r = 0; r < runs; r++) {
        one_run(c, sig, &sub[r], &lead[r]);
        printf("%s run %d: subscribed after %lld ms, reconciled after %lld ms\n", name, r + 1,
               (long long)sub[r], (long long)lead[r]);
        fflush(stdout);
        sleep(2);   /* the restarted replica joins as a follower */
    }
    out[0] = pct(sub, runs, 50);
    out[1] = pct(sub, runs, 100);
    out[2] = pct(lead, runs, 50);
    out[3] = pct(lead, runs, 100);
    it_stop(c);
}

static void footprint(int servers, long *rss_kib, double *cpu_s) {
    it_opts o = {.instances = servers, .agents = servers, .session_timeout_ms = 10000,
                 .extra = {"--mem", "32MiB", "--cpus", "0.05", NULL}};
    it_cluster *c = it_start(&o);
    int64_t t0 = mono_ms();
    json_t *d = it_wait_servers(c, 0, servers, 600000);
    if (!d) { fprintf(stderr, "%d servers did not come up (logs in %s)\n", servers, it_dir(c)); exit(1); }
    json_decref(d);
    printf("%d servers running after %lld ms\n", servers, (long long)(mono_ms() - t0));
    sleep(10);   /* steady state: reports flowing */
    int l = it_wait_leader(c, 10000, -1);
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)it_replica_pid(c, l));
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, "VmRSS:", 6)) *rss_kib = atol(line + 6);
    if (f) fclose(f);
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)it_replica_pid(c, l));
    f = fopen(path, "r");
    unsigned long ut = 0, st = 0;
    if (f && fscanf(f, "%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
        *cpu_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
    if (f) fclose(f);
    it_stop(c);
}

static int runs = 5, session_ms = 4000, servers = 100;

/* The harness reports failures through Check, so the benchmark runs as one
 * Check test (not forked): a failure prints the harness's reason and exits 1. */
START_TEST(bench) {
    int64_t k[4], t[4];
    long rss = 0;
    double cpu = 0;
    printf("failover benchmark: %d runs each, ZooKeeper session timeout %d ms\n", runs, session_ms);
    failovers(runs, session_ms, "SIGKILL", SIGKILL, k);
    failovers(runs, session_ms, "SIGTERM", SIGTERM, t);
    if (servers > 0) footprint(servers, &rss, &cpu);
    printf("leader RSS with %d servers: %ld KiB, CPU time since start: %.2f s\n", servers, rss, cpu);
    printf("session_timeout_ms=%d runs=%d kill_subscribed_ms_p50=%lld kill_subscribed_ms_max=%lld "
           "kill_reconciled_ms_p50=%lld kill_reconciled_ms_max=%lld term_subscribed_ms_p50=%lld "
           "term_subscribed_ms_max=%lld term_reconciled_ms_p50=%lld term_reconciled_ms_max=%lld servers=%d "
           "rss_kib=%ld cpu_s=%.2f\n",
           session_ms, runs, (long long)k[0], (long long)k[1], (long long)k[2], (long long)k[3], (long long)t[0],
           (long long)t[1], (long long)t[2], (long long)t[3], servers, rss, cpu);
}
END_TEST

int main(int argc, char **argv) {
    if (argc > 1) runs = atoi(argv[1]);
    if (argc > 2) session_ms = atoi(argv[2]);
    if (argc > 3) servers = atoi(argv[3]);
    if (runs < 1 || runs > 64) runs = 5;
    if (session_ms < 1000) session_ms = 4000;
    return th_run_alone("bench_failover", bench) ? 1 : 0;
}
