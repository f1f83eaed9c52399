/* simc.h -- test client for mcm-sim: runs the real program and talks raw
 * libcurl + protobuf-c to it (deliberately not mcm's scheduler client).
 *
 * simc_start runs build-dir/src/sim/mcm-sim as a child (harness th_proc),
 * waits for its ready line and parses the port. A simc_sub is one scheduler
 * subscription: a thread runs the SUBSCRIBE transfer and queues the decoded
 * Events; tests take them with a timeout. simc_call sends one Call on its own
 * connection and returns the HTTP status.
 * Threads: test main thread, except the subscription threads inside. */
#ifndef MCM_TESTS_SIMC_H
#define MCM_TESTS_SIMC_H

#include <jansson.h>
#include <stddef.h>

#include "mesos/v1/executor/executor.pb-c.h"
#include "mesos/v1/scheduler/scheduler.pb-c.h"

typedef struct simc simc;

/* Starts mcm-sim with --listen 127.0.0.1:0 and the given extra arguments
 * (NULL-terminated); ck_abort if it is not ready within 20 s. */
simc *simc_start(const char *const *args);
int simc_port(const simc *c);
int simc_pid(const simc *c);                  /* mcm-sim's process id */
const char *simc_log(const simc *c);          /* path of its log file */
const char *simc_dir(const simc *c);          /* its temp dir (work dir below it) */
void simc_free(simc *c);                      /* SIGTERM, wait; NULL-safe */
/* 1 when the log contains text. */
int simc_log_has(const simc *c, const char *text);

/* GET/POST on the master port; returns the HTTP status, body into *out
 * (malloc'd, may be NULL). */
int simc_http(int port, const char *method, const char *path, char **out);
json_t *simc_state(simc *c);                  /* GET /sim/state, decoded */
/* POST a raw body with the given Content-Type/headers (each "Name: value", NULL-terminated). */
int simc_post(int port, const char *path, const void *body, size_t len, const char *const *headers, char **out,
              char *location, size_t loclen);

/* A FrameworkInfo for tests: user/name set, MULTI_ROLE + PARTITION_AWARE
 * when pa, roles=[role] (if multi), failover_timeout, checkpoint. id may be NULL.
 * Free with simc_fi_free. */
Mesos__V1__FrameworkInfo *simc_fi(const char *name, const char *id, int pa, double failover_s);
void simc_fi_free(Mesos__V1__FrameworkInfo *fi);

typedef struct simc_sub simc_sub;
simc_sub *simc_subscribe(int port, const Mesos__V1__FrameworkInfo *fi);
/* Waits for the response headers; the HTTP status (0 on transport error). */
int simc_sub_status(simc_sub *s, int timeout_ms);
const char *simc_sub_stream_id(simc_sub *s);
/* The next event of `type` (earlier ones of other types stay queued), or NULL
 * after timeout_ms. Caller frees with mesos__v1__scheduler__event__free_unpacked. */
Mesos__V1__Scheduler__Event *simc_sub_next(simc_sub *s, int type, int timeout_ms);
/* Number of queued events of type. */
int simc_sub_count(simc_sub *s, int type);
/* 1 once the transfer ended (server closed or error) within timeout_ms. */
int simc_sub_ended(simc_sub *s, int timeout_ms);
void simc_sub_close(simc_sub *s);             /* aborts the transfer, joins; NULL-safe */

/* The same for an executor subscription on an agent port (the test plays the
 * executor); events are mesos.v1.executor Events. */
simc_sub *simc_exec_subscribe(int agent_port, const Mesos__V1__Executor__Call *subscribe_call);
Mesos__V1__Executor__Event *simc_exec_next(simc_sub *s, int type, int timeout_ms);

/* One scheduler Call (framework_id is set by the caller); HTTP status, body text into out. */
int simc_call(int port, const char *stream_id, const Mesos__V1__Scheduler__Call *call, char *out, size_t outlen);

/* Builders that fill a Call for framework fid. Strings are borrowed. */
void simc_call_init(Mesos__V1__Scheduler__Call *c, Mesos__V1__FrameworkID *fid, const char *fw_id, int type);

#endif
