/* stnode.c -- the state suites' test node and helpers (see stnode.h). */
#include "stnode.h"
#include "log.h"
#include "mcm.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void n_event(void *ctx, zks_event ev) {
    if (ev == ZKS_EXPIRED) atomic_store(&((node *)ctx)->expired, 1);
}
static void n_wake(void *ctx) {}
static void n_elected(void *ctx) { ((node *)ctx)->elected++; }
static void n_deposed(void *ctx, const char *why) {
    node *n = ctx;
    n->deposed++;
    snprintf(n->why, sizeof(n->why), "%s", why);
}

node *node_new(th_zk *zk, const char *name, const char *auth) {
    return node_new_at(th_zk_hosts(zk), name, auth, 4000);
}

node *node_new_at(const char *hosts, const char *name, const char *auth, int session_ms) {
    node *n = calloc(1, sizeof(*n));
    char err[256] = "", ident[64];
    zks_config cfg = {.hosts = hosts, .root = "/mcm", .session_timeout_ms = session_ms,
                      .auth = auth, .ctx = n, .on_event = n_event};
    n->z = zks_new(&cfg, 15000, err, sizeof(err));
    ck_assert_msg(n->z != NULL, "zks_new: %s", err);
    snprintf(ident, sizeof(ident), "{\"id\":\"%s\"}", name);
    elect_callbacks cb = {.ctx = n, .wake = n_wake, .elected = n_elected, .deposed = n_deposed};
    n->e = elect_new(n->z, ident, &cb);
    n->s = state_new(n->z, n->e);
    ck_assert_msg(state_init(n->s, err, sizeof(err)) == MCM_OK, "state_init: %s", err);
    ck_assert_msg(elect_join(n->e, err, sizeof(err)) == MCM_OK, "join: %s", err);
    ck_assert_msg(elect_check(n->e, err, sizeof(err)) == MCM_OK, "check: %s", err);
    return n;
}

void node_free(node *n) {
    if (!n) return;
    state_free(n->s);
    elect_free(n->e);
    zks_free(n->z);
    free(n);
}

void check_ok(node *n) {
    char err[256];
    ck_assert_msg(elect_check(n->e, err, sizeof(err)) == MCM_OK, "check: %s", err);
}

state_task task(const char *id, int port, int st) {
    state_task t = {.port = port, .state = st, .changed_ms = 1795585620123, .cpus = 0.5, .mem_mb = 1024};
    snprintf(t.id, sizeof(t.id), "%s", id);
    snprintf(t.agent_id, sizeof(t.agent_id), "agent-S%d", port % 7);
    snprintf(t.hostname, sizeof(t.hostname), "10.0.0.%d", port % 250 + 1);
    snprintf(t.reason, sizeof(t.reason), "reason %d", port);
    return t;
}

void put(node *n, const state_task *t) {
    char err[512];
    int rc = state_put_task(n->s, t, err, sizeof(err));
    ck_assert_msg(rc == MCM_OK, "put %s: %d %s", t->id, rc, err);
}

state_snapshot load(node *n) {
    state_snapshot snap;
    char err[512];
    ck_assert_msg(state_load(n->s, &snap, err, sizeof(err)) == MCM_OK, "load: %s", err);
    return snap;
}

const state_task *find_task(const state_snapshot *s, const char *id) {
    for (int i = 0; i < s->ntasks; i++)
        if (!strcmp(s->tasks[i].id, id)) return &s->tasks[i];
    return NULL;
}

srvlist *servers_n(int n, int first) {
    srvlist *l = srvlist_new();
    for (int i = first; i < first + n; i++) {
        char host[32], id[48];
        snprintf(host, sizeof(host), "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        snprintf(id, sizeof(id), "mcm-%08d-0000-4000-8000-%012d", i, i);
        ck_assert_int_eq(srvlist_add(l, host, 31000 + i % 1000, id), MCM_OK);
    }
    return l;
}

int64_t publish(node *n, const srvlist *l) {
    char err[512];
    int64_t v = -1;
    int rc = state_publish_servers(n->s, l, &v, err, sizeof(err));
    ck_assert_msg(rc == MCM_OK, "publish: %d %s", rc, err);
    return v;
}
