/* mig_msg.c -- encode/decode the migrate command and progress messages (see
 * mig_msg.h).
 *
 * Shape: jansson both ways (the ring is a list of strings of any length up
 * to the bound, so a fixed snprintf does not fit); strict types on decode;
 * fields looked up by name, never by position.
 * Threads: any. Invariant: a decoded command has 1..MIG_MSG_RING_MAX
 * distinct "host:port" names, each shorter than MIG_MSG_ADDR_MAX. */
#include "mig_msg.h"
#include "mig_conn.h"
#include "mcm.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const CMD_PHASES[] = {
    [MIG_CMD_COPY] = "copy", [MIG_CMD_CATCHUP] = "catchup", [MIG_CMD_CLEANUP] = "cleanup",
    [MIG_CMD_PURGE] = "purge", [MIG_CMD_ABORT] = "abort",
};

const char *mig_cmd_phase_name(mig_cmd_phase p) {
    return (unsigned)p < MCM_ARRAY_LEN(CMD_PHASES) && CMD_PHASES[p] ? CMD_PHASES[p] : "?";
}

static int phase_parse(const char *s) {
    for (size_t i = 1; i < MCM_ARRAY_LEN(CMD_PHASES); i++)
        if (!strcmp(s, CMD_PHASES[i])) return (int)i;
    return -1;
}

/* A JSON text has a member named "type" only if the bytes "type" occur in
 * it, spelled out or with an escape; a report (report.h) has neither, so the
 * common case -- 200 reports a second at N = 1,000 -- is told apart without
 * a parse, and only a text that could be a migrate message is parsed. */
static int could_have_type(const void *buf, size_t len) {
    return memmem(buf, len, "type", 4) || memchr(buf, '\\', len);
}

mig_msg_kind mig_msg_type(const void *buf, size_t len) {
    if (len > MIG_MSG_MAX_BYTES || !could_have_type(buf, len)) return MIG_MSG_OTHER;
    json_t *doc = json_loadb(buf, len, 0, NULL);
    const char *t = json_string_value(json_object_get(doc, "type"));
    mig_msg_kind k = !t ? MIG_MSG_OTHER
                   : !strcmp(t, "migrate") ? MIG_MSG_COMMAND
                   : !strcmp(t, "migrate_progress") ? MIG_MSG_PROGRESS : MIG_MSG_OTHER;
    json_decref(doc);
    return k;
}

static int valid_addr(const char *s) {
    char host[MIG_MSG_ADDR_MAX];
    int port;
    if (strlen(s) >= MIG_MSG_ADDR_MAX) return 0;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == '"' || *p == '\\' || (unsigned char)*p == 0x7f) return 0;
    return mig_addr_split(s, host, sizeof(host), &port) == MCM_OK;
}

int mig_cmd_self_index(const mig_cmd *c) {
    for (int i = 0; i < c->nring; i++)
        if (!strcmp(c->ring[i], c->self)) return i;
    return -1;
}

static void list_free(char ***l, int *n) {
    for (int i = 0; *l && i < *n; i++) free((*l)[i]);
    free(*l);
    *l = NULL;
    *n = 0;
}

void mig_cmd_clear(mig_cmd *c) {
    if (!c) return;
    list_free(&c->ring, &c->nring);
    list_free(&c->from, &c->nfrom);
    list_free(&c->to, &c->nto);
    list_free(&c->lost, &c->nlost);
}

/* The JSON array of a list (NULL if a name is not host:port). */
static json_t *list_json(char *const *l, int n) {
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++)
        if (!valid_addr(l[i]) || json_array_append_new(a, json_string(l[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

char *mig_ring_json(char *const *ring, int n) {
    if (n < 1 || n > MIG_MSG_RING_MAX) return NULL;
    json_t *a = list_json(ring, n);
    char *s = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    return s;
}

/* The command without its ring, as a JSON object (NULL: out of bounds). */
static json_t *cmd_doc(const mig_cmd *c) {
    if (c->id < 1 || c->nring < 1 || c->nring > MIG_MSG_RING_MAX || !valid_addr(c->self) ||
        phase_parse(mig_cmd_phase_name(c->phase)) < 0)
        return NULL;
    json_t *doc = json_pack("{s:i, s:s, s:I, s:s, s:s, s:I, s:I}", "v", MIG_MSG_VERSION, "type", "migrate",
                            "id", (json_int_t)c->id, "phase", mig_cmd_phase_name(c->phase), "self", c->self,
                            "rate", (json_int_t)c->rate, "budget_ms", (json_int_t)c->budget_ms);
    if (doc && c->phase == MIG_CMD_PURGE && (c->nfrom || c->nto || c->nlost)) {
        json_t *from = list_json(c->from, c->nfrom), *to = list_json(c->to, c->nto);
        json_t *lost = list_json(c->lost, c->nlost);
        if (!from || !to || !lost || c->nfrom > MIG_MSG_RING_MAX || c->nto > MIG_MSG_RING_MAX ||
            c->nlost > MIG_MSG_RING_MAX) {
            json_decref(from), json_decref(to), json_decref(lost), json_decref(doc);
            return NULL;
        }
        json_object_set_new(doc, "from", from);
        json_object_set_new(doc, "to", to);
        json_object_set_new(doc, "lost", lost);
    }
    return doc;
}

/* The object's text with ,"ring":<ring_json> spliced in before its last
 * brace: a valid object, since cmd_doc always has members. */
char *mig_cmd_encode_ring(const mig_cmd *c, const char *ring_json) {
    json_t *doc = ring_json ? cmd_doc(c) : NULL;
    char *head = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    size_t hl = head ? strlen(head) : 0, rl = ring_json ? strlen(ring_json) : 0;
    char *s = hl >= 2 ? malloc(hl + rl + sizeof(",\"ring\":")) : NULL;
    if (s) {
        memcpy(s, head, hl - 1);
        memcpy(s + hl - 1, ",\"ring\":", 8);
        memcpy(s + hl + 7, ring_json, rl);
        memcpy(s + hl + 7 + rl, "}", 2);
    }
    free(head);
    return s;
}

char *mig_cmd_encode(const mig_cmd *c) {
    char *ring = mig_ring_json(c->ring, c->nring);
    char *s = ring ? mig_cmd_encode_ring(c, ring) : NULL;
    free(ring);
    return s;
}

static int get_int(json_t *doc, const char *key, int64_t min, int64_t *out, char *err, size_t errlen) {
    json_t *v = json_object_get(doc, key);
    if (!json_is_integer(v) || json_integer_value(v) < min) {
        snprintf(err, errlen, "field '%s' missing or not an integer >= %lld", key, (long long)min);
        return MCM_ERR;
    }
    *out = json_integer_value(v);
    return MCM_OK;
}

/* A list of distinct "host:port" names: `ring` (1..MIG_MSG_RING_MAX) or
 * the purge's optional `from`, `to` and `lost` (absent = empty). */
static int decode_list(json_t *doc, const char *key, int required, char ***out, int *nout, char *err,
                       size_t errlen) {
    json_t *list = json_object_get(doc, key);
    if (!list && !required) return MCM_OK;
    size_t n = json_array_size(list);
    if (!json_is_array(list) || n < (required ? 1u : 0u) || n > MIG_MSG_RING_MAX) {
        snprintf(err, errlen, "'%s' must list %d to %d servers", key, required, MIG_MSG_RING_MAX);
        return MCM_ERR;
    }
    if (!(*out = calloc(n ? n : 1, sizeof(**out)))) {
        snprintf(err, errlen, "out of memory");
        return MCM_ERR;
    }
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(list, i));
        if (!s || !valid_addr(s)) {
            snprintf(err, errlen, "%s entry %zu is not host:port", key, i);
            return MCM_ERR;
        }
        for (size_t j = 0; j < i; j++)
            if (!strcmp((*out)[j], s)) {
                snprintf(err, errlen, "%s lists %.80s twice", key, s);
                return MCM_ERR;
            }
        if (!((*out)[i] = strdup(s))) {
            snprintf(err, errlen, "out of memory");
            return MCM_ERR;
        }
        *nout = (int)i + 1;
    }
    return MCM_OK;
}

static int decode_cmd_fields(json_t *doc, mig_cmd *out, char *err, size_t errlen) {
    int64_t v, rate;
    const char *phase = json_string_value(json_object_get(doc, "phase"));
    const char *self = json_string_value(json_object_get(doc, "self"));
    if (get_int(doc, "v", 1, &v, err, errlen) != MCM_OK || get_int(doc, "id", 1, &out->id, err, errlen) != MCM_OK ||
        get_int(doc, "rate", 0, &rate, err, errlen) != MCM_OK ||
        get_int(doc, "budget_ms", 0, &out->budget_ms, err, errlen) != MCM_OK)
        return MCM_ERR;
    out->rate = (uint64_t)rate;
    int p = phase ? phase_parse(phase) : -1;
    if (p < 0) {
        snprintf(err, errlen, "unknown phase '%.40s'", phase ? phase : "(none)");
        return MCM_ERR;
    }
    out->phase = (mig_cmd_phase)p;
    if (!self || !valid_addr(self)) {
        snprintf(err, errlen, "'self' missing or not host:port");
        return MCM_ERR;
    }
    snprintf(out->self, sizeof(out->self), "%s", self);
    if (decode_list(doc, "ring", 1, &out->ring, &out->nring, err, errlen) != MCM_OK) return MCM_ERR;
    if (out->phase != MIG_CMD_PURGE) return MCM_OK;
    return decode_list(doc, "from", 0, &out->from, &out->nfrom, err, errlen) == MCM_OK &&
                   decode_list(doc, "to", 0, &out->to, &out->nto, err, errlen) == MCM_OK &&
                   decode_list(doc, "lost", 0, &out->lost, &out->nlost, err, errlen) == MCM_OK
               ? MCM_OK
               : MCM_ERR;
}

/* The JSON object of a message of `type` (caller decrefs), or NULL with err. */
static json_t *load_typed(const void *buf, size_t len, size_t max, const char *type, char *err, size_t errlen) {
    if (len > max) {
        snprintf(err, errlen, "%s message of %zu bytes is over the %zu byte limit", type, len, max);
        return NULL;
    }
    json_error_t je;
    json_t *doc = json_loadb(buf, len, 0, &je);
    const char *t = json_string_value(json_object_get(doc, "type"));
    if (!json_is_object(doc)) snprintf(err, errlen, "%s message is not a JSON object: %s", type, doc ? "wrong type" : je.text);
    else if (!t || strcmp(t, type)) snprintf(err, errlen, "not a %s message", type);
    else return doc;
    json_decref(doc);
    return NULL;
}

int mig_cmd_decode(const void *buf, size_t len, mig_cmd *out, char *err, size_t errlen) {
    memset(out, 0, sizeof(*out));
    json_t *doc = load_typed(buf, len, MIG_MSG_MAX_BYTES, "migrate", err, errlen);
    int rc = doc ? decode_cmd_fields(doc, out, err, errlen) : MCM_ERR;
    json_decref(doc);
    if (rc != MCM_OK) mig_cmd_clear(out);
    return rc;
}

/* --- progress ------------------------------------------------------------------- */

#define COUNTERS(X) X(keys_seen) X(keys_total) X(keys_copied) X(bytes_copied) X(keys_remaining) \
    X(bytes_remaining) X(keys_skipped) X(errors) X(invalidated) X(recopied) X(kept) X(deleted)

static int valid_task_id(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n >= MIG_MSG_TASK_ID_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '"' || s[i] == '\\' || (unsigned char)s[i] < 0x20) return 0;
    return 1;
}

int mig_progress_encode(const mig_msg_progress *m, char *buf, size_t len) {
    if (!valid_task_id(m->task_id)) return -1;
    json_t *doc = json_pack("{s:i, s:s, s:s, s:I, s:s, s:b, s:b, s:s, s:I, s:I}", "v", MIG_MSG_VERSION,
                            "type", "migrate_progress", "task_id", m->task_id, "id", (json_int_t)m->id, "phase",
                            mig_cmd_phase_name(m->phase), "done", m->done, "unsupported", m->unsupported, "error",
                            m->error, "elapsed_ms", (json_int_t)m->p.elapsed_ms, "eta_ms", (json_int_t)m->p.eta_ms);
#define SET(f) if (doc) json_object_set_new(doc, #f, json_integer((json_int_t)m->p.f));
    COUNTERS(SET)
#undef SET
    char *s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    size_t n = s ? strlen(s) : 0;
    int rc = s && n < len && n <= MIG_MSG_PROGRESS_MAX ? (int)n : -1;
    if (rc >= 0) memcpy(buf, s, n + 1);
    free(s);
    return rc;
}

static int get_counter(json_t *doc, const char *key, uint64_t *out, char *err, size_t errlen) {
    int64_t v;
    if (get_int(doc, key, 0, &v, err, errlen) != MCM_OK) return MCM_ERR;
    *out = (uint64_t)v;
    return MCM_OK;
}

static int decode_progress_fields(json_t *doc, mig_msg_progress *out, char *err, size_t errlen) {
    int64_t v;
    const char *task = json_string_value(json_object_get(doc, "task_id"));
    const char *phase = json_string_value(json_object_get(doc, "phase"));
    const char *error = json_string_value(json_object_get(doc, "error"));
    json_t *done = json_object_get(doc, "done"), *eta = json_object_get(doc, "eta_ms");
    if (get_int(doc, "v", 1, &v, err, errlen) != MCM_OK || get_int(doc, "id", 1, &out->id, err, errlen) != MCM_OK ||
        get_int(doc, "elapsed_ms", 0, &out->p.elapsed_ms, err, errlen) != MCM_OK)
        return MCM_ERR;
#define GET(f) if (get_counter(doc, #f, &out->p.f, err, errlen) != MCM_OK) return MCM_ERR;
    COUNTERS(GET)
#undef GET
    int p = phase ? phase_parse(phase) : -1;
    if (!task || !valid_task_id(task) || p < 0 || !json_is_boolean(done) || !json_is_integer(eta) || !error) {
        snprintf(err, errlen, "progress lacks a valid task_id, phase, done, eta_ms or error");
        return MCM_ERR;
    }
    snprintf(out->task_id, sizeof(out->task_id), "%s", task);
    snprintf(out->error, sizeof(out->error), "%s", error);
    out->phase = (mig_cmd_phase)p;
    out->done = json_is_true(done);
    out->unsupported = json_is_true(json_object_get(doc, "unsupported"));
    out->p.eta_ms = json_integer_value(eta);
    return MCM_OK;
}

int mig_progress_decode(const void *buf, size_t len, mig_msg_progress *out, char *err, size_t errlen) {
    memset(out, 0, sizeof(*out));
    json_t *doc = load_typed(buf, len, MIG_MSG_PROGRESS_MAX, "migrate_progress", err, errlen);
    int rc = doc ? decode_progress_fields(doc, out, err, errlen) : MCM_ERR;
    json_decref(doc);
    return rc;
}
