/* state_tasklog.c -- the task log: which task records the last writes touched.
 *
 * What: state/tasklog holds, for the most recent fenced writes, the task IDs
 * each one created, changed or deleted:
 *
 *   mcm-tasklog 1 from=<F> to=<T>\n
 *   <dv> <id>,<id>,...\n        one line per write that touched task records
 *   <dv> *\n                    a write that touched too many to name
 *
 * where dv is the data version that write gave state/version. The log
 * covers every write with F < dv <= T: a write in that range that touched no
 * record has no line. Every fenced multi rewrites it (state_fence.c), so it
 * changes atomically with state/version and the records themselves.
 *
 * Why: a copy of the records read when state/version had data version D is
 * brought up to date by reading only the IDs named after D, instead of all
 * of them (10,000 records: 1.5 s on a quiet benchmark host, 12-17 s during a
 * ring transition at N = 1,000). A new leader does so with its follower's
 * copy (state_catchup.c), and a follower uses it to tell that writes which
 * moved state/version touched no record.
 *
 * Bounds: at most STATE_TASKLOG_MAX bytes, oldest lines dropped first (F
 * moves up); a write naming more than STATE_TASKLOG_ENTRY_MAX bytes of IDs
 * is a "*" line. A copy older than F, or behind a "*", is read in full.
 *
 * Pure functions on memory: no ZooKeeper here, so the codec is unit-tested
 * and fuzzed on its own. */
#include "mcm.h"
#include "state_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_MAX 64

void tasklog_clear(tasklog *l) {
    free(l->lines);
    memset(l, 0, sizeof(*l));
}

void tasklog_reset(tasklog *l, int32_t dv) {
    tasklog_clear(l);
    l->from = l->to = dv;
}

/* The dv that starts a line (the text is known well formed here). */
static int32_t line_dv(const char *line) { return (int32_t)strtol(line, NULL, 10); }

static size_t header_len(int32_t from, int32_t to) {
    char h[HEADER_MAX];
    return (size_t)snprintf(h, sizeof(h), "mcm-tasklog 1 from=%" PRId32 " to=%" PRId32 "\n", from, to);
}

int tasklog_append(const tasklog *l, int32_t dv, const char *ids, size_t max, tasklog *out) {
    char star[] = "*";
    if (!ids || strlen(ids) > STATE_TASKLOG_ENTRY_MAX) ids = star;
    char entry[32];
    int elen = snprintf(entry, sizeof(entry), "%" PRId32 " ", dv);
    size_t add = ids[0] ? (size_t)elen + strlen(ids) + 1 : 0;
    const char *keep = l->lines ? l->lines : "";
    size_t keeplen = l->lines ? l->len : 0;
    int32_t from = l->from;
    /* drop the oldest lines until the whole text fits; last, name nothing */
    while (keeplen && header_len(from, dv) + keeplen + add > max) {
        const char *nl = memchr(keep, '\n', keeplen);
        from = line_dv(keep);
        keeplen -= (size_t)(nl - keep) + 1;
        keep = nl + 1;
    }
    if (add && header_len(from, dv) + add > max && ids != star) {
        ids = star;
        add = (size_t)elen + 2;
    }
    memset(out, 0, sizeof(*out));
    out->from = from;
    out->to = dv;
    out->len = keeplen + add;
    if (!(out->lines = malloc(out->len + 1))) return MCM_ERR;
    memcpy(out->lines, keep, keeplen);
    if (add) snprintf(out->lines + keeplen, add + 1, "%s%s\n", entry, ids);
    out->lines[out->len] = '\0';
    return MCM_OK;
}

char *tasklog_text(const tasklog *l, size_t *len) {
    size_t n = header_len(l->from, l->to) + l->len;
    char *t = malloc(n + 1);
    if (!t) return NULL;
    int h = snprintf(t, n + 1, "mcm-tasklog 1 from=%" PRId32 " to=%" PRId32 "\n", l->from, l->to);
    if (l->len) memcpy(t + h, l->lines, l->len);
    t[n] = '\0';
    *len = n;
    return t;
}

/* A non-negative decimal of at most 10 digits, without leading zeros (as
 * mcm prints it), that fits int32 at s; the number of characters taken, 0
 * if none. */
static size_t parse_dv(const char *s, const char *end, int32_t *out) {
    size_t i = 0;
    int64_t v = 0;
    while (s + i < end && s[i] >= '0' && s[i] <= '9' && i < 10) v = v * 10 + (s[i++] - '0');
    if (!i || v > INT32_MAX || (s + i < end && s[i] >= '0' && s[i] <= '9') || (i > 1 && s[0] == '0')) return 0;
    *out = (int32_t)v;
    return i;
}

/* "<id>,<id>,..." up to end: every ID valid. */
static int valid_ids(const char *s, const char *end) {
    char id[STATE_ID_MAX];
    while (s < end) {
        const char *c = memchr(s, ',', (size_t)(end - s));
        if (!c) c = end;
        size_t n = (size_t)(c - s);
        if (!n || n >= sizeof(id)) return 0;
        memcpy(id, s, n);
        id[n] = '\0';
        if (!state_valid_id(id)) return 0;
        s = c < end ? c + 1 : end;
        if (c < end && s == end) return 0;   /* trailing comma */
    }
    return 1;
}

/* One "<dv> <ids|*>" line in [s, end): its dv, which must exceed prev and not to. */
static int parse_line(const char *s, const char *end, int32_t prev, int32_t to, int32_t *dv) {
    size_t n = parse_dv(s, end, dv);
    if (!n || *dv <= prev || *dv > to || s + n >= end || s[n] != ' ') return MCM_ERR;
    s += n + 1;
    if (end - s == 1 && s[0] == '*') return MCM_OK;
    return s < end && valid_ids(s, end) ? MCM_OK : MCM_ERR;
}

int tasklog_parse(const char *data, size_t len, tasklog *out) {
    static const char magic[] = "mcm-tasklog 1 from=";
    const char *end = data + len, *p = data;
    int32_t from, to, prev;
    size_t n;
    memset(out, 0, sizeof(*out));
    if (memchr(data, '\0', len)) return MCM_ERR;    /* the lines are read as a C string later */
    if (len < sizeof(magic) - 1 || memcmp(p, magic, sizeof(magic) - 1)) return MCM_ERR;
    p += sizeof(magic) - 1;
    if (!(n = parse_dv(p, end, &from)) || end - (p + n) < 4 || memcmp(p + n, " to=", 4)) return MCM_ERR;
    p += n + 4;
    if (!(n = parse_dv(p, end, &to)) || p + n >= end || p[n] != '\n' || to < from) return MCM_ERR;
    p += n + 1;
    const char *lines = p;
    for (prev = from; p < end; prev = out->to) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl || parse_line(p, nl, prev, to, &out->to) != MCM_OK) return MCM_ERR;
        p = nl + 1;
    }
    out->len = (size_t)(end - lines);
    if (!(out->lines = malloc(out->len + 1))) return MCM_ERR;
    memcpy(out->lines, lines, out->len);
    out->lines[out->len] = '\0';
    out->from = from;
    out->to = to;
    return MCM_OK;
}

int tasklog_since(const tasklog *l, int32_t dv, char **ids) {
    *ids = NULL;
    if (dv < l->from || dv > l->to) return 0;
    size_t cap = l->len + 1, len = 0;
    char *out = malloc(cap);
    if (!out) return 0;
    out[0] = '\0';
    for (const char *p = l->lines ? l->lines : "", *nl; *p; p = nl + 1) {
        nl = strchr(p, '\n');
        const char *sp = strchr(p, ' ');
        if (line_dv(p) <= dv) continue;
        if (sp[1] == '*') {
            free(out);
            return 0;
        }
        if (len) out[len++] = ',';
        memcpy(out + len, sp + 1, (size_t)(nl - sp - 1));
        len += (size_t)(nl - sp - 1);
        out[len] = '\0';
    }
    *ids = out;
    return 1;
}
