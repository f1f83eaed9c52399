/* zks_multi.h -- a synchronous multi that leaks nothing when its connection drops.
 *
 * The C client's zoo_multi (3.8, as in Debian 12) loses the per-op completion
 * list of a multi that is in flight when the connection drops or the handle
 * closes: for a synchronous request free_completions() wakes the caller and
 * frees the multi's entry but not the sub-op entries queued on it (one
 * completion_list_t per op, allocated in zoo_amulti). The asynchronous path
 * fakes a failed reply instead, and cleanup_failed_multi() frees every sub-op
 * entry. zks_multi is zoo_multi built on that path: zoo_amulti with our own
 * completion, and the caller waits for it.
 *
 * THREADS: any thread but the client's own (the completion thread runs the
 * completion the caller waits for); in mcm, the owner thread. */
#ifndef MCM_ZKS_MULTI_H
#define MCM_ZKS_MULTI_H

#include <zookeeper/zookeeper.h>

/* Like zoo_multi: returns once the reply, a connection loss or the handle's
 * close has been delivered, with results[0..count) filled in by then (after a
 * connection loss every entry carries the loss). Until it returns, ops,
 * their buffers and results belong to the client. */
int zks_multi(zhandle_t *zh, int count, const zoo_op_t *ops, zoo_op_result_t *results);

#endif
