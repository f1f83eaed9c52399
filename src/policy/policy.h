/* policy.h -- the autoscaling policy: memcached's figures in, one decision out.
 *
 * PURE: no clock is read, no I/O is done (except log lines), no globals.
 * Time is passed in by the caller as `now_ms`, and it must be the WALL clock
 * (util_wall_ms()) in every call: the history handed to a new leader carries
 * absolute times that must mean the same thing in another process. A wall
 * clock stepping back only lengthens windows and cooldowns (elapsed times are
 * clamped at zero); times restored from history that lie in the future are
 * clamped to `now` (a replica whose clock runs ahead cannot stretch them).
 *
 * HOW THE CORE DRIVES IT (core thread only; nothing here is thread-safe):
 *   1. policy_observe() for every executor report of a running server.
 *      Each report is a sample: the fleet figures are recomputed (over the
 *      servers named in the last policy_fleet) and the condition windows
 *      advance, so no sample is missed however often the core decides.
 *   2. policy_decide() on a timer (every second or so). Each call is one
 *      "evaluation": the figures are recomputed over the servers named in
 *      this fleet, the windows advance, the gates are checked.
 *   3. On UP: raise the desired count to `target`, persist it with
 *      policy_history_json(), launch, then call policy_changed().
 *      On DOWN: lower the desired count to `target`; if `victim` is not ""
 *      unpublish it, wait --drain-time, kill it; call policy_changed() when
 *      the desired count is lowered, and policy_forget() once the victim is
 *      gone. If the core cannot act (a fenced write), it does not call
 *      policy_changed() and the next evaluation proposes the change again.
 *   4. POST /v1/scale: policy_operator_set() (pauses automatic decisions).
 *   5. On becoming leader: policy_new(), policy_history_load() with the
 *      stored history (errors: log and go on fresh), policy_reset_after_failover().
 *
 * THE RULES (each a reason code, see policy_reason):
 *   Figures, per evaluation, over the running servers that have reported:
 *     mem  = sum(bytes) / sum(limit_maxbytes)
 *     evr  = sum of per-server eviction rates (evictions/s, from deltas)
 *     cpu  = mean of per-server CPU use (delta cpu_seconds / delta t / cpus)
 *   Conditions, each tracked with the time since which it has held at EVERY
 *   evaluation (one evaluation where it fails resets it):
 *     mem_high   mem > scale_up_mem              ripe after scale_up_window
 *     evictions  evr > scale_up_evictions        ripe after scale_up_window
 *     cpu_high   cpu > scale_up_cpu              ripe after scale_up_window
 *     mem_low    mem < scale_down_mem and every server's eviction rate is
 *                known and zero                  ripe after scale_down_window
 *   Up wins over down. A ripe condition becomes a decision unless a gate
 *   holds it back; the gates, in order of precedence:
 *     settling          a server is launching or draining, or the running
 *                       count differs from the desired count
 *     (bounds)          the desired count lies outside [min, max]: step one
 *                       server towards the bounds; this ignores the gates
 *                       below (it needs no figures and no cooldown)
 *     disabled          --autoscale=off
 *     awaiting_reports  after a failover until every running server has
 *                       reported since; or a running server never reported
 *     operator_pause    within --operator-pause of POST /v1/scale
 *     cooldown          within --cooldown of the last change
 *     stale             a running server's last report is older than
 *                       --report-max-age
 *     at_max / at_min   the step would leave [min, max]
 *     headroom          HYSTERESIS: scale down only if the fleet without one
 *                       server would stay clearly below the scale-up
 *                       thresholds: total bytes / ((n-1) * mean limit) and
 *                       cpu * n/(n-1) must both be <= 7/8 of scale_up_mem and
 *                       scale_up_cpu. Otherwise the smaller fleet would be
 *                       over the scale-up line at once and the fleet would
 *                       flap. (With the defaults 0.30/0.80 this only binds
 *                       for 2 -> 1 servers with high CPU; it matters when an
 *                       operator sets the thresholds close together.)
 *   Every change is one server; windows restart after every change.
 *   DOWN's victim: the running server with the least memory in use (ties:
 *   the earlier in the fleet's list); it costs the fewest cached bytes.
 *
 * COUNTERS AND RATES: reports carry memcached's cumulative counters. A rate
 * needs two reports of the same server; a counter (or uptime) going down
 * means memcached restarted: that report becomes the new baseline and the
 * server's rates are unknown until its next report. Time between two reports
 * is taken from the reports' own time_ms (the executor's clock), falling back
 * to the observe times if those do not advance.
 *
 * OWNERSHIP: the policy copies everything it is given; strings it returns
 * (policy_history_json) are malloc'd and the caller's. */
#ifndef MCM_POLICY_H
#define MCM_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "report.h"

typedef struct policy policy;

typedef struct policy_config {
    int autoscale;                      /* 0: decisions are NONE, "disabled" */
    int instances_min, instances_max;
    double scale_up_mem;                /* fraction of limit_maxbytes, (0, 1] */
    double scale_up_evictions;          /* fleet-wide evictions per second */
    double scale_up_cpu;                /* fraction of the server's CPUs */
    double scale_down_mem;              /* must be below scale_up_mem */
    int64_t scale_up_window_ms, scale_down_window_ms;
    int64_t cooldown_ms, report_max_age_ms, operator_pause_ms;
} policy_config;

/* The mcm-scheduler flag defaults (0.80 / 2m / 100/s / 0.80 / 0.30 / 10m /
 * 5m / 30s / 30m, instances 1..100, autoscale on). */
void policy_config_default(policy_config *cfg);

typedef enum policy_action {
    POLICY_NONE = 0,
    POLICY_UP,
    POLICY_DOWN,
    POLICY_ACTION_COUNT
} policy_action;

/* Stable short names (policy_reason_name) are used in logs, metrics labels
 * and the history JSON: never rename one. */
typedef enum policy_reason {
    POLICY_R_STEADY = 0,        /* "steady": no condition holds */
    POLICY_R_PENDING,           /* "pending": a condition holds, window not yet full */
    POLICY_R_MEM_HIGH,          /* "mem_high" */
    POLICY_R_EVICTIONS,         /* "evictions" */
    POLICY_R_CPU_HIGH,          /* "cpu_high" */
    POLICY_R_MEM_LOW,           /* "mem_low" */
    POLICY_R_BOUNDS,            /* "bounds": desired count outside [min, max] */
    POLICY_R_OPERATOR,          /* "operator": POST /v1/scale (history only) */
    POLICY_R_SETTLING,          /* "settling" */
    POLICY_R_DISABLED,          /* "disabled" */
    POLICY_R_AWAITING_REPORTS,  /* "awaiting_reports" */
    POLICY_R_OPERATOR_PAUSE,    /* "operator_pause" */
    POLICY_R_COOLDOWN,          /* "cooldown" */
    POLICY_R_STALE,             /* "stale" */
    POLICY_R_AT_MAX,            /* "at_max" */
    POLICY_R_AT_MIN,            /* "at_min" */
    POLICY_R_HEADROOM,          /* "headroom" */
    POLICY_REASON_COUNT
} policy_reason;

const char *policy_action_name(policy_action a);     /* "none", "up", "down" */
const char *policy_reason_name(policy_reason r);
/* The code for a name, or -1 if unknown. */
int policy_reason_parse(const char *name);

#define POLICY_ID_MAX 256           /* = sizeof(report.task_id) */
#define POLICY_TEXT_MAX 192
#define POLICY_HISTORY_MAX 20       /* decisions kept in the history */

/* What the core knows about the fleet at the time of an evaluation. */
typedef struct policy_fleet {
    int desired;                    /* current desired count */
    const char *const *running;     /* task ids of running, published servers */
    int nrunning;
    int launching;                  /* tasks launched but not yet running */
    int draining;                   /* servers unpublished, not yet killed */
} policy_fleet;

typedef struct policy_decision {
    policy_action action;
    int from, target;               /* desired count now and after the action */
    char victim[POLICY_ID_MAX];     /* DOWN: the server to drain; "" if none must go */
    policy_reason reason;           /* trigger (UP/DOWN) or what holds it back (NONE) */
    policy_action wanted;           /* what the figures call for, gates aside */
    char text[POLICY_TEXT_MAX];     /* e.g. "mem 0.86 > 0.80 for 2m",
                                     * "cooldown 3m12s left (wants up: ...)" */
} policy_decision;

/* Fleet figures as of the last evaluation; a *_known of 0 means no server
 * had the figure (e.g. fewer than two reports). */
typedef struct policy_figures {
    int servers;                    /* running servers in the last fleet */
    int reporting;                  /* of which have reported */
    double mem;  int mem_known;
    double evictions_per_s; int evictions_known;
    double cpu;  int cpu_known;
    double hit_ratio; int hit_ratio_known;   /* over the last report interval */
    uint64_t bytes, limit_bytes;
} policy_figures;

/* One server's figures from its last two reports; rates are -1 if unknown. */
typedef struct policy_server {
    uint64_t bytes, limit_bytes, connections;
    double mem;                     /* bytes / limit, -1 if limit is 0 */
    double evictions_per_s, cpu, hit_ratio;
    int64_t seen_ms;                /* when its last report was observed */
} policy_server;

typedef struct policy_counts {
    uint64_t evaluations;                   /* policy_decide calls */
    uint64_t actions[POLICY_ACTION_COUNT];  /* outcome of each evaluation */
    uint64_t reasons[POLICY_REASON_COUNT];  /* reason of each evaluation */
    uint64_t blocked[POLICY_REASON_COUNT];  /* evaluations where a ripe change was
                                             * held back, by the gate that held it */
    uint64_t operator_sets;                 /* policy_operator_set calls */
} policy_counts;

/* NULL with a reason in err if cfg is inconsistent (min > max, negative
 * bounds or durations, scale_down_mem >= scale_up_mem, report_max_age <= 0). */
policy *policy_new(const policy_config *cfg, char *err, size_t errlen);
void policy_free(policy *p);                            /* NULL-safe */

/* A report from a running server. cpus_allocated: the CPUs the server was
 * launched with (<= 0: CPU use unknown). MCM_ERR if task_id is empty or
 * longer than POLICY_ID_MAX - 1, or out of memory. */
int policy_observe(policy *p, const char *task_id, const report *r, double cpus_allocated,
                   int64_t now_ms);
/* The server has left (killed, lost, finished): drop its figures. */
void policy_forget(policy *p, const char *task_id);

/* One evaluation; fills *out (always). Records UP/DOWN decisions, and ripe
 * changes held back (once per streak), in the history. Logs them at VERBOSE
 * (the caller logs decisions at the level it wants). */
void policy_decide(policy *p, const policy_fleet *f, int64_t now_ms, policy_decision *out);

/* The core changed the fleet size for scaling (after an UP or DOWN): starts
 * the cooldown and restarts every condition window. */
void policy_changed(policy *p, int64_t now_ms);
/* An operator set the desired count (POST /v1/scale): automatic decisions
 * pause for operator_pause_ms; a change of size also starts the cooldown. */
void policy_operator_set(policy *p, int from, int to, int64_t now_ms);
/* This replica just became leader: no decision until every running server
 * has reported since this call (and any cooldown restored from history has
 * passed); condition windows start afresh. */
void policy_reset_after_failover(policy *p, int64_t now_ms);

/* The history as compact JSON (malloc'd, caller frees; NULL if out of memory):
 *   {"v":1,"last_change_ms":<wall ms, 0 = never>,"pause_until_ms":<wall ms, 0 = none>,
 *    "decisions":[{"t":<wall ms>,"a":"up|down|none","from":N,"to":N,
 *                  "r":"<reason name>","x":"<text>"}, ...]}      (oldest first)
 * "a":"none" entries are ripe changes held back by a gate ("r"; "to" is what
 * was wanted); "r":"operator" entries are operator calls. At most
 * POLICY_HISTORY_MAX decisions. */
char *policy_history_json(const policy *p);
/* Grows by one whenever the history changes, so the core knows when the
 * stored copy is out of date. */
uint64_t policy_history_seq(const policy *p);
/* Continues a stored history (cooldown, operator pause, decisions). On
 * malformed JSON: MCM_ERR with a reason in err, and the policy is unchanged
 * (fresh). Decisions with unknown action or reason names are skipped. A
 * last change after now_ms is clamped to now_ms, a pause end to now_ms +
 * operator_pause_ms (a writer whose clock ran ahead cannot stretch them). */
int policy_history_load(policy *p, const char *json, size_t len, int64_t now_ms,
                        char *err, size_t errlen);

/* Figures as of the last evaluation (or observe). */
void policy_get_figures(const policy *p, policy_figures *out);
/* MCM_OK, or MCM_ERR if the server has not reported (or was forgotten). */
int policy_get_server(const policy *p, const char *task_id, policy_server *out);
void policy_get_counts(const policy *p, policy_counts *out);

#endif
