/* test_proto.c -- protobuf round trips of what the client builds and what
 * masters send: every Call builder, sample Events, unknown fields and enum
 * values tolerated, missing required fields rejected. */
#include "mesos_calls.h"

#include "mcm.h"
#include "msgs.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

typedef Mesos__V1__Scheduler__Call Call;
typedef Mesos__V1__Scheduler__Event Event;

/* len by pointer: it is read only after the builder (the other argument) ran. */
static Call *unpack_call(uint8_t *buf, const size_t *len) {
    ck_assert_ptr_nonnull(buf);
    Call *c = mesos__v1__scheduler__call__unpack(NULL, *len, buf);
    free(buf);
    ck_assert_ptr_nonnull(c);
    ck_assert(c->has_type);
    return c;
}

START_TEST(test_mesos_proto_subscribe_round_trip) {
    mesos_fw_info fw = {"nobody", "mcm", "mcm-role", "host1", "principal1", "http://h:8080", 604800};
    size_t len;
    Call *c = unpack_call(mesos_call_subscribe(&fw, "fw-7", &len), &len);
    ck_assert_int_eq(c->type, MESOS__V1__SCHEDULER__CALL__TYPE__SUBSCRIBE);
    ck_assert_str_eq(c->framework_id->value, "fw-7");
    Mesos__V1__FrameworkInfo *fi = c->subscribe->framework_info;
    ck_assert_str_eq(fi->user, "nobody");
    ck_assert_str_eq(fi->name, "mcm");
    ck_assert_str_eq(fi->id->value, "fw-7");
    ck_assert(fi->has_failover_timeout && fi->failover_timeout == 604800);
    ck_assert(fi->has_checkpoint && fi->checkpoint);
    ck_assert_uint_eq(fi->n_roles, 1);
    ck_assert_str_eq(fi->roles[0], "mcm-role");
    ck_assert_str_eq(fi->hostname, "host1");
    ck_assert_str_eq(fi->principal, "principal1");
    ck_assert_str_eq(fi->webui_url, "http://h:8080");
    ck_assert_uint_eq(fi->n_capabilities, 3);
    int seen = 0;
    for (size_t i = 0; i < fi->n_capabilities; i++) {
        ck_assert(fi->capabilities[i]->has_type);
        seen |= 1 << fi->capabilities[i]->type;
    }
    ck_assert_int_eq(seen, (1 << MESOS__V1__FRAMEWORK_INFO__CAPABILITY__TYPE__MULTI_ROLE) |
                               (1 << MESOS__V1__FRAMEWORK_INFO__CAPABILITY__TYPE__TASK_KILLING_STATE) |
                               (1 << MESOS__V1__FRAMEWORK_INFO__CAPABILITY__TYPE__PARTITION_AWARE));
    mesos__v1__scheduler__call__free_unpacked(c, NULL);
    /* first subscription: no ID anywhere, optional strings absent */
    mesos_fw_info bare = {"u", "n", NULL, NULL, NULL, NULL, 0};
    c = unpack_call(mesos_call_subscribe(&bare, NULL, &len), &len);
    ck_assert_ptr_null(c->framework_id);
    ck_assert_ptr_null(c->subscribe->framework_info->id);
    ck_assert_ptr_null(c->subscribe->framework_info->hostname);
    ck_assert_ptr_null(c->subscribe->framework_info->principal);
    ck_assert_str_eq(c->subscribe->framework_info->roles[0], "*");
    mesos__v1__scheduler__call__free_unpacked(c, NULL);
}
END_TEST

START_TEST(test_mesos_proto_launch_round_trip) {
    msg_task t;
    msg_task_init(&t);
    Mesos__V1__TaskInfo *tp[1] = {&t.task};
    size_t len;
    Call *c = unpack_call(mesos_call_launch("fw-1", "O1", tp, 1, 30, &len), &len);
    ck_assert_int_eq(c->type, MESOS__V1__SCHEDULER__CALL__TYPE__ACCEPT);
    ck_assert_str_eq(c->framework_id->value, "fw-1");
    ck_assert_uint_eq(c->accept->n_offer_ids, 1);
    ck_assert_str_eq(c->accept->offer_ids[0]->value, "O1");
    ck_assert(c->accept->filters->has_refuse_seconds && c->accept->filters->refuse_seconds == 30);
    ck_assert_uint_eq(c->accept->n_operations, 1);
    Mesos__V1__Offer__Operation *op = c->accept->operations[0];
    ck_assert(op->has_type && op->type == MESOS__V1__OFFER__OPERATION__TYPE__LAUNCH);
    ck_assert_uint_eq(op->launch->n_task_infos, 1);
    Mesos__V1__TaskInfo *ti = op->launch->task_infos[0];
    ck_assert_str_eq(ti->name, "memcached mc-1");
    ck_assert_str_eq(ti->task_id->value, "mc-1");
    ck_assert_str_eq(ti->agent_id->value, "S1");
    ck_assert_uint_eq(ti->n_resources, 3);
    ck_assert_str_eq(ti->resources[0]->name, "cpus");
    ck_assert(ti->resources[0]->scalar->value == 0.5);
    ck_assert_str_eq(ti->resources[1]->allocation_info->role, "mcm");
    ck_assert_int_eq(ti->resources[2]->type, MESOS__V1__VALUE__TYPE__RANGES);
    ck_assert_int_eq(ti->resources[2]->ranges->range[0]->begin, 31001);
    ck_assert_str_eq(ti->executor->executor_id->value, "exec-mc-1");
    ck_assert(ti->executor->command->has_shell && !ti->executor->command->shell);
    ck_assert_uint_eq(ti->executor->command->n_arguments, 3);
    ck_assert_str_eq(ti->labels->labels[0]->key, "mcm.shard");
    ck_assert_ptr_null(ti->command);
    mesos__v1__scheduler__call__free_unpacked(c, NULL);
    /* refuse_seconds < 0: no Filters */
    c = unpack_call(mesos_call_launch("fw-1", "O1", tp, 1, -1, &len), &len);
    ck_assert_ptr_null(c->accept->filters);
    mesos__v1__scheduler__call__free_unpacked(c, NULL);
}
END_TEST

START_TEST(test_mesos_proto_small_calls_round_trip) {
    size_t len;
    const char *offers[] = {"O1", "O2"};
    Call *c = unpack_call(mesos_call_decline("fw-1", offers, 2, 5, &len), &len);
    ck_assert_uint_eq(c->decline->n_offer_ids, 2);
    ck_assert_str_eq(c->decline->offer_ids[1]->value, "O2");
    ck_assert(c->decline->filters->refuse_seconds == 5);
    mesos__v1__scheduler__call__free_unpacked(c, NULL);

    c = unpack_call(mesos_call_kill("fw-1", "mc-1", "S1", &len), &len);
    ck_assert_int_eq(c->type, MESOS__V1__SCHEDULER__CALL__TYPE__KILL);
    ck_assert_str_eq(c->kill->task_id->value, "mc-1");
    ck_assert_str_eq(c->kill->agent_id->value, "S1");
    mesos__v1__scheduler__call__free_unpacked(c, NULL);
    c = unpack_call(mesos_call_kill("fw-1", "mc-1", NULL, &len), &len);
    ck_assert_ptr_null(c->kill->agent_id);
    mesos__v1__scheduler__call__free_unpacked(c, NULL);

    c = unpack_call(mesos_call_acknowledge("fw-1", "S1", "mc-1", msg_uuid, 16, &len), &len);
    ck_assert_int_eq(c->type, MESOS__V1__SCHEDULER__CALL__TYPE__ACKNOWLEDGE);
    ck_assert_uint_eq(c->acknowledge->uuid.len, 16);
    ck_assert(memcmp(c->acknowledge->uuid.data, msg_uuid, 16) == 0);
    ck_assert_str_eq(c->acknowledge->agent_id->value, "S1");
    mesos__v1__scheduler__call__free_unpacked(c, NULL);

    const char *tids[] = {"mc-1", "mc-2"}, *aids[] = {"S1", NULL};
    c = unpack_call(mesos_call_reconcile("fw-1", tids, aids, 2, &len), &len);
    ck_assert_uint_eq(c->reconcile->n_tasks, 2);
    ck_assert_str_eq(c->reconcile->tasks[0]->agent_id->value, "S1");
    ck_assert_ptr_null(c->reconcile->tasks[1]->agent_id);
    mesos__v1__scheduler__call__free_unpacked(c, NULL);
    /* implicit: the (empty) reconcile message must still be on the wire */
    c = unpack_call(mesos_call_reconcile("fw-1", NULL, NULL, 0, &len), &len);
    ck_assert_ptr_nonnull(c->reconcile);
    ck_assert_uint_eq(c->reconcile->n_tasks, 0);
    mesos__v1__scheduler__call__free_unpacked(c, NULL);

    c = unpack_call(mesos_call_message("fw-1", "S1", "exec-mc-1", "hi\0there", 8, &len), &len);
    ck_assert_uint_eq(c->message->data.len, 8);
    ck_assert(memcmp(c->message->data.data, "hi\0there", 8) == 0);
    mesos__v1__scheduler__call__free_unpacked(c, NULL);

    c = unpack_call(mesos_call_revive("fw-1", "mcm", &len), &len);
    ck_assert_int_eq(c->type, MESOS__V1__SCHEDULER__CALL__TYPE__REVIVE);
    ck_assert_str_eq(c->revive->roles[0], "mcm");
    mesos__v1__scheduler__call__free_unpacked(c, NULL);
    c = unpack_call(mesos_call_suppress("fw-1", "mcm", &len), &len);
    ck_assert_int_eq(c->type, MESOS__V1__SCHEDULER__CALL__TYPE__SUPPRESS);
    ck_assert_uint_eq(c->suppress->n_roles, 1);
    mesos__v1__scheduler__call__free_unpacked(c, NULL);
    c = unpack_call(mesos_call_teardown("fw-1", &len), &len);
    ck_assert_int_eq(c->type, MESOS__V1__SCHEDULER__CALL__TYPE__TEARDOWN);
    ck_assert_str_eq(c->framework_id->value, "fw-1");
    mesos__v1__scheduler__call__free_unpacked(c, NULL);

    /* mesos_call_pack sets the ID on the wire only */
    Call mine = MESOS__V1__SCHEDULER__CALL__INIT;
    mine.has_type = 1;
    mine.type = MESOS__V1__SCHEDULER__CALL__TYPE__REVIVE;
    c = unpack_call(mesos_call_pack(&mine, "fw-9", &len), &len);
    ck_assert_str_eq(c->framework_id->value, "fw-9");
    ck_assert_ptr_null(mine.framework_id);
    mesos__v1__scheduler__call__free_unpacked(c, NULL);
}
END_TEST

START_TEST(test_mesos_proto_events_round_trip) {
    size_t len;
    uint8_t *b = msg_subscribed(&len);
    Event *ev = mesos__v1__scheduler__event__unpack(NULL, len, b);
    free(b);
    ck_assert_ptr_nonnull(ev);
    ck_assert_int_eq(ev->type, MESOS__V1__SCHEDULER__EVENT__TYPE__SUBSCRIBED);
    ck_assert_str_eq(ev->subscribed->framework_id->value, "fw-1");
    ck_assert(ev->subscribed->heartbeat_interval_seconds == 15);
    ck_assert_str_eq(ev->subscribed->master_info->address->ip, "10.0.0.1");
    mesos__v1__scheduler__event__free_unpacked(ev, NULL);

    b = msg_offers(&len);
    ev = mesos__v1__scheduler__event__unpack(NULL, len, b);
    free(b);
    ck_assert_ptr_nonnull(ev);
    ck_assert_str_eq(ev->offers->offers[0]->id->value, "O1");
    ck_assert_str_eq(ev->offers->offers[0]->hostname, "agent1");
    ck_assert_str_eq(ev->offers->offers[0]->allocation_info->role, "mcm");
    ck_assert_uint_eq(ev->offers->offers[0]->n_resources, 3);
    mesos__v1__scheduler__event__free_unpacked(ev, NULL);

    b = msg_update(&len);
    ev = mesos__v1__scheduler__event__unpack(NULL, len, b);
    free(b);
    ck_assert_ptr_nonnull(ev);
    Mesos__V1__TaskStatus *st = ev->update->status;
    ck_assert_int_eq(st->state, MESOS__V1__TASK_STATE__TASK_RUNNING);
    ck_assert(st->has_source && st->source == MESOS__V1__TASK_STATUS__SOURCE__SOURCE_EXECUTOR);
    ck_assert(st->has_uuid && st->uuid.len == 16 && memcmp(st->uuid.data, msg_uuid, 16) == 0);
    mesos__v1__scheduler__event__free_unpacked(ev, NULL);
}
END_TEST

/* Appends raw bytes to a packed message (a newer master's extra fields). */
static uint8_t *append(const uint8_t *b, size_t len, const uint8_t *extra, size_t elen, size_t *out) {
    uint8_t *r = malloc(len + elen);
    memcpy(r, b, len);
    memcpy(r + len, extra, elen);
    *out = len + elen;
    return r;
}

START_TEST(test_mesos_proto_unknown_fields_tolerated) {
    size_t len, xlen;
    uint8_t *b = msg_update(&len);
    /* field 99 varint 1, field 100 length-delimited "abc", field 101 fixed64 */
    static const uint8_t extra[] = {0x98, 0x06, 0x01, 0xa2, 0x06, 0x03, 'a', 'b', 'c',
                                    0xa9, 0x06, 1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t *x = append(b, len, extra, sizeof(extra), &xlen);
    Event *ev = mesos__v1__scheduler__event__unpack(NULL, xlen, x);
    ck_assert_ptr_nonnull(ev);
    ck_assert_int_eq(ev->type, MESOS__V1__SCHEDULER__EVENT__TYPE__UPDATE);
    ck_assert_str_eq(ev->update->status->task_id->value, "mc-1");
    ck_assert_uint_eq(ev->base.n_unknown_fields, 3);
    /* and they survive a re-pack (a relay would not lose them) */
    size_t n = mesos__v1__scheduler__event__get_packed_size(ev);
    ck_assert_uint_eq(n, xlen);
    mesos__v1__scheduler__event__free_unpacked(ev, NULL);
    free(x);
    free(b);

    /* an Event type this build does not know: kept as a number */
    static const uint8_t future[] = {0x08, 42};
    ev = mesos__v1__scheduler__event__unpack(NULL, sizeof(future), future);
    ck_assert_ptr_nonnull(ev);
    ck_assert_int_eq((int)ev->type, 42);
    char buf[32];
    ck_assert_str_eq(mesos_event_type_name(ev->type, buf, sizeof(buf)), "type 42");
    ck_assert_str_eq(mesos_event_type_name(MESOS__V1__SCHEDULER__EVENT__TYPE__OFFERS, buf, sizeof(buf)), "OFFERS");
    ck_assert_str_eq(mesos_call_type_name(MESOS__V1__SCHEDULER__CALL__TYPE__ACCEPT, buf, sizeof(buf)), "ACCEPT");
    mesos__v1__scheduler__event__free_unpacked(ev, NULL);
}
END_TEST

START_TEST(test_mesos_proto_missing_required_rejected) {
    /* UPDATE whose TaskStatus lacks the required task_id: unpack refuses it,
     * and the client reports "undecodable Event". */
    /* Event{type=UPDATE(4), update{status{state=TASK_RUNNING}}}: no task_id */
    static const uint8_t ev[] = {0x08, 0x04, 0x2a, 0x04, 0x0a, 0x02, 0x10, 0x01};
    Event *e = mesos__v1__scheduler__event__unpack(NULL, sizeof(ev), ev);
    ck_assert_ptr_null(e);
    /* control: the same bytes with task_id{value="ab"} decode */
    static const uint8_t ok[] = {0x08, 0x04, 0x2a, 0x0a, 0x0a, 0x08, 0x0a, 0x04, 0x0a, 0x02, 'a', 'b', 0x10, 0x01};
    e = mesos__v1__scheduler__event__unpack(NULL, sizeof(ok), ok);
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(e->update->status->task_id->value, "ab");
    mesos__v1__scheduler__event__free_unpacked(e, NULL);
    /* garbage is rejected, not crashed on */
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    ck_assert_ptr_null(mesos__v1__scheduler__event__unpack(NULL, sizeof(junk), junk));
}
END_TEST

int main(void) {
    Suite *s = suite_create("mesos_proto");
    TCase *tc = tcase_create("proto");
    tcase_add_test(tc, test_mesos_proto_subscribe_round_trip);
    tcase_add_test(tc, test_mesos_proto_launch_round_trip);
    tcase_add_test(tc, test_mesos_proto_small_calls_round_trip);
    tcase_add_test(tc, test_mesos_proto_events_round_trip);
    tcase_add_test(tc, test_mesos_proto_unknown_fields_tolerated);
    tcase_add_test(tc, test_mesos_proto_missing_required_rejected);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
