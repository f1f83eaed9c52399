/* watch_format.h -- a server list as the files that proxies and services read.
 *
 * Pure functions: each turns a srvlist into a malloc'd NUL-terminated string
 * (caller frees; NULL only when out of memory). No I/O, no state.
 *
 *   plain      one `host:port` line per server (`[v6]:port` for IPv6
 *              literals); an empty list is an empty file.
 *   json       the published document itself (srvlist_to_json) plus "\n".
 *   twemproxy  one nutcracker pool: listen, hash fnv1a_64, distribution
 *              ketama, auto_eject_hosts false, `- host:port:1 task_id`.
 *              nutcracker rejects a pool without servers, so an EMPTY list
 *              is written as one placeholder server, 127.0.0.1:1 named
 *              `mcm-empty`, that refuses every connection: clients get
 *              errors instead of being sent to stale addresses. A comment
 *              line in the file says so.
 *   mcrouter   {"pools":{"<pool>":{"servers":["host:port",...]}},
 *               "route":"PoolRoute|<pool>"}; an empty list is an empty
 *              `servers` array.
 *
 * Threads: any. */
#ifndef MCM_WATCH_FORMAT_H
#define MCM_WATCH_FORMAT_H

#include "srvlist.h"

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

/* Dispatches on fmt; pool and listen are used where the format needs them. */
char *watch_format(const srvlist *l, watch_fmt fmt, const char *pool, const char *listen);

#endif
