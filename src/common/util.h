/* util.h -- small helpers every module needs: clocks, UUIDs, files.
 * Threads: any; nothing here keeps state. */
#ifndef MCM_UTIL_H
#define MCM_UTIL_H

#include <stddef.h>
#include <pthread.h>
#include <stdint.h>

int64_t util_now_ms(void);        /* monotonic clock, for timeouts and intervals */
/* A condition variable whose timed waits use CLOCK_MONOTONIC (util_now_ms's
 * clock), so a wall-clock step neither shortens nor stretches them. */
void util_cond_init_monotonic(pthread_cond_t *cv);
int64_t util_wall_ms(void);       /* wall clock, for timestamps shown to people */
void util_sleep_ms(int64_t ms);
/* FNV-1a, 64 bits, over n bytes, continuing from h (start with
 * UTIL_FNV1A_INIT): the hash of the id index and of the ring fingerprint. */
#define UTIL_FNV1A_INIT 14695981039346656037ULL
uint64_t util_fnv1a(uint64_t h, const void *p, size_t n);

/* "2026-11-25T05:47:00.123Z" into buf (>= 32 bytes). */
void util_rfc3339(int64_t wall_ms, char *buf, size_t len);

/* 16 random bytes laid out as an RFC 4122 version 4 UUID. */
int util_uuid4(uint8_t out[16]);
/* Canonical text form (37 bytes with the NUL). */
void util_uuid_str(const uint8_t uuid[16], char out[37]);

/* Uniform random double in [0, 1) from a thread-local generator. */
double util_rand01(void);

/* Reads a whole small file (up to max bytes) into a NUL-terminated string,
 * trailing newlines stripped. Caller frees. NULL with errstr set on failure. */
char *util_read_file(const char *path, size_t max, char *errstr, size_t errlen);

#endif
