/* warm_client.h -- what the warm-transition system tests (test_warm,
 * test_warm_failover) share: a libmemcached client over one published list,
 * hashing as mcm's ring does (KETAMA_WEIGHTED), and the invariant check.
 *
 * THE INVARIANT (src/transition/trn.h): outside a transition each key is
 * stored only on its owner under the published ring. wc_misplaced() asks
 * every server of a list for every key directly and counts the keys held by
 * a server that does not own them.
 *
 * Threads: the test's main thread. Failures call ck_assert. */
#ifndef MCM_IT_WARM_CLIENT_H
#define MCM_IT_WARM_CLIENT_H

#include <jansson.h>
#include <libmemcached/memcached.h>
#include <stddef.h>

#define WC_MAX_SRV 8

typedef struct wc_client {
    memcached_st *mc;
    int n;
    char name[WC_MAX_SRV][300];   /* "host:port" of each server, in the list's order */
} wc_client;

/* A client over the servers of a /v1/servers document (1 s connect, 2 s poll timeouts). */
void wc_open(wc_client *k, json_t *doc);
void wc_close(wc_client *k);

/* The name of key i (the caller's key scheme). */
typedef void (*wc_key_fn)(int i, char *buf, size_t len);

/* Keys 0..nkeys-1 held by a server of doc that is not their owner under mcm's
 * ring; the first five are printed, prefixed with `who`. */
int wc_misplaced(json_t *doc, int nkeys, wc_key_fn key_of, const char *who);

#endif
