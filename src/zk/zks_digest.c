/* zks_digest.c -- the digest ACL id (see zks_digest.h), SHA-1 and base64 from
 * OpenSSL's libcrypto (EVP interface: the low-level SHA1() is deprecated in
 * OpenSSL 3). Threads: any. */
#include "zks_digest.h"
#include "mcm.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

int zks_digest_id(const char *auth, char *out, size_t outlen) {
    const char *colon = strchr(auth, ':');
    if (!colon) return MCM_ERR;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(auth, strlen(auth), md, &mdlen, EVP_sha1(), NULL) || mdlen != 20)
        return MCM_ERR;
    unsigned char b64[64];
    int n = EVP_EncodeBlock(b64, md, (int)mdlen);      /* 20 bytes -> 28 chars + NUL */
    int userlen = (int)(colon - auth);
    int w = snprintf(out, outlen, "%.*s:%.*s", userlen, auth, n, (const char *)b64);
    return w > 0 && (size_t)w < outlen ? MCM_OK : MCM_ERR;
}
