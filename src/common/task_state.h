/* task_state.h -- Mesos task state names ("TASK_RUNNING", ...) by number.
 *
 * The numbers are mesos.v1.TaskState's (TASK_STARTING 0 ... TASK_UNKNOWN 13);
 * the names are what mcm shows operators and stores in ZooKeeper task records,
 * so they live here once for the scheduler and the state module alike.
 * Threads: any; constant data. */
#ifndef MCM_TASK_STATE_H
#define MCM_TASK_STATE_H

/* The name of state s, or NULL if s is not a known state. */
const char *task_state_name(int s);
/* The number for a name, or -1 if unknown (exact, case-sensitive). */
int task_state_from_name(const char *name);

#endif
