/* fuzz_state.c -- libFuzzer target: the decoders of every znode the state
 * module reads (anyone with write access to ZooKeeper controls these bytes):
 * state/version (state_parse_version), state/framework_id
 * (state_check_framework_id), state/desired (state_decode_desired), a task
 * record (state_task_from_json), a ServerSet member (state_member_parse)
 * and state/tasklog (tasklog_parse: what is accepted prints back to the
 * same bytes, and every "since" answer names only valid IDs).
 * The first byte picks the decoder, the rest is the znode's content.
 * Checked beyond no crash/leak/UB: what is accepted is within what mcm
 * writes (version <= STATE_VERSION_MAX, a record passes state_task_check,
 * re-encodes and decodes to the same record, host names carry no
 * separators). Threads: one. */
#include "mcm.h"
#include "state_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void task_record(const char *d, size_t n) {
    state_task t, back;
    char err[256];
    if (state_task_from_json(d, n, &t, err, sizeof(err)) != MCM_OK) return;
    if (state_task_check(&t, err, sizeof(err)) != MCM_OK || strpbrk(t.hostname, ":\n\r \"")) abort();
    char *json = state_task_to_json(&t);
    if (!json) abort();
    if (state_task_from_json(json, strlen(json), &back, err, sizeof(err)) != MCM_OK) abort();
    if (strcmp(back.id, t.id) || strcmp(back.hostname, t.hostname) || back.port != t.port ||
        back.changed_ms != t.changed_ms || back.drain_until_ms != t.drain_until_ms || strcmp(back.reason, t.reason))
        abort();
    free(json);
}

static void task_log(const char *d, size_t n) {
    tasklog l, next;
    if (tasklog_parse(d, n, &l) != MCM_OK) return;
    size_t len;
    char *text = tasklog_text(&l, &len);
    if (!text || len != n || memcmp(text, d, n)) abort();
    free(text);
    for (int32_t dv = l.from > 0 ? l.from - 1 : 0; dv <= l.to && dv - l.from < 64; dv++) {
        char *ids = NULL;
        if (tasklog_since(&l, dv, &ids) && (dv < l.from || strchr(ids, '*') || strchr(ids, '\n'))) abort();
        free(ids);
    }
    if (l.to < INT32_MAX && tasklog_append(&l, l.to + 1, "mcm-x", STATE_TASKLOG_MAX, &next) == MCM_OK) {
        if (next.to != l.to + 1) abort();
        tasklog_clear(&next);
    }
    tasklog_clear(&l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const char *d = (const char *)data + 1;
    size_t n = size - 1;
    char why[256], *as = NULL;
    int64_t v;
    int inst;
    ss_member m = {0};
    switch (data[0] % 6) {
    case 0:
        if (state_parse_version(d, (int)n, &v) == MCM_OK && (v < 0 || v > STATE_VERSION_MAX)) abort();
        break;
    case 1:
        state_check_framework_id(d, (int)n);
        break;
    case 2:
        if (state_decode_desired(d, n, &inst, &as, why, sizeof(why)) == MCM_OK && inst < 0) abort();
        free(as);
        break;
    case 3:
        task_record(d, n);
        break;
    case 5:
        task_log(d, n);
        break;
    default:
        if (state_member_parse(d, (int)n, &m) == MCM_OK && (m.port < 1 || m.port > 65535 || strchr(m.host, '\n')))
            abort();
        free(m.host);
        break;
    }
    return 0;
}
