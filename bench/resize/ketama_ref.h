/* ketama_ref.h -- libketama's ring, written from its description, to check
 * that the client's mapping (libmemcached) is the libketama one.
 *
 * libketama: each server "host:port" of weight w (all 1 here) gets
 * floor(40 * n * w / total) MD5 digests of "host:port-<i>", four ring points
 * per digest (bytes 4h+3..4h, little-endian); a key goes to the first point
 * at or after the first four bytes of its MD5 (little-endian), wrapping to
 * the first point. Needs libcrypto for MD5 (HAVE_LIBCRYPTO); without it
 * ketama_ref_new returns NULL.
 *
 * Threads: any, one ring per thread. */
#ifndef MCM_BENCH_KETAMA_REF_H
#define MCM_BENCH_KETAMA_REF_H

#include <stddef.h>

typedef struct ketama_ref ketama_ref;

/* servers: n strings "host:port" (copied). NULL without libcrypto or memory. */
ketama_ref *ketama_ref_new(const char *const *servers, int n);
void ketama_ref_free(ketama_ref *k);   /* NULL-safe */
/* The index (into servers) the key maps to. */
int ketama_ref_server(const ketama_ref *k, const char *key, size_t len);
/* The fraction of the 32-bit hash space that maps to server s: what share
 * of an unbounded key set it gets. */
double ketama_ref_share(const ketama_ref *k, int s);

#endif
