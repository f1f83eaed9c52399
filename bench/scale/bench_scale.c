/* bench_scale.c -- mcm at N = 10, 100, 1,000 servers (issue 20): what each part costs as N grows.
 *
 * Usage: bench_scale [--n 10,100,1000] [--tasks 10000] [--session 10s-as-ms]
 *                    [--steady S] [--wrk S] [--no-failover] [--quick] [--sim-only]
 *   --n            fleet sizes, comma-separated (1..1000: mcm-sim's agent limit)
 *   --tasks        task records stored for the failover part (default 10000)
 *   --session-ms   the replicas' ZooKeeper session timeout (default 10000, mcm's)
 *   --steady       seconds over which steady CPU is sampled (default 30)
 *   --wrk          seconds of each wrk run (default 5)
 *   --no-failover  leave out the stored-tasks failover part
 *   --quick        --n 10 --tasks 1000 --steady 5 --wrk 2 (about 2 minutes)
 *   --sim-only     part 1 alone (the simulator's own limit), per N
 * Needs wrk and nginx for the HTTP part (scripts/install-deps --bench); without
 * them that part is reported as not measured, never invented.
 *
 * Per N, in order (each part is a file, see scale.h):
 *  1. the simulator's limit: a minimal scheduler on a fresh mcm-sim launches N
 *     tasks (scale_min.c);
 *  2. a fresh installation (scale_inst.c): the leader's term.elected_ms (its
 *     own clock) to the moment its /v1/servers lists N (polled every 50 ms),
 *     launches per second, and the ratio to 1.;
 *  3. steady: 10 s after that, CPU of the leader and of a follower over
 *     --steady seconds (utime+stime from /proc, % of one core), RSS, threads,
 *     and the executors' and memcached's total RSS;
 *  4. GET /v1/servers of a follower next to nginx, 200 and 304 (scale_http.c);
 *  5. one change to the servers znode and mcm-watch (scale_change.c);
 *  6. with --tasks records stored, the new leader's load + reconcile after
 *     SIGTERM and then after SIGKILL of the leader (scale_tasks.c).
 * Prints each figure, then one line of name=value pairs for all N.
 *
 * Shape: one Check test run alone (th_run_alone), so the harness's real
 * ZooKeeper, its child processes that die with us and its ck_abort_msg()
 * failures work as in the tests; a failure prints its reason and exits 1.
 * Threads: the main thread. */
#include "scale.h"

#include <check.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SCALE_MAX_SIZES 8
#define SCALE_LINE_MAX 16384

static scale_opts base = {.tasks = 10000, .session_ms = 10000, .steady_s = 30, .wrk_s = 5};
static int sizes[SCALE_MAX_SIZES] = {10, 100, 1000}, nsizes = 3, failover = 1, sim_only;
static char line[SCALE_LINE_MAX];
static size_t line_len;

static void put(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void put(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(line + line_len, sizeof(line) - line_len, fmt, ap);
    va_end(ap);
    if (k > 0 && line_len + (size_t)k < sizeof(line)) line_len += (size_t)k;
}

/* Waits until replica l lists n servers; the wall clock then, -1 on timeout. */
static int64_t wait_published(scale_inst *s, int l, int n, int timeout_ms) {
    for (int64_t t0 = scale_mono_ms(); scale_mono_ms() - t0 < timeout_ms; usleep(50000))
        if (scale_servers(scale_port(s, l)) == n) return scale_wall_ms();
    return -1;
}

static int64_t elected_ms(scale_inst *s, int l) {
    json_t *j = scale_get_json(scale_port(s, l), "/v1/status");
    int64_t v = (int64_t)json_integer_value(json_object_get(json_object_get(j, "term"), "elected_ms"));
    json_decref(j);
    return v;
}

static void steady(scale_inst *s, int l, int fo, const scale_opts *o) {
    pid_t lp = scale_pid(s, l), fp = scale_pid(s, fo);
    double l0 = scale_cpu_s(lp), f0 = scale_cpu_s(fp);
    int64_t t0 = scale_mono_ms();
    sleep((unsigned)o->steady_s);
    double wall = (double)(scale_mono_ms() - t0) / 1000.0;
    double lc = 100.0 * (scale_cpu_s(lp) - l0) / wall, fc = 100.0 * (scale_cpu_s(fp) - f0) / wall;
    long lr = scale_rss_kib(lp), fr = scale_rss_kib(fp);
    int ne, nm;
    long er = scale_rss_of(s, "mcm-executor", &ne), mr = scale_rss_of(s, "memcached", &nm);
    long la = scale_anon_kib(lp), lpss = scale_pss_kib(lp), fa = scale_anon_kib(fp), fpss = scale_pss_kib(fp);
    printf("steady over %.0f s: leader CPU %.2f %% of a core, RSS %ld KiB (anonymous %ld, PSS %ld), %d threads; "
           "follower CPU %.2f %%, RSS %ld KiB (anonymous %ld, PSS %ld), %d threads\n", wall, lc, lr, la, lpss,
           scale_threads(lp), fc, fr, fa, fpss, scale_threads(fp));
    printf("  the servers: %d executors %ld KiB in all (%ld each), %d %s %ld KiB in all (%ld each)\n", ne, er,
           ne ? er / ne : 0, nm, "memcached", mr, nm ? mr / nm : 0);
    put(" n%d_leader_cpu_pct=%.2f n%d_leader_rss_kib=%ld n%d_leader_anon_kib=%ld n%d_leader_pss_kib=%ld "
        "n%d_leader_threads=%d n%d_follower_cpu_pct=%.2f n%d_follower_rss_kib=%ld n%d_follower_anon_kib=%ld "
        "n%d_executor_rss_kib=%ld n%d_server_rss_kib=%ld", o->n, lc, o->n, lr, o->n, la, o->n, lpss, o->n,
        scale_threads(lp), o->n, fc, o->n, fr, o->n, fa, o->n, ne ? er / ne : 0, o->n, nm ? mr / nm : 0);
}

static void http_part(scale_inst *s, int fo, const scale_opts *o) {
    scale_http_figures h = {0};
    if (!scale_http_measure(s, fo, o, &h)) {
        printf("GET /v1/servers: not measured (wrk or nginx missing: scripts/install-deps --bench)\n");
        put(" n%d_http=not_measured", o->n);
        return;
    }
    printf("  mcm / nginx: 200 %.2fx, 304 %.2fx\n", h.mcm_rps / h.nginx_rps, h.mcm_304_rps / h.nginx_304_rps);
    put(" n%d_body_bytes=%zu n%d_mcm_rps=%.0f n%d_nginx_rps=%.0f n%d_mcm_304_rps=%.0f n%d_nginx_304_rps=%.0f "
        "n%d_http_200_ratio=%.2f n%d_http_304_ratio=%.2f", o->n, h.body_bytes, o->n, h.mcm_rps, o->n, h.nginx_rps,
        o->n, h.mcm_304_rps, o->n, h.nginx_304_rps, o->n, h.mcm_rps / h.nginx_rps, o->n,
        h.mcm_304_rps / h.nginx_304_rps);
}

static void failover_part(scale_inst *s, const scale_opts *o) {
    /* cold: signalled as soon as the records are planted, before any follower
     * has read them; warm: once every follower's copy holds them, as in an
     * installation whose records were written over time (followers keep a
     * copy, folread.c) */
    const struct { int sig; const char *name; int warm; } runs[] = {
        {SIGTERM, "term_cold", 0}, {SIGTERM, "term", 1}, {SIGKILL, "kill", 1}};
    for (size_t k = 0; k < sizeof(runs) / sizeof(runs[0]); k++) {
        scale_failover_figures f;
        scale_failover(s, o, runs[k].sig, runs[k].warm, &f);
        char how[128];
        if (!runs[k].warm) snprintf(how, sizeof(how), "signalled as soon as they were written");
        else if (f.copies_ms < 0) snprintf(how, sizeof(how), "followers' copies NOT current after %d s",
                                           SCALE_COPIES_WAIT_MS / 1000);
        else snprintf(how, sizeof(how), "followers' copies current %lld ms after planting, signalled %d ms later",
                      (long long)f.copies_ms, SCALE_SETTLE_MS);
        printf("%s of the leader with %d task records stored (%s): SUBSCRIBED after %lld ms, reconciled and leading "
               "after %lld ms; %d records left then\n", runs[k].sig == SIGTERM ? "SIGTERM" : "SIGKILL", f.stored, how,
               (long long)f.subscribed_ms, (long long)f.reconciled_ms, f.left);
        put(" n%d_%s_stored=%d n%d_%s_subscribed_ms=%lld n%d_%s_reconciled_ms=%lld", o->n, runs[k].name, f.stored,
            o->n, runs[k].name, (long long)f.subscribed_ms, o->n, runs[k].name, (long long)f.reconciled_ms);
        if (runs[k].warm) put(" n%d_%s_copies_ms=%lld", o->n, runs[k].name, (long long)f.copies_ms);
    }
}

static void one_size(int n) {
    scale_opts o = base;
    o.n = n;
    printf("\n=== N = %d servers (real memcached, one per agent) ===\n", n);
    scale_min_figures m;
    scale_min_run(&o, &m);
    printf("minimal scheduler: %d tasks RUNNING %lld ms after SUBSCRIBE (%.1f launches/s)\n", m.running,
           (long long)m.ms, 1000.0 * n / (double)m.ms);
    printf("mcm-sim: at most %d threads, %.1f s CPU (%.0f%% of one core over the run), load average %.2f\n",
           m.sim_threads_max, m.sim_cpu_s, 100.0 * m.sim_cpu_s * 1000.0 / (double)m.ms, m.load1);
    put(" n%d_sim_threads=%d n%d_sim_cpu_s=%.1f n%d_load1=%.2f", n, m.sim_threads_max, n, m.sim_cpu_s, n, m.load1);
    if (sim_only) {
        put(" n%d_min_ms=%lld n%d_min_launch_per_s=%.1f", n, (long long)m.ms, n, 1000.0 * n / (double)m.ms);
        return;
    }
    scale_inst *s = scale_start(&o, 1);
    int l = scale_wait_leader(s, 120000, -1);
    ck_assert_msg(l >= 0, "no leader within 120 s (logs in %s)", scale_dir(s));
    int64_t pub = wait_published(s, l, n, 900000);
    ck_assert_msg(pub > 0, "%d servers not published within 900 s (logs in %s)", n, scale_dir(s));
    int64_t el = elected_ms(s, l), ms = pub - el;
    printf("mcm: elected -> %d servers published in %lld ms (%.1f launches/s), %.2fx the minimal scheduler's rate\n",
           n, (long long)ms, 1000.0 * n / (double)ms, (double)m.ms / (double)ms);
    put(" n%d_min_ms=%lld n%d_publish_ms=%lld n%d_launch_per_s=%.1f n%d_launch_ratio=%.2f", n, (long long)m.ms, n,
        (long long)ms, n, 1000.0 * n / (double)ms, n, (double)m.ms / (double)ms);
    sleep(10);
    int fo = (l + 1) % SCALE_REPLICAS;
    steady(s, l, fo, &o);
    http_part(s, fo, &o);
    scale_change_figures c;
    scale_change_measure(s, &o, &c);
    printf("one change (a memcached SIGKILLed): servers znode rewritten after %.1f ms (%d servers), mcm-watch's "
           "file %.1f ms later\n", c.znode_ms, c.servers_after, c.watch_ms);
    put(" n%d_change_znode_ms=%.1f n%d_watch_ms=%.1f", n, c.znode_ms, n, c.watch_ms);
    if (failover) failover_part(s, &o);
    scale_stop(s);
}

START_TEST(bench) {
    put("memcached=real session_ms=%d tasks=%d", base.session_ms, base.tasks);
    for (int i = 0; i < nsizes; i++) one_size(sizes[i]);
}
END_TEST

static void usage(const char *argv0) {
    fprintf(stderr, "usage: %s [--n 10,100,1000] [--tasks N] [--session-ms MS] [--steady S] [--wrk S] "
            "[--no-failover] [--quick] [--sim-only]\n", argv0);
    exit(2);
}

static int int_arg(const char *argv0, const char *v, int lo, int hi) {
    char *end;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || *end || x < lo || x > hi) usage(argv0);
    return (int)x;
}

static void parse_sizes(const char *argv0, const char *v) {
    char buf[256];
    nsizes = 0;
    snprintf(buf, sizeof(buf), "%s", v ? v : "");
    for (char *save, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (nsizes == SCALE_MAX_SIZES) usage(argv0);
        sizes[nsizes++] = int_arg(argv0, t, 1, 1000);
    }
    if (!nsizes) usage(argv0);
}

static void parse_args(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--n")) parse_sizes(argv[0], v), i++;
        else if (!strcmp(a, "--tasks")) base.tasks = int_arg(argv[0], v, 0, 100000), i++;
        else if (!strcmp(a, "--session-ms")) base.session_ms = int_arg(argv[0], v, 1000, 600000), i++;
        else if (!strcmp(a, "--steady")) base.steady_s = int_arg(argv[0], v, 1, 3600), i++;
        else if (!strcmp(a, "--wrk")) base.wrk_s = int_arg(argv[0], v, 1, 600), i++;
        else if (!strcmp(a, "--no-failover")) failover = 0;
        else if (!strcmp(a, "--sim-only")) sim_only = 1;
        else if (!strcmp(a, "--quick")) {
            sizes[0] = 10, nsizes = 1;
            base.tasks = 1000, base.steady_s = 5, base.wrk_s = 2;
        } else usage(argv[0]);
    }
}

int main(int argc, char **argv) {
    parse_args(argc, argv);
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *b = getenv("MCM_BUILD_DIR");
    base.build = b ? b : MCM_BUILD_DIR_DEFAULT;
    if (th_run_alone("bench_scale", bench)) return 1;
    printf("%s\n", line);
    return 0;
}
