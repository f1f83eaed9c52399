/* sim_zk.c -- registering as a detectable Mesos master in ZooKeeper.
 *
 * Like a Mesos master with --zk: an EPHEMERAL|SEQUENTIAL child
 * `<path>/json.info_<seq>` holding MasterInfo JSON (protocol doc section 9).
 * The master whose json.info_ child has the lowest sequence leads; the others
 * answer scheduler calls with 307 to `//<leader hostname>:<port>`. Other
 * children (legacy `info_`, `log_replicas`) are ignored.
 *
 * Shape: the ZooKeeper watcher (client's completion thread) only sets flags;
 * sim_zk_poll, on the loop thread without s->mu, does the synchronous work
 * (create path and node, list children, read the leader's data) and then
 * publishes the result under s->mu. An expired session is replaced by a new
 * one, which creates a new node (and so goes to the back of the line).
 * Threads: watcher on the ZooKeeper thread; everything else on the loop thread. */
#include "sim_int.h"

#include "mcm.h"
#include "util.h"

#define LOG_COMPONENT "sim"
#include "log.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zookeeper/zookeeper.h>

struct sim_zk {
    sim *s;
    zhandle_t *zh;
    atomic_int state;        /* last session state */
    atomic_int dirty;        /* children may have changed */
    char node[512];          /* our node's full path, "" if none */
    int64_t next_check_ms;
};

static void watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    struct sim_zk *z = ctx;
    if (type == ZOO_SESSION_EVENT) atomic_store(&z->state, state);
    atomic_store(&z->dirty, 1);
}

static int connect_zk(struct sim_zk *z, char *err, size_t errlen) {
    z->zh = zookeeper_init(z->s->cfg.zk_hosts, watcher, 10000, NULL, z, 0);
    if (!z->zh) {
        snprintf(err, errlen, "zookeeper_init(%s) failed", z->s->cfg.zk_hosts);
        return MCM_ERR;
    }
    z->node[0] = 0;
    return MCM_OK;
}

struct sim_zk *sim_zk_new(sim *s, char *err, size_t errlen) {
    struct sim_zk *z = calloc(1, sizeof(*z));
    if (!z) abort();
    z->s = s;
    zoo_set_debug_level(log_min_level <= LOG_DEBUG ? ZOO_LOG_LEVEL_INFO : (ZooLogLevel)0);
    if (connect_zk(z, err, errlen) != MCM_OK) {
        free(z);
        return NULL;
    }
    return z;
}

void sim_zk_free(struct sim_zk *z) {
    if (!z) return;
    if (z->zh) zookeeper_close(z->zh);
    free(z);
}

static char *info_json(sim *s) {
    struct in_addr ia = {0};
    inet_pton(AF_INET, s->host, &ia);
    char pid[300];
    snprintf(pid, sizeof(pid), "master@%s:%d", s->host, s->port);
    json_t *j = json_pack("{s:{s:s, s:s, s:i}, s:s, s:s, s:I, s:s, s:i, s:s}", "address", "hostname", s->host, "ip",
                          s->host, "port", s->port, "hostname", s->host, "id", s->master_id, "ip",
                          (json_int_t)ia.s_addr, "pid", pid, "port", s->port, "version", "1.11.0");
    char *out = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    return out;
}

static void ensure_path(zhandle_t *zh, const char *path) {
    char tmp[512];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1;; p++) {
        if (*p != '/' && *p) continue;
        char c = *p;
        *p = 0;
        zoo_create(zh, tmp, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
        if (!c) break;
        *p = c;
    }
}

static int create_node(struct sim_zk *z) {
    const char *path = z->s->cfg.zk_path;
    ensure_path(z->zh, path);
    char prefix[600], *data = info_json(z->s);
    snprintf(prefix, sizeof(prefix), "%s/json.info_", strcmp(path, "/") == 0 ? "" : path);
    int rc = zoo_create(z->zh, prefix, data, (int)strlen(data), &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL | ZOO_SEQUENCE,
                        z->node, (int)sizeof(z->node));
    free(data);
    if (rc != ZOK) {
        z->node[0] = 0;
        log_warn("cannot register in ZooKeeper under %s: %s; retrying", path, zerror(rc));
        return MCM_ERR;
    }
    log_notice("registered as master candidate %s", z->node);
    return MCM_OK;
}

/* "//host:port" from a leader's MasterInfo JSON. */
static void location_of(const char *data, int len, char *out, size_t outlen) {
    json_error_t e;
    json_t *j = json_loadb(data, (size_t)len, 0, &e);
    const char *host = NULL;
    json_int_t port = 0;
    if (j) {
        json_t *addr = json_object_get(j, "address");
        host = json_string_value(json_object_get(j, "hostname"));
        if (!host && addr) host = json_string_value(json_object_get(addr, "hostname"));
        if (!host && addr) host = json_string_value(json_object_get(addr, "ip"));
        port = json_integer_value(json_object_get(addr ? addr : j, "port"));
        if (!port) port = json_integer_value(json_object_get(j, "port"));
    }
    if (host && port > 0) snprintf(out, outlen, "//%s:%lld", host, (long long)port);
    else out[0] = 0;
    json_decref(j);
}

/* Lowest json.info_ child; leading = ours; leader = its location. */
static void elect(struct sim_zk *z, int *leading, char *leader, size_t llen) {
    const char *path = z->s->cfg.zk_path;
    struct String_vector kids = {0, NULL};
    *leading = 0;
    leader[0] = 0;
    if (zoo_get_children(z->zh, path, 1, &kids) != ZOK) return;
    const char *best = NULL;
    for (int i = 0; i < kids.count; i++)
        if (strncmp(kids.data[i], "json.info_", 10) == 0 && (!best || strcmp(kids.data[i] + 10, best + 10) < 0))
            best = kids.data[i];
    if (best) {
        char full[700];
        snprintf(full, sizeof(full), "%s/%s", strcmp(path, "/") == 0 ? "" : path, best);
        if (strcmp(full, z->node) == 0) *leading = 1;
        else {
            char buf[4096];
            int len = sizeof(buf);
            if (zoo_get(z->zh, full, 0, buf, &len, NULL) == ZOK && len > 0) location_of(buf, len, leader, llen);
        }
    }
    deallocate_String_vector(&kids);
}

void sim_zk_poll(sim *s, struct sim_zk *z) {
    int64_t now = util_now_ms();
    if (atomic_load(&z->state) == ZOO_EXPIRED_SESSION_STATE) {
        log_warn("ZooKeeper session expired: registering again");
        zookeeper_close(z->zh);
        atomic_store(&z->state, 0);
        char err[256];
        if (connect_zk(z, err, sizeof(err)) != MCM_OK) log_warn("%s", err);
        pthread_mutex_lock(&s->mu);
        s->zk_leading = 0;
        pthread_mutex_unlock(&s->mu);
        return;
    }
    if (!z->zh || atomic_load(&z->state) != ZOO_CONNECTED_STATE) return;
    if (!z->node[0] && create_node(z) != MCM_OK) return;
    if (!atomic_exchange(&z->dirty, 0) && now < z->next_check_ms) return;
    z->next_check_ms = now + 1000;
    int leading;
    char leader[300];
    elect(z, &leading, leader, sizeof(leader));
    pthread_mutex_lock(&s->mu);
    if (leading != s->zk_leading)
        log_notice("%s", leading ? "elected leading master" : "not the leading master");
    s->zk_leading = leading;
    snprintf(s->zk_leader, sizeof(s->zk_leader), "%s", leader);
    pthread_mutex_unlock(&s->mu);
}
