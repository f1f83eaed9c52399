/* fuzz_report.c -- libFuzzer target: report_decode, the executor reports that
 * come from agents and drive autoscaling. Checked beyond no crash/leak/UB:
 * an accepted report encodes and decodes to the same figures. Threads: one. */
#include "mcm.h"
#include "report.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    report r, back;
    char err[256], buf[4096];
    if (report_decode((const char *)data, size, &r, err, sizeof(err)) != MCM_OK) return 0;
    int n = report_encode(&r, buf, sizeof(buf));
    if (n < 0) abort();
    if (report_decode(buf, (size_t)n, &back, err, sizeof(err)) != MCM_OK) abort();
    if (strcmp(back.task_id, r.task_id) || back.bytes != r.bytes || back.get_hits != r.get_hits ||
        back.time_ms != r.time_ms)
        abort();
    return 0;
}
