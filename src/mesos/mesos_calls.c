/* mesos_calls.c -- builders for the scheduler Calls (see mesos_calls.h).
 *
 * Shape: each builder fills protobuf-c structs on its own stack (only
 * pointers to the caller's strings, nothing allocated) and packs them once.
 * Remember protocol doc §10: optional scalars and enums go on the wire only
 * with has_<field> = 1, so every builder sets has_type, and SUBSCRIBE sets
 * has_failover_timeout and has_checkpoint.
 * Threads: any. Invariant: the caller's structs are never modified, not even
 * temporarily (mesos_call_pack copies the top-level Call). */
#include "mesos_calls.h"

#include <stdio.h>
#include <stdlib.h>

typedef Mesos__V1__Scheduler__Call Call;

static uint8_t *pack(const Call *c, size_t *len) {
    size_t n = mesos__v1__scheduler__call__get_packed_size(c);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) return NULL;
    *len = mesos__v1__scheduler__call__pack(c, buf);
    return buf;
}

/* Packs c with framework_id set on the top-level Call (when non-empty). */
static uint8_t *pack_with_id(Call c, const char *framework_id, size_t *len) {
    Mesos__V1__FrameworkID fid = MESOS__V1__FRAMEWORK_ID__INIT;
    if (framework_id && *framework_id) {
        fid.value = (char *)framework_id;
        c.framework_id = &fid;
    }
    return pack(&c, len);
}

static Call call_of(Mesos__V1__Scheduler__Call__Type type) {
    Call c = MESOS__V1__SCHEDULER__CALL__INIT;
    c.has_type = 1;
    c.type = type;
    return c;
}

uint8_t *mesos_call_subscribe(const mesos_fw_info *fw, const char *framework_id, size_t *len) {
    Mesos__V1__FrameworkInfo fi = MESOS__V1__FRAMEWORK_INFO__INIT;
    Mesos__V1__FrameworkID fid = MESOS__V1__FRAMEWORK_ID__INIT;
    fi.user = (char *)fw->user;
    fi.name = (char *)fw->name;
    if (framework_id && *framework_id) {
        fid.value = (char *)framework_id;
        fi.id = &fid;
    }
    fi.has_failover_timeout = 1;
    fi.failover_timeout = fw->failover_timeout_s;
    fi.has_checkpoint = 1;
    fi.checkpoint = 1;
    char *roles[1] = {(char *)(fw->role ? fw->role : "*")};
    fi.n_roles = 1;
    fi.roles = roles;   /* `role` (deprecated) stays at its default: off the wire */
    static const Mesos__V1__FrameworkInfo__Capability__Type caps[] = {
        MESOS__V1__FRAMEWORK_INFO__CAPABILITY__TYPE__MULTI_ROLE,
        MESOS__V1__FRAMEWORK_INFO__CAPABILITY__TYPE__TASK_KILLING_STATE,
        MESOS__V1__FRAMEWORK_INFO__CAPABILITY__TYPE__PARTITION_AWARE,
    };
    Mesos__V1__FrameworkInfo__Capability cap[3];
    Mesos__V1__FrameworkInfo__Capability *capp[3];
    for (int i = 0; i < 3; i++) {
        mesos__v1__framework_info__capability__init(&cap[i]);
        cap[i].has_type = 1;
        cap[i].type = caps[i];
        capp[i] = &cap[i];
    }
    fi.n_capabilities = 3;
    fi.capabilities = capp;
    fi.hostname = (char *)fw->hostname;
    fi.principal = (char *)fw->principal;
    fi.webui_url = (char *)fw->webui_url;
    Mesos__V1__Scheduler__Call__Subscribe sub = MESOS__V1__SCHEDULER__CALL__SUBSCRIBE__INIT;
    sub.framework_info = &fi;
    Call c = call_of(MESOS__V1__SCHEDULER__CALL__TYPE__SUBSCRIBE);
    c.subscribe = &sub;
    return pack_with_id(c, framework_id, len);
}

static Mesos__V1__Filters *filters_of(Mesos__V1__Filters *f, double refuse_seconds) {
    if (refuse_seconds < 0) return NULL;
    mesos__v1__filters__init(f);
    f->has_refuse_seconds = 1;
    f->refuse_seconds = refuse_seconds;
    return f;
}

uint8_t *mesos_call_launch(const char *framework_id, const char *offer_id,
                           Mesos__V1__TaskInfo **tasks, size_t n, double refuse_seconds, size_t *len) {
    Mesos__V1__OfferID oid = MESOS__V1__OFFER_ID__INIT;
    oid.value = (char *)offer_id;
    Mesos__V1__OfferID *oids[1] = {&oid};
    Mesos__V1__Offer__Operation__Launch launch = MESOS__V1__OFFER__OPERATION__LAUNCH__INIT;
    launch.n_task_infos = n;
    launch.task_infos = tasks;
    Mesos__V1__Offer__Operation op = MESOS__V1__OFFER__OPERATION__INIT;
    op.has_type = 1;
    op.type = MESOS__V1__OFFER__OPERATION__TYPE__LAUNCH;
    op.launch = &launch;
    Mesos__V1__Offer__Operation *ops[1] = {&op};
    Mesos__V1__Filters f;
    Mesos__V1__Scheduler__Call__Accept acc = MESOS__V1__SCHEDULER__CALL__ACCEPT__INIT;
    acc.n_offer_ids = 1;
    acc.offer_ids = oids;
    acc.n_operations = 1;
    acc.operations = ops;
    acc.filters = filters_of(&f, refuse_seconds);
    Call c = call_of(MESOS__V1__SCHEDULER__CALL__TYPE__ACCEPT);
    c.accept = &acc;
    return pack_with_id(c, framework_id, len);
}

/* OfferIDs (inverse offers use the same message) for a call's repeated
 * field; the strings stay the caller's. */
typedef struct id_list {
    Mesos__V1__OfferID *ids;
    Mesos__V1__OfferID **p;
} id_list;

static Mesos__V1__OfferID **id_list_make(id_list *l, const char *const *in, size_t n) {
    l->ids = calloc(n ? n : 1, sizeof(*l->ids));
    l->p = calloc(n ? n : 1, sizeof(*l->p));
    if (!l->ids || !l->p) return NULL;
    for (size_t i = 0; i < n; i++) {
        mesos__v1__offer_id__init(&l->ids[i]);
        l->ids[i].value = (char *)in[i];
        l->p[i] = &l->ids[i];
    }
    return l->p;
}

static void id_list_free(id_list *l) {
    free(l->ids);
    free(l->p);
}

uint8_t *mesos_call_decline(const char *framework_id, const char *const *offer_ids, size_t n,
                            double refuse_seconds, size_t *len) {
    id_list l;
    uint8_t *out = NULL;
    Mesos__V1__OfferID **idp = id_list_make(&l, offer_ids, n);
    if (!idp) goto done;
    Mesos__V1__Filters f;
    Mesos__V1__Scheduler__Call__Decline dec = MESOS__V1__SCHEDULER__CALL__DECLINE__INIT;
    dec.n_offer_ids = n;
    dec.offer_ids = idp;
    dec.filters = filters_of(&f, refuse_seconds);
    Call c = call_of(MESOS__V1__SCHEDULER__CALL__TYPE__DECLINE);
    c.decline = &dec;
    out = pack_with_id(c, framework_id, len);
done:
    id_list_free(&l);
    return out;
}

/* ACCEPT_INVERSE_OFFERS / DECLINE_INVERSE_OFFERS share one shape (upstream
 * scheduler.proto: inverse_offer_ids = 1, filters = 2). */
static uint8_t *inverse_call(const char *framework_id, int accept, const char *const *ids_in, size_t n,
                             double refuse_seconds, size_t *len) {
    id_list l;
    uint8_t *out = NULL;
    Mesos__V1__OfferID **idp = id_list_make(&l, ids_in, n);
    if (!idp) goto done;
    Mesos__V1__Filters f;
    Mesos__V1__Scheduler__Call__AcceptInverseOffers acc = MESOS__V1__SCHEDULER__CALL__ACCEPT_INVERSE_OFFERS__INIT;
    Mesos__V1__Scheduler__Call__DeclineInverseOffers dec = MESOS__V1__SCHEDULER__CALL__DECLINE_INVERSE_OFFERS__INIT;
    Call c = call_of(accept ? MESOS__V1__SCHEDULER__CALL__TYPE__ACCEPT_INVERSE_OFFERS
                            : MESOS__V1__SCHEDULER__CALL__TYPE__DECLINE_INVERSE_OFFERS);
    if (accept) {
        acc.n_inverse_offer_ids = n;
        acc.inverse_offer_ids = idp;
        acc.filters = filters_of(&f, refuse_seconds);
        c.accept_inverse_offers = &acc;
    } else {
        dec.n_inverse_offer_ids = n;
        dec.inverse_offer_ids = idp;
        dec.filters = filters_of(&f, refuse_seconds);
        c.decline_inverse_offers = &dec;
    }
    out = pack_with_id(c, framework_id, len);
done:
    id_list_free(&l);
    return out;
}

uint8_t *mesos_call_accept_inverse(const char *framework_id, const char *const *inverse_offer_ids, size_t n,
                                   double refuse_seconds, size_t *len) {
    return inverse_call(framework_id, 1, inverse_offer_ids, n, refuse_seconds, len);
}

uint8_t *mesos_call_decline_inverse(const char *framework_id, const char *const *inverse_offer_ids, size_t n,
                                    double refuse_seconds, size_t *len) {
    return inverse_call(framework_id, 0, inverse_offer_ids, n, refuse_seconds, len);
}

uint8_t *mesos_call_kill(const char *framework_id, const char *task_id, const char *agent_id,
                         size_t *len) {
    Mesos__V1__TaskID tid = MESOS__V1__TASK_ID__INIT;
    Mesos__V1__AgentID aid = MESOS__V1__AGENT_ID__INIT;
    tid.value = (char *)task_id;
    aid.value = (char *)agent_id;
    Mesos__V1__Scheduler__Call__Kill k = MESOS__V1__SCHEDULER__CALL__KILL__INIT;
    k.task_id = &tid;
    k.agent_id = agent_id && *agent_id ? &aid : NULL;
    Call c = call_of(MESOS__V1__SCHEDULER__CALL__TYPE__KILL);
    c.kill = &k;
    return pack_with_id(c, framework_id, len);
}

uint8_t *mesos_call_acknowledge(const char *framework_id, const char *agent_id, const char *task_id,
                                const uint8_t *uuid, size_t uuid_len, size_t *len) {
    Mesos__V1__TaskID tid = MESOS__V1__TASK_ID__INIT;
    Mesos__V1__AgentID aid = MESOS__V1__AGENT_ID__INIT;
    tid.value = (char *)task_id;
    aid.value = (char *)agent_id;
    Mesos__V1__Scheduler__Call__Acknowledge a = MESOS__V1__SCHEDULER__CALL__ACKNOWLEDGE__INIT;
    a.agent_id = &aid;
    a.task_id = &tid;
    a.uuid.data = (uint8_t *)uuid;
    a.uuid.len = uuid_len;
    Call c = call_of(MESOS__V1__SCHEDULER__CALL__TYPE__ACKNOWLEDGE);
    c.acknowledge = &a;
    return pack_with_id(c, framework_id, len);
}

uint8_t *mesos_call_reconcile(const char *framework_id, const char *const *task_ids,
                              const char *const *agent_ids, size_t n, size_t *len) {
    size_t m = n ? n : 1;
    Mesos__V1__TaskID *tids = calloc(m, sizeof(*tids));
    Mesos__V1__AgentID *aids = calloc(m, sizeof(*aids));
    Mesos__V1__Scheduler__Call__Reconcile__Task *ts = calloc(m, sizeof(*ts));
    Mesos__V1__Scheduler__Call__Reconcile__Task **tsp = calloc(m, sizeof(*tsp));
    uint8_t *out = NULL;
    if (!tids || !aids || !ts || !tsp) goto done;
    for (size_t i = 0; i < n; i++) {
        mesos__v1__task_id__init(&tids[i]);
        mesos__v1__agent_id__init(&aids[i]);
        mesos__v1__scheduler__call__reconcile__task__init(&ts[i]);
        tids[i].value = (char *)task_ids[i];
        ts[i].task_id = &tids[i];
        if (agent_ids && agent_ids[i] && *agent_ids[i]) {
            aids[i].value = (char *)agent_ids[i];
            ts[i].agent_id = &aids[i];
        }
        tsp[i] = &ts[i];
    }
    Mesos__V1__Scheduler__Call__Reconcile r = MESOS__V1__SCHEDULER__CALL__RECONCILE__INIT;
    r.n_tasks = n;
    r.tasks = tsp;
    Call c = call_of(MESOS__V1__SCHEDULER__CALL__TYPE__RECONCILE);
    c.reconcile = &r;
    out = pack_with_id(c, framework_id, len);
done:
    free(tids);
    free(aids);
    free(ts);
    free(tsp);
    return out;
}

uint8_t *mesos_call_message(const char *framework_id, const char *agent_id, const char *executor_id,
                            const void *data, size_t dlen, size_t *len) {
    Mesos__V1__AgentID aid = MESOS__V1__AGENT_ID__INIT;
    Mesos__V1__ExecutorID eid = MESOS__V1__EXECUTOR_ID__INIT;
    aid.value = (char *)agent_id;
    eid.value = (char *)executor_id;
    Mesos__V1__Scheduler__Call__Message m = MESOS__V1__SCHEDULER__CALL__MESSAGE__INIT;
    m.agent_id = &aid;
    m.executor_id = &eid;
    m.data.data = (uint8_t *)data;
    m.data.len = dlen;
    Call c = call_of(MESOS__V1__SCHEDULER__CALL__TYPE__MESSAGE);
    c.message = &m;
    return pack_with_id(c, framework_id, len);
}

uint8_t *mesos_call_revive(const char *framework_id, const char *role, size_t *len) {
    char *roles[1] = {(char *)role};
    Mesos__V1__Scheduler__Call__Revive r = MESOS__V1__SCHEDULER__CALL__REVIVE__INIT;
    r.n_roles = role ? 1 : 0;
    r.roles = roles;
    Call c = call_of(MESOS__V1__SCHEDULER__CALL__TYPE__REVIVE);
    c.revive = &r;
    return pack_with_id(c, framework_id, len);
}

uint8_t *mesos_call_suppress(const char *framework_id, const char *role, size_t *len) {
    char *roles[1] = {(char *)role};
    Mesos__V1__Scheduler__Call__Suppress r = MESOS__V1__SCHEDULER__CALL__SUPPRESS__INIT;
    r.n_roles = role ? 1 : 0;
    r.roles = roles;
    Call c = call_of(MESOS__V1__SCHEDULER__CALL__TYPE__SUPPRESS);
    c.suppress = &r;
    return pack_with_id(c, framework_id, len);
}

uint8_t *mesos_call_teardown(const char *framework_id, size_t *len) {
    return pack_with_id(call_of(MESOS__V1__SCHEDULER__CALL__TYPE__TEARDOWN), framework_id, len);
}

uint8_t *mesos_call_pack(Call *call, const char *framework_id, size_t *len) {
    if (!framework_id || !*framework_id) return pack(call, len);
    return pack_with_id(*call, framework_id, len);
}

static const char *enum_name(const ProtobufCEnumDescriptor *d, int v, char *buf, size_t len) {
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, v);
    if (ev) return ev->name;
    snprintf(buf, len, "type %d", v);
    return buf;
}

const char *mesos_call_type_name(int type, char *buf, size_t len) {
    return enum_name(&mesos__v1__scheduler__call__type__descriptor, type, buf, len);
}

const char *mesos_event_type_name(int type, char *buf, size_t len) {
    return enum_name(&mesos__v1__scheduler__event__type__descriptor, type, buf, len);
}
