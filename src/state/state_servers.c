/* state_servers.c -- the published server list and its ServerSet members.
 *
 * Two views of the same list, written together by the leader:
 *   servers                 srvlist JSON (srvlist.h); version only grows
 *   serverset/member_<seq>  one persistent sequential znode per host:port,
 *                           {"serviceEndpoint":{"host":h,"port":p},
 *                            "additionalEndpoints":{},"status":"ALIVE","shard":K}
 *
 * Shards are stable: a host:port that stays keeps its member znode (and so
 * its shard); a removed one's znode is deleted; a new one takes the lowest
 * shard no remaining member holds. Clients that hash by shard (Finagle-style
 * ServerSets) then move only the keys of servers that changed.
 *
 * Why caches: the leader is the only writer, so after one read it knows what
 * is stored and can publish with a single multi instead of re-reading 10,000
 * member znodes every time. The caches belong to the member path they were
 * built under (a new fence means another leader may have written) and are
 * dropped on any failure; the servers znode is set with its expected version,
 * so a stale cache fails the write (then we re-read and try once more).
 *
 * Size: ZooKeeper drops a connection whose request exceeds jute.maxbuffer
 * (1 MiB - 1 by default). A publication normally is one fenced multi; when
 * its ops would exceed STATE_PACKET_BUDGET (thousands of new servers at once)
 * it is split into several fenced multis, serverset changes first and the
 * servers document in the last one, so the document clients read is always
 * written last and a crash in between is repaired by the next publication
 * (which diffs against the members actually stored).
 *
 * Threads: owner thread only. */
#define LOG_COMPONENT "state"
#include "log.h"
#include "mcm.h"
#include "state_int.h"
#include "util.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MEMBER_MAX 4096              /* largest serverset member znode we read */

void state_members_clear(state *s) {
    for (int i = 0; i < s->nmembers; i++) {
        free(s->members[i].name);
        free(s->members[i].host);
    }
    free(s->members);
    s->members = NULL;
    s->nmembers = 0;
    s->have_members = 0;
}

/* --- member JSON ------------------------------------------------------------------ */

static char *member_json(const char *host, int port, int shard) {
    json_t *o = json_pack("{s:{s:s, s:i}, s:{}, s:s, s:i}", "serviceEndpoint", "host", host, "port", port,
                          "additionalEndpoints", "status", "ALIVE", "shard", shard);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

/* The host characters srvlist accepts (srvlist.c: letters, digits, ".-_:"),
 * so a stored member matches the list entry it was made from. */
static int member_host_ok(json_t *h) {
    const char *v = json_string_value(h);
    size_t n = json_string_length(h);
    if (!v || n == 0 || n > SRVLIST_HOST_MAX || strlen(v) != n) return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)v[i]) && !strchr(".-_:", v[i])) return 0;
    return 1;
}

int state_member_parse(const char *data, int len, ss_member *m) {
    json_t *o = json_loadb(data, (size_t)len, JSON_REJECT_DUPLICATES, NULL);
    json_t *ep = json_object_get(o, "serviceEndpoint");
    json_t *h = json_object_get(ep, "host"), *p = json_object_get(ep, "port");
    json_t *k = json_object_get(o, "shard");
    int ok = member_host_ok(h) && json_is_integer(p) &&
             json_integer_value(p) > 0 && json_integer_value(p) < 65536 && json_is_integer(k) &&
             json_integer_value(k) >= 0 && json_integer_value(k) < SRVLIST_MAX_SERVERS;
    if (ok && (m->host = strdup(json_string_value(h)))) {
        m->port = (int)json_integer_value(p);
        m->shard = (int)json_integer_value(k);
    }
    json_decref(o);
    return ok && m->host ? MCM_OK : MCM_ERR;
}

/* --- loading the caches --------------------------------------------------------- */

static int load_servers(state *s, char *err, size_t errlen) {
    char path[STATE_PATH_MAX], *data = NULL, why[256];
    int len = 0;
    struct Stat st;
    zks_path(s->z, "servers", path, sizeof(path));
    srvlist_free(s->servers);
    s->servers = NULL;
    s->servers_replace = 0;
    int rc = zks_get(s->z, path, STATE_DOC_MAX, &data, &len, &st);
    if (rc == ZNONODE) {
        s->servers_exists = 0;
        s->servers_floor = 0;
    } else if (rc == ZOK || rc == ZKS_TOO_LARGE) {
        s->servers_exists = 1;
        s->servers_stat = st.version;
        s->servers_floor = (int64_t)st.version + 1;
        if (rc == ZOK && !(s->servers = srvlist_from_json(data, (size_t)len, why, sizeof(why))))
            log_warn("%s: malformed server list (%s); it will be replaced", path, why);
        if (s->servers && s->servers->version > STATE_VERSION_MAX) {
            log_warn("%s: version %lld is above %lld, more than mcm ever writes; the znode will be "
                     "replaced by a new one with a low version", path, (long long)s->servers->version,
                     STATE_VERSION_MAX);
            srvlist_free(s->servers);
            s->servers = NULL;
            s->servers_replace = 1;
        }
        if (s->servers && s->servers->version > s->servers_high) s->servers_high = s->servers->version;
        if (rc == ZKS_TOO_LARGE) log_warn("%s: %d bytes, too large; it will be replaced", path, len);
    } else {
        snprintf(err, errlen, "read %s: %s", path, zks_strerror(rc));
        return MCM_ERR;
    }
    free(data);
    s->have_servers = 1;
    return MCM_OK;
}

static int add_member(state *s, const char *name, const ss_member *m) {
    ss_member *v = realloc(s->members, sizeof(*v) * (size_t)(s->nmembers + 1));
    if (!v) return MCM_ERR;
    s->members = v;
    v[s->nmembers] = *m;
    if (!(v[s->nmembers].name = strdup(name))) return MCM_ERR;
    s->nmembers++;
    return MCM_OK;
}

/* Every member is read at once (state_fetch, pipelined): one zoo_get per
 * member held a leader's core 5-13 s at N = 1,000 (bench/scale). */
static int load_members(state *s, char *err, size_t errlen) {
    char dir[STATE_PATH_MAX];
    struct String_vector sv = {0};
    zks_path(s->z, "serverset", dir, sizeof(dir));
    state_members_clear(s);
    int rc = zoo_get_children(zks_handle(s->z), dir, 0, &sv);
    if (rc != ZOK && rc != ZNONODE) {
        snprintf(err, errlen, "list %s: %s", dir, zks_strerror(rc));
        return MCM_ERR;
    }
    char **paths = state_child_paths(dir, &sv);
    state_blob *blobs = calloc((size_t)sv.count + 1, sizeof(*blobs));
    int ret = paths && blobs && state_fetch(s->z, paths, sv.count, MEMBER_MAX, blobs) == MCM_OK ? MCM_OK : MCM_ERR;
    if (ret != MCM_OK) snprintf(err, errlen, "out of memory");
    for (int i = 0; ret == MCM_OK && i < sv.count; i++) {
        const state_blob *b = &blobs[i];
        ss_member m = {0};
        if (b->rc == ZNONODE) continue;
        if (b->rc != ZOK && b->rc != ZKS_TOO_LARGE) {
            snprintf(err, errlen, "read %s: %s", paths[i], zks_strerror(b->rc));
            ret = MCM_ERR;
        } else if (b->rc != ZOK || state_member_parse(b->data, b->len, &m) != MCM_OK) {
            log_warn("%s: malformed serverset member; it will be deleted", paths[i]);
            m.host = NULL;                             /* kept in the cache to be deleted */
        }
        if (ret == MCM_OK && add_member(s, sv.data[i], &m) != MCM_OK) {
            free(m.host);
            snprintf(err, errlen, "out of memory");
            ret = MCM_ERR;
        }
    }
    state_blobs_free(blobs, blobs ? sv.count : 0);
    free(paths);
    deallocate_String_vector(&sv);
    s->have_members = ret == MCM_OK;
    return ret;
}

/* --- the plan: which members go, which come, with which shard --------------------- */

typedef struct plan {
    srvlist *want;              /* sorted copy of the new list */
    char *doc;                  /* new servers document, NULL if unchanged */
    int64_t version;            /* version stored after the publication */
    int recreate;               /* delete and create the servers znode (versions restart) */
    int *del;                   /* member indexes to delete */
    int ndel;
    int *add;                   /* want indexes to create */
    int *add_shard;
    int nadd;
} plan;

static void plan_clear(plan *p) {
    srvlist_free(p->want);
    free(p->doc);
    free(p->del);
    free(p->add);
    free(p->add_shard);
    memset(p, 0, sizeof(*p));
}

static int cmp_hp(const char *h1, int p1, const char *h2, int p2) {
    int c = strcmp(h1, h2);
    return c ? c : (p1 > p2) - (p1 < p2);
}

/* First index of host:port in the sorted list, or -1. */
static int find_hp(const srvlist *l, const char *host, int port) {
    int lo = 0, hi = l->n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (cmp_hp(l->servers[mid].host, l->servers[mid].port, host, port) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo < l->n && !cmp_hp(l->servers[lo].host, l->servers[lo].port, host, port) ? lo : -1;
}

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Fills del/add: members whose host:port stays keep their znode and shard. */
static int plan_members(state *s, plan *p) {
    int n = p->want->n;
    char *claimed = calloc((size_t)n + 1, 1);
    int *kept = calloc((size_t)s->nmembers + 1, sizeof(int)), nkept = 0;
    p->del = calloc((size_t)s->nmembers + 1, sizeof(int));
    p->add = calloc((size_t)n + 1, sizeof(int));
    p->add_shard = calloc((size_t)n + 1, sizeof(int));
    int ret = claimed && kept && p->del && p->add && p->add_shard ? MCM_OK : MCM_ERR;
    for (int i = 0; ret == MCM_OK && i < s->nmembers; i++) {
        ss_member *m = &s->members[i];
        int w = m->host ? find_hp(p->want, m->host, m->port) : -1;
        if (w >= 0 && !claimed[w]) {
            claimed[w] = 1;
            kept[nkept++] = m->shard;
        } else {
            p->del[p->ndel++] = i;
        }
    }
    if (ret == MCM_OK) qsort(kept, (size_t)nkept, sizeof(int), cmp_int);
    int shard = 0, k = 0;
    for (int w = 0; ret == MCM_OK && w < n; w++) {
        if (claimed[w] || (w > 0 && !cmp_hp(p->want->servers[w - 1].host, p->want->servers[w - 1].port,
                                             p->want->servers[w].host, p->want->servers[w].port)))
            continue;                                  /* kept, or a duplicate host:port */
        for (;; shard++) {                             /* lowest shard no kept member holds */
            while (k < nkept && kept[k] < shard) k++;
            if (k >= nkept || kept[k] != shard) break;
        }
        p->add[p->nadd] = w;
        p->add_shard[p->nadd++] = shard++;
    }
    free(claimed);
    free(kept);
    return ret;
}

static int plan_make(state *s, const srvlist *l, plan *p) {
    memset(p, 0, sizeof(*p));
    if (!(p->want = srvlist_copy(l))) return MCM_ERR;
    srvlist_sort(p->want);
    if (plan_members(s, p) != MCM_OK) return MCM_ERR;
    if (s->servers && srvlist_same_servers(s->servers, p->want)) {
        p->version = s->servers->version;
        return MCM_OK;
    }
    p->version = s->servers ? s->servers->version : s->servers_floor;
    if (p->version < s->servers_high) p->version = s->servers_high;   /* a deleted or rewritten znode */
    if (s->servers_replace || p->version >= STATE_VERSION_MAX || p->version < 0) {
        /* At the limit or beyond it: a new znode. Clients ignore a lower
         * version only from the same znode (same czxid, watch.c), so they
         * take this one whatever version they saw. */
        p->recreate = 1;
        p->version = 0;
    }
    p->version++;
    p->want->version = p->version;
    util_rfc3339(util_wall_ms(), p->want->updated, sizeof(p->want->updated));
    return (p->doc = srvlist_to_json(p->want)) ? MCM_OK : MCM_ERR;
}

/* --- running the plan ------------------------------------------------------------- */

/* What a batch holds, to update the members cache after it commits. */
typedef struct chunk {
    zbatch *b;
    int first_del, ndel, first_add, nadd;
    int doc_ops;                /* ops at the end that write the servers document (0-2) */
} chunk;

static int flush(state *s, plan *p, chunk *c, int *doc_conflict, char *err, size_t errlen) {
    int op, rc, ret = state_fenced_exec(s, c->b, &op, &rc, err, errlen);
    if (ret != MCM_OK) {
        *doc_conflict = c->doc_ops && op >= zbatch_count(c->b) - c->doc_ops &&
                        (rc == ZBADVERSION || rc == ZNODEEXISTS || rc == ZNONODE);
        state_caches_drop(s);
        return ret;
    }
    for (int i = 0; i < c->ndel; i++) {
        ss_member *m = &s->members[p->del[c->first_del + i]];
        free(m->name);
        m->name = NULL;                                /* compacted at the end */
    }
    for (int i = 0; i < c->nadd; i++) {
        const char *made = zbatch_created(c->b, c->ndel + i);
        const char *base = made ? strrchr(made, '/') : NULL;
        const srv_entry *e = &p->want->servers[p->add[c->first_add + i]];
        ss_member m = {.host = strdup(e->host), .port = e->port, .shard = p->add_shard[c->first_add + i]};
        if (!base || !m.host || add_member(s, base + 1, &m) != MCM_OK) {
            free(m.host);
            s->have_members = 0;                       /* re-read next time */
        }
    }
    return MCM_OK;
}

static void compact_members(state *s) {
    int j = 0;
    for (int i = 0; i < s->nmembers; i++) {
        if (s->members[i].name) s->members[j++] = s->members[i];
        else free(s->members[i].host);
    }
    s->nmembers = j;
}

/* Adds one op to the chunk, flushing first if it would not fit. */
static int next_chunk(state *s, plan *p, chunk *c, size_t opbytes, int *conflict, char *err, size_t errlen) {
    if (c->b && zbatch_count(c->b) > 0 && zbatch_bytes(c->b) + opbytes > STATE_PACKET_BUDGET) {
        int ret = flush(s, p, c, conflict, err, errlen);
        zbatch_free(c->b);
        c->b = NULL;
        if (ret != MCM_OK) return ret;
    }
    if (!c->b) {
        int first_del = c->first_del + c->ndel, first_add = c->first_add + c->nadd;
        *c = (chunk){.b = zbatch_new(), .first_del = first_del, .first_add = first_add};
        if (!c->b) return MCM_ERR;
    }
    return MCM_OK;
}

/* The document's ops: a set at the version we read, or, to recreate, a
 * delete at that version and a create, in the same multi. */
static int put_doc(state *s, plan *p, zbatch *b, const char *path, int *nops) {
    size_t len = strlen(p->doc);
    int ret = MCM_OK;
    *nops = 0;
    if (s->servers_exists && !p->recreate) {
        *nops = 1;
        return zbatch_set(b, path, p->doc, len, s->servers_stat);
    }
    if (s->servers_exists && (ret = zbatch_delete(b, path, s->servers_stat)) == MCM_OK) *nops = 1;
    if (ret == MCM_OK && (ret = zbatch_create(b, path, p->doc, len, zks_acl(s->z), 0)) == MCM_OK) ++*nops;
    return ret;
}

static int run_plan(state *s, plan *p, int *conflict, char *err, size_t errlen) {
    char dir[STATE_PATH_MAX], path[STATE_PATH_MAX + 256];
    chunk c = {0};
    int ret = MCM_OK;
    zks_path(s->z, "serverset", dir, sizeof(dir));
    for (int i = 0; ret == MCM_OK && i < p->ndel; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, s->members[p->del[i]].name);
        ret = next_chunk(s, p, &c, zbatch_op_bytes(path, 0, NULL), conflict, err, errlen);
        if (ret == MCM_OK && (ret = zbatch_delete(c.b, path, -1)) == MCM_OK) c.ndel++;
    }
    snprintf(path, sizeof(path), "%s/member_", dir);
    for (int i = 0; ret == MCM_OK && i < p->nadd; i++) {
        const srv_entry *e = &p->want->servers[p->add[i]];
        char *json = member_json(e->host, e->port, p->add_shard[i]);
        size_t len = json ? strlen(json) : 0;
        ret = json ? next_chunk(s, p, &c, zbatch_op_bytes(path, len, zks_acl(s->z)), conflict, err, errlen)
                   : MCM_ERR;
        if (ret == MCM_OK && (ret = zbatch_create(c.b, path, json, len, zks_acl(s->z), ZOO_SEQUENCE)) == MCM_OK)
            c.nadd++;
        free(json);
    }
    if (ret == MCM_OK && p->doc) {
        zks_path(s->z, "servers", path, sizeof(path));
        size_t len = strlen(p->doc);
        size_t opbytes = zbatch_op_bytes(path, len, zks_acl(s->z)) + zbatch_op_bytes(path, 0, NULL);
        if ((ret = next_chunk(s, p, &c, opbytes, conflict, err, errlen)) == MCM_OK)
            ret = put_doc(s, p, c.b, path, &c.doc_ops);
    }
    if (ret == MCM_OK && c.b && zbatch_count(c.b) > 0) ret = flush(s, p, &c, conflict, err, errlen);
    zbatch_free(c.b);
    if (ret == MCM_ERR && !err[0]) snprintf(err, errlen, "out of memory");
    return ret;
}

static void remember_doc(state *s, plan *p) {
    if (!p->doc) return;
    if (p->version > s->servers_high || p->recreate) s->servers_high = p->version;
    srvlist_free(s->servers);
    s->servers = p->want;
    p->want = NULL;
    s->servers_stat = s->servers_exists && !p->recreate ? s->servers_stat + 1 : 0;
    s->servers_exists = 1;
    s->servers_replace = 0;
}

static int publish_once(state *s, const srvlist *l, int64_t *published, int *conflict, char *err, size_t errlen) {
    plan p;
    if (!s->have_servers && load_servers(s, err, errlen) != MCM_OK) return MCM_ERR;
    if (!s->have_members && load_members(s, err, errlen) != MCM_OK) return MCM_ERR;
    if (plan_make(s, l, &p) != MCM_OK) {
        plan_clear(&p);
        snprintf(err, errlen, "out of memory");
        return MCM_ERR;
    }
    int ret = MCM_OK;
    size_t doclen = p.doc ? strlen(p.doc) : 0;
    if (doclen + 512 > STATE_PACKET_BUDGET) {                /* nothing written */
        snprintf(err, errlen, "the servers document for %d servers is %zu bytes, more than ZooKeeper "
                 "accepts in one request (jute.maxbuffer, 1 MiB; we keep under %d); not published",
                 p.want->n, doclen, STATE_PACKET_BUDGET);
        plan_clear(&p);
        return MCM_ERR;
    }
    if (p.doc || p.ndel || p.nadd) {
        err[0] = '\0';
        ret = run_plan(s, &p, conflict, err, errlen);
        if (s->have_members) compact_members(s);
        if (ret == MCM_OK) {
            remember_doc(s, &p);
            log_info("published %d servers as version %lld (%d serverset members added, %d removed)",
                     l->n, (long long)p.version, p.nadd, p.ndel);
        }
    }
    if (ret == MCM_OK && published) *published = p.version;
    plan_clear(&p);
    return ret;
}

int state_publish_servers(state *s, const srvlist *l, int64_t *published, char *err, size_t errlen) {
    if (!state_fence_current(s)) {
        snprintf(err, errlen, "fenced: not the leader");
        return STATE_FENCED;
    }
    int ret = MCM_ERR;
    for (int attempt = 0; attempt < 2; attempt++) {
        int conflict = 0;
        ret = publish_once(s, l, published, &conflict, err, errlen);
        if (ret != MCM_ERR || !conflict) break;
        log_info("servers znode changed under our cache (%s); re-reading", err);
    }
    return ret;
}

void state_servers_refresh(state *s) { s->have_servers = 0; }

srvlist *state_read_servers(state *s, char *err, size_t errlen) {
    char path[STATE_PATH_MAX], *data = NULL;
    int len = 0;
    if (state_connected(s, err, errlen) != MCM_OK) return NULL;
    zks_path(s->z, "servers", path, sizeof(path));
    int rc = zks_get(s->z, path, STATE_DOC_MAX, &data, &len, NULL);
    if (rc != ZOK) {
        if (rc == ZKS_TOO_LARGE) snprintf(err, errlen, "%s: %d bytes, more than %d", path, len, STATE_DOC_MAX);
        else snprintf(err, errlen, "read %s: %s", path, zks_strerror(rc));
        return NULL;
    }
    char why[256];
    srvlist *l = srvlist_from_json(data, (size_t)len, why, sizeof(why));
    if (!l) snprintf(err, errlen, "%s: %s", path, why);
    else if (l->version > STATE_VERSION_MAX) {
        snprintf(err, errlen, "%s: version %lld out of range (at most %lld)", path, (long long)l->version,
                 STATE_VERSION_MAX);
        srvlist_free(l);
        l = NULL;
    }
    free(data);
    return l;
}
