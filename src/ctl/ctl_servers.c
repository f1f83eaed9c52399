/* ctl_servers.c -- `mcmctl servers`: one row per memcached server.
 *
 * What: the leader's task table (GET /v1/tasks: state, agent, memcached's
 * latest figures) joined with the published list (GET /v1/servers) by
 * host:port. Columns: host:port, task, agent, state, memory used / limit,
 * items, hit ratio, evictions/s, ring share. Rows sorted by host:port, then
 * task ID. --json prints the same rows as objects for scripts.
 *
 * Evictions/s: the figures carry memcached's cumulative eviction counter, so
 * a rate needs two reports of the same server. `servers` samples the task
 * table again (every CTL_RATE_POLL_MS, at most --rate-window) until every
 * server has sent a newer report; a server without one shows "-" (null in
 * JSON). --rate-window=0 skips the wait.
 * Ring share: the fraction of the hash space each published server owns on
 * mcm's ring (src/ring, libketama: what clients compute); servers not in the
 * published list have none.
 * Without a leader, the rows come from a follower's /v1/tasks (ZooKeeper's
 * task records: states, no figures), or from the published list alone.
 * Thread: main. */
#include "ctl.h"
#include "mcm.h"
#include "ring.h"
#include "srvlist.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CTL_RATE_POLL_MS 250
#define CTL_REPORT_NEWER_MS 100     /* a report time this much later is a new report */

json_t *ctl_servers_doc(ctl *c, char *err, size_t errlen) {
    return ctl_get_json(c, "/v1/servers", err, errlen);
}

int ctl_servers_count(json_t *doc) {
    return (int)json_array_size(json_object_get(doc, "servers"));
}

/* "host:port" of a task or list entry. */
static void name_of(json_t *o, char *buf, size_t len) {
    const char *h = json_string_value(json_object_get(o, "hostname"));
    if (!h) h = json_string_value(json_object_get(o, "host"));
    snprintf(buf, len, "%s:%lld", h ? h : "?", (long long)json_integer_value(json_object_get(o, "port")));
}

/* Wall-clock ms of a task's last report, 0 if it has none. */
static int64_t report_ms(json_t *task, int64_t fetched_ms) {
    json_t *f = json_object_get(task, "figures");
    return f ? fetched_ms - json_integer_value(json_object_get(f, "report_age_ms")) : 0;
}

static json_t *find_task(json_t *tasks, const char *id) {
    json_t *t;
    size_t i;
    json_array_foreach(tasks, i, t) {
        const char *tid = json_string_value(json_object_get(t, "task_id"));
        if (tid && strcmp(tid, id) == 0) return t;
    }
    return NULL;
}

/* The task document from the leader, else from any replica (NULL if none). */
static json_t *fetch_tasks(ctl *c, int *from_leader) {
    char err[CTL_ERR_MAX];
    json_t *doc = ctl_leader_json(c, "/v1/tasks", err, sizeof(err));
    *from_leader = doc != NULL;
    return doc ? doc : ctl_get_json(c, "/v1/tasks", err, sizeof(err));
}

/* Sets "evictions_per_s" on every task of first that has a newer report in a
 * later sample of the leader's task table. */
static void sample_rates(ctl *c, json_t *first, int64_t first_ms) {
    json_t *tasks = json_object_get(first, "tasks"), *t;
    size_t i;
    int64_t end = util_now_ms() + c->rate_ms;
    int pending = 1;
    while (pending && util_now_ms() < end) {
        util_sleep_ms(CTL_RATE_POLL_MS);
        int leader;
        json_t *next = fetch_tasks(c, &leader);
        int64_t now = util_wall_ms();
        pending = 0;
        json_array_foreach(tasks, i, t) {
            json_t *f1 = json_object_get(t, "figures");
            if (!f1 || json_object_get(t, "evictions_per_s")) continue;
            json_t *t2 = find_task(json_object_get(next, "tasks"), json_string_value(json_object_get(t, "task_id")));
            int64_t a = report_ms(t, first_ms), b = t2 ? report_ms(t2, now) : 0;
            if (!t2 || !json_object_get(t2, "figures") || b - a < CTL_REPORT_NEWER_MS) {
                pending = 1;
                continue;
            }
            double de = (double)(json_integer_value(json_object_get(json_object_get(t2, "figures"), "evictions")) -
                                 json_integer_value(json_object_get(f1, "evictions")));
            json_object_set_new(t, "evictions_per_s", json_real(de < 0 ? 0 : de * 1000.0 / (double)(b - a)));
        }
        json_decref(next);
    }
}

/* One row object for a task (t may be NULL) and/or a published entry. */
static json_t *row(json_t *t, json_t *entry, const ring *rg) {
    char name[RING_SERVER_MAX + 16];
    name_of(t ? t : entry, name, sizeof(name));
    json_t *f = json_object_get(t, "figures");
    json_t *o = json_pack("{s:s, s:O?, s:O?, s:s, s:b}", "server", name, "task_id",
                          json_object_get(t ? t : entry, "task_id"), "agent_id", json_object_get(t, "agent_id"),
                          "state", t ? json_string_value(json_object_get(t, "state")) : "published", "published",
                          entry != NULL);
    if (f) {
        json_object_set(o, "bytes", json_object_get(f, "bytes"));
        json_object_set(o, "limit_bytes", json_object_get(f, "limit_maxbytes"));
        json_object_set(o, "items", json_object_get(f, "total_items"));
        json_object_set(o, "hit_ratio", json_object_get(f, "hit_ratio"));
        json_object_set(o, "evictions", json_object_get(f, "evictions"));
        json_t *r = json_object_get(t, "evictions_per_s");
        json_object_set(o, "evictions_per_s", r ? r : json_null());
    }
    int k = entry && rg ? ring_find(rg, name) : -1;
    json_object_set_new(o, "ring_share", k >= 0 ? json_real(ring_share(rg, k)) : json_null());
    return o;
}

static int cmp_rows(const void *a, const void *b) {
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int d = strcmp(json_string_value(json_object_get(x, "server")), json_string_value(json_object_get(y, "server")));
    if (d) return d;
    const char *p = json_string_value(json_object_get(x, "task_id")), *q = json_string_value(json_object_get(y, "task_id"));
    return strcmp(p ? p : "", q ? q : "");
}

/* The published entry of a task (by task ID), NULL if not published. */
static json_t *entry_of(json_t *list, const char *id) {
    return id ? find_task(json_object_get(list, "servers"), id) : NULL;
}

static json_t *rows(json_t *list, json_t *tasks_doc, const ring *rg) {
    json_t *arr = json_array(), *t, *e;
    size_t i;
    json_array_foreach(json_object_get(tasks_doc, "tasks"), i, t)
        json_array_append_new(arr, row(t, entry_of(list, json_string_value(json_object_get(t, "task_id"))), rg));
    json_array_foreach(json_object_get(list, "servers"), i, e)
        if (!find_task(json_object_get(tasks_doc, "tasks"), json_string_value(json_object_get(e, "task_id"))))
            json_array_append_new(arr, row(NULL, e, rg));
    size_t n = json_array_size(arr);
    json_t **v = calloc(n ? n : 1, sizeof(*v));
    if (!v) return arr;                              /* out of memory: unsorted */
    for (i = 0; i < n; i++) v[i] = json_incref(json_array_get(arr, i));
    qsort(v, n, sizeof(*v), cmp_rows);
    json_array_clear(arr);
    for (i = 0; i < n; i++) json_array_append_new(arr, v[i]);
    free(v);
    return arr;
}

static void cell_pct(json_t *v, char *buf, size_t len) {
    if (json_is_number(v)) snprintf(buf, len, "%.1f%%", json_number_value(v) * 100.0);
    else snprintf(buf, len, "-");
}

static void print_rows(json_t *arr) {
    static const char *const head[] = {"SERVER", "TASK", "AGENT", "STATE", "MEMORY", "ITEMS", "HIT", "EVICT/S", "RING"};
    static const int right[] = {0, 0, 0, 0, 1, 1, 1, 1, 1};
    ctl_table *t = ctl_table_new(9, head, right);
    json_t *r;
    size_t i;
    json_array_foreach(arr, i, r) {
        char mem[64] = "-", used[24], lim[24], items[32] = "-", hit[16], ev[24] = "-", share[16];
        if (json_object_get(r, "bytes")) {
            ctl_fmt_bytes((double)json_integer_value(json_object_get(r, "bytes")), used, sizeof(used));
            ctl_fmt_bytes((double)json_integer_value(json_object_get(r, "limit_bytes")), lim, sizeof(lim));
            snprintf(mem, sizeof(mem), "%s / %s", used, lim);
            snprintf(items, sizeof(items), "%lld", (long long)json_integer_value(json_object_get(r, "items")));
        }
        cell_pct(json_object_get(r, "hit_ratio"), hit, sizeof(hit));
        if (json_is_number(json_object_get(r, "evictions_per_s")))
            snprintf(ev, sizeof(ev), "%.1f", json_number_value(json_object_get(r, "evictions_per_s")));
        cell_pct(json_object_get(r, "ring_share"), share, sizeof(share));
        const char *task = json_string_value(json_object_get(r, "task_id"));
        const char *agent = json_string_value(json_object_get(r, "agent_id"));
        const char *st = json_string_value(json_object_get(r, "state"));
        if (st && strncmp(st, "TASK_", 5) == 0) st += 5;
        const char *cells[] = {json_string_value(json_object_get(r, "server")), task ? task : "-",
                               agent && *agent ? agent : "-", st ? st : "-", mem, items, hit, ev, share};
        ctl_table_add(t, cells);
    }
    ctl_table_print(t);
    ctl_table_free(t);
}

int ctl_cmd_servers(ctl *c, int argc, char **argv) {
    char err[CTL_ERR_MAX];
    if (argc > 1) {
        ctl_fail("servers takes no arguments (see mcmctl --help)");
        return CTL_EXIT_USAGE;
    }
    json_t *list = ctl_servers_doc(c, err, sizeof(err));
    if (!list) {
        ctl_fail("%s", err);
        return CTL_EXIT_FAILED;
    }
    char *text = json_dumps(list, JSON_COMPACT);
    srvlist *sl = text ? srvlist_from_json(text, strlen(text), err, sizeof(err)) : NULL;
    ring *rg = sl ? ring_from_srvlist(sl, err, sizeof(err)) : NULL;
    int from_leader;
    json_t *tasks = fetch_tasks(c, &from_leader);
    if (tasks && from_leader && c->rate_ms > 0) sample_rates(c, tasks, util_wall_ms());
    json_t *arr = rows(list, tasks, rg);
    if (c->json) {
        json_t *doc = json_pack("{s:O, s:s, s:b, s:O}", "version", json_object_get(list, "version"), "ring", RING_NAME,
                                "figures", from_leader, "servers", arr);
        char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (s) printf("%s\n", s);
        free(s);
        json_decref(doc);
    } else {
        print_rows(arr);
        if (!from_leader) printf("(no leader answered: states from ZooKeeper, no memcached figures)\n");
    }
    json_decref(arr);
    json_decref(tasks);
    ring_free(rg);
    srvlist_free(sl);
    free(text);
    json_decref(list);
    return CTL_EXIT_OK;
}
