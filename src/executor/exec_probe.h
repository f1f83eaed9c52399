/* exec_probe.h -- one non-blocking `version` request to memcached, on its own
 * connection, polled by the executor's loop so that a hung memcached never
 * holds the loop up (KILL, SHUTDOWN and status updates keep flowing).
 *
 * Use: exec_probe_start() opens the connection (non-blocking connect);
 * exec_probe_poll() is called every loop tick and returns EXEC_PROBE_PENDING
 * until the reply line is in (EXEC_PROBE_OK for `VERSION ...`), or the
 * connection failed, memcached answered something else, or the timeout passed
 * (EXEC_PROBE_FAILED with the reason in why, e.g. "no answer to `version`
 * within 2s"). Each outcome is returned once; the connection is closed then.
 *
 * Ownership: exec_probe_new/exec_probe_free; free accepts NULL and closes a
 * probe in flight. Threads: one owner thread (the executor's main). */
#ifndef MCM_EXEC_PROBE_H
#define MCM_EXEC_PROBE_H

#include <stddef.h>
#include <stdint.h>

#define EXEC_PROBE_PENDING 0
#define EXEC_PROBE_OK 1
#define EXEC_PROBE_FAILED (-1)

typedef struct exec_probe exec_probe;

/* host: a numeric IPv4 or IPv6 address ("127.0.0.1", "::1"). NULL with the
 * reason in err when it is not one, or out of memory. */
exec_probe *exec_probe_new(const char *host, int port, char *err, size_t errlen);
void exec_probe_free(exec_probe *p);
/* Starts a probe at now_ms that fails unless answered within timeout_ms; a
 * probe still in flight is abandoned first. A start that fails at once (no
 * socket) is reported by the next poll, not here. */
void exec_probe_start(exec_probe *p, int64_t now_ms, int64_t timeout_ms);
/* 1 while a probe is in flight (started, outcome not yet returned). */
int exec_probe_busy(const exec_probe *p);
/* Never blocks. EXEC_PROBE_PENDING also when no probe is in flight. */
int exec_probe_poll(exec_probe *p, int64_t now_ms, char *why, size_t len);

#endif
