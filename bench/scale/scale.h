/* scale.h -- the parts of bench_scale (issue 20) and what each measures.
 *
 * bench_scale.c   the command line and, per fleet size N, the sequence below;
 *                 prints each figure and ends with one line of name=value pairs.
 * scale_inst.c    one installation on loopback: real ZooKeeper, mcm-sim with N
 *                 agents (each launches the real mcm-executor, which runs
 *                 real memcached), three mcm-scheduler replicas;
 *                 /proc figures of a process (RSS, CPU time); HTTP as JSON.
 * scale_min.c     the simulator's own limit: a minimal scheduler (the
 *                 src/mesos client) that accepts every offer at once with one
 *                 task, the same executor and memcached as mcm, and counts
 *                 TASK_RUNNING.
 * scale_change.c  one change (a memcached killed) -> the servers znode
 *                 rewritten -> mcm-watch's file renamed into place.
 * scale_http.c    GET /v1/servers of a replica under wrk next to nginx
 *                 serving the same bytes, 200 and 304 (bench/discovery's wrk.c).
 * scale_tasks.c   10,000 task records stored (finished ones included, written
 *                 with src/state's own encoder) and the new leader's load +
 *                 reconcile time after SIGTERM and SIGKILL of the old one.
 *
 * Every function runs inside one Check test (CK_NOFORK, th_run_alone): a
 * failure calls ck_abort_msg() and the harness stops every child it started.
 * Threads: the main thread only (scale_min.c's client has its stream thread). */
#ifndef BENCH_SCALE_H
#define BENCH_SCALE_H

#include "harness.h"

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#define SCALE_REPLICAS 3

typedef struct scale_opts {
    int n;                    /* servers (and agents) */
    int tasks;                /* task records stored for the failover part */
    int session_ms;           /* replicas' ZooKeeper session timeout */
    int steady_s;             /* CPU sampling window while steady */
    int wrk_s;                /* each wrk run */
    int skip_failover;        /* 1: leave out the 10,000-task failover part */
    const char *build;        /* build directory (programs) */
} scale_opts;

/* --- scale_inst.c ---------------------------------------------------------- */
typedef struct scale_inst scale_inst;

/* mcm: 1 starts ZooKeeper and the replicas; 0 only mcm-sim (for scale_min). */
scale_inst *scale_start(const scale_opts *o, int mcm);
void scale_stop(scale_inst *s);
const char *scale_dir(const scale_inst *s);
const char *scale_zk_hosts(const scale_inst *s);
const char *scale_zk_root(const scale_inst *s);      /* "/mcm" */
int scale_sim_port(const scale_inst *s);
pid_t scale_sim_pid(const scale_inst *s);
int scale_port(const scale_inst *s, int i);          /* replica i's HTTP port */
pid_t scale_pid(const scale_inst *s, int i);
int scale_alive(scale_inst *s, int i);
void scale_signal(scale_inst *s, int i, int sig);
void scale_restart(scale_inst *s, int i);             /* a new process for replica i (new HTTP port) */
/* Index of the replica whose /v1/status says leading, -1 after timeout_ms. */
int scale_wait_leader(scale_inst *s, int timeout_ms, int not_this);
/* The executor and memcached command lines the replicas give their tasks. */
const char *scale_executor(const scale_inst *s);
const char *scale_memcached(const scale_inst *s);

/* GET http://127.0.0.1:port/path as JSON; NULL on error or non-2xx. */
json_t *scale_get_json(int port, const char *path);
/* Replica i's number of published servers (GET /v1/servers), -1 if unknown. */
int scale_servers(int port);

/* /proc figures of one process (all threads). */
long scale_rss_kib(pid_t pid);
/* RSS counts every shared library page the process maps (libcrypto, libc,
 * gnutls...); RssAnon is its own memory and PSS its fair share of the host's. */
long scale_anon_kib(pid_t pid);
long scale_pss_kib(pid_t pid);
double scale_cpu_s(pid_t pid);
int scale_threads(pid_t pid);
/* Sum of RSS (KiB) of the processes named `comm` that run in the
 * installation's sandboxes, and their count. */
long scale_rss_of(const scale_inst *s, const char *comm, int *count);

int64_t scale_mono_ms(void);
int64_t scale_wall_ms(void);

/* --- scale_min.c ------------------------------------------------------------- */
typedef struct scale_min_figures {
    int64_t ms;               /* SUBSCRIBE sent -> n tasks RUNNING */
    int running;
    int launched;
    int sim_threads_max;      /* mcm-sim's threads, highest of the 1 s samples */
    double sim_cpu_s;         /* mcm-sim's CPU time (user + system) at the end */
    double load1;             /* the host's 1-minute load average at the end */
} scale_min_figures;
void scale_min_run(const scale_opts *o, scale_min_figures *f);

/* --- scale_change.c ---------------------------------------------------------- */
typedef struct scale_change_figures {
    double znode_ms;          /* memcached SIGKILLed -> servers znode changed */
    double watch_ms;          /* servers znode changed -> mcm-watch renamed its file */
    int servers_after;        /* servers in the changed document */
} scale_change_figures;
void scale_change_measure(scale_inst *s, const scale_opts *o, scale_change_figures *f);

/* --- scale_http.c ------------------------------------------------------------ */
typedef struct scale_http_figures {
    size_t body_bytes;
    double mcm_rps, nginx_rps, mcm_304_rps, nginx_304_rps;
    double mcm_cpu_pct, nginx_cpu_pct, mcm_304_cpu_pct, nginx_304_cpu_pct;
} scale_http_figures;
/* Against replica i's real /v1/servers. Needs wrk and nginx: 0 if missing. */
int scale_http_measure(scale_inst *s, int i, const scale_opts *o, scale_http_figures *f);

/* --- scale_tasks.c ----------------------------------------------------------- */
typedef struct scale_failover_figures {
    int stored;               /* task records under state/tasks when the leader was stopped */
    int64_t subscribed_ms;    /* signal -> new leader SUBSCRIBED */
    int64_t reconciled_ms;    /* signal -> new leader reconciled (leading) */
    int left;                 /* records left once it leads */
    int64_t copies_ms;        /* warm: planting -> every follower's copy holds the records (-1: not in time) */
} scale_failover_figures;
/* Tops state/tasks up to o->tasks records (finished tasks, src/state's
 * encoder), stops the leader with sig and times the new leader. warm: the
 * signal waits until every follower's copy (/v1/status "copy") holds them
 * all, as in an installation whose records were written over time, then
 * SCALE_SETTLE_MS more; else it comes at once (no follower has read them). */
#define SCALE_SETTLE_MS 2000
#define SCALE_COPIES_WAIT_MS 120000
void scale_failover(scale_inst *s, const scale_opts *o, int sig, int warm, scale_failover_figures *f);

#endif
