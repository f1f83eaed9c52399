/* mig_dump.h -- parser for `lru_crawler metadump` output (memcached 1.6).
 *
 * memcached answers `lru_crawler metadump <all|hash|classes>` with one line
 * per live item, LF-terminated, then "END\r\n":
 *
 *   key=<URL-encoded key> exp=<unix time, -1 = never> la=<unix time of last
 *   access> cas=<u64> fetch=<yes|no> cls=<slab class> size=<item bytes>
 *
 * (1.6.18 prints exactly these seven; later versions may add fields, which
 * are ignored.) Instead of items it may answer one line "BUSY <text>" (the
 * crawler is running another job: retry later), "BADCLASS <text>", "ERROR"
 * or "CLIENT_ERROR <text>" (no crawler / no metadump).
 *
 * Bounds: a line longer than MIG_DUMP_LINE_MAX, a missing or undecodable key,
 * or a field with a malformed number is skipped and counted (bad_lines); the
 * parser never stops on one hostile line and never buffers more than one
 * line. A refusal at the start is an error (sticky; `busy` tells BUSY apart).
 *
 * Ownership: an item passed to the callback lives only during the call.
 * Threads: one parser belongs to one thread. */
#ifndef MCM_MIG_DUMP_H
#define MCM_MIG_DUMP_H

#include "mig_key.h"
#include <stddef.h>
#include <stdint.h>

#define MIG_DUMP_LINE_MAX 4096

typedef struct mig_dump_item {
    unsigned char key[MIG_KEY_MAX];
    size_t klen;
    int64_t exp;         /* unix time, -1 for no expiry */
    int64_t la;          /* unix time of the last access (or write) */
    uint64_t cas;
    int fetched;         /* fetch=yes */
    int cls;
    uint64_t size;       /* item bytes in memcached, header and key included */
} mig_dump_item;

typedef struct mig_dump mig_dump;
/* Called once per parsed item; a non-zero return stops the parse (error). */
typedef int (*mig_dump_cb)(void *arg, const mig_dump_item *it);

mig_dump *mig_dump_new(mig_dump_cb cb, void *arg);
void mig_dump_free(mig_dump *d);          /* NULL-safe */
/* Feeds bytes; returns how many were consumed (all of them, up to and
 * including the END line), or -1 on a refusal or callback stop (sticky). */
long mig_dump_feed(mig_dump *d, const char *buf, size_t len);
int mig_dump_done(const mig_dump *d);      /* END seen */
int mig_dump_busy(const mig_dump *d);      /* refused with BUSY: retry later */
uint64_t mig_dump_items(const mig_dump *d);
uint64_t mig_dump_bad_lines(const mig_dump *d);
const char *mig_dump_errstr(const mig_dump *d);  /* "" while no error */

/* Parses one item line (no line end) into it. MCM_OK or MCM_ERR. Exposed for
 * tests and for `me` output, whose fields are the same. */
int mig_dump_parse_line(const char *line, size_t len, mig_dump_item *it);

/* memcached's log and dump lines are space-separated name=value tokens
 * (metadump here, `watch` in mig_watch.c). One token from *pos on: 1 with
 * its name and value (not NUL-terminated), 0 at the end of the line,
 * MCM_ERR for a token without '='. */
typedef struct mig_kv {
    const char *name, *value;
    size_t nlen, vlen;
} mig_kv;
int mig_kv_next(const char *line, size_t len, size_t *pos, mig_kv *kv);
/* A decimal value of a token. MCM_ERR if empty, not a number or too large. */
int mig_kv_u64(const char *s, size_t n, uint64_t *out);

#endif
