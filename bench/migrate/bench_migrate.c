/* bench_migrate.c -- what the copy engine of warm transitions (src/migrate)
 * moves per second, and what it costs the clients of the source server.
 *
 * Three real memcached servers A, B, C (loopback, -t 2). A holds every key
 * and leaves the ring: R' = {B, C}, so every key of A moves (the engine's
 * own owner decision, mcm's ring, splits them between B and C).
 *   big     `keys` keys of `value` bytes on A; one copy with no rate limit:
 *           keys/s and MB/s of the whole phase (metadump walk, sort, mg on
 *           A, ms on B and C); then the same copy again at the default rate
 *           (MIG_DEFAULT_RATE) while a client reads random keys from A one
 *           request at a time: its p99 before the copy, during it and after
 *           it (steady state: the better of before and after).
 *   small   `small` keys, one copy at the default rate: the time a
 *           transition of a 20,000-key server takes.
 * Every copied key is then checked on its new owner (count only), so a copy
 * that silently dropped keys cannot report a figure.
 *
 * Usage: bench_migrate [keys (1000000)] [small (20000)] [value bytes (100)]
 *                      [rate B/s of the measured copies (MIG_DEFAULT_RATE)]
 * Last line: name=value pairs.
 * Threads: the main thread runs the engine; one client thread measures. */
#include "mig.h"
#include "mig_conn.h"
#include "ring.h"
#include "tmc.h"

#include "harness.h"
#include "mcm.h"
#include "util.h"

#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IO_MS 10000
#define STEADY_MS 3000
#define MAX_SAMPLES 2000000

static int nkeys = 1000000, nsmall = 20000, vlen = 100;
static uint64_t rate = MIG_DEFAULT_RATE;     /* the measured copies */

static mig_conn *conn(const char *addr) {
    char err[256];
    mig_conn *c = mig_conn_open(addr, IO_MS, err, sizeof(err));
    ck_assert_msg(c != NULL, "%s", err);
    return c;
}

static void key_name(const char *prefix, int i, char *buf, size_t len) { snprintf(buf, len, "%s:%08d", prefix, i); }

static void load(const char *addr, const char *prefix, int n) {
    mig_conn *c = conn(addr);
    char *v = malloc((size_t)vlen), k[32];
    memset(v, 'v', (size_t)vlen);
    mig_reply r;
    for (int i = 0; i < n; i++) {
        mig_key t;
        key_name(prefix, i, k, sizeof(k));
        mig_key_token(k, strlen(k), &t);
        ck_assert_int_eq(mig_conn_ms(c, &t, v, (size_t)vlen, "q"), MCM_OK);
        if (i % 10000 == 9999 || i == n - 1) {
            mig_conn_mn(c);
            ck_assert_msg(mig_conn_reply(c, &r) == MCM_OK && r.rc == MIG_RC_MN, "load: %s %s",
                          mig_conn_errstr(c), r.msg);
        }
    }
    free(v);
    mig_conn_free(c);
}

/* Keys of `prefix` found on their owner under R' = {B, C}. */
static int count_on_owners(const char *const *rp, const char *prefix, int n) {
    char err[256];
    ring *r = ring_new(rp, 2, err, sizeof(err));
    mig_conn *c[2] = {conn(rp[0]), conn(rp[1])};
    int hits = 0;
    for (int from = 0; from < n; from += 1000) {
        int to = from + 1000 < n ? from + 1000 : n, owner[1000];
        for (int i = from; i < to; i++) {
            char k[32];
            mig_key t;
            key_name(prefix, i, k, sizeof(k));
            mig_key_token(k, strlen(k), &t);
            owner[i - from] = ring_owner(r, k, strlen(k));
            mig_conn_mg(c[owner[i - from]], &t, "u");
        }
        for (int i = from; i < to; i++) {
            mig_reply rep;
            ck_assert_int_eq(mig_conn_reply(c[owner[i - from]], &rep), MCM_OK);
            hits += rep.rc == MIG_RC_HD;
        }
    }
    mig_conn_free(c[0]);
    mig_conn_free(c[1]);
    ring_free(r);
    return hits;
}

/* --- the client on the source -------------------------------------------------- */

typedef struct client {
    const char *addr;
    atomic_int stop, phase;          /* 0: steady before, 1: during the copy, 2: steady after */
    double *lat[3];
    int n[3];
} client;

static void *client_main(void *arg) {
    client *cl = arg;
    mig_conn *c = conn(cl->addr);
    unsigned seed = 1;
    while (!atomic_load(&cl->stop)) {
        int ph = atomic_load(&cl->phase);
        char k[32];
        mig_key t;
        key_name("big", (int)(rand_r(&seed) % (unsigned)nkeys), k, sizeof(k));
        mig_key_token(k, strlen(k), &t);
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        mig_reply r;
        mig_conn_mg(c, &t, "v");
        if (mig_conn_reply(c, &r) != MCM_OK) break;
        clock_gettime(CLOCK_MONOTONIC, &b);
        double us = (double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3;
        if (cl->n[ph] < MAX_SAMPLES) cl->lat[ph][cl->n[ph]++] = us;
    }
    mig_conn_free(c);
    return NULL;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double p99(double *v, int n) {
    if (n == 0) return 0;
    qsort(v, (size_t)n, sizeof(*v), cmp);
    int i = (int)((99.0 * n + 99) / 100) - 1;
    return v[i < 0 ? 0 : i >= n ? n - 1 : i];
}

/* --- runs ---------------------------------------------------------------------- */

typedef struct copy_fig {
    double seconds;
    uint64_t keys, bytes, errors;
} copy_fig;

static copy_fig copy_once(const char *src, const char *const *rp, uint64_t rate) {
    mig_config cfg = {.source = src, .servers = rp, .nservers = 2, .self = -1, .rate = rate,
                      .budget_ms = 3600 * 1000, .io_timeout_ms = IO_MS};
    char err[256];
    mig *m = mig_new(&cfg, err, sizeof(err));
    ck_assert_msg(m != NULL, "%s", err);
    int64_t t0 = util_now_ms();
    ck_assert_msg(mig_copy(m, err, sizeof(err)) == MCM_OK, "copy: %s", err);
    copy_fig f = {.seconds = (double)(util_now_ms() - t0) / 1000.0};
    mig_progress p;
    mig_progress_get(m, &p);
    f.keys = p.keys_copied;
    f.bytes = p.bytes_copied;
    f.errors = p.errors;
    mig_free(m);
    return f;
}

START_TEST(bench_run) {
    tmc *a = tmc_start(1024), *b = tmc_start(1024), *c = tmc_start(1024);
    const char *rp[2] = {tmc_addr(b), tmc_addr(c)};
    printf("servers: source %s, R' = {%s, %s}; %d keys of %d bytes, then %d keys\n", tmc_addr(a), rp[0], rp[1],
           nkeys, vlen, nsmall);
    int64_t t0 = util_now_ms();
    load(tmc_addr(a), "big", nkeys);
    printf("loaded %d keys in %.1f s\n", nkeys, (double)(util_now_ms() - t0) / 1000.0);
    fflush(stdout);

    copy_fig fast = copy_once(tmc_addr(a), rp, 0);
    int found = count_on_owners(rp, "big", nkeys);
    ck_assert_int_eq(found, nkeys);
    ck_assert_uint_eq(fast.keys, (uint64_t)nkeys);
    double kps = (double)fast.keys / fast.seconds, mbps = (double)fast.bytes / fast.seconds / 1e6;
    printf("unlimited copy: %llu keys, %.1f MB in %.2f s: %.0f keys/s, %.1f MB/s; all %d on their new owner\n",
           (unsigned long long)fast.keys, (double)fast.bytes / 1e6, fast.seconds, kps, mbps, found);
    fflush(stdout);

    client cl = {.addr = tmc_addr(a)};
    cl.lat[0] = malloc(MAX_SAMPLES * sizeof(double));
    cl.lat[1] = malloc(MAX_SAMPLES * sizeof(double));
    cl.lat[2] = malloc(MAX_SAMPLES * sizeof(double));
    pthread_t th;
    pthread_create(&th, NULL, client_main, &cl);
    util_sleep_ms(STEADY_MS);
    atomic_store(&cl.phase, 1);
    copy_fig dflt = copy_once(tmc_addr(a), rp, rate);
    atomic_store(&cl.phase, 2);
    util_sleep_ms(STEADY_MS);
    atomic_store(&cl.stop, 1);
    pthread_join(th, NULL);
    /* steady state: the better of before and after (the machine is shared:
     * the ratio is then the conservative one) */
    double p_before = p99(cl.lat[0], cl.n[0]), p_after = p99(cl.lat[2], cl.n[2]);
    double p_steady = p_before < p_after ? p_before : p_after, p_copy = p99(cl.lat[1], cl.n[1]);
    printf("rate-limited (%llu B/s) copy: %llu keys in %.2f s (%.1f MB/s)\n", (unsigned long long)rate,
           (unsigned long long)dflt.keys, dflt.seconds, (double)dflt.bytes / dflt.seconds / 1e6);
    printf("client on the source, one get at a time: p99 %.0f us before (%d gets), %.0f us during the copy "
           "(%d gets), %.0f us after (%d gets): x%.2f of the better steady figure\n", p_before, cl.n[0], p_copy,
           cl.n[1], p_after, cl.n[2], p_steady > 0 ? p_copy / p_steady : 0);
    fflush(stdout);

    /* the small set: a fresh source */
    tmc *d = tmc_start(256);
    load(tmc_addr(d), "small", nsmall);
    copy_fig alone = copy_once(tmc_addr(d), rp, rate);
    ck_assert_int_eq(count_on_owners(rp, "small", nsmall), nsmall);
    printf("copy of a server with %d keys at the same rate: %llu keys in %.3f s\n", nsmall,
           (unsigned long long)alone.keys, alone.seconds);
    printf("keys=%d value_bytes=%d copy_keys_per_s=%.0f copy_mb_per_s=%.1f copy_s=%.2f rate_b_per_s=%llu "
           "rate_copy_s=%.2f small_keys=%d small_copy_s=%.3f p99_steady_us=%.0f p99_copy_us=%.0f "
           "p99_ratio=%.2f errors=%llu\n",
           nkeys, vlen, kps, mbps, fast.seconds, (unsigned long long)rate, dflt.seconds, nsmall, alone.seconds, p_steady,
           p_copy, p_steady > 0 ? p_copy / p_steady : 0,
           (unsigned long long)(fast.errors + dflt.errors + alone.errors));
    free(cl.lat[0]);
    free(cl.lat[1]);
    free(cl.lat[2]);
    tmc_free(d);
    tmc_free(a);
    tmc_free(b);
    tmc_free(c);
}
END_TEST

int main(int argc, char **argv) {
    if (argc > 1) nkeys = atoi(argv[1]);
    if (argc > 2) nsmall = atoi(argv[2]);
    if (argc > 3) vlen = atoi(argv[3]);
    if (argc > 4) rate = strtoull(argv[4], NULL, 10);
    if (nkeys < 1 || nsmall < 1 || vlen < 1) {
        fprintf(stderr, "usage: bench_migrate [keys] [small keys] [value bytes]\n");
        return 2;
    }
    return th_run_alone("bench_migrate", bench_run) ? 1 : 0;
}
