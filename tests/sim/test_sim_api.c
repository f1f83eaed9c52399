/* test_sim_api.c -- mcm-sim's scheduler API, driven over HTTP as a separate
 * process: subscription, heartbeats, offers, status codes, failover,
 * filters, suppress/revive, teardown, failover timeout, non-leading modes,
 * call log. Every wait is bounded. */
#include "harness.h"
#include "simc.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EV(t) MESOS__V1__SCHEDULER__EVENT__TYPE__##t
#define CALL(t) MESOS__V1__SCHEDULER__CALL__TYPE__##t

static simc *S;

static void start(const char *const *args) { S = simc_start(args); }
static void teardown(void) {
    simc_free(S);
    S = NULL;
}

/* Subscribes a new framework; returns the subscription and its ID in id. */
static simc_sub *subscribe(Mesos__V1__FrameworkInfo *fi, char *id, size_t idlen) {
    simc_sub *sub = simc_subscribe(simc_port(S), fi);
    ck_assert_int_eq(simc_sub_status(sub, 5000), 200);
    Mesos__V1__Scheduler__Event *ev = simc_sub_next(sub, EV(SUBSCRIBED), 5000);
    ck_assert_ptr_nonnull(ev);
    snprintf(id, idlen, "%s", ev->subscribed->framework_id->value);
    mesos__v1__scheduler__event__free_unpacked(ev, NULL);
    return sub;
}

static int simple_call(simc_sub *sub, const char *fw, int type) {
    Mesos__V1__Scheduler__Call c;
    Mesos__V1__FrameworkID fid;
    simc_call_init(&c, &fid, fw, type);
    return simc_call(simc_port(S), simc_sub_stream_id(sub), &c, NULL, 0);
}

static int decline(simc_sub *sub, const char *fw, const char *offer, double refuse) {
    Mesos__V1__Scheduler__Call c;
    Mesos__V1__FrameworkID fid;
    Mesos__V1__Scheduler__Call__Decline d = MESOS__V1__SCHEDULER__CALL__DECLINE__INIT;
    Mesos__V1__OfferID oid = MESOS__V1__OFFER_ID__INIT;
    Mesos__V1__OfferID *oids[1] = {&oid};
    Mesos__V1__Filters f = MESOS__V1__FILTERS__INIT;
    simc_call_init(&c, &fid, fw, CALL(DECLINE));
    oid.value = (char *)offer;
    d.n_offer_ids = 1;
    d.offer_ids = oids;
    f.has_refuse_seconds = 1;
    f.refuse_seconds = refuse;
    d.filters = &f;
    c.decline = &d;
    return simc_call(simc_port(S), simc_sub_stream_id(sub), &c, NULL, 0);
}

START_TEST(test_sim_subscribe_gets_subscribed_heartbeats_and_offers) {
    const char *args[] = {"--agents", "2", "--offer-interval", "100ms", "--heartbeat-interval", "300ms", NULL};
    start(args);
    Mesos__V1__FrameworkInfo *fi = simc_fi("api-test", NULL, 1, 3600);
    simc_sub *sub = simc_subscribe(simc_port(S), fi);
    ck_assert_int_eq(simc_sub_status(sub, 5000), 200);
    ck_assert_int_eq((int)strlen(simc_sub_stream_id(sub)), 36);
    Mesos__V1__Scheduler__Event *ev = simc_sub_next(sub, EV(SUBSCRIBED), 5000);
    ck_assert_ptr_nonnull(ev);
    const char *id = ev->subscribed->framework_id->value;
    ck_assert_msg(strlen(id) > 5 && strcmp(id + strlen(id) - 5, "-0000") == 0, "framework ID %s", id);
    ck_assert(ev->subscribed->has_heartbeat_interval_seconds);
    ck_assert(ev->subscribed->heartbeat_interval_seconds > 0.29 && ev->subscribed->heartbeat_interval_seconds < 0.31);
    ck_assert_ptr_nonnull(ev->subscribed->master_info);
    ck_assert_int_eq((int)ev->subscribed->master_info->port, simc_port(S));
    mesos__v1__scheduler__event__free_unpacked(ev, NULL);
    /* One HEARTBEAT at once, then one per interval. */
    ev = simc_sub_next(sub, EV(HEARTBEAT), 200);
    ck_assert_msg(ev != NULL, "no HEARTBEAT right after SUBSCRIBED");
    mesos__v1__scheduler__event__free_unpacked(ev, NULL);
    usleep(1000 * 1000);
    int hb = simc_sub_count(sub, EV(HEARTBEAT));
    ck_assert_msg(hb >= 2 && hb <= 5, "%d heartbeats in 1 s at 300 ms", hb);
    /* Offers: one per agent, MULTI_ROLE allocation info, disjoint ports. */
    uint64_t lo[2] = {0}, hi[2] = {0};
    int got = 0;
    while (got < 2) {
        ev = simc_sub_next(sub, EV(OFFERS), 3000);
        ck_assert_msg(ev != NULL, "fewer than 2 offers");
        for (size_t i = 0; i < ev->offers->n_offers; i++, got++) {
            Mesos__V1__Offer *o = ev->offers->offers[i];
            ck_assert_str_eq(o->hostname, "127.0.0.1");
            ck_assert_ptr_nonnull(o->allocation_info);
            ck_assert_str_eq(o->allocation_info->role, "mcm");
            for (size_t k = 0; k < o->n_resources; k++) {
                Mesos__V1__Resource *r = o->resources[k];
                ck_assert_ptr_nonnull(r->allocation_info);
                ck_assert_str_eq(r->allocation_info->role, "mcm");
                if (strcmp(r->name, "cpus") == 0) ck_assert(r->scalar && r->scalar->value == 4.0);
                if (strcmp(r->name, "ports") == 0 && got < 2) {
                    ck_assert_int_eq((int)r->ranges->n_range, 1);
                    lo[got] = r->ranges->range[0]->begin;
                    hi[got] = r->ranges->range[0]->end;
                }
            }
        }
        mesos__v1__scheduler__event__free_unpacked(ev, NULL);
    }
    ck_assert_msg(hi[0] - lo[0] == 499 && hi[1] - lo[1] == 499, "each agent gets half of 31000-31999");
    ck_assert_msg(hi[0] < lo[1] || hi[1] < lo[0], "agents' ports overlap");
    simc_sub_close(sub);
    simc_fi_free(fi);
}
END_TEST

START_TEST(test_sim_rejects_bad_requests_with_mesos_status_codes) {
    start(NULL);
    int port = simc_port(S);
    char *body = NULL;
    const char *pb[] = {"Content-Type: application/x-protobuf", NULL};
    const char *json[] = {"Content-Type: application/json", NULL};
    const char *text[] = {"Content-Type: text/plain", NULL};
    ck_assert_int_eq(simc_post(port, "/api/v1/scheduler", "x", 1, text, NULL, NULL, 0), 415);
    ck_assert_int_eq(simc_post(port, "/api/v1/scheduler", "{}", 2, json, NULL, NULL, 0), 415);
    const char *none[] = {"Content-Type:", NULL};
    ck_assert_int_eq(simc_post(port, "/api/v1/scheduler", "x", 1, none, &body, NULL, 0), 400);
    ck_assert_msg(body && strstr(body, "Expecting 'Content-Type' to be present"), "body: %s", body);
    free(body);
    ck_assert_int_eq(simc_post(port, "/api/v1/scheduler", "\xff\xff\xff", 3, pb, &body, NULL, 0), 400);
    ck_assert_msg(body && strstr(body, "Failed to parse body into Call protobuf"), "body: %s", body);
    free(body);
    ck_assert_int_eq(simc_http(port, "GET", "/api/v1/scheduler", NULL), 405);
    ck_assert_int_eq(simc_http(port, "GET", "/nope", NULL), 404);
    /* A Call without type, then a SUBSCRIBE without its message. */
    Mesos__V1__Scheduler__Call c = MESOS__V1__SCHEDULER__CALL__INIT;
    char out[512];
    ck_assert_int_eq(simc_call(port, NULL, &c, out, sizeof(out)), 400);
    ck_assert_msg(strstr(out, "Expecting 'type' to be present"), "%s", out);
    Mesos__V1__FrameworkID fid;
    simc_call_init(&c, &fid, NULL, CALL(SUBSCRIBE));
    ck_assert_int_eq(simc_call(port, NULL, &c, out, sizeof(out)), 400);
    /* Calls on an unknown framework. */
    simc_call_init(&c, &fid, "no-such-framework", CALL(REVIVE));
    ck_assert_int_eq(simc_call(port, "x", &c, out, sizeof(out)), 400);
    ck_assert_msg(strstr(out, "Framework cannot be found"), "%s", out);
    /* A subscribed framework: stream id missing / wrong / right. */
    Mesos__V1__FrameworkInfo *fi = simc_fi("codes", NULL, 1, 3600);
    char id[256];
    simc_sub *sub = subscribe(fi, id, sizeof(id));
    simc_call_init(&c, &fid, id, CALL(REVIVE));
    ck_assert_int_eq(simc_call(port, NULL, &c, out, sizeof(out)), 400);
    ck_assert_msg(strstr(out, "Mesos-Stream-Id"), "%s", out);
    ck_assert_int_eq(simc_call(port, "00000000-0000-4000-8000-000000000000", &c, out, sizeof(out)), 400);
    ck_assert_int_eq(simc_call(port, simc_sub_stream_id(sub), &c, out, sizeof(out)), 202);
    /* ACKNOWLEDGE with a uuid that is not 16 bytes. */
    Mesos__V1__Scheduler__Call__Acknowledge ak = MESOS__V1__SCHEDULER__CALL__ACKNOWLEDGE__INIT;
    Mesos__V1__AgentID aid = MESOS__V1__AGENT_ID__INIT;
    Mesos__V1__TaskID tid = MESOS__V1__TASK_ID__INIT;
    aid.value = "a";
    tid.value = "t";
    ak.agent_id = &aid;
    ak.task_id = &tid;
    ak.uuid.data = (uint8_t *)"abc";
    ak.uuid.len = 3;
    simc_call_init(&c, &fid, id, CALL(ACKNOWLEDGE));
    c.acknowledge = &ak;
    ck_assert_int_eq(simc_call(port, simc_sub_stream_id(sub), &c, out, sizeof(out)), 400);
    /* SUBSCRIBE carrying a Mesos-Stream-Id. */
    Mesos__V1__Scheduler__Call__Subscribe sc = MESOS__V1__SCHEDULER__CALL__SUBSCRIBE__INIT;
    sc.framework_info = fi;
    simc_call_init(&c, &fid, NULL, CALL(SUBSCRIBE));
    c.subscribe = &sc;
    ck_assert_int_eq(simc_call(port, "some-id", &c, out, sizeof(out)), 400);
    /* Disconnected framework: 403. */
    ck_assert_int_eq(simc_http(port, "POST", "/sim/drop-stream", NULL), 200);
    ck_assert(simc_sub_ended(sub, 3000));
    simc_call_init(&c, &fid, id, CALL(REVIVE));
    ck_assert_int_eq(simc_call(port, simc_sub_stream_id(sub), &c, out, sizeof(out)), 403);
    /* The call log saw them, with their answers. */
    ck_assert_int_eq(simc_http(port, "GET", "/sim/calls", &body), 200);
    ck_assert_msg(strstr(body, "\"status\":415") && strstr(body, "\"status\":403") && strstr(body, "\"type\":\"REVIVE\""),
                  "call log: %s", body);
    free(body);
    simc_sub_close(sub);
    simc_fi_free(fi);
}
END_TEST

START_TEST(test_sim_failover_closes_old_stream_with_error) {
    const char *args[] = {"--offer-interval", "100ms", NULL};
    start(args);
    Mesos__V1__FrameworkInfo *fi = simc_fi("failover", NULL, 1, 3600);
    char id[256];
    simc_sub *a = subscribe(fi, id, sizeof(id));
    char old_sid[64];
    snprintf(old_sid, sizeof(old_sid), "%s", simc_sub_stream_id(a));
    Mesos__V1__Scheduler__Event *ev = simc_sub_next(a, EV(OFFERS), 3000);
    ck_assert_ptr_nonnull(ev);
    char offer[256];
    snprintf(offer, sizeof(offer), "%s", ev->offers->offers[0]->id->value);
    mesos__v1__scheduler__event__free_unpacked(ev, NULL);
    Mesos__V1__FrameworkInfo *fi2 = simc_fi("failover", id, 1, 3600);
    char id2[256];
    simc_sub *b = subscribe(fi2, id2, sizeof(id2));
    ck_assert_str_eq(id, id2);
    ck_assert_str_ne(old_sid, simc_sub_stream_id(b));
    ev = simc_sub_next(a, EV(ERROR), 3000);
    ck_assert_msg(ev != NULL, "old stream got no ERROR");
    ck_assert_str_eq(ev->error->message, "Framework failed over");
    mesos__v1__scheduler__event__free_unpacked(ev, NULL);
    ck_assert_msg(simc_sub_ended(a, 2000), "old stream still open after failover");
    ev = simc_sub_next(b, EV(HEARTBEAT), 1000);
    ck_assert_ptr_nonnull(ev);
    mesos__v1__scheduler__event__free_unpacked(ev, NULL);
    /* The old stream id is stale; the new one works; the old offer vanished. */
    ck_assert_int_eq(simple_call(a, id, CALL(REVIVE)), 400);
    ck_assert_int_eq(simple_call(b, id, CALL(REVIVE)), 202);
    json_t *st = simc_state(S);
    json_t *offers = json_object_get(st, "offers");
    for (size_t i = 0; i < json_array_size(offers); i++)
        ck_assert_str_ne(json_string_value(json_object_get(json_array_get(offers, i), "id")), offer);
    json_decref(st);
    simc_sub_close(a);
    simc_sub_close(b);
    simc_fi_free(fi);
    simc_fi_free(fi2);
}
END_TEST

START_TEST(test_sim_decline_filter_is_honoured_and_revive_clears_it) {
    const char *args[] = {"--agents", "1", "--offer-interval", "100ms", NULL};
    start(args);
    Mesos__V1__FrameworkInfo *fi = simc_fi("filters", NULL, 1, 3600);
    char id[256];
    simc_sub *sub = subscribe(fi, id, sizeof(id));
    Mesos__V1__Scheduler__Event *ev = simc_sub_next(sub, EV(OFFERS), 3000);
    ck_assert_ptr_nonnull(ev);
    ck_assert_int_eq(decline(sub, id, ev->offers->offers[0]->id->value, 1.5), 202);
    mesos__v1__scheduler__event__free_unpacked(ev, NULL);
    ck_assert_msg(simc_sub_next(sub, EV(OFFERS), 1000) == NULL, "offered again inside refuse_seconds");
    ev = simc_sub_next(sub, EV(OFFERS), 3000);
    ck_assert_msg(ev != NULL, "not offered again after refuse_seconds");
    ck_assert_int_eq(decline(sub, id, ev->offers->offers[0]->id->value, 3600), 202);
    mesos__v1__scheduler__event__free_unpacked(ev, NULL);
    ck_assert(simc_sub_next(sub, EV(OFFERS), 500) == NULL);
    ck_assert_int_eq(simple_call(sub, id, CALL(REVIVE)), 202);
    ev = simc_sub_next(sub, EV(OFFERS), 2000);
    ck_assert_msg(ev != NULL, "REVIVE did not clear the filter");
    mesos__v1__scheduler__event__free_unpacked(ev, NULL);
    /* SUPPRESS stops offers (after declining the outstanding one). */
    json_t *st = simc_state(S);
    const char *oid = json_string_value(json_object_get(json_array_get(json_object_get(st, "offers"), 0), "id"));
    ck_assert_int_eq(simple_call(sub, id, CALL(SUPPRESS)), 202);
    ck_assert_int_eq(decline(sub, id, oid, 0), 202);
    json_decref(st);
    ck_assert(simc_sub_next(sub, EV(OFFERS), 800) == NULL);
    ck_assert_int_eq(simple_call(sub, id, CALL(REVIVE)), 202);
    ev = simc_sub_next(sub, EV(OFFERS), 2000);
    ck_assert_msg(ev != NULL, "REVIVE did not un-suppress");
    mesos__v1__scheduler__event__free_unpacked(ev, NULL);
    simc_sub_close(sub);
    simc_fi_free(fi);
}
END_TEST

START_TEST(test_sim_teardown_removes_framework_forever) {
    start(NULL);
    Mesos__V1__FrameworkInfo *fi = simc_fi("teardown", NULL, 1, 3600);
    char id[256];
    simc_sub *sub = subscribe(fi, id, sizeof(id));
    ck_assert_int_eq(simple_call(sub, id, CALL(TEARDOWN)), 202);
    ck_assert_msg(simc_sub_ended(sub, 2000), "stream not closed after TEARDOWN");
    Mesos__V1__FrameworkInfo *again = simc_fi("teardown", id, 1, 3600);
    simc_sub *sub2 = simc_subscribe(simc_port(S), again);
    ck_assert_int_eq(simc_sub_status(sub2, 5000), 200);
    Mesos__V1__Scheduler__Event *ev = simc_sub_next(sub2, EV(ERROR), 3000);
    ck_assert_ptr_nonnull(ev);
    ck_assert_str_eq(ev->error->message, "Framework has been removed");
    mesos__v1__scheduler__event__free_unpacked(ev, NULL);
    ck_assert(simc_sub_ended(sub2, 2000));
    simc_sub_close(sub);
    simc_sub_close(sub2);
    simc_fi_free(fi);
    simc_fi_free(again);
}
END_TEST

START_TEST(test_sim_adopts_unknown_framework_id) {
    start(NULL);
    Mesos__V1__FrameworkInfo *fi = simc_fi("adopt", "from-an-old-master-0007", 1, 3600);
    char id[256];
    simc_sub *sub = subscribe(fi, id, sizeof(id));
    ck_assert_str_eq(id, "from-an-old-master-0007");
    simc_sub_close(sub);
    simc_fi_free(fi);
}
END_TEST

START_TEST(test_sim_failover_timeout_removes_disconnected_framework) {
    start(NULL);
    Mesos__V1__FrameworkInfo *fi = simc_fi("short", NULL, 1, 0.5);
    char id[256];
    simc_sub *sub = subscribe(fi, id, sizeof(id));
    simc_sub_close(sub);      /* the client goes away: noticed, timer starts */
    usleep(1500 * 1000);
    json_t *st = simc_state(S);
    json_t *f = json_array_get(json_object_get(st, "frameworks"), 0);
    ck_assert(json_is_true(json_object_get(f, "removed")));
    json_decref(st);
    ck_assert(simc_log_has(S, "failover timeout expired"));
    simc_fi_free(fi);
}
END_TEST

START_TEST(test_sim_heartbeats_can_be_paused) {
    const char *args[] = {"--heartbeat-interval", "200ms", NULL};
    start(args);
    Mesos__V1__FrameworkInfo *fi = simc_fi("hb", NULL, 1, 3600);
    char id[256];
    simc_sub *sub = subscribe(fi, id, sizeof(id));
    ck_assert_int_eq(simc_http(simc_port(S), "POST", "/sim/heartbeats?enabled=0", NULL), 200);
    usleep(100 * 1000);
    for (Mesos__V1__Scheduler__Event *e; (e = simc_sub_next(sub, EV(HEARTBEAT), 0));)
        mesos__v1__scheduler__event__free_unpacked(e, NULL);
    usleep(800 * 1000);
    ck_assert_int_eq(simc_sub_count(sub, EV(HEARTBEAT)), 0);
    ck_assert_int_eq(simc_http(simc_port(S), "POST", "/sim/heartbeats?enabled=1", NULL), 200);
    Mesos__V1__Scheduler__Event *ev = simc_sub_next(sub, EV(HEARTBEAT), 1000);
    ck_assert_msg(ev != NULL, "heartbeats did not resume");
    mesos__v1__scheduler__event__free_unpacked(ev, NULL);
    simc_sub_close(sub);
    simc_fi_free(fi);
}
END_TEST

static int subscribe_status(const char *path_unused, char *loc, size_t loclen) {
    Mesos__V1__FrameworkInfo *fi = simc_fi("redir", NULL, 1, 3600);
    Mesos__V1__Scheduler__Call c;
    Mesos__V1__FrameworkID fid;
    Mesos__V1__Scheduler__Call__Subscribe sc = MESOS__V1__SCHEDULER__CALL__SUBSCRIBE__INIT;
    sc.framework_info = fi;
    simc_call_init(&c, &fid, NULL, CALL(SUBSCRIBE));
    c.subscribe = &sc;
    size_t n = mesos__v1__scheduler__call__get_packed_size(&c);
    uint8_t *b = malloc(n);
    mesos__v1__scheduler__call__pack(&c, b);
    const char *h[] = {"Content-Type: application/x-protobuf", "Accept: application/x-protobuf", NULL};
    int code = simc_post(simc_port(S), "/master/api/v1/scheduler", b, n, h, NULL, loc, loclen);
    free(b);
    simc_fi_free(fi);
    return code;
}

START_TEST(test_sim_non_leading_master_redirects) {
    const char *args[] = {"--redirect-to", "http://127.0.0.1:5999", NULL};
    start(args);
    char loc[300];
    ck_assert_int_eq(subscribe_status(NULL, loc, sizeof(loc)), 307);
    ck_assert_str_eq(loc, "//127.0.0.1:5999/master/api/v1/scheduler");
    ck_assert_int_eq(simc_http(simc_port(S), "POST", "/sim/leader?redirect=", NULL), 200);
    ck_assert_int_eq(subscribe_status(NULL, loc, sizeof(loc)), 503);
    ck_assert_int_eq(simc_http(simc_port(S), "POST", "/sim/leader?leading=1", NULL), 200);
    Mesos__V1__FrameworkInfo *fi = simc_fi("now-leading", NULL, 1, 3600);
    char id[256];
    simc_sub *sub = subscribe(fi, id, sizeof(id));
    /* Losing leadership drops the subscription. */
    ck_assert_int_eq(simc_http(simc_port(S), "POST", "/sim/leader?redirect=http://127.0.0.1:6000", NULL), 200);
    ck_assert(simc_sub_ended(sub, 2000));
    ck_assert_int_eq(subscribe_status(NULL, loc, sizeof(loc)), 307);
    ck_assert_str_eq(loc, "//127.0.0.1:6000/master/api/v1/scheduler");
    simc_sub_close(sub);
    simc_fi_free(fi);
}
END_TEST

START_TEST(test_sim_zk_lowest_sequence_leads_and_standby_redirects) {
    th_zk *z = th_zk_start();
    char zk[300];
    snprintf(zk, sizeof(zk), "--zk=zk://%s/mesos", th_zk_hosts(z));
    const char *args[] = {zk, NULL};
    simc *first = simc_start(args);
    S = first;
    char loc[300];
    int code = 0;
    for (int i = 0; i < 100 && code != 200; i++) {
        Mesos__V1__FrameworkInfo *fi = simc_fi("zk", NULL, 1, 3600);
        simc_sub *sub = simc_subscribe(simc_port(first), fi);
        code = simc_sub_status(sub, 3000);
        simc_sub_close(sub);
        simc_fi_free(fi);
        if (code != 200) usleep(100 * 1000);
    }
    ck_assert_int_eq(code, 200);
    simc *second = simc_start(args);
    S = second;
    code = 0;
    for (int i = 0; i < 100 && code != 307; i++) {
        code = subscribe_status(NULL, loc, sizeof(loc));
        if (code != 307) usleep(100 * 1000);
    }
    ck_assert_int_eq(code, 307);
    char want[300];
    snprintf(want, sizeof(want), "//127.0.0.1:%d/master/api/v1/scheduler", simc_port(first));
    ck_assert_str_eq(loc, want);
    simc_free(first);                 /* its ephemeral node goes with its session */
    code = 0;
    for (int i = 0; i < 150 && code != 200; i++) {
        Mesos__V1__FrameworkInfo *fi = simc_fi("zk", NULL, 1, 3600);
        simc_sub *sub = simc_subscribe(simc_port(second), fi);
        code = simc_sub_status(sub, 3000);
        simc_sub_close(sub);
        simc_fi_free(fi);
        if (code != 200) usleep(100 * 1000);
    }
    ck_assert_msg(code == 200, "standby did not take over (last %d)", code);
    th_zk_free(z);
}
END_TEST

START_TEST(test_sim_credentials_require_basic_auth) {
    char *dir = th_tempdir(), path[600], flag[700];
    snprintf(path, sizeof(path), "%s/creds", dir);
    FILE *f = fopen(path, "w");
    fputs("mcm s3cret\n", f);
    fclose(f);
    snprintf(flag, sizeof(flag), "--credentials=%s", path);
    const char *args[] = {flag, NULL};
    start(args);
    Mesos__V1__FrameworkInfo *fi = simc_fi("auth", NULL, 1, 3600);
    fi->principal = strdup("mcm");
    Mesos__V1__Scheduler__Call c;
    Mesos__V1__FrameworkID fid;
    Mesos__V1__Scheduler__Call__Subscribe sc = MESOS__V1__SCHEDULER__CALL__SUBSCRIBE__INIT;
    sc.framework_info = fi;
    simc_call_init(&c, &fid, NULL, CALL(SUBSCRIBE));
    c.subscribe = &sc;
    size_t n = mesos__v1__scheduler__call__get_packed_size(&c);
    uint8_t *b = malloc(n);
    mesos__v1__scheduler__call__pack(&c, b);
    /* base64("mcm:s3cret") = bWNtOnMzY3JldA==, base64("mcm:wrong") = bWNtOndyb25n */
    const char *none[] = {"Content-Type: application/x-protobuf", NULL};
    const char *bad[] = {"Content-Type: application/x-protobuf", "Authorization: Basic bWNtOndyb25n", NULL};
    ck_assert_int_eq(simc_post(simc_port(S), "/api/v1/scheduler", b, n, none, NULL, NULL, 0), 401);
    ck_assert_int_eq(simc_post(simc_port(S), "/api/v1/scheduler", b, n, bad, NULL, NULL, 0), 401);
    /* Right credentials, but FrameworkInfo names another principal: 400. */
    free(fi->principal);
    fi->principal = strdup("someone-else");
    free(b);
    n = mesos__v1__scheduler__call__get_packed_size(&c);
    b = malloc(n);
    mesos__v1__scheduler__call__pack(&c, b);
    const char *good[] = {"Content-Type: application/x-protobuf", "Authorization: Basic bWNtOnMzY3JldA==", NULL};
    char *body = NULL;
    ck_assert_int_eq(simc_post(simc_port(S), "/api/v1/scheduler", b, n, good, &body, NULL, 0), 400);
    ck_assert_msg(body && strstr(body, "does not match principal"), "%s", body);
    free(body);
    free(b);
    simc_fi_free(fi);
    th_rmtree(dir);
    free(dir);
}
END_TEST

Suite *suite(void) {
    Suite *s = suite_create("sim_api");
    TCase *tc = tcase_create("api");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_sim_subscribe_gets_subscribed_heartbeats_and_offers);
    tcase_add_test(tc, test_sim_rejects_bad_requests_with_mesos_status_codes);
    tcase_add_test(tc, test_sim_failover_closes_old_stream_with_error);
    tcase_add_test(tc, test_sim_decline_filter_is_honoured_and_revive_clears_it);
    tcase_add_test(tc, test_sim_teardown_removes_framework_forever);
    tcase_add_test(tc, test_sim_adopts_unknown_framework_id);
    tcase_add_test(tc, test_sim_failover_timeout_removes_disconnected_framework);
    tcase_add_test(tc, test_sim_heartbeats_can_be_paused);
    tcase_add_test(tc, test_sim_non_leading_master_redirects);
    tcase_add_test(tc, test_sim_zk_lowest_sequence_leads_and_standby_redirects);
    tcase_add_test(tc, test_sim_credentials_require_basic_auth);
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
