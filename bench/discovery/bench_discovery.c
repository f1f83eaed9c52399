/* bench_discovery.c -- the discovery benchmark (issue 7): how fast mcm serves
 * GET /v1/servers next to nginx, and how soon mcm-watch follows a change.
 *
 * Usage: bench_discovery [duration_s [changes [servers [connections [threads [rounds]]]]]]
 *   defaults 10 500 100 32 2 3. Needs wrk and nginx (Debian packages wrk and
 *   nginx-light: scripts/install-deps --bench) and a built mcm-watch
 *   ($MCM_BUILD_DIR, else this build tree). Without wrk or nginx it says so
 *   and exits 1: no figure is ever invented.
 * Prints what it measured, and ends with one line of name=value pairs.
 *
 * Shape: both parts (rps.c, latency.c) run inside one Check test with
 * CK_NOFORK, so the harness (real ZooKeeper, child processes that die with
 * us) and its ck_abort_msg() failures work as in the tests; a failure is
 * printed to stderr and the exit status is 1.
 * Threads: the main thread. */
#include "bench_discovery.h"

#include <check.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static rps_opts ropts = {.servers = 100, .duration_s = 10, .conns = 32, .threads = 2, .rounds = 3};
static int changes = 500;
static char watch_bin[1024];
static rps_figures rps;
static watch_figures watch;
static cpu_set_t start_cpus;

double bench_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double bench_pct(double *v, int n, double p) {
    qsort(v, (size_t)n, sizeof(*v), cmp);
    int i = (int)((p * n + 99) / 100) - 1;
    return v[i < 0 ? 0 : i >= n ? n - 1 : i];
}

void bench_pin(int cpu) {
    cpu_set_t s = start_cpus;
    if (cpu >= 0) {
        CPU_ZERO(&s);
        CPU_SET(cpu, &s);
    }
    ck_assert_msg(sched_setaffinity(0, sizeof(s), &s) == 0, "cannot bind to CPU %d", cpu);
}

/* A forked child inherits the forking thread's CPU set: bind, fork, rebind. */
th_proc *bench_spawn(int cpu, char *const argv[], const char *log_path) {
    cpu_set_t mine;
    ck_assert(sched_getaffinity(0, sizeof(mine), &mine) == 0);
    if (cpu >= 0) bench_pin(cpu);
    th_proc *p = th_proc_start(argv, log_path);
    ck_assert(sched_setaffinity(0, sizeof(mine), &mine) == 0);
    return p;
}

/* The program's path in PATH or the sbin directories, or NULL. */
static const char *find_program(const char *name) {
    static char found[2][1024];
    static int slot;
    const char *path = getenv("PATH");
    char dirs[4096];
    snprintf(dirs, sizeof(dirs), "%s:/usr/sbin:/sbin:/usr/local/sbin", path ? path : "/usr/bin:/bin");
    for (char *save, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        char *f = found[slot % 2];
        snprintf(f, sizeof(found[0]), "%s/%s", d, name);
        if (access(f, X_OK) == 0) return found[slot++ % 2];
    }
    return NULL;
}

START_TEST(bench) {
    rps_measure(&ropts, &rps);
    fflush(stdout);
    watch_latency_measure(watch_bin, changes, ropts.servers, &watch);
}
END_TEST


static void parse_args(int argc, char **argv) {
    int *dst[] = {&ropts.duration_s, &changes, &ropts.servers, &ropts.conns, &ropts.threads, &ropts.rounds};
    int max[] = {3600, 100000, 10000, 1000, 64, RPS_ROUNDS_MAX};
    for (int i = 1; i < argc; i++) {
        int v = atoi(argv[i]);
        if (i > 6 || v < 1 || v > max[i - 1]) {
            fprintf(stderr, "usage: %s [duration_s [changes [servers [connections [threads [rounds]]]]]]\n", argv[0]);
            exit(2);
        }
        *dst[i - 1] = v;
    }
}

int main(int argc, char **argv) {
    parse_args(argc, argv);
    setvbuf(stdout, NULL, _IOLBF, 0);
    ropts.wrk = find_program("wrk");
    ropts.nginx = find_program("nginx");
    if (!ropts.wrk || !ropts.nginx) {
        printf("bench_discovery: %s not found: install the Debian packages wrk and nginx-light "
               "(scripts/install-deps --bench); nothing measured\n",
               !ropts.wrk && !ropts.nginx ? "wrk and nginx" : !ropts.wrk ? "wrk" : "nginx");
        return 1;
    }
    const char *b = getenv("MCM_BUILD_DIR");
    snprintf(watch_bin, sizeof(watch_bin), "%s/src/discovery/mcm-watch", b ? b : MCM_BUILD_DIR_DEFAULT);
    sched_getaffinity(0, sizeof(start_cpus), &start_cpus);
    if (th_run_alone("bench_discovery", bench)) return 1;
    printf("servers=%d body_bytes=%zu wrk_threads=%d wrk_conns=%d duration_s=%d rounds=%d pinned=%d "
           "mcm_rps=%.0f mcm_p50_ms=%.2f mcm_p99_ms=%.2f mcm_cpu_pct=%.0f mcm_rps_per_cpu=%.0f "
           "nginx_rps=%.0f nginx_p50_ms=%.2f nginx_p99_ms=%.2f nginx_cpu_pct=%.0f nginx_rps_per_cpu=%.0f "
           "mcm_304_rps=%.0f mcm_304_p99_ms=%.2f nginx_304_rps=%.0f nginx_304_p99_ms=%.2f "
           "watch_changes=%d watch_p50_ms=%.2f watch_p99_ms=%.2f watch_max_ms=%.2f\n",
           ropts.servers, rps.body_bytes, ropts.threads, ropts.conns, ropts.duration_s, ropts.rounds, rps.pinned,
           rps.mcm.rps, rps.mcm.p50_ms, rps.mcm.p99_ms, rps.mcm.server_cpu_pct, rps.mcm.per_cpu_s, rps.nginx.rps,
           rps.nginx.p50_ms, rps.nginx.p99_ms, rps.nginx.server_cpu_pct, rps.nginx.per_cpu_s,
           rps.mcm_304.rps, rps.mcm_304.p99_ms, rps.nginx_304.rps, rps.nginx_304.p99_ms,
           watch.changes, watch.p50_ms, watch.p99_ms, watch.max_ms);
    return 0;
}
