/* msgs.h -- sample Mesos messages shared by the protobuf and wire tests:
 * a TaskInfo like the scheduler launches (resources with allocation_info,
 * a custom ExecutorInfo) and the Events a master sends.
 * Threads: the test thread. */
#ifndef MCM_TEST_MESOS_MSGS_H
#define MCM_TEST_MESOS_MSGS_H

#include <stddef.h>
#include <stdint.h>

#include "mesos/v1/scheduler/scheduler.pb-c.h"

/* One TaskInfo and the storage its pointers refer to (no heap). */
typedef struct msg_task {
    Mesos__V1__TaskInfo task;
    Mesos__V1__TaskID tid;
    Mesos__V1__AgentID aid;
    Mesos__V1__Resource res[3], *resp[3];
    Mesos__V1__Value__Scalar cpus, mem;
    Mesos__V1__Value__Range range, *rangep[1];
    Mesos__V1__Value__Ranges ranges;
    Mesos__V1__Resource__AllocationInfo alloc;
    Mesos__V1__ExecutorInfo exec;
    Mesos__V1__ExecutorID eid;
    Mesos__V1__CommandInfo cmd;
    char *args[3];
    Mesos__V1__Label label, *labelp[1];
    Mesos__V1__Labels labels;
} msg_task;

/* task "mc-1" on agent "S1": cpus 0.5, mem 128, ports [31001,31001] for role
 * "mcm"; executor "exec-mc-1" running /usr/bin/mcm-executor --port 31001. */
void msg_task_init(msg_task *t);

/* Packed Events (malloc'd; caller frees). */
uint8_t *msg_subscribed(size_t *len);   /* framework "fw-1", heartbeat 15, master 10.0.0.1:5050 */
uint8_t *msg_offers(size_t *len);       /* offer "O1" of agent "S1" on host "agent1" */
uint8_t *msg_update(size_t *len);       /* mc-1 TASK_RUNNING from the executor, 16-byte uuid */

extern const uint8_t msg_uuid[16];

#endif
