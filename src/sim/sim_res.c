/* sim_res.c -- resource sets of the simulated agents (see sim_res.h).
 *
 * Shape: a flat array of entries, one per name; scalars in integer
 * thousandths so that 0.1 + 0.2 fits in 0.3 as it does in Mesos (which
 * rounds at three decimals), ranges as a sorted array of disjoint, non-adjacent
 * inclusive [begin, end] pairs. Sets are small (a handful of names, a few
 * ranges), so every operation is a linear scan.
 * Threads: any; objects are not shared.
 * Invariants: names are unique within a set; ranges are sorted, merged and
 * never empty intervals; a scalar is >= 0. */
#include "sim_res.h"

#include "mcm.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct range { uint64_t b, e; } range;

typedef struct entry {
    char name[64];
    int is_ranges;
    int64_t milli;        /* scalar */
    range *r;             /* ranges */
    int nr;
} entry;

struct sim_res {
    entry *e;
    int n;
};

sim_res *sim_res_new(void) { return calloc(1, sizeof(sim_res)); }

void sim_res_free(sim_res *r) {
    if (!r) return;
    for (int i = 0; i < r->n; i++) free(r->e[i].r);
    free(r->e);
    free(r);
}

sim_res *sim_res_copy(const sim_res *r) {
    sim_res *c = sim_res_new();
    if (c && r) sim_res_add(c, r);
    return c;
}

static entry *find(const sim_res *r, const char *name) {
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->e[i].name, name) == 0) return &r->e[i];
    return NULL;
}

static entry *get(sim_res *r, const char *name, int is_ranges) {
    entry *e = find(r, name);
    if (e) return e;
    entry *grown = realloc(r->e, (size_t)(r->n + 1) * sizeof(*grown));
    if (!grown) abort();
    r->e = grown;
    e = &r->e[r->n++];
    memset(e, 0, sizeof(*e));
    snprintf(e->name, sizeof(e->name), "%s", name);
    e->is_ranges = is_ranges;
    return e;
}

/* --- ranges ---------------------------------------------------------------- */

static int range_cmp(const void *a, const void *b) {
    const range *x = a, *y = b;
    return x->b < y->b ? -1 : x->b > y->b;
}

/* Sorts and merges overlapping or adjacent intervals. */
static void ranges_norm(entry *e) {
    if (e->nr < 2) return;
    qsort(e->r, (size_t)e->nr, sizeof(range), range_cmp);
    int w = 0;
    for (int i = 1; i < e->nr; i++) {
        if (e->r[i].b <= e->r[w].e + 1) {
            if (e->r[i].e > e->r[w].e) e->r[w].e = e->r[i].e;
        } else {
            e->r[++w] = e->r[i];
        }
    }
    e->nr = w + 1;
}

static void ranges_push(entry *e, uint64_t b, uint64_t end) {
    range *grown = realloc(e->r, (size_t)(e->nr + 1) * sizeof(range));
    if (!grown) abort();
    e->r = grown;
    e->r[e->nr].b = b;
    e->r[e->nr].e = end;
    e->nr++;
}

/* Removes [b, end] from e's ranges. */
static void ranges_remove(entry *e, uint64_t b, uint64_t end) {
    range *out = NULL;
    int n = 0;
    for (int i = 0; i < e->nr; i++) {
        range x = e->r[i];
        range parts[2];
        int np = 0;
        if (x.e < b || x.b > end) parts[np++] = x;
        else {
            if (x.b < b) parts[np++] = (range){x.b, b - 1};
            if (x.e > end) parts[np++] = (range){end + 1, x.e};
        }
        for (int k = 0; k < np; k++) {
            range *g = realloc(out, (size_t)(n + 1) * sizeof(range));
            if (!g) abort();
            out = g;
            out[n++] = parts[k];
        }
    }
    free(e->r);
    e->r = out;
    e->nr = n;
}

static int ranges_cover(const entry *e, uint64_t b, uint64_t end) {
    for (int i = 0; e && i < e->nr; i++)
        if (e->r[i].b <= b && end <= e->r[i].e) return 1;
    return 0;
}

/* --- arithmetic ------------------------------------------------------------ */

void sim_res_add(sim_res *dst, const sim_res *add) {
    for (int i = 0; add && i < add->n; i++) {
        const entry *a = &add->e[i];
        entry *d = get(dst, a->name, a->is_ranges);
        if (d->is_ranges != a->is_ranges) continue;
        if (!a->is_ranges) {
            d->milli += a->milli;
            continue;
        }
        for (int k = 0; k < a->nr; k++) ranges_push(d, a->r[k].b, a->r[k].e);
        ranges_norm(d);
    }
}

void sim_res_sub(sim_res *dst, const sim_res *sub) {
    for (int i = 0; sub && i < sub->n; i++) {
        const entry *s = &sub->e[i];
        entry *d = find(dst, s->name);
        if (!d || d->is_ranges != s->is_ranges) continue;
        if (!s->is_ranges) {
            d->milli -= s->milli;
            if (d->milli < 0) d->milli = 0;
            continue;
        }
        for (int k = 0; k < s->nr; k++) ranges_remove(d, s->r[k].b, s->r[k].e);
    }
}

int sim_res_contains(const sim_res *big, const sim_res *small) {
    for (int i = 0; small && i < small->n; i++) {
        const entry *s = &small->e[i];
        const entry *b = find(big, s->name);
        if (!s->is_ranges) {
            if (s->milli == 0) continue;
            if (!b || b->is_ranges || b->milli < s->milli) return 0;
            continue;
        }
        for (int k = 0; k < s->nr; k++)
            if (!b || !b->is_ranges || !ranges_cover(b, s->r[k].b, s->r[k].e)) return 0;
    }
    return 1;
}

int sim_res_empty(const sim_res *r) {
    for (int i = 0; r && i < r->n; i++)
        if (r->e[i].is_ranges ? r->e[i].nr > 0 : r->e[i].milli > 0) return 0;
    return 1;
}

int64_t sim_res_scalar_milli(const sim_res *r, const char *name) {
    const entry *e = r ? find(r, name) : NULL;
    return e && !e->is_ranges ? e->milli : 0;
}

uint64_t sim_res_range_count(const sim_res *r, const char *name) {
    const entry *e = r ? find(r, name) : NULL;
    uint64_t n = 0;
    for (int i = 0; e && e->is_ranges && i < e->nr; i++) n += e->r[i].e - e->r[i].b + 1;
    return n;
}

sim_res *sim_res_slice(const sim_res *r, const char *name, int n, int i) {
    uint64_t total = sim_res_range_count(r, name);
    uint64_t size = n > 0 ? total / (uint64_t)n : 0;
    if (size == 0) return NULL;
    sim_res *out = sim_res_new();
    for (int k = 0; k < r->n; k++)
        if (strcmp(r->e[k].name, name) != 0) {
            sim_res one = {&r->e[k], 1};
            sim_res_add(out, &one);
        }
    entry *d = get(out, name, 1);
    const entry *src = find(r, name);
    uint64_t skip = size * (uint64_t)i, want = size;
    for (int k = 0; k < src->nr && want > 0; k++) {
        uint64_t len = src->r[k].e - src->r[k].b + 1;
        if (skip >= len) { skip -= len; continue; }
        uint64_t b = src->r[k].b + skip;
        uint64_t take = len - skip < want ? len - skip : want;
        ranges_push(d, b, b + take - 1);
        want -= take;
        skip = 0;
    }
    return out;
}

/* --- text ------------------------------------------------------------------ */

static int parse_u64(const char **p, uint64_t *out) {
    while (**p == ' ') (*p)++;
    if (!isdigit((unsigned char)**p)) return MCM_ERR;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(*p, &end, 10);
    if (errno) return MCM_ERR;
    *p = end;
    while (**p == ' ') (*p)++;
    *out = v;
    return MCM_OK;
}

/* "[a-b,c-d]" into e. */
static int parse_ranges(const char *v, entry *e, char *err, size_t errlen) {
    const char *p = v + 1;
    size_t len = strlen(v);
    if (len < 2 || v[len - 1] != ']') goto bad;
    for (;;) {
        uint64_t b, end;
        if (parse_u64(&p, &b) != MCM_OK || *p++ != '-' || parse_u64(&p, &end) != MCM_OK || b > end)
            goto bad;
        ranges_push(e, b, end);
        if (*p == ',') { p++; continue; }
        if (*p == ']' && p[1] == 0) break;
        goto bad;
    }
    ranges_norm(e);
    return MCM_OK;
bad:
    snprintf(err, errlen, "ranges '%s': expected [begin-end,...] with begin <= end", v);
    return MCM_ERR;
}

static int parse_scalar(const char *v, entry *e, char *err, size_t errlen) {
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(d) || d < 0 || d > 1e15) {
        snprintf(err, errlen, "scalar '%s': expected a number >= 0", v);
        return MCM_ERR;
    }
    e->milli += llround(d * 1000.0);
    return MCM_OK;
}

/* One "name[(role)]:value" item. */
static int parse_item(sim_res *r, char *item, char *err, size_t errlen) {
    char *colon = strchr(item, ':');
    if (!colon || colon == item || !colon[1]) {
        snprintf(err, errlen, "'%s': expected name:value", item);
        return MCM_ERR;
    }
    *colon = 0;
    char *name = item, *val = colon + 1, *paren = strchr(name, '(');
    if (paren) {
        if (strcmp(paren, "(*)") != 0) {
            snprintf(err, errlen, "'%s': only the unreserved role (*) is supported", name);
            return MCM_ERR;
        }
        *paren = 0;
    }
    for (char *c = name; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-' && *c != '.') {
            snprintf(err, errlen, "resource name '%s': use letters, digits, _ - .", name);
            return MCM_ERR;
        }
    if (strlen(name) >= sizeof(((entry *)0)->name)) {
        snprintf(err, errlen, "resource name '%s' too long", name);
        return MCM_ERR;
    }
    if (val[0] == '{') {
        snprintf(err, errlen, "'%s': set values are not supported", name);
        return MCM_ERR;
    }
    int is_ranges = val[0] == '[';
    entry *ex = find(r, name);
    if (ex && ex->is_ranges != is_ranges) {
        snprintf(err, errlen, "'%s' given as both scalar and ranges", name);
        return MCM_ERR;
    }
    entry *e = get(r, name, is_ranges);
    return is_ranges ? parse_ranges(val, e, err, errlen) : parse_scalar(val, e, err, errlen);
}

sim_res *sim_res_parse(const char *text, char *err, size_t errlen) {
    sim_res *r = sim_res_new();
    char *copy = strdup(text ? text : "");
    if (!r || !copy) abort();
    int rc = MCM_OK, items = 0;
    char *save = NULL;
    for (char *it = strtok_r(copy, ";", &save); it && rc == MCM_OK; it = strtok_r(NULL, ";", &save)) {
        while (*it == ' ') it++;
        if (!*it) continue;
        rc = parse_item(r, it, err, errlen);
        items++;
    }
    free(copy);
    if (rc == MCM_OK && items == 0) {
        snprintf(err, errlen, "no resources given");
        rc = MCM_ERR;
    }
    if (rc != MCM_OK) {
        sim_res_free(r);
        return NULL;
    }
    return r;
}

void sim_res_format(const sim_res *r, char *buf, size_t len) {
    size_t off = 0;
    buf[0] = 0;
    for (int i = 0; r && i < r->n && off < len; i++) {
        const entry *e = &r->e[i];
        off += (size_t)snprintf(buf + off, len - off, "%s%s:", i ? ";" : "", e->name);
        if (off >= len) break;
        if (!e->is_ranges) {
            if (e->milli % 1000 == 0)
                off += (size_t)snprintf(buf + off, len - off, "%lld", (long long)(e->milli / 1000));
            else
                off += (size_t)snprintf(buf + off, len - off, "%lld.%03lld", (long long)(e->milli / 1000),
                                        (long long)(e->milli % 1000));
            continue;
        }
        off += (size_t)snprintf(buf + off, len - off, "[");
        for (int k = 0; k < e->nr && off < len; k++)
            off += (size_t)snprintf(buf + off, len - off, "%s%llu-%llu", k ? "," : "",
                                    (unsigned long long)e->r[k].b, (unsigned long long)e->r[k].e);
        if (off < len) off += (size_t)snprintf(buf + off, len - off, "]");
    }
}

/* --- protobuf -------------------------------------------------------------- */

static int from_pb_one(sim_res *r, const Mesos__V1__Resource *p, const char *alloc_role,
                       char *err, size_t errlen) {
    if (p->reservation || p->n_reservations) {
        snprintf(err, errlen, "resource %s: reservations are not supported", p->name);
        return MCM_ERR;
    }
    if (alloc_role && p->allocation_info && p->allocation_info->role &&
        strcmp(p->allocation_info->role, alloc_role) != 0) {
        snprintf(err, errlen, "resource %s is allocated to role '%s', not '%s'", p->name,
                 p->allocation_info->role, alloc_role);
        return MCM_ERR;
    }
    if (p->type == MESOS__V1__VALUE__TYPE__SCALAR && p->scalar) {
        double v = p->scalar->value;
        if (!isfinite(v) || v < 0) {
            snprintf(err, errlen, "resource %s: invalid scalar", p->name);
            return MCM_ERR;
        }
        entry *e = get(r, p->name, 0);
        if (e->is_ranges) goto mixed;
        e->milli += llround(v * 1000.0);
        return MCM_OK;
    }
    if (p->type == MESOS__V1__VALUE__TYPE__RANGES && p->ranges) {
        entry *e = get(r, p->name, 1);
        if (!e->is_ranges) goto mixed;
        for (size_t k = 0; k < p->ranges->n_range; k++) {
            const Mesos__V1__Value__Range *x = p->ranges->range[k];
            if (x->begin > x->end) {
                snprintf(err, errlen, "resource %s: range %llu-%llu is reversed", p->name,
                         (unsigned long long)x->begin, (unsigned long long)x->end);
                return MCM_ERR;
            }
            ranges_push(e, x->begin, x->end);
        }
        ranges_norm(e);
        return MCM_OK;
    }
    snprintf(err, errlen, "resource %s: only SCALAR and RANGES values are supported", p->name);
    return MCM_ERR;
mixed:
    snprintf(err, errlen, "resource %s given as both scalar and ranges", p->name);
    return MCM_ERR;
}

sim_res *sim_res_from_pb(Mesos__V1__Resource *const *res, size_t n, const char *alloc_role,
                         char *err, size_t errlen) {
    sim_res *r = sim_res_new();
    if (!r) abort();
    for (size_t i = 0; i < n; i++)
        if (from_pb_one(r, res[i], alloc_role, err, errlen) != MCM_OK) {
            sim_res_free(r);
            return NULL;
        }
    return r;
}

static Mesos__V1__Resource *to_pb_one(const entry *e, const char *role, sim_res_alloc_fn alloc, void *ctx) {
    Mesos__V1__Resource *p = alloc(ctx, sizeof(*p));
    mesos__v1__resource__init(p);
    p->name = (char *)e->name;
    if (role) {
        p->allocation_info = alloc(ctx, sizeof(*p->allocation_info));
        mesos__v1__resource__allocation_info__init(p->allocation_info);
        p->allocation_info->role = (char *)role;
    }
    if (!e->is_ranges) {
        p->type = MESOS__V1__VALUE__TYPE__SCALAR;
        p->scalar = alloc(ctx, sizeof(*p->scalar));
        mesos__v1__value__scalar__init(p->scalar);
        p->scalar->value = (double)e->milli / 1000.0;
        return p;
    }
    p->type = MESOS__V1__VALUE__TYPE__RANGES;
    p->ranges = alloc(ctx, sizeof(*p->ranges));
    mesos__v1__value__ranges__init(p->ranges);
    p->ranges->n_range = (size_t)e->nr;
    p->ranges->range = alloc(ctx, sizeof(void *) * (size_t)(e->nr ? e->nr : 1));
    for (int k = 0; k < e->nr; k++) {
        Mesos__V1__Value__Range *x = alloc(ctx, sizeof(*x));
        mesos__v1__value__range__init(x);
        x->begin = e->r[k].b;
        x->end = e->r[k].e;
        p->ranges->range[k] = x;
    }
    return p;
}

Mesos__V1__Resource **sim_res_to_pb(const sim_res *r, const char *role, sim_res_alloc_fn alloc,
                                    void *ctx, size_t *n_out) {
    Mesos__V1__Resource **out = alloc(ctx, sizeof(void *) * (size_t)(r->n ? r->n : 1));
    size_t n = 0;
    for (int i = 0; i < r->n; i++) {
        const entry *e = &r->e[i];
        if (e->is_ranges ? e->nr == 0 : e->milli == 0) continue;   /* Mesos never sends empty resources */
        out[n++] = to_pb_one(e, role, alloc, ctx);
    }
    *n_out = n;
    return out;
}
