/* offer.c -- fit one memcached server into a Mesos offer (see offer.h).
 *
 * Shape: sum the offered scalars by name, take a random port among the
 * offered ranges, then build new Resource messages that point at the
 * offered ones' role/allocation_info/reservations (borrowed, not copied).
 * Resources of other types or names (disk, gpus) are ignored. Threads: core.
 * Invariant: a successful match never asks for more than the offer holds. */
#include "offer.h"
#include "mcm.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void offer_need_init(offer_need *n, double cpus, double mem_mb) {
    n->cpus = cpus;
    n->mem_mb = mem_mb;
    n->executor_cpus = cpus * 0.05 > 0.1 ? 0.1 : cpus * 0.05;
    n->executor_mem_mb = mem_mb / 4 < 32 ? mem_mb / 4 : 32;
}

static const Mesos__V1__Resource *find_scalar(const Mesos__V1__Offer *o, const char *name, double need) {
    for (size_t i = 0; i < o->n_resources; i++) {
        const Mesos__V1__Resource *r = o->resources[i];
        if (!strcmp(r->name, name) && r->type == MESOS__V1__VALUE__TYPE__SCALAR && r->scalar &&
            r->scalar->value + 1e-9 >= need)
            return r;
    }
    return NULL;
}

/* A port chosen at random among all offered ports: a port some other
 * process on the agent already holds would otherwise be picked, fail and be
 * offered again first, every time. */
static const Mesos__V1__Resource *find_port(const Mesos__V1__Offer *o, int *port) {
    uint64_t total = 0;
    for (int pass = 0; pass < 2; pass++) {
        uint64_t pick = pass ? (uint64_t)(util_rand01() * (double)total) : 0, seen = 0;
        for (size_t i = 0; i < o->n_resources; i++) {
            const Mesos__V1__Resource *r = o->resources[i];
            if (strcmp(r->name, "ports") || r->type != MESOS__V1__VALUE__TYPE__RANGES || !r->ranges) continue;
            for (size_t k = 0; k < r->ranges->n_range; k++) {
                const Mesos__V1__Value__Range *rg = r->ranges->range[k];
                if (rg->begin > rg->end || rg->begin == 0 || rg->end > 65535) continue;
                uint64_t n = rg->end - rg->begin + 1;
                if (pass && pick < seen + n) {
                    *port = (int)(rg->begin + (pick - seen));
                    return r;
                }
                seen += n;
            }
        }
        total = seen;
        if (!total) return NULL;
    }
    return NULL;
}

/* A new Resource like `from` (same name, role, allocation, reservations). */
static Mesos__V1__Resource *like(const Mesos__V1__Resource *from) {
    Mesos__V1__Resource *r = malloc(sizeof(*r));
    if (!r) return NULL;
    mesos__v1__resource__init(r);
    r->name = from->name;
    r->type = from->type;
    r->role = from->role;
    r->allocation_info = from->allocation_info;
    r->n_reservations = from->n_reservations;
    r->reservations = from->reservations;
    return r;
}

static Mesos__V1__Resource *scalar(const Mesos__V1__Resource *from, double v) {
    Mesos__V1__Resource *r = like(from);
    Mesos__V1__Value__Scalar *s = malloc(sizeof(*s));
    if (!r || !s) { free(r); free(s); return NULL; }
    mesos__v1__value__scalar__init(s);
    s->value = v;
    r->scalar = s;
    return r;
}

static Mesos__V1__Resource *one_port(const Mesos__V1__Resource *from, int port) {
    Mesos__V1__Resource *r = like(from);
    Mesos__V1__Value__Ranges *rs = malloc(sizeof(*rs));
    Mesos__V1__Value__Range *rg = malloc(sizeof(*rg));
    Mesos__V1__Value__Range **arr = malloc(sizeof(*arr));
    if (!r || !rs || !rg || !arr) { free(r); free(rs); free(rg); free(arr); return NULL; }
    mesos__v1__value__ranges__init(rs);
    mesos__v1__value__range__init(rg);
    rg->begin = rg->end = (uint64_t)port;
    arr[0] = rg;
    rs->n_range = 1;
    rs->range = arr;
    r->ranges = rs;
    return r;
}

static void free_resource(Mesos__V1__Resource *r) {
    if (!r) return;
    free(r->scalar);
    if (r->ranges) {
        for (size_t i = 0; i < r->ranges->n_range; i++) free(r->ranges->range[i]);
        free(r->ranges->range);
        free(r->ranges);
    }
    free(r);
}

void offer_launch_clear(offer_launch *l) {
    for (size_t i = 0; i < l->n_task_res; i++) free_resource(l->task_res[i]);
    for (size_t i = 0; i < l->n_exec_res; i++) free_resource(l->exec_res[i]);
    memset(l, 0, sizeof(*l));
}

int offer_match(const Mesos__V1__Offer *o, const offer_need *n, offer_launch *out, char *why, size_t len) {
    memset(out, 0, sizeof(*out));
    const Mesos__V1__Resource *cpus = find_scalar(o, "cpus", n->cpus);
    const Mesos__V1__Resource *mem = find_scalar(o, "mem", n->mem_mb);
    int port = 0;
    const Mesos__V1__Resource *ports = find_port(o, &port);
    if (!cpus || !mem || !ports) {
        snprintf(why, len, "offer lacks %s (need cpus %.2f, mem %.0f MB, one port)",
                 !cpus ? "cpus" : !mem ? "mem" : "a port", n->cpus, n->mem_mb);
        return MCM_ERR;
    }
    out->port = port;
    out->task_res[0] = scalar(cpus, n->cpus - n->executor_cpus);
    out->task_res[1] = scalar(mem, n->mem_mb - n->executor_mem_mb);
    out->task_res[2] = one_port(ports, port);
    out->exec_res[0] = scalar(cpus, n->executor_cpus);
    out->exec_res[1] = scalar(mem, n->executor_mem_mb);
    out->n_task_res = 3;
    out->n_exec_res = 2;
    for (int i = 0; i < 3; i++) {
        if (!out->task_res[i] || (i < 2 && !out->exec_res[i])) {
            offer_launch_clear(out);
            snprintf(why, len, "out of memory");
            return MCM_ERR;
        }
    }
    return MCM_OK;
}
