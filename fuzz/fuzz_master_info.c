/* fuzz_master_info.c -- libFuzzer target: MasterInfo JSON from ZooKeeper
 * (mdet_parse_master_info) and the Location resolution used for 307s.
 * Checked: no crash, leak or UB; outputs are NUL-terminated and bounded. */
#include "mcm.h"
#include "mesos_detect.h"
#include "mesos_http.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char out[64], err[128];
    if (mdet_parse_master_info((const char *)data, size, out, sizeof(out), err, sizeof(err)) == MCM_OK) {
        if (strlen(out) >= sizeof(out)) abort();
    } else if (strlen(err) >= sizeof(err)) {
        abort();
    }
    char *loc = malloc(size + 1);
    memcpy(loc, data, size);
    loc[size] = '\0';
    char *u = mesos_http_resolve("http://10.0.0.1:5050/api/v1/scheduler", loc);
    free(u);
    char hv[32];
    mesos_http_header(loc, size, "Location", hv, sizeof(hv));
    mesos_http_status_line(loc, size);
    free(loc);
    return 0;
}
