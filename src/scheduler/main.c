/* main.c -- mcm-scheduler: parse the configuration, run the core.
 *
 * Signals: SIGTERM and SIGINT are blocked in every thread and taken by a small
 * signal thread (sigwait), which asks the core for a graceful shutdown: the
 * core closes the Mesos subscription and deletes its election znode, so a
 * follower takes over within one ZooKeeper round trip. A second signal more
 * than 2 s after the first exits at once. SIGPIPE is ignored (sockets report EPIPE).
 * Exit status: 0 after a graceful shutdown, 1 if startup failed, 2 on a
 * usage error (one line on stderr naming the flag). */
#define LOG_COMPONENT "main"
#include "config.h"
#include "core.h"
#include "log.h"
#include "mcm.h"
#include "util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* The core, once built; a signal before that ends a start that may be
 * waiting for ZooKeeper for a while (nothing to resign yet). */
static _Atomic(core *) the_core;

static void *signal_thread(void *arg) {
    (void)arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int sig;
    int64_t first = 0;
    while (sigwait(&set, &sig) == 0) {
        int64_t now = util_now_ms();
        core *c = atomic_load(&the_core);
        if (!c) {
            log_notice("signal %d during start: exiting", sig);
            _exit(0);
        }
        if (!first) {
            first = now;
            core_signal(c, sig);
        } else if (now - first > 2000) {   /* a process-group kill may deliver the first twice */
            log_warn("second signal %d during shutdown: exiting now", sig);
            _exit(1);
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    sched_config cfg;
    log_init("mcm-scheduler");
    log_set_role("follower");
    int rc = sched_config_parse(&cfg, argc, argv);
    if (rc != OPT_CONTINUE) {
        sched_config_free(&cfg);
        return rc;
    }
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);   /* inherited by every thread started below */

    pthread_t th;
    pthread_create(&th, NULL, signal_thread, NULL);
    pthread_detach(th);
    char err[512];
    core *c = core_new(&cfg, err, sizeof(err));
    if (!c) {
        log_error("cannot start: %s", err);
        sched_config_free(&cfg);
        return 1;
    }
    atomic_store(&the_core, c);
    rc = core_run(c);
    core_free(c);
    sched_config_free(&cfg);
    log_notice("stopped");
    return rc;
}
