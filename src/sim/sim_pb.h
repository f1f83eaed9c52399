/* sim_pb.h -- protobuf-c helpers for the simulator: an arena for building
 * messages, deep copies, and RecordIO-framed packing.
 *
 * Events are built as trees of protobuf-c structs whose nodes come from an
 * arena (or borrow pointers to longer-lived messages), packed at once, and the
 * arena is freed: no per-field free code.
 * Threads: any; an arena belongs to one thread. */
#ifndef MCM_SIM_PB_H
#define MCM_SIM_PB_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "mesos/v1/mesos.pb-c.h"

typedef struct sim_arena sim_arena;

sim_arena *sim_arena_new(void);
void sim_arena_free(sim_arena *a);                 /* frees every allocation; NULL-safe */
void *sim_arena_alloc(void *a, size_t size);       /* zeroed; aborts on OOM */
char *sim_arena_strdup(sim_arena *a, const char *s);
char *sim_arena_printf(sim_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Deep copy through pack+unpack; free with protobuf_c_message_free_unpacked. */
void *sim_pb_dup(const ProtobufCMessage *m);
/* Packed bytes (malloc'd) of m; *len set. */
uint8_t *sim_pb_pack(const ProtobufCMessage *m, size_t *len);
/* "<len>\n<packed m>" (malloc'd); *len set. */
uint8_t *sim_pb_record(const ProtobufCMessage *m, size_t *len);
/* 1 if both messages pack to the same bytes. */
int sim_pb_equal(const ProtobufCMessage *a, const ProtobufCMessage *b);

/* ID messages with the value copied into the arena. */
Mesos__V1__FrameworkID *sim_pb_fwid(sim_arena *a, const char *v);
Mesos__V1__AgentID *sim_pb_agentid(sim_arena *a, const char *v);
Mesos__V1__TaskID *sim_pb_taskid(sim_arena *a, const char *v);
Mesos__V1__ExecutorID *sim_pb_execid(sim_arena *a, const char *v);
Mesos__V1__OfferID *sim_pb_offerid(sim_arena *a, const char *v);

/* Names for logs and JSON ("TASK_RUNNING", "SUBSCRIBE", ...); "UNKNOWN(n)" style never NULL. */
const char *sim_pb_task_state(int state);
const char *sim_pb_call_type(int type);
/* 1 for the states Mesos calls terminal (protobuf::isTerminalState): FINISHED
 * FAILED KILLED LOST ERROR DROPPED GONE GONE_BY_OPERATOR. */
int sim_pb_terminal(int state);

#endif
