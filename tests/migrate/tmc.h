/* tmc.h -- real memcached servers for the migrate tests, with the flags the
 * harness's th_mc_start does not give: -I 2m (values of 1 MB and more) and
 * a handle to SIGKILL one mid-copy. Built on the harness (th_proc_start,
 * th_free_port, th_mc_cmd), so cleanup is the harness's.
 * Threads: the test's main thread (tmc_kill may be called from another). */
#ifndef MCM_TMC_H
#define MCM_TMC_H

#include <stddef.h>

typedef struct tmc tmc;

tmc *tmc_start(int mem_mib);           /* -I 2m; aborts the test if it does not answer */
int tmc_port(const tmc *m);
const char *tmc_addr(const tmc *m);    /* "127.0.0.1:<port>" */
void tmc_kill(tmc *m);                 /* SIGKILL, at once */
void tmc_free(tmc *m);                 /* NULL-safe */

#endif
