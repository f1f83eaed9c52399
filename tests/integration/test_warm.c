/* test_warm.c -- warm ring transitions end to end (issue 15): real
 * ZooKeeper, mcm-sim, three mcm-scheduler replicas, the real mcm-executor
 * copying keys between real memcached servers.
 *
 * One installation, three ring changes in a row, each checked the way a
 * client sees it:
 *   1. step up 4 -> 5: every key written on 4 servers is found by a
 *      libmemcached KETAMA_WEIGHTED client over the 5 published servers, as
 *      soon as they are published (the copy came first);
 *   2. step down 5 -> 4 after one key in ten was overwritten: every key is
 *      found on the 4 servers, and none returns the value from before the
 *      overwrite (the stale read the cold path gave);
 *   3. a planned replacement (POST /v1/tasks/<id>/restart): every key found
 *      on the new ring.
 * After each change, once the transition has ended, THE INVARIANT: every key
 * is stored only on its owner under the published ring (each server asked
 * for every key directly).
 *
 * A second installation copies 20,000 keys slowly (--migrate-rate 4KiB:
 * about 6 s per source; its catch-up pass then takes two batches, seconds
 * apart) and a client overwrites every key through the old list, round
 * after round, until the first source ends its copy: the moment the new list is published, every key already reads
 * the overwritten value through it (each source checks its copied keys once
 * more before it reports the copy done).
 *
 * Every wait is bounded; every failure names the log directory. */
#include "cluster.h"
#include "common.h"
#include "harness.h"
#include "warm_client.h"

#include <check.h>
#include <libmemcached/memcached.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KEYS 3000
#define SLOW_KEYS 20000   /* the slow copy: more than one catch-up batch (512 keys) per source */

static int nkeys = KEYS;   /* the keys of the test running */
#define WAIT_MS 120000
#define MIN_HIT 0.99

static it_cluster *c;
static int follower, leader;

/* --- a client over one published list -------------------------------------------- */


static void key_of(int i, char *buf, size_t len) { snprintf(buf, len, "warm:%05d", i); }

static void put(wc_client *k, int i, int version) {
    char key[32], val[64];
    key_of(i, key, sizeof(key));
    snprintf(val, sizeof(val), "v%d-%s", version, key);
    memcached_return_t rc = memcached_set(k->mc, key, strlen(key), val, strlen(val), 0, (uint32_t)i);
    ck_assert_msg(rc == MEMCACHED_SUCCESS, "set %s: %s (logs in %s)", key, memcached_strerror(k->mc, rc),
                  it_dir(c));
}

/* Reads every key once: hits, and reads of a version other than want[i]. */
static void read_all(wc_client *k, const int *want, int *hits, int *stale) {
    *hits = *stale = 0;
    for (int i = 0; i < nkeys; i++) {
        char key[32], exp[64];
        size_t len;
        uint32_t flags;
        memcached_return_t rc;
        key_of(i, key, sizeof(key));
        char *v = memcached_get(k->mc, key, strlen(key), &len, &flags, &rc);
        if (!v) continue;
        (*hits)++;
        snprintf(exp, sizeof(exp), "v%d-%s", want[i], key);
        if (len != strlen(exp) || memcmp(v, exp, len) != 0 || flags != (uint32_t)i) (*stale)++;
        free(v);
    }
}

/* --- the invariant ------------------------------------------------------------------ */

/* THE INVARIANT: no key on a server that does not own it (warm_client.h). */
static int misplaced(json_t *doc) { return wc_misplaced(doc, nkeys, key_of, "test_warm"); }

/* --- the installation ------------------------------------------------------------------- */

static char *phase_of(int port) {
    json_t *st = it_get_json(port, "/v1/status");
    json_t *t = json_object_get(st, "transition");
    char *p = strdup(json_string_value(json_object_get(t, "phase")) ? json_string_value(json_object_get(t, "phase"))
                                                                     : "");
    json_decref(st);
    return p;
}

/* Waits until the leader reports no transition under way. */
static void wait_idle(void) {
    for (int waited = 0; waited < WAIT_MS; waited += 200) {
        char *p = phase_of(it_replica_port(c, leader));
        int idle = strcmp(p, "idle") == 0;
        free(p);
        if (idle) return;
        usleep(200 * 1000);
    }
    ck_abort_msg("the transition did not end within %d s (logs in %s)", WAIT_MS / 1000, it_dir(c));
}

/* Framework messages the leader has sent to executors so far. */
static double messages_sent(void) {
    char *m = it_get_text(it_replica_port(c, leader), "/metrics");
    ck_assert_msg(m != NULL, "GET /metrics on the leader failed");
    double v = it_metric_value(m, "mcm_executor_messages_total");
    free(m);
    return v;
}

static json_t *wait_list(int n) {
    json_t *doc = it_wait_servers(c, follower, n, WAIT_MS);
    ck_assert_msg(doc != NULL, "no list of %d servers (logs in %s)", n, it_dir(c));
    return doc;
}

static void check_ring(const char *step, json_t *doc, const int *want) {
    wc_client k;
    wc_open(&k, doc);
    int hits, stale;
    read_all(&k, want, &hits, &stale);
    wc_close(&k);
    double hr = (double)hits / nkeys;
    fprintf(stderr, "test_warm: %s: first pass hit ratio %.4f, stale reads %d\n", step, hr, stale);
    ck_assert_msg(hr >= MIN_HIT, "%s: hit ratio %.4f < %.2f (logs in %s)", step, hr, MIN_HIT, it_dir(c));
    ck_assert_msg(stale == 0, "%s: %d stale reads (logs in %s)", step, stale, it_dir(c));
}

START_TEST(test_warm_step_up_step_down_and_replacement_keep_the_cache) {
    it_opts o = {.agents = 6, .instances = 4,
                 .extra = {"--drain-time", "3s", "--migrate-rate", "0", "--no-autoscale", NULL}};
    c = it_start(&o);
    leader = it_wait_leader(c, 60000, -1);
    ck_assert_int_ge(leader, 0);
    follower = (leader + 1) % 3;
    json_t *doc = wait_list(4);
    wait_idle();

    static int want[KEYS];
    wc_client k;
    wc_open(&k, doc);
    for (int i = 0; i < KEYS; i++) put(&k, i, want[i] = 1);
    wc_close(&k);
    json_decref(doc);

    /* 1. step up */
    double sent = messages_sent();
    ck_assert_int_eq(it_post(it_replica_port(c, leader), "/v1/scale", "{\"instances\":5}", NULL), 200);
    doc = wait_list(5);
    check_ring("4 -> 5", doc, want);
    wait_idle();
    ck_assert_int_eq(misplaced(doc), 0);
    /* Four sources, three commands each (copy, catchup, cleanup), a few
     * resends at most: not one catchup per source per round of the 3 s
     * drain window (that was 30 each). */
    sent = messages_sent() - sent;
    fprintf(stderr, "test_warm: 4 -> 5: %.0f framework messages to executors\n", sent);
    ck_assert_msg(sent >= 12 && sent <= 20, "4 -> 5 sent %.0f framework messages (want 12..20; logs in %s)", sent,
                  it_dir(c));

    /* 2. one key in ten overwritten, then step down */
    wc_open(&k, doc);
    for (int i = 0; i < KEYS; i += 10) put(&k, i, want[i] = 2);
    wc_close(&k);
    json_decref(doc);
    ck_assert_int_eq(it_post(it_replica_port(c, leader), "/v1/scale", "{\"instances\":4}", NULL), 200);
    doc = wait_list(4);
    check_ring("5 -> 4", doc, want);
    wait_idle();
    ck_assert_int_eq(misplaced(doc), 0);

    /* 3. planned replacement of the first server */
    char path[512], *before = it_servers_key(doc);
    const char *victim = json_string_value(json_object_get(json_array_get(json_object_get(doc, "servers"), 0), "task_id"));
    snprintf(path, sizeof(path), "/v1/tasks/%s/restart", victim);
    ck_assert_int_eq(it_post(it_replica_port(c, leader), path, NULL, NULL), 202);
    json_decref(doc);
    doc = NULL;
    for (int waited = 0; waited < WAIT_MS && !doc; waited += 200) {
        json_t *d = it_get_json(it_replica_port(c, follower), "/v1/servers");
        char *now = d ? it_servers_key(d) : NULL;
        if (now && strcmp(now, before) != 0 && json_array_size(json_object_get(d, "servers")) == 4) doc = d;
        else json_decref(d);
        free(now);
        if (!doc) usleep(200 * 1000);
    }
    free(before);
    ck_assert_msg(doc != NULL, "the replacement was never published (logs in %s)", it_dir(c));
    check_ring("replacement", doc, want);
    wait_idle();
    ck_assert_int_eq(misplaced(doc), 0);
    json_decref(doc);
    it_stop(c);
}
END_TEST

/* Whether an executor logged the end of a copy ("copy of <S>: N keys (B bytes) copied"). */
static int copy_ended(void) {
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "grep -rqsE 'copy of [^ ]+: [0-9]+ keys \\(' %s", it_dir(c));
    return system(cmd) == 0;
}

START_TEST(test_warm_writes_during_the_copy_are_there_at_publication) {
    it_opts o = {.agents = 6, .instances = 4,
                 .extra = {"--drain-time", "3s", "--migrate-rate", "4KiB", "--no-autoscale", NULL}};
    c = it_start(&o);
    leader = it_wait_leader(c, 60000, -1);
    ck_assert_int_ge(leader, 0);
    follower = (leader + 1) % 3;
    json_t *doc = wait_list(4);
    wait_idle();
    static int want[SLOW_KEYS];
    nkeys = SLOW_KEYS;
    wc_client k;
    wc_open(&k, doc);
    for (int i = 0; i < nkeys; i++) put(&k, i, want[i] = 1);

    ck_assert_int_eq(it_post(it_replica_port(c, leader), "/v1/scale", "{\"instances\":5}", NULL), 200);
    char *p = NULL;
    for (int waited = 0; waited < WAIT_MS; waited += 20) {
        free(p);
        p = phase_of(it_replica_port(c, leader));
        if (!strcmp(p, "copy")) break;
        usleep(20 * 1000);
    }
    ck_assert_msg(!strcmp(p, "copy"), "no copy phase seen (logs in %s)", it_dir(c));
    free(p);
    /* Through the old list, round after round, until the first source ends
     * its copy: every source then holds copied keys overwritten since, in
     * every catch-up batch (late keys are copied late). */
    int rounds = 0, writes = 0;
    for (int v = 2; !copy_ended() && v < 1000; v++, rounds++)
        for (int i = 0; i < nkeys && (i % 500 || !copy_ended()); i++, writes++) put(&k, i, want[i] = v);
    wc_close(&k);
    json_decref(doc);
    fprintf(stderr, "test_warm: %d writes in %d rounds during the copy\n", writes, rounds);
    p = phase_of(it_replica_port(c, leader));
    ck_assert_msg(!strcmp(p, "copy") && writes > nkeys, "%d writes, phase %s: the copy was too fast for the test "
                  "to show anything (logs in %s)", writes, p, it_dir(c));
    free(p);
    doc = wait_list(5);
    check_ring("4 -> 5, every key overwritten during the copy", doc, want);
    wait_idle();
    ck_assert_int_eq(misplaced(doc), 0);
    json_decref(doc);
    it_stop(c);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("warm");
    TCase *tc = tcase_create("warm");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, test_warm_step_up_step_down_and_replacement_keep_the_cache);
    tcase_add_test(tc, test_warm_writes_during_the_copy_are_there_at_publication);
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
