/* ctl_ops.c -- the operator subcommands: scale, restart, teardown.
 *
 * Each sends one operator call (ctl_operator: the admin token, the 307 to
 * the leader) and then WAITS for its result, watching what clients see:
 *   scale N        the published list has N servers and the leader's
 *                  /v1/status counts N running (and N desired)
 *   restart TASK   TASK has left the published list and the list is as
 *                  long as before: the replacement is serving
 *   teardown       the published list is empty and nothing runs
 * polling every CTL_WAIT_POLL_MS until --timeout. On a terminal the
 * progress is one redrawn line with a bar; otherwise one plain line per
 * change. A warm ring transition under way (/v1/status "transition" with a
 * phase other than "idle": keys copied of keys_total, ETA) is shown too.
 * Exit status: 0 done; 1 refused, unreachable or timed out; 2 bad arguments.
 * Thread: main. */
#include "ctl.h"
#include "mcm.h"
#include "util.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CTL_WAIT_POLL_MS 500
#define CTL_INSTANCES_MAX 10000
#define CTL_CONFIRM_MAX 512

/* The call; prints the failure and returns CTL_EXIT_FAILED, or OK. */
static int call(ctl *c, const char *path, const char *body) {
    char err[CTL_ERR_MAX];
    ctl_resp r;
    long status;
    if (ctl_operator(c, path, body, &r, &status, err, sizeof(err)) != MCM_OK) {
        ctl_fail("%s", err);
        return CTL_EXIT_FAILED;
    }
    ctl_resp_clear(&r);
    return CTL_EXIT_OK;
}

/* What the wait looks at, once. */
typedef struct view {
    int listed;             /* servers in the published list, -1 unknown */
    int64_t version;
    int running, desired;   /* leader's status, -1 unknown */
    json_t *list;           /* the published list (owned) */
    json_t *transition;     /* leader's status "transition" (owned), NULL if none */
} view;

static void view_clear(view *v) {
    json_decref(v->list);
    json_decref(v->transition);
    memset(v, 0, sizeof(*v));
}

static void look(ctl *c, view *v) {
    char err[CTL_ERR_MAX];
    view_clear(v);
    v->listed = v->running = v->desired = -1;
    v->list = ctl_servers_doc(c, err, sizeof(err));
    if (v->list) {
        v->listed = ctl_servers_count(v->list);
        v->version = json_integer_value(json_object_get(v->list, "version"));
    }
    json_t *st = ctl_leader_json(c, "/v1/status", err, sizeof(err));
    if (st) {
        v->running = (int)json_integer_value(json_object_get(st, "running"));
        v->desired = (int)json_integer_value(json_object_get(st, "desired"));
        v->transition = json_incref(json_object_get(st, "transition"));
    }
    json_decref(st);
}

static int list_has(json_t *list, const char *task) {
    json_t *e;
    size_t i;
    json_array_foreach(json_object_get(list, "servers"), i, e) {
        const char *id = json_string_value(json_object_get(e, "task_id"));
        if (id && strcmp(id, task) == 0) return 1;
    }
    return 0;
}

static int clip_int(json_int_t v) {
    return v < 0 ? 0 : v > INT_MAX ? INT_MAX : (int)v;
}

/* A warm ring transition's progress after `prefix` (what the wait is
 * about), when the leader reports one under way (/v1/status "transition":
 * phase, keys_copied, keys_total, eta_ms); 0 if none is. */
static int show_transition(ctl *c, const char *prefix, const view *v, int64_t elapsed) {
    const char *phase = json_string_value(json_object_get(v->transition, "phase"));
    if (!phase || strcmp(phase, "idle") == 0) return 0;
    char what[600], eta[32] = "?";
    json_int_t e = json_integer_value(json_object_get(v->transition, "eta_ms"));
    if (e >= 0 && json_object_get(v->transition, "eta_ms")) parse_format_duration(e, eta, sizeof(eta));
    snprintf(what, sizeof(what), "%s; ring transition %s, ETA %s: keys copied", prefix, phase, eta);
    ctl_progress(c, what, clip_int(json_integer_value(json_object_get(v->transition, "keys_copied"))),
                 clip_int(json_integer_value(json_object_get(v->transition, "keys_total"))), elapsed);
    return 1;
}

/* --- scale ---------------------------------------------------------------------------- */

static int scale_done(const view *v, int n) {
    return v->listed == n && v->running == n && v->desired == n;
}

int ctl_cmd_scale(ctl *c, int argc, char **argv) {
    char err[256], body[64], what[96], dur[32];
    int64_t n;
    if (argc != 2 || parse_int64(argv[1], 0, CTL_INSTANCES_MAX, &n, err, sizeof(err)) != MCM_OK) {
        ctl_fail("scale needs one count N (0..%d)%s%s", CTL_INSTANCES_MAX, argc == 2 ? ": " : "", argc == 2 ? err : "");
        return CTL_EXIT_USAGE;
    }
    snprintf(body, sizeof(body), "{\"instances\":%lld}", (long long)n);
    if (call(c, "/v1/scale", body) != CTL_EXIT_OK) return CTL_EXIT_FAILED;
    snprintf(what, sizeof(what), "scale to %lld: servers %s", (long long)n, n ? "listed" : "still listed");
    view v = {0};
    int64_t start = util_now_ms();
    for (;;) {
        look(c, &v);
        int64_t el = util_now_ms() - start;
        char pre[160];
        snprintf(pre, sizeof(pre), "scale to %lld: %d listed", (long long)n, v.listed);
        if (!show_transition(c, pre, &v, el))      /* one line, the transition's bar while it runs */
            ctl_progress(c, what, v.listed < 0 ? 0 : v.listed, v.listed > n ? 0 : (int)n, el);   /* no bar down */
        if (scale_done(&v, (int)n) || el >= c->timeout_ms) break;
        util_sleep_ms(CTL_WAIT_POLL_MS);
    }
    ctl_progress_end(c);
    int ok = scale_done(&v, (int)n);
    parse_format_duration(util_now_ms() - start, dur, sizeof(dur));
    if (ok) printf("scaled to %lld servers in %s (list version %lld)\n", (long long)n, dur, (long long)v.version);
    else ctl_fail("scale to %lld: %d listed, %d running, %d desired after %s (--timeout)", (long long)n, v.listed,
                  v.running, v.desired, dur);
    view_clear(&v);
    return ok ? CTL_EXIT_OK : CTL_EXIT_FAILED;
}

/* --- restart --------------------------------------------------------------------------- */

/* The first task of `now` that `before` did not list, into buf ("" if none). */
static void newcomer(json_t *before, json_t *now, char *buf, size_t len) {
    json_t *e;
    size_t i;
    buf[0] = 0;
    json_array_foreach(json_object_get(now, "servers"), i, e) {
        const char *id = json_string_value(json_object_get(e, "task_id"));
        if (id && !list_has(before, id)) {
            snprintf(buf, len, "%s (%s:%lld)", id, json_string_value(json_object_get(e, "host")),
                     (long long)json_integer_value(json_object_get(e, "port")));
            return;
        }
    }
}

int ctl_cmd_restart(ctl *c, int argc, char **argv) {
    char err[CTL_ERR_MAX], path[600], what[400], dur[32], repl[600];
    if (argc != 2 || !argv[1][0] || strchr(argv[1], '/')) {
        ctl_fail("restart needs one task ID (see mcmctl servers)");
        return CTL_EXIT_USAGE;
    }
    const char *task = argv[1];
    json_t *before = ctl_servers_doc(c, err, sizeof(err));
    if (!before) {
        ctl_fail("%s", err);
        return CTL_EXIT_FAILED;
    }
    snprintf(path, sizeof(path), "/v1/tasks/%s/restart", task);
    if (call(c, path, NULL) != CTL_EXIT_OK) {
        json_decref(before);
        return CTL_EXIT_FAILED;
    }
    int want = ctl_servers_count(before) - list_has(before, task) + 1;   /* a restart keeps the count */
    snprintf(what, sizeof(what), "restart %s: waiting for the replacement", task);
    view v = {0};
    int64_t start = util_now_ms();
    int done = 0;
    while (!done) {
        look(c, &v);
        int64_t el = util_now_ms() - start;
        done = v.list && !list_has(v.list, task) && v.listed >= want;
        if (done || el >= c->timeout_ms) break;
        if (!show_transition(c, what, &v, el)) ctl_progress(c, what, 0, -1, el);
        util_sleep_ms(CTL_WAIT_POLL_MS);
    }
    ctl_progress_end(c);
    parse_format_duration(util_now_ms() - start, dur, sizeof(dur));
    if (done) {
        newcomer(before, v.list, repl, sizeof(repl));
        printf("restarted %s in %s: replaced by %s\n", task, dur, repl[0] ? repl : "a server already listed");
    } else {
        ctl_fail("restart %s: no replacement serving after %s (--timeout)", task, dur);
    }
    view_clear(&v);
    json_decref(before);
    return done ? CTL_EXIT_OK : CTL_EXIT_FAILED;
}

/* --- teardown --------------------------------------------------------------------------- */

/* 1 when the operator typed the framework ID (or gave --yes). */
static int confirmed(ctl *c, const char *fid) {
    if (c->yes) return 1;
    char line[CTL_CONFIRM_MAX] = "";
    fprintf(stderr, "This removes framework %s from Mesos and kills every memcached server.\n"
                    "Type the framework ID to confirm: ", fid);
    fflush(stderr);
    int got = fgets(line, sizeof(line), stdin) != NULL;
    if (!isatty(STDIN_FILENO)) fprintf(stderr, "\n");   /* nobody pressed Enter */
    if (!got) return 0;
    line[strcspn(line, "\r\n")] = 0;
    return strcmp(line, fid) == 0;
}

int ctl_cmd_teardown(ctl *c, int argc, char **argv) {
    char err[CTL_ERR_MAX], fid[CTL_CONFIRM_MAX], body[CTL_CONFIRM_MAX + 32], dur[32];
    if (argc != 1) {
        ctl_fail("teardown takes no arguments; it asks for the framework ID (or give --yes)");
        return CTL_EXIT_USAGE;
    }
    json_t *st = ctl_leader_json(c, "/v1/status", err, sizeof(err));
    const char *f = json_string_value(json_object_get(st, "framework_id"));
    if (!f || !*f) {
        ctl_fail("%s", st ? "the leader knows no framework ID: nothing to tear down" : err);
        json_decref(st);
        return CTL_EXIT_FAILED;
    }
    snprintf(fid, sizeof(fid), "%s", f);
    json_decref(st);
    if (!confirmed(c, fid)) {
        ctl_fail("teardown not confirmed (the framework ID did not match): nothing done");
        return CTL_EXIT_FAILED;
    }
    json_t *doc = json_pack("{s:s}", "confirm", fid);
    char *s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    snprintf(body, sizeof(body), "%s", s ? s : "{}");
    free(s);
    json_decref(doc);
    if (call(c, "/v1/teardown", body) != CTL_EXIT_OK) return CTL_EXIT_FAILED;
    view v = {0};
    int64_t start = util_now_ms();
    int done = 0;
    for (;;) {
        look(c, &v);
        int64_t el = util_now_ms() - start;
        done = v.listed == 0 && v.running <= 0;
        if (done || el >= c->timeout_ms) break;
        ctl_progress(c, "teardown: servers still listed", v.listed < 0 ? 0 : v.listed, 0, el);
        util_sleep_ms(CTL_WAIT_POLL_MS);
    }
    ctl_progress_end(c);
    parse_format_duration(util_now_ms() - start, dur, sizeof(dur));
    if (done) printf("framework %s torn down in %s: no server is listed or running\n", fid, dur);
    else ctl_fail("teardown of %s: %d servers still listed after %s (--timeout)", fid, v.listed, dur);
    view_clear(&v);
    return done ? CTL_EXIT_OK : CTL_EXIT_FAILED;
}
