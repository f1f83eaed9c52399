/* mig_rate.c -- token bucket with debt (see mig_rate.h).
 * Shape: refill from elapsed time, cap at the burst, subtract, and turn a
 * negative balance into a wait. Threads: the owner's. Invariant: tokens never
 * exceed the burst. */
#include "mig_rate.h"

static double burst(const mig_rate *r) { return (double)r->rate * MIG_RATE_BURST_MS / 1000.0; }

static void refill(mig_rate *r, int64_t now_ms) {
    if (now_ms > r->last_ms) {
        r->tokens += (double)r->rate * (double)(now_ms - r->last_ms) / 1000.0;
        r->last_ms = now_ms;
    }
    if (r->tokens > burst(r)) r->tokens = burst(r);
}

void mig_rate_init(mig_rate *r, uint64_t rate, int64_t now_ms) {
    r->rate = rate;
    r->tokens = 0;
    r->last_ms = now_ms;
}

int64_t mig_rate_wait(mig_rate *r, int64_t now_ms) {
    if (r->rate == 0) return 0;
    refill(r, now_ms);
    if (r->tokens >= 0) return 0;
    return (int64_t)(-r->tokens * 1000.0 / (double)r->rate) + 1;
}

int64_t mig_rate_take(mig_rate *r, uint64_t n, int64_t now_ms) {
    if (r->rate == 0) return 0;
    refill(r, now_ms);
    r->tokens -= (double)n;
    return mig_rate_wait(r, now_ms);
}
