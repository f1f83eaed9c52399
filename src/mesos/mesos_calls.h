/* mesos_calls.h -- the scheduler Calls mcm sends, built and packed in one place.
 *
 * Every Call the scheduler client puts on the wire comes out of these
 * builders, so the wire-compatibility test (tests/mesos/wire) checks exactly
 * the bytes the client sends. Each returns a malloc'd serialized
 * mesos.v1.scheduler.Call (caller frees) and its length, or NULL when out of
 * memory. `framework_id` is set on the Call when non-empty (SUBSCRIBE sets it
 * in FrameworkInfo.id too, as Mesos requires both or neither).
 *
 * Threads: any; nothing here keeps state. Arguments stay the caller's. */
#ifndef MCM_MESOS_CALLS_H
#define MCM_MESOS_CALLS_H

#include <stddef.h>
#include <stdint.h>

#include "mesos/v1/scheduler/scheduler.pb-c.h"

typedef struct mesos_fw_info {
    const char *user, *name;
    const char *role;          /* NULL: "*" */
    const char *hostname;      /* NULL: not sent */
    const char *principal;     /* NULL: not sent */
    const char *webui_url;     /* NULL: not sent */
    double failover_timeout_s;
} mesos_fw_info;

/* SUBSCRIBE: FrameworkInfo{user, name, id, failover_timeout, checkpoint=true,
 * roles=[role], capabilities MULTI_ROLE, TASK_KILLING_STATE, PARTITION_AWARE,
 * hostname, principal, webui_url}. */
uint8_t *mesos_call_subscribe(const mesos_fw_info *fw, const char *framework_id, size_t *len);
/* ACCEPT one offer with one LAUNCH of n tasks; refuse_seconds < 0: no Filters. */
uint8_t *mesos_call_launch(const char *framework_id, const char *offer_id,
                           Mesos__V1__TaskInfo **tasks, size_t n, double refuse_seconds, size_t *len);
uint8_t *mesos_call_decline(const char *framework_id, const char *const *offer_ids, size_t n,
                            double refuse_seconds, size_t *len);
/* ACCEPT_INVERSE_OFFERS / DECLINE_INVERSE_OFFERS of n inverse offers;
 * refuse_seconds < 0: no Filters (the master's default, 5 s, then applies to
 * the next inverse offer for the same agent). */
uint8_t *mesos_call_accept_inverse(const char *framework_id, const char *const *inverse_offer_ids, size_t n,
                                   double refuse_seconds, size_t *len);
uint8_t *mesos_call_decline_inverse(const char *framework_id, const char *const *inverse_offer_ids, size_t n,
                                    double refuse_seconds, size_t *len);
uint8_t *mesos_call_kill(const char *framework_id, const char *task_id, const char *agent_id,
                         size_t *len);
uint8_t *mesos_call_acknowledge(const char *framework_id, const char *agent_id, const char *task_id,
                                const uint8_t *uuid, size_t uuid_len, size_t *len);
/* n = 0: implicit reconciliation (an empty `reconcile {}` is still sent). */
uint8_t *mesos_call_reconcile(const char *framework_id, const char *const *task_ids,
                              const char *const *agent_ids, size_t n, size_t *len);
uint8_t *mesos_call_message(const char *framework_id, const char *agent_id, const char *executor_id,
                            const void *data, size_t dlen, size_t *len);
/* REVIVE or SUPPRESS for one role (NULL: all roles). */
uint8_t *mesos_call_revive(const char *framework_id, const char *role, size_t *len);
uint8_t *mesos_call_suppress(const char *framework_id, const char *role, size_t *len);
uint8_t *mesos_call_teardown(const char *framework_id, size_t *len);
/* Any Call; framework_id (when non-empty) replaces call->framework_id on the
 * wire only: the caller's struct is left as it was. */
uint8_t *mesos_call_pack(Mesos__V1__Scheduler__Call *call, const char *framework_id, size_t *len);

/* Name of a Call or Event type for logs ("ACCEPT", "UPDATE", "type 42"). */
const char *mesos_call_type_name(int type, char *buf, size_t len);
const char *mesos_event_type_name(int type, char *buf, size_t len);

#endif
