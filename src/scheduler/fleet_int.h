/* fleet_int.h -- the fleet's state, shared by fleet.c (tasks, reconciliation,
 * offers) and fleet_ring.c (the published ring and warm transitions). Not a
 * public header: only src/scheduler's fleet files include it. */
#ifndef MCM_FLEET_INT_H
#define MCM_FLEET_INT_H

#include "backoff.h"
#include "fleet.h"
#include "trn_keep.h"

struct fleet {
    fleet_config cfg;
    tt *tasks;
    backoff *bo;
    int in_term;
    int leading;               /* LEADING: every state known, launches allowed */
    int desired;
    int suppressed;            /* SUPPRESS sent (or in flight) */
    int relaunch_due;          /* servers that ended unasked: the next launches replace them */
    int start_failures;        /* servers in a row that failed before running */
    /* the reconciliation run */
    int recon_active;
    int64_t recon_run;         /* +1 per run: an answer about an earlier run's RECONCILE is ignored */
    int implicit_sent;         /* the implicit RECONCILE is in flight */
    int64_t recon_started_ms, recon_next_ms, recon_delay_ms;
    int64_t next_full_recon_ms;
    /* the published ring (fleet_ring.c) */
    trn_keep *keep;
    trn_server *stored_pub;    /* the list and record read at the term's start, */
    int nstored_pub;           /* handed to the keeper once LEADING */
    char *stored_record;
    size_t stored_len;
    int ring_started;          /* the keeper has begun this term */
    int64_t awaiting_since_ms; /* wall: since when servers are wanted but not launched, 0 if none */
    /* tasks whose stored record exists but did not decode: left alone */
    char (*quarantine)[TT_ID_MAX];
    int nquarantine;
};

/* fleet.c helpers the ring glue uses. */
fleet_action *fleet_push(fleet_actions *l, fleet_action_kind k);
fleet_action *fleet_push_task(fleet_actions *l, fleet_action_kind k, const tt_task *t, const char *why);
int fleet_is_active(const tt_task *t);
void fleet_kill_task(fleet *f, tt_task *t, const char *why, fleet_clock now, fleet_actions *out);

/* fleet_ring.c */
int fleet_ring_new(fleet *f);
void fleet_ring_free(fleet *f);
void fleet_ring_end_term(fleet *f);
/* LEADING begins: the keeper starts from what was stored. */
void fleet_ring_lead(fleet *f, fleet_clock now, fleet_actions *out);
void fleet_ring_tick(fleet *f, fleet_clock now, fleet_actions *out);
void fleet_ring_lost(fleet *f, const char *task_id, fleet_clock now, fleet_actions *out);
void fleet_ring_stored(fleet *f, const fleet_action *a, int ok);
/* How long a drained server may stay before the fleet kills it itself:
 * --drain-time cold; warm, the longest a transition can take. */
int64_t fleet_ring_drain_ms(const fleet *f);

#endif
