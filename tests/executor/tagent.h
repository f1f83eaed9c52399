/* tagent.h -- a Mesos agent's executor endpoint for tests (libmicrohttpd).
 *
 * A real HTTP server on 127.0.0.1 speaking the v1 executor API the way an
 * agent does: POST /api/v1/executor, protobuf only; SUBSCRIBE answers 200
 * with a chunked RecordIO stream that starts with SUBSCRIBED; UPDATE and
 * MESSAGE answer 202 (403 without a live subscription); every UPDATE is
 * checked like the agent checks it (16-byte v4 uuid, SOURCE_EXECUTOR, not
 * STAGING, matching executor_id) and, unless auto-ack is off, answered with
 * ACKNOWLEDGED on the stream. Anything off-protocol (wrong Content-Type or
 * Accept, `Expect: 100-continue`, undecodable or invalid Call) is answered
 * with the agent's status code AND counted as a violation the test checks.
 *
 * The test drives it: send LAUNCH/KILL/SHUTDOWN/ACKNOWLEDGED, drop the
 * stream, stop and restart the listener (an agent restart), refuse
 * SUBSCRIBE with a status; and reads the Calls it received, in order.
 *
 * Threads: the test's thread calls everything; MHD's connection threads
 * run the handlers. Failures to start call ck_abort_msg(). */
#ifndef MCM_TAGENT_H
#define MCM_TAGENT_H

#include <stddef.h>
#include <stdint.h>

#include "mesos/v1/executor/executor.pb-c.h"

typedef struct tagent tagent;

#define TAGENT_FRAMEWORK_ID "fw-test-0000"
#define TAGENT_AGENT_ID "agent-test-S0"

/* Listens on 127.0.0.1:port (0: any free port); expects executor_id. */
tagent *tagent_start(int port, const char *executor_id);
int tagent_port(const tagent *a);
/* "127.0.0.1:<port>", for MESOS_AGENT_ENDPOINT. */
const char *tagent_endpoint(const tagent *a);
/* Stops listening and drops every connection (the agent went away). */
void tagent_stop(tagent *a);
/* Listens again on the same port. */
void tagent_restart(tagent *a);
void tagent_free(tagent *a);     /* NULL-safe */

void tagent_set_auto_ack(tagent *a, int on);            /* default on */
void tagent_set_killing_state(tagent *a, int on);       /* capability in SUBSCRIBED; default off */
void tagent_set_refuse(tagent *a, int http_status);     /* answer SUBSCRIBE with this; 0: accept */
void tagent_set_subscribe_delay(tagent *a, int ms);     /* hold SUBSCRIBE's answer this long */
/* Require `Authorization: Bearer <token>` on every call (401 otherwise); NULL: none. */
void tagent_set_token(tagent *a, const char *token);

/* Events on the live stream (no-op if none). */
void tagent_send(tagent *a, const Mesos__V1__Executor__Event *ev);
void tagent_launch(tagent *a, const char *task_id, int port, double mem_mib);
void tagent_kill(tagent *a, const char *task_id, int64_t grace_ms /* < 0: no kill policy */);
void tagent_shutdown(tagent *a);
void tagent_ack(tagent *a, const Mesos__V1__TaskStatus *st);
/* Raw bytes onto the live stream (bad framing, undecodable Events). */
void tagent_send_raw(tagent *a, const void *data, size_t len);
/* Ends the live stream abruptly (connection closed mid-stream). */
void tagent_drop_stream(tagent *a);
int tagent_streaming(tagent *a);           /* 1 while a subscription stream is open */

/* The next Call of this type not yet taken (in arrival order), waiting up to
 * timeout_ms; NULL on timeout. The caller frees it
 * (mesos__v1__executor__call__free_unpacked). */
Mesos__V1__Executor__Call *tagent_wait_call(tagent *a, int type, int timeout_ms);
/* The next UPDATE with this TaskState not yet taken. */
Mesos__V1__Executor__Call *tagent_wait_update(tagent *a, int state, int timeout_ms);
/* How many Calls of this type arrived so far (taken or not). */
int tagent_count(tagent *a, int type);
/* Protocol violations seen so far; the first one's description in buf. */
int tagent_violations(tagent *a, char *buf, size_t len);

#endif
