/* test_autoscale.c -- autoscaling end to end: real ZooKeeper, mcm-sim, three
 * mcm-scheduler replicas, the real mcm-executor and real memcached.
 *
 * One scenario (issue 8, "What it must show"), with small thresholds so it
 * takes about two minutes:
 *   1. Two servers of 64 MiB (memcached -m 32). A load generator (a thread
 *      here: one connection per server, pipelined `set ... noreply` with a
 *      short TTL, rewritten pass after pass) keeps each server ~64% full,
 *      above --scale-up-mem 0.5. The leader decides UP (mem_high) after the
 *      window; the fleet grows to three, and never beyond (one step at a
 *      time; with three servers the same bytes are 43%, below the line).
 *   2. Right after the UP decision the leader is SIGKILLed. The load stops.
 *   3. The keys expire; memcached's LRU maintainer reclaims expired items on
 *      its own (measured: `bytes` drops to ~0 within a second or two of the
 *      TTL, with `reclaimed` counting them, and no client `get`), so the
 *      figures fall below --scale-down-mem 0.1. The new leader wants DOWN
 *      but must hold back until the cooldown that began on the OLD leader has
 *      passed: the stored history (state/desired in ZooKeeper) must show a
 *      decision held back for "cooldown" and a DOWN no earlier than
 *      UP + --cooldown.
 *   4. The fleet shrinks back to two: the victim is unpublished first (it
 *      still answers during --drain-time), then killed.
 * A follower's /v1/servers is checked at every step (it serves the list from
 * its own ZooKeeper watch), and the leader's /metrics counts the decisions.
 * Both steps are warm ring transitions (issue 15): MARKERS keys without a
 * TTL, written through the 2-list before the load as a ketama client would,
 * must all be read back through the 3-list the moment it is published (the
 * load has stopped by then, so only the transition's copy can have put the
 * moved ones on the new server), and through the 2-list again after the
 * step down; once each transition has ended, no marker is on a server that
 * does not own it.
 *
 * Every wait is bounded; every failure names the log directory. */
#include "cluster.h"
#include "common.h"
#include "harness.h"
#include "warm_client.h"
#include "zkt.h"

#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <zookeeper/zookeeper.h>

#define UP_MS 120000
#define COOLDOWN_MS 40000         /* long enough that the down condition is ripe before it ends */
#define DRAIN_MS 3000
#define TTL_S 8
/* --mem 64MiB: 16 MiB go to the executor, 48 to the task, memcached gets
 * -m 32. 20000 items of ~1069 bytes = ~21.4 MB: mem ~0.64 on 2 servers, and
 * ~0.43 on 3, below the line: the figures call for exactly one step. */
#define ITEMS_PER_SERVER 20000
#define VALUE_SIZE 1000
#define MAX_SERVERS 8
#define MARKERS 3000              /* ~130 bytes each: ~0.4 MB in all, nothing next to the load */

/* ck_assert_msg with the log directory appended. */
#define CHECK(c, cond, ...)                                                                                  \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            char m_[1024];                                                                                   \
            snprintf(m_, sizeof(m_), __VA_ARGS__);                                                           \
            ck_abort_msg("%s (logs in %s)", m_, it_dir(c));                                                  \
        }                                                                                                    \
    } while (0)

static int64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* --- the load generator -------------------------------------------------------- */

typedef struct loader {
    int nsrv;
    char host[MAX_SERVERS][64];
    int port[MAX_SERVERS];
    int fd[MAX_SERVERS];
    atomic_int stop;
    atomic_int passes;            /* complete passes over every server */
    char err[256];                /* set by the thread on failure */
    pthread_t th;
} loader;

static int connect_to(const char *host, int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &a.sin_addr);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Waits for "MN\r\n" (the end of a pipelined batch); anything before it is
 * an error reply that noreply could not suppress. */
static int wait_mn(int fd, char *err, size_t errlen) {
    char buf[4096];
    size_t have = 0;
    for (;;) {
        ssize_t r = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            snprintf(err, errlen, "no MN from memcached (%s)", r == 0 ? "closed" : strerror(errno));
            return -1;
        }
        have += (size_t)r;
        buf[have] = 0;
        char *mn = strstr(buf, "MN\r\n");
        if (mn) {
            if (mn != buf) snprintf(err, errlen, "memcached answered: %.100s", buf);
            return mn == buf ? 0 : -1;
        }
        if (have > sizeof(buf) / 2) {   /* keep the tail: MN may straddle reads */
            memmove(buf, buf + have - 8, 8);
            have = 8;
        }
    }
}

/* One pass: every key of server s rewritten with the TTL, in pipelined batches. */
static int fill_server(loader *l, int s) {
    static char value[VALUE_SIZE + 1];
    if (!value[0]) memset(value, 'v', VALUE_SIZE);
    enum { BATCH = 200 };
    size_t cap = BATCH * (VALUE_SIZE + 96);
    char *buf = malloc(cap);
    int rc = 0;
    for (int i = 0; rc == 0 && i < ITEMS_PER_SERVER && !atomic_load(&l->stop); i += BATCH) {
        size_t n = 0;
        for (int k = i; k < i + BATCH && k < ITEMS_PER_SERVER; k++)
            n += (size_t)snprintf(buf + n, cap - n, "set as-%d-%d 0 %d %d noreply\r\n%s\r\n", s, k, TTL_S,
                                  VALUE_SIZE, value);
        if (send_all(l->fd[s], buf, n) != 0) {
            snprintf(l->err, sizeof(l->err), "send to %s:%d: %s", l->host[s], l->port[s], strerror(errno));
            rc = -1;
        }
    }
    if (rc == 0 && (send_all(l->fd[s], "mn\r\n", 4) != 0 || wait_mn(l->fd[s], l->err, sizeof(l->err)) != 0)) {
        if (!l->err[0]) snprintf(l->err, sizeof(l->err), "mn to %s:%d failed", l->host[s], l->port[s]);
        rc = -1;
    }
    free(buf);
    return rc;
}

static void *loader_main(void *arg) {
    loader *l = arg;
    while (!atomic_load(&l->stop)) {
        for (int s = 0; s < l->nsrv; s++)
            if (fill_server(l, s) != 0) return NULL;
        atomic_fetch_add(&l->passes, 1);
    }
    return NULL;
}

/* Starts loading every server of the document. */
static loader *loader_start(it_cluster *c, json_t *doc) {
    loader *l = calloc(1, sizeof(*l));
    json_t *arr = json_object_get(doc, "servers");
    l->nsrv = (int)json_array_size(arr);
    CHECK(c, l->nsrv > 0 && l->nsrv <= MAX_SERVERS, "%d servers to load", l->nsrv);
    for (int s = 0; s < l->nsrv; s++) {
        json_t *e = json_array_get(arr, (size_t)s);
        snprintf(l->host[s], sizeof(l->host[s]), "%s", json_string_value(json_object_get(e, "host")));
        l->port[s] = (int)json_integer_value(json_object_get(e, "port"));
        l->fd[s] = connect_to(l->host[s], l->port[s]);
        CHECK(c, l->fd[s] >= 0, "cannot connect to memcached %s:%d", l->host[s], l->port[s]);
    }
    CHECK(c, pthread_create(&l->th, NULL, loader_main, l) == 0, "pthread_create failed");
    return l;
}

static void loader_stop(loader *l) {
    atomic_store(&l->stop, 1);
    pthread_join(l->th, NULL);
    for (int s = 0; s < l->nsrv; s++) close(l->fd[s]);
}

/* --- what the cluster shows ----------------------------------------------------- */

static int server_count(json_t *doc) { return (int)json_array_size(json_object_get(doc, "servers")); }

/* The servers a replica publishes now (-1 if it does not answer). */
static int published_count(it_cluster *c, int i) {
    json_t *j = it_get_json(it_replica_port(c, i), "/v1/servers");
    int n = j ? server_count(j) : -1;
    json_decref(j);
    return n;
}

static int status_int(it_cluster *c, int i, const char *field) {
    json_t *j = it_get_json(it_replica_port(c, i), "/v1/status");
    json_t *v = j ? json_object_get(j, field) : NULL;
    int n = json_is_integer(v) ? (int)json_integer_value(v) : -1;
    json_decref(j);
    return n;
}

/* Some alive replica that is not `a` and not `b`. */
static int other_replica(it_cluster *c, int a, int b) {
    for (int i = 0; i < 3; i++)
        if (i != a && i != b && it_replica_alive(c, i)) return i;
    return -1;
}

/* memcached `stats` figure (-1 if unreachable or absent). */
static long long mc_stat(const char *host, int port, const char *name) {
    char reply[8192], want[80];
    if (th_mc_cmd(host, port, "stats\r\n", reply, sizeof(reply), 3000) <= 0) return -1;
    snprintf(want, sizeof(want), "STAT %s ", name);
    const char *p = strstr(reply, want);
    return p ? atoll(p + strlen(want)) : -1;
}

static int mc_answers(const char *host, int port) {
    char reply[256];
    return th_mc_cmd(host, port, "version\r\n", reply, sizeof(reply), 1000) > 0 && strncmp(reply, "VERSION", 7) == 0;
}

/* state/desired from ZooKeeper, parsed ({"instances":N,"autoscale":{...}}). */
static json_t *zk_desired(it_cluster *c) {
    const char *root = strchr(it_zk_url(c) + strlen("zk://"), '/');
    char path[256], *buf = malloc(1 << 16);
    snprintf(path, sizeof(path), "%s/state/desired", root);
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    zhandle_t *zh = zkt_connect(it_zk_hosts(c), NULL, 10000);
    int len = (1 << 16) - 1, rc = zoo_get(zh, path, 0, buf, &len, NULL);
    zookeeper_close(zh);
    json_t *doc = rc == ZOK && len > 0 ? json_loadb(buf, (size_t)len, 0, NULL) : NULL;
    free(buf);
    CHECK(c, doc != NULL, "reading %s from ZooKeeper: %s", path, rc == ZOK ? "not JSON" : zerror(rc));
    return doc;
}

/* The first decision in the stored history with action a, reason r and
 * from -> to, at or after t_min (wall ms); NULL if none. Borrowed from doc. */
static int str_is(json_t *o, const char *key, const char *want) {
    const char *v = json_string_value(json_object_get(o, key));
    return v && strcmp(v, want) == 0;
}

static json_t *find_decision(json_t *doc, const char *a, const char *r, int from, int to, int64_t t_min) {
    json_t *list = json_object_get(json_object_get(doc, "autoscale"), "decisions"), *e;
    size_t i;
    json_array_foreach(list, i, e) {
        if (!str_is(e, "a", a) || !str_is(e, "r", r)) continue;
        if (json_integer_value(json_object_get(e, "from")) != from) continue;
        if (json_integer_value(json_object_get(e, "to")) != to) continue;
        if (json_integer_value(json_object_get(e, "t")) < t_min) continue;
        return e;
    }
    return NULL;
}

static char *history_text(json_t *doc) {
    char *s = json_dumps(json_object_get(doc, "autoscale"), JSON_COMPACT);
    return s ? s : strdup("?");
}

typedef struct text { char *p; size_t n; } text;
static size_t text_add(char *d, size_t sz, size_t n, void *u) {
    text *t = u;
    char *np = realloc(t->p, t->n + sz * n + 1);
    if (!np) return 0;
    memcpy(np + t->n, d, sz * n);
    t->p = np;
    t->n += sz * n;
    t->p[t->n] = 0;
    return sz * n;
}

/* GET http://127.0.0.1:port/path as text (malloc'd), NULL unless 200. */
static char *get_text(int port, const char *path) {
    char url[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    CURL *h = curl_easy_init();
    text t = {0};
    long code = 0;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, text_add);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    if (curl_easy_perform(h) == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(h);
    if (code != 200) {
        free(t.p);
        return NULL;
    }
    return t.p;
}

/* --- the scenario ---------------------------------------------------------------- */

typedef struct scenario {
    it_cluster *c;
    int leader, follower;
    int max_seen;                 /* the most servers any observation showed */
    int64_t t_kill;               /* wall ms of the SIGKILL */
    int64_t t_up;                 /* wall ms of the UP decision (stored history) */
} scenario;

static void observe(scenario *s, int replica) {
    int n = published_count(s->c, replica);
    if (n > s->max_seen) s->max_seen = n;
    int l = it_leader(s->c);
    int d = l >= 0 ? status_int(s->c, l, "desired") : -1;
    if (d > s->max_seen) s->max_seen = d;
}

static void start(scenario *s) {
    it_opts o = {.agents = 4,
                 .instances = 2,
                 .session_timeout_ms = 4000,
                 .extra = {"--instances-min=2", "--instances-max=4", "--scale-up-mem=0.5", "--scale-down-mem=0.1",
                           "--scale-up-window=3s", "--scale-down-window=5s", "--cooldown=40s", "--drain-time=3s",
                           "--scale-up-cpu=64", "--scale-up-evictions=1e9", NULL}};
    memset(s, 0, sizeof(*s));
    s->c = it_start(&o);
    json_t *d = it_wait_servers(s->c, 0, 2, UP_MS);
    CHECK(s->c, d != NULL, "2 servers never published");
    json_decref(d);
    s->leader = it_wait_leader(s->c, 20000, -1);
    CHECK(s->c, s->leader >= 0, "no leader");
    s->follower = other_replica(s->c, s->leader, -1);
}

/* --- the markers: is each step warm? --------------------------------------------- */

static void marker_key(int i, char *buf, size_t len) { snprintf(buf, len, "autoscale-marker-%05d", i); }

static void marker_value(int i, char *buf, size_t len) { snprintf(buf, len, "marker-%05d-%080d", i, i); }

static void markers_write(it_cluster *c, json_t *doc) {
    wc_client k;
    wc_open(&k, doc);
    for (int i = 0; i < MARKERS; i++) {
        char key[64], v[128];
        marker_key(i, key, sizeof(key));
        marker_value(i, v, sizeof(v));
        memcached_return_t rc = memcached_set(k.mc, key, strlen(key), v, strlen(v), 0, (uint32_t)i);
        CHECK(c, rc == MEMCACHED_SUCCESS, "marker %s not stored: %s", key, memcached_strerror(k.mc, rc));
    }
    wc_close(&k);
}

/* Markers read through doc's list with their value: the first pass's hits. */
static int markers_hit(json_t *doc) {
    wc_client k;
    wc_open(&k, doc);
    int hits = 0;
    for (int i = 0; i < MARKERS; i++) {
        char key[64], want[128];
        size_t len;
        uint32_t flags;
        memcached_return_t rc;
        marker_key(i, key, sizeof(key));
        marker_value(i, want, sizeof(want));
        char *v = memcached_get(k.mc, key, strlen(key), &len, &flags, &rc);
        if (v && len == strlen(want) && !memcmp(v, want, len) && flags == (uint32_t)i) hits++;
        free(v);
    }
    wc_close(&k);
    return hits;
}

static int transition_idle(it_cluster *c, int replica) {
    json_t *st = it_get_json(it_replica_port(c, replica), "/v1/status");
    const char *p = json_string_value(json_object_get(json_object_get(st, "transition"), "phase"));
    int idle = p && !strcmp(p, "idle");
    json_decref(st);
    return idle;
}

static void markers_in_place(it_cluster *c, int leader, json_t *doc, const char *when) {
    int idle = 0;
    for (int64_t t0 = mono_ms(); !idle && mono_ms() - t0 < 60000; usleep(200000)) idle = transition_idle(c, leader);
    CHECK(c, idle, "%s: the leader's transition did not end within 60 s", when);
    int bad = wc_misplaced(doc, MARKERS, marker_key, when);
    CHECK(c, bad == 0, "%s: %d markers on a server that does not own them", when, bad);
}

/* Phase 1-2: load until the leader decides UP, then SIGKILL it at once. */
static void grow_then_kill_leader(scenario *s) {
    it_cluster *c = s->c;
    json_t *doc = it_wait_servers(c, s->follower, 2, 20000);
    CHECK(c, doc != NULL, "follower %d does not publish the 2 servers", s->follower);
    markers_write(c, doc);
    loader *l = loader_start(c, doc);
    int64_t t0 = mono_ms();
    int desired = 2;
    while (desired == 2 && mono_ms() - t0 < 90000 && !l->err[0]) {
        usleep(100000);
        desired = status_int(c, s->leader, "desired");
        observe(s, s->follower);
    }
    if (desired == 3) {
        s->t_kill = wall_ms();
        it_replica_signal(c, s->leader, SIGKILL);
    }
    loader_stop(l);
    fprintf(stderr, "autoscale: desired %d after %lld ms of load (%d passes)\n", desired,
            (long long)(mono_ms() - t0), atomic_load(&l->passes));
    CHECK(c, !l->err[0], "load generator: %s", l->err);
    for (int i = 0; i < l->nsrv; i++) {   /* the load is what the comment says it is */
        double used = (double)mc_stat(l->host[i], l->port[i], "bytes") /
                      (double)mc_stat(l->host[i], l->port[i], "limit_maxbytes");
        fprintf(stderr, "autoscale: %s:%d filled to %.2f of limit_maxbytes\n", l->host[i], l->port[i], used);
        CHECK(c, used > 0.55 && used < 0.75, "%s:%d filled to %.2f of its limit (want 0.55..0.75)", l->host[i],
              l->port[i], used);
    }
    CHECK(c, desired == 3, "the leader's desired count is %d after 90 s above the threshold (want 3)", desired);
    CHECK(c, atomic_load(&l->passes) >= 1, "not one load pass completed");
    free(l);
    json_decref(doc);

    json_t *h = zk_desired(c);
    json_t *up = find_decision(h, "up", "mem_high", 2, 3, 0);
    char *ht = history_text(h);
    CHECK(c, up != NULL, "no UP 2->3 for mem_high in the stored history: %s", ht);
    s->t_up = json_integer_value(json_object_get(up, "t"));
    CHECK(c, s->t_up <= s->t_kill, "UP stored at %lld, after the kill at %lld", (long long)s->t_up,
          (long long)s->t_kill);
    fprintf(stderr, "autoscale: UP at %lld, leader %d killed %lld ms later\n", (long long)s->t_up, s->leader,
            (long long)(s->t_kill - s->t_up));
    free(ht);
    json_decref(h);
}

/* Phase 3: new leader, three published servers, keys expire on their own. */
static json_t *after_failover(scenario *s, int *new_leader) {
    it_cluster *c = s->c;
    int nl = it_wait_leader(c, 60000, s->leader);
    CHECK(c, nl >= 0, "no new leader after the SIGKILL");
    *new_leader = nl;
    s->follower = other_replica(c, s->leader, nl);
    CHECK(c, s->follower >= 0, "no follower left");
    json_t *three = NULL;
    for (int64_t t0 = mono_ms(); !three && mono_ms() - t0 < UP_MS;) {
        observe(s, s->follower);
        three = it_wait_servers(c, s->follower, 3, 500);
    }
    CHECK(c, three != NULL, "the follower never published 3 servers after the failover");
    it_check_all_answer(three);
    int hits = markers_hit(three);
    fprintf(stderr, "autoscale: step up: %d of %d markers read through the new list at once\n", hits, MARKERS);
    CHECK(c, hits == MARKERS, "step up was not warm: %d of %d markers read through the 3-list", hits, MARKERS);
    /* The TTL runs out; memcached reclaims the items itself (nobody reads them). */
    json_t *arr = json_object_get(three, "servers");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *e = json_array_get(arr, i);
        const char *host = json_string_value(json_object_get(e, "host"));
        int port = (int)json_integer_value(json_object_get(e, "port"));
        long long bytes = -1, limit = mc_stat(host, port, "limit_maxbytes");
        for (int64_t t0 = mono_ms(); mono_ms() - t0 < 30000; usleep(200000)) {
            bytes = mc_stat(host, port, "bytes");
            observe(s, s->follower);
            if (bytes >= 0 && limit > 0 && bytes < limit / 20) break;
        }
        CHECK(c, bytes >= 0 && bytes < limit / 20, "%s:%d still holds %lld of %lld bytes %d s after the load",
              host, port, bytes, limit, 30);
        fprintf(stderr, "autoscale: %s:%d bytes %lld (reclaimed %lld, curr_items %lld) without any get\n", host,
                port, bytes, mc_stat(host, port, "reclaimed"), mc_stat(host, port, "curr_items"));
    }
    markers_in_place(c, nl, three, "after the step up");
    return three;
}

static int in_doc(json_t *doc, const char *task_id) {
    json_t *e;
    size_t i;
    json_array_foreach(json_object_get(doc, "servers"), i, e)
        if (!strcmp(json_string_value(json_object_get(e, "task_id")), task_id)) return 1;
    return 0;
}

/* Phase 4: back to two after the cooldown that began before the failover. */
static void shrink(scenario *s, int nl, json_t *three) {
    it_cluster *c = s->c;
    json_t *two = NULL;
    for (int64_t t0 = mono_ms(); !two && mono_ms() - t0 < COOLDOWN_MS + 60000;) {
        observe(s, s->follower);
        two = it_wait_servers(c, s->follower, 2, 200);
    }
    CHECK(c, two != NULL, "the fleet never shrank back to 2 servers");
    int hits = markers_hit(two);
    fprintf(stderr, "autoscale: step down: %d of %d markers read through the new list at once\n", hits, MARKERS);
    CHECK(c, hits == MARKERS, "step down was not warm: %d of %d markers read through the 2-list", hits, MARKERS);
    /* The victim: in the 3-list, not in the 2-list; unpublished, still draining. */
    json_t *e, *victim = NULL;
    size_t i;
    json_array_foreach(json_object_get(three, "servers"), i, e) {
        if (!in_doc(two, json_string_value(json_object_get(e, "task_id")))) victim = e;
    }
    CHECK(c, victim != NULL, "the 2-list is not a subset of the 3-list");
    const char *vh = json_string_value(json_object_get(victim, "host"));
    int vp = (int)json_integer_value(json_object_get(victim, "port"));
    CHECK(c, mc_answers(vh, vp), "the victim %s:%d stopped before its drain time", vh, vp);
    int gone = 0;
    for (int64_t t0 = mono_ms(); !gone && mono_ms() - t0 < DRAIN_MS + 30000; usleep(200000))
        gone = !mc_answers(vh, vp);
    CHECK(c, gone, "the victim %s:%d still answers %d ms after it was unpublished", vh, vp, DRAIN_MS + 30000);
    markers_in_place(c, nl, two, "after the step down");

    json_t *h = zk_desired(c);
    char *ht = history_text(h);
    json_t *down = find_decision(h, "down", "mem_low", 3, 2, s->t_up);
    json_t *held = find_decision(h, "none", "cooldown", 3, 2, s->t_kill);
    CHECK(c, json_integer_value(json_object_get(h, "instances")) == 2, "stored desired count is not 2: %s", ht);
    CHECK(c, down != NULL, "no DOWN 3->2 for mem_low in the stored history: %s", ht);
    int64_t t_down = json_integer_value(json_object_get(down, "t"));
    fprintf(stderr, "autoscale: DOWN %lld ms after UP (cooldown %d ms); history %s\n", (long long)(t_down - s->t_up),
            COOLDOWN_MS, ht);
    CHECK(c, t_down - s->t_up >= COOLDOWN_MS, "DOWN %lld ms after UP: the new leader did not keep the cooldown",
          (long long)(t_down - s->t_up));
    CHECK(c, find_decision(h, "up", "mem_high", 2, 3, 0) != NULL, "the new leader lost the UP from the history: %s",
          ht);
    CHECK(c, !find_decision(h, "up", "mem_high", 3, 4, 0), "a second step up is in the history: %s", ht);
    /* Not vacuous: the new leader wanted DOWN earlier and the inherited cooldown held it. */
    CHECK(c, held != NULL, "the new leader never held a DOWN back for the cooldown (history %s)", ht);
    int64_t t_held = json_integer_value(json_object_get(held, "t"));
    CHECK(c, t_held < s->t_up + COOLDOWN_MS && t_held <= t_down, "held back at %lld, cooldown ended %lld",
          (long long)t_held, (long long)(s->t_up + COOLDOWN_MS));

    char *m = get_text(it_replica_port(c, nl), "/metrics");
    CHECK(c, m != NULL, "GET /metrics on the new leader failed");
    double downs = it_metric_value(m, "mcm_autoscale_decisions_total{action=\"down\",reason=\"mem_low\"}");
    double cools = it_metric_value(m, "mcm_autoscale_decisions_total{action=\"none\",reason=\"cooldown\"}");
    free(m);
    CHECK(c, downs == 1, "new leader's /metrics: %g down/mem_low decisions (want 1)", downs);
    CHECK(c, cools >= 1, "new leader's /metrics: %g evaluations held by the cooldown (want >= 1)", cools);
    /* Stays at two: the minimum. */
    sleep(3);
    observe(s, s->follower);
    CHECK(c, published_count(c, s->follower) == 2, "the fleet left 2 servers after shrinking");
    CHECK(c, s->max_seen == 3, "the fleet reached %d servers (want exactly one step, to 3)", s->max_seen);
    free(ht);
    json_decref(h);
    json_decref(two);
}

START_TEST(test_autoscale_grow_failover_keeps_cooldown_shrink) {
    scenario s;
    start(&s);
    grow_then_kill_leader(&s);
    int nl = -1;
    json_t *three = after_failover(&s, &nl);
    shrink(&s, nl, three);
    json_decref(three);
    it_stop(s.c);
}
END_TEST

int main(void) {
    Suite *su = suite_create("autoscale");
    TCase *tc = tcase_create("autoscale");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_autoscale_grow_failover_keeps_cooldown_shrink);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
