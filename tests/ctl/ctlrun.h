/* ctlrun.h -- run a program from a test and keep what it printed.
 *
 * ctl_run() forks, execs argv (argv[0] searched in PATH) with stdin from
 * `input` (NULL: /dev/null) and stdout and stderr captured, waits at most
 * timeout_ms (then SIGKILL), and returns the exit status (-1 if it did not
 * exit normally). Used for mcmctl (tests/ctl) and headless chromium
 * (tests/http/test_page). The child dies with the test (PDEATHSIG).
 * Ownership: out->out and out->err are malloc'd; ctl_run_free frees them.
 * Threads: the test's main thread. */
#ifndef MCM_TEST_CTLRUN_H
#define MCM_TEST_CTLRUN_H

typedef struct ctl_run_out {
    char *out;      /* stdout, NUL-terminated */
    char *err;      /* stderr, NUL-terminated */
} ctl_run_out;

int ctl_run(char *const argv[], const char *input, int timeout_ms, ctl_run_out *o);
void ctl_run_free(ctl_run_out *o);

/* The path of a built program: $MCM_BUILD_DIR/<rel> (asserts it exists). */
const char *ctl_built(const char *rel, char *buf, unsigned len);

#endif
