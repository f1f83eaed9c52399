/* latency.c -- informal measurement (not a test): time from a znode set to
 * mcm-watch having renamed its rewritten file into place.
 *
 * Starts a real ZooKeeper and the real mcm-watch (--format json), then N
 * times: zoo_set a document with version v, and wait (inotify IN_MOVED_TO on
 * the output directory) until the file holds version v. Prints median, p99
 * and max, and ends with one name=value line. Usage: discovery_latency [N]
 * (MCM_BUILD_DIR must point at the build tree). */
#include "harness.h"
#include "srvlist.h"

#include <check.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>
#include <zookeeper/zookeeper.h>

static int N = 200;
static atomic_int zk_state;

static void session_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    if (type == ZOO_SESSION_EVENT) atomic_store(&zk_state, state);
}
static int zk_connected(void *arg) { return atomic_load(&zk_state) == ZOO_CONNECTED_STATE; }

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int has_version(const char *path, int v) {
    char buf[4096], want[64];
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    snprintf(want, sizeof(want), "\"version\":%d,", v);
    return strstr(buf, want) != NULL;
}

static void put(zhandle_t *zh, int v) {
    srvlist *l = srvlist_new();
    l->version = v;
    char host[32];
    for (int i = 0; i < 3; i++) {
        snprintf(host, sizeof(host), "10.0.%d.%d", v % 250, i + 1);
        srvlist_add(l, host, 31000 + i, "mcm-task");
    }
    srvlist_sort(l);
    char *doc = srvlist_to_json(l);
    int rc = zoo_set(zh, "/mcm/servers", doc, (int)strlen(doc), -1);
    if (rc == ZNONODE) rc = zoo_create(zh, "/mcm/servers", doc, (int)strlen(doc), &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
    ck_assert_int_eq(rc, ZOK);
    free(doc);
    srvlist_free(l);
}

/* Waits for the file to hold version v; inotify wakes us on each rename. */
static void wait_version(int ino, const char *path, int v) {
    while (!has_version(path, v)) {
        struct pollfd p = {.fd = ino, .events = POLLIN};
        ck_assert_msg(poll(&p, 1, 10000) > 0, "version %d never written", v);
        char ev[4096];
        ck_assert(read(ino, ev, sizeof(ev)) > 0);
    }
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

START_TEST(measure) {
    zoo_set_debug_level((ZooLogLevel)0);
    th_zk *z = th_zk_start();
    zhandle_t *zh = zookeeper_init(th_zk_hosts(z), session_watcher, 30000, NULL, NULL, 0);
    ck_assert(th_wait(zk_connected, NULL, 10000));
    ck_assert_int_eq(zoo_create(zh, "/mcm", NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0), ZOK);
    char *dir = th_tempdir(), out[512], bin[1024], zk[256];
    snprintf(out, sizeof(out), "%s/servers.json", dir);
    snprintf(bin, sizeof(bin), "%s/src/discovery/mcm-watch", getenv("MCM_BUILD_DIR"));
    snprintf(zk, sizeof(zk), "zk://%s/mcm", th_zk_hosts(z));
    int ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    inotify_add_watch(ino, dir, IN_MOVED_TO | IN_CLOSE_WRITE);
    put(zh, 1);
    char *argv[] = {bin, "--zk", zk, "--format", "json", "--output", out, "--log-level", "warning", NULL};
    th_proc *p = th_proc_start(argv, "/dev/null");
    wait_version(ino, out, 1);
    double *lat = calloc((size_t)N, sizeof(double));
    for (int i = 0; i < N; i++) {
        double t0 = now_us();
        put(zh, i + 2);
        wait_version(ino, out, i + 2);
        lat[i] = (now_us() - t0) / 1000.0;
    }
    qsort(lat, (size_t)N, sizeof(double), cmp);
    double med = lat[N / 2], p99 = lat[(int)(N * 0.99) < N ? (int)(N * 0.99) : N - 1], max = lat[N - 1];
    printf("znode set -> file renamed, %d changes: median %.2f ms, p99 %.2f ms, max %.2f ms\n", N, med, p99, max);
    printf("changes=%d median_ms=%.2f p99_ms=%.2f max_ms=%.2f\n", N, med, p99, max);
    free(lat);
    th_proc_free(p);
    close(ino);
    zookeeper_close(zh);
    th_zk_free(z);
    th_rmtree(dir);
    free(dir);
}
END_TEST

int main(int argc, char **argv) {
    if (argc > 1) N = atoi(argv[1]) > 0 ? atoi(argv[1]) : N;
    Suite *s = suite_create("discovery_latency");
    TCase *tc = tcase_create("latency");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, measure);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_SILENT);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
