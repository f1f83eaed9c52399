/* test_page.c -- the status page at / in a real headless browser.
 *
 * One loopback installation (real ZooKeeper, mcm-sim, three replicas, three
 * memcached servers with some traffic so the figures are not all zero);
 * Debian's chromium (scripts/install-deps) loads the page from the leader
 * and from a follower with --dump-dom, after the page's own JavaScript has
 * fetched the JSON API, and the DOM is checked: three server rows, the
 * leader named, the role of the replica, ring shares that match src/ring's
 * ring_share for the published list and add up to 100 %; the autoscaling
 * thresholds of the replica's flags, at least one decision row after an
 * operator's POST /v1/scale (from the leader's policy, and on a follower from
 * what the leader stored in ZooKeeper), the three replicas with exactly the
 * leader marked and this replica as itself, and on the leader every server's
 * chart drawn from the leader's /v1/history (data-hsrc="server"; a follower
 * has none and says so). A screenshot of each page is saved (1280x1180) in
 * the test directory; with
 * MCM_PAGE_SCREENSHOT=<file.png> the leader's is also copied there (how
 * docs/status-page.png is made). The suite runs without forking so both
 * tests share the installation. */
#include "cluster.h"
#include "common.h"
#include "ctlrun.h"
#include "harness.h"
#include "ring.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define UP_MS 120000
#define BROWSER_MS 120000
#define VIRTUAL_TIME "--virtual-time-budget=8000"
#define KEYS 300
#define VALUE_LEN 2000

static it_cluster *C;
static int L, F;

static int figures_for_three(void *arg) {
    int k = 0;
    json_t *t = it_get_json(it_replica_port(C, L), "/v1/tasks"), *task;
    size_t i;
    json_array_foreach(json_object_get(t, "tasks"), i, task) {
        json_t *f = json_object_get(task, "figures");
        k += f && json_integer_value(json_object_get(f, "total_items")) > 0;
    }
    json_decref(t);
    return k == 3;
}

/* Some sets, hits and misses on every server, so the page has figures to show. */
static void traffic(json_t *list) {
    static char value[VALUE_LEN + 1], cmd[VALUE_LEN + 128], reply[4096];
    memset(value, 'v', VALUE_LEN);
    json_t *e;
    size_t i;
    json_array_foreach(json_object_get(list, "servers"), i, e) {
        const char *host = json_string_value(json_object_get(e, "host"));
        int port = (int)json_integer_value(json_object_get(e, "port"));
        int keys = KEYS * (int)(i + 1);                     /* different fill per server */
        for (int k = 0; k < keys; k++) {
            snprintf(cmd, sizeof(cmd), "set page-key-%d 0 0 %d\r\n%s\r\n", k, VALUE_LEN, value);
            ck_assert_int_gt(th_mc_cmd(host, port, cmd, reply, sizeof(reply), 2000), 0);
        }
        for (int k = 0; k < keys + KEYS / 2; k += 2) {        /* hits, and misses past the end */
            snprintf(cmd, sizeof(cmd), "get page-key-%d\r\n", k);
            th_mc_cmd(host, port, cmd, reply, sizeof(reply), 2000);
        }
    }
}

/* At least two samples of each of three servers in the leader's /v1/history. */
static int history_for_three(void *arg) {
    (void)arg;
    int k = 0;
    json_t *h = it_get_json(it_replica_port(C, L), "/v1/history"), *e;
    size_t i;
    json_array_foreach(json_object_get(h, "servers"), i, e) k += json_array_size(json_object_get(e, "samples")) >= 2;
    json_decref(h);
    return k == 3;
}

/* The replica at *port shows an operator's decision in /v1/autoscale. */
static int operator_decision(void *arg) {
    int found = 0;
    json_t *a = it_get_json(*(int *)arg, "/v1/autoscale"), *d;
    size_t i;
    json_array_foreach(json_object_get(a, "decisions"), i, d) {
        const char *r = json_string_value(json_object_get(d, "r"));
        found |= r && strcmp(r, "operator") == 0;
    }
    json_decref(a);
    return found;
}

/* An operator's POST /v1/scale to the same count: a decision row, no new server. */
static void operator_scale(void) {
    long code = it_post(it_replica_port(C, L), "/v1/scale", "{\"instances\":3}", NULL);
    ck_assert_msg(code == 200 || code == 202, "POST /v1/scale answered %ld", code);
    int lp = it_replica_port(C, L), fp = it_replica_port(C, F);
    ck_assert_msg(th_wait(operator_decision, &lp, 20000), "the leader's /v1/autoscale has no operator decision");
    ck_assert_msg(th_wait(operator_decision, &fp, 30000), "the follower's /v1/autoscale has no operator decision");
}

static void setup(void) {
    it_opts o = {.instances = 3};
    C = it_start(&o);
    json_t *doc = it_wait_servers(C, 0, 3, UP_MS);
    ck_assert_msg(doc != NULL, "3 servers never published (logs in %s)", it_dir(C));
    L = it_wait_leader(C, 20000, -1);
    ck_assert_int_ge(L, 0);
    F = (L + 1) % 3;
    traffic(doc);
    json_decref(doc);
    ck_assert_msg(th_wait(figures_for_three, NULL, 30000), "no figures with items from 3 servers");
    ck_assert_msg(th_wait(history_for_three, NULL, 30000), "the leader's /v1/history lacks 3 servers with 2 samples");
    operator_scale();
    const char *hold = getenv("MCM_PAGE_HOLD_S");       /* for looking at the page by hand */
    if (hold) {
        fprintf(stderr, "page: leader http://127.0.0.1:%d/ follower http://127.0.0.1:%d/\n", it_replica_port(C, L),
                it_replica_port(C, F));
        sleep((unsigned)atoi(hold));
    }
}

static void teardown(void) { it_stop(C); }

/* The page's DOM after its scripts ran, as chromium dumps it (malloc'd).
 * ?wait=1s: the page's long poll waits 1 s instead of 25 s. A pending fetch
 * holds chromium's virtual time (the budget), so with the default the dump
 * would come only after minutes; with 1 s each poll (answered 304) lets
 * about 2 s of virtual time pass, and the page really long-polls. */
static char *dump_dom(int port) {
    char url[128], home[1200];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/?wait=1s", port);
    snprintf(home, sizeof(home), "--user-data-dir=%s/chromium-dom-%d", it_dir(C), port);
    char *argv[] = {"chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", home,
                    VIRTUAL_TIME, "--dump-dom", url, NULL};
    ctl_run_out o;
    int rc = ctl_run(argv, NULL, BROWSER_MS, &o);
    ck_assert_msg(rc == 0, "chromium --dump-dom exited %d: %s", rc, o.err);
    free(o.err);
    char *script = strstr(o.out, "<script");     /* the page's own code names the ids too: drop it */
    if (script) *script = 0;
    return o.out;
}

static void screenshot(int port, const char *name) {
    char url[128], home[1200], shot[1200], arg[1300];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/?wait=1s", port);
    snprintf(home, sizeof(home), "--user-data-dir=%s/chromium-shot-%d", it_dir(C), port);
    snprintf(shot, sizeof(shot), "%s/%s", it_dir(C), name);
    snprintf(arg, sizeof(arg), "--screenshot=%s", shot);
    char *argv[] = {"chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
                    home, "--window-size=1280,1180", VIRTUAL_TIME, arg, url, NULL};
    ctl_run_out o;
    int rc = ctl_run(argv, NULL, BROWSER_MS, &o);
    ck_assert_msg(rc == 0, "chromium --screenshot exited %d: %s", rc, o.err);
    ctl_run_free(&o);
    struct stat st;
    ck_assert_msg(stat(shot, &st) == 0 && st.st_size > 10000, "no screenshot at %s", shot);
    const char *copy = getenv("MCM_PAGE_SCREENSHOT");
    if (copy && strcmp(name, "leader.png") == 0) {
        char *cp[] = {"cp", shot, (char *)copy, NULL};
        ck_assert_int_eq(ctl_run(cp, NULL, 10000, &o), 0);
        ctl_run_free(&o);
    }
}

/* Text of the element with id (its inner text up to the next '<'), into buf. */
static void text_of(const char *dom, const char *id, char *buf, size_t len) {
    char pat[128];
    snprintf(pat, sizeof(pat), "id=\"%s\"", id);
    const char *p = strstr(dom, pat);
    ck_assert_msg(p != NULL, "no element #%s in the page", id);
    p = strchr(p, '>');
    while (p && p[1] == '<' && p[2] != '/') p = strchr(p + 1, '>');   /* skip nested opening tags (a link) */
    ck_assert_ptr_nonnull(p);
    size_t n = strcspn(p + 1, "<");
    snprintf(buf, len, "%.*s", (int)n, p + 1);
}

/* Checks the rows against src/ring over the published list; returns the rows. */
static int check_rows(const char *dom, json_t *list) {
    const char *names[8];
    char store[8][300];
    int n = 0;
    json_t *e;
    size_t i;
    json_array_foreach(json_object_get(list, "servers"), i, e) {
        ck_assert_int_lt(n, 8);
        snprintf(store[n], sizeof(store[n]), "%s:%lld", json_string_value(json_object_get(e, "host")),
                 (long long)json_integer_value(json_object_get(e, "port")));
        names[n] = store[n];
        n++;
    }
    char err[256];
    ring *r = ring_new(names, n, err, sizeof(err));
    ck_assert_ptr_nonnull(r);
    int rows = 0;
    double sum = 0;
    for (const char *p = dom; (p = strstr(p, "class=\"srv-row\"")); p++, rows++) {
        char server[300];
        double share;
        const char *ds = strstr(p, "data-server=\""), *dh = strstr(p, "data-share=\"");
        ck_assert(ds && dh);
        snprintf(server, sizeof(server), "%.*s", (int)strcspn(ds + 13, "\""), ds + 13);
        share = strtod(dh + 12, NULL);
        int k = ring_find(r, server);
        ck_assert_msg(k >= 0, "row %s is not a published server", server);
        ck_assert_double_eq_tol(share, ring_share(r, k), 1e-9);    /* the page's MD5 ring is mcm's ring */
        sum += share;
    }
    ck_assert_double_eq_tol(sum, 1.0, 1e-9);
    ring_free(r);
    return rows;
}

static void check_page(int port, const char *role) {
    json_t *list = it_get_json(port, "/v1/servers");
    ck_assert_ptr_nonnull(list);
    char *dom = dump_dom(port);
    ck_assert_msg(strstr(dom, "data-loaded=\"1\""), "the page's scripts did not load its data: %.2000s", dom);
    ck_assert_ptr_null(strstr(dom, "id=\"servers\"></tbody>"));   /* rows were drawn */
    ck_assert_int_eq(check_rows(dom, list), 3);
    char buf[256], want[64];
    text_of(dom, "leader-url", buf, sizeof(buf));
    snprintf(want, sizeof(want), "127.0.0.1:%d", it_replica_port(C, L));
    ck_assert_str_eq(buf, want);
    text_of(dom, "role", buf, sizeof(buf));
    ck_assert_str_eq(buf, role);
    text_of(dom, "ring-total", buf, sizeof(buf));
    ck_assert_str_eq(buf, "100.0");
    text_of(dom, "err", buf, sizeof(buf));
    ck_assert_str_eq(buf, "");                            /* every API call answered */
    ck_assert_ptr_null(strstr(dom, "https://"));          /* nothing from elsewhere */
    free(dom);
    json_decref(list);
}

static int count(const char *dom, const char *needle) {
    int n = 0;
    for (const char *p = dom; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

/* Thresholds, decisions and replicas as this replica's page shows them. */
static void check_views(const char *dom, int port) {
    char want[160];
    json_t *as = it_get_json(port, "/v1/autoscale");
    ck_assert_ptr_nonnull(as);
    double up = json_real_value(json_object_get(json_object_get(as, "thresholds"), "scale_up_mem"));
    ck_assert_double_gt(up, 0);
    json_decref(as);
    ck_assert_int_eq(count(dom, "class=\"th-row\""), 3);              /* memory, evictions, CPU */
    snprintf(want, sizeof(want), "data-name=\"mem\" data-up=\"%g\"", up);
    ck_assert_msg(strstr(dom, want), "no memory threshold row with %s", want);
    ck_assert_int_ge(count(dom, "class=\"dec-row\""), 1);
    ck_assert_ptr_nonnull(strstr(dom, "data-action=\"operator\" data-reason=\"operator\""));
    ck_assert_int_eq(count(dom, "class=\"rep-row\""), 3);
    ck_assert_int_eq(count(dom, "data-role=\"leader\""), 1);
    snprintf(want, sizeof(want), "data-role=\"leader\" data-url=\"http://127.0.0.1:%d\"", it_replica_port(C, L));
    ck_assert_msg(strstr(dom, want), "the replica list does not mark the leader (%s)", want);
    ck_assert_int_eq(count(dom, "data-self=\"1\""), 1);
    snprintf(want, sizeof(want), "data-url=\"http://127.0.0.1:%d\" data-self=\"1\"", port);
    ck_assert_msg(strstr(dom, want), "the replica list does not mark this replica (%s)", want);
}

START_TEST(test_page_leader_shows_three_servers_and_ring) {
    check_page(it_replica_port(C, L), "LEADER");
    char *dom = dump_dom(it_replica_port(C, L));
    ck_assert_ptr_nonnull(strstr(dom, " MiB / "));        /* memcached's figures are there */
    ck_assert_ptr_nonnull(strstr(dom, "<polyline"));      /* and charted */
    ck_assert_int_eq(count(dom, "data-hsrc=\"server\""), 3);  /* every chart from the leader's history */
    ck_assert_ptr_nonnull(strstr(dom, "GET /v1/history"));
    check_views(dom, it_replica_port(C, L));
    free(dom);
    screenshot(it_replica_port(C, L), "leader.png");
}
END_TEST

START_TEST(test_page_follower_shows_the_same_fleet) {
    check_page(it_replica_port(C, F), "FOLLOWER");
    char *dom = dump_dom(it_replica_port(C, F));
    ck_assert_ptr_nonnull(strstr(dom, "open the leader"));   /* it says where the figures are */
    ck_assert_int_eq(count(dom, "data-hsrc=\"server\""), 0);     /* a follower keeps no history */
    ck_assert_ptr_nonnull(strstr(dom, "state/desired"));           /* the decisions come from ZooKeeper */
    check_views(dom, it_replica_port(C, F));
    free(dom);
    screenshot(it_replica_port(C, F), "follower.png");
}
END_TEST

int main(void) {
    Suite *s = suite_create("page");
    TCase *tc = tcase_create("page");
    tcase_set_timeout(tc, 600);
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_page_leader_shows_three_servers_and_ring);
    tcase_add_test(tc, test_page_follower_shows_the_same_fleet);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
