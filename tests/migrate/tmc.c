/* tmc.c -- memcached with -I 2m for the migrate tests (see tmc.h).
 * Shape: th_proc_start plus the same readiness rule as th_mc_start (the port
 * answers `version`). Threads: as tmc.h. */
#include "tmc.h"
#include "harness.h"
#include "util.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TMC_READY_MS 10000

struct tmc {
    th_proc *proc;
    int port;
    char addr[32];
};

tmc *tmc_start(int mem_mib) {
    tmc *m = calloc(1, sizeof(*m));
    ck_assert_ptr_nonnull(m);
    m->port = th_free_port();
    snprintf(m->addr, sizeof(m->addr), "127.0.0.1:%d", m->port);
    char port[16], mem[16];
    snprintf(port, sizeof(port), "%d", m->port);
    snprintf(mem, sizeof(mem), "%d", mem_mib);
    char *argv[] = {"memcached", "-l", "127.0.0.1", "-p", port, "-U", "0", "-m", mem, "-I", "2m",
                    "-t", "2", "-u", getuid() == 0 ? "root" : "nobody", NULL};
    m->proc = th_proc_start(argv, NULL);
    char reply[128];
    int64_t deadline = util_now_ms() + TMC_READY_MS;
    while (util_now_ms() < deadline) {
        int st;
        if (th_proc_exited(m->proc, &st)) ck_abort_msg("tmc: memcached exited at start (status %d)", st);
        if (th_mc_cmd("127.0.0.1", m->port, "version\r\n", reply, sizeof(reply), 500) > 0 &&
            !strncmp(reply, "VERSION ", 8))
            return m;
        util_sleep_ms(20);
    }
    ck_abort_msg("tmc: memcached did not answer on port %d", m->port);
    return NULL;
}

int tmc_port(const tmc *m) { return m->port; }
const char *tmc_addr(const tmc *m) { return m->addr; }
void tmc_kill(tmc *m) { th_proc_signal(m->proc, SIGKILL); }

void tmc_free(tmc *m) {
    if (!m) return;
    th_proc_free(m->proc);
    free(m);
}
