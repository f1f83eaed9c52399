/* ctlrun.c -- run a program and capture its output (see ctlrun.h).
 * Shape: stdout and stderr go to temporary files (no pipe can fill up and
 * block the child), read back after it exits. Thread: the test's main. */
#include "ctlrun.h"

#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *slurp(int fd) {
    off_t n = lseek(fd, 0, SEEK_END);
    char *s = malloc((size_t)(n > 0 ? n : 0) + 1);
    ck_assert_ptr_nonnull(s);
    ssize_t got = n > 0 ? pread(fd, s, (size_t)n, 0) : 0;
    s[got > 0 ? got : 0] = 0;
    close(fd);
    return s;
}

static int temp_fd(void) {
    char path[] = "/tmp/mcm-ctlrun-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_msg(fd >= 0, "mkstemp failed");
    unlink(path);
    return fd;
}

static void child(char *const argv[], int in, int out, int err, pid_t parent) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(in, STDIN_FILENO);
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    execvp(argv[0], argv);
    _exit(127);
}

int ctl_run(char *const argv[], const char *input, int timeout_ms, ctl_run_out *o) {
    int in = temp_fd(), out = temp_fd(), err = temp_fd();
    if (input) ck_assert_int_eq(write(in, input, strlen(input)), (ssize_t)strlen(input));
    lseek(in, 0, SEEK_SET);
    pid_t parent = getpid(), pid = fork();
    ck_assert_msg(pid >= 0, "fork failed");
    if (pid == 0) child(argv, in, out, err, parent);
    close(in);
    int st = 0, waited = 0;
    struct timespec tick = {0, 20 * 1000 * 1000};
    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (waited >= timeout_ms) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            break;
        }
        nanosleep(&tick, NULL);
        waited += 20;
    }
    o->out = slurp(out);
    o->err = slurp(err);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void ctl_run_free(ctl_run_out *o) {
    free(o->out);
    free(o->err);
    o->out = o->err = NULL;
}

const char *ctl_built(const char *rel, char *buf, unsigned len) {
    const char *b = getenv("MCM_BUILD_DIR");
    snprintf(buf, len, "%s/%s", b ? b : ".", rel);
    ck_assert_msg(access(buf, X_OK) == 0, "%s is not built", buf);
    return buf;
}
