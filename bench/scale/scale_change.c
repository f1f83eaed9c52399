/* scale_change.c -- one change of the fleet: to the servers znode, then to mcm-watch's file.
 *
 * What: with N servers published and mcm-watch (--format json --output FILE)
 * following the servers znode, SIGKILL one memcached. Its executor reports
 * TASK_FAILED, the leader takes the server out of the list at once (a dead
 * server leaves cold) and rewrites the servers znode. Two intervals:
 *   znode_ms  kill -> the data watch this process holds on the znode fires;
 *   watch_ms  that moment -> mcm-watch has renamed its rewritten file into
 *             place (the file's inode changes; polled every 0.2 ms).
 * The first covers the executor, the simulator, the leader's decision and
 * its fenced write of an N-server document; the second mcm-watch's read,
 * format and rename. Then it waits until the replacement server is
 * published again, so the next part starts from N.
 *
 * Threads: the main thread; the ZooKeeper watcher on the client's completion
 * thread only stores a time (atomic). */
#include "scale.h"

#include <check.h>
#include <dirent.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zookeeper/zookeeper.h>

static _Atomic int64_t changed_us;

static int64_t mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static void on_watch(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    (void)zh, (void)state, (void)path, (void)ctx;
    if (type == ZOO_CHANGED_EVENT && !atomic_load(&changed_us)) atomic_store(&changed_us, mono_us());
}

/* The pid of the memcached listening on port (its command line has -p PORT). */
static pid_t memcached_on(int port) {
    char want[16];
    snprintf(want, sizeof(want), "%d", port);
    DIR *d = opendir("/proc");
    struct dirent *e;
    pid_t found = -1;
    while (d && found < 0 && (e = readdir(d))) {
        char path[300], cmd[4096];
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(cmd, 1, sizeof(cmd) - 1, f) : 0;
        if (f) fclose(f);
        cmd[n] = 0;
        if (!strstr(cmd, "memcached")) continue;
        for (size_t i = 0; i + 1 < n; i += strlen(cmd + i) + 1)
            if (!strcmp(cmd + i, "-p") && !strcmp(cmd + i + 3, want)) found = (pid_t)atoi(e->d_name);
    }
    if (d) closedir(d);
    return found;
}

static ino_t inode_of(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? st.st_ino : 0;
}

static th_proc *start_watch(scale_inst *s, const scale_opts *o, const char *out) {
    char prog[1024], zk[256], log[1024];
    snprintf(prog, sizeof(prog), "%s/src/discovery/mcm-watch", o->build);
    snprintf(zk, sizeof(zk), "zk://%s%s", scale_zk_hosts(s), scale_zk_root(s));
    snprintf(log, sizeof(log), "%s/mcm-watch.log", scale_dir(s));
    char *argv[] = {prog, "--zk", zk, "--format", "json", "--output", (char *)out, NULL};
    th_proc *p = th_proc_start(argv, log);
    for (int t = 0; t < 20000 && !inode_of(out); t += 20) usleep(20000);
    ck_assert_msg(inode_of(out), "mcm-watch wrote no file (see %s)", log);
    return p;
}

/* The first server of the znode's document: its port. */
static int first_port(zhandle_t *zh, const char *path) {
    static char b[1 << 20];
    int len = sizeof(b) - 1;
    struct Stat st;
    ck_assert_msg(zoo_wget(zh, path, on_watch, NULL, b, &len, &st) == ZOK, "cannot read %s", path);
    b[len < 0 ? 0 : len] = 0;
    json_t *doc = json_loads(b, 0, NULL);
    json_t *srv = json_array_get(json_object_get(doc, "servers"), 0);
    int port = (int)json_integer_value(json_object_get(srv, "port"));
    json_decref(doc);
    return port;
}

void scale_change_measure(scale_inst *s, const scale_opts *o, scale_change_figures *f) {
    char out[1024], path[256];
    snprintf(out, sizeof(out), "%s/servers.json", scale_dir(s));
    snprintf(path, sizeof(path), "%s/servers", scale_zk_root(s));
    th_proc *w = start_watch(s, o, out);
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    zhandle_t *zh = zookeeper_init(scale_zk_hosts(s), NULL, 10000, NULL, NULL, 0);
    ck_assert(zh != NULL);
    for (int t = 0; t < 10000 && zoo_state(zh) != ZOO_CONNECTED_STATE; t += 10) usleep(10000);
    atomic_store(&changed_us, 0);
    int port = first_port(zh, path);
    pid_t pid = memcached_on(port);
    ck_assert_msg(pid > 0, "no memcached process listens on port %d", port);
    ino_t before = inode_of(out);
    int64_t t0 = mono_us();
    kill(pid, SIGKILL);
    while (!atomic_load(&changed_us) && mono_us() - t0 < 60000000) usleep(200);
    int64_t t1 = atomic_load(&changed_us);
    ck_assert_msg(t1 > 0, "the servers znode did not change within 60 s of killing memcached %d", (int)pid);
    while (inode_of(out) == before && mono_us() - t1 < 30000000) usleep(200);
    int64_t t2 = mono_us();
    ck_assert_msg(inode_of(out) != before, "mcm-watch did not rewrite %s within 30 s", out);
    f->znode_ms = (double)(t1 - t0) / 1000.0;
    f->watch_ms = (double)(t2 - t1) / 1000.0;
    json_t *doc = json_load_file(out, 0, NULL);
    f->servers_after = doc ? (int)json_array_size(json_object_get(doc, "servers")) : -1;
    json_decref(doc);
    zookeeper_close(zh);
    th_proc_free(w);
    int l = scale_wait_leader(s, 30000, -1);
    for (int64_t t = scale_mono_ms(); l >= 0 && scale_mono_ms() - t < 180000; usleep(200000))
        if (scale_servers(scale_port(s, l)) == o->n) return;
    ck_abort_msg("the replacement of the killed server was not published within 180 s");
}
