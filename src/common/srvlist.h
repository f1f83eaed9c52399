/* srvlist.h -- the published server list: its type and its JSON form.
 *
 * The document clients read from the `<root>/servers` znode and from
 * `GET /v1/servers` (one format, one encoder, one validating decoder):
 *
 *   {"version": 7, "updated": "2026-11-25T05:47:00.123Z", "ring": "libketama-md5-160",
 *    "servers": [{"host": "10.0.0.5", "port": 31000, "task_id": "mcm-..."}, ...]}
 *
 * `servers` is sorted by (host, port, task_id) so equal lists encode to equal
 * bytes; `version` only grows (it also versions ElastiCache-style discovery).
 * `ring` names the placement of keys on these servers that every mcm tool
 * and the client settings in docs/clients.md agree on (RING_NAME, src/ring/
 * ring.h); the encoder always writes it, the decoder accepts documents
 * without it (written before it existed) and keeps what it read in `ring`.
 *
 * A srvlist is a plain value: the caller owns it and frees it with
 * srvlist_free(); entries own their strings. Threads: any (no shared state). */
#ifndef MCM_SRVLIST_H
#define MCM_SRVLIST_H

#include <stddef.h>
#include <stdint.h>

#define SRVLIST_MAX_SERVERS 100000
#define SRVLIST_HOST_MAX 255

typedef struct srv_entry {
    char *host;
    int port;
    char *task_id;
} srv_entry;

typedef struct srvlist {
    int64_t version;
    char updated[40];       /* RFC 3339 UTC, "" if never set */
    char ring[40];          /* decoded "ring" field, "" if absent; not encoded (see above) */
    int n;
    srv_entry *servers;
} srvlist;

srvlist *srvlist_new(void);
void srvlist_free(srvlist *l);                 /* NULL-safe */
srvlist *srvlist_copy(const srvlist *l);
/* Appends a copy of host and task_id. MCM_ERR on bad values or no memory. */
int srvlist_add(srvlist *l, const char *host, int port, const char *task_id);
void srvlist_sort(srvlist *l);
/* 1 if both hold the same servers (ignores version and updated). Both sorted. */
int srvlist_same_servers(const srvlist *a, const srvlist *b);

/* Compact JSON, NUL-terminated, malloc'd (caller frees). NULL if out of memory. */
char *srvlist_to_json(const srvlist *l);
/* Parses and validates; NULL with a reason in err on anything malformed. The
 * result is sorted. */
srvlist *srvlist_from_json(const char *buf, size_t len, char *err, size_t errlen);

#endif
