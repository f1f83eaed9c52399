/* test_watch.c -- mcm-watch, the real program, against a real ZooKeeper.
 *
 * Each test starts ZooKeeper, writes `/mcm/servers` with the C client the way
 * the leader does, runs mcm-watch as a child process and checks its output
 * file: every format follows changes (twemproxy's accepted by nutcracker),
 * --exec runs after each rewrite only, SIGHUP rewrites, the last good list
 * survives malformed content, deletion and a ZooKeeper restart, and an empty
 * list is written as such. The operator's view: an --output that can never
 * be written is a usage error, --once never hangs (write failure, no
 * ZooKeeper, no znode: exit 1), an unreachable ZooKeeper is a repeated but
 * modest WARNING, a missing znode only INFO. */
#include "harness.h"
#include "mcm.h"
#include "srvlist.h"
#include "util.h"
#include "watch.h"
#include "watch_format.h"

#include <check.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zookeeper/zookeeper.h>

static atomic_int zk_state;
static th_zk *Z;
static zhandle_t *ZH;
static char *DIR_;

static void session_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    if (type == ZOO_SESSION_EVENT) atomic_store(&zk_state, state);
}

static int zk_connected(void *arg) { return atomic_load(&zk_state) == ZOO_CONNECTED_STATE; }

static void setup(void) {
    zoo_set_debug_level((ZooLogLevel)0);
    Z = th_zk_start();
    ZH = zookeeper_init(th_zk_hosts(Z), session_watcher, 30000, NULL, NULL, 0);
    ck_assert_ptr_nonnull(ZH);
    ck_assert_msg(th_wait(zk_connected, NULL, 10000), "no ZooKeeper session");
    ck_assert_int_eq(zoo_create(ZH, "/mcm", NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0), ZOK);
    DIR_ = th_tempdir();
}

static void teardown(void) {
    zookeeper_close(ZH);
    th_zk_free(Z);
    if (!getenv("MCM_KEEP_TEST_DIRS")) th_rmtree(DIR_);
    free(DIR_);
}

/* A list of n servers 10.0.0.<i+1>:31000 with the given version. */
static srvlist *list_n(int n, int64_t version) {
    srvlist *l = srvlist_new();
    l->version = version;
    snprintf(l->updated, sizeof(l->updated), "2026-11-25T06:00:00.000Z");
    for (int i = 0; i < n; i++) {
        char host[32], task[32];
        snprintf(host, sizeof(host), "10.0.0.%d", i + 1);
        snprintf(task, sizeof(task), "mcm-task-%d", i + 1);
        ck_assert_int_eq(srvlist_add(l, host, 31000, task), MCM_OK);
    }
    srvlist_sort(l);
    return l;
}

static void zk_put_raw(const char *data) {
    int rc = zoo_set(ZH, "/mcm/servers", data, (int)strlen(data), -1);
    if (rc == ZNONODE)
        rc = zoo_create(ZH, "/mcm/servers", data, (int)strlen(data), &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
    ck_assert_msg(rc == ZOK, "zk put: %s", zerror(rc));
}

static void zk_put(const srvlist *l) {
    char *doc = srvlist_to_json(l);
    zk_put_raw(doc);
    free(doc);
}

static char *path_in_dir(const char *name) {
    char *p;
    ck_assert(asprintf(&p, "%s/%s", DIR_, name) > 0);
    return p;
}

static th_proc *start_watch(const char *format, const char *out, const char *exec, const char *log) {
    char bin[1024], zk[256];
    snprintf(bin, sizeof(bin), "%s/src/discovery/mcm-watch", getenv("MCM_BUILD_DIR"));
    snprintf(zk, sizeof(zk), "zk://%s/mcm", th_zk_hosts(Z));
    char *argv[16] = {bin, "--zk", zk, "--format", (char *)format, "--output", (char *)out,
                      "--zk-session-timeout", "2s", "--log-level", "verbose"};
    int n = 11;
    if (exec) {
        argv[n++] = "--exec";
        argv[n++] = (char *)exec;
    }
    argv[n] = NULL;
    return th_proc_start(argv, log);
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = calloc(1, 1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

typedef struct expect { const char *path; const char *want; } expect;

static int file_is(void *arg) {
    expect *e = arg;
    char *got = slurp(e->path);
    int ok = got && strcmp(got, e->want) == 0;
    free(got);
    return ok;
}

static void wait_file(const char *path, const char *want) {
    expect e = {path, want};
    if (th_wait(file_is, &e, 10000)) return;
    char *got = slurp(path);
    ck_abort_msg("%s: want '%s', got '%s'", path, want, got ? got : "(no file)");
}

static void wait_format(const char *path, const srvlist *l, watch_fmt fmt) {
    char *want = watch_format(l, fmt, "mcm", "127.0.0.1:22121");
    wait_file(path, want);
    free(want);
}

static int log_has(void *arg) {
    const char **a = arg;
    char *got = slurp(a[0]);
    int ok = got && strstr(got, a[1]) != NULL;
    free(got);
    return ok;
}

static void wait_log(const char *log, const char *text) {
    const char *a[2] = {log, text};
    ck_assert_msg(th_wait(log_has, a, 10000), "%s never logged '%s'", log, text);
}

/* How many times text occurs in the file at path. */
static int count_in(const char *path, const char *text) {
    char *s = slurp(path);
    int n = 0;
    for (char *p = s; p && (p = strstr(p, text)) != NULL; p += strlen(text)) n++;
    free(s);
    return n;
}

/* Waits up to timeout_ms for p to exit; its exit code, or -1 (running, killed). */
static int wait_exit(th_proc *p, int timeout_ms) {
    int status = -1;
    for (int i = 0; i < timeout_ms / 10 && !th_proc_exited(p, &status); i++) usleep(10000);
    return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Starts mcm-watch with args (NULL-terminated), output to log. */
static th_proc *run_watch(const char *log, char **args) {
    char bin[1024];
    snprintf(bin, sizeof(bin), "%s/src/discovery/mcm-watch", getenv("MCM_BUILD_DIR"));
    char *argv[24] = {bin};
    int n = 1;
    while (args[n - 1] && n < 23) {
        argv[n] = args[n - 1];
        n++;
    }
    argv[n] = NULL;
    return th_proc_start(argv, log);
}

static int count_lines(const char *path) {
    char *s = slurp(path);
    int n = 0;
    for (char *p = s; p && *p; p++) n += *p == '\n';
    free(s);
    return n;
}

static int run_status(const char *cmd) {
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

START_TEST(test_discovery_watch_every_format_follows_changes) {
    static const char *names[] = {"plain", "json", "twemproxy", "mcrouter"};
    char *out[4], *log = path_in_dir("watch.log");
    th_proc *p[4];
    srvlist *l = list_n(2, 1);
    zk_put(l);
    for (int i = 0; i < 4; i++) {
        char f[32];
        snprintf(f, sizeof(f), "out.%s", names[i]);
        out[i] = path_in_dir(f);
        p[i] = start_watch(names[i], out[i], NULL, log);
    }
    for (int i = 0; i < 4; i++) wait_format(out[i], l, (watch_fmt)i);
    srvlist_free(l);
    l = list_n(3, 2);
    zk_put(l);
    for (int i = 0; i < 4; i++) wait_format(out[i], l, (watch_fmt)i);
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "nutcracker --test-conf -c %s >/dev/null 2>&1", out[2]);
    ck_assert_msg(run_status(cmd) == 0, "nutcracker rejected %s", out[2]);
    for (int i = 0; i < 4; i++) {
        int st = th_proc_stop(p[i], 5000);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "mcm-watch did not exit cleanly on SIGTERM");
        th_proc_free(p[i]);
        free(out[i]);
    }
    srvlist_free(l);
    free(log);
}
END_TEST

START_TEST(test_discovery_watch_exec_after_each_rewrite_only) {
    char *out = path_in_dir("servers.txt"), *count = path_in_dir("count"), *log = path_in_dir("w.log");
    char exec[1200];
    snprintf(exec, sizeof(exec), "wc -l < %s >> %s", out, count);
    srvlist *l = list_n(1, 1);
    zk_put(l);
    th_proc *p = start_watch("plain", out, exec, log);
    wait_format(out, l, WATCH_FMT_PLAIN);
    wait_file(count, "1\n");                    /* ran after the file was in place */
    srvlist_free(l);
    l = list_n(2, 2);
    zk_put(l);
    wait_file(count, "1\n2\n");
    /* A new version with the same servers: no rewrite, no command. */
    l->version = 3;
    zk_put(l);
    wait_log(log, "version 3: same servers");
    ck_assert_int_eq(count_lines(count), 2);
    /* SIGHUP rewrites and runs the command again. */
    th_proc_signal(p, SIGHUP);
    wait_file(count, "1\n2\n2\n");
    wait_log(log, "exited 0");
    th_proc_free(p);
    srvlist_free(l);
    free(out);
    free(count);
    free(log);
}
END_TEST

START_TEST(test_discovery_watch_keeps_last_good_list) {
    char *out = path_in_dir("servers.json"), *log = path_in_dir("w.log");
    srvlist *l = list_n(2, 4);
    zk_put(l);
    th_proc *p = start_watch("json", out, NULL, log);
    wait_format(out, l, WATCH_FMT_JSON);
    char *before = slurp(out);
    /* Malformed content: logged, file unchanged. */
    zk_put_raw("{\"version\": 5, \"servers\": [{\"host\": 12}]");
    wait_log(log, " warning watch: /mcm/servers: not a valid server list");   /* an operator must act */
    zk_put_raw("");
    wait_log(log, "empty znode");
    /* Znode deleted: logged, file unchanged. */
    ck_assert_int_eq(zoo_delete(ZH, "/mcm/servers", -1), ZOK);
    wait_log(log, "znode missing");
    usleep(300 * 1000);
    wait_file(out, before);
    /* Created again: followed. */
    srvlist_free(l);
    l = list_n(3, 6);
    zk_put(l);
    wait_format(out, l, WATCH_FMT_JSON);
    free(before);
    before = slurp(out);
    /* ZooKeeper down past the session timeout (2 s): file unchanged. */
    zookeeper_close(ZH);
    th_zk_stop(Z, 1);
    wait_log(log, "connection lost");
    sleep(3);
    wait_file(out, before);
    th_zk_restart(Z);
    atomic_store(&zk_state, 0);
    ZH = zookeeper_init(th_zk_hosts(Z), session_watcher, 30000, NULL, NULL, 0);
    ck_assert_msg(th_wait(zk_connected, NULL, 10000), "no ZooKeeper session after restart");
    /* And the watch is back: a change after the restart arrives. */
    srvlist_free(l);
    l = list_n(1, 7);
    zk_put(l);
    wait_format(out, l, WATCH_FMT_JSON);
    th_proc_free(p);
    srvlist_free(l);
    free(before);
    free(out);
    free(log);
}
END_TEST

START_TEST(test_discovery_watch_session_expiry_resubscribes) {
    char *out = path_in_dir("servers.txt"), *log = path_in_dir("w.log");
    srvlist *l = list_n(2, 1);
    zk_put(l);
    th_proc *p = start_watch("plain", out, NULL, log);
    wait_format(out, l, WATCH_FMT_PLAIN);
    /* Frozen past its 2 s session timeout (a GC pause, a suspended VM): the
     * server expires the session; the list changes meanwhile. */
    th_proc_signal(p, SIGSTOP);
    srvlist_free(l);
    l = list_n(4, 2);
    zk_put(l);
    sleep(4);
    th_proc_signal(p, SIGCONT);
    wait_log(log, "session expired");
    wait_format(out, l, WATCH_FMT_PLAIN);
    /* The new session watches too. */
    srvlist_free(l);
    l = list_n(1, 3);
    zk_put(l);
    wait_format(out, l, WATCH_FMT_PLAIN);
    th_proc_free(p);
    srvlist_free(l);
    free(out);
    free(log);
}
END_TEST

START_TEST(test_discovery_watch_empty_list_is_written) {
    char *plain = path_in_dir("plain"), *tw = path_in_dir("tw.yml"), *log = path_in_dir("w.log");
    srvlist *l = list_n(2, 1);
    zk_put(l);
    th_proc *p1 = start_watch("plain", plain, NULL, log);
    th_proc *p2 = start_watch("twemproxy", tw, NULL, log);
    wait_format(plain, l, WATCH_FMT_PLAIN);
    srvlist_free(l);
    l = list_n(0, 2);
    zk_put(l);
    wait_file(plain, "");
    wait_format(tw, l, WATCH_FMT_TWEMPROXY);
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "nutcracker --test-conf -c %s >/dev/null 2>&1", tw);
    ck_assert_msg(run_status(cmd) == 0, "nutcracker rejected the empty-list placeholder");
    wait_log(log, "the published list is EMPTY");
    th_proc_free(p1);
    th_proc_free(p2);
    srvlist_free(l);
    free(plain);
    free(tw);
    free(log);
}
END_TEST

START_TEST(test_discovery_watch_waits_for_znode_and_once_exits) {
    char *out = path_in_dir("o"), *log = path_in_dir("w.log");
    char bin[1024], zk[256];
    snprintf(bin, sizeof(bin), "%s/src/discovery/mcm-watch", getenv("MCM_BUILD_DIR"));
    snprintf(zk, sizeof(zk), "zk://%s/mcm", th_zk_hosts(Z));
    char *argv[] = {bin, "--zk", zk, "--output", out, "--once", NULL};
    th_proc *p = th_proc_start(argv, log);
    /* INFO, not WARNING: normal on a fresh installation before the first leader. */
    wait_log(log, " info watch: /mcm/servers: znode missing");
    ck_assert_int_eq(count_in(log, " warning "), 0);
    struct stat st;
    ck_assert_int_ne(stat(out, &st), 0);        /* nothing written for a missing znode */
    srvlist *l = list_n(2, 1);
    zk_put(l);
    wait_format(out, l, WATCH_FMT_PLAIN);
    int status = -1;
    for (int i = 0; i < 500 && !th_proc_exited(p, &status); i++) usleep(10000);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "--once did not exit 0");
    th_proc_free(p);
    srvlist_free(l);
    free(out);
    free(log);
}
END_TEST

typedef struct describe_arg { watch *w; const char *want; } describe_arg;
static int describes(void *arg) {
    describe_arg *a = arg;
    char buf[512];
    watch_describe(a->w, buf, sizeof(buf));
    return strstr(buf, a->want) != NULL;
}

static atomic_int calls;
static void count_cb(const srvlist *l, void *ud) { atomic_fetch_add(&calls, 1); }
static int calls_are(void *arg) { return atomic_load(&calls) == *(int *)arg; }

START_TEST(test_discovery_watch_library_callback_and_last) {
    char err[256];
    watch_opts o = {th_zk_hosts(Z), "/mcm/servers", 5000, count_cb, NULL};
    watch *w = watch_create(&o, err, sizeof(err));
    ck_assert_msg(w != NULL, "%s", err);
    ck_assert_ptr_null(watch_last(w));
    describe_arg missing = {w, "/mcm/servers does not exist"};
    ck_assert_msg(th_wait(describes, &missing, 10000), "watch_describe never said the znode is missing");
    srvlist *l = list_n(2, 10);
    zk_put(l);
    int one = 1, two = 2;
    ck_assert(th_wait(calls_are, &one, 10000));
    describe_arg following = {w, "following /mcm/servers (version 10, 2 servers)"};
    ck_assert(th_wait(describes, &following, 10000));
    srvlist *got = watch_last(w);
    ck_assert(got && srvlist_same_servers(got, l) && got->version == 10);
    srvlist_free(got);
    /* An older version on the same znode is a lagging read: ignored. */
    l->version = 9;
    srvlist_free(l);
    l = list_n(3, 9);
    zk_put(l);
    l->version = 11;
    zk_put(l);
    ck_assert(th_wait(calls_are, &two, 10000));
    got = watch_last(w);
    ck_assert_int_eq(got->version, 11);
    ck_assert_int_eq(got->n, 3);
    ck_assert_int_eq(watch_deliveries(w), 2);
    srvlist_free(got);
    watch_free(w);
    srvlist_free(l);
    watch_opts bad = {"", "/x", 0, NULL, NULL};
    ck_assert_ptr_null(watch_create(&bad, err, sizeof(err)));
}
END_TEST

/* The output turns out unwritable only when the first list comes (a directory
 * was put where the file goes): --once used to wait forever for a write that
 * could never succeed. Now it logs why and exits 1. */
START_TEST(test_discovery_watch_once_write_failure_exits_1) {
    char *out = path_in_dir("out"), *log = path_in_dir("w.log"), *inside = path_in_dir("out/keep");
    char zk[256];
    snprintf(zk, sizeof(zk), "zk://%s/mcm", th_zk_hosts(Z));
    th_proc *p = run_watch(log, (char *[]){"--zk", zk, "--output", out, "--once", NULL});
    wait_log(log, "znode missing");
    ck_assert_int_eq(mkdir(out, 0755), 0);
    FILE *f = fopen(inside, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    srvlist *l = list_n(2, 1);
    zk_put(l);
    int rc = wait_exit(p, 10000);
    ck_assert_msg(rc == 1, "--once after a failed write: exit %d, want 1", rc);
    wait_log(log, " error watch: cannot write ");
    wait_log(log, "; --once: exiting 1");
    th_proc_free(p);
    /* Without --once the failure is a warning and SIGHUP retries it. (The
     * directory must appear after the start: up front it is a usage error.) */
    ck_assert_int_eq(unlink(inside), 0);
    ck_assert_int_eq(rmdir(out), 0);
    ck_assert_int_eq(zoo_delete(ZH, "/mcm/servers", -1), ZOK);
    unlink(log);
    p = run_watch(log, (char *[]){"--zk", zk, "--output", out, NULL});
    wait_log(log, "znode missing");
    ck_assert_int_eq(mkdir(out, 0755), 0);
    f = fopen(inside, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    zk_put(l);
    wait_log(log, " warning watch: cannot write ");
    wait_log(log, "will retry on the next change or SIGHUP");
    ck_assert_int_eq(unlink(inside), 0);
    ck_assert_int_eq(rmdir(out), 0);
    th_proc_signal(p, SIGHUP);
    wait_format(out, l, WATCH_FMT_PLAIN);
    th_proc_free(p);
    srvlist_free(l);
    free(out);
    free(log);
    free(inside);
}
END_TEST

/* ZooKeeper answers but nobody published yet: --once gives up after
 * --once-timeout, saying the znode is missing. */
START_TEST(test_discovery_watch_once_gives_up_without_znode) {
    char *out = path_in_dir("out"), *log = path_in_dir("w.log");
    char zk[256];
    snprintf(zk, sizeof(zk), "zk://%s/mcm", th_zk_hosts(Z));
    int64_t t0 = util_now_ms();
    th_proc *p = run_watch(log, (char *[]){"--zk", zk, "--output", out, "--once", "--once-timeout", "1500ms", NULL});
    int rc = wait_exit(p, 15000);
    int64_t took = util_now_ms() - t0;
    ck_assert_msg(rc == 1, "exit %d, want 1", rc);
    ck_assert_msg(took >= 1400 && took < 10000, "gave up after %lld ms", (long long)took);
    wait_log(log, "--once: no server list read within 1.5 s (/mcm/servers does not exist");
    th_proc_free(p);
    free(out);
    free(log);
}
END_TEST

/* ZooKeeper down before mcm-watch starts: it used to log nothing but
 * "watching ...". Now: a WARNING after a second (half the 2 s session
 * timeout), repeated every 6 s -- two in the first ten seconds, not a flood --
 * and a NOTICE plus the list once ZooKeeper is back. */
START_TEST(test_discovery_watch_warns_when_zookeeper_unreachable) {
    char *out = path_in_dir("out"), *log = path_in_dir("w.log");
    srvlist *l = list_n(2, 3);
    zk_put(l);
    zookeeper_close(ZH);
    ZH = NULL;
    th_zk_stop(Z, 1);
    char zk[256], want[300];
    snprintf(zk, sizeof(zk), "zk://%s/mcm", th_zk_hosts(Z));
    snprintf(want, sizeof(want), " warning watch: cannot reach ZooKeeper at %s for ", th_zk_hosts(Z));
    int64_t t0 = util_now_ms();
    th_proc *p = run_watch(log, (char *[]){"--zk", zk, "--output", out, "--zk-session-timeout", "2s", NULL});
    wait_log(log, want);
    int64_t first = util_now_ms() - t0;
    ck_assert_msg(first < 5000, "first warning after %lld ms", (long long)first);
    wait_log(log, " s; keeping the last good list");
    int64_t rest = 10000 - (util_now_ms() - t0);
    if (rest > 0) util_sleep_ms(rest);
    int n = count_in(log, want);
    fprintf(stderr, "unreachable ZooKeeper: first warning after %lld ms, %d warnings in 10 s\n", (long long)first, n);
    ck_assert_msg(n == 2, "%d 'cannot reach' warnings in 10 s, want 2", n);
    th_zk_restart(Z);
    wait_log(log, " notice watch: ZooKeeper at ");
    wait_log(log, "reachable again after ");
    wait_format(out, l, WATCH_FMT_PLAIN);
    th_proc_free(p);
    atomic_store(&zk_state, 0);
    ZH = zookeeper_init(th_zk_hosts(Z), session_watcher, 30000, NULL, NULL, 0);   /* for teardown */
    srvlist_free(l);
    free(out);
    free(log);
}
END_TEST

/* --- without ZooKeeper ------------------------------------------------------------ */

static void setup_dir(void) { DIR_ = th_tempdir(); }

static void teardown_dir(void) {
    if (!getenv("MCM_KEEP_TEST_DIRS")) th_rmtree(DIR_);
    free(DIR_);
}

/* Values of --output that can never be written used to be accepted (and
 * --once then hung). Each is now a usage error: exit 2, one line naming it. */
START_TEST(test_discovery_watch_bad_output_is_usage_error) {
    char *log = path_in_dir("w.log"), *sub = path_in_dir("sub/"), *missing = path_in_dir("no/such/out");
    char *bad[] = {"", DIR_, missing, sub, "/dev/null"};
    for (size_t i = 0; i < MCM_ARRAY_LEN(bad); i++) {
        unlink(log);
        th_proc *p = run_watch(log, (char *[]){"--zk", "zk://127.0.0.1:1/mcm", "--once", "--output", bad[i], NULL});
        int rc = wait_exit(p, 10000);
        char *text = slurp(log);
        fprintf(stderr, "--output '%s': exit %d: %s", bad[i], rc, text ? text : "(nothing)\n");
        ck_assert_msg(rc == 2, "--output '%s': exit %d, want 2", bad[i], rc);
        ck_assert_msg(count_lines(log) == 1, "--output '%s': want one line, got: %s", bad[i], text);
        ck_assert_msg(strstr(text, "mcm-watch: --output '") == text, "--output '%s': %s", bad[i], text);
        free(text);
        th_proc_free(p);
    }
    /* The same from the environment names the variable. */
    setenv("MCM_OUTPUT", DIR_, 1);
    unlink(log);
    th_proc *p = run_watch(log, (char *[]){"--zk", "zk://127.0.0.1:1/mcm", "--once", NULL});
    unsetenv("MCM_OUTPUT");
    ck_assert_int_eq(wait_exit(p, 10000), 2);
    wait_log(log, "--output (from MCM_OUTPUT) '");
    th_proc_free(p);
    free(log);
    free(sub);
    free(missing);
}
END_TEST

/* No ZooKeeper at all: --once used to wait forever. It now gives up after
 * --once-timeout with exit 1 and says why. */
START_TEST(test_discovery_watch_once_gives_up_without_zookeeper) {
    char *out = path_in_dir("out"), *log = path_in_dir("w.log");
    char zk[64], want[160];
    int port = th_free_port();
    snprintf(zk, sizeof(zk), "zk://127.0.0.1:%d/mcm", port);
    snprintf(want, sizeof(want), "no server list read within 2 s (no ZooKeeper session with 127.0.0.1:%d", port);
    int64_t t0 = util_now_ms();
    th_proc *p = run_watch(log, (char *[]){"--zk", zk, "--output", out, "--once", "--once-timeout", "2s", NULL});
    int rc = wait_exit(p, 15000);
    int64_t took = util_now_ms() - t0;
    ck_assert_msg(rc == 1, "exit %d, want 1", rc);
    ck_assert_msg(took >= 1900 && took < 10000, "gave up after %lld ms", (long long)took);
    wait_log(log, want);
    struct stat st;
    ck_assert_int_ne(stat(out, &st), 0);
    th_proc_free(p);
    free(out);
    free(log);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("discovery_watch");
    TCase *tc = tcase_create("zookeeper");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_discovery_watch_every_format_follows_changes);
    tcase_add_test(tc, test_discovery_watch_exec_after_each_rewrite_only);
    tcase_add_test(tc, test_discovery_watch_keeps_last_good_list);
    tcase_add_test(tc, test_discovery_watch_session_expiry_resubscribes);
    tcase_add_test(tc, test_discovery_watch_empty_list_is_written);
    tcase_add_test(tc, test_discovery_watch_waits_for_znode_and_once_exits);
    tcase_add_test(tc, test_discovery_watch_library_callback_and_last);
    tcase_add_test(tc, test_discovery_watch_once_write_failure_exits_1);
    tcase_add_test(tc, test_discovery_watch_once_gives_up_without_znode);
    tcase_add_test(tc, test_discovery_watch_warns_when_zookeeper_unreachable);
    suite_add_tcase(s, tc);
    TCase *tn = tcase_create("no_zookeeper");
    tcase_add_checked_fixture(tn, setup_dir, teardown_dir);
    tcase_set_timeout(tn, 60);
    tcase_add_test(tn, test_discovery_watch_bad_output_is_usage_error);
    tcase_add_test(tn, test_discovery_watch_once_gives_up_without_zookeeper);
    suite_add_tcase(s, tn);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
