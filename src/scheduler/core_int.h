/* core_int.h -- the core's state, shared by the core_*.c files (not a public
 * header: only src/scheduler includes it).
 *
 * LEADERSHIP STATES (c->role), see docs/architecture.md:
 *
 *   FOLLOWER --elected--> STARTING --SUBSCRIBED, ID persisted--> RECONCILING
 *      ^                                                            |
 *      |                                             all confirmed, implicit sent
 *      |                                                            v
 *      +--- core_step_down(): deposed / session expired / ----- LEADING
 *           ZooKeeper in doubt / fenced write / refused to lead
 *
 * Invariants:
 *  1. Mesos calls and state writes happen only through core_may_act() == 1,
 *     which is false outside STARTING..LEADING and false as soon as the
 *     ZooKeeper session has been disconnected for 1/4 of its timeout
 *     (the session may be expiring without our knowing; see elect.h).
 *  2. core_step_down() first clears the role, then stops the Mesos client
 *     (closing the subscription), then forgets the task table.
 *  3. A status update is acknowledged only after its state change is stored
 *     in ZooKeeper (fenced), and a task is stored before its LAUNCH: both are
 *     the order of the fleet's action lists (fleet.h) and the runner's rule
 *     (core_run.c) that the first failed persist stops a list.
 *  4. The published server list is a function of the task table: the tasks
 *     in TASK_RUNNING that are not draining. */
#ifndef MCM_CORE_INT_H
#define MCM_CORE_INT_H

#include "backoff.h"
#include "callq.h"
#include "config.h"
#include "core.h"
#include "ecd.h"
#include "fleet.h"
#include "elect.h"
#include "http.h"
#include "mesos_sched.h"
#include "metrics_mcm.h"
#include "offer.h"
#include "policy.h"
#include "queue.h"
#include "rhist.h"
#include "state.h"
#include "tasks.h"
#include "watch.h"
#include "zks.h"

#include <stdatomic.h>
#include <stdint.h>

#define CORE_TICK_MS 100  /* the shortest time between two ticks while messages come (core_run): the
                            * idle wake-up's period, so a steady stream of reports costs no more ticks */

/* An on-demand view's last rendering (http.h http_asked_ms). */
typedef struct core_demand {
    int64_t rendered_ms;        /* monotonic; 0 never */
    int role;                   /* the role it was rendered in (the views say it) */
} core_demand;

typedef enum core_role {
    ROLE_FOLLOWER = 0,
    ROLE_STARTING,
    ROLE_RECONCILING,
    ROLE_LEADING,
} core_role;

/* Mailbox message types. */
enum {
    MSG_ZK_EVENT = 1,       /* num: zks_event */
    MSG_ELECT_WAKE,
    MSG_MESOS_EVENT,        /* data: Mesos__V1__Scheduler__Event* */
    MSG_MESOS_DOWN,         /* data: reason string */
    MSG_OP,                 /* data: core_op* (see core_ops.c) */
    MSG_SIGNAL,             /* num: signo */
    MSG_CALL_DONE,          /* data: callq_job* with its outcome; num: its term */
    MSG_FOLLOWER_COPY,      /* data: fr_copy* (folread.h), the records a follower read */
};

/* Grouped by the file that writes each field (others only read it). */
struct core {
    /* core_setup.c: the modules, built once, freed by core_free */
    const sched_config *cfg;
    cq *q;
    zks *zk;
    elect *el;
    state *st;
    mesos_sched *ms;
    callq *calls;               /* the Mesos call worker: the core never waits for the master */
    http_server *http;
    metrics *metrics;           /* the registry /metrics serves (owned) */
    metrics_mcm mm;
    ecd *disc;
    watch *srvwatch;
    fleet *fl;                  /* the task table and every decision about it (owned) */
    int64_t started_wall_ms;
    char identity[1024];        /* our member znode's JSON */
    char replica_id[300];

    /* core.c: session, election, the loop */
    core_role role;
    atomic_int acting;          /* mirror of role >= STARTING, readable by other threads */
    atomic_llong term;          /* +1 at every step-down: Mesos messages and calls carry their term */
    _Atomic int64_t loop_ms;    /* the loop's last turn (monotonic): HTTP claims no leadership past the pause limit */
    atomic_llong served_version;   /* version of the list this replica serves (its watch) */
    int pause_suspect;          /* core_may_act saw the current message in hand too long */
    int zk_expired;             /* waiting to reopen the session */
    int64_t rejoin_at_ms;       /* after refusing to lead: rejoin the election then */
    int64_t recheck_at_ms;      /* stepped down but still elected: ask ZooKeeper again then */
    int64_t rejoin_delay_ms;    /* backoff of failed joins */
    int64_t handling_since_ms;  /* when the current message's handling began */
    struct pausewatch *pw;      /* the stop watch (pausewatch.h) while core_run runs; NULL: none */
    struct folread *fr;         /* the follower's reader of the records (folread.h); owned */
    int stopping;
    int64_t term_elected_ms;    /* wall clock; 0 = not yet (term_* also set by core_lead.c, core_run.c) */

    /* core_lead.c: the leadership term (reset by core_step_down) */
    char framework_id[STATE_ID_MAX];
    char fwid_pending[STATE_ID_MAX];   /* SUBSCRIBED with this new ID, not yet stored */
    int64_t fwid_retry_ms, mesos_retry_ms;
    int subscribed;
    int64_t term_subscribed_ms, term_reconciled_ms;   /* wall clock; 0 = not yet */
    char mesos_why[256];        /* last subscription failure */

    /* core_publish.c: what others see */
    int64_t servers_version;
    srvlist *published;         /* last list we published (leader) */
    int64_t publish_retry_ms;   /* a publication failed: try again then (monotonic) */
    int64_t next_audit_ms;      /* next check of the stored list against the table */
    int64_t next_snapshot_ms;
    int64_t next_tick_ms;         /* core_run: the next tick after a message (CORE_TICK_MS) */
    state_snapshot warm;              /* follower: the records its reader read last (warm.marked:
                                       * with their mark), shown on /v1/tasks and taken over by a
                                       * new term if still current (state_load_warm); owned here */
    int64_t warm_at_ms;               /* wall clock the reader handed `warm` over (0: none) */

    /* core_scale.c: autoscaling */
    policy *pol;
    int64_t next_scale_ms;
    uint64_t history_seq;       /* policy history version last stored */
    int last_blocked;           /* reason last logged for a held-back change */

    /* core_view.c: the status page's views */
    rhist *rh;                  /* each server's recent reports (leader; cleared as follower) */
    int64_t next_replicas_ms;   /* next read of the election's members */
    core_demand history_d;      /* /v1/history, rendered on demand (core_view.c) */
    core_demand tasks_d;        /* /v1/tasks, likewise (core_publish.c) */

    /* core_maint.c: maintenance windows and inverse offers (per term) */
    struct fmaint *maint;       /* NULL until the term's first event; freed at step-down */
    int64_t maint_term;

    /* core_probe.c: probes of servers kept through a partition (per term) */
    struct core_probes *probes; /* NULL until the first tick; freed at step-down */
};

/* core_view.c: /v1/autoscale, /v1/history, /v1/replicas */
void core_view_publish(core *c);
/* Every tick: renders the on-demand views that are due (core_demand_due). */
void core_view_on_demand(core *c, int64_t now);
/* 1 if view v is to be rendered now: never yet, the role changed, or asked
 * for within CORE_DEMAND_MS and last rendered at least 1 s ago. */
int core_demand_due(core *c, const core_demand *d, http_view v, int64_t now);
void core_demand_done(core *c, core_demand *d, int64_t now);   /* it was rendered now */
void core_view_follower(core *c, const state_snapshot *snap);   /* the leader's stored decisions */

/* core.c */
int core_may_act(core *c);
void core_step_down(core *c, const char *why);
void core_set_role(core *c, core_role r);
const char *core_role_name(core_role r);

/* core.c callbacks (threads: see core.c) */
void on_zk_event_cb(void *ctx, zks_event ev);
void on_elect_wake_cb(void *ctx);
void on_elected_cb(void *ctx);
void on_deposed_cb(void *ctx, const char *why);
void on_servers_cb(const srvlist *l, void *ud);
void free_event(void *ev);

/* core_lead.c: the term of a leader */
void core_start_leading(core *c);
void core_on_mesos_event(core *c, Mesos__V1__Scheduler__Event *ev);
void core_on_mesos_down(core *c, const char *why);
void core_lead_tick(core *c, int64_t now);
int core_forget_framework(core *c, const char *why);

/* core_run.c: the runner of fleet action lists */
typedef struct core_offers {
    Mesos__V1__Offer **offers;  /* the OFFERS event's (borrowed) */
    offer_launch *matched;      /* offer_match's result per offer */
    int n;
} core_offers;
fleet_clock core_clock(void);
/* Runs l in order (see fleet.h, THE RUNNER'S CONTRACT) and clears it: the
 * persists at once, the Mesos calls handed to the call worker, in order. ro:
 * the offers of the event the list answers, or NULL. op: an operator call
 * (core_ops.c) answered when the list's last Mesos call is done, or NULL.
 * MCM_OK: every persist succeeded and every call was handed over;
 * CORE_RUN_DEFERRED: so, and op waits for the last call; MCM_ERR otherwise. */
#define CORE_RUN_DEFERRED 1
int core_run_actions(core *c, fleet_actions *l, const core_offers *ro, void *op);
/* A call's outcome (MSG_CALL_DONE): the fleet learns it; follow-ups run. */
void core_on_call_done(core *c, callq_job *j);

/* core_tasks.c: Mesos task events translated for the fleet; records */
/* The records of the PUT_TASK actions a[0..n) in as few fenced multis as fit
 * (state_batch.h); *stored: how many, a prefix of a. */
int core_persist_tasks(core *c, const fleet_action *const *a, int n, int *stored);
/* The table entry for a task record read from ZooKeeper. */
void core_task_from_record(tt_task *t, const state_task *s);
void core_on_update(core *c, const Mesos__V1__TaskStatus *st);
/* The core's loop hands each message it takes here first. If m is a status
 * update that may be decided with others (fleet_update_batchable), it and
 * the batchable updates queued right behind it (at most CORE_UPDATE_BATCH)
 * are decided and run together, their records stored in one multi, and
 * freed (*taken: how many); the first message taken that is not one of
 * them is returned, to be handled as usual (NULL: none). Any other m is
 * returned as it is (*taken 0). */
#define CORE_UPDATE_BATCH 256
cq_msg *core_take_updates(core *c, cq_msg *m, int *taken);
void core_on_offers(core *c, Mesos__V1__Offer **offers, size_t n);
void core_decide_drain(core *c, const char *id, const char *why);
void core_tick_fleet(core *c);
void core_start_reconciling(core *c);

/* core_publish.c: what others see */
void core_publish_servers(core *c);
void core_publish_tick(core *c, int64_t now);
void core_publish_snapshot(core *c);
struct fr_copy;
/* MSG_FOLLOWER_COPY: a follower shows and keeps the records read (it takes
 * cp->snap; a copy reaching a leader is ignored). */
void core_on_follower_copy(core *c, struct fr_copy *cp);
/* The 1 s refresh: as core_publish_snapshot, but a leader's /v1/tasks is left
 * to core_publish_tasks_due. */
void core_publish_periodic(core *c);
/* /v1/tasks now if it is due (core_demand_due); every tick. */
void core_publish_tasks_due(core *c, int64_t now);
void core_publish_leader(core *c);

/* core_ops.c: operator calls */
void core_ops_hooks(core *c, http_hooks *h);
void core_on_op(core *c, void *op);
/* The op waits for job's outcome (one more reference, released with the job). */
void core_op_attach(callq_job *j, void *op);
void core_op_call_done(core *c, void *op, int same_term, int ok, const char *err);

/* core_scale.c: autoscaling */
void core_scale_load(core *c, const char *history_json);
void core_scale_tick(core *c, int64_t now);
void core_on_report(core *c, const Mesos__V1__Scheduler__Event__Message *m);
int core_set_desired(core *c, int n, const char *why);

/* core_maint.c: maintenance (fleet_maint.h) */
void core_maint_event(core *c, const Mesos__V1__Scheduler__Event *ev);   /* SUBSCRIBED, INVERSE_OFFERS, RESCIND_INVERSE_OFFER */
void core_maint_update(core *c, const Mesos__V1__TaskStatus *st);        /* before the fleet sees it */
/* Records the offers' unavailability, declines those of blocked agents and
 * moves the others to the front of offers: returns their count. */
size_t core_maint_offers(core *c, Mesos__V1__Offer **offers, size_t n);
void core_maint_tick(core *c);                                            /* while LEADING */
void core_maint_done(core *c, const callq_job *j);                        /* an ACCEPT_INVERSE_OFFERS outcome */
void core_maint_end_term(core *c);

/* core_probe.c: the leader's probes of kept servers (fleet_partition.c) */
void core_probe_tick(core *c, int64_t now);                               /* while LEADING */
void core_probe_end_term(core *c);

/* Errors from a fenced write: FENCED steps down; others are retried later. */
int core_fenced_result(core *c, int rc, const char *what, const char *err);

#endif
