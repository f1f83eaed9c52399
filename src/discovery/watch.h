/* watch.h -- follow the published server list in ZooKeeper (client library).
 *
 * For programs outside mcm: link mcm_discovery (and mcm_common). It opens its
 * own ZooKeeper handle (multi-threaded C client) on `hosts`, reads the znode
 * `path` (normally `<root>/servers`) and keeps a watch on it.
 *
 * What counts as a new list: a znode whose content passes srvlist_from_json
 * and differs from the last good list (other servers, or another version).
 * A version lower than the last good one on the same znode (same czxid) is
 * ignored: that is a lagging ZooKeeper server seen after a reconnect, not news.
 *
 * What never changes the last good list -- all transient, all logged:
 * connection loss, session expiry (a new session is opened and the watch set
 * again), the znode missing or deleted (watched until it reappears; INFO, as
 * on a fresh installation before the first leader publishes), content that
 * is not a valid document (WARNING). A znode that really holds
 * `"servers": []` IS a new list, and the callback receives it: that is a real
 * state.
 *
 * Unreachable ZooKeeper: after half the session timeout (1 s to 10 s) without
 * a session -- including a handle that never connected at all -- the watch
 * logs the WARNING "cannot reach ZooKeeper at <hosts> for N s; keeping the
 * last good list", again every three session timeouts (5 s to 5 min) while
 * it lasts, and a NOTICE when a session is back. The callback is not called
 * for any of this.
 *
 * Callback: called on the watch's own thread (never a ZooKeeper thread), one
 * call at a time, with the newest list; lists that arrive while a callback is
 * running are coalesced, so a slow callback (writing files, running a reload)
 * only ever catches up to the latest. The list is a copy valid during the
 * call; copy it (srvlist_copy) to keep it. The callback may block, may call
 * watch_last(), but must not call watch_free().
 *
 * Threads: watch_create/watch_free from one owner thread; watch_last,
 * watch_describe and watch_deliveries from any. */
#ifndef MCM_WATCH_H
#define MCM_WATCH_H

#include "srvlist.h"
#include <stddef.h>

typedef struct watch watch;
typedef void (*watch_cb)(const srvlist *l, void *ud);

typedef struct watch_opts {
    const char *hosts;         /* "h1:p1,h2:p2" (ZooKeeper connect string) */
    const char *path;          /* znode holding the document, "/mcm/servers" */
    int session_timeout_ms;    /* ZooKeeper session timeout; 0 -> 10000 */
    watch_cb cb;               /* may be NULL: then only watch_last() */
    void *ud;
} watch_opts;

/* Starts watching and returns at once (the first list arrives through the
 * callback). NULL with a reason in err on bad arguments or no resources. */
watch *watch_create(const watch_opts *o, char *err, size_t errlen);
/* Copy of the last good list (caller frees), NULL if none seen yet. */
srvlist *watch_last(watch *w);
/* One phrase for log lines saying why no (new) list may be coming: "no
 * ZooKeeper session with <hosts> for N s", "<path> does not exist ...",
 * "<path> is not a valid server list (<reason>)", or "following <path>
 * (version V, N servers)". Any thread. */
void watch_describe(watch *w, char *buf, size_t len);
/* Number of lists delivered to the callback so far. */
long watch_deliveries(watch *w);
/* Stops the thread, closes the ZooKeeper handle. NULL-safe. */
void watch_free(watch *w);

#endif
