/* bench_resize.c -- what a change of the fleet costs a client that hashes keys
 * over the published list with ketama, cold (--no-warm-transitions) and warm
 * (warm ring transitions, issue 15).
 *
 * Each run starts its own loopback installation (tests/integration/cluster.h:
 * real ZooKeeper, mcm-sim with 6 agents, three mcm-scheduler replicas, real
 * memcached through mcm-executor) with 4 servers, autoscaling off and a short
 * --drain-time. A libmemcached client built from a follower's /v1/servers runs
 * a steady read-mostly load over a fixed key set, cache-aside: each batch is
 * one `mget` of BATCH keys; a miss is written back (`set`) with the value the
 * "database" holds, and one key in WRITE_EVERY is overwritten on every read
 * (a new version, written to the database and then to the cache). Keys are
 * read in order, so one pass touches each once. Every value carries its
 * version: a read that returns a version older than the client's last write
 * of that key is a STALE READ.
 *
 * Scenarios (each run cold and warm, each in a fresh installation):
 *   up       4 -> 5  (POST /v1/scale {"instances":5})
 *   down     5 -> 4  (first 4 -> 5 the same way, cold or warm, then PHASE
 *                     seconds of load with overwrites on 5, then
 *                     POST /v1/scale {"instances":4}: the keys of the removed
 *                     server go back to servers that may still hold the values
 *                     from before the step up)
 *   replace  a planned replacement of the first listed server on 4
 *            (POST /v1/tasks/<id>/restart)
 * A run:
 *   before  PHASE seconds on the starting list (steady-state latency).
 *   during  the request; the load goes on over the list in use, which the
 *           client rebuilds whenever the follower publishes another one (as
 *           a client driven by mcm-watch would), until the final list is
 *           published.
 *   pass1   one full pass over every key on the final list: its hit ratio is
 *           the figure (each key that moved and was not copied misses once).
 *   after   PHASE seconds on the final list, then (warm) the load goes on
 *           until the leader's /v1/status "transition" is idle again.
 * Then every server of the final list is asked for every key: a key held by a
 * server that is not its owner is MISPLACED (a copy a later change of the ring
 * could bring back). The leader's "transition" object is polled every 50 ms:
 * keys and bytes copied, and the client latencies measured while it says
 * "copy"; the transition time is from the request to "idle" again (cold: to
 * the final list, there is no transition). The leader's "ring transition"
 * lines and the executors' copy/catch-up/cleanup lines are printed.
 *
 * The client: MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED (MD5, 160 points per server,
 * libketama's ring). The bench checks it against mcm's own ring (src/ring,
 * RING_NAME) on the first and final lists.
 *
 * Usage: bench_resize [--scenario up|down|replace|all] [--mode cold|warm|both]
 *                     [--drain-time DURATION (3s)] [--migrate-rate SIZE (mcm's default)]
 *                     [--mem SIZE (per server; the cluster's 64MiB holds about 700,000 of these keys)]
 *                     [keys (20000)] [phase seconds (10)]
 * Last line: name=value pairs, <scenario>_<mode>_<figure>, cold and warm side
 * by side. */
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

#define START_N 4
#define AGENTS 6
#define VALUE_SIZE 100
#define BATCH 100
#define WRITE_EVERY 10
#define MAX_SRV 8
#define POLL_MS 50
#define WAIT_MS 240000
#define STALE_SHOWN 8

static int64_t mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}
static int64_t mono_ms(void) { return mono_us() / 1000; }

/* The harness reports failures through Check, so the benchmark runs as one
 * Check test (not forked); a failure stops it with the reason and the logs'
 * place (they are kept: it_stop is not reached). */
static void die(it_cluster *c, const char *what) { ck_abort_msg("%s (logs in %s)", what, it_dir(c)); }

/* --- a client over one published list --------------------------------------------- */

typedef struct client {
    memcached_st *mc;
    memcached_result_st res_s;     /* caller-owned: memcached_fetch_result frees an allocated one at the end */
    memcached_result_st *res;
    int n;
    char name[MAX_SRV][64];        /* "host:port", in the list's order */
    char task[MAX_SRV][200];
    char *key;                     /* it_servers_key of the list */
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
        const char *task = json_string_value(json_object_get(e, "task_id"));
        int port = (int)json_integer_value(json_object_get(e, "port"));
        if (!host || memcached_server_add_with_weight(r->mc, host, (in_port_t)port, 1) != MEMCACHED_SUCCESS) return -1;
        snprintf(r->task[r->n], sizeof(r->task[0]), "%s", task ? task : "");
        snprintf(r->name[r->n++], sizeof(r->name[0]), "%s:%d", host, port);
    }
    if (memcached_behavior_get_distribution(r->mc) != MEMCACHED_DISTRIBUTION_CONSISTENT_WEIGHTED ||
        memcached_behavior_get_key_hash(r->mc) != MEMCACHED_HASH_MD5)
        return -1;
    r->key = it_servers_key(doc);
    r->res = memcached_result_create(r->mc, &r->res_s);
    return r->res && r->key ? 0 : -1;
}

static void client_close(client *r) {
    if (r->res) memcached_result_free(r->res);
    if (r->mc) memcached_free(r->mc);
    free(r->key);
    memset(r, 0, sizeof(*r));
}

static int client_has(const client *r, const char *name) {
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->name[i], name) == 0) return 1;
    return 0;
}

static int doc_has_task(json_t *doc, const char *task) {
    json_t *arr = json_object_get(doc, "servers");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const char *t = json_string_value(json_object_get(json_array_get(arr, i), "task_id"));
        if (t && strcmp(t, task) == 0) return 1;
    }
    return 0;
}

/* "host:port" of the server the client sends key to. */
static void client_server(client *r, const char *key, char *out, size_t len) {
    memcached_return_t rc;
    const memcached_instance_st *s = memcached_server_by_key(r->mc, key, strlen(key), &rc);
    if (s) snprintf(out, len, "%s:%d", memcached_server_name(s), (int)memcached_server_port(s));
    else snprintf(out, len, "?");
}

/* --- latency samples -------------------------------------------------------------- */

typedef struct lat {
    double *v;
    size_t n, cap;
} lat;

/* Samples with their wall-clock time, kept while a change is under way: the
 * copy's window is known only afterwards, from the executors' logs. */
typedef struct tlat {
    int64_t *at;
    double *v;
    size_t n, cap;
} tlat;

static int64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void tlat_add(tlat *l, double us) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4096;
        int64_t *at = realloc(l->at, cap * sizeof(*at));
        if (at) l->at = at;
        double *v = at ? realloc(l->v, cap * sizeof(*v)) : NULL;
        if (!v) return;
        l->v = v;
        l->cap = cap;
    }
    l->at[l->n] = wall_ms();
    l->v[l->n++] = us;
}

static void lat_add(lat *l, double us) {
    if (!l) return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4096;
        double *v = realloc(l->v, cap * sizeof(*v));
        if (!v) return;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = us;
}

/* Where a batch's latencies go (any member may be NULL). */
typedef struct sink {
    lat *get, *set;
    tlat *tget, *tset;
} sink;

static void sink_get(const sink *k, double us) {
    if (k && k->get) lat_add(k->get, us);
    if (k && k->tget) tlat_add(k->tget, us);
}

static void sink_set(const sink *k, double us) {
    if (k && k->set) lat_add(k->set, us);
    if (k && k->tset) tlat_add(k->tset, us);
}

static int cmp_dbl(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double lat_pct(lat *l, double p) {
    if (!l->n) return -1;
    qsort(l->v, l->n, sizeof(*l->v), cmp_dbl);
    size_t i = (size_t)(p * (double)(l->n - 1) + 0.5);
    return l->v[i < l->n ? i : l->n - 1];
}

/* --- the load ------------------------------------------------------------------- */

typedef struct counts {
    uint64_t gets, hits, sets, errors, stale;
} counts;

typedef struct stale_seen {
    char key[32], server[64];
    uint32_t got, want;
    int64_t ms_after_switch;   /* since the client began using the list it read from */
} stale_seen;

typedef struct load {
    int keys;
    int next;                      /* next key to read */
    uint32_t *want;                /* the database: the last version written of each key */
    int64_t switched_ms;           /* when the client began using its current list */
    stale_seen shown[STALE_SHOWN];
    int nshown;
} load;

static void key_of(int i, char *out, size_t len) { snprintf(out, len, "resize-%07d", i); }

static void value_of(int i, uint32_t version, char *out) {
    int n = snprintf(out, VALUE_SIZE + 1, "value-%07d-v%010u-", i, version);
    memset(out + n, 'x', (size_t)(VALUE_SIZE - n));
    out[VALUE_SIZE] = 0;
}

/* The key index and version a value names; -1 if it is not one of ours. */
static int parse_value(const char *v, size_t len, int *i, uint32_t *version) {
    char buf[40];
    if (len != VALUE_SIZE) return -1;
    memcpy(buf, v, 30);
    buf[30] = 0;
    unsigned ver;
    if (sscanf(buf, "value-%7d-v%10u-", i, &ver) != 2) return -1;
    *version = ver;
    return 0;
}

static void add(counts *a, const counts *b) {
    a->gets += b->gets;
    a->hits += b->hits;
    a->sets += b->sets;
    a->errors += b->errors;
    a->stale += b->stale;
}

static int set_key(client *r, int i, uint32_t version, const sink *ls) {
    char k[32], v[VALUE_SIZE + 1];
    key_of(i, k, sizeof(k));
    value_of(i, version, v);
    int64_t t = mono_us();
    int rc = memcached_set(r->mc, k, strlen(k), v, VALUE_SIZE, 0, 0) == MEMCACHED_SUCCESS ? 0 : -1;
    sink_set(ls, (double)(mono_us() - t));
    return rc;
}

/* Reads keys [first, first+n) with one mget; hit[j] and ver[j] for each. */
static void read_batch(client *r, int first, int n, int *hit, uint32_t *ver, counts *b, const sink *lg) {
    char kb[BATCH][32];
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
    int64_t t = mono_us();
    if (memcached_mget(r->mc, keys, lens, (size_t)n) != MEMCACHED_SUCCESS) {
        b->errors++;
        return;
    }
    while (memcached_fetch_result(r->mc, r->res, &rc)) {
        int idx;
        uint32_t v;
        if (parse_value(memcached_result_value(r->res), memcached_result_length(r->res), &idx, &v) != 0 ||
            idx < first || idx >= first + n ||
            strncmp(memcached_result_key_value(r->res), kb[idx - first], memcached_result_key_length(r->res)) != 0) {
            b->errors++;
            continue;
        }
        hit[idx - first] = 1;
        ver[idx - first] = v;
    }
    sink_get(lg, (double)(mono_us() - t));
    if (rc != MEMCACHED_END && rc != MEMCACHED_SUCCESS && rc != MEMCACHED_NOTFOUND) b->errors++;
}

/* One batch of the load: read, check versions, write back misses, overwrite
 * one key in WRITE_EVERY. Returns the keys read. */
static int step(load *l, client *r, counts *phase, const sink *k) {
    int first = l->next, n = l->keys - first < BATCH ? l->keys - first : BATCH, hit[BATCH];
    uint32_t ver[BATCH];
    counts b = {0};
    read_batch(r, first, n, hit, ver, &b, k);
    for (int j = 0; j < n; j++) {
        int i = first + j;
        b.hits += (uint64_t)hit[j];
        if (hit[j] && ver[j] > l->want[i]) b.errors++;   /* a version never written */
        if (hit[j] && ver[j] < l->want[i]) {
            b.stale++;
            if (l->nshown < STALE_SHOWN) {
                stale_seen *s = &l->shown[l->nshown++];
                key_of(i, s->key, sizeof(s->key));
                client_server(r, s->key, s->server, sizeof(s->server));
                s->got = ver[j];
                s->want = l->want[i];
                s->ms_after_switch = mono_ms() - l->switched_ms;
            }
        }
        if (i % WRITE_EVERY == 0) {
            b.sets++;
            if (set_key(r, i, ++l->want[i], k) != 0) b.errors++;
        } else if (!hit[j]) {
            b.sets++;
            if (set_key(r, i, l->want[i], k) != 0) b.errors++;
        }
    }
    l->next = (first + n) % l->keys;
    add(phase, &b);
    return n;
}

/* --- the cluster ---------------------------------------------------------------- */

typedef enum { SC_UP, SC_DOWN, SC_REPLACE, SC_COUNT } scenario;
static const char *const sc_name[SC_COUNT] = {"up", "down", "replace"};
static const char *const mode_name[2] = {"cold", "warm"};

static int keys = 20000, phase_s = 10;
static const char *drain_time = "3s", *migrate_rate = NULL, *server_mem = NULL;

static int count_of(json_t *doc) { return (int)json_array_size(json_object_get(doc, "servers")); }

static int other_replica(it_cluster *c, int not_this) {
    for (int i = 0; i < 3; i++)
        if (i != not_this && it_replica_alive(c, i)) return i;
    return -1;
}

static double ratio(uint64_t a, uint64_t b) { return b ? (double)a / (double)b : 0.0; }

#define MAX_TRN 4

typedef struct trn_seen {
    int64_t id;
    uint64_t keys_copied, bytes_copied, keys_total;
    int64_t copy_from, copy_to;    /* wall ms: its copy in the executors' logs, 0 if none */
} trn_seen;

/* What one run measured. */
typedef struct result {
    int ran;
    double hit_before, hit_during, hit_pass1, hit_after;
    uint64_t stale, stale_pass1, stale_prep, errors;
    uint64_t keys_copied, bytes_copied, keys_total;
    int64_t list_ms, trans_ms;
    double p99_steady, p99_copy, p50_steady, p50_copy, set_p99_steady, set_p99_copy;
    size_t n_copy;
    int moved, misplaced, ntrn, nlists;
    double moved_frac, ideal, agree;
} result;

typedef struct run {
    it_cluster *c;
    int leader, follower, warm;
    load l;
    client cl[4];                  /* 0: the list before the measured change; 1: the one in use; 2: final */
    client *cur;
    /* the leader's transition, last poll */
    char phase[16];
    int seen_active;               /* a non-idle phase was seen since the request */
    int final_seen;                /* the final list was published */
    int nlists;                    /* lists the client switched to since the request */
    trn_seen trn[MAX_TRN];         /* the transitions seen since the request */
    int ntrn;
    int64_t copy_ms;               /* the copies' windows in the executors' logs, summed */
    int64_t t_post, t_switch, t_idle;
    lat get_steady, set_steady, get_copy, set_copy;
    tlat tget, tset;               /* from the request to the end of the first pass */
} run;

static void poll_transition(run *r) {
    json_t *st = it_get_json(it_replica_port(r->c, r->leader), "/v1/status");
    json_t *t = json_object_get(st, "transition");
    const char *p = json_string_value(json_object_get(t, "phase"));
    if (p) {
        snprintf(r->phase, sizeof(r->phase), "%s", p);
        if (strcmp(p, "idle") != 0) {
            r->seen_active = 1;
            int64_t id = (int64_t)json_integer_value(json_object_get(t, "id"));
            int k = 0;
            while (k < r->ntrn && r->trn[k].id != id) k++;
            if (k == r->ntrn && k < MAX_TRN) {
                memset(&r->trn[k], 0, sizeof(r->trn[k]));
                r->trn[r->ntrn++].id = id;
            }
            if (k < MAX_TRN) {   /* the copy's figures stay in the object until the transition ends */
                trn_seen *x = &r->trn[k];
                uint64_t kc = (uint64_t)json_integer_value(json_object_get(t, "keys_copied"));
                uint64_t bc = (uint64_t)json_integer_value(json_object_get(t, "bytes_copied"));
                uint64_t kt = (uint64_t)json_integer_value(json_object_get(t, "keys_total"));
                if (kc > x->keys_copied) x->keys_copied = kc;
                if (bc > x->bytes_copied) x->bytes_copied = bc;
                if (kt > x->keys_total) x->keys_total = kt;
            }
        } else if (r->seen_active && r->final_seen && !r->t_idle) {
            r->t_idle = mono_ms();
        }
    }
    json_decref(st);
}

/* Steps the load for ms on the list in use, polling the transition. */
static void load_for(run *r, int64_t ms, counts *ph, const sink *k) {
    for (int64_t end = mono_ms() + ms, next = 0; mono_ms() < end;) {
        step(&r->l, r->cur, ph, k);
        if (mono_ms() >= next) {
            next = mono_ms() + POLL_MS;
            poll_transition(r);
        }
    }
}

/* Load on until the leader's transition is idle again (after having been
 * seen under way); a cold installation has none. */
static void load_until_idle(run *r, counts *ph) {
    if (!r->warm) return;
    for (int64_t start = mono_ms(), next = 0; !r->t_idle;) {
        if (mono_ms() - start > WAIT_MS) die(r->c, "the ring transition did not end");
        step(&r->l, r->cur, ph, NULL);
        if (mono_ms() >= next) {
            next = mono_ms() + POLL_MS;
            poll_transition(r);
            if (!r->seen_active && mono_ms() - start > 5000) {   /* never began (a change with nothing to copy) */
                r->t_idle = mono_ms();
                break;
            }
        }
    }
}

typedef struct change {
    counts during, pass1, after;
    int64_t t_post, t_switch, t_pass1_end, t_end;
} change;

/* Sends the request, follows every list the follower publishes until the
 * final one (want_n servers, without `victim`), then one pass on it. */
static void make_change(run *r, scenario sc, const char *victim, int want_n, change *ch) {
    json_t *rep = NULL;
    char path[512], body[64];
    long code, ok;
    r->seen_active = r->final_seen = 0;
    r->t_idle = 0;
    r->ntrn = r->nlists = 0;
    r->tget.n = r->tset.n = 0;
    if (sc == SC_REPLACE) {
        snprintf(path, sizeof(path), "/v1/tasks/%s/restart", victim);
        ok = r->warm ? 202 : 200;
        ch->t_post = r->t_post = mono_ms();
        code = it_post(it_replica_port(r->c, r->leader), path, NULL, &rep);
    } else {
        snprintf(body, sizeof(body), "{\"instances\":%d}", want_n);
        ok = 200;
        ch->t_post = r->t_post = mono_ms();
        code = it_post(it_replica_port(r->c, r->leader), "/v1/scale", body, &rep);
    }
    json_decref(rep);
    {
        int64_t w = wall_ms();
        printf("  request answered %ld after %lld ms (%02d:%02d:%02d.%03d UTC)\n", code,
               (long long)(mono_ms() - ch->t_post), (int)(w / 3600000 % 24), (int)(w / 60000 % 60),
               (int)(w / 1000 % 60), (int)(w % 1000));
    }
    if (code != ok && !(sc == SC_REPLACE && (code == 200 || code == 202))) die(r->c, "the request was refused");
    int final = 0;
    sink during_sink = {NULL, NULL, &r->tget, &r->tset};
    for (int64_t next_poll = 0; !final;) {
        if (mono_ms() - ch->t_post > WAIT_MS) die(r->c, "the final list was never published");
        step(&r->l, r->cur, &ch->during, &during_sink);
        if (mono_ms() < next_poll) continue;
        next_poll = mono_ms() + POLL_MS;
        poll_transition(r);
        json_t *d = it_get_json(it_replica_port(r->c, r->follower), "/v1/servers");
        char *k = d ? it_servers_key(d) : NULL;
        if (d && k && count_of(d) > 0 && strcmp(k, r->cur->key) != 0) {
            final = count_of(d) == want_n && (!victim || !doc_has_task(d, victim));
            client *slot = final ? &r->cl[2] : &r->cl[1];
            client_close(slot);   /* the intermediate list in use, or nothing */
            if (client_open(slot, d) != 0) die(r->c, "libmemcached client over a new list");
            r->cur = slot;
            r->nlists++;
            r->final_seen = final;
            r->l.switched_ms = mono_ms();
            int64_t w = wall_ms();
            printf("  +%5lld ms (%02d:%02d:%02d.%03d UTC): list of %d servers published, client rebuilt%s (leader "
                   "transition: %s)\n",
                   (long long)(mono_ms() - ch->t_post), (int)(w / 3600000 % 24), (int)(w / 60000 % 60),
                   (int)(w / 1000 % 60), (int)(w % 1000), slot->n, final ? " (final)" : "", r->phase);
        }
        free(k);
        json_decref(d);
    }
    ch->t_switch = r->t_switch = mono_ms();
    int64_t next = 0;
    for (int done = 0; done < keys;) {
        done += step(&r->l, r->cur, &ch->pass1, &during_sink);
        if (mono_ms() >= next) {
            next = mono_ms() + POLL_MS;
            poll_transition(r);
        }
    }
    ch->t_pass1_end = mono_ms();
}

/* The leader's and the executors' transition lines (grep over the logs). */
static void print_logs(run *r) {
    char cmd[2048], line[1024];
    snprintf(cmd, sizeof(cmd),
             "grep -h -E 'ring transition|transition [0-9]+:' %s/scheduler-%d.log 2>/dev/null | cut -c1-300; "
             "grep -rh -E '(copy|catchup|cleanup|abort|purge) of .*copied|transition [0-9]+:.*(purge|ignored)' %s "
             "2>/dev/null | cut -c1-300 | sort | uniq | head -60",
             it_dir(r->c), r->leader, it_dir(r->c));
    FILE *p = popen(cmd, "r");
    while (p && fgets(line, sizeof(line), p)) printf("  log: %s", line);
    if (p) pclose(p);
}

/* "2026-12-02T06:14:31.786Z ..." -> wall ms (UTC); -1 if the line does not start so. */
static int64_t log_time(const char *line) {
    int y, mo, d, h, mi, sec, ms;
    if (sscanf(line, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &y, &mo, &d, &h, &mi, &sec, &ms) != 7) return -1;
    y -= mo <= 2;   /* days from civil (H. Hinnant) */
    int64_t era = (y >= 0 ? y : y - 399) / 400, yoe = y - era * 400;
    int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1, doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    return ((days * 24 + h) * 60 + mi) * 60000LL + sec * 1000LL + ms;
}

/* The copy of transition x->id in the executors' logs: from the first
 * "transition <id>: copy from" to the last "copy of ...: ... copied" after it
 * (before the next transition's copy). */
static void copy_window(run *r, trn_seen *x, int64_t next_from) {
    char cmd[1024], line[1024], start[64];
    x->copy_from = x->copy_to = 0;
    snprintf(start, sizeof(start), "transition %lld: copy from", (long long)x->id);
    snprintf(cmd, sizeof(cmd), "grep -rh -E 'transition %lld: copy from|copy of .*copied' %s/sim-0 2>/dev/null",
             (long long)x->id, it_dir(r->c));
    int64_t ends[256];
    int nends = 0;
    FILE *p = popen(cmd, "r");
    while (p && fgets(line, sizeof(line), p)) {
        int64_t t = log_time(line);
        if (t < 0) continue;
        if (strstr(line, start)) {
            if (!x->copy_from || t < x->copy_from) x->copy_from = t;
        } else if (nends < 256) {
            ends[nends++] = t;
        }
    }
    if (p) pclose(p);
    for (int i = 0; x->copy_from && i < nends; i++)
        if (ends[i] >= x->copy_from && (!next_from || ends[i] < next_from) && ends[i] > x->copy_to)
            x->copy_to = ends[i];
    if (!x->copy_to) x->copy_from = 0;
}

static void copy_latencies(run *r) {
    r->copy_ms = 0;
    for (int k = r->ntrn - 1; k >= 0; k--) {   /* later first: each window ends before the next begins */
        trn_seen *x = &r->trn[k];
        copy_window(r, x, k + 1 < r->ntrn ? r->trn[k + 1].copy_from : 0);
        if (!x->copy_from) continue;
        r->copy_ms += x->copy_to - x->copy_from;
        for (size_t i = 0; i < r->tget.n; i++)
            if (r->tget.at[i] >= x->copy_from && r->tget.at[i] <= x->copy_to) lat_add(&r->get_copy, r->tget.v[i]);
        for (size_t i = 0; i < r->tset.n; i++)
            if (r->tset.at[i] >= x->copy_from && r->tset.at[i] <= x->copy_to) lat_add(&r->set_copy, r->tset.v[i]);
    }
}

/* Keys held by a server of the final list that does not own them there. */
static int misplaced(client *fin, int nkeys) {
    int bad = 0;
    for (int s = 0; s < fin->n; s++) {
        memcached_st *one = memcached_create(NULL);
        char host[64];
        snprintf(host, sizeof(host), "%s", fin->name[s]);
        char *colon = strrchr(host, ':');
        if (!colon) continue;
        *colon = 0;
        memcached_server_add(one, host, (in_port_t)atoi(colon + 1));
        memcached_behavior_set(one, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
        for (int i = 0; i < nkeys; i++) {
            char key[32], owner[80];
            key_of(i, key, sizeof(key));
            client_server(fin, key, owner, sizeof(owner));
            if (strcmp(owner, fin->name[s]) == 0) continue;
            if (memcached_exist(one, key, strlen(key)) == MEMCACHED_SUCCESS) bad++;
        }
        memcached_free(one);
    }
    return bad;
}

/* Keys mcm's ring (src/ring) maps like the client. */
static int ketama_agree(client *c, int nkeys) {
    const char *names[MAX_SRV];
    char err[256];
    for (int i = 0; i < c->n; i++) names[i] = c->name[i];
    ring *rg = ring_new(names, c->n, err, sizeof(err));
    if (!rg) return -1;
    int agree = 0;
    for (int k = 0; k < nkeys; k++) {
        char key[32], s[80];
        key_of(k, key, sizeof(key));
        client_server(c, key, s, sizeof(s));
        agree += strcmp(s, ring_owner_name(rg, key, strlen(key))) == 0;
    }
    ring_free(rg);
    return agree;
}

static void print_phase(const char *name, const counts *p, double secs) {
    printf("  phase=%-7s secs=%6.1f gets=%8llu hits=%8llu sets=%7llu stale=%llu errors=%llu hit_ratio=%.4f "
           "gets_per_s=%.0f\n",
           name, secs, (unsigned long long)p->gets, (unsigned long long)p->hits, (unsigned long long)p->sets,
           (unsigned long long)p->stale, (unsigned long long)p->errors, ratio(p->hits, p->gets),
           secs > 0 ? (double)p->gets / secs : 0.0);
}

static void wait_idle_quiet(run *r) {
    if (!r->warm) return;
    for (int64_t start = mono_ms(); mono_ms() - start < WAIT_MS; usleep(200 * 1000)) {
        poll_transition(r);
        if (strcmp(r->phase, "idle") == 0) return;
    }
    die(r->c, "the initial ring transition did not end");
}

static void one_run(scenario sc, int warm, result *out) {
    run *r = calloc(1, sizeof(*r));
    r->warm = warm;
    printf("== scenario %s, %s (%s)\n", sc_name[sc], mode_name[warm],
           warm ? "warm ring transitions" : "--no-warm-transitions");
    it_opts o = {.agents = AGENTS, .instances = START_N, .replicas = 3};
    int x = 0;
    o.extra[x++] = "--no-autoscale";
    o.extra[x++] = "--drain-time";
    o.extra[x++] = drain_time;
    if (!warm) o.extra[x++] = "--no-warm-transitions";
    if (migrate_rate) {
        o.extra[x++] = "--migrate-rate";
        o.extra[x++] = migrate_rate;
    }
    if (server_mem) {   /* after the cluster's own --mem 64MiB: the last one counts */
        o.extra[x++] = "--mem";
        o.extra[x++] = server_mem;
    }
    o.extra[x] = NULL;
    r->c = it_start(&o);
    r->leader = it_wait_leader(r->c, 120000, -1);
    if (r->leader < 0) die(r->c, "no leader");
    r->follower = other_replica(r->c, r->leader);
    json_t *d = it_wait_servers(r->c, r->follower, START_N, 180000);
    if (!d) die(r->c, "4 servers never published");
    wait_idle_quiet(r);
    json_decref(d);
    d = it_get_json(it_replica_port(r->c, r->follower), "/v1/servers");
    if (!d || client_open(&r->cl[1], d) != 0) die(r->c, "libmemcached client over 4 servers");
    json_decref(d);
    r->cur = &r->cl[1];

    r->l.keys = keys;
    r->l.want = calloc((size_t)keys, sizeof(*r->l.want));
    for (int i = 0; i < keys; i++)
        if (set_key(r->cur, i, r->l.want[i] = 1, NULL) != 0) die(r->c, "warming the cache failed");
    r->l.switched_ms = mono_ms();

    if (sc == SC_DOWN) {   /* first 4 -> 5, the same way, and overwrites on 5 */
        change prep = {0};
        printf("  prepare: 4 -> 5\n");
        make_change(r, SC_UP, NULL, 5, &prep);
        load_until_idle(r, &prep.after);
        load_for(r, (int64_t)phase_s * 1000, &prep.after, NULL);
        out->stale_prep = prep.during.stale + prep.pass1.stale + prep.after.stale;
        printf("  prepare done: first pass on 5 hit %.4f, %llu stale reads in the preparation\n",
               ratio(prep.pass1.hits, prep.pass1.gets), (unsigned long long)out->stale_prep);
        /* the 5-server list in use moves to cl[1] (reopened: a client is not moved by value) */
        client_close(&r->cl[1]);
        json_t *five = it_get_json(it_replica_port(r->c, r->follower), "/v1/servers");
        if (!five || count_of(five) != 5 || client_open(&r->cl[1], five) != 0) die(r->c, "the list of 5 changed");
        json_decref(five);
        client_close(&r->cl[2]);
        r->cur = &r->cl[1];
    }
    /* the list before the measured change stays in cl[0] (for the comparison) */
    {
        json_t *now = it_get_json(it_replica_port(r->c, r->follower), "/v1/servers");
        if (!now || client_open(&r->cl[0], now) != 0) die(r->c, "libmemcached client over the starting list");
        json_decref(now);
    }
    printf("  servers before:");
    for (int i = 0; i < r->cl[0].n; i++) printf(" %s", r->cl[0].name[i]);
    printf("\n");

    counts before = {0};
    int64_t t_before = mono_ms();
    sink steady = {&r->get_steady, &r->set_steady, NULL, NULL};
    load_for(r, (int64_t)phase_s * 1000, &before, &steady);
    double before_s = (double)(mono_ms() - t_before) / 1000.0;

    change ch = {0};
    int want_n = sc == SC_UP ? 5 : 4;
    const char *victim = sc == SC_REPLACE ? r->cl[0].task[0] : NULL;
    if (sc == SC_REPLACE) printf("  replacing %s (%s)\n", victim, r->cl[0].name[0]);
    make_change(r, sc, victim, want_n, &ch);
    load_for(r, (int64_t)phase_s * 1000, &ch.after, NULL);
    load_until_idle(r, &ch.after);
    ch.t_end = mono_ms();
    copy_latencies(r);

    client *fin = &r->cl[2], *old = &r->cl[0];
    int moved = 0;
    for (int i = 0; i < keys; i++) {
        char k[32], was[80], now[80];
        key_of(i, k, sizeof(k));
        client_server(old, k, was, sizeof(was));
        client_server(fin, k, now, sizeof(now));
        moved += strcmp(was, now) != 0;
    }
    char added[64] = "", removed[64] = "";
    for (int i = 0; i < fin->n; i++)
        if (!client_has(old, fin->name[i])) snprintf(added, sizeof(added), "%s", fin->name[i]);
    for (int i = 0; i < old->n; i++)
        if (!client_has(fin, old->name[i])) snprintf(removed, sizeof(removed), "%s", old->name[i]);
    int a0 = ketama_agree(old, keys), a1 = ketama_agree(fin, keys);
    out->misplaced = misplaced(fin, keys);

    out->ran = 1;
    out->hit_before = ratio(before.hits, before.gets);
    out->hit_during = ratio(ch.during.hits, ch.during.gets);
    out->hit_pass1 = ratio(ch.pass1.hits, ch.pass1.gets);
    out->hit_after = ratio(ch.after.hits, ch.after.gets);
    out->stale = ch.during.stale + ch.pass1.stale + ch.after.stale;
    out->stale_pass1 = ch.pass1.stale;
    out->errors = before.errors + ch.during.errors + ch.pass1.errors + ch.after.errors;
    for (int k = 0; k < r->ntrn; k++) {
        out->keys_copied += r->trn[k].keys_copied;
        out->bytes_copied += r->trn[k].bytes_copied;
        out->keys_total += r->trn[k].keys_total;
    }
    out->ntrn = r->ntrn;
    out->nlists = r->nlists;
    out->list_ms = ch.t_switch - ch.t_post;
    out->trans_ms = warm && r->t_idle ? r->t_idle - ch.t_post : out->list_ms;
    out->p50_steady = lat_pct(&r->get_steady, 0.50);
    out->p99_steady = lat_pct(&r->get_steady, 0.99);
    out->p50_copy = lat_pct(&r->get_copy, 0.50);
    out->p99_copy = lat_pct(&r->get_copy, 0.99);
    out->set_p99_steady = lat_pct(&r->set_steady, 0.99);
    out->set_p99_copy = lat_pct(&r->set_copy, 0.99);
    out->n_copy = r->get_copy.n;
    out->moved = moved;
    out->moved_frac = ratio((uint64_t)moved, (uint64_t)keys);
    out->ideal = sc == SC_UP ? 1.0 / 5 : sc == SC_DOWN ? 1.0 / 5 : 1.0 / 4;
    out->agree = a0 >= 0 && a1 >= 0 ? ratio((uint64_t)(a0 + a1), 2 * (uint64_t)keys) : -1;

    print_phase("before", &before, before_s);
    print_phase("during", &ch.during, (double)(ch.t_switch - ch.t_post) / 1000.0);
    print_phase("pass1", &ch.pass1, (double)(ch.t_pass1_end - ch.t_switch) / 1000.0);
    print_phase("after", &ch.after, (double)(ch.t_end - ch.t_pass1_end) / 1000.0);
    printf("  servers after:");
    for (int i = 0; i < fin->n; i++) printf(" %s", fin->name[i]);
    printf("\n  added %s, removed %s; keys moved %d of %d (%.4f, ideal %.4f); mcm's ring (%s) maps like the "
           "client: %d/%d before, %d/%d after\n",
           added[0] ? added : "none", removed[0] ? removed : "none", moved, keys, out->moved_frac, out->ideal,
           RING_NAME, a0, keys, a1, keys);
    printf("  final list %lld ms after the request; %d transition(s), %s %lld ms after it; copied %llu of %llu "
           "keys (%llu bytes)\n",
           (long long)out->list_ms, r->ntrn, warm ? "idle" : "none (cold): final list", (long long)out->trans_ms,
           (unsigned long long)out->keys_copied, (unsigned long long)out->keys_total,
           (unsigned long long)out->bytes_copied);
    printf("  client latency, mget of %d keys: steady p50 %.0f us p99 %.0f us (%zu batches); during the copy "
           "(%lld ms in the executors' logs) p50 %.0f us p99 %.0f us (%zu batches); set p99 steady %.0f us, during "
           "the copy %.0f us (%zu sets)\n",
           BATCH, out->p50_steady, out->p99_steady, r->get_steady.n, (long long)r->copy_ms,
           out->p50_copy, out->p99_copy, r->get_copy.n, out->set_p99_steady, out->set_p99_copy, r->set_copy.n);
    if (r->copy_ms > 0)
        printf("  copy throughput over the executors' copy windows (%lld ms): %.0f keys/s, %.2f MB/s\n",
               (long long)r->copy_ms, (double)out->keys_copied * 1000.0 / (double)r->copy_ms,
               (double)out->bytes_copied / 1000.0 / (double)r->copy_ms);
    printf("  stale reads: %llu (first pass %llu); keys misplaced after the change (held by a server that does "
           "not own them): %d\n",
           (unsigned long long)out->stale, (unsigned long long)out->stale_pass1, out->misplaced);
    for (int i = 0; i < r->l.nshown; i++)
        printf("  stale: %s from %s: version %u, last written %u, %lld ms after the client switched lists\n",
               r->l.shown[i].key, r->l.shown[i].server, r->l.shown[i].got, r->l.shown[i].want,
               (long long)r->l.shown[i].ms_after_switch);
    print_logs(r);

    for (int i = 0; i < 4; i++) client_close(&r->cl[i]);
    free(r->l.want);
    free(r->get_steady.v);
    free(r->set_steady.v);
    free(r->get_copy.v);
    free(r->set_copy.v);
    free(r->tget.at);
    free(r->tget.v);
    free(r->tset.at);
    free(r->tset.v);
    it_stop(r->c);
    free(r);
}

static int want_sc[SC_COUNT] = {1, 1, 1}, want_mode[2] = {1, 1};
static result res[SC_COUNT][2];

static void fmt_us(char *b, size_t n, double us) {
    if (us < 0) snprintf(b, n, "na");
    else snprintf(b, n, "%.0f", us);
}

START_TEST(bench_run) {
    printf("client: libmemcached %s, KETAMA_WEIGHTED (libketama-compatible), %d keys of %d bytes, batches of %d, "
           "1 key in %d overwritten on every read, phases of %d s, --drain-time %s, --migrate-rate %s, --mem %s\n",
           memcached_lib_version(), keys, VALUE_SIZE, BATCH, WRITE_EVERY, phase_s, drain_time,
           migrate_rate ? migrate_rate : "default", server_mem ? server_mem : "64MiB");
    for (int s = 0; s < SC_COUNT; s++)
        for (int m = 0; m < 2; m++)
            if (want_sc[s] && want_mode[m]) one_run((scenario)s, m, &res[s][m]);
    printf("%-8s %-5s %9s %6s %8s %9s %9s %5s %8s %9s %10s %10s %9s\n", "scenario", "mode", "hit_pass1", "stale",
           "moved", "copied", "bytes", "lists", "list_ms", "trans_ms", "p99_steady", "p99_copy", "misplaced");
    for (int s = 0; s < SC_COUNT; s++)
        for (int m = 0; m < 2; m++) {
            result *x = &res[s][m];
            char a[32], b[32];
            if (!x->ran) continue;
            fmt_us(a, sizeof(a), x->p99_steady);
            fmt_us(b, sizeof(b), x->p99_copy);
            printf("%-8s %-5s %9.4f %6llu %8d %9llu %9llu %5d %8lld %9lld %10s %10s %9d\n", sc_name[s],
                   mode_name[m], x->hit_pass1, (unsigned long long)x->stale, x->moved,
                   (unsigned long long)x->keys_copied, (unsigned long long)x->bytes_copied, x->nlists,
                   (long long)x->list_ms, (long long)x->trans_ms, a, b,
                   x->misplaced);
        }
    /* the last line: name=value, cold and warm side by side */
    static const char *const fig[] = {"hit", "stale", "copied", "bytes", "trans_ms", "p99_steady_us",
                                      "p99_copy_us", "misplaced", "lists"};
    printf("keys=%d drain_time=%s", keys, drain_time);
    for (int s = 0; s < SC_COUNT; s++)
        for (size_t f = 0; f < sizeof(fig) / sizeof(fig[0]); f++)
            for (int m = 0; m < 2; m++) {
                result *x = &res[s][m];
                char v[32];
                if (!x->ran) continue;
                switch (f) {
                case 0: snprintf(v, sizeof(v), "%.4f", x->hit_pass1); break;
                case 1: snprintf(v, sizeof(v), "%llu", (unsigned long long)x->stale); break;
                case 2: snprintf(v, sizeof(v), "%llu", (unsigned long long)x->keys_copied); break;
                case 3: snprintf(v, sizeof(v), "%llu", (unsigned long long)x->bytes_copied); break;
                case 4: snprintf(v, sizeof(v), "%lld", (long long)x->trans_ms); break;
                case 5: fmt_us(v, sizeof(v), x->p99_steady); break;
                case 6: fmt_us(v, sizeof(v), x->p99_copy); break;
                case 7: snprintf(v, sizeof(v), "%d", x->misplaced); break;
                default: snprintf(v, sizeof(v), "%d", x->nlists); break;
                }
                printf(" %s_%s_%s=%s", sc_name[s], mode_name[m], fig[f], v);
            }
    printf("\n");
}
END_TEST

static int usage(void) {
    fprintf(stderr, "usage: bench_resize [--scenario up|down|replace|all] [--mode cold|warm|both] "
                    "[--drain-time DURATION] [--migrate-rate SIZE] [--mem SIZE] [keys %d..10000000] "
                    "[phase seconds 1..120]\n",
            BATCH);
    return 2;
}

int main(int argc, char **argv) {
    int pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if ((strcmp(a, "--scenario") == 0 || strcmp(a, "--mode") == 0 || strcmp(a, "--drain-time") == 0 ||
             strcmp(a, "--migrate-rate") == 0 || strcmp(a, "--mem") == 0) && i + 1 >= argc)
            return usage();
        if (strcmp(a, "--scenario") == 0) {
            const char *v = argv[++i];
            int all = strcmp(v, "all") == 0, known = all;
            for (int s = 0; s < SC_COUNT; s++) {
                want_sc[s] = all || strcmp(v, sc_name[s]) == 0;
                known |= want_sc[s];
            }
            if (!known) return usage();
        } else if (strcmp(a, "--mode") == 0) {
            const char *v = argv[++i];
            want_mode[0] = strcmp(v, "cold") == 0 || strcmp(v, "both") == 0;
            want_mode[1] = strcmp(v, "warm") == 0 || strcmp(v, "both") == 0;
            if (!want_mode[0] && !want_mode[1]) return usage();
        } else if (strcmp(a, "--drain-time") == 0) {
            drain_time = argv[++i];
        } else if (strcmp(a, "--migrate-rate") == 0) {
            migrate_rate = argv[++i];
        } else if (strcmp(a, "--mem") == 0) {
            server_mem = argv[++i];
        } else if (a[0] == '-') {
            return usage();
        } else if (pos == 0) {
            keys = atoi(a);
            pos++;
        } else if (pos == 1) {
            phase_s = atoi(a);
            pos++;
        } else {
            return usage();
        }
    }
    if (keys < BATCH || keys > 10000000 || phase_s < 1 || phase_s > 120) return usage();
    setvbuf(stdout, NULL, _IOLBF, 0);
    return th_run_alone("bench_resize", bench_run) ? 1 : 0;
}
