/* rhist.c -- per-server report history (see rhist.h).
 *
 * Shape: an array of servers, each with a fixed ring of RHIST_POINTS samples
 * (head = next slot to write, n = samples held), and a hash index of ids to
 * positions (idx.h): a report arrives every few seconds per server, 200 a
 * second at 1,000 servers, and a linear search made that O(N^2) a report
 * interval. Removing a server moves the last one into its slot, which is
 * why rhist_id's order is arrival order only until a removal.
 *
 * Thread: the owner (the scheduler core).
 * Invariants: 0 <= n <= RHIST_POINTS; 0 <= head < RHIST_POINTS; every server
 * has a non-empty, unique id; nsrv <= RHIST_SERVERS_MAX. */
#include "rhist.h"
#include "idx.h"
#include "mcm.h"

#include <stdlib.h>
#include <string.h>

typedef struct rh_server {
    char *id;
    rhist_sample ring[RHIST_POINTS];
    int head, n;
    uint64_t last_evictions;        /* the previous report's counter */
} rh_server;

struct rhist {
    rh_server **srv;
    int nsrv, cap;
    idx *ix;
};

static const char *key(void *ctx, int i) { return ((rhist *)ctx)->srv[i]->id; }

rhist *rhist_new(void) {
    rhist *h = calloc(1, sizeof(rhist));
    if (h && !(h->ix = idx_new(key, h))) {
        free(h);
        return NULL;
    }
    return h;
}

static void server_free(rh_server *s) {
    if (!s) return;
    free(s->id);
    free(s);
}

void rhist_clear(rhist *h) {
    if (!h) return;
    for (int i = 0; i < h->nsrv; i++) server_free(h->srv[i]);
    h->nsrv = 0;
    idx_clear(h->ix);
}

void rhist_free(rhist *h) {
    if (!h) return;
    rhist_clear(h);
    free(h->srv);
    idx_free(h->ix);
    free(h);
}

static int find(const rhist *h, const char *id) { return idx_find(h->ix, id); }

static rh_server *server_add(rhist *h, const char *id) {
    if (h->nsrv >= RHIST_SERVERS_MAX) return NULL;
    if (h->nsrv == h->cap) {
        int cap = h->cap ? h->cap * 2 : 8;
        rh_server **v = realloc(h->srv, (size_t)cap * sizeof(*v));
        if (!v) return NULL;
        h->srv = v;
        h->cap = cap;
    }
    rh_server *s = calloc(1, sizeof(*s));
    if (s) s->id = strdup(id);
    if (!s || !s->id) {
        server_free(s);
        return NULL;
    }
    h->srv[h->nsrv] = s;
    if (idx_add(h->ix, s->id, h->nsrv, h->nsrv + 1) != MCM_OK) {
        server_free(s);
        return NULL;
    }
    h->nsrv++;
    return s;
}

static const rhist_sample *newest(const rh_server *s) {
    return s->n ? &s->ring[(s->head + RHIST_POINTS - 1) % RHIST_POINTS] : NULL;
}

static double eviction_rate(const rh_server *s, const report *r) {
    const rhist_sample *last = newest(s);
    if (!last || r->evictions < s->last_evictions || r->time_ms <= last->t_ms) return -1;
    return (double)(r->evictions - s->last_evictions) * 1000.0 / (double)(r->time_ms - last->t_ms);
}

int rhist_add(rhist *h, const char *task_id, const report *r) {
    if (!h || !task_id || !task_id[0] || !r) return MCM_ERR;
    int i = find(h, task_id);
    rh_server *s = i >= 0 ? h->srv[i] : server_add(h, task_id);
    if (!s) return MCM_ERR;
    const rhist_sample *last = newest(s);
    if (last && r->time_ms <= last->t_ms) return MCM_OK;      /* the same report again */
    uint64_t lookups = r->get_hits + r->get_misses;
    rhist_sample smp = {r->time_ms, r->bytes, r->limit_maxbytes,
                        lookups ? (double)r->get_hits / (double)lookups : -1, eviction_rate(s, r)};
    s->ring[s->head] = smp;
    s->head = (s->head + 1) % RHIST_POINTS;
    if (s->n < RHIST_POINTS) s->n++;
    s->last_evictions = r->evictions;
    return MCM_OK;
}

static void remove_at(rhist *h, int i) {
    idx_remove(h->ix, h->srv[i]->id);
    server_free(h->srv[i]);
    h->srv[i] = h->srv[--h->nsrv];
    if (i != h->nsrv) idx_moved(h->ix, h->srv[i]->id, i);
}

void rhist_forget(rhist *h, const char *task_id) {
    int i = h && task_id ? find(h, task_id) : -1;
    if (i >= 0) remove_at(h, i);
}

void rhist_retain(rhist *h, int (*keep)(void *ctx, const char *task_id), void *ctx) {
    if (!h) return;
    for (int i = h->nsrv - 1; i >= 0; i--)
        if (!keep(ctx, h->srv[i]->id)) remove_at(h, i);
}

int rhist_count(const rhist *h) { return h ? h->nsrv : 0; }

const char *rhist_id(const rhist *h, int i) { return h && i >= 0 && i < h->nsrv ? h->srv[i]->id : NULL; }

int rhist_samples(const rhist *h, const char *task_id, rhist_sample *out, int max) {
    int i = h && task_id ? find(h, task_id) : -1;
    if (i < 0 || max <= 0) return 0;
    const rh_server *s = h->srv[i];
    int n = s->n < max ? s->n : max;
    int first = (s->head + RHIST_POINTS - n) % RHIST_POINTS;   /* the newest n, oldest first */
    for (int k = 0; k < n; k++) out[k] = s->ring[(first + k) % RHIST_POINTS];
    return n;
}
