/* test_place.c -- the placement module: constraint parsing (every operator,
 * every malformed form), admission per operator, missing fields, zone
 * spread, the per-agent limit and step-down victims. Pure: no server.
 * Cases follow Marathon's ConstraintsTest.scala where it has one. */
#include "place.h"
#include "place_mesos.h"

#include "mcm.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- fixtures: agents from "host|attr=v,attr=v|region/zone" ------------- */

#define MAXA 8
typedef struct fx_agent {
    char id[32], host[64], region[32], zone[32];
    char names[MAXA][32], values[MAXA][64];
    place_attr attrs[MAXA];
} fx_agent;

static fx_agent pool[4096];
static int npool;

static place_agent agent(const char *host, const char *attrs, const char *domain) {
    fx_agent *f = &pool[npool % 4096];
    memset(f, 0, sizeof(*f));
    snprintf(f->id, sizeof(f->id), "S%d", npool++);
    snprintf(f->host, sizeof(f->host), "%s", host);
    place_agent a = {f->id, f->host, f->attrs, 0, NULL, NULL};
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", attrs ? attrs : "");
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && a.nattrs < MAXA; t = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(t, '=');
        ck_assert_ptr_nonnull(eq);
        *eq = '\0';
        snprintf(f->names[a.nattrs], 32, "%s", t);
        snprintf(f->values[a.nattrs], 64, "%s", eq + 1);
        f->attrs[a.nattrs] = (place_attr){f->names[a.nattrs], f->values[a.nattrs]};
        a.nattrs++;
    }
    if (domain) {
        const char *sl = strchr(domain, '/');
        snprintf(f->region, sizeof(f->region), "%.*s", (int)(sl - domain), domain);
        snprintf(f->zone, sizeof(f->zone), "%s", sl + 1);
        a.region = f->region;
        a.zone = f->zone;
    }
    return a;
}

typedef struct fleet {
    place_server s[64];
    char ids[64][16];
    int n;
} fleet;

static void put(fleet *f, place_agent a) {
    snprintf(f->ids[f->n], 16, "mc-%d", f->n);
    f->s[f->n].task_id = f->ids[f->n];
    f->s[f->n].agent = a;
    f->n++;
}

static place_view view(const fleet *f, int desired) {
    place_view v = {f->s, f->n, desired, NULL, 0};
    return v;
}

static place_rules *rules(const char *const *cons) {
    place_rules *r = place_rules_new();
    ck_assert_ptr_nonnull(r);
    char err[256];
    for (; cons && *cons; cons++) ck_assert_msg(place_rules_add(r, *cons, err, sizeof(err)) == MCM_OK, "%s", err);
    return r;
}

/* One constraint, zone spread off: does offer fit next to f? */
static int fits(const char *con, const fleet *f, place_agent offer) {
    const char *cons[] = {con, NULL};
    place_rules *r = rules(cons);
    place_rules_zone_spread(r, 0);
    place_view v = view(f, 100);
    place_verdict out;
    int ok = place_admit(r, &v, &offer, &out);
    ck_assert_int_eq(ok, out.ok);
    if (!ok) {
        ck_assert_int_eq(out.rule, PLACE_RULE_CONSTRAINT);
        ck_assert_int_eq(out.index, 0);
        ck_assert_msg(strstr(out.text, place_rules_text(r, 0)) != NULL, "verdict names no constraint: %s", out.text);
    }
    place_rules_free(r);
    return ok;
}

static void expect_error(const char *text, const char *what) {
    place_rules *r = place_rules_new();
    char err[256] = "";
    ck_assert_msg(place_rules_add(r, text, err, sizeof(err)) == MCM_ERR, "'%s' parsed", text);
    ck_assert_msg(strstr(err, text) != NULL, "error does not name '%s': %s", text, err);
    ck_assert_msg(strstr(err, what) != NULL, "error for '%s' lacks '%s': %s", text, what, err);
    ck_assert_int_eq(place_rules_count(r), 0);
    place_rules_free(r);
}

/* --- parsing ------------------------------------------------------------ */

START_TEST(test_place_parse_every_operator) {
    static const char *const good[][2] = {
        {"hostname:UNIQUE", "hostname:UNIQUE"},     {"@hostname:unique", "@hostname:UNIQUE"},
        {"rack:CLUSTER", "rack:CLUSTER"},           {"rack:CLUSTER:r1", "rack:CLUSTER:r1"},
        {"rack:GROUP_BY", "rack:GROUP_BY"},         {"rack:GROUP_BY:3", "rack:GROUP_BY:3"},
        {"@zone:GROUP_BY:0", "@zone:GROUP_BY:0"},   {"tier:LIKE:cache", "tier:LIKE:cache"},
        {"tier:UNLIKE:batch|gpu", "tier:UNLIKE:batch|gpu"}, {"zone:MAX_PER:2", "zone:MAX_PER:2"},
        {"@region:IS:us-east-1", "@region:IS:us-east-1"}, {"level:IS:0.8", "level:IS:0.8"},
        {"host:LIKE:a:b.*", "host:LIKE:a:b.*"},     {"rack:Max_Per:1", "rack:MAX_PER:1"},
    };
    place_rules *r = place_rules_new();
    char err[256];
    for (size_t i = 0; i < MCM_ARRAY_LEN(good); i++) {
        ck_assert_msg(place_rules_add(r, good[i][0], err, sizeof(err)) == MCM_OK, "%s: %s", good[i][0], err);
        ck_assert_str_eq(place_rules_text(r, (int)i), good[i][1]);
    }
    ck_assert_int_eq(place_rules_count(r), (int)MCM_ARRAY_LEN(good));
    ck_assert_str_eq(place_rules_text(r, 99), "");
    /* an explicit @zone constraint replaces the default spread */
    ck_assert(!place_rules_spreads_zones(r));
    place_rules_free(r);
}
END_TEST

START_TEST(test_place_parse_malformed_forms) {
    expect_error("", "expected field:OPERATOR");
    expect_error("hostname", "expected field:OPERATOR");
    expect_error(":UNIQUE", "field is empty");
    expect_error("hostname:", "operator is missing");
    expect_error("hostname:UNIQ", "unknown operator 'UNIQ'");
    expect_error("hostname:IN:{a,b}", "unknown operator 'IN'");
    expect_error("@rack:UNIQUE", "unknown field @rack");
    expect_error("hostname:UNIQUE:x", "UNIQUE takes no value");
    expect_error("hostname:UNIQUE:", "UNIQUE takes no value");
    expect_error("rack:CLUSTER:", "CLUSTER's value is empty");
    expect_error("rack:GROUP_BY:", "GROUP_BY takes a group count");
    expect_error("rack:GROUP_BY:two", "GROUP_BY takes a group count");
    expect_error("rack:GROUP_BY:-1", "GROUP_BY takes a group count");
    expect_error("rack:GROUP_BY:inf", "GROUP_BY takes a group count");
    expect_error("rack:GROUP_BY:99999999999999999999", "GROUP_BY takes a group count");
    expect_error("rack:MAX_PER", "MAX_PER needs a count");
    expect_error("rack:MAX_PER:0", "integer >= 1");
    expect_error("rack:MAX_PER:1.5", "integer >= 1");
    expect_error("rack:MAX_PER:", "integer >= 1");
    expect_error("tier:LIKE", "LIKE needs a regular expression");
    expect_error("tier:LIKE:", "LIKE needs a regular expression");
    expect_error("tier:UNLIKE", "UNLIKE needs a regular expression");
    expect_error("tier:LIKE:cache[", "bad regular expression 'cache['");
    expect_error("tier:UNLIKE:a)(b", "bad regular expression");
    expect_error("tier:IS", "IS needs a value");
    expect_error("tier:IS:", "IS needs a value");
    expect_error("tier:IS:a b", "IS takes a Mesos text or scalar");
    expect_error("tier:IS:[1-2]", "IS takes a Mesos text or scalar");
}
END_TEST

START_TEST(test_place_parse_limit_and_describe) {
    place_rules *r = place_rules_new();
    char err[256], d[512];
    place_rules_describe(r, d, sizeof(d));
    ck_assert_str_eq(d, "zone spread");
    place_rules_zone_spread(r, 0);
    place_rules_describe(r, d, sizeof(d));
    ck_assert_str_eq(d, "none");
    for (int i = 0; i < PLACE_CONSTRAINTS_MAX; i++) ck_assert_int_eq(place_rules_add(r, "rack:UNIQUE", err, sizeof(err)), MCM_OK);
    ck_assert_int_eq(place_rules_add(r, "rack:UNIQUE", err, sizeof(err)), MCM_ERR);
    ck_assert(strstr(err, "too many constraints") != NULL);
    place_rules_free(r);
    r = place_rules_new();
    place_rules_add(r, "hostname:UNIQUE", err, sizeof(err));
    place_rules_add(r, "rack:GROUP_BY:3", err, sizeof(err));
    place_rules_max_per_agent(r, 1);
    place_rules_describe(r, d, sizeof(d));
    ck_assert_str_eq(d, "hostname:UNIQUE, rack:GROUP_BY:3; max 1 per agent; zone spread");
    place_rules_free(r);
    place_rules_free(NULL);
}
END_TEST

START_TEST(test_place_format_scalar_like_marathon) {
    static const struct { double v; const char *s; } cases[] = {
        {1, "1"}, {1.5, "1.5"}, {1.50, "1.5"}, {0.8, "0.8"}, {0.8001, "0.8"}, {1.0005, "1"},
        {1.00051, "1.001"}, {1.1005, "1.101"}, {2.0625, "2.062"}, {1234567, "1234567"}, {0, "0"},
    };
    char buf[PLACE_SCALAR_MAX];
    for (size_t i = 0; i < MCM_ARRAY_LEN(cases); i++) {
        place_format_scalar(cases[i].v, buf, sizeof(buf));
        ck_assert_msg(!strcmp(buf, cases[i].s), "%.6f -> %s, want %s", cases[i].v, buf, cases[i].s);
    }
}
END_TEST

/* --- admission, operator by operator -------------------------------------- */

START_TEST(test_place_unique) {
    fleet f = {0};
    ck_assert(fits("hostname:UNIQUE", &f, agent("host2", NULL, NULL)));
    put(&f, agent("host1", NULL, NULL));
    put(&f, agent("host2", NULL, NULL));
    put(&f, agent("host3", NULL, NULL));
    ck_assert(fits("hostname:UNIQUE", &f, agent("host4", NULL, NULL)));
    ck_assert(!fits("hostname:UNIQUE", &f, agent("host2", NULL, NULL)));
    fleet g = {0};
    put(&g, agent("h", "rackid=rack-1", NULL));
    put(&g, agent("h", "rackid=rack-2", NULL));
    ck_assert(fits("rackid:UNIQUE", &g, agent("h", "foo=bar,rackid=rack-3", NULL)));
    ck_assert(!fits("rackid:UNIQUE", &g, agent("h", "foo=bar,rackid=rack-1", NULL)));
    fleet none = {0};
    ck_assert(!fits("rackid:UNIQUE", &none, agent("h", NULL, NULL)));   /* missing attribute */
}
END_TEST

START_TEST(test_place_cluster_with_and_without_value) {
    fleet f = {0};
    ck_assert(fits("hostname:CLUSTER", &f, agent("foohost", NULL, NULL)));
    ck_assert(!fits("hostname:CLUSTER:right.com", &f, agent("wrong.com", NULL, NULL)));
    ck_assert(fits("hostname:CLUSTER:right.com", &f, agent("right.com", NULL, NULL)));
    put(&f, agent("h", "rackid=rack-1", NULL));
    put(&f, agent("h", "rackid=rack-1", NULL));
    ck_assert(fits("rackid:CLUSTER", &f, agent("h", "foo=bar,rackid=rack-1", NULL)));
    ck_assert(!fits("rackid:CLUSTER", &f, agent("h", "foo=bar,rackid=rack-2", NULL)));
    ck_assert(fits("rackid:CLUSTER:rack-2", &f, agent("h", "rackid=rack-2", NULL)));
    fleet none = {0};
    ck_assert(!fits("rackid:CLUSTER", &none, agent("h", NULL, NULL)));
}
END_TEST

START_TEST(test_place_group_by_minimum_group_rule) {
    fleet f = {0};
    place_agent r1 = agent("h", "foo=bar,rackid=rack-1", NULL), r2 = agent("h", "rackid=rack-2", NULL),
                r3 = agent("h", "rackid=rack-3", NULL);
    ck_assert(fits("rackid:GROUP_BY:2", &f, r1));
    put(&f, r1);
    ck_assert(!fits("rackid:GROUP_BY:2", &f, r1));      /* fewer than 2 groups */
    ck_assert(fits("rackid:GROUP_BY:2", &f, r2));       /* a new group */
    put(&f, r2);
    ck_assert(fits("rackid:GROUP_BY:2", &f, r1));       /* smallest group */
    put(&f, r1);
    ck_assert(!fits("rackid:GROUP_BY:2", &f, r1));      /* not the smallest */
    ck_assert(fits("rackid:GROUP_BY:2", &f, r2));
    ck_assert(fits("rackid:GROUP_BY:2", &f, r3));       /* values not yet used are admitted */
    ck_assert(!fits("rackid:GROUP_BY:2", &f, agent("foohost", NULL, NULL)));
    /* without a count: evenness over the groups seen */
    ck_assert(!fits("rackid:GROUP_BY", &f, r1));
    ck_assert(fits("rackid:GROUP_BY", &f, r2));
    /* scalar values compare formatted: rack "1" and "1.0" are one group */
    fleet g = {0};
    put(&g, agent("h", "rackid=1", NULL));
    ck_assert(!fits("rackid:GROUP_BY:2", &g, agent("h", "rackid=1", NULL)));
    /* hostname */
    fleet h = {0};
    put(&h, agent("host-1", NULL, NULL));
    ck_assert(fits("hostname:GROUP_BY:3", &h, agent("host-2", NULL, NULL)));
    ck_assert(!fits("hostname:GROUP_BY:3", &h, agent("host-1", NULL, NULL)));
}
END_TEST

START_TEST(test_place_like_unlike_full_match) {
    fleet f = {0};
    ck_assert(!fits("jdk:LIKE:7", &f, agent("h", "jdk=6", NULL)));
    ck_assert(fits("jdk:LIKE:7", &f, agent("h", "jdk=7", NULL)));
    ck_assert(!fits("jdk:LIKE:7", &f, agent("h", "jdk=17", NULL)));     /* full match, not a search */
    ck_assert(!fits("jdk:LIKE:7", &f, agent("h", NULL, NULL)));
    ck_assert(fits("jdk:UNLIKE:7", &f, agent("h", "jdk=6", NULL)));
    ck_assert(!fits("jdk:UNLIKE:7", &f, agent("h", "jdk=7", NULL)));
    ck_assert(fits("jdk:UNLIKE:7", &f, agent("h", NULL, NULL)));        /* missing: UNLIKE admits */
    ck_assert(fits("tier:LIKE:cache|mixed", &f, agent("h", "tier=mixed", NULL)));
    ck_assert(fits("jdk:LIKE:\\[6-7\\]", &f, agent("h", "jdk=[6-7]", NULL)));
    ck_assert(fits("hostname:LIKE:web-[0-9]+\\.example", &f, agent("web-12.example", NULL, NULL)));
    ck_assert(!fits("hostname:LIKE:web-[0-9]+", &f, agent("web-12.example", NULL, NULL)));
    ck_assert(fits("@zone:LIKE:us-.*", &f, agent("h", NULL, "r/us-1a")));
    ck_assert(!fits("@zone:LIKE:.*", &f, agent("h", NULL, NULL)));       /* no fault domain */
}
END_TEST

START_TEST(test_place_max_per) {
    fleet f = {0};
    place_agent h1 = agent("host1", NULL, NULL), h2 = agent("host2", NULL, NULL);
    ck_assert(fits("hostname:MAX_PER:2", &f, h1));
    put(&f, h1);
    ck_assert(fits("hostname:MAX_PER:2", &f, h1));
    put(&f, h1);
    ck_assert(fits("hostname:MAX_PER:2", &f, h2));
    put(&f, h2);
    ck_assert(!fits("hostname:MAX_PER:2", &f, h1));
    ck_assert(fits("hostname:MAX_PER:2", &f, agent("host3", NULL, NULL)));
    fleet g = {0};
    put(&g, agent("h", "rackid=1", NULL));
    put(&g, agent("h", "rackid=2", NULL));
    ck_assert(fits("rackid:MAX_PER:2", &g, agent("h", "rackid=1", NULL)));
    put(&g, agent("h", "rackid=1", NULL));
    ck_assert(!fits("rackid:MAX_PER:2", &g, agent("h", "rackid=1", NULL)));
    ck_assert(!fits("rackid:MAX_PER:2", &g, agent("h", NULL, NULL)));
}
END_TEST

START_TEST(test_place_is_text_and_scalar) {
    fleet f = {0};
    ck_assert(fits("hostname:IS:righthost.com", &f, agent("righthost.com", NULL, NULL)));
    ck_assert(!fits("hostname:IS:righthost.com", &f, agent("wronghost.com", NULL, NULL)));
    ck_assert(fits("number:IS:1.0", &f, agent("h", "number=1", NULL)));
    ck_assert(fits("number:IS:1", &f, agent("h", "number=1", NULL)));
    ck_assert(fits("number:IS:1.0005", &f, agent("h", "number=1", NULL)));
    ck_assert(!fits("number:IS:1.00051", &f, agent("h", "number=1", NULL)));
    ck_assert(!fits("number:IS:1.001", &f, agent("h", "number=1", NULL)));
    ck_assert(fits("level:IS:0.80", &f, agent("h", "level=0.8", NULL)));
    ck_assert(fits("@region:IS:us-east-1", &f, agent("h", NULL, "us-east-1/a")));
    ck_assert(!fits("@region:IS:us-east-1", &f, agent("h", NULL, "eu-west-1/a")));
    ck_assert(!fits("@region:IS:us-east-1", &f, agent("h", NULL, NULL)));
}
END_TEST

START_TEST(test_place_several_constraints_all_hold) {
    const char *cons[] = {"tier:LIKE:cache", "hostname:UNIQUE", NULL};
    place_rules *r = rules(cons);
    fleet f = {0};
    put(&f, agent("h1", "tier=cache", NULL));
    place_view v = view(&f, 3);
    place_verdict out;
    place_agent a = agent("h1", "tier=cache", NULL), b = agent("h2", "tier=batch", NULL), c = agent("h2", "tier=cache", NULL);
    ck_assert(!place_admit(r, &v, &a, &out));
    ck_assert_int_eq(out.index, 1);
    ck_assert_msg(strstr(out.text, "hostname:UNIQUE: 'h1' already has 1 server") != NULL, "%s", out.text);
    ck_assert(!place_admit(r, &v, &b, &out));
    ck_assert_int_eq(out.index, 0);
    ck_assert_msg(strstr(out.text, "tier:LIKE:cache") != NULL, "%s", out.text);
    ck_assert(place_admit(r, &v, &c, &out));
    ck_assert_int_eq(out.rule, PLACE_RULE_NONE);
    place_rules_free(r);
}
END_TEST

START_TEST(test_place_max_per_agent_is_the_scheduler_limit) {
    place_rules *r = rules(NULL);
    place_rules_max_per_agent(r, 1);
    fleet f = {0};
    place_agent s1 = agent("127.0.0.1", NULL, NULL), s2 = agent("127.0.0.1", NULL, NULL);
    place_view v = view(&f, 3);
    place_verdict out;
    ck_assert(place_admit(r, &v, &s1, &out));
    put(&f, s1);
    v = view(&f, 3);
    ck_assert(!place_admit(r, &v, &s1, &out));
    ck_assert_int_eq(out.rule, PLACE_RULE_MAX_PER_AGENT);
    ck_assert_msg(strstr(out.text, "max-per-agent") != NULL, "%s", out.text);
    ck_assert(place_admit(r, &v, &s2, &out));    /* same host, another agent: counted by agent ID */
    place_rules_max_per_agent(r, 2);
    ck_assert(place_admit(r, &v, &s1, &out));
    place_rules_max_per_agent(r, 0);
    put(&f, s1);
    put(&f, s1);
    v = view(&f, 3);
    ck_assert(place_admit(r, &v, &s1, &out));
    place_rules_free(r);
}
END_TEST

/* --- zone spread ---------------------------------------------------------- */

/* Offers arrive from zones in the given order; each admitted one is placed
 * until `desired` run. Returns how many were placed per zone a, b, c. */
static void spread_run(int desired, const char *order, int *per) {
    place_rules *r = rules(NULL);
    place_rules_max_per_agent(r, 0);
    fleet f = {0};
    static const char *const zones[] = {"a", "b", "c"};
    per[0] = per[1] = per[2] = 0;
    for (const char *z = order; *z && f.n < desired; z++) {
        char dom[8];
        snprintf(dom, sizeof(dom), "r/%c", *z);
        place_agent a = agent("h", NULL, dom);
        place_view v = view(&f, desired);
        v.zones = zones;
        v.nzones = 3;
        place_verdict out;
        if (place_admit(r, &v, &a, &out)) {
            put(&f, a);
            per[*z - 'a']++;
        } else {
            ck_assert_int_eq(out.rule, PLACE_RULE_ZONE_SPREAD);
        }
    }
    place_rules_free(r);
}

START_TEST(test_place_zone_spread_even_whatever_the_offer_order) {
    int per[3];
    spread_run(6, "aaaaaabbbbbbcccccc", per);
    ck_assert(per[0] == 2 && per[1] == 2 && per[2] == 2);
    spread_run(7, "aaaaaaaabbbbbbbbcccccccc", per);
    ck_assert_int_eq(per[0] + per[1] + per[2], 7);
    ck_assert(per[0] == 3 && per[1] == 2 && per[2] == 2);
    spread_run(4, "cccccbbbbbaaaaa", per);
    ck_assert(per[2] == 2 && per[1] == 1 && per[0] == 1);
    spread_run(1, "aaa", per);
    ck_assert_int_eq(per[0], 1);
    for (int n = 1; n <= 20; n++) {     /* losing any zone loses at most ceil(N/3) */
        spread_run(n, "abcabcaaaabbbbccccaaaaaaabbbbbbbbcccccccccaaaaaaabbbbbbbbbccccccccc", per);
        ck_assert_int_eq(per[0] + per[1] + per[2], n);
        for (int z = 0; z < 3; z++) ck_assert_int_le(per[z], (n + 2) / 3);
    }
}
END_TEST

START_TEST(test_place_zone_spread_after_a_zone_is_lost) {
    place_rules *r = rules(NULL);
    fleet f = {0};
    put(&f, agent("h", NULL, "r/a"));
    put(&f, agent("h", NULL, "r/a"));
    put(&f, agent("h", NULL, "r/b"));
    put(&f, agent("h", NULL, "r/b"));   /* zone c's two servers are gone */
    static const char *const live[] = {"a", "b"};
    place_view v = view(&f, 6);
    v.zones = live;
    v.nzones = 2;
    place_verdict out;
    place_agent a = agent("h", NULL, "r/a"), b = agent("h", NULL, "r/b");
    ck_assert(place_admit(r, &v, &a, &out));
    put(&f, a);
    v = view(&f, 6);
    v.zones = live;
    v.nzones = 2;
    ck_assert(!place_admit(r, &v, &a, &out));   /* a has its share of 3 */
    ck_assert_msg(strstr(out.text, "zone spread: zone a has 3 of 6 servers over 2 zones") != NULL, "%s", out.text);
    ck_assert(place_admit(r, &v, &b, &out));
    /* an offer without a fault domain is not held back by the spread */
    place_agent nd = agent("h", NULL, NULL);
    ck_assert(place_admit(r, &v, &nd, &out));
    /* spread off, or an explicit @zone constraint: no spread */
    place_rules_zone_spread(r, 0);
    ck_assert(place_admit(r, &v, &a, &out));
    place_rules_free(r);
    const char *cons[] = {"@zone:MAX_PER:5", NULL};
    r = rules(cons);
    ck_assert(place_admit(r, &v, &a, &out));
    place_rules_free(r);
}
END_TEST

/* --- step-down victims ---------------------------------------------------- */

static int victim(const char *const *cons, const fleet *f, int desired, place_verdict *out) {
    place_rules *r = rules(cons);
    place_view v = view(f, desired);
    int i = place_victim(r, &v, out);
    place_rules_free(r);
    return i;
}

START_TEST(test_place_victim_fullest_zone_first) {
    fleet f = {0};
    put(&f, agent("h", NULL, "r/a"));
    put(&f, agent("h", NULL, "r/b"));
    put(&f, agent("h", NULL, "r/b"));
    put(&f, agent("h", NULL, "r/c"));
    place_verdict out;
    int i = victim(NULL, &f, 3, &out);
    ck_assert_int_eq(i, 1);             /* first of zone b, in the caller's order */
    ck_assert_int_eq(out.rule, PLACE_RULE_ZONE_SPREAD);
    ck_assert_msg(strstr(out.text, "mc-1: zone b is the fullest (2)") != NULL, "%s", out.text);
    fleet one = {0};            /* one zone: nothing to say about zones */
    put(&one, agent("h", NULL, "r/a"));
    put(&one, agent("h", NULL, "r/a"));
    ck_assert_int_eq(victim(NULL, &one, 1, &out), 0);
    ck_assert_int_eq(out.rule, PLACE_RULE_NONE);
    fleet none = {0};
    ck_assert_int_eq(victim(NULL, &none, 0, &out), -1);
    ck_assert(!out.ok);
}
END_TEST

START_TEST(test_place_victim_keeps_group_by) {
    /* zones say b (fullest), but rack r1 has one server: taking it would
     * leave racks {r2:3, r1:0}, spread 3 > 1. GROUP_BY wins. */
    fleet f = {0};
    put(&f, agent("h", "rack=r2", "r/a"));
    put(&f, agent("h", "rack=r1", "r/b"));
    put(&f, agent("h", "rack=r2", "r/b"));
    put(&f, agent("h", "rack=r2", "r/c"));
    const char *cons[] = {"rack:GROUP_BY", NULL};
    place_verdict out;
    int i = victim(cons, &f, 3, &out);
    ck_assert_int_eq(i, 2);             /* rack r2 and zone b */
    /* Marathon's single-group-by case: 20 on 2 hosts evenly, kills alternate */
    fleet g = {0};
    for (int k = 0; k < 20; k++) put(&g, agent(k % 2 ? "1" : "0", NULL, NULL));
    const char *hc[] = {"hostname:GROUP_BY", NULL};
    int per[2] = {0, 0};
    for (int k = 0; k < 10; k++) {
        int v = victim(hc, &g, g.n - 1, &out);
        ck_assert_int_ge(v, 0);
        per[g.s[v].agent.hostname[0] - '0']++;
        g.s[v] = g.s[--g.n];
    }
    ck_assert(per[0] == 5 && per[1] == 5);
    /* unbalanced: 20 on host 1, 10 on host 2: all 10 from host 1 */
    fleet u = {0};
    for (int k = 0; k < 30; k++) put(&u, agent(k < 20 ? "1" : "2", NULL, NULL));
    for (int k = 0; k < 10; k++) {
        int v = victim(hc, &u, u.n - 1, &out);
        ck_assert_str_eq(u.s[v].agent.hostname, "1");
        u.s[v] = u.s[--u.n];
    }
}
END_TEST

START_TEST(test_place_victim_misplaced_first_and_caller_order) {
    fleet f = {0};
    put(&f, agent("h1", "tier=cache", NULL));
    put(&f, agent("h2", "tier=batch", NULL));   /* no longer admitted */
    put(&f, agent("h3", NULL, NULL));           /* lacks the attribute */
    const char *cons[] = {"tier:LIKE:cache", NULL};
    place_verdict out;
    ck_assert_int_eq(victim(cons, &f, 2, &out), 1);
    ck_assert_msg(strstr(out.text, "its agent breaks a constraint") != NULL, "%s", out.text);
    /* nothing to prefer: the caller's order */
    fleet g = {0};
    put(&g, agent("h1", NULL, NULL));
    put(&g, agent("h2", NULL, NULL));
    ck_assert_int_eq(victim(NULL, &g, 1, &out), 0);
    ck_assert(out.ok);
}
END_TEST

/* --- offers as the scheduler gets them ------------------------------------ */

START_TEST(test_place_agent_from_offer_formats_like_marathon) {
    Mesos__V1__Value__Text tx = MESOS__V1__VALUE__TEXT__INIT;
    tx.value = "r1";
    Mesos__V1__Value__Scalar sc = MESOS__V1__VALUE__SCALAR__INIT;
    sc.value = 1.50;
    Mesos__V1__Value__Range r1 = MESOS__V1__VALUE__RANGE__INIT, r2 = MESOS__V1__VALUE__RANGE__INIT;
    r1.begin = 5, r1.end = 9, r2.begin = 1, r2.end = 2;
    Mesos__V1__Value__Range *rs[] = {&r1, &r2};
    Mesos__V1__Value__Ranges rg = MESOS__V1__VALUE__RANGES__INIT;
    rg.n_range = 2, rg.range = rs;
    char *items[] = {"b", "a"};
    Mesos__V1__Value__Set st = MESOS__V1__VALUE__SET__INIT;
    st.n_item = 2, st.item = items;
    Mesos__V1__Attribute a[4];
    for (int i = 0; i < 4; i++) mesos__v1__attribute__init(&a[i]);
    a[0].name = "rack", a[0].type = MESOS__V1__VALUE__TYPE__TEXT, a[0].text = &tx;
    a[1].name = "level", a[1].type = MESOS__V1__VALUE__TYPE__SCALAR, a[1].scalar = &sc;
    a[2].name = "slots", a[2].type = MESOS__V1__VALUE__TYPE__RANGES, a[2].ranges = &rg;
    a[3].name = "gpu", a[3].type = MESOS__V1__VALUE__TYPE__SET, a[3].set = &st;
    Mesos__V1__Attribute *ap[] = {&a[0], &a[1], &a[2], &a[3]};
    Mesos__V1__DomainInfo__FaultDomain__RegionInfo reg = MESOS__V1__DOMAIN_INFO__FAULT_DOMAIN__REGION_INFO__INIT;
    Mesos__V1__DomainInfo__FaultDomain__ZoneInfo zone = MESOS__V1__DOMAIN_INFO__FAULT_DOMAIN__ZONE_INFO__INIT;
    reg.name = "us-east", zone.name = "b";
    Mesos__V1__DomainInfo__FaultDomain fd = MESOS__V1__DOMAIN_INFO__FAULT_DOMAIN__INIT;
    fd.region = &reg, fd.zone = &zone;
    Mesos__V1__DomainInfo dom = MESOS__V1__DOMAIN_INFO__INIT;
    dom.fault_domain = &fd;
    Mesos__V1__AgentID aid = MESOS__V1__AGENT_ID__INIT;
    aid.value = "S7";
    Mesos__V1__Offer o = MESOS__V1__OFFER__INIT;
    o.agent_id = &aid, o.hostname = "agent7", o.n_attributes = 4, o.attributes = ap, o.domain = &dom;
    static place_agent_buf b;
    ck_assert_int_eq(place_agent_from_offer(&o, &b), MCM_OK);
    ck_assert_str_eq(b.agent.agent_id, "S7");
    ck_assert_str_eq(b.agent.hostname, "agent7");
    ck_assert_str_eq(b.agent.region, "us-east");
    ck_assert_str_eq(b.agent.zone, "b");
    ck_assert_int_eq(b.agent.nattrs, 4);
    ck_assert_str_eq(b.attrs[0].value, "r1");
    ck_assert_str_eq(b.attrs[1].value, "1.5");
    ck_assert_str_eq(b.attrs[2].value, "[1-2,5-9]");
    ck_assert_str_eq(b.attrs[3].value, "{a,b}");
    fleet f = {0};
    ck_assert(fits("slots:CLUSTER:[1-2,5-9]", &f, b.agent));
    ck_assert(fits("gpu:LIKE:\\{a,b\\}", &f, b.agent));
    ck_assert(fits("level:IS:1.50", &f, b.agent));
    ck_assert(fits("@zone:IS:b", &f, b.agent));
    ck_assert(!fits("@region:UNLIKE:us-.*", &f, b.agent));
    ck_assert(r1.begin == 5);        /* the offer is not reordered */
    o.domain = NULL;
    ck_assert_int_eq(place_agent_from_offer(&o, &b), MCM_OK);
    ck_assert_ptr_null(b.agent.zone);
    ck_assert(fits("@zone:UNLIKE:b", &f, b.agent));
}
END_TEST

int main(void) {
    Suite *s = suite_create("placement");
    TCase *tc = tcase_create("place");
    tcase_add_test(tc, test_place_parse_every_operator);
    tcase_add_test(tc, test_place_parse_malformed_forms);
    tcase_add_test(tc, test_place_parse_limit_and_describe);
    tcase_add_test(tc, test_place_format_scalar_like_marathon);
    tcase_add_test(tc, test_place_unique);
    tcase_add_test(tc, test_place_cluster_with_and_without_value);
    tcase_add_test(tc, test_place_group_by_minimum_group_rule);
    tcase_add_test(tc, test_place_like_unlike_full_match);
    tcase_add_test(tc, test_place_max_per);
    tcase_add_test(tc, test_place_is_text_and_scalar);
    tcase_add_test(tc, test_place_several_constraints_all_hold);
    tcase_add_test(tc, test_place_max_per_agent_is_the_scheduler_limit);
    tcase_add_test(tc, test_place_zone_spread_even_whatever_the_offer_order);
    tcase_add_test(tc, test_place_zone_spread_after_a_zone_is_lost);
    tcase_add_test(tc, test_place_victim_fullest_zone_first);
    tcase_add_test(tc, test_place_victim_keeps_group_by);
    tcase_add_test(tc, test_place_victim_misplaced_first_and_caller_order);
    tcase_add_test(tc, test_place_agent_from_offer_formats_like_marathon);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
