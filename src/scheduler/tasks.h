/* tasks.h -- the leader's in-memory task table.
 *
 * One entry per memcached task mcm launched and has not yet seen end. It
 * mirrors `<root>/state/tasks/<id>` (the znode is written first, fenced, and
 * only then is the table changed or the update acknowledged), plus what is
 * never persisted: reconciliation bookkeeping, the drain deadline of a server
 * being removed, and the latest figures reported by its executor.
 *
 * Ownership: the table owns its entries; pointers returned by tt_find/tt_at
 * stay valid until the next tt_add/tt_remove. Threads: the core only. */
#ifndef MCM_TASKS_H
#define MCM_TASKS_H

#include "mesos/v1/mesos.pb-c.h"   /* mesos.v1.TaskState: MESOS__V1__TASK_STATE__TASK_* */
#include "report.h"
#include <stdint.h>

#define TT_ID_MAX 192
#define TT_HOST_MAX 256
#define TT_ATTRS_MAX 512              /* an agent's attributes, "name:value;..." */
#define TT_DOMAIN_MAX 64              /* a fault domain's region or zone name */

typedef struct tt_task {
    char id[TT_ID_MAX];
    char agent_id[TT_ID_MAX];
    char hostname[TT_HOST_MAX];
    int port;
    int state;                    /* mesos.v1.TaskState (MESOS__V1__TASK_STATE__TASK_STAGING, ...) */
    int64_t changed_ms;           /* wall clock of the last state change */
    double cpus;                  /* launched resources (task + executor) */
    double mem_mb;
    char reason[128];             /* last status message, for operators */
    /* where it runs, for placement (fleet_place.c): the agent's attributes as
     * "name:value;name:value" (values formatted as place.h says), and its
     * fault domain ("" if none) */
    char attrs[TT_ATTRS_MAX];
    char region[TT_DOMAIN_MAX], zone[TT_DOMAIN_MAX];
    /* not persisted */
    int confirmed;                /* state heard since the current reconciliation began */
    int64_t drain_until_ms;       /* >0: unpublished, kill at this monotonic time */
    int surplus;                  /* drained as a step down's surplus: kept if the fleet falls short */
    int64_t kill_sent_ms;         /* monotonic time of the last KILL sent, 0 if none */
    int unexpected;               /* ended without our asking: a relaunch replaces it */
    int has_report;
    report last, prev;            /* the two latest executor reports */
    int64_t report_rx_ms;         /* monotonic time the latest arrived */
    int64_t recon_asked_ms;       /* UNREACHABLE: when its agent's offer last made us ask Mesos about it */
    int unhealthy;                /* its executor's last TASK_RUNNING said healthy=false (exec_health.h) */
    int part;                     /* UNREACHABLE: fleet_part (fleet.h, fleet_partition.c) */
    int part_fails;               /* kept: failed probes in a row */
} tt_task;

typedef struct tt tt;

tt *tt_create(void);
void tt_free(tt *t);                           /* NULL-safe */
void tt_clear(tt *t);
int tt_count(const tt *t);
tt_task *tt_at(tt *t, int i);
tt_task *tt_find(tt *t, const char *id);
/* Adds a copy of task (its id must be new). NULL if out of memory. */
tt_task *tt_add(tt *t, const tt_task *task);
void tt_remove(tt *t, const char *id);
/* Changes with every tt_add, tt_remove and tt_clear: while it stays, the
 * table holds the same ids at the same positions. */
uint64_t tt_generation(const tt *t);
/* 1 if clients should use the server: running, not draining, not being killed. */
int tt_serving(const tt_task *t);
/* Servers holding a place on agent_id: not ended, and not UNREACHABLE (an
 * agent that offers again came back, with the task or without it). */
int tt_on_agent(const tt *t, const char *agent_id);

/* Mesos task states that end a task for good (FINISHED, FAILED, KILLED,
 * ERROR, DROPPED, GONE, GONE_BY_OPERATOR) and LOST/UNKNOWN, after which mcm
 * replaces the server. */
int tt_state_is_final(int state);
const char *tt_state_name(int state);        /* "TASK_RUNNING", ... */

#endif
