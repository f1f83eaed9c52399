/* test_wire.c -- wire compatibility with upstream Mesos definitions.
 *
 * Our .proto subset is hand-copied; a wrong field number or enum value would
 * still round-trip through our own code. So this suite checks against the
 * upstream definitions Debian ships (mesos-go's copy of the v1 protos,
 * packages mesos / mesos.scheduler, same numbers as mesos.v1.*):
 *  (a) what our builders encode, decoded by `protoc --decode`, must read back
 *      with the expected field names, values and nesting, and contain no
 *      field upstream does not know (protoc prints those as bare numbers);
 *  (b) messages `protoc --encode`s from upstream text must unpack with our
 *      code into the expected fields.
 * protoc runs through popen with the input in a temporary file. */
#include "mesos_calls.h"
#include "mesos_sched.h"

#include "mcm.h"
#include "msgs.h"
#include "launch.h"   /* the scheduler's TaskInfo builder */

#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define GOSRC "/usr/share/gocode/src"
#define SCHED_PROTO "github.com/mesos/mesos-go/api/v1/lib/scheduler/scheduler.proto"

typedef Mesos__V1__Scheduler__Call Call;
typedef Mesos__V1__Scheduler__Event Event;

static void need_protoc(void) {
    if (access(GOSRC "/" SCHED_PROTO, R_OK) != 0 || system("protoc --version > /dev/null 2>&1") != 0)
        ck_abort_msg("protoc or the upstream protos are missing: install protobuf-compiler, "
                     "golang-github-mesos-mesos-go-dev and golang-github-gogo-protobuf-dev (scripts/install-deps)");
}

/* Runs protoc --<mode>=<type> on in; returns its stdout (malloc'd, NUL-terminated). */
static char *protoc(const char *mode, const char *type, const void *in, size_t inlen, size_t *outlen) {
    char inpath[] = "/tmp/mcm-wire-XXXXXX", errpath[64], cmd[1024];
    int fd = mkstemp(inpath);
    ck_assert(fd >= 0);
    ck_assert(write(fd, in, inlen) == (ssize_t)inlen);
    close(fd);
    snprintf(errpath, sizeof(errpath), "%s.err", inpath);
    snprintf(cmd, sizeof(cmd), "protoc --%s=%s -I" GOSRC " -I/usr/include " SCHED_PROTO " < %s 2> %s", mode, type,
             inpath, errpath);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t cap = 4096, n = 0, k;
    char *out = malloc(cap);
    while ((k = fread(out + n, 1, cap - n - 1, p)) > 0) {
        n += k;
        if (cap - n < 2) out = realloc(out, cap *= 2);
    }
    out[n] = '\0';
    int st = pclose(p);
    char err[1024] = "";
    FILE *ef = fopen(errpath, "r");
    if (ef) {
        size_t e = fread(err, 1, sizeof(err) - 1, ef);
        err[e] = '\0';
        fclose(ef);
    }
    unlink(inpath);
    unlink(errpath);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "protoc --%s=%s failed: %s", mode, type, err);
    if (outlen) *outlen = n;
    return out;
}

/* Every line of text in `want` must appear, in order, as a run of lines. */
static void expect_text(const char *what, const char *got, const char *const *want, size_t n) {
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(strstr(got, want[i]) != NULL, "%s: decoded text lacks\n%s\n--- protoc said:\n%s", what,
                      want[i], got);
    /* a field number upstream does not have is printed as "<number>: ..." */
    for (const char *l = got; *l;) {
        const char *p = l;
        while (*p == ' ') p++;
        ck_assert_msg(!isdigit((unsigned char)*p), "%s: field unknown upstream: %.40s\n--- protoc said:\n%s", what, p,
                      got);
        const char *nl = strchr(l, '\n');
        l = nl ? nl + 1 : l + strlen(l);
    }
}

static void check_call(const char *what, uint8_t *buf, size_t len, const char *const *want, size_t n) {
    ck_assert_ptr_nonnull(buf);
    char *text = protoc("decode", "mesos.scheduler.Call", buf, len, NULL);
    expect_text(what, text, want, n);
    free(text);
    free(buf);
}

#define CHECK_CALL(what, expr, want) do { \
        size_t len_ = 0; \
        uint8_t *buf_ = (expr); \
        check_call(what, buf_, len_, want, MCM_ARRAY_LEN(want)); \
    } while (0)

/* --- (a) our encoding, upstream decoding ------------------------------------ */

START_TEST(test_mesos_wire_subscribe_decodes_upstream) {
    need_protoc();
    mesos_fw_info fw = {"nobody", "mcm", "mcm-role", "host1", "principal1", "http://h:8080", 604800};
    static const char *const want[] = {
        "framework_id {\n  value: \"fw-7\"\n}\n",
        "type: SUBSCRIBE\n",
        "subscribe {\n  framework_info {\n    user: \"nobody\"\n    name: \"mcm\"\n    id {\n      value: \"fw-7\"\n    }\n"
        "    failover_timeout: 604800\n    checkpoint: true\n    hostname: \"host1\"\n    principal: \"principal1\"\n"
        "    webui_url: \"http://h:8080\"\n",
        "    capabilities {\n      type: MULTI_ROLE\n    }\n",
        "    capabilities {\n      type: TASK_KILLING_STATE\n    }\n",
        "    capabilities {\n      type: PARTITION_AWARE\n    }\n",
        "    roles: \"mcm-role\"\n  }\n}\n",
    };
    size_t len = 0;
    uint8_t *buf = mesos_call_subscribe(&fw, "fw-7", &len);
    char *text = protoc("decode", "mesos.scheduler.Call", buf, len, NULL);
    expect_text("SUBSCRIBE", text, want, MCM_ARRAY_LEN(want));
    ck_assert_msg(strstr(text, " role:") == NULL, "deprecated FrameworkInfo.role is on the wire:\n%s", text);
    free(text);
    free(buf);
}
END_TEST

START_TEST(test_mesos_wire_accept_launch_decodes_upstream) {
    need_protoc();
    msg_task t;
    msg_task_init(&t);
    Mesos__V1__TaskInfo *tp[1] = {&t.task};
    static const char *const want[] = {
        "type: ACCEPT\n",
        "accept {\n  offer_ids {\n    value: \"O1\"\n  }\n  operations {\n    type: LAUNCH\n    launch {\n"
        "      task_infos {\n        name: \"memcached mc-1\"\n        task_id {\n          value: \"mc-1\"\n        }\n"
        "        agent_id {\n          value: \"S1\"\n        }\n",
        "        resources {\n          name: \"cpus\"\n          type: SCALAR\n          scalar {\n            value: 0.5\n"
        "          }\n          allocation_info {\n            role: \"mcm\"\n          }\n        }\n",
        "          name: \"mem\"\n          type: SCALAR\n          scalar {\n            value: 128\n",
        "          name: \"ports\"\n          type: RANGES\n          ranges {\n            range {\n"
        "              begin: 31001\n              end: 31001\n            }\n          }\n",
        "        executor {\n          executor_id {\n            value: \"exec-mc-1\"\n          }\n          command {\n"
        "            value: \"/usr/bin/mcm-executor\"\n            shell: false\n            arguments: \"mcm-executor\"\n"
        "            arguments: \"--port\"\n            arguments: \"31001\"\n          }\n          name: \"mcm executor\"\n"
        "          type: CUSTOM\n        }\n",
        "        labels {\n          labels {\n            key: \"mcm.shard\"\n            value: \"3\"\n          }\n        }\n",
        "  filters {\n    refuse_seconds: 30\n  }\n}\n",
    };
    CHECK_CALL("ACCEPT", mesos_call_launch("fw-1", "O1", tp, 1, 30, &len_), want);
}
END_TEST

START_TEST(test_mesos_wire_ack_reconcile_and_small_calls_decode_upstream) {
    need_protoc();
    static const char *const ack[] = {
        "type: ACKNOWLEDGE\n",
        "acknowledge {\n  agent_id {\n    value: \"S1\"\n  }\n  task_id {\n    value: \"mc-1\"\n  }\n"
        "  uuid: \"o\\034*3DUFw\\210\\231\\252\\273\\314\\335\\356\\377\"\n}\n",
    };
    CHECK_CALL("ACKNOWLEDGE", mesos_call_acknowledge("fw-1", "S1", "mc-1", msg_uuid, 16, &len_), ack);
    const char *tids[] = {"mc-1", "mc-2"}, *aids[] = {"S1", NULL};
    static const char *const rec[] = {
        "framework_id {\n  value: \"fw-1\"\n}\ntype: RECONCILE\n",
        "reconcile {\n  tasks {\n    task_id {\n      value: \"mc-1\"\n    }\n    agent_id {\n      value: \"S1\"\n    }\n"
        "  }\n  tasks {\n    task_id {\n      value: \"mc-2\"\n    }\n  }\n}\n",
    };
    CHECK_CALL("RECONCILE", mesos_call_reconcile("fw-1", tids, aids, 2, &len_), rec);
    static const char *const implicit[] = {"type: RECONCILE\nreconcile {\n}\n"};
    CHECK_CALL("implicit RECONCILE", mesos_call_reconcile("fw-1", NULL, NULL, 0, &len_), implicit);
    const char *offers[] = {"O1", "O2"};
    static const char *const dec[] = {"type: DECLINE\n", "decline {\n  offer_ids {\n    value: \"O1\"\n  }\n  offer_ids {\n"
                                                         "    value: \"O2\"\n  }\n  filters {\n    refuse_seconds: 5\n  }\n}\n"};
    CHECK_CALL("DECLINE", mesos_call_decline("fw-1", offers, 2, 5, &len_), dec);
    static const char *const kill[] = {"type: KILL\n", "kill {\n  task_id {\n    value: \"mc-1\"\n  }\n  agent_id {\n"
                                                       "    value: \"S1\"\n  }\n}\n"};
    CHECK_CALL("KILL", mesos_call_kill("fw-1", "mc-1", "S1", &len_), kill);
    static const char *const msg[] = {"type: MESSAGE\n", "message {\n  agent_id {\n    value: \"S1\"\n  }\n  executor_id {\n"
                                                         "    value: \"exec-mc-1\"\n  }\n  data: \"hi\"\n}\n"};
    CHECK_CALL("MESSAGE", mesos_call_message("fw-1", "S1", "exec-mc-1", "hi", 2, &len_), msg);
    static const char *const rev[] = {"type: REVIVE\n", "revive {\n  roles: \"mcm\"\n}\n"};
    CHECK_CALL("REVIVE", mesos_call_revive("fw-1", "mcm", &len_), rev);
    static const char *const sup[] = {"type: SUPPRESS\n", "suppress {\n  roles: \"mcm\"\n}\n"};
    CHECK_CALL("SUPPRESS", mesos_call_suppress("fw-1", "mcm", &len_), sup);
    static const char *const td[] = {"framework_id {\n  value: \"fw-1\"\n}\ntype: TEARDOWN\n"};
    CHECK_CALL("TEARDOWN", mesos_call_teardown("fw-1", &len_), td);
}
END_TEST

/* Maintenance: the answers to inverse offers (upstream Call fields 13 and 14). */
START_TEST(test_mesos_wire_inverse_offer_calls_decode_upstream) {
    need_protoc();
    const char *ids[] = {"IO1", "IO2"};
    static const char *const acc[] = {
        "framework_id {\n  value: \"fw-1\"\n}\ntype: ACCEPT_INVERSE_OFFERS\n",
        "accept_inverse_offers {\n  inverse_offer_ids {\n    value: \"IO1\"\n  }\n  inverse_offer_ids {\n"
        "    value: \"IO2\"\n  }\n  filters {\n    refuse_seconds: 3600\n  }\n}\n",
    };
    CHECK_CALL("ACCEPT_INVERSE_OFFERS", mesos_call_accept_inverse("fw-1", ids, 2, 3600, &len_), acc);
    static const char *const dec[] = {
        "type: DECLINE_INVERSE_OFFERS\n",
        "decline_inverse_offers {\n  inverse_offer_ids {\n    value: \"IO1\"\n  }\n}\n",
    };
    CHECK_CALL("DECLINE_INVERSE_OFFERS", mesos_call_decline_inverse("fw-1", ids, 1, -1, &len_), dec);
}
END_TEST

static void check_event(const char *what, uint8_t *buf, size_t len, const char *const *want, size_t n) {
    char *text = protoc("decode", "mesos.scheduler.Event", buf, len, NULL);
    expect_text(what, text, want, n);
    free(text);
    free(buf);
}

START_TEST(test_mesos_wire_events_decode_upstream) {
    need_protoc();
    size_t len;
    static const char *const sub[] = {
        "type: SUBSCRIBED\n",
        "subscribed {\n  framework_id {\n    value: \"fw-1\"\n  }\n  heartbeat_interval_seconds: 15\n  master_info {\n"
        "    id: \"m-1\"\n    ip: 16777226\n    port: 5050\n    hostname: \"master1\"\n    address {\n"
        "      hostname: \"master1\"\n      ip: \"10.0.0.1\"\n      port: 5050\n    }\n  }\n}\n",
    };
    uint8_t *b = msg_subscribed(&len);
    check_event("SUBSCRIBED", b, len, sub, MCM_ARRAY_LEN(sub));
    static const char *const off[] = {
        "type: OFFERS\n",
        "offers {\n  offers {\n    id {\n      value: \"O1\"\n    }\n    framework_id {\n      value: \"fw-1\"\n    }\n"
        "    agent_id {\n      value: \"S1\"\n    }\n    hostname: \"agent1\"\n    resources {\n      name: \"cpus\"\n",
        "    allocation_info {\n      role: \"mcm\"\n    }\n  }\n}\n",
    };
    b = msg_offers(&len);
    check_event("OFFERS", b, len, off, MCM_ARRAY_LEN(off));
    static const char *const upd[] = {
        "type: UPDATE\n",
        "update {\n  status {\n    task_id {\n      value: \"mc-1\"\n    }\n    state: TASK_RUNNING\n"
        "    message: \"memcached 1.6 ready\"\n    agent_id {\n      value: \"S1\"\n    }\n    timestamp: 1764000000.5\n"
        "    executor_id {\n      value: \"exec-mc-1\"\n    }\n    source: SOURCE_EXECUTOR\n"
        "    uuid: \"o\\034*3DUFw\\210\\231\\252\\273\\314\\335\\356\\377\"\n  }\n}\n",
    };
    b = msg_update(&len);
    check_event("UPDATE", b, len, upd, MCM_ARRAY_LEN(upd));
}
END_TEST

/* --- (b) upstream encoding, our decoding ------------------------------------ */

static Event *encode_event(const char *text) {
    size_t n;
    char *bin = protoc("encode", "mesos.scheduler.Event", text, strlen(text), &n);
    Event *ev = mesos__v1__scheduler__event__unpack(NULL, n, (const uint8_t *)bin);
    ck_assert_msg(ev != NULL, "our code cannot unpack upstream's encoding of:\n%s", text);
    free(bin);
    return ev;
}

static Call *encode_call(const char *text) {
    size_t n;
    char *bin = protoc("encode", "mesos.scheduler.Call", text, strlen(text), &n);
    Call *c = mesos__v1__scheduler__call__unpack(NULL, n, (const uint8_t *)bin);
    ck_assert_msg(c != NULL, "our code cannot unpack upstream's encoding of:\n%s", text);
    free(bin);
    return c;
}

START_TEST(test_mesos_wire_upstream_events_unpack) {
    need_protoc();
    Event *ev = encode_event(
        "type: SUBSCRIBED subscribed { framework_id { value: \"fw-2\" } heartbeat_interval_seconds: 15 "
        "master_info { id: \"m\" ip: 16777226 port: 5050 address { ip: \"10.0.0.1\" port: 5050 } } }");
    ck_assert_int_eq(ev->type, MESOS__V1__SCHEDULER__EVENT__TYPE__SUBSCRIBED);
    ck_assert_str_eq(ev->subscribed->framework_id->value, "fw-2");
    ck_assert(ev->subscribed->has_heartbeat_interval_seconds && ev->subscribed->heartbeat_interval_seconds == 15);
    ck_assert_str_eq(ev->subscribed->master_info->address->ip, "10.0.0.1");
    ck_assert_int_eq(ev->subscribed->master_info->port, 5050);
    mesos__v1__scheduler__event__free_unpacked(ev, NULL);

    ev = encode_event(
        "type: OFFERS offers { offers { id { value: \"O9\" } framework_id { value: \"fw-2\" } agent_id { value: \"S9\" } "
        "hostname: \"agent9\" resources { name: \"cpus\" type: SCALAR scalar { value: 4 } allocation_info { role: \"mcm\" } } "
        "resources { name: \"ports\" type: RANGES ranges { range { begin: 31000 end: 32000 } } "
        "allocation_info { role: \"mcm\" } } attributes { name: \"rack\" type: TEXT text { value: \"r1\" } } "
        "executor_ids { value: \"e1\" } allocation_info { role: \"mcm\" } } }");
    Mesos__V1__Offer *o = ev->offers->offers[0];
    ck_assert_str_eq(o->id->value, "O9");
    ck_assert_str_eq(o->agent_id->value, "S9");
    ck_assert_str_eq(o->hostname, "agent9");
    ck_assert_uint_eq(o->n_resources, 2);
    ck_assert(o->resources[0]->scalar->value == 4);
    ck_assert_msg(o->resources[0]->allocation_info != NULL, "Resource.allocation_info lost");
    ck_assert_str_eq(o->resources[0]->allocation_info->role, "mcm");
    ck_assert_int_eq(o->resources[1]->ranges->range[0]->end, 32000);
    ck_assert_uint_eq(o->n_attributes, 1);
    ck_assert_str_eq(o->executor_ids[0]->value, "e1");
    ck_assert_msg(o->allocation_info != NULL, "Offer.allocation_info lost");
    ck_assert_str_eq(o->allocation_info->role, "mcm");
    mesos__v1__scheduler__event__free_unpacked(ev, NULL);

    ev = encode_event(
        "type: UPDATE update { status { task_id { value: \"mc-3\" } state: TASK_KILLED message: \"bye\" "
        "source: SOURCE_AGENT reason: REASON_EXECUTOR_TERMINATED agent_id { value: \"S3\" } "
        "executor_id { value: \"e3\" } timestamp: 12.5 uuid: \"0123456789abcdef\" healthy: true "
        "labels { labels { key: \"k\" value: \"v\" } } unreachable_time { nanoseconds: 7 } } }");
    Mesos__V1__TaskStatus *st = ev->update->status;
    ck_assert_str_eq(st->task_id->value, "mc-3");
    ck_assert_int_eq(st->state, MESOS__V1__TASK_STATE__TASK_KILLED);
    ck_assert(st->has_source && st->source == MESOS__V1__TASK_STATUS__SOURCE__SOURCE_AGENT);
    ck_assert(st->has_reason && st->reason == MESOS__V1__TASK_STATUS__REASON__REASON_EXECUTOR_TERMINATED);
    ck_assert_str_eq(st->message, "bye");
    ck_assert_str_eq(st->agent_id->value, "S3");
    ck_assert_str_eq(st->executor_id->value, "e3");
    ck_assert(st->has_timestamp && st->timestamp == 12.5);
    ck_assert(st->has_uuid && st->uuid.len == 16 && memcmp(st->uuid.data, "0123456789abcdef", 16) == 0);
    ck_assert(st->has_healthy && st->healthy);
    ck_assert_str_eq(st->labels->labels[0]->value, "v");
    ck_assert_int_eq(st->unreachable_time->nanoseconds, 7);
    ck_assert_uint_eq(ev->base.n_unknown_fields, 0);
    mesos__v1__scheduler__event__free_unpacked(ev, NULL);

    ev = encode_event("type: RESCIND rescind { offer_id { value: \"O9\" } }");
    ck_assert_str_eq(ev->rescind->offer_id->value, "O9");
    mesos__v1__scheduler__event__free_unpacked(ev, NULL);
    ev = encode_event("type: MESSAGE message { agent_id { value: \"S\" } executor_id { value: \"E\" } data: \"x\" }");
    ck_assert_str_eq(ev->message->executor_id->value, "E");
    mesos__v1__scheduler__event__free_unpacked(ev, NULL);
    ev = encode_event("type: FAILURE failure { agent_id { value: \"S\" } executor_id { value: \"E\" } status: 9 }");
    ck_assert(ev->failure->has_status && ev->failure->status == 9);
    mesos__v1__scheduler__event__free_unpacked(ev, NULL);
    ev = encode_event("type: ERROR error { message: \"Framework has been removed\" }");
    ck_assert_str_eq(ev->error->message, "Framework has been removed");
    mesos__v1__scheduler__event__free_unpacked(ev, NULL);
    ev = encode_event("type: HEARTBEAT");
    ck_assert_int_eq(ev->type, MESOS__V1__SCHEDULER__EVENT__TYPE__HEARTBEAT);
    mesos__v1__scheduler__event__free_unpacked(ev, NULL);
}
END_TEST

/* What a master sends for maintenance: INVERSE_OFFERS, RESCIND_INVERSE_OFFER,
 * Offer.unavailability; and a drained task's reason (REASON_AGENT_DRAINING is
 * 34 upstream since Mesos 1.9; Debian's mesos-go copy predates it). */
START_TEST(test_mesos_wire_upstream_maintenance_events_unpack) {
    need_protoc();
    Event *ev = encode_event(
        "type: INVERSE_OFFERS inverse_offers { inverse_offers { id { value: \"IO7\" } url { scheme: \"http\" "
        "address { hostname: \"agent7\" ip: \"10.0.0.7\" port: 5051 } path: \"/slave(1)\" } "
        "framework_id { value: \"fw-1\" } agent_id { value: \"S7\" } unavailability { start { nanoseconds: 1000 } "
        "duration { nanoseconds: 2000 } } } }");
    ck_assert_int_eq(ev->type, MESOS__V1__SCHEDULER__EVENT__TYPE__INVERSE_OFFERS);
    ck_assert_uint_eq(ev->inverse_offers->n_inverse_offers, 1);
    Mesos__V1__InverseOffer *io = ev->inverse_offers->inverse_offers[0];
    ck_assert_str_eq(io->id->value, "IO7");
    ck_assert_str_eq(io->framework_id->value, "fw-1");
    ck_assert_str_eq(io->agent_id->value, "S7");
    ck_assert_str_eq(io->url->scheme, "http");
    ck_assert_str_eq(io->url->address->hostname, "agent7");
    ck_assert_int_eq(io->url->address->port, 5051);
    ck_assert_str_eq(io->url->path, "/slave(1)");
    int64_t start = 0, dur = 0;
    ck_assert_int_eq(mesos_unavailability(io->unavailability, &start, &dur), MCM_OK);
    ck_assert_int_eq(io->unavailability->start->nanoseconds, 1000);
    ck_assert_int_eq(io->unavailability->duration->nanoseconds, 2000);
    ck_assert_uint_eq(ev->base.n_unknown_fields, 0);
    mesos__v1__scheduler__event__free_unpacked(ev, NULL);

    ev = encode_event("type: RESCIND_INVERSE_OFFER rescind_inverse_offer { inverse_offer_id { value: \"IO7\" } }");
    ck_assert_int_eq(ev->type, MESOS__V1__SCHEDULER__EVENT__TYPE__RESCIND_INVERSE_OFFER);
    ck_assert_str_eq(ev->rescind_inverse_offer->inverse_offer_id->value, "IO7");
    mesos__v1__scheduler__event__free_unpacked(ev, NULL);

    ev = encode_event(
        "type: OFFERS offers { offers { id { value: \"O9\" } framework_id { value: \"fw-2\" } agent_id { value: \"S9\" } "
        "hostname: \"agent9\" unavailability { start { nanoseconds: 7200000000000 } } } }");
    Mesos__V1__Offer *o = ev->offers->offers[0];
    ck_assert_ptr_nonnull(o->unavailability);
    ck_assert_int_eq(mesos_unavailability(o->unavailability, &start, &dur), MCM_OK);
    ck_assert_int_eq(start, 7200000);
    ck_assert_int_eq(dur, -1);   /* no duration: forever */
    ck_assert_uint_eq(o->base.n_unknown_fields, 0);
    mesos__v1__scheduler__event__free_unpacked(ev, NULL);
    ck_assert_int_eq(mesos_unavailability(NULL, &start, &dur), MCM_ERR);

    /* protoc refuses an enum value its copy lacks: the number is checked against
     * apache/mesos include/mesos/v1/mesos.proto (REASON_AGENT_DRAINING = 34). */
    ck_assert_int_eq(MESOS__V1__TASK_STATUS__REASON__REASON_AGENT_DRAINING, 34);
}
END_TEST

START_TEST(test_mesos_wire_upstream_calls_unpack) {
    need_protoc();
    Call *c = encode_call(
        "framework_id { value: \"fw-1\" } type: ACCEPT accept { offer_ids { value: \"O1\" } operations { type: LAUNCH "
        "launch { task_infos { name: \"t\" task_id { value: \"mc-1\" } agent_id { value: \"S1\" } "
        "resources { name: \"mem\" type: SCALAR scalar { value: 64 } } "
        "executor { executor_id { value: \"e\" } command { value: \"/bin/x\" shell: false arguments: \"x\" } "
        "shutdown_grace_period { nanoseconds: 5000000000 } } data: \"d\" kill_policy { grace_period { nanoseconds: 3 } } } } } "
        "filters { refuse_seconds: 10 } }");
    ck_assert_int_eq(c->type, MESOS__V1__SCHEDULER__CALL__TYPE__ACCEPT);
    Mesos__V1__TaskInfo *ti = c->accept->operations[0]->launch->task_infos[0];
    ck_assert_str_eq(ti->task_id->value, "mc-1");
    ck_assert(ti->resources[0]->scalar->value == 64);
    ck_assert_str_eq(ti->executor->command->value, "/bin/x");
    ck_assert(ti->executor->command->has_shell && !ti->executor->command->shell);
    ck_assert_int_eq(ti->executor->shutdown_grace_period->nanoseconds, 5000000000LL);
    ck_assert(ti->has_data && ti->data.len == 1);
    ck_assert_int_eq(ti->kill_policy->grace_period->nanoseconds, 3);
    ck_assert(c->accept->filters->refuse_seconds == 10);
    mesos__v1__scheduler__call__free_unpacked(c, NULL);

    c = encode_call("framework_id { value: \"fw-1\" } type: ACKNOWLEDGE acknowledge { agent_id { value: \"S1\" } "
                    "task_id { value: \"mc-1\" } uuid: \"0123456789abcdef\" }");
    ck_assert_str_eq(c->acknowledge->task_id->value, "mc-1");
    ck_assert_uint_eq(c->acknowledge->uuid.len, 16);
    mesos__v1__scheduler__call__free_unpacked(c, NULL);

    c = encode_call("framework_id { value: \"fw-1\" } type: RECONCILE reconcile { tasks { task_id { value: \"a\" } "
                    "agent_id { value: \"S\" } } tasks { task_id { value: \"b\" } } }");
    ck_assert_uint_eq(c->reconcile->n_tasks, 2);
    ck_assert_str_eq(c->reconcile->tasks[1]->task_id->value, "b");
    mesos__v1__scheduler__call__free_unpacked(c, NULL);

    c = encode_call("type: SUBSCRIBE subscribe { framework_info { user: \"u\" name: \"n\" failover_timeout: 60 "
                    "checkpoint: true roles: \"r\" capabilities { type: MULTI_ROLE } } suppressed_roles: \"r\" }");
    ck_assert_str_eq(c->subscribe->framework_info->roles[0], "r");
    ck_assert_uint_eq(c->subscribe->n_suppressed_roles, 1);
    ck_assert_int_eq(c->subscribe->framework_info->capabilities[0]->type,
                     MESOS__V1__FRAMEWORK_INFO__CAPABILITY__TYPE__MULTI_ROLE);
    mesos__v1__scheduler__call__free_unpacked(c, NULL);
}
END_TEST

/* The TaskInfo the scheduler really launches (launch_build over an offer of
 * msg_task's resources): DiscoveryInfo with one named TCP port and the labels,
 * as upstream reads them (Mesos-DNS reads the same fields from the master). */
START_TEST(test_mesos_wire_launch_discovery_info_decodes_upstream) {
    need_protoc();
    msg_task t;
    msg_task_init(&t);
    Mesos__V1__Offer o = MESOS__V1__OFFER__INIT;
    Mesos__V1__OfferID oid = MESOS__V1__OFFER_ID__INIT;
    Mesos__V1__AgentID aid = MESOS__V1__AGENT_ID__INIT;
    oid.value = "O1";
    aid.value = "S1";
    o.id = &oid;
    o.agent_id = &aid;
    o.hostname = "agent1";
    o.resources = t.resp;
    o.n_resources = 3;
    offer_need need;
    offer_need_init(&need, 0.2, 64);
    offer_launch ol;
    char why[256];
    ck_assert_msg(offer_match(&o, &need, &ol, why, sizeof(why)) == MCM_OK, "%s", why);
    sched_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.executor_command = "mcm-executor";
    cfg.memcached_command = "memcached";
    cfg.memcached_listen = "0.0.0.0";
    cfg.framework_name = "mcm-prod";
    cfg.report_interval_ms = 5000;
    launch_spec spec;
    Mesos__V1__TaskInfo *tp[1] = {launch_build(&spec, &cfg, "mc-1", &o, &ol)};
    static const char *const want[] = {
        "        labels {\n          labels {\n            key: \"mcm.framework\"\n            value: \"mcm-prod\"\n"
        "          }\n          labels {\n            key: \"mcm.ring\"\n            value: \"libketama-md5-160\"\n"
        "          }\n        }\n"
        "        discovery {\n          visibility: CLUSTER\n          name: \"memcached\"\n"
        "          ports {\n            ports {\n              number: 31001\n              name: \"memcached\"\n"
        "              protocol: \"tcp\"\n            }\n          }\n"
        "          labels {\n            labels {\n              key: \"mcm.framework\"\n              value: \"mcm-prod\"\n"
        "            }\n            labels {\n              key: \"mcm.ring\"\n              value: \"libketama-md5-160\"\n"
        "            }\n          }\n        }\n",
    };
    CHECK_CALL("ACCEPT with DiscoveryInfo", mesos_call_launch("fw-1", "O1", tp, 1, 30, &len_), want);
    offer_launch_clear(&ol);
}
END_TEST

int main(void) {
    Suite *s = suite_create("mesos_wire");
    TCase *tc = tcase_create("wire");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_mesos_wire_subscribe_decodes_upstream);
    tcase_add_test(tc, test_mesos_wire_accept_launch_decodes_upstream);
    tcase_add_test(tc, test_mesos_wire_ack_reconcile_and_small_calls_decode_upstream);
    tcase_add_test(tc, test_mesos_wire_events_decode_upstream);
    tcase_add_test(tc, test_mesos_wire_upstream_events_unpack);
    tcase_add_test(tc, test_mesos_wire_upstream_calls_unpack);
    tcase_add_test(tc, test_mesos_wire_launch_discovery_info_decodes_upstream);
    tcase_add_test(tc, test_mesos_wire_inverse_offer_calls_decode_upstream);
    tcase_add_test(tc, test_mesos_wire_upstream_maintenance_events_unpack);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
