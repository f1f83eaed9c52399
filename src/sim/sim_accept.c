/* sim_accept.c -- ACCEPT with LAUNCH operations, validated as the Mesos master does.
 *
 * Offer check first (all offers must exist, belong to the caller and sit on
 * one agent); if any fails, every offer named is withdrawn and every task in
 * every LAUNCH becomes TASK_DROPPED (PARTITION_AWARE) or TASK_LOST with
 * REASON_INVALID_OFFERS and no uuid. Then each task alone: exactly one of
 * ExecutorInfo/CommandInfo, unique ID, the offer's agent, resources (plus a
 * new executor's) within what is left of the offers -- else TASK_ERROR,
 * REASON_TASK_INVALID. Whatever the launches leave unused goes back to the
 * agent, refused for the accept's filters (default 5 s).
 * Deviations: command tasks (no ExecutorInfo) are refused with TASK_ERROR
 * (the simulator has no command executor); operations other than LAUNCH are
 * ignored with a warning.
 * Threads: MHD event threads, under s->mu. */
#include "sim_int.h"

#include "mcm.h"

#define LOG_COMPONENT "sim"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double refuse_s(const Mesos__V1__Filters *f) {
    if (!f || !f->has_refuse_seconds || f->refuse_seconds < 0) return 5.0;
    return f->refuse_seconds > 365.0 * 86400 ? 365.0 * 86400 : f->refuse_seconds;
}

static void task_error(sim *s, sim_fw *fw, const Mesos__V1__TaskInfo *ti, const char *agent_id, const char *msg) {
    log_info("framework %s: task %s refused: %s", fw->id, ti->task_id->value, msg);
    sim_task_master_update(s, fw, ti->task_id->value, agent_id,
                           ti->executor ? ti->executor->executor_id->value : NULL, MESOS__V1__TASK_STATE__TASK_ERROR,
                           MESOS__V1__TASK_STATUS__REASON__REASON_TASK_INVALID, msg);
}

/* Checks of one TaskInfo that need no resources; NULL if fine. */
static const char *check_task(sim *s, sim_fw *fw, const Mesos__V1__TaskInfo *ti, const sim_agent *a, char *buf,
                              size_t len) {
    if (!ti->executor == !ti->command)
        return "Task should have at least one (but not both) of CommandInfo or ExecutorInfo present";
    if (!ti->executor) return "mcm-sim runs only tasks with an ExecutorInfo (it has no command executor)";
    if (!ti->executor->command) return "ExecutorInfo has no CommandInfo";
    sim_task *dup = sim_task_find(s, fw->id, ti->task_id->value);
    if (dup && !sim_pb_terminal(dup->state)) {
        snprintf(buf, len, "Task has duplicate ID: %s", ti->task_id->value);
        return buf;
    }
    if (strcmp(ti->agent_id->value, a->id) != 0) {
        snprintf(buf, len, "Task uses invalid agent: %s (the offer is on %s)", ti->agent_id->value, a->id);
        return buf;
    }
    if (ti->executor->framework_id && strcmp(ti->executor->framework_id->value, fw->id) != 0)
        return "ExecutorInfo has an invalid FrameworkID";
    return NULL;
}

/* Validates and launches one task from pool (shrunk on success). */
static void launch_one(sim *s, sim_fw *fw, sim_agent *a, sim_res *pool, const Mesos__V1__TaskInfo *ti) {
    char buf[1200], err[400];
    const char *bad = check_task(s, fw, ti, a, buf, sizeof(buf));
    if (bad) return task_error(s, fw, ti, a->id, bad);
    const char *role = fw->multi_role ? fw->role : NULL;
    sim_res *res = sim_res_from_pb(ti->resources, ti->n_resources, role, err, sizeof(err));
    if (!res) return task_error(s, fw, ti, a->id, err);
    sim_exec *ex = NULL;
    if (sim_exec_lookup(s, fw, a->idx, ti->executor, &ex, err, sizeof(err)) != MCM_OK) {
        sim_res_free(res);
        return task_error(s, fw, ti, a->id, err);
    }
    sim_res *exres = NULL, *need = sim_res_copy(res);
    if (!ex) {
        exres = sim_res_from_pb(ti->executor->resources, ti->executor->n_resources, role, err, sizeof(err));
        if (!exres) {
            sim_res_free(res);
            sim_res_free(need);
            return task_error(s, fw, ti, a->id, err);
        }
        sim_res_add(need, exres);
    }
    if (!sim_res_contains(pool, need)) {
        char have[512], want[512];
        sim_res_format(pool, have, sizeof(have));
        sim_res_format(need, want, sizeof(want));
        snprintf(buf, sizeof(buf), "Task uses more resources (%s) than available in the offers (%s)", want, have);
        sim_res_free(res);
        sim_res_free(exres);
        sim_res_free(need);
        return task_error(s, fw, ti, a->id, buf);
    }
    sim_res_sub(pool, need);
    sim_res_free(need);
    if (!ex) ex = sim_exec_create(s, fw, a->idx, ti->executor, exres);
    sim_task *t = sim_task_new(s, fw, a->idx, ex, ti, res);
    log_info("framework %s: task %s launched on agent %s, executor %s (%s)", fw->id, t->id, a->id, ex->id,
             ex->state == EX_PENDING ? "starting" : "running");
    sim_agent_launch_task(s, t);
}

/* Every task of every LAUNCH: DROPPED/LOST for invalid offers. */
static void drop_all(sim *s, sim_fw *fw, const Mesos__V1__Scheduler__Call__Accept *ac, const char *why) {
    int st = fw->partition_aware ? MESOS__V1__TASK_STATE__TASK_DROPPED : MESOS__V1__TASK_STATE__TASK_LOST;
    char msg[600];
    snprintf(msg, sizeof(msg), "Task launched with invalid offers: %s", why);
    for (size_t i = 0; i < ac->n_operations; i++) {
        const Mesos__V1__Offer__Operation *op = ac->operations[i];
        if (!op->launch) continue;
        for (size_t k = 0; k < op->launch->n_task_infos; k++) {
            const Mesos__V1__TaskInfo *ti = op->launch->task_infos[k];
            sim_task_master_update(s, fw, ti->task_id->value, ti->agent_id->value, NULL, st,
                                   MESOS__V1__TASK_STATUS__REASON__REASON_INVALID_OFFERS, msg);
        }
    }
}

/* Offer check; MCM_OK with the agent, else why in buf. */
static int check_offers(sim *s, sim_fw *fw, const Mesos__V1__Scheduler__Call__Accept *ac, int *agent, char *buf,
                        size_t len) {
    *agent = -1;
    if (ac->n_offer_ids == 0) {
        snprintf(buf, len, "No offers specified");
        return MCM_ERR;
    }
    for (size_t i = 0; i < ac->n_offer_ids; i++) {
        const char *id = ac->offer_ids[i]->value;
        sim_offer *o = sim_offer_find(s, id);
        for (size_t k = 0; k < i; k++)
            if (strcmp(ac->offer_ids[k]->value, id) == 0) {
                snprintf(buf, len, "Duplicate offer %s in ACCEPT", id);
                return MCM_ERR;
            }
        if (!o || o->fw != fw) {
            snprintf(buf, len, "Offer %s is no longer valid", id);
            return MCM_ERR;
        }
        if (*agent >= 0 && o->agent != *agent) {
            snprintf(buf, len, "Aggregated offers must belong to the same agent");
            return MCM_ERR;
        }
        *agent = o->agent;
    }
    return MCM_OK;
}

void sim_master_accept(sim *s, sim_fw *fw, const Mesos__V1__Scheduler__Call__Accept *ac) {
    char why[400];
    int agent;
    if (check_offers(s, fw, ac, &agent, why, sizeof(why)) != MCM_OK) {
        log_info("framework %s: ACCEPT refused: %s", fw->id, why);
        for (size_t i = 0; i < ac->n_offer_ids; i++) {
            sim_offer *o = sim_offer_find(s, ac->offer_ids[i]->value);
            if (o && o->fw == fw) sim_offer_remove(s, o);
        }
        drop_all(s, fw, ac, why);
        return;
    }
    sim_res *pool = sim_res_new();
    for (size_t i = 0; i < ac->n_offer_ids; i++) {
        sim_offer *o = sim_offer_find(s, ac->offer_ids[i]->value);
        sim_res_add(pool, o->res);
        sim_offer_remove(s, o);
    }
    sim_agent *a = &s->agents[agent];
    for (size_t i = 0; i < ac->n_operations; i++) {
        const Mesos__V1__Offer__Operation *op = ac->operations[i];
        if (!op->has_type || op->type != MESOS__V1__OFFER__OPERATION__TYPE__LAUNCH || !op->launch) {
            log_warn("framework %s: offer operation type %d is not supported by mcm-sim; ignored", fw->id,
                     op->has_type ? (int)op->type : 0);
            continue;
        }
        for (size_t k = 0; k < op->launch->n_task_infos; k++) launch_one(s, fw, a, pool, op->launch->task_infos[k]);
    }
    if (!sim_res_empty(pool)) sim_filter_add(s, fw, agent, pool, refuse_s(ac->filters));
    sim_res_free(pool);
}
