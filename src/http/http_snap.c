/* http_snap.c -- the snapshots the scheduler core publishes into the server.
 *
 * Shape: each setter builds its new value (copies, encodes the server list
 * and wraps it in a ready MHD response) WITHOUT the lock, then swaps pointers
 * under h->mu and frees the old value after unlocking. So the core holds the
 * lock for a few pointer moves and an HTTP thread never sees half a value.
 * The cached server-list response is shared by every GET: MHD reference-counts
 * responses, and readers queue it while holding h->mu, so replacing it here
 * (MHD_destroy_response drops our reference) never frees it under a reader.
 *
 * Threads: setters from any thread (normally the scheduler core); readers are
 * MHD connection threads. Invariant: readers see srv_version only as the core
 * published it; it normally grows, but restarts lower after a ZooKeeper data
 * loss, which is why long polls treat ANY difference as news (http_read.c);
 * every setter broadcasts h->cond only for the server list, the one thing
 * long polls wait on. */
#include "http_int.h"
#include "mcm.h"

#define LOG_COMPONENT "http"
#include "log.h"

#include "util.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *http_snap_strdup(http_server *h, char *const *field) {
    pthread_mutex_lock(&h->mu);
    char *copy = *field ? strdup(*field) : NULL;
    pthread_mutex_unlock(&h->mu);
    return copy;
}

static struct MHD_Response *servers_response(const srvlist *l) {
    char *json = srvlist_to_json(l);
    if (!json) return NULL;
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(json), json, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(json);
        return NULL;
    }
    char etag[32];
    snprintf(etag, sizeof(etag), "\"%" PRId64 "\"", l->version);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    return resp;
}

/* The 304 for clients that hold this version: built once per list, like the
 * 200, so the commonest answer of all costs no allocation per request. */
static struct MHD_Response *not_modified_response(int64_t version) {
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
    if (!resp) return NULL;
    char etag[32];
    snprintf(etag, sizeof(etag), "\"%" PRId64 "\"", version);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
    return resp;
}

int http_set_servers(http_server *h, const srvlist *l) {
    if (!h || !l) return MCM_ERR;
    struct MHD_Response *resp = servers_response(l), *nm = not_modified_response(l->version);
    if (!resp || !nm) {
        if (resp) MHD_destroy_response(resp);
        if (nm) MHD_destroy_response(nm);
        return MCM_ERR;
    }
    pthread_mutex_lock(&h->mu);
    struct MHD_Response *old = h->srv_resp, *old_nm = h->srv_304;
    h->srv_resp = resp;
    h->srv_304 = nm;
    h->srv_version = l->version;
    h->srv_count = (size_t)l->n;
    h->srv_loaded = 1;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->mu);
    if (old) MHD_destroy_response(old);
    if (old_nm) MHD_destroy_response(old_nm);
    return MCM_OK;
}

/* Swaps *field for a copy of value (NULL allowed); frees the old one unlocked. */
static int swap_str(http_server *h, char **field, const char *value) {
    char *copy = value ? strdup(value) : NULL;
    if (value && !copy) return MCM_ERR;
    pthread_mutex_lock(&h->mu);
    char *old = *field;
    *field = copy;
    pthread_mutex_unlock(&h->mu);
    free(old);
    return MCM_OK;
}

int http_set_leader(http_server *h, int self, const char *url, const char *identity_json) {
    if (!h) return MCM_ERR;
    char *url_copy = url ? strdup(url) : NULL;
    char *json = NULL;
    if (identity_json) json = strdup(identity_json);
    else if (url) {
        json_t *doc = json_pack("{s:s}", "url", url);
        json = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
        json_decref(doc);
    }
    if ((url && !url_copy) || ((identity_json || url) && !json)) {
        free(url_copy);
        free(json);
        return MCM_ERR;
    }
    pthread_mutex_lock(&h->mu);
    char *old_url = h->leader_url, *old_json = h->leader_json;
    h->leader_url = url_copy;
    h->leader_json = json;
    h->self_leader = self ? 1 : 0;
    pthread_mutex_unlock(&h->mu);
    free(old_url);
    free(old_json);
    return MCM_OK;
}

int http_set_tasks_json(http_server *h, const char *json) {
    if (!h || swap_str(h, &h->tasks_json, json) != MCM_OK) return MCM_ERR;
    http_view_current(h, HTTP_VIEW_TASKS);
    return MCM_OK;
}

/* --- on-demand views ------------------------------------------------------------- */

int64_t http_asked_ms(http_server *h, http_view v) {
    return h && (unsigned)v < HTTP_VIEW_COUNT ? atomic_load(&h->demand[v].asked_ms) : 0;
}

void http_view_current(http_server *h, http_view v) {
    if (!h || (unsigned)v >= HTTP_VIEW_COUNT) return;
    pthread_mutex_lock(&h->mu);
    h->demand[v].set_ms = util_now_ms();
    pthread_cond_broadcast(&h->cond);   /* a request waiting for a fresh one (http_demand_wait) */
    pthread_mutex_unlock(&h->mu);
}

void http_demand_wait(http_server *h, http_view v) {
    http_demand *d = &h->demand[v];
    int64_t now = util_now_ms(), end = now + HTTP_DEMAND_WAIT_MS;
    atomic_store(&d->asked_ms, now);
    pthread_mutex_lock(&h->mu);
    int64_t set = d->set_ms;
    if (now - set > HTTP_FRESH_MS) {
        for (int64_t left; !h->stopping && d->set_ms == set && (left = end - util_now_ms()) > 0;) {
            struct timespec dl = http_deadline_in(left);
            pthread_cond_timedwait(&h->cond, &h->mu, &dl);
        }
    }
    pthread_mutex_unlock(&h->mu);
}

int http_set_status_json(http_server *h, const char *json) {
    if (!h || !json) return MCM_ERR;
    json_t *doc = json_loads(json, 0, NULL);
    if (!json_is_object(doc)) {
        json_decref(doc);
        log_error("status JSON is not an object: not published");
        return MCM_ERR;
    }
    const char *fid = json_string_value(json_object_get(doc, "framework_id"));
    char *fid_copy = fid && *fid ? strdup(fid) : NULL;
    json_decref(doc);
    if (swap_str(h, &h->status_json, json) != MCM_OK) {
        free(fid_copy);
        return MCM_ERR;
    }
    pthread_mutex_lock(&h->mu);
    char *old = h->framework_id;
    h->framework_id = fid_copy;
    pthread_mutex_unlock(&h->mu);
    free(old);
    return MCM_OK;
}

void http_set_zk_connected(http_server *h, int connected) {
    if (!h) return;
    pthread_mutex_lock(&h->mu);
    h->zk_connected = connected ? 1 : 0;
    pthread_mutex_unlock(&h->mu);
}

void http_snap_free(http_server *h) {
    if (h->srv_resp) MHD_destroy_response(h->srv_resp);
    h->srv_resp = NULL;
    if (h->srv_304) MHD_destroy_response(h->srv_304);
    h->srv_304 = NULL;
    free(h->leader_url);
    free(h->leader_json);
    free(h->tasks_json);
    free(h->status_json);
    free(h->framework_id);
    http_view_free(h);
}

int http_core_stale(http_server *h, int64_t *idle_ms) {
    pthread_mutex_lock(&h->mu);
    const _Atomic int64_t *loop = h->core_loop_ms;
    int64_t limit = h->core_loop_limit_ms;
    pthread_mutex_unlock(&h->mu);
    if (!loop) return 0;
    int64_t idle = util_now_ms() - atomic_load(loop);
    if (idle_ms) *idle_ms = idle;
    return idle >= limit;
}

static int leadership_gate(void *ctx) { return !http_core_stale(ctx, NULL); }

/* The leadership metrics claim what /v1/status claims: nothing while the
 * core may have been stopped (a scrape right after SIGCONT). */
void http_set_liveness(http_server *h, const _Atomic int64_t *core_loop_ms, int64_t limit_ms) {
    pthread_mutex_lock(&h->mu);
    h->core_loop_ms = core_loop_ms;
    h->core_loop_limit_ms = limit_ms;
    pthread_mutex_unlock(&h->mu);
    metrics_family_gate(metrics_find(h->m, "mcm_is_leader"), leadership_gate, h);
    metrics_family_gate(metrics_find(h->m, "mcm_leader_state"), leadership_gate, h);
}
