/* test_ctl.c -- mcmctl against a running loopback installation.
 *
 * One installation (real ZooKeeper, mcm-sim, three mcm-scheduler replicas
 * with an admin token, real mcm-executor and memcached) serves every test:
 * starting one takes most of a minute, so the suite runs without forking
 * (CK_NOFORK) and the tests run IN ORDER: the read-only ones first, then
 * scale (3 -> 4), history (which must show that scale), restart, watch
 * (4 -> 3) and teardown last. Each test still checks one behaviour and
 * asserts on what mcmctl printed (text and --json parsed back) against
 * what the replicas themselves answer.
 * The redirect test uses two small libmicrohttpd servers of its own: a
 * "replica" that redirects to a server outside the installation, which
 * records whether the admin token ever reached it. */
#include "cluster.h"
#include "ctlrun.h"
#include "harness.h"
#include "ring.h"

#include <check.h>
#include <math.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define UP_MS 120000
#define RUN_MS 180000
#define TOKEN "s3cret-token-for-mcmctl"

static it_cluster *C;
static int L, F;                          /* leader and one follower */
static char dir[1024], good_tok[1200], bad_tok[1200], ctlbin[1024];

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static const char *url_of(int i, char *buf, size_t len) {
    snprintf(buf, len, "http://127.0.0.1:%d", it_replica_port(C, i));
    return buf;
}

/* Runs mcmctl with the NULL-terminated arguments; stdin from input. */
static int ctl(ctl_run_out *o, const char *input, ...) {
    char *argv[32] = {ctlbin};
    int n = 1;
    va_list ap;
    va_start(ap, input);
    for (char *a; n < 31 && (a = va_arg(ap, char *));) argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    int rc = ctl_run(argv, input, RUN_MS, o);
    ck_assert_msg(!strstr(o->err, "Sanitizer") && !strstr(o->err, "runtime error:"), "sanitizer report: %s", o->err);
    fprintf(stderr, "--- mcmctl %s%s%s: exit %d\n%s%s", n > 1 ? argv[1] : "", n > 2 ? " " : "", n > 2 ? argv[n - 1] : "",
            rc, o->out, o->err);
    return rc;
}

static json_t *parse(const char *s) {
    json_error_t e;
    json_t *j = json_loads(s, 0, &e);
    ck_assert_msg(j != NULL, "not JSON (%s): %s", e.text, s);
    return j;
}

/* 1 once the leader's task table has figures for n running servers. */
static int figures_for(void *arg) {
    int n = *(int *)arg, k = 0;
    json_t *t = it_get_json(it_replica_port(C, L), "/v1/tasks"), *task;
    size_t i;
    json_array_foreach(json_object_get(t, "tasks"), i, task) k += json_object_get(task, "figures") != NULL;
    json_decref(t);
    return k == n;
}

static void setup(void) {
    char *d = th_tempdir();
    snprintf(dir, sizeof(dir), "%s", d);
    free(d);
    snprintf(good_tok, sizeof(good_tok), "%s/admin.token", dir);
    snprintf(bad_tok, sizeof(bad_tok), "%s/wrong.token", dir);
    write_file(good_tok, TOKEN "\n");
    write_file(bad_tok, "not-the-token\n");
    ctl_built("src/ctl/mcmctl", ctlbin, sizeof(ctlbin));
    /* A short drain: scaling down waits for it, and this is not what is tested here. */
    it_opts o = {.instances = 3, .extra = {"--admin-token-file", good_tok, "--drain-time", "2s", NULL}};
    C = it_start(&o);
    json_t *doc = it_wait_servers(C, 0, 3, UP_MS);
    ck_assert_msg(doc != NULL, "3 servers never published (logs in %s)", it_dir(C));
    json_decref(doc);
    L = it_wait_leader(C, 20000, -1);
    ck_assert_int_ge(L, 0);
    F = (L + 1) % 3;
    int three = 3;
    ck_assert_msg(th_wait(figures_for, &three, 30000), "no figures from 3 servers");
}

static void teardown(void) {
    it_stop(C);
    th_rmtree(dir);
}

START_TEST(test_ctl_usage_errors_exit_2) {
    ctl_run_out o;
    ck_assert_int_eq(ctl(&o, NULL, "scale", NULL), 2);
    ck_assert_ptr_nonnull(strstr(o.err, "scale needs one count"));
    ctl_run_free(&o);
    ck_assert_int_eq(ctl(&o, NULL, "scale", "many", NULL), 2);
    ctl_run_free(&o);
    ck_assert_int_eq(ctl(&o, NULL, "frobnicate", NULL), 2);
    ck_assert_ptr_nonnull(strstr(o.err, "unknown subcommand 'frobnicate'"));
    ctl_run_free(&o);
    ck_assert_int_eq(ctl(&o, NULL, "--timeout=soon", "status", NULL), 2);
    ck_assert_ptr_nonnull(strstr(o.err, "--timeout"));
    ctl_run_free(&o);
    ck_assert_int_eq(ctl(&o, NULL, "--help", NULL), 0);
    ck_assert_ptr_nonnull(strstr(o.out, "MCM_ADMIN_TOKEN_FILE"));
    ctl_run_free(&o);
    ck_assert_int_eq(ctl(&o, NULL, "--help=markdown", NULL), 0);
    ck_assert_ptr_nonnull(strstr(o.out, "| `--url=URL[,URL...]` | `MCM_URL` |"));
    ctl_run_free(&o);
}
END_TEST

START_TEST(test_ctl_no_replica_reachable_is_one_line) {
    char u[128];
    snprintf(u, sizeof(u), "--url=http://127.0.0.1:%d,127.0.0.1:%d", th_free_port(), th_free_port());
    ctl_run_out o;
    ck_assert_int_eq(ctl(&o, NULL, u, "servers", NULL), 1);
    ck_assert_ptr_nonnull(strstr(o.err, "mcmctl: cannot reach any replica"));
    ck_assert_ptr_eq(strchr(o.err, '\n'), o.err + strlen(o.err) - 1);     /* one line */
    ctl_run_free(&o);
    ck_assert_int_eq(ctl(&o, NULL, u, "status", NULL), 1);
    ck_assert_ptr_nonnull(strstr(o.err, "cannot reach any replica"));
    ctl_run_free(&o);
}
END_TEST

START_TEST(test_ctl_status_through_a_follower_names_the_leader) {
    char fu[128], lu[128], flag[160];
    url_of(F, fu, sizeof(fu));
    url_of(L, lu, sizeof(lu));
    snprintf(flag, sizeof(flag), "--url=%s", fu);
    ctl_run_out o;
    ck_assert_int_eq(ctl(&o, NULL, flag, "status", NULL), 0);
    ck_assert_ptr_nonnull(strstr(o.out, lu));
    ck_assert_ptr_nonnull(strstr(o.out, "leading"));
    ctl_run_free(&o);
    ck_assert_int_eq(ctl(&o, NULL, flag, "--json", "status", NULL), 0);
    json_t *j = parse(o.out);
    ck_assert_str_eq(json_string_value(json_object_get(j, "leader")), lu);
    char fw[256];
    it_status_str(it_replica_port(C, L), "framework_id", fw, sizeof(fw));
    ck_assert_str_eq(json_string_value(json_object_get(j, "framework_id")), fw);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "running")), 3);
    /* the follower given, and the leader it named (confirmed by the leader itself) */
    ck_assert_int_eq(json_array_size(json_object_get(j, "replicas")), 2);
    json_decref(j);
    ctl_run_free(&o);
}
END_TEST

START_TEST(test_ctl_status_finds_every_replica_through_zookeeper) {
    char zk[300], lu[128];
    snprintf(zk, sizeof(zk), "--zk=%s", it_zk_url(C));
    ctl_run_out o;
    ck_assert_int_eq(ctl(&o, NULL, zk, "--json", "status", NULL), 0);
    json_t *j = parse(o.out), *r;
    ck_assert_str_eq(json_string_value(json_object_get(j, "leader")), url_of(L, lu, sizeof(lu)));
    ck_assert_int_eq(json_array_size(json_object_get(j, "replicas")), 3);
    size_t i;
    int leaders = 0;
    json_array_foreach(json_object_get(j, "replicas"), i, r) {
        ck_assert(json_is_true(json_object_get(r, "reachable")));
        ck_assert(json_is_true(json_object_get(r, "ready")));
        ck_assert_str_eq(json_string_value(json_object_get(r, "from")), "zookeeper");
        leaders += strcmp(json_string_value(json_object_get(json_object_get(r, "status"), "role")), "leader") == 0;
    }
    ck_assert_int_eq(leaders, 1);
    /* the election's order: the leader holds the lowest member znode */
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(j, "replicas"), 0), "url")), lu);
    json_decref(j);
    ctl_run_free(&o);
}
END_TEST

/* Ring shares computed here with src/ring over what /v1/servers lists. */
static double expected_share(json_t *list, const char *server) {
    const char *names[16];
    char buf[16][300];
    int n = 0;
    json_t *e;
    size_t i;
    json_array_foreach(json_object_get(list, "servers"), i, e) {
        snprintf(buf[n], sizeof(buf[n]), "%s:%lld", json_string_value(json_object_get(e, "host")),
                 (long long)json_integer_value(json_object_get(e, "port")));
        names[n] = buf[n];
        n++;
    }
    char err[256];
    ring *r = ring_new(names, n, err, sizeof(err));
    ck_assert_ptr_nonnull(r);
    double s = ring_share(r, ring_find(r, server));
    ring_free(r);
    return s;
}

START_TEST(test_ctl_servers_table_and_json_agree_with_the_api) {
    char lu[128], flag[160];
    snprintf(flag, sizeof(flag), "--url=%s", url_of(L, lu, sizeof(lu)));
    ctl_run_out o;
    ck_assert_int_eq(ctl(&o, NULL, flag, "--json", "servers", NULL), 0);
    json_t *j = parse(o.out), *list = it_get_json(it_replica_port(C, L), "/v1/servers"), *r;
    ck_assert_str_eq(json_string_value(json_object_get(j, "ring")), RING_NAME);
    ck_assert(json_is_true(json_object_get(j, "figures")));
    json_t *rows = json_object_get(j, "servers");
    ck_assert_int_eq(json_array_size(rows), 3);
    double sum = 0;
    size_t i;
    const char *prev = "";
    int rated = 0;
    json_array_foreach(rows, i, r) {
        const char *srv = json_string_value(json_object_get(r, "server"));
        ck_assert_msg(strcmp(prev, srv) < 0, "rows not sorted: %s then %s", prev, srv);
        prev = srv;
        ck_assert_str_eq(json_string_value(json_object_get(r, "state")), "TASK_RUNNING");
        ck_assert(json_is_true(json_object_get(r, "published")));
        ck_assert(json_integer_value(json_object_get(r, "limit_bytes")) > 0);
        ck_assert(json_is_number(json_object_get(r, "hit_ratio")));
        rated += json_is_number(json_object_get(r, "evictions_per_s"));
        double share = json_number_value(json_object_get(r, "ring_share"));
        ck_assert_double_eq_tol(share, expected_share(list, srv), 1e-9);
        sum += share;
    }
    ck_assert_double_eq_tol(sum, 1.0, 1e-9);
    ck_assert_int_eq(rated, 3);        /* reports every second: a second one came within --rate-window */
    json_decref(list);
    ctl_run_free(&o);

    ck_assert_int_eq(ctl(&o, NULL, flag, "--rate-window=0", "servers", NULL), 0);
    char *line = o.out, *nl;
    int lines = 0;
    const char *ring_col = strstr(o.out, "RING");
    ck_assert_ptr_nonnull(ring_col);
    size_t width = (size_t)(strchr(o.out, '\n') - o.out);
    for (; (nl = strchr(line, '\n')); line = nl + 1, lines++) {
        ck_assert_uint_eq((size_t)(nl - line), width);       /* aligned: every row as wide as the header */
        if (lines) ck_assert_ptr_nonnull(strstr(line, "RUNNING"));
    }
    ck_assert_int_eq(lines, 4);
    json_decref(j);
    ctl_run_free(&o);
}
END_TEST

START_TEST(test_ctl_token_refused_names_the_problem) {
    char lu[128], flag[160], tok[1300];
    snprintf(flag, sizeof(flag), "--url=%s", url_of(L, lu, sizeof(lu)));
    snprintf(tok, sizeof(tok), "--admin-token-file=%s", bad_tok);
    ctl_run_out o;
    ck_assert_int_eq(ctl(&o, NULL, flag, tok, "scale", "5", NULL), 1);
    ck_assert_ptr_nonnull(strstr(o.err, "token refused"));
    ck_assert_ptr_nonnull(strstr(o.err, "check --admin-token-file"));
    ctl_run_free(&o);
    ck_assert_int_eq(ctl(&o, NULL, flag, "scale", "5", NULL), 1);
    ck_assert_ptr_nonnull(strstr(o.err, "token refused"));
    ck_assert_ptr_nonnull(strstr(o.err, "give --admin-token-file"));
    ctl_run_free(&o);
    snprintf(tok, sizeof(tok), "--admin-token-file=%s/missing", dir);
    ck_assert_int_eq(ctl(&o, NULL, flag, tok, "scale", "5", NULL), 2);
    ctl_run_free(&o);
    json_t *st = it_get_json(it_replica_port(C, L), "/v1/status");
    ck_assert_int_eq(json_integer_value(json_object_get(st, "desired")), 3);   /* nothing changed */
    json_decref(st);
}
END_TEST

/* --- a redirect out of the installation -------------------------------------------- */

static int outsider_requests, outsider_saw_token;
static char outsider_url[128];

static enum MHD_Result fake_answer(struct MHD_Connection *c, unsigned code, const char *body, const char *loc) {
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (loc) MHD_add_response_header(r, "Location", loc);
    enum MHD_Result rc = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return rc;
}

/* The "replica": redirects every POST, and names the outsider as leader. */
static enum MHD_Result on_fake_replica(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                       const char *v, const char *up, size_t *upsz, void **cc) {
    if (!*cc) {
        *cc = (void *)1;
        return MHD_YES;
    }
    if (*upsz) {
        *upsz = 0;
        return MHD_YES;
    }
    char loc[300], body[400];
    snprintf(loc, sizeof(loc), "%s%s", outsider_url, url);
    if (strcmp(method, "POST") == 0)
        return fake_answer(c, 307, "{\"error\":\"NOT_LEADER\"}", loc);
    snprintf(body, sizeof(body), "{\"id\":\"x\",\"http\":\"%s\",\"pid\":1,\"started\":\"t\"}", outsider_url);
    return fake_answer(c, strcmp(url, "/v1/leader") == 0 ? 200 : 404, body, NULL);
}

static enum MHD_Result on_outsider(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                   const char *v, const char *up, size_t *upsz, void **cc) {
    if (!*cc) {
        *cc = (void *)1;
        outsider_requests++;
        if (MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization")) outsider_saw_token++;
        return MHD_YES;
    }
    if (*upsz) {
        *upsz = 0;
        return MHD_YES;
    }
    return fake_answer(c, 404, "{\"error\":\"NOT_FOUND\"}", NULL);   /* not mcm: no identity */
}

START_TEST(test_ctl_redirect_out_of_the_installation_keeps_the_token) {
    int p1 = th_free_port(), p2 = th_free_port();
    snprintf(outsider_url, sizeof(outsider_url), "http://127.0.0.1:%d", p2);
    struct MHD_Daemon *a = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)p1, NULL, NULL,
                                            on_fake_replica, NULL, MHD_OPTION_END);
    struct MHD_Daemon *b = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)p2, NULL, NULL,
                                            on_outsider, NULL, MHD_OPTION_END);
    ck_assert(a && b);
    char flag[160], tok[1300];
    snprintf(flag, sizeof(flag), "--url=http://127.0.0.1:%d", p1);
    snprintf(tok, sizeof(tok), "--admin-token-file=%s", good_tok);
    ctl_run_out o;
    ck_assert_int_eq(ctl(&o, NULL, flag, tok, "scale", "3", NULL), 1);
    ck_assert_ptr_nonnull(strstr(o.err, "not a replica of this installation"));
    ck_assert_ptr_nonnull(strstr(o.err, "token was not sent"));
    ctl_run_free(&o);
    MHD_stop_daemon(a);
    MHD_stop_daemon(b);
    ck_assert_int_ge(outsider_requests, 1);    /* it was asked who it is (without the token) ... */
    ck_assert_int_eq(outsider_saw_token, 0);   /* ... and never got the token */
}
END_TEST

/* A replica that knows no leader (as during an election): everything 503 NO_LEADER. */
static enum MHD_Result on_leaderless(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                     const char *v, const char *up, size_t *upsz, void **cc) {
    if (!*cc) {
        *cc = (void *)1;
        return MHD_YES;
    }
    if (*upsz) {
        *upsz = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/v1/status") == 0)
        return fake_answer(c, 200, "{\"role\":\"follower\",\"leader_state\":\"follower\"}", NULL);
    return fake_answer(c, 503, "{\"error\":\"NO_LEADER\",\"message\":\"no leader is known\"}", NULL);
}

START_TEST(test_ctl_leader_unknown_is_named) {
    int p = th_free_port();
    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)p, NULL, NULL, on_leaderless,
                                            NULL, MHD_OPTION_END);
    ck_assert_ptr_nonnull(d);
    char flag[160], tok[1300];
    snprintf(flag, sizeof(flag), "--url=http://127.0.0.1:%d", p);
    snprintf(tok, sizeof(tok), "--admin-token-file=%s", good_tok);
    ctl_run_out o;
    ck_assert_int_eq(ctl(&o, NULL, flag, "status", NULL), 1);
    ck_assert_ptr_nonnull(strstr(o.err, "mcmctl: leader unknown"));
    ck_assert_ptr_nonnull(strstr(o.out, "UNKNOWN"));          /* the replicas are still shown */
    ctl_run_free(&o);
    ck_assert_int_eq(ctl(&o, NULL, flag, tok, "scale", "3", NULL), 1);
    ck_assert_ptr_nonnull(strstr(o.err, "leader unknown"));
    ctl_run_free(&o);
    MHD_stop_daemon(d);
}
END_TEST

/* --- operator calls, in order ---------------------------------------------------------- */

START_TEST(test_ctl_scale_through_a_follower_waits_for_the_servers) {
    char fu[128], flag[160], tok[1300];
    snprintf(flag, sizeof(flag), "--url=%s", url_of(F, fu, sizeof(fu)));
    snprintf(tok, sizeof(tok), "--admin-token-file=%s", good_tok);
    ctl_run_out o;
    ck_assert_int_eq(ctl(&o, NULL, flag, tok, "scale", "4", NULL), 0);
    ck_assert_ptr_nonnull(strstr(o.out, "scaled to 4 servers"));
    ck_assert(strncmp(o.out, "scale to 4: ", 12) == 0);   /* progress as plain lines (not a tty) ... */
    ck_assert_ptr_nonnull(strstr(o.out, "\nscaled to 4 servers"));   /* ... then the result */
    ck_assert_ptr_null(strchr(o.out, '\r'));
    ctl_run_free(&o);
    /* It returned only once the result was there: no waiting here. */
    json_t *l = it_get_json(it_replica_port(C, F), "/v1/servers");
    ck_assert_int_eq(json_array_size(json_object_get(l, "servers")), 4);
    json_decref(l);
    json_t *st = it_get_json(it_replica_port(C, L), "/v1/status");
    ck_assert_int_eq(json_integer_value(json_object_get(st, "running")), 4);
    json_decref(st);
}
END_TEST

START_TEST(test_ctl_history_shows_the_operator_decision) {
    char zk[300];
    snprintf(zk, sizeof(zk), "--zk=%s", it_zk_url(C));
    ctl_run_out o;
    ck_assert_int_eq(ctl(&o, NULL, zk, "--json", "history", NULL), 0);
    json_t *j = parse(o.out), *d;
    ck_assert_int_eq(json_integer_value(json_object_get(j, "desired")), 4);
    int found = 0;
    size_t i;
    json_array_foreach(json_object_get(json_object_get(j, "autoscale"), "decisions"), i, d)
        found |= strcmp(json_string_value(json_object_get(d, "r")), "operator") == 0 &&
                 json_integer_value(json_object_get(d, "from")) == 3 && json_integer_value(json_object_get(d, "to")) == 4;
    ck_assert_msg(found, "no operator decision 3 -> 4 in %s", o.out);
    ck_assert(json_object_size(json_object_get(j, "counters")) > 0);
    json_decref(j);
    ctl_run_free(&o);
    ck_assert_int_eq(ctl(&o, NULL, zk, "history", NULL), 0);
    ck_assert_ptr_nonnull(strstr(o.out, "operator"));
    ck_assert_ptr_nonnull(strstr(o.out, "TIME"));
    ctl_run_free(&o);
    /* Without --zk: the counters, and where the list is. */
    char lu[128], flag[160];
    snprintf(flag, sizeof(flag), "--url=%s", url_of(L, lu, sizeof(lu)));
    ck_assert_int_eq(ctl(&o, NULL, flag, "history", NULL), 0);
    ck_assert_ptr_nonnull(strstr(o.out, "give --zk"));
    ck_assert_ptr_nonnull(strstr(o.out, "evaluations on the current leader"));
    ctl_run_free(&o);
}
END_TEST

static int has_task(json_t *list, const char *id) {
    json_t *e;
    size_t i;
    json_array_foreach(json_object_get(list, "servers"), i, e)
        if (strcmp(json_string_value(json_object_get(e, "task_id")), id) == 0) return 1;
    return 0;
}

START_TEST(test_ctl_restart_waits_for_the_replacement) {
    char zk[300], tok[1300], id[256];
    snprintf(zk, sizeof(zk), "--zk=%s", it_zk_url(C));
    snprintf(tok, sizeof(tok), "--admin-token-file=%s", good_tok);
    json_t *l = it_get_json(it_replica_port(C, L), "/v1/servers");
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(json_array_get(json_object_get(l, "servers"), 1), "task_id")));
    json_decref(l);
    ctl_run_out o;
    ck_assert_int_eq(ctl(&o, NULL, zk, tok, "restart", "no-such-task", NULL), 1);
    ck_assert_ptr_nonnull(strstr(o.err, "404"));
    ctl_run_free(&o);
    ck_assert_int_eq(ctl(&o, NULL, zk, tok, "restart", id, NULL), 0);
    ck_assert_ptr_nonnull(strstr(o.out, "replaced by mcm"));
    ctl_run_free(&o);
    l = it_get_json(it_replica_port(C, L), "/v1/servers");
    ck_assert_int_eq(json_array_size(json_object_get(l, "servers")), 4);
    ck_assert(!has_task(l, id));
    json_decref(l);
}
END_TEST

START_TEST(test_ctl_watch_prints_each_change) {
    char zk[300], tok[1300], watch[1100], bin[1024];
    snprintf(zk, sizeof(zk), "--zk=%s", it_zk_url(C));
    snprintf(tok, sizeof(tok), "--admin-token-file=%s", good_tok);
    snprintf(watch, sizeof(watch), "%s/watch.out", dir);
    snprintf(bin, sizeof(bin), "%s", ctlbin);
    char *argv[] = {bin, zk, "--json", "--changes=1", "--poll-wait=5s", "watch", NULL};
    th_proc *w = th_proc_start(argv, watch);
    ctl_run_out o;
    usleep(1500 * 1000);                      /* the watch has read the current list */
    ck_assert_int_eq(ctl(&o, NULL, zk, tok, "scale", "3", NULL), 0);
    ctl_run_free(&o);
    int st = -1, exited = 0;
    for (int t = 0; t < 60000 && !(exited = th_proc_exited(w, &st)); t += 100) usleep(100000);
    ck_assert_msg(exited, "watch did not exit after one change");
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    th_proc_free(w);
    FILE *f = fopen(watch, "r");
    char line[8192];
    int n = 0, last = -1;
    while (f && fgets(line, sizeof(line), f)) {
        if (line[0] != '{') continue;
        json_t *j = parse(line);
        last = (int)json_array_size(json_object_get(j, "servers"));
        if (n == 0) ck_assert_int_eq(last, 4);
        json_decref(j);
        n++;
    }
    if (f) fclose(f);
    ck_assert_int_eq(n, 2);                   /* the list it started with, and the change */
    ck_assert_int_eq(last, 3);
}
END_TEST

START_TEST(test_ctl_teardown_asks_for_the_framework_id) {
    char lu[128], flag[160], tok[1300], fw[256], typed[300];
    snprintf(flag, sizeof(flag), "--url=%s", url_of(L, lu, sizeof(lu)));
    snprintf(tok, sizeof(tok), "--admin-token-file=%s", good_tok);
    it_status_str(it_replica_port(C, L), "framework_id", fw, sizeof(fw));
    ctl_run_out o;
    ck_assert_int_eq(ctl(&o, "not-the-id\n", flag, tok, "teardown", NULL), 1);
    ck_assert_ptr_nonnull(strstr(o.err, fw));                     /* it showed what to type */
    ck_assert_ptr_nonnull(strstr(o.err, "not confirmed"));
    ctl_run_free(&o);
    json_t *l = it_get_json(it_replica_port(C, L), "/v1/servers");
    ck_assert_int_eq(json_array_size(json_object_get(l, "servers")), 3);    /* nothing done */
    json_decref(l);
    snprintf(typed, sizeof(typed), "%s\n", fw);
    ck_assert_int_eq(ctl(&o, typed, flag, tok, "teardown", NULL), 0);
    ck_assert_ptr_nonnull(strstr(o.out, "torn down"));
    ctl_run_free(&o);
    l = it_wait_servers(C, F, 0, 10000);      /* the follower's own watch follows within moments */
    ck_assert_msg(l != NULL, "the follower still lists servers after the teardown");
    json_decref(l);
}
END_TEST

int main(void) {
    Suite *s = suite_create("ctl");
    TCase *tc = tcase_create("ctl");
    tcase_set_timeout(tc, 600);
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_ctl_usage_errors_exit_2);
    tcase_add_test(tc, test_ctl_no_replica_reachable_is_one_line);
    tcase_add_test(tc, test_ctl_status_through_a_follower_names_the_leader);
    tcase_add_test(tc, test_ctl_status_finds_every_replica_through_zookeeper);
    tcase_add_test(tc, test_ctl_servers_table_and_json_agree_with_the_api);
    tcase_add_test(tc, test_ctl_token_refused_names_the_problem);
    tcase_add_test(tc, test_ctl_redirect_out_of_the_installation_keeps_the_token);
    tcase_add_test(tc, test_ctl_leader_unknown_is_named);
    tcase_add_test(tc, test_ctl_scale_through_a_follower_waits_for_the_servers);
    tcase_add_test(tc, test_ctl_history_shows_the_operator_decision);
    tcase_add_test(tc, test_ctl_restart_waits_for_the_replacement);
    tcase_add_test(tc, test_ctl_watch_prints_each_change);
    tcase_add_test(tc, test_ctl_teardown_asks_for_the_framework_id);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);    /* one installation for every test (see the top) */
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
