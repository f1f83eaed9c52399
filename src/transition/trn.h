/* trn.h -- warm ring transitions: the state machine that changes the
 * published ring from R to R' without emptying the cache and without ever
 * letting a client read a value it overwrote.
 *
 * PURE: no clock is read, no I/O is done, no globals. Time comes in as
 * `now_ms`, the WALL clock (util_wall_ms()), because the stored record carries
 * deadlines a new leader must read the same way. Every entry point appends
 * what the caller must do, in order, to a trn_actions list; the caller runs
 * the list front to back and stops at the first PERSIST that fails (the next
 * tick or a new leader's trn_resume() emits the same actions again: every
 * action is idempotent).
 *
 * THE INVARIANT (docs/clients.md states it for users):
 *   Outside a transition each key is stored only on its owner under the
 *   published ring. During a transition from R to R' a key may also be on
 *   its owner under R'. Nothing else holds a copy, so no later ring change
 *   can bring an old value back.
 *
 * PHASES (trn_phase; the record in ZooKeeper names the phase, so a new
 * leader continues the same transition):
 *
 *   IDLE --trn_begin--> COPY --all sources done, or copy budget spent--> CATCHUP
 *                        |      (PERSIST, PUBLISH R', CATCHUP to sources)   |
 *                        |                                     drain window over
 *                        |                                                  v
 *                        |       RETIRE removed servers, CLEAR <-- CLEANUP (final
 *                        |       (back to IDLE)        all cleaned   catch-up, then
 *                        |                             or timeout    purge under R')
 *                        +--a participant lost (any phase)--> ABORT --acks or timeout--> IDLE
 *
 *   COPY     every source (a server of R whose keys change owner) walks its
 *            own keys and copies those owned by another server under R' to
 *            that server, hottest first, within the rate and budget; keys
 *            not copied in time are deleted on their new owner. R stays
 *            published, so no client writes there yet; the executors' budget
 *            ends 2 s before ours, so no copy is still written once R' is.
 *            Commands are resent until the executor answers.
 *   CATCHUP  R' is published. For the drain window (the slowest discovery
 *            client's delay) each source follows its clients: it copies
 *            again the keys changed on it since their copy, and deletes
 *            those deleted, each only where the new owner still holds the
 *            copy mcm wrote (compare-and-set on the copy's CAS). One
 *            command starts the following; it is sent again only if the
 *            follow ended (after catchup_every_ms) or the source went
 *            silent (resend_ms): one command per source, not one a round.
 *   CLEANUP  each source makes a last catch-up pass and then deletes every
 *            key it does not own under R' (PURGE under R'): the invariant
 *            holds again for R'.
 *   RETIRE   the servers of R that are not in R' are killed (by the caller).
 *   ABORT    a participant X ended during the transition. Every live source
 *            stops copying, and every live participant gets one PURGE: delete
 *            every key it does not own under the ring now published, and
 *            every key whose owner under R (or R', once R' was published)
 *            was X (X may have copied, or been written to, what nothing can
 *            catch up any more). One command, not a sequence: Mesos does not
 *            promise the order of framework messages. Only when every purge
 *            is answered (or the cleanup timeout passed) is the ring without
 *            X published: until then the ring clients use still lists X (its
 *            share misses), so nobody reads a copy before it is purged. The
 *            invariant then holds for that ring; the caller begins a new
 *            transition if the fleet still differs.
 *
 * Sources: a server of R that is not in R' (its keys all move), and, when R'
 * adds servers, every server of R (some of its keys move to a new server).
 * A transition that only removes servers copies from those alone.
 *
 * What a source that cannot copy says (memcached without meta commands, a
 * failed walk) is a progress message with `unsupported` or `error` set: its
 * share is cold, which keeps the invariant (its keys were never copied).
 *
 * Threads: none shared; one owner (the scheduler's core). Ownership: the
 * machine copies every string and list it is given; actions are owned by the
 * trn_actions list they are appended to. */
#ifndef MCM_TRN_H
#define MCM_TRN_H

#include <stddef.h>
#include <stdint.h>

#define TRN_ID_MAX 192        /* = TT_ID_MAX: task ids */
#define TRN_ADDR_MAX 300      /* "host:port" */
#define TRN_SERVERS_MAX 4096  /* per ring; the servers znode limit is near 8,800 */

typedef enum trn_phase {
    TRN_IDLE = 0,
    TRN_COPY,
    TRN_CATCHUP,
    TRN_CLEANUP,
    TRN_ABORT,
    TRN_PHASE_COUNT
} trn_phase;

/* Stable names used in the record, logs, /v1/status and metrics: "idle",
 * "copy", "catchup", "cleanup", "abort". */
const char *trn_phase_name(trn_phase p);

typedef struct trn_server {
    char task_id[TRN_ID_MAX];
    char addr[TRN_ADDR_MAX];     /* "host:port", the point name on the ring */
} trn_server;

typedef struct trn_config {
    int64_t copy_budget_ms;      /* --migrate-timeout: past it R' is published anyway */
    int64_t rate_bytes;          /* --migrate-rate: bytes/s per source, 0 = unlimited */
    int64_t drain_ms;            /* --drain-time: the catch-up window after publishing */
    int64_t catchup_every_ms;    /* a source whose catch-up ended is asked again after this */
    int64_t resend_ms;           /* a command unanswered this long is sent again */
    int64_t cleanup_timeout_ms;  /* CLEANUP and ABORT wait this long for answers */
} trn_config;

/* Defaults: budget 2m, rate 1 MiB/s (the executor engine's own defaults),
 * drain 60s, a catch-up that ended asked again after 1 s, resend 5s,
 * cleanup 2m. */
void trn_config_default(trn_config *cfg);

/* --- commands to executors (sent as Mesos framework messages) ------------- */
typedef enum trn_cmd_kind {
    TRN_CMD_COPY = 1,   /* ring = R', self: copy keys owned elsewhere under ring */
    TRN_CMD_CATCHUP,    /* re-copy/delete what changed since the copy (CAS-guarded) */
    TRN_CMD_CLEANUP,    /* final catch-up, then delete keys not owned under ring (R') */
    TRN_CMD_STOP,       /* stop any copy for this transition (undo what is still mcm's copy) */
    TRN_CMD_PURGE,      /* delete keys not owned by self under ring, and every key
                         * whose owner under `from` (or `to`, if given) is `lost` */
} trn_cmd_kind;

const char *trn_cmd_name(trn_cmd_kind k);   /* "copy", "catchup", "cleanup", "stop", "purge" */

typedef struct trn_cmd {
    trn_cmd_kind kind;
    int64_t id;                    /* the transition's id */
    char self[TRN_ADDR_MAX];       /* the receiving server's own address */
    const char *const *ring;       /* "host:port" lists, valid until the action list is cleared */
    int nring;
    const char *const *from, *const *to, *const *lost;   /* PURGE in ABORT; to only once R' was */
    int nfrom, nto, nlost;                               /* published; NULL/0 otherwise */
    int64_t rate_bytes, budget_ms; /* COPY */
} trn_cmd;

/* --- actions ----------------------------------------------------------------- */
typedef enum trn_act_kind {
    TRN_A_PERSIST = 1,  /* store `record` (the caller's fenced write); stop on failure */
    TRN_A_CLEAR,        /* delete the stored record (the transition is over) */
    TRN_A_PUBLISH,      /* make `servers` the published list */
    TRN_A_SEND,         /* send `cmd` to the executor of `task_id` */
    TRN_A_RETIRE,       /* kill `task_id` (removed by the transition) */
} trn_act_kind;

typedef struct trn_action {
    trn_act_kind kind;
    char task_id[TRN_ID_MAX];      /* SEND, RETIRE */
    trn_cmd cmd;                   /* SEND */
    const trn_server *servers;     /* PUBLISH */
    int nservers;
    char *record;                  /* PERSIST: JSON, owned by the list */
} trn_action;

typedef struct trn_actions {
    trn_action *v;
    int n, cap;
    void **blocks;                 /* rings, lists and records the actions point into */
    int nblocks, capblocks;
    int oom;                       /* an append failed: the list is incomplete, run none of it */
} trn_actions;

void trn_actions_init(trn_actions *a);
void trn_actions_clear(trn_actions *a);    /* frees what the actions own; reusable */

/* --- progress from executors ----------------------------------------------------- */
typedef struct trn_progress {
    char task_id[TRN_ID_MAX];      /* who answered */
    int64_t id;                    /* transition id it refers to */
    trn_cmd_kind cmd;              /* which command */
    int done;                      /* finished (successfully or not) */
    int unsupported;               /* this memcached cannot copy (no meta commands) */
    char error[192];               /* non-empty: the command failed */
    uint64_t keys_copied, bytes_copied, keys_total, keys_left;
    uint64_t keys_deleted, errors;
} trn_progress;

/* What /v1/status and /metrics show. */
typedef struct trn_status {
    trn_phase phase;
    int64_t id;
    int64_t started_ms, phase_since_ms, deadline_ms;   /* deadline: budget or drain end, 0 if none */
    int from, to, sources, sources_done, cold_sources;
    uint64_t keys_copied, bytes_copied, keys_total, keys_left, errors;
    int64_t eta_ms;                /* -1 if unknown */
    char lost[TRN_ID_MAX];         /* ABORT: the participant that ended */
} trn_status;

typedef struct trn trn;

trn *trn_new(const trn_config *cfg);
void trn_free(trn *t);                         /* NULL-safe */

trn_phase trn_phase_of(const trn *t);
/* 1 if `task_id` takes part in the current transition (in R or R'). */
int trn_involves(const trn *t, const char *task_id);
void trn_get_status(const trn *t, int64_t now_ms, trn_status *out);
/* 1 once R' has been published (CATCHUP reached; stays 1 in an ABORT begun
 * after it): from then on clients may have left R. */
int trn_published_next(const trn *t);

/* Begins R -> R' (the published list and the one to reach). MCM_ERR with a
 * reason if a transition is under way, a list is empty or too long, a server
 * is malformed or listed twice, or the rings are equal. id must grow from one
 * transition to the next (the caller stores the last one). */
int trn_begin(trn *t, int64_t id, const trn_server *from, int nfrom, const trn_server *to,
              int nto, int64_t now_ms, trn_actions *out, char *err, size_t errlen);
/* An executor's answer. Answers for another transition or an unknown task are
 * ignored (0); 1 if it changed something. */
int trn_on_progress(trn *t, const trn_progress *p, int64_t now_ms, trn_actions *out);
/* A participant ended (killed, failed, lost): ABORT. Ignored (0) if it takes
 * no part, or in ABORT already when it was counted. */
int trn_on_lost(trn *t, const char *task_id, int64_t now_ms, trn_actions *out);
/* Timers: resends, the copy budget, catch-up rounds, the drain end, timeouts. */
void trn_tick(trn *t, int64_t now_ms, trn_actions *out);

/* The record in ZooKeeper (malloc'd JSON, caller frees; NULL if idle or out
 * of memory). */
char *trn_record(const trn *t);
/* A new leader continues a stored record: MCM_ERR with a reason if it is
 * malformed or out of range (the caller then treats it as no transition:
 * see docs/architecture.md). */
int trn_load(trn *t, const char *json, size_t len, char *err, size_t errlen);
/* After trn_load: the idempotent actions of the current phase (publish the
 * phase's ring, resend its commands). */
void trn_resume(trn *t, int64_t now_ms, trn_actions *out);

#endif
