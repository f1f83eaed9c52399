/* recordio.c -- resumable reader for Mesos RecordIO (`<decimal length>\n<bytes>`).
 *
 * Shape: one growable byte buffer [rpos, wpos) holding what was fed and not
 * yet taken. rio_feed() appends, then validates every record header it can
 * see from `scan` onwards, so a bad or oversized length is rejected as soon
 * as its bytes arrive -- before any memory is spent on the body. Bodies are
 * never allocated from the declared length: the buffer grows only with bytes
 * actually received, so a forged "4000000\n" costs nothing until 4 MB arrive.
 * rio_next() walks the validated headers from rpos and hands out a pointer
 * into the buffer (valid until the next feed/next/free, as the header says).
 *
 *   buf: [consumed ....][hdr|body][hdr|body][hdr|bo..      ]
 *                        ^rpos              ^scan          ^wpos
 *   Invariants:
 *   1. rpos <= scan <= wpos' where wpos' may be < scan only when scan points
 *      past a body still arriving (scan is then the start of the next header).
 *   2. Every header in [rpos, scan) is complete and valid (1..20 digits,
 *      value in 1..max_record, then '\n').
 *   3. After an error the buffer is released and every call fails (sticky).
 *
 * Memory: max_record + header + the size of one fed chunk, as long as the
 * caller drains with rio_next() after each rio_feed() (libcurl chunks are at
 * most CURL_MAX_WRITE_SIZE).
 *
 * Threads: a reader belongs to one thread (the Mesos stream thread). */
#include "recordio.h"

#include "mcm.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RIO_MAX_DIGITS 20

struct rio_reader {
    size_t max_record;
    uint8_t *buf;
    size_t cap, rpos, wpos;
    size_t scan;          /* start of the first header not yet validated */
    int failed;
    char errstr[128];
};

rio_reader *rio_reader_new(size_t max_record) {
    rio_reader *r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    r->max_record = max_record ? max_record : RIO_DEFAULT_MAX_RECORD;
    return r;
}

void rio_reader_free(rio_reader *r) {
    if (!r) return;
    free(r->buf);
    free(r);
}

__attribute__((format(printf, 2, 3)))
static int rio_fail(rio_reader *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->errstr, sizeof(r->errstr), fmt, ap);
    va_end(ap);
    r->failed = 1;
    free(r->buf);
    r->buf = NULL;
    r->cap = r->rpos = r->wpos = r->scan = 0;
    return MCM_ERR;
}

/* Parses the header at p (avail bytes). Returns 1 with *len and *hlen when
 * complete, 0 when more bytes are needed, MCM_ERR on a framing error. */
static int rio_parse_header(rio_reader *r, const uint8_t *p, size_t avail, size_t *len, size_t *hlen) {
    size_t v = 0;
    for (size_t i = 0; i < avail; i++) {
        uint8_t c = p[i];
        if (c == '\n') {
            if (i == 0) return rio_fail(r, "RecordIO: empty length line");
            if (v == 0) return rio_fail(r, "RecordIO: record length 0");
            *len = v;
            *hlen = i + 1;
            return 1;
        }
        if (i >= RIO_MAX_DIGITS)
            return rio_fail(r, "RecordIO: length line longer than %d digits", RIO_MAX_DIGITS);
        if (c < '0' || c > '9')
            return rio_fail(r, "RecordIO: byte 0x%02x in length line at offset %zu (not a digit)", c, i);
        if (v > (SIZE_MAX - 9) / 10 || v * 10 + (size_t)(c - '0') > r->max_record)
            return rio_fail(r, "RecordIO: record length exceeds the maximum %zu", r->max_record);
        v = v * 10 + (size_t)(c - '0');
    }
    return 0;
}

/* Validates headers from scan as far as the buffered bytes allow. */
static int rio_scan(rio_reader *r) {
    while (r->scan < r->wpos) {
        size_t len, hlen;
        int rc = rio_parse_header(r, r->buf + r->scan, r->wpos - r->scan, &len, &hlen);
        if (rc <= 0) return rc == 0 ? MCM_OK : MCM_ERR;
        r->scan += hlen + len;
    }
    return MCM_OK;
}

static int rio_reserve(rio_reader *r, size_t extra) {
    if (r->rpos > 0) {       /* drop consumed bytes; records handed out are dead now */
        memmove(r->buf, r->buf + r->rpos, r->wpos - r->rpos);
        r->wpos -= r->rpos;
        r->scan -= r->rpos;
        r->rpos = 0;
    }
    if (r->cap - r->wpos >= extra) return MCM_OK;
    size_t need = r->wpos + extra;
    size_t ncap = r->cap ? r->cap : 4096;
    while (ncap < need) ncap *= 2;
    uint8_t *nb = realloc(r->buf, ncap);
    if (!nb) return rio_fail(r, "RecordIO: out of memory buffering %zu bytes", need);
    r->buf = nb;
    r->cap = ncap;
    return MCM_OK;
}

int rio_feed(rio_reader *r, const void *buf, size_t len) {
    if (r->failed) return MCM_ERR;
    if (len == 0) return MCM_OK;
    if (rio_reserve(r, len) != MCM_OK) return MCM_ERR;
    memcpy(r->buf + r->wpos, buf, len);
    r->wpos += len;
    return rio_scan(r);
}

int rio_next(rio_reader *r, const uint8_t **data, size_t *len) {
    if (r->failed) return MCM_ERR;
    if (r->rpos >= r->scan || r->rpos >= r->wpos) return 0;   /* no validated header here */
    size_t n, hlen;
    int rc = rio_parse_header(r, r->buf + r->rpos, r->wpos - r->rpos, &n, &hlen);
    if (rc <= 0) return rc;   /* cannot happen: validated by rio_scan */
    if (r->wpos - r->rpos - hlen < n) return 0;
    *data = r->buf + r->rpos + hlen;
    *len = n;
    r->rpos += hlen + n;
    return 1;
}

const char *rio_errstr(const rio_reader *r) {
    return r->failed ? r->errstr : "";
}

size_t rio_pending(const rio_reader *r) {
    return r->wpos - r->rpos;
}

int rio_header(size_t len, char *buf, size_t buflen) {
    int n = snprintf(buf, buflen, "%zu\n", len);
    if (n < 0 || (size_t)n >= buflen) return -1;
    return n;
}
