/* ctl_status.c -- `mcmctl status`: the installation at a glance.
 *
 * What: the leader (GET /v1/leader), then every known replica's GET
 * /v1/status and /readyz (role, leadership state, ZooKeeper session, Mesos
 * subscription, uptime), and from the leader's status the framework ID,
 * desired and running counts, the server-list version and the ring
 * transition under way ("transition" with a phase other than "idle"; every
 * field it carries is printed). Text or --json.
 * Exit status: 0 when a leader is known; 1 when none is (printed anyway,
 * with "leader unknown" on stderr) or no replica answered.
 * Thread: main. */
#include "ctl.h"
#include "mcm.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const from_name[] = {[CTL_FROM_FLAG] = "--url", [CTL_FROM_ZK] = "zookeeper",
                                        [CTL_FROM_LEADER] = "leader"};

/* {"url","from","reachable","ready","status"|"error"} for replica i. */
static json_t *replica_json(ctl *c, int i) {
    char err[CTL_ERR_MAX];
    ctl_resp r;
    json_t *o = json_pack("{s:s, s:s}", "url", c->rep[i].url, "from", from_name[c->rep[i].from]);
    if (ctl_get_at(c, i, "/v1/status", &r, err, sizeof(err)) != MCM_OK) {
        json_object_set_new(o, "reachable", json_false());
        json_object_set_new(o, "error", json_string(err));
        return o;
    }
    json_t *st = r.status == 200 ? ctl_resp_json(&r) : NULL;
    ctl_resp_clear(&r);
    json_object_set_new(o, "reachable", json_true());
    json_object_set_new(o, "status", st ? st : json_null());
    int ready = ctl_get_at(c, i, "/readyz", &r, err, sizeof(err)) == MCM_OK && r.status == 200;
    ctl_resp_clear(&r);
    json_object_set_new(o, "ready", json_boolean(ready));
    return o;
}

static json_t *leader_status(json_t *replicas, const char *leader) {
    json_t *r;
    size_t i;
    json_array_foreach(replicas, i, r) {
        const char *u = json_string_value(json_object_get(r, "url"));
        if (leader && u && strcmp(u, leader) == 0) return json_object_get(r, "status");
    }
    return NULL;
}

static json_t *collect(ctl *c, char *lerr, size_t lerrlen) {
    char leader[CTL_URL_MAX];
    int have_leader = ctl_leader_url(c, leader, sizeof(leader), lerr, lerrlen) == MCM_OK;
    json_t *reps = json_array();
    for (int i = 0; i < c->nrep; i++) json_array_append_new(reps, replica_json(c, i));
    json_t *doc = json_pack("{s:s?, s:o}", "leader", have_leader ? leader : NULL, "replicas", reps);
    json_t *ls = leader_status(reps, have_leader ? leader : NULL);
    static const char *const copied[] = {"framework_id", "desired", "running", "tasks", "servers_version",
                                         "mesos", "transition"};
    for (size_t k = 0; ls && k < MCM_ARRAY_LEN(copied); k++)
        if (json_object_get(ls, copied[k])) json_object_set(doc, copied[k], json_object_get(ls, copied[k]));
    return doc;
}

static const char *str(json_t *o, const char *k, const char *dflt) {
    const char *s = json_string_value(json_object_get(o, k));
    return s && *s ? s : dflt;
}

static void uptime(json_t *st, char *buf, size_t len) {
    json_t *u = json_object_get(st, "uptime_s");
    if (!json_is_integer(u)) snprintf(buf, len, "-");
    else parse_format_duration(json_integer_value(u) * 1000, buf, len);
}

static void print_replicas(json_t *reps) {
    static const char *const head[] = {"REPLICA", "ROLE", "STATE", "ZOOKEEPER", "MESOS", "READY", "UPTIME", "FOUND BY"};
    ctl_table *t = ctl_table_new(8, head, NULL);
    json_t *r;
    size_t i;
    json_array_foreach(reps, i, r) {
        json_t *st = json_object_get(r, "status");
        char up[32];
        uptime(st, up, sizeof(up));
        int reach = json_is_true(json_object_get(r, "reachable"));
        json_t *zk = json_object_get(st, "zookeeper"), *ms = json_object_get(st, "mesos");
        const char *cells[] = {
            str(r, "url", "?"), reach ? str(st, "role", "?") : "UNREACHABLE", reach ? str(st, "leader_state", "-") : "-",
            !zk ? "-" : json_is_true(json_object_get(zk, "connected")) ? "connected" : "DISCONNECTED",
            !ms ? "-" : json_is_true(json_object_get(ms, "subscribed")) ? "subscribed" : "-",
            !reach ? "-" : json_is_true(json_object_get(r, "ready")) ? "yes" : "NO", up, str(r, "from", "?")};
        ctl_table_add(t, cells);
    }
    ctl_table_print(t);
    ctl_table_free(t);
    json_array_foreach(reps, i, r)
        if (json_object_get(r, "error")) printf("  %s\n", str(r, "error", ""));
}

/* The ring transition: "none" when absent or idle, else its fields. */
static void print_transition(json_t *tr) {
    const char *phase = json_string_value(json_object_get(tr, "phase"));
    if (!json_is_object(tr) || (phase && strcmp(phase, "idle") == 0)) {
        printf("%-12s none%s\n", "transition",
               json_is_false(json_object_get(tr, "warm")) ? " (warm transitions off)" : "");
        return;
    }
    json_t *total = json_object_get(tr, "keys_total");
    if (json_is_integer(total)) {
        json_int_t t = json_integer_value(total), k = json_integer_value(json_object_get(tr, "keys_copied"));
        json_int_t eta = json_integer_value(json_object_get(tr, "eta_ms"));
        char e[32] = "?";
        if (eta >= 0) parse_format_duration(eta, e, sizeof(e));
        printf("%-12s %s, %lld -> %lld servers, %lld of %lld keys copied (%.0f%%), ETA %s\n", "transition", phase,
               (long long)json_integer_value(json_object_get(tr, "from")), (long long)json_integer_value(json_object_get(tr, "to")),
               (long long)k, (long long)t, t > 0 ? 100.0 * (double)k / (double)t : 0.0, e);
        return;
    }
    printf("%-12s", "transition");
    const char *k;
    json_t *v;
    json_object_foreach(tr, k, v) {
        char *s = json_is_string(v) ? strdup(json_string_value(v)) : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        printf(" %s=%s", k, s ? s : "?");
        free(s);
    }
    printf("\n");
}

static void print_text(json_t *doc) {
    json_t *ms = json_object_get(doc, "mesos");
    printf("%-12s %s\n", "leader", str(doc, "leader", "UNKNOWN"));
    printf("%-12s %s\n", "framework", str(doc, "framework_id", "-"));
    if (json_object_get(doc, "desired"))
        printf("%-12s %lld desired, %lld running, %lld tasks, list version %lld\n", "servers",
               (long long)json_integer_value(json_object_get(doc, "desired")),
               (long long)json_integer_value(json_object_get(doc, "running")),
               (long long)json_integer_value(json_object_get(doc, "tasks")),
               (long long)json_integer_value(json_object_get(doc, "servers_version")));
    if (ms)
        printf("%-12s %s %s%s%s\n", "mesos", json_is_true(json_object_get(ms, "subscribed")) ? "subscribed to" : "NOT subscribed to",
               str(ms, "master", "?"), str(ms, "last_error", NULL) ? ": " : "", str(ms, "last_error", ""));
    print_transition(json_object_get(doc, "transition"));
    printf("\n");
    print_replicas(json_object_get(doc, "replicas"));
}

int ctl_cmd_status(ctl *c, int argc, char **argv) {
    if (argc > 1) {
        ctl_fail("status takes no arguments (see mcmctl --help)");
        return CTL_EXIT_USAGE;
    }
    char lerr[CTL_ERR_MAX];
    json_t *doc = collect(c, lerr, sizeof(lerr));
    int reached = 0;
    json_t *r;
    size_t i;
    json_array_foreach(json_object_get(doc, "replicas"), i, r) reached |= json_is_true(json_object_get(r, "reachable"));
    if (c->json) {
        char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (s) printf("%s\n", s);
        free(s);
    } else if (reached) {
        print_text(doc);
    }
    int have_leader = json_is_string(json_object_get(doc, "leader"));
    json_decref(doc);
    if (!have_leader) ctl_fail("%s", lerr);
    return have_leader ? CTL_EXIT_OK : CTL_EXIT_FAILED;
}
