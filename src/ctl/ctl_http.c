/* ctl_http.c -- one HTTP request for mcmctl (libcurl easy interface).
 *
 * What: a GET or POST to an absolute URL, the answer collected whole, the
 * Location header kept. libcurl never follows redirects here: whether a 307
 * is followed, and whether the admin token goes with it, is decided by
 * ctl_inst.c, which knows the installation's replicas.
 * Why this shape: mcmctl makes a handful of requests per run, so a fresh easy
 * handle per request is simpler than a shared one and costs nothing visible.
 * Header parsing, Location resolution and the global init are the Mesos
 * clients' (mesos_http.h), shared rather than copied.
 * Thread: main. Invariant: body is always NUL-terminated (possibly ""), and
 * the token appears in no log line and no error message. */
#include "ctl.h"
#include "mcm.h"
#include "mesos_http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CTL_BODY_MAX (16u << 20)     /* answers larger than this are refused */

typedef struct sink {
    ctl_resp *r;
    int too_large;
} sink;

static size_t on_body(char *d, size_t s, size_t n, void *u) {
    sink *k = u;
    size_t add = s * n;
    if (k->r->len + add > CTL_BODY_MAX) {
        k->too_large = 1;
        return 0;
    }
    char *p = realloc(k->r->body, k->r->len + add + 1);
    if (!p) return 0;
    memcpy(p + k->r->len, d, add);
    k->r->body = p;
    k->r->len += add;
    p[k->r->len] = 0;
    return add;
}

static size_t on_header(char *d, size_t s, size_t n, void *u) {
    ctl_resp *r = u;
    char v[CTL_URL_MAX];
    if (mesos_http_header(d, s * n, "Location", v, sizeof(v))) snprintf(r->location, sizeof(r->location), "%s", v);
    return s * n;
}

static struct curl_slist *headers(const char *body, const char *token) {
    struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
    if (h && body) h = curl_slist_append(h, "Content-Type: application/json");
    if (h && body) h = curl_slist_append(h, "Expect:");
    if (h && token) {
        size_t n = strlen(token) + sizeof("Authorization: Bearer ");
        char *line = malloc(n);
        if (!line) {
            curl_slist_free_all(h);
            return NULL;
        }
        snprintf(line, n, "Authorization: Bearer %s", token);
        struct curl_slist *h2 = curl_slist_append(h, line);
        memset(line, 0, n);
        free(line);
        if (!h2) curl_slist_free_all(h);
        h = h2;
    }
    return h;
}

int ctl_http(const char *method, const char *url, const char *body, const char *token,
             int64_t timeout_ms, ctl_resp *out) {
    memset(out, 0, sizeof(*out));
    mesos_http_global_init();
    CURL *e = curl_easy_init();
    struct curl_slist *h = headers(body, token);
    sink k = {out, 0};
    if (!e || !h || !(out->body = calloc(1, 1))) {
        snprintf(out->error, sizeof(out->error), "out of memory");
        curl_easy_cleanup(e);
        curl_slist_free_all(h);
        return MCM_ERR;
    }
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    if (body) curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &k);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout_ms < 5000 ? timeout_ms : 5000));
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode rc = curl_easy_perform(e);
    if (rc == CURLE_OK) curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &out->status);
    else snprintf(out->error, sizeof(out->error), "%s", k.too_large ? "answer too large" : cerr[0] ? cerr : curl_easy_strerror(rc));
    curl_easy_cleanup(e);
    curl_slist_free_all(h);
    if (rc != CURLE_OK) ctl_resp_clear(out);      /* no answer: nothing for the caller to free */
    return rc == CURLE_OK ? MCM_OK : MCM_ERR;
}

void ctl_resp_clear(ctl_resp *r) {
    if (!r) return;
    free(r->body);
    r->body = NULL;
    r->len = 0;
}

json_t *ctl_resp_json(const ctl_resp *r) {
    return r->body && r->len ? json_loadb(r->body, r->len, 0, NULL) : NULL;
}

void ctl_resp_reason(const ctl_resp *r, char *buf, size_t len) {
    json_t *doc = ctl_resp_json(r);
    const char *code = json_string_value(json_object_get(doc, "error"));
    const char *msg = json_string_value(json_object_get(doc, "message"));
    if (code) {
        snprintf(buf, len, "%ld %s%s%s", r->status, code, msg && *msg ? ": " : "", msg ? msg : "");
    } else {
        char text[200];
        mesos_http_body_text(r->body ? r->body : "", r->len, text, sizeof(text));
        snprintf(buf, len, "HTTP %ld%s%s", r->status, text[0] ? ": " : "", text);
    }
    json_decref(doc);
}

int ctl_url_origin(const char *url, char *buf, size_t len) {
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;
    int rc = MCM_ERR;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
        snprintf(buf, len, "%s://%s:%s", scheme, host, port);
        rc = MCM_OK;
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}
