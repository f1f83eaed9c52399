/* test_sim_tasks.c -- mcm-sim with real executor processes (sim_test_executor):
 * launch, status updates with uuids and the one-at-a-time ACK rule, resends,
 * kill, reconciliation, messages, invalid launches, agent loss, partitions, executor
 * death, registration timeout, shutdown, and executors dying with the sim.
 * Every wait is bounded. */
#include "harness.h"
#include "simc.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EV(t) MESOS__V1__SCHEDULER__EVENT__TYPE__##t
#define CALL(t) MESOS__V1__SCHEDULER__CALL__TYPE__##t
#define ST(t) MESOS__V1__TASK_STATE__TASK_##t
#define REASON(t) MESOS__V1__TASK_STATUS__REASON__REASON_##t

static simc *S;
static simc_sub *SUB;
static Mesos__V1__FrameworkInfo *FI;
static char FW[256];

static void teardown(void) {
    simc_sub_close(SUB);
    SUB = NULL;
    simc_fi_free(FI);
    FI = NULL;
    simc_free(S);
    S = NULL;
}

static void start(const char *const *args, int pa) {
    S = simc_start(args);
    FI = simc_fi("tasks", NULL, pa, 3600);
    SUB = simc_subscribe(simc_port(S), FI);
    ck_assert_int_eq(simc_sub_status(SUB, 5000), 200);
    Mesos__V1__Scheduler__Event *ev = simc_sub_next(SUB, EV(SUBSCRIBED), 5000);
    ck_assert_ptr_nonnull(ev);
    snprintf(FW, sizeof(FW), "%s", ev->subscribed->framework_id->value);
    mesos__v1__scheduler__event__free_unpacked(ev, NULL);
}

static int send_call(Mesos__V1__Scheduler__Call *c) {
    return simc_call(simc_port(S), simc_sub_stream_id(SUB), c, NULL, 0);
}

static Mesos__V1__Offer *next_offer(Mesos__V1__Scheduler__Event **holder) {
    *holder = simc_sub_next(SUB, EV(OFFERS), 5000);
    ck_assert_msg(*holder != NULL, "no offer");
    return (*holder)->offers->offers[0];
}

static Mesos__V1__Resource *scalar(Mesos__V1__Resource *r, Mesos__V1__Value__Scalar *v, const char *name, double x) {
    mesos__v1__resource__init(r);
    mesos__v1__value__scalar__init(v);
    r->name = (char *)name;
    r->type = MESOS__V1__VALUE__TYPE__SCALAR;
    v->value = x;
    r->scalar = v;
    return r;
}

typedef struct launch_opts {
    const char *task_id;
    const char *exec_id;
    const char *mode;          /* TEST_EXEC_MODE or NULL */
    double cpus;
    int no_executor;
    const char *offer_id;      /* override (stale offers) */
} launch_opts;

/* ACCEPT the offer with one task running sim_test_executor; refuse_seconds 0. */
static int launch(const Mesos__V1__Offer *o, const launch_opts *lo) {
    Mesos__V1__Scheduler__Call c;
    Mesos__V1__FrameworkID fid;
    simc_call_init(&c, &fid, FW, CALL(ACCEPT));
    Mesos__V1__Scheduler__Call__Accept ac = MESOS__V1__SCHEDULER__CALL__ACCEPT__INIT;
    Mesos__V1__OfferID oid = MESOS__V1__OFFER_ID__INIT;
    Mesos__V1__OfferID *oids[1] = {&oid};
    oid.value = (char *)(lo->offer_id ? lo->offer_id : o->id->value);
    Mesos__V1__Offer__Operation op = MESOS__V1__OFFER__OPERATION__INIT;
    Mesos__V1__Offer__Operation *ops[1] = {&op};
    Mesos__V1__Offer__Operation__Launch l = MESOS__V1__OFFER__OPERATION__LAUNCH__INIT;
    Mesos__V1__TaskInfo ti = MESOS__V1__TASK_INFO__INIT, *tis[1] = {&ti};
    Mesos__V1__TaskID tid = MESOS__V1__TASK_ID__INIT;
    Mesos__V1__AgentID aid = MESOS__V1__AGENT_ID__INIT;
    Mesos__V1__ExecutorInfo ei = MESOS__V1__EXECUTOR_INFO__INIT;
    Mesos__V1__ExecutorID eid = MESOS__V1__EXECUTOR_ID__INIT;
    Mesos__V1__CommandInfo cmd = MESOS__V1__COMMAND_INFO__INIT;
    Mesos__V1__Environment env = MESOS__V1__ENVIRONMENT__INIT;
    Mesos__V1__Environment__Variable var = MESOS__V1__ENVIRONMENT__VARIABLE__INIT, *vars[1] = {&var};
    Mesos__V1__Resource r[2], *rs[2] = {&r[0], &r[1]};
    Mesos__V1__Value__Scalar v[2];
    Mesos__V1__Filters f = MESOS__V1__FILTERS__INIT;
    char bin[512];
    snprintf(bin, sizeof(bin), "%s/tests/sim/sim_test_executor", getenv("MCM_BUILD_DIR"));
    scalar(&r[0], &v[0], "cpus", lo->cpus > 0 ? lo->cpus : 0.1);
    scalar(&r[1], &v[1], "mem", 32);
    ti.name = "t";
    tid.value = (char *)lo->task_id;
    ti.task_id = &tid;
    aid.value = o->agent_id->value;
    ti.agent_id = &aid;
    ti.n_resources = 2;
    ti.resources = rs;
    eid.value = (char *)(lo->exec_id ? lo->exec_id : lo->task_id);
    ei.executor_id = &eid;
    cmd.value = bin;
    cmd.has_shell = 1;
    cmd.shell = 0;
    if (lo->mode) {
        var.name = "TEST_EXEC_MODE";
        var.value = (char *)lo->mode;
        env.n_variables = 1;
        env.variables = vars;
        cmd.environment = &env;
    }
    ei.command = &cmd;
    if (!lo->no_executor) ti.executor = &ei;
    l.n_task_infos = 1;
    l.task_infos = tis;
    op.has_type = 1;
    op.type = MESOS__V1__OFFER__OPERATION__TYPE__LAUNCH;
    op.launch = &l;
    f.has_refuse_seconds = 1;
    f.refuse_seconds = 0;
    ac.n_offer_ids = 1;
    ac.offer_ids = oids;
    ac.n_operations = 1;
    ac.operations = ops;
    ac.filters = &f;
    c.accept = &ac;
    return send_call(&c);
}

/* The next UPDATE event (caller frees). */
static Mesos__V1__Scheduler__Event *next_update(int timeout_ms) { return simc_sub_next(SUB, EV(UPDATE), timeout_ms); }

static Mesos__V1__TaskStatus *expect_update(Mesos__V1__Scheduler__Event **holder, const char *task, int state) {
    *holder = next_update(8000);
    ck_assert_msg(*holder != NULL, "no update for %s (want state %d)", task, state);
    Mesos__V1__TaskStatus *st = (*holder)->update->status;
    ck_assert_str_eq(st->task_id->value, task);
    ck_assert_msg((int)st->state == state, "task %s: state %d, want %d (%s)", task, (int)st->state, state,
                  st->message ? st->message : "");
    return st;
}

static void ack(const Mesos__V1__TaskStatus *st) {
    Mesos__V1__Scheduler__Call c;
    Mesos__V1__FrameworkID fid;
    simc_call_init(&c, &fid, FW, CALL(ACKNOWLEDGE));
    Mesos__V1__Scheduler__Call__Acknowledge ak = MESOS__V1__SCHEDULER__CALL__ACKNOWLEDGE__INIT;
    ak.agent_id = st->agent_id;
    ak.task_id = st->task_id;
    ak.uuid = st->uuid;
    c.acknowledge = &ak;
    ck_assert_int_eq(send_call(&c), 202);
}

static void free_ev(Mesos__V1__Scheduler__Event *ev) { mesos__v1__scheduler__event__free_unpacked(ev, NULL); }

/* Launches task on the first offer and drives it to RUNNING (both updates acknowledged). */
static void run_task(const char *task, char *agent, size_t agentlen) {
    Mesos__V1__Scheduler__Event *oe, *ev;
    Mesos__V1__Offer *o = next_offer(&oe);
    if (agent) snprintf(agent, agentlen, "%s", o->agent_id->value);
    launch_opts lo = {.task_id = task};
    ck_assert_int_eq(launch(o, &lo), 202);
    free_ev(oe);
    ack(expect_update(&ev, task, ST(STARTING)));
    free_ev(ev);
    ack(expect_update(&ev, task, ST(RUNNING)));
    free_ev(ev);
}

static json_t *find(json_t *arr, const char *key, const char *val) {
    for (size_t i = 0; i < json_array_size(arr); i++)
        if (strcmp(json_string_value(json_object_get(json_array_get(arr, i), key)), val) == 0)
            return json_array_get(arr, i);
    return NULL;
}

static int exec_pid(const char *exec_id) {
    json_t *st = simc_state(S);
    json_t *ex = find(json_object_get(st, "executors"), "id", exec_id);
    int pid = ex ? (int)json_integer_value(json_object_get(ex, "pid")) : 0;
    json_decref(st);
    return pid;
}

START_TEST(test_sim_launch_updates_wait_for_ack_and_are_resent) {
    const char *args[] = {"--agents", "1", "--offer-interval", "100ms", "--update-retry", "1500ms", NULL};
    start(args, 1);
    Mesos__V1__Scheduler__Event *oe, *ev, *ev2;
    Mesos__V1__Offer *o = next_offer(&oe);
    launch_opts lo = {.task_id = "task-1"};
    ck_assert_int_eq(launch(o, &lo), 202);
    free_ev(oe);
    Mesos__V1__TaskStatus *st = expect_update(&ev, "task-1", ST(STARTING));
    ck_assert(st->has_uuid && st->uuid.len == 16);
    ck_assert(st->has_source && st->source == MESOS__V1__TASK_STATUS__SOURCE__SOURCE_EXECUTOR);
    ck_assert_ptr_nonnull(st->agent_id);
    ck_assert_str_eq(st->executor_id->value, "task-1");
    /* The executor sent RUNNING right after STARTING; it waits for our ACK. */
    ck_assert_msg(next_update(1000) == NULL, "second update forwarded before the first was acknowledged");
    /* Unacknowledged: resent with the same uuid after --update-retry. */
    Mesos__V1__TaskStatus *again = expect_update(&ev2, "task-1", ST(STARTING));
    ck_assert(again->uuid.len == 16 && memcmp(again->uuid.data, st->uuid.data, 16) == 0);
    free_ev(ev2);
    ack(st);
    free_ev(ev);
    st = expect_update(&ev, "task-1", ST(RUNNING));
    ack(st);
    free_ev(ev);
    ck_assert_msg(next_update(2000) == NULL, "acknowledged update resent");
    /* The executor runs in its sandbox with the Mesos environment. */
    json_t *js = simc_state(S);
    json_t *ex = find(json_object_get(js, "executors"), "id", "task-1");
    ck_assert_ptr_nonnull(ex);
    ck_assert_str_eq(json_string_value(json_object_get(ex, "state")), "subscribed");
    char path[1024];
    snprintf(path, sizeof(path), "%s/stderr", json_string_value(json_object_get(ex, "sandbox")));
    struct stat sb;
    ck_assert_msg(stat(path, &sb) == 0 && sb.st_size > 0, "no executor stderr in the sandbox");
    json_decref(js);
    /* KILL: TASK_KILLED, then the executor exits: FAILURE, and the task is forgotten after the ACK. */
    Mesos__V1__Scheduler__Call c;
    Mesos__V1__FrameworkID fid;
    Mesos__V1__Scheduler__Call__Kill k = MESOS__V1__SCHEDULER__CALL__KILL__INIT;
    Mesos__V1__TaskID tid = MESOS__V1__TASK_ID__INIT;
    tid.value = "task-1";
    k.task_id = &tid;
    simc_call_init(&c, &fid, FW, CALL(KILL));
    c.kill = &k;
    ck_assert_int_eq(send_call(&c), 202);
    ack(expect_update(&ev, "task-1", ST(KILLED)));
    free_ev(ev);
    ev = simc_sub_next(SUB, EV(FAILURE), 5000);
    ck_assert_msg(ev != NULL, "no FAILURE after the executor exited");
    ck_assert_str_eq(ev->failure->executor_id->value, "task-1");
    ck_assert(ev->failure->has_status && ev->failure->status == 0);
    free_ev(ev);
    usleep(200 * 1000);
    js = simc_state(S);
    ck_assert_ptr_null(find(json_object_get(js, "tasks"), "id", "task-1"));
    ck_assert_ptr_nonnull(find(json_object_get(js, "completed_tasks"), "id", "task-1"));
    json_decref(js);
}
END_TEST

static void reconcile(const char *const *tasks, const char *const *agents, int n) {
    Mesos__V1__Scheduler__Call c;
    Mesos__V1__FrameworkID fid;
    Mesos__V1__Scheduler__Call__Reconcile rc = MESOS__V1__SCHEDULER__CALL__RECONCILE__INIT;
    Mesos__V1__Scheduler__Call__Reconcile__Task rt[8], *rtp[8];
    Mesos__V1__TaskID tid[8];
    Mesos__V1__AgentID aid[8];
    for (int i = 0; i < n; i++) {
        mesos__v1__scheduler__call__reconcile__task__init(&rt[i]);
        mesos__v1__task_id__init(&tid[i]);
        mesos__v1__agent_id__init(&aid[i]);
        tid[i].value = (char *)tasks[i];
        rt[i].task_id = &tid[i];
        if (agents[i]) {
            aid[i].value = (char *)agents[i];
            rt[i].agent_id = &aid[i];
        }
        rtp[i] = &rt[i];
    }
    rc.n_tasks = (size_t)n;
    rc.tasks = rtp;
    simc_call_init(&c, &fid, FW, CALL(RECONCILE));
    c.reconcile = &rc;
    ck_assert_int_eq(send_call(&c), 202);
}

static void expect_reconciled(const char *task, int state) {
    Mesos__V1__Scheduler__Event *ev;
    Mesos__V1__TaskStatus *st = expect_update(&ev, task, state);
    ck_assert(st->has_source && st->source == MESOS__V1__TASK_STATUS__SOURCE__SOURCE_MASTER);
    ck_assert(st->has_reason && st->reason == REASON(RECONCILIATION));
    ck_assert_msg(!st->has_uuid, "reconciliation update carries a uuid");
    free_ev(ev);
}

START_TEST(test_sim_reconcile_explicit_and_implicit) {
    const char *args[] = {"--agents", "1", "--offer-interval", "100ms", NULL};
    start(args, 1);
    char agent[256];
    run_task("rec-1", agent, sizeof(agent));
    const char *tasks[] = {"rec-1", "ghost-1", "ghost-2", "ghost-3"};
    const char *agents[] = {NULL, agent, "no-such-agent", NULL};
    reconcile(tasks, agents, 4);
    expect_reconciled("rec-1", ST(RUNNING));
    expect_reconciled("ghost-1", ST(GONE));
    expect_reconciled("ghost-2", ST(UNKNOWN));
    expect_reconciled("ghost-3", ST(UNKNOWN));
    reconcile(NULL, NULL, 0);
    expect_reconciled("rec-1", ST(RUNNING));
    ck_assert_msg(next_update(500) == NULL, "implicit reconciliation spoke about unknown tasks");
    /* KILL of an unknown task is answered by reconciliation. */
    Mesos__V1__Scheduler__Call c;
    Mesos__V1__FrameworkID fid;
    Mesos__V1__Scheduler__Call__Kill k = MESOS__V1__SCHEDULER__CALL__KILL__INIT;
    Mesos__V1__TaskID tid = MESOS__V1__TASK_ID__INIT;
    Mesos__V1__AgentID aid = MESOS__V1__AGENT_ID__INIT;
    tid.value = "ghost-4";
    aid.value = agent;
    k.task_id = &tid;
    k.agent_id = &aid;
    simc_call_init(&c, &fid, FW, CALL(KILL));
    c.kill = &k;
    ck_assert_int_eq(send_call(&c), 202);
    expect_reconciled("ghost-4", ST(GONE));
}
END_TEST

START_TEST(test_sim_reconcile_without_partition_awareness_says_lost) {
    const char *args[] = {"--agents", "1", NULL};
    start(args, 0);
    const char *tasks[] = {"ghost"};
    const char *agents[] = {NULL};
    reconcile(tasks, agents, 1);
    expect_reconciled("ghost", ST(LOST));
}
END_TEST

START_TEST(test_sim_messages_reach_the_executor_and_come_back) {
    const char *args[] = {"--agents", "1", "--offer-interval", "100ms", NULL};
    start(args, 1);
    char agent[256];
    run_task("msg-1", agent, sizeof(agent));
    Mesos__V1__Scheduler__Call c;
    Mesos__V1__FrameworkID fid;
    Mesos__V1__Scheduler__Call__Message m = MESOS__V1__SCHEDULER__CALL__MESSAGE__INIT;
    Mesos__V1__AgentID aid = MESOS__V1__AGENT_ID__INIT;
    Mesos__V1__ExecutorID eid = MESOS__V1__EXECUTOR_ID__INIT;
    aid.value = agent;
    eid.value = "msg-1";
    m.agent_id = &aid;
    m.executor_id = &eid;
    m.data.data = (uint8_t *)"ping";
    m.data.len = 4;
    simc_call_init(&c, &fid, FW, CALL(MESSAGE));
    c.message = &m;
    ck_assert_int_eq(send_call(&c), 202);
    Mesos__V1__Scheduler__Event *ev = simc_sub_next(SUB, EV(MESSAGE), 5000);
    ck_assert_msg(ev != NULL, "no MESSAGE back from the executor");
    ck_assert_str_eq(ev->message->agent_id->value, agent);
    ck_assert_str_eq(ev->message->executor_id->value, "msg-1");
    ck_assert_int_eq((int)ev->message->data.len, 9);
    ck_assert(memcmp(ev->message->data.data, "echo:ping", 9) == 0);
    free_ev(ev);
}
END_TEST

START_TEST(test_sim_invalid_launches_are_refused_per_task) {
    const char *args[] = {"--agents", "1", "--offer-interval", "100ms", NULL};
    start(args, 1);
    Mesos__V1__Scheduler__Event *oe, *ev;
    Mesos__V1__Offer *o = next_offer(&oe);
    /* Stale offer ID: TASK_DROPPED, REASON_INVALID_OFFERS, master-made. */
    launch_opts stale = {.task_id = "bad-1", .offer_id = "no-such-offer"};
    ck_assert_int_eq(launch(o, &stale), 202);
    Mesos__V1__TaskStatus *st = expect_update(&ev, "bad-1", ST(DROPPED));
    ck_assert(st->has_reason && st->reason == REASON(INVALID_OFFERS));
    ck_assert(!st->has_uuid);
    free_ev(ev);
    /* More cpus than offered (the real offer is still valid): TASK_ERROR. */
    launch_opts big = {.task_id = "bad-2", .cpus = 64};
    ck_assert_int_eq(launch(o, &big), 202);
    st = expect_update(&ev, "bad-2", ST(ERROR));
    ck_assert(st->has_reason && st->reason == REASON(TASK_INVALID));
    free_ev(ev);
    free_ev(oe);
    /* Neither executor nor command: TASK_ERROR. */
    o = next_offer(&oe);
    launch_opts none = {.task_id = "bad-3", .no_executor = 1};
    ck_assert_int_eq(launch(o, &none), 202);
    expect_update(&ev, "bad-3", ST(ERROR));
    free_ev(ev);
    free_ev(oe);
    /* The refused offers' resources came back: a full offer again. */
    o = next_offer(&oe);
    for (size_t i = 0; i < o->n_resources; i++)
        if (strcmp(o->resources[i]->name, "cpus") == 0) ck_assert(o->resources[i]->scalar->value == 4.0);
    free_ev(oe);
}
END_TEST

static void agent_down_case(int pa) {
    const char *args[] = {"--agents", "2", "--offer-interval", "100ms", NULL};
    start(args, pa);
    char agent[256];
    run_task("ag-1", agent, sizeof(agent));
    int pid = exec_pid("ag-1");
    ck_assert_int_gt(pid, 0);
    usleep(300 * 1000);      /* outstanding offers on both agents */
    char path[400];
    snprintf(path, sizeof(path), "/sim/agent/down?agent=%s", agent);
    ck_assert_int_eq(simc_http(simc_port(S), "POST", path, NULL), 200);
    Mesos__V1__Scheduler__Event *ev;
    Mesos__V1__TaskStatus *st = expect_update(&ev, "ag-1", pa ? ST(UNREACHABLE) : ST(LOST));
    ck_assert(st->source == MESOS__V1__TASK_STATUS__SOURCE__SOURCE_MASTER && !st->has_uuid);
    free_ev(ev);
    ev = simc_sub_next(SUB, EV(RESCIND), 3000);
    ck_assert_msg(ev != NULL, "offers on the lost agent were not rescinded");
    free_ev(ev);
    for (int i = 0; i < 100 && kill(pid, 0) == 0; i++) usleep(20 * 1000);
    ck_assert_msg(kill(pid, 0) != 0, "executor of the lost agent still alive");
    const char *tasks[] = {"ag-1"};
    const char *agents[] = {agent};
    reconcile(tasks, agents, 1);
    expect_reconciled("ag-1", pa ? ST(UNREACHABLE) : ST(LOST));
    snprintf(path, sizeof(path), "/sim/agent/up?agent=%s", agent);
    ck_assert_int_eq(simc_http(simc_port(S), "POST", path, NULL), 200);
    reconcile(tasks, agents, 1);
    expect_reconciled("ag-1", pa ? ST(GONE) : ST(LOST));
}

START_TEST(test_sim_agent_loss_makes_tasks_unreachable) { agent_down_case(1); }
END_TEST

START_TEST(test_sim_agent_loss_makes_tasks_lost_without_partition_awareness) { agent_down_case(0); }
END_TEST

static void partition(const char *agent, const char *what, int want) {
    char path[400];
    snprintf(path, sizeof(path), "/sim/agent/%s?agent=%s", what, agent);
    ck_assert_int_eq(simc_http(simc_port(S), "POST", path, NULL), want);
}

/* Master::markUnreachable: TASK_UNREACHABLE from the master, offers
 * rescinded and none after; the executor lives on and what it reports is
 * held by the agent until the partition heals; reconciliation follows. */
START_TEST(test_sim_partition_keeps_processes_and_holds_updates) {
    const char *args[] = {"--agents", "1", "--offer-interval", "100ms", NULL};
    start(args, 1);
    char agent[256];
    run_task("part-1", agent, sizeof(agent));
    int pid = exec_pid("part-1");
    ck_assert_int_gt(pid, 0);
    usleep(300 * 1000);      /* an outstanding offer */
    partition(agent, "partition", 200);
    partition(agent, "partition", 409);
    Mesos__V1__Scheduler__Event *ev;
    Mesos__V1__TaskStatus *st = expect_update(&ev, "part-1", ST(UNREACHABLE));
    ck_assert(st->source == MESOS__V1__TASK_STATUS__SOURCE__SOURCE_MASTER && !st->has_uuid);
    ck_assert(st->has_reason && st->reason == REASON(AGENT_REMOVED));
    ck_assert(st->unreachable_time != NULL);
    free_ev(ev);
    ev = simc_sub_next(SUB, EV(RESCIND), 3000);
    ck_assert_msg(ev != NULL, "offers on the partitioned agent were not rescinded");
    free_ev(ev);
    while ((ev = simc_sub_next(SUB, EV(OFFERS), 0))) free_ev(ev);   /* made before the partition */
    ck_assert_msg(simc_sub_next(SUB, EV(OFFERS), 600) == NULL, "a partitioned agent was offered");
    ck_assert_msg(kill(pid, 0) == 0, "the executor of a partitioned agent was killed");
    const char *tasks[] = {"part-1"};
    const char *agents[] = {agent};
    reconcile(tasks, agents, 1);
    expect_reconciled("part-1", ST(UNREACHABLE));
    /* It heals: the master knows the task in its real state again. */
    partition(agent, "heal", 200);
    partition(agent, "heal", 409);
    reconcile(tasks, agents, 1);
    expect_reconciled("part-1", ST(RUNNING));
    ev = simc_sub_next(SUB, EV(OFFERS), 3000);
    ck_assert_msg(ev != NULL, "no offer from the healed agent");
    free_ev(ev);
    /* An update made during a partition is held, then sent at the heal. */
    partition(agent, "partition", 200);
    expect_update(&ev, "part-1", ST(UNREACHABLE));
    free_ev(ev);
    char path[600];
    snprintf(path, sizeof(path), "/sim/kill-executor?framework=%s&executor=part-1", FW);
    ck_assert_int_eq(simc_http(simc_port(S), "POST", path, NULL), 200);
    ck_assert_msg(next_update(800) == NULL, "an update crossed the partition");
    partition(agent, "heal", 200);
    st = expect_update(&ev, "part-1", ST(FAILED));
    ck_assert(st->source == MESOS__V1__TASK_STATUS__SOURCE__SOURCE_AGENT && st->has_uuid);
    ack(st);
    free_ev(ev);
}
END_TEST

START_TEST(test_sim_executor_death_fails_its_tasks) {
    const char *args[] = {"--agents", "1", "--offer-interval", "100ms", NULL};
    start(args, 1);
    run_task("die-1", NULL, 0);
    char path[600];
    snprintf(path, sizeof(path), "/sim/kill-executor?framework=%s&executor=die-1", FW);
    ck_assert_int_eq(simc_http(simc_port(S), "POST", path, NULL), 200);
    Mesos__V1__Scheduler__Event *ev;
    Mesos__V1__TaskStatus *st = expect_update(&ev, "die-1", ST(FAILED));
    ck_assert(st->has_reason && st->reason == REASON(EXECUTOR_TERMINATED));
    ck_assert(st->has_source && st->source == MESOS__V1__TASK_STATUS__SOURCE__SOURCE_AGENT);
    ck_assert(st->has_uuid && st->uuid.len == 16);
    ack(st);
    free_ev(ev);
    ev = simc_sub_next(SUB, EV(FAILURE), 3000);
    ck_assert_msg(ev != NULL, "no FAILURE event");
    ck_assert(ev->failure->has_status && ev->failure->status != 0);
    free_ev(ev);
}
END_TEST

START_TEST(test_sim_executor_registration_timeout_fails_the_task) {
    const char *args[] = {"--agents", "1", "--offer-interval", "100ms", "--executor-registration-timeout", "1s", NULL};
    start(args, 1);
    Mesos__V1__Scheduler__Event *oe, *ev;
    Mesos__V1__Offer *o = next_offer(&oe);
    launch_opts lo = {.task_id = "slow-1", .mode = "nosubscribe"};
    ck_assert_int_eq(launch(o, &lo), 202);
    free_ev(oe);
    Mesos__V1__TaskStatus *st = expect_update(&ev, "slow-1", ST(FAILED));
    ck_assert(st->has_reason && st->reason == REASON(EXECUTOR_REGISTRATION_TIMEOUT));
    free_ev(ev);
}
END_TEST

START_TEST(test_sim_shutdown_and_sigterm_end_executors) {
    const char *args[] = {"--agents", "1", "--offer-interval", "100ms", NULL};
    start(args, 1);
    char agent[256];
    run_task("sd-1", agent, sizeof(agent));
    Mesos__V1__Scheduler__Call c;
    Mesos__V1__FrameworkID fid;
    Mesos__V1__Scheduler__Call__Shutdown sd = MESOS__V1__SCHEDULER__CALL__SHUTDOWN__INIT;
    Mesos__V1__AgentID aid = MESOS__V1__AGENT_ID__INIT;
    Mesos__V1__ExecutorID eid = MESOS__V1__EXECUTOR_ID__INIT;
    aid.value = agent;
    eid.value = "sd-1";
    sd.agent_id = &aid;
    sd.executor_id = &eid;
    simc_call_init(&c, &fid, FW, CALL(SHUTDOWN));
    c.shutdown = &sd;
    ck_assert_int_eq(send_call(&c), 202);
    Mesos__V1__Scheduler__Event *ev;
    ack(expect_update(&ev, "sd-1", ST(KILLED)));
    free_ev(ev);
    ev = simc_sub_next(SUB, EV(FAILURE), 5000);
    ck_assert_ptr_nonnull(ev);
    free_ev(ev);
    /* A second executor dies with the simulator on SIGTERM. */
    run_task("sd-2", NULL, 0);
    int pid = exec_pid("sd-2");
    ck_assert_int_gt(pid, 0);
    simc_sub_close(SUB);
    SUB = NULL;
    simc_free(S);
    S = NULL;
    for (int i = 0; i < 100 && kill(pid, 0) == 0; i++) usleep(20 * 1000);
    ck_assert_msg(kill(pid, 0) != 0, "executor survived the simulator");
}
END_TEST

/* --- the executor API, with the test playing the executor ------------------------ */

#define XCALL(t) MESOS__V1__EXECUTOR__CALL__TYPE__##t
#define XEV(t) MESOS__V1__EXECUTOR__EVENT__TYPE__##t

typedef struct xcall {
    Mesos__V1__Executor__Call c;
    Mesos__V1__FrameworkID f;
    Mesos__V1__ExecutorID e;
} xcall;

static void xcall_init(xcall *x, const char *fw, const char *exec, int type) {
    mesos__v1__executor__call__init(&x->c);
    mesos__v1__framework_id__init(&x->f);
    mesos__v1__executor_id__init(&x->e);
    x->f.value = (char *)fw;
    x->e.value = (char *)exec;
    x->c.framework_id = &x->f;
    x->c.executor_id = &x->e;
    x->c.has_type = 1;
    x->c.type = (Mesos__V1__Executor__Call__Type)type;
}

static int xpost(int port, const Mesos__V1__Executor__Call *c, const char *ctype, char *out, size_t outlen) {
    size_t n = mesos__v1__executor__call__get_packed_size(c);
    uint8_t *b = malloc(n + 1);
    mesos__v1__executor__call__pack(c, b);
    char ct[100];
    snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
    const char *h[] = {ct, NULL};
    char *body = NULL;
    int code = simc_post(port, "/api/v1/executor", b, n, h, &body, NULL, 0);
    if (out) snprintf(out, outlen, "%s", body ? body : "");
    free(body);
    free(b);
    return code;
}

/* A status for task with the given state/source; uuid u (NULL: none). */
static void xstatus(Mesos__V1__TaskStatus *st, Mesos__V1__TaskID *tid, const char *task, int state, int source,
                    uint8_t *u) {
    mesos__v1__task_status__init(st);
    mesos__v1__task_id__init(tid);
    tid->value = (char *)task;
    st->task_id = tid;
    st->state = (Mesos__V1__TaskState)state;
    st->has_source = 1;
    st->source = (Mesos__V1__TaskStatus__Source)source;
    if (u) {
        st->has_uuid = 1;
        st->uuid.data = u;
        st->uuid.len = 16;
    }
}

static int xupdate(int port, const char *task, int state, int source, uint8_t *u, char *out, size_t outlen) {
    xcall x;
    xcall_init(&x, FW, task, XCALL(UPDATE));
    Mesos__V1__Executor__Call__Update up = MESOS__V1__EXECUTOR__CALL__UPDATE__INIT;
    Mesos__V1__TaskStatus st;
    Mesos__V1__TaskID tid;
    xstatus(&st, &tid, task, state, source, u);
    up.status = &st;
    x.c.update = &up;
    return xpost(port, &x.c, "application/x-protobuf", out, outlen);
}

START_TEST(test_sim_executor_api_checks_acks_and_resubscription) {
    const char *args[] = {"--agents", "1", "--offer-interval", "100ms", NULL};
    start(args, 1);
    Mesos__V1__Scheduler__Event *oe, *ev;
    Mesos__V1__Offer *o = next_offer(&oe);
    launch_opts lo = {.task_id = "x-1", .mode = "nosubscribe"};
    ck_assert_int_eq(launch(o, &lo), 202);
    free_ev(oe);
    json_t *js = simc_state(S);
    int port = (int)json_integer_value(json_object_get(json_array_get(json_object_get(js, "agents"), 0), "port"));
    json_decref(js);
    for (int i = 0; i < 100 && exec_pid("x-1") <= 0; i++) usleep(20 * 1000);
    uint8_t u1[16], u2[16];
    for (int i = 0; i < 16; i++) u1[i] = (uint8_t)(i + 1), u2[i] = (uint8_t)(i + 101);
    u1[6] = u2[6] = 0x40;
    u1[8] = u2[8] = 0x80;
    char out[512];
    /* Before SUBSCRIBE: 403; unknown executor or framework: 400; wrong media type: 415. */
    ck_assert_int_eq(xupdate(port, "x-1", ST(RUNNING), MESOS__V1__TASK_STATUS__SOURCE__SOURCE_EXECUTOR, u1, out,
                             sizeof(out)), 403);
    xcall x;
    xcall_init(&x, FW, "nobody", XCALL(HEARTBEAT));
    ck_assert_int_eq(xpost(port, &x.c, "application/x-protobuf", out, sizeof(out)), 400);
    ck_assert_msg(strstr(out, "Executor cannot be found"), "%s", out);
    xcall_init(&x, "no-such-fw", "x-1", XCALL(HEARTBEAT));
    ck_assert_int_eq(xpost(port, &x.c, "application/x-protobuf", out, sizeof(out)), 400);
    xcall_init(&x, FW, "x-1", XCALL(HEARTBEAT));
    ck_assert_int_eq(xpost(port, &x.c, "application/json", out, sizeof(out)), 415);
    /* SUBSCRIBE: SUBSCRIBED then the queued LAUNCH. */
    Mesos__V1__Executor__Call__Subscribe sub = MESOS__V1__EXECUTOR__CALL__SUBSCRIBE__INIT;
    xcall_init(&x, FW, "x-1", XCALL(SUBSCRIBE));
    x.c.subscribe = &sub;
    simc_sub *xs = simc_exec_subscribe(port, &x.c);
    ck_assert_int_eq(simc_sub_status(xs, 5000), 200);
    Mesos__V1__Executor__Event *xe = simc_exec_next(xs, XEV(SUBSCRIBED), 3000);
    ck_assert_ptr_nonnull(xe);
    ck_assert_str_eq(xe->subscribed->executor_info->executor_id->value, "x-1");
    ck_assert_str_eq(xe->subscribed->executor_info->framework_id->value, FW);
    ck_assert_str_eq(xe->subscribed->framework_info->id->value, FW);
    ck_assert_int_eq(xe->subscribed->agent_info->port, port);
    mesos__v1__executor__event__free_unpacked(xe, NULL);
    xe = simc_exec_next(xs, XEV(LAUNCH), 3000);
    ck_assert_ptr_nonnull(xe);
    ck_assert_str_eq(xe->launch->task->task_id->value, "x-1");
    mesos__v1__executor__event__free_unpacked(xe, NULL);
    /* Invalid updates: 400. */
    ck_assert_int_eq(xupdate(port, "x-1", ST(RUNNING), MESOS__V1__TASK_STATUS__SOURCE__SOURCE_EXECUTOR, NULL, out,
                             sizeof(out)), 400);
    ck_assert_int_eq(xupdate(port, "x-1", ST(RUNNING), MESOS__V1__TASK_STATUS__SOURCE__SOURCE_MASTER, u1, out,
                             sizeof(out)), 400);
    ck_assert_int_eq(xupdate(port, "x-1", ST(STAGING), MESOS__V1__TASK_STATUS__SOURCE__SOURCE_EXECUTOR, u1, out,
                             sizeof(out)), 400);
    /* A valid update: 202, ACKNOWLEDGED to the executor, UPDATE to the scheduler. */
    ck_assert_int_eq(xupdate(port, "x-1", ST(RUNNING), MESOS__V1__TASK_STATUS__SOURCE__SOURCE_EXECUTOR, u1, out,
                             sizeof(out)), 202);
    xe = simc_exec_next(xs, XEV(ACKNOWLEDGED), 3000);
    ck_assert_ptr_nonnull(xe);
    ck_assert(xe->acknowledged->uuid.len == 16 && memcmp(xe->acknowledged->uuid.data, u1, 16) == 0);
    mesos__v1__executor__event__free_unpacked(xe, NULL);
    Mesos__V1__TaskStatus *st = expect_update(&ev, "x-1", ST(RUNNING));
    ck_assert(memcmp(st->uuid.data, u1, 16) == 0);
    /* The executor's connection drops; it re-subscribes with the RUNNING it
     * believes unacknowledged (a duplicate) and a new FINISHED. */
    simc_sub_close(xs);
    usleep(300 * 1000);
    Mesos__V1__Executor__Call__Update upd[2], *updp[2] = {&upd[0], &upd[1]};
    Mesos__V1__TaskStatus sts[2];
    Mesos__V1__TaskID tids[2];
    mesos__v1__executor__call__update__init(&upd[0]);
    mesos__v1__executor__call__update__init(&upd[1]);
    xstatus(&sts[0], &tids[0], "x-1", ST(RUNNING), MESOS__V1__TASK_STATUS__SOURCE__SOURCE_EXECUTOR, u1);
    xstatus(&sts[1], &tids[1], "x-1", ST(FINISHED), MESOS__V1__TASK_STATUS__SOURCE__SOURCE_EXECUTOR, u2);
    upd[0].status = &sts[0];
    upd[1].status = &sts[1];
    sub.n_unacknowledged_updates = 2;
    sub.unacknowledged_updates = updp;
    xs = simc_exec_subscribe(port, &x.c);
    ck_assert_int_eq(simc_sub_status(xs, 5000), 200);
    xe = simc_exec_next(xs, XEV(SUBSCRIBED), 3000);
    ck_assert_ptr_nonnull(xe);
    mesos__v1__executor__event__free_unpacked(xe, NULL);
    for (int i = 0; i < 2; i++) {
        xe = simc_exec_next(xs, XEV(ACKNOWLEDGED), 3000);
        ck_assert_msg(xe != NULL, "re-sent update %d not acknowledged", i);
        mesos__v1__executor__event__free_unpacked(xe, NULL);
    }
    ck_assert_msg(simc_exec_next(xs, XEV(LAUNCH), 300) == NULL, "task launched twice");
    /* The scheduler sees FINISHED only after acknowledging RUNNING, and RUNNING once. */
    ck_assert_msg(next_update(500) == NULL, "update forwarded before the ACK of RUNNING");
    ack(st);
    free_ev(ev);
    st = expect_update(&ev, "x-1", ST(FINISHED));
    ck_assert(memcmp(st->uuid.data, u2, 16) == 0);
    ack(st);
    free_ev(ev);
    ck_assert_msg(next_update(500) == NULL, "duplicate update reached the scheduler");
    simc_sub_close(xs);
}
END_TEST

Suite *suite(void) {
    Suite *s = suite_create("sim_tasks");
    TCase *tc = tcase_create("tasks");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_sim_launch_updates_wait_for_ack_and_are_resent);
    tcase_add_test(tc, test_sim_reconcile_explicit_and_implicit);
    tcase_add_test(tc, test_sim_reconcile_without_partition_awareness_says_lost);
    tcase_add_test(tc, test_sim_messages_reach_the_executor_and_come_back);
    tcase_add_test(tc, test_sim_invalid_launches_are_refused_per_task);
    tcase_add_test(tc, test_sim_agent_loss_makes_tasks_unreachable);
    tcase_add_test(tc, test_sim_agent_loss_makes_tasks_lost_without_partition_awareness);
    tcase_add_test(tc, test_sim_partition_keeps_processes_and_holds_updates);
    tcase_add_test(tc, test_sim_executor_death_fails_its_tasks);
    tcase_add_test(tc, test_sim_executor_registration_timeout_fails_the_task);
    tcase_add_test(tc, test_sim_shutdown_and_sigterm_end_executors);
    tcase_add_test(tc, test_sim_executor_api_checks_acks_and_resubscription);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
