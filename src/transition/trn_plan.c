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

static const trn_member *member(const trn_member *m, int n, const trn_server *s) {
    for (int i = 0; i < n; i++)
        if (strcmp(m[i].s.task_id, s->task_id) == 0) return &m[i];
    return NULL;
}

static int same_set(const trn_server *a, int na, const trn_server *b, int nb) {
    if (na != nb) return 0;
    for (int i = 0; i < na; i++) {
        int found = 0;
        for (int j = 0; j < nb && !found; j++)
            found = strcmp(a[i].task_id, b[j].task_id) == 0 && strcmp(a[i].addr, b[j].addr) == 0;
        if (!found) return 0;
    }
    return 1;
}

/* The published servers that still serve or leave (same address). */
static void still_published(const trn_server *pub, int np, const trn_member *m, int nm,
                            trn_plan *out) {
    for (int i = 0; i < np; i++) {
        const trn_member *x = member(m, nm, &pub[i]);
        if (x && (x->cls == TRN_SERVING || x->cls == TRN_LEAVING) &&
            strcmp(x->s.addr, pub[i].addr) == 0)
            out->from[out->nfrom++] = pub[i];
    }
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
    still_published(published, npublished, members, nmembers, out);
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
    if (same_set(out->from, out->nfrom, out->to, out->nto)) {   /* 2 */
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
