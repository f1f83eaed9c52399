/* zks_multi.c -- zoo_multi without its leak (see zks_multi.h).
 *
 * Shape: a waiter on the caller's stack, handed to zoo_amulti as the
 * completion's data; multi_done (client completion thread) records the
 * result and signals; the caller waits without a timeout, as zoo_multi does:
 * the client delivers every accepted request exactly once -- the reply, a
 * faked ZCONNECTIONLOSS when the connection drops, or ZCLOSING when the
 * handle closes -- and until then it may still write into results and the
 * created-path buffers, so returning early would hand it freed memory.
 *
 * Threads: zks_multi on the caller's thread; multi_done on the client's
 * completion thread.
 * Invariants: (1) the waiter outlives multi_done: multi_done touches it only
 * under its mutex, and the caller returns only after seeing `done` under the
 * same mutex. (2) zoo_amulti failing (ZMARSHALLINGERROR) means the request
 * was not queued and the completion will not run -- as for zoo_multi, whose
 * own waiter is freed in that case too. */
#include "zks_multi.h"

#include <pthread.h>

typedef struct multi_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    int rc;
} multi_wait;

static void multi_done(int rc, const void *data) {
    multi_wait *w = (multi_wait *)data;
    pthread_mutex_lock(&w->mu);
    w->rc = rc;
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

int zks_multi(zhandle_t *zh, int count, const zoo_op_t *ops, zoo_op_result_t *results) {
    multi_wait w = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    int rc = zoo_amulti(zh, count, ops, results, multi_done, &w);
    if (rc != ZOK) return rc;
    pthread_mutex_lock(&w.mu);
    while (!w.done) pthread_cond_wait(&w.cv, &w.mu);
    rc = w.rc;
    pthread_mutex_unlock(&w.mu);
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    return rc;
}
