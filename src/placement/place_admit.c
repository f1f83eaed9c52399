/* place_admit.c -- may one more server go on this offer?
 *
 * Shape: each constraint is one small check over (offer value, placed
 * values), the same checks Marathon's ConstraintsChecker makes; then the
 * per-agent limit; then the zone spread. The first rule that declines
 * writes the verdict text the scheduler logs per offer at VERBOSE.
 *
 * Threads: see place.h. Invariants: admitting never depends on the order of
 * v->placed except CLUSTER without a value (the first server's value rules,
 * as in Marathon); a missing field fails every operator but UNLIKE. */
#include "place_int.h"

#include "mcm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLACE_ZONES_MAX 256          /* distinct zones considered */

int place__same(const char *a, const char *b) {
    if (!a || !b) return a == b;
    return strcmp(a, b) == 0;
}

const char *place__value(const place_con *c, const place_agent *a) {
    switch (c->field) {
    case PLACE_F_HOSTNAME: return a->hostname;
    case PLACE_F_REGION: return a->region;
    case PLACE_F_ZONE: return a->zone;
    case PLACE_F_AGENT: return a->agent_id;
    case PLACE_F_ATTR:
        for (int i = 0; i < a->nattrs; i++)
            if (a->attrs[i].name && !strcmp(a->attrs[i].name, c->attr)) return a->attrs[i].value;
        return NULL;
    }
    return NULL;
}

/* IS compares numbers as Mesos scalars: "1.0" is "1". */
static int is_match(const place_con *c, const char *val) {
    const char *p = c->value;
    size_t digits = strspn(p, "0123456789");
    int scalar = digits > 0 && (p[digits] == '\0' ||
                                (p[digits] == '.' && p[digits + 1] && strspn(p + digits + 1, "0123456789") ==
                                                                          strlen(p + digits + 1)));
    if (!scalar) return strcmp(val, p) == 0;
    char want[PLACE_SCALAR_MAX];
    place_format_scalar(strtod(p, NULL), want, sizeof(want));
    return strcmp(val, want) == 0;
}

int place__offer_only(const place_con *c, const place_agent *a) {
    const char *val = place__value(c, a);
    if (!val) return c->op == PLACE_OP_UNLIKE;
    switch (c->op) {
    case PLACE_OP_LIKE: return regexec(&c->re, val, 0, NULL, 0) == 0;
    case PLACE_OP_UNLIKE: return regexec(&c->re, val, 0, NULL, 0) != 0;
    case PLACE_OP_IS: return is_match(c, val);
    case PLACE_OP_CLUSTER: return c->value ? strcmp(val, c->value) == 0 : -1;
    default: return -1;
    }
}

static int count_value(const place_con *c, const place_view *v, const char *val) {
    int n = 0;
    for (int i = 0; i < v->nplaced; i++)
        if (place__same(place__value(c, &v->placed[i].agent), val)) n++;
    return n;
}

/* Marathon's minimum-group rule (see place.h). */
static int group_by_ok(const place_con *c, const place_view *v, const char *val, char *why, size_t wlen) {
    int mine = count_value(c, v, val);
    if (mine == 0) return 1;
    int groups = 0, smallest = -1;
    for (int i = 0; i < v->nplaced; i++) {
        const char *gi = place__value(c, &v->placed[i].agent);
        int first = 1;
        for (int j = 0; j < i && first; j++)
            if (place__same(place__value(c, &v->placed[j].agent), gi)) first = 0;
        if (!first) continue;
        groups++;
        int n = count_value(c, v, gi);
        if (smallest < 0 || n < smallest) smallest = n;
    }
    if (groups < c->count) {
        snprintf(why, wlen, "%d of at least %ld groups used, '%s' has servers", groups, c->count, val);
        return 0;
    }
    if (mine != smallest) {
        snprintf(why, wlen, "group '%s' has %d servers, the smallest %d", val, mine, smallest);
        return 0;
    }
    return 1;
}

/* The checks that depend on the placed servers; the agent has the field. */
static int placed_ok(const place_con *c, const place_view *v, const char *val, char *why, size_t wlen) {
    int n;
    switch (c->op) {
    case PLACE_OP_UNIQUE:
        if ((n = count_value(c, v, val)) == 0) return 1;
        snprintf(why, wlen, "'%s' already has %d server%s", val, n, n == 1 ? "" : "s");
        return 0;
    case PLACE_OP_MAX_PER:
        if ((n = count_value(c, v, val)) < c->count) return 1;
        snprintf(why, wlen, "'%s' already has %d of at most %ld", val, n, c->count);
        return 0;
    case PLACE_OP_CLUSTER: {
        if (v->nplaced == 0) return 1;
        const char *first = place__value(c, &v->placed[0].agent);
        if (place__same(first, val)) return 1;
        snprintf(why, wlen, "'%s' is not '%s', where the servers are", val, first ? first : "(none)");
        return 0;
    }
    case PLACE_OP_GROUP_BY: return group_by_ok(c, v, val, why, wlen);
    default: return 1;
    }
}

/* 1 if the constraint admits the offer; else why is filled. */
static int con_ok(const place_con *c, const place_view *v, const place_agent *offer, char *why, size_t wlen) {
    const char *val = place__value(c, offer);
    int only = place__offer_only(c, offer);
    if (only == 1) return 1;
    if (only == 0) {
        if (!val) snprintf(why, wlen, "the agent has no %s", c->field == PLACE_F_ATTR ? c->attr : "fault domain");
        else snprintf(why, wlen, "'%s' does not qualify", val);
        return 0;
    }
    return placed_ok(c, v, val, why, wlen);
}

int place__zones(const place_view *v, const char *offer_zone, const char **out, int cap) {
    int n = 0;
    const char *cand;
    for (int i = -1; i < v->nzones + v->nplaced; i++) {
        cand = i < 0 ? offer_zone : i < v->nzones ? v->zones[i] : v->placed[i - v->nzones].agent.zone;
        if (!cand) continue;
        int seen = 0;
        for (int j = 0; j < n && !seen; j++) seen = !strcmp(out[j], cand);
        if (!seen && n < cap) out[n++] = cand;
    }
    return n;
}

static int zone_count(const place_view *v, const char *zone) {
    int n = 0;
    for (int i = 0; i < v->nplaced; i++)
        if (place__same(v->placed[i].agent.zone, zone)) n++;
    return n;
}

/* Each of Z zones holds floor(N/Z), and N mod Z of them one more. */
static int zone_ok(const place_view *v, const char *zone, char *why, size_t wlen) {
    const char *zones[PLACE_ZONES_MAX];
    int nz = place__zones(v, zone, zones, PLACE_ZONES_MAX);
    int base = v->desired / nz, extra = v->desired % nz, consumed = 0;
    for (int i = 0; i < nz; i++) {
        int k = zone_count(v, zones[i]);
        if (k > base) consumed += k - base;
    }
    int mine = zone_count(v, zone);
    if (mine < base || (mine == base && extra - consumed > 0)) return 1;
    snprintf(why, wlen, "zone %s has %d of %d servers over %d zones (share %d%s)", zone, mine, v->desired, nz,
             base + (extra ? 1 : 0), extra ? " for some" : "");
    return 0;
}

static int verdict(place_verdict *out, place_rule_kind rule, int index, const char *name, const char *why) {
    out->ok = 0;
    out->rule = rule;
    out->index = index;
    snprintf(out->text, sizeof(out->text), "%.100s: %.150s", name, why);
    return 0;
}

static int admit(const place_rules *r, const place_view *v, const place_agent *offer, int spread,
                 place_verdict *out) {
    char why[PLACE_TEXT_MAX];
    for (int i = 0; i < r->ncon; i++)
        if (!con_ok(&r->con[i], v, offer, why, sizeof(why)))
            return verdict(out, PLACE_RULE_CONSTRAINT, i, r->con[i].text, why);
    if (r->max_per_agent && !con_ok(&r->agent_con, v, offer, why, sizeof(why)))
        return verdict(out, PLACE_RULE_MAX_PER_AGENT, -1, "max-per-agent", why);
    if (spread && place_rules_spreads_zones(r) && offer->zone && !zone_ok(v, offer->zone, why, sizeof(why)))
        return verdict(out, PLACE_RULE_ZONE_SPREAD, -1, "zone spread", why);
    out->ok = 1;
    out->rule = PLACE_RULE_NONE;
    out->index = -1;
    snprintf(out->text, sizeof(out->text), "admitted");
    return 1;
}

int place_admit(const place_rules *r, const place_view *v, const place_agent *offer, place_verdict *out) {
    return admit(r, v, offer, 1, out);
}

int place_admit_any_zone(const place_rules *r, const place_view *v, const place_agent *offer, place_verdict *out) {
    return admit(r, v, offer, 0, out);
}
