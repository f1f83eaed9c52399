/* state_int.h -- internals shared by the state module's files (not for callers).
 *
 * state.c          new/free, init, load, framework ID, desired, task writes
 * state_fence.c    op batches and the fenced multi every write goes through
 * state_servers.c  the published server list and the serverset members
 * state_task.c     the task record's JSON codec and its field rules
 * state_codec.c    decoders of state/version, state/framework_id, state/desired
 * state_fetch.c    many znodes read at once (pipelined), for the task records
 * state_tasklog.c  the task log's codec: which records the last writes touched
 * state_catchup.c  a copy of the records brought up to date from that log
 *
 * Threads: owner thread only, like state.h. */
#ifndef MCM_STATE_INT_H
#define MCM_STATE_INT_H

#include <stddef.h>
#include <stdint.h>
#include <zookeeper/zookeeper.h>

#include "state.h"

#define STATE_PATH_MAX 512
/* ZooKeeper refuses any packet above jute.maxbuffer (default 1 MiB - 1) by
 * dropping the connection; keep every multi's estimated size below this. */
#define STATE_PACKET_BUDGET 1000000
#define STATE_TASK_MAX (64 * 1024)              /* largest task znode we read */
#define STATE_DOC_MAX (STATE_PACKET_BUDGET)     /* servers, desired */

/* The task log (state_tasklog.c): covers the writes whose state/version
 * data version dv is in (from, to]; lines "<dv> <id>,<id>\n" or "<dv> *\n",
 * oldest first, for those of them that touched task records. */
#define STATE_TASKLOG_MAX (32 * 1024)
#define STATE_TASKLOG_ENTRY_MAX (8 * 1024)
typedef struct tasklog {
    int32_t from, to;
    char *lines;                /* malloc'd, NUL-terminated; NULL when none */
    size_t len;
} tasklog;
void tasklog_clear(tasklog *l);
void tasklog_reset(tasklog *l, int32_t dv);          /* covers nothing after dv */
/* l followed by one write that gives state/version data version dv and
 * touched ids ("<id>,<id>", "" for none, NULL for too many to name), the
 * oldest lines dropped until the text is at most max bytes. out is new
 * (tasklog_clear it); MCM_ERR only when out of memory. */
int tasklog_append(const tasklog *l, int32_t dv, const char *ids, size_t max, tasklog *out);
char *tasklog_text(const tasklog *l, size_t *len);   /* the znode's data, malloc'd */
/* Strict: MCM_ERR for anything tasklog_text would not write. */
int tasklog_parse(const char *data, size_t len, tasklog *out);
/* 1 if l names every record touched after data version dv (dv in
 * [from, to], no "*" after it): *ids is then "<id>,<id>" ("" for none,
 * malloc'd, may repeat an ID). 0 if it cannot tell. */
int tasklog_since(const tasklog *l, int32_t dv, char **ids);

/* One serverset member as stored. */
typedef struct ss_member {
    char *name;                 /* "member_0000000012" */
    char *host;
    int port;
    int shard;
} ss_member;

struct state {
    zks *z;
    elect *e;
    /* Caches, valid only for the member path they were built under (fence):
     * a new member path means another leader may have written since. */
    char fence[STATE_PATH_MAX];
    int have_version;
    int64_t version;            /* state/version's value */
    int32_t version_stat;       /* its znode data version (the optimistic check) */
    tasklog log;                /* valid with have_version: what state/tasklog holds */
    int have_servers;
    int servers_exists;         /* the servers znode exists */
    int32_t servers_stat;       /* its data version */
    srvlist *servers;           /* stored document, NULL if absent or malformed */
    int64_t servers_floor;      /* version to exceed when the document is malformed */
    int64_t servers_high;       /* highest list version this process has seen or written */
    int have_members;
    ss_member *members;
    int nmembers;
    int servers_replace;        /* stored document out of range: recreate the znode */
    int instances_max;          /* state_set_instances_max */
    int desired_warned;         /* last out-of-range desired count warned about */
    uint64_t skipped_hash;      /* the set of malformed task znodes last logged */
};

/* --- reads of many znodes (state_fetch.c) ------------------------------------ */
typedef struct state_blob {
    int rc;                     /* ZOK, ZNONODE, ZKS_TOO_LARGE (len = its size), other ZooKeeper errors */
    char *data;                 /* ZOK: the data, NUL-terminated, malloc'd */
    int len;
} state_blob;
/* Reads paths[0..n) (absolute), at most max bytes each, into out[0..n)
 * (caller-allocated). MCM_ERR only when out of memory. Owner thread. */
int state_fetch(zks *z, char *const *paths, int n, int max, state_blob *out);
/* "<dir>/<child>" for each child, malloc'd in one block (free the array
 * alone); NULL if out of memory. */
char **state_child_paths(const char *dir, const struct String_vector *sv);
/* Frees the data of b[0..n) and b itself. NULL-safe. */
void state_blobs_free(state_blob *b, int n);

/* --- op batches (state_fence.c) ------------------------------------------- */
typedef struct zbatch zbatch;
zbatch *zbatch_new(void);
void zbatch_free(zbatch *b);
int zbatch_count(const zbatch *b);
size_t zbatch_bytes(const zbatch *b);           /* estimated request size */
/* Each copies path and data. MCM_ERR only when out of memory. */
int zbatch_set(zbatch *b, const char *path, const char *data, size_t len, int version);
int zbatch_create(zbatch *b, const char *path, const char *data, size_t len, struct ACL_vector *acl, int flags);
int zbatch_delete(zbatch *b, const char *path, int version);
/* After a successful fenced_exec: the path op i created (NULL if not a create). */
const char *zbatch_created(const zbatch *b, int i);
/* Estimated bytes an op adds to a request. */
size_t zbatch_op_bytes(const char *path, size_t datalen, const struct ACL_vector *acl);

/* The fence: runs [check member znode, bump state/version, batch ops...] as
 * one multi. MCM_OK, STATE_FENCED or MCM_ERR. On MCM_ERR, *failed_op is the
 * index (within the batch) of the op that failed and *failed_rc its error,
 * or -1 when the failure is not one op's. */
int state_fenced_exec(state *s, zbatch *b, int *failed_op, int *failed_rc, char *err, size_t errlen);
/* Drops every cache when the fence changed; 1 if the caller may write at all. */
int state_fence_current(state *s);
void state_caches_drop(state *s);

/* One task znode as read (state.c): 1 if it decoded into *t, 0 if skipped
 * (reason in why, "" when simply gone), -1 on ZooKeeper trouble. */
int state_decode_task(const char *path, const char *name, const state_blob *b, state_task *t, char *why,
                      size_t whylen, char *err, size_t errlen);

/* MCM_OK if the session is connected, else MCM_ERR with a reason (state.c). */
int state_connected(state *s, char *err, size_t errlen);

/* --- servers (state_servers.c) --------------------------------------------- */
void state_members_clear(state *s);

int state_member_parse(const char *data, int len, ss_member *m);   /* MCM_OK fills m->host (malloc'd) */

/* --- task record names (state_task.c) --------------------------------------- */
/* Task IDs are znode names: [A-Za-z0-9._:-]+, not "." or "..", < STATE_ID_MAX. */
int state_valid_id(const char *id);
/* A host name safe in a log line, JSON, YAML and a twemproxy line:
 * [A-Za-z0-9._-], starting with a letter or digit, at most SRVLIST_HOST_MAX. */
int state_valid_hostname(const char *h);
/* The rules every stored record obeys (written or read); the error names the field. */
int state_task_check(const state_task *t, char *err, size_t errlen);
/* A valid record's JSON (malloc'd, caller frees), or NULL with err. */
char *state_task_record(const state_task *t, char *err, size_t errlen);

/* --- decoders of the small znodes (state_codec.c), exposed for fuzz/ --------- */
/* state/version: 1-16 decimal digits, at most STATE_VERSION_MAX. */
int state_parse_version(const char *data, int len, int64_t *out);
/* state/framework_id: MCM_OK if len bytes are empty or a valid ID (no NUL). */
int state_check_framework_id(const char *data, int len);
/* state/desired: *instances in [0, INT_MAX] (not yet clamped to the maximum),
 * *autoscale the history as compact JSON (malloc'd) or NULL. */
int state_decode_desired(const char *data, size_t len, int *instances, char **autoscale, char *why,
                         size_t whylen);

#endif
