/* fleet_maint.c -- maintenance windows and inverse offers: what the fleet does
 * about them (see fleet_maint.h for the rules and the contract).
 *
 * What: remembers, per agent, the window its offers announce and whether the
 * operator drains it, and the outstanding inverse offers (each with its own
 * window); on every tick it asks the task table which servers must be
 * replaced now and which inverse offers can be accepted.
 *
 * Why this shape: the same split as fleet.c (decide here, perform in the
 * core, core_maint.c). Replacing reuses the operator's restart path
 * (fleet_drain): with warm transitions the replacement starts first, takes
 * the keys, is published, and only then is the old server killed, so the
 * published count never drops for a planned window. Accepting waits for
 * the old server to have ended, so the master sees the agent given up only
 * when it truly is.
 *
 * Mesos behaviour this follows (apache/mesos master.cpp, hierarchical.cpp):
 * an inverse offer stays outstanding until answered or rescinded; it is
 * rescinded when the schedule changes, and a new one follows; offers from a
 * scheduled agent carry the Unavailability however far the window is; a
 * drained agent is deactivated (no offers) and its tasks end with
 * REASON_AGENT_DRAINING.
 *
 * Thread: the core only. Invariants: (1) one entry per agent and per inverse
 * offer ID; (2) an inverse offer is accepted at most once per term (it is
 * removed when the ACCEPT was sent); (3) no action outside what the table
 * and the windows say: no clock, no I/O. */
#define LOG_COMPONENT "maint"
#include "fleet_maint.h"
#include "fleet_int.h"
#include "log.h"
#include "mcm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct maint_agent {
    char id[TT_ID_MAX];
    int has_win;                 /* the latest offer carried an Unavailability */
    fmaint_window win;
    int drained;                 /* a task ended with REASON_AGENT_DRAINING; cleared by its next offer */
} maint_agent;

typedef struct maint_inv {
    char id[TT_ID_MAX];
    char agent_id[TT_ID_MAX];
    fmaint_window win;
    int sending;                 /* ACCEPT handed to the core, outcome not yet known */
} maint_inv;

struct fmaint {
    int64_t horizon_ms;
    maint_agent *agents;
    int nagents, cap_agents;
    maint_inv *invs;
    int ninvs, cap_invs;
    int accepted;
};

/* --- lists ------------------------------------------------------------------------ */

void fmaint_actions_init(fmaint_actions *l) { memset(l, 0, sizeof(*l)); }

void fmaint_actions_clear(fmaint_actions *l) {
    free(l->v);
    fmaint_actions_init(l);
}

static fmaint_action *push(fmaint_actions *l, fmaint_action_kind k, const char *agent_id) {
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 8;
        fmaint_action *v = realloc(l->v, sizeof(*v) * (size_t)cap);
        if (!v) {
            l->oom = 1;
            return NULL;
        }
        l->v = v;
        l->cap = cap;
    }
    fmaint_action *a = &l->v[l->n++];
    memset(a, 0, sizeof(*a));
    a->kind = k;
    snprintf(a->agent_id, sizeof(a->agent_id), "%s", agent_id);
    return a;
}

/* Grows *v (of *cap elements of size sz) to hold one more; MCM_ERR if out of memory. */
static int grow(void **v, int n, int *cap, size_t sz) {
    if (n < *cap) return MCM_OK;
    int c = *cap ? *cap * 2 : 8;
    void *nv = realloc(*v, sz * (size_t)c);
    if (!nv) return MCM_ERR;
    *v = nv;
    *cap = c;
    return MCM_OK;
}

/* --- life --------------------------------------------------------------------------- */

fmaint *fmaint_new(int64_t horizon_ms) {
    fmaint *m = calloc(1, sizeof(*m));
    if (!m) return NULL;
    m->horizon_ms = horizon_ms >= 0 ? horizon_ms : FMAINT_DEFAULT_HORIZON_MS;
    return m;
}

void fmaint_free(fmaint *m) {
    if (!m) return;
    free(m->agents);
    free(m->invs);
    free(m);
}

void fmaint_clear(fmaint *m) {
    m->nagents = m->ninvs = 0;
    m->accepted = 0;
}

int fmaint_outstanding(const fmaint *m) { return m->ninvs; }
int fmaint_accepted(const fmaint *m) { return m->accepted; }

/* --- events ---------------------------------------------------------------------------- */

static maint_agent *agent(fmaint *m, const char *id, int create) {
    for (int i = 0; i < m->nagents; i++)
        if (!strcmp(m->agents[i].id, id)) return &m->agents[i];
    if (!create || grow((void **)&m->agents, m->nagents, &m->cap_agents, sizeof(*m->agents)) != MCM_OK) return NULL;
    maint_agent *a = &m->agents[m->nagents++];
    memset(a, 0, sizeof(*a));
    snprintf(a->id, sizeof(a->id), "%s", id);
    return a;
}

static int inv_index(const fmaint *m, const char *id) {
    for (int i = 0; i < m->ninvs; i++)
        if (!strcmp(m->invs[i].id, id)) return i;
    return -1;
}

static void inv_drop(fmaint *m, int i) {
    m->invs[i] = m->invs[--m->ninvs];
}

static int same_window(const fmaint_window *a, const fmaint_window *b) {
    return a->start_ms == b->start_ms && a->duration_ms == b->duration_ms;
}

void fmaint_on_offer(fmaint *m, const char *agent_id, const fmaint_window *w) {
    if (!agent_id) return;
    maint_agent *a = agent(m, agent_id, w != NULL);
    if (!a) return;
    if (a->drained) log_notice("agent %s offers again after its drain: usable again", agent_id);
    a->drained = 0;   /* a drained agent is deactivated: an offer means it was reactivated */
    if (!w) {
        if (a->has_win) log_notice("agent %s: its maintenance window was removed", agent_id);
        a->has_win = 0;
        return;
    }
    if (!a->has_win || !same_window(&a->win, w))
        log_notice("agent %s: maintenance from %lld (epoch ms) for %lld ms announced in its offers", agent_id,
                   (long long)w->start_ms, (long long)w->duration_ms);
    a->has_win = 1;
    a->win = *w;
}

int fmaint_on_inverse(fmaint *m, const char *id, const char *agent_id, const fmaint_window *w) {
    if (!id || !*id || !agent_id || !*agent_id || !w || strlen(id) >= TT_ID_MAX || strlen(agent_id) >= TT_ID_MAX)
        return MCM_ERR;
    int i = inv_index(m, id);
    if (i < 0) {
        if (m->ninvs >= FMAINT_INVERSE_MAX ||
            grow((void **)&m->invs, m->ninvs, &m->cap_invs, sizeof(*m->invs)) != MCM_OK)
            return MCM_ERR;
        i = m->ninvs++;
        memset(&m->invs[i], 0, sizeof(m->invs[i]));
        snprintf(m->invs[i].id, sizeof(m->invs[i].id), "%s", id);
    }
    snprintf(m->invs[i].agent_id, sizeof(m->invs[i].agent_id), "%s", agent_id);
    m->invs[i].win = *w;
    log_notice("inverse offer %s: agent %s is to be given up from %lld (epoch ms) for %lld ms", id, agent_id,
               (long long)w->start_ms, (long long)w->duration_ms);
    return MCM_OK;
}

void fmaint_on_rescind(fmaint *m, const char *id) {
    int i = id ? inv_index(m, id) : -1;
    if (i < 0) return;
    log_info("inverse offer %s rescinded", id);
    inv_drop(m, i);
}

void fmaint_on_drained(fmaint *m, const char *agent_id) {
    maint_agent *a = agent_id ? agent(m, agent_id, 1) : NULL;
    if (!a || a->drained) return;
    a->drained = 1;
    log_notice("agent %s is drained by the operator: a planned loss; its servers are replaced elsewhere", agent_id);
}

/* --- decisions ---------------------------------------------------------------------------- */

static int due(const fmaint *m, const fmaint_window *w, int64_t now) {
    if (w->start_ms - now > m->horizon_ms) return 0;
    return w->duration_ms < 0 || now < w->start_ms + w->duration_ms;
}

/* The due window of agent_id (offers or an inverse offer), NULL if none. */
static const fmaint_window *due_window(const fmaint *m, const char *agent_id, int64_t now) {
    for (int i = 0; i < m->nagents; i++)
        if (!strcmp(m->agents[i].id, agent_id) && m->agents[i].has_win && due(m, &m->agents[i].win, now))
            return &m->agents[i].win;
    for (int i = 0; i < m->ninvs; i++)
        if (!strcmp(m->invs[i].agent_id, agent_id) && due(m, &m->invs[i].win, now)) return &m->invs[i].win;
    return NULL;
}

int fmaint_blocked(const fmaint *m, const char *agent_id, int64_t now) {
    if (!agent_id) return 0;
    for (int i = 0; i < m->nagents; i++)
        if (!strcmp(m->agents[i].id, agent_id) && m->agents[i].drained) return 1;
    return due_window(m, agent_id, now) != NULL;
}

/* Windows that ended are forgotten (rule 4). */
static void expire(fmaint *m, int64_t now) {
    for (int i = 0; i < m->nagents; i++) {
        fmaint_window *w = &m->agents[i].win;
        if (m->agents[i].has_win && w->duration_ms >= 0 && now >= w->start_ms + w->duration_ms) {
            log_notice("agent %s: maintenance window over", m->agents[i].id);
            m->agents[i].has_win = 0;
        }
    }
}

static void drains(fmaint *m, tt *tasks, int64_t now, fmaint_actions *out) {
    for (int i = 0; i < tt_count(tasks); i++) {
        tt_task *t = tt_at(tasks, i);
        if (!fleet_is_active(t)) continue;
        const fmaint_window *w = due_window(m, t->agent_id, now);
        if (!w) continue;
        fmaint_action *a = push(out, FM_DRAIN, t->agent_id);
        if (!a) return;
        snprintf(a->task_id, sizeof(a->task_id), "%s", t->id);
        long long in_s = (long long)((w->start_ms - now) / 1000);
        if (in_s > 0) snprintf(a->why, sizeof(a->why), "maintenance of its agent in %llds: replaced before it", in_s);
        else snprintf(a->why, sizeof(a->why), "its agent is in a maintenance window: replaced");
    }
}

static void accepts(fmaint *m, const tt *tasks, fmaint_actions *out) {
    for (int i = 0; i < m->ninvs; i++) {
        maint_inv *v = &m->invs[i];
        int left = tt_on_agent(tasks, v->agent_id);
        if (v->sending || left) continue;
        fmaint_action *a = push(out, FM_ACCEPT, v->agent_id);
        if (!a) return;
        snprintf(a->id, sizeof(a->id), "%s", v->id);
        snprintf(a->why, sizeof(a->why), "no server of mcm is left on agent %.100s", v->agent_id);
        v->sending = 1;   /* in flight; undone by fmaint_done(!ok) */
    }
}

void fmaint_tick(fmaint *m, tt *tasks, int64_t now, fmaint_actions *out) {
    expire(m, now);
    drains(m, tasks, now, out);
    accepts(m, tasks, out);
}

void fmaint_done(fmaint *m, const char *id, int ok) {
    int i = id ? inv_index(m, id) : -1;
    if (i < 0) return;
    if (!ok) {
        m->invs[i].sending = 0;   /* the next tick sends it again */
        return;
    }
    log_notice("inverse offer %s accepted: agent %s is free of mcm's servers", id, m->invs[i].agent_id);
    m->accepted++;
    inv_drop(m, i);
}
