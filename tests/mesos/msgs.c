/* msgs.c -- sample Mesos messages for the protobuf and wire tests (msgs.h). */
#include "msgs.h"

#include <stdlib.h>
#include <string.h>

const uint8_t msg_uuid[16] = {0x6f, 0x1c, 0x2a, 0x33, 0x44, 0x55, 0x46, 0x77,
                              0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};

static void scalar(Mesos__V1__Resource *r, Mesos__V1__Value__Scalar *v, const char *name, double x,
                   Mesos__V1__Resource__AllocationInfo *alloc) {
    mesos__v1__resource__init(r);
    mesos__v1__value__scalar__init(v);
    v->value = x;
    r->name = (char *)name;
    r->type = MESOS__V1__VALUE__TYPE__SCALAR;
    r->scalar = v;
    r->allocation_info = alloc;
}

void msg_task_init(msg_task *t) {
    memset(t, 0, sizeof(*t));
    mesos__v1__resource__allocation_info__init(&t->alloc);
    t->alloc.role = "mcm";
    scalar(&t->res[0], &t->cpus, "cpus", 0.5, &t->alloc);
    scalar(&t->res[1], &t->mem, "mem", 128, &t->alloc);
    mesos__v1__resource__init(&t->res[2]);
    mesos__v1__value__range__init(&t->range);
    mesos__v1__value__ranges__init(&t->ranges);
    t->range.begin = t->range.end = 31001;
    t->rangep[0] = &t->range;
    t->ranges.n_range = 1;
    t->ranges.range = t->rangep;
    t->res[2].name = "ports";
    t->res[2].type = MESOS__V1__VALUE__TYPE__RANGES;
    t->res[2].ranges = &t->ranges;
    t->res[2].allocation_info = &t->alloc;
    for (int i = 0; i < 3; i++) t->resp[i] = &t->res[i];

    mesos__v1__command_info__init(&t->cmd);
    t->cmd.value = "/usr/bin/mcm-executor";
    t->cmd.has_shell = 1;
    t->cmd.shell = 0;
    t->args[0] = "mcm-executor";
    t->args[1] = "--port";
    t->args[2] = "31001";
    t->cmd.n_arguments = 3;
    t->cmd.arguments = t->args;
    mesos__v1__executor_id__init(&t->eid);
    t->eid.value = "exec-mc-1";
    mesos__v1__executor_info__init(&t->exec);
    t->exec.has_type = 1;
    t->exec.type = MESOS__V1__EXECUTOR_INFO__TYPE__CUSTOM;
    t->exec.executor_id = &t->eid;
    t->exec.command = &t->cmd;
    t->exec.name = "mcm executor";

    mesos__v1__label__init(&t->label);
    t->label.key = "mcm.shard";
    t->label.value = "3";
    t->labelp[0] = &t->label;
    mesos__v1__labels__init(&t->labels);
    t->labels.n_labels = 1;
    t->labels.labels = t->labelp;

    mesos__v1__task_id__init(&t->tid);
    t->tid.value = "mc-1";
    mesos__v1__agent_id__init(&t->aid);
    t->aid.value = "S1";
    mesos__v1__task_info__init(&t->task);
    t->task.name = "memcached mc-1";
    t->task.task_id = &t->tid;
    t->task.agent_id = &t->aid;
    t->task.n_resources = 3;
    t->task.resources = t->resp;
    t->task.executor = &t->exec;
    t->task.labels = &t->labels;
}

static uint8_t *pack(const Mesos__V1__Scheduler__Event *ev, size_t *len) {
    size_t n = mesos__v1__scheduler__event__get_packed_size(ev);
    uint8_t *buf = malloc(n);
    *len = mesos__v1__scheduler__event__pack(ev, buf);
    return buf;
}

uint8_t *msg_subscribed(size_t *len) {
    Mesos__V1__FrameworkID fid = MESOS__V1__FRAMEWORK_ID__INIT;
    fid.value = "fw-1";
    Mesos__V1__Address addr = MESOS__V1__ADDRESS__INIT;
    addr.hostname = "master1";
    addr.ip = "10.0.0.1";
    addr.port = 5050;
    Mesos__V1__MasterInfo mi = MESOS__V1__MASTER_INFO__INIT;
    mi.id = "m-1";
    mi.ip = 16777226;
    mi.port = 5050;
    mi.hostname = "master1";
    mi.address = &addr;
    Mesos__V1__Scheduler__Event__Subscribed sub = MESOS__V1__SCHEDULER__EVENT__SUBSCRIBED__INIT;
    sub.framework_id = &fid;
    sub.has_heartbeat_interval_seconds = 1;
    sub.heartbeat_interval_seconds = 15;
    sub.master_info = &mi;
    Mesos__V1__Scheduler__Event ev = MESOS__V1__SCHEDULER__EVENT__INIT;
    ev.has_type = 1;
    ev.type = MESOS__V1__SCHEDULER__EVENT__TYPE__SUBSCRIBED;
    ev.subscribed = &sub;
    return pack(&ev, len);
}

uint8_t *msg_offers(size_t *len) {
    msg_task t;
    msg_task_init(&t);   /* reuse its resources: an offer carries the same shapes */
    Mesos__V1__OfferID oid = MESOS__V1__OFFER_ID__INIT;
    oid.value = "O1";
    Mesos__V1__FrameworkID fid = MESOS__V1__FRAMEWORK_ID__INIT;
    fid.value = "fw-1";
    Mesos__V1__Offer o = MESOS__V1__OFFER__INIT;
    o.id = &oid;
    o.framework_id = &fid;
    o.agent_id = &t.aid;
    o.hostname = "agent1";
    o.n_resources = 3;
    o.resources = t.resp;
    o.allocation_info = &t.alloc;
    Mesos__V1__Offer *op[1] = {&o};
    Mesos__V1__Scheduler__Event__Offers offers = MESOS__V1__SCHEDULER__EVENT__OFFERS__INIT;
    offers.n_offers = 1;
    offers.offers = op;
    Mesos__V1__Scheduler__Event ev = MESOS__V1__SCHEDULER__EVENT__INIT;
    ev.has_type = 1;
    ev.type = MESOS__V1__SCHEDULER__EVENT__TYPE__OFFERS;
    ev.offers = &offers;
    return pack(&ev, len);
}

uint8_t *msg_update(size_t *len) {
    Mesos__V1__TaskID tid = MESOS__V1__TASK_ID__INIT;
    tid.value = "mc-1";
    Mesos__V1__AgentID aid = MESOS__V1__AGENT_ID__INIT;
    aid.value = "S1";
    Mesos__V1__ExecutorID eid = MESOS__V1__EXECUTOR_ID__INIT;
    eid.value = "exec-mc-1";
    Mesos__V1__TaskStatus st = MESOS__V1__TASK_STATUS__INIT;
    st.task_id = &tid;
    st.state = MESOS__V1__TASK_STATE__TASK_RUNNING;
    st.has_source = 1;
    st.source = MESOS__V1__TASK_STATUS__SOURCE__SOURCE_EXECUTOR;
    st.agent_id = &aid;
    st.executor_id = &eid;
    st.has_uuid = 1;
    st.uuid.data = (uint8_t *)msg_uuid;
    st.uuid.len = 16;
    st.has_timestamp = 1;
    st.timestamp = 1764000000.5;
    st.message = "memcached 1.6 ready";
    Mesos__V1__Scheduler__Event__Update up = MESOS__V1__SCHEDULER__EVENT__UPDATE__INIT;
    up.status = &st;
    Mesos__V1__Scheduler__Event ev = MESOS__V1__SCHEDULER__EVENT__INIT;
    ev.has_type = 1;
    ev.type = MESOS__V1__SCHEDULER__EVENT__TYPE__UPDATE;
    ev.update = &up;
    return pack(&ev, len);
}
