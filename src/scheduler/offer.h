/* offer.h -- does a Mesos offer fit one memcached server, and with what?
 *
 * A memcached server needs `cpus` and `mem` (scalars) and exactly one port
 * from the offered `ports` ranges. offer_match picks them and builds the
 * Resource messages for the executor and the task, copying each offered
 * Resource's role, allocation_info and reservations (Mesos requires launched
 * resources to carry the offer's allocation_info under MULTI_ROLE).
 *
 * Ownership: the resources in an offer_launch BORROW sub-messages of the offer
 * (allocation_info, reservations): use them only while the offer lives, and
 * release them with offer_launch_clear(), never with protobuf-c's
 * free_unpacked. Threads: the core only; pure functions. */
#ifndef MCM_OFFER_H
#define MCM_OFFER_H

#include "mesos/v1/mesos.pb-c.h"
#include <stddef.h>

/* What one memcached server (executor included) takes. */
typedef struct offer_need {
    double cpus;
    double mem_mb;
    double executor_cpus;     /* part of cpus/mem_mb given to the executor */
    double executor_mem_mb;
} offer_need;

typedef struct offer_launch {
    int port;
    Mesos__V1__Resource *task_res[3];   /* cpus, mem, ports */
    Mesos__V1__Resource *exec_res[2];   /* cpus, mem */
    size_t n_task_res, n_exec_res;
} offer_launch;

/* The executor share used for a given per-server total (5% of the CPUs, at
 * most 0.1; 32 MB of memory, at most a quarter). */
void offer_need_init(offer_need *n, double cpus, double mem_mb);
/* MCM_OK with the resources to launch, or MCM_ERR with why the offer does
 * not fit (for the decline log line). */
int offer_match(const Mesos__V1__Offer *o, const offer_need *need, offer_launch *out,
                char *why, size_t len);
void offer_launch_clear(offer_launch *l);

#endif
