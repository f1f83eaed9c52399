/* sim_stream.h -- one endless HTTP response: a RecordIO event stream.
 *
 * A SUBSCRIBE (scheduler or executor) is answered with a chunked response
 * whose body libmicrohttpd pulls from this object. The simulator pushes
 * framed records from any thread. libmicrohttpd runs event driven, so the
 * content reader never blocks: with nothing to send it suspends the
 * connection (which then costs no thread and no wake-up) until a record, a
 * close, the release of a hold or a hang-up of the client resumes it.
 *
 * Closing: sim_stream_close(st, 0) lets the reader send what is queued (the
 * final ERROR event, say) and then end the chunked body, so the client's
 * transfer completes at once; sim_stream_close(st, 1) drops the connection
 * without sending anything more (a network failure, as /sim/drop-stream
 * wants). A client that goes away while the stream is idle is noticed at
 * once (its socket is watched for EPOLLRDHUP while suspended, sim_park.h),
 * while data flows by libmicrohttpd's failed write; the stream is then
 * "dead".
 *
 * Ownership: reference counted. sim_stream_new returns one reference for the
 * owner (framework or executor); sim_stream_response takes a second one for
 * libmicrohttpd, dropped when MHD frees the response. sim_stream_unref by the
 * owner after closing.
 * Threads: any; each stream has its own mutex, taken inside the simulator's
 * global mutex and never around it. */
#ifndef MCM_SIM_STREAM_H
#define MCM_SIM_STREAM_H

#include <microhttpd.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sim_stream sim_stream;

sim_stream *sim_stream_new(const char *label);   /* label shown in logs */
void sim_stream_unref(sim_stream *st);           /* NULL-safe */
/* The MHD response for conn; the content type is application/x-protobuf. */
struct MHD_Response *sim_stream_response(sim_stream *st, struct MHD_Connection *conn);
/* Appends bytes (a whole record). Dropped silently once closed or dead. */
void sim_stream_push(sim_stream *st, const uint8_t *data, size_t len);
void sim_stream_close(sim_stream *st, int abort_conn);
/* Holds (on=1) or releases (on=0) what is queued: while held nothing reaches
 * the client, as if the network stalled; a hang-up is still noticed. */
void sim_stream_hold(sim_stream *st, int on);
/* 1 once the client hung up, the transfer failed or MHD let go of it. */
int sim_stream_dead(sim_stream *st);
/* Bytes queued and not yet handed to MHD. */
size_t sim_stream_backlog(sim_stream *st);
/* Process shutdown: every stream ends (dead) and every suspended one is
 * resumed, so that the daemons can be stopped; no stream suspends after it. */
void sim_stream_shutdown_all(void);

#endif
