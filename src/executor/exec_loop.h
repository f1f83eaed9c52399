/* exec_loop.h -- the executor's owner loop: one memcached task driven by the
 * Mesos executor API (contract: exec_main.c and README.md in this folder).
 *
 * Threads: exec_loop_run runs on the calling thread (main), which owns all
 * executor state and the memcached process; the Mesos stream thread only
 * posts events to its mailbox. SIGTERM and SIGINT must be blocked in every
 * thread before the call (exec_loop_run waits for them itself). */
#ifndef MCM_EXEC_LOOP_H
#define MCM_EXEC_LOOP_H

#include <stdint.h>

#include "mesos_exec.h"

typedef struct exec_opts {
    const char *memcached_command;   /* "memcached" or a path, may carry flags */
    const char *listen;              /* bind address, "0.0.0.0" */
    const char *docker_image;        /* NULL: run memcached directly */
    int64_t report_interval_ms;      /* stats report MESSAGE period */
    int64_t stop_grace_ms;           /* SIGTERM..SIGKILL when no KillPolicy says otherwise */
    int64_t ready_timeout_ms;        /* memcached must answer `version` within this */
    int64_t ack_timeout_ms;          /* wait for the terminal update's ACKNOWLEDGED at most this */
    int64_t health_interval_ms;      /* hung-memcached probe period (exec_health.h) */
    int64_t health_timeout_ms;       /* a probe fails unless `version` answers within this */
    int64_t health_unhealthy_after;  /* failed probes in a row before TASK_RUNNING healthy=false */
    int64_t health_fail_after;       /* ... before memcached is killed and the task fails */
} exec_opts;

/* Runs until the executor should exit; returns the exit status:
 * 0 after KILL, SHUTDOWN or a signal; 1 after TASK_FAILED (memcached failed
 * to start, never answered, exited, or hung), a TaskInfo it cannot run, or losing
 * the agent for good. */
int exec_loop_run(const exec_opts *o, const mesos_exec_config *mc);

#endif
