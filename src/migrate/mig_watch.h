/* mig_watch.h -- hints of what clients touch on a source, from memcached's
 * `watch` stream, so catch-up re-checks a key within milliseconds of a
 * client's write instead of at the next full pass (issue 15).
 *
 * memcached 1.6.18's `watch fetchers mutations` prints one line per item
 * access: `type=item_store` for every store (set, add, append, ms ...) and
 * `type=item_get` for every lookup, which is also how a delete, incr or touch
 * shows (1.6.18 has no `watch deletions`). Keys are URL-encoded as in
 * metadump. A watcher that cannot keep up loses lines and memcached says
 * `skipped=<n>`: the caller must then re-check everything (a full pass).
 * A hint says only "look at this key": the catch-up's CAS check decides.
 *
 * The logger thread that feeds watchers backs off while memcached is idle
 * (measured on 1.6.18: a line 1 ms after a store under traffic, up to
 * ~400 ms after 4 s idle), so hints narrow the window under load and the
 * full passes bound it otherwise.
 *
 * Threads: a watch belongs to one thread (the engine's worker). */
#ifndef MCM_MIG_WATCH_H
#define MCM_MIG_WATCH_H

#include <stddef.h>

#define MIG_WATCH_COMMAND "watch fetchers mutations"

typedef struct mig_watch mig_watch;

/* Connects to "host:port" and starts the stream. NULL with a reason in err
 * when S is unreachable or refuses `watch` (before 1.6). */
mig_watch *mig_watch_open(const char *addr, int timeout_ms, char *err, size_t errlen);
void mig_watch_free(mig_watch *w);                 /* NULL-safe */

/* cfd: memcached's fd of the client connection that touched the key (-1 if
 * the line has none). The engine's own requests show up too: it learns its
 * connection's cfd (mig_follow.c) and ignores those lines. */
typedef void (*mig_watch_key_fn)(void *arg, const unsigned char *key, size_t len, int cfd);

/* Waits at most wait_ms and hands every key the arrived lines name to fn.
 * *lost is set to 1 when memcached skipped lines. MCM_ERR (reason in err)
 * when the stream broke: the watch is then useless. */
int mig_watch_poll(mig_watch *w, int wait_ms, mig_watch_key_fn fn, void *arg, int *lost, char *err,
                   size_t errlen);

/* One line without its newline: 1 with the decoded key in key[0..*len)
 * (key holds MIG_KEY_MAX bytes) and *cfd (-1 if none), 2 for a `skipped=`
 * line, 0 for anything else (another type, no key, a bad escape). Pure. */
int mig_watch_line(const char *s, size_t n, unsigned char *key, size_t *len, int *cfd);

#endif
