/* test_sched.c -- the scheduler client against a real HTTP peer (peer.c):
 * subscription, stream id and auth headers, calls and their errors, 307
 * chains, master lists, every kind of broken stream, the heartbeat watchdog,
 * and prompt stops. */
#include "mesos_sched.h"

#include "mcm.h"
#include "opt.h"
#include "harness.h"
#include "peer.h"
#include "util.h"

#include <check.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#define T Mesos__V1__Scheduler__Call__Type
#define C_SUBSCRIBE MESOS__V1__SCHEDULER__CALL__TYPE__SUBSCRIBE
#define C_RECONCILE MESOS__V1__SCHEDULER__CALL__TYPE__RECONCILE
#define E_SUBSCRIBED MESOS__V1__SCHEDULER__EVENT__TYPE__SUBSCRIBED
#define E_HEARTBEAT MESOS__V1__SCHEDULER__EVENT__TYPE__HEARTBEAT
#define E_ERROR MESOS__V1__SCHEDULER__EVENT__TYPE__ERROR

/* --- what the callbacks saw ------------------------------------------------- */

typedef struct rec {
    pthread_mutex_t mu;
    int types[512];
    int nevents;
    char why[32][512];
    int ndown;
    int stopped;          /* set by the test right before stop(): callbacks after it are a bug */
    int late_callbacks;
} rec;

static void on_event(void *ctx, Mesos__V1__Scheduler__Event *ev) {
    rec *r = ctx;
    pthread_mutex_lock(&r->mu);
    if (r->nevents < 512) r->types[r->nevents++] = ev->has_type ? (int)ev->type : 0;
    pthread_mutex_unlock(&r->mu);
    mesos__v1__scheduler__event__free_unpacked(ev, NULL);
}

static void on_down(void *ctx, const char *why) {
    rec *r = ctx;
    pthread_mutex_lock(&r->mu);
    if (r->ndown < 32) snprintf(r->why[r->ndown], sizeof(r->why[0]), "%s", why);
    r->ndown++;
    pthread_mutex_unlock(&r->mu);
}

static int count_type(rec *r, int type) {
    pthread_mutex_lock(&r->mu);
    int n = 0;
    for (int i = 0; i < r->nevents; i++) n += r->types[i] == type;
    pthread_mutex_unlock(&r->mu);
    return n;
}

static int ndown(rec *r) {
    pthread_mutex_lock(&r->mu);
    int n = r->ndown;
    pthread_mutex_unlock(&r->mu);
    return n;
}

/* 1 if some disconnect reason so far contains needle. */
static int down_says(rec *r, const char *needle) {
    pthread_mutex_lock(&r->mu);
    int found = 0;
    for (int i = 0; i < r->ndown && i < 32; i++) found |= strstr(r->why[i], needle) != NULL;
    pthread_mutex_unlock(&r->mu);
    return found;
}

/* --- setup -------------------------------------------------------------------- */

typedef struct fixture {
    rec r;
    opt_master om;
    mesos_sched_config cfg;
    mesos_sched *s;
} fixture;

static void fx_init(fixture *f, const char *master) {
    char err[256];
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->r.mu, NULL);
    ck_assert_msg(opt_parse_master(master, &f->om, err, sizeof(err)) == MCM_OK, "%s", err);
    f->cfg = (mesos_sched_config){
        .master = &f->om, .user = "nobody", .name = "mcm-test", .role = "mcm", .hostname = "localhost",
        .failover_timeout_s = 604800, .heartbeat_misses = 3, .call_timeout_ms = 2000,
        .backoff_min_ms = 20, .backoff_max_ms = 200, .subscribe_timeout_ms = 1500, .max_record = 1024,
    };
}

static void fx_new(fixture *f) {
    char err[256];
    mesos_sched_callbacks cb = {&f->r, on_event, on_down, NULL};
    f->s = mesos_sched_new(&f->cfg, &cb, err, sizeof(err));
    ck_assert_msg(f->s != NULL, "%s", err);
}

static void fx_free(fixture *f) {
    mesos_sched_free(f->s);
    opt_master_free(&f->om);
}

static int subscribed_cond(void *arg) {
    return mesos_sched_subscribed((mesos_sched *)arg);
}

static void wait_subscribed(fixture *f) {
    ck_assert_msg(th_wait(subscribed_cond, f->s, 5000), "not subscribed within 5 s");
}

typedef struct wait_n {
    rec *r;
    int n;
} wait_n;

static int down_cond(void *arg) {
    wait_n *w = arg;
    return ndown(w->r) >= w->n;
}

static void wait_down(fixture *f, int n) {
    wait_n w = {&f->r, n};
    ck_assert_msg(th_wait(down_cond, &w, 5000), "no disconnect #%d within 5 s", n);
}

typedef struct wait_sub {
    peer *p;
    int n;
} wait_sub;

static int subs_cond(void *arg) {
    wait_sub *w = arg;
    return peer_subscribes(w->p) >= w->n;
}

static void wait_subscribes(peer *p, int n) {
    wait_sub w = {p, n};
    ck_assert_msg(th_wait(subs_cond, &w, 5000), "peer saw fewer than %d SUBSCRIBEs", n);
}

/* --- tests -------------------------------------------------------------------- */

START_TEST(test_mesos_sched_subscribes_and_calls_carry_stream_id_and_auth) {
    peer *p = peer_start();
    fixture f;
    fx_init(&f, peer_url(p));
    f.cfg.principal = "mcm";
    f.cfg.secret = "s3cret";
    fx_new(&f);
    char err[256], buf[256];
    ck_assert_int_eq(mesos_sched_reconcile(f.s, NULL, NULL, 0, err, sizeof(err)), MCM_ERR);
    ck_assert_str_eq(err, "not subscribed");
    ck_assert_int_eq(mesos_sched_start(f.s, NULL), MCM_OK);
    ck_assert_int_eq(mesos_sched_start(f.s, NULL), MCM_ERR);   /* already started */
    wait_subscribed(&f);
    ck_assert_int_eq(count_type(&f.r, E_SUBSCRIBED), 1);
    mesos_sched_framework_id(f.s, buf, sizeof(buf));
    ck_assert_str_eq(buf, "fw-1");
    mesos_sched_master_url(f.s, buf, sizeof(buf));
    ck_assert_str_eq(buf, peer_url(p));
    const char *tids[] = {"t1", "t2"}, *aids[] = {"a1", NULL};
    ck_assert_msg(mesos_sched_reconcile(f.s, tids, aids, 2, err, sizeof(err)) == MCM_OK, "%s", err);
    ck_assert_msg(mesos_sched_revive(f.s, err, sizeof(err)) == MCM_OK, "%s", err);
    peer_req reqs[8];
    int n = peer_requests(p, reqs, 8);
    ck_assert_int_eq(n, 3);
    /* SUBSCRIBE: no stream id, protobuf both ways, empty Expect, Basic auth */
    ck_assert_int_eq(reqs[0].call_type, C_SUBSCRIBE);
    ck_assert_int_eq(reqs[0].has_stream_id, 0);
    ck_assert_str_eq(reqs[0].ctype, "application/x-protobuf");
    ck_assert_str_eq(reqs[0].accept, "application/x-protobuf");
    ck_assert_int_eq(reqs[0].has_expect, 0);
    ck_assert_str_eq(reqs[0].auth, "Basic bWNtOnMzY3JldA==");   /* base64("mcm:s3cret") */
    ck_assert_str_eq(reqs[0].call_fwid, "");
    ck_assert_int_eq(reqs[0].n_roles, 1);
    ck_assert_int_eq(reqs[0].n_caps, 3);
    ck_assert_int_eq(reqs[0].checkpoint, 1);
    /* calls: the stream id of this subscription, the framework ID, auth */
    for (int i = 1; i < 3; i++) {
        ck_assert_str_eq(reqs[i].stream_id, "stream-1");
        ck_assert_msg(strcmp(reqs[i].call_fwid, "fw-1") == 0, "req %d type %d fwid '%s'", i, reqs[i].call_type, reqs[i].call_fwid);
        ck_assert_str_eq(reqs[i].auth, "Basic bWNtOnMzY3JldA==");
        ck_assert_int_eq(reqs[i].has_expect, 0);
    }
    ck_assert_int_eq(reqs[1].call_type, C_RECONCILE);
    ck_assert_int_eq(ndown(&f.r), 0);
    fx_free(&f);
    peer_free(p);
}
END_TEST

START_TEST(test_mesos_sched_no_auth_header_without_secret) {
    peer *p = peer_start();
    fixture f;
    fx_init(&f, peer_url(p));
    f.cfg.principal = "mcm";
    fx_new(&f);
    ck_assert_int_eq(mesos_sched_start(f.s, NULL), MCM_OK);
    wait_subscribed(&f);
    peer_req req;
    peer_requests(p, &req, 1);
    ck_assert_str_eq(req.auth, "");
    fx_free(&f);
    peer_free(p);
}
END_TEST

START_TEST(test_mesos_sched_call_error_surfaces_status_and_body) {
    peer *p = peer_start();
    fixture f;
    fx_init(&f, peer_url(p));
    fx_new(&f);
    ck_assert_int_eq(mesos_sched_start(f.s, NULL), MCM_OK);
    wait_subscribed(&f);
    char err[256];
    peer_set_call_status(p, 400, "Failed to validate scheduler::Call: Expecting 'uuid' to be present\n");
    ck_assert_int_eq(mesos_sched_kill(f.s, "t1", NULL, err, sizeof(err)), MCM_ERR);
    ck_assert_str_eq(err, "400 Failed to validate scheduler::Call: Expecting 'uuid' to be present");
    peer_set_call_status(p, 403, "");
    ck_assert_int_eq(mesos_sched_teardown(f.s, err, sizeof(err)), MCM_ERR);
    ck_assert_str_eq(err, "403");
    peer_set_call_status(p, 200, "ok");   /* only 202 means accepted */
    ck_assert_int_eq(mesos_sched_suppress(f.s, err, sizeof(err)), MCM_ERR);
    ck_assert_str_eq(err, "200 ok");
    peer_set_call_status(p, 202, "");
    ck_assert_msg(mesos_sched_suppress(f.s, err, sizeof(err)) == MCM_OK, "%s", err);
    /* SUBSCRIBE through the generic call is refused locally */
    Mesos__V1__Scheduler__Call call = MESOS__V1__SCHEDULER__CALL__INIT;
    call.has_type = 1;
    call.type = C_SUBSCRIBE;
    ck_assert_int_eq(mesos_sched_call(f.s, &call, err, sizeof(err)), MCM_ERR);
    /* a generic call gets our framework ID; the caller's struct is untouched */
    call.type = MESOS__V1__SCHEDULER__CALL__TYPE__REVIVE;
    ck_assert_msg(mesos_sched_call(f.s, &call, err, sizeof(err)) == MCM_OK, "%s", err);
    ck_assert_ptr_null(call.framework_id);
    fx_free(&f);
    peer_free(p);
}
END_TEST

START_TEST(test_mesos_sched_call_timeout_is_bounded_and_clear) {
    peer *p = peer_start();
    fixture f;
    fx_init(&f, peer_url(p));
    f.cfg.call_timeout_ms = 300;
    fx_new(&f);
    ck_assert_int_eq(mesos_sched_start(f.s, NULL), MCM_OK);
    wait_subscribed(&f);
    peer_set_call_status(p, 0, NULL);   /* the master takes the call and never answers */
    char err[256];
    int64_t t0 = util_now_ms();
    ck_assert_int_eq(mesos_sched_reconcile(f.s, NULL, NULL, 0, err, sizeof(err)), MCM_ERR);
    int64_t took = util_now_ms() - t0;
    ck_assert_msg(strstr(err, "POST http://127.0.0.1") && strstr(err, "timed out"), "%s", err);
    ck_assert_msg(took >= 250 && took < 1500, "call took %lld ms", (long long)took);
    ck_assert_int_eq(mesos_sched_subscribed(f.s), 1);   /* a slow call does not end the stream */
    fx_free(&f);
    peer_free(p);
}
END_TEST

static char loc_b[128], loc_c[128], loc_self[128];

START_TEST(test_mesos_sched_follows_scheme_less_307_chain) {
    peer *a = peer_start(), *b = peer_start(), *c = peer_start();
    snprintf(loc_b, sizeof(loc_b), "//127.0.0.1:%d/api/v1/scheduler", peer_port(b));
    snprintf(loc_c, sizeof(loc_c), "//127.0.0.1:%d/master/api/v1/scheduler", peer_port(c));
    peer_answer ra = {.kind = PEER_REDIRECT, .location = loc_b};
    peer_answer rb = {.kind = PEER_REDIRECT, .location = loc_c};
    peer_set_default(a, &ra);
    peer_set_default(b, &rb);
    fixture f;
    char masters[256];                                 /* credentials go to configured masters only */
    snprintf(masters, sizeof(masters), "http://127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d", peer_port(a),
             peer_port(b), peer_port(c));
    fx_init(&f, masters);
    f.cfg.principal = "mcm";
    f.cfg.secret = "pw";
    fx_new(&f);
    ck_assert_int_eq(mesos_sched_start(f.s, NULL), MCM_OK);
    wait_subscribed(&f);
    char buf[256], err[256];
    mesos_sched_master_url(f.s, buf, sizeof(buf));
    ck_assert_str_eq(buf, peer_url(c));
    ck_assert_msg(mesos_sched_revive(f.s, err, sizeof(err)) == MCM_OK, "%s", err);
    peer_req reqs[4];
    ck_assert_int_eq(peer_requests(c, reqs, 4), 2);   /* SUBSCRIBE, REVIVE: calls go to the leader */
    ck_assert_str_eq(reqs[0].auth, reqs[1].auth);      /* credentials survive the hops */
    ck_assert_str_eq(reqs[1].stream_id, "stream-1");
    ck_assert_int_eq(peer_requests(a, reqs, 4), 1);
    ck_assert_str_ne(reqs[0].auth, "");
    ck_assert_int_eq(ndown(&f.r), 0);
    fx_free(&f);
    peer_free(a);
    peer_free(b);
    peer_free(c);
}
END_TEST

/* A master (or whoever writes the Mesos ZooKeeper path) redirecting to a
 * host of its choosing collected the principal's secret in HTTP Basic. Now a
 * redirect to anything but a configured or detected master, or to another
 * scheme, is not followed while credentials are configured. */
START_TEST(test_mesos_sched_secret_never_reaches_a_redirect_target) {
    peer *a = peer_start(), *evil = peer_start();
    static char to_evil[128], to_https[128];
    snprintf(to_evil, sizeof(to_evil), "//127.0.0.1:%d/api/v1/scheduler", peer_port(evil));
    snprintf(to_https, sizeof(to_https), "https://127.0.0.1:%d/api/v1/scheduler", peer_port(a));
    peer_answer r1 = {.kind = PEER_REDIRECT, .location = to_evil};
    peer_answer r2 = {.kind = PEER_REDIRECT, .location = to_https};
    peer_push(a, &r1);
    peer_push(a, &r2);
    peer_set_default(a, &r1);
    fixture f;
    fx_init(&f, peer_url(a));
    f.cfg.principal = "mcm";
    f.cfg.secret = "s3cret";
    fx_new(&f);
    ck_assert_int_eq(mesos_sched_start(f.s, NULL), MCM_OK);
    wait_down(&f, 3);
    ck_assert_msg(down_says(&f.r, "not a configured or detected master"), "%s", f.r.why[0]);
    ck_assert_int_eq(peer_subscribes(evil), 0);
    peer_req reqs[8];
    int n = peer_requests(evil, reqs, 8);
    ck_assert_int_eq(n, 0);                            /* never even asked, so never given the secret */
    ck_assert_int_ge(peer_requests(a, reqs, 8), 3);
    ck_assert_str_ne(reqs[0].auth, "");                /* the configured master did get it */
    fx_free(&f);
    peer_free(a);
    peer_free(evil);
}
END_TEST

/* Without credentials there is nothing to leak: redirects are followed. */
START_TEST(test_mesos_sched_redirect_followed_without_credentials) {
    peer *a = peer_start(), *b = peer_start();
    static char to_b[128];
    snprintf(to_b, sizeof(to_b), "//127.0.0.1:%d/api/v1/scheduler", peer_port(b));
    peer_answer r = {.kind = PEER_REDIRECT, .location = to_b};
    peer_set_default(a, &r);
    fixture f;
    fx_init(&f, peer_url(a));
    fx_new(&f);
    ck_assert_int_eq(mesos_sched_start(f.s, NULL), MCM_OK);
    wait_subscribed(&f);
    ck_assert_int_eq(peer_subscribes(b), 1);
    fx_free(&f);
    peer_free(a);
    peer_free(b);
}
END_TEST

/* A master that answers SUBSCRIBED and then ERROR got a SUBSCRIBE every
 * backoff_min_ms forever (570 in 9 s with "framework removed"): a
 * subscription that ends early now counts as a failure, and a new start
 * (a new term) waits out the rest of the backoff too. */
START_TEST(test_mesos_sched_early_end_backs_off_across_restarts) {
    peer_answer a = {.kind = PEER_ERROR, .body = "Framework has been removed", .hb_interval_s = 15};
    peer *p = peer_start();
    peer_set_default(p, &a);
    fixture f;
    fx_init(&f, peer_url(p));
    f.cfg.backoff_min_ms = 200;
    f.cfg.backoff_max_ms = 5000;
    fx_new(&f);
    ck_assert_int_eq(mesos_sched_start(f.s, NULL), MCM_OK);
    util_sleep_ms(3000);
    int n = peer_subscribes(p);
    fprintf(stderr, "SUBSCRIBEs in 3 s to a master answering SUBSCRIBED then ERROR: %d\n", n);
    ck_assert_int_ge(n, 2);
    ck_assert_int_le(n, 6);                            /* 200, 400, 800, 1600 ms (jittered down to half) */
    mesos_sched_stop(f.s);
    int before = peer_subscribes(p);
    ck_assert_int_eq(mesos_sched_start(f.s, NULL), MCM_OK);
    util_sleep_ms(300);
    ck_assert_msg(peer_subscribes(p) == before, "a restart subscribed at once (%d -> %d)", before,
                  peer_subscribes(p));
    fx_free(&f);
    peer_free(p);
}
END_TEST

/* A 4 MB response header: libcurl gives up with CURLE_OUT_OF_MEMORY, which
 * was logged as "Out of memory". A fake master on a raw socket sends it. */
typedef struct bighdr {
    int lfd, port;
    pthread_t t;
} bighdr;

static void *bighdr_main(void *arg) {
    bighdr *b = arg;
    for (;;) {
        int fd = accept(b->lfd, NULL, NULL);
        if (fd < 0) return NULL;
        char req[4096];
        (void)!recv(fd, req, sizeof(req), 0);
        const char *head = "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nX-Big: ";
        size_t big = 4u << 20;
        char *line = malloc(big);
        memset(line, 'a', big);
        (void)!send(fd, head, strlen(head), MSG_NOSIGNAL);
        for (size_t off = 0; off < big;) {
            ssize_t w = send(fd, line + off, big - off, MSG_NOSIGNAL);
            if (w <= 0) break;
            off += (size_t)w;
        }
        free(line);
        close(fd);
    }
}

START_TEST(test_mesos_sched_huge_header_is_named) {
    bighdr b;
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t al = sizeof(a);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    b.lfd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_eq(bind(b.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(b.lfd, 8), 0);
    getsockname(b.lfd, (struct sockaddr *)&a, &al);
    b.port = ntohs(a.sin_port);
    pthread_create(&b.t, NULL, bighdr_main, &b);
    char master[64];
    snprintf(master, sizeof(master), "http://127.0.0.1:%d", b.port);
    fixture f;
    fx_init(&f, master);
    fx_new(&f);
    ck_assert_int_eq(mesos_sched_start(f.s, NULL), MCM_OK);
    wait_down(&f, 1);
    fprintf(stderr, "4 MB header: %s\n", f.r.why[0]);
    ck_assert_msg(down_says(&f.r, "response headers too large"), "%s", f.r.why[0]);
    fx_free(&f);
    shutdown(b.lfd, SHUT_RDWR);
    close(b.lfd);
    pthread_join(b.t, NULL);
}
END_TEST

/* A heartbeat every millisecond: the owner gets at most one a second. */
START_TEST(test_mesos_sched_heartbeat_flood_coalesced) {
    peer_answer a = {.kind = PEER_STREAM, .hb_interval_s = 15, .heartbeat_ms = 1};
    peer *p = peer_start();
    peer_set_default(p, &a);
    fixture f;
    fx_init(&f, peer_url(p));
    fx_new(&f);
    ck_assert_int_eq(mesos_sched_start(f.s, NULL), MCM_OK);
    wait_subscribed(&f);
    util_sleep_ms(2500);
    int n = count_type(&f.r, E_HEARTBEAT);
    fprintf(stderr, "heartbeats handed out in 2.5 s of a 1 ms flood: %d\n", n);
    ck_assert_int_ge(n, 1);
    ck_assert_int_le(n, 4);
    ck_assert(mesos_sched_subscribed(f.s));
    fx_free(&f);
    peer_free(p);
}
END_TEST

START_TEST(test_mesos_sched_redirect_loop_gives_up_and_retries) {
    peer *a = peer_start();
    snprintf(loc_self, sizeof(loc_self), "//127.0.0.1:%d/api/v1/scheduler", peer_port(a));
    peer_answer ra = {.kind = PEER_REDIRECT, .location = loc_self};
    for (int i = 0; i < 4; i++) peer_push(a, &ra);
    fixture f;
    fx_init(&f, peer_url(a));
    fx_new(&f);
    ck_assert_int_eq(mesos_sched_start(f.s, NULL), MCM_OK);
    wait_down(&f, 1);
    ck_assert_msg(down_says(&f.r, "more than 3 redirects"), "%s", f.r.why[0]);
    wait_subscribed(&f);   /* the 5th SUBSCRIBE gets the default stream */
    ck_assert_int_eq(peer_subscribes(a), 5);
    fx_free(&f);
    peer_free(a);
}
END_TEST

START_TEST(test_mesos_sched_master_list_skips_dead_and_remembers) {
    peer *b = peer_start();
    int dead = th_free_port();
    char master[256];
    snprintf(master, sizeof(master), "http://127.0.0.1:%d,127.0.0.1:%d", dead, peer_port(b));
    fixture f;
    fx_init(&f, master);
    fx_new(&f);
    ck_assert_int_eq(mesos_sched_start(f.s, NULL), MCM_OK);
    wait_subscribed(&f);
    ck_assert_int_eq(ndown(&f.r), 0);   /* the dead one was skipped within the round */
    peer_drop_streams(b);
    wait_down(&f, 1);
    ck_assert_msg(down_says(&f.r, peer_url(b)), "%s", f.r.why[0]);
    wait_subscribes(b, 2);
    wait_subscribed(&f);
    ck_assert_int_eq(ndown(&f.r), 1);
    fx_free(&f);
    peer_free(b);
}
END_TEST

START_TEST(test_mesos_sched_all_masters_down_reports_and_backs_off) {
    char master[128];
    snprintf(master, sizeof(master), "http://127.0.0.1:%d", th_free_port());
    fixture f;
    fx_init(&f, master);
    fx_new(&f);
    ck_assert_int_eq(mesos_sched_start(f.s, NULL), MCM_OK);
    wait_down(&f, 3);
    ck_assert_msg(down_says(&f.r, "SUBSCRIBE to http://127.0.0.1"), "%s", f.r.why[0]);
    ck_assert_int_eq(mesos_sched_subscribed(f.s), 0);
    fx_free(&f);
}
END_TEST

/* One broken answer, then the default good stream: a clear reason and a
 * reconnect, never a crash. */
static void broken_then_recovers(const peer_answer *bad, const char *needle) {
    peer *p = peer_start();
    peer_push(p, bad);
    fixture f;
    fx_init(&f, peer_url(p));
    fx_new(&f);
    ck_assert_int_eq(mesos_sched_start(f.s, NULL), MCM_OK);
    wait_down(&f, 1);
    ck_assert_msg(down_says(&f.r, needle), "reason '%s' lacks '%s'", f.r.why[0], needle);
    wait_subscribes(p, 2);
    wait_subscribed(&f);
    char err[256];
    ck_assert_msg(mesos_sched_revive(f.s, err, sizeof(err)) == MCM_OK, "%s", err);
    peer_req reqs[4];
    ck_assert_int_ge(peer_requests(p, reqs, 4), 3);
    ck_assert_int_eq(reqs[1].has_stream_id, 0);          /* the 2nd SUBSCRIBE has no stale id */
    ck_assert_str_eq(reqs[2].stream_id, "stream-2");     /* calls use the new one */
    fx_free(&f);
    peer_free(p);
}

START_TEST(test_mesos_sched_bad_length_prefix_reconnects) {
    static const uint8_t raw[] = "12x\nxxxxxxxxxxxx";
    peer_answer a = {.kind = PEER_RAW, .raw = raw, .raw_len = sizeof(raw) - 1};
    broken_then_recovers(&a, "bad framing in the event stream");
}
END_TEST

START_TEST(test_mesos_sched_truncated_protobuf_reconnects) {
    /* a length-delimited field (type) claiming more bytes than the record has */
    static const uint8_t raw[] = "4\n\x12\x20\x0a\x01";
    peer_answer a = {.kind = PEER_RAW, .raw = raw, .raw_len = sizeof(raw) - 1};
    broken_then_recovers(&a, "undecodable Event (4 bytes)");
}
END_TEST

START_TEST(test_mesos_sched_oversized_record_reconnects) {
    static const uint8_t raw[] = "5000000\n";   /* max_record is 1024 in these tests */
    peer_answer a = {.kind = PEER_RAW, .raw = raw, .raw_len = sizeof(raw) - 1};
    broken_then_recovers(&a, "exceeds the maximum 1024");
}
END_TEST

START_TEST(test_mesos_sched_wrong_content_type_reconnects) {
    peer_answer a = {.kind = PEER_STREAM, .ctype = "application/json", .hb_interval_s = 15};
    broken_then_recovers(&a, "Content-Type 'application/json'");
}
END_TEST

START_TEST(test_mesos_sched_missing_stream_id_reconnects) {
    peer_answer a = {.kind = PEER_STREAM, .no_stream_id = 1, .hb_interval_s = 15};
    broken_then_recovers(&a, "no Mesos-Stream-Id");
}
END_TEST

START_TEST(test_mesos_sched_non_200_reconnects_with_body) {
    peer_answer a = {.kind = PEER_STATUS, .status = 503, .body = "No leader elected"};
    broken_then_recovers(&a, "answered 503 No leader elected");
}
END_TEST

START_TEST(test_mesos_sched_error_event_delivered_then_reconnects) {
    peer_answer a = {.kind = PEER_ERROR, .body = "Framework has been removed", .hb_interval_s = 15};
    peer *p = peer_start();
    peer_push(p, &a);
    fixture f;
    fx_init(&f, peer_url(p));
    fx_new(&f);
    ck_assert_int_eq(mesos_sched_start(f.s, NULL), MCM_OK);
    wait_down(&f, 1);
    ck_assert_msg(down_says(&f.r, "sent ERROR: Framework has been removed"), "%s", f.r.why[0]);
    ck_assert_int_eq(count_type(&f.r, E_ERROR), 1);   /* the owner saw the event itself */
    wait_subscribes(p, 2);
    wait_subscribed(&f);
    fx_free(&f);
    peer_free(p);
}
END_TEST

/* MESOS-4712: subscribing again after "failed over" would evict the scheduler
 * that took over, which would evict us back, forever. */
START_TEST(test_mesos_sched_failed_over_is_never_resubscribed) {
    peer_answer a = {.kind = PEER_ERROR, .body = "Framework failed over", .hb_interval_s = 15};
    peer *p = peer_start();
    peer_push(p, &a);
    fixture f;
    fx_init(&f, peer_url(p));
    fx_new(&f);
    ck_assert_int_eq(mesos_sched_start(f.s, "F-1"), MCM_OK);
    wait_down(&f, 1);
    ck_assert(down_says(&f.r, "sent ERROR: Framework failed over"));
    util_sleep_ms(1000);   /* backoff_max is 200 ms: a retry would have come by now */
    ck_assert_int_eq(peer_subscribes(p), 1);
    ck_assert_int_eq(ndown(&f.r), 1);
    ck_assert(!mesos_sched_subscribed(f.s));
    mesos_sched_stop(f.s);   /* prompt even while parked */
    ck_assert_int_eq(mesos_sched_start(f.s, "F-1"), MCM_OK);   /* a new term may subscribe again */
    wait_subscribes(p, 2);
    fx_free(&f);
    peer_free(p);
}
END_TEST

static atomic_int allow_subscribe;
static int may_subscribe(void *ctx) { return atomic_load(&allow_subscribe); }

START_TEST(test_mesos_sched_may_subscribe_holds_subscribe_back) {
    peer *p = peer_start();
    fixture f;
    fx_init(&f, peer_url(p));
    char err[256];
    mesos_sched_callbacks cb = {&f.r, on_event, on_down, may_subscribe};
    atomic_store(&allow_subscribe, 0);
    f.s = mesos_sched_new(&f.cfg, &cb, err, sizeof(err));
    ck_assert_msg(f.s != NULL, "%s", err);
    ck_assert_int_eq(mesos_sched_start(f.s, NULL), MCM_OK);
    util_sleep_ms(500);
    ck_assert_int_eq(peer_subscribes(p), 0);
    atomic_store(&allow_subscribe, 1);
    wait_subscribed(&f);
    fx_free(&f);
    peer_free(p);
}
END_TEST

START_TEST(test_mesos_sched_heartbeat_silence_reconnects) {
    peer *p = peer_start();
    peer_answer quiet = {.kind = PEER_STREAM, .hb_interval_s = 0.1, .heartbeat_ms = 0};
    peer_push(p, &quiet);
    fixture f;
    fx_init(&f, peer_url(p));
    fx_new(&f);
    ck_assert_int_eq(mesos_sched_start(f.s, NULL), MCM_OK);
    wait_subscribed(&f);
    int64_t t0 = util_now_ms();
    wait_down(&f, 1);
    int64_t took = util_now_ms() - t0;
    ck_assert_msg(down_says(&f.r, "no event from") && down_says(&f.r, "3 heartbeat intervals"), "%s", f.r.why[0]);
    ck_assert_msg(took >= 200 && took < 1500, "watchdog fired after %lld ms (3 x 100 ms expected)", (long long)took);
    wait_subscribes(p, 2);
    wait_subscribed(&f);
    fx_free(&f);
    peer_free(p);
}
END_TEST

START_TEST(test_mesos_sched_heartbeats_keep_stream_alive) {
    peer *p = peer_start();
    peer_answer live = {.kind = PEER_STREAM, .hb_interval_s = 0.1, .heartbeat_ms = 50};
    peer_set_default(p, &live);
    fixture f;
    fx_init(&f, peer_url(p));
    fx_new(&f);
    ck_assert_int_eq(mesos_sched_start(f.s, NULL), MCM_OK);
    wait_subscribed(&f);
    util_sleep_ms(1000);
    ck_assert_int_eq(ndown(&f.r), 0);
    ck_assert_int_eq(peer_subscribes(p), 1);
    ck_assert_int_ge(count_type(&f.r, E_HEARTBEAT), 10);
    fx_free(&f);
    peer_free(p);
}
END_TEST

START_TEST(test_mesos_sched_silent_master_bounded_before_subscribed) {
    int port;
    int fd = peer_blackhole(&port);
    char master[128];
    snprintf(master, sizeof(master), "http://127.0.0.1:%d", port);
    fixture f;
    fx_init(&f, master);
    f.cfg.subscribe_timeout_ms = 400;
    fx_new(&f);
    int64_t t0 = util_now_ms();
    ck_assert_int_eq(mesos_sched_start(f.s, NULL), MCM_OK);
    wait_down(&f, 1);
    ck_assert_msg(down_says(&f.r, "no answer to SUBSCRIBE from"), "%s", f.r.why[0]);
    ck_assert_int_lt(util_now_ms() - t0, 1500);
    fx_free(&f);
    close(fd);
}
END_TEST

START_TEST(test_mesos_sched_stop_while_connecting_is_prompt) {
    int port;
    int fd = peer_blackhole(&port);
    char master[128];
    snprintf(master, sizeof(master), "http://127.0.0.1:%d", port);
    fixture f;
    fx_init(&f, master);
    f.cfg.subscribe_timeout_ms = 30000;
    fx_new(&f);
    ck_assert_int_eq(mesos_sched_start(f.s, NULL), MCM_OK);
    util_sleep_ms(300);
    int64_t t0 = util_now_ms();
    mesos_sched_stop(f.s);
    int64_t took = util_now_ms() - t0;
    ck_assert_msg(took < 500, "stop took %lld ms", (long long)took);
    ck_assert_int_eq(ndown(&f.r), 0);   /* stopping is not a disconnect */
    char err[64];
    ck_assert_int_eq(mesos_sched_revive(f.s, err, sizeof(err)), MCM_ERR);
    mesos_sched_stop(f.s);   /* idempotent */
    fx_free(&f);
    close(fd);
}
END_TEST

START_TEST(test_mesos_sched_stop_while_streaming_is_prompt_and_restartable) {
    peer *p = peer_start();
    peer_answer slow = {.kind = PEER_STREAM, .hb_interval_s = 15, .heartbeat_ms = 0};
    peer_set_default(p, &slow);
    fixture f;
    fx_init(&f, peer_url(p));
    fx_new(&f);
    ck_assert_int_eq(mesos_sched_start(f.s, NULL), MCM_OK);
    wait_subscribed(&f);
    int64_t t0 = util_now_ms();
    mesos_sched_stop(f.s);
    int64_t took = util_now_ms() - t0;
    ck_assert_msg(took < 500, "stop took %lld ms", (long long)took);
    ck_assert_int_eq(mesos_sched_subscribed(f.s), 0);
    char err[64], buf[64];
    ck_assert_int_eq(mesos_sched_revive(f.s, err, sizeof(err)), MCM_ERR);
    ck_assert_str_eq(err, "not subscribed");
    mesos_sched_master_url(f.s, buf, sizeof(buf));
    ck_assert_str_eq(buf, "");
    /* start again, with the framework ID we were given */
    ck_assert_int_eq(mesos_sched_start(f.s, "fw-1"), MCM_OK);
    wait_subscribed(&f);
    peer_req reqs[4];
    ck_assert_int_eq(peer_requests(p, reqs, 4), 2);
    ck_assert_str_eq(reqs[1].info_fwid, "fw-1");
    ck_assert_str_eq(reqs[1].call_fwid, "fw-1");
    ck_assert_int_eq(reqs[1].has_stream_id, 0);
    ck_assert_int_eq(ndown(&f.r), 0);
    fx_free(&f);   /* free stops too */
    peer_free(p);
}
END_TEST

START_TEST(test_mesos_sched_resubscribes_with_framework_id_after_drop) {
    peer *p = peer_start();
    fixture f;
    fx_init(&f, peer_url(p));
    fx_new(&f);
    ck_assert_int_eq(mesos_sched_start(f.s, NULL), MCM_OK);
    wait_subscribed(&f);
    peer_drop_streams(p);
    wait_down(&f, 1);
    wait_subscribes(p, 2);
    wait_subscribed(&f);
    char err[256];
    ck_assert_msg(mesos_sched_reconcile(f.s, NULL, NULL, 0, err, sizeof(err)) == MCM_OK, "%s", err);
    peer_req reqs[4];
    ck_assert_int_eq(peer_requests(p, reqs, 4), 3);
    ck_assert_str_eq(reqs[0].info_fwid, "");
    ck_assert_str_eq(reqs[1].info_fwid, "fw-1");   /* the ID from SUBSCRIBED, both places */
    ck_assert_str_eq(reqs[1].call_fwid, "fw-1");
    ck_assert_int_eq(reqs[1].has_stream_id, 0);
    ck_assert_str_eq(reqs[2].stream_id, "stream-2");
    ck_assert_int_eq(count_type(&f.r, E_SUBSCRIBED), 2);
    fx_free(&f);
    peer_free(p);
}
END_TEST

START_TEST(test_mesos_sched_bad_config_rejected) {
    char err[256];
    mesos_sched_callbacks cb = {0};
    mesos_sched_config cfg = {0};
    ck_assert_ptr_null(mesos_sched_new(&cfg, &cb, err, sizeof(err)));
    ck_assert_msg(strstr(err, "no master"), "%s", err);
    opt_master om;
    ck_assert_int_eq(opt_parse_master("http://127.0.0.1:5050", &om, err, sizeof(err)), MCM_OK);
    cfg.master = &om;
    ck_assert_ptr_null(mesos_sched_new(&cfg, &cb, err, sizeof(err)));
    ck_assert_msg(strstr(err, "user and name"), "%s", err);
    cfg.user = "u";
    cfg.name = "n";
    cfg.secret = "x";
    ck_assert_ptr_null(mesos_sched_new(&cfg, &cb, err, sizeof(err)));
    ck_assert_msg(strstr(err, "principal"), "%s", err);
    opt_master_free(&om);
    mesos_sched_free(NULL);
}
END_TEST

int main(void) {
    Suite *s = suite_create("mesos_sched");
    TCase *tc = tcase_create("sched");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_mesos_sched_subscribes_and_calls_carry_stream_id_and_auth);
    tcase_add_test(tc, test_mesos_sched_no_auth_header_without_secret);
    tcase_add_test(tc, test_mesos_sched_call_error_surfaces_status_and_body);
    tcase_add_test(tc, test_mesos_sched_call_timeout_is_bounded_and_clear);
    tcase_add_test(tc, test_mesos_sched_follows_scheme_less_307_chain);
    tcase_add_test(tc, test_mesos_sched_redirect_loop_gives_up_and_retries);
    tcase_add_test(tc, test_mesos_sched_secret_never_reaches_a_redirect_target);
    tcase_add_test(tc, test_mesos_sched_redirect_followed_without_credentials);
    tcase_add_test(tc, test_mesos_sched_early_end_backs_off_across_restarts);
    tcase_add_test(tc, test_mesos_sched_huge_header_is_named);
    tcase_add_test(tc, test_mesos_sched_heartbeat_flood_coalesced);
    tcase_add_test(tc, test_mesos_sched_master_list_skips_dead_and_remembers);
    tcase_add_test(tc, test_mesos_sched_all_masters_down_reports_and_backs_off);
    tcase_add_test(tc, test_mesos_sched_bad_length_prefix_reconnects);
    tcase_add_test(tc, test_mesos_sched_truncated_protobuf_reconnects);
    tcase_add_test(tc, test_mesos_sched_oversized_record_reconnects);
    tcase_add_test(tc, test_mesos_sched_wrong_content_type_reconnects);
    tcase_add_test(tc, test_mesos_sched_missing_stream_id_reconnects);
    tcase_add_test(tc, test_mesos_sched_non_200_reconnects_with_body);
    tcase_add_test(tc, test_mesos_sched_error_event_delivered_then_reconnects);
    tcase_add_test(tc, test_mesos_sched_failed_over_is_never_resubscribed);
    tcase_add_test(tc, test_mesos_sched_may_subscribe_holds_subscribe_back);
    tcase_add_test(tc, test_mesos_sched_heartbeat_silence_reconnects);
    tcase_add_test(tc, test_mesos_sched_heartbeats_keep_stream_alive);
    tcase_add_test(tc, test_mesos_sched_silent_master_bounded_before_subscribed);
    tcase_add_test(tc, test_mesos_sched_stop_while_connecting_is_prompt);
    tcase_add_test(tc, test_mesos_sched_stop_while_streaming_is_prompt_and_restartable);
    tcase_add_test(tc, test_mesos_sched_resubscribes_with_framework_id_after_drop);
    tcase_add_test(tc, test_mesos_sched_bad_config_rejected);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
