/* core.c -- the core loop: mailbox, timers, ZooKeeper session and election.
 *
 * What: core_new() wires the modules together (ZooKeeper session, election,
 * state, Mesos client, HTTP, discovery); core_run() takes messages from the
 * mailbox one at a time and runs the timers between them (every 100 ms at
 * least). This file holds the session/election half of the leadership state
 * machine (core_int.h); core_lead.c holds the Mesos half.
 *
 * Why this shape: one owner thread means no locks on scheduler state and one
 * place to check "may I act?" before any Mesos call or ZooKeeper write.
 *
 * Thread: everything here runs on the core thread, except on_zk_event_cb,
 * on_elect_wake_cb (ZooKeeper thread) and on_servers_cb (watch thread), which
 * only post to the mailbox or call thread-safe setters (and, for a lost
 * session, clear c->acting at once). The election's on_elected_cb and
 * on_deposed_cb run on the core thread, from elect_check/elect_tick (elect.h).
 *
 * Invariant: when ZooKeeper says the session expired, or the session has
 * been disconnected for 1/4 of its timeout (elect.h explains why), the core
 * steps down before it handles anything else. */
#define LOG_COMPONENT "core"
#include "core_int.h"
#include "folread.h"
#include "pausewatch.h"
#include "log.h"
#include "mcm.h"
#include "util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONNECT_TIMEOUT_MS 15000

static const char *const role_names[] = {"follower", "starting", "reconciling", "leading"};

const char *core_role_name(core_role r) { return role_names[r]; }

/* A replica that stops leading reads the records again only after this
 * (folread.h: its successor is reading them; a shutdown should not wait). */
#define FOLLOW_DELAY_MS 5000

void core_set_role(core *c, core_role r) {
    if (c->role == r) return;
    log_notice("leadership state %s -> %s", role_names[c->role], role_names[r]);
    if (c->role == ROLE_FOLLOWER) {
        c->term_elected_ms = util_wall_ms();
        c->term_subscribed_ms = c->term_reconciled_ms = 0;
    }
    c->role = r;
    atomic_store(&c->acting, r != ROLE_FOLLOWER);
    fr_follow(c->fr, r == ROLE_FOLLOWER, FOLLOW_DELAY_MS);
    log_set_role(r == ROLE_FOLLOWER ? "follower" : "leader");
    metrics_set(c->mm.is_leader, NULL, r != ROLE_FOLLOWER);
    for (int i = 0; i < 4; i++) {
        const char *lv[] = {role_names[i]};
        metrics_set(c->mm.leader_state, lv, i == (int)r);
    }
    core_publish_snapshot(c);   /* /v1/status shows every transition at once */
}

/* The session may have expired without our knowing: the client notices a
 * silent connection only after 2/3 of the session timeout, and the server
 * expires the session at the full timeout, after which another replica may
 * lead. So a leader stops once disconnected for elect_disconnect_limit_ms()
 * (1/4 of the timeout, see elect.h), keeping a margin for scheduling delays. */
static int zk_in_doubt(core *c) {
    int64_t off = zks_disconnected_ms(c->zk);
    return c->zk_expired || (off > 0 && off >= elect_disconnect_limit_ms(c->el));
}

/* A process stopped (SIGSTOP, a VM pause, swapping) may have lost its
 * session without any event saying so yet: the ZooKeeper client was frozen
 * too. The server expires a session only after a full timeout without a word
 * from us, so a gap shorter than half the timeout is surely harmless; a
 * longer one makes the core step down and verify with ZooKeeper first. */
static int64_t pause_limit_ms(core *c) {
    int64_t half = zks_session_timeout_ms(c->zk) / 2;
    return half < 500 ? 500 : half;
}

/* The longest stop of the process since the loop last woke: what the stop
 * watch saw (pausewatch.h). A core busy for seconds, or blocked in a long
 * ZooKeeper call, is not a stop: timing the core itself stepped a healthy,
 * loaded leader down again and again at N = 1,000 (bench/scale). Without a
 * watch (its thread could not start) the core's own time is all there is. */
static int64_t stopped_ms(core *c, int take) {
    if (c->pw) return take ? pw_take(c->pw) : pw_peek(c->pw);
    return util_now_ms() - c->handling_since_ms;
}

int core_may_act(core *c) {
    if (c->role == ROLE_FOLLOWER || c->stopping || !atomic_load(&c->acting) || zk_in_doubt(c) ||
        !elect_is_leader(c->el))
        return 0;
    if (stopped_ms(c, 0) < pause_limit_ms(c)) return 1;
    c->pause_suspect = 1;   /* stopped while handling a message: the loop steps down next */
    return 0;
}

void core_step_down(core *c, const char *why) {
    if (c->role == ROLE_FOLLOWER) return;
    log_notice("stepping down: %s", why);
    state_snapshot_clear(&c->warm);
    core_set_role(c, ROLE_FOLLOWER);
    mesos_sched_stop(c->ms);          /* closes the subscription; no call after this */
    atomic_fetch_add(&c->term, 1);    /* events of that subscription still queued are dropped */
    fleet_end_term(c->fl);
    core_maint_end_term(c);
    core_probe_end_term(c);
    c->subscribed = 0;
    c->publish_retry_ms = 0;
    c->framework_id[0] = '\0';
    c->fwid_pending[0] = '\0';
    srvlist_free(c->published);
    c->published = NULL;
    const char *to[] = {"follower"};
    metrics_inc(c->mm.leadership_changes, to);
    metrics_set(c->mm.mesos_subscribed, NULL, 0);
    core_publish_leader(c);
    core_publish_snapshot(c);
}

int core_fenced_result(core *c, int rc, const char *what, const char *err) {
    if (rc == MCM_OK) return MCM_OK;
    if (rc == STATE_FENCED) {
        log_warn("%s refused by the ZooKeeper fence: another replica leads", what);
        core_step_down(c, "fenced write");
        return MCM_ERR;
    }
    log_warn("%s failed: %s (will retry)", what, err);
    return MCM_ERR;
}

/* --- callbacks (see Thread above) ------------------------------------------- */

void on_zk_event_cb(void *ctx, zks_event ev) {
    core *c = ctx;
    if (ev == ZKS_EXPIRED) atomic_store(&c->acting, 0);   /* before anything else */
    cq_post(c->q, MSG_ZK_EVENT, NULL, NULL, ev);
}

void on_elect_wake_cb(void *ctx) {
    core *c = ctx;
    cq_post(c->q, MSG_ELECT_WAKE, NULL, NULL, 0);
}

void on_elected_cb(void *ctx) {
    core *c = ctx;   /* elect has logged it */
    core_publish_leader(c);
}

void on_deposed_cb(void *ctx, const char *why) {
    core *c = ctx;
    core_step_down(c, why);
    core_publish_leader(c);
}

void on_servers_cb(const srvlist *l, void *ud) {
    core *c = ud;   /* watch thread: only thread-safe setters here */
    http_set_servers(c->http, l);
    if (c->disc) ecd_set_servers(c->disc, l);
    metrics_set(c->mm.servers_version, NULL, (double)l->version);
    atomic_store(&c->served_version, l->version);
    metrics_set(c->mm.servers, NULL, l->n);
}

/* --- session and election (core thread) ------------------------------------ */

static void zk_event_name(zks_event ev, const char **name) {
    *name = ev == ZKS_CONNECTED ? "connected" : ev == ZKS_DISCONNECTED ? "disconnected"
          : ev == ZKS_EXPIRED ? "expired" : "auth_failed";
}

static void elect_recheck(core *c) {
    char err[256];
    if (c->zk_expired || c->rejoin_at_ms) return;
    if (elect_check(c->el, err, sizeof(err)) != MCM_OK) {
        log_warn("election check failed: %s", err);
        return;
    }
    if (elect_is_leader(c->el) && c->role == ROLE_FOLLOWER && !zk_in_doubt(c) && !c->stopping)
        core_start_leading(c);
    core_publish_leader(c);
}

/* Joining fails while ZooKeeper is unreachable or refuses our identity (ACL):
 * retried with a doubling delay (1 s to 30 s), so the log is not flooded. */
static void rejoin(core *c) {
    char err[256];
    if (elect_join(c->el, err, sizeof(err)) != MCM_OK) {
        c->rejoin_delay_ms = c->rejoin_delay_ms ? c->rejoin_delay_ms * 2 : 1000;
        if (c->rejoin_delay_ms > 30000) c->rejoin_delay_ms = 30000;
        log_warn("cannot join the election: %s%s (retrying in %llds)", err,
                 strstr(err, "auth") || strstr(err, "ACL") ? "; check --zk-auth-file against the ACL of the root" : "",
                 (long long)(c->rejoin_delay_ms / 1000));
        c->rejoin_at_ms = util_now_ms() + c->rejoin_delay_ms;
        return;
    }
    c->rejoin_delay_ms = 0;
    c->rejoin_at_ms = 0;
    elect_recheck(c);
}

static void on_zk_event(core *c, zks_event ev) {
    const char *name;
    zk_event_name(ev, &name);
    const char *lv[] = {name};
    metrics_inc(c->mm.zk_events, lv);
    metrics_set(c->mm.zk_connected, NULL, zks_connected(c->zk));
    http_set_zk_connected(c->http, zks_connected(c->zk));
    if (ev == ZKS_EXPIRED) {
        log_warn("ZooKeeper session expired: stepping down and opening a new session");
        core_step_down(c, "ZooKeeper session expired");
        elect_session_lost(c->el);
        c->zk_expired = 1;
        return;
    }
    if (ev == ZKS_DISCONNECTED) {
        log_warn("ZooKeeper connection lost; the client reconnects within the session");
        return;
    }
    if (ev == ZKS_AUTH_FAILED) {
        log_error("ZooKeeper refused our digest credentials (--zk-auth-file): check user:password");
        return;
    }
    log_info("ZooKeeper connected (session 0x%llx)", (unsigned long long)zks_session_id(c->zk));
    elect_recheck(c);
}

static void reopen_session(core *c) {
    char err[256];
    if (zks_reopen(c->zk, CONNECT_TIMEOUT_MS, err, sizeof(err)) != MCM_OK) {
        log_warn("cannot open a new ZooKeeper session: %s (retrying)", err);
        return;
    }
    c->zk_expired = 0;
    http_set_zk_connected(c->http, zks_connected(c->zk));
    log_notice("new ZooKeeper session 0x%llx; rejoining the election",
               (unsigned long long)zks_session_id(c->zk));
    rejoin(c);
}

/* --- the loop -------------------------------------------------------------- */

static void handle(core *c, cq_msg *m) {
    switch (m->type) {
    case MSG_ZK_EVENT: on_zk_event(c, (zks_event)m->num); break;
    case MSG_ELECT_WAKE: elect_recheck(c); break;
    case MSG_MESOS_EVENT:
        if (m->num != atomic_load(&c->term)) break;   /* from a subscription of an ended term */
        core_on_mesos_event(c, m->data);
        m->data = NULL;   /* consumed */
        break;
    case MSG_MESOS_DOWN:
        if (m->num == atomic_load(&c->term)) core_on_mesos_down(c, m->data);
        break;
    case MSG_OP:
        core_on_op(c, m->data);
        m->data = NULL;
        break;
    case MSG_CALL_DONE: core_on_call_done(c, m->data); break;   /* the message frees the job */
    case MSG_FOLLOWER_COPY: core_on_follower_copy(c, m->data); break;   /* and the copy */
    case MSG_SIGNAL:
        log_notice("signal %d: shutting down gracefully (resigning first)", (int)m->num);
        c->stopping = 1;
        break;
    default: log_warn("unknown mailbox message %d", m->type);
    }
}

/* A message or tick that holds the core this long is logged: every event
 * waits meanwhile (a status update, the election's watch), so an operator
 * should see what held it. */
#define CORE_SLOW_MS 1000

static void note_slow(const char *what, int type, int64_t since) {
    static const char *const names[] = {[MSG_ZK_EVENT] = "ZooKeeper event", [MSG_ELECT_WAKE] = "election wake-up",
                                        [MSG_MESOS_EVENT] = "Mesos event", [MSG_MESOS_DOWN] = "Mesos disconnection",
                                        [MSG_OP] = "operator call", [MSG_SIGNAL] = "signal",
                                        [MSG_CALL_DONE] = "Mesos call's answer",
                                        [MSG_FOLLOWER_COPY] = "follower's copy of the records"};
    int64_t ms = util_now_ms() - since;
    if (ms < CORE_SLOW_MS) return;
    const char *name = type > 0 && (size_t)type < MCM_ARRAY_LEN(names) && names[type] ? names[type] : what;
    log_warn("the core spent %lld ms on one %s; events waited meanwhile", (long long)ms, name);
}

/* A replica the election still names leader but that stepped down (pause,
 * disconnection) takes up leadership again once ZooKeeper confirms it. */
static void maybe_recheck(core *c, int64_t now) {
    if (c->role != ROLE_FOLLOWER || c->stopping || c->zk_expired || c->rejoin_at_ms) return;
    if (!elect_is_leader(c->el) || zk_in_doubt(c) || now < c->recheck_at_ms) return;
    c->recheck_at_ms = now + 1000;
    elect_recheck(c);
}

static void tick(core *c, int64_t now) {
    if (!c->zk_expired) elect_tick(c->el);   /* deposes a leader cut off from ZooKeeper */
    if (c->role != ROLE_FOLLOWER && zk_in_doubt(c))
        core_step_down(c, "ZooKeeper unreachable for 1/4 of the session timeout");
    if (c->zk_expired) reopen_session(c);
    if (c->rejoin_at_ms && now >= c->rejoin_at_ms) rejoin(c);
    if (c->role != ROLE_FOLLOWER) core_lead_tick(c, now);
    maybe_recheck(c, now);
    core_view_on_demand(c, now);
    if (now >= c->next_snapshot_ms) {
        core_publish_periodic(c);
        c->next_snapshot_ms = now + 1000;
    }
}

/* Called when cq_take returns: a stop of the process since the last look
 * (the stop watch's longest gap; without one, a wait far longer than asked)
 * means the session may be gone (see pause_limit_ms). */
static void check_pause(core *c, int64_t waited_since, int64_t now) {
    int64_t gap = c->pw ? stopped_ms(c, 1) : now - waited_since;
    c->handling_since_ms = now;
    if (c->pause_suspect) gap = pause_limit_ms(c);   /* core_may_act saw a stop mid-message */
    c->pause_suspect = 0;
    if (c->role == ROLE_FOLLOWER || gap < pause_limit_ms(c)) return;
    log_warn("the process did not run for %lld ms (paused?): the ZooKeeper session may be gone; stepping down "
             "until ZooKeeper confirms our leadership", (long long)gap);
    core_step_down(c, "process paused");
    c->recheck_at_ms = now + 200;
}

int core_run(core *c) {
    atomic_store(&c->loop_ms, util_now_ms());
    http_set_liveness(c->http, &c->loop_ms, pause_limit_ms(c));
    if (!(c->pw = pw_start()))
        log_warn("cannot start the stop watch thread: a long busy spell of the core will count as a pause");
    rejoin(c);
    int tick_owed = 0;
    while (!c->stopping) {
        int64_t waited_since = util_now_ms();
        /* A tick put off by the rate limit below runs when it is due, not at
         * the next 100 ms idle wake-up. */
        int64_t until_tick = c->next_tick_ms - waited_since;
        int64_t wait_ms = !tick_owed ? 100 : until_tick < 0 ? 0 : until_tick < 100 ? until_tick : 100;
        cq_msg *m = cq_take(c->q, wait_ms);
        check_pause(c, waited_since, util_now_ms());   /* a stop is noticed (and published) first... */
        atomic_store(&c->loop_ms, util_now_ms());      /* ...then HTTP may believe the snapshot again */
        int got = m != NULL;
        if (m) {
            /* A lost session outranks whatever else is queued. */
            if (!atomic_load(&c->acting) && c->role != ROLE_FOLLOWER)
                core_step_down(c, "ZooKeeper session lost");
            int64_t t0 = util_now_ms();
            int batched = 0;
            m = core_take_updates(c, m, &batched);   /* status updates queued together: one store */
            if (batched) note_slow("batch of status updates", -1, t0);
        }
        if (m) {
            int64_t t0 = util_now_ms();
            handle(c, m);
            note_slow("message", m->type, t0);
            cq_msg_free(m);
        }
        /* At most one tick per CORE_TICK_MS: with 1,000 executors reporting,
         * messages come every millisecond, and a tick per message made the
         * leader's steady cost O(N^2) a report interval (bench/scale). */
        int64_t now = util_now_ms();
        if (!got || now >= c->next_tick_ms) {
            tick(c, now);
            note_slow("tick", 0, now);
            c->next_tick_ms = now + CORE_TICK_MS;
            tick_owed = 0;
        } else {
            tick_owed = 1;   /* a message was handled: its tick runs at next_tick_ms */
        }
    }
    core_step_down(c, "shutting down");
    char err[256];
    if (!c->zk_expired && elect_resign(c->el, err, sizeof(err)) != MCM_OK)
        log_warn("could not resign cleanly: %s (followers wait for the session timeout)", err);
    pw_stop(c->pw);
    c->pw = NULL;
    return 0;
}

void core_signal(core *c, int signo) { cq_post(c->q, MSG_SIGNAL, NULL, NULL, signo); }

void free_event(void *ev) { mesos__v1__scheduler__event__free_unpacked(ev, NULL); }
