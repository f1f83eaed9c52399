/* fleet_place.c -- the fleet's placement: which offers may take a server and
 * which server a step down removes, decided by the pure placement module
 * (place.h: --constraint, zone spread) over the fleet's own table.
 *
 * What: (1) a place_view of the servers that hold a place (active tasks, plus
 * the launches already decided in this batch of offers) built from the task
 * records, whose agent attributes and fault domain were copied from the offer
 * at launch (fleet_place_stamp) and are stored with them, so a new leader
 * knows where its servers are before any offer comes; (2) the zones with
 * room; (3) the step-down victim, place_victim over the active servers in the
 * caller's preference order (not running first, then least memory in use).
 *
 * ZONES WITH ROOM (what place.h leaves to the caller): the zones of agents
 * whose latest offer fitted a server and broke no constraint
 * (place_admit_any_zone), seen within FLEET_ZONE_MEMORY_MS, plus, as the
 * module adds itself, the zones of placed servers. An agent with an
 * UNREACHABLE task does not count (a zone being lost). The memory is measured
 * in time offers flow: after a gap in offers longer than the memory (the fleet
 * was suppressed), every entry starts again from the first batch, so a zone is
 * not forgotten merely because mcm wanted no offers. A zone that is gone stops
 * counting FLEET_ZONE_MEMORY_MS after its last offer: the other zones then
 * share its servers.
 *
 * SPREAD WAIVER: the spread counts a zone as long as it holds servers, even
 * if its agents are full; servers would then wait forever. When only the
 * zone spread has kept a needed server from launching for twice the zone
 * memory (so a zone that is gone is forgotten first), it is waived for offers that break no constraint
 * (logged at NOTICE): a server in an uneven zone beats no server.
 *
 * The per-agent limit stays the fleet's own check (fleet.c usable(), over
 * tt_on_agent: draining and killed servers still hold their agent).
 *
 * Thread: the core only. Invariants: a task's attrs/region/zone are those
 * of the offer it was launched on; nothing here changes a stored field. */
#define LOG_COMPONENT "fleet"
#include "fleet_int.h"
#include "log.h"
#include "mcm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FLEET_ZONE_MEMORY_MIN_MS 5000   /* see zone_memory_ms */
#define FLEET_ATTRS_MAX 32              /* attributes of a stored task read back */

/* A zone's agents re-offer at least every refuse time (their declined
 * offers' filter) while offers are wanted: twice that, and a margin. */
static int64_t zone_memory_ms(const fleet *f) {
    return (int64_t)(f->cfg.refuse_s * 2000.0) + FLEET_ZONE_MEMORY_MIN_MS;
}

int fleet_place_new(fleet *f) {
    char err[512];
    if (!(f->rules = place_rules_new())) return MCM_ERR;
    place_rules_zone_spread(f->rules, f->cfg.zone_spread);
    for (int i = 0; i < f->cfg.nconstraints; i++)
        if (place_rules_add(f->rules, f->cfg.constraints[i], err, sizeof(err)) != MCM_OK) {
            log_error("%s", err);
            return MCM_ERR;
        }
    f->cfg.constraints = NULL;   /* the caller's strings: not kept (the rules copied them) */
    f->cfg.nconstraints = 0;
    char desc[1024];
    place_rules_describe(f->rules, desc, sizeof(desc));
    log_info("placement: %s", desc);
    return MCM_OK;
}

void fleet_place_free(fleet *f) {
    place_rules_free(f->rules);
    f->rules = NULL;
    free(f->seen);
    f->seen = NULL;
    f->nseen = f->capseen = 0;
}

/* --- a task's agent --------------------------------------------------------- */

void fleet_place_stamp(tt_task *t, const place_agent *a) {
    t->attrs[0] = t->region[0] = t->zone[0] = '\0';
    if (!a) return;
    size_t n = 0;
    for (int i = 0; i < a->nattrs; i++) {   /* whole items only: a cut one would be a wrong value */
        const place_attr *at = &a->attrs[i];
        size_t need = strlen(at->name) + strlen(at->value) + 2;
        if (strchr(at->name, ':') || strchr(at->name, ';') || strchr(at->value, ';') || n + need >= sizeof(t->attrs))
            continue;
        n += (size_t)snprintf(t->attrs + n, sizeof(t->attrs) - n, "%s%s:%s", n ? ";" : "", at->name, at->value);
    }
    if (a->region && a->zone && strlen(a->region) < sizeof(t->region) && strlen(a->zone) < sizeof(t->zone)) {
        snprintf(t->region, sizeof(t->region), "%s", a->region);
        snprintf(t->zone, sizeof(t->zone), "%s", a->zone);
    }
}

/* A place_agent over a task record: the strings live in slot. */
typedef struct slot {
    place_attr attrs[FLEET_ATTRS_MAX];
    char text[TT_ATTRS_MAX];
} slot;

static place_agent agent_of(const tt_task *t, slot *s) {
    place_agent a = {t->agent_id, t->hostname, s->attrs, 0, t->region[0] ? t->region : NULL,
                     t->zone[0] ? t->zone : NULL};
    snprintf(s->text, sizeof(s->text), "%s", t->attrs);
    for (char *save = NULL, *it = strtok_r(s->text, ";", &save); it && a.nattrs < FLEET_ATTRS_MAX;
         it = strtok_r(NULL, ";", &save)) {
        char *colon = strchr(it, ':');
        if (!colon) continue;
        *colon = '\0';
        s->attrs[a.nattrs++] = (place_attr){it, colon + 1};
    }
    return a;
}

/* --- the view ------------------------------------------------------------------ */

typedef struct view {
    place_view v;
    place_server *servers;
    slot *slots;
    const char **zones;
} view;

static void view_free(view *w) {
    free(w->servers);
    free(w->slots);
    free(w->zones);
    memset(w, 0, sizeof(*w));
}

/* The agents with an UNREACHABLE task (few: usually none), so that the
 * zones with room cost O(tasks + seen) rather than O(tasks x seen), which
 * at 1,000 servers and every offer would be a billion steps per batch. */
static int unreachable_agents(fleet *f, const char ***out) {
    int n = 0;
    *out = NULL;
    for (int i = 0; i < tt_count(f->tasks); i++) {
        const tt_task *t = tt_at(f->tasks, i);
        if (t->state != MESOS__V1__TASK_STATE__TASK_UNREACHABLE) continue;
        const char **v = realloc(*out, sizeof(*v) * (size_t)(n + 1));
        if (!v) break;   /* then fewer zones are doubted: the spread may wait one zone longer */
        *out = v;
        v[n++] = t->agent_id;
    }
    return n;
}

static int listed(const char *const *v, int n, const char *s) {
    for (int i = 0; i < n; i++)
        if (!strcmp(v[i], s)) return 1;
    return 0;
}

/* The zones with room (see the top), deduplicated. */
static int room_zones(fleet *f, const char **out, int64_t now) {
    const char **lost;
    int nlost = unreachable_agents(f, &lost), n = 0;
    for (int i = 0; i < f->nseen; i++) {
        const fleet_agent_seen *s = &f->seen[i];
        if (now - s->seen_ms > zone_memory_ms(f) || listed(lost, nlost, s->agent_id)) continue;
        if (!listed(out, n, s->zone)) out[n++] = s->zone;
    }
    free(lost);
    return n;
}

/* The servers holding a place: active tasks (cands NULL) or cands, then
 * the launches in planned. MCM_ERR if out of memory. */
static int view_build(fleet *f, view *w, tt_task *const *cands, int ncands, const fleet_actions *planned,
                      int64_t now) {
    memset(w, 0, sizeof(*w));
    int cap = (cands ? ncands : tt_count(f->tasks)) + (planned ? planned->n : 0) + 1;
    w->servers = calloc((size_t)cap, sizeof(*w->servers));
    w->slots = calloc((size_t)cap, sizeof(*w->slots));
    w->zones = calloc((size_t)f->nseen + 1, sizeof(*w->zones));
    if (!w->servers || !w->slots || !w->zones) return MCM_ERR;
    int n = 0;
    for (int i = 0; i < (cands ? ncands : tt_count(f->tasks)); i++) {
        tt_task *t = cands ? cands[i] : tt_at(f->tasks, i);
        if (!cands && !fleet_is_active(t)) continue;
        w->servers[n] = (place_server){t->id, agent_of(t, &w->slots[n])};
        n++;
    }
    for (int i = 0; planned && i < planned->n; i++) {
        const fleet_action *a = &planned->v[i];
        if (a->kind != FA_LAUNCH) continue;
        w->servers[n] = (place_server){a->task.id, agent_of(&a->task, &w->slots[n])};
        n++;
    }
    w->v = (place_view){w->servers, n, f->desired, w->zones, room_zones(f, w->zones, now)};
    return MCM_OK;
}

/* --- offers ------------------------------------------------------------------------ */

static fleet_agent_seen *seen_find(fleet *f, const char *agent_id) {
    for (int i = 0; i < f->nseen; i++)
        if (!strcmp(f->seen[i].agent_id, agent_id)) return &f->seen[i];
    return NULL;
}

static void seen_forget(fleet *f, const char *agent_id) {
    fleet_agent_seen *s = seen_find(f, agent_id);
    if (s) *s = f->seen[--f->nseen];
}

static void seen_note(fleet *f, const fleet_offer *o, int64_t now) {
    fleet_agent_seen *s = seen_find(f, o->agent_id);
    if (!s && f->nseen == f->capseen) {
        int cap = f->capseen ? f->capseen * 2 : 16;
        fleet_agent_seen *v = realloc(f->seen, sizeof(*v) * (size_t)cap);
        if (!v) return;   /* memory of room only: the spread then counts fewer zones */
        f->seen = v;
        f->capseen = cap;
    }
    if (!s) s = &f->seen[f->nseen++];
    snprintf(s->agent_id, sizeof(s->agent_id), "%s", o->agent_id);
    snprintf(s->zone, sizeof(s->zone), "%s", o->agent->zone);
    s->seen_ms = now;
}

void fleet_place_offers(fleet *f, const fleet_offer *offers, int n, fleet_clock now) {
    if (f->last_offers_ms && now.mono_ms - f->last_offers_ms > zone_memory_ms(f))
        for (int i = 0; i < f->nseen; i++) f->seen[i].seen_ms = now.mono_ms;   /* offers were not flowing */
    f->last_offers_ms = now.mono_ms;
    view w;
    if (view_build(f, &w, NULL, 0, NULL, now.mono_ms) != MCM_OK) {
        view_free(&w);
        return;
    }
    for (int i = 0; i < n; i++) {
        const fleet_offer *o = &offers[i];
        if (!o->agent_id) continue;
        place_verdict pv;
        if (o->fits && o->agent && o->agent->zone && place_admit_any_zone(f->rules, &w.v, o->agent, &pv))
            seen_note(f, o, now.mono_ms);
        else
            seen_forget(f, o->agent_id);
    }
    view_free(&w);
}

int fleet_place_admit(fleet *f, const fleet_offer *o, const fleet_actions *planned, fleet_clock now) {
    static const place_agent none = {NULL, NULL, NULL, 0, NULL, NULL};
    place_agent a = o->agent ? *o->agent : none;
    a.agent_id = o->agent_id;
    if (!a.hostname) a.hostname = o->hostname;
    view w;
    place_verdict pv;
    int ok = 0;
    if (view_build(f, &w, NULL, 0, planned, now.mono_ms) != MCM_OK) {
        log_error("out of memory placing a server");
    } else if (place_admit(f->rules, &w.v, &a, &pv)) {
        ok = 1;
    } else if (pv.rule == PLACE_RULE_ZONE_SPREAD && place_admit_any_zone(f->rules, &w.v, &a, &pv)) {
        if (!f->spread_blocked_ms) f->spread_blocked_ms = now.mono_ms;
        ok = now.mono_ms - f->spread_blocked_ms >= 2 * zone_memory_ms(f);   /* a gone zone is forgotten first */
        if (ok)
            log_notice("zone spread waived for %s: servers have waited %lld ms for a zone with room", o->hostname,
                       (long long)(now.mono_ms - f->spread_blocked_ms));
        else
            log_verbose("offer %s from %s declined: zone spread", o->id, o->hostname);
    } else {
        log_verbose("offer %s from %s declined: %s", o->id, o->hostname, pv.text);
    }
    view_free(&w);
    return ok;
}

void fleet_place_offers_done(fleet *f, int launched, int need, fleet_clock now) {
    (void)now;
    if (launched || need <= 0) f->spread_blocked_ms = 0;
}

/* --- step down ------------------------------------------------------------------------ */

tt_task *fleet_place_victim(fleet *f, tt_task *const *cands, int n) {
    if (n <= 0) return NULL;
    view w;
    tt_task *t = cands[0];
    if (view_build(f, &w, cands, n, NULL, 0) != MCM_OK) {
        log_error("out of memory choosing a server to remove: the first in preference order");
    } else {
        w.v.desired = n - 1;
        w.v.nzones = 0;   /* a step down looks at where the servers are, not where room is */
        place_verdict pv;
        int i = place_victim(f->rules, &w.v, &pv);
        if (i >= 0) t = cands[i];
        log_info("step down: %s", pv.text);
    }
    view_free(&w);
    return t;
}
