/* harness.h -- real servers for tests: ZooKeeper, memcached, any program.
 *
 * Tests in mcm run against the real thing: a ZooKeeper server (the Debian
 * `zookeeper` package's QuorumPeerMain, standalone, temporary data dir, free
 * loopback port, tickTime 100 ms) and memcached processes, each started on a
 * free loopback port and waited for until it answers (`ruok`, `version`).
 *
 * Cleanup is guaranteed three ways, so a failing or crashing test never
 * leaves a server behind: every child gets PR_SET_PDEATHSIG(SIGKILL) (the
 * test process dying kills it), an atexit handler stops whatever is still
 * registered (Check's forked test exits through exit()), and each *_free stops
 * its server. Children also inherit MCM_TEST_RUN, which scripts/test uses to
 * find strays after the suite.
 *
 * Failures to start call ck_abort_msg(): a test cannot go on without its server.
 * Threads: the test's main thread only. */
#ifndef MCM_HARNESS_H
#define MCM_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

/* A free TCP port on 127.0.0.1 (bound then released: racy only against other
 * programs choosing ports at the same instant). */
int th_free_port(void);

/* --- any child process ------------------------------------------------------ */
typedef struct th_proc th_proc;
/* Starts argv[0] (searched in PATH) with stdout+stderr appended to log_path
 * (NULL: inherit). The child dies with the test process. */
th_proc *th_proc_start(char *const argv[], const char *log_path);
pid_t th_proc_pid(const th_proc *p);
/* Sends sig to the child's process group. */
void th_proc_signal(th_proc *p, int sig);
/* SIGTERM, then SIGKILL after grace_ms; reaps. Returns the wait status, or -1. */
int th_proc_stop(th_proc *p, int grace_ms);
/* Non-blocking: 1 and *status if the child has exited, 0 if still running. */
int th_proc_exited(th_proc *p, int *status);
void th_proc_free(th_proc *p);   /* stops if running; NULL-safe */

/* --- ZooKeeper server ------------------------------------------------------- */
typedef struct th_zk th_zk;
th_zk *th_zk_start(void);
const char *th_zk_hosts(const th_zk *z);     /* "127.0.0.1:<port>" */
int th_zk_port(const th_zk *z);
/* Stops the server (SIGKILL when hard, else SIGTERM), keeping its data. */
void th_zk_stop(th_zk *z, int hard);
/* Starts it again on the same port and data: unexpired sessions survive. */
void th_zk_restart(th_zk *z);
int th_zk_running(const th_zk *z);
void th_zk_free(th_zk *z);                   /* stops and removes the data */

/* --- memcached ---------------------------------------------------------------- */
typedef struct th_mc th_mc;
th_mc *th_mc_start(int mem_mib);
int th_mc_port(const th_mc *m);
void th_mc_free(th_mc *m);

/* Sends one text-protocol command (with its trailing \r\n) to host:port and
 * reads the whole reply into buf (NUL-terminated). Returns the reply length
 * or -1 on connection error or timeout_ms. */
int th_mc_cmd(const char *host, int port, const char *cmd, char *buf, size_t len, int timeout_ms);

/* --- waiting -------------------------------------------------------------- */
/* Polls cond(arg) every 10 ms until it is true or timeout_ms passes; 1 if true. */
int th_wait(int (*cond)(void *), void *arg, int timeout_ms);

/* --- programs that are not test suites (benchmarks) ------------------------ */
/* The harness reports failures through Check, so a benchmark runs its body as
 * one Check test in this process (no fork, three hours at most). Failures are
 * printed as "<name>: FAILED at <file>:<line>: <reason>". Returns the number
 * of failures (0 or 1). `test` is what START_TEST(x) names x. */
struct TTest;
int th_run_alone(const char *name, const struct TTest *test);

/* A fresh directory under $TMPDIR (mcm-test-XXXXXX); caller frees the string. */
char *th_tempdir(void);
/* rm -rf path (only below a th_tempdir). */
void th_rmtree(const char *path);

#endif
