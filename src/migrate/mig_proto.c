/* mig_proto.c -- meta-protocol reply parser (see mig_proto.h).
 *
 * Shape: find the header line (bounded), classify its two-letter code, read
 * the flag tokens with strict number parsing, then for VA check that the
 * whole value and its CRLF are present. Nothing is allocated; a reply's
 * value points into the caller's buffer.
 * Threads: any. Invariant: never reads past buf[len); a reply is complete
 * only when every byte it spans is in the buffer. */
#include "mig_proto.h"
#include "mcm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct { const char *code; mig_rc rc; } CODES[] = {
    {"VA", MIG_RC_VA}, {"HD", MIG_RC_HD}, {"EN", MIG_RC_EN}, {"NS", MIG_RC_NS},
    {"NF", MIG_RC_NF}, {"EX", MIG_RC_EX}, {"MN", MIG_RC_MN},
};

const char *mig_rc_name(mig_rc rc) {
    for (size_t i = 0; i < MCM_ARRAY_LEN(CODES); i++)
        if (CODES[i].rc == rc) return CODES[i].code;
    return "ERROR";
}

/* Strict unsigned decimal token [s, e): digits only, no overflow. */
static int parse_u64(const char *s, const char *e, uint64_t *out) {
    uint64_t v = 0;
    if (s == e) return MCM_ERR;
    for (; s < e; s++) {
        if (*s < '0' || *s > '9') return MCM_ERR;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10) return MCM_ERR;
        v = v * 10 + d;
    }
    *out = v;
    return MCM_OK;
}

static int parse_ttl(const char *s, const char *e, int64_t *out) {
    uint64_t v;
    if (e - s == 2 && s[0] == '-' && s[1] == '1') { *out = -1; return MCM_OK; }
    if (parse_u64(s, e, &v) != MCM_OK || v > INT64_MAX) return MCM_ERR;
    *out = (int64_t)v;
    return MCM_OK;
}

/* One returned flag token [s, e): letter then argument. */
static int parse_flag(const char *s, const char *e, mig_reply *r) {
    uint64_t v;
    switch (*s) {
    case 'c':
        if (parse_u64(s + 1, e, &r->cas) != MCM_OK) return MCM_ERR;
        r->have |= MIG_HAVE_CAS;
        return MCM_OK;
    case 'f':
        if (parse_u64(s + 1, e, &v) != MCM_OK || v > UINT32_MAX) return MCM_ERR;
        r->flags = (uint32_t)v;
        r->have |= MIG_HAVE_FLAGS;
        return MCM_OK;
    case 't':
        if (parse_ttl(s + 1, e, &r->ttl) != MCM_OK) return MCM_ERR;
        r->have |= MIG_HAVE_TTL;
        return MCM_OK;
    default:
        return MCM_OK;                 /* k, s, W, X, Z ...: not needed */
    }
}

/* Tokens after the code, up to the line end le. For VA the first is the size. */
static int parse_tokens(const char *p, const char *le, mig_reply *r, uint64_t *size,
                        char *err, size_t errlen) {
    int first = 1;
    while (p < le) {
        while (p < le && *p == ' ') p++;
        const char *t = p;
        while (p < le && *p != ' ') p++;
        if (t == p) break;
        if (first && r->rc == MIG_RC_VA) {
            if (parse_u64(t, p, size) != MCM_OK) {
                snprintf(err, errlen, "VA reply with a bad size");
                return MCM_ERR;
            }
        } else if (parse_flag(t, p, r) != MCM_OK) {
            snprintf(err, errlen, "%s reply with a bad '%c' flag", mig_rc_name(r->rc), *t);
            return MCM_ERR;
        }
        first = 0;
    }
    if (first && r->rc == MIG_RC_VA) {
        snprintf(err, errlen, "VA reply without a size");
        return MCM_ERR;
    }
    return MCM_OK;
}

static int classify(const char *buf, size_t ll, mig_reply *r) {
    static const char *const ERRS[] = {"ERROR", "CLIENT_ERROR", "SERVER_ERROR"};
    for (size_t i = 0; i < MCM_ARRAY_LEN(ERRS); i++) {
        size_t n = strlen(ERRS[i]);
        if (ll >= n && !memcmp(buf, ERRS[i], n) && (ll == n || buf[n] == ' ')) {
            r->rc = MIG_RC_ERROR;
            snprintf(r->msg, sizeof(r->msg), "%.*s", (int)ll, buf);
            return MCM_OK;
        }
    }
    for (size_t i = 0; i < MCM_ARRAY_LEN(CODES); i++)
        if (ll >= 2 && !memcmp(buf, CODES[i].code, 2) && (ll == 2 || buf[2] == ' ')) {
            r->rc = CODES[i].rc;
            return MCM_OK;
        }
    return MCM_ERR;
}

int mig_proto_parse(const char *buf, size_t len, size_t max_value, mig_reply *r, size_t *used,
                    char *err, size_t errlen) {
    if (len == 0) return 0;
    size_t scan = len < MIG_REPLY_LINE_MAX ? len : MIG_REPLY_LINE_MAX;
    const char *nl = memchr(buf, '\n', scan);
    if (!nl) {
        if (len < MIG_REPLY_LINE_MAX) return 0;
        snprintf(err, errlen, "reply line longer than %d bytes", MIG_REPLY_LINE_MAX);
        return MCM_ERR;
    }
    size_t ll = (size_t)(nl - buf);
    if (ll == 0 || buf[ll - 1] != '\r') {
        snprintf(err, errlen, "reply line not ended by CRLF");
        return MCM_ERR;
    }
    ll--;
    memset(r, 0, sizeof(*r));
    r->ttl = -1;
    if (classify(buf, ll, r) != MCM_OK) {
        snprintf(err, errlen, "unknown reply '%.*s'", (int)(ll < 40 ? ll : 40), buf);
        return MCM_ERR;
    }
    if (r->rc == MIG_RC_ERROR) {
        *used = ll + 2;
        return 1;
    }
    uint64_t size = 0;
    if (parse_tokens(buf + 2, buf + ll, r, &size, err, errlen) != MCM_OK) return MCM_ERR;
    size_t head = ll + 2;
    if (r->rc != MIG_RC_VA) {
        *used = head;
        return 1;
    }
    if (size > max_value) {
        snprintf(err, errlen, "value of %llu bytes is over the %zu byte limit", (unsigned long long)size, max_value);
        return MCM_ERR;
    }
    if (len - head < size + 2) return 0;
    if (buf[head + size] != '\r' || buf[head + size + 1] != '\n') {
        snprintf(err, errlen, "value of %llu bytes not followed by CRLF", (unsigned long long)size);
        return MCM_ERR;
    }
    r->value = buf + head;
    r->vlen = (size_t)size;
    *used = head + (size_t)size + 2;
    return 1;
}
