/* mesos_http.c -- HTTP helpers shared by the Mesos clients (see mesos_http.h).
 *
 * Pure string work, so both clients and their tests can rely on exactly one
 * implementation of the fiddly parts: Location resolution (the 307 from a
 * non-leading master has no scheme) and header parsing.
 * Threads: any. Invariant: every output buffer is NUL-terminated. */
#include "mesos_http.h"
#include "mcm.h"

#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init_once(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void mesos_http_global_init(void) {
    pthread_once(&global_once, global_init_once);
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void base64(const unsigned char *in, size_t n, char *out) {
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < n) v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < n) v |= in[i + 2];
        out[o++] = b64[(v >> 18) & 63];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? b64[v & 63] : '=';
    }
    out[o] = '\0';
}

char *mesos_http_basic_auth(const char *principal, const char *secret) {
    size_t n = strlen(principal) + 1 + strlen(secret);
    char *plain = malloc(n + 1);
    char *out = malloc(sizeof("Authorization: Basic ") + (n + 2) / 3 * 4 + 1);
    if (!plain || !out) {
        free(plain);
        free(out);
        return NULL;
    }
    snprintf(plain, n + 1, "%s:%s", principal, secret);
    strcpy(out, "Authorization: Basic ");
    base64((const unsigned char *)plain, n, out + strlen(out));
    memset(plain, 0, n);   /* the secret should not linger on the heap */
    free(plain);
    return out;
}

/* Length of "scheme:" in an absolute http(s) URL, 0 otherwise. */
static size_t scheme_len(const char *url) {
    if (strncasecmp(url, "http:", 5) == 0) return 5;
    if (strncasecmp(url, "https:", 6) == 0) return 6;
    return 0;
}

char *mesos_http_resolve(const char *from, const char *loc) {
    size_t sl = scheme_len(from);
    char *out = NULL;
    if (!loc || !*loc || sl == 0) return NULL;
    if (scheme_len(loc) && strncmp(loc + scheme_len(loc), "//", 2) == 0) {
        out = strdup(loc);
    } else if (strncmp(loc, "//", 2) == 0) {
        if (asprintf(&out, "%.*s%s", (int)sl, from, loc) < 0) out = NULL;
    } else if (loc[0] == '/') {
        const char *auth = from + sl;
        if (strncmp(auth, "//", 2) != 0) return NULL;
        const char *path = strchr(auth + 2, '/');
        int keep = path ? (int)(path - from) : (int)strlen(from);
        if (asprintf(&out, "%.*s%s", keep, from, loc) < 0) out = NULL;
    }
    return out;
}

typedef struct origin {
    int https;
    char host[256];
    long port;
} origin;

/* MCM_OK if url is "http(s)://host[:port][/...]" without userinfo. */
static int origin_of(const char *url, origin *o) {
    size_t sl = scheme_len(url);
    if (!sl || strncmp(url + sl, "//", 2) != 0) return MCM_ERR;
    o->https = sl == 6;
    const char *a = url + sl + 2, *end = a + strcspn(a, "/?#");
    const char *hend = end, *colon = NULL;
    if (memchr(a, '@', (size_t)(end - a))) return MCM_ERR;
    if (*a == '[') {                                   /* [v6]:port */
        const char *rb = memchr(a, ']', (size_t)(end - a));
        if (!rb) return MCM_ERR;
        colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
        if (rb + 1 < end && !colon) return MCM_ERR;
        hend = rb + 1;
    } else {
        colon = memchr(a, ':', (size_t)(end - a));
        if (colon) hend = colon;
    }
    size_t hl = (size_t)(hend - a);
    if (hl == 0 || hl >= sizeof(o->host)) return MCM_ERR;
    for (size_t i = 0; i < hl; i++) o->host[i] = (char)tolower((unsigned char)a[i]);
    o->host[hl] = '\0';
    o->port = o->https ? 443 : 80;
    if (colon) {
        char *pe = NULL;
        o->port = strtol(colon + 1, &pe, 10);
        if (pe != end || o->port < 1 || o->port > 65535) return MCM_ERR;
    }
    return MCM_OK;
}

int mesos_http_same_origin(const char *a, const char *b) {
    origin x, y;
    if (!a || !b || origin_of(a, &x) != MCM_OK || origin_of(b, &y) != MCM_OK) return 0;
    return x.https == y.https && x.port == y.port && strcmp(x.host, y.host) == 0;
}

int mesos_http_header(const char *line, size_t len, const char *name, char *out, size_t outlen) {
    size_t nl = strlen(name);
    if (len <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0) return 0;
    const char *v = line + nl + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    while (end > v && isspace((unsigned char)end[-1])) end--;
    size_t n = (size_t)(end - v);
    if (outlen == 0) return 1;
    if (n >= outlen) n = outlen - 1;
    memcpy(out, v, n);
    out[n] = '\0';
    return 1;
}

int mesos_http_status_line(const char *line, size_t len) {
    if (len < 12 || strncmp(line, "HTTP/", 5) != 0) return 0;
    const char *sp = memchr(line, ' ', len);
    if (!sp || (size_t)(sp - line) + 4 > len) return 0;
    int code = 0;
    for (int i = 1; i <= 3; i++) {
        if (!isdigit((unsigned char)sp[i])) return 0;
        code = code * 10 + (sp[i] - '0');
    }
    return code;
}

const char *mesos_http_curl_text(int rc, const char *cerr) {
    if (rc == CURLE_OUT_OF_MEMORY)
        return "response headers too large (libcurl takes header lines of at most 100 KB; "
               "CURLE_OUT_OF_MEMORY): not a Mesos master, or a hostile one";
    return cerr && cerr[0] ? cerr : curl_easy_strerror((CURLcode)rc);
}

int mesos_http_is_protobuf(const char *ctype) {
    size_t n = strlen(MESOS_HTTP_PROTOBUF);
    while (*ctype == ' ' || *ctype == '\t') ctype++;
    if (strncasecmp(ctype, MESOS_HTTP_PROTOBUF, n) != 0) return 0;
    char c = ctype[n];
    return c == '\0' || c == ';' || c == ' ' || c == '\t';
}

void mesos_http_body_text(const char *body, size_t len, char *out, size_t outlen) {
    if (outlen == 0) return;
    while (len > 0 && isspace((unsigned char)*body)) body++, len--;
    while (len > 0 && isspace((unsigned char)body[len - 1])) len--;
    if (len >= outlen) len = outlen - 1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)body[i];
        out[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    out[len] = '\0';
}

void mesos_http_base_url(const char *endpoint, char *out, size_t outlen) {
    static const char *suffixes[] = {"/master/api/v1/scheduler", "/api/v1/scheduler"};
    size_t n = strlen(endpoint);
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        size_t sl = strlen(suffixes[i]);
        if (n >= sl && strcmp(endpoint + n - sl, suffixes[i]) == 0) {
            n -= sl;
            break;
        }
    }
    snprintf(out, outlen, "%.*s", (int)n, endpoint);
}

struct curl_slist *mesos_http_headers(const char *const *extra, size_t n) {
    static const char *const fixed[] = {"Content-Type: " MESOS_HTTP_PROTOBUF, "Accept: " MESOS_HTTP_PROTOBUF,
                                        "Expect:"};
    struct curl_slist *h = NULL, *t;
    for (size_t i = 0; i < MCM_ARRAY_LEN(fixed) + n; i++) {
        const char *line = i < MCM_ARRAY_LEN(fixed) ? fixed[i] : extra[i - MCM_ARRAY_LEN(fixed)];
        if (!line) continue;
        if (!(t = curl_slist_append(h, line))) {
            curl_slist_free_all(h);
            return NULL;
        }
        h = t;
    }
    return h;
}
