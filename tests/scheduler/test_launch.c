/* test_launch.c -- offer matching and the TaskInfo that launches a server:
 * what the executor will be told, checked after a protobuf round trip. */
#include "config.h"
#include "launch.h"
#include "offer.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static Mesos__V1__Resource *scalar_res(const char *name, double v, Mesos__V1__Resource__AllocationInfo *ai) {
    Mesos__V1__Resource *r = calloc(1, sizeof(*r));
    Mesos__V1__Value__Scalar *s = calloc(1, sizeof(*s));
    mesos__v1__resource__init(r);
    mesos__v1__value__scalar__init(s);
    s->value = v;
    r->name = (char *)name;
    r->type = MESOS__V1__VALUE__TYPE__SCALAR;
    r->scalar = s;
    r->allocation_info = ai;
    return r;
}

static Mesos__V1__Resource *ports_res(uint64_t b, uint64_t e, Mesos__V1__Resource__AllocationInfo *ai) {
    Mesos__V1__Resource *r = calloc(1, sizeof(*r));
    Mesos__V1__Value__Ranges *rs = calloc(1, sizeof(*rs));
    Mesos__V1__Value__Range *rg = calloc(1, sizeof(*rg));
    mesos__v1__resource__init(r);
    mesos__v1__value__ranges__init(rs);
    mesos__v1__value__range__init(rg);
    rg->begin = b;
    rg->end = e;
    rs->range = calloc(1, sizeof(*rs->range));
    rs->range[0] = rg;
    rs->n_range = 1;
    r->name = "ports";
    r->type = MESOS__V1__VALUE__TYPE__RANGES;
    r->ranges = rs;
    r->allocation_info = ai;
    return r;
}

typedef struct fixture {
    Mesos__V1__Offer o;
    Mesos__V1__OfferID oid;
    Mesos__V1__AgentID aid;
    Mesos__V1__FrameworkID fid;
    Mesos__V1__Resource__AllocationInfo ai;
    Mesos__V1__Resource *res[3];
} fixture;

static void make_offer(fixture *f, double cpus, double mem) {
    memset(f, 0, sizeof(*f));
    mesos__v1__offer__init(&f->o);
    mesos__v1__offer_id__init(&f->oid);
    mesos__v1__agent_id__init(&f->aid);
    mesos__v1__framework_id__init(&f->fid);
    mesos__v1__resource__allocation_info__init(&f->ai);
    f->ai.role = "memcache";
    f->oid.value = "O1";
    f->aid.value = "S1";
    f->fid.value = "F1";
    f->o.id = &f->oid;
    f->o.agent_id = &f->aid;
    f->o.framework_id = &f->fid;
    f->o.hostname = "agent1";
    f->res[0] = scalar_res("cpus", cpus, &f->ai);
    f->res[1] = scalar_res("mem", mem, &f->ai);
    f->res[2] = ports_res(31005, 31010, &f->ai);
    f->o.resources = f->res;
    f->o.n_resources = 3;
}

static void free_offer(fixture *f) {
    for (int i = 0; i < 3; i++) {
        free(f->res[i]->scalar);
        if (f->res[i]->ranges) {
            free(f->res[i]->ranges->range[0]);
            free(f->res[i]->ranges->range);
            free(f->res[i]->ranges);
        }
        free(f->res[i]);
    }
}

static const char *env_of(const Mesos__V1__CommandInfo *c, const char *name) {
    for (size_t i = 0; c->environment && i < c->environment->n_variables; i++)
        if (!strcmp(c->environment->variables[i]->name, name)) return c->environment->variables[i]->value;
    return NULL;
}

static double sum(Mesos__V1__Resource **r, size_t n, const char *name) {
    double s = 0;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(r[i]->name, name) && r[i]->scalar) s += r[i]->scalar->value;
    return s;
}

START_TEST(test_launch_taskinfo_tells_the_executor_port_memory_and_command) {
    fixture f;
    make_offer(&f, 2, 1024);
    offer_need need;
    offer_need_init(&need, 0.5, 256);
    offer_launch ol;
    char why[256];
    ck_assert_int_eq(offer_match(&f.o, &need, &ol, why, sizeof(why)), 0);
    ck_assert(ol.port >= 31005 && ol.port <= 31010);
    sched_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.executor_command = "./mcm-executor";
    cfg.executor_uri = "http://repo/mcm-executor";
    cfg.memcached_command = "memcached";
    cfg.memcached_listen = "0.0.0.0";
    cfg.framework_name = "mcm";
    cfg.report_interval_ms = 5000;
    cfg.health_interval_ms = 5000;
    cfg.health_timeout_ms = 1500;
    cfg.health_unhealthy_after = 3;
    cfg.health_fail_after = 6;
    launch_spec spec;
    char id[192];
    launch_new_task_id(id, sizeof(id));
    ck_assert(strncmp(id, "mcm-", 4) == 0 && strlen(id) == 40);
    Mesos__V1__TaskInfo *ti = launch_build(&spec, &cfg, id, &f.o, &ol);

    size_t len = mesos__v1__task_info__get_packed_size(ti);
    uint8_t *buf = malloc(len);
    mesos__v1__task_info__pack(ti, buf);
    Mesos__V1__TaskInfo *back = mesos__v1__task_info__unpack(NULL, len, buf);
    ck_assert(back != NULL);
    ck_assert_str_eq(back->task_id->value, id);
    ck_assert_str_eq(back->agent_id->value, "S1");
    ck_assert(back->executor && !back->command);   /* exactly one of them */
    ck_assert(back->executor->command->shell);
    ck_assert_str_eq(back->executor->command->value, "./mcm-executor");
    ck_assert_int_eq(back->executor->command->n_uris, 1);
    ck_assert(back->executor->command->uris[0]->executable);
    ck_assert_str_eq(env_of(back->executor->command, "MCM_MEMCACHED_COMMAND"), "memcached");
    ck_assert_str_eq(env_of(back->executor->command, "MCM_REPORT_INTERVAL"), "5s");
    ck_assert_ptr_null(env_of(back->executor->command, "MCM_DOCKER_IMAGE"));
    ck_assert_str_eq(env_of(back->executor->command, "MCM_HEALTH_INTERVAL"), "5s");
    ck_assert_str_eq(env_of(back->executor->command, "MCM_HEALTH_TIMEOUT"), "1500ms");
    ck_assert_str_eq(env_of(back->executor->command, "MCM_HEALTH_UNHEALTHY_AFTER"), "3");
    ck_assert_str_eq(env_of(back->executor->command, "MCM_HEALTH_FAIL_AFTER"), "6");
    /* discovery: one named TCP port, the labels on the task and its DiscoveryInfo */
    ck_assert_ptr_nonnull(back->discovery);
    ck_assert_int_eq(back->discovery->visibility, MESOS__V1__DISCOVERY_INFO__VISIBILITY__CLUSTER);
    ck_assert_str_eq(back->discovery->name, "memcached");
    ck_assert_int_eq(back->discovery->ports->n_ports, 1);
    ck_assert_int_eq(back->discovery->ports->ports[0]->number, ol.port);
    ck_assert_str_eq(back->discovery->ports->ports[0]->name, "memcached");
    ck_assert_str_eq(back->discovery->ports->ports[0]->protocol, "tcp");
    ck_assert(!back->discovery->ports->ports[0]->has_visibility);   /* the service-wide one */
    for (int k = 0; k < 2; k++) {
        const Mesos__V1__Labels *l = k ? back->discovery->labels : back->labels;
        ck_assert_int_eq(l->n_labels, 2);
        ck_assert_str_eq(l->labels[0]->key, "mcm.framework");
        ck_assert_str_eq(l->labels[0]->value, "mcm");
        ck_assert_str_eq(l->labels[1]->key, "mcm.ring");
        ck_assert_str_eq(l->labels[1]->value, "libketama-md5-160");
    }
    /* Task + executor resources add up to what a server needs, and carry the allocation. */
    double cpus = sum(back->resources, back->n_resources, "cpus") + sum(back->executor->resources, back->executor->n_resources, "cpus");
    double mem = sum(back->resources, back->n_resources, "mem") + sum(back->executor->resources, back->executor->n_resources, "mem");
    ck_assert(cpus > 0.499 && cpus < 0.501);
    ck_assert(mem > 255.9 && mem < 256.1);
    int ports = 0;
    for (size_t i = 0; i < back->n_resources; i++) {
        ck_assert_str_eq(back->resources[i]->allocation_info->role, "memcache");
        if (!strcmp(back->resources[i]->name, "ports")) {
            ports++;
            ck_assert_int_eq(back->resources[i]->ranges->range[0]->begin, ol.port);
            ck_assert_int_eq(back->resources[i]->ranges->range[0]->end, ol.port);
        }
    }
    ck_assert_int_eq(ports, 1);
    mesos__v1__task_info__free_unpacked(back, NULL);
    free(buf);
    offer_launch_clear(&ol);
    free_offer(&f);
}
END_TEST

START_TEST(test_launch_offer_too_small_is_refused_with_reason) {
    fixture f;
    make_offer(&f, 0.1, 1024);
    offer_need need;
    offer_need_init(&need, 0.5, 256);
    offer_launch ol;
    char why[256];
    ck_assert_int_eq(offer_match(&f.o, &need, &ol, why, sizeof(why)), -1);
    ck_assert(strstr(why, "cpus") != NULL);
    free_offer(&f);
}
END_TEST

int main(void) {
    Suite *s = suite_create("launch");
    TCase *tc = tcase_create("launch");
    tcase_add_test(tc, test_launch_taskinfo_tells_the_executor_port_memory_and_command);
    tcase_add_test(tc, test_launch_offer_too_small_is_refused_with_reason);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
