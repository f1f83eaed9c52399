/* test_executor_program.c -- the mcm-executor program end to end, started
 * with a Mesos agent's environment against the test agent endpoint (tagent,
 * a real HTTP server speaking the v1 executor API) and running a real
 * memcached: the status updates of the contract (exec_main.c) with their
 * messages and reasons, the report MESSAGEs, KILL/SHUTDOWN/SIGTERM, a
 * crashing or unstartable memcached, a second LAUNCH, losing the agent with
 * and without checkpointing, the bounded wait for ACKs, the one-line
 * error for a missing or bad MESOS_* variable, and the warm-transition
 * commands (migrate MESSAGEs: copy, repeat, catch-up, cleanup, abort,
 * refusals) against real target memcached servers. */
#include "harness.h"
#include "mcd.h"
#include "mcm.h"
#include "mig_msg.h"
#include "report.h"
#include "ring.h"
#include "tagent.h"
#include "util.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXEC_ID "mcm-exec-test"
#define ST(s) MESOS__V1__TASK_STATE__TASK_##s
#define UPDATE MESOS__V1__EXECUTOR__CALL__TYPE__UPDATE
#define SUBSCRIBE MESOS__V1__EXECUTOR__CALL__TYPE__SUBSCRIBE
#define MESSAGE MESOS__V1__EXECUTOR__CALL__TYPE__MESSAGE
typedef Mesos__V1__Executor__Call Call;

static tagent *A;
static th_proc *X;
static char *dir;
static char logpath[512];

/* --- helpers ------------------------------------------------------------------------ */

static void dump_log(void) {
    char *text = util_read_file(logpath, 1 << 20, NULL, 0);
    fprintf(stderr, "---- mcm-executor log (%s) ----\n%s\n----\n", logpath, text ? text : "(none)");
    free(text);
}

#define REQUIRE(cond, ...) do { if (!(cond)) { dump_log(); ck_abort_msg(__VA_ARGS__); } } while (0)

static void agent_env(int checkpoint) {
    setenv("MESOS_AGENT_ENDPOINT", tagent_endpoint(A), 1);
    setenv("MESOS_FRAMEWORK_ID", TAGENT_FRAMEWORK_ID, 1);
    setenv("MESOS_EXECUTOR_ID", EXEC_ID, 1);
    setenv("MESOS_DIRECTORY", dir, 1);
    setenv("MESOS_SANDBOX", dir, 1);
    setenv("MESOS_CHECKPOINT", checkpoint ? "1" : "0", 1);
    setenv("MESOS_SUBSCRIPTION_BACKOFF_MAX", "100ms", 1);
    setenv("MESOS_RECOVERY_TIMEOUT", "20secs", 1);
    setenv("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", "5secs", 1);
    setenv("MCM_MEMCACHED_LISTEN", "127.0.0.1", 1);
    setenv("MCM_REPORT_INTERVAL", "300ms", 1);
    setenv("MCM_STOP_GRACE", "2s", 1);
    setenv("MCM_LOG_LEVEL", "verbose", 1);
    unsetenv("MCM_MEMCACHED_COMMAND");
    unsetenv("MCM_ACK_TIMEOUT");
}

static void run_executor(void) {
    char exe[1024];
    snprintf(exe, sizeof(exe), "%s/src/executor/mcm-executor", getenv("MCM_BUILD_DIR"));
    char *argv[] = {exe, NULL};
    X = th_proc_start(argv, logpath);
}

/* Exit status of the executor, or -1 if it is still running after timeout_ms. */
static int exit_status(int timeout_ms) {
    int st;
    int64_t end = util_now_ms() + timeout_ms;
    while (util_now_ms() < end) {
        if (th_proc_exited(X, &st)) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        util_sleep_ms(20);
    }
    return -1;
}

static Call *expect_update(int state, int timeout_ms) {
    Call *c = tagent_wait_update(A, state, timeout_ms);
    REQUIRE(c != NULL, "no UPDATE with state %d within %d ms", state, timeout_ms);
    return c;
}

static Mesos__V1__TaskStatus *status(Call *c) { return c->update->status; }

static int memcached_answers(int port) {
    char reply[256];
    return th_mc_cmd("127.0.0.1", port, "version\r\n", reply, sizeof(reply), 500) > 0;
}

static int memcached_gone(void *arg) { return !memcached_answers(*(int *)arg); }

static int streaming(void *arg) { return tagent_streaming(A); }

/* LAUNCH goes on the live stream: wait until the executor has subscribed. */
static void launch(const char *task_id, int port, double mem) {
    REQUIRE(th_wait(streaming, NULL, 10000), "the executor did not subscribe");
    tagent_launch(A, task_id, port, mem);
}

/* Launches task_id on a free port and waits for TASK_RUNNING; returns the port. */
static int launch_running(const char *task_id, double mem) {
    int port = th_free_port();
    launch(task_id, port, mem);
    mesos__v1__executor__call__free_unpacked(expect_update(ST(STARTING), 10000), NULL);
    Call *run = expect_update(ST(RUNNING), 15000);
    ck_assert_str_eq(status(run)->task_id->value, task_id);
    mesos__v1__executor__call__free_unpacked(run, NULL);
    ck_assert(memcached_answers(port));
    return port;
}

static long memcached_pid(int port) {
    char reply[8192];
    ck_assert_int_gt(th_mc_cmd("127.0.0.1", port, "stats\r\n", reply, sizeof(reply), 2000), 0);
    const char *p = strstr(reply, "STAT pid ");
    ck_assert_ptr_nonnull(p);
    return strtol(p + 9, NULL, 10);
}

static void setup(void) {
    dir = th_tempdir();
    snprintf(logpath, sizeof(logpath), "%s/executor.log", dir);
    A = tagent_start(0, EXEC_ID);
    agent_env(0);
}

static void teardown(void) {
    char v[256];
    if (getenv("MCM_TEST_SHOW_LOGS")) dump_log();     /* to read what the executor said */
    th_proc_free(X);
    X = NULL;
    int n = tagent_violations(A, v, sizeof(v));
    tagent_free(A);
    th_rmtree(dir);
    free(dir);
    ck_assert_msg(n == 0, "protocol violations: %d, first: %s", n, v);
}

/* --- the contract -------------------------------------------------------------------- */

START_TEST(test_executor_launch_serve_report_kill) {
    tagent_set_killing_state(A, 1);
    run_executor();
    Call *sub = tagent_wait_call(A, SUBSCRIBE, 10000);
    REQUIRE(sub != NULL, "no SUBSCRIBE");
    ck_assert_int_eq(sub->subscribe->n_unacknowledged_updates, 0);
    mesos__v1__executor__call__free_unpacked(sub, NULL);

    int port = th_free_port();
    tagent_launch(A, "task-1", port, 64);
    Call *starting = expect_update(ST(STARTING), 10000);
    Mesos__V1__TaskStatus *s = status(starting);
    ck_assert_str_eq(s->task_id->value, "task-1");
    ck_assert_str_eq(s->executor_id->value, EXEC_ID);
    ck_assert_str_eq(s->agent_id->value, TAGENT_AGENT_ID);
    ck_assert(s->has_timestamp && s->timestamp > (double)util_wall_ms() / 1000 - 60);
    Call *running = expect_update(ST(RUNNING), 15000);
    ck_assert_int_ne(memcmp(status(running)->uuid.data, s->uuid.data, 16), 0);

    char reply[256], want[300];
    ck_assert_int_gt(th_mc_cmd("127.0.0.1", port, "version\r\n", reply, sizeof(reply), 2000), 0);
    reply[strcspn(reply, "\r")] = '\0';
    snprintf(want, sizeof(want), "memcached %s on 127.0.0.1:%d", reply + 8, port);
    ck_assert_str_eq(status(running)->message, want);
    th_mc_cmd("127.0.0.1", port, "set k 0 0 3\r\nabc\r\n", reply, sizeof(reply), 2000);
    ck_assert_str_eq(reply, "STORED\r\n");
    th_mc_cmd("127.0.0.1", port, "get k\r\n", reply, sizeof(reply), 2000);
    ck_assert_str_eq(reply, "VALUE k 0 3\r\nabc\r\nEND\r\n");

    /* reports: the figures move with what clients do */
    report r = {0};
    int64_t end = util_now_ms() + 5000;
    while (r.get_hits == 0 && util_now_ms() < end) {
        Call *m = tagent_wait_call(A, MESSAGE, 2000);
        REQUIRE(m != NULL, "no report MESSAGE");
        char e[256];
        ck_assert_msg(report_decode((const char *)m->message->data.data, m->message->data.len, &r, e,
                                    sizeof(e)) == MCM_OK, "%s", e);
        mesos__v1__executor__call__free_unpacked(m, NULL);
    }
    ck_assert_str_eq(r.task_id, "task-1");
    ck_assert_uint_eq(r.get_hits, 1);
    ck_assert_uint_eq(r.total_items, 1);
    ck_assert_uint_eq(r.limit_maxbytes, mcd_memory_limit_mib(64) << 20);
    ck_assert(r.time_ms > util_wall_ms() - 60000);

    tagent_kill(A, "task-1", 1000);
    mesos__v1__executor__call__free_unpacked(expect_update(ST(KILLING), 5000), NULL);
    Call *killed = expect_update(ST(KILLED), 5000);
    ck_assert_str_eq(status(killed)->message, "killed by the scheduler");
    ck_assert_int_eq(exit_status(10000), 0);
    ck_assert(!memcached_answers(port));
    mesos__v1__executor__call__free_unpacked(starting, NULL);
    mesos__v1__executor__call__free_unpacked(running, NULL);
    mesos__v1__executor__call__free_unpacked(killed, NULL);
}
END_TEST

START_TEST(test_executor_memcached_crash_fails_task) {
    run_executor();
    int port = launch_running("task-crash", 32);
    kill((pid_t)memcached_pid(port), SIGKILL);
    Call *f = expect_update(ST(FAILED), 5000);
    ck_assert_str_eq(status(f)->message, "memcached was killed by signal 9");
    ck_assert(status(f)->has_reason);
    ck_assert_int_eq(status(f)->reason, MESOS__V1__TASK_STATUS__REASON__REASON_COMMAND_EXECUTOR_FAILED);
    ck_assert_int_eq(exit_status(10000), 1);
    mesos__v1__executor__call__free_unpacked(f, NULL);
}
END_TEST

/* A memcached outlives nothing: SIGKILL to the executor ends it too. As
 * root, memcached runs as nobody; a user change made by memcached's own -u
 * would clear its parent-death signal, so the executor switches users itself
 * first (mcd.c). */
START_TEST(test_executor_killed_takes_its_memcached_along) {
    run_executor();
    int port = launch_running("task-orphan", 32);
    long pid = memcached_pid(port);
    if (geteuid() == 0) {
        char path[64], line[256];
        snprintf(path, sizeof(path), "/proc/%ld/status", pid);
        FILE *f = fopen(path, "r");
        ck_assert_ptr_nonnull(f);
        int uid = -1;
        while (fgets(line, sizeof(line), f))
            if (sscanf(line, "Uid: %d", &uid) == 1) break;
        fclose(f);
        ck_assert_msg(uid != 0, "memcached runs as root");
    }
    kill(th_proc_pid(X), SIGKILL);
    /* Before the harness reaps the executor: reaping kills its process group. */
    ck_assert_msg(th_wait(memcached_gone, &port, 5000), "memcached (pid %ld) outlived its executor", pid);
    ck_assert_int_eq(exit_status(5000), 128 + SIGKILL);
}
END_TEST

START_TEST(test_executor_unstartable_memcached_fails_task) {
    setenv("MCM_MEMCACHED_COMMAND", "/nonexistent/memcached", 1);
    run_executor();
    launch("task-nocmd", th_free_port(), 32);
    mesos__v1__executor__call__free_unpacked(expect_update(ST(STARTING), 10000), NULL);
    Call *f = expect_update(ST(FAILED), 10000);
    ck_assert_msg(strstr(status(f)->message, "exited with status 127"), "%s", status(f)->message);
    ck_assert_int_eq(status(f)->reason, MESOS__V1__TASK_STATUS__REASON__REASON_COMMAND_EXECUTOR_FAILED);
    ck_assert_int_eq(exit_status(10000), 1);
    mesos__v1__executor__call__free_unpacked(f, NULL);
}
END_TEST

START_TEST(test_executor_port_taken_fails_task) {
    th_mc *other = th_mc_start(16);
    run_executor();
    launch("task-taken", th_mc_port(other), 32);
    Call *f = expect_update(ST(FAILED), 15000);
    ck_assert_msg(strstr(status(f)->message, "memcached exited with status"), "%s", status(f)->message);
    ck_assert_int_eq(exit_status(10000), 1);
    ck_assert(memcached_answers(th_mc_port(other)));          /* the other server is untouched */
    mesos__v1__executor__call__free_unpacked(f, NULL);
    th_mc_free(other);
}
END_TEST

START_TEST(test_executor_task_without_ports_is_invalid) {
    run_executor();
    launch("task-noport", 0, 64);
    Call *f = expect_update(ST(FAILED), 10000);
    ck_assert_int_eq(status(f)->reason, MESOS__V1__TASK_STATUS__REASON__REASON_TASK_INVALID);
    ck_assert_msg(strstr(status(f)->message, "ports"), "%s", status(f)->message);
    ck_assert_int_eq(exit_status(10000), 1);
    ck_assert_int_eq(tagent_count(A, UPDATE), 1);              /* no STARTING for it */
    mesos__v1__executor__call__free_unpacked(f, NULL);
}
END_TEST

START_TEST(test_executor_second_launch_fails_only_the_new_task) {
    run_executor();
    int port = launch_running("task-a", 32);
    tagent_launch(A, "task-b", th_free_port(), 32);
    Call *f = expect_update(ST(FAILED), 5000);
    ck_assert_str_eq(status(f)->task_id->value, "task-b");
    ck_assert_int_eq(status(f)->reason, MESOS__V1__TASK_STATUS__REASON__REASON_TASK_INVALID);
    ck_assert_msg(strstr(status(f)->message, "one memcached per executor"), "%s", status(f)->message);
    util_sleep_ms(300);
    ck_assert(memcached_answers(port));
    ck_assert_int_eq(exit_status(0), -1);                      /* still running task-a */
    tagent_shutdown(A);
    Call *k = expect_update(ST(KILLED), 5000);
    ck_assert_str_eq(status(k)->task_id->value, "task-a");
    ck_assert_int_eq(exit_status(10000), 0);
    mesos__v1__executor__call__free_unpacked(f, NULL);
    mesos__v1__executor__call__free_unpacked(k, NULL);
}
END_TEST

START_TEST(test_executor_shutdown_kills_within_grace) {
    setenv("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", "3secs", 1);
    run_executor();
    int port = launch_running("task-sd", 32);
    int64_t t0 = util_now_ms();
    tagent_shutdown(A);
    Call *k = expect_update(ST(KILLED), 3000);
    ck_assert_msg(strstr(status(k)->message, "SHUTDOWN"), "%s", status(k)->message);
    ck_assert_int_eq(exit_status(3000), 0);
    ck_assert_int_lt(util_now_ms() - t0, 3000);
    ck_assert(!memcached_answers(port));
    mesos__v1__executor__call__free_unpacked(k, NULL);
}
END_TEST

START_TEST(test_executor_sigterm_is_a_shutdown) {
    run_executor();
    int port = launch_running("task-term", 32);
    kill(th_proc_pid(X), SIGTERM);                             /* the executor only, not its group */
    Call *k = expect_update(ST(KILLED), 5000);
    ck_assert_msg(strstr(status(k)->message, "SIGTERM"), "%s", status(k)->message);
    ck_assert_int_eq(exit_status(6000), 0);
    ck_assert(!memcached_answers(port));
    mesos__v1__executor__call__free_unpacked(k, NULL);
}
END_TEST

START_TEST(test_executor_sigterm_before_any_task_exits) {
    run_executor();
    Call *sub = tagent_wait_call(A, SUBSCRIBE, 10000);
    REQUIRE(sub != NULL, "no SUBSCRIBE");
    mesos__v1__executor__call__free_unpacked(sub, NULL);
    kill(th_proc_pid(X), SIGTERM);
    ck_assert_int_eq(exit_status(5000), 0);
    ck_assert_int_eq(tagent_count(A, UPDATE), 0);
}
END_TEST

/* Events the executor has nothing to do with change nothing. */
START_TEST(test_executor_ignores_error_message_heartbeat_and_unknown_events) {
    run_executor();
    int port = launch_running("task-ev", 32);
    Mesos__V1__Executor__Event ev = MESOS__V1__EXECUTOR__EVENT__INIT;
    Mesos__V1__Executor__Event__Error e = MESOS__V1__EXECUTOR__EVENT__ERROR__INIT;
    Mesos__V1__Executor__Event__Message m = MESOS__V1__EXECUTOR__EVENT__MESSAGE__INIT;
    ev.has_type = 1;
    ev.type = MESOS__V1__EXECUTOR__EVENT__TYPE__ERROR;
    e.message = "something the agent disliked";
    ev.error = &e;
    tagent_send(A, &ev);
    ev.error = NULL;
    ev.type = MESOS__V1__EXECUTOR__EVENT__TYPE__MESSAGE;
    m.data.data = (uint8_t *)"from the scheduler";
    m.data.len = 18;
    ev.message = &m;
    tagent_send(A, &ev);
    ev.message = NULL;
    int types[] = {MESOS__V1__EXECUTOR__EVENT__TYPE__HEARTBEAT, MESOS__V1__EXECUTOR__EVENT__TYPE__LAUNCH_GROUP,
                   MESOS__V1__EXECUTOR__EVENT__TYPE__ACKNOWLEDGED, MESOS__V1__EXECUTOR__EVENT__TYPE__LAUNCH,
                   MESOS__V1__EXECUTOR__EVENT__TYPE__KILL, 42};
    for (size_t i = 0; i < MCM_ARRAY_LEN(types); i++) {  /* no body where one is expected, unknown type */
        ev.type = (Mesos__V1__Executor__Event__Type)types[i];
        tagent_send(A, &ev);
    }
    tagent_kill(A, "no-such-task", -1);
    util_sleep_ms(500);
    ck_assert(memcached_answers(port));
    ck_assert_int_eq(exit_status(0), -1);
    ck_assert_int_eq(tagent_count(A, UPDATE), 2);              /* STARTING, RUNNING only */
    tagent_kill(A, "task-ev", -1);
    mesos__v1__executor__call__free_unpacked(expect_update(ST(KILLED), 5000), NULL);
    ck_assert_int_eq(exit_status(10000), 0);
}
END_TEST

/* --- losing the agent ---------------------------------------------------------------- */

START_TEST(test_executor_resubscribes_with_unacked_updates) {
    agent_env(1);
    tagent_set_auto_ack(A, 0);
    run_executor();
    int port = th_free_port();
    launch("task-r", port, 32);
    Call *s1 = expect_update(ST(STARTING), 10000), *s2 = expect_update(ST(RUNNING), 15000);
    Call *sub = tagent_wait_call(A, SUBSCRIBE, 1000);
    mesos__v1__executor__call__free_unpacked(sub, NULL);        /* the first, empty one */
    tagent_drop_stream(A);
    sub = tagent_wait_call(A, SUBSCRIBE, 5000);
    REQUIRE(sub != NULL, "no second SUBSCRIBE after the stream dropped");
    ck_assert_int_eq(sub->subscribe->n_unacknowledged_updates, 2);
    ck_assert_int_eq(sub->subscribe->n_unacknowledged_tasks, 1);
    ck_assert_str_eq(sub->subscribe->unacknowledged_tasks[0]->task_id->value, "task-r");
    int found = 0;
    for (size_t i = 0; i < 2; i++) {
        Mesos__V1__TaskStatus *u = sub->subscribe->unacknowledged_updates[i]->status;
        found += !memcmp(u->uuid.data, status(s1)->uuid.data, 16) || !memcmp(u->uuid.data, status(s2)->uuid.data, 16);
    }
    ck_assert_int_eq(found, 2);
    mesos__v1__executor__call__free_unpacked(sub, NULL);
    ck_assert(memcached_answers(port));                         /* kept serving throughout */
    tagent_ack(A, status(s1));
    tagent_ack(A, status(s2));
    util_sleep_ms(300);
    tagent_drop_stream(A);                                      /* once more: nothing left to resend */
    sub = tagent_wait_call(A, SUBSCRIBE, 5000);
    REQUIRE(sub != NULL, "no third SUBSCRIBE");
    ck_assert_int_eq(sub->subscribe->n_unacknowledged_updates, 0);
    ck_assert_int_eq(sub->subscribe->n_unacknowledged_tasks, 0);
    mesos__v1__executor__call__free_unpacked(sub, NULL);
    tagent_set_auto_ack(A, 1);
    tagent_kill(A, "task-r", -1);
    mesos__v1__executor__call__free_unpacked(expect_update(ST(KILLED), 5000), NULL);
    ck_assert_int_eq(exit_status(10000), 0);
    mesos__v1__executor__call__free_unpacked(s1, NULL);
    mesos__v1__executor__call__free_unpacked(s2, NULL);
}
END_TEST

/* The agent restarts (listener gone, then "recovering" 503s, then back):
 * the executor waits it out and memcached never stops serving. */
START_TEST(test_executor_survives_agent_restart) {
    agent_env(1);
    run_executor();
    int port = launch_running("task-ar", 32);
    tagent_stop(A);
    util_sleep_ms(700);
    ck_assert(memcached_answers(port));
    tagent_set_refuse(A, 503);
    tagent_restart(A);
    util_sleep_ms(500);
    tagent_set_refuse(A, 0);
    int64_t end = util_now_ms() + 5000;
    while (!tagent_streaming(A) && util_now_ms() < end) util_sleep_ms(20);
    REQUIRE(tagent_streaming(A), "executor did not subscribe again after the agent came back");
    ck_assert(memcached_answers(port));
    tagent_kill(A, "task-ar", -1);
    mesos__v1__executor__call__free_unpacked(expect_update(ST(KILLED), 5000), NULL);
    ck_assert_int_eq(exit_status(10000), 0);
}
END_TEST

START_TEST(test_executor_without_checkpointing_exits_on_disconnect) {
    run_executor();
    int port = launch_running("task-nc", 32);
    tagent_drop_stream(A);
    ck_assert_int_eq(exit_status(5000), 1);
    ck_assert(th_wait(memcached_gone, &port, 2000));
}
END_TEST

START_TEST(test_executor_gives_up_after_recovery_timeout) {
    agent_env(1);
    setenv("MESOS_RECOVERY_TIMEOUT", "2secs", 1);
    run_executor();
    int port = launch_running("task-rt", 32);
    int64_t t0 = util_now_ms();
    tagent_stop(A);
    util_sleep_ms(1000);
    ck_assert(memcached_answers(port));                         /* still serving while recovering */
    int st = exit_status(8000);
    int64_t took = util_now_ms() - t0;
    ck_assert_int_eq(st, 1);
    ck_assert_msg(took >= 1800 && took < 8000, "gave up after %lld ms", (long long)took);
    ck_assert(th_wait(memcached_gone, &port, 2000));
}
END_TEST

START_TEST(test_executor_ack_wait_is_bounded) {
    setenv("MCM_ACK_TIMEOUT", "1s", 1);
    run_executor();
    launch_running("task-noack", 32);
    tagent_set_auto_ack(A, 0);
    tagent_kill(A, "task-noack", -1);
    Call *k = expect_update(ST(KILLED), 5000);
    int64_t t0 = util_now_ms();
    ck_assert_int_eq(exit_status(6000), 0);
    int64_t took = util_now_ms() - t0;
    ck_assert_msg(took >= 700 && took < 4000, "exited %lld ms after TASK_KILLED", (long long)took);
    mesos__v1__executor__call__free_unpacked(k, NULL);
}
END_TEST

/* --- configuration errors -------------------------------------------------------------- */

static char *run_expect_status(int want) {
    run_executor();
    int st = exit_status(10000);
    char *text = util_read_file(logpath, 1 << 16, NULL, 0);
    ck_assert_msg(st == want, "exit status %d, want %d; output: %s", st, want, text ? text : "");
    return text;
}

START_TEST(test_executor_missing_or_bad_mesos_variable_exits_2) {
    unsetenv("MESOS_FRAMEWORK_ID");
    char *text = run_expect_status(2);
    ck_assert_str_eq(text, "mcm-executor: MESOS_FRAMEWORK_ID is not set: mcm-executor must be started by a "
                           "Mesos agent, which sets it");
    free(text);
    th_proc_free(X);
    unlink(logpath);
    agent_env(0);
    setenv("MESOS_RECOVERY_TIMEOUT", "soon", 1);
    text = run_expect_status(2);
    ck_assert_msg(!strchr(text, '\n') && strstr(text, "MESOS_RECOVERY_TIMEOUT='soon'"), "%s", text);
    free(text);
    ck_assert_int_eq(tagent_count(A, SUBSCRIBE), 0);
}
END_TEST

START_TEST(test_executor_bad_flag_value_exits_2_and_help_lists_env) {
    setenv("MCM_REPORT_INTERVAL", "often", 1);
    char *text = run_expect_status(2);
    ck_assert_msg(strstr(text, "MCM_REPORT_INTERVAL"), "%s", text);
    free(text);
    th_proc_free(X);
    unlink(logpath);
    char exe[1024];
    snprintf(exe, sizeof(exe), "%s/src/executor/mcm-executor", getenv("MCM_BUILD_DIR"));
    char *argv[] = {exe, "--help", NULL};
    X = th_proc_start(argv, logpath);
    ck_assert_int_eq(exit_status(5000), 0);
    text = util_read_file(logpath, 1 << 16, NULL, 0);
    const char *vars[] = {"MCM_MEMCACHED_COMMAND", "MCM_MEMCACHED_LISTEN", "MCM_DOCKER_IMAGE",
                          "MCM_REPORT_INTERVAL", "MCM_STOP_GRACE", "MCM_LOG_LEVEL"};
    for (size_t i = 0; i < MCM_ARRAY_LEN(vars); i++) ck_assert_msg(strstr(text, vars[i]), "%s missing", vars[i]);
    free(text);
}
END_TEST

/* --- warm ring transitions ------------------------------------------------------------ */

static void send_raw_message(const char *data) {
    Mesos__V1__Executor__Event ev = MESOS__V1__EXECUTOR__EVENT__INIT;
    Mesos__V1__Executor__Event__Message m = MESOS__V1__EXECUTOR__EVENT__MESSAGE__INIT;
    ev.has_type = 1;
    ev.type = MESOS__V1__EXECUTOR__EVENT__TYPE__MESSAGE;
    m.data.data = (uint8_t *)data;
    m.data.len = strlen(data);
    ev.message = &m;
    tagent_send(A, &ev);
}

static void send_command(int64_t id, mig_cmd_phase phase, char **ring, int n, const char *self) {
    mig_cmd c = {.id = id, .phase = phase, .ring = ring, .nring = n, .rate = 0, .budget_ms = 30000};
    snprintf(c.self, sizeof(c.self), "%s", self);
    char *json = mig_cmd_encode(&c);
    ck_assert_ptr_nonnull(json);
    send_raw_message(json);
    free(json);
}

/* The next progress MESSAGE for (id, phase) with done set; reports and
 * running progress are skipped. */
static mig_msg_progress wait_done(int64_t id, mig_cmd_phase phase, int timeout_ms) {
    mig_msg_progress p;
    int64_t end = util_now_ms() + timeout_ms;
    while (util_now_ms() < end) {
        Call *m = tagent_wait_call(A, MESSAGE, (int)(end - util_now_ms()) + 1);
        if (!m) break;
        const uint8_t *d = m->message->data.data;
        size_t len = m->message->data.len;
        char err[256];
        int ok = mig_msg_type(d, len) == MIG_MSG_PROGRESS;
        if (ok) ck_assert_msg(mig_progress_decode(d, len, &p, err, sizeof(err)) == MCM_OK, "%s", err);
        mesos__v1__executor__call__free_unpacked(m, NULL);
        if (ok && p.done && p.id == id && p.phase == phase) return p;
    }
    ck_abort_msg("no done progress for transition %lld %s", (long long)id, mig_cmd_phase_name(phase));
    return p;
}

static int has_key(const char *addr, const char *key, char *value, size_t vlen) {
    char host[64], cmd[300], reply[1024];
    int port;
    snprintf(host, sizeof(host), "%s", addr);
    *strrchr(host, ':') = '\0';
    port = atoi(strrchr(addr, ':') + 1);
    snprintf(cmd, sizeof(cmd), "get %s\r\n", key);
    ck_assert_int_gt(th_mc_cmd(host, port, cmd, reply, sizeof(reply), 2000), 0);
    if (strncmp(reply, "VALUE ", 6)) return 0;
    if (value) snprintf(value, vlen, "%.*s", (int)strcspn(strchr(reply, '\n') + 1, "\r"), strchr(reply, '\n') + 1);
    return 1;
}

static void set_key(int port, const char *key, const char *value) {
    char cmd[512], reply[64];
    snprintf(cmd, sizeof(cmd), "set %s 5 0 %zu\r\n%s\r\n", key, strlen(value), value);
    ck_assert_int_gt(th_mc_cmd("127.0.0.1", port, cmd, reply, sizeof(reply), 2000), 0);
    ck_assert_str_eq(reply, "STORED\r\n");
}

#define MIG_KEYS 300

START_TEST(test_executor_migrate_copy_repeat_catchup_cleanup) {
    run_executor();
    int port = launch_running("task-m", 64);
    th_mc *b = th_mc_start(32), *c = th_mc_start(32);
    char self[32], ab[32], ac[32], err[256];
    snprintf(self, sizeof(self), "127.0.0.1:%d", port);
    snprintf(ab, sizeof(ab), "127.0.0.1:%d", th_mc_port(b));
    snprintf(ac, sizeof(ac), "127.0.0.1:%d", th_mc_port(c));
    char *rp[] = {self, ab, ac};
    ring *r = ring_new((const char *const *)rp, 3, err, sizeof(err));
    ck_assert_ptr_nonnull(r);
    int moving = 0, first_moving = -1;
    for (int i = 0; i < MIG_KEYS; i++) {
        char k[32];
        snprintf(k, sizeof(k), "mk%d", i);
        set_key(port, k, k);
        if (ring_owner(r, k, strlen(k)) != 0) { moving++; if (first_moving < 0) first_moving = i; }
    }
    send_command(1, MIG_CMD_COPY, rp, 3, self);
    mig_msg_progress p = wait_done(1, MIG_CMD_COPY, 20000);
    ck_assert_str_eq(p.error, "");
    ck_assert_str_eq(p.task_id, "task-m");
    ck_assert_uint_eq(p.p.keys_seen, MIG_KEYS);
    ck_assert_uint_eq(p.p.keys_total, (uint64_t)moving);
    ck_assert_uint_eq(p.p.keys_copied, (uint64_t)moving);
    for (int i = 0; i < MIG_KEYS; i++) {
        char k[32], v[64];
        snprintf(k, sizeof(k), "mk%d", i);
        const char *owner = ring_owner_name(r, k, strlen(k));
        ck_assert_msg(has_key(owner, k, v, sizeof(v)), "%s not on its new owner %s", k, owner);
        ck_assert_str_eq(v, k);
    }
    /* the same copy again: answered, not redone (a client's write on the new owner stays) */
    char k0[32];
    snprintf(k0, sizeof(k0), "mk%d", first_moving);
    const char *o0 = ring_owner_name(r, k0, strlen(k0));
    set_key(atoi(strrchr(o0, ':') + 1), k0, "client");
    send_command(1, MIG_CMD_COPY, rp, 3, self);
    mig_msg_progress again = wait_done(1, MIG_CMD_COPY, 10000);
    ck_assert_uint_eq(again.p.keys_copied, p.p.keys_copied);
    char v[64];
    ck_assert(has_key(o0, k0, v, sizeof(v)));
    ck_assert_str_eq(v, "client");
    /* Catch-up began right after the copy, before any catchup command (R'
     * is not even published): a write on the source reaches the new owner. */
    int k1i = -1;
    for (int i = first_moving + 1; i < MIG_KEYS && k1i < 0; i++) {
        char k[32];
        snprintf(k, sizeof(k), "mk%d", i);
        if (ring_owner(r, k, strlen(k)) != 0) k1i = i;
    }
    ck_assert_int_ge(k1i, 0);
    char k1[32];
    snprintf(k1, sizeof(k1), "mk%d", k1i);
    const char *o1 = ring_owner_name(r, k1, strlen(k1));
    set_key(port, k1, "rewritten");
    int followed = 0;
    for (int64_t t0 = util_now_ms(); !followed && util_now_ms() - t0 < 3000; util_sleep_ms(10))
        followed = has_key(o1, k1, v, sizeof(v)) && !strcmp(v, "rewritten");
    ck_assert_msg(followed, "a write on the source after the copy did not reach %s", o1);
    /* It keeps the client's value too (CAS-guarded); a catchup command
     * changes nothing while it follows; the next command ends it (its done
     * first), then cleanup empties the source of moved keys. */
    send_command(1, MIG_CMD_CATCHUP, rp, 3, self);
    send_command(1, MIG_CMD_CLEANUP, rp, 3, self);
    p = wait_done(1, MIG_CMD_CATCHUP, 10000);
    ck_assert_str_eq(p.error, "");
    p = wait_done(1, MIG_CMD_CLEANUP, 20000);
    ck_assert_str_eq(p.error, "");
    ck_assert_uint_eq(p.p.deleted, (uint64_t)moving);
    ck_assert(has_key(o0, k0, v, sizeof(v)));
    ck_assert_str_eq(v, "client");
    for (int i = 0; i < MIG_KEYS; i++) {
        char k[32];
        snprintf(k, sizeof(k), "mk%d", i);
        ck_assert_int_eq(has_key(self, k, NULL, 0), ring_owner(r, k, strlen(k)) == 0);
    }
    tagent_kill(A, "task-m", 1000);
    mesos__v1__executor__call__free_unpacked(expect_update(ST(KILLED), 5000), NULL);
    ck_assert_int_eq(exit_status(10000), 0);
    ring_free(r);
    th_mc_free(b);
    th_mc_free(c);
}
END_TEST

START_TEST(test_executor_migrate_abort_undoes_the_copy_and_bad_commands_are_refused) {
    run_executor();
    REQUIRE(th_wait(streaming, NULL, 10000), "the executor did not subscribe");
    char *one[] = {"127.0.0.1:1"};
    send_command(5, MIG_CMD_COPY, one, 1, "127.0.0.1:2");      /* before any task runs */
    mig_msg_progress p = wait_done(5, MIG_CMD_COPY, 5000);
    ck_assert_ptr_nonnull(strstr(p.error, "no memcached running"));
    int port = launch_running("task-a", 64);
    th_mc *b = th_mc_start(32);
    char self[32], ab[32], err[256];
    snprintf(self, sizeof(self), "127.0.0.1:%d", port);
    snprintf(ab, sizeof(ab), "127.0.0.1:%d", th_mc_port(b));
    for (int i = 0; i < 100; i++) {
        char k[32];
        snprintf(k, sizeof(k), "ak%d", i);
        set_key(port, k, "v");
    }
    char *rp[] = {ab};                                           /* the source leaves: all move */
    send_command(7, MIG_CMD_COPY, rp, 1, self);
    p = wait_done(7, MIG_CMD_COPY, 20000);
    ck_assert_uint_eq(p.p.keys_copied, 100);
    ck_assert(has_key(ab, "ak3", NULL, 0));
    send_command(7, MIG_CMD_ABORT, rp, 1, self);
    p = wait_done(7, MIG_CMD_ABORT, 20000);
    ck_assert_str_eq(p.error, "");
    ck_assert_uint_eq(p.p.invalidated, 100);
    for (int i = 0; i < 100; i++) {
        char k[32];
        snprintf(k, sizeof(k), "ak%d", i);
        ck_assert(!has_key(ab, k, NULL, 0));                     /* copies gone */
        ck_assert(has_key(self, k, NULL, 0));                    /* the source keeps its keys */
    }
    send_command(7, MIG_CMD_CATCHUP, rp, 1, self);               /* nothing left to catch up */
    p = wait_done(7, MIG_CMD_CATCHUP, 10000);
    ck_assert_ptr_nonnull(strstr(p.error, "without a copy"));
    send_raw_message("{\"v\":1,\"type\":\"migrate\",\"id\":8,\"phase\":\"copy\",\"ring\":[],\"self\":\"a:1\","
                     "\"rate\":0,\"budget_ms\":0}");
    p = wait_done(1, MIG_CMD_COPY, 5000);                        /* refused, with the reason */
    ck_assert_ptr_nonnull(strstr(p.error, "ring"));
    ck_assert(memcached_answers(port));
    (void)err;
    tagent_kill(A, "task-a", 1000);
    mesos__v1__executor__call__free_unpacked(expect_update(ST(KILLED), 5000), NULL);
    ck_assert_int_eq(exit_status(10000), 0);
    th_mc_free(b);
}
END_TEST

int main(void) {
    Suite *s = suite_create("executor_program");
    TCase *tc = tcase_create("program");
    tcase_set_timeout(tc, 90);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_executor_launch_serve_report_kill);
    tcase_add_test(tc, test_executor_memcached_crash_fails_task);
    tcase_add_test(tc, test_executor_killed_takes_its_memcached_along);
    tcase_add_test(tc, test_executor_unstartable_memcached_fails_task);
    tcase_add_test(tc, test_executor_port_taken_fails_task);
    tcase_add_test(tc, test_executor_task_without_ports_is_invalid);
    tcase_add_test(tc, test_executor_second_launch_fails_only_the_new_task);
    tcase_add_test(tc, test_executor_shutdown_kills_within_grace);
    tcase_add_test(tc, test_executor_sigterm_is_a_shutdown);
    tcase_add_test(tc, test_executor_sigterm_before_any_task_exits);
    tcase_add_test(tc, test_executor_ignores_error_message_heartbeat_and_unknown_events);
    tcase_add_test(tc, test_executor_resubscribes_with_unacked_updates);
    tcase_add_test(tc, test_executor_survives_agent_restart);
    tcase_add_test(tc, test_executor_without_checkpointing_exits_on_disconnect);
    tcase_add_test(tc, test_executor_gives_up_after_recovery_timeout);
    tcase_add_test(tc, test_executor_ack_wait_is_bounded);
    tcase_add_test(tc, test_executor_missing_or_bad_mesos_variable_exits_2);
    tcase_add_test(tc, test_executor_bad_flag_value_exits_2_and_help_lists_env);
    tcase_add_test(tc, test_executor_migrate_copy_repeat_catchup_cleanup);
    tcase_add_test(tc, test_executor_migrate_abort_undoes_the_copy_and_bad_commands_are_refused);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
