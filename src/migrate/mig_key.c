/* mig_key.c -- key encodings: metadump's URL form in, a command token out
 * (see mig_key.h).
 *
 * Shape: two small pure functions and a hand-written base64 encoder (the
 * standard alphabet with '=' padding, what memcached's `b` flag decodes), so
 * no library is needed for 250 bytes.
 * Threads: any. Invariant: nothing is written past out's stated size; every
 * token produced is at most MIG_KEY_TOKEN_MAX characters. */
#include "mig_key.h"
#include "mcm.h"

#include <string.h>

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Bytes that cannot stand in a text token: they end it (space, CR, LF, NUL)
 * or are control characters memcached's tokenizer does not promise to keep. */
static int text_safe(const unsigned char *k, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (k[i] <= 0x20 || k[i] == 0x7f) return 0;
    return 1;
}

static size_t b64_encode(const unsigned char *in, size_t n, char *out) {
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < n) v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < n) v |= in[i + 2];
        out[o++] = B64[(v >> 18) & 63];
        out[o++] = B64[(v >> 12) & 63];
        out[o++] = i + 1 < n ? B64[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? B64[v & 63] : '=';
    }
    out[o] = '\0';
    return o;
}

int mig_key_token(const void *raw, size_t len, mig_key *out) {
    const unsigned char *k = raw;
    if (len == 0 || len > MIG_KEY_MAX) return MCM_ERR;
    if (text_safe(k, len)) {
        memcpy(out->tok, k, len);
        out->tok[len] = '\0';
        out->len = len;
        out->b64 = 0;
        return MCM_OK;
    }
    if ((len + 2) / 3 * 4 > MIG_KEY_TOKEN_MAX) return MCM_ERR;
    out->len = b64_encode(k, len, out->tok);
    out->b64 = 1;
    return MCM_OK;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int mig_key_urldecode(const char *s, size_t n, unsigned char *out, size_t *outlen) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n) return MCM_ERR;          /* "%" or "%X" at the end */
            int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
            if (h < 0 || l < 0) return MCM_ERR;
            c = h << 4 | l;
            i += 2;
        }
        if (o == MIG_KEY_MAX) return MCM_ERR;
        out[o++] = (unsigned char)c;
    }
    if (o == 0) return MCM_ERR;
    *outlen = o;
    return MCM_OK;
}
