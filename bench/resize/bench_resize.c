/* bench_resize.c -- what growing the fleet from 4 to 5 servers costs a client
 * that hashes keys over the published list with ketama.
 *
 * Starts a loopback installation (tests/integration/cluster.h: real
 * ZooKeeper, mcm-sim with 5 agents, three mcm-scheduler replicas, real
 * memcached through mcm-executor) with 4 servers and autoscaling off. A
 * libmemcached client built from a follower's /v1/servers runs a steady
 * read-mostly load over a fixed key set, cache-aside: each batch is one
 * `mget`; a miss is written back (`set`), and one key in WRITE_EVERY is
 * overwritten as well. Keys are read in order, so one pass touches each once.
 *   before  PHASE seconds on 4 servers.
 *   during  POST /v1/scale {"instances":5} to the leader; the load goes on
 *           over the old list until the follower publishes 5 servers, then
 *           the client is rebuilt over the new list (as a client driven by
 *           mcm-watch would) and the phase ends after one full pass over
 *           every key: each key that moved misses exactly once.
 *   after   PHASE seconds on 5 servers.
 * The fraction of keys that moved is computed with the client's own mapping
 * (memcached_server_by_key before and after) and printed next to the ideal
 * 1/(N+1), with the hit ratio of each phase and a per-second timeline.
 *
 * The client: MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED. Plain
 * MEMCACHED_BEHAVIOR_KETAMA (= MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA) puts
 * 100 points per server on the ring, one per hash of "host:port-i" with the
 * key hash (default one-at-a-time), which is not libketama's ring.
 * KETAMA_WEIGHTED sets MD5 for keys and points and 160 points per server,
 * four per MD5 digest of "host:port-i": libketama's algorithm (ports other
 * than 11211; libmemcached drops ":11211" from the name). The bench checks
 * the client against mcm's own ring (src/ring, RING_NAME: what the executor
 * and mcm-watch --owner use) and prints how many keys both map to the same
 * server; libmemcached is the independent implementation of the two.
 *
 * Usage: bench_resize [keys (20000)] [phase seconds (10)]
 * Last line: name=value pairs, starting with moved=<fraction> ideal=<fraction>. */
#include "cluster.h"
#include "harness.h"
#include "ring.h"

#include <check.h>
#include <libmemcached/memcached.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FROM 4
#define TO 5
#define VALUE_SIZE 100
#define BATCH 100
#define WRITE_EVERY 10
#define MAX_SRV 8
#define MAX_SECONDS 600

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* The harness reports failures through Check, so the benchmark runs as one
 * Check test (not forked); a failure stops it with the reason and the logs'
 * place (they are kept: it_stop is not reached). */
static void die(it_cluster *c, const char *what) {
    ck_abort_msg("%s (logs in %s)", what, it_dir(c));
}

/* --- a client over one published list --------------------------------------------- */

typedef struct client {
    memcached_st *mc;
    memcached_result_st res_s;     /* caller-owned: memcached_fetch_result frees an allocated one at the end */
    memcached_result_st *res;
    int n;
    char name[MAX_SRV][64];        /* "host:port", in the list's order */
} client;

static int client_open(client *r, json_t *doc) {
    memset(r, 0, sizeof(*r));
    r->mc = memcached_create(NULL);
    if (!r->mc) return -1;
    if (memcached_behavior_set(r->mc, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1) != MEMCACHED_SUCCESS) return -1;
    memcached_behavior_set(r->mc, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, 2000);
    memcached_behavior_set(r->mc, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, 2000);
    memcached_behavior_set(r->mc, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
    json_t *arr = json_object_get(doc, "servers");
    for (size_t i = 0; i < json_array_size(arr) && r->n < MAX_SRV; i++) {
        json_t *e = json_array_get(arr, i);
        const char *host = json_string_value(json_object_get(e, "host"));
        int port = (int)json_integer_value(json_object_get(e, "port"));
        if (!host || memcached_server_add_with_weight(r->mc, host, (in_port_t)port, 1) != MEMCACHED_SUCCESS) return -1;
        snprintf(r->name[r->n++], sizeof(r->name[0]), "%s:%d", host, port);
    }
    if (memcached_behavior_get_distribution(r->mc) != MEMCACHED_DISTRIBUTION_CONSISTENT_WEIGHTED ||
        memcached_behavior_get_key_hash(r->mc) != MEMCACHED_HASH_MD5)
        return -1;
    r->res = memcached_result_create(r->mc, &r->res_s);
    return r->res ? 0 : -1;
}

static void client_close(client *r) {
    if (r->res) memcached_result_free(r->res);
    if (r->mc) memcached_free(r->mc);
    memset(r, 0, sizeof(*r));
}

/* "host:port" of the server the client sends key to. */
static void client_server(client *r, const char *key, char *out, size_t len) {
    memcached_return_t rc;
    const memcached_instance_st *s = memcached_server_by_key(r->mc, key, strlen(key), &rc);
    if (s) snprintf(out, len, "%s:%d", memcached_server_name(s), (int)memcached_server_port(s));
    else snprintf(out, len, "?");
}

/* --- the load ------------------------------------------------------------------- */

typedef struct counts {
    uint64_t gets, hits, sets, errors;
} counts;

typedef struct load {
    int keys;
    int next;                      /* next key to read */
    int64_t t0;                    /* mono ms of the start */
    counts total;
    counts sec[MAX_SECONDS];       /* per second since t0 */
    int servers_at[MAX_SECONDS];   /* ring size used in that second */
} load;

static void key_of(int i, char *out, size_t len) { snprintf(out, len, "resize-%07d", i); }

static void value_of(int i, char *out) {
    int n = snprintf(out, VALUE_SIZE + 1, "value-%07d-", i);
    memset(out + n, 'x', (size_t)(VALUE_SIZE - n));
    out[VALUE_SIZE] = 0;
}

static void add(counts *a, const counts *b) {
    a->gets += b->gets;
    a->hits += b->hits;
    a->sets += b->sets;
    a->errors += b->errors;
}

static int set_key(client *r, int i) {
    char k[32], v[VALUE_SIZE + 1];
    key_of(i, k, sizeof(k));
    value_of(i, v);
    return memcached_set(r->mc, k, strlen(k), v, VALUE_SIZE, 0, 0) == MEMCACHED_SUCCESS ? 0 : -1;
}

/* Reads keys [first, first+n) with one mget, fills `hit`; counts into b. */
static void read_batch(client *r, int first, int n, int *hit, counts *b) {
    char kb[BATCH][32], v[VALUE_SIZE + 1];
    const char *keys[BATCH];
    size_t lens[BATCH];
    memcached_return_t rc;
    for (int j = 0; j < n; j++) {
        key_of(first + j, kb[j], sizeof(kb[j]));
        keys[j] = kb[j];
        lens[j] = strlen(kb[j]);
        hit[j] = 0;
    }
    b->gets += (uint64_t)n;
    if (memcached_mget(r->mc, keys, lens, (size_t)n) != MEMCACHED_SUCCESS) {
        b->errors++;
        return;
    }
    while (memcached_fetch_result(r->mc, r->res, &rc)) {
        const char *k = memcached_result_key_value(r->res);
        int i = atoi(k + strlen("resize-")) - first;
        value_of(first + (i >= 0 && i < n ? i : 0), v);
        if (i < 0 || i >= n || memcached_result_length(r->res) != VALUE_SIZE ||
            memcmp(memcached_result_value(r->res), v, VALUE_SIZE) != 0) {
            b->errors++;
            continue;
        }
        hit[i] = 1;
    }
    if (rc != MEMCACHED_END && rc != MEMCACHED_SUCCESS && rc != MEMCACHED_NOTFOUND) b->errors++;
}

/* One batch of the load: read, write back misses, overwrite some. Returns the keys read. */
static int step(load *l, client *r, counts *phase) {
    int first = l->next, n = l->keys - first < BATCH ? l->keys - first : BATCH, hit[BATCH];
    counts b = {0};
    read_batch(r, first, n, hit, &b);
    for (int j = 0; j < n; j++) {
        b.hits += (uint64_t)hit[j];
        if (hit[j] && (first + j) % WRITE_EVERY != 0) continue;
        b.sets++;
        if (set_key(r, first + j) != 0) b.errors++;
    }
    l->next = (first + n) % l->keys;
    int64_t s = (mono_ms() - l->t0) / 1000;
    if (s >= 0 && s < MAX_SECONDS) {
        add(&l->sec[s], &b);
        l->servers_at[s] = r->n;
    }
    add(&l->total, &b);
    add(phase, &b);
    return n;
}

static void run_for(load *l, client *r, int64_t ms, counts *phase) {
    for (int64_t end = mono_ms() + ms; mono_ms() < end;) step(l, r, phase);
}

/* --- the cluster ---------------------------------------------------------------- */

static json_t *servers_now(it_cluster *c, int replica) {
    return it_get_json(it_replica_port(c, replica), "/v1/servers");
}

static int count_of(json_t *doc) { return (int)json_array_size(json_object_get(doc, "servers")); }

static int other_replica(it_cluster *c, int not_this) {
    for (int i = 0; i < 3; i++)
        if (i != not_this && it_replica_alive(c, i)) return i;
    return -1;
}

static double ratio(uint64_t a, uint64_t b) { return b ? (double)a / (double)b : 0.0; }

static void print_phase(const char *name, const counts *p, double secs) {
    printf("phase=%-6s secs=%6.1f gets=%8llu hits=%8llu sets=%7llu errors=%llu hit_ratio=%.4f gets_per_s=%.0f\n",
           name, secs, (unsigned long long)p->gets, (unsigned long long)p->hits, (unsigned long long)p->sets,
           (unsigned long long)p->errors, ratio(p->hits, p->gets), secs > 0 ? (double)p->gets / secs : 0.0);
}

/* Keys mcm's ring (src/ring) maps like the client; *share: the hash-space
 * share of the server named `who` on that ring (-1 if none is). */
static int ketama_agree(client *c, int keys, const char *who, double *share) {
    const char *names[MAX_SRV];
    char err[256];
    for (int i = 0; i < c->n; i++) names[i] = c->name[i];
    ring *r = ring_new(names, c->n, err, sizeof(err));
    *share = -1;
    if (!r) return -1;
    int i = ring_find(r, who);
    if (i >= 0) *share = ring_share(r, i);
    int agree = 0;
    for (int k = 0; k < keys; k++) {
        char key[32], s[80];
        key_of(k, key, sizeof(key));
        client_server(c, key, s, sizeof(s));
        agree += strcmp(s, ring_owner_name(r, key, strlen(key))) == 0;
    }
    ring_free(r);
    return agree;
}

static int keys = 20000, phase_s = 10;

/* One run: the cluster, both clients, and what was measured. */
typedef struct bench {
    it_cluster *c;
    int leader, follower;
    json_t *d4, *d5;
    client old, neu;
    load *l;
    counts before, during, pass1, after;
    int64_t t_post, t_switch, t_during_end, t_end;
    double before_s;
    char added[64];
    int moved, moved_to_added, agree4, agree5;
    double share_added;
} bench;

static void start_cluster(bench *b) {
    it_opts o = {.agents = TO, .instances = FROM, .replicas = 3, .extra = {"--no-autoscale", NULL}};
    b->c = it_start(&o);
    b->leader = it_wait_leader(b->c, 120000, -1);
    if (b->leader < 0) die(b->c, "no leader");
    b->follower = other_replica(b->c, b->leader);
    b->d4 = it_wait_servers(b->c, b->follower, FROM, 180000);
    if (!b->d4) die(b->c, "4 servers never published");
    if (client_open(&b->old, b->d4) != 0) die(b->c, "libmemcached client over 4 servers");
    printf("servers before: ");
    for (int i = 0; i < b->old.n; i++) printf("%s%s", i ? " " : "", b->old.name[i]);
    printf("\nclient: libmemcached %s, KETAMA_WEIGHTED (libketama-compatible), %d keys of %d bytes, "
           "batches of %d, 1 overwrite per %d reads, phases of %d s\n",
           memcached_lib_version(), keys, VALUE_SIZE, BATCH, WRITE_EVERY, phase_s);
}

static void warm_then_before(bench *b) {
    b->l = calloc(1, sizeof(*b->l));
    b->l->keys = keys;
    for (int i = 0; i < keys; i++)
        if (set_key(&b->old, i) != 0) die(b->c, "warming the cache failed");
    b->l->t0 = mono_ms();
    run_for(b->l, &b->old, (int64_t)phase_s * 1000, &b->before);
    b->before_s = (double)(mono_ms() - b->l->t0) / 1000.0;
}

/* POST /v1/scale, load on the old list until the follower publishes 5, then
 * one full pass over every key on the new list. */
static void grow(bench *b) {
    json_t *rep = NULL;
    b->t_post = mono_ms();
    long code = it_post(it_replica_port(b->c, b->leader), "/v1/scale", "{\"instances\":5}", &rep);
    json_decref(rep);
    if (code != 200) die(b->c, "POST /v1/scale {\"instances\":5} was not answered 200");
    for (int64_t next_poll = 0; !b->d5;) {
        if (mono_ms() - b->t_post > 180000) die(b->c, "5 servers never published after POST /v1/scale");
        step(b->l, &b->old, &b->during);
        if (mono_ms() < next_poll) continue;
        next_poll = mono_ms() + 100;
        json_t *d = servers_now(b->c, b->follower);
        if (d && count_of(d) == TO) b->d5 = d;
        else json_decref(d);
    }
    b->t_switch = mono_ms();
    if (client_open(&b->neu, b->d5) != 0) die(b->c, "libmemcached client over 5 servers");
    for (int done = 0; done < keys;) {
        counts one = {0};
        done += step(b->l, &b->neu, &one);
        add(&b->during, &one);
        add(&b->pass1, &one);
    }
    b->t_during_end = mono_ms();
}

/* Which keys changed server, by the client's own mapping. */
static void compare_rings(bench *b) {
    for (int i = 0; i < b->neu.n; i++) {
        int known = 0;
        for (int j = 0; j < b->old.n; j++) known |= strcmp(b->neu.name[i], b->old.name[j]) == 0;
        if (!known) snprintf(b->added, sizeof(b->added), "%s", b->neu.name[i]);
    }
    for (int i = 0; i < keys; i++) {
        char k[32], was[80], now[80];
        key_of(i, k, sizeof(k));
        client_server(&b->old, k, was, sizeof(was));
        client_server(&b->neu, k, now, sizeof(now));
        if (strcmp(was, now) != 0) {
            b->moved++;
            b->moved_to_added += strcmp(now, b->added) == 0;
        }
    }
    double unused;
    b->agree4 = ketama_agree(&b->old, keys, "", &unused);
    b->agree5 = ketama_agree(&b->neu, keys, b->added, &b->share_added);
}

static void print_timeline(const bench *b) {
    const load *l = b->l;
    printf("server added: %s; published on a follower %lld ms after POST /v1/scale\n", b->added,
           (long long)(b->t_switch - b->t_post));
    printf("timeline (seconds since the load started; POST at %.1f s, new list used from %.1f s):\n",
           (double)(b->t_post - l->t0) / 1000.0, (double)(b->t_switch - l->t0) / 1000.0);
    for (int s = 0; s < MAX_SECONDS && s <= (b->t_end - l->t0) / 1000; s++)
        if (l->sec[s].gets)
            printf("  t=%3d s servers=%d gets=%6llu hit_ratio=%.4f\n", s, l->servers_at[s],
                   (unsigned long long)l->sec[s].gets, ratio(l->sec[s].hits, l->sec[s].gets));
}

static void print_results(const bench *b) {
    uint64_t k = (uint64_t)keys, misses1 = b->pass1.gets - b->pass1.hits;
    print_phase("before", &b->before, b->before_s);
    print_phase("during", &b->during, (double)(b->t_during_end - b->t_post) / 1000.0);
    print_phase("  pass1", &b->pass1, (double)(b->t_during_end - b->t_switch) / 1000.0);
    print_phase("after", &b->after, (double)(b->t_end - b->t_during_end) / 1000.0);
    printf("keys moved: %d of %d (%.4f), %d of them to the added server; misses in the first pass on the new "
           "ring: %llu (%.4f)\n",
           b->moved, keys, ratio((uint64_t)b->moved, k), b->moved_to_added, (unsigned long long)misses1,
           ratio(misses1, b->pass1.gets));
    char agree[32] = "n/a";
    if (b->agree4 >= 0) {
        snprintf(agree, sizeof(agree), "%.4f", ratio((uint64_t)(b->agree4 + b->agree5), 2 * k));
        printf("mcm's ring (%s) maps like the client: %d/%d keys on 4 servers, %d/%d on 5; the added "
               "server owns %.4f of the hash space (what moves of unboundedly many keys)\n",
               RING_NAME, b->agree4, keys, b->agree5, keys, b->share_added);
    } else {
        printf("mcm's ring: could not be built over the client's list\n");
    }
    printf("moved=%.4f ideal=%.4f hit_before=%.4f hit_during=%.4f hit_pass1=%.4f hit_after=%.4f keys=%d "
           "servers=%d->%d moved_to_added=%.4f ring_share_added=%.4f list_ms=%lld errors=%llu ketama_agree=%s\n",
           ratio((uint64_t)b->moved, k), 1.0 / TO, ratio(b->before.hits, b->before.gets),
           ratio(b->during.hits, b->during.gets), ratio(b->pass1.hits, b->pass1.gets),
           ratio(b->after.hits, b->after.gets), keys, FROM, TO,
           ratio((uint64_t)b->moved_to_added, (uint64_t)(b->moved ? b->moved : 1)), b->share_added,
           (long long)(b->t_switch - b->t_post), (unsigned long long)b->l->total.errors, agree);
}

START_TEST(bench_run) {
    bench *b = calloc(1, sizeof(*b));
    start_cluster(b);
    warm_then_before(b);
    grow(b);
    run_for(b->l, &b->neu, (int64_t)phase_s * 1000, &b->after);
    b->t_end = mono_ms();
    compare_rings(b);
    print_timeline(b);
    print_results(b);
    client_close(&b->old);
    client_close(&b->neu);
    json_decref(b->d4);
    json_decref(b->d5);
    it_stop(b->c);
    free(b->l);
    free(b);
}
END_TEST

int main(int argc, char **argv) {
    if (argc > 1) keys = atoi(argv[1]);
    if (argc > 2) phase_s = atoi(argv[2]);
    if (keys < BATCH || keys > 10000000 || phase_s < 1 || phase_s > 120) {
        fprintf(stderr, "usage: bench_resize [keys %d..10000000] [phase seconds 1..120]\n", BATCH);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    return th_run_alone("bench_resize", bench_run) ? 1 : 0;
}
