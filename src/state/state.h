/* state.h -- mcm's durable state in ZooKeeper, written only by the leader, fenced.
 *
 * Layout under the root (all persistent; JSON unless said):
 *   state/framework_id       the Mesos framework ID (plain text)
 *   state/tasks/<task_id>    one task record (state_task as JSON)
 *   state/desired            {"instances": N, "autoscale": <history JSON or null>}
 *   state/version            decimal; +1 with every write (optimistic check)
 *   state/transition         the warm ring transition under way, if any (trn_record.c)
 *   servers                  srvlist JSON clients watch (srvlist.h); written only when
 *                            the list changes; its version only grows
 *   serverset/member_<seq>   ServerSet member per server: {"serviceEndpoint":
 *                            {"host":h,"port":p},"additionalEndpoints":{},
 *                            "status":"ALIVE","shard":K}; shards stable for a
 *                            server's life, new servers take the lowest free shard
 *
 * FENCING: every write is one zoo_multi whose first op checks that the
 * writer's own election member znode (elect_member_path) still exists and
 * whose second bumps state/version. The member znode is ephemeral: once the
 * writer's session has expired it is gone, so a deposed leader's multi fails
 * as a whole (STATE_FENCED) even if it still holds a handle or has since made
 * a new session. The check proves only that our node exists, not that it is
 * lowest (a multi cannot test that), so every write is also refused locally
 * (STATE_FENCED, no ZooKeeper call) unless elect_is_leader(): a follower's
 * node exists too. Together: only a replica that elect says leads, and whose
 * session has not expired, can write.
 *
 * ERRORS of writes: STATE_FENCED -- not the leader, session expired, or the
 * member znode is gone: stop leading. MCM_ERR -- ZooKeeper trouble: "not
 * connected" (nothing was sent: synchronous calls are never made on a
 * disconnected handle, they would stall the owner thread), "connection loss"
 * (sent, outcome unknown: the write may have been applied; retrying is
 * safe, every write is idempotent), too large for ZooKeeper (above ~1 MB,
 * refused before sending), or an ACL refusal.
 *
 * SIZES: one request must stay under ZooKeeper's jute.maxbuffer (1 MiB - 1 by
 * default; above it the server drops the connection). Writes check this
 * first. The servers document is ~88 bytes per server with IP hosts and mcm's
 * 40-character task IDs: 883,194 bytes at 10,000 servers, so about 11,000 is
 * the ceiling (fewer with long host names); a larger list is refused whole.
 * A publication adding thousands of serverset members at once is split into
 * several fenced multis (members first, the servers document last).
 *
 * READS VALIDATE: a malformed task znode is skipped, logged with its path
 * once per distinct set of malformed znodes (not on every reload) and named
 * in state_snapshot.skipped; a malformed framework ID makes state_load fail
 * with STATE_MALFORMED, task records with no framework ID with
 * STATE_CONTRADICTION (both: the replica must not lead; err says how to
 * repair). The full per-znode table is in docs/architecture.md ("What a
 * replica does with each znode").
 *
 * LIMITS: every number read back is held to what mcm itself writes, so no
 * arithmetic on it can overflow. Versions (state/version, the servers
 * document) stay within 0..STATE_VERSION_MAX (2^53 - 1, exact in every JSON
 * reader). At the limit, or above it (a forged document), the servers znode
 * is deleted and created again in one multi with version 1: clients ignore
 * a lower version only from the same znode (same czxid), so they take it;
 * state/version continues from its znode data version. state/desired above
 * state_set_instances_max reads as that maximum (logged once per value) and
 * is never written; beyond INT_MAX it is unknown (-1). Task record times are
 * at most STATE_TIME_MAX_MS, ports 1..65535, host names [A-Za-z0-9._-]
 * (nothing a log line, JSON, YAML or a twemproxy line could be forged
 * with); a reason's control characters are made spaces.
 *
 * THREADS: every function makes synchronous zoo_* calls: owner thread only. */
#ifndef MCM_STATE_H
#define MCM_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "elect.h"
#include "srvlist.h"
#include "zks.h"

#define STATE_FENCED (-2)          /* write refused: we are no longer the leader */
#define STATE_MALFORMED (-3)       /* state_load: the framework ID znode is malformed */
#define STATE_CONTRADICTION (-4)   /* state_load: stored facts contradict each other */

/* Bounds of what mcm writes, and so of what it accepts back (see LIMITS). */
#define STATE_VERSION_MAX 9007199254740991LL    /* 2^53 - 1: exact in every JSON reader */
#define STATE_TIME_MAX_MS 253402300799999LL     /* 9999-12-31T23:59:59.999Z */

#define STATE_ID_MAX 192
#define STATE_HOST_MAX 256
#define STATE_ATTRS_MAX 512
#define STATE_DOMAIN_MAX 64

typedef struct state_task {
    char id[STATE_ID_MAX];
    char agent_id[STATE_ID_MAX];
    char hostname[STATE_HOST_MAX];
    int port;
    int state;                  /* Mesos TaskState number */
    int64_t changed_ms;         /* wall clock of the last state change */
    double cpus, mem_mb;        /* launched resources */
    char reason[128];           /* last status message */
    int64_t drain_until_ms;     /* wall clock: unpublished, killed then; 0 = serving */
    /* where it runs, for placement; optional ("" in records written before) */
    char attrs[STATE_ATTRS_MAX];        /* the agent's attributes, "name:value;name:value" */
    char region[STATE_DOMAIN_MAX], zone[STATE_DOMAIN_MAX];   /* its fault domain, "" if none */
} state_task;

/* What a read of the task records is tagged with, taken just before it:
 * state/version's mzxid (every fenced write sets that znode) and
 * state/tasks' pzxid (every create or delete of a record moves it, mcm's or
 * anyone's). The same mark later means the same records -- unless someone
 * rewrote a record's data by hand, which nothing in mcm or its docs does
 * (the documented repair deletes records). */
typedef struct state_mark {
    int64_t version_mzxid;
    int64_t tasks_pzxid;
    int32_t version_dv;         /* state/version's data version (the task log's clock) */
    int32_t tasks_children;     /* how many znodes state/tasks holds */
} state_mark;

typedef struct state_snapshot {
    char framework_id[STATE_ID_MAX];   /* "" if none stored yet */
    int desired;                       /* -1 if never stored or unreadable */
    char *autoscale_json;              /* NULL if none; malloc'd */
    int64_t version;
    int ntasks;
    state_task *tasks;                 /* malloc'd array */
    int nskipped;
    char (*skipped)[STATE_ID_MAX];     /* malloc'd: task znodes that exist but did not
                                        * decode (valid-ID names only), sorted */
    int marked;                        /* mark is the one taken before tasks were read */
    state_mark mark;
    int nchildren;                     /* task znodes these records account for (decoded or
                                        * skipped), to compare with mark.tasks_children */
} state_snapshot;

typedef struct state state;

state *state_new(zks *z, elect *e);
void state_free(state *s);                    /* NULL-safe */
/* --instances-max: the largest desired count stored or read back (default
 * SRVLIST_MAX_SERVERS). Call once after state_new. */
void state_set_instances_max(state *s, int max);
void state_snapshot_clear(state_snapshot *snap);
/* A deep copy of src into dst (dst's old contents are not freed). MCM_ERR:
 * out of memory, dst cleared. */
int state_snapshot_dup(const state_snapshot *src, state_snapshot *dst);

/* Creates the layout's parent znodes if missing (unfenced, idempotent). */
int state_init(state *s, char *err, size_t errlen);
/* Reads everything (validated). STATE_MALFORMED if the framework ID znode is
 * malformed, STATE_CONTRADICTION if task records exist but no framework ID
 * (an operator must fix either; err says how; out is cleared), MCM_ERR if
 * ZooKeeper fails (try again); skipped task znodes are logged once per set
 * and listed in out->skipped. */
int state_load(state *s, state_snapshot *out, char *err, size_t errlen);
/* state_load for a follower taking over: the small znodes are read as
 * always, but if warm (an earlier state_load's snapshot, NULL allowed) has
 * the mark ZooKeeper has now, its task records are moved into out instead
 * of read again (*reused = 1; warm is left without them). 10,000 records
 * take 0.8-3 s to read on the 2-core benchmark host; two stats do not. */
int state_load_warm(state *s, state_snapshot *out, state_snapshot *warm, int *reused, char *err, size_t errlen);
/* Brings snap's task records (a marked state_load's) up to date by reading
 * only those that state/tasklog names as written since its mark (see
 * state_tasklog.c). MCM_OK: snap holds exactly what ZooKeeper holds at its
 * new mark, *fetched records read. MCM_ERR (err says why): the log does
 * not cover the gap, writes went on meanwhile, a record was changed by hand,
 * or ZooKeeper trouble; snap is then left unmarked, and only a full read
 * will do. */
int state_catch_up(state *s, state_snapshot *snap, int *fetched, char *err, size_t errlen);
/* The mark ZooKeeper has now (zxids 0 for znodes that do not exist yet):
 * two small reads that tell whether a state_load would see other records. */
int state_read_mark(state *s, state_mark *m, char *err, size_t errlen);
int state_mark_same(const state_mark *a, const state_mark *b);   /* 1 if both zxids agree */

/* Fenced writes: MCM_OK, STATE_FENCED, or MCM_ERR (ZooKeeper trouble). */
int state_set_framework_id(state *s, const char *id, char *err, size_t errlen);
int state_clear_framework_id(state *s, char *err, size_t errlen);   /* after TEARDOWN */
int state_put_task(state *s, const state_task *t, char *err, size_t errlen);
int state_delete_task(state *s, const char *task_id, char *err, size_t errlen);
int state_set_desired(state *s, int instances, const char *autoscale_json, char *err, size_t errlen);
/* state/transition: the record of the warm ring transition under way
 * (src/transition/trn_record.c's JSON; the state module stores it as given).
 * Read: *out is the record (malloc'd, caller frees) or NULL if there is none;
 * MCM_ERR on a read error, STATE_MALFORMED if it is larger than mcm writes. */
int state_put_transition(state *s, const char *json, char *err, size_t errlen);
int state_delete_transition(state *s, char *err, size_t errlen);   /* none is fine */
int state_read_transition(state *s, char **out, size_t *len, char *err, size_t errlen);
/* Publishes the list if its servers differ from the stored one: servers znode
 * (version = stored + 1, updated = now; l's own version and updated are
 * ignored) and the serverset members (stable shards by host:port), in one
 * multi unless too big (see SIZES). *published (if not NULL) gets the version
 * now stored. An unchanged list writes nothing. */
int state_publish_servers(state *s, const srvlist *l, int64_t *published, char *err, size_t errlen);

/* Forgets what this process believes the servers znode holds, so the next
 * state_publish_servers reads it again and rewrites it unless it holds
 * exactly the given servers: the leader's repair of a znode someone edited,
 * corrupted or deleted. Versions keep growing past the highest seen. */
void state_servers_refresh(state *s);

/* The published list as stored (any replica; validated). NULL if absent or
 * malformed (reason in err). */
srvlist *state_read_servers(state *s, char *err, size_t errlen);

/* JSON codec of a task record (exposed for tests and GET /v1/tasks). */
char *state_task_to_json(const state_task *t);
int state_task_from_json(const char *buf, size_t len, state_task *out, char *err, size_t errlen);

#endif
