/* place_mesos.c -- Offer to place_agent (see place_mesos.h).
 *
 * Shape: one bump buffer in the caller's place_agent_buf; each string is
 * appended once and pointed to. Range and set items are sorted on copies so
 * the offer is never changed. Threads: any. Invariant: every pointer in
 * buf->agent points into buf->text or is NULL. */
#include "place_mesos.h"

#include "mcm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *keep(place_agent_buf *b, const char *s) {
    size_t n = strlen(s) + 1;
    if (b->used + n > sizeof(b->text)) return NULL;
    char *p = b->text + b->used;
    memcpy(p, s, n);
    b->used += n;
    return p;
}

static int by_begin(const void *a, const void *b) {
    const Mesos__V1__Value__Range *x = *(Mesos__V1__Value__Range *const *)a, *y = *(Mesos__V1__Value__Range *const *)b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

static int by_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Appends s to out[*n] (bounded); 0 if it did not fit. */
static int add(char *out, size_t cap, size_t *n, const char *s) {
    int k = snprintf(out + *n, cap - *n, "%s", s);
    if (k < 0 || (size_t)k >= cap - *n) return 0;
    *n += (size_t)k;
    return 1;
}

static int format_ranges(const Mesos__V1__Value__Ranges *r, char *out, size_t cap) {
    size_t n = 0;
    int ok = add(out, cap, &n, "[");
    Mesos__V1__Value__Range **v = r->n_range ? malloc(sizeof(*v) * r->n_range) : NULL;
    if (r->n_range && !v) return 0;
    if (v) memcpy(v, r->range, sizeof(*v) * r->n_range);
    if (v) qsort(v, r->n_range, sizeof(*v), by_begin);
    for (size_t i = 0; ok && i < r->n_range; i++) {
        char one[48];
        snprintf(one, sizeof(one), "%s%llu-%llu", i ? "," : "", (unsigned long long)v[i]->begin,
                 (unsigned long long)v[i]->end);
        ok = add(out, cap, &n, one);
    }
    free(v);
    return ok && add(out, cap, &n, "]");
}

static int format_set(const Mesos__V1__Value__Set *s, char *out, size_t cap) {
    size_t n = 0;
    int ok = add(out, cap, &n, "{");
    char **v = s->n_item ? malloc(sizeof(*v) * s->n_item) : NULL;
    if (s->n_item && !v) return 0;
    if (v) memcpy(v, s->item, sizeof(*v) * s->n_item);
    if (v) qsort(v, s->n_item, sizeof(*v), by_str);
    for (size_t i = 0; ok && i < s->n_item; i++) ok = add(out, cap, &n, i ? "," : "") && add(out, cap, &n, v[i]);
    free(v);
    return ok && add(out, cap, &n, "}");
}

/* Marathon's getValueString; 0 if the attribute has no value of its type. */
static int format_attr(const Mesos__V1__Attribute *a, char *out, size_t cap) {
    switch (a->type) {
    case MESOS__V1__VALUE__TYPE__SCALAR:
        if (!a->scalar) return 0;
        place_format_scalar(a->scalar->value, out, cap);
        return 1;
    case MESOS__V1__VALUE__TYPE__TEXT:
        return a->text && a->text->value && snprintf(out, cap, "%s", a->text->value) < (int)cap;
    case MESOS__V1__VALUE__TYPE__RANGES: return a->ranges && format_ranges(a->ranges, out, cap);
    case MESOS__V1__VALUE__TYPE__SET: return a->set && format_set(a->set, out, cap);
    default: return 0;
    }
}

static void domain(const Mesos__V1__Offer *o, place_agent_buf *b) {
    const Mesos__V1__DomainInfo__FaultDomain *fd = o->domain ? o->domain->fault_domain : NULL;
    if (!fd || !fd->region || !fd->zone || !fd->region->name || !fd->zone->name) return;
    b->agent.region = keep(b, fd->region->name);
    b->agent.zone = keep(b, fd->zone->name);
    if (!b->agent.region || !b->agent.zone) b->agent.region = b->agent.zone = NULL;
}

int place_agent_from_offer(const Mesos__V1__Offer *o, place_agent_buf *b) {
    memset(&b->agent, 0, sizeof(b->agent));
    b->used = 0;
    b->agent.attrs = b->attrs;
    int rc = MCM_OK;
    b->agent.agent_id = o->agent_id && o->agent_id->value ? keep(b, o->agent_id->value) : NULL;
    b->agent.hostname = o->hostname ? keep(b, o->hostname) : NULL;
    domain(o, b);
    char val[PLACE_AGENT_TEXT_MAX];
    for (size_t i = 0; i < o->n_attributes; i++) {
        const Mesos__V1__Attribute *a = o->attributes[i];
        if (b->agent.nattrs >= PLACE_ATTRS_MAX) return MCM_ERR;
        if (!a->name || !format_attr(a, val, sizeof(val))) continue;
        const char *name = keep(b, a->name), *value = name ? keep(b, val) : NULL;
        if (!value) {
            rc = MCM_ERR;
            continue;
        }
        b->attrs[b->agent.nattrs++] = (place_attr){name, value};
    }
    return rc;
}
