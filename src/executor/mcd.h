/* mcd.h -- one memcached server process: start, readiness, figures, stop.
 *
 * The executor runs exactly one memcached per task. mcd starts it bound to
 * the port Mesos allocated, with `-m` derived from the task's memory so that
 * memcached's own overhead (hash table, connection buffers, slab headers)
 * stays inside the task's allocation, waits until it answers `version`, reads
 * `stats` plus the process's CPU time for reports, and stops it gracefully.
 *
 * Threads: one owner thread per mcd (the executor's main loop); calls block
 * for at most the timeouts they are given. The child dies with the executor
 * (PR_SET_PDEATHSIG), as it would with its Mesos container. */
#ifndef MCM_MCD_H
#define MCM_MCD_H

#include "report.h"
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct mcd mcd;

typedef struct mcd_config {
    const char *command;       /* "memcached" (PATH) or a path, may carry extra flags */
    const char *docker_image;  /* non-NULL: run memcached in this image via `docker run` */
    const char *listen;        /* address to bind, e.g. "0.0.0.0" or "127.0.0.1" */
    int port;
    uint64_t task_mem_mib;     /* the task's mem resource */
    const char *log_path;      /* memcached's stdout/stderr; NULL = inherit */
    const char *name;          /* container name for docker mode (task id) */
} mcd_config;

/* memcached's -m for a task with task_mem_mib: the task memory less
 * max(16 MiB, 10%) (at most 512 MiB) for memcached's own overhead; at least 8. */
uint64_t mcd_memory_limit_mib(uint64_t task_mem_mib);

/* Spawns memcached. NULL with a reason in err if it cannot be started. */
mcd *mcd_start(const mcd_config *cfg, char *err, size_t errlen);
/* Polls `version` until it answers (MCM_OK) or the process exits or
 * timeout_ms passes (MCM_ERR with the reason). */
int mcd_wait_ready(mcd *m, int64_t timeout_ms, char *err, size_t errlen);
/* memcached's `version` answer ("1.6.18") into buf. */
int mcd_version(mcd *m, char *buf, size_t len, int timeout_ms, char *err, size_t errlen);
/* Non-blocking: 1 if memcached has exited (reason written), else 0. */
int mcd_exited(mcd *m, char *why, size_t len);
/* As mcd_exited, for a server that never answered: 1 and err = "<exit> before
 * answering on port N" if it has exited, else 0. */
int mcd_exited_early(mcd *m, char *err, size_t errlen);
/* Reads `stats` and the CPU time into r (task_id and time_ms left to the
 * caller). MCM_ERR with a reason on a connection or parse error. */
int mcd_stats(mcd *m, report *r, int timeout_ms, char *err, size_t errlen);
/* SIGTERM, then SIGKILL after grace_ms; reaps. Idempotent. */
void mcd_stop(mcd *m, int64_t grace_ms);
/* SIGKILL now and reap: for a hung memcached, which would not act on SIGTERM
 * (a stopped process keeps it pending). Idempotent; NULL-safe. */
void mcd_kill(mcd *m);
pid_t mcd_pid(const mcd *m);
void mcd_free(mcd *m);     /* stops (grace 0) if running; NULL-safe */

#endif
