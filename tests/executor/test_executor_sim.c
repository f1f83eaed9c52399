/* test_executor_sim.c -- mcm-executor launched by mcm-sim, the Mesos
 * master + agent simulator, exactly as the scheduler will launch it: a raw
 * libcurl scheduler (tsched) accepts an offer with a LAUNCH whose
 * ExecutorInfo runs the built mcm-executor with the contract's environment;
 * the agent starts it with the Mesos agent environment; status updates,
 * report MESSAGEs and the executor's exit come back through the master; a
 * warm-transition command goes out as a scheduler MESSAGE and its progress
 * comes back as Event MESSAGEs. Real memcached. */
#include "harness.h"
#include "mcm.h"
#include "mig_msg.h"
#include "report.h"
#include "tsched.h"
#include "util.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define EV(t) MESOS__V1__SCHEDULER__EVENT__TYPE__##t
#define ST(s) MESOS__V1__TASK_STATE__TASK_##s
typedef Mesos__V1__Scheduler__Event Event;

static th_proc *SIM;
static char *dir;
static char simlog[512];
static int sim_port;
static tsched *S;
static char agent_id[256];      /* of the last task launched */

static void dump_log(void) {
    char *text = util_read_file(simlog, 1 << 20, NULL, 0);
    fprintf(stderr, "---- mcm-sim log ----\n%s\n----\n", text ? text : "(none)");
    free(text);
}

#define REQUIRE(cond, ...) do { if (!(cond)) { dump_log(); ck_abort_msg(__VA_ARGS__); } } while (0)

static int sim_ready(void *arg) {
    char *text = util_read_file(simlog, 1 << 20, NULL, 0);
    const char *p = text ? strstr(text, "mcm-sim listening on http://127.0.0.1:") : NULL;
    if (p) sim_port = atoi(p + strlen("mcm-sim listening on http://127.0.0.1:"));
    free(text);
    return sim_port > 0;
}

/* One agent with a single free port, offers every 100 ms. */
static void setup(void) {
    char exe[1024], res[128];
    dir = th_tempdir();
    snprintf(simlog, sizeof(simlog), "%s/sim.log", dir);
    snprintf(exe, sizeof(exe), "%s/src/sim/mcm-sim", getenv("MCM_BUILD_DIR"));
    int p = th_free_port();
    snprintf(res, sizeof(res), "cpus:2;mem:1024;ports:[%d-%d]", p, p);
    char *argv[] = {exe, "--listen", "127.0.0.1:0", "--agents", "1", "--offer-interval", "100ms", "--resources", res,
                    "--work-dir", dir, "--log-level", "verbose", NULL};
    SIM = th_proc_start(argv, simlog);
    REQUIRE(th_wait(sim_ready, NULL, 20000), "mcm-sim did not get ready");
    S = tsched_subscribe(sim_port, "mcm-executor-test");
}

static void teardown(void) {
    if (getenv("MCM_TEST_SHOW_LOGS")) dump_log();
    tsched_free(S);
    th_proc_free(SIM);
    th_rmtree(dir);
    free(dir);
}

/* --- the scheduler side --------------------------------------------------------------- */

static Mesos__V1__Resource *resource(Mesos__V1__Resource *r, const Mesos__V1__Resource *like, const char *name) {
    mesos__v1__resource__init(r);
    r->name = (char *)name;
    r->allocation_info = like ? like->allocation_info : NULL;
    return r;
}

static const Mesos__V1__Resource *find(const Mesos__V1__Offer *o, const char *name) {
    for (size_t i = 0; i < o->n_resources; i++)
        if (!strcmp(o->resources[i]->name, name)) return o->resources[i];
    return NULL;
}

/* ACCEPTs the offer with one LAUNCH: 0.1 cpus, 64 MiB, the first offered port,
 * an ExecutorInfo running mcm-executor. Returns the port. */
static int launch(const Mesos__V1__Offer *o, const char *task_id, const char *exec_id) {
    Mesos__V1__Resource cpus, mem, ports, *res[] = {&cpus, &mem, &ports};
    Mesos__V1__Value__Scalar sc = MESOS__V1__VALUE__SCALAR__INIT, sm = MESOS__V1__VALUE__SCALAR__INIT;
    Mesos__V1__Value__Range rg = MESOS__V1__VALUE__RANGE__INIT, *rgs[] = {&rg};
    Mesos__V1__Value__Ranges rr = MESOS__V1__VALUE__RANGES__INIT;
    const Mesos__V1__Resource *offered = find(o, "ports");
    REQUIRE(offered && offered->ranges && offered->ranges->n_range > 0, "offer without ports");
    resource(&cpus, find(o, "cpus"), "cpus")->type = MESOS__V1__VALUE__TYPE__SCALAR;
    sc.value = 0.1;
    cpus.scalar = &sc;
    resource(&mem, find(o, "mem"), "mem")->type = MESOS__V1__VALUE__TYPE__SCALAR;
    sm.value = 64;
    mem.scalar = &sm;
    resource(&ports, offered, "ports")->type = MESOS__V1__VALUE__TYPE__RANGES;
    rg.begin = rg.end = offered->ranges->range[0]->begin;
    rr.n_range = 1;
    rr.range = rgs;
    ports.ranges = &rr;

    char exe[1024];
    snprintf(exe, sizeof(exe), "%s/src/executor/mcm-executor", getenv("MCM_BUILD_DIR"));
    /* health probes every 300 ms: unhealthy after 2 failures in a row, hung after 6 (about 2 s) */
    const char *kv[][2] = {{"MCM_MEMCACHED_LISTEN", "127.0.0.1"}, {"MCM_REPORT_INTERVAL", "300ms"},
                           {"MCM_LOG_LEVEL", "verbose"}, {"MCM_HEALTH_INTERVAL", "300ms"},
                           {"MCM_HEALTH_TIMEOUT", "300ms"}, {"MCM_HEALTH_UNHEALTHY_AFTER", "2"},
                           {"MCM_HEALTH_FAIL_AFTER", "6"}};
    enum { NV = sizeof(kv) / sizeof(kv[0]) };
    Mesos__V1__Environment__Variable v[NV], *vp[NV];
    for (int i = 0; i < NV; i++) {
        mesos__v1__environment__variable__init(&v[i]);
        v[i].name = (char *)kv[i][0];
        v[i].value = (char *)kv[i][1];
        vp[i] = &v[i];
    }
    Mesos__V1__Environment env = MESOS__V1__ENVIRONMENT__INIT;
    env.n_variables = NV;
    env.variables = vp;
    Mesos__V1__CommandInfo cmd = MESOS__V1__COMMAND_INFO__INIT;
    cmd.value = exe;
    cmd.environment = &env;
    Mesos__V1__ExecutorID eid = MESOS__V1__EXECUTOR_ID__INIT;
    eid.value = (char *)exec_id;
    Mesos__V1__ExecutorInfo ei = MESOS__V1__EXECUTOR_INFO__INIT;
    ei.executor_id = &eid;
    ei.command = &cmd;
    ei.name = "mcm-executor";
    Mesos__V1__TaskID tid = MESOS__V1__TASK_ID__INIT;
    tid.value = (char *)task_id;
    Mesos__V1__TaskInfo ti = MESOS__V1__TASK_INFO__INIT, *tis[] = {&ti};
    ti.name = "memcached";
    ti.task_id = &tid;
    ti.agent_id = o->agent_id;
    ti.n_resources = 3;
    ti.resources = res;
    ti.executor = &ei;
    Mesos__V1__Offer__Operation__Launch l = MESOS__V1__OFFER__OPERATION__LAUNCH__INIT;
    l.n_task_infos = 1;
    l.task_infos = tis;
    Mesos__V1__Offer__Operation op = MESOS__V1__OFFER__OPERATION__INIT, *ops[] = {&op};
    op.has_type = 1;
    op.type = MESOS__V1__OFFER__OPERATION__TYPE__LAUNCH;
    op.launch = &l;
    Mesos__V1__OfferID *oids[] = {o->id};
    Mesos__V1__Scheduler__Call__Accept acc = MESOS__V1__SCHEDULER__CALL__ACCEPT__INIT;
    acc.n_offer_ids = 1;
    acc.offer_ids = oids;
    acc.n_operations = 1;
    acc.operations = ops;
    Mesos__V1__Scheduler__Call c = MESOS__V1__SCHEDULER__CALL__INIT;
    c.accept = &acc;
    REQUIRE(tsched_call(S, &c, MESOS__V1__SCHEDULER__CALL__TYPE__ACCEPT) == 202, "ACCEPT refused");
    return (int)rg.begin;
}

/* Takes UPDATEs, acknowledging each, until one in `state` (returned). */
static Event *until_state(int state, int timeout_ms) {
    int64_t end = util_now_ms() + timeout_ms;
    for (;;) {
        int left = (int)(end - util_now_ms());
        Event *ev = left > 0 ? tsched_next(S, EV(UPDATE), left) : NULL;
        REQUIRE(ev != NULL, "no update with state %d within %d ms", state, timeout_ms);
        Mesos__V1__TaskStatus *st = ev->update->status;
        tsched_ack(S, st);
        if ((int)st->state == state) return ev;
        REQUIRE(st->state == ST(STARTING) || st->state == ST(RUNNING) || st->state == ST(KILLING),
                "unexpected update %d (%s) while waiting for %d", st->state, st->message ? st->message : "", state);
        mesos__v1__scheduler__event__free_unpacked(ev, NULL);
    }
}

static pid_t memcached_pid(int port) {
    char reply[8192];
    ck_assert_int_gt(th_mc_cmd("127.0.0.1", port, "stats\r\n", reply, sizeof(reply), 2000), 0);
    const char *p = strstr(reply, "STAT pid ");
    ck_assert_ptr_nonnull(p);
    return (pid_t)strtol(p + 9, NULL, 10);
}

/* The next TASK_RUNNING update (acknowledged) that carries `healthy`. */
static Event *until_health(int timeout_ms) {
    int64_t end = util_now_ms() + timeout_ms;
    for (;;) {
        int left = (int)(end - util_now_ms());
        Event *ev = left > 0 ? tsched_next(S, EV(UPDATE), left) : NULL;
        REQUIRE(ev != NULL, "no health update within %d ms", timeout_ms);
        Mesos__V1__TaskStatus *st = ev->update->status;
        tsched_ack(S, st);
        REQUIRE(st->state == ST(RUNNING), "unexpected update %d (%s) while waiting for a health update", st->state,
                st->message ? st->message : "");
        if (st->has_healthy) return ev;
        mesos__v1__scheduler__event__free_unpacked(ev, NULL);
    }
}

/* Launches on the first offer and waits for TASK_RUNNING; returns the port. */
static int launch_running(const char *task_id, const char *exec_id) {
    Event *offers = tsched_next(S, EV(OFFERS), 10000);
    REQUIRE(offers && offers->offers->n_offers > 0, "no offer");
    int port = launch(offers->offers->offers[0], task_id, exec_id);
    mesos__v1__scheduler__event__free_unpacked(offers, NULL);
    Event *run = until_state(ST(RUNNING), 20000);
    char want[128];
    snprintf(want, sizeof(want), "on 127.0.0.1:%d", port);
    ck_assert_msg(strstr(run->update->status->message, want), "%s", run->update->status->message);
    ck_assert_str_eq(run->update->status->executor_id->value, exec_id);
    snprintf(agent_id, sizeof(agent_id), "%s", run->update->status->agent_id->value);
    ck_assert_int_eq(run->update->status->source, MESOS__V1__TASK_STATUS__SOURCE__SOURCE_EXECUTOR);
    ck_assert(run->update->status->has_healthy && run->update->status->healthy);   /* it just answered */
    mesos__v1__scheduler__event__free_unpacked(run, NULL);
    return port;
}

/* The FAILURE event for the executor's exit; returns its exit status. */
static int executor_exit(const char *exec_id) {
    Event *f = tsched_next(S, EV(FAILURE), 15000);
    REQUIRE(f != NULL, "no FAILURE event for the executor's exit");
    ck_assert_str_eq(f->failure->executor_id->value, exec_id);
    ck_assert(f->failure->has_status);
    int st = f->failure->status;
    mesos__v1__scheduler__event__free_unpacked(f, NULL);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int answers(int port) {
    char reply[64];
    return th_mc_cmd("127.0.0.1", port, "version\r\n", reply, sizeof(reply), 500) > 0;
}

static int gone(void *arg) { return !answers(*(int *)arg); }

/* --- tests ----------------------------------------------------------------------------- */

START_TEST(test_executor_sim_launch_serve_report_kill) {
    int port = launch_running("mc-1", "exec-mc-1");
    char reply[256];
    th_mc_cmd("127.0.0.1", port, "set k 0 0 5\r\nhello\r\n", reply, sizeof(reply), 2000);
    ck_assert_str_eq(reply, "STORED\r\n");
    th_mc_cmd("127.0.0.1", port, "get k\r\n", reply, sizeof(reply), 2000);
    ck_assert_str_eq(reply, "VALUE k 0 5\r\nhello\r\nEND\r\n");

    report r = {0};
    int64_t end = util_now_ms() + 5000;
    while (r.get_hits == 0 && util_now_ms() < end) {
        Event *m = tsched_next(S, EV(MESSAGE), 3000);
        REQUIRE(m != NULL, "no report MESSAGE from the executor");
        ck_assert_str_eq(m->message->executor_id->value, "exec-mc-1");
        char err[256];
        ck_assert_msg(report_decode((const char *)m->message->data.data, m->message->data.len, &r, err,
                                    sizeof(err)) == MCM_OK, "%s", err);
        mesos__v1__scheduler__event__free_unpacked(m, NULL);
    }
    ck_assert_str_eq(r.task_id, "mc-1");
    ck_assert_uint_eq(r.get_hits, 1);
    ck_assert_uint_eq(r.total_items, 1);

    Mesos__V1__Scheduler__Call c = MESOS__V1__SCHEDULER__CALL__INIT;
    Mesos__V1__Scheduler__Call__Kill k = MESOS__V1__SCHEDULER__CALL__KILL__INIT;
    Mesos__V1__TaskID tid = MESOS__V1__TASK_ID__INIT;
    tid.value = "mc-1";
    k.task_id = &tid;
    c.kill = &k;
    ck_assert_int_eq(tsched_call(S, &c, MESOS__V1__SCHEDULER__CALL__TYPE__KILL), 202);
    Event *killed = until_state(ST(KILLED), 10000);
    ck_assert_str_eq(killed->update->status->message, "killed by the scheduler");
    mesos__v1__scheduler__event__free_unpacked(killed, NULL);
    ck_assert_int_eq(executor_exit("exec-mc-1"), 0);
    ck_assert(th_wait(gone, &port, 3000));
}
END_TEST

START_TEST(test_executor_sim_memcached_killed_fails_task) {
    int port = launch_running("mc-2", "exec-mc-2");
    char reply[8192];
    ck_assert_int_gt(th_mc_cmd("127.0.0.1", port, "stats\r\n", reply, sizeof(reply), 2000), 0);
    const char *p = strstr(reply, "STAT pid ");
    ck_assert_ptr_nonnull(p);
    kill((pid_t)strtol(p + 9, NULL, 10), SIGKILL);
    Event *f = until_state(ST(FAILED), 10000);
    ck_assert_str_eq(f->update->status->message, "memcached was killed by signal 9");
    ck_assert_int_eq(f->update->status->reason, MESOS__V1__TASK_STATUS__REASON__REASON_COMMAND_EXECUTOR_FAILED);
    ck_assert_int_eq(f->update->status->source, MESOS__V1__TASK_STATUS__SOURCE__SOURCE_EXECUTOR);
    mesos__v1__scheduler__event__free_unpacked(f, NULL);
    ck_assert_int_eq(executor_exit("exec-mc-2"), 1);
}
END_TEST

/* A memcached that stops answering (SIGSTOP keeps its socket: connections
 * are accepted, nothing is answered) is reported unhealthy, then killed and
 * its task failed, all through the master. */
START_TEST(test_executor_sim_hung_memcached_unhealthy_then_failed) {
    int port = launch_running("mc-h", "exec-mc-h");
    pid_t pid = memcached_pid(port);
    int64_t stopped = util_now_ms();
    kill(pid, SIGSTOP);
    Event *u = until_health(10000);
    Mesos__V1__TaskStatus *st = u->update->status;
    ck_assert(!st->healthy);
    ck_assert_int_eq(st->reason, MESOS__V1__TASK_STATUS__REASON__REASON_TASK_HEALTH_CHECK_STATUS_UPDATED);
    ck_assert_msg(strstr(st->message, "memcached unhealthy: 2 probes in a row unanswered") &&
                  strstr(st->message, "no answer to `version` within 300ms") &&
                  strstr(st->message, "the task fails after 6"), "%s", st->message);
    mesos__v1__scheduler__event__free_unpacked(u, NULL);
    Event *f = until_state(ST(FAILED), 10000);
    st = f->update->status;
    int64_t took = util_now_ms() - stopped;
    ck_assert(st->has_healthy && !st->healthy);
    ck_assert_int_eq(st->reason, MESOS__V1__TASK_STATUS__REASON__REASON_COMMAND_EXECUTOR_FAILED);
    ck_assert_msg(strstr(st->message, "memcached hung: 6 probes in a row unanswered (every 300ms, timeout 300ms"),
                  "%s", st->message);
    ck_assert_msg(took >= 1500 && took < 8000, "failed %lld ms after SIGSTOP", (long long)took);
    mesos__v1__scheduler__event__free_unpacked(f, NULL);
    ck_assert_int_eq(executor_exit("exec-mc-h"), 1);
    ck_assert_int_eq(kill(pid, 0), -1);   /* memcached is gone (SIGKILL works on a stopped process) */
    ck_assert(th_wait(gone, &port, 3000));
}
END_TEST

/* Continued before the limit: healthy=true again, and the task keeps running. */
START_TEST(test_executor_sim_memcached_answering_again_is_healthy_and_kept) {
    int port = launch_running("mc-r", "exec-mc-r");
    pid_t pid = memcached_pid(port);
    kill(pid, SIGSTOP);
    Event *u = until_health(10000);
    ck_assert(!u->update->status->healthy);
    mesos__v1__scheduler__event__free_unpacked(u, NULL);
    kill(pid, SIGCONT);
    u = until_health(5000);
    ck_assert(u->update->status->healthy);
    ck_assert_str_eq(u->update->status->message, "memcached answers `version` again: healthy");
    mesos__v1__scheduler__event__free_unpacked(u, NULL);
    /* still running well past where six failures would have failed it */
    Event *more = tsched_next(S, EV(UPDATE), 3000);
    REQUIRE(more == NULL, "unexpected update after recovery: %d (%s)", more->update->status->state,
            more->update->status->message ? more->update->status->message : "");
    ck_assert(answers(port));
    ck_assert_int_eq(kill(pid, 0), 0);
}
END_TEST

START_TEST(test_executor_sim_migrate_command_and_progress_through_the_master) {
    int port = launch_running("mc-m", "exec-mc-m");
    th_mc *target = th_mc_start(32);
    char reply[256], self[32], tgt[32];
    for (int i = 0; i < 50; i++) {
        char cmd[64];
        snprintf(cmd, sizeof(cmd), "set sk%d 3 0 2\r\nok\r\n", i);
        th_mc_cmd("127.0.0.1", port, cmd, reply, sizeof(reply), 2000);
        ck_assert_str_eq(reply, "STORED\r\n");
    }
    snprintf(self, sizeof(self), "127.0.0.1:%d", port);
    snprintf(tgt, sizeof(tgt), "127.0.0.1:%d", th_mc_port(target));
    char *ring[] = {tgt};                                 /* the server leaves: every key moves */
    mig_cmd cmd = {.id = 3, .phase = MIG_CMD_COPY, .ring = ring, .nring = 1};
    snprintf(cmd.self, sizeof(cmd.self), "%s", self);
    char *json = mig_cmd_encode(&cmd);
    Mesos__V1__Scheduler__Call c = MESOS__V1__SCHEDULER__CALL__INIT;
    Mesos__V1__Scheduler__Call__Message m = MESOS__V1__SCHEDULER__CALL__MESSAGE__INIT;
    Mesos__V1__AgentID aid = MESOS__V1__AGENT_ID__INIT;
    Mesos__V1__ExecutorID eid = MESOS__V1__EXECUTOR_ID__INIT;
    aid.value = agent_id;
    eid.value = "exec-mc-m";
    m.agent_id = &aid;
    m.executor_id = &eid;
    m.data.data = (uint8_t *)json;
    m.data.len = strlen(json);
    c.message = &m;
    ck_assert_int_eq(tsched_call(S, &c, MESOS__V1__SCHEDULER__CALL__TYPE__MESSAGE), 202);
    free(json);
    mig_msg_progress p = {0};
    int64_t end = util_now_ms() + 20000;
    while (!p.done && util_now_ms() < end) {
        Event *ev = tsched_next(S, EV(MESSAGE), 3000);
        REQUIRE(ev != NULL, "no MESSAGE from the executor");
        const uint8_t *d = ev->message->data.data;
        size_t len = ev->message->data.len;
        char err[256];
        if (mig_msg_type(d, len) == MIG_MSG_PROGRESS)
            ck_assert_msg(mig_progress_decode(d, len, &p, err, sizeof(err)) == MCM_OK, "%s", err);
        mesos__v1__scheduler__event__free_unpacked(ev, NULL);
    }
    REQUIRE(p.done, "no done progress from the executor");
    ck_assert_str_eq(p.task_id, "mc-m");
    ck_assert_int_eq(p.id, 3);
    ck_assert_str_eq(p.error, "");
    ck_assert_uint_eq(p.p.keys_copied, 50);
    th_mc_cmd("127.0.0.1", th_mc_port(target), "get sk7\r\n", reply, sizeof(reply), 2000);
    ck_assert_str_eq(reply, "VALUE sk7 3 2\r\nok\r\nEND\r\n");    /* value and flags */
    th_mc_free(target);
}
END_TEST

int main(void) {
    Suite *s = suite_create("executor_sim");
    TCase *tc = tcase_create("sim");
    tcase_set_timeout(tc, 90);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_executor_sim_launch_serve_report_kill);
    tcase_add_test(tc, test_executor_sim_memcached_killed_fails_task);
    tcase_add_test(tc, test_executor_sim_hung_memcached_unhealthy_then_failed);
    tcase_add_test(tc, test_executor_sim_memcached_answering_again_is_healthy_and_kept);
    tcase_add_test(tc, test_executor_sim_migrate_command_and_progress_through_the_master);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
