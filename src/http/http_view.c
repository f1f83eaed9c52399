/* http_view.c -- the status page's views: GET /v1/autoscale, /v1/history,
 * /v1/replicas, and the setters the core publishes them with.
 *
 * Shape: like http_snap.c, each view is a JSON string the core renders and
 * publishes whole; a setter checks its shape, copies it and swaps the
 * pointer under h->mu. Readers copy it under the lock and answer after
 * unlocking. /v1/history's ?task= and ?points= are applied to a parsed copy
 * per request (the document is bounded: RHIST_POINTS samples per server),
 * so the core renders one document for every client. It renders it only
 * while it is asked for (http_asked_ms): a request that finds it stale
 * waits up to HTTP_DEMAND_WAIT_MS for a new one (http_demand_wait).
 * Why strict queries: an operator's typo (?point=5) must not be answered as
 * if it had been understood, so a parameter these routes do not know is 400
 * BAD_QUERY naming it.
 * Threads: setters from any thread (the core); handlers on MHD pool threads.
 * Invariant: a published view always has the shape its setter checked. */
#include "http_int.h"
#include "mcm.h"
#include "parse.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- setters -------------------------------------------------------------------- */

/* Publishes json into *field if it is an object whose member `array` (NULL:
 * none needed) is an array. */
static int set_view(http_server *h, char **field, const char *json, const char *array) {
    if (!h || !json) return MCM_ERR;
    json_t *doc = json_loads(json, 0, NULL);
    int ok = json_is_object(doc) && (!array || json_is_array(json_object_get(doc, array)));
    json_decref(doc);
    char *copy = ok ? strdup(json) : NULL;
    if (!copy) return MCM_ERR;
    pthread_mutex_lock(&h->mu);
    char *old = *field;
    *field = copy;
    pthread_mutex_unlock(&h->mu);
    free(old);
    return MCM_OK;
}

int http_set_autoscale_json(http_server *h, const char *json) {
    return h ? set_view(h, &h->autoscale_json, json, NULL) : MCM_ERR;
}

int http_set_history_json(http_server *h, const char *json) {
    if (!h || set_view(h, &h->history_json, json, "servers") != MCM_OK) return MCM_ERR;
    http_view_current(h, HTTP_VIEW_HISTORY);
    return MCM_OK;
}

int http_set_replicas_json(http_server *h, const char *json) {
    return h ? set_view(h, &h->replicas_json, json, "replicas") : MCM_ERR;
}

void http_view_free(http_server *h) {
    free(h->autoscale_json);
    free(h->history_json);
    free(h->replicas_json);
    h->autoscale_json = h->history_json = h->replicas_json = NULL;
}

/* --- queries --------------------------------------------------------------------- */

typedef struct query_check {
    const char *const *known;       /* NULL-terminated */
    char bad[64];                   /* first unknown parameter, "" if none */
} query_check;

static enum MHD_Result check_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
    (void)kind;
    (void)value;
    query_check *q = cls;
    for (const char *const *k = q->known; *k; k++)
        if (strcmp(*k, key) == 0) return MHD_YES;
    snprintf(q->bad, sizeof(q->bad), "%s", key);
    return MHD_NO;
}

/* MCM_OK if every query parameter is in known; else the 400 is queued in *rc. */
static int known_query(http_server *h, struct MHD_Connection *c, http_req *r, const char *const *known,
                       enum MHD_Result *rc) {
    query_check q = {known, ""};
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, check_arg, &q);
    if (!q.bad[0]) return MCM_OK;
    *rc = http_reply_error(h, c, r, 400, "BAD_QUERY", NULL, NULL, "unknown query parameter '%s'%s", q.bad,
                           known[0] ? " (see http.h)" : ": this endpoint takes none");
    return MCM_ERR;
}

static enum MHD_Result get_view(http_server *h, struct MHD_Connection *c, http_req *r, char *const *field,
                                const char *what) {
    static const char *const none[] = {NULL};
    enum MHD_Result rc;
    if (known_query(h, c, r, none, &rc) != MCM_OK) return rc;
    char *json = http_snap_strdup(h, field);
    if (!json) return http_reply_error(h, c, r, 503, "NOT_LOADED", NULL, NULL, "no %s published yet", what);
    return http_reply_body(h, c, r, 200, json, NULL);
}

enum MHD_Result http_get_autoscale(http_server *h, struct MHD_Connection *c, http_req *r) {
    return get_view(h, c, r, &h->autoscale_json, "autoscaling view");
}

enum MHD_Result http_get_replicas(http_server *h, struct MHD_Connection *c, http_req *r) {
    return get_view(h, c, r, &h->replicas_json, "replica list");
}

/* --- GET /v1/history ------------------------------------------------------------- */

/* Keeps the servers matching task (NULL: all), each with its newest `points`
 * samples. Returns how many servers are left. */
static size_t filter_history(json_t *doc, const char *task, long long points) {
    json_t *list = json_object_get(doc, "servers");
    for (size_t i = json_array_size(list); i-- > 0;) {
        json_t *s = json_array_get(list, i);
        const char *id = json_string_value(json_object_get(s, "task_id"));
        if (task && (!id || strcmp(id, task) != 0)) {
            json_array_remove(list, i);
            continue;
        }
        json_t *samples = json_object_get(s, "samples");
        while (json_array_size(samples) > (size_t)points) json_array_remove(samples, 0);
    }
    return json_array_size(list);
}

enum MHD_Result http_get_history(http_server *h, struct MHD_Connection *c, http_req *r) {
    static const char *const known[] = {"task", "points", NULL};
    enum MHD_Result rc;
    char err[128];
    if (known_query(h, c, r, known, &rc) != MCM_OK) return rc;
    const char *task = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "task");
    const char *pts = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "points");
    int64_t points = HTTP_HISTORY_POINTS_MAX;
    if (pts && parse_int64(pts, 1, HTTP_HISTORY_POINTS_MAX, &points, err, sizeof(err)) != MCM_OK)
        return http_reply_error(h, c, r, 400, "BAD_POINTS", NULL, NULL, "points: %s", err);
    if (task && !task[0]) return http_reply_error(h, c, r, 400, "BAD_TASK", NULL, NULL, "task: empty");
    http_demand_wait(h, HTTP_VIEW_HISTORY);
    char *json = http_snap_strdup(h, &h->history_json);
    if (!json) return http_reply_error(h, c, r, 503, "NOT_LOADED", NULL, NULL, "no report history published yet");
    json_t *doc = json_loads(json, 0, NULL);
    free(json);
    if (!doc) return MHD_NO;
    size_t left = filter_history(doc, task, (long long)points);
    char *body = task && !left ? NULL : json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    if (task && !left)
        return http_reply_error(h, c, r, 404, "NOT_FOUND", NULL, NULL, "no report history for task '%.255s'", task);
    return http_reply_body(h, c, r, 200, body, NULL);
}
