/* http_defer.c -- requests that may block, run off libmicrohttpd's event threads.
 *
 * What: the server runs libmicrohttpd with a small pool of epoll threads
 * (http_server.c), each serving many connections. A handler that blocks --
 * a long poll waiting for the next list, an operator call waiting for the
 * core -- would stall every other connection of its pool thread, so such a
 * request is deferred: its connection is suspended (MHD_suspend_connection,
 * called in the access handler as libmicrohttpd requires), a short-lived
 * helper thread runs the blocking part, records what it found in the
 * request, and resumes the connection. libmicrohttpd then calls the access
 * handler again on the pool thread, which finishes the request from what was
 * recorded (http_server.c on_request):
 *
 *   pool thread: dispatch -> http_defer: suspend, start helper ---.
 *   helper:      fn(h, c, r): wait / hook; replies are recorded    |
 *                in r (http_queue sees r->deferred)  <------------'
 *                MHD_resume_connection(c); count--
 *   pool thread: on_request again -> queue r->resp (or run the
 *                handler again with r->waited set) -> done
 *
 * Why this shape: the event threads serve the common answers (the cached
 * server list, 304s, status, health) without a thread switch per request,
 * which is what made thread-per-connection slower than nginx; the rare
 * blocking calls keep their simple blocking code, on a thread of their own
 * as before. Threads are bounded by the connection limit, as before.
 *
 * Threads: http_defer on pool threads (inside the access handler); the
 * helper on its own thread; http_defer_drain on the owner thread in
 * http_free. h->mu guards h->deferred_n.
 * Invariants: (1) every suspended connection is resumed exactly once, by its
 * helper, as the helper's last use of r (the pool thread may free r right
 * after the resume); (2) http_defer_drain returns only when no helper runs,
 * so MHD_stop_daemon never meets a suspended connection (libmicrohttpd
 * panics on one) and no hook runs after http_free. */
#include "http_int.h"
#include "mcm.h"

#include <pthread.h>
#include <stdlib.h>

#define HTTP_DEFER_STACK (512 * 1024)   /* helpers call jansson and the hooks, nothing deep */

typedef struct defer_job {
    http_server *h;
    struct MHD_Connection *c;
    http_req *r;
    http_defer_fn fn;
} defer_job;

static void *defer_main(void *arg) {
    defer_job j = *(defer_job *)arg;
    free(arg);
    pthread_mutex_lock(&j.h->mu);         /* http_defer has suspended c once this is ours */
    pthread_mutex_unlock(&j.h->mu);
    j.fn(j.h, j.c, j.r);
    pthread_mutex_lock(&j.h->mu);
    MHD_resume_connection(j.c);           /* last use of r: see invariant (1) */
    j.h->deferred_n--;
    pthread_cond_broadcast(&j.h->idle);
    pthread_mutex_unlock(&j.h->mu);
    return NULL;
}

/* MCM_ERR (nothing suspended, the caller answers) when stopping or out of
 * threads. The helper starts under h->mu and waits for it, so the
 * connection is suspended before fn runs. */
int http_defer(http_server *h, struct MHD_Connection *c, http_req *r, http_defer_fn fn) {
    defer_job *j = malloc(sizeof(*j));
    if (!j) return MCM_ERR;
    *j = (defer_job){h, c, r, fn};
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, HTTP_DEFER_STACK);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    pthread_mutex_lock(&h->mu);
    pthread_t t;
    r->deferred = 1;
    int ok = !h->stopping && pthread_create(&t, &a, defer_main, j) == 0;
    if (ok) {
        MHD_suspend_connection(c);
        h->deferred_n++;
    } else {
        r->deferred = 0;
    }
    pthread_mutex_unlock(&h->mu);
    pthread_attr_destroy(&a);
    if (!ok) free(j);
    return ok ? MCM_OK : MCM_ERR;
}

void http_defer_drain(http_server *h) {
    pthread_mutex_lock(&h->mu);
    while (h->deferred_n > 0) pthread_cond_wait(&h->idle, &h->mu);
    pthread_mutex_unlock(&h->mu);
}
