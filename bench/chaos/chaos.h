/* chaos.h -- the seeded random fault soak (bench_chaos), shared between its files.
 *
 * bench_chaos.c runs the loop and keeps the figures, chaos_faults.c injects
 * and ends the faults, chaos_check.c reads the installation and judges it.
 * Everything runs on the benchmark's main thread.
 *
 * A cycle: snapshot (servers, memcached pids, a key stored on every server)
 * -> one or two faults begun, held, ended -> bounded wait until the
 * installation has recovered -> the checks, each broken rule one violation
 * (or a "known, issue 17 item N" when it is an open item of that issue). */
#ifndef MCM_BENCH_CHAOS_H
#define MCM_BENCH_CHAOS_H

#include "cluster.h"

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>
#include <zookeeper/zookeeper.h>

#define CH_REPLICAS 3
#define CH_AGENTS 5
#define CH_BASE_SERVERS 3            /* desired toggles between this and +1 */
#define CH_MAX_SERVERS 8
#define CH_SESSION_MS 2000           /* the 2 s sessions */
#define CH_HEARTBEAT_MISSES 3        /* with the simulator's 1 s heartbeat: 3 s of silence drop a stream */
#define CH_HEARTBEAT_S 1
#define CH_MAX_FAULTS 2

typedef enum {
    F_LEADER_KILL,
    F_LEADER_TERM,
    F_LEADER_STOP_SHORT,
    F_LEADER_STOP_LONG,
    F_ZK_RESTART,
    F_MEMCACHED_KILL,
    F_EXECUTOR_KILL,
    F_STREAM_DROP,
    F_HEARTBEAT_LOSS,
    F_STREAM_SILENCE,
    F_AGENT_DOWN_UP,
    F_SCALE,
    F_NKINDS
} ch_kind;

/* Open items of issue 17 a check can recognise (index = item number). */
enum { KNOWN_ITEM2 = 1, KNOWN_MAX };   /* issue 17 item 2, noted only: a slow replacement */

typedef struct ch_srv {
    char task[160];
    char host[64];
    int port;
    pid_t pid;                       /* memcached, from /proc */
    char agent[128];                 /* agent ID (simulator) */
    char key[64];                    /* a key this server owns on the ring (ch_store_owned) */
} ch_srv;

typedef struct ch_snap {
    int n;
    ch_srv s[CH_MAX_SERVERS];
} ch_snap;

/* One fault of a cycle: its kind and what it hit. */
typedef struct ch_fault {
    ch_kind kind;
    int replica;                     /* leader faults: the replica signalled */
    char task[160];                  /* server faults: the task hit ("" none) */
    char agent_id[128];              /* agent down/up */
    int agent_idx;
    int scale_to;                    /* F_SCALE: the count asked for (0: refused) */
    int hold_ms;                     /* between begin and end */
    int ended;
    int64_t wall_begin, wall_end;    /* wall clock ms, for the call log */
} ch_fault;

typedef struct chaos {
    it_cluster *c;
    zhandle_t *zh;                   /* the benchmark's own session, to read the election */
    unsigned seed;
    int desired;                     /* what the installation must converge to */
    char fw[256];                    /* the framework ID of the whole run */
    int64_t call_seq;                /* call log read up to here */
    char stream[64];                 /* the stream of the last accepted SUBSCRIBE */
    int violations;
    int known[KNOWN_MAX];
    int short_mode;
    /* sanitizer scan: how far each log was read */
    int nlogs;
    struct { char path[400]; long off; } logs[4096];
} chaos;

/* --- chaos_faults.c ---------------------------------------------------------- */
const char *ch_kind_name(ch_kind k);
int ch_kind_leader_only(ch_kind k);     /* touches no server: servers must not change */
int ch_kind_leader_process(ch_kind k);  /* signals the leader's process */
/* Fills f's target (the leader, a random server, an agent); 0 if there is none. */
int ch_fault_aim(chaos *ch, ch_fault *f, const ch_snap *before);
void ch_fault_begin(chaos *ch, ch_fault *f);
void ch_fault_end(chaos *ch, ch_fault *f);

/* --- chaos_check.c ----------------------------------------------------------- */
/* The leader's published servers with their memcached pids; 0 if unreadable. */
int ch_snapshot(chaos *ch, ch_snap *out);
/* For every server of the snapshot a key "<prefix>-<n>" it owns on mcm's
 * ring (src/ring, what clients compute), stored there with value, as a
 * client would store it; the count stored. */
int ch_store_owned(ch_snap *s, const char *prefix, const char *value);
/* The index in now of key's owner on the ring of that list, -1 if none. */
int ch_key_owner(const ch_snap *now, const char *key);
/* 1 if key reads back value from its owner on the ring of the list now. */
int ch_key_readable(const ch_snap *now, const char *key, const char *value);
/* Keys the executor of task deleted in abort purges logged at or after
 * since_wall (its "purge deleted N keys" lines): a purge deletes a key
 * whose owner under the transition's old or new ring was lost, because its
 * last write may have died with that server (a miss, never a stale read). */
long ch_purged_since(chaos *ch, const char *task, int64_t since_wall);
/* One pass of the recovery conditions; 1 if all hold. why gets the first
 * failed one. Two replicas leading at once add their bits (1 << index) to
 * *two_leaders. */
int ch_recovered(chaos *ch, char *why, size_t len, int *two_leaders, int *leader_out);
/* The leader's task table has an UNREACHABLE task on an agent the simulator
 * has back (issue 17 item 1). */
int ch_stale_unreachable(chaos *ch, int leader);
/* Call log since the last check: accepted calls on a stale stream (returned),
 * stale attempts refused (*refused), SUBSCRIBE calls after since_wall (*subs). */
int ch_check_calls(chaos *ch, int64_t since_wall, int64_t until_wall, int *refused, int *subs);
/* New sanitizer reports in the logs (every one is a violation: the
 * zoo_amulti leak of issue 17 item 3 is fixed); the first is described in
 * what. */
int ch_scan_sanitizer(chaos *ch, char *what, size_t len);
/* Framework count and ID at the simulator: 1 if exactly ours. */
int ch_one_framework(chaos *ch, char *why, size_t len);
json_t *ch_sim_state(chaos *ch);
/* A string member of a JSON object, "" if absent. */
const char *ch_jstr(json_t *o, const char *key);

int64_t ch_mono_ms(void);
int64_t ch_wall_ms(void);
void ch_sleep_ms(int ms);

#endif
