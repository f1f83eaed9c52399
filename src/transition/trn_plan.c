/* trn_plan.c -- the rule that starts ring changes (see trn_plan.h).
 *
 * Order of the checks, and why:
 *   1. cold removals first: a transition's R must be exactly what clients
 *      see, and a server that stopped serving cannot be a source;
 *   2. nothing to do when the serving set is the published one;
 *   3. wait while servers start or are about to (up to the prepare timeout),
 *      so that a replacement (one in, one out) or a multi-server step moves
 *      keys once;
 *   4. nothing published, or nothing left to serve: publish as it is (cold:
 *      there is no source, or no owner);
 *   5. otherwise a warm transition.
 *
 * Threads: any; pure. */
#include "trn_plan.h"
#include "mcm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void trn_plan_free(trn_plan *p) {
    if (!p) return;
    free(p->from);
    free(p->to);
    memset(p, 0, sizeof(*p));
}

/* Lookups are by binary search over sorted copies, so that a plan over N
 * servers costs O(N log N): the leader plans on every tick, and at 1,000
 * servers pairwise comparison was 10^6 strcmp a tick (bench/scale). */
static int cmp_member(const void *a, const void *b) {
    return strcmp((*(const trn_member *const *)a)->s.task_id, (*(const trn_member *const *)b)->s.task_id);
}

static int cmp_server(const void *a, const void *b) {
    const trn_server *x = a, *y = b;
    int r = strcmp(x->task_id, y->task_id);
    return r ? r : strcmp(x->addr, y->addr);
}

int trn_index_build(trn_index *ix, const trn_member *m, int n) {
    ix->n = 0;
    ix->by = malloc(sizeof(*ix->by) * (size_t)(n ? n : 1));
    if (!ix->by) return MCM_ERR;
    for (int i = 0; i < n; i++) ix->by[i] = &m[i];
    ix->n = n;
    qsort(ix->by, (size_t)n, sizeof(*ix->by), cmp_member);
    return MCM_OK;
}

const trn_member *trn_index_find(const trn_index *ix, const char *task_id) {
    int lo = 0, hi = ix->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2, r = strcmp(ix->by[mid]->s.task_id, task_id);
        if (r == 0) return ix->by[mid];
        if (r < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return NULL;
}

void trn_index_free(trn_index *ix) {
    free(ix->by);
    ix->by = NULL;
    ix->n = 0;
}

/* Same servers (task ID and address), in any order. MCM_ERR when out of memory. */
static int same_set(const trn_server *a, int na, const trn_server *b, int nb, int *same) {
    *same = 0;
    if (na != nb) return MCM_OK;
    trn_server *x = malloc(sizeof(*x) * (size_t)(na ? na : 1)), *y = malloc(sizeof(*y) * (size_t)(nb ? nb : 1));
    if (!x || !y) {
        free(x);
        free(y);
        return MCM_ERR;
    }
    memcpy(x, a, sizeof(*x) * (size_t)na);
    memcpy(y, b, sizeof(*y) * (size_t)nb);
    qsort(x, (size_t)na, sizeof(*x), cmp_server);
    qsort(y, (size_t)nb, sizeof(*y), cmp_server);
    *same = 1;
    for (int i = 0; i < na && *same; i++) *same = cmp_server(&x[i], &y[i]) == 0;
    free(x);
    free(y);
    return MCM_OK;
}

/* The published servers that still serve or leave (same address). */
static int still_published(const trn_server *pub, int np, const trn_member *m, int nm, trn_plan *out) {
    trn_index ix;
    if (trn_index_build(&ix, m, nm) != MCM_OK) return MCM_ERR;
    for (int i = 0; i < np; i++) {
        const trn_member *x = trn_index_find(&ix, pub[i].task_id);
        if (x && (x->cls == TRN_SERVING || x->cls == TRN_LEAVING) && strcmp(x->s.addr, pub[i].addr) == 0)
            out->from[out->nfrom++] = pub[i];
    }
    trn_index_free(&ix);
    return MCM_OK;
}

static void plan_kind(trn_plan *out, trn_plan_kind k, const char *why, int n) {
    out->kind = k;
    snprintf(out->why, sizeof(out->why), why, n);
}

int trn_plan_make(const trn_server *published, int npublished, const trn_member *members,
                  int nmembers, int awaiting, int64_t starting_since_ms, int64_t prepare_timeout_ms,
                  int64_t now_ms, trn_plan *out) {
    memset(out, 0, sizeof(*out));
    out->from = calloc((size_t)(npublished ? npublished : 1), sizeof(trn_server));
    out->to = calloc((size_t)(nmembers + npublished ? nmembers + npublished : 1), sizeof(trn_server));
    if (!out->from || !out->to) {
        trn_plan_free(out);
        return MCM_ERR;
    }
    if (still_published(published, npublished, members, nmembers, out) != MCM_OK) {
        trn_plan_free(out);
        return MCM_ERR;
    }
    if (out->nfrom < npublished) {   /* 1 */
        memcpy(out->to, out->from, sizeof(trn_server) * (size_t)out->nfrom);
        out->nto = out->nfrom;
        plan_kind(out, TRN_PLAN_PUBLISH, "%d published servers no longer serve: removed cold",
                  npublished - out->nfrom);
        return MCM_OK;
    }
    int starting = awaiting > 0 ? awaiting : 0;
    for (int i = 0; i < nmembers; i++) {
        if (members[i].cls == TRN_SERVING) out->to[out->nto++] = members[i].s;
        starting += members[i].cls == TRN_STARTING;
    }
    int same;
    if (same_set(out->from, out->nfrom, out->to, out->nto, &same) != MCM_OK) {
        trn_plan_free(out);
        return MCM_ERR;
    }
    if (same) {   /* 2 */
        plan_kind(out, TRN_PLAN_NONE, "the published ring is the one wanted", 0);
    } else if (starting && starting_since_ms && now_ms - starting_since_ms < prepare_timeout_ms) {
        plan_kind(out, TRN_PLAN_WAIT, "waiting for %d starting servers", starting);   /* 3 */
    } else if (out->nfrom == 0 || out->nto == 0) {   /* 4 */
        plan_kind(out, TRN_PLAN_PUBLISH,
                  out->nfrom ? "no server left to serve: publishing an empty list"
                             : "nothing published: publishing %d servers cold",
                  out->nto);
    } else {
        plan_kind(out, TRN_PLAN_BEGIN, "ring change: %d servers", out->nto);   /* 5 */
    }
    return MCM_OK;
}
