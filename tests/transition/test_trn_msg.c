/* test_trn_msg.c -- the transition's framework messages: round trips, and
 * every hostile form refused with a reason. */
#include "trn_msg.h"
#include "mcm.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_trn_msg_command_round_trips) {
    const char *ring[] = {"10.0.0.1:31000", "[::1]:31001", "host-b.example:31002"};
    trn_cmd c;
    memset(&c, 0, sizeof(c));
    c.kind = TRN_CMD_COPY;
    c.id = 42;
    snprintf(c.self, sizeof(c.self), "10.0.0.1:31000");
    c.ring = ring;
    c.nring = 3;
    c.rate_bytes = 1000000;
    c.budget_ms = 90000;
    char *s = trn_msg_encode_cmd(&c), err[256];
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(trn_msg_kind_of(s, strlen(s)), TRN_MSG_CMD);
    trn_msg_cmd m;
    ck_assert_msg(trn_msg_decode_cmd(s, strlen(s), &m, err, sizeof(err)) == MCM_OK, "%s", err);
    ck_assert_int_eq(m.cmd.kind, TRN_CMD_COPY);
    ck_assert_int_eq(m.cmd.id, 42);
    ck_assert_str_eq(m.cmd.self, "10.0.0.1:31000");
    ck_assert_int_eq(m.cmd.nring, 3);
    ck_assert_str_eq(m.cmd.ring[1], "[::1]:31001");
    ck_assert_int_eq(m.cmd.rate_bytes, 1000000);
    ck_assert_int_eq(m.cmd.budget_ms, 90000);
    trn_msg_cmd_free(&m);
    free(s);

    c.kind = TRN_CMD_DROP;
    snprintf(c.owner, sizeof(c.owner), "host-b.example:31002");
    s = trn_msg_encode_cmd(&c);
    ck_assert_int_eq(trn_msg_decode_cmd(s, strlen(s), &m, err, sizeof(err)), MCM_OK);
    ck_assert_int_eq(m.cmd.kind, TRN_CMD_DROP);
    ck_assert_str_eq(m.cmd.owner, "host-b.example:31002");
    ck_assert_int_eq(m.cmd.budget_ms, 0);   /* copy only */
    trn_msg_cmd_free(&m);
    free(s);
}
END_TEST

START_TEST(test_trn_msg_progress_round_trips_and_cleans_its_error) {
    trn_progress p, q;
    memset(&p, 0, sizeof(p));
    snprintf(p.task_id, sizeof(p.task_id), "mcm-1234");
    p.id = 9;
    p.cmd = TRN_CMD_CATCHUP;
    p.done = 1;
    p.keys_copied = 5;
    p.bytes_copied = 1ull << 40;
    p.keys_left = 3;
    snprintf(p.error, sizeof(p.error), "line one\nFORGED line");
    char *s = trn_msg_encode_progress(&p), err[256];
    ck_assert_int_eq(trn_msg_kind_of(s, strlen(s)), TRN_MSG_PROGRESS);
    ck_assert_msg(trn_msg_decode_progress(s, strlen(s), &q, err, sizeof(err)) == MCM_OK, "%s", err);
    ck_assert_str_eq(q.task_id, "mcm-1234");
    ck_assert_int_eq(q.id, 9);
    ck_assert_int_eq(q.cmd, TRN_CMD_CATCHUP);
    ck_assert_int_eq(q.done, 1);
    ck_assert_int_eq(q.unsupported, 0);
    ck_assert(q.bytes_copied == 1ull << 40);
    ck_assert_int_eq(q.keys_left, 3);
    ck_assert_str_eq(q.error, "line one FORGED line");
    free(s);
}
END_TEST

START_TEST(test_trn_msg_reports_and_junk_are_other) {
    const char *report = "{\"v\":1,\"task_id\":\"t\",\"time_ms\":1,\"bytes\":0}";
    ck_assert_int_eq(trn_msg_kind_of(report, strlen(report)), TRN_MSG_OTHER);
    ck_assert_int_eq(trn_msg_kind_of("", 0), TRN_MSG_OTHER);
    ck_assert_int_eq(trn_msg_kind_of("\xff\xfe", 2), TRN_MSG_OTHER);
    ck_assert_int_eq(trn_msg_kind_of("{\"type\":7}", 10), TRN_MSG_OTHER);
}
END_TEST

START_TEST(test_trn_msg_hostile_commands_are_refused) {
    static const char *const bad[] = {
        "{}",
        "[]",
        "{\"v\":0,\"type\":\"ring.cmd\",\"id\":1,\"cmd\":\"copy\",\"self\":\"h:1\",\"ring\":[\"h:1\"]}",
        "{\"v\":1,\"type\":\"ring.progress\",\"id\":1,\"cmd\":\"copy\",\"self\":\"h:1\",\"ring\":[\"h:1\"]}",
        "{\"v\":1,\"type\":\"ring.cmd\",\"id\":0,\"cmd\":\"copy\",\"self\":\"h:1\",\"ring\":[\"h:1\"]}",
        "{\"v\":1,\"type\":\"ring.cmd\",\"id\":1,\"cmd\":\"rm\",\"self\":\"h:1\",\"ring\":[\"h:1\"]}",
        "{\"v\":1,\"type\":\"ring.cmd\",\"id\":1,\"cmd\":\"copy\",\"self\":\"h\",\"ring\":[\"h:1\"]}",
        "{\"v\":1,\"type\":\"ring.cmd\",\"id\":1,\"cmd\":\"copy\",\"self\":\"h:1\",\"ring\":[\"h\\n:1\"]}",
        "{\"v\":1,\"type\":\"ring.cmd\",\"id\":1,\"cmd\":\"copy\",\"self\":\"h:1\",\"ring\":[1]}",
        "{\"v\":1,\"type\":\"ring.cmd\",\"id\":1,\"cmd\":\"copy\",\"self\":\"h:1\",\"ring\":[]}",
        "{\"v\":1,\"type\":\"ring.cmd\",\"id\":1,\"cmd\":\"copy\",\"self\":\"h:1\",\"ring\":\"h:1\"}",
        "{\"v\":1,\"type\":\"ring.cmd\",\"id\":1,\"cmd\":\"drop\",\"self\":\"h:1\",\"ring\":[\"h:1\"]}",
        "{\"v\":1,\"type\":\"ring.cmd\",\"id\":1,\"cmd\":\"copy\",\"self\":\"h:1\",\"ring\":[\"h:1\"],\"rate\":-1}",
        "{\"v\":1,\"type\":\"ring.cmd\",\"id\":1,\"cmd\":\"copy\",\"self\":\"h:1\",\"ring\":[\"h:1\"],\"budget_ms\":\"x\"}",
        "{\"v\":1,\"type\":\"ring.cmd\",\"id\":1,\"id\":2,\"cmd\":\"copy\",\"self\":\"h:1\",\"ring\":[\"h:1\"]}",
        NULL,
    };
    char err[256];
    trn_msg_cmd m;
    for (int i = 0; bad[i]; i++) {
        ck_assert_msg(trn_msg_decode_cmd(bad[i], strlen(bad[i]), &m, err, sizeof(err)) == MCM_ERR,
                      "accepted: %s", bad[i]);
        ck_assert_int_eq(m.nnames, 0);
        ck_assert(err[0]);
    }
    /* Over the size limit, and a ring one longer than allowed. */
    size_t big = TRN_MSG_MAX + 16;
    char *huge = malloc(big);
    memset(huge, ' ', big);
    ck_assert_int_eq(trn_msg_decode_cmd(huge, big, &m, err, sizeof(err)), MCM_ERR);
    ck_assert(strstr(err, "over"));
    free(huge);
    size_t cap = 64 + (TRN_SERVERS_MAX + 1) * 12;
    char *doc = malloc(cap);
    size_t n = (size_t)snprintf(doc, cap, "{\"v\":1,\"type\":\"ring.cmd\",\"id\":1,\"cmd\":\"purge\",\"self\":\"h:1\",\"ring\":[");
    for (int i = 0; i <= TRN_SERVERS_MAX; i++) n += (size_t)snprintf(doc + n, cap - n, "%s\"h:%d\"", i ? "," : "", i + 1);
    n += (size_t)snprintf(doc + n, cap - n, "]}");
    ck_assert_int_eq(trn_msg_decode_cmd(doc, n, &m, err, sizeof(err)), MCM_ERR);
    ck_assert(strstr(err, "at most"));
    free(doc);
}
END_TEST

START_TEST(test_trn_msg_hostile_progress_is_refused) {
    static const char *const bad[] = {
        "{\"v\":1,\"type\":\"ring.progress\",\"id\":1,\"cmd\":\"copy\"}",
        "{\"v\":1,\"type\":\"ring.progress\",\"task_id\":\"a b\",\"id\":1,\"cmd\":\"copy\"}",
        "{\"v\":1,\"type\":\"ring.progress\",\"task_id\":\"t\",\"id\":-5,\"cmd\":\"copy\"}",
        "{\"v\":1,\"type\":\"ring.progress\",\"task_id\":\"t\",\"id\":1,\"cmd\":\"copy\",\"keys_left\":-1}",
        "{\"v\":1,\"type\":\"ring.progress\",\"task_id\":\"t\",\"id\":1,\"cmd\":\"copy\",\"errors\":1e30}",
        "{\"v\":1,\"type\":\"ring.cmd\",\"task_id\":\"t\",\"id\":1,\"cmd\":\"copy\"}",
        NULL,
    };
    char err[256];
    trn_progress p;
    for (int i = 0; bad[i]; i++) {
        ck_assert_msg(trn_msg_decode_progress(bad[i], strlen(bad[i]), &p, err, sizeof(err)) == MCM_ERR,
                      "accepted: %s", bad[i]);
        ck_assert_int_eq(p.id, 0);
    }
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("transition_msg");
    TCase *tc = tcase_create("msg");
    tcase_add_test(tc, test_trn_msg_command_round_trips);
    tcase_add_test(tc, test_trn_msg_progress_round_trips_and_cleans_its_error);
    tcase_add_test(tc, test_trn_msg_reports_and_junk_are_other);
    tcase_add_test(tc, test_trn_msg_hostile_commands_are_refused);
    tcase_add_test(tc, test_trn_msg_hostile_progress_is_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
