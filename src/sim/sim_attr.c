/* sim_attr.c -- agent attributes and fault domains, as a Mesos agent's
 * --attributes and --domain flags give them and the master puts them in
 * offers (master.cpp: offer->mutable_attributes()->MergeFrom(slave->info
 * .attributes()); if the agent has a domain, offer->mutable_domain()).
 *
 * Attribute syntax (Mesos src/common/attributes.cpp and values.cpp):
 * `name:value;name:value`, tokens split at ';' or newline, name and value
 * split at the first ':', spaces removed from the value; a value starting
 * with '[' is RANGES ("[1-2,5-9]"), one that parses whole as a finite
 * non-negative number is SCALAR, anything else TEXT; sets ('{') are refused
 * as Mesos refuses them for attributes. Order is kept.
 * A domain is `region/zone` here (Mesos takes JSON {"fault_domain":...}).
 * Per agent: several sets separated by '|'; agent i takes set i % count;
 * --agent-hostname works the same way. The executor's SUBSCRIBED AgentInfo
 * carries the same hostname, attributes and domain.
 *
 * Threads: any; no shared state. Ownership: pb arrays come from the
 * caller's allocator (an arena), strings are copied into it. */
#include "sim_int.h"

#include "mcm.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_ATTRS_MAX 64

typedef struct attr_tok {
    char name[SIM_ID_MAX], value[SIM_ID_MAX];
} attr_tok;

static int nospace_copy(char *dst, size_t cap, const char *src, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (src[i] != ' ') {
            if (k + 1 >= cap) return MCM_ERR;
            dst[k++] = src[i];
        }
    dst[k] = '\0';
    return MCM_OK;
}

/* Splits text into tokens; MCM_ERR with a reason. */
static int tokenize(const char *text, attr_tok *out, int *n, char *err, size_t errlen) {
    *n = 0;
    for (const char *p = text; *p;) {
        size_t len = strcspn(p, ";\n");
        if (len > 0) {
            const char *colon = memchr(p, ':', len);
            if (*n >= SIM_ATTRS_MAX) return snprintf(err, errlen, "too many attributes"), MCM_ERR;
            attr_tok *t = &out[*n];
            size_t nl = colon ? (size_t)(colon - p) : 0;
            if (!colon || nl == 0 || nl >= sizeof(t->name) || colon + 1 == p + len ||
                nospace_copy(t->value, sizeof(t->value), colon + 1, (size_t)(p + len - colon - 1)) != MCM_OK ||
                !t->value[0])
                return snprintf(err, errlen, "invalid attribute key:value pair '%.*s'", (int)len, p), MCM_ERR;
            memcpy(t->name, p, nl);
            t->name[nl] = '\0';
            (*n)++;
        }
        p += len;
        if (*p) p++;
    }
    return MCM_OK;
}

static int parse_scalar(const char *v, double *out) {
    if (!isdigit((unsigned char)v[0]) && v[0] != '.') return 0;   /* no "inf", "nan", signs */
    if (strpbrk(v, "xXpP")) return 0;                            /* no hex floats */
    char *end;
    double d = strtod(v, &end);
    if (*end || !isfinite(d) || d < 0) return 0;
    *out = d;
    return 1;
}

/* "[1-2,5-9]" into ranges; MCM_ERR if malformed. */
static int parse_ranges(sim_arena *a, const char *v, Mesos__V1__Value__Ranges *r) {
    size_t cap = 1;
    for (const char *p = v; *p; p++) cap += *p == ',';
    r->range = sim_arena_alloc(a, sizeof(void *) * cap);
    size_t len = strlen(v);
    if (len < 3 || v[len - 1] != ']') return MCM_ERR;
    for (const char *p = v + 1; *p && *p != ']';) {
        char *e1, *e2;
        unsigned long long b = strtoull(p, &e1, 10);
        if (e1 == p || *e1 != '-') return MCM_ERR;
        unsigned long long e = strtoull(e1 + 1, &e2, 10);
        if (e2 == e1 + 1 || (*e2 != ',' && *e2 != ']') || r->n_range >= cap) return MCM_ERR;
        Mesos__V1__Value__Range *rg = sim_arena_alloc(a, sizeof(*rg));
        mesos__v1__value__range__init(rg);
        rg->begin = b;
        rg->end = e;
        r->range[r->n_range++] = rg;
        p = *e2 == ',' ? e2 + 1 : e2;
    }
    return r->n_range ? MCM_OK : MCM_ERR;
}

static int tok_to_pb(sim_arena *a, const attr_tok *t, Mesos__V1__Attribute *at, char *err, size_t errlen) {
    mesos__v1__attribute__init(at);
    at->name = sim_arena_strdup(a, t->name);
    double d;
    if (t->value[0] == '{')
        return snprintf(err, errlen, "attribute %s: sets are not supported for attributes", t->name), MCM_ERR;
    if (t->value[0] == '[') {
        at->type = MESOS__V1__VALUE__TYPE__RANGES;
        at->ranges = sim_arena_alloc(a, sizeof(*at->ranges));
        mesos__v1__value__ranges__init(at->ranges);
        if (parse_ranges(a, t->value, at->ranges) != MCM_OK)
            return snprintf(err, errlen, "attribute %s: bad ranges '%s'", t->name, t->value), MCM_ERR;
    } else if (parse_scalar(t->value, &d)) {
        at->type = MESOS__V1__VALUE__TYPE__SCALAR;
        at->scalar = sim_arena_alloc(a, sizeof(*at->scalar));
        mesos__v1__value__scalar__init(at->scalar);
        at->scalar->value = d;
    } else {
        at->type = MESOS__V1__VALUE__TYPE__TEXT;
        at->text = sim_arena_alloc(a, sizeof(*at->text));
        mesos__v1__value__text__init(at->text);
        at->text->value = sim_arena_strdup(a, t->value);
    }
    return MCM_OK;
}

Mesos__V1__Attribute **sim_attr_to_pb(sim_arena *a, const char *text, size_t *n, char *err, size_t errlen) {
    static __thread attr_tok toks[SIM_ATTRS_MAX];
    int nt;
    *n = 0;
    if (tokenize(text ? text : "", toks, &nt, err, errlen) != MCM_OK) return NULL;
    Mesos__V1__Attribute **out = sim_arena_alloc(a, sizeof(void *) * (size_t)(nt ? nt : 1));
    for (int i = 0; i < nt; i++) {
        out[i] = sim_arena_alloc(a, sizeof(*out[i]));
        if (tok_to_pb(a, &toks[i], out[i], err, errlen) != MCM_OK) return NULL;
    }
    *n = (size_t)nt;
    return out;
}

int sim_attr_check(const char *text, char *err, size_t errlen) {
    sim_arena *a = sim_arena_new();
    size_t n;
    int rc = sim_attr_to_pb(a, text, &n, err, errlen) ? MCM_OK : MCM_ERR;
    sim_arena_free(a);
    return rc;
}

int sim_domain_parse(const char *text, char *region, char *zone, size_t cap, char *err, size_t errlen) {
    region[0] = zone[0] = '\0';
    if (!text || !*text) return MCM_OK;
    const char *sl = strchr(text, '/');
    if (!sl || sl == text || !sl[1] || strchr(sl + 1, '/') || (size_t)(sl - text) >= cap || strlen(sl + 1) >= cap)
        return snprintf(err, errlen, "domain '%s': expected REGION/ZONE", text), MCM_ERR;
    snprintf(region, cap, "%.*s", (int)(sl - text), text);
    snprintf(zone, cap, "%s", sl + 1);
    return MCM_OK;
}

static int sim_list_item(const char *list, int i, char *out, size_t cap) {
    out[0] = '\0';
    if (!list || !*list) return 0;
    int n = 1;
    for (const char *p = list; *p; p++) n += *p == '|';
    const char *p = list;
    for (int k = i % n; k > 0; k--) p = strchr(p, '|') + 1;
    size_t len = strcspn(p, "|");
    if (len >= cap) return -1;
    memcpy(out, p, len);
    out[len] = '\0';
    return 1;
}

Mesos__V1__DomainInfo *sim_domain_to_pb(sim_arena *a, const char *region, const char *zone) {
    if (!region || !region[0]) return NULL;
    Mesos__V1__DomainInfo *d = sim_arena_alloc(a, sizeof(*d));
    mesos__v1__domain_info__init(d);
    d->fault_domain = sim_arena_alloc(a, sizeof(*d->fault_domain));
    mesos__v1__domain_info__fault_domain__init(d->fault_domain);
    d->fault_domain->region = sim_arena_alloc(a, sizeof(*d->fault_domain->region));
    mesos__v1__domain_info__fault_domain__region_info__init(d->fault_domain->region);
    d->fault_domain->region->name = sim_arena_strdup(a, region);
    d->fault_domain->zone = sim_arena_alloc(a, sizeof(*d->fault_domain->zone));
    mesos__v1__domain_info__fault_domain__zone_info__init(d->fault_domain->zone);
    d->fault_domain->zone->name = sim_arena_strdup(a, zone);
    return d;
}

/* --- per agent ------------------------------------------------------------- */

static void master_region(sim *s) {
    s->master_region[0] = '\0';
    for (int i = 0; i < s->nagents && !s->master_region[0]; i++)
        snprintf(s->master_region, sizeof(s->master_region), "%s", s->agents[i].region);
}

int sim_attr_setup(sim *s, char *err, size_t errlen) {
    char item[SIM_ID_MAX * 4], why[256];
    for (int i = 0; i < s->nagents; i++) {
        sim_agent *a = &s->agents[i];
        if (sim_list_item(s->cfg.agent_attributes, i, item, sizeof(item)) < 0 ||
            sim_attr_check(item, why, sizeof(why)) != MCM_OK)
            return snprintf(err, errlen, "--attributes: %s", why), MCM_ERR;
        a->attributes = strdup(item);
        if (!a->attributes) abort();
        if (sim_list_item(s->cfg.agent_hostname, i, item, sizeof(item)) < 0 || !item[0] ||
            strlen(item) >= sizeof(a->hostname))
            return snprintf(err, errlen, "--agent-hostname: an empty or too long host name"), MCM_ERR;
        memcpy(a->hostname, item, strlen(item) + 1);   /* fits: checked above */
        if (sim_list_item(s->cfg.agent_domains, i, item, sizeof(item)) < 0 ||
            sim_domain_parse(item, a->region, a->zone, sizeof(a->region), why, sizeof(why)) != MCM_OK)
            return snprintf(err, errlen, "--domains: %s", why), MCM_ERR;
    }
    s->cfg.agent_attributes = s->cfg.agent_domains = NULL;   /* the caller's strings: not kept */
    master_region(s);
    return MCM_OK;
}

int sim_agent_remote(const sim *s, int agent) {
    const sim_agent *a = &s->agents[agent];
    return a->region[0] && strcmp(a->region, s->master_region) != 0;
}

int sim_fw_region_aware(const sim_fw *fw) {
    for (size_t i = 0; fw->info && i < fw->info->n_capabilities; i++)
        if (fw->info->capabilities[i]->type == MESOS__V1__FRAMEWORK_INFO__CAPABILITY__TYPE__REGION_AWARE) return 1;
    return 0;
}

int sim_attr_set(sim *s, int agent, const char *attributes, const char *domain, char *err, size_t errlen) {
    sim_agent *a = &s->agents[agent];
    char region[SIM_DOMAIN_MAX], zone[SIM_DOMAIN_MAX];
    if (attributes && sim_attr_check(attributes, err, errlen) != MCM_OK) return MCM_ERR;
    if (domain && sim_domain_parse(domain, region, zone, sizeof(region), err, errlen) != MCM_OK) return MCM_ERR;
    if (attributes) {
        char *copy = strdup(attributes);
        if (!copy) abort();
        free(a->attributes);
        a->attributes = copy;
    }
    if (domain) {
        snprintf(a->region, sizeof(a->region), "%s", region);
        snprintf(a->zone, sizeof(a->zone), "%s", zone);
        if (!s->master_region[0]) master_region(s);   /* the master does not move */
    }
    /* Like an agent restarted with new flags: the master drops its offers
     * (rescinded) when it disconnects; later offers carry the new info. */
    sim_offers_rescind_agent(s, agent);
    return MCM_OK;
}
