/* rhist.h -- the leader's short history of each server's reports, for the
 * status page's small charts (GET /v1/history).
 *
 * PURE: no clock is read and no I/O is done; times are passed in. Each
 * server keeps at most RHIST_POINTS samples in a fixed ring (oldest dropped
 * first), so the memory is bounded by RHIST_POINTS x the servers the leader
 * tracks; a server's ring is freed by rhist_forget() or rhist_retain() when
 * its task leaves the table.
 *
 * A sample is one executor report: memory used and its limit, the hit ratio
 * since memcached started (the figure /v1/tasks shows), and the eviction rate
 * since the previous report (-1 for the first report, and after a counter
 * went down: memcached restarted). A report whose time_ms is not later than
 * the last sample's is the same report seen again and is ignored.
 *
 * Threads: the owner only (the scheduler core); nothing here is thread-safe.
 * Ownership: everything given is copied. */
#ifndef MCM_RHIST_H
#define MCM_RHIST_H

#include <stddef.h>
#include <stdint.h>

#include "report.h"

#define RHIST_POINTS 60             /* samples kept per server */
#define RHIST_SERVERS_MAX 4096      /* servers tracked at most (a new one past it is refused) */

typedef struct rhist rhist;

typedef struct rhist_sample {
    int64_t t_ms;                   /* the report's own time (executor wall clock) */
    uint64_t bytes, limit_bytes;
    double hit_ratio;               /* hits / lookups since memcached started; -1 before any lookup */
    double evictions_per_s;         /* since the previous sample; -1 if unknown */
} rhist_sample;

rhist *rhist_new(void);             /* NULL if out of memory */
void rhist_free(rhist *h);          /* NULL-safe */

/* Appends r as a sample of task_id. MCM_ERR if task_id is empty, out of
 * memory or past RHIST_SERVERS_MAX; a repeated report is MCM_OK, not added. */
int rhist_add(rhist *h, const char *task_id, const report *r);
void rhist_forget(rhist *h, const char *task_id);        /* frees its samples */
void rhist_clear(rhist *h);                              /* every server */
/* Keeps only the servers for which keep(ctx, task_id) returns nonzero. */
void rhist_retain(rhist *h, int (*keep)(void *ctx, const char *task_id), void *ctx);

int rhist_count(const rhist *h);                         /* servers tracked */
const char *rhist_id(const rhist *h, int i);             /* 0 <= i < rhist_count, in arrival order */
/* Copies up to max samples of task_id, oldest first (the NEWEST max when it
 * holds more); returns how many (0 if unknown). */
int rhist_samples(const rhist *h, const char *task_id, rhist_sample *out, int max);

#endif
