/* test_sim.c -- the scheduler client against the real simulator (mcm-sim):
 * a small test scheduler subscribes, takes an offer, launches a task with
 * the simulator's test executor, sees it RUNNING and acknowledges, loses its
 * stream (sim fault control), re-subscribes with the same framework ID,
 * reconciles and finds the task, kills it and sees TASK_KILLED. A second test
 * subscribes through a non-leading simulator that redirects; a third answers
 * inverse offers (maintenance) through the client. */
#include "mesos_sched.h"

#include "harness.h"
#include "mcm.h"
#include "opt.h"
#include "simc.h"
#include "util.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef Mesos__V1__Scheduler__Event Event;
#define EV_SUBSCRIBED MESOS__V1__SCHEDULER__EVENT__TYPE__SUBSCRIBED
#define EV_OFFERS MESOS__V1__SCHEDULER__EVENT__TYPE__OFFERS
#define EV_UPDATE MESOS__V1__SCHEDULER__EVENT__TYPE__UPDATE
#define EV_INVERSE MESOS__V1__SCHEDULER__EVENT__TYPE__INVERSE_OFFERS
#define EV_RESCIND_INVERSE MESOS__V1__SCHEDULER__EVENT__TYPE__RESCIND_INVERSE_OFFER

/* --- the test scheduler's inbox ------------------------------------------------ */

#define INBOX 1024
typedef struct inbox {
    pthread_mutex_t mu;
    Event *ev[INBOX];
    int n;
    int ndown;
    char why[512];
} inbox;

static void on_event(void *ctx, Event *ev) {
    inbox *b = ctx;
    pthread_mutex_lock(&b->mu);
    if (b->n < INBOX) b->ev[b->n++] = ev;
    else mesos__v1__scheduler__event__free_unpacked(ev, NULL);
    pthread_mutex_unlock(&b->mu);
}

static void on_down(void *ctx, const char *why) {
    inbox *b = ctx;
    pthread_mutex_lock(&b->mu);
    b->ndown++;
    snprintf(b->why, sizeof(b->why), "%s", why);
    pthread_mutex_unlock(&b->mu);
}

/* Removes and returns the first event of `type` (for UPDATE: of task_id in
 * `state`, or any state if state < 0), waiting up to timeout_ms. */
static Event *take(inbox *b, int type, const char *task_id, int state, int timeout_ms) {
    int64_t until = util_now_ms() + timeout_ms;
    do {
        pthread_mutex_lock(&b->mu);
        for (int i = 0; i < b->n; i++) {
            Event *e = b->ev[i];
            if (!e->has_type || (int)e->type != type) continue;
            if (type == EV_UPDATE) {
                Mesos__V1__TaskStatus *st = e->update->status;
                if (task_id && strcmp(st->task_id->value, task_id) != 0) continue;
                if (state >= 0 && (int)st->state != state) continue;
            }
            memmove(&b->ev[i], &b->ev[i + 1], (size_t)(b->n - i - 1) * sizeof(Event *));
            b->n--;
            pthread_mutex_unlock(&b->mu);
            return e;
        }
        pthread_mutex_unlock(&b->mu);
        util_sleep_ms(10);
    } while (util_now_ms() < until);
    return NULL;
}

static void inbox_clear(inbox *b) {
    pthread_mutex_lock(&b->mu);
    for (int i = 0; i < b->n; i++) mesos__v1__scheduler__event__free_unpacked(b->ev[i], NULL);
    b->n = 0;
    pthread_mutex_unlock(&b->mu);
}

/* --- helpers --------------------------------------------------------------------- */

typedef struct client {
    inbox box;
    opt_master om;
    mesos_sched *s;
} client;

static void client_start(client *c, const char *master) {
    char err[256];
    memset(c, 0, sizeof(*c));
    pthread_mutex_init(&c->box.mu, NULL);
    ck_assert_msg(opt_parse_master(master, &c->om, err, sizeof(err)) == MCM_OK, "%s", err);
    mesos_sched_config cfg = {.master = &c->om, .user = "nobody", .name = "mcm-sim-test", .role = "mcm",
                              .hostname = "localhost", .failover_timeout_s = 3600, .heartbeat_misses = 5,
                              .call_timeout_ms = 5000, .backoff_min_ms = 50, .backoff_max_ms = 500,
                              .subscribe_timeout_ms = 5000};
    mesos_sched_callbacks cb = {&c->box, on_event, on_down, NULL};
    c->s = mesos_sched_new(&cfg, &cb, err, sizeof(err));
    ck_assert_msg(c->s != NULL, "%s", err);
    ck_assert_int_eq(mesos_sched_start(c->s, NULL), MCM_OK);
}

static void client_free(client *c) {
    mesos_sched_free(c->s);
    inbox_clear(&c->box);
    opt_master_free(&c->om);
}

/* ACKs an update that carries a uuid (executor- or agent-made). */
static void ack(client *c, Event *e) {
    Mesos__V1__TaskStatus *st = e->update->status;
    if (!st->has_uuid || st->uuid.len == 0) return;
    char err[256];
    ck_assert_msg(mesos_sched_acknowledge(c->s, st->agent_id->value, st->task_id->value, st->uuid.data, st->uuid.len,
                                          err, sizeof(err)) == MCM_OK, "ACK: %s", err);
}

/* Waits for task_id to reach state, acknowledging everything on the way. */
static Event *await_state(client *c, const char *task_id, int state, int timeout_ms) {
    int64_t until = util_now_ms() + timeout_ms;
    while (util_now_ms() < until) {
        Event *e = take(&c->box, EV_UPDATE, task_id, -1, 200);
        if (!e) continue;
        ack(c, e);
        if ((int)e->update->status->state == state) return e;
        mesos__v1__scheduler__event__free_unpacked(e, NULL);
    }
    ck_abort_msg("task %s never reached state %d", task_id, state);
    return NULL;
}

/* Launches one task with the simulator's test executor on the offer. */
static void launch(client *c, const Mesos__V1__Offer *o, const char *task_id) {
    char exe[600], err[256];
    snprintf(exe, sizeof(exe), "%s/tests/sim/sim_test_executor", getenv("MCM_BUILD_DIR"));
    Mesos__V1__Resource__AllocationInfo alloc = MESOS__V1__RESOURCE__ALLOCATION_INFO__INIT;
    alloc.role = o->allocation_info ? o->allocation_info->role : "mcm";
    Mesos__V1__Value__Scalar cpus = MESOS__V1__VALUE__SCALAR__INIT, mem = MESOS__V1__VALUE__SCALAR__INIT;
    cpus.value = 0.1;
    mem.value = 32;
    Mesos__V1__Resource r[2], *rp[2] = {&r[0], &r[1]};
    for (int i = 0; i < 2; i++) {
        mesos__v1__resource__init(&r[i]);
        r[i].type = MESOS__V1__VALUE__TYPE__SCALAR;
        r[i].allocation_info = &alloc;
    }
    r[0].name = "cpus";
    r[0].scalar = &cpus;
    r[1].name = "mem";
    r[1].scalar = &mem;
    char *argv[1] = {exe};
    Mesos__V1__CommandInfo cmd = MESOS__V1__COMMAND_INFO__INIT;
    cmd.value = exe;
    cmd.has_shell = 1;
    cmd.shell = 0;
    cmd.n_arguments = 1;
    cmd.arguments = argv;
    char eidv[64];
    snprintf(eidv, sizeof(eidv), "exec-%s", task_id);
    Mesos__V1__ExecutorID eid = MESOS__V1__EXECUTOR_ID__INIT;
    eid.value = eidv;
    Mesos__V1__ExecutorInfo ex = MESOS__V1__EXECUTOR_INFO__INIT;
    ex.has_type = 1;
    ex.type = MESOS__V1__EXECUTOR_INFO__TYPE__CUSTOM;
    ex.executor_id = &eid;
    ex.command = &cmd;
    Mesos__V1__TaskID tid = MESOS__V1__TASK_ID__INIT;
    tid.value = (char *)task_id;
    Mesos__V1__TaskInfo ti = MESOS__V1__TASK_INFO__INIT, *tip[1] = {&ti};
    ti.name = (char *)task_id;
    ti.task_id = &tid;
    ti.agent_id = o->agent_id;
    ti.n_resources = 2;
    ti.resources = rp;
    ti.executor = &ex;
    ck_assert_msg(mesos_sched_launch(c->s, o->id->value, tip, 1, 1, err, sizeof(err)) == MCM_OK, "launch: %s", err);
}

static int subscribed_cond(void *arg) {
    return mesos_sched_subscribed((mesos_sched *)arg);
}

/* --- tests ---------------------------------------------------------------------- */

START_TEST(test_mesos_sim_task_lifecycle_across_a_dropped_stream) {
    const char *args[] = {"--agents", "1", "--offer-interval", "100ms", "--heartbeat-interval", "300ms", NULL};
    simc *sim = simc_start(args);
    char master[64], fwid[256], fwid2[256], err[256];
    snprintf(master, sizeof(master), "http://127.0.0.1:%d", simc_port(sim));
    client c;
    client_start(&c, master);
    Event *e = take(&c.box, EV_SUBSCRIBED, NULL, -1, 10000);
    ck_assert_msg(e != NULL, "no SUBSCRIBED from mcm-sim; see %s", simc_log(sim));
    snprintf(fwid, sizeof(fwid), "%s", e->subscribed->framework_id->value);
    mesos__v1__scheduler__event__free_unpacked(e, NULL);

    e = take(&c.box, EV_OFFERS, NULL, -1, 10000);
    ck_assert_msg(e && e->offers->n_offers > 0, "no offer");
    launch(&c, e->offers->offers[0], "t1");
    mesos__v1__scheduler__event__free_unpacked(e, NULL);
    e = await_state(&c, "t1", MESOS__V1__TASK_STATE__TASK_RUNNING, 20000);
    char agent[256];
    snprintf(agent, sizeof(agent), "%s", e->update->status->agent_id->value);
    mesos__v1__scheduler__event__free_unpacked(e, NULL);

    /* the network drops the subscription: the client notices, re-subscribes
     * with the same framework ID and a new stream id */
    ck_assert_int_eq(simc_http(simc_port(sim), "POST", "/sim/drop-stream", NULL), 200);
    e = take(&c.box, EV_SUBSCRIBED, NULL, -1, 10000);
    ck_assert_msg(e != NULL, "no second SUBSCRIBED");
    ck_assert_str_eq(e->subscribed->framework_id->value, fwid);
    mesos__v1__scheduler__event__free_unpacked(e, NULL);
    pthread_mutex_lock(&c.box.mu);
    ck_assert_int_ge(c.box.ndown, 1);
    pthread_mutex_unlock(&c.box.mu);
    mesos_sched_framework_id(c.s, fwid2, sizeof(fwid2));
    ck_assert_str_eq(fwid2, fwid);
    ck_assert(th_wait(subscribed_cond, c.s, 5000));

    /* explicit reconciliation finds the task */
    const char *tids[] = {"t1"}, *aids[] = {agent};
    ck_assert_msg(mesos_sched_reconcile(c.s, tids, aids, 1, err, sizeof(err)) == MCM_OK, "%s", err);
    e = take(&c.box, EV_UPDATE, "t1", MESOS__V1__TASK_STATE__TASK_RUNNING, 10000);
    ck_assert_msg(e != NULL, "reconciliation did not report t1 RUNNING");
    ck_assert(e->update->status->has_reason &&
              e->update->status->reason == MESOS__V1__TASK_STATUS__REASON__REASON_RECONCILIATION);
    mesos__v1__scheduler__event__free_unpacked(e, NULL);

    ck_assert_msg(mesos_sched_kill(c.s, "t1", agent, err, sizeof(err)) == MCM_OK, "%s", err);
    e = await_state(&c, "t1", MESOS__V1__TASK_STATE__TASK_KILLED, 20000);
    mesos__v1__scheduler__event__free_unpacked(e, NULL);
    client_free(&c);
    simc_free(sim);
}
END_TEST

START_TEST(test_mesos_sim_redirect_from_non_leading_master) {
    const char *a_args[] = {"--agents", "1", "--heartbeat-interval", "300ms", NULL};
    simc *leader = simc_start(a_args);
    char to[64], master[64], url[64], err[256];
    snprintf(to, sizeof(to), "http://127.0.0.1:%d", simc_port(leader));
    const char *b_args[] = {"--agents", "1", "--redirect-to", to, NULL};
    simc *standby = simc_start(b_args);
    snprintf(master, sizeof(master), "http://127.0.0.1:%d", simc_port(standby));
    client c;
    client_start(&c, master);
    ck_assert_msg(th_wait(subscribed_cond, c.s, 10000), "not subscribed through the standby; see %s and %s",
                  simc_log(standby), simc_log(leader));
    mesos_sched_master_url(c.s, url, sizeof(url));
    ck_assert_str_eq(url, to);
    ck_assert_msg(mesos_sched_revive(c.s, err, sizeof(err)) == MCM_OK, "%s", err);
    client_free(&c);
    simc_free(standby);
    simc_free(leader);
}
END_TEST

/* Maintenance through the client: a schedule on the simulator reaches the
 * client as Offer.unavailability and an INVERSE_OFFERS event (its window read
 * by mesos_unavailability), DECLINE_INVERSE_OFFERS and ACCEPT_INVERSE_OFFERS
 * reach the master (its state records them), and a schedule change arrives
 * as RESCIND_INVERSE_OFFER. */
START_TEST(test_mesos_sim_inverse_offers_answered) {
    const char *args[] = {"--agents", "1", "--offer-interval", "100ms", NULL};
    simc *sim = simc_start(args);
    char master[64], err[256], body[512];
    snprintf(master, sizeof(master), "http://127.0.0.1:%d", simc_port(sim));
    client c;
    client_start(&c, master);
    Event *e = take(&c.box, EV_OFFERS, NULL, -1, 10000);   /* held: the agent is "offered" to us */
    ck_assert_msg(e != NULL, "no offer; see %s", simc_log(sim));
    mesos__v1__scheduler__event__free_unpacked(e, NULL);
    int64_t start_ms = util_wall_ms() + 3600 * 1000;
    snprintf(body, sizeof(body),
             "{\"windows\":[{\"machine_ids\":[{\"agent\":\"0\"}],\"unavailability\":{\"start\":{\"nanoseconds\":"
             "%lld},\"duration\":{\"nanoseconds\":60000000000}}}]}", (long long)start_ms * 1000000LL);
    const char *hdrs[] = {"Content-Type: application/json", NULL};
    ck_assert_int_eq(simc_post(simc_port(sim), "/sim/maintenance", body, strlen(body), hdrs, NULL, NULL, 0), 200);
    int64_t s_ms = 0, d_ms = 0;
    e = take(&c.box, EV_OFFERS, NULL, -1, 10000);
    ck_assert_msg(e && e->offers->n_offers == 1, "no offer after the schedule");
    ck_assert_int_eq(mesos_unavailability(e->offers->offers[0]->unavailability, &s_ms, &d_ms), MCM_OK);
    ck_assert_int_eq(s_ms, start_ms);
    ck_assert_int_eq(d_ms, 60000);
    mesos__v1__scheduler__event__free_unpacked(e, NULL);
    e = take(&c.box, EV_INVERSE, NULL, -1, 10000);
    ck_assert_msg(e && e->inverse_offers->n_inverse_offers == 1, "no inverse offer");
    char id[256];
    snprintf(id, sizeof(id), "%s", e->inverse_offers->inverse_offers[0]->id->value);
    ck_assert_int_eq(mesos_unavailability(e->inverse_offers->inverse_offers[0]->unavailability, &s_ms, &d_ms), MCM_OK);
    ck_assert_int_eq(s_ms, start_ms);
    mesos__v1__scheduler__event__free_unpacked(e, NULL);
    const char *ids[] = {id};
    ck_assert_msg(mesos_sched_decline_inverse(c.s, ids, 1, 0.2, err, sizeof(err)) == MCM_OK, "%s", err);
    e = take(&c.box, EV_INVERSE, NULL, -1, 10000);   /* after the 0.2 s filter */
    ck_assert_msg(e != NULL, "no inverse offer after the decline's filter");
    snprintf(id, sizeof(id), "%s", e->inverse_offers->inverse_offers[0]->id->value);
    mesos__v1__scheduler__event__free_unpacked(e, NULL);
    ck_assert_msg(mesos_sched_accept_inverse(c.s, ids, 1, 3600, err, sizeof(err)) == MCM_OK, "%s", err);
    json_t *st = simc_state(sim);
    json_t *ans = json_object_get(json_object_get(st, "maintenance"), "inverse_offer_answers");
    ck_assert_int_eq(json_array_size(ans), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(ans, 0), "answer")), "DECLINE");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(ans, 1), "answer")), "ACCEPT");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(ans, 1), "id")), id);
    json_decref(st);
    /* a new window: the next inverse offer, then rescinded by clearing the schedule */
    snprintf(body, sizeof(body),
             "{\"windows\":[{\"machine_ids\":[{\"agent\":\"0\"}],\"unavailability\":{\"start\":{\"nanoseconds\":"
             "%lld}}}]}", (long long)start_ms * 1000000LL);
    ck_assert_int_eq(simc_post(simc_port(sim), "/sim/maintenance", body, strlen(body), hdrs, NULL, NULL, 0), 200);
    e = take(&c.box, EV_INVERSE, NULL, -1, 10000);
    ck_assert_msg(e != NULL, "no inverse offer for the new window");
    ck_assert_int_eq(mesos_unavailability(e->inverse_offers->inverse_offers[0]->unavailability, &s_ms, &d_ms), MCM_OK);
    ck_assert_int_eq(d_ms, -1);   /* no duration: forever */
    snprintf(id, sizeof(id), "%s", e->inverse_offers->inverse_offers[0]->id->value);
    mesos__v1__scheduler__event__free_unpacked(e, NULL);
    ck_assert_int_eq(simc_post(simc_port(sim), "/sim/maintenance", "{\"windows\":[]}", 14, hdrs, NULL, NULL, 0), 200);
    e = take(&c.box, EV_RESCIND_INVERSE, NULL, -1, 10000);
    ck_assert_msg(e != NULL, "no RESCIND_INVERSE_OFFER");
    ck_assert_str_eq(e->rescind_inverse_offer->inverse_offer_id->value, id);
    mesos__v1__scheduler__event__free_unpacked(e, NULL);
    client_free(&c);
    simc_free(sim);
}
END_TEST

int main(void) {
    Suite *s = suite_create("mesos_sim");
    TCase *tc = tcase_create("sim");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_mesos_sim_task_lifecycle_across_a_dropped_stream);
    tcase_add_test(tc, test_mesos_sim_redirect_from_non_leading_master);
    tcase_add_test(tc, test_mesos_sim_inverse_offers_answered);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
