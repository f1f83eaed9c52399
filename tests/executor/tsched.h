/* tsched.h -- a minimal Mesos scheduler for tests, in raw libcurl +
 * protobuf-c (deliberately not mcm's scheduler client): SUBSCRIBE to a
 * master (mcm-sim), queue the decoded Events, send Calls with the stream id.
 *
 * Threads: the test's thread, plus one stream thread inside; failures to
 * subscribe call ck_abort_msg(). */
#ifndef MCM_TSCHED_H
#define MCM_TSCHED_H

#include "mesos/v1/scheduler/scheduler.pb-c.h"

typedef struct tsched tsched;

/* SUBSCRIBEs to http://127.0.0.1:<port>/api/v1/scheduler as a checkpointing
 * framework with TASK_KILLING_STATE and waits for SUBSCRIBED (10 s). */
tsched *tsched_subscribe(int master_port, const char *name);
const char *tsched_framework_id(const tsched *s);
/* The next queued Event of `type` (others stay queued), waiting up to
 * timeout_ms; NULL on timeout. Caller frees
 * (mesos__v1__scheduler__event__free_unpacked). */
Mesos__V1__Scheduler__Event *tsched_next(tsched *s, int type, int timeout_ms);
/* Sends a Call (framework_id and type filled in here); the HTTP status. */
int tsched_call(tsched *s, Mesos__V1__Scheduler__Call *c, int type);
/* ACKNOWLEDGE an update if it has a uuid. */
void tsched_ack(tsched *s, const Mesos__V1__TaskStatus *st);
void tsched_free(tsched *s);     /* closes the subscription; NULL-safe */

#endif
