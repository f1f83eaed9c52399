/* latency.c -- part 2: time from a `servers` znode write to mcm-watch having
 * renamed its rewritten file into place.
 *
 * Starts a real ZooKeeper (harness) and the real mcm-watch (--format json,
 * --output FILE), then `changes` times: note the time, zoo_set a document of
 * `servers` entries with version v, and wait (inotify IN_MOVED_TO /
 * IN_CLOSE_WRITE on the output directory, so nothing polls) until the file
 * holds version v. The figure therefore includes the write's own round trip
 * to ZooKeeper (reported apart as set_p50_ms), the watch event, mcm-watch's
 * getData, formatting, and its write + rename. Each change moves every host,
 * so mcm-watch cannot skip one as unchanged.
 *
 * Threads: the main thread (plus the ZooKeeper client's own threads). */
#include "bench_discovery.h"
#include "srvlist.h"

#include <check.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>
#include <zookeeper/zookeeper.h>

static atomic_int zk_state;

static void session_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    if (type == ZOO_SESSION_EVENT) atomic_store(&zk_state, state);
}
static int zk_connected(void *arg) { return atomic_load(&zk_state) == ZOO_CONNECTED_STATE; }

/* 1 if the JSON file at path holds "version":v. */
static int has_version(const char *path, int v) {
    char buf[256], want[64];
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);   /* "version" leads the document */
    fclose(f);
    buf[n] = '\0';
    snprintf(want, sizeof(want), "\"version\":%d,", v);
    return strstr(buf, want) != NULL;
}

static void put(zhandle_t *zh, int v, int servers) {
    srvlist *l = srvlist_new();
    l->version = v;
    char host[32];
    for (int i = 0; i < servers; i++) {
        snprintf(host, sizeof(host), "10.%d.%d.%d", v % 250, i / 250, i % 250 + 1);
        srvlist_add(l, host, 31000 + i % 1000, "mcm-task");
    }
    srvlist_sort(l);
    char *doc = srvlist_to_json(l);
    int rc = zoo_set(zh, "/mcm/servers", doc, (int)strlen(doc), -1);
    if (rc == ZNONODE) rc = zoo_create(zh, "/mcm/servers", doc, (int)strlen(doc), &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
    ck_assert_msg(rc == ZOK, "writing /mcm/servers: %s", zerror(rc));
    free(doc);
    srvlist_free(l);
}

/* Waits for the file to hold version v; inotify wakes us on each rename. */
static void wait_version(int ino, const char *path, int v) {
    while (!has_version(path, v)) {
        struct pollfd p = {.fd = ino, .events = POLLIN};
        ck_assert_msg(poll(&p, 1, 10000) > 0, "mcm-watch never wrote version %d", v);
        char ev[4096];
        ck_assert(read(ino, ev, sizeof(ev)) > 0);
    }
}

void watch_latency_measure(const char *mcm_watch, int changes, int servers, watch_figures *f) {
    zoo_set_debug_level((ZooLogLevel)0);
    ck_assert_msg(access(mcm_watch, X_OK) == 0, "%s is not built (build target mcm-watch)", mcm_watch);
    th_zk *z = th_zk_start();
    zhandle_t *zh = zookeeper_init(th_zk_hosts(z), session_watcher, 30000, NULL, NULL, 0);
    ck_assert_msg(zh && th_wait(zk_connected, NULL, 10000), "no ZooKeeper session");
    ck_assert_int_eq(zoo_create(zh, "/mcm", NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0), ZOK);
    char *dir = th_tempdir(), out[512], log[512], zk[256];
    snprintf(out, sizeof(out), "%s/servers.json", dir);
    snprintf(log, sizeof(log), "%s/mcm-watch.log", dir);
    snprintf(zk, sizeof(zk), "zk://%s/mcm", th_zk_hosts(z));
    int ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    ck_assert(ino >= 0 && inotify_add_watch(ino, dir, IN_MOVED_TO | IN_CLOSE_WRITE) >= 0);
    put(zh, 1, servers);
    char *argv[] = {(char *)mcm_watch, "--zk", zk, "--format", "json", "--output", out,
                    "--log-level", "warning", NULL};
    th_proc *p = th_proc_start(argv, log);
    wait_version(ino, out, 1);
    double *lat = calloc((size_t)changes, sizeof(double)), *set = calloc((size_t)changes, sizeof(double));
    ck_assert(lat && set);
    for (int i = 0; i < changes; i++) {
        double t0 = bench_now_ms();
        put(zh, i + 2, servers);
        set[i] = bench_now_ms() - t0;
        wait_version(ino, out, i + 2);
        lat[i] = bench_now_ms() - t0;
    }
    f->changes = changes;
    f->p50_ms = bench_pct(lat, changes, 50);
    f->p99_ms = bench_pct(lat, changes, 99);
    f->max_ms = bench_pct(lat, changes, 100);
    f->set_p50_ms = bench_pct(set, changes, 50);
    printf("znode set -> mcm-watch file renamed, %d changes of %d servers: median %.2f ms, p99 %.2f ms, "
           "max %.2f ms (the zoo_set round trip itself: median %.2f ms)\n",
           changes, servers, f->p50_ms, f->p99_ms, f->max_ms, f->set_p50_ms);
    free(lat);
    free(set);
    th_proc_free(p);
    close(ino);
    zookeeper_close(zh);
    th_zk_free(z);
    th_rmtree(dir);
    free(dir);
}
