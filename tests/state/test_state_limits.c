/* test_state_limits.c -- well-formed but extreme values in every znode mcm reads.
 *
 * By class, as docs/architecture.md ("What a replica does with each znode")
 * lists them: every number at 0, -1, the largest its type holds and one past
 * what mcm itself writes; every string with control characters and
 * separators. Each case is used, repaired or refused, never trusted:
 *   - servers: a version at or above STATE_VERSION_MAX is replaced by a new
 *     znode (new czxid) with a small version; never an overflow or a
 *     negative version;
 *   - state/version: any value out of range continues from the znode's data
 *     version; the next write stores a value in range;
 *   - state/desired: above --instances-max read as --instances-max, beyond
 *     any count a list can hold read as unknown;
 *   - state/framework_id empty or deleted while task records exist: the load
 *     reports STATE_CONTRADICTION (the leader must refuse to lead);
 *   - state/tasks/<id>: numbers out of range and hostnames or agent IDs with
 *     control characters or separators refused; a reason with control
 *     characters repaired; junk children logged once per distinct set and
 *     named in the snapshot (so the leader leaves their servers alone).
 * Real ZooKeeper (tests/harness). Threads: the test's main thread. */
#include "harness.h"
#include "log.h"
#include "mcm.h"
#include "srvlist.h"
#include "state.h"
#include "stnode.h"
#include "zkt.h"

#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void zset(zhandle_t *zh, const char *path, const char *data) {
    int rc = zoo_set(zh, path, data, data ? (int)strlen(data) : -1, -1);
    if (rc == ZNONODE) rc = zoo_create(zh, path, data, data ? (int)strlen(data) : -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
    ck_assert_msg(rc == ZOK, "set %s: %s", path, zerror(rc));
}

static char *zread(zhandle_t *zh, const char *path, struct Stat *st) {
    char *buf = calloc(1, 1 << 20);
    int len = (1 << 20) - 1;
    ck_assert_int_eq(zoo_get(zh, path, 0, buf, &len, st), ZOK);
    buf[len < 0 ? 0 : len] = '\0';
    return buf;
}

/* --- servers: version at and beyond the limit --------------------------------------- */

static void forge_servers(zhandle_t *zh, const char *version) {
    char doc[256];
    snprintf(doc, sizeof(doc), "{\"version\":%s,\"updated\":\"2026-01-01T00:00:00.000Z\",\"servers\":"
             "[{\"host\":\"10.9.9.9\",\"port\":31999,\"task_id\":\"forged\"}]}", version);
    zset(zh, "/mcm/servers", doc);
}

START_TEST(test_state_servers_version_limits) {
    static const struct { const char *v; int readable, recreated; } cases[] = {
        {"0", 1, 0},
        {"-1", 0, 0},                                  /* refused by every reader */
        {"9007199254740990", 1, 0},                    /* STATE_VERSION_MAX - 1: the next is the limit */
        {"9007199254740991", 1, 1},                    /* STATE_VERSION_MAX: no next one, restart */
        {"9007199254740992", 0, 1},                    /* one past what mcm writes */
        {"9223372036854775807", 0, 1},                 /* INT64_MAX: the review's overflow */
    };
    th_zk *zk = th_zk_start();
    node *a = node_new(zk, "a", NULL);
    zhandle_t *zh = zkt_connect(th_zk_hosts(zk), NULL, 5000);
    char err[512];
    for (size_t i = 0; i < MCM_ARRAY_LEN(cases); i++) {
        struct Stat before, after;
        forge_servers(zh, cases[i].v);
        free(zread(zh, "/mcm/servers", &before));
        srvlist *r = state_read_servers(a->s, err, sizeof(err));
        ck_assert_msg(!r == !cases[i].readable, "version %s: read %s (%s)", cases[i].v, r ? "accepted" : "refused", err);
        if (!r) ck_assert_msg(strstr(err, "version"), "version %s: %s", cases[i].v, err);
        srvlist_free(r);
        state_servers_refresh(a->s);
        srvlist *l = servers_n(1 + (int)i, 1);
        int64_t v = publish(a, l);
        ck_assert_msg(v > 0 && v <= STATE_VERSION_MAX, "version %s: published %" PRId64, cases[i].v, v);
        if (cases[i].readable && !cases[i].recreated) ck_assert_int_eq(v, strtoll(cases[i].v, NULL, 10) + 1);
        srvlist *back = state_read_servers(a->s, err, sizeof(err));
        ck_assert_msg(back && back->version == v && srvlist_same_servers(back, l), "version %s: %s", cases[i].v, err);
        free(zread(zh, "/mcm/servers", &after));
        ck_assert_msg((after.czxid != before.czxid) == cases[i].recreated,
                      "version %s: znode %s", cases[i].v, after.czxid != before.czxid ? "recreated" : "kept");
        /* and the leader keeps publishing from there (past the limit: a new znode, from 1) */
        srvlist *m = servers_n(1, 50);
        ck_assert_int_eq(publish(a, m), v < STATE_VERSION_MAX ? v + 1 : 1);
        srvlist_free(back);
        srvlist_free(m);
        srvlist_free(l);
    }
    zookeeper_close(zh);
    node_free(a);
    th_zk_free(zk);
}
END_TEST

/* --- state/version ---------------------------------------------------------------- */

START_TEST(test_state_version_limits) {
    static const char *const values[] = {"0", "-1", "9007199254740990", "9007199254740991", "9007199254740992",
                                         "9223372036854775807", "99999999999999999999", "12abc", " 5", "",
                                         "+7", "0x10"};
    th_zk *zk = th_zk_start();
    node *a = node_new(zk, "a", NULL);
    zhandle_t *zh = zkt_connect(th_zk_hosts(zk), NULL, 5000);
    char err[256];
    ck_assert_int_eq(state_set_framework_id(a->s, "fw-1", err, sizeof(err)), MCM_OK);
    for (size_t i = 0; i < MCM_ARRAY_LEN(values); i++) {
        zset(zh, "/mcm/state/version", values[i]);
        state_snapshot s = load(a);                   /* a follower's view */
        ck_assert_msg(s.version >= 0 && s.version <= STATE_VERSION_MAX, "%s: loaded %" PRId64, values[i], s.version);
        state_snapshot_clear(&s);
        char id[32];
        snprintf(id, sizeof(id), "mcm-%zu", i);
        state_task t = task(id, 31000 + (int)i, 1);
        put(a, &t);                                   /* the leader's next write */
        char *stored = zread(zh, "/mcm/state/version", NULL), *end = NULL;
        long long v = strtoll(stored, &end, 10);
        ck_assert_msg(*stored && !*end && v > 0 && v <= STATE_VERSION_MAX, "%s: then stored \"%s\"", values[i], stored);
        free(stored);
    }
    zookeeper_close(zh);
    node_free(a);
    th_zk_free(zk);
}
END_TEST

/* --- state/desired ------------------------------------------------------------------ */

START_TEST(test_state_desired_limits) {
    static const struct { const char *doc; int want; } cases[] = {
        {"{\"instances\":0,\"autoscale\":null}", 0},
        {"{\"instances\":-1,\"autoscale\":null}", -1},
        {"{\"instances\":100,\"autoscale\":null}", 100},
        {"{\"instances\":101,\"autoscale\":null}", 100},          /* one past --instances-max */
        {"{\"instances\":1000000,\"autoscale\":null}", 100},      /* the review's value */
        {"{\"instances\":100001,\"autoscale\":null}", 100},       /* beyond any list: still a count */
        {"{\"instances\":2147483648,\"autoscale\":null}", -1},    /* beyond int */
        {"{\"instances\":9223372036854775807,\"autoscale\":null}", -1},
        {"{\"instances\":1e300,\"autoscale\":null}", -1},
        {"{\"instances\":5,\"instances\":6}", -1},                /* duplicate keys */
    };
    th_zk *zk = th_zk_start();
    node *a = node_new(zk, "a", NULL);
    zhandle_t *zh = zkt_connect(th_zk_hosts(zk), NULL, 5000);
    state_set_instances_max(a->s, 100);
    for (size_t i = 0; i < MCM_ARRAY_LEN(cases); i++) {
        zset(zh, "/mcm/state/desired", cases[i].doc);
        state_snapshot s = load(a);
        ck_assert_msg(s.desired == cases[i].want, "%s: desired %d, want %d", cases[i].doc, s.desired, cases[i].want);
        state_snapshot_clear(&s);
    }
    char err[256];
    ck_assert_int_eq(state_set_desired(a->s, 101, NULL, err, sizeof(err)), MCM_ERR);   /* never written either */
    ck_assert_msg(strstr(err, "instances-max"), "err: %s", err);
    ck_assert_int_eq(state_set_desired(a->s, 100, NULL, err, sizeof(err)), MCM_OK);
    zookeeper_close(zh);
    node_free(a);
    th_zk_free(zk);
}
END_TEST

/* --- framework ID against task records ------------------------------------------------- */

START_TEST(test_state_tasks_without_framework_id) {
    th_zk *zk = th_zk_start();
    node *a = node_new(zk, "a", NULL);
    zhandle_t *zh = zkt_connect(th_zk_hosts(zk), NULL, 5000);
    char err[1024];
    state_snapshot s;
    ck_assert_int_eq(state_set_framework_id(a->s, "fw-0001", err, sizeof(err)), MCM_OK);
    state_task t = task("mcm-1", 31000, 1);
    put(a, &t);
    s = load(a);
    state_snapshot_clear(&s);
    for (int deleted = 0; deleted < 2; deleted++) {
        if (deleted) ck_assert_int_eq(zoo_delete(zh, "/mcm/state/framework_id", -1), ZOK);
        else zset(zh, "/mcm/state/framework_id", "");
        ck_assert_int_eq(state_load(a->s, &s, err, sizeof(err)), STATE_CONTRADICTION);
        ck_assert_msg(strstr(err, "/mcm/state/framework_id") && strstr(err, "1 task record") &&
                      strstr(err, "/mcm/state/tasks") && strstr(err, "refusing to lead"), "err: %s", err);
        ck_assert_ptr_null(s.tasks);
    }
    /* the operator's repair: the ID restored, or the records removed */
    zset(zh, "/mcm/state/framework_id", "fw-0001");
    s = load(a);
    ck_assert_int_eq(s.ntasks, 1);
    state_snapshot_clear(&s);
    zset(zh, "/mcm/state/framework_id", "");
    ck_assert_int_eq(zoo_delete(zh, "/mcm/state/tasks/mcm-1", -1), ZOK);
    s = load(a);
    ck_assert_int_eq(s.ntasks, 0);
    state_snapshot_clear(&s);
    zookeeper_close(zh);
    node_free(a);
    th_zk_free(zk);
}
END_TEST

/* --- task records: numbers and strings ------------------------------------------------- */

/* A record with one field replaced (key "k" set to raw JSON value v). */
static char *record_with(const char *key, const char *value) {
    static const char *const keys[] = {"task_id", "agent_id", "hostname", "port", "state", "changed_ms",
                                       "cpus", "mem_mb", "reason", "drain_until_ms"};
    static const char *const base[] = {"\"mcm-1\"", "\"agent-S1\"", "\"10.0.0.1\"", "31000", "\"TASK_RUNNING\"",
                                       "1795585620123", "0.5", "1024", "\"ok\"", "0"};
    char *out = calloc(1, 4096);
    strcat(out, "{");
    for (size_t i = 0; i < MCM_ARRAY_LEN(keys); i++) {
        const char *v = strcmp(keys[i], key) ? base[i] : value;
        if (i) strcat(out, ",");
        snprintf(out + strlen(out), 4096 - strlen(out), "\"%s\":%s", keys[i], v);
    }
    strcat(out, "}");
    return out;
}

START_TEST(test_state_task_record_limits) {
    static const struct { const char *key, *value; int ok; } cases[] = {
        {"port", "0", 0}, {"port", "-1", 0}, {"port", "65535", 1}, {"port", "65536", 0},
        {"port", "9223372036854775807", 0},
        {"changed_ms", "0", 1}, {"changed_ms", "-1", 0}, {"changed_ms", "253402300799999", 1},
        {"changed_ms", "253402300800000", 0}, {"changed_ms", "9223372036854775807", 0},
        {"drain_until_ms", "0", 1}, {"drain_until_ms", "-1", 0}, {"drain_until_ms", "253402300799999", 1},
        {"drain_until_ms", "253402300800000", 0}, {"drain_until_ms", "9223372036854775807", 0},
        {"cpus", "0", 1}, {"cpus", "-1", 0}, {"cpus", "1000000", 1}, {"cpus", "1000001", 0}, {"cpus", "1e308", 0},
        {"mem_mb", "0", 1}, {"mem_mb", "-1", 0}, {"mem_mb", "1e12", 1}, {"mem_mb", "1.1e12", 0},
        {"hostname", "\"10.0.0.1\\nFORGED log line\"", 0}, {"hostname", "\"a:b\"", 0}, {"hostname", "\"a b\"", 0},
        {"hostname", "\"a\\u0001b\"", 0}, {"hostname", "\"a,b\"", 0}, {"hostname", "\"a\\\"b\"", 0},
        {"hostname", "\"a/b\"", 0}, {"hostname", "\"-a\"", 0}, {"hostname", "\"host-1.example.com\"", 1},
        {"agent_id", "\"S1\\nx\"", 0}, {"agent_id", "\"a/b\"", 0}, {"agent_id", "\"a b\"", 0},
        {"agent_id", "\"\"", 1},
        {"task_id", "\"mcm-1\\n\"", 0},
    };
    char err[256];
    for (size_t i = 0; i < MCM_ARRAY_LEN(cases); i++) {
        char *rec = record_with(cases[i].key, cases[i].value);
        state_task t;
        int rc = state_task_from_json(rec, strlen(rec), &t, err, sizeof(err));
        ck_assert_msg((rc == MCM_OK) == cases[i].ok, "%s=%s: %s (%s)", cases[i].key, cases[i].value,
                      rc == MCM_OK ? "accepted" : "refused", err);
        if (!cases[i].ok) ck_assert_msg(strstr(err, cases[i].key), "%s=%s: error '%s' does not name the field",
                                        cases[i].key, cases[i].value, err);
        free(rec);
    }
    /* the reason is free text from Mesos: control characters are repaired, not fatal */
    char *rec = record_with("reason", "\"line one\\nFORGED\\r\\u0007end\"");
    state_task t;
    ck_assert_int_eq(state_task_from_json(rec, strlen(rec), &t, err, sizeof(err)), MCM_OK);
    ck_assert_str_eq(t.reason, "line one FORGED  end");
    free(rec);
    /* and the encoder never writes what the decoder would refuse */
    t = task("mcm-2", 31000, 1);
    snprintf(t.reason, sizeof(t.reason), "a\nb");
    char *json = state_task_to_json(&t);
    ck_assert_ptr_nonnull(json);
    ck_assert_ptr_null(strstr(json, "\\n"));
    free(json);
    t.changed_ms = INT64_MAX;
    ck_assert_ptr_null(state_task_to_json(&t));
    t = task("mcm-2", 31000, 1);
    snprintf(t.hostname, sizeof(t.hostname), "a:b");
    ck_assert_ptr_null(state_task_to_json(&t));
}
END_TEST

/* --- junk under state/tasks ---------------------------------------------------------- */

static int count(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++) n++;
    return n;
}

START_TEST(test_state_junk_tasks_logged_once) {
    th_zk *zk = th_zk_start();
    node *a = node_new(zk, "a", NULL);
    zhandle_t *zh = zkt_connect(th_zk_hosts(zk), NULL, 5000);
    char err[512];
    ck_assert_int_eq(state_set_framework_id(a->s, "fw-1", err, sizeof(err)), MCM_OK);
    state_task good = task("mcm-good", 31000, 1);
    put(a, &good);
    for (int i = 0; i < 200; i++) {
        char path[64];
        snprintf(path, sizeof(path), "/mcm/state/tasks/junk-%03d", i);
        ck_assert_int_eq(zoo_create(zh, path, "junk", 4, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0), ZOK);
    }
    zkt_capture_begin();
    state_snapshot s = load(a);
    char *first = zkt_capture_end();
    ck_assert_int_eq(s.ntasks, 1);
    ck_assert_int_eq(s.nskipped, 200);
    ck_assert_str_eq(s.skipped[0], "junk-000");
    state_snapshot_clear(&s);
    ck_assert_msg(count(first, "malformed task record") <= 10, "first load:\n%s", first);
    ck_assert_msg(strstr(first, "200 task records under /mcm/state/tasks are malformed"), "first load:\n%s", first);
    zkt_capture_begin();
    for (int i = 0; i < 3; i++) {
        s = load(a);
        state_snapshot_clear(&s);
    }
    char *again = zkt_capture_end();
    ck_assert_msg(!strstr(again, "malformed"), "the same junk logged again:\n%s", again);
    ck_assert_int_eq(zoo_create(zh, "/mcm/state/tasks/junk-new", "{}", 2, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0), ZOK);
    zkt_capture_begin();
    s = load(a);
    char *changed = zkt_capture_end();
    ck_assert_int_eq(s.nskipped, 201);
    state_snapshot_clear(&s);
    ck_assert_msg(strstr(changed, "201 task records"), "a new set is logged:\n%s", changed);
    free(first);
    free(again);
    free(changed);
    zookeeper_close(zh);
    node_free(a);
    th_zk_free(zk);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("state_limits");
    TCase *tc = tcase_create("limits");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_state_task_record_limits);
    tcase_add_test(tc, test_state_servers_version_limits);
    tcase_add_test(tc, test_state_version_limits);
    tcase_add_test(tc, test_state_desired_limits);
    tcase_add_test(tc, test_state_tasks_without_framework_id);
    tcase_add_test(tc, test_state_junk_tasks_logged_once);
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
