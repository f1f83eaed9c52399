/* ecd_proto.h -- the text protocol of an ElastiCache configuration endpoint.
 *
 * The bytes, as the AWS docs describe them and as the clients checked below
 * parse them (reply to `config get cluster`):
 *
 *   CONFIG cluster 0 <bytes>\r\n          <bytes> = length of the payload
 *   <version>\n                           } the payload: version line ends
 *   <host>|<ip>|<port> <host>|<ip>|<port>\n } in LF, node list in LF
 *   \r\n                                  data terminator (not counted)
 *   END\r\n
 *
 * `get AmazonElastiCache:cluster` (engines before 1.4.14) gets the same payload
 * as `VALUE AmazonElastiCache:cluster 0 <bytes>\r\n<payload>\r\nEND\r\n`.
 * Checked against: awslabs elasticache-cluster-config-net (reads exactly
 * <bytes>, then 2 bytes, then expects END; splits the payload on '\n', takes
 * [0] as version and [1] split on ' ' and '|', keeps nodes whose ip parses
 * as an address), dalli-elasticache (version /^(\d+)\r?\n/, nodes need an
 * IPv4 in the ip field) and elasticache_pyclient's captured reply (191 bytes
 * for a 3-node payload, i.e. the count covers "<version>\n<nodes>\n").
 *
 * For an IP host, host and ip are both the IP. For a hostname, ip is its
 * resolved IPv4 (else IPv6) address, or empty if it does not resolve (the
 * AWS clients then skip that node). An empty list is "<version>\n\n".
 *
 * Other commands: `version` -> VERSION 1.6.18 (clients pick `config get`
 * for >= 1.4.14); `stats` -> STAT version 1.6.18 + END (the .NET client and
 * dalli read the engine version there); `quit` closes after the replies
 * already due; `config get <other>` and get of other keys -> END (a miss);
 * anything else, including an empty line -> ERROR. Lines end in \n or \r\n.
 * Before the first list, `config get cluster` answers END (no config yet).
 *
 * Threads: any (pure functions over caller buffers). */
#ifndef MCM_ECD_PROTO_H
#define MCM_ECD_PROTO_H

#include "srvlist.h"
#include <stddef.h>
#include <sys/types.h>

#define ECD_LINE_MAX 2048            /* longer line without '\n': close */
#define ECD_ENGINE_VERSION "1.6.18"

typedef struct ecd_buf {
    char *p;
    size_t len, cap;
} ecd_buf;
int ecd_buf_append(ecd_buf *b, const void *data, size_t len);   /* MCM_OK / MCM_ERR (oom) */
void ecd_buf_free(ecd_buf *b);                                  /* frees p, zeroes b */

/* "<version>\n<host>|<ip>|<port> ...\n", malloc'd, length in *len. Hostnames
 * are resolved with getaddrinfo (blocking) unless resolve is 0, in which case
 * their ip field is left empty. NULL when out of memory. */
char *ecd_payload(const srvlist *l, int resolve, size_t *len);

#define ECD_FEED_OK 0
#define ECD_FEED_QUIT 1      /* `quit`: send what is in out, then close */
#define ECD_FEED_CLOSE 2     /* garbage, overlong line or no memory: close now */

/* Handles every complete line in in[0..len): replies are appended to out,
 * *consumed says how many bytes were used (the rest is an incomplete line to
 * keep). payload may be NULL (no list yet). */
int ecd_proto_feed(const char *in, size_t len, size_t *consumed, const char *payload, size_t plen,
                   ecd_buf *out);

#endif
