/* sim_proc.c -- executor processes: sandbox, fetcher, fork/exec.
 *
 * Sandbox: <work-dir>/agents/<agent>/frameworks/<fw>/executors/<exec>/runs/<container>,
 * Mesos' layout. The fetcher copies CommandInfo.uris that are local paths or
 * file:// URLs into the sandbox (output_file or the base name), mode 0755 when
 * `executable`; it never touches the network and does not extract archives.
 * The command: shell (default) runs `/bin/sh -c value`; shell=false execs
 * value with `arguments` as the whole argv (PATH searched). The child gets its
 * own process group (so one kill(-pgid) takes the whole container),
 * PR_SET_PDEATHSIG(SIGKILL) (executors die with the simulator), stdin
 * /dev/null, stdout/stderr appended to the sandbox's `stdout`/`stderr`, cwd
 * the sandbox, an empty signal mask, and no other inherited descriptors.
 *
 * Environment: the simulator's own minus MCM_* (its flags would become the
 * executor's: opt.h reads MCM_<FLAG>), except MCM_TEST_RUN which the test
 * harness uses to find strays; then what a Mesos agent sets (MESOS_*), then
 * CommandInfo.environment (VALUE variables) on top.
 *
 * Threads: the loop thread only (see sim_int.h on PDEATHSIG), under s->mu.
 * Between fork and exec the child calls only async-signal-safe functions. */
#include "sim_int.h"

#include "mcm.h"
#include "util.h"

#define LOG_COMPONENT "sim"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

static int mkdirs(const char *path, char *err, size_t errlen) {
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) goto fail;
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) goto fail;
    return MCM_OK;
fail:
    snprintf(err, errlen, "mkdir %s: %s", tmp, strerror(errno));
    return MCM_ERR;
}

static int copy_file(const char *src, const char *dst, int exec_bit, char *err, size_t errlen) {
    int in = open(src, O_RDONLY | O_CLOEXEC), out = -1;
    if (in < 0) {
        snprintf(err, errlen, "fetch %s: %s", src, strerror(errno));
        return MCM_ERR;
    }
    out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, exec_bit ? 0755 : 0644);
    if (out < 0) {
        snprintf(err, errlen, "fetch into %s: %s", dst, strerror(errno));
        close(in);
        return MCM_ERR;
    }
    char buf[65536];
    ssize_t n;
    int rc = MCM_OK;
    while ((n = read(in, buf, sizeof(buf))) > 0)
        if (write(out, buf, (size_t)n) != n) {
            snprintf(err, errlen, "fetch into %s: %s", dst, strerror(errno));
            rc = MCM_ERR;
            break;
        }
    if (n < 0) {
        snprintf(err, errlen, "fetch %s: %s", src, strerror(errno));
        rc = MCM_ERR;
    }
    close(in);
    if (close(out) != 0 && rc == MCM_OK) rc = MCM_ERR;
    if (rc == MCM_OK) chmod(dst, exec_bit ? 0755 : 0644);
    return rc;
}

static int fetch(const Mesos__V1__CommandInfo *cmd, const char *sandbox, char *err, size_t errlen) {
    for (size_t i = 0; i < cmd->n_uris; i++) {
        const Mesos__V1__CommandInfo__URI *u = cmd->uris[i];
        const char *src = u->value;
        if (strncmp(src, "file://", 7) == 0) src += 7;
        else if (strstr(src, "://")) {
            snprintf(err, errlen, "cannot fetch '%s': mcm-sim fetches local paths and file:// only", u->value);
            return MCM_ERR;
        }
        const char *base = strrchr(src, '/');
        base = base ? base + 1 : src;
        const char *name = u->output_file && *u->output_file ? u->output_file : base;
        if (!*name || strchr(name, '/')) {
            snprintf(err, errlen, "cannot fetch '%s': no usable file name", u->value);
            return MCM_ERR;
        }
        char dst[PATH_MAX];
        snprintf(dst, sizeof(dst), "%s/%s", sandbox, name);
        if (copy_file(src, dst, u->has_executable && u->executable, err, errlen) != MCM_OK) return MCM_ERR;
        log_verbose("fetched %s into %s", u->value, dst);
    }
    return MCM_OK;
}

/* A NULL-terminated string vector that grows. */
typedef struct vec { char **v; int n; } vec;

static void vec_push(vec *v, char *s) {
    char **g = realloc(v->v, (size_t)(v->n + 2) * sizeof(char *));
    if (!g || !s) abort();
    v->v = g;
    v->v[v->n++] = s;
    v->v[v->n] = NULL;
}

static void vec_free(vec *v) {
    for (int i = 0; i < v->n; i++) free(v->v[i]);
    free(v->v);
}

/* Sets name=value, replacing an earlier entry of the same name. */
static void env_set(vec *e, const char *name, const char *value) {
    size_t nl = strlen(name);
    char *kv;
    if (asprintf(&kv, "%s=%s", name, value ? value : "") < 0) abort();
    for (int i = 0; i < e->n; i++)
        if (strncmp(e->v[i], name, nl) == 0 && e->v[i][nl] == '=') {
            free(e->v[i]);
            e->v[i] = kv;
            return;
        }
    vec_push(e, kv);
}

static void build_env(sim *s, sim_exec *ex, vec *e) {
    for (char **p = environ; *p; p++)
        if (strncmp(*p, "MCM_", 4) != 0 || strncmp(*p, "MCM_TEST_RUN=", 13) == 0) vec_push(e, strdup(*p));
    sim_agent *a = &s->agents[ex->agent];
    char buf[512];
    int checkpoint = ex->fw->info->has_checkpoint && ex->fw->info->checkpoint;
    env_set(e, "MESOS_FRAMEWORK_ID", ex->fw->id);
    env_set(e, "MESOS_EXECUTOR_ID", ex->id);
    snprintf(buf, sizeof(buf), "%s:%d", s->host, a->port);
    env_set(e, "MESOS_AGENT_ENDPOINT", buf);
    snprintf(buf, sizeof(buf), "slave(1)@%s:%d", s->host, a->port);
    env_set(e, "MESOS_SLAVE_PID", buf);
    env_set(e, "MESOS_SLAVE_ID", a->id);
    env_set(e, "MESOS_DIRECTORY", ex->sandbox);
    env_set(e, "MESOS_SANDBOX", ex->sandbox);
    env_set(e, "MESOS_CHECKPOINT", checkpoint ? "1" : "0");
    int64_t grace = ex->info->shutdown_grace_period ? ex->info->shutdown_grace_period->nanoseconds / 1000000
                                                    : s->cfg.shutdown_grace_ms;
    if (grace % 1000 == 0) snprintf(buf, sizeof(buf), "%lldsecs", (long long)(grace / 1000));
    else snprintf(buf, sizeof(buf), "%lldms", (long long)grace);
    env_set(e, "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", buf);
    if (checkpoint) {
        env_set(e, "MESOS_RECOVERY_TIMEOUT", "15mins");
        env_set(e, "MESOS_SUBSCRIPTION_BACKOFF_MAX", "2secs");
    }
    const Mesos__V1__Environment *env = ex->info->command->environment;
    for (size_t i = 0; env && i < env->n_variables; i++) {
        const Mesos__V1__Environment__Variable *v = env->variables[i];
        if (v->has_type && v->type == MESOS__V1__ENVIRONMENT__VARIABLE__TYPE__SECRET) continue;
        env_set(e, v->name, v->value);
    }
}

/* 1 if the shell would run value as one simple command (no operators,
 * substitutions or redirections). */
static int simple_command(const char *value) {
    return value[0] && strpbrk(value, ";&|<>`$()\n{}") == NULL;
}

/* Shell commands run as `sh -c value` as a Mesos agent runs them; a simple
 * command is prefixed with `exec`, so the executor itself (not a forked
 * child of dash) is the simulator's child and dies with it even when the
 * simulator is SIGKILLed (PR_SET_PDEATHSIG is not inherited across fork). */
static void build_argv(const Mesos__V1__CommandInfo *cmd, vec *argv) {
    int shell = cmd->has_shell ? cmd->shell : 1;
    if (shell) {
        const char *v = cmd->value ? cmd->value : "";
        char *line = NULL;
        if (simple_command(v) && asprintf(&line, "exec %s", v) < 0) line = NULL;
        vec_push(argv, strdup("/bin/sh"));
        vec_push(argv, strdup("-c"));
        vec_push(argv, line ? line : strdup(v));
        return;
    }
    if (cmd->n_arguments == 0) vec_push(argv, strdup(cmd->value ? cmd->value : ""));
    for (size_t i = 0; i < cmd->n_arguments; i++) vec_push(argv, strdup(cmd->arguments[i]));
}

/* The child between fork and exec: async-signal-safe calls only. */
static void child(const char *sandbox, const char *file, char **argv, char **envp, int out, int errfd, pid_t parent) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    dup2(out, STDOUT_FILENO);
    dup2(errfd, STDERR_FILENO);
    if (chdir(sandbox) != 0) _exit(127);
    close_range(3, ~0U, 0);
    execvpe(file, argv, envp);
    static const char msg[] = "mcm-sim: exec of the executor command failed\n";
    ssize_t w = write(STDERR_FILENO, msg, sizeof(msg) - 1);
    (void)w;
    _exit(127);
}

static int open_log(const char *sandbox, const char *name, char *err, size_t errlen) {
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", sandbox, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) snprintf(err, errlen, "open %s: %s", path, strerror(errno));
    return fd;
}

int sim_proc_launch(sim *s, sim_exec *ex, char *err, size_t errlen) {
    const char *work = s->cfg.work_dir;
    if (asprintf(&ex->sandbox, "%s/agents/%s/frameworks/%s/executors/%s/runs/%s", work, s->agents[ex->agent].id,
                 ex->fw->id, ex->id, ex->container) < 0)
        abort();
    if (mkdirs(ex->sandbox, err, errlen) != MCM_OK || fetch(ex->info->command, ex->sandbox, err, errlen) != MCM_OK)
        return MCM_ERR;
    int out = open_log(ex->sandbox, "stdout", err, errlen);
    int errfd = out >= 0 ? open_log(ex->sandbox, "stderr", err, errlen) : -1;
    if (errfd < 0) {
        if (out >= 0) close(out);
        return MCM_ERR;
    }
    vec argv = {0}, envp = {0};
    build_argv(ex->info->command, &argv);
    build_env(s, ex, &envp);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) child(ex->sandbox, argv.v[0], argv.v, envp.v, out, errfd, parent);
    int fork_errno = errno;
    close(out);
    close(errfd);
    if (pid > 0) setpgid(pid, pid);
    if (pid < 0) snprintf(err, errlen, "fork: %s", strerror(fork_errno));
    else {
        ex->pid = pid;
        ex->state = EX_LAUNCHED;
        ex->launched_ms = util_now_ms();
        log_info("executor %s of framework %s started on agent %s: pid %d, sandbox %s", ex->id, ex->fw->id,
                 s->agents[ex->agent].id, (int)pid, ex->sandbox);
    }
    vec_free(&argv);
    vec_free(&envp);
    return pid > 0 ? MCM_OK : MCM_ERR;
}
