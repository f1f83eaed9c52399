/* fleet_partition.c -- servers on agents partitioned from the master
 * (--unreachable-grace): the rules, pure; the probing is core_probe.c's.
 *
 * What: TASK_UNREACHABLE means the master lost the agent, not that clients
 * lost memcached. A server that was RUNNING (not draining, not being killed)
 * when Mesos called it UNREACHABLE is KEPT: it stays published, counts
 * toward the desired number (so nothing replaces it) and the core probes
 * its published address (`version`, FLEET_PART_PROBE_EVERY_MS). It is GIVEN
 * UP -- unpublished and replaced, as with no grace -- when
 * FLEET_PART_PROBE_FAILS probes in a row fail (two: one lost connection or
 * slow answer is not enough, and a stopped memcached is still replaced
 * within about two probe timeouts), or when the grace is over. A kept server
 * that comes back RUNNING simply continues (nothing replaced it); one that
 * comes back after it was given up is killed by fleet.c's
 * back_from_partition rule, as before.
 *
 *   NONE --UNREACHABLE stored, keepable--> KEPT --FAILS probes / grace over--> GIVEN_UP
 *     ^  \--UNREACHABLE stored, not keepable (grace 0, not RUNNING)---------->  |
 *     +------------------- any other state stored (RUNNING: continues) --------+
 *   (fleet_part_stored makes every move on a stored record; fleet_on_probe and
 *    fleet_part_tick the moves to GIVEN_UP; fleet_part_resolve the first mark
 *    of a new term's UNREACHABLE records)
 *
 * Failover: the grace runs from the stored record's changed time (the wall
 * clock of the UNREACHABLE update, stored with it), so a new leader keeps an
 * UNREACHABLE server for what is left of it, with its probe count reset.
 * Neither mark is stored: a server an earlier leader had already given up
 * (and replaced) is kept again by a new leader within the grace; it then
 * counts as a surplus, and the step down removes it first (not running).
 *
 * Why here: the decisions are fleet rules (counting, publishing) and must be
 * testable without a network (tests/scheduler/test_fleet.c feeds probe
 * outcomes and a clock); only the socket work is the core's.
 *
 * Thread: the core only; pure. Invariants: only an UNREACHABLE task is
 * KEPT; a GIVEN_UP task is never KEPT again in the same term; with a grace
 * of 0 no task is ever KEPT. */
#define LOG_COMPONENT "fleet"
#include "fleet_int.h"
#include "log.h"
#include "mcm.h"
#include "parse.h"

#include <stdio.h>

#define UNREACHABLE MESOS__V1__TASK_STATE__TASK_UNREACHABLE

static int64_t grace_end(const fleet *f, const tt_task *t) { return t->changed_ms + f->cfg.unreachable_grace_ms; }

int fleet_part_probing(const tt_task *t) {
    return t->state == UNREACHABLE && t->part == FLEET_PART_KEPT && !t->drain_until_ms && !t->kill_sent_ms;
}

int fleet_part_keepable(const fleet *f, const tt_task *t) {
    return f->cfg.unreachable_grace_ms > 0 && tt_serving(t) && t->port > 0 && t->hostname[0];
}

static void kept(fleet *f, tt_task *t, int64_t left_ms, const char *who) {
    char d[32];
    parse_format_duration(left_ms, d, sizeof(d));
    t->part = FLEET_PART_KEPT;
    t->part_fails = 0;
    log_notice("server %s on %s:%d is unreachable for Mesos (agent partitioned from the master): %s it published "
               "while it answers our probes, for at most %s", t->id, t->hostname, t->port, who, d);
}

void fleet_part_stored(fleet *f, tt_task *t, const fleet_action *a) {
    if (t->state != UNREACHABLE) {
        if (t->part == FLEET_PART_KEPT && t->state == MESOS__V1__TASK_STATE__TASK_RUNNING)
            log_notice("server %s on %s:%d is reachable again within its grace: it continues", t->id, t->hostname,
                       t->port);
        t->part = FLEET_PART_NONE;
        return;
    }
    if (t->part != FLEET_PART_NONE) return;
    if (a->kept) kept(f, t, f->cfg.unreachable_grace_ms, "keeping");
    else t->part = FLEET_PART_GIVEN_UP;
}

void fleet_part_resolve(fleet *f, fleet_clock now) {
    for (int i = 0; i < tt_count(f->tasks); i++) {
        tt_task *t = tt_at(f->tasks, i);
        if (t->state != UNREACHABLE || t->part != FLEET_PART_NONE) continue;
        int64_t left = grace_end(f, t) - now.wall_ms;
        if (f->cfg.unreachable_grace_ms > 0 && left > 0 && t->port > 0 && t->hostname[0])
            kept(f, t, left, "a new leader keeps");
        else
            t->part = FLEET_PART_GIVEN_UP;
    }
}

static void give_up(fleet *f, tt_task *t, const char *why, fleet_clock now, fleet_actions *out) {
    t->part = FLEET_PART_GIVEN_UP;
    log_notice("server %s on %s:%d, unreachable for Mesos, is given up (%s): unpublished and replaced", t->id,
               t->hostname, t->port, why);
    fleet_ring_lost(f, t->id, now, out);   /* a transition it takes part in aborts */
    fleet_push(out, FA_PUBLISH);
}

void fleet_part_tick(fleet *f, fleet_clock now, fleet_actions *out) {
    for (int i = 0; i < tt_count(f->tasks); i++) {
        tt_task *t = tt_at(f->tasks, i);
        if (fleet_part_probing(t) && now.wall_ms >= grace_end(f, t)) give_up(f, t, "the --unreachable-grace is over", now, out);
    }
}

void fleet_on_probe(fleet *f, const char *id, int ok, const char *why, fleet_clock now, fleet_actions *out) {
    tt_task *t = f->in_term ? tt_find(f->tasks, id) : NULL;
    if (!t || !fleet_part_probing(t)) return;
    if (ok) {
        if (t->part_fails) log_info("server %s answers our probe again", t->id);
        t->part_fails = 0;
        return;
    }
    t->part_fails++;
    log_info("probe %d of unreachable server %s on %s:%d failed: %s", t->part_fails, t->id, t->hostname, t->port,
             why ? why : "?");
    if (t->part_fails < FLEET_PART_PROBE_FAILS) return;
    char reason[200];
    snprintf(reason, sizeof(reason), "%d probes in a row failed, the last: %.120s", t->part_fails, why ? why : "?");
    give_up(f, t, reason, now, out);
}
