/* fleet_maint.h -- the scheduler's rules for Mesos maintenance: unavailability
 * and inverse offers in, drains and ACCEPT_INVERSE_OFFERS out.
 *
 * Pure like fleet.h: no Mesos, ZooKeeper or clock call (the wall clock is an
 * argument, in ms since the epoch, as Unavailability is), and what it wants
 * done comes out as an ordered list of fmaint_actions the core performs:
 * FM_DRAIN through fleet_drain (the planned-restart path: warm, the
 * replacement runs and is published before the old server goes), FM_ACCEPT
 * as an ACCEPT_INVERSE_OFFERS call whose outcome comes back to fmaint_done.
 *
 * THE RULES
 *  1. A window is due when it starts within the horizon (start - now <=
 *     horizon) and has not ended (no duration: never ends). An agent with a
 *     due window gets no new server (fmaint_blocked).
 *  2. A server on an agent with a due window (announced by Offer.unavailability
 *     or by an inverse offer) is drained once: replaced before the window.
 *  3. An inverse offer is accepted once no server of ours holds a place on
 *     its agent (tt_on_agent == 0: every drained server has ended), whatever
 *     the horizon: a framework that has nothing there gives nothing up.
 *     Until then it stays unanswered (Mesos keeps it outstanding).
 *  4. An offer from an agent without unavailability clears what offers said
 *     about it (the operator removed the window); a rescinded inverse offer
 *     is forgotten with its window; a window that ended is forgotten.
 *  5. Everything is per leadership term (fmaint_clear): the master drops
 *     inverse offers with the subscription and sends new ones.
 *
 * Ownership: fmaint owns its copies of IDs. fmaint_actions own their array
 * (fmaint_actions_clear). Threads: the core only. */
#ifndef MCM_FLEET_MAINT_H
#define MCM_FLEET_MAINT_H

#include "tasks.h"

#include <stdint.h>

#define FMAINT_DEFAULT_HORIZON_MS (3600 * 1000)
#define FMAINT_INVERSE_MAX 1024        /* outstanding inverse offers kept; more are ignored (logged) */

typedef struct fmaint_window {
    int64_t start_ms;                  /* wall clock, ms since the epoch */
    int64_t duration_ms;               /* -1: unset (forever) */
} fmaint_window;

typedef enum fmaint_action_kind {
    FM_DRAIN = 1,                      /* replace `task_id` (fleet_drain), why in `why` */
    FM_ACCEPT,                         /* ACCEPT_INVERSE_OFFERS `id` */
} fmaint_action_kind;

typedef struct fmaint_action {
    fmaint_action_kind kind;
    char task_id[TT_ID_MAX];           /* DRAIN */
    char id[TT_ID_MAX];                /* ACCEPT: the inverse offer */
    char agent_id[TT_ID_MAX];
    char why[200];
} fmaint_action;

typedef struct fmaint_actions {
    fmaint_action *v;
    int n, cap;
    int oom;
} fmaint_actions;

void fmaint_actions_init(fmaint_actions *l);
void fmaint_actions_clear(fmaint_actions *l);

typedef struct fmaint fmaint;

fmaint *fmaint_new(int64_t horizon_ms);          /* NULL if out of memory */
void fmaint_free(fmaint *m);                     /* NULL-safe */
void fmaint_clear(fmaint *m);                    /* a term ended: forget everything */

/* --- events ---------------------------------------------------------------------- */
/* An offer from agent_id: w its Offer.unavailability, NULL if it had none. */
void fmaint_on_offer(fmaint *m, const char *agent_id, const fmaint_window *w);
/* An inverse offer. MCM_ERR if out of room (FMAINT_INVERSE_MAX) or malformed. */
int fmaint_on_inverse(fmaint *m, const char *id, const char *agent_id, const fmaint_window *w);
void fmaint_on_rescind(fmaint *m, const char *id);
/* A task ended with REASON_AGENT_DRAINING: the operator drains its agent
 * (DRAIN_AGENT). A planned loss: logged as such; the agent counts as blocked
 * until it offers again (a drained agent is deactivated and offers nothing). */
void fmaint_on_drained(fmaint *m, const char *agent_id);

/* --- decisions -------------------------------------------------------------------- */
/* 1 if no new server may go on agent_id now (rule 1, or drained). */
int fmaint_blocked(const fmaint *m, const char *agent_id, int64_t now_wall_ms);
/* Rules 2-4 over the table: drains and accepts appended to out, in that order. */
void fmaint_tick(fmaint *m, tt *tasks, int64_t now_wall_ms, fmaint_actions *out);
/* The ACCEPT of id was sent (ok) or not: on failure the next tick sends it again. */
void fmaint_done(fmaint *m, const char *id, int ok);

/* --- state (read) ----------------------------------------------------------------- */
int fmaint_outstanding(const fmaint *m);        /* inverse offers not yet accepted */
int fmaint_accepted(const fmaint *m);           /* accepted this term */

#endif
