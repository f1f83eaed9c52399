/* report.h -- the executor's utilisation report, as sent in a framework MESSAGE.
 *
 * Encoding (version 1): one compact JSON object, UTF-8, at most 4 KiB:
 *
 *   {"v":1,"task_id":"mcm-...","time_ms":<executor wall clock ms>,
 *    "bytes":N,"limit_maxbytes":N,"evictions":N,"get_hits":N,"get_misses":N,
 *    "curr_connections":N,"total_items":N,"cpu_seconds":<float, user+system>,
 *    "uptime":<memcached uptime s>}
 *
 * Counters are memcached's own cumulative counters; the scheduler derives
 * rates from consecutive reports. A reader accepts any "v" >= 1 and ignores
 * unknown fields, so executors can add figures without breaking a scheduler;
 * a reader refuses a report without v or with missing core fields.
 * Threads: any; pure functions. */
#ifndef MCM_REPORT_H
#define MCM_REPORT_H

#include <stddef.h>
#include <stdint.h>

#define REPORT_VERSION 1
#define REPORT_MAX_BYTES 4096

typedef struct report {
    char task_id[256];
    int64_t time_ms;
    uint64_t bytes, limit_maxbytes, evictions, get_hits, get_misses;
    uint64_t curr_connections, total_items;
    double cpu_seconds;
    int64_t uptime;
} report;

/* Writes the JSON into buf; returns its length, or -1 if it does not fit. */
int report_encode(const report *r, char *buf, size_t len);
/* MCM_OK, or MCM_ERR with a reason in err. */
int report_decode(const char *buf, size_t len, report *out, char *err, size_t errlen);

#endif
