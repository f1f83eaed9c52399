/* test_policy.c -- the autoscaling policy over synthetic figure series.
 *
 * A small simulated fleet (sim_*) turns a load description -- the cache's
 * working set, fleet-wide evictions per second, total CPU demand -- into the
 * cumulative memcached counters an executor would report every 5 s, feeds
 * them to the policy, asks for a decision after each round, and carries the
 * decision out at once the way the core would (desired count, a new server or
 * the victim removed, policy_changed). Every change is recorded, so a test
 * states what must and must not have happened over hours of simulated time.
 * No server is involved: the policy is pure, time is the simulation's. */
#include "policy.h"
#include "mcm.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1700000000000LL          /* wall clock ms at the start of every run */
#define STEP_MS 5000                /* report interval */
#define LIMIT (64ULL << 20)         /* limit_maxbytes of every server */
#define SEC 1000LL
#define MIN (60 * SEC)
#define MAXS 64
#define MAXCH 64

typedef struct change {
    int64_t t;
    policy_action a;
    policy_reason r;
    int from, to;
    char victim[POLICY_ID_MAX];
} change;

typedef struct sim {
    policy *p;
    int64_t now;
    int n, desired, next_id;
    char id[MAXS][32];
    /* per server counters, as memcached would keep them */
    uint64_t ev[MAXS], hits[MAXS], misses[MAXS];
    double cpu_s[MAXS];
    int64_t uptime[MAXS];
    int64_t bytes_override[MAXS];   /* >= 0: this server's bytes regardless of demand */
    int silent[MAXS];               /* 1: reports nothing */
    /* the load */
    double demand;                  /* working set, as a multiple of one server's limit */
    double evr;                     /* fleet-wide evictions per second */
    double cpu;                     /* total CPU demand, in whole-server fractions */
    /* outcome */
    change ch[MAXCH];
    int nch;
    policy_decision last;
    int act;                        /* 0: record decisions but do not carry them out */
} sim;

static char err[256];

static void cfg_test(policy_config *c) {
    policy_config_default(c);
    c->instances_min = 1;
    c->instances_max = 10;
}

static void sim_add_server(sim *s) {
    int i = s->n++;
    snprintf(s->id[i], sizeof(s->id[i]), "mcm-%02d", s->next_id++);
    s->ev[i] = s->hits[i] = s->misses[i] = 0;
    s->cpu_s[i] = 0;
    s->uptime[i] = 0;
    s->bytes_override[i] = -1;
    s->silent[i] = 0;
}

static void sim_remove_server(sim *s, const char *victim) {
    for (int i = 0; i < s->n; i++) {
        if (strcmp(s->id[i], victim)) continue;
        policy_forget(s->p, victim);
        s->n--;
        memmove(&s->id[i], &s->id[i + 1], sizeof(s->id[0]) * (size_t)(s->n - i));
        memmove(&s->ev[i], &s->ev[i + 1], sizeof(s->ev[0]) * (size_t)(s->n - i));
        memmove(&s->hits[i], &s->hits[i + 1], sizeof(s->hits[0]) * (size_t)(s->n - i));
        memmove(&s->misses[i], &s->misses[i + 1], sizeof(s->misses[0]) * (size_t)(s->n - i));
        memmove(&s->cpu_s[i], &s->cpu_s[i + 1], sizeof(s->cpu_s[0]) * (size_t)(s->n - i));
        memmove(&s->uptime[i], &s->uptime[i + 1], sizeof(s->uptime[0]) * (size_t)(s->n - i));
        memmove(&s->bytes_override[i], &s->bytes_override[i + 1], sizeof(s->bytes_override[0]) * (size_t)(s->n - i));
        memmove(&s->silent[i], &s->silent[i + 1], sizeof(s->silent[0]) * (size_t)(s->n - i));
        return;
    }
    ck_abort_msg("victim %s is not in the fleet", victim);
}

static sim *sim_new(const policy_config *c, int n) {
    sim *s = calloc(1, sizeof(*s));
    ck_assert_ptr_nonnull(s);
    s->p = policy_new(c, err, sizeof(err));
    ck_assert_msg(s->p != NULL, "policy_new: %s", err);
    s->now = T0;
    s->act = 1;
    for (int i = 0; i < n; i++) sim_add_server(s);
    s->desired = n;
    return s;
}

static void sim_free(sim *s) {
    policy_free(s->p);
    free(s);
}

static uint64_t sim_bytes(const sim *s, int i) {
    if (s->bytes_override[i] >= 0) return (uint64_t)s->bytes_override[i];
    double b = s->demand * (double)LIMIT / s->n;
    return b > (double)LIMIT ? LIMIT : (uint64_t)b;
}

static void sim_report(sim *s, int i) {
    report r;
    memset(&r, 0, sizeof(r));
    snprintf(r.task_id, sizeof(r.task_id), "%s", s->id[i]);
    r.time_ms = s->now;
    r.bytes = sim_bytes(s, i);
    r.limit_maxbytes = LIMIT;
    r.evictions = s->ev[i];
    r.get_hits = s->hits[i];
    r.get_misses = s->misses[i];
    r.curr_connections = 10;
    r.cpu_seconds = s->cpu_s[i];
    r.uptime = s->uptime[i];
    ck_assert_int_eq(policy_observe(s->p, s->id[i], &r, 0.5, s->now), MCM_OK);
}

static void sim_fleet(const sim *s, const char **ids, policy_fleet *f) {
    for (int i = 0; i < s->n; i++) ids[i] = s->id[i];
    f->desired = s->desired;
    f->running = ids;
    f->nrunning = s->n;
    f->launching = f->draining = 0;
}

/* One evaluation; carries out UP/DOWN like the core. */
static void sim_decide(sim *s) {
    const char *ids[MAXS];
    policy_fleet f;
    sim_fleet(s, ids, &f);
    policy_decide(s->p, &f, s->now, &s->last);
    const policy_decision *d = &s->last;
    if (d->action == POLICY_NONE || !s->act) return;
    ck_assert_int_eq(d->from, s->desired);
    ck_assert_int_eq(abs(d->target - d->from), 1);
    ck_assert_int_lt(s->nch, MAXCH);
    change *c = &s->ch[s->nch++];
    *c = (change){.t = s->now, .a = d->action, .r = d->reason, .from = d->from, .to = d->target};
    snprintf(c->victim, sizeof(c->victim), "%s", d->victim);
    s->desired = d->target;
    if (d->action == POLICY_UP) sim_add_server(s);
    else if (d->victim[0]) sim_remove_server(s, d->victim);
    policy_changed(s->p, s->now);
}

/* One report round: time passes, counters move, every server reports. */
static void sim_step(sim *s) {
    s->now += STEP_MS;
    double dt = STEP_MS / 1000.0;
    for (int i = 0; i < s->n; i++) {
        s->ev[i] += (uint64_t)(s->evr * dt / s->n + 0.5);
        s->hits[i] += 900;
        s->misses[i] += 100;
        s->cpu_s[i] += s->cpu / s->n * 0.5 * dt;   /* 0.5 CPUs per server */
        s->uptime[i] += STEP_MS / 1000;
        if (!s->silent[i]) sim_report(s, i);
    }
    sim_decide(s);
}

static void sim_run(sim *s, int64_t ms) {
    for (int64_t end = s->now + ms; s->now < end;) sim_step(s);
}

/* Fleet memory use as the policy sees it. */
static double sim_util(const sim *s) {
    policy_figures g;
    policy_get_figures(s->p, &g);
    return g.mem;
}

/* ---- steady load, spikes, oscillation ----------------------------------------- */

START_TEST(test_policy_steady_load_makes_no_change) {
    static const struct { double util, cpu, evr; } load[] = {
        {0.50, 0.3, 0}, {0.79, 0.6, 50}, {0.31, 0.1, 0}, {0.60, 0.79, 99},
    };
    for (size_t k = 0; k < MCM_ARRAY_LEN(load); k++) {
        policy_config c;
        cfg_test(&c);
        sim *s = sim_new(&c, 3);
        s->demand = load[k].util * 3;
        s->cpu = load[k].cpu * 3;
        s->evr = load[k].evr;
        sim_run(s, 120 * MIN);
        ck_assert_msg(s->nch == 0, "load %zu: %d changes, first %s (%s)", k, s->nch,
                      s->nch ? policy_action_name(s->ch[0].a) : "", s->last.text);
        ck_assert_int_eq(s->last.action, POLICY_NONE);
        ck_assert_msg(s->last.reason == POLICY_R_STEADY, "load %zu: %s: %s", k,
                      policy_reason_name(s->last.reason), s->last.text);
        ck_assert_int_eq(s->last.wanted, POLICY_NONE);
        sim_free(s);
    }
}
END_TEST

/* Each figure in turn spikes over its threshold for less than the window,
 * dips below for a single report, and spikes again: a window never fills. */
START_TEST(test_policy_spike_shorter_than_window_makes_no_change) {
    for (int fig = 0; fig < 3; fig++) {
        policy_config c;
        cfg_test(&c);
        sim *s = sim_new(&c, 3);
        for (int round = 0; round < 20; round++) {
            s->demand = fig == 0 ? 0.95 * 3 : 1.5;
            s->evr = fig == 1 ? 500 : 0;
            s->cpu = fig == 2 ? 0.95 * 3 : 0.3;
            sim_run(s, 115 * SEC);                 /* window is 120 s */
            s->demand = 1.5, s->evr = 0, s->cpu = 0.3;
            sim_step(s);
        }
        ck_assert_msg(s->nch == 0, "figure %d: %d changes (%s)", fig, s->nch, s->last.text);
        policy_counts k;
        policy_get_counts(s->p, &k);
        ck_assert_uint_gt(k.reasons[POLICY_R_PENDING], 0);   /* the spikes were seen */
        /* the same spike held just past the window does scale up */
        s->demand = fig == 0 ? 0.95 * 3 : 1.5;
        s->evr = fig == 1 ? 500 : 0;
        s->cpu = fig == 2 ? 0.95 * 3 : 0.3;
        sim_run(s, 125 * SEC);
        ck_assert_int_eq(s->nch, 1);
        ck_assert_int_eq(s->ch[0].a, POLICY_UP);
        sim_free(s);
    }
}
END_TEST

START_TEST(test_policy_oscillation_around_threshold_does_not_flap) {
    static const struct { double lo, hi; } around[] = {{0.79, 0.81}, {0.29, 0.31}};
    for (size_t k = 0; k < MCM_ARRAY_LEN(around); k++) {
        policy_config c;
        cfg_test(&c);
        sim *s = sim_new(&c, 4);
        for (int i = 0; i < 2 * 720; i++) {         /* 2 hours of alternating reports */
            s->demand = (i % 2 ? around[k].hi : around[k].lo) * 4;
            s->cpu = 0.4;
            sim_step(s);
        }
        ck_assert_msg(s->nch == 0, "around %.2f: %d changes", around[k].lo, s->nch);
        sim_free(s);
    }
}
END_TEST

/* Thresholds close together: taking one of two servers away at 0.45 would
 * put the last one at 0.90, over the scale-up line at once. */
START_TEST(test_policy_hysteresis_blocks_scale_down_that_would_scale_up) {
    policy_config c;
    cfg_test(&c);
    c.scale_down_mem = 0.50;
    sim *s = sim_new(&c, 2);
    s->demand = 0.45 * 2;
    s->cpu = 0.2;
    sim_run(s, 60 * MIN);
    ck_assert_int_eq(s->nch, 0);
    ck_assert_int_eq(s->last.reason, POLICY_R_HEADROOM);
    ck_assert_int_eq(s->last.wanted, POLICY_DOWN);
    ck_assert_msg(strstr(s->last.text, "without one server mem would be 0.90 > 0.70"), "%s", s->last.text);
    /* held back once per streak in the history, counted at every evaluation */
    char *h = policy_history_json(s->p);
    ck_assert_ptr_nonnull(h);
    const char *first = strstr(h, "\"r\":\"headroom\"");
    ck_assert_msg(first && !strstr(first + 1, "\"r\":\"headroom\""), "%s", h);
    free(h);
    policy_counts k;
    policy_get_counts(s->p, &k);
    ck_assert_uint_gt(k.blocked[POLICY_R_HEADROOM], 10);

    /* CPU too: two servers at 0.40 would leave one at 0.80 */
    sim *u = sim_new(&c, 2);
    u->demand = 0.1 * 2;
    u->cpu = 0.4 * 2;
    sim_run(u, 30 * MIN);
    ck_assert_int_eq(u->nch, 0);
    ck_assert_int_eq(u->last.reason, POLICY_R_HEADROOM);
    ck_assert_msg(strstr(u->last.text, "without one server cpu would be 0.80 > 0.70"), "%s", u->last.text);
    sim_free(u);

    /* the same rule with the default thresholds: 4 servers at 0.29 lose one
     * (3 at 0.39), then the fleet stays put for good */
    policy_config d;
    cfg_test(&d);
    sim *t = sim_new(&d, 4);
    t->demand = 0.29 * 4;
    t->cpu = 0.4;
    sim_run(t, 180 * MIN);
    ck_assert_int_eq(t->nch, 1);
    ck_assert_int_eq(t->ch[0].a, POLICY_DOWN);
    ck_assert_int_eq(t->ch[0].r, POLICY_R_MEM_LOW);
    ck_assert_int_eq(t->n, 3);
    ck_assert_int_eq(t->last.reason, POLICY_R_STEADY);
    sim_free(t);
    sim_free(s);
}
END_TEST

/* ---- ramp --------------------------------------------------------------------- */

START_TEST(test_policy_ramp_grows_one_step_at_a_time) {
    policy_config c;
    cfg_test(&c);
    sim *s = sim_new(&c, 2);
    int64_t over_since = -1;
    for (int i = 0; i < 1440; i++) {                /* 2 hours: 1.0 -> 6.5 limits of data */
        s->demand = 1.0 + 5.5 * i / 1440.0;
        s->cpu = 0.3;
        int before = s->nch;
        sim_step(s);
        if (s->nch > before) {
            const change *ch = &s->ch[s->nch - 1];
            ck_assert_int_eq(ch->a, POLICY_UP);
            ck_assert_int_eq(ch->r, POLICY_R_MEM_HIGH);
            ck_assert_int_eq(ch->to, ch->from + 1);
            ck_assert_msg(over_since >= 0 && ch->t - over_since >= c.scale_up_window_ms,
                          "change at %lld without a full window", (long long)(ch->t - T0));
            if (before > 0)
                ck_assert_int_ge(ch->t - s->ch[before - 1].t, c.cooldown_ms);
            over_since = -1;
        } else if (sim_util(s) > c.scale_up_mem) {
            if (over_since < 0) over_since = s->now;
        } else {
            over_since = -1;
        }
    }
    ck_assert_int_ge(s->nch, 5);
    /* the load holds: the fleet catches up, then stays */
    sim_run(s, 30 * MIN);
    int settled = s->nch;
    sim_run(s, 60 * MIN);
    ck_assert_int_eq(s->nch, settled);
    ck_assert_double_le(sim_util(s), c.scale_up_mem);
    ck_assert_int_eq(s->desired, 9);               /* 6.5 / 9 = 0.72; 6.5 / 8 = 0.81 */
    for (int i = 0; i < s->nch; i++) ck_assert_int_eq(s->ch[i].a, POLICY_UP);
    sim_free(s);
}
END_TEST

/* A window starts again after every change, by the policy or an operator:
 * the grown fleet must stay over the line for a whole window of its own,
 * even when the cooldown is shorter than the window. */
START_TEST(test_policy_window_restarts_after_change) {
    policy_config c;
    cfg_test(&c);
    c.cooldown_ms = 30 * SEC;
    c.operator_pause_ms = 0;
    sim *s = sim_new(&c, 2);
    s->demand = 100;                        /* every server full whatever the size */
    sim_run(s, 10 * MIN);
    ck_assert_int_ge(s->nch, 3);
    for (int i = 1; i < s->nch; i++)
        ck_assert_msg(s->ch[i].t - s->ch[i - 1].t >= c.scale_up_window_ms + STEP_MS,
                      "change %d only %lld ms after the previous", i, (long long)(s->ch[i].t - s->ch[i - 1].t));
    int64_t set_at = s->now;
    int before = s->nch;
    policy_operator_set(s->p, s->desired, s->desired + 1, s->now);
    s->desired++;
    sim_add_server(s);
    sim_run(s, 3 * MIN);
    ck_assert_int_eq(s->nch, before + 1);
    ck_assert_int_ge(s->ch[before].t - set_at, c.scale_up_window_ms + STEP_MS);
    sim_free(s);
}
END_TEST

/* Each report is a sample even if the core decides less often: one report
 * under the line between two decisions breaks the window. */
START_TEST(test_policy_sample_between_decisions_breaks_window) {
    policy_config c;
    cfg_test(&c);
    policy *p = policy_new(&c, err, sizeof(err));
    const char *ids[] = {"a"};
    policy_fleet f = {.desired = 1, .running = ids, .nrunning = 1};
    policy_decision d;
    report r = {.task_id = "a", .limit_maxbytes = 1000, .bytes = 900};
    int64_t t = T0;
    for (int i = 0; i < 40; i++, t += STEP_MS) {         /* 200 s of reports */
        r.time_ms = t;
        r.bytes = i == 20 ? 500 : 900;                   /* one low sample at 100 s */
        ck_assert_int_eq(policy_observe(p, "a", &r, 0.5, t), MCM_OK);
        if (i % 12 == 0) policy_decide(p, &f, t, &d);   /* a decision a minute */
    }
    policy_decide(p, &f, t, &d);
    ck_assert_int_eq(d.action, POLICY_NONE);
    ck_assert_int_eq(d.reason, POLICY_R_PENDING);
    ck_assert_msg(strstr(d.text, "mem 0.90 > 0.80 for 1m35s of 2m"), "%s", d.text);
    policy_decide(p, &f, t + 25 * SEC, &d);          /* 105 s + 120 s */
    ck_assert_int_eq(d.action, POLICY_UP);
    policy_free(p);
}
END_TEST

/* ---- triggers ----------------------------------------------------------------- */

START_TEST(test_policy_each_trigger_after_its_window) {
    static const struct {
        const char *name;
        double util, evr, cpu;          /* cpu per server */
        policy_action a;
        policy_reason r;
        int64_t window;
    } tab[] = {
        {"memory high", 0.90, 0, 0.2, POLICY_UP, POLICY_R_MEM_HIGH, 120 * SEC},
        {"evictions", 0.60, 200, 0.2, POLICY_UP, POLICY_R_EVICTIONS, 120 * SEC},
        {"evictions below rate", 0.60, 50, 0.2, POLICY_NONE, POLICY_R_STEADY, 0},
        {"cpu high", 0.50, 0, 0.90, POLICY_UP, POLICY_R_CPU_HIGH, 120 * SEC},
        {"memory low", 0.10, 0, 0.2, POLICY_DOWN, POLICY_R_MEM_LOW, 600 * SEC},
        {"memory low but evicting", 0.10, 3, 0.2, POLICY_NONE, POLICY_R_STEADY, 0},
        {"memory high wins over cpu", 0.90, 0, 0.90, POLICY_UP, POLICY_R_MEM_HIGH, 120 * SEC},
    };
    for (size_t k = 0; k < MCM_ARRAY_LEN(tab); k++) {
        policy_config c;
        cfg_test(&c);
        sim *s = sim_new(&c, 3);
        s->demand = tab[k].util * 3;
        s->evr = tab[k].evr;
        s->cpu = tab[k].cpu * 3;
        sim_run(s, 15 * MIN);
        if (tab[k].a == POLICY_NONE) {
            ck_assert_msg(s->nch == 0, "%s: changed (%s)", tab[k].name, s->last.text);
            sim_free(s);
            continue;
        }
        ck_assert_msg(s->nch >= 1, "%s: no change (%s)", tab[k].name, s->last.text);
        ck_assert_msg(s->ch[0].a == tab[k].a && s->ch[0].r == tab[k].r, "%s: %s %s", tab[k].name,
                      policy_action_name(s->ch[0].a), policy_reason_name(s->ch[0].r));
        /* the first evaluation sees the condition after 5 s, the rates after 10 s */
        ck_assert_msg(s->ch[0].t - T0 >= tab[k].window + 5 * SEC, "%s: too early (%lld ms)", tab[k].name,
                      (long long)(s->ch[0].t - T0));
        ck_assert_msg(s->ch[0].t - T0 <= tab[k].window + 20 * SEC, "%s: too late (%lld ms)", tab[k].name,
                      (long long)(s->ch[0].t - T0));
        sim_free(s);
    }
}
END_TEST

/* CPU use = delta cpu_seconds / delta time / CPUs; rates come from the
 * executor's own timestamps. */
START_TEST(test_policy_figures_from_counter_deltas) {
    policy_config c;
    cfg_test(&c);
    policy *p = policy_new(&c, err, sizeof(err));
    report r = {.task_id = "a", .time_ms = 1000000, .bytes = 10, .limit_maxbytes = 100,
                .evictions = 1000, .get_hits = 500, .get_misses = 500, .cpu_seconds = 50, .uptime = 100};
    ck_assert_int_eq(policy_observe(p, "a", &r, 0.5, T0), MCM_OK);
    policy_server sv;
    ck_assert_int_eq(policy_get_server(p, "a", &sv), MCM_OK);
    ck_assert(sv.evictions_per_s == -1 && sv.cpu == -1 && sv.hit_ratio == -1);  /* one report: no rates */
    ck_assert_double_eq_tol(sv.mem, 0.10, 1e-9);
    r.time_ms += 10000;            /* 10 s on the executor's clock, 7 s on ours */
    r.evictions += 250;
    r.get_hits += 90;
    r.get_misses += 10;
    r.cpu_seconds += 4.0;
    r.uptime += 10;
    ck_assert_int_eq(policy_observe(p, "a", &r, 0.5, T0 + 7000), MCM_OK);
    ck_assert_int_eq(policy_get_server(p, "a", &sv), MCM_OK);
    ck_assert_double_eq_tol(sv.evictions_per_s, 25.0, 1e-9);
    ck_assert_double_eq_tol(sv.cpu, 0.8, 1e-9);
    ck_assert_double_eq_tol(sv.hit_ratio, 0.9, 1e-9);
    ck_assert_int_eq(sv.seen_ms, T0 + 7000);
    /* an executor clock that did not advance: our own clock is used */
    r.evictions += 100;
    ck_assert_int_eq(policy_observe(p, "a", &r, 0.5, T0 + 17000), MCM_OK);
    ck_assert_int_eq(policy_get_server(p, "a", &sv), MCM_OK);
    ck_assert_double_eq_tol(sv.evictions_per_s, 10.0, 1e-9);
    ck_assert_int_eq(policy_get_server(p, "b", &sv), MCM_ERR);
    policy_forget(p, "a");
    policy_forget(p, "a");
    policy_forget(p, NULL);
    ck_assert_int_eq(policy_get_server(p, "a", &sv), MCM_ERR);
    /* bad ids are refused */
    char long_id[POLICY_ID_MAX + 1];
    memset(long_id, 'x', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = 0;
    ck_assert_int_eq(policy_observe(p, "", &r, 0.5, T0), MCM_ERR);
    ck_assert_int_eq(policy_observe(p, NULL, &r, 0.5, T0), MCM_ERR);
    ck_assert_int_eq(policy_observe(p, long_id, &r, 0.5, T0), MCM_ERR);
    policy_free(p);
}
END_TEST

/* The fleet figures are running sums a report updates in O(1): after many
 * reports, restarts and removals over 300 servers they equal the figures a
 * decision sums again from nothing. */
START_TEST(test_policy_running_sums_match_a_full_sum) {
    enum { NS = 300 };
    policy_config c;
    cfg_test(&c);
    c.instances_max = 1000;
    policy *p = policy_new(&c, err, sizeof(err));
    char ids[NS][16];
    const char *run[NS];
    report r[NS];
    memset(r, 0, sizeof(r));
    for (int i = 0; i < NS; i++) {
        snprintf(ids[i], sizeof(ids[i]), "s%03d", i);
        run[i] = ids[i];
        r[i].limit_maxbytes = LIMIT;
        r[i].uptime = 1;
    }
    policy_fleet f = {.running = run, .nrunning = NS, .desired = NS};
    policy_decision d;
    for (int i = 0; i < NS; i++) ck_assert_int_eq(policy_observe(p, ids[i], &r[i], 1.0, T0), MCM_OK);
    policy_decide(p, &f, T0, &d);   /* marks the fleet */
    int gone[NS] = {0};
    srand(11);
    for (int round = 1; round <= 40; round++) {
        for (int k = 0; k < NS; k++) {
            int i = rand() % NS;
            if (gone[i]) continue;
            report *x = &r[i];
            x->time_ms = T0 + round * STEP_MS + k;
            x->bytes = (uint64_t)(rand() % 1000) * (LIMIT / 1000);
            x->evictions += (uint64_t)(rand() % 4 ? 0 : rand() % 500);
            x->get_hits += (uint64_t)(rand() % 1000);
            x->get_misses += (uint64_t)(rand() % 100);
            x->cpu_seconds += (double)(rand() % 100) / 100.0;
            x->uptime += 5;
            if (rand() % 50 == 0) memset(x, 0, sizeof(*x)), x->limit_maxbytes = LIMIT;   /* a restart */
            ck_assert_int_eq(policy_observe(p, ids[i], x, 1.0, x->time_ms), MCM_OK);
        }
        policy_figures inc, full;
        policy_get_figures(p, &inc);
        policy_decide(p, &f, T0 + round * STEP_MS + NS, &d);   /* sums again from nothing */
        policy_get_figures(p, &full);
        ck_assert_int_eq(inc.reporting, full.reporting);
        ck_assert_uint_eq(inc.bytes, full.bytes);
        ck_assert_uint_eq(inc.limit_bytes, full.limit_bytes);
        ck_assert_int_eq(inc.mem_known, full.mem_known);
        ck_assert_int_eq(inc.cpu_known, full.cpu_known);
        ck_assert_int_eq(inc.evictions_known, full.evictions_known);
        ck_assert_int_eq(inc.hit_ratio_known, full.hit_ratio_known);
        ck_assert_double_eq_tol(inc.mem, full.mem, 1e-9);
        ck_assert_double_eq_tol(inc.cpu, full.cpu, 1e-9);
        ck_assert_double_eq_tol(inc.evictions_per_s, full.evictions_per_s, 1e-6);
        ck_assert_double_eq_tol(inc.hit_ratio, full.hit_ratio, 1e-9);
        if (round > 1) ck_assert_int_gt(full.reporting, NS / 2);   /* the test looks at a real fleet */
        if (round % 10 == 0) {   /* a server ends: forgotten, and out of the next fleet */
            int i = rand() % NS;
            policy_forget(p, ids[i]);
            gone[i] = 1;
            f.nrunning = 0;
            for (int j = 0; j < NS; j++)
                if (!gone[j]) run[f.nrunning++] = ids[j];
        }
    }
    policy_free(p);
}
END_TEST

/* memcached restarts every two minutes with 10^9 evictions behind it: a
 * naive delta would be a huge (or, unsigned, wrapped) rate. */
START_TEST(test_policy_counter_reset_is_a_new_baseline) {
    policy_config c;
    cfg_test(&c);
    sim *s = sim_new(&c, 3);
    s->demand = 1.5;
    s->cpu = 0.3;
    for (int i = 0; i < s->n; i++) s->ev[i] = 1000000000, s->cpu_s[i] = 100000, s->uptime[i] = 1000000;
    for (int round = 0; round < 30; round++) {
        sim_run(s, 2 * MIN);
        s->ev[1] = s->hits[1] = s->misses[1] = 0;
        s->cpu_s[1] = 0;
        s->uptime[1] = 0;
        sim_step(s);
        policy_server sv;
        ck_assert_int_eq(policy_get_server(s->p, s->id[1], &sv), MCM_OK);
        ck_assert(sv.evictions_per_s == -1 && sv.cpu == -1 && sv.hit_ratio == -1);
        policy_figures g;
        policy_get_figures(s->p, &g);
        ck_assert(g.evictions_known && g.evictions_per_s == 0);    /* from the other two */
        ck_assert(g.cpu_known && g.cpu >= 0 && g.cpu < 0.2);
        sim_step(s);
        ck_assert_int_eq(policy_get_server(s->p, s->id[1], &sv), MCM_OK);
        ck_assert_double_eq_tol(sv.evictions_per_s, 0, 1e-9);
        ck_assert_double_eq_tol(sv.cpu, 0.1, 1e-6);
        ck_assert_double_eq_tol(sv.hit_ratio, 0.9, 1e-9);
    }
    ck_assert_int_eq(s->nch, 0);
    policy_counts k;
    policy_get_counts(s->p, &k);
    ck_assert_uint_eq(k.reasons[POLICY_R_PENDING], 0);
    sim_free(s);
}
END_TEST

/* ---- gates ------------------------------------------------------------------ */

START_TEST(test_policy_stale_report_blocks_decisions) {
    policy_config c;
    cfg_test(&c);
    sim *s = sim_new(&c, 3);
    s->demand = 0.9 * 3;
    s->cpu = 0.3;
    sim_run(s, 60 * SEC);
    s->silent[1] = 1;
    sim_run(s, 10 * MIN);
    ck_assert_int_eq(s->nch, 0);
    ck_assert_int_eq(s->last.reason, POLICY_R_STALE);
    ck_assert_int_eq(s->last.wanted, POLICY_UP);
    char want[128];
    snprintf(want, sizeof(want), "stale report from %s (10m old) (wants up: mem 0.90 > 0.80", s->id[1]);
    ck_assert_msg(strstr(s->last.text, want), "%s", s->last.text);
    s->silent[1] = 0;
    sim_step(s);
    ck_assert_int_eq(s->nch, 1);
    ck_assert_int_eq(s->ch[0].a, POLICY_UP);

    /* a running server that never reported holds decisions too */
    s->demand = 0.95 * 5;
    s->act = 0;
    sim_run(s, c.cooldown_ms + c.scale_up_window_ms);
    ck_assert_int_eq(s->last.action, POLICY_UP);        /* would act ... */
    sim_add_server(s);                                  /* ... but a new server says nothing */
    s->silent[s->n - 1] = 1;
    s->desired = s->n;
    sim_step(s);
    ck_assert_int_eq(s->last.action, POLICY_NONE);
    ck_assert_int_eq(s->last.reason, POLICY_R_AWAITING_REPORTS);
    snprintf(want, sizeof(want), "no report yet from %s", s->id[s->n - 1]);
    ck_assert_msg(strstr(s->last.text, want), "%s", s->last.text);
    sim_free(s);
}
END_TEST

START_TEST(test_policy_bounds) {
    policy_config c;
    cfg_test(&c);
    c.instances_min = 2;
    c.instances_max = 3;

    /* at max with memory high: held */
    sim *s = sim_new(&c, 3);
    s->demand = 0.9 * 3;
    sim_run(s, 10 * MIN);
    ck_assert_int_eq(s->nch, 0);
    ck_assert_int_eq(s->last.reason, POLICY_R_AT_MAX);
    ck_assert_msg(strstr(s->last.text, "at instances-max 3 (wants up"), "%s", s->last.text);
    sim_free(s);

    /* at min with memory low: held */
    s = sim_new(&c, 2);
    s->demand = 0.05 * 2;
    sim_run(s, 30 * MIN);
    ck_assert_int_eq(s->nch, 0);
    ck_assert_int_eq(s->last.reason, POLICY_R_AT_MIN);
    sim_free(s);

    /* above max (flags changed under a stored count): one step at a time down
     * to max, figures or not, autoscale off or not, with a victim */
    policy_config off = c;
    off.autoscale = 0;
    s = sim_new(&off, 5);
    s->demand = 0.9 * 5;
    s->bytes_override[3] = 1000;
    s->silent[0] = 1;
    sim_step(s);
    ck_assert_int_eq(s->nch, 1);
    ck_assert_int_eq(s->ch[0].a, POLICY_DOWN);
    ck_assert_int_eq(s->ch[0].r, POLICY_R_BOUNDS);
    ck_assert_int_eq(s->ch[0].to, 4);
    ck_assert_str_eq(s->ch[0].victim, "mcm-00");          /* never reported: counts as empty */
    sim_step(s);
    ck_assert_int_eq(s->nch, 2);
    ck_assert_str_eq(s->ch[1].victim, "mcm-03");          /* least bytes in use */
    sim_run(s, 10 * MIN);
    ck_assert_int_eq(s->nch, 2);
    ck_assert_int_eq(s->desired, 3);
    ck_assert_int_eq(s->last.reason, POLICY_R_DISABLED);
    sim_free(s);

    /* below min: up to min */
    s = sim_new(&off, 1);
    s->demand = 0.1;
    sim_step(s);
    ck_assert_int_eq(s->nch, 1);
    ck_assert_int_eq(s->ch[0].a, POLICY_UP);
    ck_assert_int_eq(s->ch[0].r, POLICY_R_BOUNDS);
    ck_assert_int_eq(s->desired, 2);
    sim_free(s);

    /* fewer running than desired, above max: lower the count, kill nothing */
    policy *p = policy_new(&c, err, sizeof(err));
    const char *ids[] = {"a", "b", "c"};
    policy_fleet f = {.desired = 5, .running = ids, .nrunning = 3};
    policy_decision d;
    policy_decide(p, &f, T0, &d);
    ck_assert_int_eq(d.action, POLICY_DOWN);
    ck_assert_int_eq(d.target, 4);
    ck_assert_str_eq(d.victim, "");
    /* min 0: autoscaling still keeps one server (nothing to grow back from) */
    policy_free(p);
    c.instances_min = 0;
    s = sim_new(&c, 1);
    s->demand = 0.01;
    sim_run(s, 30 * MIN);
    ck_assert_int_eq(s->nch, 0);
    ck_assert_int_eq(s->last.reason, POLICY_R_AT_MIN);
    ck_assert_msg(strstr(s->last.text, "at least one server"), "%s", s->last.text);
    sim_free(s);
}
END_TEST

START_TEST(test_policy_settling_fleet_holds_decisions) {
    policy_config c;
    cfg_test(&c);
    sim *s = sim_new(&c, 3);
    s->demand = 0.9 * 3;
    s->act = 0;
    sim_run(s, 5 * MIN);
    ck_assert_int_eq(s->last.action, POLICY_UP);
    const char *ids[MAXS];
    policy_fleet f;
    sim_fleet(s, ids, &f);
    policy_decision d;
    static const struct { int launching, draining, desired_delta; const char *text; } tab[] = {
        {1, 0, 0, "fleet changing (1 launching, 0 draining)"},
        {0, 1, 0, "fleet changing (0 launching, 1 draining)"},
        {0, 0, 1, "fleet changing (3 running, 4 desired)"},
    };
    for (size_t k = 0; k < MCM_ARRAY_LEN(tab); k++) {
        policy_fleet g = f;
        g.launching = tab[k].launching;
        g.draining = tab[k].draining;
        g.desired += tab[k].desired_delta;
        policy_decide(s->p, &g, s->now, &d);
        ck_assert_int_eq(d.action, POLICY_NONE);
        ck_assert_int_eq(d.reason, POLICY_R_SETTLING);
        ck_assert_msg(strstr(d.text, tab[k].text), "%s", d.text);
    }
    policy_decide(s->p, &f, s->now, &d);
    ck_assert_int_eq(d.action, POLICY_UP);
    sim_free(s);
}
END_TEST

START_TEST(test_policy_disabled_never_acts) {
    policy_config c;
    cfg_test(&c);
    c.autoscale = 0;
    sim *s = sim_new(&c, 3);
    s->demand = 0.95 * 3;
    sim_run(s, 60 * MIN);
    ck_assert_int_eq(s->nch, 0);
    ck_assert_int_eq(s->last.reason, POLICY_R_DISABLED);
    ck_assert_int_eq(s->last.wanted, POLICY_UP);
    ck_assert_msg(strstr(s->last.text, "autoscale off (wants up"), "%s", s->last.text);
    policy_counts k;
    policy_get_counts(s->p, &k);
    ck_assert_uint_eq(k.evaluations, 720);
    ck_assert_uint_eq(k.actions[POLICY_NONE], 720);
    ck_assert_uint_eq(k.reasons[POLICY_R_DISABLED], 720);
    ck_assert_uint_eq(k.blocked[POLICY_R_DISABLED], 720 - 24);    /* held from 2 min on */
    sim_free(s);
}
END_TEST

START_TEST(test_policy_operator_override_pauses_then_expires) {
    policy_config c;
    cfg_test(&c);
    sim *s = sim_new(&c, 3);
    s->demand = 0.9 * 3;
    sim_run(s, 60 * SEC);
    policy_operator_set(s->p, 3, 3, s->now);               /* same size: pause only */
    int64_t set_at = s->now;
    sim_run(s, 29 * MIN);
    ck_assert_int_eq(s->nch, 0);
    ck_assert_int_eq(s->last.reason, POLICY_R_OPERATOR_PAUSE);
    ck_assert_msg(strstr(s->last.text, "operator pause 1m left (wants up"), "%s", s->last.text);
    sim_run(s, 2 * MIN);
    ck_assert_int_eq(s->nch, 1);
    ck_assert_int_eq(s->ch[0].a, POLICY_UP);
    ck_assert_int_ge(s->ch[0].t - set_at, c.operator_pause_ms);
    ck_assert_int_le(s->ch[0].t - set_at, c.operator_pause_ms + STEP_MS);

    /* a change of size by the operator: its pause, then the cooldown if longer */
    policy_config d;
    cfg_test(&d);
    d.operator_pause_ms = 60 * SEC;
    sim *t = sim_new(&d, 3);
    t->demand = 0.9 * 4;
    policy_operator_set(t->p, 3, 4, t->now);
    t->desired = 4;
    sim_add_server(t);
    sim_run(t, 2 * MIN);
    ck_assert_int_eq(t->nch, 0);
    ck_assert_int_eq(t->last.reason, POLICY_R_COOLDOWN);
    sim_run(t, 4 * MIN);
    ck_assert_int_eq(t->nch, 1);
    ck_assert_int_ge(t->ch[0].t - T0, d.cooldown_ms);
    char *h = policy_history_json(t->p);
    ck_assert_msg(strstr(h, "\"a\":\"up\",\"from\":3,\"to\":4,\"r\":\"operator\""), "%s", h);
    free(h);
    policy_counts k;
    policy_get_counts(t->p, &k);
    ck_assert_uint_eq(k.operator_sets, 1);
    sim_free(t);
    sim_free(s);
}
END_TEST

/* Leader A scales up and dies a minute later; B loads A's history, waits
 * for every server's figures and for the rest of A's cooldown. */
START_TEST(test_policy_failover_keeps_cooldown) {
    policy_config c;
    cfg_test(&c);
    sim *s = sim_new(&c, 3);
    s->demand = 3.8;                        /* over the line with 4 servers, not with 5 */
    sim_run(s, 3 * MIN);
    ck_assert_int_eq(s->nch, 1);
    int64_t changed_at = s->ch[0].t;
    sim_run(s, 60 * SEC);
    char *h = policy_history_json(s->p);
    ck_assert_ptr_nonnull(h);

    policy *b = policy_new(&c, err, sizeof(err));
    ck_assert_int_eq(policy_history_load(b, h, strlen(h), s->now, err, sizeof(err)), MCM_OK);
    policy_reset_after_failover(b, s->now);
    char *h2 = policy_history_json(b);
    ck_assert_str_eq(h2, h);                /* the history continues as it was */
    free(h2);
    free(h);
    policy_free(s->p);
    s->p = b;

    /* nobody has reported to B yet */
    sim_decide(s);
    ck_assert_int_eq(s->last.reason, POLICY_R_AWAITING_REPORTS);
    ck_assert_msg(strstr(s->last.text, "after failover"), "%s", s->last.text);
    s->silent[2] = 1;
    sim_step(s);
    ck_assert_int_eq(s->last.reason, POLICY_R_AWAITING_REPORTS);
    char want[96];
    snprintf(want, sizeof(want), "(%s has not reported)", s->id[2]);
    ck_assert_msg(strstr(s->last.text, want), "%s", s->last.text);
    s->silent[2] = 0;
    sim_step(s);
    ck_assert_int_eq(s->last.reason, POLICY_R_COOLDOWN);
    ck_assert_msg(strstr(s->last.text, "cooldown 2m55s left"), "%s", s->last.text);
    sim_run(s, 10 * MIN);
    ck_assert_int_eq(s->nch, 2);
    ck_assert_int_ge(s->ch[1].t - changed_at, c.cooldown_ms);
    ck_assert_int_le(s->ch[1].t - changed_at, c.cooldown_ms + STEP_MS);
    sim_free(s);
}
END_TEST

START_TEST(test_policy_victim_is_least_memory_in_use) {
    static const int64_t bytes[][4] = {
        {9000000, 3000000, 5000000, 7000000},
        {1000, 2000, 3000, 500},
        {4000000, 4000000, 4000000, 4000000},
    };
    static const char *victim[] = {"mcm-01", "mcm-03", "mcm-00"};
    for (size_t k = 0; k < MCM_ARRAY_LEN(bytes); k++) {
        policy_config c;
        cfg_test(&c);
        sim *s = sim_new(&c, 4);
        for (int i = 0; i < 4; i++) s->bytes_override[i] = bytes[k][i];
        sim_run(s, 11 * MIN);
        ck_assert_int_eq(s->nch, 1);
        ck_assert_int_eq(s->ch[0].a, POLICY_DOWN);
        ck_assert_str_eq(s->ch[0].victim, victim[k]);
        ck_assert_int_eq(s->n, 3);
        sim_free(s);
    }
}
END_TEST

/* ---- history --------------------------------------------------------------- */

START_TEST(test_policy_malformed_history_starts_fresh) {
    static const char *bad[] = {
        "", "not json", "[]", "{}", "null", "{\"v\":1}",
        "{\"v\":0,\"last_change_ms\":0,\"pause_until_ms\":0,\"decisions\":[]}",
        "{\"v\":1,\"last_change_ms\":-5,\"pause_until_ms\":0,\"decisions\":[]}",
        "{\"v\":1,\"last_change_ms\":\"1\",\"pause_until_ms\":0,\"decisions\":[]}",
        "{\"v\":1,\"last_change_ms\":1,\"pause_until_ms\":0,\"decisions\":{}}",
        "{\"v\":1,\"last_change_ms\":1,\"pause_until_ms\":0,\"decisions\":[1]}",
        "{\"v\":1,\"last_change_ms\":1,\"pause_until_ms\":0,\"decisions\":[{\"t\":1,\"a\":\"up\"}]}",
        "{\"v\":1,\"last_change_ms\":1,\"pause_until_ms\":0,\"decisions\":[{\"t\":1,\"a\":\"up\",\"from\":1,"
        "\"to\":2,\"r\":\"mem_high\",\"x\":7}]}",
        "{\"v\":1,\"v\":1,\"last_change_ms\":1,\"pause_until_ms\":0,\"decisions\":[]}",
    };
    policy_config c;
    cfg_test(&c);
    for (size_t k = 0; k < MCM_ARRAY_LEN(bad); k++) {
        policy *p = policy_new(&c, err, sizeof(err));
        err[0] = 0;
        ck_assert_msg(policy_history_load(p, bad[k], strlen(bad[k]), T0, err, sizeof(err)) == MCM_ERR,
                      "accepted %s", bad[k]);
        ck_assert_msg(strstr(err, "autoscale history"), "reason for %s: '%s'", bad[k], err);
        char *h = policy_history_json(p);
        ck_assert_str_eq(h, "{\"v\":1,\"last_change_ms\":0,\"pause_until_ms\":0,\"decisions\":[]}");
        free(h);
        policy_free(p);
    }
    policy *none = policy_new(&c, err, sizeof(err));
    ck_assert_int_eq(policy_history_load(none, NULL, 0, T0, err, sizeof(err)), MCM_ERR);
    policy_free(none);

    /* a valid history cut at every byte: refused, and the policy acts fresh */
    const char *good = "{\"v\":1,\"last_change_ms\":1700000000000,\"pause_until_ms\":0,\"decisions\":"
                       "[{\"t\":1700000000000,\"a\":\"up\",\"from\":3,\"to\":4,\"r\":\"mem_high\",\"x\":\"m\"}]}";
    for (size_t cut = 0; cut < strlen(good); cut++) {
        policy *p = policy_new(&c, err, sizeof(err));
        ck_assert_msg(policy_history_load(p, good, cut, T0 + 60 * SEC, err, sizeof(err)) == MCM_ERR,
                      "accepted %zu bytes", cut);
        policy_free(p);
    }
    sim *s = sim_new(&c, 3);
    s->now = T0 + 60 * SEC;
    ck_assert_int_eq(policy_history_load(s->p, good, strlen(good) - 1, s->now, err, sizeof(err)), MCM_ERR);
    s->demand = 0.9 * 3;
    sim_run(s, 130 * SEC);
    ck_assert_int_eq(s->nch, 1);                /* no cooldown from the bad history */
    sim_free(s);
    /* the whole of it loads, and its cooldown holds */
    s = sim_new(&c, 3);
    s->now = T0 + 60 * SEC;
    ck_assert_int_eq(policy_history_load(s->p, good, strlen(good), s->now, err, sizeof(err)), MCM_OK);
    s->demand = 0.9 * 3;
    sim_run(s, 130 * SEC);
    ck_assert_int_eq(s->nch, 0);
    ck_assert_int_eq(s->last.reason, POLICY_R_COOLDOWN);
    sim_free(s);
}
END_TEST

START_TEST(test_policy_history_load_clamps_and_skips_unknown) {
    policy_config c;
    cfg_test(&c);
    policy *p = policy_new(&c, err, sizeof(err));
    /* written by a replica whose clock ran a day ahead, by a newer version */
    char doc[1024];
    snprintf(doc, sizeof(doc),
             "{\"v\":2,\"last_change_ms\":%lld,\"pause_until_ms\":%lld,\"extra\":1,\"decisions\":["
             "{\"t\":5,\"a\":\"sideways\",\"from\":3,\"to\":3,\"r\":\"mem_high\"},"
             "{\"t\":6,\"a\":\"up\",\"from\":3,\"to\":4,\"r\":\"moon_phase\"},"
             "{\"t\":7,\"a\":\"down\",\"from\":4,\"to\":3,\"r\":\"mem_low\"}]}",
             (long long)(T0 + 86400000LL), (long long)(T0 + 86400000LL));
    ck_assert_int_eq(policy_history_load(p, doc, strlen(doc), T0, err, sizeof(err)), MCM_OK);
    char *h = policy_history_json(p);
    char want[512];
    snprintf(want, sizeof(want),
             "{\"v\":1,\"last_change_ms\":%lld,\"pause_until_ms\":%lld,\"decisions\":[{\"t\":7,\"a\":\"down\","
             "\"from\":4,\"to\":3,\"r\":\"mem_low\",\"x\":\"\"}]}",
             (long long)T0, (long long)(T0 + c.operator_pause_ms));
    ck_assert_str_eq(h, want);
    free(h);
    const char *ids[] = {"a"};
    policy_fleet f = {.desired = 1, .running = ids, .nrunning = 1};
    policy_decision d;
    report r = {.task_id = "a", .limit_maxbytes = 10};
    policy_observe(p, "a", &r, 0.5, T0);
    policy_decide(p, &f, T0, &d);
    ck_assert_int_eq(d.reason, POLICY_R_OPERATOR_PAUSE);
    ck_assert_msg(strstr(d.text, "operator pause 30m left"), "%s", d.text);
    policy_free(p);
}
END_TEST

START_TEST(test_policy_history_keeps_the_last_decisions) {
    policy_config c;
    cfg_test(&c);
    c.instances_max = 40;
    c.cooldown_ms = 0;
    c.scale_up_window_ms = 0;
    sim *s = sim_new(&c, 1);
    s->demand = 1000;                       /* always full: up at every round */
    uint64_t seq = policy_history_seq(s->p);
    sim_run(s, 30 * STEP_MS);
    ck_assert_int_eq(s->nch, 30);
    ck_assert_uint_gt(policy_history_seq(s->p), seq);
    char *h = policy_history_json(s->p);
    int n = 0;
    for (const char *q = h; (q = strstr(q, "\"a\":\"up\"")); q++) n++;
    ck_assert_int_eq(n, POLICY_HISTORY_MAX);
    ck_assert_msg(strstr(h, "\"from\":30,\"to\":31") && !strstr(h, "\"from\":10,\"to\":11,"), "%s", h);
    /* a round trip keeps every entry */
    policy *b = policy_new(&c, err, sizeof(err));
    ck_assert_int_eq(policy_history_load(b, h, strlen(h), s->now, err, sizeof(err)), MCM_OK);
    char *h2 = policy_history_json(b);
    ck_assert_str_eq(h2, h);
    free(h2);
    free(h);
    policy_free(b);
    sim_free(s);
}
END_TEST

START_TEST(test_policy_new_rejects_bad_config) {
    policy_config good;
    cfg_test(&good);
    static const struct { const char *what; } tab[] = {
        {"min above max"}, {"negative min"}, {"down above up"}, {"down equal up"},
        {"negative window"}, {"zero max age"}, {"zero up mem"}, {"NaN cpu"},
    };
    for (size_t k = 0; k < MCM_ARRAY_LEN(tab); k++) {
        policy_config c = good;
        switch (k) {
        case 0: c.instances_min = 11; break;
        case 1: c.instances_min = -1; break;
        case 2: c.scale_down_mem = 0.9; break;
        case 3: c.scale_down_mem = c.scale_up_mem; break;
        case 4: c.scale_up_window_ms = -1; break;
        case 5: c.report_max_age_ms = 0; break;
        case 6: c.scale_up_mem = 0; c.scale_down_mem = 0; break;
        default: c.scale_up_cpu = NAN; break;
        }
        err[0] = 0;
        ck_assert_msg(policy_new(&c, err, sizeof(err)) == NULL, "accepted %s", tab[k].what);
        ck_assert_msg(!strncmp(err, "policy: ", 8), "%s: '%s'", tab[k].what, err);
    }
    policy_free(NULL);
    ck_assert_str_eq(policy_reason_name(POLICY_R_AWAITING_REPORTS), "awaiting_reports");
    ck_assert_int_eq(policy_reason_parse("operator_pause"), POLICY_R_OPERATOR_PAUSE);
    ck_assert_int_eq(policy_reason_parse("nope"), -1);
    for (int r = 0; r < POLICY_REASON_COUNT; r++)
        ck_assert_int_eq(policy_reason_parse(policy_reason_name((policy_reason)r)), r);
}
END_TEST

int main(void) {
    Suite *s = suite_create("policy");
    TCase *tc = tcase_create("policy");
    tcase_add_test(tc, test_policy_steady_load_makes_no_change);
    tcase_add_test(tc, test_policy_spike_shorter_than_window_makes_no_change);
    tcase_add_test(tc, test_policy_oscillation_around_threshold_does_not_flap);
    tcase_add_test(tc, test_policy_hysteresis_blocks_scale_down_that_would_scale_up);
    tcase_add_test(tc, test_policy_ramp_grows_one_step_at_a_time);
    tcase_add_test(tc, test_policy_window_restarts_after_change);
    tcase_add_test(tc, test_policy_sample_between_decisions_breaks_window);
    tcase_add_test(tc, test_policy_each_trigger_after_its_window);
    tcase_add_test(tc, test_policy_figures_from_counter_deltas);
    tcase_add_test(tc, test_policy_counter_reset_is_a_new_baseline);
    tcase_add_test(tc, test_policy_stale_report_blocks_decisions);
    tcase_add_test(tc, test_policy_bounds);
    tcase_add_test(tc, test_policy_settling_fleet_holds_decisions);
    tcase_add_test(tc, test_policy_disabled_never_acts);
    tcase_add_test(tc, test_policy_operator_override_pauses_then_expires);
    tcase_add_test(tc, test_policy_failover_keeps_cooldown);
    tcase_add_test(tc, test_policy_victim_is_least_memory_in_use);
    tcase_add_test(tc, test_policy_malformed_history_starts_fresh);
    tcase_add_test(tc, test_policy_history_load_clamps_and_skips_unknown);
    tcase_add_test(tc, test_policy_history_keeps_the_last_decisions);
    tcase_add_test(tc, test_policy_new_rejects_bad_config);
    tcase_add_test(tc, test_policy_running_sums_match_a_full_sum);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
