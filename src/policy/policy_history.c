/* policy_history.c -- the short history of decisions, and its JSON form kept
 * in ZooKeeper (state/desired's "autoscale") so a new leader continues the
 * same cooldown and operator pause instead of starting fresh.
 *
 * Shape: a fixed ring of POLICY_HISTORY_MAX entries kept oldest first (a
 * memmove per entry; entries are rare: changes and held-back streaks, not
 * evaluations). jansson builds and parses the JSON. Loading parses into a
 * scratch copy and commits only when the whole document is valid, so a
 * malformed history leaves the policy as it was.
 *
 * Threads: the core only.
 * Invariants: 0 <= nhist <= POLICY_HISTORY_MAX; hist_seq grows with every
 * change of what policy_history_json() would return. */
#define LOG_COMPONENT "policy"
#include "policy_int.h"
#include "log.h"
#include "mcm.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define HISTORY_VERSION 1

void policy__record(policy *p, int64_t t, policy_action a, int from, int to, policy_reason r,
                    const char *text) {
    if (p->nhist == POLICY_HISTORY_MAX) {
        memmove(&p->hist[0], &p->hist[1], sizeof(p->hist[0]) * (POLICY_HISTORY_MAX - 1));
        p->nhist--;
    }
    policy_hist *h = &p->hist[p->nhist++];
    h->t = t;
    h->a = a;
    h->from = from;
    h->to = to;
    h->r = r;
    snprintf(h->x, sizeof(h->x), "%s", text ? text : "");
    p->hist_seq++;
}

uint64_t policy_history_seq(const policy *p) {
    return p->hist_seq;
}

static json_t *entry_json(const policy_hist *h) {
    return json_pack("{sI ss si si ss ss}", "t", (json_int_t)h->t, "a", policy_action_name(h->a),
                     "from", h->from, "to", h->to, "r", policy_reason_name(h->r), "x", h->x);
}

char *policy_history_json(const policy *p) {
    json_t *list = json_array();
    json_t *doc = json_pack("{sisIsIso}", "v", HISTORY_VERSION, "last_change_ms", (json_int_t)p->last_change_ms,
                            "pause_until_ms", (json_int_t)p->pause_until_ms, "decisions", list);
    char *out = NULL;
    if (!doc) goto done;
    for (int i = 0; i < p->nhist; i++)
        if (json_array_append_new(list, entry_json(&p->hist[i])) != 0) goto done;
    out = json_dumps(doc, JSON_COMPACT);
done:
    json_decref(doc);
    return out;
}

/* ---- loading -------------------------------------------------------------- */

static int action_parse(const char *s) {
    for (int a = 0; a < POLICY_ACTION_COUNT; a++)
        if (!strcmp(s, policy_action_name((policy_action)a))) return a;
    return -1;
}

static int get_time(json_t *doc, const char *key, int64_t *out, char *err, size_t errlen) {
    json_t *v = json_object_get(doc, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        snprintf(err, errlen, "autoscale history: '%s' missing or not a non-negative integer", key);
        return MCM_ERR;
    }
    *out = json_integer_value(v);
    return MCM_OK;
}

/* One decision into *h. MCM_OK, 1 to skip it (names from a newer version),
 * MCM_ERR if malformed. */
static int entry_parse(json_t *e, int i, policy_hist *h, char *err, size_t errlen) {
    json_t *t = json_object_get(e, "t"), *a = json_object_get(e, "a"), *r = json_object_get(e, "r");
    json_t *from = json_object_get(e, "from"), *to = json_object_get(e, "to"), *x = json_object_get(e, "x");
    if (!json_is_object(e) || !json_is_integer(t) || !json_is_string(a) || !json_is_string(r) ||
        !json_is_integer(from) || !json_is_integer(to) || (x && !json_is_string(x)) ||
        json_integer_value(t) < 0 || json_integer_value(from) < 0 || json_integer_value(from) > 1000000 ||
        json_integer_value(to) < 0 || json_integer_value(to) > 1000000) {
        snprintf(err, errlen, "autoscale history: decision %d malformed (needs t, a, from, to, r)", i);
        return MCM_ERR;
    }
    int ac = action_parse(json_string_value(a)), rc = policy_reason_parse(json_string_value(r));
    if (ac < 0 || rc < 0) return 1;
    h->t = json_integer_value(t);
    h->a = (policy_action)ac;
    h->r = (policy_reason)rc;
    h->from = (int)json_integer_value(from);
    h->to = (int)json_integer_value(to);
    snprintf(h->x, sizeof(h->x), "%s", x ? json_string_value(x) : "");
    return MCM_OK;
}

/* What a document holds, parsed before anything is committed. */
typedef struct hist_doc {
    int64_t last_change_ms, pause_until_ms;
    policy_hist hist[POLICY_HISTORY_MAX];
    int nhist;
} hist_doc;

/* Parses the whole document into scratch; MCM_OK only if all of it is valid. */
static int parse(json_t *doc, hist_doc *scratch, char *err, size_t errlen) {
    json_t *v = json_object_get(doc, "v"), *list = json_object_get(doc, "decisions");
    if (!json_is_integer(v) || json_integer_value(v) < 1) {
        snprintf(err, errlen, "autoscale history: no version 'v' >= 1");
        return MCM_ERR;
    }
    if (get_time(doc, "last_change_ms", &scratch->last_change_ms, err, errlen) != MCM_OK ||
        get_time(doc, "pause_until_ms", &scratch->pause_until_ms, err, errlen) != MCM_OK)
        return MCM_ERR;
    if (!json_is_array(list)) {
        snprintf(err, errlen, "autoscale history: 'decisions' missing or not an array");
        return MCM_ERR;
    }
    size_t n = json_array_size(list);
    size_t first = n > POLICY_HISTORY_MAX ? n - POLICY_HISTORY_MAX : 0;
    scratch->nhist = 0;
    for (size_t i = first; i < n; i++) {
        int rc = entry_parse(json_array_get(list, i), (int)i, &scratch->hist[scratch->nhist], err, errlen);
        if (rc == MCM_ERR) return MCM_ERR;
        if (rc == MCM_OK) scratch->nhist++;
    }
    return MCM_OK;
}

int policy_history_load(policy *p, const char *json, size_t len, int64_t now_ms, char *err, size_t errlen) {
    if (!json) {
        snprintf(err, errlen, "autoscale history: none given");
        return MCM_ERR;
    }
    json_error_t je;
    json_t *doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(doc)) {
        snprintf(err, errlen, "autoscale history: not a JSON object: %s", doc ? "wrong type" : je.text);
        json_decref(doc);
        return MCM_ERR;
    }
    hist_doc scratch;
    int rc = parse(doc, &scratch, err, errlen);
    json_decref(doc);
    if (rc != MCM_OK) return MCM_ERR;
    /* a clock running ahead on the writer must not stretch these */
    p->last_change_ms = scratch.last_change_ms < now_ms ? scratch.last_change_ms : now_ms;
    int64_t pause_cap = now_ms + p->cfg.operator_pause_ms;
    p->pause_until_ms = scratch.pause_until_ms < pause_cap ? scratch.pause_until_ms : pause_cap;
    memcpy(p->hist, scratch.hist, sizeof(p->hist[0]) * (size_t)scratch.nhist);
    p->nhist = scratch.nhist;
    p->hist_seq++;
    log_info("autoscale history loaded: %d decisions, last change %lld ms ago", p->nhist,
             p->last_change_ms ? (long long)(now_ms - p->last_change_ms) : -1LL);
    return MCM_OK;
}
