/* ecd_proto.c -- parse memcached text commands, answer like an ElastiCache
 * configuration endpoint (layout in ecd_proto.h).
 *
 * Shape: a feed function over a byte buffer, in the hiredis reader style: the
 * connection code appends what it read, calls ecd_proto_feed, drops the
 * consumed prefix. Pipelined commands are answered in order in one call; a
 * command split across reads simply waits for its '\n'.
 * Threads: any. Invariants: a reply's byte count always equals the payload
 * length; any byte outside printable ASCII, tab and a CR before LF closes. */
#include "ecd_proto.h"
#include "mcm.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int ecd_buf_append(ecd_buf *b, const void *data, size_t len) {
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + len + 1) cap *= 2;
        char *g = realloc(b->p, cap);
        if (!g) return MCM_ERR;
        b->p = g;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, len);
    b->len += len;
    b->p[b->len] = '\0';
    return MCM_OK;
}

void ecd_buf_free(ecd_buf *b) {
    free(b->p);
    memset(b, 0, sizeof(*b));
}

static int append_str(ecd_buf *b, const char *s) { return ecd_buf_append(b, s, strlen(s)); }

/* The ip field for host: the host itself if it is an address literal. */
static void ip_of(const char *host, int resolve, char *ip, size_t len) {
    unsigned char a[16];
    ip[0] = '\0';
    if (inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1) {
        snprintf(ip, len, "%s", host);
        return;
    }
    if (!resolve) return;
    int families[] = {AF_INET, AF_INET6};
    for (size_t f = 0; f < MCM_ARRAY_LEN(families) && !ip[0]; f++) {
        struct addrinfo hints = {0}, *res = NULL;
        hints.ai_family = families[f];
        hints.ai_socktype = SOCK_STREAM;
        if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res) continue;
        const void *addr = res->ai_family == AF_INET
                               ? (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr
                               : (const void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr;
        inet_ntop(res->ai_family, addr, ip, (socklen_t)len);
        freeaddrinfo(res);
    }
}

char *ecd_payload(const srvlist *l, int resolve, size_t *len) {
    ecd_buf b = {0};
    char line[SRVLIST_HOST_MAX * 2 + 64], ip[INET6_ADDRSTRLEN];
    snprintf(line, sizeof(line), "%lld\n", (long long)l->version);
    int rc = append_str(&b, line);
    for (int i = 0; i < l->n && rc == MCM_OK; i++) {
        const srv_entry *e = &l->servers[i];
        ip_of(e->host, resolve, ip, sizeof(ip));
        snprintf(line, sizeof(line), "%s%s|%s|%d", i ? " " : "", e->host, ip, e->port);
        rc = append_str(&b, line);
    }
    if (rc == MCM_OK) rc = append_str(&b, "\n");
    if (rc != MCM_OK) {
        ecd_buf_free(&b);
        return NULL;
    }
    *len = b.len;
    return b.p;
}

static int reply_value(ecd_buf *out, const char *head, const char *payload, size_t plen) {
    char line[128];
    snprintf(line, sizeof(line), "%s 0 %zu\r\n", head, plen);
    if (append_str(out, line) != MCM_OK || ecd_buf_append(out, payload, plen) != MCM_OK) return MCM_ERR;
    return append_str(out, "\r\n");
}

#define MAX_TOKENS 24

static int tokenize(char *line, char **tok) {
    int n = 0;
    for (char *save = NULL, *t = strtok_r(line, " \t", &save); t && n < MAX_TOKENS;
         t = strtok_r(NULL, " \t", &save))
        tok[n++] = t;
    return n;
}

static int cmd_get(ecd_buf *out, char **tok, int n, const char *payload, size_t plen) {
    for (int i = 1; i < n; i++)
        if (payload && strcmp(tok[i], "AmazonElastiCache:cluster") == 0 &&
            reply_value(out, "VALUE AmazonElastiCache:cluster", payload, plen) != MCM_OK)
            return MCM_ERR;
    return append_str(out, "END\r\n");
}

/* One command line (NUL-terminated, no line end). */
static int dispatch(char *line, const char *payload, size_t plen, ecd_buf *out) {
    char *tok[MAX_TOKENS];
    int n = tokenize(line, tok);
    int rc;
    if (n == 0) rc = append_str(out, "ERROR\r\n");
    else if (strcmp(tok[0], "quit") == 0 && n == 1) return ECD_FEED_QUIT;
    else if (strcmp(tok[0], "version") == 0 && n == 1)
        rc = append_str(out, "VERSION " ECD_ENGINE_VERSION "\r\n");
    else if (strcmp(tok[0], "stats") == 0 && n == 1)
        rc = append_str(out, "STAT version " ECD_ENGINE_VERSION "\r\nEND\r\n");
    else if (strcmp(tok[0], "config") == 0 && n == 3 && strcmp(tok[1], "get") == 0) {
        if (payload && strcmp(tok[2], "cluster") == 0) {
            rc = reply_value(out, "CONFIG cluster", payload, plen);
            if (rc == MCM_OK) rc = append_str(out, "END\r\n");
        } else {
            rc = append_str(out, "END\r\n");
        }
    } else if (strcmp(tok[0], "get") == 0 && n >= 2) rc = cmd_get(out, tok, n, payload, plen);
    else rc = append_str(out, "ERROR\r\n");
    return rc == MCM_OK ? ECD_FEED_OK : ECD_FEED_CLOSE;
}

static int is_text(unsigned char c) { return (c >= 0x20 && c < 0x7f) || c == '\t'; }

int ecd_proto_feed(const char *in, size_t len, size_t *consumed, const char *payload, size_t plen,
                   ecd_buf *out) {
    size_t start = 0;
    *consumed = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '\n') {
            size_t end = i;
            if (end > start && in[end - 1] == '\r') end--;
            char line[ECD_LINE_MAX + 1];
            if (end - start > ECD_LINE_MAX) return ECD_FEED_CLOSE;
            memcpy(line, in + start, end - start);
            line[end - start] = '\0';
            start = i + 1;
            *consumed = start;
            int rc = dispatch(line, payload, plen, out);
            if (rc != ECD_FEED_OK) return rc;
        } else if (!is_text(c) && !(c == '\r' && i + 1 < len && in[i + 1] == '\n') &&
                   !(c == '\r' && i + 1 == len)) {
            return ECD_FEED_CLOSE;
        } else if (i - start >= ECD_LINE_MAX + 1) {
            return ECD_FEED_CLOSE;
        }
    }
    return ECD_FEED_OK;
}
