/* state_batch.h -- fenced writes of many task records at once.
 *
 * A leader that accepts a burst of offers stores one record per launch
 * before launching it: one multi for a few hundred records instead of two
 * ZooKeeper round trips each (set, then create) keeps the core from
 * blocking for seconds at N = 1,000 (bench/scale).
 *
 * A leader that finds records of tasks that have already ended (a state
 * Mesos reported as final: FINISHED, FAILED, KILLED, ...) deletes them when
 * it starts, before reconciling: one fenced multi per few hundred records
 * instead of one write (a ZooKeeper round trip) each after Mesos has been
 * asked about every one of them. mcm itself never stores a final state (the
 * fleet deletes a record when its final update arrives), so such records
 * come from elsewhere -- an older version, an operator's restore -- and can
 * be many.
 *
 * Threads: owner thread only (synchronous zoo_* calls), like state.h. */
#ifndef MCM_STATE_BATCH_H
#define MCM_STATE_BATCH_H

#include <stddef.h>

#include "state.h"

/* Deletes state/tasks/<ids[i]> for i < n, fenced like every write, in as few
 * multis as fit ZooKeeper's request size; a record already gone counts as
 * deleted. MCM_OK, STATE_FENCED (stop leading) or MCM_ERR (ZooKeeper
 * trouble, an invalid ID; err says which). *deleted: how many are gone, even
 * on failure (a multi is all or nothing, so it is a prefix of ids). */
int state_delete_tasks(state *s, const char *const *ids, int n, int *deleted, char *err, size_t errlen);

/* Stores the records t[0..n) like state_put_task, in as few fenced multis as
 * fit: fresh[i] (NULL: none) says record i is new, so it is created rather
 * than rewritten. A multi that finds a record missing or already there is
 * redone one record at a time. Same results as state_delete_tasks; *stored
 * is a prefix of t, so "store before launch" holds for every record in it. */
int state_put_tasks(state *s, const state_task *t, const int *fresh, int n, int *stored, char *err,
                    size_t errlen);

#endif
