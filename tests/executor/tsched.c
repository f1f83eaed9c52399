/* tsched.c -- the tests' raw scheduler (see tsched.h).
 * Shape: one thread runs the SUBSCRIBE transfer (curl_easy_perform; the
 * progress callback aborts it on free), frames RecordIO with recordio.h and
 * queues packed Events; the test takes them by type. Calls go on a fresh
 * easy handle each, with Mesos-Stream-Id. Threads: test thread + stream
 * thread; `mu` guards the queue and the stream id. */
#include "tsched.h"

#include "mcm.h"
#include "recordio.h"

#include <check.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define PB "application/x-protobuf"

typedef struct qev {
    int type, taken;
    uint8_t *bytes;
    size_t len;
} qev;

struct tsched {
    char url[128];
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    char stream_id[256];
    char framework_id[256];
    rio_reader *rio;
    qev *q;
    size_t nq;
    uint8_t *sub_body;
    size_t sub_len;
    struct curl_slist *hdrs;
};

static size_t on_header(char *p, size_t sz, size_t n, void *ud) {
    tsched *s = ud;
    size_t len = sz * n;
    const char *name = "Mesos-Stream-Id:";
    if (len > strlen(name) && !strncasecmp(p, name, strlen(name))) {
        const char *v = p + strlen(name);
        while (*v == ' ') v++;
        size_t vl = len - (size_t)(v - p);
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n')) vl--;
        pthread_mutex_lock(&s->mu);
        snprintf(s->stream_id, sizeof(s->stream_id), "%.*s", (int)vl, v);
        pthread_mutex_unlock(&s->mu);
    }
    return len;
}

static size_t on_data(char *p, size_t sz, size_t n, void *ud) {
    tsched *s = ud;
    const uint8_t *rec;
    size_t rlen;
    if (rio_feed(s->rio, p, sz * n) != MCM_OK) return 0;
    while (rio_next(s->rio, &rec, &rlen) == 1) {
        Mesos__V1__Scheduler__Event *ev = mesos__v1__scheduler__event__unpack(NULL, rlen, rec);
        if (!ev) return 0;
        pthread_mutex_lock(&s->mu);
        if (ev->type == MESOS__V1__SCHEDULER__EVENT__TYPE__SUBSCRIBED && ev->subscribed)
            snprintf(s->framework_id, sizeof(s->framework_id), "%s", ev->subscribed->framework_id->value);
        s->q = realloc(s->q, (s->nq + 1) * sizeof(*s->q));
        qev *e = &s->q[s->nq++];
        e->type = ev->has_type ? (int)ev->type : 0;
        e->taken = 0;
        e->bytes = malloc(rlen + 1);
        memcpy(e->bytes, rec, rlen);
        e->len = rlen;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        mesos__v1__scheduler__event__free_unpacked(ev, NULL);
    }
    return sz * n;
}

static int on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d) {
    tsched *s = ud;
    pthread_mutex_lock(&s->mu);
    int stop = s->stop;
    pthread_mutex_unlock(&s->mu);
    return stop;
}

static void *stream_main(void *arg) {
    tsched *s = arg;
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, s->url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, s->hdrs);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, s->sub_body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)s->sub_len);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, s);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, s);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_perform(h);
    curl_easy_cleanup(h);
    return NULL;
}

static void pack_subscribe(tsched *s, const char *name) {
    Mesos__V1__Scheduler__Call c = MESOS__V1__SCHEDULER__CALL__INIT;
    Mesos__V1__Scheduler__Call__Subscribe sub = MESOS__V1__SCHEDULER__CALL__SUBSCRIBE__INIT;
    Mesos__V1__FrameworkInfo fi = MESOS__V1__FRAMEWORK_INFO__INIT;
    Mesos__V1__FrameworkInfo__Capability cap = MESOS__V1__FRAMEWORK_INFO__CAPABILITY__INIT;
    Mesos__V1__FrameworkInfo__Capability *caps[] = {&cap};
    fi.user = "root";
    fi.name = (char *)name;
    fi.has_checkpoint = 1;
    fi.checkpoint = 1;
    fi.has_failover_timeout = 1;
    fi.failover_timeout = 3600;
    cap.has_type = 1;
    cap.type = MESOS__V1__FRAMEWORK_INFO__CAPABILITY__TYPE__TASK_KILLING_STATE;
    fi.n_capabilities = 1;
    fi.capabilities = caps;
    sub.framework_info = &fi;
    c.has_type = 1;
    c.type = MESOS__V1__SCHEDULER__CALL__TYPE__SUBSCRIBE;
    c.subscribe = &sub;
    s->sub_len = mesos__v1__scheduler__call__get_packed_size(&c);
    s->sub_body = malloc(s->sub_len);
    mesos__v1__scheduler__call__pack(&c, s->sub_body);
}

tsched *tsched_subscribe(int port, const char *name) {
    tsched *s = calloc(1, sizeof(*s));
    ck_assert_ptr_nonnull(s);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d/api/v1/scheduler", port);
    s->rio = rio_reader_new(0);
    s->hdrs = curl_slist_append(NULL, "Content-Type: " PB);
    s->hdrs = curl_slist_append(s->hdrs, "Accept: " PB);
    s->hdrs = curl_slist_append(s->hdrs, "Expect:");
    pack_subscribe(s, name);
    ck_assert_int_eq(pthread_create(&s->thread, NULL, stream_main, s), 0);
    Mesos__V1__Scheduler__Event *ev = tsched_next(s, MESOS__V1__SCHEDULER__EVENT__TYPE__SUBSCRIBED, 10000);
    ck_assert_msg(ev != NULL, "tsched: no SUBSCRIBED from %s", s->url);
    mesos__v1__scheduler__event__free_unpacked(ev, NULL);
    return s;
}

const char *tsched_framework_id(const tsched *s) { return s->framework_id; }

Mesos__V1__Scheduler__Event *tsched_next(tsched *s, int type, int timeout_ms) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    Mesos__V1__Scheduler__Event *out = NULL;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        for (size_t i = 0; i < s->nq && !out; i++) {
            if (s->q[i].taken || s->q[i].type != type) continue;
            s->q[i].taken = 1;
            out = mesos__v1__scheduler__event__unpack(NULL, s->q[i].len, s->q[i].bytes);
        }
        if (out || pthread_cond_timedwait(&s->cv, &s->mu, &ts) != 0) break;
    }
    pthread_mutex_unlock(&s->mu);
    return out;
}

int tsched_call(tsched *s, Mesos__V1__Scheduler__Call *c, int type) {
    Mesos__V1__FrameworkID fid = MESOS__V1__FRAMEWORK_ID__INIT;
    char hdr[300];
    long code = 0;
    fid.value = s->framework_id;
    c->framework_id = &fid;
    c->has_type = 1;
    c->type = (Mesos__V1__Scheduler__Call__Type)type;
    size_t len = mesos__v1__scheduler__call__get_packed_size(c);
    uint8_t *body = malloc(len + 1);
    mesos__v1__scheduler__call__pack(c, body);
    pthread_mutex_lock(&s->mu);
    snprintf(hdr, sizeof(hdr), "Mesos-Stream-Id: %s", s->stream_id);
    pthread_mutex_unlock(&s->mu);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: " PB);
    h = curl_slist_append(h, "Accept: " PB);
    h = curl_slist_append(h, "Expect:");
    h = curl_slist_append(h, hdr);
    CURL *e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, s->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, fwrite);
    FILE *devnull = fopen("/dev/null", "w");
    curl_easy_setopt(e, CURLOPT_WRITEDATA, devnull);
    if (curl_easy_perform(e) == CURLE_OK) curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    fclose(devnull);
    curl_easy_cleanup(e);
    curl_slist_free_all(h);
    free(body);
    c->framework_id = NULL;
    return (int)code;
}

void tsched_ack(tsched *s, const Mesos__V1__TaskStatus *st) {
    if (!st->has_uuid) return;
    Mesos__V1__Scheduler__Call c = MESOS__V1__SCHEDULER__CALL__INIT;
    Mesos__V1__Scheduler__Call__Acknowledge a = MESOS__V1__SCHEDULER__CALL__ACKNOWLEDGE__INIT;
    a.agent_id = st->agent_id;
    a.task_id = st->task_id;
    a.uuid = st->uuid;
    c.acknowledge = &a;
    ck_assert_int_eq(tsched_call(s, &c, MESOS__V1__SCHEDULER__CALL__TYPE__ACKNOWLEDGE), 202);
}

void tsched_free(tsched *s) {
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    for (size_t i = 0; i < s->nq; i++) free(s->q[i].bytes);
    free(s->q);
    free(s->sub_body);
    curl_slist_free_all(s->hdrs);
    rio_reader_free(s->rio);
    free(s);
}
