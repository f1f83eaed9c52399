/* ctl.h -- mcmctl internals shared by its files (not a library API).
 *
 * mcmctl is an operator's command: one process, one thread, short-lived. It
 * talks to the replicas of ONE installation through their HTTP API
 * (README "HTTP API"), found from --url (a list tried in order) and/or from
 * ZooKeeper (--zk: the election members' identity JSON names each replica's
 * HTTP URL). Files:
 *   ctl_main.c    flags, subcommand dispatch, exit status
 *   ctl_http.c    one HTTP request (libcurl), no redirects followed by curl
 *   ctl_zk.c      read-only ZooKeeper: election members, state/desired
 *   ctl_inst.c    the installation: replica list, "first replica that
 *                 answers", operator calls with the 307 to the leader
 *   ctl_fmt.c     tables, sizes, times, progress lines
 *   ctl_status.c  status        ctl_servers.c servers
 *   ctl_ops.c     scale, restart, teardown (each waits for its result)
 *   ctl_history.c history       ctl_watch.c   watch
 *
 * Errors: every subcommand returns an exit status (CTL_EXIT_*) and, on
 * failure, has printed ONE line to stderr naming the problem ("cannot reach
 * any replica", "token refused", "leader unknown", ...).
 * Ownership: the ctl struct owns every string in it (ctl_inst_free).
 * Threads: main only. */
#ifndef MCM_CTL_H
#define MCM_CTL_H

#include "parse.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_PROGRAM "mcmctl"
#define CTL_EXIT_OK 0
#define CTL_EXIT_FAILED 1
#define CTL_EXIT_USAGE 2

#define CTL_URL_MAX 1024
#define CTL_ERR_MAX 1024

/* Where a replica URL came from: the operator, ZooKeeper, or a leader
 * identity that a replica reported and the target itself confirmed. */
typedef enum ctl_origin { CTL_FROM_FLAG = 0, CTL_FROM_ZK, CTL_FROM_LEADER } ctl_origin;

typedef struct ctl_replica {
    char url[CTL_URL_MAX];      /* base URL, "http://host:port", no trailing '/' */
    ctl_origin from;
} ctl_replica;

typedef struct ctl {
    /* flags (ctl_main.c) */
    char *url_flag;             /* --url: comma-separated list, or NULL */
    parse_zk zk;                /* --zk: hosts NULL when not given */
    char *token_file;           /* --admin-token-file */
    int64_t timeout_ms;         /* --timeout: how long scale/restart/teardown wait */
    int64_t request_ms;         /* --request-timeout: one HTTP request */
    int64_t rate_ms;            /* --rate-window: servers' evictions/s sample */
    int64_t poll_ms;            /* --poll-wait: watch's long poll */
    int64_t changes;            /* --changes: watch exits after this many (0: never) */
    int json, yes;
    /* derived */
    char *token;                /* the admin token, NULL when no file */
    ctl_replica *rep;           /* the installation's replicas, in the order tried */
    int nrep;
    int current;                /* index of the replica that answered last */
    int tty;                    /* stdout is a terminal: progress redraws one line */
} ctl;

/* --- ctl_http.c ---------------------------------------------------------------- */
typedef struct ctl_resp {
    long status;                /* HTTP status; 0 when the request failed */
    char *body;                 /* NUL-terminated, malloc'd (may be "") */
    size_t len;
    char location[CTL_URL_MAX]; /* Location header, "" if none */
    char error[CTL_ERR_MAX];    /* curl's reason when status is 0 */
} ctl_resp;

/* One request to url (absolute). token: sent as Bearer when not NULL. body:
 * JSON for POST, NULL for GET. MCM_OK when an HTTP answer came (any status),
 * MCM_ERR with out->error when none did. */
int ctl_http(const char *method, const char *url, const char *body, const char *token,
             int64_t timeout_ms, ctl_resp *out);
void ctl_resp_clear(ctl_resp *r);                 /* frees body; NULL-safe */
/* The body as JSON (new reference), NULL if it is not JSON. */
json_t *ctl_resp_json(const ctl_resp *r);
/* "CODE: message" of a JSON error body, or the status line, into buf. */
void ctl_resp_reason(const ctl_resp *r, char *buf, size_t len);
/* "scheme://host:port" of an absolute URL into buf; MCM_ERR if it has none. */
int ctl_url_origin(const char *url, char *buf, size_t len);

/* --- ctl_zk.c ------------------------------------------------------------------ */
/* The HTTP URLs of the election members under <root>/leader, lowest sequence
 * (the leader) first, as a JSON array of identity objects (new reference).
 * NULL with a reason in err. */
json_t *ctl_zk_members(const parse_zk *zk, int64_t timeout_ms, char *err, size_t errlen);
/* The data of <root>/<rel> (malloc'd, NUL-terminated), NULL with err. A
 * missing znode is an error naming the path. */
char *ctl_zk_read(const parse_zk *zk, const char *rel, int64_t timeout_ms, char *err, size_t errlen);

/* --- ctl_inst.c ---------------------------------------------------------------- */
/* Builds the replica list from --url and --zk and reads the token. Returns
 * an exit status: CTL_EXIT_OK, or the failure already printed. */
int ctl_inst_init(ctl *c);
void ctl_inst_free(ctl *c);
/* GET path from the first replica that answers at all (starting with the
 * one that answered last). MCM_OK with the answer in out (any status; the
 * caller judges it); MCM_ERR when none answered ("cannot reach any replica"
 * with each one's reason in err). */
int ctl_get(ctl *c, const char *path, int64_t timeout_ms, ctl_resp *out, char *err, size_t errlen);
/* GET path from replica i only; MCM_OK as ctl_get. */
int ctl_get_at(ctl *c, int i, const char *path, ctl_resp *out, char *err, size_t errlen);
/* GET path as JSON from the first replica that answers 200. NULL with err. */
json_t *ctl_get_json(ctl *c, const char *path, char *err, size_t errlen);
/* GET path as JSON from the LEADER (found through /v1/leader). NULL with err
 * ("leader unknown" when no replica knows one). */
json_t *ctl_leader_json(ctl *c, const char *path, char *err, size_t errlen);
/* The leader's base URL into buf; MCM_ERR with err ("leader unknown"). */
int ctl_leader_url(ctl *c, char *buf, size_t len, char *err, size_t errlen);
/* An operator call (POST path with body and the admin token): sent to a
 * replica, a 307 followed to the leader only when the target is a replica of
 * this installation (ctl_inst.c says how that is decided), at most
 * CTL_MAX_HOPS times. MCM_OK with the final 2xx answer in out; MCM_ERR with
 * one line in err (token refused, leader unknown, refused with the server's
 * reason...). *status gets the final HTTP status (0: no answer). */
#define CTL_MAX_HOPS 3
int ctl_operator(ctl *c, const char *path, const char *body, ctl_resp *out, long *status,
                 char *err, size_t errlen);

/* --- ctl_fmt.c ----------------------------------------------------------------- */
/* "12.3 MiB" style into buf. */
void ctl_fmt_bytes(double bytes, char *buf, size_t len);
/* "2026-11-25 05:47:00Z" (UTC) of wall-clock ms into buf. */
void ctl_fmt_time(int64_t wall_ms, char *buf, size_t len);
/* A table: add rows of ncols cells (copied), then print with every column
 * padded to its widest cell; numeric columns (right[k]) right-aligned. */
typedef struct ctl_table ctl_table;
ctl_table *ctl_table_new(int ncols, const char *const *header, const int *right);
int ctl_table_add(ctl_table *t, const char *const *cells);
void ctl_table_print(const ctl_table *t);
void ctl_table_free(ctl_table *t);
/* A progress report: "what: done of total" with a bar (total > 0), "what:
 * done" (total == 0) or "what" alone (total < 0). On a terminal the same
 * line is redrawn, elsewhere a plain line is printed only when the text
 * changes. ctl_progress_end finishes the line. */
void ctl_progress(ctl *c, const char *what, int done, int total, int64_t elapsed_ms);
void ctl_progress_end(ctl *c);
/* Prints "mcmctl: <text>" to stderr, one line. */
void ctl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --- subcommands (each returns an exit status) ----------------------------------- */
int ctl_cmd_status(ctl *c, int argc, char **argv);
int ctl_cmd_servers(ctl *c, int argc, char **argv);
int ctl_cmd_scale(ctl *c, int argc, char **argv);
int ctl_cmd_restart(ctl *c, int argc, char **argv);
int ctl_cmd_teardown(ctl *c, int argc, char **argv);
int ctl_cmd_history(ctl *c, int argc, char **argv);
int ctl_cmd_watch(ctl *c, int argc, char **argv);

/* --- shared by the subcommands (ctl_servers.c) ------------------------------------ */
/* The published list (GET /v1/servers) as JSON, NULL with err. */
json_t *ctl_servers_doc(ctl *c, char *err, size_t errlen);
/* Number of servers in a /v1/servers document. */
int ctl_servers_count(json_t *doc);

#endif
