/* http_ops.c -- the operator calls: POST /v1/scale, /v1/tasks/<id>/restart,
 * /v1/teardown.
 *
 * Shape: every call goes through the same gate, in this order: operator calls
 * enabled (token file or --admin-insecure) -> 403; bearer token (constant-time
 * compare) -> 401; this replica leads -> else 307 to the leader (Redis-style
 * code word NOT_LEADER plus the leader's URL) or 503 NO_LEADER; then the body
 * is validated and the scheduler's hook runs on this connection thread (it
 * posts to the core and waits with its own timeout). Each outcome, refusals
 * included, is logged at NOTICE with the peer address.
 *
 * Threads: MHD connection threads. Invariants: no hook runs unless the gate
 * passed and the body validated; the token is never logged or echoed. */
#include "http_int.h"
#include "mcm.h"

#define LOG_COMPONENT "http"
#include "log.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct op {
    const char *what;          /* "scale to 5", for the log */
    char peer[80];
    char what_buf[320];
} op;

static void op_log(const op *o, unsigned status, const char *code) {
    log_notice("operator call %s from %s: %u %s", o->what_buf, o->peer, status, code);
}

static enum MHD_Result op_error(http_server *h, struct MHD_Connection *c, http_req *r, const op *o,
                                unsigned status, const char *code, const char *hname, const char *hval,
                                const char *msg) {
    op_log(o, status, code);
    return http_reply_error(h, c, r, status, code, hname, hval, "%s", msg);
}

/* 1 if `auth` is "Bearer <token>" with the configured token; constant time in
 * the supplied token's content (the configured length may leak, nothing else). */
static int token_ok(const http_server *h, const char *auth) {
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) return 0;
    const char *t = auth + 7;
    while (*t == ' ') t++;
    size_t n = strlen(t);
    unsigned diff = n != h->token_len;
    for (size_t i = 0; i < h->token_len; i++)
        diff |= (unsigned)((unsigned char)h->token[i] ^ (unsigned char)(n ? t[i % n] : 0));
    return diff == 0;
}

/* 307 to the leader (same path) or 503 when none is known. */
static enum MHD_Result not_leader(http_server *h, struct MHD_Connection *c, http_req *r, const op *o) {
    char *url = http_snap_strdup(h, &h->leader_url);
    if (!url)
        return op_error(h, c, r, o, 503, "NO_LEADER", NULL, NULL, "no leader is known; retry shortly");
    size_t loclen = strlen(url) + strlen(r->url) + 1;
    char *loc = malloc(loclen);
    json_t *doc = json_pack("{s:s, s:s, s:s}", "error", "NOT_LEADER", "leader", url, "message",
                            "this replica is a follower; send the call to the leader");
    char *body = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    struct MHD_Response *resp = body && loc ? MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE) : NULL;
    if (!resp) free(body);
    if (resp && loc) {
        snprintf(loc, loclen, "%s%s", url, r->url);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, loc);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    }
    op_log(o, 307, "NOT_LEADER");
    free(loc);
    free(url);
    return http_queue(h, c, r, 307, resp);
}

/* 1 if the call may go on; otherwise it has been answered and *rc is set. */
static int gate(http_server *h, struct MHD_Connection *c, http_req *r, op *o, enum MHD_Result *rc) {
    http_peer(c, o->peer, sizeof(o->peer));
    if (!h->token && !h->cfg.admin_insecure) {
        *rc = op_error(h, c, r, o, 403, "ADMIN_DISABLED", NULL, NULL,
                       "operator calls are disabled: start the scheduler with --admin-token-file");
        return 0;
    }
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (h->token && !token_ok(h, auth)) {
        *rc = op_error(h, c, r, o, 401, "UNAUTHORIZED", MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                       "Bearer realm=\"mcm\"", auth ? "wrong bearer token" : "missing Authorization: Bearer <token>");
        return 0;
    }
    pthread_mutex_lock(&h->mu);
    int self = h->self_leader;
    pthread_mutex_unlock(&h->mu);
    if (!self) {
        *rc = not_leader(h, c, r, o);
        return 0;
    }
    return 1;
}

/* Maps a hook's answer to the reply. */
static enum MHD_Result hook_reply(http_server *h, struct MHD_Connection *c, http_req *r, const op *o,
                                  http_hook_result res, const char *msg) {
    static const struct { unsigned status; const char *code; const char *dflt; } map[] = {
        [HTTP_HOOK_OK] = {200, "OK", "done"},
        [HTTP_HOOK_ACCEPTED] = {202, "ACCEPTED", "accepted"},
        [HTTP_HOOK_NOT_FOUND] = {404, "NOT_FOUND", "no such task"},
        [HTTP_HOOK_CONFLICT] = {409, "CONFLICT", "not possible in the current state"},
        [HTTP_HOOK_INVALID] = {422, "INVALID", "refused"},
        [HTTP_HOOK_NOT_LEADER] = {307, "NOT_LEADER", ""},
        [HTTP_HOOK_TIMEOUT] = {503, "TIMEOUT", "the scheduler core did not answer in time; retry"},
        [HTTP_HOOK_ERROR] = {500, "INTERNAL", "internal error"},
    };
    if ((unsigned)res >= MCM_ARRAY_LEN(map)) res = HTTP_HOOK_ERROR;
    if (res == HTTP_HOOK_NOT_LEADER) return not_leader(h, c, r, o);
    const char *text = msg && *msg ? msg : map[res].dflt;
    unsigned status = map[res].status;
    if (status >= 300)
        return op_error(h, c, r, o, status, map[res].code, res == HTTP_HOOK_TIMEOUT ? MHD_HTTP_HEADER_RETRY_AFTER : NULL,
                        "1", text);
    op_log(o, status, map[res].code);
    json_t *doc = json_pack("{s:s, s:s}", "result", res == HTTP_HOOK_OK ? "ok" : "accepted", "message", text);
    char *body = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    return http_reply_body(h, c, r, status, body, NULL);
}

/* Parses the body as a JSON object; NULL after answering 400. */
static json_t *body_object(http_server *h, struct MHD_Connection *c, http_req *r, const op *o,
                           enum MHD_Result *rc) {
    json_error_t je;
    json_t *doc = json_loadb(r->body ? r->body : "", r->len, JSON_REJECT_DUPLICATES, &je);
    char msg[256];
    if (!doc) snprintf(msg, sizeof(msg), "malformed JSON at line %d column %d: %s", je.line, je.column, je.text);
    else if (!json_is_object(doc)) snprintf(msg, sizeof(msg), "the body must be a JSON object");
    else return doc;
    json_decref(doc);
    *rc = op_error(h, c, r, o, 400, "MALFORMED_JSON", NULL, NULL, msg);
    return NULL;
}

/* --- the three calls ---------------------------------------------------------------- */

enum MHD_Result http_post_scale(http_server *h, struct MHD_Connection *c, http_req *r) {
    op o = {0};
    snprintf(o.what_buf, sizeof(o.what_buf), "scale");
    enum MHD_Result rc;
    if (!gate(h, c, r, &o, &rc)) return rc;
    json_t *doc = body_object(h, c, r, &o, &rc);
    if (!doc) return rc;
    json_t *n = json_object_get(doc, "instances");
    int is_int = json_is_integer(n);
    json_int_t v = json_integer_value(n);
    json_decref(doc);
    char msg[160];
    if (!n) return op_error(h, c, r, &o, 400, "MISSING_FIELD", NULL, NULL, "instances is required");
    if (!is_int) return op_error(h, c, r, &o, 400, "BAD_INSTANCES", NULL, NULL, "instances must be an integer");
    if (v < h->cfg.scale_min || v > h->cfg.scale_max) {
        snprintf(msg, sizeof(msg), "instances must be between %d and %d", h->cfg.scale_min, h->cfg.scale_max);
        return op_error(h, c, r, &o, 422, "OUT_OF_RANGE", NULL, NULL, msg);
    }
    snprintf(o.what_buf, sizeof(o.what_buf), "scale to %d", (int)v);
    if (!h->hooks.scale) return op_error(h, c, r, &o, 501, "NOT_IMPLEMENTED", NULL, NULL, "scale is not available");
    char hmsg[256] = "";
    http_hook_result res = h->hooks.scale(h->hooks.ctx, (int)v, hmsg, sizeof(hmsg));
    return hook_reply(h, c, r, &o, res, hmsg);
}

static int valid_task_id(const char *s, size_t n) {
    if (n == 0 || n > HTTP_TASK_ID_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("._:-", s[i])) return 0;
    return 1;
}

enum MHD_Result http_post_restart(http_server *h, struct MHD_Connection *c, http_req *r) {
    static const char pre[] = "/v1/tasks/", suf[] = "/restart";
    const char *id = r->url + sizeof(pre) - 1;
    size_t n = strlen(id) - (sizeof(suf) - 1);     /* route_match guarantees the shape */
    op o = {0};
    snprintf(o.what_buf, sizeof(o.what_buf), "restart task");
    enum MHD_Result rc;
    if (!gate(h, c, r, &o, &rc)) return rc;
    if (!valid_task_id(id, n))
        return op_error(h, c, r, &o, 400, "BAD_TASK_ID", NULL, NULL,
                        "task id must be 1-255 characters of A-Z a-z 0-9 . _ : -");
    char task[HTTP_TASK_ID_MAX + 1];
    memcpy(task, id, n);
    task[n] = 0;
    snprintf(o.what_buf, sizeof(o.what_buf), "restart task %s", task);
    if (!h->hooks.restart) return op_error(h, c, r, &o, 501, "NOT_IMPLEMENTED", NULL, NULL, "restart is not available");
    char hmsg[256] = "";
    http_hook_result res = h->hooks.restart(h->hooks.ctx, task, hmsg, sizeof(hmsg));
    return hook_reply(h, c, r, &o, res, hmsg);
}

enum MHD_Result http_post_teardown(http_server *h, struct MHD_Connection *c, http_req *r) {
    op o = {0};
    snprintf(o.what_buf, sizeof(o.what_buf), "teardown");
    enum MHD_Result rc;
    if (!gate(h, c, r, &o, &rc)) return rc;
    json_t *doc = body_object(h, c, r, &o, &rc);
    if (!doc) return rc;
    json_t *cj = json_object_get(doc, "confirm");
    char *confirm = json_is_string(cj) ? strdup(json_string_value(cj)) : NULL;
    int present = cj != NULL;
    json_decref(doc);
    char *fid = http_snap_strdup(h, &h->framework_id);
    if (!present) rc = op_error(h, c, r, &o, 400, "MISSING_FIELD", NULL, NULL, "confirm is required: {\"confirm\": \"<framework id>\"}");
    else if (!confirm) rc = op_error(h, c, r, &o, 400, "BAD_CONFIRM", NULL, NULL, "confirm must be the framework id string");
    else if (!fid) rc = op_error(h, c, r, &o, 409, "NO_FRAMEWORK_ID", NULL, NULL, "no framework id is known yet");
    else if (strcmp(confirm, fid) != 0)
        rc = op_error(h, c, r, &o, 422, "CONFIRM_MISMATCH", NULL, NULL, "confirm does not match the framework id (see /v1/status)");
    else if (!h->hooks.teardown) rc = op_error(h, c, r, &o, 501, "NOT_IMPLEMENTED", NULL, NULL, "teardown is not available");
    else {
        snprintf(o.what_buf, sizeof(o.what_buf), "teardown of framework %s", fid);
        char hmsg[256] = "";
        http_hook_result res = h->hooks.teardown(h->hooks.ctx, fid, hmsg, sizeof(hmsg));
        rc = hook_reply(h, c, r, &o, res, hmsg);
    }
    free(confirm);
    free(fid);
    return rc;
}
