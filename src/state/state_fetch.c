/* state_fetch.c -- read many znodes at once: pipelined zoo_aget.
 *
 * What: state_fetch() reads n znodes with up to STATE_FETCH_WINDOW reads in
 * flight and hands back each one's result code and data, in the order asked.
 * Why: a new leader reads every task record before it can subscribe, and a
 * follower rereads them for /v1/tasks. One synchronous zoo_get per record
 * waits a full round trip each: 10,000 records took 4.1 s on the 2-core
 * benchmark host (bench/scale), most of it waiting. Pipelined, the server
 * answers back to back. The window bounds the memory of answers not yet
 * taken and the client's queue.
 *
 * Threads: state_fetch on the owner thread (it waits); the completion on the
 * ZooKeeper client's completion thread only stores the answer and counts,
 * under f->mu. Invariant: every read handed to zoo_aget gets exactly one
 * completion (the client calls it with an error when the connection or the
 * handle goes), so the wait ends; a read zoo_aget refuses is answered here. */
#include "mcm.h"
#include "state_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATE_FETCH_WINDOW 256

typedef struct fetch {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    state_blob *out;
    int max;
    int done;                 /* answers stored */
} fetch;

typedef struct fetch_ctx {
    fetch *f;
    int i;
} fetch_ctx;

static void store(fetch *f, int i, int rc, const char *value, int len) {
    state_blob *b = &f->out[i];
    b->rc = rc;
    b->len = len > 0 ? len : 0;
    if (rc == ZOK && len > f->max) b->rc = ZKS_TOO_LARGE;
    else if (rc == ZOK && !(b->data = malloc((size_t)b->len + 1))) b->rc = ZSYSTEMERROR;
    if (b->data) {
        if (b->len) memcpy(b->data, value, (size_t)b->len);
        b->data[b->len] = '\0';
    }
}

static void on_data(int rc, const char *value, int len, const struct Stat *st, const void *data) {
    (void)st;
    const fetch_ctx *c = data;
    fetch *f = c->f;
    pthread_mutex_lock(&f->mu);
    store(f, c->i, rc, value, len);
    f->done++;
    pthread_cond_signal(&f->cond);
    pthread_mutex_unlock(&f->mu);
}

int state_fetch(zks *z, char *const *paths, int n, int max, state_blob *out) {
    memset(out, 0, (size_t)n * sizeof(*out));
    fetch_ctx *ctx = calloc((size_t)n + 1, sizeof(*ctx));
    if (!ctx) return MCM_ERR;
    fetch f = {.out = out, .max = max};
    pthread_mutex_init(&f.mu, NULL);
    pthread_cond_init(&f.cond, NULL);
    zhandle_t *zh = zks_handle(z);
    pthread_mutex_lock(&f.mu);
    for (int i = 0; i < n; i++) {
        while (i - f.done >= STATE_FETCH_WINDOW) pthread_cond_wait(&f.cond, &f.mu);
        ctx[i] = (fetch_ctx){&f, i};
        pthread_mutex_unlock(&f.mu);
        int rc = zoo_aget(zh, paths[i], 0, on_data, &ctx[i]);
        pthread_mutex_lock(&f.mu);
        if (rc != ZOK) {
            store(&f, i, rc, NULL, 0);
            f.done++;
        }
    }
    while (f.done < n) pthread_cond_wait(&f.cond, &f.mu);
    pthread_mutex_unlock(&f.mu);
    pthread_cond_destroy(&f.cond);
    pthread_mutex_destroy(&f.mu);
    free(ctx);
    return MCM_OK;
}

char **state_child_paths(const char *dir, const struct String_vector *sv) {
    size_t dl = strlen(dir), total = 0;
    for (int i = 0; i < sv->count; i++) total += dl + strlen(sv->data[i]) + 2;
    char **v = malloc((size_t)(sv->count + 1) * sizeof(*v) + total + 1);
    if (!v) return NULL;
    char *p = (char *)(v + sv->count + 1);
    for (int i = 0; i < sv->count; i++) {
        v[i] = p;
        p += sprintf(p, "%s/%s", dir, sv->data[i]) + 1;
    }
    return v;
}

void state_blobs_free(state_blob *b, int n) {
    for (int i = 0; b && i < n; i++) free(b[i].data);
    free(b);
}
