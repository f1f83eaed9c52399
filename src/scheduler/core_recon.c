/* core_recon.c -- task reconciliation after every SUBSCRIBED and periodically.
 *
 * What: the Mesos recipe (reconciliation.md): explicit RECONCILE of every task
 * in the table (STAGING included), resent with truncated exponential backoff
 * (2 s doubling to 60 s) for tasks not heard from since the run began; once
 * every task has been heard from, one implicit RECONCILE, whose answers about
 * tasks we do not know make us kill them (core_tasks.c). Then LEADING.
 *
 * Why a bound: a task whose agent has not re-registered after a master
 * failover gets no answer at all. After RECON_PATIENCE_MS the leader moves on
 * to LEADING anyway, keeps those tasks as they were (counted, so nothing is
 * launched in their place) and keeps asking about them with the backoff.
 *
 * The run after SUBSCRIBED holds the leader in RECONCILING (nothing is
 * launched before every state is known); the periodic run (every
 * --reconcile-interval) happens while LEADING.
 *
 * Thread: core. Invariant: one reconciliation run at a time (recon_active). */
#define LOG_COMPONENT "recon"
#include "core_int.h"
#include "log.h"
#include "mcm.h"
#include "util.h"

#include <stdlib.h>

#define RECON_FIRST_DELAY_MS 2000
#define RECON_MAX_DELAY_MS 60000
#define RECON_PATIENCE_MS 60000

static int unconfirmed(core *c) {
    int n = 0;
    for (int i = 0; i < tt_count(c->tasks); i++)
        if (!tt_at(c->tasks, i)->confirmed) n++;
    return n;
}

static void send_explicit(core *c) {
    int n = tt_count(c->tasks), k = 0;
    if (n == 0) return;
    const char **ids = calloc((size_t)n, sizeof(*ids));
    const char **agents = calloc((size_t)n, sizeof(*agents));
    if (!ids || !agents) goto out;
    for (int i = 0; i < n; i++) {
        tt_task *t = tt_at(c->tasks, i);
        if (t->confirmed) continue;
        ids[k] = t->id;
        agents[k] = t->agent_id[0] ? t->agent_id : NULL;
        k++;
    }
    char err[512];
    if (k && mesos_sched_reconcile(c->ms, ids, agents, (size_t)k, err, sizeof(err)) != MCM_OK)
        log_warn("explicit reconciliation of %d tasks failed: %s", k, err);
    else if (k)
        log_info("explicit reconciliation of %d tasks sent", k);
out:
    free(ids);
    free(agents);
}

void core_recon_start(core *c, int periodic) {
    int64_t now = util_now_ms();
    if (!periodic) core_set_role(c, ROLE_RECONCILING);   /* a periodic run keeps leading */
    c->recon_active = 1;
    for (int i = 0; i < tt_count(c->tasks); i++) tt_at(c->tasks, i)->confirmed = 0;
    c->recon_started_ms = now;
    c->recon_delay_ms = RECON_FIRST_DELAY_MS;
    c->recon_next_ms = now + c->recon_delay_ms;
    send_explicit(c);
}

void core_recon_heard(core *c, tt_task *t) {
    if (t) t->confirmed = 1;
}

static void finish(core *c, int64_t now, int silent) {
    char err[512];
    if (mesos_sched_reconcile(c->ms, NULL, NULL, 0, err, sizeof(err)) != MCM_OK) {
        log_warn("implicit reconciliation failed: %s (retrying)", err);
        c->recon_next_ms = now + c->recon_delay_ms;
        return;
    }
    if (silent)
        log_warn("reconciliation: %d tasks still unanswered after %ds; leading anyway, still asking",
                 silent, (int)((now - c->recon_started_ms) / 1000));
    else
        log_notice("reconciliation done in %lld ms: every task's state is confirmed",
                   (long long)(now - c->recon_started_ms));
    c->next_full_recon_ms = now + c->cfg->reconcile_interval_ms;
    c->recon_active = 0;
    if (c->role == ROLE_LEADING) return;   /* a periodic run */
    if (!c->term_reconciled_ms) c->term_reconciled_ms = util_wall_ms();
    core_set_role(c, ROLE_LEADING);
    core_balance(c);          /* a surplus (say, a drain cut short by a failover) goes before publishing */
    core_publish_servers(c);
}

void core_recon_tick(core *c, int64_t now) {
    if (!c->recon_active) return;
    int left = unconfirmed(c);
    if (left == 0 || now - c->recon_started_ms >= RECON_PATIENCE_MS) {
        finish(c, now, left);
        return;
    }
    if (now < c->recon_next_ms) return;
    send_explicit(c);
    c->recon_delay_ms = c->recon_delay_ms * 2 > RECON_MAX_DELAY_MS ? RECON_MAX_DELAY_MS : c->recon_delay_ms * 2;
    c->recon_next_ms = now + c->recon_delay_ms;
}
