/* state_codec.c -- strict decoders of the small znodes: state/version,
 * state/framework_id and state/desired.
 *
 * Why apart: each decodes bytes anyone with write access to ZooKeeper could
 * have put there, so each is a pure function a fuzzer can drive (fuzz/), and
 * the leader's fence (state_fence.c) and every replica's load (state.c) use
 * the same rules. Shape is not enough: every number is also held to the
 * range mcm itself writes (state.h, LIMITS), so arithmetic on a value read
 * back can never overflow.
 *
 * Threads: any (no shared state). Invariant: what a decoder accepts, mcm
 * could have written. */
#include "mcm.h"
#include "state_int.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VERSION_DIGITS_MAX 16        /* STATE_VERSION_MAX has 16 digits */

int state_parse_version(const char *data, int len, int64_t *out) {
    int64_t v = 0;
    if (!data || len <= 0 || len > VERSION_DIGITS_MAX) return MCM_ERR;
    for (int i = 0; i < len; i++) {
        if (data[i] < '0' || data[i] > '9') return MCM_ERR;
        v = v * 10 + (data[i] - '0');                    /* 16 digits: no overflow */
    }
    if (v > STATE_VERSION_MAX) return MCM_ERR;
    *out = v;
    return MCM_OK;
}

int state_check_framework_id(const char *data, int len) {
    char id[STATE_ID_MAX];
    if (len == 0) return MCM_OK;
    if (!data || len < 0 || len >= STATE_ID_MAX || memchr(data, '\0', (size_t)len)) return MCM_ERR;
    memcpy(id, data, (size_t)len);
    id[len] = '\0';
    return state_valid_id(id) ? MCM_OK : MCM_ERR;
}

int state_decode_desired(const char *data, size_t len, int *instances, char **autoscale, char *why,
                         size_t whylen) {
    json_error_t je;
    json_t *o = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
    json_t *n = json_object_get(o, "instances"), *a = json_object_get(o, "autoscale");
    int ret = MCM_ERR;
    *autoscale = NULL;
    if (!o) snprintf(why, whylen, "not JSON: %s", je.text);
    else if (!json_is_integer(n) || json_integer_value(n) < 0 || json_integer_value(n) > INT_MAX)
        snprintf(why, whylen, "\"instances\" missing or not a count (0 to %d)", INT_MAX);
    else if (a && !json_is_null(a) && !(*autoscale = json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY)))
        snprintf(why, whylen, "out of memory");
    else {
        *instances = (int)json_integer_value(n);
        ret = MCM_OK;
    }
    json_decref(o);
    return ret;
}
