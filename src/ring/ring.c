/* ring.c -- libketama's consistent hashing ring (see ring.h for the algorithm).
 *
 * What: builds the sorted array of RING_POINTS_PER_SERVER points per server
 * and answers "who owns this key" by binary search, the way libketama's
 * ketama_get_server and libmemcached's dispatch_host do.
 *
 * Why this shape: a flat sorted array of (point, server) is what every
 * ketama client builds; lookups are O(log points) with no allocation, so the
 * executor can ask for every key it walks. The server names are copied into
 * one block owned by the ring, so a built ring is a single immutable value.
 *
 * Layout:
 *   names  [n] pointers into `text`, in the caller's order (ring_owner
 *          returns indexes into this order)
 *   text   "host:port\0host:port\0..."
 *   pts    [n * 160] {point, server}, sorted by point, then by server name
 *
 * Threads: any; nothing is shared and a built ring is never written again.
 * Invariants: pts is sorted (point, name); npts == n * RING_POINTS_PER_SERVER;
 * names are distinct (ring_new refuses duplicates). */
#include "ring.h"
#include "srvlist.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MD5_LEN 16
#define HASH_SPACE 4294967296.0      /* 2^32: the ring's circumference */

typedef struct ring_point {
    uint32_t point;
    int server;
} ring_point;

struct ring {
    int n;
    const char **names;
    char *text;
    ring_point *pts;
    size_t npts;
};

/* 0, or -1 if libcrypto refuses MD5 (a FIPS-only configuration); ring_new
 * checks once, so a failure later cannot happen and gives a zero digest. */
static int md5(const void *data, size_t len, unsigned char out[MD5_LEN]) {
    unsigned int olen = MD5_LEN;
    if (EVP_Digest(data, len, out, &olen, EVP_md5(), NULL) && olen == MD5_LEN) return 0;
    memset(out, 0, MD5_LEN);
    return -1;
}

static uint32_t le32(const unsigned char *d) {
    return (uint32_t)d[3] << 24 | (uint32_t)d[2] << 16 | (uint32_t)d[1] << 8 | d[0];
}

uint32_t ring_hash(const void *key, size_t len) {
    unsigned char d[MD5_LEN];
    (void)md5(key, len, d);
    return le32(d);
}

/* Ties between equal points are broken by server name. qsort has no context
 * argument (and a static one would not be thread-safe), so while sorting each
 * point carries its server's name; only (point, server) is kept. */
typedef struct sort_ctx {
    ring_point p;
    const char *name;
} sort_ctx;

static int cmp_sort(const void *a, const void *b) {
    const sort_ctx *x = a, *y = b;
    if (x->p.point != y->p.point) return x->p.point < y->p.point ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* Checks the names (non-empty, not over-long, distinct); on success *total
 * is the bytes `text` needs. */
static int check_names(const char *const *servers, int n, size_t *total, char *err, size_t errlen) {
    *total = 0;
    for (int i = 0; i < n; i++) {
        size_t len = servers[i] ? strlen(servers[i]) : 0;
        if (len == 0 || len > RING_SERVER_MAX) {
            snprintf(err, errlen, "server %d: %s name", i, len ? "over-long" : "empty");
            return -1;
        }
        *total += len + 1;
    }
    if (n < 2) return 0;
    const char **sorted = malloc((size_t)n * sizeof(*sorted));
    if (!sorted) {
        snprintf(err, errlen, "out of memory building a ring of %d servers", n);
        return -1;
    }
    memcpy(sorted, servers, (size_t)n * sizeof(*sorted));
    qsort(sorted, (size_t)n, sizeof(*sorted), cmp_str);
    int rc = 0;
    for (int i = 1; i < n && rc == 0; i++) {
        if (strcmp(sorted[i - 1], sorted[i]) == 0) {
            snprintf(err, errlen, "server %s is listed twice", sorted[i]);
            rc = -1;
        }
    }
    free(sorted);
    return rc;
}

static int copy_names(ring *r, const char *const *servers, size_t total) {
    r->names = calloc((size_t)(r->n ? r->n : 1), sizeof(*r->names));
    r->text = malloc(total ? total : 1);
    if (!r->names || !r->text) return -1;
    char *p = r->text;
    for (int i = 0; i < r->n; i++) {
        size_t len = strlen(servers[i]) + 1;
        memcpy(p, servers[i], len);
        r->names[i] = p;
        p += len;
    }
    return 0;
}

/* The 4 points of digest i of server s, into out[0..3]. */
static void server_points(const ring *r, int s, int i, sort_ctx *out) {
    char name[RING_SERVER_MAX + 16];
    unsigned char d[MD5_LEN];
    int len = snprintf(name, sizeof(name), "%s-%d", r->names[s], i);
    (void)md5(name, (size_t)len, d);     /* MD5 was probed by ring_new */
    for (int h = 0; h < RING_POINTS_PER_DIGEST; h++)
        out[h] = (sort_ctx){{le32(d + 4 * h), s}, r->names[s]};
}

static int build_points(ring *r) {
    r->npts = (size_t)r->n * RING_POINTS_PER_SERVER;
    if (r->npts == 0) return 0;
    sort_ctx *tmp = malloc(r->npts * sizeof(*tmp));
    r->pts = malloc(r->npts * sizeof(*r->pts));
    if (!tmp || !r->pts) {
        free(tmp);
        return -1;
    }
    for (int s = 0; s < r->n; s++)
        for (int i = 0; i < RING_DIGESTS_PER_SERVER; i++)
            server_points(r, s, i, tmp + ((size_t)s * RING_DIGESTS_PER_SERVER + (size_t)i) * RING_POINTS_PER_DIGEST);
    qsort(tmp, r->npts, sizeof(*tmp), cmp_sort);
    for (size_t k = 0; k < r->npts; k++) r->pts[k] = tmp[k].p;
    free(tmp);
    return 0;
}

ring *ring_new(const char *const *servers, int n, char *err, size_t errlen) {
    size_t total;
    if (n < 0 || n > RING_MAX_SERVERS || (n > 0 && !servers)) {
        snprintf(err, errlen, "%d servers: out of range 0..%d", n, RING_MAX_SERVERS);
        return NULL;
    }
    if (check_names(servers, n, &total, err, errlen) != 0) return NULL;
    unsigned char probe[MD5_LEN];
    if (md5("", 0, probe) != 0) {
        snprintf(err, errlen, "libcrypto refuses MD5 (FIPS-only configuration?): the ring needs it");
        return NULL;
    }
    ring *r = calloc(1, sizeof(*r));
    if (!r) goto oom;
    r->n = n;
    if (copy_names(r, servers, total) != 0 || build_points(r) != 0) goto oom;
    return r;
oom:
    ring_free(r);
    snprintf(err, errlen, "out of memory building a ring of %d servers", n);
    return NULL;
}

/* 1 if entry i repeats the host:port of entry i-1 (in a sorted list, the
 * only place a repeat can be). */
static int repeats(const srvlist *l, int i) {
    if (i == 0) return 0;
    const srv_entry *a = &l->servers[i - 1], *b = &l->servers[i];
    return a->port == b->port && strcmp(a->host, b->host) == 0;
}

ring *ring_from_srvlist(const srvlist *l, char *err, size_t errlen) {
    char **names = calloc((size_t)(l->n ? l->n : 1), sizeof(*names));
    ring *r = NULL;
    int n = 0;
    if (!names) goto oom;
    for (int i = 0; i < l->n; i++) {
        if (repeats(l, i)) continue;
        if (asprintf(&names[n], "%s:%d", l->servers[i].host, l->servers[i].port) < 0) goto oom;
        n++;
    }
    r = ring_new((const char *const *)names, n, err, errlen);
    goto out;
oom:
    snprintf(err, errlen, "out of memory building a ring of %d servers", l->n);
out:
    for (int j = 0; names && j < n; j++) free(names[j]);
    free(names);
    return r;
}

void ring_free(ring *r) {
    if (!r) return;
    free(r->names);
    free(r->text);
    free(r->pts);
    free(r);
}

int ring_count(const ring *r) { return r->n; }

const char *ring_server(const ring *r, int i) { return i >= 0 && i < r->n ? r->names[i] : NULL; }

int ring_find(const ring *r, const char *name) {
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->names[i], name) == 0) return i;
    return -1;
}

/* Index into pts of the first point >= h, wrapping to 0 past the end. */
static size_t point_at_or_after(const ring *r, uint32_t h) {
    size_t lo = 0, hi = r->npts;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->pts[mid].point < h) lo = mid + 1;
        else hi = mid;
    }
    return lo == r->npts ? 0 : lo;
}

int ring_owner(const ring *r, const void *key, size_t len) {
    if (r->npts == 0) return -1;
    return r->pts[point_at_or_after(r, ring_hash(key, len))].server;
}

const char *ring_owner_name(const ring *r, const void *key, size_t len) {
    return ring_server(r, ring_owner(r, key, len));
}

/* A point owns the hashes after the previous point up to itself; the first
 * point also owns everything after the last one (the wrap). */
double ring_share(const ring *r, int i) {
    double owned = 0;
    if (i < 0 || i >= r->n) return 0;
    for (size_t k = 0; k < r->npts; k++) {
        if (r->pts[k].server != i) continue;
        if (k == 0) owned += (double)r->pts[0].point + HASH_SPACE - (double)r->pts[r->npts - 1].point;
        else owned += (double)(r->pts[k].point - r->pts[k - 1].point);
    }
    return owned / HASH_SPACE;
}
