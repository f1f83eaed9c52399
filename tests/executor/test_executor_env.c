/* test_executor_env.c -- the executor's inputs that need no process: the
 * Mesos agent's environment (mesos_exec_config_from_env: required and
 * optional variables, Mesos duration spellings, clear errors naming the
 * variable) and the TaskInfo reading (port, memory, kill grace). */
#include "exec_task.h"
#include "mcm.h"
#include "mesos_exec.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char err[512];
static mesos_exec_config c;

static void agent_env(void) {
    static const char *unset[] = {"MESOS_SANDBOX", "MESOS_CHECKPOINT", "MESOS_SUBSCRIPTION_BACKOFF_MAX",
                                  "MESOS_RECOVERY_TIMEOUT", "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD",
                                  "MESOS_EXECUTOR_AUTHENTICATION_TOKEN"};
    for (size_t i = 0; i < MCM_ARRAY_LEN(unset); i++) unsetenv(unset[i]);
    setenv("MESOS_AGENT_ENDPOINT", "10.0.0.7:5051", 1);
    setenv("MESOS_FRAMEWORK_ID", "fw-0000", 1);
    setenv("MESOS_EXECUTOR_ID", "mcm-exec-1", 1);
    setenv("MESOS_DIRECTORY", "/var/lib/mesos/slaves/S1/frameworks/fw/executors/e/runs/latest", 1);
}

static int load(void) { return mesos_exec_config_from_env(&c, err, sizeof(err)); }

START_TEST(test_executor_env_minimal_agent_environment) {
    agent_env();
    ck_assert_msg(load() == MCM_OK, "%s", err);
    ck_assert_str_eq(c.agent_url, "http://10.0.0.7:5051/api/v1/executor");
    ck_assert_str_eq(c.agent_endpoint, "10.0.0.7:5051");
    ck_assert_str_eq(c.framework_id, "fw-0000");
    ck_assert_str_eq(c.executor_id, "mcm-exec-1");
    ck_assert_str_eq(c.sandbox, c.directory);        /* MESOS_SANDBOX defaults to the directory */
    ck_assert_int_eq(c.checkpoint, 0);
    ck_assert_int_eq(c.backoff_max_ms, 2000);
    ck_assert_int_eq(c.recovery_timeout_ms, 15 * 60 * 1000);
    ck_assert_int_eq(c.shutdown_grace_ms, 5000);
    ck_assert_ptr_null(c.auth_token);
    mesos_exec_config_free(&c);
    mesos_exec_config_free(&c);                      /* twice is harmless */
    mesos_exec_config_free(NULL);
}
END_TEST

START_TEST(test_executor_env_mesos_spellings_and_options) {
    agent_env();
    setenv("MESOS_CHECKPOINT", "1", 1);
    setenv("MESOS_SUBSCRIPTION_BACKOFF_MAX", "500ms", 1);
    setenv("MESOS_RECOVERY_TIMEOUT", "2mins", 1);
    setenv("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", "3secs", 1);
    setenv("MESOS_SANDBOX", "/mnt/mesos/sandbox", 1);
    setenv("MESOS_EXECUTOR_AUTHENTICATION_TOKEN", "tok3n", 1);
    setenv("MESOS_AGENT_ENDPOINT", "[::1]:5051", 1);
    ck_assert_msg(load() == MCM_OK, "%s", err);
    ck_assert_int_eq(c.checkpoint, 1);
    ck_assert_int_eq(c.backoff_max_ms, 500);
    ck_assert_int_eq(c.recovery_timeout_ms, 120000);
    ck_assert_int_eq(c.shutdown_grace_ms, 3000);
    ck_assert_str_eq(c.sandbox, "/mnt/mesos/sandbox");
    ck_assert_str_eq(c.auth_token, "tok3n");
    ck_assert_str_eq(c.agent_url, "http://[::1]:5051/api/v1/executor");
    mesos_exec_config_free(&c);
    setenv("MESOS_RECOVERY_TIMEOUT", "1hrs", 1);
    setenv("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", "1.5secs", 1);
    setenv("MESOS_CHECKPOINT", "0", 1);
    ck_assert_msg(load() == MCM_OK, "%s", err);
    ck_assert_int_eq(c.recovery_timeout_ms, 3600000);
    ck_assert_int_eq(c.shutdown_grace_ms, 1500);
    ck_assert_int_eq(c.checkpoint, 0);
    mesos_exec_config_free(&c);
}
END_TEST

/* Each required variable, missing or empty: an error naming it, nothing kept. */
START_TEST(test_executor_env_missing_variable_is_named) {
    static const char *required[] = {"MESOS_AGENT_ENDPOINT", "MESOS_FRAMEWORK_ID", "MESOS_EXECUTOR_ID",
                                     "MESOS_DIRECTORY"};
    for (size_t i = 0; i < MCM_ARRAY_LEN(required); i++) {
        for (int empty = 0; empty < 2; empty++) {
            agent_env();
            if (empty) setenv(required[i], "", 1);
            else unsetenv(required[i]);
            ck_assert_int_eq(load(), MCM_ERR);
            ck_assert_msg(strstr(err, required[i]) && strstr(err, "is not set"), "%s", err);
            ck_assert_ptr_null(strchr(err, '\n'));
            ck_assert_ptr_null(c.agent_url);
            ck_assert_ptr_null(c.framework_id);
        }
    }
}
END_TEST

START_TEST(test_executor_env_bad_values_are_named) {
    static const struct { const char *var, *value; } bad[] = {
        {"MESOS_AGENT_ENDPOINT", "10.0.0.7"},             {"MESOS_AGENT_ENDPOINT", "10.0.0.7:0"},
        {"MESOS_AGENT_ENDPOINT", "10.0.0.7:99999"},       {"MESOS_CHECKPOINT", "yes"},
        {"MESOS_CHECKPOINT", "2"},                        {"MESOS_SUBSCRIPTION_BACKOFF_MAX", "fast"},
        {"MESOS_RECOVERY_TIMEOUT", "15minutes"},          {"MESOS_RECOVERY_TIMEOUT", "-1secs"},
        {"MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", "5 s x"},
    };
    for (size_t i = 0; i < MCM_ARRAY_LEN(bad); i++) {
        agent_env();
        setenv(bad[i].var, bad[i].value, 1);
        ck_assert_msg(load() == MCM_ERR, "%s=%s accepted", bad[i].var, bad[i].value);
        char want[128];
        snprintf(want, sizeof(want), "%s='%s'", bad[i].var, bad[i].value);
        ck_assert_msg(strstr(err, want), "'%s' does not contain %s", err, want);
        ck_assert_ptr_null(c.agent_url);
    }
}
END_TEST

/* --- TaskInfo ------------------------------------------------------------------------- */

typedef struct task_builder {
    Mesos__V1__TaskInfo t;
    Mesos__V1__Resource r[4];
    Mesos__V1__Resource *rp[4];
    Mesos__V1__Value__Scalar s[4];
    Mesos__V1__Value__Range range[2];
    Mesos__V1__Value__Range *rangep[2];
    Mesos__V1__Value__Ranges ranges;
    Mesos__V1__KillPolicy kp;
    Mesos__V1__DurationInfo d;
} task_builder;

static void add_scalar(task_builder *b, const char *name, double v) {
    size_t i = b->t.n_resources++;
    mesos__v1__resource__init(&b->r[i]);
    mesos__v1__value__scalar__init(&b->s[i]);
    b->r[i].name = (char *)name;
    b->r[i].type = MESOS__V1__VALUE__TYPE__SCALAR;
    b->s[i].value = v;
    b->r[i].scalar = &b->s[i];
    b->rp[i] = &b->r[i];
}

static void add_ports(task_builder *b, int n, uint64_t first) {
    size_t i = b->t.n_resources++;
    mesos__v1__resource__init(&b->r[i]);
    mesos__v1__value__ranges__init(&b->ranges);
    for (int k = 0; k < n; k++) {
        mesos__v1__value__range__init(&b->range[k]);
        b->range[k].begin = first + (uint64_t)k * 10;
        b->range[k].end = first + (uint64_t)k * 10 + 5;
        b->rangep[k] = &b->range[k];
    }
    b->ranges.n_range = (size_t)n;
    b->ranges.range = b->rangep;
    b->r[i].name = "ports";
    b->r[i].type = MESOS__V1__VALUE__TYPE__RANGES;
    b->r[i].ranges = &b->ranges;
    b->rp[i] = &b->r[i];
}

static void task_init(task_builder *b) {
    memset(b, 0, sizeof(*b));
    mesos__v1__task_info__init(&b->t);
    b->t.resources = b->rp;
}

START_TEST(test_executor_task_port_memory_and_grace) {
    task_builder b;
    exec_task x;
    task_init(&b);
    add_scalar(&b, "cpus", 0.5);
    add_ports(&b, 2, 31005);
    add_scalar(&b, "mem", 256);
    add_scalar(&b, "mem", 64.7);                     /* two roles: summed, whole MiB */
    ck_assert_msg(exec_task_parse(&b.t, &x, err, sizeof(err)) == MCM_OK, "%s", err);
    ck_assert_int_eq(x.port, 31005);                 /* begin of the first range */
    ck_assert_uint_eq(x.mem_mib, 320);
    ck_assert_int_eq(x.kill_grace_ms, -1);
    mesos__v1__kill_policy__init(&b.kp);
    mesos__v1__duration_info__init(&b.d);
    b.d.nanoseconds = 2500000000LL;
    b.kp.grace_period = &b.d;
    b.t.kill_policy = &b.kp;
    ck_assert_int_eq(exec_task_parse(&b.t, &x, err, sizeof(err)), MCM_OK);
    ck_assert_int_eq(x.kill_grace_ms, 2500);
    ck_assert_int_eq(exec_kill_grace_ms(NULL, 777), 777);
    b.d.nanoseconds = -5;
    ck_assert_int_eq(exec_kill_grace_ms(&b.kp, 777), 777);
}
END_TEST

START_TEST(test_executor_task_without_port_or_memory_is_refused) {
    task_builder b;
    exec_task x = {.port = 42};
    task_init(&b);
    add_scalar(&b, "mem", 128);
    ck_assert_int_eq(exec_task_parse(&b.t, &x, err, sizeof(err)), MCM_ERR);
    ck_assert_msg(strstr(err, "ports"), "%s", err);
    ck_assert_int_eq(x.port, 42);                    /* untouched on error */
    task_init(&b);
    add_ports(&b, 0, 0);
    add_scalar(&b, "mem", 128);
    ck_assert_int_eq(exec_task_parse(&b.t, &x, err, sizeof(err)), MCM_ERR);
    ck_assert_msg(strstr(err, "no range"), "%s", err);
    task_init(&b);
    add_ports(&b, 1, 70000);
    add_scalar(&b, "mem", 128);
    ck_assert_int_eq(exec_task_parse(&b.t, &x, err, sizeof(err)), MCM_ERR);
    ck_assert_msg(strstr(err, "70000"), "%s", err);
    task_init(&b);
    add_ports(&b, 1, 31000);
    ck_assert_int_eq(exec_task_parse(&b.t, &x, err, sizeof(err)), MCM_ERR);
    ck_assert_msg(strstr(err, "mem"), "%s", err);
    task_init(&b);
    add_ports(&b, 1, 31000);
    add_scalar(&b, "mem", 0.5);
    ck_assert_int_eq(exec_task_parse(&b.t, &x, err, sizeof(err)), MCM_ERR);
}
END_TEST

/* Found by fuzz_exec_events: a mem of 4.4e40 MiB was accepted and turned
 * into a uint64_t out of range (undefined; 0 on x86-64, a memcached -m 8). */
START_TEST(test_executor_task_with_memory_beyond_bound_is_refused) {
    task_builder b;
    exec_task x = {.mem_mib = 42};
    double bad[] = {4.35561e40, 1.9e19, (double)EXEC_TASK_MEM_MAX_MIB + 1024, INFINITY};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        task_init(&b);
        add_ports(&b, 1, 31000);
        add_scalar(&b, "mem", bad[i]);
        ck_assert_msg(exec_task_parse(&b.t, &x, err, sizeof(err)) == MCM_ERR, "mem %g accepted as %llu", bad[i],
                      (unsigned long long)x.mem_mib);
        ck_assert_msg(strstr(err, "mem"), "%s", err);
        ck_assert_uint_eq(x.mem_mib, 42);
    }
    task_init(&b);                                   /* two roles, each finite, summing to infinity */
    add_ports(&b, 1, 31000);
    add_scalar(&b, "mem", 1.7e308);
    add_scalar(&b, "mem", 1.7e308);
    ck_assert_int_eq(exec_task_parse(&b.t, &x, err, sizeof(err)), MCM_ERR);
    task_init(&b);
    add_ports(&b, 1, 31000);
    add_scalar(&b, "mem", (double)EXEC_TASK_MEM_MAX_MIB);
    ck_assert_msg(exec_task_parse(&b.t, &x, err, sizeof(err)) == MCM_OK, "%s", err);
    ck_assert_uint_eq(x.mem_mib, EXEC_TASK_MEM_MAX_MIB);
}
END_TEST

int main(void) {
    Suite *s = suite_create("executor_env");
    TCase *tc = tcase_create("env");
    tcase_add_test(tc, test_executor_env_minimal_agent_environment);
    tcase_add_test(tc, test_executor_env_mesos_spellings_and_options);
    tcase_add_test(tc, test_executor_env_missing_variable_is_named);
    tcase_add_test(tc, test_executor_env_bad_values_are_named);
    tcase_add_test(tc, test_executor_task_port_memory_and_grace);
    tcase_add_test(tc, test_executor_task_without_port_or_memory_is_refused);
    tcase_add_test(tc, test_executor_task_with_memory_beyond_bound_is_refused);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
