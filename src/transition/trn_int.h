/* trn_int.h -- the transition's state, shared by trn.c (the machine),
 * trn_act.c (the action list) and trn_record.c (the stored record). Not a
 * public header: only src/transition includes it. */
#ifndef MCM_TRN_INT_H
#define MCM_TRN_INT_H

#include "trn.h"

/* One server taking part: in R, in R', or both. */
typedef struct trn_part {
    trn_server s;
    int in_from, in_to;
    int source;                 /* walks its keys in COPY, CATCHUP and CLEANUP */
    int alive;
    trn_cmd_kind expect;        /* the command whose answer we wait for, 0 = none */
    int64_t sent_ms;            /* when that command was last sent */
    int64_t heard_ms;           /* its last answer (or sent_ms): CATCHUP resends after resend_ms of silence */
    int answered, done, cold;   /* cold: unsupported or failed, its share is cold */
    trn_progress last;          /* latest answer to COPY (counters for status) */
} trn_part;

struct trn {
    trn_config cfg;
    trn_phase phase;
    int64_t id;
    int64_t started_ms, phase_since_ms, deadline_ms;
    int published_to;           /* R' has been published (CATCHUP reached) */
    int64_t settle_until_ms;    /* COPY done with errors: R' waits until then (0: not settling) */
    trn_server *from, *to;      /* R and R', in the caller's order */
    int nfrom, nto;
    trn_part *parts;            /* R, then the servers of R' not in R */
    int nparts;
};

/* trn.c: back to IDLE, lists freed, the config kept. */
void trn_reset(trn *t);
/* trn.c: the participant with task_id, NULL if none. */
trn_part *trn_find_part(const trn *t, const char *task_id);

/* trn_act.c: appending actions (each sets a->oom and returns NULL/-1 when out
 * of memory; the caller then runs none of the list). */
trn_action *trn_act_push(trn_actions *a, trn_act_kind kind);
void *trn_act_block(trn_actions *a, size_t size);
/* The addresses of list, copied into a block of a. */
const char *const *trn_act_ring(trn_actions *a, const trn_server *list, int n, int *nout);

/* trn_record.c */
/* "host:port" with a host of [A-Za-z0-9._-] or a bracketed IPv6 literal and
 * a port in 1..65535: nothing a log line, YAML pool or config line misreads. */
int trn_addr_ok(const char *addr);
/* 1..TRN_ID_MAX-1 printable ASCII characters, no space, quote or backslash. */
int trn_task_id_ok(const char *id);
int trn_server_check(const trn_server *s, char *err, size_t errlen);
/* Fills t->parts from t->from and t->to; MCM_ERR on duplicates. */
int trn_build_parts(trn *t, char *err, size_t errlen);

#endif
