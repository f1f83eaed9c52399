/* backoff.c -- per-agent exponential relaunch backoff (see backoff.h).
 * Shape: a small array searched linearly; agents with failures are few, and
 * entries are dropped on success, so the array stays short.
 * Threads: the core only. */
#include "backoff.h"
#include "mcm.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

typedef struct entry {
    char *agent;
    int failures;
    int64_t until_ms;
} entry;

struct backoff {
    int64_t min_ms, max_ms;
    entry *e;
    int n;
};

backoff *backoff_create(int64_t min_ms, int64_t max_ms) {
    backoff *b = calloc(1, sizeof(*b));
    if (b) b->min_ms = min_ms, b->max_ms = max_ms;
    return b;
}

void backoff_free(backoff *b) {
    if (!b) return;
    for (int i = 0; i < b->n; i++) free(b->e[i].agent);
    free(b->e);
    free(b);
}

static entry *find(const backoff *b, const char *agent) {
    for (int i = 0; i < b->n; i++)
        if (!strcmp(b->e[i].agent, agent)) return &b->e[i];
    return NULL;
}

void backoff_failure(backoff *b, const char *agent, int64_t now_ms) {
    entry *e = find(b, agent);
    if (!e) {
        entry *grown = realloc(b->e, sizeof(entry) * (size_t)(b->n + 1));
        char *copy = strdup(agent);
        if (!grown || !copy) { free(copy); if (grown) b->e = grown; return; }
        b->e = grown;
        e = &b->e[b->n++];
        e->agent = copy;
        e->failures = 0;
    }
    e->failures++;
    double delay = (double)b->min_ms;
    for (int i = 1; i < e->failures && delay < (double)b->max_ms; i++) delay *= 2;
    if (delay > (double)b->max_ms) delay = (double)b->max_ms;
    delay *= 0.8 + 0.4 * util_rand01();
    e->until_ms = now_ms + (int64_t)delay;
}

void backoff_success(backoff *b, const char *agent) {
    entry *e = find(b, agent);
    if (!e) return;
    free(e->agent);
    *e = b->e[--b->n];
}

int64_t backoff_wait_ms(const backoff *b, const char *agent, int64_t now_ms) {
    const entry *e = find(b, agent);
    return e && e->until_ms > now_ms ? e->until_ms - now_ms : 0;
}

int backoff_failures(const backoff *b, const char *agent) {
    const entry *e = find(b, agent);
    return e ? e->failures : 0;
}
