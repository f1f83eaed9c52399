/* recordio.h -- Mesos RecordIO framing: `<decimal length>\n<length bytes>`.
 *
 * The subscription streams of the v1 scheduler and executor APIs are RecordIO:
 * each record is an ASCII decimal length (no sign, no leading '+', never 0),
 * a line feed, then exactly that many bytes of one serialized Event. Records
 * and the chunks libcurl hands us do not align, so the reader is resumable:
 * feed it whatever arrived, then take every complete record.
 *
 * The reader bounds memory: a length over max_record (or a length line longer
 * than 20 digits, or any non-digit before '\n') is a framing error. Errors
 * are sticky (hiredis style): after one, feed and next return MCM_ERR and
 * rio_errstr() says why.
 *
 * Ownership: a record returned by rio_next() points into the reader and stays
 * valid until the next rio_feed()/rio_next()/rio_reader_free().
 * Threads: one reader belongs to one thread. */
#ifndef MCM_RECORDIO_H
#define MCM_RECORDIO_H

#include <stddef.h>
#include <stdint.h>

#define RIO_DEFAULT_MAX_RECORD (4u * 1024 * 1024)

typedef struct rio_reader rio_reader;

rio_reader *rio_reader_new(size_t max_record);   /* 0 = RIO_DEFAULT_MAX_RECORD */
void rio_reader_free(rio_reader *r);             /* NULL-safe */
/* Appends bytes. MCM_OK, or MCM_ERR on a framing error (sticky). */
int rio_feed(rio_reader *r, const void *buf, size_t len);
/* 1 and the next complete record, 0 if none is complete yet, MCM_ERR after an error. */
int rio_next(rio_reader *r, const uint8_t **data, size_t *len);
const char *rio_errstr(const rio_reader *r);     /* "" while no error */
/* Bytes buffered that do not yet form a complete record. */
size_t rio_pending(const rio_reader *r);

/* Writes the record header "<len>\n" into buf; returns its length, or -1 if
 * buflen is too small (24 bytes always suffice). */
int rio_header(size_t len, char *buf, size_t buflen);

#endif
