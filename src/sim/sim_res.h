/* sim_res.h -- agent resources for the simulator: parse, add, subtract, compare.
 *
 * A sim_res is a small set of named unreserved resources: scalars (cpus, mem,
 * disk, ...) kept in thousandths (Mesos compares scalars at three decimals)
 * and ranges (ports) kept sorted, merged and inclusive. Roles, reservations
 * and sets are out of scope: the simulator offers only unreserved resources,
 * adding allocation_info when the framework is MULTI_ROLE.
 *
 * Ownership: every function returning sim_res* returns a new object the caller
 * frees with sim_res_free (NULL-safe). Functions taking `sim_res *dst` change
 * it in place. Threads: any; no shared state. */
#ifndef MCM_SIM_RES_H
#define MCM_SIM_RES_H

#include <stddef.h>
#include <stdint.h>

#include "mesos/v1/mesos.pb-c.h"

typedef struct sim_res sim_res;

sim_res *sim_res_new(void);
void sim_res_free(sim_res *r);
sim_res *sim_res_copy(const sim_res *r);

/* Mesos agent --resources syntax: `name:value;...` where value is a scalar
 * ("4", "0.5") or ranges ("[31000-31999]", "[1-2,5-10]"); "name(*):" is
 * accepted. Same-name entries add up. NULL and a one-line reason on error. */
sim_res *sim_res_parse(const char *text, char *err, size_t errlen);

/* From protobuf Resources (SCALAR and RANGES only; SET/TEXT, negative or
 * malformed values are errors). A non-NULL alloc_role makes every resource
 * that carries allocation_info name that role (else: error). */
sim_res *sim_res_from_pb(Mesos__V1__Resource *const *res, size_t n, const char *alloc_role,
                         char *err, size_t errlen);

/* dst += add. */
void sim_res_add(sim_res *dst, const sim_res *add);
/* dst -= sub (only meaningful when sim_res_contains(dst, sub)). */
void sim_res_sub(sim_res *dst, const sim_res *sub);
/* 1 if every quantity of `small` fits in `big`. */
int sim_res_contains(const sim_res *big, const sim_res *small);
/* 1 if there is nothing (all scalars 0, no ranges). */
int sim_res_empty(const sim_res *r);
/* Scalar in thousandths (0 if absent). */
int64_t sim_res_scalar_milli(const sim_res *r, const char *name);
/* Number of values in the named ranges resource. */
uint64_t sim_res_range_count(const sim_res *r, const char *name);

/* Splits the named ranges resource of `r` into n disjoint equal slices (in
 * ascending order of values; the remainder is left out) and returns slice i as
 * a new sim_res with every other resource copied. NULL if a slice would be
 * empty. */
sim_res *sim_res_slice(const sim_res *r, const char *name, int n, int i);

/* "cpus:4;mem:4096;ports:[31000-31332]" into buf. */
void sim_res_format(const sim_res *r, char *buf, size_t len);

/* Protobuf form. Every pointer in the returned array, and the array, are
 * allocated with alloc(ctx, size) (zeroed memory expected), so an arena frees
 * them at once. role: allocation_info role, or NULL for none. */
typedef void *(*sim_res_alloc_fn)(void *ctx, size_t size);
Mesos__V1__Resource **sim_res_to_pb(const sim_res *r, const char *role, sim_res_alloc_fn alloc,
                                    void *ctx, size_t *n_out);

#endif
