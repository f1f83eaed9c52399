/* trn_record.c -- the transition's record in ZooKeeper (`state/transition`),
 * and the checks every server named in it passes.
 *
 * Layout (version 1, compact JSON, written by the leader, fenced):
 *
 *   {"v":1,"id":<1..2^53>,"phase":"copy|catchup|cleanup|abort",
 *    "published_to":<bool: R' has been published>,
 *    "started_ms":<wall ms>,"phase_since_ms":<wall ms>,"deadline_ms":<wall ms>,
 *    "from":[{"task_id":"...","addr":"host:port"},...],   R, 1..TRN_SERVERS_MAX
 *    "to":[...],                                          R'
 *    "lost":["<task id>",...]}                            participants that ended
 *
 * Reading never trusts the content: every field is checked for type and range
 * (times within [0, year 9999], ids within what a JSON double holds exactly,
 * lists within TRN_SERVERS_MAX, no server twice, addresses that are
 * `host:port` with a port in 1..65535 and no control character, space or
 * separator a log line, a YAML pool or a config line would misread), and
 * `lost` names only participants. A record that fails any check is refused as
 * a whole; the caller then treats the ring as published (docs/architecture.md).
 *
 * Threads: any (pure). */
#include "trn_int.h"
#include "mcm.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECORD_VERSION 1
#define ID_LIMIT (1LL << 53)               /* exact in a JSON double */
#define TIME_LIMIT 253402300799999LL       /* 9999-12-31T23:59:59.999Z */

static int host_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '-' || c == '_';
}

/* "host:port": host of [A-Za-z0-9._-] or a bracketed IPv6 literal. */
int trn_addr_ok(const char *a) {
    const char *colon = strrchr(a, ':');
    if (!colon || colon == a) return 0;
    const char *h = a, *he = colon;
    if (*h == '[') {
        if (he[-1] != ']' || he - h < 3) return 0;
        for (const char *p = h + 1; p < he - 1; p++)
            if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F') ||
                  *p == ':' || *p == '.'))
                return 0;
    } else {
        for (const char *p = h; p < he; p++)
            if (!host_char(*p)) return 0;
    }
    long port = 0;
    const char *p = colon + 1;
    if (!*p || strlen(p) > 5) return 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9') return 0;
        port = port * 10 + (*p - '0');
    }
    return port >= 1 && port <= 65535;
}

int trn_task_id_ok(const char *id) {
    size_t n = strlen(id);
    if (n == 0 || n >= TRN_ID_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)id[i] <= 0x20 || (unsigned char)id[i] >= 0x7f || id[i] == '"' ||
            id[i] == '\\')
            return 0;
    return 1;
}

int trn_server_check(const trn_server *s, char *err, size_t errlen) {
    if (!memchr(s->task_id, 0, sizeof(s->task_id)) || !trn_task_id_ok(s->task_id)) {
        snprintf(err, errlen, "a task id must be 1..%d printable characters without spaces",
                 TRN_ID_MAX - 1);
        return MCM_ERR;
    }
    if (!memchr(s->addr, 0, sizeof(s->addr)) || !trn_addr_ok(s->addr)) {
        snprintf(err, errlen, "server %s: '%.64s' is not host:port", s->task_id,
                 memchr(s->addr, 0, sizeof(s->addr)) ? s->addr : "(too long)");
        return MCM_ERR;
    }
    return MCM_OK;
}

static int check_list(const trn_server *l, int n, const char *side, char *err, size_t errlen) {
    for (int i = 0; i < n; i++) {
        if (trn_server_check(&l[i], err, errlen) != MCM_OK) return MCM_ERR;
        for (int j = 0; j < i; j++)
            if (strcmp(l[i].task_id, l[j].task_id) == 0 || strcmp(l[i].addr, l[j].addr) == 0) {
                snprintf(err, errlen, "%s lists %s (%s) twice", side, l[i].task_id, l[i].addr);
                return MCM_ERR;
            }
    }
    return MCM_OK;
}

int trn_build_parts(trn *t, char *err, size_t errlen) {
    if (check_list(t->from, t->nfrom, "R", err, errlen) != MCM_OK ||
        check_list(t->to, t->nto, "R'", err, errlen) != MCM_OK)
        return MCM_ERR;
    t->parts = calloc((size_t)(t->nfrom + t->nto), sizeof(trn_part));
    if (!t->parts) {
        snprintf(err, errlen, "out of memory");
        return MCM_ERR;
    }
    int adds = 0;
    for (int i = 0; i < t->nfrom; i++) {
        trn_part *p = &t->parts[t->nparts++];
        p->s = t->from[i];
        p->in_from = p->alive = 1;
    }
    for (int i = 0; i < t->nto; i++) {
        trn_part *p = trn_find_part(t, t->to[i].task_id);
        if (p && strcmp(p->s.addr, t->to[i].addr) != 0) {
            snprintf(err, errlen, "task %s is %s in R and %s in R'", p->s.task_id, p->s.addr,
                     t->to[i].addr);
            return MCM_ERR;
        }
        for (int j = 0; !p && j < t->nparts; j++)
            if (strcmp(t->parts[j].s.addr, t->to[i].addr) == 0) {
                snprintf(err, errlen, "%s is task %s in R and %s in R'", t->to[i].addr,
                         t->parts[j].s.task_id, t->to[i].task_id);
                return MCM_ERR;
            }
        if (!p) {
            p = &t->parts[t->nparts++];
            p->s = t->to[i];
            p->alive = 1;
            adds++;
        }
        p->in_to = 1;
    }
    /* Adding a server moves keys from every server of R; removing one moves
     * only that server's keys (ketama: the others keep their points). */
    for (int i = 0; i < t->nparts; i++)
        t->parts[i].source = t->parts[i].in_from && (adds > 0 || !t->parts[i].in_to);
    return MCM_OK;
}

/* --- encoding --------------------------------------------------------------------- */

static json_t *list_json(const trn_server *l, int n) {
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_pack("{ssss}", "task_id", l[i].task_id, "addr",
                                                l[i].addr)) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

char *trn_record(const trn *t) {
    if (t->phase == TRN_IDLE) return NULL;
    json_t *lost = json_array();
    for (int i = 0; lost && i < t->nparts; i++)
        if (!t->parts[i].alive && json_array_append_new(lost, json_string(t->parts[i].s.task_id)))
            json_decref(lost), lost = NULL;
    json_t *doc = json_object();
    if (doc && lost) {
        json_object_set_new(doc, "v", json_integer(RECORD_VERSION));
        json_object_set_new(doc, "id", json_integer(t->id));
        json_object_set_new(doc, "phase", json_string(trn_phase_name(t->phase)));
        json_object_set_new(doc, "published_to", json_boolean(t->published_to));
        json_object_set_new(doc, "started_ms", json_integer(t->started_ms));
        json_object_set_new(doc, "phase_since_ms", json_integer(t->phase_since_ms));
        json_object_set_new(doc, "deadline_ms", json_integer(t->deadline_ms));
        json_object_set_new(doc, "from", list_json(t->from, t->nfrom));
        json_object_set_new(doc, "to", list_json(t->to, t->nto));
        json_object_set_new(doc, "lost", lost);
        lost = NULL;
    }
    char *s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    json_decref(lost);
    return s;
}

/* --- decoding --------------------------------------------------------------------- */

static int get_int(json_t *doc, const char *key, int64_t lo, int64_t hi, int64_t *out, char *err,
                   size_t errlen) {
    json_t *v = json_object_get(doc, key);
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        snprintf(err, errlen, "\"%s\" must be an integer in [%lld, %lld]", key, (long long)lo,
                 (long long)hi);
        return MCM_ERR;
    }
    *out = json_integer_value(v);
    return MCM_OK;
}

static int get_list(json_t *doc, const char *key, trn_server **out, int *n, char *err,
                    size_t errlen) {
    json_t *a = json_object_get(doc, key);
    if (!json_is_array(a) || json_array_size(a) < 1 || json_array_size(a) > TRN_SERVERS_MAX) {
        snprintf(err, errlen, "\"%s\" must list 1..%d servers", key, TRN_SERVERS_MAX);
        return MCM_ERR;
    }
    *n = (int)json_array_size(a);
    *out = calloc((size_t)*n, sizeof(trn_server));
    if (!*out) {
        snprintf(err, errlen, "out of memory");
        return MCM_ERR;
    }
    for (int i = 0; i < *n; i++) {
        json_t *e = json_array_get(a, (size_t)i);
        const char *id = json_string_value(json_object_get(e, "task_id"));
        const char *addr = json_string_value(json_object_get(e, "addr"));
        if (!id || !addr || strlen(id) >= TRN_ID_MAX || strlen(addr) >= TRN_ADDR_MAX) {
            snprintf(err, errlen, "\"%s\"[%d] needs string task_id and addr within bounds", key, i);
            return MCM_ERR;
        }
        snprintf((*out)[i].task_id, TRN_ID_MAX, "%s", id);
        snprintf((*out)[i].addr, TRN_ADDR_MAX, "%s", addr);
    }
    return MCM_OK;
}

static int get_phase(json_t *doc, trn_phase *out, char *err, size_t errlen) {
    const char *name = json_string_value(json_object_get(doc, "phase"));
    for (int p = TRN_COPY; name && p < TRN_PHASE_COUNT; p++)
        if (strcmp(name, trn_phase_name((trn_phase)p)) == 0) {
            *out = (trn_phase)p;
            return MCM_OK;
        }
    snprintf(err, errlen, "\"phase\" must be copy, catchup, cleanup or abort");
    return MCM_ERR;
}

static int get_lost(trn *t, json_t *doc, char *err, size_t errlen) {
    json_t *a = json_object_get(doc, "lost");
    if (!json_is_array(a)) {
        snprintf(err, errlen, "\"lost\" must be an array");
        return MCM_ERR;
    }
    for (size_t i = 0; i < json_array_size(a); i++) {
        const char *id = json_string_value(json_array_get(a, i));
        trn_part *p = id ? trn_find_part(t, id) : NULL;
        if (!p) {
            snprintf(err, errlen, "\"lost\"[%zu] is not a server of the transition", i);
            return MCM_ERR;
        }
        p->alive = 0;
    }
    if (json_array_size(a) > 0 && t->phase != TRN_ABORT) {
        snprintf(err, errlen, "servers were lost but the phase is %s, not abort",
                 trn_phase_name(t->phase));
        return MCM_ERR;
    }
    return MCM_OK;
}

static int decode(trn *t, json_t *doc, char *err, size_t errlen) {
    int64_t v;
    json_t *pub = json_object_get(doc, "published_to");
    if (!json_is_object(doc)) {
        snprintf(err, errlen, "the record is not a JSON object");
        return MCM_ERR;
    }
    if (get_int(doc, "v", RECORD_VERSION, RECORD_VERSION, &v, err, errlen) != MCM_OK ||
        get_int(doc, "id", 1, ID_LIMIT, &t->id, err, errlen) != MCM_OK ||
        get_phase(doc, &t->phase, err, errlen) != MCM_OK ||
        get_int(doc, "started_ms", 0, TIME_LIMIT, &t->started_ms, err, errlen) != MCM_OK ||
        get_int(doc, "phase_since_ms", 0, TIME_LIMIT, &t->phase_since_ms, err, errlen) != MCM_OK ||
        get_int(doc, "deadline_ms", 0, TIME_LIMIT, &t->deadline_ms, err, errlen) != MCM_OK ||
        get_list(doc, "from", &t->from, &t->nfrom, err, errlen) != MCM_OK ||
        get_list(doc, "to", &t->to, &t->nto, err, errlen) != MCM_OK)
        return MCM_ERR;
    if (!json_is_boolean(pub)) {
        snprintf(err, errlen, "\"published_to\" must be true or false");
        return MCM_ERR;
    }
    t->published_to = json_is_true(pub);
    if (t->published_to != (t->phase == TRN_CATCHUP || t->phase == TRN_CLEANUP) &&
        t->phase != TRN_ABORT) {
        snprintf(err, errlen, "\"published_to\" contradicts phase %s", trn_phase_name(t->phase));
        return MCM_ERR;
    }
    if (trn_build_parts(t, err, errlen) != MCM_OK) return MCM_ERR;
    return get_lost(t, doc, err, errlen);
}

int trn_load(trn *t, const char *json, size_t len, char *err, size_t errlen) {
    if (t->phase != TRN_IDLE) {
        snprintf(err, errlen, "a transition is already loaded");
        return MCM_ERR;
    }
    json_error_t je;
    json_t *doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!doc) {
        snprintf(err, errlen, "not JSON: %s", je.text);
        return MCM_ERR;
    }
    int rc = decode(t, doc, err, errlen);
    json_decref(doc);
    if (rc != MCM_OK) trn_reset(t);   /* idle again, whatever was half decoded */
    return rc;
}
