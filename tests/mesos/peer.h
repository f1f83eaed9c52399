/* peer.h -- a small HTTP peer for the scheduler-client tests (libmicrohttpd).
 *
 * It plays a Mesos master's /api/v1/scheduler endpoint with canned answers:
 * each SUBSCRIBE takes the next queued peer_answer (or the default one), and
 * every other Call gets the configured status (202 unless told). Requests are
 * recorded (call type, Mesos-Stream-Id, Authorization, framework IDs) for the
 * tests to check. Streams are real chunked RecordIO over loopback.
 *
 * Threads: the test thread calls everything here; libmicrohttpd runs one
 * thread per connection; shared state is under the peer's mutex. */
#ifndef MCM_TEST_MESOS_PEER_H
#define MCM_TEST_MESOS_PEER_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    PEER_STREAM,     /* 200, SUBSCRIBED, then HEARTBEATs every heartbeat_ms (0: silence) */
    PEER_RAW,        /* 200 with headers, then `raw` verbatim, then the stream stays open */
    PEER_STATUS,     /* `status` with `body`, no stream */
    PEER_REDIRECT,   /* 307 Location: `location` */
    PEER_ERROR,      /* 200, SUBSCRIBED, then ERROR{`body`} and the stream stays open */
} peer_kind;

typedef struct peer_answer {
    peer_kind kind;
    int status;                /* PEER_STATUS */
    const char *body;          /* PEER_STATUS body, PEER_ERROR message */
    const char *location;      /* PEER_REDIRECT (copied) */
    const char *ctype;         /* NULL: application/x-protobuf */
    const uint8_t *raw;        /* PEER_RAW (copied) */
    size_t raw_len;
    double hb_interval_s;      /* in SUBSCRIBED; 0: field left out */
    int heartbeat_ms;          /* PEER_STREAM */
    int no_stream_id;          /* leave Mesos-Stream-Id out */
} peer_answer;

typedef struct peer_req {
    int call_type;             /* -1: undecodable body */
    char stream_id[160];       /* "" if absent */
    int has_stream_id;
    char auth[256];
    char ctype[64], accept[64], expect[32];
    int has_expect;
    char call_fwid[128];       /* Call.framework_id */
    char info_fwid[128];       /* SUBSCRIBE: framework_info.id */
    int n_roles, n_caps, checkpoint;
} peer_req;

typedef struct peer peer;

peer *peer_start(void);
int peer_port(const peer *p);
/* "http://127.0.0.1:<port>" */
const char *peer_url(const peer *p);
void peer_push(peer *p, const peer_answer *a);        /* next SUBSCRIBE gets a */
void peer_set_default(peer *p, const peer_answer *a); /* after the queue runs out */
/* status 0: calls are never answered (the peer holds them until freed). */
void peer_set_call_status(peer *p, int status, const char *body);
/* Ends every open stream abruptly (connection closed mid-stream). */
void peer_drop_streams(peer *p);
int peer_subscribes(peer *p);
/* Copies up to max recorded requests; returns how many were recorded in all. */
int peer_requests(peer *p, peer_req *out, int max);
/* Number of requests of a call type recorded. */
int peer_count(peer *p, int call_type);
void peer_free(peer *p);

/* A listening socket on 127.0.0.1 that never accepts nor answers: the TCP
 * handshake completes (backlog) but no HTTP reply ever comes. */
int peer_blackhole(int *port);

/* Packs one RecordIO record holding an Event into buf; returns its length. */
size_t peer_record(uint8_t *buf, size_t cap, const void *event_bytes, size_t n);

#endif
