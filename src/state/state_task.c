/* state_task.c -- the task record's JSON form (the content of state/tasks/<id>).
 *
 *   {"task_id":"mcm-...","agent_id":"...-S0","hostname":"10.0.0.5","port":31000,
 *    "state":"TASK_RUNNING","changed":"2026-11-25T05:47:00.123Z",
 *    "changed_ms":1795585620123,"cpus":0.5,"mem_mb":1024,"reason":"...",
 *    "drain_until_ms":1795585650123,          <- only while the server drains
 *    "attributes":"rack:r1;tier:cache",       <- only if the agent has any
 *    "region":"us-east","zone":"us-east-1a"}  <- only if the agent has a fault domain
 *
 * The agent's attributes and fault domain are stored so that a new leader
 * still knows where its servers run (zone spread, constraints on a step
 * down) before any offer came; records written before they existed load
 * with none (a missing key is "", as an agent without attributes).
 *
 * Why: one record per znode keeps each write small and lets a new leader read
 * the task set with one getChildren. The state is stored by name, not number,
 * so the record reads the same to a person and survives enum renumbering.
 * The decoder is strict about types and ranges (a bad record is skipped by
 * state_load, never half-used); unknown keys are ignored for forward
 * compatibility. One set of field rules (state_task_check) holds for writing and
 * reading: numbers within what mcm writes (times up to STATE_TIME_MAX_MS, so
 * clock arithmetic on them cannot overflow), IDs znode-safe, host names
 * safe in a log line, JSON, YAML and a twemproxy "host:port:weight" line
 * (no ':', separators or control characters); the reason is free text from
 * Mesos, so its control characters are repaired (made spaces), not refused.
 * Threads: any (no shared state). */
#include "mcm.h"
#include "state_int.h"
#include "task_state.h"
#include "util.h"

#define STATE_CPUS_MAX 1e6           /* launched resources: far above any agent */
#define STATE_MEM_MB_MAX 1e12

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int state_valid_id(const char *id) {
    size_t n = strlen(id);
    if (n == 0 || n >= STATE_ID_MAX || !strcmp(id, ".") || !strcmp(id, "..")) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-'))
            return 0;
    }
    return 1;
}

int state_valid_hostname(const char *h) {
    size_t n = strlen(h);
    if (n == 0 || n > SRVLIST_HOST_MAX || !isalnum((unsigned char)h[0])) return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)h[i]) && h[i] != '.' && h[i] != '-' && h[i] != '_') return 0;
    return 1;
}

/* Free text (a Mesos status message) made safe for one log line: control
 * characters become spaces. */
static void repair_text(char *s) {
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) *s = ' ';
}

/* Placement text (attributes, region, zone): printable ASCII only, so a
 * log line or a JSON reader sees what the agent said. */
static int placement_text_ok(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e) return 0;
    return 1;
}

/* The rules every stored record obeys, checked before writing and after
 * reading: what mcm would not write is refused when read back. The error
 * names the field. */
int state_task_check(const state_task *t, char *err, size_t errlen) {
    const char *bad = NULL;
    if (!state_valid_id(t->id)) bad = "task_id";
    else if (t->agent_id[0] && !state_valid_id(t->agent_id)) bad = "agent_id";
    else if (t->hostname[0] && !state_valid_hostname(t->hostname)) bad = "hostname";
    else if (t->port < 1 || t->port > 65535) bad = "port";
    else if (t->changed_ms < 0 || t->changed_ms > STATE_TIME_MAX_MS) bad = "changed_ms";
    else if (t->drain_until_ms < 0 || t->drain_until_ms > STATE_TIME_MAX_MS) bad = "drain_until_ms";
    else if (!(t->cpus >= 0 && t->cpus <= STATE_CPUS_MAX)) bad = "cpus";
    else if (!(t->mem_mb >= 0 && t->mem_mb <= STATE_MEM_MB_MAX)) bad = "mem_mb";
    else if (!task_state_name(t->state)) bad = "state";
    else if (!placement_text_ok(t->attrs)) bad = "attributes";
    else if (!placement_text_ok(t->region) || !t->region[0] != !t->zone[0]) bad = "region";
    else if (!placement_text_ok(t->zone)) bad = "zone";
    if (!bad) return MCM_OK;
    snprintf(err, errlen, "\"%s\" is out of range or holds characters a task record cannot have", bad);
    return MCM_ERR;
}

char *state_task_to_json(const state_task *t) {
    const char *name = task_state_name(t->state);
    char changed[40], why[128];
    if (!name || state_task_check(t, why, sizeof(why)) != MCM_OK) return NULL;
    state_task c = *t;
    repair_text(c.reason);
    t = &c;
    util_rfc3339(t->changed_ms, changed, sizeof(changed));
    json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:I, s:f, s:f, s:s}",
                          "task_id", t->id, "agent_id", t->agent_id, "hostname", t->hostname,
                          "port", t->port, "state", name,
                          "changed", changed, "changed_ms", (json_int_t)t->changed_ms,
                          "cpus", t->cpus, "mem_mb", t->mem_mb, "reason", t->reason);
    if (o && t->drain_until_ms > 0) json_object_set_new(o, "drain_until_ms", json_integer(t->drain_until_ms));
    if (o && t->attrs[0]) json_object_set_new(o, "attributes", json_string(t->attrs));
    if (o && t->zone[0]) {
        json_object_set_new(o, "region", json_string(t->region));
        json_object_set_new(o, "zone", json_string(t->zone));
    }
    if (!o) return NULL;
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

/* Copies string member key into dst (size cap); MCM_ERR with err if missing,
 * not a string or too long. */
static int get_str(json_t *o, const char *key, char *dst, size_t cap, int nonempty, char *err, size_t errlen) {
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v)) {
        snprintf(err, errlen, "\"%s\" missing or not a string", key);
        return MCM_ERR;
    }
    size_t n = json_string_length(v);
    if (n >= cap || (nonempty && n == 0) || strlen(json_string_value(v)) != n) {
        snprintf(err, errlen, "\"%s\" is %s", key, n >= cap ? "too long" : "empty or holds NUL");
        return MCM_ERR;
    }
    memcpy(dst, json_string_value(v), n + 1);
    return MCM_OK;
}

/* An optional string member: "" if absent; MCM_ERR if present but not a
 * string or too long. */
static int get_opt_str(json_t *o, const char *key, char *dst, size_t cap, char *err, size_t errlen) {
    dst[0] = '\0';
    return json_object_get(o, key) ? get_str(o, key, dst, cap, 1, err, errlen) : MCM_OK;
}

static int get_num(json_t *o, const char *key, double lo, double hi, double *out, char *err, size_t errlen) {
    json_t *v = json_object_get(o, key);
    if (!json_is_number(v) || json_number_value(v) < lo || json_number_value(v) > hi) {
        snprintf(err, errlen, "\"%s\" missing, not a number or out of range", key);
        return MCM_ERR;
    }
    *out = json_number_value(v);
    return MCM_OK;
}

static int decode(json_t *o, state_task *t, char *err, size_t errlen) {
    char name[32];
    double port, cpus, mem;
    json_t *ms = json_object_get(o, "changed_ms");
    if (!json_is_object(o)) {
        snprintf(err, errlen, "not a JSON object");
        return MCM_ERR;
    }
    if (get_str(o, "task_id", t->id, sizeof(t->id), 1, err, errlen) ||
        get_str(o, "agent_id", t->agent_id, sizeof(t->agent_id), 0, err, errlen) ||
        get_str(o, "hostname", t->hostname, sizeof(t->hostname), 0, err, errlen) ||
        get_str(o, "state", name, sizeof(name), 1, err, errlen) ||
        get_str(o, "reason", t->reason, sizeof(t->reason), 0, err, errlen) ||
        get_num(o, "port", 1, 65535, &port, err, errlen) ||
        get_num(o, "cpus", 0, STATE_CPUS_MAX, &cpus, err, errlen) ||
        get_num(o, "mem_mb", 0, STATE_MEM_MB_MAX, &mem, err, errlen) ||
        get_opt_str(o, "attributes", t->attrs, sizeof(t->attrs), err, errlen) ||
        get_opt_str(o, "region", t->region, sizeof(t->region), err, errlen) ||
        get_opt_str(o, "zone", t->zone, sizeof(t->zone), err, errlen))
        return MCM_ERR;
    repair_text(t->reason);
    if (!state_valid_id(t->id)) {
        snprintf(err, errlen, "\"task_id\" \"%s\" is not a valid task ID", t->id);
        return MCM_ERR;
    }
    if ((t->state = task_state_from_name(name)) < 0) {
        snprintf(err, errlen, "\"state\" \"%s\" is not a Mesos task state", name);
        return MCM_ERR;
    }
    if (!json_is_integer(ms) || json_integer_value(ms) < 0 || port != (int)port) {
        snprintf(err, errlen, "\"changed_ms\" or \"port\" is not a non-negative integer");
        return MCM_ERR;
    }
    json_t *drain = json_object_get(o, "drain_until_ms");   /* optional */
    if (drain && (!json_is_integer(drain) || json_integer_value(drain) < 0)) {
        snprintf(err, errlen, "\"drain_until_ms\" is not a non-negative integer");
        return MCM_ERR;
    }
    t->drain_until_ms = drain ? (int64_t)json_integer_value(drain) : 0;
    t->changed_ms = (int64_t)json_integer_value(ms);
    t->port = (int)port;
    t->cpus = cpus;
    t->mem_mb = mem;
    return state_task_check(t, err, errlen);
}

int state_task_from_json(const char *buf, size_t len, state_task *out, char *err, size_t errlen) {
    json_error_t je;
    json_t *o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!o) {
        snprintf(err, errlen, "not JSON: %s (line %d)", je.text, je.line);
        return MCM_ERR;
    }
    state_task t;
    memset(&t, 0, sizeof(t));
    int rc = decode(o, &t, err, errlen);
    json_decref(o);
    if (rc == MCM_OK) *out = t;
    return rc;
}
