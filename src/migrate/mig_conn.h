/* mig_conn.h -- a blocking, pipelining memcached meta-protocol connection.
 *
 * One TCP connection to one memcached ("host:port"). Requests are queued in
 * an output buffer (mig_conn_mg/ms/md/mn/raw) and sent by mig_conn_flush;
 * replies come back in request order through mig_conn_reply. While flushing,
 * the connection also drains what the server already answered, so a long
 * pipeline never deadlocks on full socket buffers.
 *
 * Every wait (connect, write, read) is bounded by the connection's timeout
 * (no progress for timeout_ms = failure). Errors are sticky, hiredis style:
 * after a connection, protocol or timeout error every call returns MCM_ERR
 * and mig_conn_errstr() says why; the caller drops the connection.
 *
 * Values are binary-safe, up to mig_conn_set_max_value() bytes (default
 * MIG_VALUE_MAX_DEFAULT); keys are mig_key tokens (mig_key.h).
 *
 * Ownership: a reply's value points into the connection's buffer and stays
 * valid until the next call on the connection.
 * Threads: a connection belongs to one thread at a time. */
#ifndef MCM_MIG_CONN_H
#define MCM_MIG_CONN_H

#include "mig_key.h"
#include "mig_proto.h"
#include <stddef.h>

#define MIG_VALUE_MAX_DEFAULT (64u * 1024 * 1024)
#define MIG_ADDR_MAX 320

typedef struct mig_conn mig_conn;

/* Connects to "host:port" ("[v6]:port" too) within timeout_ms. NULL with a
 * reason in err. */
mig_conn *mig_conn_open(const char *addr, int timeout_ms, char *err, size_t errlen);
void mig_conn_free(mig_conn *c);                 /* NULL-safe */
const char *mig_conn_addr(const mig_conn *c);
const char *mig_conn_errstr(const mig_conn *c);  /* "" while healthy */
void mig_conn_set_max_value(mig_conn *c, size_t max);

/* Queue one request; `flags` is the meta flag string ("v f t c u"), the `b`
 * flag is added when the key token is base64. MCM_ERR after a sticky error or
 * out of memory. */
int mig_conn_mg(mig_conn *c, const mig_key *k, const char *flags);
int mig_conn_ms(mig_conn *c, const mig_key *k, const void *value, size_t len, const char *flags);
int mig_conn_md(mig_conn *c, const mig_key *k, const char *flags);
int mig_conn_mn(mig_conn *c);
/* A raw command line (CRLF added), e.g. "lru_crawler metadump hash". */
int mig_conn_raw(mig_conn *c, const char *line);

/* Sends everything queued. */
int mig_conn_flush(mig_conn *c);
/* Flushes, then waits for the next reply. MCM_OK, or MCM_ERR (sticky). */
int mig_conn_reply(mig_conn *c, mig_reply *r);

/* Streams raw bytes to feed(arg, buf, len) until it reports the end: feed
 * returns how many bytes it consumed and sets *done; bytes it leaves stay
 * for the next reply. feed returning -1 (reason in its own state) stops the
 * stream with MCM_ERR (the connection is then broken: its position in the
 * byte stream is unknown). Used for `lru_crawler metadump`. */
typedef long (*mig_feed_fn)(void *arg, const char *buf, size_t len, int *done);
int mig_conn_stream(mig_conn *c, mig_feed_fn feed, void *arg);

/* Waits at most wait_ms for input, reads what arrived and hands every
 * buffered byte to feed as mig_conn_stream does; *done is ignored. No input
 * within wait_ms is not an error. For `watch` streams (mig_watch.c). */
int mig_conn_drain(mig_conn *c, int wait_ms, mig_feed_fn feed, void *arg);

/* Splits "host:port" / "[host]:port" into host and port. MCM_ERR if malformed. */
int mig_addr_split(const char *addr, char *host, size_t hostlen, int *port);

#endif
