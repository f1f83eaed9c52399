/* policy_int.h -- the policy's insides, shared by its three files:
 * policy_figures.c (server table, rates, fleet figures), policy.c (conditions,
 * gates, decisions) and policy_history.c (history and its JSON).
 * Not for other modules. Threads: the core only, like policy.h. */
#ifndef MCM_POLICY_INT_H
#define MCM_POLICY_INT_H

#include "policy.h"

/* One server's figures. Rates are -1 while unknown (first report, or the
 * report after a counter reset). */
typedef struct policy_srv {
    char id[POLICY_ID_MAX];
    report last;                /* its last report */
    int64_t seen_ms;            /* when that report was observed */
    double evr, cpu, hit;       /* evictions/s, CPU fraction, hit ratio */
    uint64_t dhits, dmisses;    /* get deltas over the last interval */
    int has_dgets;              /* dhits/dmisses are valid */
    int fresh;                  /* reported since policy_reset_after_failover */
    int in_fleet;               /* named in the last policy_fleet */
} policy_srv;

typedef struct policy_hist {
    int64_t t;
    policy_action a;
    int from, to;
    policy_reason r;
    char x[POLICY_TEXT_MAX];
} policy_hist;

/* The four conditions whose duration is tracked. */
enum { COND_MEM_HIGH, COND_EVICTIONS, COND_CPU_HIGH, COND_MEM_LOW, COND_COUNT };

/* Sums over the servers marked in_fleet, kept as reports arrive so that a
 * report costs O(1), not a pass over the fleet (policy_figures.c). */
typedef struct policy_sums {
    int reporting, nevr, ncpu, evr_nonzero;
    uint64_t bytes, limit_bytes, limit_used, hits, gets;
    double evr, cpu;
} policy_sums;

struct policy {
    policy_config cfg;
    policy_sums sums;           /* recomputed whole by policy__mark_fleet */
    policy_srv **srv;           /* sorted by id (bsearch) */
    int nsrv, capsrv;
    policy_figures fig;         /* as of the last evaluation */
    int all_evr_zero;           /* every reporting server: eviction rate known and 0 */
    int64_t since[COND_COUNT];  /* held continuously since; -1 = not holding */
    int64_t last_change_ms;     /* 0 = never */
    int64_t pause_until_ms;     /* 0 = no operator pause */
    int awaiting_failover;      /* until every running server is fresh */
    policy_hist hist[POLICY_HISTORY_MAX];   /* oldest first */
    int nhist;
    uint64_t hist_seq;
    policy_counts counts;
    policy_action prev_action, prev_wanted; /* previous evaluation, for logs and */
    policy_reason prev_reason;              /* one history entry per held streak */
};

/* policy_figures.c */
policy_srv *policy__find(const policy *p, const char *id);
void policy__srv_free_all(policy *p);
/* Marks the servers named in the fleet; others drop out of the figures. */
void policy__mark_fleet(policy *p, const policy_fleet *f);
/* Recomputes p->fig over the marked servers and advances the conditions. */
void policy__evaluate(policy *p, int64_t now_ms);

/* policy_history.c */
void policy__record(policy *p, int64_t t, policy_action a, int from, int to, policy_reason r,
                    const char *text);

#endif
