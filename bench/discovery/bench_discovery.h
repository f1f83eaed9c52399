/* bench_discovery.h -- the parts of bench_discovery and the figures each reports.
 *
 * Part 1 (rps.c, wrk.c): requests per second and latency of GET /v1/servers
 * under wrk, mcm's HTTP server (mcm_http, in process) next to nginx serving
 * the same bytes as a static file. Part 2 (latency.c): time from a write of
 * the `servers` znode to mcm-watch having renamed its rewritten file.
 *
 * Every function runs inside the Check test of bench_discovery.c (CK_NOFORK):
 * a failure calls ck_abort_msg() and the harness stops every child it
 * started. Threads: the main thread only. */
#ifndef BENCH_DISCOVERY_H
#define BENCH_DISCOVERY_H

#include "harness.h"

#include <stddef.h>

/* --- wrk ------------------------------------------------------------------- */
typedef struct wrk_opts {
    const char *wrk;      /* path of the wrk program */
    int threads, conns, duration_s;
    int cpu;              /* CPU wrk runs on, -1 for any */
    const char *dir;      /* where its output file goes */
    int server_pid;       /* whose CPU time to sample during the run (0: none) */
} wrk_opts;

typedef struct wrk_result {
    double rps;           /* wrk's "Requests/sec" */
    double p50_ms, p99_ms;
    long requests;        /* completed in the run */
    long bad_status;      /* "Non-2xx or 3xx responses" */
    long sock_errors;     /* connect + read + write + timeout */
    double server_cpu_pct;   /* server's CPU time / run duration, % of one CPU (-1: unknown) */
    double wrk_cpu_pct;      /* the same for wrk */
    double cpu_busy_pct[2];  /* CPU 0 and CPU 1 busy (any process, softirq), % (-1: none) */
    double per_cpu_s;        /* rps * 100 / server_cpu_pct: requests per server CPU second */
} wrk_result;

/* Runs wrk (--latency) against url with an optional extra header ("Name: value"),
 * waits for it and parses its report. */
void wrk_run(const wrk_opts *o, const char *url, const char *header, wrk_result *r);

/* --- part 1 ------------------------------------------------------------------ */
typedef struct rps_opts {
    const char *wrk, *nginx;   /* program paths */
    int servers;               /* entries in the served list */
    int duration_s, conns, threads;
    int rounds;                /* 1..RPS_ROUNDS_MAX; figures are medians over rounds */
} rps_opts;
#define RPS_ROUNDS_MAX 9

typedef struct rps_figures {   /* medians over the rounds */
    wrk_result mcm, mcm_304, nginx, nginx_304;
    size_t body_bytes;         /* the JSON document both serve */
    int pinned;                /* 1: servers on CPU 0, wrk on CPU 1 */
} rps_figures;

void rps_measure(const rps_opts *o, rps_figures *f);

/* --- part 2 ------------------------------------------------------------------ */
typedef struct watch_figures {
    int changes;
    double p50_ms, p99_ms, max_ms;   /* znode set issued -> file renamed */
    double set_p50_ms;               /* of which the zoo_set round trip */
} watch_figures;

/* mcm_watch: path of the mcm-watch program. */
void watch_latency_measure(const char *mcm_watch, int changes, int servers, watch_figures *f);

/* --- shared helpers (bench_discovery.c) -------------------------------------- */
/* Starts argv like th_proc_start, but bound to one CPU (cpu < 0: any). */
th_proc *bench_spawn(int cpu, char *const argv[], const char *log_path);
/* Binds the calling thread to one CPU (cpu < 0: the CPUs it had at start). */
void bench_pin(int cpu);
/* Nearest-rank percentile p (0..100) of v[0..n), which it sorts. */
double bench_pct(double *v, int n, double p);
double bench_now_ms(void);

#endif
