/* exec_event.h -- what the executor makes of one event from its agent:
 * the decision half of exec_loop.c's event handling, apart from its effects
 * (updates, memcached, the migrate worker), so it can be tested and fuzzed
 * without a process or a socket (fuzz/fuzz_exec_events.c).
 *
 * exec_event_decide reads a decoded mesos.v1.executor.Event against a view
 * of the loop's state and says what to do; exec_loop.c does it. A LAUNCH's
 * TaskInfo is read by exec_task_parse, a MESSAGE's migrate command by
 * mig_cmd_decode (mig_msg.h); anything else is a note to log.
 *
 * Ownership: a decision may own a decoded command (has_cmd); free it with
 * exec_event_clear. task_id points into the event, valid while it lives.
 * Threads: any; pure functions. */
#ifndef MCM_EXEC_EVENT_H
#define MCM_EXEC_EVENT_H

#include <stdint.h>

#include "exec_task.h"
#include "log.h"
#include "mesos/v1/executor/executor.pb-c.h"
#include "mig_msg.h"

/* The loop's states (diagram in exec_loop.c). */
typedef enum { XE_IDLE, XE_STARTING, XE_RUNNING, XE_FINISHING } xe_phase;

/* Task ids are kept in a buffer of this size: Mesos allows up to 255
 * characters (NAME_MAX; an id names a sandbox directory). */
#define XE_TASK_ID_MAX 256
#define XE_WHY_MAX 512

typedef enum {
    XE_NOTE = 0,          /* nothing to do; log `why` at `level` */
    XE_SUBSCRIBED,        /* killing_state from the FrameworkInfo */
    XE_LAUNCH,            /* adopt task_id, start memcached for `task` */
    XE_LAUNCH_INVALID,    /* adopt task_id, fail it (REASON_TASK_INVALID, why): the update
                           * names task_id whole, even one too long to adopt */
    XE_LAUNCH_REFUSED,    /* TASK_FAILED for task_id (REASON_TASK_INVALID, why); keep state */
    XE_KILL,              /* kill the live task within grace_ms */
    XE_SHUTDOWN,          /* shut down within the agent's grace */
    XE_MIGRATE,           /* hand cmd to exec_migrate */
    XE_MIGRATE_REFUSED,   /* answer with a refusal (why); of cmd when has_cmd */
} xe_kind;

typedef struct xe_view {
    xe_phase phase;
    const char *task_id;        /* the task adopted ("" before a LAUNCH) */
    const char *executor_id;
    int64_t kill_grace_ms;      /* KILL's grace when no KillPolicy says: TaskInfo's, else --stop-grace */
} xe_view;

typedef struct xe_decision {
    xe_kind kind;
    const char *task_id;        /* LAUNCH*, KILL: the event's; NULL otherwise */
    exec_task task;             /* XE_LAUNCH */
    int killing_state;          /* XE_SUBSCRIBED */
    int64_t grace_ms;           /* XE_KILL, >= 0 */
    mig_cmd cmd;                /* XE_MIGRATE, XE_MIGRATE_REFUSED when has_cmd; owned */
    int has_cmd;
    log_level level;            /* XE_NOTE */
    char why[XE_WHY_MAX];       /* XE_NOTE, *_INVALID, *_REFUSED: never empty there */
} xe_decision;

/* Fills d (cleared first); never fails. */
void exec_event_decide(const xe_view *v, const Mesos__V1__Executor__Event *ev, xe_decision *d);
void exec_event_clear(xe_decision *d);          /* frees the command; NULL-safe */

#endif
