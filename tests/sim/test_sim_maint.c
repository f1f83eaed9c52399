/* test_sim_maint.c -- maintenance schedules, inverse offers and agent drains
 * in mcm-sim, each compared with what the Mesos master does (apache/mesos
 * src/master/master.cpp, src/master/allocator/mesos/hierarchical.cpp,
 * src/slave/slave.cpp; the rules are listed in src/sim/sim_maint.c and
 * sim_drain.c). Events are decoded with our code and, where the wire form
 * matters, by `protoc --decode` against the upstream definitions Debian
 * ships. Every wait is bounded. */
#include "harness.h"
#include "simc.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define EV(t) MESOS__V1__SCHEDULER__EVENT__TYPE__##t
#define CALL(t) MESOS__V1__SCHEDULER__CALL__TYPE__##t
#define ST(t) MESOS__V1__TASK_STATE__TASK_##t
#define GOSRC "/usr/share/gocode/src"
#define SCHED_PROTO "github.com/mesos/mesos-go/api/v1/lib/scheduler/scheduler.proto"
#define HOUR_NS (3600LL * 1000000000LL)

static simc *S;
static simc_sub *SUB;
static Mesos__V1__FrameworkInfo *FI;
static char FW[256];
static int SEEN[8], UNAVAIL[8];   /* per agent index: offers seen, whether the latest carried an unavailability */

static void teardown(void) {
    memset(SEEN, 0, sizeof(SEEN));
    memset(UNAVAIL, 0, sizeof(UNAVAIL));
    simc_sub_close(SUB);
    SUB = NULL;
    simc_fi_free(FI);
    FI = NULL;
    simc_free(S);
    S = NULL;
}

static void start(const char *const *args, int pa) {
    S = simc_start(args);
    FI = simc_fi("maint", NULL, pa, 3600);
    SUB = simc_subscribe(simc_port(S), FI);
    ck_assert_int_eq(simc_sub_status(SUB, 5000), 200);
    Mesos__V1__Scheduler__Event *ev = simc_sub_next(SUB, EV(SUBSCRIBED), 5000);
    ck_assert_ptr_nonnull(ev);
    snprintf(FW, sizeof(FW), "%s", ev->subscribed->framework_id->value);
    mesos__v1__scheduler__event__free_unpacked(ev, NULL);
}

static void free_ev(Mesos__V1__Scheduler__Event *ev) { mesos__v1__scheduler__event__free_unpacked(ev, NULL); }

static int64_t wall_ns(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000000000LL + (int64_t)tv.tv_usec * 1000LL;
}

static int post_body(const char *path, const char *body, char **out) {
    const char *hdrs[] = {"Content-Type: application/json", NULL};
    return simc_post(simc_port(S), path, body, strlen(body), hdrs, out, NULL, 0);
}

/* POST /sim/maintenance with one window for agent index ag (-1: empty schedule). */
static int schedule(int ag, int64_t start_ns, int64_t dur_ns) {
    char body[512];
    if (ag < 0) snprintf(body, sizeof(body), "{\"windows\":[]}");
    else
        snprintf(body, sizeof(body),
                 "{\"windows\":[{\"machine_ids\":[{\"agent\":\"%d\"}],\"unavailability\":{\"start\":"
                 "{\"nanoseconds\":%lld},\"duration\":{\"nanoseconds\":%lld}}}]}",
                 ag, (long long)start_ns, (long long)dur_ns);
    char *out = NULL;
    int code = post_body("/sim/maintenance", body, &out);
    free(out);
    return code;
}

static int agent_index(const char *agent_id) {
    const char *p = strrchr(agent_id, 'S');
    return p ? atoi(p + 1) : -1;
}

/* The next offer event that has an offer from agent ag (others are left
 * unanswered: they stay outstanding, so those agents offer nothing more). */
static Mesos__V1__Offer *offer_from(int ag, Mesos__V1__Scheduler__Event **holder, int timeout_ms) {
    for (int waited = 0; waited < timeout_ms; waited += 200) {
        Mesos__V1__Scheduler__Event *ev = simc_sub_next(SUB, EV(OFFERS), 200);
        if (!ev) continue;
        for (size_t i = 0; i < ev->offers->n_offers; i++) {
            int k = agent_index(ev->offers->offers[i]->agent_id->value);
            if (k < 0 || k >= 8) continue;
            SEEN[k]++;
            UNAVAIL[k] = ev->offers->offers[i]->unavailability != NULL;
        }
        for (size_t i = 0; i < ev->offers->n_offers; i++)
            if (agent_index(ev->offers->offers[i]->agent_id->value) == ag) {
                *holder = ev;
                return ev->offers->offers[i];
            }
        free_ev(ev);
    }
    *holder = NULL;
    return NULL;
}

static int answer_inverse(int accept, const char *id, double refuse_s) {
    Mesos__V1__Scheduler__Call c;
    Mesos__V1__FrameworkID fid;
    simc_call_init(&c, &fid, FW, accept ? CALL(ACCEPT_INVERSE_OFFERS) : CALL(DECLINE_INVERSE_OFFERS));
    Mesos__V1__OfferID oid = MESOS__V1__OFFER_ID__INIT, *oids[1] = {&oid};
    Mesos__V1__Filters f = MESOS__V1__FILTERS__INIT;
    Mesos__V1__Scheduler__Call__AcceptInverseOffers a = MESOS__V1__SCHEDULER__CALL__ACCEPT_INVERSE_OFFERS__INIT;
    Mesos__V1__Scheduler__Call__DeclineInverseOffers d = MESOS__V1__SCHEDULER__CALL__DECLINE_INVERSE_OFFERS__INIT;
    oid.value = (char *)id;
    f.has_refuse_seconds = 1;
    f.refuse_seconds = refuse_s;
    if (accept) {
        a.n_inverse_offer_ids = 1;
        a.inverse_offer_ids = oids;
        a.filters = &f;
        c.accept_inverse_offers = &a;
    } else {
        d.n_inverse_offer_ids = 1;
        d.inverse_offer_ids = oids;
        d.filters = &f;
        c.decline_inverse_offers = &d;
    }
    return simc_call(simc_port(S), simc_sub_stream_id(SUB), &c, NULL, 0);
}

/* protoc --decode=mesos.scheduler.Event of ev (upstream text, malloc'd). */
static char *upstream_event(const Mesos__V1__Scheduler__Event *ev) {
    ck_assert_msg(access(GOSRC "/" SCHED_PROTO, R_OK) == 0 && system("protoc --version > /dev/null 2>&1") == 0,
                  "protoc or the upstream protos are missing (scripts/install-deps)");
    char path[] = "/tmp/mcm-sim-maint-XXXXXX", cmd[512];
    int fd = mkstemp(path);
    ck_assert(fd >= 0);
    size_t n = mesos__v1__scheduler__event__get_packed_size(ev);
    uint8_t *buf = malloc(n);
    mesos__v1__scheduler__event__pack(ev, buf);
    ck_assert(write(fd, buf, n) == (ssize_t)n);
    close(fd);
    free(buf);
    snprintf(cmd, sizeof(cmd),
             "protoc --decode=mesos.scheduler.Event -I" GOSRC " -I/usr/include " SCHED_PROTO " < %s 2>&1", path);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    char *out = calloc(1, 65536);
    size_t k = fread(out, 1, 65535, p);
    out[k] = '\0';
    int st = pclose(p);
    unlink(path);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "protoc failed: %s", out);
    return out;
}

static json_t *maint_state(void) {
    json_t *st = simc_state(S);
    json_t *m = json_incref(json_object_get(st, "maintenance"));
    json_decref(st);
    ck_assert_ptr_nonnull(m);
    return m;
}

/* Mesos: POST /maintenance/schedule replaces the schedule; Master::updateUnavailability
 * rescinds the agent's offers at once; Master::offer then puts the machine's
 * Unavailability on every offer from it (far-off windows included); other
 * agents' offers carry none. An empty schedule takes it away again. */
START_TEST(test_sim_maint_offers_carry_unavailability) {
    const char *args[] = {"--agents", "2", "--offer-interval", "100ms", NULL};
    start(args, 1);
    Mesos__V1__Scheduler__Event *held;
    Mesos__V1__Offer *o = offer_from(0, &held, 5000);
    ck_assert_ptr_nonnull(o);
    ck_assert_ptr_null(o->unavailability);
    char held_id[256];
    snprintf(held_id, sizeof(held_id), "%s", o->id->value);
    free_ev(held);
    int64_t start_ns = wall_ns() + HOUR_NS;
    ck_assert_int_eq(schedule(0, start_ns, 2 * HOUR_NS), 200);
    Mesos__V1__Scheduler__Event *r = simc_sub_next(SUB, EV(RESCIND), 3000);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->rescind->offer_id->value, held_id);
    free_ev(r);
    o = offer_from(0, &held, 5000);
    ck_assert_ptr_nonnull(o);
    ck_assert_ptr_nonnull(o->unavailability);
    ck_assert_int_eq(o->unavailability->start->nanoseconds, start_ns);
    ck_assert_ptr_nonnull(o->unavailability->duration);
    ck_assert_int_eq(o->unavailability->duration->nanoseconds, 2 * HOUR_NS);
    char want[128];
    snprintf(want, sizeof(want), "  unavailability {\n      start {\n        nanoseconds: %lld\n      }\n",
             (long long)start_ns);
    char *text = upstream_event(held);
    ck_assert_msg(strstr(text, want) != NULL, "upstream text lacks\n%s--- got:\n%s", want, text);
    free(text);
    free_ev(held);
    ck_assert_int_gt(SEEN[1], 0);   /* agent 1's offer (outstanding since) carried none */
    ck_assert_int_eq(UNAVAIL[1], 0);
    json_t *m = maint_state();
    ck_assert_int_eq(json_array_size(json_object_get(m, "windows")), 1);
    json_decref(m);
    ck_assert_int_eq(schedule(-1, 0, 0), 200);
    o = offer_from(0, &held, 5000);
    ck_assert_ptr_nonnull(o);
    ck_assert_ptr_null(o->unavailability);
    free_ev(held);
}
END_TEST

/* Mesos' maintenance validation refuses a machine in two windows, a window
 * without machines or start, a negative duration; a bad body is a 400 and
 * the schedule is unchanged. */
START_TEST(test_sim_maint_bad_schedules_are_refused) {
    const char *args[] = {"--agents", "2", NULL};
    start(args, 1);
    const char *bad[] = {
        "", "not json", "[]", "7", "{\"windows\":3}", "{\"windows\":[{}]}",
        "{\"windows\":[{\"machine_ids\":[],\"unavailability\":{\"start\":{\"nanoseconds\":1}}}]}",
        "{\"windows\":[{\"machine_ids\":[{\"agent\":\"0\"}],\"unavailability\":{}}]}",
        "{\"windows\":[{\"machine_ids\":[{\"agent\":\"0\"}],\"unavailability\":{\"start\":{\"nanoseconds\":\"x\"}}}]}",
        "{\"windows\":[{\"machine_ids\":[{\"agent\":\"0\"}],\"unavailability\":{\"start\":{\"nanoseconds\":1},"
        "\"duration\":{\"nanoseconds\":-5}}}]}",
        "{\"windows\":[{\"machine_ids\":[{\"agent\":\"7\"}],\"unavailability\":{\"start\":{\"nanoseconds\":1}}}]}",
        "{\"windows\":[{\"machine_ids\":[{}],\"unavailability\":{\"start\":{\"nanoseconds\":1}}}]}",
        "{\"windows\":[{\"machine_ids\":[{\"agent\":\"1\"}],\"unavailability\":{\"start\":{\"nanoseconds\":1}}},"
        "{\"machine_ids\":[{\"agent\":\"1\"}],\"unavailability\":{\"start\":{\"nanoseconds\":2}}}]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *out = NULL;
        int code = post_body("/sim/maintenance", bad[i], &out);
        ck_assert_msg(code == 400, "'%s': %d %s", bad[i], code, out ? out : "");
        ck_assert_msg(out && strstr(out, "\"error\""), "'%s': %s", bad[i], out ? out : "");
        free(out);
    }
    json_t *m = maint_state();
    ck_assert_int_eq(json_array_size(json_object_get(m, "windows")), 0);
    json_decref(m);
    /* by hostname (every agent here is 127.0.0.1): both machines match, no duration = forever */
    char *out = NULL;
    ck_assert_int_eq(post_body("/sim/maintenance", "{\"windows\":[{\"machine_ids\":[{\"hostname\":\"127.0.0.1\"}],"
                                                   "\"unavailability\":{\"start\":{\"nanoseconds\":5}}}]}", &out),
                     200);
    free(out);
    m = maint_state();
    ck_assert_int_eq(json_array_size(json_object_get(m, "windows")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(json_object_get(m, "windows"), 0),
                                                        "duration_ms")), -1);
    json_decref(m);
}
END_TEST

/* Mesos (generateInverseOffers, Master::inverseOffer): a framework with
 * resources offered or allocated on a scheduled agent gets one InverseOffer
 * (id from the offer IDs, url http://agent/slave(1), its framework and agent
 * ID, the unavailability, no resources) and no second one while it is
 * outstanding. DECLINE_INVERSE_OFFERS with a filter: the next one comes once
 * the filter ends. ACCEPT with a long filter: none for its duration. An
 * unknown ID is ignored (202). A changed schedule rescinds the outstanding
 * one (RESCIND_INVERSE_OFFER). Answers are recorded in /sim/state. */
START_TEST(test_sim_maint_inverse_offers_and_answers) {
    const char *args[] = {"--agents", "2", "--offer-interval", "100ms", NULL};
    start(args, 1);
    Mesos__V1__Scheduler__Event *held;
    ck_assert_ptr_nonnull(offer_from(0, &held, 5000));   /* held, never answered: "offered" resources */
    free_ev(held);
    int64_t start_ns = wall_ns() + HOUR_NS;
    ck_assert_int_eq(schedule(0, start_ns, HOUR_NS), 200);
    ck_assert_ptr_nonnull(offer_from(0, &held, 5000));   /* the re-offer, again held */
    free_ev(held);
    Mesos__V1__Scheduler__Event *ie = simc_sub_next(SUB, EV(INVERSE_OFFERS), 3000);
    ck_assert_ptr_nonnull(ie);
    ck_assert_uint_eq(ie->inverse_offers->n_inverse_offers, 1);
    Mesos__V1__InverseOffer *io = ie->inverse_offers->inverse_offers[0];
    ck_assert_str_eq(io->framework_id->value, FW);
    ck_assert_int_eq(agent_index(io->agent_id->value), 0);
    ck_assert_int_eq(io->unavailability->start->nanoseconds, start_ns);
    ck_assert_int_eq(io->unavailability->duration->nanoseconds, HOUR_NS);
    ck_assert_uint_eq(io->n_resources, 0);
    ck_assert_str_eq(io->url->scheme, "http");
    ck_assert_str_eq(io->url->path, "/slave(1)");
    ck_assert_int_gt(io->url->address->port, 0);
    char *text = upstream_event(ie);
    ck_assert_msg(strstr(text, "type: INVERSE_OFFERS\n") && strstr(text, "inverse_offers {\n  inverse_offers {\n") &&
                      strstr(text, "    url {\n      scheme: \"http\"\n      address {\n") &&
                      strstr(text, "    unavailability {\n      start {\n"),
                  "%s", text);
    free(text);
    char id1[256];
    snprintf(id1, sizeof(id1), "%s", io->id->value);
    free_ev(ie);
    ck_assert_ptr_null(simc_sub_next(SUB, EV(INVERSE_OFFERS), 800));   /* outstanding: no second one */
    ck_assert_int_eq(answer_inverse(0, id1, 1.0), 202);
    ie = simc_sub_next(SUB, EV(INVERSE_OFFERS), 4000);                 /* after the 1 s filter */
    ck_assert_ptr_nonnull(ie);
    char id2[256];
    snprintf(id2, sizeof(id2), "%s", ie->inverse_offers->inverse_offers[0]->id->value);
    ck_assert_str_ne(id1, id2);
    free_ev(ie);
    ck_assert_int_eq(answer_inverse(1, "no-such-inverse-offer", 1.0), 202);
    ck_assert_int_eq(answer_inverse(1, id2, 3600.0), 202);
    ck_assert_ptr_null(simc_sub_next(SUB, EV(INVERSE_OFFERS), 1500));
    json_t *m = maint_state();
    json_t *ans = json_object_get(m, "inverse_offer_answers");
    ck_assert_int_eq(json_array_size(ans), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(ans, 0), "answer")), "DECLINE");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(ans, 1), "answer")), "ACCEPT");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(ans, 1), "id")), id2);
    ck_assert_int_eq(json_array_size(json_object_get(m, "inverse_offers")), 0);
    json_decref(m);
    /* a new window drops the filters (updateUnavailability): a fresh inverse offer, then rescinded by the next change */
    ck_assert_int_eq(schedule(0, start_ns + HOUR_NS, HOUR_NS), 200);
    ck_assert_ptr_nonnull(offer_from(0, &held, 5000));
    free_ev(held);
    ie = simc_sub_next(SUB, EV(INVERSE_OFFERS), 3000);
    ck_assert_ptr_nonnull(ie);
    char id3[256];
    snprintf(id3, sizeof(id3), "%s", ie->inverse_offers->inverse_offers[0]->id->value);
    free_ev(ie);
    ck_assert_int_eq(schedule(-1, 0, 0), 200);
    Mesos__V1__Scheduler__Event *ri = simc_sub_next(SUB, EV(RESCIND_INVERSE_OFFER), 3000);
    ck_assert_ptr_nonnull(ri);
    ck_assert_str_eq(ri->rescind_inverse_offer->inverse_offer_id->value, id3);
    free_ev(ri);
}
END_TEST

/* Mesos sends inverse offers only to frameworks that stand to lose
 * something there: one that declined everything (nothing offered or
 * allocated on the agent) gets none. */
START_TEST(test_sim_maint_no_inverse_offer_without_resources_there) {
    const char *args[] = {"--agents", "1", "--offer-interval", "100ms", NULL};
    start(args, 1);
    Mesos__V1__Scheduler__Event *held;
    Mesos__V1__Offer *o = offer_from(0, &held, 5000);
    ck_assert_ptr_nonnull(o);
    Mesos__V1__Scheduler__Call c;
    Mesos__V1__FrameworkID fid;
    simc_call_init(&c, &fid, FW, CALL(DECLINE));
    Mesos__V1__Scheduler__Call__Decline d = MESOS__V1__SCHEDULER__CALL__DECLINE__INIT;
    Mesos__V1__Filters f = MESOS__V1__FILTERS__INIT;
    Mesos__V1__OfferID *ids[1] = {o->id};
    f.has_refuse_seconds = 1;
    f.refuse_seconds = 3600;
    d.n_offer_ids = 1;
    d.offer_ids = ids;
    d.filters = &f;
    c.decline = &d;
    ck_assert_int_eq(simc_call(simc_port(S), simc_sub_stream_id(SUB), &c, NULL, 0), 202);
    free_ev(held);
    ck_assert_int_eq(schedule(0, wall_ns() + HOUR_NS, HOUR_NS), 200);
    ck_assert_ptr_null(simc_sub_next(SUB, EV(INVERSE_OFFERS), 1500));
    json_t *m = maint_state();
    ck_assert_int_eq(json_integer_value(json_object_get(m, "inverse_offers_sent")), 0);
    json_decref(m);
}
END_TEST

/* --- drains ------------------------------------------------------------------------------ */

static Mesos__V1__Resource *scalar(Mesos__V1__Resource *r, Mesos__V1__Value__Scalar *v, const char *name, double x) {
    mesos__v1__resource__init(r);
    mesos__v1__value__scalar__init(v);
    r->name = (char *)name;
    r->type = MESOS__V1__VALUE__TYPE__SCALAR;
    v->value = x;
    r->scalar = v;
    return r;
}

/* ACCEPT o with one task of sim_test_executor. */
static void launch(const Mesos__V1__Offer *o, const char *task) {
    Mesos__V1__Scheduler__Call c;
    Mesos__V1__FrameworkID fid;
    simc_call_init(&c, &fid, FW, CALL(ACCEPT));
    Mesos__V1__Scheduler__Call__Accept ac = MESOS__V1__SCHEDULER__CALL__ACCEPT__INIT;
    Mesos__V1__Offer__Operation op = MESOS__V1__OFFER__OPERATION__INIT, *ops[1] = {&op};
    Mesos__V1__Offer__Operation__Launch l = MESOS__V1__OFFER__OPERATION__LAUNCH__INIT;
    Mesos__V1__TaskInfo ti = MESOS__V1__TASK_INFO__INIT, *tis[1] = {&ti};
    Mesos__V1__TaskID tid = MESOS__V1__TASK_ID__INIT;
    Mesos__V1__ExecutorInfo ei = MESOS__V1__EXECUTOR_INFO__INIT;
    Mesos__V1__ExecutorID eid = MESOS__V1__EXECUTOR_ID__INIT;
    Mesos__V1__CommandInfo cmd = MESOS__V1__COMMAND_INFO__INIT;
    Mesos__V1__Resource r[2], *rs[2] = {&r[0], &r[1]};
    Mesos__V1__Value__Scalar v[2];
    Mesos__V1__OfferID *oids[1] = {o->id};
    char bin[512];
    snprintf(bin, sizeof(bin), "%s/tests/sim/sim_test_executor", getenv("MCM_BUILD_DIR"));
    ti.name = "t";
    tid.value = (char *)task;
    ti.task_id = &tid;
    ti.agent_id = o->agent_id;
    ti.n_resources = 2;
    ti.resources = rs;
    scalar(&r[0], &v[0], "cpus", 0.1);
    scalar(&r[1], &v[1], "mem", 32);
    eid.value = (char *)task;
    ei.executor_id = &eid;
    cmd.value = bin;
    cmd.has_shell = 1;
    cmd.shell = 0;
    ei.command = &cmd;
    ti.executor = &ei;
    l.n_task_infos = 1;
    l.task_infos = tis;
    op.has_type = 1;
    op.type = MESOS__V1__OFFER__OPERATION__TYPE__LAUNCH;
    op.launch = &l;
    ac.n_offer_ids = 1;
    ac.offer_ids = oids;
    ac.n_operations = 1;
    ac.operations = ops;
    c.accept = &ac;
    ck_assert_int_eq(simc_call(simc_port(S), simc_sub_stream_id(SUB), &c, NULL, 0), 202);
}

static void ack(const Mesos__V1__TaskStatus *st) {
    Mesos__V1__Scheduler__Call c;
    Mesos__V1__FrameworkID fid;
    simc_call_init(&c, &fid, FW, CALL(ACKNOWLEDGE));
    Mesos__V1__Scheduler__Call__Acknowledge ak = MESOS__V1__SCHEDULER__CALL__ACKNOWLEDGE__INIT;
    ak.agent_id = st->agent_id;
    ak.task_id = st->task_id;
    ak.uuid = st->uuid;
    c.acknowledge = &ak;
    ck_assert_int_eq(simc_call(simc_port(S), simc_sub_stream_id(SUB), &c, NULL, 0), 202);
}

/* The next update of task (acknowledged); its state, reason and source into the out args. */
static void next_update(const char *task, int *state, int *reason, int *source) {
    Mesos__V1__Scheduler__Event *ev = simc_sub_next(SUB, EV(UPDATE), 8000);
    ck_assert_msg(ev != NULL, "no update for %s", task);
    Mesos__V1__TaskStatus *st = ev->update->status;
    ck_assert_str_eq(st->task_id->value, task);
    *state = st->state;
    *reason = st->has_reason ? (int)st->reason : -1;
    *source = st->has_source ? (int)st->source : -1;
    ack(st);
    free_ev(ev);
}

/* A running task on agent ag. */
static void run_on(int ag, const char *task) {
    Mesos__V1__Scheduler__Event *held;
    Mesos__V1__Offer *o = offer_from(ag, &held, 5000);
    ck_assert_ptr_nonnull(o);
    launch(o, task);
    free_ev(held);
    int st, reason, source;
    next_update(task, &st, &reason, &source);
    ck_assert_int_eq(st, ST(STARTING));
    next_update(task, &st, &reason, &source);
    ck_assert_int_eq(st, ST(RUNNING));
}

static const char *drain_state(int ag) {
    static char buf[32];
    json_t *m = maint_state(), *d = json_object_get(m, "drains");
    char want[16];
    snprintf(want, sizeof(want), "-S%d", ag);
    buf[0] = 0;
    for (size_t i = 0; i < json_array_size(d); i++) {
        const char *id = json_string_value(json_object_get(json_array_get(d, i), "agent_id"));
        if (strlen(id) > strlen(want) && !strcmp(id + strlen(id) - strlen(want), want))
            snprintf(buf, sizeof(buf), "%s", json_string_value(json_object_get(json_array_get(d, i), "state")));
    }
    json_decref(m);
    return buf;
}

/* Mesos DRAIN_AGENT: the agent is deactivated (its offers rescinded, no new
 * ones), each task is killed and its TASK_KILLED carries reason
 * REASON_AGENT_DRAINING (Slave::statusUpdate overwrites any reason; the
 * source stays the executor's); once nothing is left it is DRAINED, still
 * not offered, until REACTIVATE_AGENT. Other agents go on as before. */
START_TEST(test_sim_drain_kills_with_reason_and_stops_offers) {
    const char *args[] = {"--agents", "2", "--offer-interval", "100ms", NULL};
    start(args, 1);
    run_on(0, "drained-task");
    char *out = NULL;
    ck_assert_int_eq(simc_http(simc_port(S), "POST", "/sim/agent/drain?agent=0&max_grace=1s", &out), 200);
    free(out);
    ck_assert_str_eq(drain_state(0), "DRAINING");
    int st, reason, source;
    next_update("drained-task", &st, &reason, &source);
    ck_assert_int_eq(st, ST(KILLED));
    ck_assert_int_eq(reason, MESOS__V1__TASK_STATUS__REASON__REASON_AGENT_DRAINING);
    ck_assert_int_eq(source, MESOS__V1__TASK_STATUS__SOURCE__SOURCE_EXECUTOR);
    for (int i = 0; i < 50 && strcmp(drain_state(0), "DRAINED"); i++) usleep(100000);
    ck_assert_str_eq(drain_state(0), "DRAINED");
    Mesos__V1__Scheduler__Event *held;
    ck_assert_ptr_null(offer_from(0, &held, 1500));        /* deactivated */
    json_t *state = simc_state(S), *offers = json_object_get(state, "offers");
    int on0 = 0, on1 = 0;
    for (size_t i = 0; i < json_array_size(offers); i++) {
        int k = agent_index(json_string_value(json_object_get(json_array_get(offers, i), "agent_id")));
        on0 += k == 0;
        on1 += k == 1;
    }
    json_decref(state);
    ck_assert_int_eq(on0, 0);
    ck_assert_int_eq(on1, 1);                              /* the other agent is still offered */
    ck_assert_int_eq(simc_http(simc_port(S), "POST", "/sim/agent/reactivate?agent=0", &out), 200);
    free(out);
    ck_assert_ptr_nonnull(offer_from(0, &held, 5000));
    free_ev(held);
    ck_assert_int_eq(simc_http(simc_port(S), "POST", "/sim/agent/reactivate?agent=0", &out), 409);   /* not drained */
    free(out);
    ck_assert_int_eq(simc_http(simc_port(S), "POST", "/sim/agent/drain", &out), 400);
    free(out);
    ck_assert_int_eq(simc_http(simc_port(S), "POST", "/sim/agent/drain?agent=0&max_grace=soon", &out), 400);
    free(out);
}
END_TEST

/* mark_gone with a PARTITION_AWARE framework: the kill becomes
 * TASK_GONE_BY_OPERATOR (reason REASON_AGENT_DRAINING), the drained agent is
 * gone for good (Mesos refuses it back): /sim/agent/up and reactivate 409. */
START_TEST(test_sim_drain_mark_gone) {
    const char *args[] = {"--agents", "2", "--offer-interval", "100ms", NULL};
    start(args, 1);
    run_on(1, "gone-task");
    char *out = NULL;
    ck_assert_int_eq(simc_http(simc_port(S), "POST", "/sim/agent/drain?agent=1&mark_gone=1", &out), 200);
    free(out);
    int st, reason, source;
    next_update("gone-task", &st, &reason, &source);
    ck_assert_int_eq(st, ST(GONE_BY_OPERATOR));
    ck_assert_int_eq(reason, MESOS__V1__TASK_STATUS__REASON__REASON_AGENT_DRAINING);
    for (int i = 0; i < 50 && strcmp(drain_state(1), "DRAINED"); i++) usleep(100000);
    ck_assert_str_eq(drain_state(1), "DRAINED");
    ck_assert_int_eq(simc_http(simc_port(S), "POST", "/sim/agent/up?agent=1", &out), 409);
    free(out);
    ck_assert_int_eq(simc_http(simc_port(S), "POST", "/sim/agent/reactivate?agent=1", &out), 409);
    free(out);
    ck_assert_int_eq(simc_http(simc_port(S), "POST", "/sim/agent/drain?agent=1", &out), 409);
    free(out);
}
END_TEST

int main(void) {
    Suite *s = suite_create("sim_maint");
    TCase *tc = tcase_create("maint");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_sim_maint_offers_carry_unavailability);
    tcase_add_test(tc, test_sim_maint_bad_schedules_are_refused);
    tcase_add_test(tc, test_sim_maint_inverse_offers_and_answers);
    tcase_add_test(tc, test_sim_maint_no_inverse_offer_without_resources_there);
    tcase_add_test(tc, test_sim_drain_kills_with_reason_and_stops_offers);
    tcase_add_test(tc, test_sim_drain_mark_gone);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
