/* watch_example.c -- follow mcm's memcached server list from a C program.
 *
 * The discovery library (src/discovery/watch.h) watches the `<root>/servers`
 * znode and calls back with every new list; it keeps the last good list
 * through ZooKeeper outages, so the callback only ever sees real lists.
 *
 *   watch_example ZK_HOSTS ZNODE
 *   watch_example zk1:2181,zk2:2181,zk3:2181 /mcm/servers
 *
 * Prints each list as it arrives ("version V: N servers" then one host:port per
 * line) until SIGINT or SIGTERM. Build against an installed mcm
 * (`cmake --install`, prefix /usr/local):
 *
 *   cc -std=c11 -I/usr/local/include/mcm watch_example.c -o watch_example \
 *      -L/usr/local/lib -lmcm_discovery -lmcm_common \
 *      -lzookeeper_mt -ljansson -lcurl -lpthread -lm
 *
 * tests/deploy builds this file and runs it against a real ZooKeeper. */
#define _POSIX_C_SOURCE 200809L
#include "srvlist.h"
#include "watch.h"

#include <signal.h>
#include <stdio.h>

/* Runs on the watch's own thread, one call at a time, with the newest list.
 * `l` is valid during the call only: a real client rebuilds its server set
 * here (e.g. a libmemcached handle with ketama over these servers) and swaps
 * it in, keeping a copy (srvlist_copy) if it needs the list later. */
static void on_list(const srvlist *l, void *ud) {
    (void)ud;
    printf("version %lld: %d servers\n", (long long)l->version, l->n);
    for (int i = 0; i < l->n; i++)
        printf("  %s:%d\n", l->servers[i].host, l->servers[i].port);
    fflush(stdout);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s ZK_HOSTS ZNODE   (e.g. zk1:2181,zk2:2181 /mcm/servers)\n", argv[0]);
        return 2;
    }
    /* Block the stop signals before the watch starts its threads, then wait
     * for one here: no handler runs concurrently with the callback. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    char err[256];
    watch_opts o = {.hosts = argv[1], .path = argv[2], .session_timeout_ms = 10000, .cb = on_list};
    watch *w = watch_create(&o, err, sizeof(err));
    if (!w) {
        fprintf(stderr, "%s: %s\n", argv[0], err);
        return 1;
    }
    int sig;
    sigwait(&stop, &sig);
    watch_free(w);   /* stops the thread and closes the ZooKeeper session */
    return 0;
}
