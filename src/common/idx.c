/* idx.c -- hash index of ids to array positions (see idx.h).
 *
 * Open addressing with linear probing, FNV-1a, at most half full, the size a
 * power of two. Removal shifts back the entries that probed past the freed
 * slot (no tombstones), so a table that churns stays as fast as a new one.
 * Invariant: slot[h] is -1 or a position whose id probes through h. */
#include "idx.h"
#include "mcm.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct idx {
    idx_key_fn key;
    void *ctx;
    int *slot;          /* nslots entries, -1 = free */
    size_t nslots;      /* 0 or a power of two */
};

idx *idx_new(idx_key_fn key, void *ctx) {
    idx *x = calloc(1, sizeof(*x));
    if (!x) return NULL;
    x->key = key;
    x->ctx = ctx;
    return x;
}

void idx_free(idx *x) {
    if (!x) return;
    free(x->slot);
    free(x);
}

void idx_clear(idx *x) {
    for (size_t i = 0; i < x->nslots; i++) x->slot[i] = -1;
}

static size_t hash(const char *id) { return (size_t)util_fnv1a(UTIL_FNV1A_INIT, id, strlen(id)); }

/* The slot holding id, or the free slot where it would go. nslots > 0. */
static size_t probe(const idx *x, const char *id) {
    size_t mask = x->nslots - 1, h = hash(id) & mask;
    while (x->slot[h] >= 0 && strcmp(x->key(x->ctx, x->slot[h]), id) != 0) h = (h + 1) & mask;
    return h;
}

int idx_find(const idx *x, const char *id) {
    if (!x->nslots || !id) return -1;
    return x->slot[probe(x, id)];
}

/* A table of nslots for the positions old held. */
static int rehash(idx *x, size_t nslots) {
    int *old = x->slot, *slot = malloc(sizeof(*slot) * nslots);
    size_t nold = x->nslots;
    if (!slot) return MCM_ERR;
    for (size_t i = 0; i < nslots; i++) slot[i] = -1;
    x->slot = slot;
    x->nslots = nslots;
    for (size_t i = 0; i < nold; i++)
        if (old[i] >= 0) x->slot[probe(x, x->key(x->ctx, old[i]))] = old[i];
    free(old);
    return MCM_OK;
}

int idx_add(idx *x, const char *id, int i, int n) {
    if ((size_t)n * 2 > x->nslots && rehash(x, x->nslots ? x->nslots * 2 : 32) != MCM_OK) return MCM_ERR;
    x->slot[probe(x, id)] = i;
    return MCM_OK;
}

void idx_remove(idx *x, const char *id) {
    if (!x->nslots || !id) return;
    size_t mask = x->nslots - 1, h = probe(x, id), j = h;
    if (x->slot[h] < 0) return;
    x->slot[h] = -1;
    for (;;) {
        j = (j + 1) & mask;
        if (x->slot[j] < 0) return;
        size_t home = hash(x->key(x->ctx, x->slot[j])) & mask;
        /* j's entry stays unless its home lies cyclically outside (h, j] */
        int stays = h <= j ? (h < home && home <= j) : (h < home || home <= j);
        if (stays) continue;
        x->slot[h] = x->slot[j];
        x->slot[j] = -1;
        h = j;
    }
}

void idx_moved(idx *x, const char *id, int to) {
    if (!x->nslots || !id) return;
    size_t h = probe(x, id);
    if (x->slot[h] >= 0) x->slot[h] = to;
}
