/* fuzz_ecd.c -- libFuzzer target: the ElastiCache-style endpoint's request
 * parser (ecd_proto_feed), fed the input in pieces whose sizes the first
 * byte seeds, as a client's writes would arrive. Checked beyond no
 * crash/leak/UB: consumed never exceeds what was given, the buffer the
 * endpoint keeps stays within ECD_LINE_MAX + 2, and replies stay bounded by
 * the number of lines. Threads: one. */
#include "ecd_proto.h"
#include "mcm.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PAYLOAD "7\n10.0.0.5|10.0.0.5|31000\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    unsigned seed = data[0];
    char in[ECD_LINE_MAX + 2 + 4096];
    size_t have = 0;
    ecd_buf out = {0};
    for (size_t off = 1; off < size;) {
        seed = seed * 1103515245u + 12345u;
        size_t chunk = 1 + (seed >> 16) % 64;
        if (chunk > size - off) chunk = size - off;
        if (chunk > sizeof(in) - have) chunk = sizeof(in) - have;
        memcpy(in + have, data + off, chunk);
        have += chunk;
        off += chunk;
        size_t used = 0;
        int rc = ecd_proto_feed(in, have, &used, PAYLOAD, strlen(PAYLOAD), &out);
        if (used > have) abort();
        if (rc != ECD_FEED_OK) break;
        memmove(in, in + used, have - used);
        have -= used;
        if (have > ECD_LINE_MAX + 2) abort();
        if (out.len > (4u << 20)) break;
    }
    ecd_buf_free(&out);
    return 0;
}
