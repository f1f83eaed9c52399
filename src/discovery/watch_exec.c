/* watch_exec.c -- fork + /bin/sh -c with a deadline, outcome logged.
 *
 * Why this shape: the command is the operator's (e.g. `systemctl reload
 * nutcracker`), so it gets a shell; it runs in its own process group so that
 * a timeout kills whatever the shell started too. Waiting polls waitpid every
 * few milliseconds: simple, no SIGCHLD handler to share with the host program.
 * Threads: the calling thread blocks until the command ends.
 * Invariant: every started child is reaped before watch_exec_run returns. */
#define LOG_COMPONENT "watch"
#include "watch_exec.h"
#include "log.h"
#include "mcm.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t spawn(const char *cmd) {
    pid_t pid = fork();
    if (pid != 0) return pid;
    setpgid(0, 0);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);     /* the host may block signals */
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
}

static int report(const char *cmd, int status, int64_t ms) {
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        log_info("exec '%s' exited 0 after %lld ms", cmd, (long long)ms);
        return MCM_OK;
    }
    if (WIFEXITED(status))
        log_warn("exec '%s' exited %d after %lld ms", cmd, WEXITSTATUS(status), (long long)ms);
    else
        log_warn("exec '%s' killed by signal %d after %lld ms", cmd, WTERMSIG(status), (long long)ms);
    return MCM_ERR;
}

int watch_exec_run(const char *cmd, int64_t timeout_ms) {
    int64_t start = util_now_ms();
    pid_t pid = spawn(cmd);
    if (pid < 0) {
        log_warn("exec '%s': fork: %s", cmd, strerror(errno));
        return MCM_ERR;
    }
    setpgid(pid, pid);
    int status = 0, killed = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) break;
        if (r < 0 && errno != EINTR) {
            log_warn("exec '%s': waitpid: %s", cmd, strerror(errno));
            return MCM_ERR;
        }
        if (!killed && util_now_ms() - start >= timeout_ms) {
            log_warn("exec '%s' still running after %lld ms: killing it", cmd, (long long)timeout_ms);
            kill(-pid, SIGKILL);
            killed = 1;
        }
        util_sleep_ms(2);
    }
    if (killed) kill(-pid, SIGKILL);
    return report(cmd, status, util_now_ms() - start);
}
