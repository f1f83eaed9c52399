/* ctl_zk.c -- what mcmctl reads from ZooKeeper (read only).
 *
 * What: the election members under <root>/leader (each holds its replica's
 * identity JSON: id, hostname, "http" URL, pid, started, version; see
 * elect.h and the README's ZooKeeper layout) and single znodes such as
 * <root>/state/desired.
 * Why not src/zk (zks): a zks session creates mcm's root when it is missing,
 * and an operator's look must never write. This is a short-lived read-only
 * session: connect, read, close.
 * Thread: main (the client's own threads only deliver the session watcher,
 * which does nothing: the connection is polled with zoo_state).
 * Invariant: no function here creates, sets or deletes a znode. */
#include "ctl.h"
#include "log.h"
#include "mcm.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zookeeper/zookeeper.h>

#define CTL_ZK_SESSION_MS 10000
#define CTL_ZK_POLL_MS 20
#define CTL_ZNODE_MAX (1 << 20)           /* ZooKeeper's own limit */
#define CTL_MEMBER_PREFIX "member_"

static void on_session(zhandle_t *zh, int type, int state, const char *path, void *ctx) {}

/* Connected handle, or NULL with err. */
static zhandle_t *open_zk(const parse_zk *zk, int64_t timeout_ms, char *err, size_t errlen) {
    zoo_set_debug_level(log_min_level <= LOG_DEBUG ? ZOO_LOG_LEVEL_INFO : (ZooLogLevel)0);
    zhandle_t *zh = zookeeper_init(zk->hosts, on_session, CTL_ZK_SESSION_MS, NULL, NULL, 0);
    if (!zh) {
        snprintf(err, errlen, "ZooKeeper %s: cannot create a client", zk->hosts);
        return NULL;
    }
    for (int64_t end = util_now_ms() + timeout_ms; util_now_ms() < end; util_sleep_ms(CTL_ZK_POLL_MS))
        if (zoo_state(zh) == ZOO_CONNECTED_STATE) return zh;
    snprintf(err, errlen, "cannot reach ZooKeeper %s within %lld ms", zk->hosts, (long long)timeout_ms);
    zookeeper_close(zh);
    return NULL;
}

static void abs_path(const parse_zk *zk, const char *rel, char *buf, size_t len) {
    snprintf(buf, len, "%s/%s", strcmp(zk->path, "/") == 0 ? "" : zk->path, rel);
}

/* The data of an absolute path, or NULL with err. */
static char *get(zhandle_t *zh, const char *path, char *err, size_t errlen) {
    char *buf = malloc(CTL_ZNODE_MAX + 1);
    int len = CTL_ZNODE_MAX;
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    int rc = zoo_get(zh, path, 0, buf, &len, NULL);
    if (rc != ZOK) {
        snprintf(err, errlen, "ZooKeeper %s: %s", path, rc == ZNONODE ? "no such znode" : zerror(rc));
        free(buf);
        return NULL;
    }
    buf[len < 0 ? 0 : len] = 0;
    return buf;
}

static int cmp_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Identity documents of the members, in sequence order (zero-padded names
 * sort as their numbers). */
static json_t *read_members(zhandle_t *zh, const parse_zk *zk, char *err, size_t errlen) {
    char dir[1024], path[1300];
    abs_path(zk, "leader", dir, sizeof(dir));
    struct String_vector sv = {0, NULL};
    int rc = zoo_get_children(zh, dir, 0, &sv);
    if (rc != ZOK) {
        snprintf(err, errlen, "ZooKeeper %s: %s (is --zk mcm's root?)", dir, rc == ZNONODE ? "no such znode" : zerror(rc));
        return NULL;
    }
    qsort(sv.data, (size_t)sv.count, sizeof(*sv.data), cmp_name);
    json_t *arr = json_array();
    for (int i = 0; arr && i < sv.count; i++) {
        if (strncmp(sv.data[i], CTL_MEMBER_PREFIX, strlen(CTL_MEMBER_PREFIX)) != 0) continue;
        snprintf(path, sizeof(path), "%s/%s", dir, sv.data[i]);
        char why[256];
        char *data = get(zh, path, why, sizeof(why));   /* a member that left meanwhile is skipped */
        json_t *id = data ? json_loads(data, 0, NULL) : NULL;
        if (json_is_object(id) && json_is_string(json_object_get(id, "http"))) json_array_append(arr, id);
        json_decref(id);
        free(data);
    }
    deallocate_String_vector(&sv);
    if (arr && json_array_size(arr) == 0) {
        snprintf(err, errlen, "no replica is a member of the election under %s", dir);
        json_decref(arr);
        return NULL;
    }
    return arr;
}

json_t *ctl_zk_members(const parse_zk *zk, int64_t timeout_ms, char *err, size_t errlen) {
    zhandle_t *zh = open_zk(zk, timeout_ms, err, errlen);
    if (!zh) return NULL;
    json_t *arr = read_members(zh, zk, err, errlen);
    zookeeper_close(zh);
    return arr;
}

char *ctl_zk_read(const parse_zk *zk, const char *rel, int64_t timeout_ms, char *err, size_t errlen) {
    char path[1300];
    zhandle_t *zh = open_zk(zk, timeout_ms, err, errlen);
    if (!zh) return NULL;
    abs_path(zk, rel, path, sizeof(path));
    char *data = get(zh, path, err, errlen);
    zookeeper_close(zh);
    return data;
}
