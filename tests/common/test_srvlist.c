/* test_srvlist.c -- the server list document: encode, decode, validate. */
#include "srvlist.h"
#include "mcm.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static char err[256];

START_TEST(test_srvlist_round_trip_sorted) {
    srvlist *l = srvlist_new();
    l->version = 3;
    strcpy(l->updated, "2026-11-25T05:47:00.000Z");
    ck_assert_int_eq(srvlist_add(l, "10.0.0.2", 31001, "t2"), MCM_OK);
    ck_assert_int_eq(srvlist_add(l, "10.0.0.1", 31000, "t1"), MCM_OK);
    srvlist_sort(l);
    char *json = srvlist_to_json(l);
    ck_assert_str_eq(json, "{\"version\":3,\"updated\":\"2026-11-25T05:47:00.000Z\","
                           "\"ring\":\"libketama-md5-160\",\"servers\":["
                           "{\"host\":\"10.0.0.1\",\"port\":31000,\"task_id\":\"t1\"},"
                           "{\"host\":\"10.0.0.2\",\"port\":31001,\"task_id\":\"t2\"}]}");
    srvlist *back = srvlist_from_json(json, strlen(json), err, sizeof(err));
    ck_assert_ptr_nonnull(back);
    ck_assert_int_eq(back->version, 3);
    ck_assert_str_eq(back->ring, "libketama-md5-160");
    ck_assert(srvlist_same_servers(l, back));
    srvlist *c = srvlist_copy(back);
    ck_assert(srvlist_same_servers(c, l));
    ck_assert_int_eq(srvlist_add(c, "10.0.0.3", 1, "t3"), MCM_OK);
    ck_assert(!srvlist_same_servers(c, l));
    free(json);
    srvlist_free(l);
    srvlist_free(back);
    srvlist_free(c);
    srvlist_free(NULL);
}
END_TEST

START_TEST(test_srvlist_rejects_malformed) {
    static const char *bad[] = {
        "", "garbage", "[]", "{}", "{\"version\":1}", "{\"version\":\"1\",\"servers\":[]}",
        "{\"version\":-1,\"servers\":[]}", "{\"version\":1,\"servers\":{}}",
        "{\"version\":1,\"servers\":[{\"host\":\"a\",\"port\":0,\"task_id\":\"t\"}]}",
        "{\"version\":1,\"servers\":[{\"host\":\"a\",\"port\":70000,\"task_id\":\"t\"}]}",
        "{\"version\":1,\"servers\":[{\"host\":\"\",\"port\":1,\"task_id\":\"t\"}]}",
        "{\"version\":1,\"servers\":[{\"host\":\"a b\",\"port\":1,\"task_id\":\"t\"}]}",
        "{\"version\":1,\"servers\":[{\"host\":\"a\",\"port\":1}]}",
        "{\"version\":1,\"servers\":[1]}",
        "{\"version\":1,\"version\":2,\"servers\":[]}",
    };
    for (size_t i = 0; i < MCM_ARRAY_LEN(bad); i++) {
        err[0] = 0;
        srvlist *l = srvlist_from_json(bad[i], strlen(bad[i]), err, sizeof(err));
        ck_assert_msg(l == NULL, "accepted %s", bad[i]);
        ck_assert_msg(err[0], "no reason for %s", bad[i]);
    }
    srvlist *l = srvlist_new();
    ck_assert_int_eq(srvlist_add(l, "h", 0, "t"), MCM_ERR);
    ck_assert_int_eq(srvlist_add(l, "bad host", 1, "t"), MCM_ERR);
    ck_assert_int_eq(l->n, 0);
    srvlist_free(l);
}
END_TEST

START_TEST(test_srvlist_tolerates_extra_fields) {
    const char *doc = "{\"version\":9,\"servers\":[{\"host\":\"h\",\"port\":2,\"task_id\":\"t\",\"zone\":\"a\"}],\"x\":1}";
    srvlist *l = srvlist_from_json(doc, strlen(doc), err, sizeof(err));
    ck_assert_ptr_nonnull(l);
    ck_assert_int_eq(l->n, 1);
    ck_assert_str_eq(l->updated, "");
    ck_assert_str_eq(l->ring, "");      /* a document from before the "ring" field */
    srvlist_free(l);
}
END_TEST

int main(void) {
    Suite *s = suite_create("srvlist");
    TCase *tc = tcase_create("srvlist");
    tcase_add_test(tc, test_srvlist_round_trip_sorted);
    tcase_add_test(tc, test_srvlist_rejects_malformed);
    tcase_add_test(tc, test_srvlist_tolerates_extra_fields);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
