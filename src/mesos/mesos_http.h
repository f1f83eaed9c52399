/* mesos_http.h -- small HTTP helpers the Mesos clients share (no I/O here).
 *
 * Basic auth header, Location resolution for hand-followed 307s (Mesos sends
 * scheme-less `//host:port/path`), origin comparison (credentials go only to
 * configured or detected masters), header-line parsing for libcurl header
 * callbacks, media-type checks, and the libcurl global init.
 * Threads: any; nothing here keeps state except mesos_http_global_init's once. */
#ifndef MCM_MESOS_HTTP_H
#define MCM_MESOS_HTTP_H

#include <stddef.h>

#define MESOS_HTTP_PROTOBUF "application/x-protobuf"
#define MESOS_HTTP_MAX_HOPS 3

struct curl_slist;

/* The headers every Mesos v1 call carries (protobuf Content-Type and Accept,
 * an empty Expect: so libcurl never waits for 100-continue) followed by the
 * `extra` lines that are not NULL (n of them: auth, stream id). A new list
 * (curl_slist_free_all), or NULL if out of memory. */
struct curl_slist *mesos_http_headers(const char *const *extra, size_t n);

/* curl_global_init(CURL_GLOBAL_DEFAULT) exactly once per process. */
void mesos_http_global_init(void);

/* "Authorization: Basic base64(principal:secret)"; malloc'd, NULL on OOM. */
char *mesos_http_basic_auth(const char *principal, const char *secret);

/* Absolute URL for a Location header received from `from` (an absolute
 * http(s) URL): "//h:p/x" takes from's scheme, "/x" its scheme and authority,
 * "http(s)://..." stays. malloc'd; NULL if location is empty or relative
 * without a leading '/'. */
char *mesos_http_resolve(const char *from, const char *location);

/* 1 if absolute http(s) URLs a and b have the same origin: scheme, host
 * (case-insensitive) and port (80/443 when absent) all equal. A URL with
 * userinfo ("user@host") or that does not parse matches nothing. */
int mesos_http_same_origin(const char *a, const char *b);

/* If `line` (a raw header line, `len` bytes, with or without CRLF) is header
 * `name` (case-insensitive), copies its trimmed value into out and returns 1. */
int mesos_http_header(const char *line, size_t len, const char *name, char *out, size_t outlen);

/* Status code of an "HTTP/x.y NNN reason" line, or 0 if it is not one. */
int mesos_http_status_line(const char *line, size_t len);

/* Text for a failed transfer: libcurl's error buffer, or its strerror when
 * empty; CURLE_OUT_OF_MEMORY (which is what libcurl 7.88 returns for a
 * response header line over its 100 KB limit) is named as such. rc is a
 * CURLcode. */
const char *mesos_http_curl_text(int rc, const char *cerr);

/* 1 if a Content-Type value names application/x-protobuf (case-insensitive,
 * parameters ignored). */
int mesos_http_is_protobuf(const char *ctype);

/* Copies body text for an error message: at most outlen-1 bytes, control
 * characters as spaces, surrounding whitespace trimmed. */
void mesos_http_body_text(const char *body, size_t len, char *out, size_t outlen);

/* Base URL shown to people: the endpoint without a trailing
 * "/master/api/v1/scheduler" or "/api/v1/scheduler". Copies into out. */
void mesos_http_base_url(const char *endpoint, char *out, size_t outlen);

#endif
