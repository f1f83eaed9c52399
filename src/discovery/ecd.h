/* ecd.h -- an ElastiCache-compatible auto discovery endpoint.
 *
 * A small TCP server speaking the memcached text protocol that answers
 * `config get cluster` and `get AmazonElastiCache:cluster` with the current
 * server list, exactly as an ElastiCache configuration endpoint does (bytes
 * in ecd_proto.h), so ElastiCache cluster clients (Java, .NET, PHP, dalli,
 * pymemcache-based) find mcm's memcached servers without change. The
 * version line is the srvlist's version.
 *
 * The scheduler creates one with --discovery-listen and calls
 * ecd_set_servers() on every change of the list.
 *
 * Connections: at most max_conns at once (more are accepted and closed at
 * once, with a warning at most every 10 s that counts the refused ones); a
 * connection that has sent nothing for the idle timeout (default
 * ECD_DEFAULT_IDLE_MS) is closed, so idle or leaked sockets cannot hold the
 * limit and lock new clients out for good; and one peer address holds at
 * most ECD_DEFAULT_PER_ADDR of them (ecd_set_per_addr_limit).
 *
 * Threads: one endpoint thread (poll over the listener, a wakeup pipe and up
 * to max_conns connections) does all socket work and also builds the payload,
 * resolving hostnames there, so ecd_set_servers never blocks on DNS.
 * ecd_set_servers, ecd_set_idle_timeout, ecd_set_per_addr_limit and ecd_port may be called from any
 * thread; create/free from one owner thread. */
#ifndef MCM_ECD_H
#define MCM_ECD_H

#include "srvlist.h"
#include <stddef.h>

typedef struct ecd ecd;

#define ECD_DEFAULT_MAX_CONNS 256
/* Twice the 60 s polling interval of the AWS ElastiCache cluster clients, so
 * a client that keeps its connection and polls on that schedule is never cut. */
#define ECD_DEFAULT_IDLE_MS 120000
#define ECD_DEFAULT_PER_ADDR 64  /* connections one peer address may hold (at most max_conns) */
#define ECD_OUT_MAX (4u << 20)   /* unread replies beyond this (+2 payloads): close the client */

/* Listens on host:port (port 0: any free port, see ecd_port) and starts the
 * endpoint thread. max_conns <= 0 means ECD_DEFAULT_MAX_CONNS; connections
 * beyond it are accepted and closed at once. NULL with "call: strerror" in
 * err on failure. */
ecd *ecd_create(const char *host, int port, int max_conns, char *err, size_t errlen);
/* Connections that have sent nothing for idle_ms are closed (<= 0: never).
 * Takes effect at once, for connections already open too. */
void ecd_set_idle_timeout(ecd *e, int idle_ms);
/* Connections one peer address may hold (<= 0: no per-address limit); more
 * from it are closed at once. Default min(ECD_DEFAULT_PER_ADDR, max_conns). */
void ecd_set_per_addr_limit(ecd *e, int n);
/* The bound port. */
int ecd_port(const ecd *e);
/* Publishes a copy of l (the caller keeps l). Takes effect on the endpoint
 * thread a moment later. MCM_ERR when out of memory (the old list stays). */
int ecd_set_servers(ecd *e, const srvlist *l);
/* Version of the list clients are being served now, -1 before the first. */
long long ecd_served_version(ecd *e);
/* Stops the thread, closes every socket. NULL-safe. */
void ecd_free(ecd *e);

#endif
