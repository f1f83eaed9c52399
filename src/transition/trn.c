/* trn.c -- the warm ring transition state machine (see trn.h for the phases
 * and the invariant they keep).
 *
 * Shape: every entry point changes the state, then appends the actions that
 * make the world match it, in the order that keeps the invariant: PERSIST the
 * new phase first (a new leader must continue from it), then PUBLISH, then the
 * commands. Commands are Mesos framework messages, which Mesos does not
 * deliver reliably: each participant has the one command whose answer we wait
 * for (`expect`), and the tick resends it until an answer comes. Executors
 * treat a repeated command of the same transition as the same work.
 *
 * The ring published at any moment ("current ring" C) is R until CATCHUP, R'
 * from then on, less every participant that ended. A loss publishes C at once
 * and aborts: nothing can catch up the keys the lost server held or copied.
 *
 * Threads: one owner (the core). Time: wall clock milliseconds, passed in. */
#include "trn_int.h"
#include "mcm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRN_COPY_MARGIN_MS 2000   /* executors stop copying this long before R' is published */
/* A copy that ended with errors (a target refusing, say: it may have just
 * died) waits this long before R' is published, so that the target's end,
 * which Mesos reports within moments, aborts the transition while R is still
 * the ring: an abort then purges nothing the sources own, and the next
 * transition is warm. Published first, R' would have to be forgotten on
 * every source (a client may have written the moved keys to the dead one). */
#define TRN_ERROR_SETTLE_MS 2000

static const char *const phase_names[TRN_PHASE_COUNT] = {"idle", "copy", "catchup", "cleanup",
                                                         "abort"};
static const char *const cmd_names[] = {"", "copy", "catchup", "cleanup", "stop", "purge"};

const char *trn_phase_name(trn_phase p) {
    return (p >= 0 && p < TRN_PHASE_COUNT) ? phase_names[p] : "unknown";
}

const char *trn_cmd_name(trn_cmd_kind k) {
    return (k >= TRN_CMD_COPY && k <= TRN_CMD_PURGE) ? cmd_names[k] : "unknown";
}

void trn_config_default(trn_config *cfg) {
    cfg->copy_budget_ms = 2 * 60 * 1000;        /* = MIG_DEFAULT_BUDGET_MS */
    cfg->rate_bytes = 1024 * 1024;              /* = MIG_DEFAULT_RATE: client p99 within 2x (bench_migrate) */
    cfg->drain_ms = 60 * 1000;
    cfg->catchup_every_ms = 1000;  /* a follow that ended is asked to start again after this */
    cfg->resend_ms = 5000;
    cfg->cleanup_timeout_ms = 2 * 60 * 1000;
}

trn *trn_new(const trn_config *cfg) {
    trn *t = calloc(1, sizeof(*t));
    if (!t) return NULL;
    if (cfg) t->cfg = *cfg;
    else trn_config_default(&t->cfg);
    return t;
}

void trn_reset(trn *t) {
    free(t->from);
    free(t->to);
    free(t->parts);
    trn_config cfg = t->cfg;
    memset(t, 0, sizeof(*t));
    t->cfg = cfg;
}

void trn_free(trn *t) {
    if (!t) return;
    trn_reset(t);
    free(t);
}

trn_phase trn_phase_of(const trn *t) { return t->phase; }

trn_part *trn_find_part(const trn *t, const char *task_id) {
    for (int i = 0; i < t->nparts; i++)
        if (strcmp(t->parts[i].s.task_id, task_id) == 0) return &t->parts[i];
    return NULL;
}

int trn_published_next(const trn *t) { return t->phase != TRN_IDLE && t->published_to; }

int trn_involves(const trn *t, const char *task_id) {
    return t->phase != TRN_IDLE && trn_find_part(t, task_id) != NULL;
}

/* --- emitting actions ------------------------------------------------------------ */

static void emit_persist(trn *t, trn_actions *out) {
    trn_action *a = trn_act_push(out, TRN_A_PERSIST);
    if (!a) return;
    char *rec = trn_record(t);
    if (!rec || !(a->record = trn_act_block(out, strlen(rec) + 1))) {
        out->oom = 1;
        free(rec);
        return;
    }
    memcpy(a->record, rec, strlen(rec) + 1);
    free(rec);
}

/* The ring published now: R before CATCHUP, R' from then on, less the lost. */
static int current_ring(const trn *t, trn_actions *out, const trn_server **list) {
    const trn_server *base = t->published_to ? t->to : t->from;
    int nbase = t->published_to ? t->nto : t->nfrom, n = 0;
    trn_server *l = trn_act_block(out, sizeof(trn_server) * (size_t)(nbase ? nbase : 1));
    *list = l;
    if (!l) return 0;
    for (int i = 0; i < nbase; i++) {
        const trn_part *p = trn_find_part(t, base[i].task_id);
        if (p && p->alive) l[n++] = base[i];
    }
    return n;
}

static void emit_publish(trn *t, trn_actions *out) {
    const trn_server *list;
    int n = current_ring(t, out, &list);
    trn_action *a = trn_act_push(out, TRN_A_PUBLISH);
    if (!a) return;
    a->servers = list;
    a->nservers = n;
}

/* The rings of one pass over the participants (send_all, a resend): built
 * once, on first use, in the list's blocks, and shared by every command of
 * the pass. A copy per command was N^2: at N = 1,000, 300 MB allocated and
 * copied, and 10-24 s of one tick of the core (bench/scale). A pass ends
 * with the call that made it, so its rings always match the machine. */
typedef struct trn_pass {
    const char *const *to;       /* R' */
    int nto, have_to;
    const char *const *cur, *const *from, *const *pto, *const *lost;   /* a purge's */
    int ncur, nfrom, npto, nlost, have_purge;
} trn_pass;

static const char *const *pass_to(trn *t, trn_actions *out, trn_pass *ps) {
    if (!ps->have_to) ps->to = trn_act_ring(out, t->to, t->nto, &ps->nto), ps->have_to = 1;
    return ps->to;
}

/* ABORT: one PURGE under the ring now published, forgetting the lost ones'
 * shares under R (and R' once it was published). */
static void pass_purge(trn *t, trn_actions *out, trn_pass *ps) {
    if (ps->have_purge) return;
    ps->have_purge = 1;
    const trn_server *cur;
    int n = current_ring(t, out, &cur);
    trn_server *lost = trn_act_block(out, sizeof(trn_server) * (size_t)(t->nparts ? t->nparts : 1));
    int nlost = 0;
    for (int i = 0; lost && i < t->nparts; i++)
        if (!t->parts[i].alive) lost[nlost++] = t->parts[i].s;
    if (!cur || !lost) return;
    ps->cur = trn_act_ring(out, cur, n, &ps->ncur);
    ps->from = trn_act_ring(out, t->from, t->nfrom, &ps->nfrom);
    if (t->published_to) ps->pto = trn_act_ring(out, t->to, t->nto, &ps->npto);
    ps->lost = trn_act_ring(out, lost, nlost, &ps->nlost);
}

/* A command to p over `ring` (names of the pass); returns it for the caller
 * to add to. */
static trn_cmd *emit_cmd(trn *t, trn_actions *out, trn_part *p, trn_cmd_kind kind, const char *const *ring,
                         int nring, int64_t now) {
    trn_action *a = ring ? trn_act_push(out, TRN_A_SEND) : NULL;
    if (!a) return NULL;
    snprintf(a->task_id, sizeof(a->task_id), "%s", p->s.task_id);
    a->cmd.kind = kind;
    a->cmd.id = t->id;
    snprintf(a->cmd.self, sizeof(a->cmd.self), "%s", p->s.addr);
    a->cmd.ring = ring;
    a->cmd.nring = nring;
    if (kind == TRN_CMD_COPY) {
        /* The executor's budget ends before ours: past it the machine
         * publishes R', and a copy still in flight then could overwrite a
         * value a client wrote on the new owner (a late delete only costs a
         * miss). The command also travels: half the time left at most. */
        int64_t left = t->deadline_ms > now ? t->deadline_ms - now : 0;
        int64_t margin = left / 2 < TRN_COPY_MARGIN_MS ? left / 2 : TRN_COPY_MARGIN_MS;
        a->cmd.rate_bytes = t->cfg.rate_bytes;
        a->cmd.budget_ms = left - margin;
    }
    return &a->cmd;
}

static void emit_purge(trn *t, trn_actions *out, trn_part *p, trn_pass *ps, int64_t now) {
    pass_purge(t, out, ps);
    trn_cmd *c = emit_cmd(t, out, p, TRN_CMD_PURGE, ps->cur, ps->ncur, now);
    if (!c) return;
    c->from = ps->from, c->nfrom = ps->nfrom;
    c->to = ps->pto, c->nto = ps->npto;
    c->lost = ps->lost, c->nlost = ps->nlost;
}

/* Sends p the command of the current phase and waits for its answer. */
static void send_phase_cmd(trn *t, trn_actions *out, trn_part *p, trn_pass *ps, int64_t now) {
    const char *const *to = pass_to(t, out, ps);   /* before ps->nto is read */
    p->sent_ms = p->heard_ms = now;
    p->answered = 0;
    switch (t->phase) {
    case TRN_COPY:
    case TRN_CATCHUP:
    case TRN_CLEANUP:
        p->expect = t->phase == TRN_COPY ? TRN_CMD_COPY : t->phase == TRN_CATCHUP ? TRN_CMD_CATCHUP : TRN_CMD_CLEANUP;
        emit_cmd(t, out, p, p->expect, to, ps->nto, now);
        break;
    case TRN_ABORT:
        if (p->source) emit_cmd(t, out, p, TRN_CMD_STOP, to, ps->nto, now);
        p->expect = TRN_CMD_PURGE;
        emit_purge(t, out, p, ps, now);
        break;
    default: break;
    }
}

/* Who gets the phase's command: sources, except in ABORT (everyone alive). */
static int addressed(const trn *t, const trn_part *p) {
    return p->alive && (t->phase == TRN_ABORT || p->source);
}

static void send_all(trn *t, trn_actions *out, int64_t now) {
    trn_pass ps = {0};
    for (int i = 0; i < t->nparts; i++) {
        trn_part *p = &t->parts[i];
        p->done = 0;
        if (addressed(t, p)) send_phase_cmd(t, out, p, &ps, now);
        else p->expect = 0;
    }
}

static void enter(trn *t, trn_phase phase, int64_t deadline, int64_t now) {
    t->phase = phase;
    t->phase_since_ms = now;
    t->deadline_ms = deadline;
}

/* --- phase changes ------------------------------------------------------------------ */

static void go_catchup(trn *t, int64_t now, trn_actions *out) {
    enter(t, TRN_CATCHUP, now + t->cfg.drain_ms, now);
    t->published_to = 1;
    emit_persist(t, out);
    emit_publish(t, out);
    send_all(t, out, now);
}

static void go_cleanup(trn *t, int64_t now, trn_actions *out) {
    enter(t, TRN_CLEANUP, now + t->cfg.cleanup_timeout_ms, now);
    emit_persist(t, out);
    send_all(t, out, now);
}

/* The end: servers of R outside the ring now published are retired. */
static void finish(trn *t, trn_actions *out) {
    const trn_server *cur;
    int n = current_ring(t, out, &cur);
    if (t->phase == TRN_ABORT) emit_publish(t, out);   /* the purges are done (or timed out): now without the lost */
    for (int i = 0; i < t->nparts; i++) {
        const trn_part *p = &t->parts[i];
        int kept = 0;
        for (int j = 0; j < n && !kept; j++) kept = strcmp(cur[j].task_id, p->s.task_id) == 0;
        if (!p->in_from || !p->alive || kept) continue;
        trn_action *a = trn_act_push(out, TRN_A_RETIRE);
        if (a) snprintf(a->task_id, sizeof(a->task_id), "%s", p->s.task_id);
    }
    trn_act_push(out, TRN_A_CLEAR);
    trn_reset(t);
}

/* The ring without the lost server is published only once the purges are
 * done: until then a server may still hold a copy that nothing catches up,
 * and a client that switched to the smaller ring could read it there. The
 * lost server stays listed meanwhile (its share misses, which is safe). */
static void go_abort(trn *t, int64_t now, trn_actions *out) {
    enter(t, TRN_ABORT, now + t->cfg.cleanup_timeout_ms, now);
    emit_persist(t, out);
    send_all(t, out, now);
}

static int all_done(const trn *t) {
    for (int i = 0; i < t->nparts; i++)
        if (addressed(t, &t->parts[i]) && !t->parts[i].done) return 0;
    return 1;
}

static int copy_had_errors(const trn *t) {
    for (int i = 0; i < t->nparts; i++) {
        const trn_part *p = &t->parts[i];
        if (addressed(t, p) && (p->last.errors || p->last.error[0])) return 1;
    }
    return 0;
}

/* COPY is done: publish R' now, or after TRN_ERROR_SETTLE_MS if errors were
 * reported (trn_tick publishes it then). */
static void copy_done(trn *t, int64_t now, trn_actions *out) {
    if (!t->settle_until_ms && copy_had_errors(t)) t->settle_until_ms = now + TRN_ERROR_SETTLE_MS;
    if (t->settle_until_ms && now < t->settle_until_ms) return;
    go_catchup(t, now, out);
}

/* After an answer or a loss: move on if every addressed participant is done. */
static void advance(trn *t, int64_t now, trn_actions *out) {
    if (!all_done(t)) return;
    switch (t->phase) {
    case TRN_COPY: copy_done(t, now, out); break;
    case TRN_CLEANUP:
    case TRN_ABORT: finish(t, out); break;
    default: break;   /* CATCHUP lasts its window whatever the answers */
    }
}

/* --- entry points ------------------------------------------------------------------- */

static int rings_equal(const trn_server *a, int na, const trn_server *b, int nb) {
    if (na != nb) return 0;
    for (int i = 0; i < na; i++) {
        int found = 0;
        for (int j = 0; j < nb && !found; j++) found = strcmp(a[i].addr, b[j].addr) == 0;
        if (!found) return 0;
    }
    return 1;
}

static trn_server *copy_list(const trn_server *l, int n) {
    trn_server *c = malloc(sizeof(*c) * (size_t)(n ? n : 1));
    if (c && n) memcpy(c, l, sizeof(*c) * (size_t)n);
    return c;
}

int trn_begin(trn *t, int64_t id, const trn_server *from, int nfrom, const trn_server *to,
              int nto, int64_t now_ms, trn_actions *out, char *err, size_t errlen) {
    if (t->phase != TRN_IDLE) {
        snprintf(err, errlen, "transition %lld is in phase %s", (long long)t->id,
                 trn_phase_name(t->phase));
        return MCM_ERR;
    }
    if (id <= 0 || nfrom < 1 || nto < 1 || nfrom > TRN_SERVERS_MAX || nto > TRN_SERVERS_MAX) {
        snprintf(err, errlen, "a transition needs an id > 0 and 1..%d servers on each side",
                 TRN_SERVERS_MAX);
        return MCM_ERR;
    }
    if (rings_equal(from, nfrom, to, nto)) {
        snprintf(err, errlen, "the rings are the same: nothing to move");
        return MCM_ERR;
    }
    t->from = copy_list(from, nfrom);
    t->to = copy_list(to, nto);
    t->nfrom = nfrom;
    t->nto = nto;
    t->id = id;
    if (!t->from || !t->to || trn_build_parts(t, err, errlen) != MCM_OK) {
        if (!t->from || !t->to) snprintf(err, errlen, "out of memory");
        trn_reset(t);
        return MCM_ERR;
    }
    t->started_ms = now_ms;
    enter(t, TRN_COPY, now_ms + t->cfg.copy_budget_ms, now_ms);
    emit_persist(t, out);
    send_all(t, out, now_ms);
    advance(t, now_ms, out);   /* no source at all (cannot happen with distinct rings) */
    return MCM_OK;
}

int trn_on_progress(trn *t, const trn_progress *pr, int64_t now_ms, trn_actions *out) {
    if (t->phase == TRN_IDLE || pr->id != t->id) return 0;
    trn_part *p = trn_find_part(t, pr->task_id);
    if (!p || !p->alive || pr->cmd != p->expect) return 0;
    p->answered = 1;
    p->heard_ms = now_ms;
    if (pr->cmd == TRN_CMD_COPY) p->last = *pr;
    if (pr->unsupported || pr->error[0]) p->cold = 1;
    if (pr->done || pr->unsupported || pr->error[0]) p->done = 1;
    advance(t, now_ms, out);
    return 1;
}

int trn_on_lost(trn *t, const char *task_id, int64_t now_ms, trn_actions *out) {
    if (t->phase == TRN_IDLE) return 0;
    trn_part *p = trn_find_part(t, task_id);
    if (!p || !p->alive) return 0;
    p->alive = 0;
    go_abort(t, now_ms, out);   /* again in ABORT: C shrinks, drops for this one too */
    return 1;
}

/* A command whose executor has been silent for resend_ms is sent again: it
 * (or its answers) were lost. An executor at work sends a progress every
 * second (EXEC_MIG_PROGRESS_MS), so a long copy is not asked again every
 * resend_ms: at N = 1,000 that was 200 commands of 20 KB a second for as
 * long as the copies ran, each one ignored. */
static void resend_unfinished(trn *t, int64_t now, trn_actions *out) {
    trn_pass ps = {0};
    for (int i = 0; i < t->nparts; i++) {
        trn_part *p = &t->parts[i];
        if (addressed(t, p) && !p->done && now - p->heard_ms >= t->cfg.resend_ms)
            send_phase_cmd(t, out, p, &ps, now);
    }
}

/* CATCHUP: a source's executor follows its clients from the `catchup`
 * command until the next command comes (mig_follow), with a progress every
 * second, so a source is asked again only when its follow ended (done: an
 * error, an executor that lost its engine) and catchup_every_ms has passed
 * since, or when nothing has been heard of it for resend_ms (the command or
 * the executor was lost). Asking every source every 100 ms, as before, was
 * ten commands a second per source, each carrying R': at N = 1,000, 10,000
 * messages and 200 MB a second through the Mesos master for the whole drain
 * window, every one of them ignored by an executor already following. */
static void catchup_due(trn *t, int64_t now, trn_actions *out) {
    trn_pass ps = {0};
    for (int i = 0; i < t->nparts; i++) {
        trn_part *p = &t->parts[i];
        if (!addressed(t, p)) continue;
        int ended = p->done && now - p->sent_ms >= t->cfg.catchup_every_ms;
        if (!ended && now - p->heard_ms < t->cfg.resend_ms) continue;
        p->done = 0;
        send_phase_cmd(t, out, p, &ps, now);
    }
}

void trn_tick(trn *t, int64_t now_ms, trn_actions *out) {
    switch (t->phase) {
    case TRN_COPY:
        if (now_ms >= t->deadline_ms) go_catchup(t, now_ms, out);   /* cold for the rest */
        else if (t->settle_until_ms) advance(t, now_ms, out);        /* done: R' once the settle is over */
        else resend_unfinished(t, now_ms, out);
        break;
    case TRN_CATCHUP:
        if (now_ms >= t->deadline_ms) {
            go_cleanup(t, now_ms, out);
        } else {
            catchup_due(t, now_ms, out);
        }
        break;
    case TRN_CLEANUP:
    case TRN_ABORT:
        if (now_ms >= t->deadline_ms) finish(t, out);
        else resend_unfinished(t, now_ms, out);
        break;
    default: break;
    }
}

void trn_resume(trn *t, int64_t now_ms, trn_actions *out) {
    if (t->phase == TRN_IDLE) return;
    if (t->phase != TRN_ABORT) emit_publish(t, out);   /* an abort publishes when its purges are done */
    send_all(t, out, now_ms);
}

void trn_get_status(const trn *t, int64_t now_ms, trn_status *s) {
    memset(s, 0, sizeof(*s));
    s->phase = t->phase;
    s->eta_ms = -1;
    if (t->phase == TRN_IDLE) return;
    s->id = t->id;
    s->started_ms = t->started_ms;
    s->phase_since_ms = t->phase_since_ms;
    s->deadline_ms = t->deadline_ms;
    s->from = t->nfrom;
    s->to = t->nto;
    for (int i = 0; i < t->nparts; i++) {
        const trn_part *p = &t->parts[i];
        if (!p->alive && !s->lost[0]) snprintf(s->lost, sizeof(s->lost), "%s", p->s.task_id);
        if (!p->source) continue;
        s->sources++;
        s->sources_done += p->done || t->phase != TRN_COPY;
        s->cold_sources += p->cold;
        s->keys_copied += p->last.keys_copied;
        s->bytes_copied += p->last.bytes_copied;
        s->keys_total += p->last.keys_total;
        s->keys_left += p->last.keys_left;
        s->errors += p->last.errors;
    }
    int64_t spent = now_ms - t->phase_since_ms;
    if (t->phase == TRN_COPY && s->keys_copied > 0 && spent > 0)
        s->eta_ms = (int64_t)((double)s->keys_left * (double)spent / (double)s->keys_copied);
}
