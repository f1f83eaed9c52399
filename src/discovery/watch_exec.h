/* watch_exec.h -- run an operator's reload command with a time limit.
 *
 * `/bin/sh -c CMD` in its own process group, stdin from /dev/null, stdout and
 * stderr inherited (they land in the caller's log). After timeout_ms the whole
 * group gets SIGKILL. The call blocks until the command has ended, so a caller
 * that runs commands from one thread never has two running at once.
 *
 * Threads: any thread that may block (never a ZooKeeper callback). */
#ifndef MCM_WATCH_EXEC_H
#define MCM_WATCH_EXEC_H

#include <stdint.h>

/* Returns MCM_OK if the command ran and exited 0; MCM_ERR otherwise (could
 * not start, non-zero exit, killed by a signal, timed out). The outcome is
 * logged either way, at INFO for success and WARNING otherwise. */
int watch_exec_run(const char *cmd, int64_t timeout_ms);

#endif
