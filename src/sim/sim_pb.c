/* sim_pb.c -- arena, copies and RecordIO packing (see sim_pb.h).
 *
 * Shape: the arena is a singly linked list of calloc'd blocks, one per
 * allocation: events are small, so simplicity wins over speed.
 * Threads: any; no shared state.
 * Invariant: everything an arena handed out is freed by sim_arena_free. */
#include "sim_pb.h"

#include "mesos/v1/scheduler/scheduler.pb-c.h"
#include "recordio.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct blk { struct blk *next; max_align_t data[]; } blk;

struct sim_arena { blk *head; };

sim_arena *sim_arena_new(void) {
    sim_arena *a = calloc(1, sizeof(*a));
    if (!a) abort();
    return a;
}

void sim_arena_free(sim_arena *a) {
    if (!a) return;
    for (blk *b = a->head, *n; b; b = n) {
        n = b->next;
        free(b);
    }
    free(a);
}

void *sim_arena_alloc(void *ap, size_t size) {
    sim_arena *a = ap;
    blk *b = calloc(1, sizeof(blk) + size);
    if (!b) abort();
    b->next = a->head;
    a->head = b;
    return b->data;
}

char *sim_arena_strdup(sim_arena *a, const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s);
    char *d = sim_arena_alloc(a, n + 1);
    memcpy(d, s, n);
    return d;
}

char *sim_arena_printf(sim_arena *a, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *d = sim_arena_alloc(a, (size_t)(n > 0 ? n : 0) + 1);
    va_start(ap, fmt);
    vsnprintf(d, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return d;
}

uint8_t *sim_pb_pack(const ProtobufCMessage *m, size_t *len) {
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *b = malloc(n ? n : 1);
    if (!b) abort();
    *len = protobuf_c_message_pack(m, b);
    return b;
}

void *sim_pb_dup(const ProtobufCMessage *m) {
    if (!m) return NULL;
    size_t n;
    uint8_t *b = sim_pb_pack(m, &n);
    void *c = protobuf_c_message_unpack(m->descriptor, NULL, n, b);
    free(b);
    if (!c) abort();   /* what we packed ourselves always unpacks */
    return c;
}

uint8_t *sim_pb_record(const ProtobufCMessage *m, size_t *len) {
    size_t n = protobuf_c_message_get_packed_size(m);
    char hdr[24];
    int h = rio_header(n, hdr, sizeof(hdr));
    uint8_t *b = malloc((size_t)h + n + 1);
    if (!b || h < 0) abort();
    memcpy(b, hdr, (size_t)h);
    protobuf_c_message_pack(m, b + h);
    *len = (size_t)h + n;
    return b;
}

int sim_pb_equal(const ProtobufCMessage *a, const ProtobufCMessage *b) {
    size_t na, nb;
    uint8_t *pa = sim_pb_pack(a, &na), *pb = sim_pb_pack(b, &nb);
    int eq = na == nb && memcmp(pa, pb, na) == 0;
    free(pa);
    free(pb);
    return eq;
}

#define ID_FN(fn, T, init)                                  \
    T *fn(sim_arena *a, const char *v) {                    \
        T *id = sim_arena_alloc(a, sizeof(*id));            \
        init(id);                                           \
        id->value = sim_arena_strdup(a, v ? v : "");        \
        return id;                                          \
    }
ID_FN(sim_pb_fwid, Mesos__V1__FrameworkID, mesos__v1__framework_id__init)
ID_FN(sim_pb_agentid, Mesos__V1__AgentID, mesos__v1__agent_id__init)
ID_FN(sim_pb_taskid, Mesos__V1__TaskID, mesos__v1__task_id__init)
ID_FN(sim_pb_execid, Mesos__V1__ExecutorID, mesos__v1__executor_id__init)
ID_FN(sim_pb_offerid, Mesos__V1__OfferID, mesos__v1__offer_id__init)

const char *sim_pb_task_state(int state) {
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(&mesos__v1__task_state__descriptor, state);
    return v ? v->name : "TASK_?";
}

const char *sim_pb_call_type(int type) {
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&mesos__v1__scheduler__call__type__descriptor, type);
    return v ? v->name : "UNKNOWN";
}

int sim_pb_terminal(int s) {
    return s == MESOS__V1__TASK_STATE__TASK_FINISHED || s == MESOS__V1__TASK_STATE__TASK_FAILED ||
           s == MESOS__V1__TASK_STATE__TASK_KILLED || s == MESOS__V1__TASK_STATE__TASK_ERROR ||
           s == MESOS__V1__TASK_STATE__TASK_DROPPED || s == MESOS__V1__TASK_STATE__TASK_GONE ||
           s == MESOS__V1__TASK_STATE__TASK_GONE_BY_OPERATOR || s == MESOS__V1__TASK_STATE__TASK_LOST;
}
