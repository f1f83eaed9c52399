/* mig_rate.h -- a byte-rate limiter (token bucket that may go into debt).
 *
 * Tokens (bytes) accrue at `rate` per second up to a burst of
 * rate * MIG_RATE_BURST_MS / 1000 bytes. mig_rate_take(n) takes n tokens at
 * once, even more than the bucket holds, and then says how long to wait
 * before the next take so that over any interval the bytes taken stay
 * within rate * interval + burst. rate 0 means unlimited.
 *
 * Threads: one limiter belongs to one thread. Pure: the caller passes the
 * clock (ms) and does the sleeping, so tests need no real time. */
#ifndef MCM_MIG_RATE_H
#define MCM_MIG_RATE_H

#include <stdint.h>

#define MIG_RATE_BURST_MS 100

typedef struct mig_rate {
    uint64_t rate;          /* bytes per second; 0 = unlimited */
    double tokens;          /* may be negative (debt) */
    int64_t last_ms;
} mig_rate;

void mig_rate_init(mig_rate *r, uint64_t rate, int64_t now_ms);
/* Takes n bytes; returns the ms to wait before the next take (0: none). */
int64_t mig_rate_take(mig_rate *r, uint64_t n, int64_t now_ms);
/* ms until the bucket is out of debt (0: now). */
int64_t mig_rate_wait(mig_rate *r, int64_t now_ms);

#endif
