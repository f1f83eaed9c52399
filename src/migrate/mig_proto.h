/* mig_proto.h -- memcached meta-protocol replies, parsed from a byte buffer.
 *
 * The replies of memcached 1.6.18 to mg, ms, md and mn (protocol.txt,
 * "Meta Commands"), as mcm uses them:
 *
 *   VA <size> <flags>*\r\n<size bytes>\r\n   mg hit, value asked for (v)
 *   HD <flags>*\r\n                          mg hit without v; ms stored; md deleted
 *   EN\r\n                                   mg miss
 *   NS\r\n  NF\r\n  EX\r\n                   not stored / not found / CAS mismatch
 *   MN\r\n                                   mn: everything before was answered
 *   ERROR | CLIENT_ERROR <text> | SERVER_ERROR <text>
 *
 * Returned flags are one letter plus a token: c<cas>, f<client flags>,
 * t<remaining TTL s, -1 = none>; others are ignored. A header line is at most
 * MIG_REPLY_LINE_MAX bytes and a value at most the caller's max_value, so a
 * hostile or broken server can never make the reader buffer without bound.
 *
 * The parser is resumable the simple way: it either finds one complete reply
 * at the start of the buffer or says how it needs more; it keeps no state.
 * Threads: any; pure. */
#ifndef MCM_MIG_PROTO_H
#define MCM_MIG_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define MIG_REPLY_LINE_MAX 1024
#define MIG_ERRTEXT_MAX 128

typedef enum {
    MIG_RC_VA,      /* value follows */
    MIG_RC_HD,      /* success without value */
    MIG_RC_EN,      /* miss */
    MIG_RC_NS,      /* not stored */
    MIG_RC_NF,      /* not found */
    MIG_RC_EX,      /* exists: CAS mismatch */
    MIG_RC_MN,      /* end of pipeline marker */
    MIG_RC_ERROR,   /* ERROR, CLIENT_ERROR, SERVER_ERROR: text in msg */
} mig_rc;

enum { MIG_HAVE_CAS = 1, MIG_HAVE_FLAGS = 2, MIG_HAVE_TTL = 4 };

typedef struct mig_reply {
    mig_rc rc;
    unsigned have;            /* MIG_HAVE_* of the flags returned */
    uint64_t cas;
    uint32_t flags;           /* client flags */
    int64_t ttl;              /* remaining seconds, -1 for none */
    const char *value;        /* VA only: points into the parsed buffer */
    size_t vlen;
    char msg[MIG_ERRTEXT_MAX]; /* MIG_RC_ERROR: the server's line */
} mig_reply;

/* Parses one reply at the start of buf[0..len). Returns 1 with *used set to
 * the bytes it spans, 0 if buf holds only part of it, MCM_ERR (reason in
 * err) if it is malformed, too long, or its value is over max_value. */
int mig_proto_parse(const char *buf, size_t len, size_t max_value, mig_reply *r, size_t *used,
                    char *err, size_t errlen);

/* "VA", "HD", ... for messages. */
const char *mig_rc_name(mig_rc rc);

#endif
