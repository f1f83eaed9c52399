/* sim_admin.c -- the /sim/ fault-control API and the scheduler call log.
 *
 * The endpoints are listed in sim.h (and src/sim/README.md). They answer in
 * every leadership mode, take their arguments from the query string, and
 * reply JSON. The call log is a ring of SIM_CALLS_MAX records, each with a
 * sequence number so tests can ask for what came after a point.
 * Threads: MHD threads, under s->mu. */
#include "sim_int.h"

#include "mcm.h"
#include "util.h"

#define LOG_COMPONENT "sim"
#include "log.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sim_call_log(sim *s, const char *remote, const char *fw, const char *stream, const char *type, int status) {
    if (!s->calls) return;
    sim_call_rec *c = &s->calls[s->ncalls % SIM_CALLS_MAX];
    c->seq = ++s->ncalls;
    c->mono_ms = util_now_ms();
    c->wall_ms = util_wall_ms();
    snprintf(c->remote, sizeof(c->remote), "%s", remote ? remote : "");
    snprintf(c->fw, sizeof(c->fw), "%s", fw ? fw : "");
    snprintf(c->stream, sizeof(c->stream), "%s", stream ? stream : "");
    snprintf(c->type, sizeof(c->type), "%s", type ? type : "-");
    c->status = status;
}

static char *dump(json_t *j) {
    char *out = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return out;
}

static char *calls_json(sim *s, int64_t since) {
    json_t *arr = json_array();
    int64_t first = s->ncalls > SIM_CALLS_MAX ? s->ncalls - SIM_CALLS_MAX : 0;
    for (int64_t i = first; i < s->ncalls; i++) {
        const sim_call_rec *c = &s->calls[i % SIM_CALLS_MAX];
        if (c->seq <= since) continue;
        json_array_append_new(arr, json_pack("{s:I, s:I, s:I, s:s, s:s, s:s, s:s, s:i}", "seq", (json_int_t)c->seq,
                                             "mono_ms", (json_int_t)c->mono_ms, "wall_ms", (json_int_t)c->wall_ms,
                                             "remote", c->remote, "framework_id", c->fw, "stream_id", c->stream,
                                             "type", c->type, "status", c->status));
    }
    return dump(arr);
}

static json_t *fw_json(sim *s, sim_fw *fw) {
    int offers = 0;
    for (sim_offer *o = s->offers; o; o = o->next) offers += o->fw == fw;
    int filters = 0;
    for (sim_filter *f = fw->filters; f; f = f->next) filters++;
    return json_pack("{s:s, s:s, s:s, s:b, s:s, s:b, s:b, s:b, s:b, s:f, s:i, s:i}", "id", fw->id, "name",
                     fw->info->name, "role", fw->role, "connected", fw->stream != NULL, "stream_id", fw->stream_id,
                     "suppressed", fw->suppressed, "removed", fw->removed, "partition_aware", fw->partition_aware,
                     "multi_role", fw->multi_role, "failover_timeout",
                     fw->info->has_failover_timeout ? fw->info->failover_timeout : 0.0, "offers", offers, "filters",
                     filters);
}

static json_t *agent_json(sim *s, sim_agent *a) {
    char total[1024], avail[1024], ep[300];
    sim_res *fr = sim_agent_free_res(s, a->idx);
    sim_res_format(a->total, total, sizeof(total));
    sim_res_format(fr, avail, sizeof(avail));
    sim_res_free(fr);
    snprintf(ep, sizeof(ep), "%s:%d", s->host, a->port);
    return json_pack("{s:i, s:s, s:i, s:s, s:b, s:b, s:s, s:s, s:s, s:s, s:s}", "index", a->idx, "id", a->id, "port",
                     a->port, "endpoint", ep, "gone", a->gone, "partitioned", a->partitioned, "resources", total, "free", avail, "attributes",
                     a->attributes ? a->attributes : "", "region", a->region, "zone", a->zone);
}

static const char *ex_state(sim_exec_state st) {
    switch (st) {
    case EX_PENDING: return "pending";
    case EX_LAUNCHED: return "launched";
    case EX_SUBSCRIBED: return "subscribed";
    default: return "done";
    }
}

static char *state_json(sim *s) {
    json_t *fws = json_array(), *agents = json_array(), *offers = json_array(), *tasks = json_array(),
           *execs = json_array(), *done = json_array();
    for (sim_fw *fw = s->fws; fw; fw = fw->next) json_array_append_new(fws, fw_json(s, fw));
    for (int i = 0; i < s->nagents; i++) json_array_append_new(agents, agent_json(s, &s->agents[i]));
    for (sim_offer *o = s->offers; o; o = o->next) {
        char r[1024];
        sim_res_format(o->res, r, sizeof(r));
        json_array_append_new(offers, json_pack("{s:s, s:s, s:s, s:s}", "id", o->id, "framework_id", o->fw->id,
                                                "agent_id", s->agents[o->agent].id, "resources", r));
    }
    for (sim_task *t = s->tasks; t; t = t->next) {
        int pending = 0;
        for (sim_upd *u = t->updates; u; u = u->next) pending++;
        json_array_append_new(tasks, json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:i}", "id", t->id, "framework_id",
                                               t->fw->id, "agent_id", s->agents[t->agent].id, "executor_id",
                                               t->ex ? t->ex->id : "", "state", sim_pb_task_state(t->state),
                                               "launched", t->launched, "unreachable", t->unreachable,
                                               "pending_updates", pending));
    }
    for (sim_exec *ex = s->execs; ex; ex = ex->next)
        json_array_append_new(execs, json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:b}", "id", ex->id, "framework_id",
                                               ex->fw->id, "agent_id", s->agents[ex->agent].id, "state",
                                               ex_state(ex->state), "pid", (int)ex->pid, "sandbox",
                                               ex->sandbox ? ex->sandbox : "", "connected", ex->stream != NULL));
    int64_t first = s->ndone > SIM_DONE_MAX ? s->ndone - SIM_DONE_MAX : 0;
    for (int64_t i = first; i < s->ndone; i++) {
        int k = (int)(i % SIM_DONE_MAX);
        json_array_append_new(done, json_pack("{s:s, s:s, s:s}", "id", s->done[k].id, "framework_id", s->done[k].fw,
                                              "state", sim_pb_task_state(s->done[k].state)));
    }
    json_t *root = json_pack("{s:s, s:s, s:i, s:b, s:s, s:b, s:b, s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "master_id",
                             s->master_id, "host", s->host, "port", s->port, "leading", sim_leading(s), "leader",
                             sim_leader_location(s), "heartbeats", !s->heartbeats_paused, "silenced", s->silenced,
                             "work_dir", s->cfg.work_dir,
                             "frameworks", fws, "agents", agents, "offers", offers, "tasks", tasks, "executors",
                             execs, "completed_tasks", done);
    json_object_set_new(root, "maintenance", sim_maint_json(s));
    return dump(root);
}

static const char *arg(struct MHD_Connection *c, const char *name) {
    return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
}

static int agent_arg(sim *s, struct MHD_Connection *c) {
    const char *v = arg(c, "agent");
    if (!v || !*v) return -1;
    sim_agent *a = sim_agent_by_id(s, v);
    if (a) return a->idx;
    char *end;
    long i = strtol(v, &end, 10);
    return *end == 0 && i >= 0 && i < s->nagents ? (int)i : -1;
}

static char *ok_json(const char *what) { return dump(json_pack("{s:b, s:s}", "ok", 1, "done", what)); }

static char *err_json(const char *msg) { return dump(json_pack("{s:s}", "error", msg)); }

static char *drop_stream(sim *s, struct MHD_Connection *c, unsigned *code) {
    const char *id = arg(c, "framework");
    int n = 0;
    for (sim_fw *fw = s->fws; fw; fw = fw->next)
        if (fw->stream && (!id || strcmp(id, fw->id) == 0)) {
            sim_fw_disconnect(s, fw, 1, "dropped by /sim/drop-stream");
            n++;
        }
    if (n == 0) {
        *code = 404;
        return err_json("no connected framework matches");
    }
    return dump(json_pack("{s:b, s:i}", "ok", 1, "dropped", n));
}

static char *leader(sim *s, struct MHD_Connection *c, unsigned *code) {
    const char *redirect = arg(c, "redirect"), *leading = arg(c, "leading");
    if (leading && strcmp(leading, "1") == 0) {
        s->admin_follow = 0;
        s->admin_redirect[0] = 0;
        log_notice("admin: leading again");
        return ok_json("leading");
    }
    s->admin_follow = 1;
    s->admin_redirect[0] = 0;
    if (redirect && *redirect) {
        const char *p = strstr(redirect, "://");
        p = p ? p + 3 : redirect;
        size_t n = strcspn(p, "/");
        snprintf(s->admin_redirect, sizeof(s->admin_redirect), "//%.*s", (int)n, p);
    }
    for (sim_fw *fw = s->fws; fw; fw = fw->next)
        if (fw->stream) sim_fw_disconnect(s, fw, 1, "this master stopped leading");
    log_notice("admin: not leading; scheduler calls get %s", s->admin_redirect[0] ? s->admin_redirect : "503");
    return ok_json(s->admin_redirect[0] ? "redirecting" : "no leader");
}

/* Holds (enabled=1) or releases every framework's event stream, present and
 * future: the scheduler sees no event at all (not even SUBSCRIBED after a
 * re-subscription) until released, then everything queued in order. */
static char *silence(sim *s, struct MHD_Connection *c) {
    const char *en = arg(c, "enabled");
    s->silenced = !en || strcmp(en, "0") != 0;
    for (sim_fw *fw = s->fws; fw; fw = fw->next) sim_stream_hold(fw->stream, s->silenced);
    log_notice("admin: event streams %s", s->silenced ? "silenced" : "released");
    return ok_json(s->silenced ? "streams silenced" : "streams released");
}

static char *kill_executor(sim *s, struct MHD_Connection *c, unsigned *code) {
    const char *fid = arg(c, "framework"), *eid = arg(c, "executor"), *sig = arg(c, "signal");
    int signo = sig ? atoi(sig) : SIGKILL;
    for (sim_exec *ex = s->execs; fid && eid && ex; ex = ex->next)
        if (ex->pid > 0 && strcmp(ex->fw->id, fid) == 0 && strcmp(ex->id, eid) == 0) {
            log_notice("admin: signal %d to executor %s (pid %d)", signo, ex->id, (int)ex->pid);
            kill(-ex->pid, signo);
            return dump(json_pack("{s:b, s:i}", "ok", 1, "pid", (int)ex->pid));
        }
    *code = 404;
    return err_json("no running executor with that framework and executor ID");
}

/* /sim/agent/info?agent=I[&attributes=ATTRS][&domain=REGION/ZONE]: an
 * empty value clears (sim_attr_set). */
static char *agent_info(sim *s, struct MHD_Connection *c, unsigned *code) {
    int i = agent_arg(s, c);
    const char *at = arg(c, "attributes"), *dom = arg(c, "domain");
    char err[256];
    if (i < 0 || (!at && !dom)) {
        *code = 400;
        return err_json("agent=<index or agent ID> and attributes= and/or domain= required");
    }
    if (sim_attr_set(s, i, at, dom, err, sizeof(err)) != MCM_OK) {
        *code = 400;
        return err_json(err);
    }
    log_notice("admin: agent %s attributes '%s' domain '%s%s%s'", s->agents[i].id, s->agents[i].attributes,
               s->agents[i].region, s->agents[i].region[0] ? "/" : "", s->agents[i].zone);
    return ok_json("agent info set");
}

/* POST endpoints; NULL if url is not one. */
static char *post(sim *s, struct MHD_Connection *c, const char *url, unsigned *code) {
    if (strcmp(url, "/sim/drop-stream") == 0) return drop_stream(s, c, code);
    if (strcmp(url, "/sim/heartbeats") == 0) {
        const char *en = arg(c, "enabled");
        s->heartbeats_paused = en && strcmp(en, "0") == 0;
        log_notice("admin: heartbeats %s", s->heartbeats_paused ? "stopped" : "resumed");
        return ok_json(s->heartbeats_paused ? "heartbeats stopped" : "heartbeats resumed");
    }
    if (strcmp(url, "/sim/agent/down") == 0 || strcmp(url, "/sim/agent/up") == 0) {
        int i = agent_arg(s, c);
        if (i < 0) {
            *code = 400;
            return err_json("agent=<index or agent ID> required");
        }
        if (strcmp(url, "/sim/agent/down") == 0) sim_agent_down(s, i);
        else if (sim_drain_gone(s, i)) {   /* Mesos refuses an agent marked gone */
            *code = 409;
            return err_json("the agent was drained and marked gone");
        } else sim_agent_up(s, i);
        return ok_json(url + 11);
    }
    if (strcmp(url, "/sim/leader") == 0) return leader(s, c, code);
    if (strcmp(url, "/sim/silence") == 0) return silence(s, c);
    if (strcmp(url, "/sim/call-delay") == 0) {
        const char *ms = arg(c, "ms");
        s->call_delay_ms = ms ? atoi(ms) : 0;
        log_notice("admin: scheduler calls answered after %d ms", s->call_delay_ms);
        return ok_json("call delay set");
    }
    if (strcmp(url, "/sim/kill-executor") == 0) return kill_executor(s, c, code);
    if (strcmp(url, "/sim/agent/info") == 0) return agent_info(s, c, code);
    return NULL;
}

enum MHD_Result sim_admin_handle(sim *s, struct MHD_Connection *c, sim_req *r) {
    unsigned code = 200;
    char *body = NULL;
    int get = strcmp(r->method, "GET") == 0;
    pthread_mutex_lock(&s->mu);
    if (strcmp(r->url, "/sim/state") == 0 && get) body = state_json(s);
    else if (strcmp(r->url, "/sim/calls") == 0 && get) {
        const char *since = arg(c, "since");
        body = calls_json(s, since ? atoll(since) : 0);
    } else if (strcmp(r->method, "POST") == 0) {
        body = sim_maint_admin(s, c, r, &code);   /* maintenance and drains (sim_maint.c, sim_drain.c) */
        if (!body) body = sim_partition_admin(s, c, r, &code);
        if (!body) body = post(s, c, r->url, &code);
    }
    pthread_mutex_unlock(&s->mu);
    if (!body) {
        code = get || strcmp(r->method, "POST") == 0 ? 404 : 405;
        body = err_json(code == 404 ? "no such admin endpoint (see src/sim/README.md)" : "use GET or POST");
    }
    return sim_reply_json(c, code, body);
}
