/* exec_health.h -- when to probe memcached and what a run of failed probes
 * means: the executor's hung-memcached rule, as a pure state machine.
 *
 * A memcached that stops answering (stopped, deadlocked, swapped out) keeps
 * its port open, so its process never exits and nothing else notices: every
 * client times out on its share of the keys. The executor therefore asks it
 * `version` every `interval_ms` (probe.h does the asking) and feeds each
 * outcome here:
 *
 *   HEALTHY --unhealthy_after failures in a row--> UNHEALTHY (EH_UNHEALTHY:
 *     |  ^                                          TASK_RUNNING healthy=false)
 *     |  +----------- one answer (EH_HEALTHY: TASK_RUNNING healthy=true) ---+
 *     |                                                                     |
 *     +------------- fail_after failures in a row (EH_FAIL) ----------------+--> FAILED
 *                    (the executor kills memcached, TASK_FAILED)
 *
 * Any answer resets the count. With unhealthy_after == fail_after the task
 * fails without a healthy=false update first (EH_FAIL wins).
 *
 * Ownership: a value the caller embeds (no allocation, nothing to free); its
 * fields are private, read them through the functions. Threads: any, one at
 * a time (the executor's main thread). Clock: the caller's monotonic ms. */
#ifndef MCM_EXEC_HEALTH_H
#define MCM_EXEC_HEALTH_H

#include <stdint.h>

typedef enum {
    EH_QUIET = 0,    /* nothing to tell the scheduler */
    EH_UNHEALTHY,    /* just crossed unhealthy_after: report healthy=false */
    EH_HEALTHY,      /* answered again after EH_UNHEALTHY: report healthy=true */
    EH_FAIL,         /* fail_after failures in a row: kill memcached, fail the task */
} eh_verdict;

typedef struct exec_health {
    int64_t interval_ms;     /* probe period, from one probe's start to the next */
    int unhealthy_after;     /* >= 1 */
    int fail_after;          /* >= unhealthy_after */
    int misses;              /* failures in a row */
    int unhealthy;           /* EH_UNHEALTHY told and not yet answered by EH_HEALTHY */
    int failed;              /* EH_FAIL told: sticky, nothing more is due */
    int64_t next_ms;         /* when the next probe is due */
} exec_health;

/* Starts counting at now_ms (the task just became RUNNING): the first probe
 * is due one interval later. Bounds are the caller's (flags); values out of
 * range are clamped (unhealthy_after >= 1, fail_after >= unhealthy_after). */
void exec_health_init(exec_health *h, int64_t interval_ms, int unhealthy_after, int fail_after, int64_t now_ms);
/* 1 when a probe should start now (due, and no EH_FAIL yet). Starting it is
 * the caller's; exec_health_started() schedules the next one. */
int exec_health_due(const exec_health *h, int64_t now_ms);
void exec_health_started(exec_health *h, int64_t now_ms);
/* One probe's outcome (ok: memcached answered `version` in time). */
eh_verdict exec_health_result(exec_health *h, int ok);
int exec_health_misses(const exec_health *h);        /* failures in a row so far */
int exec_health_is_unhealthy(const exec_health *h);  /* healthy=false was reported last */

#endif
