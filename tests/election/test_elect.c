/* test_elect.c -- leader election among three replicas against a real ZooKeeper.
 *
 * Each replica (replica.h) has its own session, elect object and owner
 * thread, as three mcm-scheduler processes would. Numbered failover
 * scenarios:
 *   1 exactly one leader of three; every follower knows who leads
 *   2 the leader's session closes (process killed): the next leads at once
 *   3 the leader's session is ended by force: the next leads, the old one
 *     hears of it on reconnecting, steps down and rejoins
 *   4 graceful resignation: the next leads at once
 *   5 the leader is partitioned from ZooKeeper: it stops leading before the
 *     server expires its session and another is elected (no overlap)
 *   6 the ZooKeeper server is down longer than the session timeout, then
 *     back: leadership intervals never overlap, state is intact
 *   7 member znodes deleted by hand: followers rejoin, a leader is deposed
 *   8 errors: a check while disconnected fails with a reason and keeps the
 *     role until the disconnect limit; elect_join is idempotent */
#include "elect.h"
#include "harness.h"
#include "log.h"
#include "mcm.h"
#include "replica.h"
#include "util.h"
#include "zkt.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T_MS 4000                     /* session timeout in these tests */

static th_zk *ZK;
static replica *R[3];

static void start3(int64_t timeout_ms) {
    ZK = th_zk_start();
    const char *names[] = {"r0", "r1", "r2"};
    for (int i = 0; i < 3; i++) R[i] = replica_start(names[i], th_zk_hosts(ZK), "/mcm", timeout_ms, NULL);
}

static void stop_all(void) {
    for (int i = 0; i < 3; i++) replica_stop(R[i], 1);
    th_zk_free(ZK);
}

static int n_leaders(void) {
    int n = 0;
    for (int i = 0; i < 3; i++) n += R[i] && replica_is_leader(R[i]);
    return n;
}

static int get_identity(replica *r, void *arg) {
    char **out = arg;
    *out = elect_leader_identity(replica_elect(r));
    return 0;
}

static char *identity_of(replica *r) {
    char *id = NULL;
    replica_call(r, get_identity, &id);
    return id;
}

typedef struct leader_is { int idx; } leader_is;

static int only_leader(void *arg) {
    int idx = ((leader_is *)arg)->idx;
    for (int i = 0; i < 3; i++)
        if (R[i] && replica_is_leader(R[i]) != (i == idx)) return 0;
    return 1;
}

/* Waits until R[idx] is the one and only leader. */
static int wait_leader_is(int idx, int timeout_ms) {
    leader_is w = {idx};
    return th_wait(only_leader, &w, timeout_ms);
}

static int get_member(replica *r, void *arg) {
    snprintf(arg, 256, "%s", elect_member_path(replica_elect(r)));
    return 0;
}

static void member_of(replica *r, char out[256]) { replica_call(r, get_member, out); }

typedef struct rejoined { replica *r; const char *old; } rejoined;

static int has_rejoined(void *arg) {
    rejoined *w = arg;
    char now[256];
    member_of(w->r, now);
    return now[0] && strcmp(now, w->old);
}

static void assert_followers_know(int leader) {
    char want[64];
    snprintf(want, sizeof(want), "{\"id\":\"%s\"}", replica_name(R[leader]));
    for (int i = 0; i < 3; i++) {
        if (!R[i]) continue;
        int64_t deadline = util_now_ms() + 5000;
        char *id = identity_of(R[i]);
        while ((!id || strcmp(id, want)) && util_now_ms() < deadline) {
            free(id);
            util_sleep_ms(20);
            id = identity_of(R[i]);
        }
        ck_assert_msg(id && !strcmp(id, want), "%s thinks the leader is %s, not %s", replica_name(R[i]),
                      id ? id : "(unknown)", want);
        free(id);
    }
}

/* 1 */
START_TEST(test_election_one_leader_of_three) {
    start3(T_MS);
    int l = replicas_wait_one_leader(R, 3, 10000);
    ck_assert_int_eq(l, 0);                          /* joined first: lowest sequence */
    for (int i = 0; i < 50; i++) {
        ck_assert_int_eq(n_leaders(), 1);
        util_sleep_ms(20);
    }
    assert_followers_know(0);
    ck_assert(!replica_is_leader(R[1]) && !replica_is_leader(R[2]));
    stop_all();
}
END_TEST

/* 2 */
START_TEST(test_election_leader_closed_next_leads) {
    start3(T_MS);
    ck_assert_int_eq(replicas_wait_one_leader(R, 3, 10000), 0);
    int64_t t0 = util_now_ms();
    replica_stop(R[0], 0);                           /* zookeeper_close, no resign */
    R[0] = NULL;
    int l = replicas_wait_one_leader(R, 3, T_MS);
    ck_assert_int_eq(l, 1);
    int64_t took = replica_elected_after(R[1], t0) - t0;
    printf("session closed -> next elected: %lld ms\n", (long long)took);
    ck_assert_msg(took >= 0 && took < 1000, "took %lld ms (session timeout %d)", (long long)took, T_MS);
    assert_followers_know(1);                        /* r2 too, though r0 was not its predecessor */
    replicas_assert_no_overlap(R, 3);
    stop_all();
}
END_TEST

/* 3 */
START_TEST(test_election_leader_expired_next_leads) {
    start3(T_MS);
    ck_assert_int_eq(replicas_wait_one_leader(R, 3, 10000), 0);
    zkt_expire(th_zk_hosts(ZK), zks_handle(replica_zks(R[0])));
    ck_assert_msg(wait_leader_is(1, T_MS), "r1 does not lead alone after r0's session expired");
    /* r0 was told, rejoined at the back of the line and follows */
    rep_event ev[8];
    int64_t deadline = util_now_ms() + 5000;
    int n;
    while ((n = replica_events(R[0], ev, 8)) < 2 && util_now_ms() < deadline) util_sleep_ms(10);
    ck_assert_int_eq(n, 2);
    ck_assert(ev[0].elected && !ev[1].elected);
    ck_assert_msg(strstr(ev[1].why, "expired"), "deposed because: %s", ev[1].why);
    /* The trick ends the session at once, not by timeout, so r0 can only
     * learn of it when its client reconnects: a short overlap is possible
     * here (the fence refuses r0's writes meanwhile: test_state_*), unlike a
     * natural expiry (scenario 5). It must be short. */
    int64_t t1 = replica_elected_after(R[1], 0);
    printf("expired by force: r1 elected %lld ms before r0 heard (deposed: %s)\n",
           (long long)(ev[1].t_ms - t1), ev[1].why);
    ck_assert_msg(ev[1].t_ms - t1 < 1000, "r0 learned of its expiry %lld ms late", (long long)(ev[1].t_ms - t1));
    assert_followers_know(1);
    ck_assert_int_eq(n_leaders(), 1);
    stop_all();
}
END_TEST

/* 4 */
START_TEST(test_election_resign_next_leads_at_once) {
    start3(T_MS);
    ck_assert_int_eq(replicas_wait_one_leader(R, 3, 10000), 0);
    int64_t t0 = util_now_ms();
    replica_stop(R[0], 1);
    R[0] = NULL;
    ck_assert_int_eq(replicas_wait_one_leader(R, 3, 2000), 1);
    int64_t took = replica_elected_after(R[1], t0) - t0;
    printf("resign -> next elected: %lld ms\n", (long long)took);
    ck_assert_msg(took < 1000, "took %lld ms", (long long)took);
    replica_stop(R[1], 1);
    R[1] = NULL;
    ck_assert_int_eq(replicas_wait_one_leader(R, 3, 2000), 2);
    assert_followers_know(2);
    stop_all();
}
END_TEST

/* 5: r0 reaches ZooKeeper through a proxy that goes silent (no RST, no FIN):
 * its client notices only by its ping deadline, the server expires the session
 * by its timeout, and r0 must have stopped leading before r1 starts. */
START_TEST(test_election_partitioned_leader_steps_down_first) {
    ZK = th_zk_start();
    zkt_proxy *px = zkt_proxy_start(th_zk_port(ZK));
    char via[64];
    snprintf(via, sizeof(via), "127.0.0.1:%d", zkt_proxy_port(px));
    R[0] = replica_start("r0", via, "/mcm", T_MS, NULL);
    ck_assert_int_eq(replicas_wait_one_leader(R, 1, 10000), 0);
    R[1] = replica_start("r1", th_zk_hosts(ZK), "/mcm", T_MS, NULL);
    R[2] = replica_start("r2", th_zk_hosts(ZK), "/mcm", T_MS, NULL);
    assert_followers_know(0);
    int64_t t0 = util_now_ms();
    zkt_proxy_blackhole(px, 1);
    int64_t deadline = t0 + 3 * T_MS;
    while (replica_elected_after(R[1], t0) < 0 && util_now_ms() < deadline) util_sleep_ms(10);
    int64_t t_r1 = replica_elected_after(R[1], t0);
    ck_assert_msg(t_r1 > 0, "r1 never elected after the partition");
    rep_event ev[8];
    int n = replica_events(R[0], ev, 8);
    ck_assert_int_ge(n, 2);
    printf("partition: r0 deposed after %lld ms (%s), r1 elected after %lld ms, margin %lld ms\n",
           (long long)(ev[1].t_ms - t0), ev[1].why, (long long)(t_r1 - t0), (long long)(t_r1 - ev[1].t_ms));
    ck_assert_msg(strstr(ev[1].why, "unreachable"), "deposed because: %s", ev[1].why);
    replicas_assert_no_overlap(R, 3);
    zkt_proxy_blackhole(px, 0);                      /* heal: r0 learns of the expiry and rejoins */
    deadline = util_now_ms() + 15000;
    char m0[256] = "";
    while (!m0[0] && util_now_ms() < deadline) {
        util_sleep_ms(20);
        member_of(R[0], m0);
    }
    ck_assert_msg(m0[0], "r0 did not rejoin after the partition healed");
    assert_followers_know(1);
    ck_assert_int_eq(n_leaders(), 1);
    replicas_assert_no_overlap(R, 3);
    stop_all();
    zkt_proxy_free(px);
}
END_TEST

typedef struct task_io { state_snapshot snap; int n; char err[256]; } task_io;

static int write_state(replica *r, void *arg) {
    task_io *io = arg;
    state *s = replica_state(r);
    if (state_set_framework_id(s, "fw-0001", io->err, sizeof(io->err)) != MCM_OK) return -1;
    for (int i = 0; i < io->n; i++) {
        state_task t = {.port = 31000 + i, .state = 1, .changed_ms = 1000 + i, .cpus = 0.5, .mem_mb = 64};
        snprintf(t.id, sizeof(t.id), "mcm-%d", i);
        snprintf(t.hostname, sizeof(t.hostname), "10.0.0.%d", i + 1);
        if (state_put_task(s, &t, io->err, sizeof(io->err)) != MCM_OK) return -1;
    }
    return 0;
}

static int load_state(replica *r, void *arg) {
    task_io *io = arg;
    return state_load(replica_state(r), &io->snap, io->err, sizeof(io->err));
}

/* 6 */
START_TEST(test_election_zk_down_longer_than_session) {
    start3(3000);
    int l = replicas_wait_one_leader(R, 3, 10000);
    ck_assert_int_eq(l, 0);
    task_io io = {.n = 5};
    ck_assert_msg(replica_call(R[0], write_state, &io) == 0, "write: %s", io.err);
    th_zk_stop(ZK, 1);
    int64_t t0 = util_now_ms();
    util_sleep_ms(5000);                             /* > session timeout */
    ck_assert_int_eq(n_leaders(), 0);                /* the leader stepped down */
    rep_event ev[8];
    int n = replica_events(R[0], ev, 8);
    ck_assert_int_eq(n, 2);
    printf("server down: leader deposed after %lld ms: %s\n", (long long)(ev[1].t_ms - t0), ev[1].why);
    ck_assert_msg(ev[1].t_ms - t0 < 3000 * 2 / 3, "deposed too late: %lld ms", (long long)(ev[1].t_ms - t0));
    th_zk_restart(ZK);
    l = replicas_wait_one_leader(R, 3, 20000);
    ck_assert_int_ge(l, 0);
    for (int i = 0; i < 50; i++) {                   /* and it stays one */
        ck_assert_int_le(n_leaders(), 1);
        util_sleep_ms(20);
    }
    l = replicas_wait_one_leader(R, 3, 10000);
    ck_assert_int_ge(l, 0);
    replicas_assert_no_overlap(R, 3);
    task_io rd = {0};
    ck_assert_msg(replica_call(R[l], load_state, &rd) == MCM_OK, "load: %s", rd.err);
    ck_assert_str_eq(rd.snap.framework_id, "fw-0001");
    ck_assert_int_eq(rd.snap.ntasks, 5);
    state_snapshot_clear(&rd.snap);
    stop_all();
}
END_TEST

/* 7 */
START_TEST(test_election_member_deleted_by_hand) {
    start3(T_MS);
    ck_assert_int_eq(replicas_wait_one_leader(R, 3, 10000), 0);
    zhandle_t *zh = zkt_connect(th_zk_hosts(ZK), NULL, 5000);
    char old1[256], old0[256];
    member_of(R[1], old1);
    ck_assert_int_eq(zoo_delete(zh, old1, -1), ZOK);        /* a follower's node */
    rejoined w1 = {R[1], old1};
    ck_assert_msg(th_wait(has_rejoined, &w1, 5000), "r1 did not rejoin");
    ck_assert(replica_is_leader(R[0]));
    ck_assert_int_eq(n_leaders(), 1);
    member_of(R[0], old0);
    ck_assert_int_eq(zoo_delete(zh, old0, -1), ZOK);        /* the leader's node */
    ck_assert_msg(wait_leader_is(2, 5000), "r2 (next in line after r1 rejoined) does not lead alone");
    rejoined w0 = {R[0], old0};
    ck_assert_msg(th_wait(has_rejoined, &w0, 5000), "r0 did not rejoin");
    struct String_vector sv = {0};
    ck_assert_int_eq(zoo_get_children(zh, "/mcm/leader", 0, &sv), ZOK);
    ck_assert_int_eq(sv.count, 3);
    deallocate_String_vector(&sv);
    rep_event ev[8];
    ck_assert_int_eq(replica_events(R[0], ev, 8), 2);
    ck_assert_msg(strstr(ev[1].why, "gone"), "why: %s", ev[1].why);
    /* r0 and r2 hear of the deletion from the same event: r0 steps down at
     * about the moment r2 starts (as with a forced expiry, the fence covers
     * the writes of that instant). */
    int64_t t2 = replica_elected_after(R[2], 0);
    ck_assert_msg(ev[1].t_ms - t2 < 500, "r0 stepped down %lld ms after r2 was elected",
                  (long long)(ev[1].t_ms - t2));
    assert_followers_know(2);
    zookeeper_close(zh);
    stop_all();
}
END_TEST

typedef struct check_io { int rc; char err[256]; char member[256]; } check_io;

static int do_check(replica *r, void *arg) {
    check_io *io = arg;
    io->rc = elect_check(replica_elect(r), io->err, sizeof(io->err));
    return 0;
}

static int do_join_twice(replica *r, void *arg) {
    check_io *io = arg;
    snprintf(io->member, sizeof(io->member), "%s", elect_member_path(replica_elect(r)));
    io->rc = elect_join(replica_elect(r), io->err, sizeof(io->err));
    return strcmp(io->member, elect_member_path(replica_elect(r)));
}

/* 8 */
START_TEST(test_election_check_while_disconnected) {
    ZK = th_zk_start();
    R[0] = replica_start("r0", th_zk_hosts(ZK), "/mcm", T_MS, NULL);
    ck_assert_int_eq(replicas_wait_one_leader(R, 1, 10000), 0);
    check_io io = {0};
    ck_assert_int_eq(replica_call(R[0], do_join_twice, &io), 0);   /* same node kept */
    ck_assert_int_eq(io.rc, MCM_OK);
    replica_pause(R[0], 1);
    th_zk_stop(ZK, 1);
    util_sleep_ms(200);
    replica_call(R[0], do_check, &io);
    ck_assert_int_eq(io.rc, MCM_ERR);
    ck_assert_msg(strstr(io.err, "not connected to ZooKeeper"), "err: %s", io.err);
    ck_assert(elect_is_leader(replica_elect(R[0])));          /* within the limit: still leads */
    ck_assert_int_eq(elect_disconnect_limit_ms(replica_elect(R[0])), T_MS / 4);
    replica_pause(R[0], 0);
    int64_t deadline = util_now_ms() + T_MS;
    while (replica_is_leader(R[0]) && util_now_ms() < deadline) util_sleep_ms(10);
    ck_assert(!replica_is_leader(R[0]));
    th_zk_restart(ZK);                                          /* same session: leads again */
    ck_assert_int_eq(replicas_wait_one_leader(R, 1, 15000), 0);
    rep_event ev[8];
    ck_assert_int_eq(replica_events(R[0], ev, 8), 3);
    ck_assert_msg(strstr(ev[1].why, "unreachable"), "why: %s", ev[1].why);
    stop_all();
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("election");
    TCase *tc = tcase_create("election");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_election_one_leader_of_three);
    tcase_add_test(tc, test_election_leader_closed_next_leads);
    tcase_add_test(tc, test_election_leader_expired_next_leads);
    tcase_add_test(tc, test_election_resign_next_leads_at_once);
    tcase_add_test(tc, test_election_partitioned_leader_steps_down_first);
    tcase_add_test(tc, test_election_zk_down_longer_than_session);
    tcase_add_test(tc, test_election_member_deleted_by_hand);
    tcase_add_test(tc, test_election_check_while_disconnected);
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
