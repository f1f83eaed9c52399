/* trn_msg.h -- the framework messages of a warm ring transition: the
 * scheduler's commands to executors and the executors' answers.
 *
 * Both travel as Mesos framework messages (scheduler MESSAGE call -> executor
 * Event MESSAGE; executor MESSAGE call -> scheduler Event MESSAGE), the
 * channel the executors' reports (report.h) already use, so an executor
 * needs no connection of its own to the scheduler. Mesos delivers them at
 * most once: the scheduler resends a command until it is answered, and an
 * executor treats a repeated command of the same transition as the same work.
 *
 * Encoding (version 1): one compact JSON object, UTF-8, at most
 * TRN_MSG_MAX bytes. A reader accepts any "v" >= 1 and ignores unknown
 * fields; the "type" field tells these messages from reports, which have none.
 *
 *   command   {"v":1,"type":"ring.cmd","id":<transition id>,
 *              "cmd":"copy|catchup|cleanup|stop|drop|purge",
 *              "self":"host:port","owner":"host:port" (drop only),
 *              "ring":["host:port",...],
 *              "rate":<bytes/s, 0 = unlimited>,"budget_ms":<ms>}   (copy only)
 *   answer    {"v":1,"type":"ring.progress","task_id":"...","id":N,"cmd":"copy",
 *              "done":true|false,"unsupported":true|false,"error":"...",
 *              "keys_copied":N,"bytes_copied":N,"keys_total":N,"keys_left":N,
 *              "keys_deleted":N,"errors":N}
 *
 * The meaning of each command is in trn.h. Decoding checks every field as
 * hostile input: kinds by name, counters within int64, rings of valid
 * `host:port` entries (trn_record.c's rules), strings within their bounds.
 *
 * Threads: any; pure functions. Ownership: a decoded command's ring lives in
 * the trn_msg_cmd until trn_msg_cmd_free(). */
#ifndef MCM_TRN_MSG_H
#define MCM_TRN_MSG_H

#include "trn.h"

#define TRN_MSG_MAX (512 * 1024)
#define TRN_MSG_TYPE_CMD "ring.cmd"
#define TRN_MSG_TYPE_PROGRESS "ring.progress"

/* A decoded command: cmd.ring points into names. */
typedef struct trn_msg_cmd {
    trn_cmd cmd;
    char **names;
    int nnames;
} trn_msg_cmd;

/* The JSON of a command (malloc'd, caller frees); NULL if out of memory or
 * over TRN_MSG_MAX. */
char *trn_msg_encode_cmd(const trn_cmd *c);
char *trn_msg_encode_progress(const trn_progress *p);

/* The message's "type": TRN_MSG_CMD, TRN_MSG_PROGRESS, or TRN_MSG_OTHER for
 * anything else (a report, or not JSON): the caller hands it on. */
typedef enum { TRN_MSG_OTHER = 0, TRN_MSG_CMD, TRN_MSG_PROGRESS } trn_msg_kind;
trn_msg_kind trn_msg_kind_of(const char *buf, size_t len);

/* MCM_OK, or MCM_ERR with a reason in err (then *out is empty). */
int trn_msg_decode_cmd(const char *buf, size_t len, trn_msg_cmd *out, char *err, size_t errlen);
void trn_msg_cmd_free(trn_msg_cmd *m);          /* NULL-safe; leaves it empty */
int trn_msg_decode_progress(const char *buf, size_t len, trn_progress *out, char *err,
                            size_t errlen);

#endif
