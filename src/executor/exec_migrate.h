/* exec_migrate.h -- the executor's side of warm ring transitions: runs the
 * copy engine (src/migrate) on a worker thread when the scheduler says so.
 *
 * Commands arrive as framework messages (mig_msg.h); the owner loop hands
 * them to exec_mig_command and sends what exec_mig_poll gives it back as
 * executor MESSAGE calls: a progress message every EXEC_MIG_PROGRESS_MS
 * while a phase runs, and one with done=true when it ends. The loop never
 * blocks on a copy: reports, updates and Mesos traffic go on meanwhile.
 *
 * Rules (README.md, "Warm ring transitions"):
 *   - one engine per transition id; a command for an older id than the
 *     current one is ignored, a newer id cancels what runs and starts over;
 *   - the same (id, phase) again while it runs: nothing new (progress keeps
 *     coming); copy or abort again after it ended: the final progress is
 *     sent again, nothing is redone; catchup, cleanup or purge again after it
 *     ended: one more pass (each pass is harmless to repeat);
 *   - abort cancels the running phase and then undoes the copies (mig_undo).
 *
 * Threads: exec_mig_new/command/poll/free on the owner loop's thread only;
 * the worker calls `wake` (which must only post to the loop's mailbox) when
 * a phase ends. exec_mig_free cancels and joins the worker. */
#ifndef MCM_EXEC_MIGRATE_H
#define MCM_EXEC_MIGRATE_H

#include "mig_msg.h"
#include <stddef.h>
#include <stdint.h>

#define EXEC_MIG_PROGRESS_MS 1000

typedef struct exec_mig exec_mig;

/* source: where this executor's memcached answers ("127.0.0.1:31000"). */
exec_mig *exec_mig_new(const char *task_id, const char *source, void (*wake)(void *ctx), void *ctx,
                       char *err, size_t errlen);
void exec_mig_free(exec_mig *x);             /* NULL-safe; cancels and joins */
void exec_mig_command(exec_mig *x, const mig_cmd *c);
/* A progress message due now into buf (its length), or 0 if none. */
int exec_mig_poll(exec_mig *x, int64_t now_ms, char *buf, size_t len);
/* A done progress refusing a command (no memcached running, malformed). */
int exec_mig_refusal(const char *task_id, int64_t id, mig_cmd_phase phase, const char *why, char *buf, size_t len);

#endif
