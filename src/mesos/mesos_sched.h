/* mesos_sched.h -- client of the Mesos v1 scheduler HTTP API (protobuf).
 *
 * Two connections, as Mesos wants: the SUBSCRIBE connection carries only the
 * subscription and its endless RecordIO stream of Events; every other Call
 * goes, one at a time and in order, over a second keep-alive connection with
 * the `Mesos-Stream-Id` the master gave on SUBSCRIBE.
 *
 * THREADING AND CALLBACKS
 * - The stream runs on a thread the client owns (the "Mesos stream thread").
 *   It finds the leading master (http:// list with 307 redirects followed by
 *   hand, or zk:// detection, see mesos_detect.h), subscribes, decodes Events
 *   and hands each to on_event. On any failure (connection refused or reset,
 *   non-200 answer, bad framing, undecodable Event, ERROR event, no Event for
 *   `heartbeat_misses` heartbeat intervals, including while connecting) it
 *   reports on_disconnected with the reason, waits with capped exponential
 *   backoff and jitter, and subscribes again (with the framework ID once one
 *   is known), until mesos_sched_stop().
 * - on_disconnected is called once per failed subscription round (every
 *   master tried, or an established stream ended), never after stop().
 *   An ERROR event is first handed to on_event like any other, then the
 *   stream is closed and on_disconnected says "master sent ERROR: <message>".
 * - Callbacks run on the stream thread. They must not block and must not
 *   call back into the client: copy or keep what they need, post it to the
 *   owner's mailbox and return. on_event receives ownership of the Event
 *   (free it with mesos__v1__scheduler__event__free_unpacked(ev, NULL)).
 * - Every call function (mesos_sched_call and the helpers) is blocking, with a
 *   bounded timeout (call_timeout_ms), and is made from the owner thread only
 *   (the scheduler core). They fail fast (MCM_ERR, "not subscribed") when no
 *   subscription is live, and always after mesos_sched_stop().
 * - mesos_sched_start/stop/free from the owner thread. stop() is prompt: it
 *   aborts the stream transfer and joins the thread (well under a second).
 *
 * FAILOVER: an ERROR event "Framework failed over" means another scheduler
 * subscribed with our framework ID. Subscribing again would take the
 * framework back from it, and the two would evict each other in a loop
 * (MESOS-4712), so the stream thread then stops trying: it reports
 * on_disconnected once and waits for stop(). The owner decides (mcm: check
 * leadership in ZooKeeper, then start a new term with a fresh start()).
 *
 * ERRORS: calls return MCM_OK when the master answered 202, else MCM_ERR with
 * "<HTTP status> <body text>" or the transport error in err. A 307 is
 * followed (hop limit 3) by hand, keeping the Authorization header.
 *
 * FrameworkInfo sent: user, name, id (when known), failover_timeout,
 * checkpoint=true, roles=[role] with capabilities MULTI_ROLE,
 * TASK_KILLING_STATE and PARTITION_AWARE, hostname, principal (if set),
 * webui_url (if set). Basic auth when principal and secret are set; then a
 * 307 is followed only to a master of the --master list (same scheme, host
 * and port) or the one ZooKeeper names, never elsewhere: with credentials
 * and an http:// list, list every master under the name Mesos redirects to
 * (its MasterInfo hostname or IP), or use zk://. */
#ifndef MCM_MESOS_SCHED_H
#define MCM_MESOS_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "mesos/v1/scheduler/scheduler.pb-c.h"
#include "opt.h"

/* Keep-alive connections for calls: this many calls may be in flight at
 * once, from as many threads (the scheduler's call lanes, callq.h). */
#define MESOS_CALL_CONNS 4

typedef struct mesos_sched mesos_sched;

typedef struct mesos_sched_callbacks {
    void *ctx;
    /* An Event (SUBSCRIBED included; HEARTBEATs too). Owned by the callee. */
    void (*on_event)(void *ctx, Mesos__V1__Scheduler__Event *ev);
    /* The subscription ended; the client will retry unless stopped (or, after
     * an ERROR "Framework failed over", never: see FAILOVER below). */
    void (*on_disconnected)(void *ctx, const char *why);
    /* Asked on the stream thread before every SUBSCRIBE; 0 holds the attempt
     * back (asked again every 100 ms) until it says 1 or stop(). NULL: always.
     * Lets a scheduler that may have lost leadership (its ZooKeeper session
     * in doubt) keep its hands off the framework. Must not block. */
    int (*may_subscribe)(void *ctx);
} mesos_sched_callbacks;

typedef struct mesos_sched_config {
    const opt_master *master;      /* copied */
    const char *user, *name, *role, *hostname;
    const char *principal;         /* NULL: none */
    const char *secret;            /* the secret itself (read from --secret-file); NULL: none */
    const char *webui_url;         /* NULL: none */
    double failover_timeout_s;
    int heartbeat_misses;          /* stream dropped after this many silent intervals (default 5) */
    int64_t call_timeout_ms;       /* per call (default 10 s) */
    int64_t backoff_min_ms, backoff_max_ms;   /* re-subscribe backoff (default 500 ms .. 30 s) */
    size_t max_record;             /* RecordIO cap (0: default) */
    /* Added by the client's author (zero keeps the defaults): */
    int64_t subscribe_timeout_ms;  /* connect + 200 + SUBSCRIBED must fit (default 20 s) */
    int zk_session_timeout_ms;     /* zk:// master detection session (default 10 s) */
} mesos_sched_config;

/* Copies cfg (strings too). NULL with a reason in err on bad configuration. */
mesos_sched *mesos_sched_new(const mesos_sched_config *cfg, const mesos_sched_callbacks *cb,
                             char *err, size_t errlen);
/* Starts the stream thread. framework_id: the stored ID to re-subscribe with,
 * or NULL the first time. MCM_ERR if already started. */
int mesos_sched_start(mesos_sched *s, const char *framework_id);
/* Closes the subscription, drops the stream id, joins the thread. Idempotent. */
void mesos_sched_stop(mesos_sched *s);
void mesos_sched_free(mesos_sched *s);          /* stops first; NULL-safe */

/* 1 between a successful mesos_sched_start() and mesos_sched_stop(). Owner thread. */
int mesos_sched_running(const mesos_sched *s);
/* 1 while a subscription is live (SUBSCRIBED received, stream open). Any thread. */
int mesos_sched_subscribed(const mesos_sched *s);
/* The framework ID from the latest SUBSCRIBED (or given to start), "" if none.
 * Copies into buf. Any thread. */
void mesos_sched_framework_id(const mesos_sched *s, char *buf, size_t len);
/* Base URL of the master currently used ("http://10.0.0.1:5050"), "" if none. */
void mesos_sched_master_url(const mesos_sched *s, char *buf, size_t len);

/* --- calls (owner thread; blocking; see above) -------------------------------- */
/* Sends any Call; the client sets framework_id and the stream id. The caller
 * keeps ownership of call. */
int mesos_sched_call(mesos_sched *s, Mesos__V1__Scheduler__Call *call, char *err, size_t errlen);

/* ACCEPT one offer with LAUNCH operations for the given tasks. */
int mesos_sched_launch(mesos_sched *s, const char *offer_id, Mesos__V1__TaskInfo **tasks, size_t n,
                       double refuse_seconds, char *err, size_t errlen);
int mesos_sched_decline(mesos_sched *s, const char *const *offer_ids, size_t n, double refuse_seconds,
                        char *err, size_t errlen);
/* Maintenance: answer inverse offers (Event INVERSE_OFFERS) by ID. Accepting
 * tells the master the framework is ready to give the agent up; refuse_seconds
 * < 0 sends no Filters. */
int mesos_sched_accept_inverse(mesos_sched *s, const char *const *inverse_offer_ids, size_t n,
                               double refuse_seconds, char *err, size_t errlen);
int mesos_sched_decline_inverse(mesos_sched *s, const char *const *inverse_offer_ids, size_t n,
                                double refuse_seconds, char *err, size_t errlen);
int mesos_sched_kill(mesos_sched *s, const char *task_id, const char *agent_id /* NULL ok */,
                     char *err, size_t errlen);
int mesos_sched_acknowledge(mesos_sched *s, const char *agent_id, const char *task_id,
                            const uint8_t *uuid, size_t uuid_len, char *err, size_t errlen);
/* Explicit reconciliation of n tasks (agent_ids[i] may be NULL); n = 0 is implicit. */
int mesos_sched_reconcile(mesos_sched *s, const char *const *task_ids, const char *const *agent_ids,
                          size_t n, char *err, size_t errlen);
int mesos_sched_message(mesos_sched *s, const char *agent_id, const char *executor_id,
                        const void *data, size_t len, char *err, size_t errlen);
int mesos_sched_revive(mesos_sched *s, char *err, size_t errlen);    /* for our role */
int mesos_sched_suppress(mesos_sched *s, char *err, size_t errlen);  /* for our role */
int mesos_sched_teardown(mesos_sched *s, char *err, size_t errlen);

/* --- events --------------------------------------------------------------------
 * Inverse offers and their rescinds arrive through on_event like OFFERS and
 * RESCIND (ev->inverse_offers, ev->rescind_inverse_offer); Offer.unavailability
 * is on each Offer. This reads an Unavailability: start and duration in ms
 * (wall clock, Unix epoch), duration -1 when unset (forever). MCM_ERR if u or
 * its start is missing. Any thread. */
int mesos_unavailability(const Mesos__V1__Unavailability *u, int64_t *start_ms, int64_t *duration_ms);

#endif
