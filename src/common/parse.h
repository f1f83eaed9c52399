/* parse.h -- the one place where operator-written values are parsed.
 *
 * Durations, sizes, host:port pairs, zk:// and http:// URLs arrive from flags,
 * environment variables, the Mesos agent's environment and HTTP bodies; they
 * are parsed here and nowhere else. Every function returns MCM_OK or MCM_ERR;
 * on error it writes a short lower-case reason into `err` (no flag name: the
 * caller adds context) and leaves `*out` untouched.
 *
 * Threads: any; no function keeps state. */
#ifndef MCM_PARSE_H
#define MCM_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* "500ms", "10s", "5m", "2h", "7d", "1w", "1.5s"; Mesos spellings ("2secs",
 * "15mins", "100ns") too; a plain number means seconds. Result in ms, >= 0. */
int parse_duration_ms(const char *s, int64_t *out, char *err, size_t errlen);

/* "64MiB", "1GiB", "512KiB", "4096B" (K/M/G/T, KB/MB/GB/TB mean the same
 * binary units, as in memcached and Mesos); a plain number is in
 * `plain_unit` bytes (1 for bytes, 1<<20 for flags documented as MiB). */
int parse_size(const char *s, uint64_t plain_unit, uint64_t *out, char *err, size_t errlen);

/* Whole decimal integer in [min, max]. */
int parse_int64(const char *s, int64_t min, int64_t max, int64_t *out, char *err, size_t errlen);
/* Finite decimal number in [min, max]. */
int parse_double(const char *s, double min, double max, double *out, char *err, size_t errlen);
/* true/false, yes/no, on/off, 1/0. */
int parse_bool(const char *s, int *out, char *err, size_t errlen);

#define PARSE_HOST_MAX 256
typedef struct parse_hostport {
    char host[PARSE_HOST_MAX];   /* without brackets for IPv6 */
    int port;
} parse_hostport;
/* "host:port" or "[v6]:port"; port 1-65535, or 0 too when allow_zero. */
int parse_host_port(const char *s, int allow_zero, parse_hostport *out, char *err, size_t errlen);

/* zk://h1:p1,h2:p2/path -> hosts "h1:p1,h2:p2", path "/path" (no trailing '/',
 * no empty or "."/".." components). Both strings are owned by the struct. */
typedef struct parse_zk {
    char *hosts;
    char *path;
} parse_zk;
int parse_zk_url(const char *s, parse_zk *out, char *err, size_t errlen);
void parse_zk_free(parse_zk *z);     /* frees the strings, not z; NULL-safe */

/* http://h1:p1[,h2:p2...][/prefix] (https too) -> one base URL per host,
 * each checked with libcurl's URL API ("http://h1:p1/prefix", no trailing '/').
 * The array and strings are owned by the struct. */
typedef struct parse_urls {
    int n;
    char **urls;
} parse_urls;
int parse_http_urls(const char *s, parse_urls *out, char *err, size_t errlen);
void parse_urls_free(parse_urls *u);  /* NULL-safe */

/* Formats a duration in ms the way operators write it ("500ms", "10s", "7d"). */
void parse_format_duration(int64_t ms, char *buf, size_t len);

#endif
