/* fuzz_exec_events.c -- libFuzzer target: the executor's handling of the
 * events its agent streams (mesos.v1.executor.Event: SUBSCRIBED, LAUNCH,
 * LAUNCH_GROUP, KILL, ACKNOWLEDGED, MESSAGE, SHUTDOWN, ERROR, HEARTBEAT),
 * beyond unpacking: hostile TaskInfos and KillPolicies, KILLs of other
 * tasks, LAUNCHes after SHUTDOWN, migrate commands in MESSAGEs.
 *
 * Input: a sequence of chunks, each a 2-byte big-endian header and a packed
 * Event. The header's low 15 bits are the length; its top bit says
 * memcached answered `version` before this event (STARTING -> RUNNING, as
 * exec_loop's tick would have it), so migrate commands meet a running
 * server. Each Event that unpacks goes through exec_event_decide, the
 * executor's own decision (exec_event.h; a MESSAGE's payload through
 * mig_cmd_decode there); the harness then moves its model of the loop's
 * state the way exec_loop.c does (its diagram), without memcached or Mesos.
 *
 * Checked beyond no crash/leak/UB, against the model:
 *   1. A LAUNCH is accepted only in IDLE, once per executor, naming the
 *      event's task id, which is kept whole; its port is the first range of
 *      the first `ports` resource (1..65535), its memory >= 1 MiB.
 *   2. A KILL is acted on only while STARTING or RUNNING, for the adopted
 *      task, with the KillPolicy's grace (or the default), >= 0.
 *   3. A migrate command is accepted only in RUNNING; its fields are within
 *      mig_msg.h's bounds and it encodes and decodes back the same.
 *   4. After SHUTDOWN (or any terminal decision) nothing is started,
 *      killed or migrated again.
 *   5. Each decision kind comes only from its event type; every refusal
 *      and note says why.
 * Threads: one. */
#include "exec_event.h"
#include "mcm.h"
#include "mig_msg.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STOP_GRACE_MS 5000
#define READY_BIT 0x8000u
#define LEN_MASK 0x7fffu

typedef struct model {
    xe_phase phase;
    char task_id[XE_TASK_ID_MAX];
    int64_t task_grace;         /* the TaskInfo's kill grace, -1: none */
    int launches, shut;
} model;

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "check failed: %s (line %d)\n", #c, __LINE__); abort(); } } while (0)

/* The port exec_task.h promises: the begin of the first range of the first
 * `ports` RANGES resource. An oracle apart from exec_task.c's own walk. */
static int64_t first_port(const Mesos__V1__TaskInfo *t) {
    for (size_t i = 0; i < t->n_resources; i++) {
        const Mesos__V1__Resource *r = t->resources[i];
        if (r->name && !strcmp(r->name, "ports") && r->type == MESOS__V1__VALUE__TYPE__RANGES)
            return r->ranges && r->ranges->n_range ? (int64_t)r->ranges->range[0]->begin : -1;
    }
    return -1;
}

static int same_list(char **a, int na, char **b, int nb) {
    if (na != nb) return 0;
    for (int i = 0; i < na; i++)
        if (strcmp(a[i], b[i])) return 0;
    return 1;
}

static void check_list(char **l, int n, int min) {
    CHECK(n >= min && n <= MIG_MSG_RING_MAX);
    for (int i = 0; i < n; i++) CHECK(l[i] && l[i][0] && strlen(l[i]) < MIG_MSG_ADDR_MAX);
}

static void check_cmd(const mig_cmd *c) {
    CHECK(c->id >= 1 && c->phase >= MIG_CMD_COPY && c->phase <= MIG_CMD_ABORT && c->budget_ms >= 0);
    CHECK(c->self[0] && strlen(c->self) < MIG_MSG_ADDR_MAX);
    check_list(c->ring, c->nring, 1);
    check_list(c->from, c->nfrom, 0);
    check_list(c->to, c->nto, 0);
    check_list(c->lost, c->nlost, 0);
    char *enc = mig_cmd_encode(c);
    CHECK(enc);
    mig_cmd b;
    char err[256];
    CHECK(mig_cmd_decode(enc, strlen(enc), &b, err, sizeof(err)) == MCM_OK);
    CHECK(b.id == c->id && b.phase == c->phase && b.rate == c->rate && b.budget_ms == c->budget_ms);
    CHECK(!strcmp(b.self, c->self) && same_list(b.ring, b.nring, c->ring, c->nring));
    CHECK(same_list(b.from, b.nfrom, c->from, c->nfrom) && same_list(b.to, b.nto, c->to, c->nto));
    CHECK(same_list(b.lost, b.nlost, c->lost, c->nlost));
    mig_cmd_clear(&b);
    free(enc);
}

static void on_launch(model *m, const Mesos__V1__TaskInfo *t, const xe_decision *d) {
    CHECK(t && t->task_id && t->task_id->value && d->task_id == t->task_id->value);
    if (d->kind == XE_LAUNCH_REFUSED) {
        CHECK(m->phase != XE_IDLE && d->why[0]);
        return;
    }
    CHECK(m->phase == XE_IDLE && m->launches == 0 && !m->shut);
    snprintf(m->task_id, sizeof(m->task_id), "%s", d->task_id);
    m->launches++;
    if (d->kind == XE_LAUNCH_INVALID) {
        CHECK(d->why[0]);
        m->phase = XE_FINISHING;
        return;
    }
    CHECK(d->task_id[0] && strlen(d->task_id) < sizeof(m->task_id));  /* kept whole: a KILL can name it */
    CHECK(d->task.port >= 1 && d->task.port <= 65535 && d->task.port == first_port(t));
    CHECK(d->task.mem_mib >= 1);
    m->task_grace = d->task.kill_grace_ms;
    m->phase = XE_STARTING;
}

static void on_kill(model *m, const Mesos__V1__Executor__Event__Kill *k, const xe_decision *d) {
    CHECK(m->phase == XE_STARTING || m->phase == XE_RUNNING);
    CHECK(k && k->task_id && d->task_id == k->task_id->value && !strcmp(d->task_id, m->task_id));
    const Mesos__V1__KillPolicy *kp = k->kill_policy;
    int64_t def = m->task_grace >= 0 ? m->task_grace : STOP_GRACE_MS;
    int has = kp && kp->grace_period && kp->grace_period->nanoseconds >= 0;
    CHECK(d->grace_ms >= 0 && d->grace_ms == (has ? kp->grace_period->nanoseconds / 1000000 : def));
    m->phase = XE_FINISHING;
}

/* Checks d against the model and the event, then moves the model as
 * exec_loop.c moves its state. */
static void apply(model *m, const Mesos__V1__Executor__Event *ev, const xe_decision *d) {
    int type = ev->has_type ? (int)ev->type : 0;
    int launch = type == MESOS__V1__EXECUTOR__EVENT__TYPE__LAUNCH;
    switch (d->kind) {
    case XE_NOTE: CHECK(d->why[0]); break;
    case XE_SUBSCRIBED:
        CHECK(type == MESOS__V1__EXECUTOR__EVENT__TYPE__SUBSCRIBED && (d->killing_state & ~1) == 0);
        break;
    case XE_LAUNCH:
    case XE_LAUNCH_INVALID:
    case XE_LAUNCH_REFUSED: CHECK(launch && ev->launch); on_launch(m, ev->launch->task, d); break;
    case XE_KILL: CHECK(type == MESOS__V1__EXECUTOR__EVENT__TYPE__KILL); on_kill(m, ev->kill, d); break;
    case XE_SHUTDOWN:
        CHECK(type == MESOS__V1__EXECUTOR__EVENT__TYPE__SHUTDOWN);
        m->phase = XE_FINISHING;
        m->shut = 1;
        break;
    case XE_MIGRATE:
        CHECK(type == MESOS__V1__EXECUTOR__EVENT__TYPE__MESSAGE && m->phase == XE_RUNNING && d->has_cmd);
        check_cmd(&d->cmd);
        break;
    case XE_MIGRATE_REFUSED:
        CHECK(type == MESOS__V1__EXECUTOR__EVENT__TYPE__MESSAGE && d->why[0]);
        CHECK(!d->has_cmd || m->phase != XE_RUNNING);
        if (d->has_cmd) check_cmd(&d->cmd);
        break;
    default: CHECK(!"unknown decision kind");
    }
    CHECK(!m->shut || m->phase == XE_FINISHING);
    CHECK(m->launches <= 1 && (m->phase == XE_IDLE) == (m->launches == 0 && !m->shut));
}

static void on_event(model *m, const Mesos__V1__Executor__Event *ev) {
    xe_view v = {m->phase, m->task_id, "mcm-fuzz-executor", m->task_grace >= 0 ? m->task_grace : STOP_GRACE_MS};
    xe_decision d;
    exec_event_decide(&v, ev, &d);
#ifdef FUZZ_TRACE                               /* -DFUZZ_TRACE: what each seed event decides */
    fprintf(stderr, "event %d phase %d -> kind %d %s\n", ev->has_type ? (int)ev->type : 0, m->phase, d.kind, d.why);
#endif
    apply(m, ev, &d);
    exec_event_clear(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    model m = {.phase = XE_IDLE, .task_grace = -1};
    while (size >= 2) {
        unsigned head = (unsigned)data[0] << 8 | data[1];
        size_t len = head & LEN_MASK;
        data += 2;
        size -= 2;
        if (len > size) len = size;
        if ((head & READY_BIT) && m.phase == XE_STARTING) m.phase = XE_RUNNING;
        Mesos__V1__Executor__Event *ev = mesos__v1__executor__event__unpack(NULL, len, data);
        if (ev) on_event(&m, ev);
        mesos__v1__executor__event__free_unpacked(ev, NULL);
        data += len;
        size -= len;
    }
    return 0;
}
