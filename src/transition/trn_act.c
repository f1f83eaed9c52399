/* trn_act.c -- the action list the transition machine appends to.
 *
 * An action may point at a ring (an array of "host:port" strings), a server
 * list or a record; those live in blocks the list owns, so an action stays
 * valid until trn_actions_clear() whatever the machine does next. An append
 * that runs out of memory marks the whole list `oom`: a partial list must not
 * be run (its order is the point), and the machine emits the same actions
 * again on its next tick.
 *
 * Threads: the owner of the list. */
#include "trn_int.h"

#include <stdlib.h>
#include <string.h>

void trn_actions_init(trn_actions *a) { memset(a, 0, sizeof(*a)); }

void trn_actions_clear(trn_actions *a) {
    for (int i = 0; i < a->nblocks; i++) free(a->blocks[i]);
    free(a->blocks);
    free(a->v);
    trn_actions_init(a);
}

static int grow(void **v, int *cap, int need, size_t size) {
    if (need <= *cap) return 0;
    int n = *cap ? *cap * 2 : 8;
    while (n < need) n *= 2;
    void *p = realloc(*v, (size_t)n * size);
    if (!p) return -1;
    *v = p;
    *cap = n;
    return 0;
}

void *trn_act_block(trn_actions *a, size_t size) {
    void *p = NULL;
    if (a->oom) return NULL;
    if (grow((void **)&a->blocks, &a->capblocks, a->nblocks + 1, sizeof(void *)) != 0 ||
        !(p = calloc(1, size ? size : 1))) {
        a->oom = 1;
        return NULL;
    }
    a->blocks[a->nblocks++] = p;
    return p;
}

trn_action *trn_act_push(trn_actions *a, trn_act_kind kind) {
    if (a->oom) return NULL;
    if (grow((void **)&a->v, &a->cap, a->n + 1, sizeof(trn_action)) != 0) {
        a->oom = 1;
        return NULL;
    }
    trn_action *x = &a->v[a->n++];
    memset(x, 0, sizeof(*x));
    x->kind = kind;
    return x;
}

const char *const *trn_act_ring(trn_actions *a, const trn_server *list, int n, int *nout) {
    const char **ring = trn_act_block(a, sizeof(char *) * (size_t)(n ? n : 1));
    char *names = trn_act_block(a, (size_t)(n ? n : 1) * TRN_ADDR_MAX);
    *nout = 0;
    if (!ring || !names) return NULL;
    for (int i = 0; i < n; i++) {
        char *dst = names + (size_t)i * TRN_ADDR_MAX;
        memcpy(dst, list[i].addr, TRN_ADDR_MAX);
        ring[i] = dst;
    }
    *nout = n;
    return ring;
}
