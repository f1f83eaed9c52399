/* place_victim.c -- which server a step down removes (rules in place.h).
 *
 * Shape: a candidate mask over v->placed narrowed by one filter per rule,
 * in order (misplaced servers, GROUP_BY evenness, fullest zone); a filter
 * that would leave nobody is skipped, so a victim is always found when
 * there is a server. The last step picks in Marathon's order
 * (selectInstancesToKill for one instance): members of the largest group
 * of the most uneven GROUP_BY distribution, then the caller's order.
 *
 * Group spreads follow Marathon's GroupByDistribution: the groups are those
 * of all placed servers, and a group emptied by the removal still counts,
 * with size 0.
 *
 * Threads: see place.h. Cost: O(n^2) per GROUP_BY over n servers, fine for
 * the few hundred servers of a fleet. */
#include "place_int.h"

#include "mcm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* max - min group size for c over v->placed without server `ex` (-1: none);
 * *largest: the size of the largest group. */
static int spread(const place_con *c, const place_view *v, int ex, int *largest) {
    int max = 0, min = -1;
    for (int i = 0; i < v->nplaced; i++) {
        const char *g = place__value(c, &v->placed[i].agent);
        int first = 1, n = 0;
        for (int j = 0; j < i && first; j++)
            if (place__same(place__value(c, &v->placed[j].agent), g)) first = 0;
        if (!first) continue;
        for (int j = 0; j < v->nplaced; j++)
            if (j != ex && place__same(place__value(c, &v->placed[j].agent), g)) n++;
        if (n > max) max = n;
        if (min < 0 || n < min) min = n;
    }
    if (largest) *largest = max;
    return min < 0 ? 0 : max - min;
}

static int group_size(const place_con *c, const place_view *v, int i) {
    int n = 0;
    const char *g = place__value(c, &v->placed[i].agent);
    for (int j = 0; j < v->nplaced; j++)
        if (place__same(place__value(c, &v->placed[j].agent), g)) n++;
    return n;
}

static int zone_size(const place_view *v, int i) {
    int n = 0;
    for (int j = 0; j < v->nplaced; j++)
        if (place__same(v->placed[j].agent.zone, v->placed[i].agent.zone)) n++;
    return n;
}

/* 1 if the placed servers are in more than one zone (a server without a
 * fault domain is in none). */
static int several_zones(const place_view *v) {
    const char *first = NULL;
    for (int i = 0; i < v->nplaced; i++) {
        const char *z = v->placed[i].agent.zone;
        if (!z) continue;
        if (first && strcmp(first, z)) return 1;
        first = z;
    }
    return 0;
}

/* Keeps only the candidates for which keep[i]; unless none would remain. */
static int narrow(int *cand, const int *keep, int n) {
    int any = 0;
    for (int i = 0; i < n; i++) any |= cand[i] && keep[i];
    if (!any) return 0;
    for (int i = 0; i < n; i++) cand[i] = cand[i] && keep[i];
    return 1;
}

static int misplaced(const place_rules *r, const place_agent *a) {
    for (int k = 0; k < r->ncon; k++)
        if (place__offer_only(&r->con[k], a) == 0) return 1;
    return 0;
}

static int keeps_group_by(const place_rules *r, const place_view *v, int i) {
    for (int k = 0; k < r->ncon; k++) {
        const place_con *c = &r->con[k];
        if (c->op != PLACE_OP_GROUP_BY) continue;
        int before = spread(c, v, -1, NULL), after = spread(c, v, i, NULL);
        if (!(after <= 1 || before > after)) return 0;
    }
    return 1;
}

/* Marathon's order: the first candidate in the largest group of the most
 * uneven GROUP_BY (ties: the constraint given first), else the first. */
static int marathon_pick(const place_rules *r, const place_view *v, const int *cand, int *by) {
    int used[PLACE_CONSTRAINTS_MAX] = {0};
    *by = -1;
    for (;;) {
        int best = -1, best_spread = 0, largest = 0;
        for (int k = 0; k < r->ncon; k++) {
            if (r->con[k].op != PLACE_OP_GROUP_BY || used[k]) continue;
            int lg, s = spread(&r->con[k], v, -1, &lg);
            if (s > best_spread) best = k, best_spread = s, largest = lg;
        }
        if (best < 0) break;
        used[best] = 1;
        for (int i = 0; i < v->nplaced; i++)
            if (cand[i] && group_size(&r->con[best], v, i) == largest) return *by = best, i;
    }
    for (int i = 0; i < v->nplaced; i++)
        if (cand[i]) return i;
    return -1;
}

static void explain(place_verdict *out, const place_rules *r, const place_view *v, int i, int bad, int grouped,
                    int zoned, int by) {
    const place_server *s = &v->placed[i];
    size_t n = (size_t)snprintf(out->text, sizeof(out->text), "%s", s->task_id ? s->task_id : "?");
    if (bad) n += (size_t)snprintf(out->text + n, sizeof(out->text) - n, ": its agent breaks a constraint");
    if (zoned && n < sizeof(out->text))
        n += (size_t)snprintf(out->text + n, sizeof(out->text) - n, "%s zone %s is the fullest (%d)",
                              bad ? ";" : ":", s->agent.zone ? s->agent.zone : "(none)", zone_size(v, i));
    if (by >= 0 && n < sizeof(out->text))
        n += (size_t)snprintf(out->text + n, sizeof(out->text) - n, "%s largest group of %s",
                              bad || zoned ? ";" : ":", r->con[by].text);
    else if (grouped && n < sizeof(out->text))
        snprintf(out->text + n, sizeof(out->text) - n, "%s keeps GROUP_BY even", bad || zoned ? ";" : ":");
    out->rule = by >= 0 ? PLACE_RULE_CONSTRAINT : zoned ? PLACE_RULE_ZONE_SPREAD : PLACE_RULE_NONE;
    out->index = by;
}

int place_victim(const place_rules *r, const place_view *v, place_verdict *out) {
    memset(out, 0, sizeof(*out));
    out->index = -1;
    int n = v->nplaced;
    if (n <= 0) {
        snprintf(out->text, sizeof(out->text), "no server to remove");
        return -1;
    }
    int *cand = malloc(sizeof(int) * (size_t)n * 2);
    if (!cand) {
        snprintf(out->text, sizeof(out->text), "out of memory");
        return -1;
    }
    int *keep = cand + n, bad = 0, grouped = 0, zoned = 0, ngroup = 0, top = 0;
    for (int i = 0; i < n; i++) cand[i] = 1, keep[i] = misplaced(r, &v->placed[i].agent);
    bad = narrow(cand, keep, n);
    for (int k = 0; k < r->ncon; k++) ngroup += r->con[k].op == PLACE_OP_GROUP_BY;
    if (ngroup) {
        for (int i = 0; i < n; i++) keep[i] = keeps_group_by(r, v, i);
        grouped = narrow(cand, keep, n);
    }
    if (place_rules_spreads_zones(r) && several_zones(v)) {
        for (int i = 0; i < n; i++)
            if (cand[i] && v->placed[i].agent.zone && zone_size(v, i) > top) top = zone_size(v, i);
        for (int i = 0; i < n; i++) keep[i] = v->placed[i].agent.zone && zone_size(v, i) == top;
        zoned = top > 0 && narrow(cand, keep, n);
    }
    int by, i = marathon_pick(r, v, cand, &by);
    free(cand);
    out->ok = 1;
    explain(out, r, v, i, bad, grouped, zoned, by);
    return i;
}
