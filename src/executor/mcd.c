/* mcd.c -- runs and watches one memcached (see mcd.h).
 *
 * Shape: the command is run through `/bin/sh -c 'exec ...'` so an operator's
 * --memcached-command may carry its own flags and the pid we hold is
 * memcached's own (needed for /proc/<pid>/stat CPU figures). Readiness and
 * figures use memcached's text protocol over a short-lived TCP connection
 * with timeouts, never a sleep-and-hope.
 * As root it runs memcached as `nobody`, switching users itself in the child
 * (see run_as) so that memcached still dies with the executor.
 * Threads: the owner thread only. Invariant: once reaped, the pid is never
 * signalled again (it may have been reused). */
#define LOG_COMPONENT "memcached"
#include "mcd.h"
#include "log.h"
#include "mcm.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

struct mcd {
    pid_t pid;
    int reaped;
    int status;
    char host[64];       /* where to connect for version/stats */
    int port;
    char *docker_name;   /* docker mode: container to stop */
};

uint64_t mcd_memory_limit_mib(uint64_t task_mem_mib) {
    uint64_t overhead = task_mem_mib / 10;
    if (overhead < 16) overhead = 16;
    if (overhead > 512) overhead = 512;
    if (task_mem_mib < overhead + 8) return 8;
    return task_mem_mib - overhead;
}

/* The account memcached runs as when we are root. The executor drops to it
 * itself, in the child before exec, rather than with memcached's -u: a
 * set-user-ID change clears PR_SET_PDEATHSIG, so a memcached that switched
 * users would outlive a killed executor. NULL: not root, or no such account
 * (then memcached's own -u is used and says what is wrong). */
static const struct passwd *run_as(const mcd_config *c) {
    return geteuid() == 0 && !c->docker_image ? getpwnam("nobody") : NULL;
}

static char *build_command(const mcd_config *c, int dropped) {
    char *cmd = NULL;
    uint64_t m = mcd_memory_limit_mib(c->task_mem_mib);
    int rc;
    if (c->docker_image) {
        rc = asprintf(&cmd, "exec docker run --rm --name '%s' -p '%s:%d:11211' '%s' memcached -U 0 -m %" PRIu64,
                      c->name ? c->name : "mcm-memcached", c->listen, c->port, c->docker_image, m);
    } else {
        rc = asprintf(&cmd, "exec %s -l '%s' -p %d -U 0 -m %" PRIu64 "%s", c->command, c->listen,
                      c->port, m, geteuid() == 0 && !dropped ? " -u nobody" : "");
    }
    return rc < 0 ? NULL : cmd;
}

/* In the child, between fork and exec: async-signal-safe calls only. */
static void drop_to(const struct passwd *pw) {
    gid_t g = pw->pw_gid;
    if (setgroups(1, &g) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) _exit(126);
}

static pid_t spawn(const char *cmd, const char *log_path, const struct passwd *pw, char *err, size_t errlen) {
    int logfd = -1;
    if (log_path && (logfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0) {
        snprintf(err, errlen, "cannot open %s: %s", log_path, strerror(errno));
        return -1;
    }
    pid_t parent = getpid(), pid = fork();
    if (pid == 0) {
        sigset_t none;                      /* the executor blocks SIGTERM; memcached must not */
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        if (pw) drop_to(pw);
        prctl(PR_SET_PDEATHSIG, SIGKILL);   /* after the user change, which would clear it */
        if (getppid() != parent) _exit(127);
        if (logfd >= 0) { dup2(logfd, 1); dup2(logfd, 2); }
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    if (logfd >= 0) close(logfd);
    if (pid < 0) snprintf(err, errlen, "fork: %s", strerror(errno));
    return pid;
}

mcd *mcd_start(const mcd_config *c, char *err, size_t errlen) {
    const struct passwd *pw = run_as(c);
    char *cmd = build_command(c, pw != NULL);
    mcd *m = calloc(1, sizeof(*m));
    if (!cmd || !m) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    snprintf(m->host, sizeof(m->host), "%s", strcmp(c->listen, "0.0.0.0") ? c->listen : "127.0.0.1");
    m->port = c->port;
    if (c->docker_image) m->docker_name = strdup(c->name ? c->name : "mcm-memcached");
    log_info("starting: %s", cmd);
    if ((m->pid = spawn(cmd, c->log_path, pw, err, errlen)) < 0) goto fail;
    free(cmd);
    return m;
fail:
    free(cmd);
    free(m);
    return NULL;
}

pid_t mcd_pid(const mcd *m) { return m->pid; }

static void describe_status(int st, char *why, size_t len) {
    if (WIFEXITED(st)) snprintf(why, len, "memcached exited with status %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st)) snprintf(why, len, "memcached was killed by signal %d", WTERMSIG(st));
    else snprintf(why, len, "memcached ended (wait status %d)", st);
}

int mcd_exited(mcd *m, char *why, size_t len) {
    if (!m->reaped) {
        int st;
        if (waitpid(m->pid, &st, WNOHANG) != m->pid) return 0;
        m->reaped = 1;
        m->status = st;
    }
    if (why) describe_status(m->status, why, len);
    return 1;
}

/* One request/response on a fresh connection; reply ends with `end`. */
static int request(const mcd *m, const char *req, const char *end, char *buf, size_t len, int timeout_ms) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)m->port)};
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    size_t n = 0;
    if (fd < 0 || inet_pton(AF_INET, m->host, &a.sin_addr) != 1) goto fail;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) goto fail;
    if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) goto fail;
    while (n + 1 < len) {
        ssize_t r = recv(fd, buf + n, len - 1 - n, 0);
        if (r <= 0) goto fail;
        n += (size_t)r;
        buf[n] = '\0';
        if (n >= strlen(end) && strcmp(buf + n - strlen(end), end) == 0) {
            close(fd);
            return (int)n;
        }
    }
fail:
    if (fd >= 0) close(fd);
    return -1;
}

/* Ready means: the port answers `version`, and it is our process answering
 * (`stats` pid), not another server that already held the port. */
static int answers_as_ours(const mcd *m) {
    char buf[16384];
    if (request(m, "version\r\n", "\r\n", buf, sizeof(buf), 500) <= 0 || strncmp(buf, "VERSION ", 8))
        return 0;
    if (m->docker_name) return 1;               /* the pid lives in the container */
    if (request(m, "stats\r\n", "END\r\n", buf, sizeof(buf), 500) <= 0) return 0;
    const char *p = strstr(buf, "STAT pid ");
    return p && strtol(p + 9, NULL, 10) == (long)m->pid;
}

int mcd_exited_early(mcd *m, char *err, size_t errlen) {
    char why[128];
    if (!mcd_exited(m, why, sizeof(why))) return 0;
    snprintf(err, errlen, "%s before answering on port %d", why, m->port);
    return 1;
}

int mcd_wait_ready(mcd *m, int64_t timeout_ms, char *err, size_t errlen) {
    int64_t deadline = util_now_ms() + timeout_ms;
    while (util_now_ms() < deadline) {
        if (mcd_exited_early(m, err, errlen)) return MCM_ERR;
        if (answers_as_ours(m)) return MCM_OK;
        util_sleep_ms(50);
    }
    snprintf(err, errlen, "memcached did not answer `version` on %s:%d within %lldms (is the port taken?)",
             m->host, m->port, (long long)timeout_ms);
    return MCM_ERR;
}

int mcd_version(mcd *m, char *buf, size_t len, int timeout_ms, char *err, size_t errlen) {
    char reply[256];
    if (request(m, "version\r\n", "\r\n", reply, sizeof(reply), timeout_ms) <= 0 ||
        strncmp(reply, "VERSION ", 8)) {
        snprintf(err, errlen, "`version` on %s:%d failed", m->host, m->port);
        return MCM_ERR;
    }
    reply[strcspn(reply, "\r\n")] = '\0';
    snprintf(buf, len, "%s", reply + 8);
    return MCM_OK;
}

static double cpu_seconds(pid_t pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');      /* the command name may contain spaces */
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void parse_stat_line(report *r, const char *name, const char *value) {
    static const struct { const char *name; size_t off; } fields[] = {
        {"bytes", offsetof(report, bytes)}, {"limit_maxbytes", offsetof(report, limit_maxbytes)},
        {"evictions", offsetof(report, evictions)}, {"get_hits", offsetof(report, get_hits)},
        {"get_misses", offsetof(report, get_misses)},
        {"curr_connections", offsetof(report, curr_connections)},
        {"total_items", offsetof(report, total_items)},
    };
    if (!strcmp(name, "uptime")) r->uptime = strtoll(value, NULL, 10);
    for (size_t i = 0; i < MCM_ARRAY_LEN(fields); i++)
        if (!strcmp(name, fields[i].name))
            *(uint64_t *)((char *)r + fields[i].off) = strtoull(value, NULL, 10);
}

int mcd_stats(mcd *m, report *r, int timeout_ms, char *err, size_t errlen) {
    char buf[16384], name[64], value[64];
    if (request(m, "stats\r\n", "END\r\n", buf, sizeof(buf), timeout_ms) < 0) {
        snprintf(err, errlen, "`stats` on %s:%d failed", m->host, m->port);
        return MCM_ERR;
    }
    int seen = 0;
    for (char *save = NULL, *line = strtok_r(buf, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
        if (sscanf(line, "STAT %63s %63s", name, value) == 2) {
            parse_stat_line(r, name, value);
            seen++;
        }
    }
    if (seen == 0) {
        snprintf(err, errlen, "`stats` on %s:%d returned no figures", m->host, m->port);
        return MCM_ERR;
    }
    r->cpu_seconds = m->docker_name ? 0 : cpu_seconds(m->pid);
    return MCM_OK;
}

void mcd_stop(mcd *m, int64_t grace_ms) {
    if (!m || mcd_exited(m, NULL, 0)) return;
    kill(m->pid, SIGTERM);
    int64_t deadline = util_now_ms() + grace_ms;
    while (!mcd_exited(m, NULL, 0) && util_now_ms() < deadline) util_sleep_ms(20);
    if (!m->reaped) {
        log_warn("memcached (pid %d) ignored SIGTERM for %lldms; sending SIGKILL", (int)m->pid, (long long)grace_ms);
        kill(m->pid, SIGKILL);
        waitpid(m->pid, &m->status, 0);
        m->reaped = 1;
    }
}

void mcd_kill(mcd *m) {
    if (!m || mcd_exited(m, NULL, 0)) return;
    kill(m->pid, SIGKILL);
    waitpid(m->pid, &m->status, 0);
    m->reaped = 1;
}

void mcd_free(mcd *m) {
    if (!m) return;
    mcd_stop(m, 0);
    free(m->docker_name);
    free(m);
}
