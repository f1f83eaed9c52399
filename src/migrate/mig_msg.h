/* mig_msg.h -- the framework messages of warm ring transitions between the
 * scheduler and an executor (issue 15).
 *
 * Scheduler -> executor (scheduler MESSAGE call -> executor Event MESSAGE):
 *
 *   {"v":1,"type":"migrate","id":<transition id, int64 >= 1>,
 *    "phase":"copy"|"catchup"|"cleanup"|"purge"|"abort",
 *    "ring":["host:port",...],        R': 1..MIG_MSG_RING_MAX servers
 *    "self":"host:port",              this server's name on the ring, or a
 *                                     name not on it (it leaves: every key moves)
 *    "rate":<bytes/s, 0 = unlimited>, "budget_ms":<per phase, 0 = default>}
 *
 *   copy      mig_copy; catchup: mig_catchup; purge: mig_cleanup (delete what
 *   self does not own under ring); cleanup: a last mig_catchup (when there is
 *   a copy record) then purge; abort: stop whatever runs and mig_undo.
 *   A purge may also carry "from", "to" (rings, "host:port" lists) and
 *   "lost" (names): every key whose owner under from, or under to, is one of
 *   lost is deleted too: the share of a server that ended during a
 *   transition, whose copies nothing can catch up (src/transition/trn.h).
 *
 * Executor -> scheduler (executor MESSAGE call -> scheduler Event MESSAGE):
 *
 *   {"v":1,"type":"migrate_progress","task_id":"...","id":N,"phase":"copy",
 *    "done":true|false,"error":"" | "<why>","unsupported":false,
 *    "keys_seen":N,"keys_total":N,"keys_copied":N,"bytes_copied":N,
 *    "keys_remaining":N,"bytes_remaining":N,"keys_skipped":N,"errors":N,
 *    "invalidated":N,"recopied":N,"kept":N,"deleted":N,
 *    "elapsed_ms":N,"eta_ms":N (-1 unknown)}
 *
 * Utilisation reports (report.h) carry no "type": mig_msg_type() tells the
 * three apart, so one MESSAGE handler can route them. Readers accept any
 * v >= 1 and ignore unknown fields; a message over MIG_MSG_MAX_BYTES, with a
 * missing or mistyped field, an unknown phase, an empty or oversized ring, a
 * malformed or duplicate server name is refused with a reason.
 *
 * Ownership: a decoded command owns its strings (mig_cmd_clear frees them).
 * Threads: any; pure functions. */
#ifndef MCM_MIG_MSG_H
#define MCM_MIG_MSG_H

#include "mig.h"
#include <stddef.h>
#include <stdint.h>

#define MIG_MSG_VERSION 1
#define MIG_MSG_MAX_BYTES (2u * 1024 * 1024)
#define MIG_MSG_RING_MAX 4096
#define MIG_MSG_ADDR_MAX 300
#define MIG_MSG_PROGRESS_MAX 2048
#define MIG_MSG_TASK_ID_MAX 256

typedef enum { MIG_MSG_OTHER = 0, MIG_MSG_COMMAND, MIG_MSG_PROGRESS } mig_msg_kind;

/* What a MESSAGE payload is: a command, a progress, or anything else
 * (a report.h report, or garbage: left to the other decoders). */
mig_msg_kind mig_msg_type(const void *buf, size_t len);

typedef enum {
    MIG_CMD_COPY = 1,
    MIG_CMD_CATCHUP,
    MIG_CMD_CLEANUP,
    MIG_CMD_PURGE,
    MIG_CMD_ABORT,
} mig_cmd_phase;

const char *mig_cmd_phase_name(mig_cmd_phase p);

typedef struct mig_cmd {
    int64_t id;
    mig_cmd_phase phase;
    char **ring;                 /* owned */
    int nring;
    char self[MIG_MSG_ADDR_MAX];
    char **from, **to, **lost;   /* purge only, owned, may be empty: also delete every key */
    int nfrom, nto, nlost;       /* whose owner under from (or to) is one of lost */
    uint64_t rate;
    int64_t budget_ms;
} mig_cmd;

/* Encodes into a malloc'd NUL-terminated string (caller frees); NULL if the
 * command is out of bounds or out of memory. */
char *mig_cmd_encode(const mig_cmd *c);
/* The same in two steps, for one ring sent to every server of a transition:
 * the ring's JSON array once (NULL if a name is not host:port or the size is
 * out of bounds; caller frees), then each command around it (c->ring itself
 * is not read: c->nring must still say its size). Encoding the ring once per
 * message made a phase at N = 1,000 cost 0.4 s of the scheduler's core. */
char *mig_ring_json(char *const *ring, int n);
char *mig_cmd_encode_ring(const mig_cmd *c, const char *ring_json);
int mig_cmd_decode(const void *buf, size_t len, mig_cmd *out, char *err, size_t errlen);
void mig_cmd_clear(mig_cmd *c);              /* frees the ring; NULL-safe */
/* Index of self in the ring, -1 if not on it. */
int mig_cmd_self_index(const mig_cmd *c);

typedef struct mig_msg_progress {
    char task_id[MIG_MSG_TASK_ID_MAX];
    int64_t id;
    mig_cmd_phase phase;
    int done, unsupported;
    char error[256];
    mig_progress p;              /* counters (phase/running/error of p unused) */
} mig_msg_progress;

/* Into buf; returns the length, or -1 if it does not fit or task_id is bad. */
int mig_progress_encode(const mig_msg_progress *m, char *buf, size_t len);
int mig_progress_decode(const void *buf, size_t len, mig_msg_progress *out, char *err, size_t errlen);

#endif
