/* test_sim_attrs.c -- agent attributes and fault domains in mcm-sim's
 * offers, as the Mesos master sends them (master.cpp Master::offer: the
 * agent's attributes, and its DomainInfo when it has one; the allocator's
 * isRemoteSlave keeps agents of another region from frameworks that are not
 * REGION_AWARE). Offers are decoded with our code and, packed again, by
 * `protoc --decode mesos.Offer` against the upstream definitions Debian
 * ships, as tests/mesos/wire does. Every wait is bounded. */
#include "harness.h"
#include "simc.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define EV(t) MESOS__V1__SCHEDULER__EVENT__TYPE__##t
#define GOSRC "/usr/share/gocode/src"
#define MESOS_PROTO "github.com/mesos/mesos-go/api/v1/lib/mesos.proto"

static simc *S;

static void teardown(void) {
    simc_free(S);
    S = NULL;
}

static simc_sub *subscribe(Mesos__V1__FrameworkInfo *fi) {
    simc_sub *sub = simc_subscribe(simc_port(S), fi);
    ck_assert_int_eq(simc_sub_status(sub, 5000), 200);
    Mesos__V1__Scheduler__Event *ev = simc_sub_next(sub, EV(SUBSCRIBED), 5000);
    ck_assert_ptr_nonnull(ev);
    mesos__v1__scheduler__event__free_unpacked(ev, NULL);
    return sub;
}

/* Offers until one from every agent index in want (a bit mask) came, or
 * timeout; copies each agent's last offer into got[index] (caller frees). */
static void collect(simc_sub *sub, unsigned want, Mesos__V1__Offer **got, int nagents, int timeout_ms) {
    unsigned seen = 0;
    for (int waited = 0; (seen & want) != want && waited < timeout_ms; waited += 500) {
        Mesos__V1__Scheduler__Event *ev = simc_sub_next(sub, EV(OFFERS), 500);
        if (!ev) continue;
        for (size_t i = 0; i < ev->offers->n_offers; i++) {
            Mesos__V1__Offer *o = ev->offers->offers[i];
            const char *dash = strrchr(o->agent_id->value, 'S');
            int idx = dash ? atoi(dash + 1) : -1;
            if (idx < 0 || idx >= nagents) continue;
            size_t n = mesos__v1__offer__get_packed_size(o);
            uint8_t *buf = malloc(n);
            mesos__v1__offer__pack(o, buf);
            if (got[idx]) mesos__v1__offer__free_unpacked(got[idx], NULL);
            got[idx] = mesos__v1__offer__unpack(NULL, n, buf);
            free(buf);
            seen |= 1u << idx;
        }
        mesos__v1__scheduler__event__free_unpacked(ev, NULL);
    }
}

static const char *attr_text(const Mesos__V1__Offer *o, const char *name) {
    for (size_t i = 0; i < o->n_attributes; i++)
        if (!strcmp(o->attributes[i]->name, name) && o->attributes[i]->type == MESOS__V1__VALUE__TYPE__TEXT)
            return o->attributes[i]->text->value;
    return NULL;
}

/* protoc --decode=mesos.Offer of o, upstream's text form (malloc'd). */
static char *upstream_text(const Mesos__V1__Offer *o) {
    ck_assert_msg(access(GOSRC "/" MESOS_PROTO, R_OK) == 0 && system("protoc --version > /dev/null 2>&1") == 0,
                  "protoc or the upstream protos are missing (scripts/install-deps)");
    char path[] = "/tmp/mcm-sim-attrs-XXXXXX", cmd[512];
    int fd = mkstemp(path);
    ck_assert(fd >= 0);
    size_t n = mesos__v1__offer__get_packed_size(o);
    uint8_t *buf = malloc(n);
    mesos__v1__offer__pack(o, buf);
    ck_assert(write(fd, buf, n) == (ssize_t)n);
    close(fd);
    free(buf);
    snprintf(cmd, sizeof(cmd), "protoc --decode=mesos.Offer -I" GOSRC " -I/usr/include " MESOS_PROTO " < %s 2>&1",
             path);
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

START_TEST(test_sim_offers_carry_attributes_and_domain) {
    const char *args[] = {"--agents", "3", "--offer-interval", "100ms",
                          "--attributes", "rack:r1;tier:cache|rack:r2;level:0.5|rack:r3;slots:[1-2,5-9]",
                          "--domains", "us-east/a|us-east/b", "--agent-hostname", "127.0.0.1|127.0.0.2", NULL};
    S = simc_start(args);
    Mesos__V1__FrameworkInfo *fi = simc_fi("attrs", NULL, 1, 3600);
    simc_sub *sub = subscribe(fi);
    Mesos__V1__Offer *got[3] = {NULL, NULL, NULL};
    collect(sub, 7, got, 3, 10000);
    for (int i = 0; i < 3; i++) ck_assert_msg(got[i] != NULL, "no offer from agent %d", i);
    /* our decoding */
    ck_assert_str_eq(got[0]->hostname, "127.0.0.1");
    ck_assert_str_eq(got[1]->hostname, "127.0.0.2");
    ck_assert_str_eq(got[2]->hostname, "127.0.0.1");
    ck_assert_str_eq(attr_text(got[0], "rack"), "r1");
    ck_assert_str_eq(attr_text(got[0], "tier"), "cache");
    ck_assert_uint_eq(got[1]->n_attributes, 2);
    ck_assert_int_eq(got[1]->attributes[1]->type, MESOS__V1__VALUE__TYPE__SCALAR);
    ck_assert(got[1]->attributes[1]->scalar->value == 0.5);
    ck_assert_int_eq(got[2]->attributes[1]->type, MESOS__V1__VALUE__TYPE__RANGES);
    ck_assert_uint_eq(got[2]->attributes[1]->ranges->n_range, 2);
    ck_assert_ptr_nonnull(got[0]->domain);
    ck_assert_str_eq(got[0]->domain->fault_domain->region->name, "us-east");
    ck_assert_str_eq(got[0]->domain->fault_domain->zone->name, "a");
    ck_assert_str_eq(got[1]->domain->fault_domain->zone->name, "b");
    ck_assert_str_eq(got[2]->domain->fault_domain->zone->name, "a");   /* agent 2 takes set 2 % 2 */
    /* upstream's decoding: field names and nesting as mesos.proto has them */
    char *t0 = upstream_text(got[0]), *t1 = upstream_text(got[1]), *t2 = upstream_text(got[2]);
    static const char *const want0[] = {
        "attributes {\n  name: \"rack\"\n  type: TEXT\n  text {\n    value: \"r1\"\n  }\n}\n",
        "attributes {\n  name: \"tier\"\n  type: TEXT\n  text {\n    value: \"cache\"\n  }\n}\n",
        "domain {\n  fault_domain {\n    region {\n      name: \"us-east\"\n    }\n    zone {\n      name: \"a\"\n"
        "    }\n  }\n}\n",
    };
    for (size_t i = 0; i < sizeof(want0) / sizeof(want0[0]); i++)
        ck_assert_msg(strstr(t0, want0[i]) != NULL, "upstream text lacks\n%s\n--- got:\n%s", want0[i], t0);
    ck_assert_msg(strstr(t1, "  name: \"level\"\n  type: SCALAR\n  scalar {\n    value: 0.5\n  }\n") != NULL, "%s", t1);
    ck_assert_msg(strstr(t2, "  type: RANGES\n  ranges {\n    range {\n      begin: 1\n      end: 2\n    }\n"
                             "    range {\n      begin: 5\n      end: 9\n    }\n") != NULL, "%s", t2);
    free(t0);
    free(t1);
    free(t2);
    for (int i = 0; i < 3; i++) mesos__v1__offer__free_unpacked(got[i], NULL);
    simc_sub_close(sub);
    simc_fi_free(fi);
}
END_TEST

START_TEST(test_sim_agents_without_domain_or_attributes_offer_neither) {
    const char *args[] = {"--agents", "1", "--offer-interval", "100ms", NULL};
    S = simc_start(args);
    Mesos__V1__FrameworkInfo *fi = simc_fi("plain", NULL, 1, 3600);
    simc_sub *sub = subscribe(fi);
    Mesos__V1__Offer *got[1] = {NULL};
    collect(sub, 1, got, 1, 5000);
    ck_assert_ptr_nonnull(got[0]);
    ck_assert_uint_eq(got[0]->n_attributes, 0);
    ck_assert_ptr_null(got[0]->domain);
    mesos__v1__offer__free_unpacked(got[0], NULL);
    simc_sub_close(sub);
    simc_fi_free(fi);
}
END_TEST

static void add_region_aware(Mesos__V1__FrameworkInfo *fi) {
    fi->capabilities = realloc(fi->capabilities, sizeof(void *) * (fi->n_capabilities + 1));
    Mesos__V1__FrameworkInfo__Capability *c = calloc(1, sizeof(*c));
    mesos__v1__framework_info__capability__init(c);
    c->has_type = 1;
    c->type = MESOS__V1__FRAMEWORK_INFO__CAPABILITY__TYPE__REGION_AWARE;
    fi->capabilities[fi->n_capabilities++] = c;
}

START_TEST(test_sim_remote_region_only_for_region_aware) {
    const char *args[] = {"--agents", "2", "--offer-interval", "100ms", "--domains", "us-east/a|eu-west/b", NULL};
    S = simc_start(args);
    Mesos__V1__FrameworkInfo *fi = simc_fi("local-only", NULL, 1, 3600);
    simc_sub *sub = subscribe(fi);
    Mesos__V1__Offer *got[2] = {NULL, NULL};
    collect(sub, 3, got, 2, 2500);
    ck_assert_ptr_nonnull(got[0]);
    ck_assert_msg(got[1] == NULL, "agent in region eu-west offered to a framework without REGION_AWARE");
    mesos__v1__offer__free_unpacked(got[0], NULL);
    simc_sub_close(sub);
    simc_fi_free(fi);
    /* the first framework's offers are gone with its stream after the close; a
     * REGION_AWARE framework gets the remote agent too */
    long dropped = simc_http(simc_port(S), "POST", "/sim/drop-stream", NULL);
    ck_assert_msg(dropped == 200 || dropped == 404, "drop-stream: %ld", dropped);   /* 404: the close was seen first */
    Mesos__V1__FrameworkInfo *ra = simc_fi("region-aware", NULL, 1, 3600);
    add_region_aware(ra);
    sub = subscribe(ra);
    Mesos__V1__Offer *got2[2] = {NULL, NULL};
    collect(sub, 2, got2, 2, 10000);
    ck_assert_msg(got2[1] != NULL, "REGION_AWARE framework got no offer from the remote region");
    ck_assert_str_eq(got2[1]->domain->fault_domain->region->name, "eu-west");
    for (int i = 0; i < 2; i++)
        if (got2[i]) mesos__v1__offer__free_unpacked(got2[i], NULL);
    simc_sub_close(sub);
    simc_fi_free(ra);
}
END_TEST

START_TEST(test_sim_admin_sets_agent_attributes_and_domain) {
    const char *args[] = {"--agents", "2", "--offer-interval", "100ms", "--attributes", "rack:r1", NULL};
    S = simc_start(args);
    int port = simc_port(S);
    ck_assert_int_eq(simc_http(port, "POST", "/sim/agent/info?agent=1&attributes=rack:r9%3Btier:cache&domain=us/z2",
                               NULL), 200);
    ck_assert_int_eq(simc_http(port, "POST", "/sim/agent/info?agent=1&attributes=set:%7Ba%7D", NULL), 400);
    ck_assert_int_eq(simc_http(port, "POST", "/sim/agent/info?agent=1&domain=nozone", NULL), 400);
    ck_assert_int_eq(simc_http(port, "POST", "/sim/agent/info?agent=1", NULL), 400);
    ck_assert_int_eq(simc_http(port, "POST", "/sim/agent/info?agent=7&domain=us/a", NULL), 400);
    json_t *st = simc_state(S);
    json_t *a1 = json_array_get(json_object_get(st, "agents"), 0);
    for (size_t i = 0; i < json_array_size(json_object_get(st, "agents")); i++) {
        json_t *a = json_array_get(json_object_get(st, "agents"), i);
        if (json_integer_value(json_object_get(a, "index")) == 1) a1 = a;
    }
    ck_assert_str_eq(json_string_value(json_object_get(a1, "attributes")), "rack:r9;tier:cache");
    ck_assert_str_eq(json_string_value(json_object_get(a1, "zone")), "z2");
    json_decref(st);
    Mesos__V1__FrameworkInfo *fi = simc_fi("admin", NULL, 1, 3600);
    simc_sub *sub = subscribe(fi);
    Mesos__V1__Offer *got[2] = {NULL, NULL};
    collect(sub, 3, got, 2, 10000);
    ck_assert_ptr_nonnull(got[1]);
    ck_assert_str_eq(attr_text(got[1], "rack"), "r9");
    ck_assert_str_eq(attr_text(got[1], "tier"), "cache");
    ck_assert_str_eq(got[1]->domain->fault_domain->zone->name, "z2");
    ck_assert_str_eq(attr_text(got[0], "rack"), "r1");
    /* a change rescinds the agent's outstanding offer */
    ck_assert_int_eq(simc_http(port, "POST", "/sim/agent/info?agent=0&attributes=rack:r5", NULL), 200);
    Mesos__V1__Scheduler__Event *ev = simc_sub_next(sub, EV(RESCIND), 3000);
    ck_assert_msg(ev != NULL, "no RESCIND after the agent's attributes changed");
    mesos__v1__scheduler__event__free_unpacked(ev, NULL);
    for (int i = 0; i < 2; i++) mesos__v1__offer__free_unpacked(got[i], NULL);
    simc_sub_close(sub);
    simc_fi_free(fi);
}
END_TEST

START_TEST(test_sim_bad_attribute_flags_are_usage_errors) {
    static const char *const bad[][2] = {{"--attributes", "rack"}, {"--attributes", "rack:{a,b}"},
                                         {"--attributes", "slots:[1-x]"}, {"--domains", "us-east"},
                                         {"--domains", "us/a/b"}, {"--agent-hostname", "a||b"}};
    char sim[1024];
    snprintf(sim, sizeof(sim), "%s/src/sim/mcm-sim", getenv("MCM_BUILD_DIR") ? getenv("MCM_BUILD_DIR") : ".");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char cmd[2048];
        snprintf(cmd, sizeof(cmd), "'%s' --listen 127.0.0.1:0 %s '%s' > /dev/null 2>&1", sim, bad[i][0], bad[i][1]);
        int st = system(cmd);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 2, "%s %s: exit %d, want 2", bad[i][0], bad[i][1],
                      WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    }
}
END_TEST

int main(void) {
    Suite *s = suite_create("sim_attrs");
    TCase *tc = tcase_create("attrs");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_sim_offers_carry_attributes_and_domain);
    tcase_add_test(tc, test_sim_agents_without_domain_or_attributes_offer_neither);
    tcase_add_test(tc, test_sim_remote_region_only_for_region_aware);
    tcase_add_test(tc, test_sim_admin_sets_agent_attributes_and_domain);
    tcase_add_test(tc, test_sim_bad_attribute_flags_are_usage_errors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
