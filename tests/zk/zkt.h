/* zkt.h -- ZooKeeper helpers for mcm's tests and benchmarks.
 *
 * - zkt_connect: a plain handle (optionally digest-authenticated), waited for.
 * - zkt_expire: expires a live session for real, the classic way: a second
 *   handle opens the same session (id + password), then closes it; the server
 *   ends the session and the first handle sees EXPIRED when it reconnects.
 * - zkt_proxy: a TCP relay between clients and the server whose traffic can be
 *   black-holed, to partition one client without touching the others (the
 *   server then expires that session by timeout, as in a real partition).
 * - zkt_capture_*: redirect this process's stderr (mcm's log) to a file to
 *   check what was logged.
 * Threads: the test's main thread, except the proxy's own thread. */
#ifndef MCM_ZKT_H
#define MCM_ZKT_H

#include <stddef.h>
#include <zookeeper/zookeeper.h>

zhandle_t *zkt_connect(const char *hosts, const char *auth, int timeout_ms);
/* Expires the session zh belongs to (returns when the server has ended it). */
void zkt_expire(const char *hosts, zhandle_t *zh);

typedef struct zkt_proxy zkt_proxy;
zkt_proxy *zkt_proxy_start(int server_port);
int zkt_proxy_port(const zkt_proxy *p);
/* on: bytes in both directions are dropped and new connections are held
 * open without reaching the server; off: held connections are closed, new
 * ones are relayed again. */
void zkt_proxy_blackhole(zkt_proxy *p, int on);
void zkt_proxy_free(zkt_proxy *p);

/* Redirects stderr to a fresh file; zkt_capture_end restores it and returns
 * what was written (caller frees). */
void zkt_capture_begin(void);
char *zkt_capture_end(void);

#endif
