/* mesos_exec.h -- client of the Mesos v1 executor HTTP API (protobuf).
 *
 * An executor talks to its own agent at $MESOS_AGENT_ENDPOINT: one connection
 * carries only SUBSCRIBE and its endless RecordIO stream of Events; UPDATE and
 * MESSAGE calls go one at a time, in order, over a second keep-alive
 * connection. Every request has `Content-Type: application/x-protobuf`,
 * `Accept: application/x-protobuf`, an empty `Expect:` and, when the agent set
 * MESOS_EXECUTOR_AUTHENTICATION_TOKEN, `Authorization: Bearer <token>`.
 *
 * CONFIGURATION comes from the environment a Mesos agent gives its executors
 * (mesos_exec_config_from_env; see the function for required/optional).
 *
 * THREADING AND CALLBACKS
 * - The stream runs on a thread the client owns (the "executor stream
 *   thread"), started by mesos_exec_start(). It subscribes, decodes Events one
 *   by one and hands each to on_event, on that thread. Callbacks must not
 *   block and must not call into the client: post what they need to the
 *   owner's mailbox (queue.h) and return. on_event receives ownership of the
 *   Event (mesos__v1__executor__event__free_unpacked(ev, NULL)).
 * - Before delivering, the stream thread does its own bookkeeping: LAUNCH
 *   keeps a copy of the TaskInfo; ACKNOWLEDGED forgets the update with that
 *   uuid and the TaskInfo of that task. So mesos_exec_unacked() already
 *   reflects an ACKNOWLEDGED when the owner reads the event.
 * - Disconnection (connection refused or reset, non-200 answer, end of
 *   stream, bad framing, undecodable Event, no SUBSCRIBED within
 *   call_timeout_ms): without checkpointing the client gives up at once;
 *   with checkpointing it re-subscribes with capped exponential backoff
 *   (<= MESOS_SUBSCRIPTION_BACKOFF_MAX, with jitter) until
 *   MESOS_RECOVERY_TIMEOUT has passed since the connection was lost (or since
 *   start, if it never subscribed), then gives up. on_disconnected(why, 0)
 *   tells the owner a live subscription was lost and recovery has begun;
 *   on_disconnected(why, 1) is final: the stream thread has ended and the
 *   owner should stop its task and exit, as a Mesos executor must.
 * - Each SUBSCRIBE carries `subscribe.unacknowledged_updates` (every update
 *   not yet ACKNOWLEDGED) and `unacknowledged_tasks` (every TaskInfo none of
 *   whose updates has been ACKNOWLEDGED yet), both possibly empty.
 * - mesos_exec_update / mesos_exec_message are blocking (at most
 *   call_timeout_ms) and are called from the owner thread only. mesos_exec_new,
 *   start, stop and free: the owner thread. The query functions: any thread.
 *
 * UPDATES: mesos_exec_update fills in a fresh v4 uuid (util_uuid4), source
 * SOURCE_EXECUTOR, the timestamp, executor_id and (once known) agent_id, and
 * keeps the update until the agent ACKNOWLEDGEs it. If it cannot be sent now
 * (not subscribed, transport error, non-202 answer), it returns MCM_ERR but
 * the update is NOT lost: it goes out in the next SUBSCRIBE. An update made
 * while a SUBSCRIBE is in flight is sent right after SUBSCRIBED (before any
 * later update), so updates reach the agent in the order they were made.
 *
 * ERRORS: MCM_OK when the agent answered 202; MCM_ERR with "HTTP <code>:
 * <body>" or the transport error in err. */
#ifndef MCM_MESOS_EXEC_H
#define MCM_MESOS_EXEC_H

#include <stddef.h>
#include <stdint.h>

#include "mesos/v1/executor/executor.pb-c.h"

/* --- configuration from the agent's environment ----------------------------- */
typedef struct mesos_exec_config {
    char *agent_endpoint;      /* MESOS_AGENT_ENDPOINT as given: "10.0.0.1:5051" */
    char *agent_url;           /* derived: "http://10.0.0.1:5051/api/v1/executor" */
    char *framework_id;        /* MESOS_FRAMEWORK_ID */
    char *executor_id;         /* MESOS_EXECUTOR_ID */
    char *directory;           /* MESOS_DIRECTORY: the sandbox on the host */
    char *sandbox;             /* MESOS_SANDBOX: the sandbox as the container sees it */
    char *auth_token;          /* MESOS_EXECUTOR_AUTHENTICATION_TOKEN; NULL: none */
    int checkpoint;            /* MESOS_CHECKPOINT == "1" */
    int64_t backoff_max_ms;    /* MESOS_SUBSCRIPTION_BACKOFF_MAX */
    int64_t recovery_timeout_ms;  /* MESOS_RECOVERY_TIMEOUT */
    int64_t shutdown_grace_ms; /* MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD */
    int64_t call_timeout_ms;   /* not from the environment: 10 s */
    size_t max_record;         /* RecordIO cap; 0 = RIO_DEFAULT_MAX_RECORD */
} mesos_exec_config;

/* Reads the agent's environment into c.
 * Required: MESOS_AGENT_ENDPOINT (host:port, [v6]:port), MESOS_FRAMEWORK_ID,
 * MESOS_EXECUTOR_ID, MESOS_DIRECTORY.
 * Optional (default): MESOS_SANDBOX (= MESOS_DIRECTORY), MESOS_CHECKPOINT
 * ("0"; only "1" and "0" accepted), MESOS_SUBSCRIPTION_BACKOFF_MAX ("2secs"),
 * MESOS_RECOVERY_TIMEOUT ("15mins"), MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD
 * ("5secs"), MESOS_EXECUTOR_AUTHENTICATION_TOKEN (none). Durations take the
 * Mesos spellings (parse_duration_ms). An empty variable counts as unset.
 * MCM_ERR with one line naming the variable and what is wrong, e.g.
 * "MESOS_RECOVERY_TIMEOUT='soon': <reason>". c is cleared first; on error
 * whatever was filled is freed. */
int mesos_exec_config_from_env(mesos_exec_config *c, char *err, size_t errlen);
void mesos_exec_config_free(mesos_exec_config *c);     /* NULL-safe; frees the strings */

/* --- the client ------------------------------------------------------------------ */
typedef struct mesos_exec mesos_exec;

typedef struct mesos_exec_callbacks {
    void *ctx;
    /* Any Event (SUBSCRIBED, LAUNCH, KILL, ACKNOWLEDGED, MESSAGE, ERROR,
     * SHUTDOWN, HEARTBEAT, and unknown types). Owned by the callee. */
    void (*on_event)(void *ctx, Mesos__V1__Executor__Event *ev);
    /* final = 0: a subscription was lost, recovery under way.
     * final = 1: the client gave up; no more events will come. */
    void (*on_disconnected)(void *ctx, const char *why, int final);
} mesos_exec_callbacks;

/* Copies cfg and cb. NULL with a reason in err on bad configuration. */
mesos_exec *mesos_exec_new(const mesos_exec_config *cfg, const mesos_exec_callbacks *cb,
                           char *err, size_t errlen);
/* Starts the stream thread. MCM_ERR if already started or the thread cannot start. */
int mesos_exec_start(mesos_exec *e);
/* Aborts the stream and joins the thread (well under a second; about a
 * second if the thread is in the middle of a call). Idempotent.
 * Calls fail with "stopped" afterwards. */
void mesos_exec_stop(mesos_exec *e);
void mesos_exec_free(mesos_exec *e);     /* stops first; NULL-safe */

/* 1 while SUBSCRIBED has been received on the live stream. Any thread. */
int mesos_exec_subscribed(const mesos_exec *e);
/* Updates made and not yet ACKNOWLEDGED. Any thread. */
size_t mesos_exec_unacked(const mesos_exec *e);
/* How many SUBSCRIBE attempts the stream thread has made so far. Any thread. */
int mesos_exec_subscribe_attempts(const mesos_exec *e);

/* --- calls (owner thread; blocking, see above) ------------------------------ */
/* UPDATE for task_id: state, reason (< 0: none) and message (NULL: none).
 * The uuid used is copied to uuid_out when non-NULL. */
int mesos_exec_update(mesos_exec *e, const char *task_id, Mesos__V1__TaskState state, int reason,
                      const char *message, uint8_t uuid_out[16], char *err, size_t errlen);
/* The same with TaskStatus.healthy: 1 true, 0 false, < 0 absent (as above).
 * The executor's own memcached probe (exec_health.h) sets it. */
int mesos_exec_update_health(mesos_exec *e, const char *task_id, Mesos__V1__TaskState state, int reason,
                             int healthy, const char *message, uint8_t uuid_out[16], char *err, size_t errlen);
/* MESSAGE with data (the agent forwards it to the scheduler). Not retried. */
int mesos_exec_message(mesos_exec *e, const void *data, size_t len, char *err, size_t errlen);

/* Names for logs ("LAUNCH", "TASK_RUNNING"); "UNKNOWN" for values outside the enum. */
const char *mesos_exec_event_name(int type);
const char *mesos_exec_state_name(int state);

#endif
