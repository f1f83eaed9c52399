/* exec_task.h -- what the executor reads from a LAUNCH's TaskInfo.
 *
 * The scheduler describes a memcached server only through resources:
 * the port is the begin of the first range of the `ports` resource, the
 * memory the sum of the `mem` scalar resources (MiB; memcached's -m is
 * derived from it by mcd). TaskInfo.kill_policy.grace_period, when set, is
 * the stop grace for KILL. Threads: any; pure functions. */
#ifndef MCM_EXEC_TASK_H
#define MCM_EXEC_TASK_H

#include <stddef.h>
#include <stdint.h>

#include "mesos/v1/mesos.pb-c.h"

/* The largest mem a TaskInfo may ask for, in MiB (2^40: 1 EiB, far beyond
 * any agent, and its bytes still fit memcached's 64-bit -m arithmetic). */
#define EXEC_TASK_MEM_MAX_MIB (UINT64_C(1) << 40)

typedef struct exec_task {
    int port;              /* 1..65535 */
    uint64_t mem_mib;      /* 1..EXEC_TASK_MEM_MAX_MIB */
    int64_t kill_grace_ms; /* from TaskInfo.kill_policy, -1 when absent */
} exec_task;

/* MCM_OK, or MCM_ERR with the reason ("no ports resource", ...) in err. */
int exec_task_parse(const Mesos__V1__TaskInfo *t, exec_task *out, char *err, size_t errlen);
/* The grace period of a KillPolicy in ms, or def when absent/negative. */
int64_t exec_kill_grace_ms(const Mesos__V1__KillPolicy *kp, int64_t def);

#endif
