/* client.c -- the http tests' HTTP client (see client.h). */
#include "client.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct sink {
    char *p;
    size_t len;
} sink;

static size_t sink_write(char *data, size_t size, size_t n, void *arg) {
    sink *s = arg;
    size_t add = size * n;
    char *grown = realloc(s->p, s->len + add + 1);
    if (!grown) return 0;
    memcpy(grown + s->len, data, add);
    s->p = grown;
    s->len += add;
    s->p[s->len] = 0;
    return add;
}

long tc_request(int port, const char *method, const char *path, const char *body,
                const char *const *headers, tc_resp *out) {
    memset(out, 0, sizeof(*out));
    sink b = {0}, h = {0};
    char url[2048];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    CURL *c = curl_easy_init();
    struct curl_slist *hl = NULL;
    for (size_t i = 0; headers && headers[i]; i++) hl = curl_slist_append(hl, headers[i]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, sink_write);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->code);
    curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &out->secs);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    out->body = b.p ? b.p : strdup("");
    out->len = b.len;
    out->headers = h.p ? h.p : strdup("");
    out->hlen = h.len;
    return out->code;
}

int tc_header(const tc_resp *r, const char *name, char *buf, size_t len) {
    size_t nl = strlen(name);
    for (const char *line = r->headers; line && *line;) {
        const char *end = strstr(line, "\r\n");
        if (!end) end = line + strlen(line);
        if ((size_t)(end - line) > nl && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ') v++;
            snprintf(buf, len, "%.*s", (int)(end - v), v);
            return 1;
        }
        line = *end ? end + 2 : end;
    }
    return 0;
}

int tc_error_code(const tc_resp *r, char *buf, size_t len) {
    const char *p = r->body ? strstr(r->body, "\"error\":\"") : NULL;
    if (!p) return 0;
    p += 9;
    const char *e = strchr(p, '"');
    if (!e) return 0;
    snprintf(buf, len, "%.*s", (int)(e - p), p);
    return 1;
}

void tc_resp_free(tc_resp *r) {
    free(r->body);
    free(r->headers);
    memset(r, 0, sizeof(*r));
}

int tc_raw(int port, const char *bytes, size_t n, char *buf, size_t len, int timeout_ms) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    size_t off = 0;
    while (off < n) {
        ssize_t w = send(fd, bytes + off, n - off, MSG_NOSIGNAL);
        if (w <= 0) break;      /* the server may close early (413): read what it said */
        off += (size_t)w;
    }
    size_t got = 0;
    buf[0] = 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (got + 1 < len && poll(&p, 1, timeout_ms) > 0) {
        ssize_t r = recv(fd, buf + got, len - 1 - got, 0);
        if (r <= 0) break;
        got += (size_t)r;
        buf[got] = 0;
        if (strstr(buf, "\r\n\r\n")) break;
    }
    close(fd);
    int status = 0;
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) status = 0;
    return status;
}
