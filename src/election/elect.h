/* elect.h -- ZooKeeper leader election among mcm-scheduler replicas.
 *
 * The standard recipe: every replica creates an EPHEMERAL|SEQUENTIAL member
 * znode `<root>/leader/member_<seq>` holding its identity JSON; the lowest
 * sequence leads; every other member watches only its immediate predecessor
 * (no herd effect), and re-checks when that node goes.
 *
 * THREADS: the ZooKeeper watcher fires on the client's event thread, where no
 * synchronous call may be made, so the recipe is split: a watch fires ->
 * elect calls `wake(ctx)` (on the ZooKeeper thread: post to the owner's
 * mailbox and return) -> the owner thread calls elect_check(), which does the
 * synchronous work (list children, pick the leader, set the next watch) and
 * invokes `elected` or `deposed` on the owner thread when the role changed.
 * Everything except `wake` runs on the owner thread.
 *
 * Graceful shutdown: elect_resign() deletes the member znode, so a follower's
 * predecessor watch fires at once (one round trip, not a session timeout). */
#ifndef MCM_ELECT_H
#define MCM_ELECT_H

#include <stddef.h>
#include "zks.h"

typedef struct elect elect;

typedef struct elect_callbacks {
    void *ctx;
    void (*wake)(void *ctx);                            /* ZooKeeper thread: call elect_check soon */
    void (*elected)(void *ctx);                          /* owner thread, from elect_check */
    void (*deposed)(void *ctx, const char *why);         /* owner thread, from elect_check/resign */
} elect_callbacks;

/* identity_json is copied; it is the member znode's data. */
elect *elect_new(zks *z, const char *identity_json, const elect_callbacks *cb);
void elect_free(elect *e);                 /* resigns if a member; NULL-safe */

/* Creates the member znode (after start or a session expiry). */
int elect_join(elect *e, char *err, size_t errlen);
/* Re-evaluates membership and leadership; sets the predecessor/leader watch.
 * If our member node is gone (expired session), reports deposed. */
int elect_check(elect *e, char *err, size_t errlen);
/* Deletes our member znode (deposed called if we led). */
int elect_resign(elect *e, char *err, size_t errlen);
/* The session expired: our member znode is gone. Reports deposed at once if
 * we led, without touching ZooKeeper; elect_join must follow (after zks_reopen). */
void elect_session_lost(elect *e);

int elect_is_leader(const elect *e);
/* Absolute path of our member znode ("" if none): the fence of state writes. */
const char *elect_member_path(const elect *e);
/* The current leader's identity JSON (malloc'd, caller frees) as of the last
 * elect_check, or NULL if none is known. */
char *elect_leader_identity(const elect *e);

#endif
