/* ketama_ref.c -- libketama's consistent hashing ring (see ketama_ref.h).
 * Shape: a sorted array of (point, server) and a binary search, as
 * libketama's ketama_get_server does. Threads: none shared. */
#include "ketama_ref.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_LIBCRYPTO
#include <openssl/evp.h>
#endif

typedef struct kpoint {
    uint32_t point;
    int server;
} kpoint;

struct ketama_ref {
    kpoint *p;
    int n;
};

#ifdef HAVE_LIBCRYPTO
static void md5(const char *s, size_t len, unsigned char out[16]) {
    unsigned int olen = 16;
    EVP_Digest(s, len, out, &olen, EVP_md5(), NULL);
}

static uint32_t le32(const unsigned char *d) {
    return (uint32_t)d[3] << 24 | (uint32_t)d[2] << 16 | (uint32_t)d[1] << 8 | d[0];
}

static int cmp_point(const void *a, const void *b) {
    const kpoint *x = a, *y = b;
    return x->point < y->point ? -1 : x->point > y->point;
}

ketama_ref *ketama_ref_new(const char *const *servers, int n) {
    ketama_ref *k = calloc(1, sizeof(*k));
    if (!k || n <= 0 || !(k->p = calloc((size_t)n * 160, sizeof(*k->p)))) {
        ketama_ref_free(k);
        return NULL;
    }
    for (int s = 0; s < n; s++) {
        for (int i = 0; i < 40; i++) {   /* floorf(pct * 40 * n) digests: 40 at equal weights */
            char name[300];
            unsigned char d[16];
            int len = snprintf(name, sizeof(name), "%s-%d", servers[s], i);
            md5(name, (size_t)len, d);
            for (int h = 0; h < 4; h++) k->p[k->n++] = (kpoint){le32(d + 4 * h), s};
        }
    }
    qsort(k->p, (size_t)k->n, sizeof(*k->p), cmp_point);
    return k;
}

int ketama_ref_server(const ketama_ref *k, const char *key, size_t len) {
    unsigned char d[16];
    md5(key, len, d);
    uint32_t h = le32(d);
    int lo = 0, hi = k->n;   /* first point >= h */
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (k->p[mid].point < h) lo = mid + 1;
        else hi = mid;
    }
    return k->p[lo == k->n ? 0 : lo].server;
}
/* A point owns the hashes after the previous point up to itself; the first
 * point also owns everything after the last one (the wrap). */
double ketama_ref_share(const ketama_ref *k, int s) {
    double owned = 0;
    for (int i = 0; i < k->n; i++) {
        if (k->p[i].server != s) continue;
        if (i == 0) owned += (double)k->p[0].point + 4294967296.0 - (double)k->p[k->n - 1].point;
        else owned += (double)(k->p[i].point - k->p[i - 1].point);
    }
    return owned / 4294967296.0;
}
#else
ketama_ref *ketama_ref_new(const char *const *servers, int n) {
    (void)servers;
    (void)n;
    return NULL;
}

int ketama_ref_server(const ketama_ref *k, const char *key, size_t len) {
    (void)k;
    (void)key;
    (void)len;
    return -1;
}

double ketama_ref_share(const ketama_ref *k, int s) {
    (void)k;
    (void)s;
    return -1;
}
#endif

void ketama_ref_free(ketama_ref *k) {
    if (!k) return;
    free(k->p);
    free(k);
}
