/* client.h -- a tiny HTTP client for the http tests: libcurl for well-formed
 * requests, a raw socket for bytes curl would never send.
 * Threads: any (each call has its own curl handle). */
#ifndef MCM_TEST_HTTP_CLIENT_H
#define MCM_TEST_HTTP_CLIENT_H

#include <stddef.h>

typedef struct tc_resp {
    long code;           /* 0 on transport error */
    char *body;          /* NUL-terminated, malloc'd */
    size_t len;
    char *headers;       /* raw header block, NUL-terminated, malloc'd */
    size_t hlen;
    double secs;         /* total time */
} tc_resp;

/* method "GET"/"POST"/...; body NULL for none; headers NULL-terminated list of
 * "Name: value" lines or NULL. Never follows redirects. Returns resp.code. */
long tc_request(int port, const char *method, const char *path, const char *body,
                const char *const *headers, tc_resp *out);
/* The value of header `name` (case-insensitive) into buf; 1 if present. */
int tc_header(const tc_resp *r, const char *name, char *buf, size_t len);
/* The "error" string of a JSON error body into buf; 1 if present. */
int tc_error_code(const tc_resp *r, char *buf, size_t len);
void tc_resp_free(tc_resp *r);

/* Sends raw bytes to 127.0.0.1:port, shuts down writing unless keep_open,
 * reads the reply (up to len-1 bytes, timeout_ms) into buf. Returns the HTTP
 * status of the first line, 0 if the server closed without answering, -1 on
 * connection error. */
int tc_raw(int port, const char *bytes, size_t n, char *buf, size_t len, int timeout_ms);

#endif
