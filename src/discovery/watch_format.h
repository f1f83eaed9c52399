/* watch_format.h -- a server list as the files that proxies and services read.
 *
 * Pure functions: each turns a srvlist into a malloc'd NUL-terminated string
 * (caller frees; NULL only when out of memory). No I/O, no state.
 *
 *   plain      one `host:port` line per server (`[v6]:port` for IPv6
 *              literals); an empty list is an empty file.
 *   json       the published document itself (srvlist_to_json) plus "\n".
 *   twemproxy  one nutcracker pool that places keys on mcm's ring
 *              (RING_NAME, src/ring/ring.h): listen, hash md5, distribution
 *              ketama, auto_eject_hosts false, `- host:port:1 host:port`
 *              (nutcracker hashes the name after the weight; without one it
 *              would hash "host" alone at port 11211, like libmemcached).
 *              nutcracker rejects a pool without servers, so an EMPTY list
 *              is written as one placeholder server, 127.0.0.1:1 named
 *              `mcm-empty`, that refuses every connection: clients get
 *              errors instead of being sent to stale addresses. A comment
 *              line in the file says so.
 *   mcrouter   {"pools":{"<pool>":{"servers":["host:port",...]}},
 *               "route":{"type":"PoolRoute","pool":"<pool>",
 *                        "hash":{"hash_func":"Ch3"}}}
 *              mcrouter has no ketama: the hash is its own Ch3 (furc_hash
 *              over the servers in the published order), named explicitly;
 *              keys do NOT land where ketama clients put them. An empty list
 *              is an empty `servers` array.
 *   owner      not a file format: the "host:port" (plus "\n") that owns one
 *              key on mcm's ring, for mcm-watch --owner.
 *
 * Threads: any. */
#ifndef MCM_WATCH_FORMAT_H
#define MCM_WATCH_FORMAT_H

#include "srvlist.h"

#include <stddef.h>

/* mcrouter's hash function for the pool (mcrouter/lib/Ch3HashFunc.h). */
#define WATCH_MCROUTER_HASH "Ch3"

typedef enum { WATCH_FMT_PLAIN, WATCH_FMT_JSON, WATCH_FMT_TWEMPROXY, WATCH_FMT_MCROUTER } watch_fmt;

/* "plain|json|twemproxy|mcrouter" -> 0 and *out; -1 if unknown. */
int watch_fmt_parse(const char *name, watch_fmt *out);
/* 1 if name is usable as a pool name in every format: [A-Za-z0-9_-]{1,64}. */
int watch_pool_name_ok(const char *name);

char *watch_fmt_plain(const srvlist *l);
char *watch_fmt_json(const srvlist *l);
/* listen: "host:port" nutcracker listens on, written as given. */
char *watch_fmt_twemproxy(const srvlist *l, const char *pool, const char *listen);
char *watch_fmt_mcrouter(const srvlist *l, const char *pool);
/* The owner of key (keylen bytes) under mcm's ring, "host:port\n". NULL with
 * the reason in err if the list is empty, names a ring other than RING_NAME,
 * or memory runs out. */
char *watch_fmt_owner(const srvlist *l, const char *key, size_t keylen, char *err, size_t errlen);

/* Dispatches on fmt; pool and listen are used where the format needs them. */
char *watch_format(const srvlist *l, watch_fmt fmt, const char *pool, const char *listen);

#endif
