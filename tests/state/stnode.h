/* stnode.h -- a test node for the state module's suites: zks + elect + state,
 * owned by the test's main thread, which drives elections itself with
 * elect_check so each step is explicit; plus record and list helpers.
 * Threads: the test's main thread. */
#ifndef MCM_TEST_STNODE_H
#define MCM_TEST_STNODE_H

#include "elect.h"
#include "harness.h"
#include "srvlist.h"
#include "state.h"
#include "zks.h"

#include <stdatomic.h>
#include <stdint.h>

typedef struct node {
    zks *z;
    elect *e;
    state *s;
    atomic_int expired;
    int elected, deposed;
    char why[256];
} node;

/* A node under /mcm that has joined the election (the first one leads). */
node *node_new(th_zk *zk, const char *name, const char *auth);
/* The same through any host list (a proxy) with its own session timeout. */
node *node_new_at(const char *hosts, const char *name, const char *auth, int session_ms);
void node_free(node *n);
void check_ok(node *n);                                  /* elect_check, asserted */
state_task task(const char *id, int port, int st);       /* a plausible record */
void put(node *n, const state_task *t);                  /* state_put_task, asserted */
state_snapshot load(node *n);                            /* state_load, asserted MCM_OK */
const state_task *find_task(const state_snapshot *s, const char *id);
srvlist *servers_n(int n, int first);                    /* n distinct servers */
int64_t publish(node *n, const srvlist *l);              /* asserted; the version stored */

#endif
