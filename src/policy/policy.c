/* policy.c -- autoscaling decisions: ripe conditions, the gates that hold them
 * back, the step to take (see policy.h for the rules in full).
 *
 * Shape: one evaluation = (1) the fleet figures are recomputed and each
 * condition's streak advanced (policy_figures.c); (2) the figures' wish is
 * worked out on its own (ripe(): up, down or nothing, with its text); (3) the
 * gates are tried in order of precedence and the first that holds wins;
 * (4) the outcome is counted, logged when it changes, and recorded in the
 * history when it is a change or a ripe change held back. Keeping the wish
 * apart from the gates lets a blocked decision say what it was blocked from.
 *
 * Threads: the core only. Pure: time comes from the caller.
 * Invariants: a decision moves the desired count by exactly one; it never
 * moves it out of [min, max] (or further out, if it is already outside);
 * UP/DOWN from figures only when every gate is open. */
#define LOG_COMPONENT "policy"
#include "policy_int.h"
#include "log.h"
#include "mcm.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A scale-down must leave the projected figures at most this fraction of the
 * scale-up thresholds (the hysteresis rule in policy.h). */
#define POLICY_DOWN_HEADROOM 0.875

static const char *const reason_names[POLICY_REASON_COUNT] = {
    "steady", "pending", "mem_high", "evictions", "cpu_high", "mem_low", "bounds", "operator",
    "settling", "disabled", "awaiting_reports", "operator_pause", "cooldown", "stale", "at_max",
    "at_min", "headroom",
};

const char *policy_action_name(policy_action a) {
    return a == POLICY_UP ? "up" : a == POLICY_DOWN ? "down" : "none";
}

const char *policy_reason_name(policy_reason r) {
    return (unsigned)r < POLICY_REASON_COUNT ? reason_names[r] : "unknown";
}

int policy_reason_parse(const char *name) {
    for (int i = 0; name && i < POLICY_REASON_COUNT; i++)
        if (!strcmp(reason_names[i], name)) return i;
    return -1;
}

void policy_config_default(policy_config *c) {
    memset(c, 0, sizeof(*c));
    c->autoscale = 1;
    c->instances_min = 1;
    c->instances_max = 100;
    c->scale_up_mem = 0.80;
    c->scale_up_evictions = 100;
    c->scale_up_cpu = 0.80;
    c->scale_down_mem = 0.30;
    c->scale_up_window_ms = 120000;
    c->scale_down_window_ms = 600000;
    c->cooldown_ms = 300000;
    c->report_max_age_ms = 30000;
    c->operator_pause_ms = 1800000;
}

static const char *config_problem(const policy_config *c) {
    if (c->instances_min < 0 || c->instances_min > c->instances_max)
        return "instances_min must be in [0, instances_max]";
    if (!(c->scale_up_mem > 0) || !(c->scale_down_mem >= 0) || !(c->scale_up_cpu > 0) ||
        !(c->scale_up_evictions >= 0))
        return "thresholds must be positive (scale_down_mem and scale_up_evictions may be 0)";
    if (!(c->scale_down_mem < c->scale_up_mem)) return "scale_down_mem must be below scale_up_mem";
    if (c->scale_up_window_ms < 0 || c->scale_down_window_ms < 0 || c->cooldown_ms < 0 ||
        c->operator_pause_ms < 0)
        return "durations must not be negative";
    if (c->report_max_age_ms <= 0) return "report_max_age_ms must be positive";
    return NULL;
}

policy *policy_new(const policy_config *cfg, char *err, size_t errlen) {
    const char *why = config_problem(cfg);
    if (why) {
        snprintf(err, errlen, "policy: %s", why);
        return NULL;
    }
    policy *p = calloc(1, sizeof(*p));
    if (!p) {
        snprintf(err, errlen, "policy: out of memory");
        return NULL;
    }
    p->cfg = *cfg;
    for (int c = 0; c < COND_COUNT; c++) p->since[c] = -1;
    p->prev_reason = POLICY_R_STEADY;
    return p;
}

void policy_free(policy *p) {
    if (!p) return;
    policy__srv_free_all(p);
    free(p);
}

/* ---- text ---------------------------------------------------------------- */

static void textf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void textf(char *buf, size_t len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

/* "45s", "3m12s", "2m", "1h5m"; rounded up to whole seconds. */
static const char *dur(int64_t ms, char *buf, size_t len) {
    int64_t s = ms <= 0 ? 0 : (ms + 999) / 1000;
    int64_t h = s / 3600, m = s / 60 % 60;
    s %= 60;
    if (h) textf(buf, len, "%lldh%lldm", (long long)h, (long long)m);
    else if (m && s) textf(buf, len, "%lldm%llds", (long long)m, (long long)s);
    else if (m) textf(buf, len, "%lldm", (long long)m);
    else textf(buf, len, "%llds", (long long)s);
    return buf;
}

static int64_t elapsed(int64_t now_ms, int64_t since_ms) {
    return now_ms > since_ms ? now_ms - since_ms : 0;
}

/* ---- what the figures call for -------------------------------------------- */

typedef struct wish {
    policy_action a;
    policy_reason r;            /* trigger, or steady/pending */
    char text[POLICY_TEXT_MAX];
} wish;

static void cond_text(const policy *p, int c, int64_t held, int64_t window, char *buf, size_t len) {
    const policy_figures *g = &p->fig;
    const policy_config *k = &p->cfg;
    char d1[24], d2[24], of[40] = "";
    if (held < window) textf(of, sizeof(of), " of %s", dur(window, d2, sizeof(d2)));
    dur(held, d1, sizeof(d1));
    switch (c) {
    case COND_MEM_HIGH: textf(buf, len, "mem %.2f > %.2f for %s%s", g->mem, k->scale_up_mem, d1, of); break;
    case COND_EVICTIONS:
        textf(buf, len, "evictions %.1f/s > %g/s for %s%s", g->evictions_per_s, k->scale_up_evictions, d1, of);
        break;
    case COND_CPU_HIGH: textf(buf, len, "cpu %.2f > %.2f for %s%s", g->cpu, k->scale_up_cpu, d1, of); break;
    default:
        textf(buf, len, "mem %.2f < %.2f, no evictions, for %s%s", g->mem, k->scale_down_mem, d1, of);
    }
}

static void steady_text(const policy *p, char *buf, size_t len) {
    const policy_figures *g = &p->fig;
    char m[16] = "?", e[24] = "?", c[16] = "?";
    if (g->mem_known) textf(m, sizeof(m), "%.2f", g->mem);
    if (g->evictions_known) textf(e, sizeof(e), "%.1f/s", g->evictions_per_s);
    if (g->cpu_known) textf(c, sizeof(c), "%.2f", g->cpu);
    textf(buf, len, "mem %s, evictions %s, cpu %s", m, e, c);
}

static void ripe(const policy *p, int64_t now_ms, wish *w) {
    static const policy_reason trig[COND_COUNT] = {POLICY_R_MEM_HIGH, POLICY_R_EVICTIONS,
                                                   POLICY_R_CPU_HIGH, POLICY_R_MEM_LOW};
    int pending = -1;
    int64_t pending_held = 0;
    for (int c = 0; c < COND_COUNT; c++) {     /* the up conditions come first */
        if (p->since[c] < 0) continue;
        int64_t window = c == COND_MEM_LOW ? p->cfg.scale_down_window_ms : p->cfg.scale_up_window_ms;
        int64_t held = elapsed(now_ms, p->since[c]);
        if (held >= window) {
            w->a = c == COND_MEM_LOW ? POLICY_DOWN : POLICY_UP;
            w->r = trig[c];
            cond_text(p, c, held, window, w->text, sizeof(w->text));
            return;
        }
        if (pending < 0) pending = c, pending_held = held;
    }
    w->a = POLICY_NONE;
    w->r = pending >= 0 ? POLICY_R_PENDING : POLICY_R_STEADY;
    if (pending < 0) steady_text(p, w->text, sizeof(w->text));
    else cond_text(p, pending,  pending_held,
                   pending == COND_MEM_LOW ? p->cfg.scale_down_window_ms : p->cfg.scale_up_window_ms,
                   w->text, sizeof(w->text));
}

/* ---- gates ----------------------------------------------------------------- */

static void hold(policy_decision *out, policy_reason r, const wish *w, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void hold(policy_decision *out, policy_reason r, const wish *w, const char *fmt, ...) {
    char head[POLICY_TEXT_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof(head), fmt, ap);
    va_end(ap);
    out->action = POLICY_NONE;
    out->reason = r;
    if (w->a == POLICY_NONE) textf(out->text, sizeof(out->text), "%s", head);
    else textf(out->text, sizeof(out->text), "%s (wants %s: %s)", head, policy_action_name(w->a), w->text);
}

/* The running server with the least memory in use (unknown counts as 0). */
static void pick_victim(const policy *p, const policy_fleet *f, char *out) {
    const char *best = NULL;
    uint64_t least = 0;
    for (int i = 0; i < f->nrunning; i++) {
        if (!f->running[i]) continue;
        const policy_srv *s = policy__find(p, f->running[i]);
        uint64_t b = s ? s->last.bytes : 0;
        if (!best || b < least) best = f->running[i], least = b;
    }
    textf(out, POLICY_ID_MAX, "%s", best ? best : "");
}

static void step(const policy *p, const policy_fleet *f, policy_action a, policy_reason r,
                 const char *text, policy_decision *out) {
    out->action = a;
    out->reason = r;
    out->target = f->desired + (a == POLICY_UP ? 1 : -1);
    textf(out->text, sizeof(out->text), "%s", text);
    if (a == POLICY_DOWN && f->nrunning > out->target) pick_victim(p, f, out->victim);
}

static int bounds(const policy *p, const policy_fleet *f, policy_decision *out) {
    char t[POLICY_TEXT_MAX];
    if (f->desired > p->cfg.instances_max) {
        textf(t, sizeof(t), "desired %d above instances-max %d", f->desired, p->cfg.instances_max);
        step(p, f, POLICY_DOWN, POLICY_R_BOUNDS, t, out);
        return 1;
    }
    if (f->desired < p->cfg.instances_min) {
        textf(t, sizeof(t), "desired %d below instances-min %d", f->desired, p->cfg.instances_min);
        step(p, f, POLICY_UP, POLICY_R_BOUNDS, t, out);
        return 1;
    }
    return 0;
}

/* Reports: after a failover every running server must be fresh; at any time
 * each must have reported, recently enough. */
static int reports_gate(policy *p, const policy_fleet *f, int64_t now_ms, const wish *w,
                        policy_decision *out) {
    char d[24];
    for (int i = 0; p->awaiting_failover && i < f->nrunning; i++) {
        const policy_srv *s = f->running[i] ? policy__find(p, f->running[i]) : NULL;
        if (s && s->fresh) continue;
        hold(out, POLICY_R_AWAITING_REPORTS, w, "awaiting fresh figures after failover (%s has not reported)",
             f->running[i] ? f->running[i] : "?");
        return 1;
    }
    p->awaiting_failover = 0;
    if (p->pause_until_ms && now_ms < p->pause_until_ms) {
        int64_t left = p->pause_until_ms - now_ms;
        if (left > p->cfg.operator_pause_ms) left = p->cfg.operator_pause_ms;
        hold(out, POLICY_R_OPERATOR_PAUSE, w, "operator pause %s left", dur(left, d, sizeof(d)));
        return 1;
    }
    if (p->last_change_ms && elapsed(now_ms, p->last_change_ms) < p->cfg.cooldown_ms) {
        hold(out, POLICY_R_COOLDOWN, w, "cooldown %s left",
             dur(p->cfg.cooldown_ms - elapsed(now_ms, p->last_change_ms), d, sizeof(d)));
        return 1;
    }
    for (int i = 0; i < f->nrunning; i++) {
        const policy_srv *s = f->running[i] ? policy__find(p, f->running[i]) : NULL;
        if (!s) {
            hold(out, POLICY_R_AWAITING_REPORTS, w, "no report yet from %s", f->running[i] ? f->running[i] : "?");
            return 1;
        }
        int64_t age = elapsed(now_ms, s->seen_ms);
        if (age > p->cfg.report_max_age_ms) {
            hold(out, POLICY_R_STALE, w, "stale report from %s (%s old)", s->id, dur(age, d, sizeof(d)));
            return 1;
        }
    }
    return 0;
}

/* Every gate before the figures' own limits. 1 if one decided. */
static int gates(policy *p, const policy_fleet *f, int64_t now_ms, const wish *w, policy_decision *out) {
    if (f->launching > 0 || f->draining > 0) {
        hold(out, POLICY_R_SETTLING, w, "fleet changing (%d launching, %d draining)", f->launching, f->draining);
        return 1;
    }
    if (bounds(p, f, out)) return 1;
    if (f->nrunning != f->desired) {
        hold(out, POLICY_R_SETTLING, w, "fleet changing (%d running, %d desired)", f->nrunning, f->desired);
        return 1;
    }
    if (!p->cfg.autoscale) {
        hold(out, POLICY_R_DISABLED, w, "autoscale off");
        return 1;
    }
    return reports_gate(p, f, now_ms, w, out);
}

/* Hysteresis: would the fleet without one server still be clearly below the
 * scale-up line? Fills why if not. */
static int headroom_ok(const policy *p, int n, char *why, size_t len) {
    const policy_figures *g = &p->fig;
    double keep = (double)(n - 1) / n;
    double mem = g->limit_bytes ? (double)g->bytes / ((double)g->limit_bytes * keep) : 0;
    double cpu = g->cpu_known ? g->cpu / keep : 0;
    double mem_cap = p->cfg.scale_up_mem * POLICY_DOWN_HEADROOM;
    double cpu_cap = p->cfg.scale_up_cpu * POLICY_DOWN_HEADROOM;
    if (mem > mem_cap) textf(why, len, "without one server mem would be %.2f > %.2f", mem, mem_cap);
    else if (cpu > cpu_cap) textf(why, len, "without one server cpu would be %.2f > %.2f", cpu, cpu_cap);
    else return 1;
    return 0;
}

/* Every gate is open: act on the wish within [min, max] and the headroom. */
static void act(const policy *p, const policy_fleet *f, const wish *w, policy_decision *out) {
    char why[POLICY_TEXT_MAX];
    if (w->a == POLICY_NONE) {
        out->reason = w->r;
        textf(out->text, sizeof(out->text), "%s", w->text);
    } else if (w->a == POLICY_UP && f->desired >= p->cfg.instances_max) {
        hold(out, POLICY_R_AT_MAX, w, "at instances-max %d", p->cfg.instances_max);
    } else if (w->a == POLICY_DOWN && f->desired <= p->cfg.instances_min) {
        hold(out, POLICY_R_AT_MIN, w, "at instances-min %d", p->cfg.instances_min);
    } else if (w->a == POLICY_DOWN && f->desired <= 1) {
        /* with no server there would be no figures to grow back from */
        hold(out, POLICY_R_AT_MIN, w, "autoscaling keeps at least one server");
    } else if (w->a == POLICY_DOWN && !headroom_ok(p, f->desired, why, sizeof(why))) {
        hold(out, POLICY_R_HEADROOM, w, "%s", why);
    } else {
        step(p, f, w->a, w->r, w->text, out);
    }
}

/* ---- bookkeeping ------------------------------------------------------------ */

static int is_gate(policy_reason r) {
    return r >= POLICY_R_SETTLING;
}

static void note(policy *p, const policy_decision *d, int64_t now_ms) {
    p->counts.evaluations++;
    p->counts.actions[d->action]++;
    p->counts.reasons[d->reason]++;
    int held = d->action == POLICY_NONE && d->wanted != POLICY_NONE && is_gate(d->reason);
    if (held) p->counts.blocked[d->reason]++;
    int same = d->action == p->prev_action && d->reason == p->prev_reason && d->wanted == p->prev_wanted;
    if (d->action != POLICY_NONE) {
        log_verbose("scale %s %d -> %d%s%s: %s", policy_action_name(d->action), d->from, d->target,
                 d->victim[0] ? ", victim " : "", d->victim, d->text);
        policy__record(p, now_ms, d->action, d->from, d->target, d->reason, d->text);
    } else if (held && !same) {
        log_verbose("scale %s held back: %s", policy_action_name(d->wanted), d->text);
        policy__record(p, now_ms, POLICY_NONE, d->from, d->from + (d->wanted == POLICY_UP ? 1 : -1),
                       d->reason, d->text);
    } else if (!same) {
        log_verbose("autoscale %s: %s", policy_reason_name(d->reason), d->text);
    }
    p->prev_action = d->action;
    p->prev_reason = d->reason;
    p->prev_wanted = d->wanted;
}

void policy_decide(policy *p, const policy_fleet *f, int64_t now_ms, policy_decision *out) {
    memset(out, 0, sizeof(*out));
    out->from = out->target = f->desired;
    policy__mark_fleet(p, f);
    policy__evaluate(p, now_ms);
    wish w;
    ripe(p, now_ms, &w);
    out->wanted = w.a;
    if (!gates(p, f, now_ms, &w, out)) act(p, f, &w, out);
    if (out->action == POLICY_NONE) out->target = f->desired;
    note(p, out, now_ms);
}

static void restart_windows(policy *p) {
    for (int c = 0; c < COND_COUNT; c++) p->since[c] = -1;
}

void policy_changed(policy *p, int64_t now_ms) {
    p->last_change_ms = now_ms;
    restart_windows(p);
    p->hist_seq++;
}

void policy_operator_set(policy *p, int from, int to, int64_t now_ms) {
    char t[POLICY_TEXT_MAX];
    p->counts.operator_sets++;
    p->pause_until_ms = p->cfg.operator_pause_ms ? now_ms + p->cfg.operator_pause_ms : 0;
    if (from != to) {
        p->last_change_ms = now_ms;
        restart_windows(p);
    }
    textf(t, sizeof(t), "operator set %d -> %d", from, to);
    log_verbose("%s; automatic decisions paused for %lld s", t, (long long)(p->cfg.operator_pause_ms / 1000));
    policy__record(p, now_ms, to > from ? POLICY_UP : to < from ? POLICY_DOWN : POLICY_NONE, from, to,
                   POLICY_R_OPERATOR, t);
}

void policy_reset_after_failover(policy *p, int64_t now_ms) {
    (void)now_ms;
    p->awaiting_failover = 1;
    for (int i = 0; i < p->nsrv; i++) p->srv[i]->fresh = 0;
    restart_windows(p);
}

void policy_get_counts(const policy *p, policy_counts *out) {
    *out = p->counts;
}
