/* core.h -- the scheduler core: the one thread that owns all scheduler state.
 *
 * Four sources of events reach the scheduler from other threads: the
 * ZooKeeper event thread (session events, election watches), the Mesos stream
 * thread (Events), libmicrohttpd's threads (operator calls) and signals. Each
 * turns what it got into a message on the core's mailbox (queue.h); the core
 * handles messages one at a time on its own thread and runs its timers in
 * between. No lock guards scheduler state. See docs/architecture.md.
 *
 * Threads: core_new/core_run/core_free from main; core_run blocks until a
 * shutdown signal has been handled (graceful: resign first). core_signal may be
 * called from a signal-handling thread. */
#ifndef MCM_CORE_H
#define MCM_CORE_H

#include "config.h"

typedef struct core core;

/* Connects to ZooKeeper, starts HTTP (and discovery if configured). NULL with
 * a reason in err: the caller exits with status 1. cfg is borrowed for the
 * core's life. */
core *core_new(const sched_config *cfg, char *err, size_t errlen);
/* Runs the core loop until shutdown. Returns the exit status. */
int core_run(core *c);
/* Asks for a graceful shutdown (SIGTERM/SIGINT). Any thread. */
void core_signal(core *c, int signo);
void core_free(core *c);    /* NULL-safe */

#endif
