/* test_exec_event.c -- the executor's decision on one agent event
 * (exec_event.h), without memcached or an agent: events built in memory,
 * a view of the loop's state, the decision checked. */
#include "exec_event.h"
#include "mcm.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

typedef struct launch_builder {
    Mesos__V1__Executor__Event ev;
    Mesos__V1__Executor__Event__Launch l;
    Mesos__V1__TaskInfo t;
    Mesos__V1__TaskID id;
    Mesos__V1__Resource r[2], *rp[2];
    Mesos__V1__Value__Scalar mem;
    Mesos__V1__Value__Ranges ranges;
    Mesos__V1__Value__Range range, *rangep;
} launch_builder;

static Mesos__V1__Executor__Event *launch(launch_builder *b, const char *task_id) {
    memset(b, 0, sizeof(*b));
    mesos__v1__executor__event__init(&b->ev);
    mesos__v1__executor__event__launch__init(&b->l);
    mesos__v1__task_info__init(&b->t);
    mesos__v1__task_id__init(&b->id);
    b->id.value = (char *)task_id;
    b->t.task_id = &b->id;
    for (int i = 0; i < 2; i++) mesos__v1__resource__init(&b->r[i]), b->rp[i] = &b->r[i];
    mesos__v1__value__scalar__init(&b->mem);
    b->mem.value = 128;
    b->r[0].name = "mem";
    b->r[0].type = MESOS__V1__VALUE__TYPE__SCALAR;
    b->r[0].scalar = &b->mem;
    mesos__v1__value__ranges__init(&b->ranges);
    mesos__v1__value__range__init(&b->range);
    b->range.begin = b->range.end = 31000;
    b->rangep = &b->range;
    b->ranges.n_range = 1;
    b->ranges.range = &b->rangep;
    b->r[1].name = "ports";
    b->r[1].type = MESOS__V1__VALUE__TYPE__RANGES;
    b->r[1].ranges = &b->ranges;
    b->t.n_resources = 2;
    b->t.resources = b->rp;
    b->l.task = &b->t;
    b->ev.has_type = 1;
    b->ev.type = MESOS__V1__EXECUTOR__EVENT__TYPE__LAUNCH;
    b->ev.launch = &b->l;
    return &b->ev;
}

static const xe_view idle = {XE_IDLE, "", "mcm-exec-1", 5000};

START_TEST(test_exec_event_launch_in_idle_starts_the_task) {
    launch_builder b;
    xe_decision d;
    exec_event_decide(&idle, launch(&b, "mcm-1"), &d);
    ck_assert_int_eq(d.kind, XE_LAUNCH);
    ck_assert_str_eq(d.task_id, "mcm-1");
    ck_assert_int_eq(d.task.port, 31000);
    ck_assert_uint_eq(d.task.mem_mib, 128);
    exec_event_clear(&d);
}
END_TEST

START_TEST(test_exec_event_second_launch_is_refused) {
    launch_builder b;
    xe_decision d;
    xe_view running = {XE_RUNNING, "mcm-1", "mcm-exec-1", 5000};
    exec_event_decide(&running, launch(&b, "mcm-2"), &d);
    ck_assert_int_eq(d.kind, XE_LAUNCH_REFUSED);
    ck_assert_str_eq(d.task_id, "mcm-2");
    ck_assert_msg(strstr(d.why, "one memcached per executor"), "%s", d.why);
}
END_TEST

/* Found by fuzz_exec_events: an id of 256+ characters was accepted and kept
 * cut to 255, so a KILL naming the task whole was ignored, and the task's
 * updates named another id. Mesos allows 1..255 (NAME_MAX). */
START_TEST(test_exec_event_launch_with_empty_or_overlong_task_id_is_invalid) {
    launch_builder b;
    xe_decision d;
    char id[XE_TASK_ID_MAX + 1];
    memset(id, 'a', sizeof(id) - 1);
    id[sizeof(id) - 1] = '\0';
    exec_event_decide(&idle, launch(&b, id), &d);
    ck_assert_int_eq(d.kind, XE_LAUNCH_INVALID);
    ck_assert_ptr_eq(d.task_id, id);                /* the failure names it whole */
    ck_assert_msg(strstr(d.why, "task id"), "%s", d.why);
    exec_event_decide(&idle, launch(&b, ""), &d);
    ck_assert_int_eq(d.kind, XE_LAUNCH_INVALID);
    id[XE_TASK_ID_MAX - 1] = '\0';                   /* 255 characters: fine */
    exec_event_decide(&idle, launch(&b, id), &d);
    ck_assert_int_eq(d.kind, XE_LAUNCH);
}
END_TEST

START_TEST(test_exec_event_kill_of_another_task_or_after_finish_is_a_note) {
    Mesos__V1__Executor__Event ev;
    Mesos__V1__Executor__Event__Kill k;
    Mesos__V1__TaskID id;
    xe_decision d;
    mesos__v1__executor__event__init(&ev);
    mesos__v1__executor__event__kill__init(&k);
    mesos__v1__task_id__init(&id);
    id.value = "mcm-1";
    k.task_id = &id;
    ev.has_type = 1;
    ev.type = MESOS__V1__EXECUTOR__EVENT__TYPE__KILL;
    ev.kill = &k;
    xe_view v = {XE_STARTING, "mcm-1", "mcm-exec-1", 4000};
    exec_event_decide(&v, &ev, &d);
    ck_assert_int_eq(d.kind, XE_KILL);
    ck_assert_int_eq(d.grace_ms, 4000);
    v.phase = XE_FINISHING;
    exec_event_decide(&v, &ev, &d);
    ck_assert_int_eq(d.kind, XE_NOTE);
    v.phase = XE_RUNNING;
    v.task_id = "mcm-2";
    exec_event_decide(&v, &ev, &d);
    ck_assert_int_eq(d.kind, XE_NOTE);
}
END_TEST

START_TEST(test_exec_event_migrate_command_needs_a_running_server) {
    static const char cmd[] = "{\"v\":1,\"type\":\"migrate\",\"id\":3,\"phase\":\"copy\","
                              "\"ring\":[\"10.0.0.1:31000\"],\"self\":\"10.0.0.1:31000\",\"rate\":0,\"budget_ms\":0}";
    Mesos__V1__Executor__Event ev;
    Mesos__V1__Executor__Event__Message m;
    xe_decision d;
    mesos__v1__executor__event__init(&ev);
    mesos__v1__executor__event__message__init(&m);
    m.data.data = (uint8_t *)cmd;
    m.data.len = sizeof(cmd) - 1;
    ev.has_type = 1;
    ev.type = MESOS__V1__EXECUTOR__EVENT__TYPE__MESSAGE;
    ev.message = &m;
    xe_view v = {XE_STARTING, "mcm-1", "mcm-exec-1", 4000};
    exec_event_decide(&v, &ev, &d);
    ck_assert_int_eq(d.kind, XE_MIGRATE_REFUSED);
    ck_assert_int_eq(d.has_cmd, 1);
    ck_assert_int_eq(d.cmd.id, 3);
    exec_event_clear(&d);
    v.phase = XE_RUNNING;
    exec_event_decide(&v, &ev, &d);
    ck_assert_int_eq(d.kind, XE_MIGRATE);
    ck_assert_str_eq(d.cmd.self, "10.0.0.1:31000");
    exec_event_clear(&d);
    m.data.len = 20;                                 /* cut: not JSON, so not a command */
    exec_event_decide(&v, &ev, &d);
    ck_assert_int_eq(d.kind, XE_NOTE);
}
END_TEST

int main(void) {
    Suite *s = suite_create("exec_event");
    TCase *tc = tcase_create("decide");
    tcase_add_test(tc, test_exec_event_launch_in_idle_starts_the_task);
    tcase_add_test(tc, test_exec_event_second_launch_is_refused);
    tcase_add_test(tc, test_exec_event_launch_with_empty_or_overlong_task_id_is_invalid);
    tcase_add_test(tc, test_exec_event_kill_of_another_task_or_after_finish_is_a_note);
    tcase_add_test(tc, test_exec_event_migrate_command_needs_a_running_server);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
