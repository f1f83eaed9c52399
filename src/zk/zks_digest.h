/* zks_digest.h -- ZooKeeper's digest ACL id for "user:password".
 *
 * ZooKeeper's digest scheme identifies a client that authenticated with
 * zoo_add_auth("digest", "user:password") as "user:base64(sha1(user:password))";
 * ACLs name that id, never the password. Threads: any (no state). */
#ifndef MCM_ZKS_DIGEST_H
#define MCM_ZKS_DIGEST_H

#include <stddef.h>

/* Writes "user:base64(sha1(auth))" into out. MCM_ERR if auth has no ':' or
 * out is too small. */
int zks_digest_id(const char *auth, char *out, size_t outlen);

#endif
