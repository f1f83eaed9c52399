/* exec_health.c -- the hung-memcached rule (see exec_health.h for the state
 * diagram).
 *
 * Shape: pure functions over a caller-owned value, so the counting is tested
 * without a memcached or a clock (tests/executor/test_exec_health.c); the
 * loop (exec_loop.c) turns verdicts into status updates and a kill.
 * Threads: the caller's. Invariants:
 *   1. A verdict other than EH_QUIET is returned once per crossing: EH_UNHEALTHY
 *      once per run of failures, EH_HEALTHY only after an EH_UNHEALTHY, EH_FAIL
 *      once for good.
 *   2. misses counts failures since the last answer; an answer sets it to 0. */
#include "exec_health.h"

void exec_health_init(exec_health *h, int64_t interval_ms, int unhealthy_after, int fail_after, int64_t now_ms) {
    if (interval_ms < 1) interval_ms = 1;
    if (unhealthy_after < 1) unhealthy_after = 1;
    if (fail_after < unhealthy_after) fail_after = unhealthy_after;
    *h = (exec_health){.interval_ms = interval_ms, .unhealthy_after = unhealthy_after, .fail_after = fail_after,
                       .next_ms = now_ms + interval_ms};
}

int exec_health_due(const exec_health *h, int64_t now_ms) { return !h->failed && now_ms >= h->next_ms; }

void exec_health_started(exec_health *h, int64_t now_ms) { h->next_ms = now_ms + h->interval_ms; }

eh_verdict exec_health_result(exec_health *h, int ok) {
    if (h->failed) return EH_QUIET;
    if (ok) {
        h->misses = 0;
        if (!h->unhealthy) return EH_QUIET;
        h->unhealthy = 0;
        return EH_HEALTHY;
    }
    h->misses++;
    if (h->misses >= h->fail_after) {
        h->failed = 1;
        return EH_FAIL;
    }
    if (h->misses >= h->unhealthy_after && !h->unhealthy) {
        h->unhealthy = 1;
        return EH_UNHEALTHY;
    }
    return EH_QUIET;
}

int exec_health_misses(const exec_health *h) { return h->misses; }

int exec_health_is_unhealthy(const exec_health *h) { return h->unhealthy || h->failed; }
