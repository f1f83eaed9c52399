/* probe.h -- one non-blocking `version` request to memcached, on its own
 * connection, polled by its owner's loop so that a hung memcached never
 * holds the loop up: the executor's (KILL, SHUTDOWN and status updates keep
 * flowing; exec_health.h) and the scheduler core's, which asks a server on
 * a partitioned agent itself (core_probe.c).
 *
 * Use: probe_start() opens the connection (non-blocking connect);
 * probe_poll() is called every loop tick and returns PROBE_PENDING
 * until the reply line is in (PROBE_OK for `VERSION ...`), or the
 * connection failed, memcached answered something else, or the timeout passed
 * (PROBE_FAILED with the reason in why, e.g. "no answer to `version`
 * within 2s"). Each outcome is returned once; the connection is closed then.
 *
 * Ownership: probe_new/probe_free; free accepts NULL and closes a
 * probe in flight. Threads: one owner thread (the executor's main, the
 * scheduler's core). */
#ifndef MCM_PROBE_H
#define MCM_PROBE_H

#include <stddef.h>
#include <stdint.h>

#define PROBE_PENDING 0
#define PROBE_OK 1
#define PROBE_FAILED (-1)

typedef struct probe probe;

/* host: a numeric IPv4 or IPv6 address ("127.0.0.1", "::1"). NULL with the
 * reason in err when it is not one, or out of memory. */
probe *probe_new(const char *host, int port, char *err, size_t errlen);
void probe_free(probe *p);
/* Starts a probe at now_ms that fails unless answered within timeout_ms; a
 * probe still in flight is abandoned first. A start that fails at once (no
 * socket) is reported by the next poll, not here. */
void probe_start(probe *p, int64_t now_ms, int64_t timeout_ms);
/* 1 while a probe is in flight (started, outcome not yet returned). */
int probe_busy(const probe *p);
/* Never blocks. PROBE_PENDING also when no probe is in flight. */
int probe_poll(probe *p, int64_t now_ms, char *why, size_t len);

#endif
