/* fleet_int.h -- the fleet's state, shared by fleet.c (tasks, reconciliation,
 * offers) and fleet_ring.c (the published ring and warm transitions). Not a
 * public header: only src/scheduler's fleet files include it. */
#ifndef MCM_FLEET_INT_H
#define MCM_FLEET_INT_H

#include "backoff.h"
#include "fleet.h"
#include "place.h"
#include "trn_keep.h"

/* An agent whose offer could take a server (fleet_place.c): its zone has room. */
typedef struct fleet_agent_seen {
    char agent_id[TT_ID_MAX];
    char zone[TT_DOMAIN_MAX];
    int64_t seen_ms;           /* monotonic: its latest such offer */
} fleet_agent_seen;

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
    uint64_t ring_fp;          /* fingerprint of the members the last ring tick planned over */
    /* tasks whose stored record exists but did not decode: left alone */
    char (*quarantine)[TT_ID_MAX];
    int nquarantine;
    /* placement (fleet_place.c) */
    place_rules *rules;        /* --constraint, zone spread; built once */
    fleet_agent_seen *seen;    /* agents whose zones have room */
    int nseen, capseen;
    int64_t last_offers_ms;    /* monotonic: the latest batch of offers */
    int64_t spread_blocked_ms; /* monotonic: since when only the zone spread keeps servers from launching, 0 if not */
};

/* fleet.c helpers the ring glue uses. */
fleet_action *fleet_push(fleet_actions *l, fleet_action_kind k);
fleet_action *fleet_push_task(fleet_actions *l, fleet_action_kind k, const tt_task *t, const char *why);
int fleet_is_active(const tt_task *t);
void fleet_kill_task(fleet *f, tt_task *t, const char *why, fleet_clock now, fleet_actions *out);

/* fleet_place.c: where servers may go (place.h) */
int fleet_place_new(fleet *f);            /* the rules from cfg; MCM_ERR if one does not parse */
void fleet_place_free(fleet *f);
/* A batch of offers begins: learns which zones have room (offers that fit
 * and break no constraint). */
void fleet_place_offers(fleet *f, const fleet_offer *offers, int n, fleet_clock now);
/* 1 if placement admits one more server on o next to the table's active
 * servers and the launches already in `planned`; logs why not (VERBOSE). */
int fleet_place_admit(fleet *f, const fleet_offer *o, const fleet_actions *planned, fleet_clock now);
/* The batch ended with `launched` launches decided and `need` left. */
void fleet_place_offers_done(fleet *f, int launched, int need, fleet_clock now);
/* Copies the offer's agent (attributes, fault domain) into the task record. */
void fleet_place_stamp(tt_task *t, const place_agent *a);
/* Which of cands[0..n) a step down removes; cands in the caller's
 * preference order. NULL if n is 0. */
tt_task *fleet_place_victim(fleet *f, tt_task *const *cands, int n);

/* fleet_partition.c */
/* 1 if t, RUNNING now, is kept through a partition if Mesos calls it UNREACHABLE. */
int fleet_part_keepable(const fleet *f, const tt_task *t);
/* t's record (with a->kept) was stored: its partition mark follows. */
void fleet_part_stored(fleet *f, tt_task *t, const fleet_action *a);
/* UNREACHABLE records of a new term get their mark (kept while the grace
 * from their changed time lasts). */
void fleet_part_resolve(fleet *f, fleet_clock now);
/* While LEADING: a kept server whose grace is over is given up. */
void fleet_part_tick(fleet *f, fleet_clock now, fleet_actions *out);

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
