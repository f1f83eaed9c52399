/* mesos_sched_int.h -- the scheduler client's state, shared by mesos_sched.c
 * (lifecycle and calls, owner thread) and mesos_stream.c (the stream thread).
 * Not for other modules.
 *
 * Lock rules: `mu` guards the fields marked "under mu" and is held only for
 * copies (never across curl or a callback). Each `conns[i].mu` serializes the
 * calls on its keep-alive handle. Lock order: a conn's mu before mu. `stopping` is atomic so the
 * stream loop can test it without the lock. */
#ifndef MCM_MESOS_SCHED_INT_H
#define MCM_MESOS_SCHED_INT_H

#include "mesos_calls.h"
#include "mesos_detect.h"
#include "mesos_sched.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>

#define MESOS_STREAM_ID_MAX 128
#define MESOS_DEFAULT_HEARTBEAT_S 15.0

struct mesos_sched {
    /* configuration: immutable after mesos_sched_new */
    mesos_fw_info fw;            /* strings point into the copies below */
    char *user, *name, *role, *hostname, *principal, *webui_url;
    char *auth;                  /* "Authorization: Basic ..." or NULL */
    int is_zk;
    char *zk_hosts, *zk_path;
    int nurls;
    char **endpoints;            /* "<base>/api/v1/scheduler", in the operator's order */
    int heartbeat_misses, zk_session_timeout_ms;
    int64_t call_timeout_ms, backoff_min_ms, backoff_max_ms, subscribe_timeout_ms;
    size_t max_record;
    mesos_sched_callbacks cb;

    /* owner thread only */
    pthread_t thread;
    int running;
    mdet *det;                   /* zk:// only, between start and stop */
    struct {
        pthread_mutex_t mu;
        CURL *h;                 /* keep-alive handle for calls, under mu */
    } conns[MESOS_CALL_CONNS];

    atomic_int stopping;         /* set by stop(), cleared by start() */
    atomic_int failed_over;      /* ERROR "Framework failed over" seen: never re-subscribe */

    /* stream thread only (one at a time: start/stop join it); kept across
     * stop and start, so a new term does not SUBSCRIBE at once after a
     * subscription that ended early (mesos_stream.c, BACKOFF) */
    int failures;                /* consecutive rounds that failed or ended early */
    int64_t sub_since_ms;        /* SUBSCRIBED of the current stream (monotonic), 0 if none */
    int64_t round_end_ms;        /* when the last failed round ended (monotonic), 0 if none */

    pthread_mutex_t mu;
    pthread_cond_t cv;           /* wakes the backoff sleep on stop */
    /* under mu: */
    int subscribed;              /* SUBSCRIBED seen and the stream still open */
    char framework_id[256];      /* "" until known */
    char stream_id[MESOS_STREAM_ID_MAX + 1];
    char endpoint[1024];         /* endpoint of the live subscription, "" if none */
    char last_good[1024];        /* endpoint that last answered SUBSCRIBE with 200 */
    CURLM *multi;                /* the stream's, for curl_multi_wakeup; NULL outside the thread */
};

/* 1 if the Authorization header may go to url: no credentials are
 * configured, or url has the origin of a configured master or of the one
 * ZooKeeper names as leader now (mesos_sched.c). A redirect elsewhere, or to
 * another scheme, is not followed with credentials. */
int mesos_sched_trusted(mesos_sched *s, const char *url);

/* The stream thread's body (mesos_stream.c). */
void *mesos_stream_main(void *arg);

#endif
