/* harness.c -- starts and always stops real servers for tests (see harness.h).
 *
 * Shape: one generic child-process layer (th_proc: fork, new process group,
 * PDEATHSIG, log file, registry for atexit) with ZooKeeper and memcached built
 * on it. Readiness is checked over the server's own protocol, never by sleeping.
 * Threads: test main thread only; the registry is not locked.
 * Invariant: every started child is in the registry until it has been reaped. */
#include "harness.h"

#include <check.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PROCS 256

struct th_proc {
    pid_t pid;
    int reaped;
    int status;
};

static th_proc *registry[MAX_PROCS];
static int atexit_installed;

static long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void stop_all_at_exit(void) {
    for (int i = 0; i < MAX_PROCS; i++)
        if (registry[i] && !registry[i]->reaped) th_proc_stop(registry[i], 2000);
}

static void registry_add(th_proc *p) {
    if (!atexit_installed) {
        atexit(stop_all_at_exit);
        atexit_installed = 1;
    }
    for (int i = 0; i < MAX_PROCS; i++)
        if (!registry[i]) { registry[i] = p; return; }
    ck_abort_msg("harness: more than %d child processes", MAX_PROCS);
}

static void registry_remove(th_proc *p) {
    for (int i = 0; i < MAX_PROCS; i++)
        if (registry[i] == p) registry[i] = NULL;
}

int th_free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    ck_assert_msg(fd >= 0, "socket: %s", strerror(errno));
    ck_assert_msg(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "bind: %s", strerror(errno));
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

th_proc *th_proc_start(char *const argv[], const char *log_path) {
    int logfd = -1;
    if (log_path) {
        logfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        ck_assert_msg(logfd >= 0, "harness: open %s: %s", log_path, strerror(errno));
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    ck_assert_msg(pid >= 0, "harness: fork: %s", strerror(errno));
    if (pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);          /* parent already gone */
        if (logfd >= 0) {
            dup2(logfd, STDOUT_FILENO);
            dup2(logfd, STDERR_FILENO);
        }
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, STDIN_FILENO);
        execvp(argv[0], argv);
        _exit(127);
    }
    if (logfd >= 0) close(logfd);
    setpgid(pid, pid);                                 /* no race with the child's own call */
    th_proc *p = calloc(1, sizeof(*p));
    ck_assert_ptr_nonnull(p);
    p->pid = pid;
    registry_add(p);
    return p;
}

pid_t th_proc_pid(const th_proc *p) { return p->pid; }

void th_proc_signal(th_proc *p, int sig) {
    if (p && !p->reaped) kill(-p->pid, sig);
}

int th_proc_exited(th_proc *p, int *status) {
    if (p->reaped) { if (status) *status = p->status; return 1; }
    int st;
    pid_t r = waitpid(p->pid, &st, WNOHANG);
    if (r == p->pid) {
        p->reaped = 1;
        p->status = st;
        kill(-p->pid, SIGKILL);                        /* its own children, if any */
        if (status) *status = st;
        return 1;
    }
    return 0;
}

int th_proc_stop(th_proc *p, int grace_ms) {
    if (!p) return -1;
    if (p->reaped) return p->status;
    kill(-p->pid, SIGCONT);
    kill(-p->pid, SIGTERM);
    long deadline = now_ms() + grace_ms;
    while (!th_proc_exited(p, NULL) && now_ms() < deadline) sleep_ms(10);
    if (!p->reaped) {
        kill(-p->pid, SIGKILL);
        int st;
        if (waitpid(p->pid, &st, 0) == p->pid) p->status = st;
        p->reaped = 1;
    }
    kill(-p->pid, SIGKILL);
    return p->status;
}

void th_proc_free(th_proc *p) {
    if (!p) return;
    th_proc_stop(p, 3000);
    registry_remove(p);
    free(p);
}

int th_wait(int (*cond)(void *), void *arg, int timeout_ms) {
    long deadline = now_ms() + timeout_ms;
    for (;;) {
        if (cond(arg)) return 1;
        if (now_ms() >= deadline) return 0;
        sleep_ms(10);
    }
}

char *th_tempdir(void) {
    const char *tmp = getenv("TMPDIR");
    char *path;
    ck_assert(asprintf(&path, "%s/mcm-test-XXXXXX", tmp && *tmp ? tmp : "/tmp") > 0);
    ck_assert_msg(mkdtemp(path) != NULL, "mkdtemp: %s", strerror(errno));
    return path;
}

void th_rmtree(const char *path) {
    if (!path || !strstr(path, "mcm-test-")) return;     /* never outside our temp dirs */
    DIR *d = opendir(path);
    if (!d) { unlink(path); return; }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *child;
        if (asprintf(&child, "%s/%s", path, e->d_name) < 0) continue;
        struct stat st;
        if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode)) th_rmtree(child);
        else unlink(child);
        free(child);
    }
    closedir(d);
    rmdir(path);
}

/* --- one request/response over TCP ---------------------------------------- */

static int tcp_connect(const char *host, int port, int timeout_ms) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (fd < 0 || inet_pton(AF_INET, host, &a.sin_addr) != 1) goto fail;
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS) goto fail;
    struct pollfd pfd = {fd, POLLOUT, 0};
    int err = 0;
    socklen_t elen = sizeof(err);
    if (poll(&pfd, 1, timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) || err)
        goto fail;
    return fd;
fail:
    if (fd >= 0) close(fd);
    return -1;
}

static int reply_complete(const char *buf, size_t n) {
    static const char *const finals[] = {"END", "STORED", "NOT_STORED", "EXISTS", "NOT_FOUND",
                                         "DELETED", "ERROR", "OK", "TOUCHED", "imok", "RESET"};
    if (n < 2 || buf[n - 2] != '\r' || buf[n - 1] != '\n') return 0;
    const char *last = buf + n - 2;
    while (last > buf && !(last[-1] == '\n')) last--;
    size_t len = (size_t)(buf + n - 2 - last);
    for (size_t i = 0; i < sizeof(finals) / sizeof(finals[0]); i++)
        if (len == strlen(finals[i]) && !strncmp(last, finals[i], len)) return 1;
    return !strncmp(last, "VERSION ", 8) || !strncmp(last, "CLIENT_ERROR", 12) ||
           !strncmp(last, "SERVER_ERROR", 12) || (len > 0 && strspn(last, "0123456789") == len);
}

static int request(const char *host, int port, const char *cmd, char *buf, size_t len,
                   int timeout_ms, int until_close) {
    long deadline = now_ms() + timeout_ms;
    int fd = tcp_connect(host, port, timeout_ms);
    size_t n = 0, clen = strlen(cmd);
    if (fd < 0 || len == 0) goto fail;
    for (size_t off = 0; off < clen;) {
        ssize_t w = send(fd, cmd + off, clen - off, MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN) goto fail;
        if (w < 0) { struct pollfd p = {fd, POLLOUT, 0}; poll(&p, 1, 10); continue; }
        off += (size_t)w;
    }
    for (;;) {
        long left = deadline - now_ms();
        struct pollfd p = {fd, POLLIN, 0};
        if (left <= 0 || poll(&p, 1, (int)left) != 1) goto fail;
        ssize_t r = recv(fd, buf + n, len - 1 - n, 0);
        if (r == 0 && until_close) break;
        if (r <= 0 && !(r < 0 && errno == EAGAIN)) goto fail;
        if (r > 0) n += (size_t)r;
        if (!until_close && reply_complete(buf, n)) break;
        if (n == len - 1) goto fail;
    }
    close(fd);
    buf[n] = '\0';
    return (int)n;
fail:
    if (fd >= 0) close(fd);
    if (len) buf[0] = '\0';
    return -1;
}

int th_mc_cmd(const char *host, int port, const char *cmd, char *buf, size_t len, int timeout_ms) {
    return request(host, port, cmd, buf, len, timeout_ms, 0);
}

/* --- ZooKeeper ------------------------------------------------------------ */

struct th_zk {
    char *dir;
    char hosts[64];
    int port;
    th_proc *proc;
};

static void zk_write_config(th_zk *z) {
    char *path;
    ck_assert(asprintf(&path, "%s/zoo.cfg", z->dir) > 0);
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "harness: cannot write %s", path);
    fprintf(f, "tickTime=100\ninitLimit=10\nsyncLimit=5\ndataDir=%s/data\n"
               "clientPort=%d\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n"
               "4lw.commands.whitelist=ruok,srvr,stat,mntr,cons\n"
               "minSessionTimeout=200\nmaxSessionTimeout=60000\nmaxClientCnxns=0\n",
            z->dir, z->port);
    fclose(f);
    free(path);
}

static void zk_launch(th_zk *z) {
    char *cfg, *log, *logdir;
    ck_assert(asprintf(&cfg, "%s/zoo.cfg", z->dir) > 0);
    ck_assert(asprintf(&log, "%s/zookeeper.log", z->dir) > 0);
    ck_assert(asprintf(&logdir, "-Dzookeeper.log.dir=%s", z->dir) > 0);
    char *argv[] = {"java", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                    "-Xshare:auto", logdir, "-cp", "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar",
                    "org.apache.zookeeper.server.quorum.QuorumPeerMain", cfg, NULL};
    z->proc = th_proc_start(argv, log);
    free(cfg);
    free(logdir);
    char reply[64];
    long deadline = now_ms() + 30000;
    while (now_ms() < deadline) {
        int st;
        if (th_proc_exited(z->proc, &st))
            ck_abort_msg("harness: ZooKeeper exited at start (status %d); see %s", st, log);
        if (request("127.0.0.1", z->port, "ruok", reply, sizeof(reply), 500, 1) > 0 &&
            !strcmp(reply, "imok")) {
            free(log);
            return;
        }
        sleep_ms(50);
    }
    ck_abort_msg("harness: ZooKeeper did not answer ruok on port %d within 30 s; see %s", z->port, log);
}

th_zk *th_zk_start(void) {
    th_zk *z = calloc(1, sizeof(*z));
    ck_assert_ptr_nonnull(z);
    z->dir = th_tempdir();
    z->port = th_free_port();
    snprintf(z->hosts, sizeof(z->hosts), "127.0.0.1:%d", z->port);
    zk_write_config(z);
    zk_launch(z);
    return z;
}

const char *th_zk_hosts(const th_zk *z) { return z->hosts; }
int th_zk_port(const th_zk *z) { return z->port; }
int th_zk_running(const th_zk *z) { return z->proc != NULL; }

void th_zk_stop(th_zk *z, int hard) {
    if (!z->proc) return;
    if (hard) th_proc_signal(z->proc, SIGKILL);
    th_proc_free(z->proc);
    z->proc = NULL;
}

void th_zk_restart(th_zk *z) {
    th_zk_stop(z, 0);
    zk_launch(z);
}

void th_zk_free(th_zk *z) {
    if (!z) return;
    th_zk_stop(z, 0);
    if (!getenv("MCM_KEEP_TEST_DIRS")) th_rmtree(z->dir);
    free(z->dir);
    free(z);
}

/* --- memcached ---------------------------------------------------------------- */

struct th_mc {
    int port;
    th_proc *proc;
};

th_mc *th_mc_start(int mem_mib) {
    th_mc *m = calloc(1, sizeof(*m));
    ck_assert_ptr_nonnull(m);
    m->port = th_free_port();
    char port[16], mem[16];
    snprintf(port, sizeof(port), "%d", m->port);
    snprintf(mem, sizeof(mem), "%d", mem_mib);
    char *argv[] = {"memcached", "-l", "127.0.0.1", "-p", port, "-U", "0", "-m", mem,
                    "-t", "1", "-u", getuid() == 0 ? "root" : "nobody", NULL};
    m->proc = th_proc_start(argv, NULL);
    char reply[128];
    long deadline = now_ms() + 10000;
    while (now_ms() < deadline) {
        int st;
        if (th_proc_exited(m->proc, &st))
            ck_abort_msg("harness: memcached exited at start (status %d)", st);
        if (th_mc_cmd("127.0.0.1", m->port, "version\r\n", reply, sizeof(reply), 500) > 0 &&
            !strncmp(reply, "VERSION ", 8))
            return m;
        sleep_ms(20);
    }
    ck_abort_msg("harness: memcached did not answer version on port %d", m->port);
    return NULL;
}

int th_mc_port(const th_mc *m) { return m->port; }

void th_mc_free(th_mc *m) {
    if (!m) return;
    th_proc_free(m->proc);
    free(m);
}

#define TH_ALONE_TIMEOUT_S (3 * 3600)   /* benchmarks bound their own runs */

int th_run_alone(const char *name, const TTest *test) {
    Suite *s = suite_create(name);
    TCase *tc = tcase_create("bench");
    tcase_set_timeout(tc, TH_ALONE_TIMEOUT_S);
    tcase_add_test(tc, test);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_SILENT);
    int failed = srunner_ntests_failed(sr);
    TestResult **tr = srunner_failures(sr);
    for (int i = 0; i < failed; i++)
        fprintf(stderr, "%s: FAILED at %s:%d: %s\n", name, tr_lfile(tr[i]), tr_lno(tr[i]), tr_msg(tr[i]));
    free(tr);
    srunner_free(sr);
    return failed;
}
