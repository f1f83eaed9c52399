/* fuzz_recordio.c -- libFuzzer target: the scheduler event stream decoder.
 *
 * The input is split into chunks whose sizes come from a PRNG seeded by its
 * first two bytes (so libFuzzer explores chunk boundaries as well as bytes),
 * fed to a RecordIO reader with a small cap, and every record is unpacked as
 * a mesos.v1.scheduler.Event, exactly as the stream thread does; decoded
 * Events are re-packed to walk every field. Checked: no crash, leak or UB;
 * records never exceed the cap; after an error the reader stays failed. */
#include "mcm.h"
#include "recordio.h"
#include "mesos/v1/scheduler/scheduler.pb-c.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_RECORD 4096

static void take_records(rio_reader *r) {
    const uint8_t *rec;
    size_t len;
    int rc;
    while ((rc = rio_next(r, &rec, &len)) == 1) {
        if (len == 0 || len > FUZZ_MAX_RECORD) abort();
        Mesos__V1__Scheduler__Event *ev = mesos__v1__scheduler__event__unpack(NULL, len, rec);
        if (!ev) continue;
        size_t n = mesos__v1__scheduler__event__get_packed_size(ev);
        uint8_t *out = malloc(n ? n : 1);
        if (mesos__v1__scheduler__event__pack(ev, out) != n) abort();
        free(out);
        mesos__v1__scheduler__event__free_unpacked(ev, NULL);
    }
    if (rc == MCM_ERR && rio_errstr(r)[0] == '\0') abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    uint32_t x = ((uint32_t)data[0] << 8 | data[1]) * 2654435761u + 1;
    data += 2;
    size -= 2;
    rio_reader *r = rio_reader_new(FUZZ_MAX_RECORD);
    int failed = 0;
    for (size_t off = 0; off < size;) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        size_t chunk = 1 + x % 97;
        if (chunk > size - off) chunk = size - off;
        int rc = rio_feed(r, data + off, chunk);
        if (failed && rc != MCM_ERR) abort();   /* errors are sticky */
        if (rc == MCM_ERR) failed = 1;
        take_records(r);
        off += chunk;
    }
    if (!failed && rio_pending(r) > FUZZ_MAX_RECORD + 24) abort();
    rio_reader_free(r);
    return 0;
}
