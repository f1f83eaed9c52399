/* mig_key.h -- memcached keys as raw bytes, as metadump prints them, and as
 * a meta command carries them.
 *
 * A key is up to MIG_KEY_MAX (250) raw bytes. `lru_crawler metadump` prints
 * it URL-encoded (%XX for every byte outside [A-Za-z0-9-._~], so "%" itself
 * is "%25"). A meta command carries it as one token: the raw bytes when none
 * of them would end or break the token (no byte <= 0x20, no 0x7f), else the
 * base64 of the bytes with the `b` flag, which memcached 1.6.18 accepts only
 * while the token is at most 250 characters (binary keys up to 186 bytes;
 * verified on 1.6.18: 186 stored, 187 "CLIENT_ERROR bad command line format").
 * A longer binary key cannot be named by a meta command at all: the engine
 * counts it as skipped.
 *
 * Threads: any; pure functions, no state. */
#ifndef MCM_MIG_KEY_H
#define MCM_MIG_KEY_H

#include <stddef.h>

#define MIG_KEY_MAX 250            /* memcached's KEY_MAX_LENGTH */
#define MIG_KEY_TOKEN_MAX 250      /* longest token memcached 1.6.18 parses as a key */

/* A key ready for a command line: `tok` (NUL-terminated, len bytes) and
 * whether the command must carry the `b` flag. */
typedef struct mig_key {
    char tok[MIG_KEY_TOKEN_MAX + 1];
    size_t len;
    int b64;
} mig_key;

/* The token for raw key bytes. MCM_ERR if len is 0 or over MIG_KEY_MAX, or
 * the key is binary and its base64 is longer than MIG_KEY_TOKEN_MAX. */
int mig_key_token(const void *raw, size_t len, mig_key *out);

/* Decodes a URL-encoded key (metadump's form) of n bytes into out (at least
 * MIG_KEY_MAX bytes). MCM_ERR on a bad escape, an empty key or one that
 * decodes to more than MIG_KEY_MAX bytes. */
int mig_key_urldecode(const char *s, size_t n, unsigned char *out, size_t *outlen);

#endif
