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
 * predecessor watch fires at once (one round trip, not a session timeout).
 *
 * Watches: every member watches its own node (it vanishing deposes a leader;
 * a member whose node was deleted under a live session rejoins); a follower
 * also watches its predecessor (leadership) and the leader's node,
 * so the identity elect_leader_identity reports stays fresh for followers
 * further back in line (for the second in line both are the same node). With
 * a handful of replicas that extra watch is no herd.
 *
 * Disconnection: while the client is disconnected the session may already be
 * expiring on the server, and another replica may lead once it has. The
 * client notices a silent connection only after 2/3 of the session timeout
 * (its ping deadline), and the server expires the session one full timeout
 * after it last heard from us, so a leader has 1/3 of the timeout left after
 * the disconnection event. elect_tick() deposes the leader once the client has
 * been disconnected for elect_disconnect_limit_ms() = 1/4 of the negotiated
 * timeout, which leaves 1/12 of it as margin for scheduling delays. The owner
 * must call elect_tick() at least every limit/5 (e.g. every 100 ms). When the
 * connection comes back within the same session, the owner's elect_check()
 * elects it again if its node is still lowest. (Measured in
 * tests/election scenario 5: a partitioned leader steps down ~350 ms before
 * the next is elected at a 4 s timeout; with a 2/3 limit the two overlapped.)
 * What this cannot cover: a session ended at once rather than by timeout --
 * someone deleting the leader's member znode, or closing its session with the
 * same id and password -- is learned by the old leader only when its watch or
 * its reconnection tells it, tens of ms after the next leader starts. The
 * state fence refuses the old leader's writes in that window.
 *
 * Owner loop, in short:
 *   wake / ZKS_CONNECTED       -> elect_check
 *   ZKS_EXPIRED                -> elect_session_lost, zks_reopen, elect_join, elect_check
 *   every ~100 ms              -> elect_tick
 *   shutdown                   -> elect_resign (or elect_free), then zks_free
 *
 * Ownership: elect_free() before zks_free() of the same session. */
#ifndef MCM_ELECT_H
#define MCM_ELECT_H

#include <stddef.h>
#include <stdint.h>
#include "zks.h"

typedef struct elect elect;

typedef struct elect_callbacks {
    void *ctx;
    void (*wake)(void *ctx);                            /* ZooKeeper thread: call elect_check soon */
    void (*elected)(void *ctx);                          /* owner thread, from elect_check */
    void (*deposed)(void *ctx, const char *why);         /* owner thread, from any elect_* call */
} elect_callbacks;

/* identity_json is copied; it is the member znode's data. */
elect *elect_new(zks *z, const char *identity_json, const elect_callbacks *cb);
void elect_free(elect *e);                 /* resigns if a member; NULL-safe */

/* Creates the member znode (after start or a session expiry). Idempotent:
 * keeps our node if it still exists, and adopts a node this session created
 * when a connection loss ate the create's reply. */
int elect_join(elect *e, char *err, size_t errlen);
/* Re-evaluates membership and leadership; sets the predecessor/leader watch.
 * If our member node is gone (expired session), reports deposed. If the
 * session is alive but our node is gone (deleted by hand; or a new session
 * after zks_reopen without elect_session_lost), it rejoins at the back of the
 * line. Joins first if not a member. Does nothing after elect_resign until the
 * next elect_join. While disconnected it returns MCM_ERR at once, without a
 * ZooKeeper call, and leaves the role unchanged (elect_tick decides when a
 * silent leader must stop); on an expired session it reports deposed. */
int elect_check(elect *e, char *err, size_t errlen);
/* Deletes our member znode (deposed called if we led). */
int elect_resign(elect *e, char *err, size_t errlen);
/* The session expired: our member znode is gone. Reports deposed at once if
 * we led, without touching ZooKeeper; elect_join must follow (after zks_reopen). */
void elect_session_lost(elect *e);

/* Deposes the leader if the session expired or has been disconnected for
 * elect_disconnect_limit_ms() (see Disconnection). Returns elect_is_leader(). */
int elect_tick(elect *e);
/* 1/4 of the negotiated session timeout. */
int64_t elect_disconnect_limit_ms(const elect *e);
#define ELECT_DISCONNECT_NUM 1
#define ELECT_DISCONNECT_DEN 4

int elect_is_leader(const elect *e);
int elect_is_member(const elect *e);       /* we hold a member znode (as far as we know) */
/* Absolute path of our member znode ("" if none): the fence of state writes. */
const char *elect_member_path(const elect *e);
/* The current leader's identity JSON (malloc'd, caller frees) as of the last
 * elect_check, or NULL if none is known. */
char *elect_leader_identity(const elect *e);

/* Every member of the election as a JSON array (malloc'd, caller frees), in
 * sequence order: each member's identity object plus "member" (its znode
 * name) and "leader" (true for the lowest, which the recipe makes leader).
 * Synchronous; owner thread. NULL with a reason in err (ZooKeeper error).
 * Sets no watch (elect_members.c). */
char *elect_members_json(zks *z, char *err, size_t errlen);

#endif
