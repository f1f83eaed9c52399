/* ctl_history.c -- `mcmctl history`: what autoscaling decided, and why not.
 *
 * Sources, as far as mcm exposes them today:
 *   - the decision list: ZooKeeper <root>/state/desired holds
 *     {"instances":N,"autoscale":<policy_history_json(): last_change_ms,
 *     pause_until_ms, decisions [{t,a,from,to,r,x}]>} (policy.h), the same
 *     history a new leader continues. It needs --zk here; the leader also
 *     serves its policy's copy at GET /v1/autoscale (the status page reads
 *     that), which this command does not use yet.
 *     Entries with a = "none" are ripe changes a gate held back ("blocked":
 *     cooldown, operator_pause, settling, ...); r = "operator" entries are
 *     POST /v1/scale calls.
 *   - the leader's counters, mcm_autoscale_decisions_total{action,reason}
 *     from GET /metrics: how many evaluations ended how, since that leader
 *     started.
 * Output: a table of decisions (oldest first) and the counter summary, or
 * --json {"desired", "autoscale", "counters"}. Exit 1 only when neither
 * source could be read.
 * Thread: main. */
#include "ctl.h"
#include "mcm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CTL_METRIC "mcm_autoscale_decisions_total{"

/* {"<action>/<reason>": count} from the Prometheus text (new reference). */
static json_t *parse_counters(const char *text) {
    json_t *o = json_object();
    for (const char *p = text; p && *p;) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        char line[512], action[64], reason[64];
        double v;
        snprintf(line, sizeof(line), "%.*s", (int)(n < sizeof(line) ? n : sizeof(line) - 1), p);
        if (strncmp(line, CTL_METRIC, strlen(CTL_METRIC)) == 0 &&
            sscanf(line + strlen(CTL_METRIC), "action=\"%63[^\"]\",reason=\"%63[^\"]\"} %lf", action, reason, &v) == 3) {
            char key[130];
            snprintf(key, sizeof(key), "%s/%s", action, reason);
            json_object_set_new(o, key, json_integer((json_int_t)v));
        }
        p = eol ? eol + 1 : NULL;
    }
    return o;
}

static json_t *leader_counters(ctl *c, char *err, size_t errlen) {
    char base[CTL_URL_MAX], url[CTL_URL_MAX + 16];
    if (ctl_leader_url(c, base, sizeof(base), err, errlen) != MCM_OK) return NULL;
    snprintf(url, sizeof(url), "%s/metrics", base);
    ctl_resp r;
    if (ctl_http("GET", url, NULL, NULL, c->request_ms, &r) != MCM_OK || r.status != 200) {
        snprintf(err, errlen, "GET %.300s: %.600s", url, r.status ? "not 200" : r.error);
        ctl_resp_clear(&r);
        return NULL;
    }
    json_t *o = parse_counters(r.body);
    ctl_resp_clear(&r);
    return o;
}

static json_t *stored_desired(ctl *c, char *err, size_t errlen) {
    if (!c->zk.hosts) {
        snprintf(err, errlen, "the decision list is stored in ZooKeeper (state/desired): give --zk to see it");
        return NULL;
    }
    char *data = ctl_zk_read(&c->zk, "state/desired", c->request_ms, err, errlen);
    json_t *doc = data ? json_loads(data, 0, NULL) : NULL;
    if (data && !json_is_object(doc)) snprintf(err, errlen, "state/desired is not a JSON object");
    free(data);
    return json_is_object(doc) ? doc : (json_decref(doc), NULL);
}

static void print_decisions(json_t *hist) {
    static const char *const head[] = {"TIME", "ACTION", "FROM", "TO", "REASON", "DETAIL"};
    static const int right[] = {0, 0, 1, 1, 0, 0};
    ctl_table *t = ctl_table_new(6, head, right);
    json_t *d;
    size_t i;
    json_array_foreach(json_object_get(hist, "decisions"), i, d) {
        char when[40], from[16], to[16];
        const char *a = json_string_value(json_object_get(d, "a"));
        const char *r = json_string_value(json_object_get(d, "r"));
        ctl_fmt_time(json_integer_value(json_object_get(d, "t")), when, sizeof(when));
        snprintf(from, sizeof(from), "%lld", (long long)json_integer_value(json_object_get(d, "from")));
        snprintf(to, sizeof(to), "%lld", (long long)json_integer_value(json_object_get(d, "to")));
        const char *action = a && strcmp(a, "none") == 0 ? "blocked" : r && strcmp(r, "operator") == 0 ? "operator" : a;
        const char *cells[] = {when, action ? action : "?", from, to, r ? r : "?",
                               json_string_value(json_object_get(d, "x"))};
        ctl_table_add(t, cells);
    }
    ctl_table_print(t);
    ctl_table_free(t);
}

static void print_times(json_t *hist) {
    char when[40];
    json_int_t last = json_integer_value(json_object_get(hist, "last_change_ms"));
    json_int_t pause = json_integer_value(json_object_get(hist, "pause_until_ms"));
    if (last > 0) ctl_fmt_time(last, when, sizeof(when));
    printf("%-16s %s\n", "last change", last > 0 ? when : "never");
    if (pause > 0) ctl_fmt_time(pause, when, sizeof(when));
    printf("%-16s %s%s\n", "operator pause", pause > 0 ? "until " : "", pause > 0 ? when : "none");
}

static void print_counters(json_t *cnt) {
    const char *k;
    json_t *v;
    printf("evaluations on the current leader, by outcome/reason:");
    json_object_foreach(cnt, k, v) printf(" %s=%lld", k, (long long)json_integer_value(v));
    printf("%s\n", json_object_size(cnt) ? "" : " none yet");
}

static void print_text(json_t *desired, json_t *cnt, const char *zerr, const char *lerr) {
    json_t *hist = json_object_get(desired, "autoscale");
    if (desired) {
        printf("%-16s %lld\n", "desired", (long long)json_integer_value(json_object_get(desired, "instances")));
        if (json_is_object(hist)) {
            print_times(hist);
            printf("\n");
            if (json_array_size(json_object_get(hist, "decisions"))) print_decisions(hist);
            else printf("no decisions recorded\n");
        } else {
            printf("no autoscaling history stored yet\n");
        }
    } else {
        printf("(%s)\n", zerr);
    }
    printf("\n");
    if (cnt) print_counters(cnt);
    else printf("(counters: %s)\n", lerr);
}

int ctl_cmd_history(ctl *c, int argc, char **argv) {
    char zerr[CTL_ERR_MAX] = "", lerr[CTL_ERR_MAX] = "";
    if (argc > 1) {
        ctl_fail("history takes no arguments (see mcmctl --help)");
        return CTL_EXIT_USAGE;
    }
    json_t *desired = stored_desired(c, zerr, sizeof(zerr));
    json_t *cnt = leader_counters(c, lerr, sizeof(lerr));
    if (!desired && !cnt) {
        ctl_fail("history: %s; %s", zerr, lerr);
        return CTL_EXIT_FAILED;
    }
    if (c->json) {
        json_t *doc = json_pack("{s:O?, s:O?, s:O?}", "desired", json_object_get(desired, "instances"), "autoscale",
                                json_object_get(desired, "autoscale"), "counters", cnt);
        char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (s) printf("%s\n", s);
        free(s);
        json_decref(doc);
    } else {
        print_text(desired, cnt, zerr, lerr);
    }
    json_decref(desired);
    json_decref(cnt);
    return CTL_EXIT_OK;
}
