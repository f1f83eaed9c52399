/* report.c -- encode/decode the executor's utilisation report (see report.h).
 * Shape: snprintf to encode (fixed field set, no allocation), jansson to
 * decode with strict types. Threads: any. */
#include "report.h"
#include "mcm.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

static int valid_task_id(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof(((report *)0)->task_id)) return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '"' || s[i] == '\\' || (unsigned char)s[i] < 0x20) return 0;
    return 1;
}

int report_encode(const report *r, char *buf, size_t len) {
    if (!valid_task_id(r->task_id)) return -1;
    int n = snprintf(buf, len,
                     "{\"v\":%d,\"task_id\":\"%s\",\"time_ms\":%" PRId64 ",\"bytes\":%" PRIu64
                     ",\"limit_maxbytes\":%" PRIu64 ",\"evictions\":%" PRIu64 ",\"get_hits\":%" PRIu64
                     ",\"get_misses\":%" PRIu64 ",\"curr_connections\":%" PRIu64
                     ",\"total_items\":%" PRIu64 ",\"cpu_seconds\":%.3f,\"uptime\":%" PRId64 "}",
                     REPORT_VERSION, r->task_id, r->time_ms, r->bytes, r->limit_maxbytes,
                     r->evictions, r->get_hits, r->get_misses, r->curr_connections, r->total_items,
                     r->cpu_seconds, r->uptime);
    return n < 0 || (size_t)n >= len ? -1 : n;
}

static int get_u64(json_t *doc, const char *key, uint64_t *out, char *err, size_t errlen) {
    json_t *v = json_object_get(doc, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        snprintf(err, errlen, "field '%s' missing or not a non-negative integer", key);
        return MCM_ERR;
    }
    *out = (uint64_t)json_integer_value(v);
    return MCM_OK;
}

int report_decode(const char *buf, size_t len, report *out, char *err, size_t errlen) {
    if (len > REPORT_MAX_BYTES) {
        snprintf(err, errlen, "report of %zu bytes is over the %d byte limit", len, REPORT_MAX_BYTES);
        return MCM_ERR;
    }
    json_error_t je;
    json_t *doc = json_loadb(buf, len, 0, &je);
    if (!json_is_object(doc)) {
        snprintf(err, errlen, "report is not a JSON object: %s", doc ? "wrong type" : je.text);
        json_decref(doc);
        return MCM_ERR;
    }
    report r;
    memset(&r, 0, sizeof(r));
    json_t *v = json_object_get(doc, "v"), *task = json_object_get(doc, "task_id");
    json_t *t = json_object_get(doc, "time_ms"), *cpu = json_object_get(doc, "cpu_seconds");
    json_t *up = json_object_get(doc, "uptime");
    int rc = MCM_ERR;
    if (!json_is_integer(v) || json_integer_value(v) < 1) {
        snprintf(err, errlen, "report has no version 'v' >= 1");
    } else if (!json_is_string(task) || !valid_task_id(json_string_value(task))) {
        snprintf(err, errlen, "report has no valid task_id");
    } else if (!json_is_integer(t) || !json_is_number(cpu) || json_number_value(cpu) < 0) {
        snprintf(err, errlen, "report lacks time_ms or cpu_seconds");
    } else if (get_u64(doc, "bytes", &r.bytes, err, errlen) == MCM_OK &&
               get_u64(doc, "limit_maxbytes", &r.limit_maxbytes, err, errlen) == MCM_OK &&
               get_u64(doc, "evictions", &r.evictions, err, errlen) == MCM_OK &&
               get_u64(doc, "get_hits", &r.get_hits, err, errlen) == MCM_OK &&
               get_u64(doc, "get_misses", &r.get_misses, err, errlen) == MCM_OK &&
               get_u64(doc, "curr_connections", &r.curr_connections, err, errlen) == MCM_OK &&
               get_u64(doc, "total_items", &r.total_items, err, errlen) == MCM_OK) {
        snprintf(r.task_id, sizeof(r.task_id), "%s", json_string_value(task));
        r.time_ms = json_integer_value(t);
        r.cpu_seconds = json_number_value(cpu);
        r.uptime = json_is_integer(up) ? json_integer_value(up) : 0;
        *out = r;
        rc = MCM_OK;
    }
    json_decref(doc);
    return rc;
}
