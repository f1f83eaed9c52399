/* ctl_watch.c -- `mcmctl watch`: follow the published server list.
 *
 * What: GET /v1/servers once, print it, then long-poll
 * /v1/servers?wait=<--poll-wait>&version=<v> (README "HTTP API": the answer
 * comes as soon as the version differs from v, or 304 when the wait
 * passes) and print each change as the servers added and removed. A replica
 * that stops answering is left for the next one (ctl_get rotates); when none
 * answers, one line goes to stderr and the watch retries every
 * CTL_WATCH_RETRY_MS. --changes N exits 0 after N changes; otherwise it
 * runs until interrupted. --json prints each list as one compact line.
 * Thread: main. */
#include "ctl.h"
#include "mcm.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CTL_WATCH_RETRY_MS 1000
#define CTL_WATCH_SLACK_MS 10000   /* request timeout beyond the long poll's wait */

static int listed(json_t *list, json_t *e) {
    json_t *x;
    size_t i;
    json_array_foreach(json_object_get(list, "servers"), i, x)
        if (json_equal(json_object_get(x, "task_id"), json_object_get(e, "task_id")) &&
            json_equal(json_object_get(x, "host"), json_object_get(e, "host")) &&
            json_equal(json_object_get(x, "port"), json_object_get(e, "port")))
            return 1;
    return 0;
}

/* Prints "+"/"-" lines for the entries of a missing from b; returns how many. */
static int print_side(json_t *a, json_t *b, char sign, int quiet) {
    json_t *e;
    size_t i;
    int n = 0;
    json_array_foreach(json_object_get(a, "servers"), i, e) {
        if (b && listed(b, e)) continue;
        n++;
        if (!quiet)
            printf("  %c %s:%lld  %s\n", sign, json_string_value(json_object_get(e, "host")),
                   (long long)json_integer_value(json_object_get(e, "port")),
                   json_string_value(json_object_get(e, "task_id")));
    }
    return n;
}

static void print_change(ctl *c, json_t *old, json_t *now) {
    if (c->json) {
        char *s = json_dumps(now, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (s) printf("%s\n", s);
        free(s);
        fflush(stdout);
        return;
    }
    char when[40];
    ctl_fmt_time(util_wall_ms(), when, sizeof(when));
    int added = print_side(now, old, '+', 1), removed = old ? print_side(old, now, '-', 1) : 0;
    printf("%s  version %lld: %d servers (+%d -%d)\n", when, (long long)json_integer_value(json_object_get(now, "version")),
           ctl_servers_count(now), added, removed);
    print_side(now, old, '+', 0);
    if (old) print_side(old, now, '-', 0);
    fflush(stdout);
}

/* One GET (plain when version < 0, else a long poll). 200: *doc is the new
 * list; 304: *doc NULL, MCM_OK; MCM_ERR with err otherwise. */
static int poll_once(ctl *c, int64_t version, json_t **doc, char *err, size_t errlen) {
    char path[128], wait[32];
    *doc = NULL;
    parse_format_duration(c->poll_ms, wait, sizeof(wait));
    if (version < 0) snprintf(path, sizeof(path), "/v1/servers");
    else snprintf(path, sizeof(path), "/v1/servers?wait=%s&version=%" PRId64, wait, version);
    ctl_resp r;
    if (ctl_get(c, path, c->poll_ms + CTL_WATCH_SLACK_MS, &r, err, errlen) != MCM_OK) return MCM_ERR;
    int rc = MCM_OK;
    if (r.status == 200 && !(*doc = ctl_resp_json(&r))) rc = MCM_ERR;
    if (r.status != 200 && r.status != 304) rc = MCM_ERR;
    if (rc != MCM_OK) {
        char why[CTL_ERR_MAX];
        ctl_resp_reason(&r, why, sizeof(why));
        snprintf(err, errlen, "GET %.300s%.100s: %.600s", c->rep[c->current].url, path, why);
        c->current = (c->current + 1) % c->nrep;         /* try another replica next time */
    }
    ctl_resp_clear(&r);
    return rc;
}

int ctl_cmd_watch(ctl *c, int argc, char **argv) {
    char err[CTL_ERR_MAX];
    if (argc > 1) {
        ctl_fail("watch takes no arguments (see mcmctl --help)");
        return CTL_EXIT_USAGE;
    }
    json_t *last = NULL;
    int64_t changes = 0;
    int failing = 0;
    while (!c->changes || changes < c->changes) {
        json_t *doc;
        int64_t v = last ? json_integer_value(json_object_get(last, "version")) : -1;
        if (poll_once(c, v, &doc, err, sizeof(err)) != MCM_OK) {
            if (!failing) ctl_fail("watch: %s; retrying", err);
            failing = 1;
            util_sleep_ms(CTL_WATCH_RETRY_MS);
            continue;
        }
        if (failing) fprintf(stderr, "%s: watch: %s answers again\n", CTL_PROGRAM, c->rep[c->current].url);
        failing = 0;
        if (!doc) continue;                              /* 304: the wait passed, no change */
        print_change(c, last, doc);
        if (last) changes++;
        json_decref(last);
        last = doc;
    }
    json_decref(last);
    return CTL_EXIT_OK;
}
