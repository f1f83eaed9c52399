/* trn_msg.c -- encoding and decoding of the transition's framework messages
 * (layout in trn_msg.h).
 *
 * Why JSON: the executors' reports already are JSON in the same channel, the
 * messages are small (a ring of 1,000 servers is about 25 KB) and rare (a few
 * per second during a transition), and an operator can read them in a log.
 * Decoding never trusts the sender: an executor runs on an agent, a command
 * comes through the master.
 *
 * Threads: any; pure. */
#include "trn_msg.h"
#include "trn_int.h"
#include "mcm.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const cmd_kinds[] = {"copy", "catchup", "cleanup", "stop", "drop", "purge"};

static int cmd_parse(const char *name) {
    for (int i = 0; name && i < (int)MCM_ARRAY_LEN(cmd_kinds); i++)
        if (strcmp(name, cmd_kinds[i]) == 0) return TRN_CMD_COPY + i;
    return -1;
}

/* Dumps doc (taking it) if it fits TRN_MSG_MAX. */
static char *dump(json_t *doc) {
    char *s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (s && strlen(s) > TRN_MSG_MAX) {
        free(s);
        return NULL;
    }
    return s;
}

char *trn_msg_encode_cmd(const trn_cmd *c) {
    json_t *ring = json_array();
    for (int i = 0; ring && i < c->nring; i++)
        if (json_array_append_new(ring, json_string(c->ring[i])) != 0) json_decref(ring), ring = NULL;
    if (!ring) return NULL;
    json_t *doc = json_pack("{si ss sI ss ss so}", "v", 1, "type", TRN_MSG_TYPE_CMD, "id",
                            (json_int_t)c->id, "cmd", trn_cmd_name(c->kind), "self", c->self,
                            "ring", ring);
    if (doc && c->kind == TRN_CMD_DROP) json_object_set_new(doc, "owner", json_string(c->owner));
    if (doc && c->kind == TRN_CMD_COPY) {
        json_object_set_new(doc, "rate", json_integer(c->rate_bytes));
        json_object_set_new(doc, "budget_ms", json_integer(c->budget_ms));
    }
    return dump(doc);
}

char *trn_msg_encode_progress(const trn_progress *p) {
    json_t *doc = json_pack("{si ss ss sI ss sb sb ss}", "v", 1, "type", TRN_MSG_TYPE_PROGRESS,
                            "task_id", p->task_id, "id", (json_int_t)p->id, "cmd",
                            trn_cmd_name(p->cmd), "done", p->done, "unsupported", p->unsupported,
                            "error", p->error);
    const struct { const char *k; uint64_t v; } n[] = {
        {"keys_copied", p->keys_copied}, {"bytes_copied", p->bytes_copied},
        {"keys_total", p->keys_total},   {"keys_left", p->keys_left},
        {"keys_deleted", p->keys_deleted}, {"errors", p->errors},
    };
    for (size_t i = 0; doc && i < MCM_ARRAY_LEN(n); i++)
        json_object_set_new(doc, n[i].k, json_integer(n[i].v > INT64_MAX ? INT64_MAX : (json_int_t)n[i].v));
    return dump(doc);
}

static json_t *load(const char *buf, size_t len, char *err, size_t errlen) {
    json_error_t je;
    if (len > TRN_MSG_MAX) {
        snprintf(err, errlen, "message of %zu bytes is over %d", len, TRN_MSG_MAX);
        return NULL;
    }
    json_t *doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!doc) snprintf(err, errlen, "not JSON: %s", je.text);
    else if (!json_is_object(doc)) {
        snprintf(err, errlen, "not a JSON object");
        json_decref(doc);
        doc = NULL;
    }
    return doc;
}

trn_msg_kind trn_msg_kind_of(const char *buf, size_t len) {
    char err[64];
    json_t *doc = load(buf, len, err, sizeof(err));
    const char *type = json_string_value(json_object_get(doc, "type"));
    trn_msg_kind k = TRN_MSG_OTHER;
    if (type && strcmp(type, TRN_MSG_TYPE_CMD) == 0) k = TRN_MSG_CMD;
    else if (type && strcmp(type, TRN_MSG_TYPE_PROGRESS) == 0) k = TRN_MSG_PROGRESS;
    json_decref(doc);
    return k;
}

/* Version, type, id and cmd: common to both messages. */
static int head(json_t *doc, const char *type, int64_t *id, int *cmd, char *err, size_t errlen) {
    json_t *v = json_object_get(doc, "v"), *i = json_object_get(doc, "id");
    const char *t = json_string_value(json_object_get(doc, "type"));
    if (!json_is_integer(v) || json_integer_value(v) < 1 || !t || strcmp(t, type) != 0) {
        snprintf(err, errlen, "not a %s message of version >= 1", type);
        return MCM_ERR;
    }
    if (!json_is_integer(i) || json_integer_value(i) < 1) {
        snprintf(err, errlen, "\"id\" must be a positive integer");
        return MCM_ERR;
    }
    *id = json_integer_value(i);
    if ((*cmd = cmd_parse(json_string_value(json_object_get(doc, "cmd")))) < 0) {
        snprintf(err, errlen, "\"cmd\" must be one of copy, catchup, cleanup, stop, drop, purge");
        return MCM_ERR;
    }
    return MCM_OK;
}

static int get_addr(json_t *doc, const char *key, char *out, char *err, size_t errlen) {
    const char *s = json_string_value(json_object_get(doc, key));
    if (!s || strlen(s) >= TRN_ADDR_MAX || !trn_addr_ok(s)) {
        snprintf(err, errlen, "\"%s\" must be host:port", key);
        return MCM_ERR;
    }
    snprintf(out, TRN_ADDR_MAX, "%s", s);
    return MCM_OK;
}

static int get_count(json_t *doc, const char *key, int64_t *out, char *err, size_t errlen) {
    json_t *v = json_object_get(doc, key);
    if (!v) return MCM_OK;   /* optional: 0 */
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        snprintf(err, errlen, "\"%s\" must be an integer >= 0", key);
        return MCM_ERR;
    }
    *out = json_integer_value(v);
    return MCM_OK;
}

static int get_ring(json_t *doc, trn_msg_cmd *m, char *err, size_t errlen) {
    json_t *a = json_object_get(doc, "ring");
    if (!json_is_array(a) || json_array_size(a) > TRN_SERVERS_MAX) {
        snprintf(err, errlen, "\"ring\" must list at most %d servers", TRN_SERVERS_MAX);
        return MCM_ERR;
    }
    size_t n = json_array_size(a);
    m->names = calloc(n ? n : 1, sizeof(char *));
    if (!m->names) {
        snprintf(err, errlen, "out of memory");
        return MCM_ERR;
    }
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(a, i));
        if (!s || strlen(s) >= TRN_ADDR_MAX || !trn_addr_ok(s)) {
            snprintf(err, errlen, "\"ring\"[%zu] is not host:port", i);
            return MCM_ERR;
        }
        if (!(m->names[m->nnames] = strdup(s))) {
            snprintf(err, errlen, "out of memory");
            return MCM_ERR;
        }
        m->nnames++;
    }
    m->cmd.ring = (const char *const *)m->names;
    m->cmd.nring = m->nnames;
    return MCM_OK;
}

static int decode_cmd(json_t *doc, trn_msg_cmd *m, char *err, size_t errlen) {
    int kind;
    if (head(doc, TRN_MSG_TYPE_CMD, &m->cmd.id, &kind, err, errlen) != MCM_OK ||
        get_addr(doc, "self", m->cmd.self, err, errlen) != MCM_OK ||
        get_ring(doc, m, err, errlen) != MCM_OK)
        return MCM_ERR;
    m->cmd.kind = (trn_cmd_kind)kind;
    if (kind == TRN_CMD_DROP && get_addr(doc, "owner", m->cmd.owner, err, errlen) != MCM_OK)
        return MCM_ERR;
    if (kind != TRN_CMD_STOP && m->cmd.nring == 0) {
        snprintf(err, errlen, "\"ring\" is empty");
        return MCM_ERR;
    }
    return get_count(doc, "rate", &m->cmd.rate_bytes, err, errlen) == MCM_OK &&
                   get_count(doc, "budget_ms", &m->cmd.budget_ms, err, errlen) == MCM_OK
               ? MCM_OK
               : MCM_ERR;
}

int trn_msg_decode_cmd(const char *buf, size_t len, trn_msg_cmd *out, char *err, size_t errlen) {
    memset(out, 0, sizeof(*out));
    json_t *doc = load(buf, len, err, errlen);
    if (!doc) return MCM_ERR;
    int rc = decode_cmd(doc, out, err, errlen);
    json_decref(doc);
    if (rc != MCM_OK) trn_msg_cmd_free(out);
    return rc;
}

void trn_msg_cmd_free(trn_msg_cmd *m) {
    if (!m) return;
    for (int i = 0; i < m->nnames; i++) free(m->names[i]);
    free(m->names);
    memset(m, 0, sizeof(*m));
}

static int decode_progress(json_t *doc, trn_progress *p, char *err, size_t errlen) {
    int kind;
    if (head(doc, TRN_MSG_TYPE_PROGRESS, &p->id, &kind, err, errlen) != MCM_OK) return MCM_ERR;
    p->cmd = (trn_cmd_kind)kind;
    const char *task = json_string_value(json_object_get(doc, "task_id"));
    const char *e = json_string_value(json_object_get(doc, "error"));
    if (!task || !trn_task_id_ok(task)) {
        snprintf(err, errlen, "\"task_id\" must be a task id");
        return MCM_ERR;
    }
    snprintf(p->task_id, sizeof(p->task_id), "%s", task);
    if (e) snprintf(p->error, sizeof(p->error), "%s", e);
    for (char *c = p->error; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = ' ';   /* it goes into log lines */
    p->done = json_is_true(json_object_get(doc, "done"));
    p->unsupported = json_is_true(json_object_get(doc, "unsupported"));
    struct { const char *k; uint64_t *v; } n[] = {
        {"keys_copied", &p->keys_copied}, {"bytes_copied", &p->bytes_copied},
        {"keys_total", &p->keys_total},   {"keys_left", &p->keys_left},
        {"keys_deleted", &p->keys_deleted}, {"errors", &p->errors},
    };
    for (size_t i = 0; i < MCM_ARRAY_LEN(n); i++) {
        int64_t v = 0;
        if (get_count(doc, n[i].k, &v, err, errlen) != MCM_OK) return MCM_ERR;
        *n[i].v = (uint64_t)v;
    }
    return MCM_OK;
}

int trn_msg_decode_progress(const char *buf, size_t len, trn_progress *out, char *err,
                            size_t errlen) {
    memset(out, 0, sizeof(*out));
    json_t *doc = load(buf, len, err, errlen);
    if (!doc) return MCM_ERR;
    int rc = decode_progress(doc, out, err, errlen);
    json_decref(doc);
    if (rc != MCM_OK) memset(out, 0, sizeof(*out));
    return rc;
}
