/* watch_main.c -- mcm-watch: turn the published server list into a file.
 *
 * Follows `<root>/servers` through the watch library and, on every change of
 * the servers, writes the list in the chosen format to --output (atomically)
 * or prints it to stdout, then runs --exec. SIGHUP rewrites the output from
 * the last good list; SIGTERM/SIGINT exit 0; --once exits 0 after the first
 * write, 1 if that write fails or no list was read within --once-timeout.
 *
 * Bad --output values that can be seen up front (empty, a directory, not a
 * regular file, a directory that does not exist or takes no new files) are
 * usage errors (exit 2), so a typo cannot leave a program running that will
 * never write. A write failure later (the disk, a directory put in the way)
 * is logged at WARNING and retried on the next change or SIGHUP; with --once
 * it ends the program with exit 1.
 *
 * --owner KEY reads the list the way --once does (same wait, same
 * --once-timeout), prints the "host:port" that owns KEY on mcm's ring
 * (src/ring: what the twemproxy pool and, at ports other than 11211,
 * libmemcached KETAMA_WEIGHTED answer)
 * to stdout and exits 0; exit 1 with the reason if the list is empty or names
 * another ring. It writes no file and runs no command (usage error with
 * --output or --exec).
 *
 * Shape: main blocks the signals before any thread starts and waits for them
 * with sigtimedwait; the watch thread calls on_list(). Both paths go through
 * emit() under one mutex, so there is never more than one write or reload
 * command at a time, and the last written list decides what is "unchanged".
 * Threads: main (signals, SIGHUP rewrite, the --once deadline) and the watch
 * thread (on_list).
 * Invariant: the output only ever receives a list that the watch library
 * accepted as good; transient ZooKeeper trouble never reaches emit(). */
#define LOG_COMPONENT "watch"
#include "log.h"
#include "mcm.h"
#include "opt.h"
#include "ring.h"
#include "util.h"
#include "watch.h"
#include "watch_exec.h"
#include "watch_file.h"
#include "watch_format.h"

#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zookeeper/zookeeper.h>

typedef struct cfg {
    parse_zk zk;
    char *format, *output, *exec, *pool, *owner;
    parse_hostport tw_listen;
    int64_t session_ms, exec_timeout_ms, once_timeout_ms;
    int once;
    watch_fmt fmt;
    char listen[PARSE_HOST_MAX + 16];
} cfg;

static cfg C;
static pthread_mutex_t emit_mu = PTHREAD_MUTEX_INITIALIZER;
static srvlist *written;          /* under emit_mu: what the output holds */
static atomic_int got_list;       /* the watch delivered a list (--once deadline off) */
static atomic_int exit_status = -1;   /* >= 0: --once is over, exit with this */

/* Writes text to the output; on failure the reason goes to err. */
static int write_out(const char *text, char *err, size_t errlen) {
    if (C.output) return watch_write_file(C.output, text, strlen(text), err, errlen);
    errno = 0;
    if (fputs(text, stdout) >= 0 && fflush(stdout) == 0) return MCM_OK;
    snprintf(err, errlen, "%s", errno ? strerror(errno) : "write error");
    clearerr(stdout);
    return MCM_ERR;
}

static void write_failed(const char *err) {
    const char *out = C.output ? C.output : "stdout";
    if (C.once) {
        log_error("cannot write %s: %s; --once: exiting 1", out, err);
        atomic_store(&exit_status, 1);
    } else {
        log_warn("cannot write %s: %s; will retry on the next change or SIGHUP", out, err);
    }
}

/* --owner: prints the owner of the key in l and ends the program. */
static void print_owner(const srvlist *l) {
    char err[512];
    char *line = watch_fmt_owner(l, C.owner, strlen(C.owner), err, sizeof(err));
    if (line && write_out(line, err, sizeof(err)) == MCM_OK) {
        log_info("version %lld, %d servers, ring %s: key '%s' is on %.*s", (long long)l->version, l->n, RING_NAME,
                 C.owner, (int)strcspn(line, "\n"), line);
        atomic_store(&exit_status, 0);
    } else {
        log_error("--owner: %s; exiting 1", err);
        atomic_store(&exit_status, 1);
    }
    free(line);
}

/* Writes l unless the output already holds the same servers (force: always). */
static void emit(const srvlist *l, int force) {
    pthread_mutex_lock(&emit_mu);
    if (C.owner) {
        if (atomic_load(&exit_status) < 0) print_owner(l);
        pthread_mutex_unlock(&emit_mu);
        return;
    }
    if (!force && written && srvlist_same_servers(l, written)) {
        log_verbose("version %lld: same servers, output left alone", (long long)l->version);
        pthread_mutex_unlock(&emit_mu);
        return;
    }
    char *text = watch_format(l, C.fmt, C.pool, C.listen);
    char err[512] = "out of memory formatting the server list";
    int ok = text && write_out(text, err, sizeof(err)) == MCM_OK;
    if (!ok) write_failed(err);
    free(text);
    if (ok) {
        srvlist_free(written);
        written = srvlist_copy(l);
        log_info("wrote version %lld (%d servers%s) to %s", (long long)l->version, l->n,
                 l->n == 0 ? ": the published list is EMPTY" : "", C.output ? C.output : "stdout");
        if (C.exec) watch_exec_run(C.exec, C.exec_timeout_ms);
        if (C.once) atomic_store(&exit_status, 0);
    }
    pthread_mutex_unlock(&emit_mu);
}

static void on_list(const srvlist *l, void *ud) {
    atomic_store(&got_list, 1);
    emit(l, 0);
}

/* 1 if the user set --output on the command line (else it came from MCM_OUTPUT). */
static int output_on_argv(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--output") == 0 || strncmp(argv[i], "--output=", 9) == 0) return 1;
    return 0;
}

/* Why --output cannot work, in what[]; MCM_OK if nothing is wrong up front. */
static int output_problem(const char *out, char *what, size_t len) {
    struct stat st;
    size_t n = strlen(out);
    if (n == 0) {
        snprintf(what, len, "empty; give a file path, or leave it out to print to stdout");
        return MCM_ERR;
    }
    if (out[n - 1] == '/') {
        snprintf(what, len, "ends in '/' (a directory); give a file path");
        return MCM_ERR;
    }
    if (stat(out, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(what, len, "is a directory; give a file path in it");
        return MCM_ERR;
    }
    if (stat(out, &st) == 0 && !S_ISREG(st.st_mode)) {
        snprintf(what, len, "exists and is not a regular file (it would be replaced by one)");
        return MCM_ERR;
    }
    char *copy = strdup(out);
    if (!copy) return MCM_OK;
    const char *dir = dirname(copy);
    int rc = MCM_ERR;
    if (stat(dir, &st) != 0) snprintf(what, len, "directory '%s': %s", dir, strerror(errno));
    else if (!S_ISDIR(st.st_mode)) snprintf(what, len, "'%s' is not a directory", dir);
    else if (access(dir, W_OK | X_OK) != 0)
        snprintf(what, len, "cannot create files in '%s': %s", dir, strerror(errno));
    else rc = MCM_OK;
    free(copy);
    return rc;
}

/* Usage error (exit 2) for an --output that can never be written. */
static int check_output(int argc, char **argv) {
    char what[600];
    if (!C.output || output_problem(C.output, what, sizeof(what)) == MCM_OK) return OPT_CONTINUE;
    fprintf(stderr, "mcm-watch: --output%s '%s': %s (see mcm-watch --help)\n",
            output_on_argv(argc, argv) ? "" : " (from MCM_OUTPUT)", C.output, what);
    return 2;
}

static int parse_cfg(int argc, char **argv) {
    opt_spec specs[] = {
        {"zk", OPT_ZK, &C.zk, NULL, "URL", "ZooKeeper: zk://host:port[,...]/root; watches <root>/servers.",
         0, 0, OPT_REQUIRED, NULL},
        {"format", OPT_ENUM, &C.format, "plain", "FORMAT", "Output format.", 0, 0, 0,
         "plain|json|twemproxy|mcrouter"},
        {"output", OPT_STR, &C.output, NULL, "FILE", "File to replace atomically (default: stdout).",
         0, 0, 0, NULL},
        {"exec", OPT_STR, &C.exec, NULL, "CMD", "Run `/bin/sh -c CMD` after each rewrite.", 0, 0, 0, NULL},
        {"exec-timeout", OPT_DURATION, &C.exec_timeout_ms, "30s", "DURATION",
         "Kill the --exec command after this long.", 10, 86400000, 0, NULL},
        {"pool-name", OPT_STR, &C.pool, "mcm", "NAME", "Pool name (twemproxy, mcrouter).", 0, 0, 0, NULL},
        {"twemproxy-listen", OPT_HOSTPORT, &C.tw_listen, "127.0.0.1:22121", "HOST:PORT",
         "`listen` of the twemproxy pool.", 0, 0, 0, NULL},
        {"zk-session-timeout", OPT_DURATION, &C.session_ms, "10s", "DURATION",
         "ZooKeeper session timeout.", 200, 600000, 0, NULL},
        {"once", OPT_BOOL, &C.once, "false", NULL,
         "Exit 0 after the first write; exit 1 if it fails or no list is read within --once-timeout.",
         0, 0, 0, NULL},
        {"once-timeout", OPT_DURATION, &C.once_timeout_ms, "30s", "DURATION",
         "With --once: give up (exit 1) when no server list could be read for this long "
         "(ZooKeeper unreachable, znode missing or invalid).", 100, 86400000, 0, NULL},
        {"owner", OPT_STR, &C.owner, NULL, "KEY",
         "Print the host:port that owns KEY on mcm's ring (" RING_NAME ", see docs/clients.md) "
         "and exit; reads the list like --once.",
         0, 0, 0, NULL},
    };
    static opt_program prog = {"mcm-watch",
                               "Watches mcm's published memcached server list in ZooKeeper and keeps a "
                               "file (plain, JSON, twemproxy or mcrouter) up to date. Transient ZooKeeper "
                               "trouble never changes the output: the last good list stays.",
                               NULL, 0};
    prog.specs = specs;
    prog.nspecs = (int)MCM_ARRAY_LEN(specs);
    int rc = opt_parse(&prog, argc, argv);
    if (rc != OPT_CONTINUE) return rc;
    if (!watch_pool_name_ok(C.pool)) {
        fprintf(stderr, "mcm-watch: --pool-name '%s': use 1-64 of A-Z a-z 0-9 _ -\n", C.pool);
        return 2;
    }
    if (check_output(argc, argv) != OPT_CONTINUE) return 2;
    if (C.owner && !C.owner[0]) {
        fprintf(stderr, "mcm-watch: --owner: give the key (memcached keys are not empty)\n");
        return 2;
    }
    if (C.owner && (C.output || C.exec)) {
        fprintf(stderr, "mcm-watch: --owner prints to stdout; it takes no --output or --exec\n");
        return 2;
    }
    if (C.owner) C.once = 1;      /* the same wait and deadline as --once */
    watch_fmt_parse(C.format, &C.fmt);
    snprintf(C.listen, sizeof(C.listen), strchr(C.tw_listen.host, ':') ? "[%s]:%d" : "%s:%d",
             C.tw_listen.host, C.tw_listen.port);
    return OPT_CONTINUE;
}

static void free_cfg(void) {
    parse_zk_free(&C.zk);
    free(C.format);
    free(C.output);
    free(C.exec);
    free(C.pool);
    free(C.owner);
}

/* --once: 1 (and the reason logged) once no list has come for --once-timeout. */
static int once_expired(watch *w, int64_t start_ms) {
    if (!C.once || atomic_load(&got_list) || util_now_ms() - start_ms < C.once_timeout_ms) return 0;
    char why[512];
    watch_describe(w, why, sizeof(why));
    log_error("--once: no server list read within %g s (%s); exiting 1", (double)C.once_timeout_ms / 1000, why);
    return 1;
}

/* Waits for signals; returns the exit status. */
static int signal_loop(watch *w, const sigset_t *set) {
    struct timespec tick = {0, 50 * 1000 * 1000};
    int64_t start = util_now_ms();
    while (atomic_load(&exit_status) < 0) {
        if (once_expired(w, start)) return 1;
        int sig = sigtimedwait(set, NULL, &tick);
        if (sig == SIGTERM || sig == SIGINT) {
            log_info("signal %d: exiting", sig);
            return 0;
        }
        if (sig == SIGHUP) {
            srvlist *l = watch_last(w);
            if (l) emit(l, 1);
            else log_info("SIGHUP: no server list yet, nothing to rewrite");
            srvlist_free(l);
        }
    }
    return atomic_load(&exit_status);
}

int main(int argc, char **argv) {
    log_init("mcm-watch");
    int rc = parse_cfg(argc, argv);
    if (rc != OPT_CONTINUE) {
        free_cfg();
        return rc;
    }
    zoo_set_debug_level(log_min_level <= LOG_DEBUG ? ZOO_LOG_LEVEL_INFO : (ZooLogLevel)0);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);     /* a closed stdout is a write error, logged like any other */
    char path[4096], err[512];
    snprintf(path, sizeof(path), "%s/servers", strcmp(C.zk.path, "/") == 0 ? "" : C.zk.path);
    watch_opts o = {C.zk.hosts, path, (int)C.session_ms, on_list, NULL};
    watch *w = watch_create(&o, err, sizeof(err));
    if (!w) {
        log_error("%s", err);
        free_cfg();
        return 1;
    }
    if (C.owner) log_info("reading %s on %s for the owner of key '%s'", path, C.zk.hosts, C.owner);
    else log_info("watching %s on %s, format %s, output %s", path, C.zk.hosts, C.format,
                  C.output ? C.output : "stdout");
    rc = signal_loop(w, &set);
    watch_free(w);
    srvlist_free(written);
    free_cfg();
    return rc;
}
