/* test_state_transition.c -- state/transition, the warm ring transition's
 * record: stored fenced, read back as written, deleted (twice is fine), a
 * deposed leader cannot write it, and a record larger than mcm writes is
 * refused as malformed. Real ZooKeeper. */
#include "harness.h"
#include "mcm.h"
#include "state.h"
#include "stnode.h"
#include "zkt.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_state_transition_record_round_trip_and_fence) {
    th_zk *zk = th_zk_start();
    node *a = node_new(zk, "a", NULL);
    node *b = node_new(zk, "b", NULL);
    check_ok(a);
    check_ok(b);
    char err[512], *rec = NULL;
    size_t len = 0;
    ck_assert_int_eq(state_read_transition(a->s, &rec, &len, err, sizeof(err)), MCM_OK);
    ck_assert_ptr_null(rec);   /* none yet */
    const char *doc = "{\"v\":1,\"id\":7,\"phase\":\"copy\"}";   /* the state module stores it as given */
    ck_assert_msg(state_put_transition(a->s, doc, err, sizeof(err)) == MCM_OK, "%s", err);
    ck_assert_int_eq(state_read_transition(b->s, &rec, &len, err, sizeof(err)), MCM_OK);
    ck_assert_uint_eq(len, strlen(doc));
    ck_assert(memcmp(rec, doc, len) == 0);
    free(rec);
    /* b follows: its write is refused, the record unchanged */
    ck_assert_int_eq(state_put_transition(b->s, "{}", err, sizeof(err)), STATE_FENCED);
    ck_assert_int_eq(state_delete_transition(b->s, err, sizeof(err)), STATE_FENCED);
    ck_assert_int_eq(state_read_transition(a->s, &rec, &len, err, sizeof(err)), MCM_OK);
    ck_assert_uint_eq(len, strlen(doc));
    free(rec);
    ck_assert_int_eq(state_delete_transition(a->s, err, sizeof(err)), MCM_OK);
    ck_assert_int_eq(state_delete_transition(a->s, err, sizeof(err)), MCM_OK);   /* already gone */
    ck_assert_int_eq(state_read_transition(a->s, &rec, &len, err, sizeof(err)), MCM_OK);
    ck_assert_ptr_null(rec);
    /* somebody wrote more than mcm ever does (past what a put accepts) */
    zhandle_t *zh = zkt_connect(th_zk_hosts(zk), NULL, 5000);
    size_t big = 1000001;
    char *junk = malloc(big);
    memset(junk, 'x', big);
    int zrc = zoo_create(zh, "/mcm/state/transition", junk, (int)big, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
    free(junk);
    if (zrc == ZOK) {   /* the server's jute.maxbuffer allowed it */
        ck_assert_int_eq(state_read_transition(a->s, &rec, &len, err, sizeof(err)), STATE_MALFORMED);
        ck_assert(strstr(err, "more than mcm writes"));
        ck_assert_ptr_null(rec);
    }
    zookeeper_close(zh);
    node_free(b);
    node_free(a);
    th_zk_free(zk);
}
END_TEST

int main(void) {
    Suite *s = suite_create("state_transition");
    TCase *tc = tcase_create("record");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_state_transition_record_round_trip_and_fence);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
