/* ring.h -- THE ring of mcm: which server owns a key.
 *
 * One definition, used by everything in mcm that needs a key's owner (the
 * executor's warm transitions, mcm-watch --owner, bench/resize) and named
 * in the servers document ("ring": RING_NAME). It is libketama's consistent
 * hashing, the placement that libmemcached (MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED),
 * pylibmc ("ketama_weighted"), spymemcached (KETAMA_HASH + KETAMA locator) and
 * twemproxy (hash md5, distribution ketama, as mcm-watch writes the pool)
 * compute on the client side:
 *
 *   points   every server "host:port" (weight 1) gets RING_DIGESTS_PER_SERVER
 *            (40) MD5 digests, of the strings "host:port-0" .. "host:port-39";
 *            each 16-byte digest d gives RING_POINTS_PER_DIGEST (4) points,
 *            the little-endian 32-bit words d[0..3], d[4..7], d[8..11],
 *            d[12..15]: 160 points per server, sorted.
 *   key      hash = the first 4 bytes of MD5(key), little-endian.
 *   owner    the server of the first point >= hash; past the last point,
 *            the first point (the ring wraps).
 *
 *   Equal points of two servers (a 32-bit collision) are ordered by server
 *   name, so the ring depends only on the SET of servers, never on the order
 *   they are given in.
 *
 * Port 11211: libmemcached (and twemproxy for a server line without a name)
 * drop ":11211" from the point strings ("host-0" instead of
 * "host:11211-0"), so at that port they place keys differently from this
 * ring, libketama and spymemcached. mcm's ring always hashes "host:port".
 * docs/clients.md has the table of client settings.
 *
 * The server string is hashed exactly as given: "10.0.0.5:31000", with no
 * brackets for IPv6 (libmemcached writes "host:port" the same way). For a
 * published list use ring_from_srvlist(), which writes each name as
 * "<host>:<port>".
 *
 * Ownership: ring_new copies the server strings; the caller keeps its array.
 * Strings returned by ring_server/ring_owner_name live as long as the ring.
 * Threads: a built ring is immutable: any number of threads may read it at
 * once with no lock. Building and freeing are the caller's to order. Pure: no
 * I/O, no global state (libcrypto's EVP MD5, no engine, no config). */
#ifndef MCM_RING_H
#define MCM_RING_H

#include <stddef.h>
#include <stdint.h>

/* The name the servers document carries in its "ring" field. Read it as
 * "libketama's ring, MD5 points and keys, 160 points per server". */
#define RING_NAME "libketama-md5-160"

#define RING_DIGESTS_PER_SERVER 40
#define RING_POINTS_PER_DIGEST 4
#define RING_POINTS_PER_SERVER (RING_DIGESTS_PER_SERVER * RING_POINTS_PER_DIGEST)
#define RING_SERVER_MAX 300          /* longest "host:port" accepted, bytes */
#define RING_MAX_SERVERS 100000      /* same bound as the published list */

typedef struct ring ring;
struct srvlist;

/* A ring over servers[0..n-1], each "host:port" of weight 1 (copied). n == 0
 * gives an empty ring (every key's owner is -1). NULL with a reason in err on
 * an empty or over-long name, a duplicate name, n out of range, no memory, or
 * a libcrypto that refuses MD5. */
ring *ring_new(const char *const *servers, int n, char *err, size_t errlen);
/* The ring over a published list, servers in the list's order, each named
 * "<host>:<port>"; in a sorted list (as srvlist_from_json returns it) a
 * host:port listed again (two task IDs) is on the ring once, so indexes are the ring's (ring_server), not the list's. NULL with a
 * reason in err, as ring_new. */
ring *ring_from_srvlist(const struct srvlist *l, char *err, size_t errlen);
void ring_free(ring *r);                         /* NULL-safe */

int ring_count(const ring *r);                   /* servers on the ring */
/* Server i's name as given (0 <= i < ring_count); NULL if out of range. */
const char *ring_server(const ring *r, int i);
/* Index of the server named exactly `name`, -1 if it is not on the ring. */
int ring_find(const ring *r, const char *name);

/* The key's position on the ring: first 4 bytes of MD5(key), little-endian. */
uint32_t ring_hash(const void *key, size_t len);
/* Index (into the servers given) of the key's owner; -1 if the ring is empty. */
int ring_owner(const ring *r, const void *key, size_t len);
/* The owner's name, or NULL if the ring is empty. */
const char *ring_owner_name(const ring *r, const void *key, size_t len);
/* Fraction of the 32-bit hash space server i owns (what share of an
 * unbounded key set lands on it); 0 if i is out of range. Sums to 1. */
double ring_share(const ring *r, int i);

#endif
