/* warm_client.c -- the warm-transition tests' client and invariant check (see
 * warm_client.h). Thread: the test's main thread. */
#include "warm_client.h"
#include "ring.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void wc_open(wc_client *k, json_t *doc) {
    memset(k, 0, sizeof(*k));
    k->mc = memcached_create(NULL);
    memcached_behavior_set(k->mc, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1);
    memcached_behavior_set(k->mc, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, 1000);
    memcached_behavior_set(k->mc, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, 2000);
    json_t *l = json_object_get(doc, "servers");
    for (size_t i = 0; i < json_array_size(l) && i < WC_MAX_SRV; i++) {
        json_t *s = json_array_get(l, i);
        const char *h = json_string_value(json_object_get(s, "host"));
        int port = (int)json_integer_value(json_object_get(s, "port"));
        ck_assert(memcached_server_add(k->mc, h, (in_port_t)port) == MEMCACHED_SUCCESS);
        snprintf(k->name[k->n++], sizeof(k->name[0]), "%s:%d", h, port);
    }
}

void wc_close(wc_client *k) { memcached_free(k->mc); }

/* The keys server s of k holds that mcm's ring r gives another server. */
static int misplaced_on(const wc_client *k, int s, const ring *r, int nkeys, wc_key_fn key_of, const char *who,
                        int shown) {
    memcached_st *one = memcached_create(NULL);
    char host[300];
    snprintf(host, sizeof(host), "%s", k->name[s]);
    char *colon = strrchr(host, ':');
    *colon = 0;
    memcached_server_add(one, host, (in_port_t)atoi(colon + 1));
    int bad = 0;
    for (int i = 0; i < nkeys; i++) {
        char key[64];
        key_of(i, key, sizeof(key));
        if (memcached_exist(one, key, strlen(key)) != MEMCACHED_SUCCESS) continue;
        const char *owner = ring_owner_name(r, key, strlen(key));
        if (strcmp(owner, k->name[s]) == 0) continue;
        if (shown + bad < 5) fprintf(stderr, "%s: %s held by %s, owner %s\n", who, key, k->name[s], owner);
        bad++;
    }
    memcached_free(one);
    return bad;
}

int wc_misplaced(json_t *doc, int nkeys, wc_key_fn key_of, const char *who) {
    wc_client k;
    wc_open(&k, doc);
    const char *names[WC_MAX_SRV];
    for (int i = 0; i < k.n; i++) names[i] = k.name[i];
    char err[256];
    ring *r = ring_new(names, k.n, err, sizeof(err));
    ck_assert_msg(r != NULL, "%s", err);
    int bad = 0;
    for (int s = 0; s < k.n; s++) bad += misplaced_on(&k, s, r, nkeys, key_of, who, bad);
    ring_free(r);
    wc_close(&k);
    return bad;
}
