/* fleet.h -- the scheduler's decisions: events in, an ordered action list out.
 *
 * The fleet owns the leader's task table (tasks.h), the desired count, the
 * per-agent relaunch backoff and the reconciliation run, and decides what to
 * do about every event the core translates for it: a status update, a batch
 * of offers, a tick, the outcome of an action, an operator's restart, an
 * autoscaling drain. It makes no ZooKeeper, Mesos, HTTP or clock call: time
 * comes in as an argument (fleet_clock), and everything it wants done comes
 * out as a fleet_actions list, which the core's runner (core_run.c) performs
 * in order. This is the shape of etcd-io/raft's Ready: what to persist comes
 * before what to send, and the application runs the list.
 *
 * THE RUNNER'S CONTRACT (what makes the rules hold by construction)
 *  1. It checks once, before the first action, that the replica may act
 *     (core_may_act); if not, nothing runs.
 *  2. It runs the actions in list order and stops at the first failed
 *     persist (FA_PUT_TASK, FA_DELETE_TASK): whatever follows a write
 *     depends on it. So an update is acknowledged only after it is stored,
 *     and a task is launched only after its record is stored.
 *  3. It reports the outcome of every action exactly once: fleet_stored()
 *     for a persist, fleet_done() for a Mesos call (ok, failed, or not run
 *     at all because the list stopped). The fleet changes its table only in
 *     fleet_stored(ok): the table never runs ahead of ZooKeeper.
 *  4. fleet_done() may hand back follow-up actions (a LAUNCH refused with a
 *     4xx forgets its record; the implicit RECONCILE, once sent, makes the
 *     leader LEADING); the runner runs them next, under the same rules.
 *
 * Entry points called outside a term (before fleet_begin_term, after
 * fleet_end_term) return no action: a follower decides nothing.
 *
 * Ownership: a fleet_actions list owns its actions and their arrays
 * (fleet_actions_clear frees them). Pointers into the table (fleet_find,
 * fleet_table) are valid until the next fleet_stored/fleet_end_term.
 * Threads: the core only; pure. */
#ifndef MCM_FLEET_H
#define MCM_FLEET_H

#include "place.h"
#include "report.h"
#include "tasks.h"
#include "trn_keep.h"

#include <stddef.h>
#include <stdint.h>

#define FLEET_KILL_RESEND_MS 30000      /* a KILL unanswered this long is sent again */
#define FLEET_RECON_FIRST_DELAY_MS 2000 /* explicit RECONCILE resent after, doubling... */
#define FLEET_RECON_MAX_DELAY_MS 60000  /* ...up to this */
#define FLEET_RECON_PATIENCE_MS 60000   /* a reconciliation run ends after this, answered or not */
/* Offers declined before LEADING (while the stored tasks are reconciled)
 * come back after this. Short: reconciling a healthy fleet takes well under
 * a second (174 ms for 1,000 tasks, bench_scale), and the first offers of
 * a term arrive during it; with 5 s, those agents launched nothing for 5 s. */
#define FLEET_NOT_LEADING_REFUSE_S 1.0
#define FLEET_UUID_MAX 64
#define FLEET_UNREACHABLE_ASK_MS 10000 /* ask Mesos about an UNREACHABLE task at most this often (at once when its agent offers, else from 10 s on) */

/* The two clocks: monotonic for deadlines, wall for what is stored. */
typedef struct fleet_clock {
    int64_t mono_ms;
    int64_t wall_ms;
} fleet_clock;

typedef struct fleet_config {
    double cpus, mem_mb;         /* a server's resources (task + executor) */
    int max_per_agent;
    double refuse_s;             /* --refuse-time, for DECLINE and LAUNCH filters */
    int64_t drain_time_ms;
    int64_t reconcile_interval_ms;
    int64_t backoff_min_ms, backoff_max_ms;
    trn_keep_config ring;        /* warm ring transitions (trn_keep.h) */
    const char *const *constraints;  /* --constraint (place.h), already checked; copied by fleet_new */
    int nconstraints;
    int zone_spread;             /* spread servers evenly over fault-domain zones */
    int64_t unreachable_grace_ms;  /* --unreachable-grace (fleet_partition.c); 0: replace at once */
} fleet_config;

/* The vocabulary. Persists first, then Mesos calls, in list order. */
typedef enum fleet_action_kind {
    FA_PUT_TASK = 1,   /* store `task` (fenced); a failure stops the list */
    FA_DELETE_TASK,    /* remove the record of task.id; a failure stops the list */
    FA_ACK,            /* ACKNOWLEDGE the update (task.id, task.agent_id, uuid) */
    FA_LAUNCH,         /* ACCEPT offer `offer` (event index) with a LAUNCH of `task` */
    FA_DECLINE,        /* DECLINE the offers ids[0..n) for refuse_s */
    FA_KILL,           /* KILL task.id (task.agent_id if known) */
    FA_REVIVE,         /* offers wanted again */
    FA_SUPPRESS,       /* no offers wanted */
    FA_RECONCILE,      /* explicit: ids/agents[0..n); n = 0: implicit */
    FA_MESSAGE,        /* framework MESSAGE `data` to the executor of task.id */
    FA_PUBLISH,        /* the server list follows the table (published if changed) */
    FA_PHASE,          /* the leadership phase moves to `phase` */
    FA_PUT_RING,       /* store the transition record `data` (fenced); a failure stops the list */
    FA_CLEAR_RING,     /* delete the transition record; a failure stops the list */
} fleet_action_kind;

typedef enum fleet_phase {
    FLEET_RECONCILING = 1,     /* every state is being confirmed: nothing launched */
    FLEET_LEADING,
} fleet_phase;

typedef struct fleet_action {
    fleet_action_kind kind;
    tt_task task;              /* the record (PUT), or whose task (DELETE, ACK, KILL, LAUNCH, MESSAGE) */
    int fresh;                 /* PUT_TASK: a new task ID, no record yet (stored by create) */
    char why[160];             /* for the log line of the runner */
    int offer;                 /* LAUNCH: index of the offer in the event */
    int port;                  /* LAUNCH: the matched port */
    double refuse_s;           /* LAUNCH, DECLINE */
    uint8_t uuid[FLEET_UUID_MAX];
    size_t uuid_len;           /* ACK */
    char (*ids)[TT_ID_MAX];    /* DECLINE: offer ids; RECONCILE: task ids (owned) */
    char (*agents)[TT_ID_MAX]; /* RECONCILE: their agents, "" if unknown (owned) */
    int n;
    char *data;                /* MESSAGE (owned) */
    size_t data_len;
    fleet_phase phase;         /* PHASE */
    /* the fleet's own bookkeeping, read back by fleet_stored/fleet_done */
    int ended;                 /* DELETE: the task ended (an update said so) */
    int replace;               /* KILL: an operator restart: a replacement follows */
    int relaunch;              /* LAUNCH done: it replaced a server that ended unasked */
    int kept;                  /* PUT_TASK of an UNREACHABLE: kept through the partition */
    int64_t prev_kill_ms;      /* KILL: kill_sent_ms before it, restored if not sent */
    int64_t run;               /* RECONCILE: the reconciliation run it belongs to */
} fleet_action;

typedef struct fleet_actions {
    fleet_action *v;
    int n, cap;
    int oom;                   /* an append failed: the list is incomplete */
} fleet_actions;

void fleet_actions_init(fleet_actions *l);
void fleet_actions_clear(fleet_actions *l);     /* frees, leaves it empty and reusable */
/* A name for logs and tests: "PUT_TASK", "KILL", ... */
const char *fleet_action_name(fleet_action_kind k);

/* A status update as the core translated it. */
typedef struct fleet_status {
    const char *task_id;
    const char *agent_id;      /* NULL if the master did not say */
    int state;                 /* mesos.v1.TaskState */
    const char *message;       /* NULL if none */
    const uint8_t *uuid;       /* NULL: made by the master, nothing to acknowledge */
    size_t uuid_len;
} fleet_status;

/* An offer as the core translated it: whether one server fits (offer.h),
 * the task ID a launch on it would get, and where its agent is. */
typedef struct fleet_offer {
    const char *id, *agent_id, *hostname;
    int fits;                  /* 1: offer_match found the resources */
    int port;                  /* the port it matched */
    const char *new_task_id;   /* a fresh ID for a launch on it */
    const place_agent *agent;  /* attributes and fault domain (place_mesos.h); NULL: none */
} fleet_offer;

/* Answers of the operator's restart. */
#define FLEET_NOT_FOUND (-2)
#define FLEET_CONFLICT (-3)

typedef struct fleet fleet;

fleet *fleet_new(const fleet_config *cfg);     /* NULL if out of memory */
void fleet_free(fleet *f);                      /* NULL-safe */

/* A term begins with the stored records (copied) and desired count; it ends
 * (step-down) by forgetting everything but the backoff. */
int fleet_begin_term(fleet *f, const tt_task *tasks, int n, int desired);
/* Task IDs whose stored record exists but could not be read (a corrupt
 * znode): Mesos may still run them. They are never killed as unknown (the
 * operator repairs or deletes the record: the warning says which); their
 * updates are acknowledged. Copied; replaced at each call. */
int fleet_set_quarantine(fleet *f, const char (*ids)[TT_ID_MAX], int n);
void fleet_end_term(fleet *f);
int fleet_in_term(const fleet *f);
int fleet_leading(const fleet *f);

/* --- events -> actions (appended to out) ---------------------------------- */
/* SUBSCRIBED (the framework ID stored): reconciliation begins, RECONCILING. */
void fleet_on_subscribed(fleet *f, fleet_clock now, fleet_actions *out);
/* The subscription was lost: no longer LEADING until the next SUBSCRIBED. */
void fleet_on_unsubscribed(fleet *f);
void fleet_on_update(fleet *f, const fleet_status *st, fleet_clock now, fleet_actions *out);
/* Status updates decided together, so that their records are stored in one
 * multi rather than one ZooKeeper round trip each (1,000 launches make 2,000
 * updates; one at a time they held the core for 14 s at N = 1,000, and the
 * agents forward a task's next update only once its last is acknowledged:
 * bench/scale). Each of st[0..n) is decided as fleet_on_update would, in
 * order, and the list ends with one PUBLISH instead of one per update.
 * Only updates that fleet_update_batchable() took may be given: each one's
 * decision reads no other task's record, so deciding it before the others
 * are stored changes nothing. */
void fleet_on_updates(fleet *f, const fleet_status *st, int n, fleet_clock now, fleet_actions *out);
/* Whether st may join a batch of updates for the tasks ids[0..nids): an
 * update that is not final and not TASK_UNREACHABLE, of a task that is not
 * UNREACHABLE now (coming back counts the fleet) and not already in it
 * (the second update of a task is decided on the record of the first). */
int fleet_update_batchable(const fleet *f, const fleet_status *st, const char *const *ids, int nids);
void fleet_on_offers(fleet *f, const fleet_offer *offers, int n, fleet_clock now, fleet_actions *out);
/* Every tick while subscribed: reconciliation, revive/suppress, surplus,
 * drains that ended, KILLs unanswered. */
void fleet_tick(fleet *f, fleet_clock now, fleet_actions *out);
/* Starts draining task id (unpublished now, killed after the drain time). */
void fleet_drain(fleet *f, const char *id, const char *why, fleet_clock now, fleet_actions *out);
/* Operator restart: MCM_OK (a KILL in out), FLEET_NOT_FOUND, FLEET_CONFLICT. */
int fleet_restart(fleet *f, const char *id, fleet_clock now, fleet_actions *out);
/* Forget every task (the framework is gone): one DELETE per task. */
void fleet_forget_all(fleet *f, fleet_actions *out);

/* --- outcomes ------------------------------------------------------------- */
void fleet_stored(fleet *f, const fleet_action *a, int ok, fleet_clock now);
/* err: the failure ("<HTTP status> <body>", a transport error, or "not run"). */
void fleet_done(fleet *f, fleet_action *a, int ok, const char *err, fleet_clock now, fleet_actions *out);

/* --- the published ring (fleet_ring.c) ------------------------------------- */
/* What the term starts from: the stored server list (task id, "host:port")
 * and the stored transition record (NULL if none). Copied; handed to the
 * ring keeper when the leader starts LEADING (every state known). */
int fleet_set_ring(fleet *f, const trn_server *published, int n, const char *record, size_t len);
/* An executor's answer to a transition command. */
void fleet_on_ring_progress(fleet *f, const trn_progress *p, fleet_clock now, fleet_actions *out);
/* A framework MESSAGE from an executor: 1 if it was a transition's progress
 * (handled), -1 if it claimed to be one but is malformed (logged), 0 if it is
 * something else (a utilisation report) for the caller. */
int fleet_on_executor_message(fleet *f, const void *data, size_t len, fleet_clock now, fleet_actions *out);
/* The list to publish now (the keeper's ring less servers that stopped
 * serving): fills out (capacity cap), returns the count; -1 when out of
 * memory (never an empty list in its place). */
int fleet_published(fleet *f, trn_server *out, int cap);
/* The transition under way, for /v1/status and /metrics. */
void fleet_ring_status(fleet *f, fleet_clock now, trn_status *out);

/* --- partitions (fleet_partition.c) ------------------------------------------ */
/* A server whose task Mesos calls UNREACHABLE stays published (and is not
 * replaced) while the leader's own `version` probes of its address answer,
 * for at most --unreachable-grace from the record's changed time. */
#define FLEET_PART_PROBE_EVERY_MS 1000   /* the core probes a kept server this often */
#define FLEET_PART_PROBE_FAILS 2         /* failed probes in a row that end the grace */
typedef enum fleet_part {
    FLEET_PART_NONE = 0,       /* reachable; UNREACHABLE: not yet decided (a new term) */
    FLEET_PART_KEPT,           /* UNREACHABLE, in its grace: published, probed, counted */
    FLEET_PART_GIVEN_UP,       /* UNREACHABLE and replaced, as with no grace */
} fleet_part;
/* 1 if the core should probe t (a kept server): its address is
 * t->hostname:t->port. */
int fleet_part_probing(const tt_task *t);
/* The outcome of one probe of task id (why: the failure, or NULL). */
void fleet_on_probe(fleet *f, const char *id, int ok, const char *why, fleet_clock now, fleet_actions *out);

/* --- state (read) ---------------------------------------------------------- */
int fleet_desired(const fleet *f);
void fleet_set_desired(fleet *f, int n);       /* after the count was stored */
/* Tasks that count toward the desired number: not ended, not unreachable,
 * not draining, not being killed. */
int fleet_active(const fleet *f);
tt *fleet_table(fleet *f);                     /* read-only for callers */
tt_task *fleet_find(fleet *f, const char *id);
/* The latest executor report of id; NULL if the task is unknown. */
tt_task *fleet_on_report(fleet *f, const report *r, fleet_clock now);
int fleet_recon_active(const fleet *f);

#endif
