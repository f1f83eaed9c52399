/* test_state.c -- fenced state in a real ZooKeeper.
 *
 * The test's main thread is the owner of every node (zks + elect + state),
 * and drives elections itself with elect_check, so each step is explicit.
 * Covered: the task record codec (round trip, every truncation, each kind of
 * bad field); a new leader reads what the old one wrote; a deposed leader is
 * fenced whether it still holds its expired handle or opened a new session
 * with its old member path; followers are fenced without a round trip;
 * malformed task znodes are skipped with their path logged, a malformed
 * framework ID fails the load; writes above ZooKeeper's packet limit fail
 * clearly without losing the connection; the server list and its serverset
 * keep shards stable across publications and leaders, unchanged lists write
 * nothing, 10,000 servers fit (sizes printed); ACLs let anyone read and only
 * mcm write; a moved state/version is re-read; ZooKeeper down gives a clear
 * error and the next write after it works. */
#include "elect.h"
#include "harness.h"
#include "log.h"
#include "mcm.h"
#include "srvlist.h"
#include "state.h"
#include "stnode.h"
#include "util.h"
#include "zks.h"
#include "zkt.h"

#include <check.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t version_stat(zhandle_t *zh) {
    struct Stat st;
    ck_assert_int_eq(zoo_exists(zh, "/mcm/state/version", 0, &st), ZOK);
    return st.version;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* host:port -> shard of every serverset member, as "host:port=shard" lines sorted. */
static char *serverset_dump(zhandle_t *zh, int *count) {
    struct String_vector sv = {0};
    ck_assert_int_eq(zoo_get_children(zh, "/mcm/serverset", 0, &sv), ZOK);
    char **lines = calloc((size_t)sv.count + 1, sizeof(char *));
    size_t total = 1;
    for (int i = 0; i < sv.count; i++) {
        char path[256], buf[512], host[64];
        int len = sizeof(buf) - 1, port = 0, shard = -1;
        snprintf(path, sizeof(path), "/mcm/serverset/%s", sv.data[i]);
        ck_assert_int_eq(zoo_get(zh, path, 0, buf, &len, NULL), ZOK);
        buf[len] = '\0';
        ck_assert_msg(sscanf(buf, "{\"serviceEndpoint\":{\"host\":\"%63[^\"]\",\"port\":%d},"
                                  "\"additionalEndpoints\":{},\"status\":\"ALIVE\",\"shard\":%d}",
                             host, &port, &shard) == 3, "member %s: %s", path, buf);
        ck_assert(asprintf(&lines[i], "%s:%d=%d\n", host, port, shard) > 0);
        total += strlen(lines[i]);
    }
    qsort(lines, (size_t)sv.count, sizeof(char *), cmp_str);
    char *out = calloc(1, total);
    for (int i = 0; i < sv.count; i++) {
        strcat(out, lines[i]);
        free(lines[i]);
    }
    free(lines);
    *count = sv.count;
    deallocate_String_vector(&sv);
    return out;
}

/* --- codec ---------------------------------------------------------------------- */

START_TEST(test_state_task_json_roundtrip_and_rejects) {
    state_task t = task("mcm-1", 31001, 1), back;
    char err[256];
    char *json = state_task_to_json(&t);
    ck_assert_ptr_nonnull(json);
    ck_assert_ptr_nonnull(strstr(json, "\"state\":\"TASK_RUNNING\""));
    ck_assert_ptr_nonnull(strstr(json, "\"changed\":\"2026-11-25T05:47:00.123Z\""));
    ck_assert_int_eq(state_task_from_json(json, strlen(json), &back, err, sizeof(err)), MCM_OK);
    ck_assert_str_eq(back.id, t.id);
    ck_assert_str_eq(back.agent_id, t.agent_id);
    ck_assert_str_eq(back.hostname, t.hostname);
    ck_assert_str_eq(back.reason, t.reason);
    ck_assert_int_eq(back.port, t.port);
    ck_assert_int_eq(back.state, t.state);
    ck_assert_int_eq(back.changed_ms, t.changed_ms);
    ck_assert(back.cpus == t.cpus && back.mem_mb == t.mem_mb);
    for (size_t cut = 0; cut < strlen(json); cut++)          /* every truncation fails cleanly */
        ck_assert_msg(state_task_from_json(json, cut, &back, err, sizeof(err)) == MCM_ERR, "cut %zu", cut);
    free(json);
    state_task bad = task("x", 1, 99);
    ck_assert_ptr_null(state_task_to_json(&bad));            /* unknown state number */

    static const char *const rejects[][2] = {
        {"[]", "object"},
        {"{\"task_id\":\"a\"}", "agent_id"},
        {"{\"task_id\":\"a/b\",\"agent_id\":\"\",\"hostname\":\"h\",\"port\":1,\"state\":\"TASK_RUNNING\","
         "\"changed_ms\":1,\"cpus\":1,\"mem_mb\":1,\"reason\":\"\"}", "valid task ID"},
        {"{\"task_id\":\"a\",\"agent_id\":\"\",\"hostname\":\"h\",\"port\":70000,\"state\":\"TASK_RUNNING\","
         "\"changed_ms\":1,\"cpus\":1,\"mem_mb\":1,\"reason\":\"\"}", "port"},
        {"{\"task_id\":\"a\",\"agent_id\":\"\",\"hostname\":\"h\",\"port\":1.5,\"state\":\"TASK_RUNNING\","
         "\"changed_ms\":1,\"cpus\":1,\"mem_mb\":1,\"reason\":\"\"}", "integer"},
        {"{\"task_id\":\"a\",\"agent_id\":\"\",\"hostname\":\"h\",\"port\":1,\"state\":\"TASK_BOGUS\","
         "\"changed_ms\":1,\"cpus\":1,\"mem_mb\":1,\"reason\":\"\"}", "TASK_BOGUS"},
        {"{\"task_id\":\"a\",\"agent_id\":\"\",\"hostname\":\"h\",\"port\":1,\"state\":\"TASK_RUNNING\","
         "\"changed_ms\":-1,\"cpus\":1,\"mem_mb\":1,\"reason\":\"\"}", "changed_ms"},
        {"{\"task_id\":\"a\",\"agent_id\":\"\",\"hostname\":\"h\",\"port\":1,\"state\":\"TASK_RUNNING\","
         "\"changed_ms\":1,\"cpus\":-1,\"mem_mb\":1,\"reason\":\"\"}", "cpus"},
        {"{\"task_id\":\"a\",\"agent_id\":\"\",\"hostname\":\"h\\u0000x\",\"port\":1,\"state\":\"TASK_RUNNING\","
         "\"changed_ms\":1,\"cpus\":1,\"mem_mb\":1,\"reason\":\"\"}", "NUL"},
        {"{\"task_id\":\"a\",\"task_id\":\"b\"}", "duplicate"},
        {"{\"task_id\":\"a\",\"agent_id\":\"\",\"hostname\":\"h\",\"port\":1,\"state\":\"TASK_RUNNING\","
         "\"changed_ms\":1,\"cpus\":1,\"mem_mb\":1,\"reason\":\"" /* 130 chars: */
         "0123456789012345678901234567890123456789012345678901234567890123456789"
         "012345678901234567890123456789012345678901234567890123456789\"}", "too long"},
    };
    for (size_t i = 0; i < MCM_ARRAY_LEN(rejects); i++) {
        err[0] = '\0';
        ck_assert_msg(state_task_from_json(rejects[i][0], strlen(rejects[i][0]), &back, err, sizeof(err)) == MCM_ERR,
                      "accepted %s", rejects[i][0]);
        ck_assert_msg(strstr(err, rejects[i][1]), "reject %zu: error '%s' lacks '%s'", i, err, rejects[i][1]);
    }
}
END_TEST

/* Where a server runs (agent attributes, fault domain) is stored with it so
 * a new leader knows its zones; a record written before has none and loads. */
START_TEST(test_state_task_placement_fields_optional_and_checked) {
#define REC(extra) "{\"task_id\":\"a\",\"agent_id\":\"\",\"hostname\":\"h\",\"port\":1,\"state\":\"TASK_RUNNING\"," \
                   "\"changed_ms\":1,\"cpus\":1,\"mem_mb\":1,\"reason\":\"\"" extra "}"
    state_task t = task("mcm-1", 31001, 1), back;
    char err[256];
    snprintf(t.attrs, sizeof(t.attrs), "rack:r1;tier:cache");
    snprintf(t.region, sizeof(t.region), "us-east");
    snprintf(t.zone, sizeof(t.zone), "us-east-1a");
    char *json = state_task_to_json(&t);
    ck_assert_ptr_nonnull(json);
    ck_assert_ptr_nonnull(strstr(json, "\"attributes\":\"rack:r1;tier:cache\""));
    ck_assert_int_eq(state_task_from_json(json, strlen(json), &back, err, sizeof(err)), MCM_OK);
    ck_assert_str_eq(back.attrs, "rack:r1;tier:cache");
    ck_assert_str_eq(back.region, "us-east");
    ck_assert_str_eq(back.zone, "us-east-1a");
    free(json);
    /* an old record: no keys, loaded with none */
    const char *old = REC("");
    memset(&back, 'x', sizeof(back));
    ck_assert_int_eq(state_task_from_json(old, strlen(old), &back, err, sizeof(err)), MCM_OK);
    ck_assert_str_eq(back.attrs, "");
    ck_assert_str_eq(back.zone, "");
    ck_assert_str_eq(back.region, "");
    /* none written when there are none */
    t.attrs[0] = t.region[0] = t.zone[0] = '\0';
    json = state_task_to_json(&t);
    ck_assert_ptr_null(strstr(json, "attributes"));
    ck_assert_ptr_null(strstr(json, "zone"));
    free(json);
    static const char *const rejects[][2] = {
        {REC(",\"attributes\":7"), "attributes"},
        {REC(",\"attributes\":\"a:\\u0001\""), "attributes"},
        {REC(",\"region\":\"r\""), "region"},                 /* a region without its zone */
        {REC(",\"zone\":\"z\""), "region"},
        {REC(",\"region\":\"\",\"zone\":\"z\""), "region"},  /* present but empty */
        {REC(",\"region\":\"r\",\"zone\":\"z\\u007f\""), "zone"},
    };
    for (size_t i = 0; i < MCM_ARRAY_LEN(rejects); i++) {
        err[0] = '\0';
        ck_assert_msg(state_task_from_json(rejects[i][0], strlen(rejects[i][0]), &back, err, sizeof(err)) == MCM_ERR,
                      "accepted %s", rejects[i][0]);
        ck_assert_msg(strstr(err, rejects[i][1]), "reject %zu: error '%s' lacks '%s'", i, err, rejects[i][1]);
    }
    snprintf(t.region, sizeof(t.region), "r");               /* never written either */
    ck_assert_ptr_null(state_task_to_json(&t));
#undef REC
}
END_TEST

/* --- the leader's writes survive it ----------------------------------------------------- */

START_TEST(test_state_new_leader_reads_what_old_wrote) {
    th_zk *zk = th_zk_start();
    node *a = node_new(zk, "a", NULL), *b = node_new(zk, "b", NULL);
    char err[512];
    ck_assert(elect_is_leader(a->e) && !elect_is_leader(b->e));
    state_snapshot s0 = load(a);
    ck_assert_str_eq(s0.framework_id, "");
    ck_assert_int_eq(s0.desired, -1);
    ck_assert_int_eq(s0.ntasks, 0);
    state_snapshot_clear(&s0);
    state_mark st0, st1, st2, st3;   /* the mark a follower looks at: moved by every write, by nothing else */
    ck_assert_int_eq(state_read_mark(b->s, &st0, err, sizeof(err)), MCM_OK);

    ck_assert_int_eq(state_set_framework_id(a->s, "2c9c0d5c-7f0a-4f6e-a8b1-3c1f1e9d2a10-0001", err, sizeof(err)), MCM_OK);
    ck_assert_int_eq(state_read_mark(b->s, &st1, err, sizeof(err)), MCM_OK);
    state_snapshot s1 = load(b);
    ck_assert(s1.marked && s1.mark.version_mzxid == st1.version_mzxid && s1.mark.tasks_pzxid == st1.tasks_pzxid);
    state_snapshot_clear(&s1);
    ck_assert_int_eq(state_read_mark(b->s, &st2, err, sizeof(err)), MCM_OK);
    ck_assert_int_eq(state_set_desired(a->s, 3, "{\"history\":[1,2,3]}", err, sizeof(err)), MCM_OK);
    ck_assert_int_eq(state_read_mark(b->s, &st3, err, sizeof(err)), MCM_OK);
    ck_assert(st1.version_mzxid != st0.version_mzxid && st2.version_mzxid == st1.version_mzxid &&
              st3.version_mzxid != st2.version_mzxid);
    for (int i = 0; i < 3; i++) {
        char id[32];
        snprintf(id, sizeof(id), "mcm-%d", i);
        state_task t = task(id, 31000 + i, 6);
        put(a, &t);
    }
    state_task t1 = task("mcm-1", 31001, 1);                  /* STAGING -> RUNNING */
    put(a, &t1);
    ck_assert_int_eq(state_delete_task(a->s, "mcm-2", err, sizeof(err)), MCM_OK);
    ck_assert_int_eq(state_delete_task(a->s, "mcm-2", err, sizeof(err)), MCM_OK);   /* idempotent */
    srvlist *l = servers_n(2, 1);
    ck_assert_int_eq(publish(a, l), 1);

    ck_assert_int_eq(elect_resign(a->e, err, sizeof(err)), MCM_OK);
    ck_assert_int_eq(a->deposed, 1);
    check_ok(b);
    ck_assert(elect_is_leader(b->e));
    state_snapshot s = load(b);
    ck_assert_str_eq(s.framework_id, "2c9c0d5c-7f0a-4f6e-a8b1-3c1f1e9d2a10-0001");
    ck_assert_int_eq(s.desired, 3);
    ck_assert_str_eq(s.autoscale_json, "{\"history\":[1,2,3]}");
    ck_assert_int_eq(s.ntasks, 2);
    ck_assert_int_eq(find_task(&s, "mcm-0")->state, 6);
    ck_assert_int_eq(find_task(&s, "mcm-1")->state, 1);
    ck_assert_ptr_null(find_task(&s, "mcm-2"));
    ck_assert_int_eq(s.version, 8);     /* fw, desired, 3 puts, 1 update, 1 delete, 1 publish */
    state_snapshot_clear(&s);
    srvlist *back = state_read_servers(b->s, err, sizeof(err));
    ck_assert_msg(back != NULL, "read servers: %s", err);
    ck_assert(srvlist_same_servers(back, l));
    ck_assert_int_eq(back->version, 1);
    srvlist_free(back);
    /* forgetting the framework: records first, then the ID (as the core does) */
    ck_assert_int_eq(state_delete_task(b->s, "mcm-0", err, sizeof(err)), MCM_OK);
    ck_assert_int_eq(state_delete_task(b->s, "mcm-1", err, sizeof(err)), MCM_OK);
    ck_assert_int_eq(state_clear_framework_id(b->s, err, sizeof(err)), MCM_OK);
    s = load(b);
    ck_assert_str_eq(s.framework_id, "");
    ck_assert_int_eq(s.version, 11);
    state_snapshot_clear(&s);
    srvlist_free(l);
    node_free(a);
    node_free(b);
    th_zk_free(zk);
}
END_TEST

static int is_expired(void *arg) { return atomic_load(&((node *)arg)->expired); }

/* A's session expires while A still holds its handle and state object and
 * believes it leads; then A opens a new session but keeps its old member
 * path. Every write of A's is refused by ZooKeeper; B's go through. */
START_TEST(test_state_deposed_leader_is_fenced) {
    th_zk *zk = th_zk_start();
    node *a = node_new(zk, "a", NULL), *b = node_new(zk, "b", NULL);
    char err[512];
    ck_assert(elect_is_leader(a->e));
    ck_assert_int_eq(state_set_framework_id(a->s, "fw-a", err, sizeof(err)), MCM_OK);
    state_task t = task("mcm-a1", 31000, 1);
    put(a, &t);
    zkt_expire(th_zk_hosts(zk), zks_handle(a->z));
    ck_assert_msg(th_wait(is_expired, a, 10000), "A never heard of its expiry");
    ck_assert(elect_is_leader(a->e));                /* A has not been told (no elect_tick here) */
    state_task t2 = task("mcm-a2", 31001, 1);
    ck_assert_int_eq(state_put_task(a->s, &t2, err, sizeof(err)), STATE_FENCED);
    ck_assert_msg(strstr(err, "fenced") && strstr(err, "expired"), "err: %s", err);

    check_ok(b);                                     /* A's node went with its session */
    ck_assert(elect_is_leader(b->e));
    state_task tb = task("mcm-b1", 31002, 1);
    put(b, &tb);

    ck_assert_int_eq(zks_reopen(a->z, 10000, err, sizeof(err)), MCM_OK);
    ck_assert(elect_is_leader(a->e));                /* still, with its old member path */
    ck_assert_int_eq(state_put_task(a->s, &t2, err, sizeof(err)), STATE_FENCED);
    ck_assert_msg(strstr(err, "member znode") && strstr(err, elect_member_path(a->e)), "err: %s", err);
    ck_assert_int_eq(state_set_framework_id(a->s, "fw-evil", err, sizeof(err)), STATE_FENCED);
    ck_assert_int_eq(state_delete_task(a->s, "mcm-b1", err, sizeof(err)), STATE_FENCED);
    ck_assert_int_eq(state_set_desired(a->s, 0, NULL, err, sizeof(err)), STATE_FENCED);
    srvlist *l = servers_n(3, 0);
    ck_assert_int_eq(state_publish_servers(a->s, l, NULL, err, sizeof(err)), STATE_FENCED);
    elect_session_lost(a->e);
    ck_assert_int_eq(a->deposed, 1);
    ck_assert_int_eq(elect_join(a->e, err, sizeof(err)), MCM_OK);
    check_ok(a);
    ck_assert(!elect_is_leader(a->e));
    ck_assert_int_eq(state_put_task(a->s, &t2, err, sizeof(err)), STATE_FENCED);
    ck_assert_msg(strstr(err, "not the leader"), "err: %s", err);

    state_snapshot s = load(b);
    ck_assert_int_eq(s.ntasks, 2);
    ck_assert_ptr_nonnull(find_task(&s, "mcm-a1"));
    ck_assert_ptr_nonnull(find_task(&s, "mcm-b1"));
    ck_assert_ptr_null(find_task(&s, "mcm-a2"));
    ck_assert_str_eq(s.framework_id, "fw-a");
    state_snapshot_clear(&s);
    ck_assert_ptr_null(state_read_servers(b->s, err, sizeof(err)));   /* A published nothing */
    ck_assert_msg(strstr(err, "no such znode"), "err: %s", err);
    srvlist_free(l);
    node_free(a);
    node_free(b);
    th_zk_free(zk);
}
END_TEST

START_TEST(test_state_follower_write_fenced) {
    th_zk *zk = th_zk_start();
    node *a = node_new(zk, "a", NULL), *b = node_new(zk, "b", NULL);
    zhandle_t *zh = zkt_connect(th_zk_hosts(zk), NULL, 5000);
    char err[512];
    int64_t v0 = version_stat(zh);
    state_task t = task("mcm-1", 31000, 1);
    ck_assert_int_eq(state_put_task(b->s, &t, err, sizeof(err)), STATE_FENCED);
    ck_assert_int_eq(state_set_framework_id(b->s, "fw-1", err, sizeof(err)), STATE_FENCED);
    srvlist *l = servers_n(1, 0);
    ck_assert_int_eq(state_publish_servers(b->s, l, NULL, err, sizeof(err)), STATE_FENCED);
    ck_assert_int_eq(version_stat(zh), v0);
    ck_assert_int_eq(zoo_exists(zh, "/mcm/state/tasks/mcm-1", 0, NULL), ZNONODE);
    put(a, &t);
    ck_assert_int_eq(version_stat(zh), v0 + 1);
    srvlist_free(l);
    zookeeper_close(zh);
    node_free(b);
    node_free(a);
    th_zk_free(zk);
}
END_TEST

/* A follower's copy of the records starts a term only while it is what
 * ZooKeeper holds, or once the task log brought it there: the leader's
 * writes are caught up; a record created or deleted by anyone else sends
 * the new leader back to reading them all (more in test_state_catchup). */
static state_snapshot warm_load(node *n, state_snapshot *warm, int *reused) {
    char err[256];
    state_snapshot out;
    ck_assert_msg(state_load_warm(n->s, &out, warm, reused, err, sizeof(err)) == MCM_OK, "%s", err);
    return out;
}

START_TEST(test_state_follower_copy_reused_only_while_current) {
    th_zk *zk = th_zk_start();
    node *a = node_new(zk, "a", NULL), *b = node_new(zk, "b", NULL);
    zhandle_t *zh = zkt_connect(th_zk_hosts(zk), NULL, 5000);
    char err[256];
    int reused;
    ck_assert_int_eq(state_set_framework_id(a->s, "fw-1", err, sizeof(err)), MCM_OK);
    state_task t1 = task("mcm-1", 31000, 1), t2 = task("mcm-2", 31001, 1);
    put(a, &t1);
    put(a, &t2);

    state_snapshot warm = load(b), s = warm_load(b, &warm, &reused);      /* nothing moved: taken over */
    ck_assert_int_eq(reused, 1);
    ck_assert_int_eq(s.ntasks, 2);
    ck_assert_ptr_nonnull(find_task(&s, "mcm-2"));
    ck_assert_int_eq(warm.ntasks, 0);                                     /* moved out, not copied */
    ck_assert_str_eq(s.framework_id, "fw-1");
    state_snapshot_clear(&s);
    state_snapshot_clear(&warm);

    warm = load(b);                                     /* the leader writes: caught up (task log) */
    state_task t1r = task("mcm-1", 31000, 6);
    put(a, &t1r);
    s = warm_load(b, &warm, &reused);
    ck_assert_int_eq(reused, 1);
    ck_assert_int_eq(find_task(&s, "mcm-1")->state, 6);
    state_snapshot_clear(&s);
    state_snapshot_clear(&warm);

    warm = load(b);                                                       /* a record created by hand */
    state_task t3 = task("mcm-3", 31002, 1);
    char *js = state_task_to_json(&t3);
    ck_assert_int_eq(zoo_create(zh, "/mcm/state/tasks/mcm-3", js, (int)strlen(js), &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0),
                     ZOK);
    free(js);
    s = warm_load(b, &warm, &reused);
    ck_assert_int_eq(reused, 0);
    ck_assert_ptr_nonnull(find_task(&s, "mcm-3"));
    state_snapshot_clear(&s);
    state_snapshot_clear(&warm);

    warm = load(b);                                                       /* and one deleted by hand */
    ck_assert_int_eq(zoo_delete(zh, "/mcm/state/tasks/mcm-3", -1), ZOK);
    s = warm_load(b, &warm, &reused);
    ck_assert_int_eq(reused, 0);
    ck_assert_ptr_null(find_task(&s, "mcm-3"));
    ck_assert_int_eq(s.ntasks, 2);
    state_snapshot_clear(&s);

    s = warm_load(b, NULL, &reused);                                      /* no copy at all */
    ck_assert_int_eq(reused, 0);
    ck_assert_int_eq(s.ntasks, 2);
    state_snapshot_clear(&s);
    state_snapshot_clear(&warm);
    zookeeper_close(zh);
    node_free(a);
    node_free(b);
    th_zk_free(zk);
}
END_TEST

/* --- bad content -------------------------------------------------------------------- */

START_TEST(test_state_malformed_tasks_skipped) {
    th_zk *zk = th_zk_start();
    node *a = node_new(zk, "a", NULL);
    char err[256];
    ck_assert_int_eq(state_set_framework_id(a->s, "fw-1", err, sizeof(err)), MCM_OK);
    state_task t1 = task("mcm-1", 31000, 1), t2 = task("mcm-2", 31001, 1);
    put(a, &t1);
    put(a, &t2);
    zhandle_t *zh = zkt_connect(th_zk_hosts(zk), NULL, 5000);
    char *other = state_task_to_json(&t1);                    /* valid record, wrong znode */
    int huge = 1000 * 1000;
    char *blob = malloc((size_t)huge);
    memset(blob, '{', (size_t)huge);
    struct { const char *name, *data; int len; } bad[] = {
        {"bad-json", "not json", 8},
        {"bad-id", other, (int)strlen(other)},
        {"bad-state", "{\"task_id\":\"bad-state\",\"agent_id\":\"\",\"hostname\":\"h\",\"port\":1,"
                      "\"state\":\"TASK_BOGUS\",\"changed_ms\":1,\"cpus\":1,\"mem_mb\":1,\"reason\":\"\"}", -1},
        {"empty", NULL, -1},
        {"huge", blob, huge},
    };
    for (size_t i = 0; i < MCM_ARRAY_LEN(bad); i++) {
        char path[128];
        snprintf(path, sizeof(path), "/mcm/state/tasks/%s", bad[i].name);
        int len = bad[i].len < 0 && bad[i].data ? (int)strlen(bad[i].data) : bad[i].len;
        ck_assert_int_eq(zoo_create(zh, path, bad[i].data, len, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0), ZOK);
    }
    zkt_capture_begin();
    state_snapshot s = load(a);
    char *logged = zkt_capture_end();
    ck_assert_int_eq(s.ntasks, 2);
    ck_assert_ptr_nonnull(find_task(&s, "mcm-1"));
    ck_assert_ptr_nonnull(find_task(&s, "mcm-2"));
    state_snapshot_clear(&s);
    ck_assert_ptr_nonnull(strstr(logged, "/mcm/state/tasks/bad-json: malformed task record (not JSON"));
    ck_assert_ptr_nonnull(strstr(logged, "/mcm/state/tasks/bad-id: malformed task record (holds task_id \"mcm-1\""));
    ck_assert_ptr_nonnull(strstr(logged, "/mcm/state/tasks/bad-state: malformed task record (\"state\" \"TASK_BOGUS\""));
    ck_assert_ptr_nonnull(strstr(logged, "/mcm/state/tasks/empty: malformed task record"));
    ck_assert_ptr_nonnull(strstr(logged, "/mcm/state/tasks/huge: malformed task record (1000000 bytes, more than a task record can be"));
    /* a malformed desired document is logged and reads as unknown */
    ck_assert_int_eq(zoo_set(zh, "/mcm/state/desired", "{\"instances\":-4}", 16, -1), ZOK);
    zkt_capture_begin();
    s = load(a);
    free(logged);
    logged = zkt_capture_end();
    ck_assert_int_eq(s.desired, -1);
    ck_assert_ptr_nonnull(strstr(logged, "/mcm/state/desired: malformed"));
    state_snapshot_clear(&s);
    free(logged);
    free(other);
    free(blob);
    zookeeper_close(zh);
    node_free(a);
    th_zk_free(zk);
}
END_TEST

START_TEST(test_state_malformed_framework_id) {
    th_zk *zk = th_zk_start();
    node *a = node_new(zk, "a", NULL);
    zhandle_t *zh = zkt_connect(th_zk_hosts(zk), NULL, 5000);
    char err[512];
    state_snapshot s;
    ck_assert_int_eq(zoo_set(zh, "/mcm/state/framework_id", "bad id\x01", 7, -1), ZOK);
    ck_assert_int_eq(state_load(a->s, &s, err, sizeof(err)), STATE_MALFORMED);
    ck_assert_msg(strstr(err, "/mcm/state/framework_id: malformed framework ID \"bad id\\x01\"") &&
                  strstr(err, "refusing to lead"), "err: %s", err);
    ck_assert_int_eq(s.ntasks, 0);
    ck_assert_ptr_null(s.tasks);
    char longid[300];
    memset(longid, 'a', sizeof(longid));
    ck_assert_int_eq(zoo_set(zh, "/mcm/state/framework_id", longid, sizeof(longid), -1), ZOK);
    ck_assert_int_eq(state_load(a->s, &s, err, sizeof(err)), STATE_MALFORMED);
    ck_assert_msg(strstr(err, "300 bytes"), "err: %s", err);
    ck_assert_int_eq(state_set_framework_id(a->s, "bad/id", err, sizeof(err)), MCM_ERR);
    ck_assert_int_eq(state_set_framework_id(a->s, "", err, sizeof(err)), MCM_ERR);
    ck_assert_int_eq(state_set_framework_id(a->s, "fw-0001", err, sizeof(err)), MCM_OK);
    s = load(a);
    ck_assert_str_eq(s.framework_id, "fw-0001");
    state_snapshot_clear(&s);
    /* and the znode deleted altogether: no ID, and a write recreates it */
    ck_assert_int_eq(zoo_delete(zh, "/mcm/state/framework_id", -1), ZOK);
    s = load(a);
    ck_assert_str_eq(s.framework_id, "");
    state_snapshot_clear(&s);
    ck_assert_int_eq(state_set_framework_id(a->s, "fw-0002", err, sizeof(err)), MCM_OK);
    s = load(a);
    ck_assert_str_eq(s.framework_id, "fw-0002");
    state_snapshot_clear(&s);
    zookeeper_close(zh);
    node_free(a);
    th_zk_free(zk);
}
END_TEST

/* A write above ZooKeeper's packet limit is refused before it is sent (the
 * server would drop the connection); just below it works. */
START_TEST(test_state_huge_znodes) {
    th_zk *zk = th_zk_start();
    node *a = node_new(zk, "a", NULL);
    char err[512];
    int64_t sid = zks_session_id(a->z);
    size_t big = 1200 * 1000;
    char *hist = malloc(big + 3);
    hist[0] = '"';
    memset(hist + 1, 'h', big);
    hist[big + 1] = '"';
    hist[big + 2] = '\0';
    ck_assert_int_eq(state_set_desired(a->s, 5, hist, err, sizeof(err)), MCM_ERR);
    ck_assert_msg(strstr(err, "/mcm/state/desired") && strstr(err, "jute.maxbuffer"), "err: %s", err);
    ck_assert(zks_connected(a->z));
    ck_assert_int_eq(zks_session_id(a->z), sid);
    size_t ok = 950 * 1000;
    hist[ok + 1] = '"';
    hist[ok + 2] = '\0';
    ck_assert_msg(state_set_desired(a->s, 5, hist, err, sizeof(err)) == MCM_OK, "err: %s", err);
    state_snapshot s = load(a);
    ck_assert_int_eq(s.desired, 5);
    ck_assert_int_eq(strlen(s.autoscale_json), ok + 2);
    state_snapshot_clear(&s);
    ck_assert_int_eq(state_set_desired(a->s, 5, "{not json", err, sizeof(err)), MCM_ERR);
    ck_assert_msg(strstr(err, "not JSON"), "err: %s", err);
    /* Why the budget: a raw request above jute.maxbuffer is not refused with
     * an error code, the server drops the connection. */
    zhandle_t *zh = zkt_connect(th_zk_hosts(zk), NULL, 5000);
    int rc = zoo_set(zh, "/mcm/state/desired", hist, 1100 * 1000, -1);
    printf("raw 1,100,000-byte set: %s\n", zerror(rc));
    ck_assert_int_ne(rc, ZOK);
    zookeeper_close(zh);
    free(hist);
    node_free(a);
    th_zk_free(zk);
}
END_TEST

/* --- servers and serverset ---------------------------------------------------------- */

START_TEST(test_state_publish_keeps_shards) {
    th_zk *zk = th_zk_start();
    node *a = node_new(zk, "a", NULL), *b = node_new(zk, "b", NULL);
    zhandle_t *zh = zkt_connect(th_zk_hosts(zk), NULL, 5000);
    char err[512];
    srvlist *l = servers_n(5, 1);                             /* 10.0.0.1 .. 10.0.0.5 */
    ck_assert_int_eq(publish(a, l), 1);
    int n;
    char *dump = serverset_dump(zh, &n);
    ck_assert_int_eq(n, 5);
    ck_assert_str_eq(dump, "10.0.0.1:31001=0\n10.0.0.2:31002=1\n10.0.0.3:31003=2\n10.0.0.4:31004=3\n"
                           "10.0.0.5:31005=4\n");
    free(dump);
    int64_t v0 = version_stat(zh);
    ck_assert_int_eq(publish(a, l), 1);                       /* unchanged: nothing written */
    ck_assert_int_eq(version_stat(zh), v0);
    srvlist *copy = srvlist_copy(l);                          /* other version/updated, same servers */
    copy->version = 99;
    ck_assert_int_eq(publish(a, copy), 1);
    ck_assert_int_eq(version_stat(zh), v0);
    srvlist_free(copy);

    /* drop .2 and .4, add .6 .7 .8: the new ones take shards 1, 3, then 5 */
    srvlist *m = srvlist_new();
    const int keep[] = {1, 3, 5, 6, 7, 8};
    for (int i = 0; i < 6; i++) {
        char host[32], id[32];
        snprintf(host, sizeof(host), "10.0.0.%d", keep[i]);
        snprintf(id, sizeof(id), "mcm-new-%d", keep[i]);          /* new task on a kept host:port too */
        ck_assert_int_eq(srvlist_add(m, host, 31000 + keep[i], id), MCM_OK);
    }
    ck_assert_int_eq(publish(a, m), 2);
    ck_assert_int_eq(version_stat(zh), v0 + 1);               /* one multi */
    dump = serverset_dump(zh, &n);
    ck_assert_int_eq(n, 6);
    ck_assert_str_eq(dump, "10.0.0.1:31001=0\n10.0.0.3:31003=2\n10.0.0.5:31005=4\n10.0.0.6:31006=1\n"
                           "10.0.0.7:31007=3\n10.0.0.8:31008=5\n");
    free(dump);

    /* a new leader starts from what is stored */
    ck_assert_int_eq(elect_resign(a->e, err, sizeof(err)), MCM_OK);
    check_ok(b);
    ck_assert(elect_is_leader(b->e));
    ck_assert_int_eq(publish(b, m), 2);                       /* same list: nothing to do */
    srvlist *k = servers_n(2, 5);                             /* 10.0.0.5, 10.0.0.6 only */
    ck_assert_int_eq(publish(b, k), 3);
    dump = serverset_dump(zh, &n);
    ck_assert_str_eq(dump, "10.0.0.5:31005=4\n10.0.0.6:31006=1\n");
    free(dump);
    srvlist *empty = srvlist_new();
    ck_assert_int_eq(publish(b, empty), 4);
    dump = serverset_dump(zh, &n);
    ck_assert_int_eq(n, 0);
    free(dump);
    srvlist *back = state_read_servers(b->s, err, sizeof(err));
    ck_assert_msg(back && back->n == 0 && back->version == 4, "read: %s", err);
    ck_assert(back->updated[0] != '\0');
    srvlist_free(back);
    srvlist_free(empty);
    srvlist_free(k);
    srvlist_free(m);
    srvlist_free(l);
    zookeeper_close(zh);
    node_free(a);
    node_free(b);
    th_zk_free(zk);
}
END_TEST

/* Content written behind the leader's back: a malformed servers document is
 * reported by readers and replaced (with a higher version) by the next
 * publication; a stray serverset member is deleted; a servers document
 * changed by someone else fails the cached write, which is re-read and redone. */
START_TEST(test_state_servers_repaired) {
    th_zk *zk = th_zk_start();
    node *a = node_new(zk, "a", NULL);
    zhandle_t *zh = zkt_connect(th_zk_hosts(zk), NULL, 5000);
    char err[512];
    ck_assert_int_eq(zoo_create(zh, "/mcm/servers", "garbage", 7, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0), ZOK);
    ck_assert_int_eq(zoo_set(zh, "/mcm/servers", "garbage!", 8, -1), ZOK);   /* data version 1 */
    ck_assert_int_eq(zoo_create(zh, "/mcm/serverset/member_9999999999", "{}", 2, &ZOO_OPEN_ACL_UNSAFE, 0,
                                NULL, 0), ZOK);
    ck_assert_ptr_null(state_read_servers(a->s, err, sizeof(err)));
    ck_assert_msg(strstr(err, "/mcm/servers"), "err: %s", err);
    srvlist *l = servers_n(2, 1);
    ck_assert_int_eq(publish(a, l), 3);                       /* above anything the znode has seen */
    int n;
    char *dump = serverset_dump(zh, &n);
    ck_assert_str_eq(dump, "10.0.0.1:31001=0\n10.0.0.2:31002=1\n");
    free(dump);
    /* someone rewrites the document: the cached version no longer matches */
    srvlist *other = servers_n(1, 7);
    other->version = 50;
    char *doc = srvlist_to_json(other);
    ck_assert_int_eq(zoo_set(zh, "/mcm/servers", doc, (int)strlen(doc), -1), ZOK);
    free(doc);
    srvlist *m = servers_n(3, 1);
    ck_assert_int_eq(publish(a, m), 51);
    srvlist *back = state_read_servers(a->s, err, sizeof(err));
    ck_assert(back && srvlist_same_servers(back, m));
    srvlist_free(back);
    srvlist_free(other);
    srvlist_free(m);
    srvlist_free(l);
    zookeeper_close(zh);
    node_free(a);
    th_zk_free(zk);
}
END_TEST

START_TEST(test_state_servers_10000) {
    th_zk *zk = th_zk_start();
    node *a = node_new(zk, "a", NULL);
    zhandle_t *zh = zkt_connect(th_zk_hosts(zk), NULL, 5000);
    char err[512];
    srvlist *l = servers_n(10000, 0);
    srvlist_sort(l);
    l->version = 123456789;
    util_rfc3339(util_wall_ms(), l->updated, sizeof(l->updated));
    char *doc = srvlist_to_json(l);
    size_t docsize = strlen(doc);
    free(doc);
    printf("servers document at 10,000 servers (host 10.x.y.z, port, 40-char task ID as mcm makes them): %zu bytes "
           "(jute.maxbuffer 1,048,575)\n", docsize);
    ck_assert_uint_lt(docsize, 1000000);
    int64_t t0 = util_now_ms(), v0 = version_stat(zh);
    ck_assert_int_eq(publish(a, l), 1);
    int64_t t1 = util_now_ms(), multis = version_stat(zh) - v0;
    int n;
    char *dump = serverset_dump(zh, &n);
    ck_assert_int_eq(n, 10000);
    char *p = dump;                                           /* shards 0..9999, each once */
    char *seen = calloc(10000, 1);
    for (int i = 0; i < n; i++) {
        int shard = atoi(strchr(p, '=') + 1);
        ck_assert(shard >= 0 && shard < 10000 && !seen[shard]);
        seen[shard] = 1;
        p = strchr(p, '\n') + 1;
    }
    free(seen);
    free(dump);
    srvlist *back = state_read_servers(a->s, err, sizeof(err));
    ck_assert_msg(back && back->n == 10000 && srvlist_same_servers(back, l), "read: %s", err);
    srvlist_free(back);
    /* one server replaced: one delete, one create and the document */
    srvlist *m = srvlist_copy(l);
    free(m->servers[42].host);
    m->servers[42].host = strdup("192.168.0.1");
    srvlist_sort(m);
    int64_t t2 = util_now_ms(), v1 = version_stat(zh);
    ck_assert_int_eq(publish(a, m), 2);
    int64_t t3 = util_now_ms();
    ck_assert_int_eq(version_stat(zh), v1 + 1);
    struct Stat st;
    ck_assert_int_eq(zoo_exists(zh, "/mcm/servers", 0, &st), ZOK);
    printf("publish 10,000 new servers: %lld ms in %lld fenced multis; servers znode %d bytes; "
           "then 1 replaced: %lld ms in 1 multi\n", (long long)(t1 - t0), (long long)multis,
           st.dataLength, (long long)(t3 - t2));
    ck_assert_int_gt(multis, 1);                              /* too big for one request: split */
    /* 10,000 servers with EC2-style host names do not fit: refused whole */
    srvlist *big = srvlist_new();
    for (int i = 0; i < 10000; i++) {
        char host[64], id[48];
        snprintf(host, sizeof(host), "ip-10-%d-%d-%d.eu-west-1.compute.internal", i >> 16, (i >> 8) & 255, i & 255);
        snprintf(id, sizeof(id), "mcm-%08d-0000-4000-8000-%012d", i, i);
        ck_assert_int_eq(srvlist_add(big, host, 31000, id), MCM_OK);
    }
    int64_t v2 = version_stat(zh);
    ck_assert_int_eq(state_publish_servers(a->s, big, NULL, err, sizeof(err)), MCM_ERR);
    ck_assert_msg(strstr(err, "10000 servers") && strstr(err, "jute.maxbuffer"), "err: %s", err);
    printf("10,000 servers with EC2-style host names (~40 chars): %s\n", err);
    ck_assert_int_eq(version_stat(zh), v2);                   /* nothing written */
    ck_assert(zks_connected(a->z));
    srvlist_free(big);
    srvlist_free(m);
    srvlist_free(l);
    zookeeper_close(zh);
    node_free(a);
    th_zk_free(zk);
}
END_TEST

/* With an auth file: anyone may read the list, only mcm may write anything. */
START_TEST(test_state_acl_read_only_for_others) {
    th_zk *zk = th_zk_start();
    node *a = node_new(zk, "a", "mcm:secret");
    char err[512];
    srvlist *l = servers_n(3, 1);
    publish(a, l);
    state_task t = task("mcm-1", 31000, 1);
    put(a, &t);
    zhandle_t *zh = zkt_connect(th_zk_hosts(zk), NULL, 5000);
    char buf[4096];
    int len = sizeof(buf);
    ck_assert_int_eq(zoo_get(zh, "/mcm/servers", 0, buf, &len, NULL), ZOK);
    srvlist *read = srvlist_from_json(buf, (size_t)len, err, sizeof(err));
    ck_assert_msg(read && srvlist_same_servers(read, l), "err: %s", err);
    srvlist_free(read);
    ck_assert_int_eq(zoo_set(zh, "/mcm/servers", "[]", 2, -1), ZNOAUTH);
    ck_assert_int_eq(zoo_set(zh, "/mcm/state/tasks/mcm-1", "{}", 2, -1), ZNOAUTH);
    ck_assert_int_eq(zoo_delete(zh, "/mcm/state/tasks/mcm-1", -1), ZNOAUTH);
    ck_assert_int_eq(zoo_create(zh, "/mcm/state/tasks/x", "{}", 2, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0), ZNOAUTH);
    ck_assert_int_eq(zoo_delete(zh, elect_member_path(a->e), -1), ZNOAUTH);
    ck_assert_int_eq(zoo_set(zh, "/mcm/state/version", "0", 1, -1), ZNOAUTH);
    struct String_vector sv = {0};
    ck_assert_int_eq(zoo_get_children(zh, "/mcm/serverset", 0, &sv), ZOK);
    ck_assert_int_eq(sv.count, 3);
    char path[256];
    snprintf(path, sizeof(path), "/mcm/serverset/%s", sv.data[0]);
    ck_assert_int_eq(zoo_delete(zh, path, -1), ZNOAUTH);
    deallocate_String_vector(&sv);
    zookeeper_close(zh);
    /* an mcm replica without the auth file can read the list, but cannot
     * even join the election (creating a member znode needs CREATE) */
    char err2[256] = "";
    zks_config cfg = {.hosts = th_zk_hosts(zk), .root = "/mcm", .session_timeout_ms = 4000};
    zks *z = zks_new(&cfg, 15000, err2, sizeof(err2));
    ck_assert_msg(z != NULL, "zks_new: %s", err2);
    elect *e = elect_new(z, "{}", NULL);
    state *s = state_new(z, e);
    ck_assert_int_eq(state_init(s, err, sizeof(err)), MCM_OK);          /* all there: nothing to create */
    srvlist *rb = state_read_servers(s, err, sizeof(err));
    ck_assert_msg(rb && srvlist_same_servers(rb, l), "err: %s", err);
    srvlist_free(rb);
    ck_assert_int_eq(elect_join(e, err, sizeof(err)), MCM_ERR);
    ck_assert_msg(strstr(err, "not authorized"), "err: %s", err);
    ck_assert_int_eq(state_put_task(s, &t, err, sizeof(err)), STATE_FENCED);
    state_free(s);
    elect_free(e);
    zks_free(z);
    node_free(a);
    srvlist_free(l);
    th_zk_free(zk);
}
END_TEST

/* Someone bumps state/version behind the leader: the fenced write re-reads it
 * and goes through (the version orders writes; the member check fences). */
START_TEST(test_state_version_moved_is_reread) {
    th_zk *zk = th_zk_start();
    node *a = node_new(zk, "a", NULL);
    zhandle_t *zh = zkt_connect(th_zk_hosts(zk), NULL, 5000);
    char err[256];
    ck_assert_int_eq(state_set_framework_id(a->s, "fw-1", err, sizeof(err)), MCM_OK);
    state_task t = task("mcm-1", 31000, 1);
    put(a, &t);
    ck_assert_int_eq(zoo_set(zh, "/mcm/state/version", "500", 3, -1), ZOK);
    t.state = 2;
    put(a, &t);
    char buf[32];
    int len = sizeof(buf) - 1;
    ck_assert_int_eq(zoo_get(zh, "/mcm/state/version", 0, buf, &len, NULL), ZOK);
    buf[len] = '\0';
    ck_assert_str_eq(buf, "501");
    state_snapshot s = load(a);
    ck_assert_int_eq(find_task(&s, "mcm-1")->state, 2);
    ck_assert_int_eq(s.version, 501);
    state_snapshot_clear(&s);
    zookeeper_close(zh);
    node_free(a);
    th_zk_free(zk);
}
END_TEST

/* ZooKeeper down: a write fails with a clear reason (outcome unknown when the
 * connection dropped mid-request); after the server is back, writes work. */
START_TEST(test_state_zk_down_write_fails_clearly) {
    th_zk *zk = th_zk_start();
    node *a = node_new(zk, "a", NULL);
    char err[512];
    ck_assert_int_eq(state_set_framework_id(a->s, "fw-1", err, sizeof(err)), MCM_OK);
    state_task t = task("mcm-1", 31000, 1);
    put(a, &t);
    th_zk_stop(zk, 1);
    util_sleep_ms(200);
    int rc = state_put_task(a->s, &t, err, sizeof(err));
    ck_assert_int_eq(rc, MCM_ERR);
    ck_assert_msg(strstr(err, "not connected to ZooKeeper"), "err: %s", err);
    state_snapshot s;
    ck_assert_int_eq(state_load(a->s, &s, err, sizeof(err)), MCM_ERR);
    ck_assert_msg(strstr(err, "not connected to ZooKeeper"), "err: %s", err);
    ck_assert_ptr_null(state_read_servers(a->s, err, sizeof(err)));
    ck_assert_msg(strstr(err, "not connected to ZooKeeper"), "err: %s", err);
    th_zk_restart(zk);
    int64_t deadline = util_now_ms() + 15000;
    while (!zks_connected(a->z) && util_now_ms() < deadline) util_sleep_ms(20);
    ck_assert(zks_connected(a->z));
    check_ok(a);
    t.state = 2;
    put(a, &t);
    s = load(a);
    ck_assert_int_eq(find_task(&s, "mcm-1")->state, 2);
    state_snapshot_clear(&s);
    node_free(a);
    th_zk_free(zk);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("state");
    TCase *tc = tcase_create("state");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, test_state_task_json_roundtrip_and_rejects);
    tcase_add_test(tc, test_state_task_placement_fields_optional_and_checked);
    tcase_add_test(tc, test_state_new_leader_reads_what_old_wrote);
    tcase_add_test(tc, test_state_follower_copy_reused_only_while_current);
    tcase_add_test(tc, test_state_deposed_leader_is_fenced);
    tcase_add_test(tc, test_state_follower_write_fenced);
    tcase_add_test(tc, test_state_malformed_tasks_skipped);
    tcase_add_test(tc, test_state_malformed_framework_id);
    tcase_add_test(tc, test_state_huge_znodes);
    tcase_add_test(tc, test_state_publish_keeps_shards);
    tcase_add_test(tc, test_state_servers_repaired);
    tcase_add_test(tc, test_state_servers_10000);
    tcase_add_test(tc, test_state_acl_read_only_for_others);
    tcase_add_test(tc, test_state_version_moved_is_reread);
    tcase_add_test(tc, test_state_zk_down_write_fails_clearly);
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
