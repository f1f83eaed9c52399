/* sim_master.c -- the master's scheduler API: POST /api/v1/scheduler.
 *
 * Checks run in the order the Mesos 1.11 master runs them (master/http.cpp
 * `scheduler()`), so a client sees the same status for the same mistake:
 *   401 credentials (only with --credentials) -> 307/503 not leading ->
 *   405 method -> 400/415 Content-Type -> 400 parse -> 400 validation ->
 *   SUBSCRIBE: 406 Accept, 400 Mesos-Stream-Id present, 400 principal,
 *              then 200 + stream (a refused FrameworkInfo: 200, ERROR, close)
 *   others:    400 framework unknown, 400 principal, 403 not subscribed,
 *              400 stream id missing or stale, then 202 (or 501 UNKNOWN).
 * Deviation: only application/x-protobuf bodies and streams (JSON is 415/406).
 *
 * Threads: MHD event threads (handle) and the loop thread (tick); all
 * state under s->mu. Every call is recorded in the call log and logged at
 * INFO with its framework and stream IDs once its answer is known.
 * Invariants: a framework has a stream iff it is connected; its offers exist
 * only while connected; a removed framework never gets a stream again. */
#include "sim_int.h"

#include "mcm.h"
#include "util.h"

#define LOG_COMPONENT "sim"
#include "log.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct reply {
    unsigned code;
    char text[600];
    const char *hname;
    char hval[400];
    struct MHD_Response *resp;      /* stream response (200) */
    char stream_id[37];
    char fw[SIM_ID_MAX];
} reply;

__attribute__((format(printf, 3, 4)))
static void set_reply(reply *rp, unsigned code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rp->text, sizeof(rp->text), fmt, ap);
    va_end(ap);
    rp->code = code;
}

/* --- events ------------------------------------------------------------------ */

int sim_send(sim_fw *fw, const Mesos__V1__Scheduler__Event *ev) {
    if (!fw->stream) return 0;
    size_t n;
    uint8_t *rec = sim_pb_record(&ev->base, &n);
    sim_stream_push(fw->stream, rec, n);
    free(rec);
    return 1;
}

void sim_send_heartbeat(sim *s, sim_fw *fw) {
    Mesos__V1__Scheduler__Event ev = MESOS__V1__SCHEDULER__EVENT__INIT;
    ev.has_type = 1;
    ev.type = MESOS__V1__SCHEDULER__EVENT__TYPE__HEARTBEAT;
    sim_send(fw, &ev);
    fw->next_hb_ms = util_now_ms() + s->cfg.heartbeat_interval_ms;
}

static void send_error(sim_fw *fw, sim_stream *st, const char *msg) {
    Mesos__V1__Scheduler__Event ev = MESOS__V1__SCHEDULER__EVENT__INIT;
    Mesos__V1__Scheduler__Event__Error er = MESOS__V1__SCHEDULER__EVENT__ERROR__INIT;
    er.message = (char *)msg;
    ev.has_type = 1;
    ev.type = MESOS__V1__SCHEDULER__EVENT__TYPE__ERROR;
    ev.error = &er;
    size_t n;
    uint8_t *rec = sim_pb_record(&ev.base, &n);
    sim_stream_push(st, rec, n);
    free(rec);
}

static Mesos__V1__MasterInfo *master_info(sim *s, sim_arena *a) {
    Mesos__V1__MasterInfo *mi = sim_arena_alloc(a, sizeof(*mi));
    mesos__v1__master_info__init(mi);
    struct in_addr ia = {0};
    inet_pton(AF_INET, s->host, &ia);
    mi->id = s->master_id;
    mi->ip = ia.s_addr;                     /* network order, as Mesos stores it */
    mi->port = (uint32_t)s->port;
    mi->pid = sim_arena_printf(a, "master@%s:%d", s->host, s->port);
    mi->hostname = s->host;
    mi->version = "1.11.0";
    mi->address = sim_arena_alloc(a, sizeof(*mi->address));
    mesos__v1__address__init(mi->address);
    mi->address->hostname = s->host;
    mi->address->ip = s->host;
    mi->address->port = s->port;
    return mi;
}

static void send_subscribed(sim *s, sim_fw *fw) {
    sim_arena *a = sim_arena_new();
    Mesos__V1__Scheduler__Event ev = MESOS__V1__SCHEDULER__EVENT__INIT;
    Mesos__V1__Scheduler__Event__Subscribed sub = MESOS__V1__SCHEDULER__EVENT__SUBSCRIBED__INIT;
    sub.framework_id = sim_pb_fwid(a, fw->id);
    sub.has_heartbeat_interval_seconds = 1;
    sub.heartbeat_interval_seconds = (double)s->cfg.heartbeat_interval_ms / 1000.0;
    sub.master_info = master_info(s, a);
    ev.has_type = 1;
    ev.type = MESOS__V1__SCHEDULER__EVENT__TYPE__SUBSCRIBED;
    ev.subscribed = &sub;
    sim_send(fw, &ev);
    sim_arena_free(a);
}

/* --- framework lifecycle ----------------------------------------------------- */

void sim_fw_disconnect(sim *s, sim_fw *fw, int abort_conn, const char *why) {
    if (!fw->stream) return;
    log_info("framework %s disconnected (%s); failover timeout %.0fs starts", fw->id, why,
             fw->info->has_failover_timeout ? fw->info->failover_timeout : 0.0);
    sim_stream_close(fw->stream, abort_conn);
    sim_stream_unref(fw->stream);
    fw->stream = NULL;
    fw->stream_id[0] = 0;
    fw->disconnected_ms = util_now_ms();
    sim_offers_drop_fw(s, fw);
    sim_filters_clear(fw);
}

void sim_fw_remove(sim *s, sim_fw *fw, const char *why) {
    log_notice("framework %s removed (%s): its tasks are killed and its ID refused from now on", fw->id, why);
    if (fw->stream) {
        sim_stream_close(fw->stream, 0);
        sim_stream_unref(fw->stream);
        fw->stream = NULL;
        fw->stream_id[0] = 0;
    }
    sim_offers_drop_fw(s, fw);
    sim_filters_clear(fw);
    fw->removed = 1;
    for (sim_task *t = s->tasks, *n; t; t = n) {
        n = t->next;
        if (t->fw != fw) continue;
        if (!sim_pb_terminal(t->state)) t->state = MESOS__V1__TASK_STATE__TASK_KILLED;
        sim_task_free(s, t);
    }
    for (sim_exec *ex = s->execs; ex; ex = ex->next)
        if (ex->fw == fw && ex->state != EX_DONE) sim_exec_shutdown(s, ex);
}

void sim_master_tick(sim *s, int64_t now) {
    int leading = sim_leading(s);
    for (sim_fw *fw = s->fws; fw; fw = fw->next) {
        if (fw->removed) continue;
        if (fw->stream && !leading) sim_fw_disconnect(s, fw, 1, "this master is not leading");
        if (fw->stream && sim_stream_dead(fw->stream)) sim_fw_disconnect(s, fw, 1, "subscription connection closed");
        if (!fw->stream) {
            double fo = fw->info->has_failover_timeout ? fw->info->failover_timeout : 0.0;
            if (!leading) fw->disconnected_ms = now;          /* a standby keeps no timers */
            else if ((double)(now - fw->disconnected_ms) >= fo * 1000.0)
                sim_fw_remove(s, fw, "failover timeout expired");
            continue;
        }
        if (!s->heartbeats_paused && now >= fw->next_hb_ms) sim_send_heartbeat(s, fw);
    }
}

/* --- validation -------------------------------------------------------------- */

static const char *validate(const Mesos__V1__Scheduler__Call *c, char *buf, size_t len) {
    if (!c->has_type) return "Expecting 'type' to be present";
    if (c->type == MESOS__V1__SCHEDULER__CALL__TYPE__SUBSCRIBE) {
        if (!c->subscribe) return "Expecting 'subscribe' to be present";
        const Mesos__V1__FrameworkID *fid = c->subscribe->framework_info->id;
        if (c->framework_id && (!fid || strcmp(fid->value, c->framework_id->value) != 0))
            return "'framework_id' differs from 'subscribe.framework_info.id'";
        return NULL;
    }
    if (!c->framework_id) return "Expecting 'framework_id' to be present";
    switch (c->type) {
    case MESOS__V1__SCHEDULER__CALL__TYPE__ACCEPT: return c->accept ? NULL : "Expecting 'accept' to be present";
    case MESOS__V1__SCHEDULER__CALL__TYPE__DECLINE: return c->decline ? NULL : "Expecting 'decline' to be present";
    case MESOS__V1__SCHEDULER__CALL__TYPE__KILL: return c->kill ? NULL : "Expecting 'kill' to be present";
    case MESOS__V1__SCHEDULER__CALL__TYPE__SHUTDOWN: return c->shutdown ? NULL : "Expecting 'shutdown' to be present";
    case MESOS__V1__SCHEDULER__CALL__TYPE__RECONCILE: return c->reconcile ? NULL : "Expecting 'reconcile' to be present";
    case MESOS__V1__SCHEDULER__CALL__TYPE__MESSAGE: return c->message ? NULL : "Expecting 'message' to be present";
    case MESOS__V1__SCHEDULER__CALL__TYPE__ACCEPT_INVERSE_OFFERS:
        return c->accept_inverse_offers ? NULL : "Expecting 'accept_inverse_offers' to be present";
    case MESOS__V1__SCHEDULER__CALL__TYPE__DECLINE_INVERSE_OFFERS:
        return c->decline_inverse_offers ? NULL : "Expecting 'decline_inverse_offers' to be present";
    case MESOS__V1__SCHEDULER__CALL__TYPE__ACKNOWLEDGE:
        if (!c->acknowledge) return "Expecting 'acknowledge' to be present";
        if (c->acknowledge->uuid.len != 16) {
            snprintf(buf, len, "Invalid UUID: expected 16 bytes, got %zu", c->acknowledge->uuid.len);
            return buf;
        }
        return NULL;
    default: return NULL;
    }
}

/* The role offers go to, and FrameworkInfo checks Mesos makes on SUBSCRIBE. */
static const char *check_info(const Mesos__V1__FrameworkInfo *fi, int *multi, int *pa, const char **role) {
    *multi = *pa = 0;
    for (size_t i = 0; i < fi->n_capabilities; i++) {
        if (!fi->capabilities[i]->has_type) continue;
        if (fi->capabilities[i]->type == MESOS__V1__FRAMEWORK_INFO__CAPABILITY__TYPE__MULTI_ROLE) *multi = 1;
        if (fi->capabilities[i]->type == MESOS__V1__FRAMEWORK_INFO__CAPABILITY__TYPE__PARTITION_AWARE) *pa = 1;
    }
    int has_role = fi->role && fi->role != mesos__v1__framework_info__role__default_value;
    if (*multi && has_role) return "'FrameworkInfo.role' must not be set when the framework is MULTI_ROLE capable";
    if (!*multi && fi->n_roles) return "'FrameworkInfo.roles' is set but the framework is not MULTI_ROLE capable";
    *role = *multi ? (fi->n_roles ? fi->roles[0] : "*") : (fi->role ? fi->role : "*");
    if (!**role) return "role must not be empty";
    return NULL;
}

/* --- SUBSCRIBE ------------------------------------------------------------------ */

static sim_fw *fw_new(sim *s, const char *id) {
    sim_fw *fw = calloc(1, sizeof(*fw));
    if (!fw) abort();
    if (id) snprintf(fw->id, sizeof(fw->id), "%s", id);
    else snprintf(fw->id, sizeof(fw->id), "%s-%04lld", s->master_id, (long long)s->fw_seq++);
    fw->next = s->fws;
    s->fws = fw;
    return fw;
}

/* Refused subscription: 200, one ERROR event, end of stream. */
static void refuse(reply *rp, struct MHD_Connection *c, const char *msg) {
    sim_stream *st = sim_stream_new("refused subscription");
    send_error(NULL, st, msg);
    sim_stream_close(st, 0);
    rp->resp = sim_stream_response(st, c);
    sim_stream_unref(st);
    rp->code = 200;
    snprintf(rp->text, sizeof(rp->text), "ERROR: %s", msg);
}

static void subscribe_fw(sim *s, sim_fw *fw, const Mesos__V1__FrameworkInfo *fi, const char *role, int multi,
                         int pa, const Mesos__V1__Scheduler__Call__Subscribe *sub, const char *remote) {
    Mesos__V1__FrameworkInfo *old = fw->info;
    fw->info = sim_pb_dup(&fi->base);
    if (old) {            /* user and checkpoint never change (Mesos ignores new values) */
        free(fw->info->user);
        fw->info->user = strdup(old->user);
        fw->info->has_checkpoint = old->has_checkpoint;
        fw->info->checkpoint = old->checkpoint;
        protobuf_c_message_free_unpacked(&old->base, NULL);
    }
    if (!fw->info->id) {
        fw->info->id = malloc(sizeof(*fw->info->id));
        mesos__v1__framework_id__init(fw->info->id);
        fw->info->id->value = strdup(fw->id);
    }
    snprintf(fw->role, sizeof(fw->role), "%s", role);
    snprintf(fw->remote, sizeof(fw->remote), "%s", remote);
    fw->multi_role = multi;
    fw->partition_aware = pa;
    fw->suppressed = 0;
    for (size_t i = 0; i < sub->n_suppressed_roles; i++)
        if (strcmp(sub->suppressed_roles[i], role) == 0) fw->suppressed = 1;
    fw->disconnected_ms = 0;
}

static void do_subscribe(sim *s, struct MHD_Connection *c, sim_req *r, const Mesos__V1__Scheduler__Call *call,
                         reply *rp) {
    const Mesos__V1__FrameworkInfo *fi = call->subscribe->framework_info;
    int multi, pa;
    const char *role = "*";
    const char *bad = check_info(fi, &multi, &pa, &role);
    const char *want = fi->id ? fi->id->value : NULL;
    sim_fw *fw = want ? sim_fw_find(s, want) : NULL;
    if (want) snprintf(rp->fw, sizeof(rp->fw), "%s", want);
    if (bad) {
        refuse(rp, c, bad);
        return;
    }
    if (fw && fw->removed) {
        refuse(rp, c, "Framework has been removed");
        return;
    }
    if (fw && fw->stream) {
        log_notice("framework %s failed over: stream %s closed with ERROR, new subscription from %s", fw->id,
                   fw->stream_id, r->remote);
        send_error(fw, fw->stream, "Framework failed over");
        sim_fw_disconnect(s, fw, 0, "failed over");
    } else if (fw) {
        sim_offers_drop_fw(s, fw);
    }
    int is_new = !fw;
    if (!fw) fw = fw_new(s, want);
    subscribe_fw(s, fw, fi, role, multi, pa, call->subscribe, r->remote);
    uint8_t u[16];
    util_uuid4(u);
    util_uuid_str(u, fw->stream_id);
    char label[SIM_ID_MAX + 64];
    snprintf(label, sizeof(label), "framework %s stream %s", fw->id, fw->stream_id);
    fw->stream = sim_stream_new(label);
    sim_stream_hold(fw->stream, s->silenced);
    rp->resp = sim_stream_response(fw->stream, c);
    rp->code = 200;
    snprintf(rp->stream_id, sizeof(rp->stream_id), "%s", fw->stream_id);
    snprintf(rp->fw, sizeof(rp->fw), "%s", fw->id);
    log_info("framework %s (%s) subscribed%s: role %s%s%s, stream %s", fw->id, fi->name,
             is_new ? (want ? " (adopted ID)" : " (new)") : " again", role, multi ? " MULTI_ROLE" : "",
             pa ? " PARTITION_AWARE" : "", fw->stream_id);
    send_subscribed(s, fw);
    sim_send_heartbeat(s, fw);
    sim_task_resend_fw(s, fw);
}

/* --- other calls ---------------------------------------------------------------- */

static double refuse_seconds(const Mesos__V1__Filters *f) {
    if (!f || !f->has_refuse_seconds) return 5.0;
    if (f->refuse_seconds < 0) return 5.0;
    if (f->refuse_seconds > 365.0 * 86400) return 365.0 * 86400;
    return f->refuse_seconds;
}

static void do_decline(sim *s, sim_fw *fw, const Mesos__V1__Scheduler__Call__Decline *d) {
    double rs = refuse_seconds(d->filters);
    for (size_t i = 0; i < d->n_offer_ids; i++) {
        sim_offer *o = sim_offer_find(s, d->offer_ids[i]->value);
        if (!o || o->fw != fw) {
            log_verbose("framework %s declined unknown offer %s", fw->id, d->offer_ids[i]->value);
            continue;
        }
        sim_filter_add(s, fw, o->agent, o->res, rs);
        sim_offer_remove(s, o);
    }
}

static int role_applies(sim_fw *fw, char **roles, size_t n) {
    if (n == 0) return 1;
    for (size_t i = 0; i < n; i++)
        if (strcmp(roles[i], fw->role) == 0) return 1;
    return 0;
}

static void do_kill(sim *s, sim_fw *fw, const Mesos__V1__Scheduler__Call__Kill *k) {
    sim_task *t = sim_task_find(s, fw->id, k->task_id->value);
    if (!t) {
        /* Mesos answers a kill of an unknown task with its reconciliation. */
        Mesos__V1__Scheduler__Call__Reconcile__Task rt = MESOS__V1__SCHEDULER__CALL__RECONCILE__TASK__INIT;
        Mesos__V1__Scheduler__Call__Reconcile__Task *rtp = &rt;
        Mesos__V1__Scheduler__Call__Reconcile rc = MESOS__V1__SCHEDULER__CALL__RECONCILE__INIT;
        rt.task_id = k->task_id;
        rt.agent_id = k->agent_id;
        rc.n_tasks = 1;
        rc.tasks = &rtp;
        log_info("framework %s: KILL of unknown task %s answered by reconciliation", fw->id, k->task_id->value);
        sim_task_reconcile(s, fw, &rc);
        return;
    }
    if (sim_pb_terminal(t->state)) return;
    sim_agent_kill_task(s, t);
}

static void do_shutdown(sim *s, sim_fw *fw, const Mesos__V1__Scheduler__Call__Shutdown *sd) {
    sim_agent *a = sim_agent_by_id(s, sd->agent_id->value);
    sim_exec *ex = a ? sim_exec_find(s, a->idx, fw->id, sd->executor_id->value) : NULL;
    if (!ex) {
        log_info("framework %s: SHUTDOWN of unknown executor %s on %s ignored", fw->id, sd->executor_id->value,
                 sd->agent_id->value);
        return;
    }
    sim_exec_shutdown(s, ex);
}

static void do_ack(sim *s, sim_fw *fw, const Mesos__V1__Scheduler__Call__Acknowledge *ak) {
    sim_task *t = sim_task_find(s, fw->id, ak->task_id->value);
    if (!t) {
        log_info("framework %s: ACKNOWLEDGE for unknown task %s ignored", fw->id, ak->task_id->value);
        return;
    }
    sim_task_ack(s, t, ak->uuid.data, ak->uuid.len);
}

static void do_message(sim *s, sim_fw *fw, const Mesos__V1__Scheduler__Call__Message *m) {
    sim_agent *a = sim_agent_by_id(s, m->agent_id->value);
    sim_exec *ex = a ? sim_exec_find(s, a->idx, fw->id, m->executor_id->value) : NULL;
    if (!ex || !ex->stream) {
        log_info("framework %s: MESSAGE for executor %s on %s dropped (not connected)", fw->id,
                 m->executor_id->value, m->agent_id->value);
        return;
    }
    sim_agent_message(s, ex, &m->data);
}

/* The call on a subscribed framework; 202 unless UNKNOWN. */
static void dispatch(sim *s, sim_fw *fw, const Mesos__V1__Scheduler__Call *c, reply *rp) {
    rp->code = 202;
    switch (c->type) {
    case MESOS__V1__SCHEDULER__CALL__TYPE__TEARDOWN: sim_fw_remove(s, fw, "TEARDOWN"); break;
    case MESOS__V1__SCHEDULER__CALL__TYPE__ACCEPT: sim_master_accept(s, fw, c->accept); break;
    case MESOS__V1__SCHEDULER__CALL__TYPE__DECLINE: do_decline(s, fw, c->decline); break;
    case MESOS__V1__SCHEDULER__CALL__TYPE__REVIVE:
        if (role_applies(fw, c->revive ? c->revive->roles : NULL, c->revive ? c->revive->n_roles : 0)) {
            fw->suppressed = 0;
            sim_filters_clear(fw);
        }
        break;
    case MESOS__V1__SCHEDULER__CALL__TYPE__SUPPRESS:
        if (role_applies(fw, c->suppress ? c->suppress->roles : NULL, c->suppress ? c->suppress->n_roles : 0))
            fw->suppressed = 1;
        break;
    case MESOS__V1__SCHEDULER__CALL__TYPE__KILL: do_kill(s, fw, c->kill); break;
    case MESOS__V1__SCHEDULER__CALL__TYPE__SHUTDOWN: do_shutdown(s, fw, c->shutdown); break;
    case MESOS__V1__SCHEDULER__CALL__TYPE__ACKNOWLEDGE: do_ack(s, fw, c->acknowledge); break;
    case MESOS__V1__SCHEDULER__CALL__TYPE__RECONCILE: sim_task_reconcile(s, fw, c->reconcile); break;
    case MESOS__V1__SCHEDULER__CALL__TYPE__MESSAGE: do_message(s, fw, c->message); break;
    case MESOS__V1__SCHEDULER__CALL__TYPE__REQUEST: break;          /* a no-op in Mesos' allocator too */
    case MESOS__V1__SCHEDULER__CALL__TYPE__ACCEPT_INVERSE_OFFERS:
        sim_maint_answer(s, fw, c->accept_inverse_offers->inverse_offer_ids, c->accept_inverse_offers->n_inverse_offer_ids,
                         c->accept_inverse_offers->filters, 1);
        break;
    case MESOS__V1__SCHEDULER__CALL__TYPE__DECLINE_INVERSE_OFFERS:
        sim_maint_answer(s, fw, c->decline_inverse_offers->inverse_offer_ids,
                         c->decline_inverse_offers->n_inverse_offer_ids, c->decline_inverse_offers->filters, 0);
        break;
    case MESOS__V1__SCHEDULER__CALL__TYPE__UNKNOWN:
        set_reply(rp, 501, "Received 'UNKNOWN' call");
        break;
    default:
        set_reply(rp, 501, "%s is not implemented by mcm-sim", sim_pb_call_type(c->type));
        break;
    }
}

/* --- authentication ------------------------------------------------------------- */

static int b64val(int ch) {
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '+') return 62;
    if (ch == '/') return 63;
    return -1;
}

static int b64decode(const char *in, char *out, size_t outlen) {
    size_t o = 0;
    unsigned acc = 0;   /* only the low 14 bits matter: keep it unsigned so it may wrap */
    int bits = 0;
    for (; *in && *in != '='; in++) {
        int v = b64val((unsigned char)*in);
        if (v < 0 || o + 1 >= outlen) return MCM_ERR;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[o] = 0;
    return MCM_OK;
}

/* With --credentials: the principal of a valid Basic header into principal, else MCM_ERR. */
static int authenticate(sim *s, struct MHD_Connection *c, char *principal, size_t plen) {
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    char dec[512];
    if (!h || strncasecmp(h, "Basic ", 6) != 0 || b64decode(h + 6, dec, sizeof(dec)) != MCM_OK) return MCM_ERR;
    char *colon = strchr(dec, ':');
    if (!colon) return MCM_ERR;
    *colon = 0;
    char line[1100];
    snprintf(line, sizeof(line), "\n%s %s\n", dec, colon + 1);
    if (strlen(dec) >= plen) return MCM_ERR;
    if (!strstr(s->credentials, line)) return MCM_ERR;
    memcpy(principal, dec, strlen(dec) + 1);
    return MCM_OK;
}

/* --- the handler ---------------------------------------------------------------- */

/* Checks that need no state; MCM_ERR with rp filled. */
static int check_request(struct MHD_Connection *c, sim_req *r, Mesos__V1__Scheduler__Call **out, reply *rp) {
    if (strcmp(r->method, "POST") != 0) {
        set_reply(rp, 405, "Expecting a 'POST' request, received '%s'", r->method);
        rp->hname = MHD_HTTP_HEADER_ALLOW;
        snprintf(rp->hval, sizeof(rp->hval), "POST");
        return MCM_ERR;
    }
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!ct) {
        set_reply(rp, 400, "Expecting 'Content-Type' to be present");
        return MCM_ERR;
    }
    if (strcmp(ct, "application/json") == 0) {
        set_reply(rp, 415, "mcm-sim speaks only 'application/x-protobuf' (Mesos also takes 'application/json')");
        return MCM_ERR;
    }
    if (strcmp(ct, "application/x-protobuf") != 0) {
        set_reply(rp, 415, "Expecting 'Content-Type' of application/json or application/x-protobuf");
        return MCM_ERR;
    }
    *out = mesos__v1__scheduler__call__unpack(NULL, r->len, (const uint8_t *)r->body);
    if (!*out) {
        set_reply(rp, 400, "Failed to parse body into Call protobuf");
        return MCM_ERR;
    }
    char buf[128];
    const char *bad = validate(*out, buf, sizeof(buf));
    if (bad) {
        set_reply(rp, 400, "Failed to validate scheduler::Call: %s", bad);
        return MCM_ERR;
    }
    return MCM_OK;
}

/* Accept header: 1 if application/x-protobuf is acceptable, 0 if only JSON is, -1 if neither. */
int sim_accepts_protobuf(struct MHD_Connection *c) {
    const char *acc = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
    if (!acc || !*acc) return 1;
    int json = 0;
    char *copy = strdup(acc), *save = NULL;
    int pb = 0;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ') t++;
        char *semi = strchr(t, ';');
        int zero = semi && strstr(semi, "q=0") && !strstr(semi, "q=0.");
        if (semi) *semi = 0;
        for (char *e = t + strlen(t); e > t && e[-1] == ' '; e--) e[-1] = 0;
        if (zero) continue;
        if (!strcasecmp(t, "application/x-protobuf") || !strcasecmp(t, "application/*") || !strcmp(t, "*/*")) pb = 1;
        if (!strcasecmp(t, "application/json")) json = 1;
    }
    free(copy);
    return pb ? 1 : json ? 0 : -1;
}

static void handle_call(sim *s, struct MHD_Connection *c, sim_req *r, const Mesos__V1__Scheduler__Call *call,
                        const char *principal, reply *rp) {
    const char *sid = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Mesos-Stream-Id");
    if (call->type == MESOS__V1__SCHEDULER__CALL__TYPE__SUBSCRIBE) {
        const Mesos__V1__FrameworkInfo *fi = call->subscribe->framework_info;
        int acc = sim_accepts_protobuf(c);
        if (acc <= 0)
            {
            set_reply(rp, 406, acc == 0 ? "mcm-sim streams only 'application/x-protobuf'"
                                               : "Expecting 'Accept' to allow 'application/json' or 'application/x-protobuf'");
            return;
        }
        if (sid) {
            set_reply(rp, 400, "Subscribe calls should not include the 'Mesos-Stream-Id' header");
            return;
        }
        if (principal && fi->principal && strcmp(principal, fi->principal) != 0)
            {
            set_reply(rp, 400, "Authenticated principal '%s' does not match principal '%s' set in `FrameworkInfo`",
                             principal, fi->principal);
            return;
        }
        do_subscribe(s, c, r, call, rp);
        return;
    }
    sim_fw *fw = sim_fw_find(s, call->framework_id->value);
    if (!fw || fw->removed) {
            set_reply(rp, 400, "Framework cannot be found");
            return;
        }
    if (principal && fw->info->principal && strcmp(principal, fw->info->principal) != 0)
        {
            set_reply(rp, 400, "Authenticated principal '%s' does not match principal '%s' set in `FrameworkInfo`",
                         principal, fw->info->principal);
            return;
        }
    if (!fw->stream) {
            set_reply(rp, 403, "Framework is not subscribed");
            return;
        }
    if (!sid) {
            set_reply(rp, 400, "All non-subscribe calls should include the 'Mesos-Stream-Id' header");
            return;
        }
    if (strcmp(sid, fw->stream_id) != 0)
        {
            set_reply(rp, 400, "The stream ID '%s' included in this request didn't match the stream ID currently "
                                  "associated with framework ID %s", sid, fw->id);
            return;
        }
    dispatch(s, fw, call, rp);
}

static enum MHD_Result send_reply(struct MHD_Connection *c, reply *rp) {
    if (rp->resp) {
        if (rp->stream_id[0]) MHD_add_response_header(rp->resp, "Mesos-Stream-Id", rp->stream_id);
        enum MHD_Result rc = MHD_queue_response(c, rp->code, rp->resp);
        MHD_destroy_response(rp->resp);
        return rc;
    }
    if (rp->code == 202) return sim_reply(c, 202, NULL, "", NULL, NULL);
    if (rp->code == 401)
        return sim_reply(c, 401, "text/plain", rp->text, "WWW-Authenticate", "Basic realm=\"mesos-master-scheduler\"");
    return sim_reply(c, rp->code, "text/plain; charset=utf-8", rp->text, rp->hname, rp->hname ? rp->hval : NULL);
}

/* Best effort: the call's type and framework ID for the log, before validation. */
static void peek(sim_req *r, struct MHD_Connection *c, char *type, size_t tl, char *fw, size_t fl) {
    snprintf(type, tl, "-");
    fw[0] = 0;
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!ct || strcmp(ct, "application/x-protobuf") != 0) return;
    Mesos__V1__Scheduler__Call *call = mesos__v1__scheduler__call__unpack(NULL, r->len, (const uint8_t *)r->body);
    if (!call) return;
    if (call->has_type) snprintf(type, tl, "%s", sim_pb_call_type(call->type));
    if (call->framework_id) snprintf(fw, fl, "%s", call->framework_id->value);
    else if (call->subscribe && call->subscribe->framework_info->id)
        snprintf(fw, fl, "%s", call->subscribe->framework_info->id->value);
    mesos__v1__scheduler__call__free_unpacked(call, NULL);
}

enum MHD_Result sim_master_handle(sim *s, struct MHD_Connection *c, sim_req *r) {
    reply rp;
    memset(&rp, 0, sizeof(rp));
    char type[40], principal[256];
    const char *sid = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Mesos-Stream-Id");
    peek(r, c, type, sizeof(type), rp.fw, sizeof(rp.fw));
    Mesos__V1__Scheduler__Call *call = NULL;
    pthread_mutex_lock(&s->mu);         /* POST /sim/call-delay has been served already (sim_http.c) */
    int authed = s->credentials && authenticate(s, c, principal, sizeof(principal)) == MCM_OK;
    if (s->credentials && !authed) {
        set_reply(&rp, 401, "Unauthorized");
    } else if (!sim_leading(s)) {
        const char *loc = sim_leader_location(s);
        if (*loc) {
            set_reply(&rp, 307, "not the leading master; the leader is at %s", loc);
            rp.hname = MHD_HTTP_HEADER_LOCATION;
            snprintf(rp.hval, sizeof(rp.hval), "%s%s", loc, r->url);
        } else {
            set_reply(&rp, 503, "No leader elected");
        }
    } else if (check_request(c, r, &call, &rp) == MCM_OK) {
        handle_call(s, c, r, call, authed ? principal : NULL, &rp);
    }
    sim_call_log(s, r->remote, rp.fw, rp.stream_id[0] ? rp.stream_id : (sid ? sid : ""), type, (int)rp.code);
    pthread_mutex_unlock(&s->mu);
    if (rp.code == 202 || rp.code == 200)
        log_info("call %s framework=%s stream=%s from %s -> %u", type, rp.fw[0] ? rp.fw : "-",
                 rp.stream_id[0] ? rp.stream_id : (sid ? sid : "-"), r->remote, rp.code);
    else
        log_info("call %s framework=%s stream=%s from %s -> %u %s", type, rp.fw[0] ? rp.fw : "-",
                 sid ? sid : "-", r->remote, rp.code, rp.text);
    if (call) mesos__v1__scheduler__call__free_unpacked(call, NULL);
    return send_reply(c, &rp);
}
