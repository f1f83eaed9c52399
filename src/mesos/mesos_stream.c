/* mesos_stream.c -- the scheduler client's stream thread: SUBSCRIBE, decode
 * the RecordIO event stream, watch for silence, reconnect.
 *
 * Shape: one thread, one curl multi handle, one SUBSCRIBE transfer at a time.
 * The multi interface (rather than curl_easy_perform) lets this thread own
 * the clock: between curl_multi_poll wake-ups (at most 200 ms apart, and at
 * once on curl_multi_wakeup from stop()) it checks the stop flag, the
 * heartbeat watchdog and, with zk://, whether ZooKeeper named a new leader;
 * any of these simply removes the transfer. Bytes arrive in on_write, go
 * through the RecordIO reader, and each record is unpacked and handed out.
 *
 * One subscription round (stream_round):
 *
 *   candidates (zk: the detected leader; http: last good endpoint, then the
 *   list in order)
 *     └─ subscribe_hops: run_subscribe(url) ──307──▶ Location (≤ 3 hops)
 *          ├─ SUB_NEXT     refused / non-200 / timeout before 200: next candidate
 *          ├─ SUB_ENDED    a 200 stream ended (EOF, framing, bad Event, ERROR,
 *          │               watchdog, leader moved)
 *          └─ SUB_STOPPED  stop()
 *   then on_disconnected(why) and capped exponential backoff with jitter,
 *   and the next round. BACKOFF: the failure count is reset only by a
 *   subscription that lasted MESOS_SUB_STABLE_MS; one that ended sooner
 *   (broken frame, ERROR "framework removed") counts as a failure. The
 *   count lives in mesos_sched, so a stop and start (a new term) waits out
 *   what is left of the backoff before its first SUBSCRIBE.
 *
 *   A 307 to a master that is neither configured nor detected (or to another
 *   scheme) is not followed while credentials are configured
 *   (mesos_sched_trusted): a master, or whoever writes the Mesos ZooKeeper
 *   path, cannot collect the principal's secret by redirecting.
 *
 * Watchdog: until SUBSCRIBED arrives the whole attempt (connect, answer,
 * first event) must fit in subscribe_timeout_ms; after it, any event re-arms
 * a deadline of heartbeat_misses x heartbeat_interval_seconds.
 *
 * Threads: everything here runs on the stream thread; callbacks go out from
 * it. Invariants: (1) the stream id and `subscribed` are cleared before every
 * SUBSCRIBE and after every stream, and set together on SUBSCRIBED (so a call
 * never carries a stale id, mesos-go#230); (2) SUBSCRIBE never carries a
 * Mesos-Stream-Id; (3) an Event is handed out exactly once (on_event owns it)
 * or freed here; (4) on_disconnected is never called once stopping is set;
 * (5) at most one HEARTBEAT per MESOS_HEARTBEAT_OUT_MS is handed out (each
 * one still re-arms the watchdog). */
#define LOG_COMPONENT "mesos"
#include "mesos_sched_int.h"

#include "log.h"
#include "mcm.h"
#include "mesos_http.h"
#include "recordio.h"
#include "util.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POLL_MAX_MS 200
/* A subscription that ends sooner than this after SUBSCRIBED counts as a
 * failure for the backoff: a master that answers SUBSCRIBED and then a broken
 * frame, or ERROR, must not get a SUBSCRIBE every backoff_min_ms forever. */
#define MESOS_SUB_STABLE_MS 10000
#define MESOS_HEARTBEAT_OUT_MS 1000  /* heartbeats handed to the owner at most this often */
#define URL_MAX 1024
#define WHY_MAX 512

typedef Mesos__V1__Scheduler__Event Event;

typedef enum { SUB_NEXT, SUB_REDIRECT, SUB_ENDED, SUB_STOPPED } sub_result;

/* One SUBSCRIBE transfer. */
typedef struct sub_xfer {
    mesos_sched *s;
    const char *url;
    const char *det_leader;      /* zk: the leader this attempt targets; NULL for http lists */
    rio_reader *rio;
    int64_t hb_out_ms;           /* when a HEARTBEAT was last handed out (monotonic), 0: never */
    int status;                  /* latest status line; 0 before any */
    int accepted;                /* 200 with our Content-Type and a stream id */
    char ctype[128];
    char stream_id[MESOS_STREAM_ID_MAX + 2];   /* one spare byte detects "too long" */
    char location[URL_MAX];
    char body[512];              /* start of a non-200 answer, for the error text */
    size_t body_len;
    int subscribed;              /* SUBSCRIBED seen on this stream */
    int64_t deadline;            /* watchdog */
    int64_t silence_ms;          /* misses x heartbeat interval, once subscribed */
    int failed;                  /* we decided to end the transfer; why says why */
    char why[WHY_MAX];
} sub_xfer;

__attribute__((format(printf, 3, 4)))
static void fmtbuf(char *buf, size_t len, const char *f, ...) {
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, len, f, ap);
    va_end(ap);
}

__attribute__((format(printf, 2, 3)))
static size_t xfer_fail(sub_xfer *x, const char *fmt, ...) {
    if (!x->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(x->why, sizeof(x->why), fmt, ap);
        va_end(ap);
        x->failed = 1;
    }
    return 0;   /* what a libcurl callback returns to abort */
}

static void clear_subscription(mesos_sched *s, int *was) {
    pthread_mutex_lock(&s->mu);
    if (was) *was = s->subscribed;
    s->subscribed = 0;
    s->stream_id[0] = s->endpoint[0] = '\0';
    pthread_mutex_unlock(&s->mu);
}

/* --- events ----------------------------------------------------------------- */

static void deliver(mesos_sched *s, Event *ev) {
    if (s->cb.on_event) s->cb.on_event(s->cb.ctx, ev);
    else mesos__v1__scheduler__event__free_unpacked(ev, NULL);
}

static int on_subscribed(sub_xfer *x, const Event *ev) {
    mesos_sched *s = x->s;
    const Mesos__V1__Scheduler__Event__Subscribed *sub = ev->subscribed;
    if (!sub || !sub->framework_id || !sub->framework_id->value || !*sub->framework_id->value) {
        xfer_fail(x, "SUBSCRIBED event from %s without a framework ID", x->url);
        return MCM_ERR;
    }
    double hb = sub->has_heartbeat_interval_seconds ? sub->heartbeat_interval_seconds : 0;
    if (!isfinite(hb) || hb <= 0 || hb > 86400) hb = MESOS_DEFAULT_HEARTBEAT_S;
    x->silence_ms = (int64_t)(hb * 1000.0 * s->heartbeat_misses);
    if (x->silence_ms < 50) x->silence_ms = 50;
    x->subscribed = 1;
    x->deadline = util_now_ms() + x->silence_ms;
    s->sub_since_ms = util_now_ms();
    pthread_mutex_lock(&s->mu);
    fmtbuf(s->framework_id, sizeof(s->framework_id), "%s", sub->framework_id->value);
    fmtbuf(s->stream_id, sizeof(s->stream_id), "%s", x->stream_id);
    fmtbuf(s->endpoint, sizeof(s->endpoint), "%s", x->url);
    fmtbuf(s->last_good, sizeof(s->last_good), "%s", x->url);
    s->subscribed = 1;
    pthread_mutex_unlock(&s->mu);
    log_notice("subscribed to %s as framework %s (heartbeat %.3gs; dropped after %d silent intervals)",
               x->url, sub->framework_id->value, hb, s->heartbeat_misses);
    return MCM_OK;
}

/* 1 if this HEARTBEAT goes to the owner: at most one per quarter of the
 * announced interval (every one an honest master sends), and at most one per
 * MESOS_HEARTBEAT_OUT_MS, so a master flooding heartbeats cannot grow the
 * core's queue (it grew the leader from 12 to 91 MB in 8 s). */
static int coalesce_heartbeat(sub_xfer *x) {
    int64_t now = util_now_ms();
    int64_t gap = x->silence_ms / x->s->heartbeat_misses / 4;      /* silence = interval x misses */
    if (!x->subscribed || gap > MESOS_HEARTBEAT_OUT_MS) gap = MESOS_HEARTBEAT_OUT_MS;
    if (x->hb_out_ms && now - x->hb_out_ms < gap) return 0;
    x->hb_out_ms = now;
    return 1;
}

/* Takes ownership of ev. MCM_ERR ends the stream (x->why says why). */
static int handle_event(sub_xfer *x, Event *ev) {
    char tn[32];
    int type = ev->has_type ? (int)ev->type : 0, rc = MCM_OK;
    x->deadline = util_now_ms() + (x->subscribed ? x->silence_ms : x->s->subscribe_timeout_ms);
    log_debug("event %s", mesos_event_type_name(type, tn, sizeof(tn)));
    if (type == MESOS__V1__SCHEDULER__EVENT__TYPE__SUBSCRIBED) {
        rc = on_subscribed(x, ev);
        if (rc != MCM_OK) {
            mesos__v1__scheduler__event__free_unpacked(ev, NULL);
            return rc;
        }
    } else if (type == MESOS__V1__SCHEDULER__EVENT__TYPE__ERROR) {
        const char *msg = ev->error && ev->error->message ? ev->error->message : "(no message)";
        log_warn("master %s sent ERROR: %s", x->url, msg);
        if (strstr(msg, "failed over")) atomic_store(&x->s->failed_over, 1);
        xfer_fail(x, "master %s sent ERROR: %s", x->url, msg);
        rc = MCM_ERR;   /* the owner still sees the event, then on_disconnected */
    }
    if (type == MESOS__V1__SCHEDULER__EVENT__TYPE__HEARTBEAT && !coalesce_heartbeat(x)) {
        mesos__v1__scheduler__event__free_unpacked(ev, NULL);    /* the watchdog was re-armed above */
        return rc;
    }
    deliver(x->s, ev);
    return rc;
}

/* --- libcurl callbacks ----------------------------------------------------- */

/* End of the headers of a 200: is this really an event stream for us? */
static int accept_stream(sub_xfer *x) {
    if (!mesos_http_is_protobuf(x->ctype))
        return (int)xfer_fail(x, "SUBSCRIBE to %s answered 200 with Content-Type '%s', expected "
                                 MESOS_HTTP_PROTOBUF, x->url, x->ctype);
    size_t n = strlen(x->stream_id);
    if (n == 0 || n > MESOS_STREAM_ID_MAX)
        return (int)xfer_fail(x, "SUBSCRIBE to %s answered 200 with %s Mesos-Stream-Id", x->url,
                              n ? "an over-long" : "no");
    x->accepted = 1;
    return 1;
}

static size_t on_header(char *line, size_t size, size_t n, void *ud) {
    sub_xfer *x = ud;
    size_t len = size * n;
    int st = mesos_http_status_line(line, len);
    if (st) {   /* a new response (after a 1xx, say): forget the previous headers */
        x->status = st;
        x->ctype[0] = x->stream_id[0] = x->location[0] = '\0';
        return len;
    }
    mesos_http_header(line, len, "Content-Type", x->ctype, sizeof(x->ctype));
    mesos_http_header(line, len, "Mesos-Stream-Id", x->stream_id, sizeof(x->stream_id));
    mesos_http_header(line, len, "Location", x->location, sizeof(x->location));
    int end = (len == 2 && line[0] == '\r' && line[1] == '\n') || (len == 1 && line[0] == '\n');
    if (end && x->status == 200 && !accept_stream(x)) return 0;
    return len;
}

static size_t on_write(char *data, size_t size, size_t n, void *ud) {
    sub_xfer *x = ud;
    size_t len = size * n;
    if (!x->accepted) {   /* body of a refusal: keep the start for the error text */
        size_t room = sizeof(x->body) - x->body_len, k = len < room ? len : room;
        memcpy(x->body + x->body_len, data, k);
        x->body_len += k;
        return len;
    }
    if (x->failed) return 0;
    if (rio_feed(x->rio, data, len) != MCM_OK)
        return xfer_fail(x, "bad framing in the event stream from %s: %s", x->url, rio_errstr(x->rio));
    const uint8_t *rec;
    size_t rlen;
    int rc;
    while ((rc = rio_next(x->rio, &rec, &rlen)) == 1) {
        Event *ev = mesos__v1__scheduler__event__unpack(NULL, rlen, rec);
        if (!ev) return xfer_fail(x, "undecodable Event (%zu bytes) in the stream from %s", rlen, x->url);
        if (handle_event(x, ev) != MCM_OK) return 0;
    }
    if (rc < 0) return xfer_fail(x, "bad framing from %s: %s", x->url, rio_errstr(x->rio));
    return len;
}

/* --- one transfer ------------------------------------------------------------ */

static struct curl_slist *subscribe_headers(const mesos_sched *s) {
    const char *extra[] = {s->auth};   /* never a Mesos-Stream-Id */
    return mesos_http_headers(extra, MCM_ARRAY_LEN(extra));
}

static void setup_easy(CURL *e, sub_xfer *x, struct curl_slist *h, const uint8_t *body, size_t blen,
                       char *cerr) {
    curl_easy_setopt(e, CURLOPT_URL, x->url);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, (const char *)body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)x->s->subscribe_timeout_ms);
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);   /* never an old, maybe half-open, socket */
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 10L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 5L);
}

/* Between polls: 1 if the transfer must end now (x->why set unless stopping). */
static int must_abort(sub_xfer *x) {
    mesos_sched *s = x->s;
    if (atomic_load(&s->stopping)) return 1;
    if (x->failed) return 0;   /* libcurl is already ending it */
    int64_t now = util_now_ms();
    if (now >= x->deadline) {
        if (x->subscribed)
            xfer_fail(x, "no event from %s for %lld ms (%d heartbeat intervals)", x->url,
                      (long long)x->silence_ms, s->heartbeat_misses);
        else
            xfer_fail(x, "no %s from %s within %lld ms", x->accepted ? "SUBSCRIBED event" : "answer to SUBSCRIBE",
                      x->url, (long long)s->subscribe_timeout_ms);
        return 1;
    }
    if (x->det_leader) {
        char cur[URL_MAX];
        mdet_leader(s->det, cur, sizeof(cur));
        if (strcmp(cur, x->det_leader) != 0) {
            xfer_fail(x, "leading master changed from %s to %s (ZooKeeper)", x->det_leader, *cur ? cur : "none");
            return 1;
        }
    }
    return 0;
}

/* Drives the transfer until it ends or must_abort(); returns its CURLcode. */
static CURLcode drive(CURLM *m, sub_xfer *x) {
    for (;;) {
        int running = 0, q;
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(m, &q)))
            if (msg->msg == CURLMSG_DONE) return msg->data.result;
        if (!running) return CURLE_OK;
        if (must_abort(x)) return CURLE_ABORTED_BY_CALLBACK;
        int64_t wait = x->deadline - util_now_ms();
        if (wait > POLL_MAX_MS) wait = POLL_MAX_MS;
        if (wait < 1) wait = 1;
        curl_multi_poll(m, NULL, 0, (int)wait, NULL);
    }
}

/* What the finished transfer means for the round. */
static sub_result classify(sub_xfer *x, CURLcode res, const char *cerr, char *why, size_t wl,
                           char *next, size_t nextlen) {
    if (atomic_load(&x->s->stopping)) return SUB_STOPPED;
    if (x->accepted) {
        if (x->failed) fmtbuf(why, wl, "%s", x->why);
        else if (res != CURLE_OK) fmtbuf(why, wl, "event stream from %s broke: %s", x->url, cerr);
        else fmtbuf(why, wl, "master %s closed the event stream", x->url);
        return SUB_ENDED;
    }
    if (x->failed) {
        fmtbuf(why, wl, "%s", x->why);
    } else if (x->status == 307) {
        char *to = mesos_http_resolve(x->url, x->location);
        if (to && strlen(to) < nextlen) {
            fmtbuf(next, nextlen, "%s", to);
            free(to);
            return SUB_REDIRECT;
        }
        free(to);
        fmtbuf(why, wl, "SUBSCRIBE to %s answered 307 with an unusable Location '%s'", x->url, x->location);
    } else if (x->status == 0 || (res != CURLE_OK && x->status == 200)) {
        fmtbuf(why, wl, "SUBSCRIBE to %s: %s", x->url, cerr);
    } else {
        char text[256];
        mesos_http_body_text(x->body, x->body_len, text, sizeof(text));
        fmtbuf(why, wl, "SUBSCRIBE to %s answered %d%s%s", x->url, x->status, text[0] ? " " : "", text);
    }
    return SUB_NEXT;
}

static sub_result run_subscribe(mesos_sched *s, CURLM *m, const char *url, const uint8_t *body, size_t blen,
                                const char *det_leader, char *why, size_t wl, char *next, size_t nextlen) {
    sub_xfer x = {.s = s, .url = url, .det_leader = det_leader};
    char cerr[CURL_ERROR_SIZE] = "";
    sub_result r = SUB_NEXT;
    x.rio = rio_reader_new(s->max_record);
    CURL *e = curl_easy_init();
    struct curl_slist *h = subscribe_headers(s);
    if (!x.rio || !e || !h) {
        fmtbuf(why, wl, "out of memory subscribing to %s", url);
        goto done;
    }
    clear_subscription(s, NULL);
    setup_easy(e, &x, h, body, blen, cerr);
    x.deadline = util_now_ms() + s->subscribe_timeout_ms;
    log_info("subscribing to %s", url);
    if (curl_multi_add_handle(m, e) != CURLM_OK) {
        fmtbuf(why, wl, "cannot start a transfer to %s", url);
        goto done;
    }
    CURLcode res = drive(m, &x);
    curl_multi_remove_handle(m, e);
    r = classify(&x, res, mesos_http_curl_text(res, cerr), why, wl, next, nextlen);
done:
    curl_slist_free_all(h);
    if (e) curl_easy_cleanup(e);
    rio_reader_free(x.rio);
    return r;
}

/* --- rounds ------------------------------------------------------------------ */

static sub_result subscribe_hops(mesos_sched *s, CURLM *m, const char *first, const uint8_t *body,
                                 size_t blen, const char *det_leader, char *why, size_t wl) {
    char url[URL_MAX], next[URL_MAX];
    fmtbuf(url, sizeof(url), "%s", first);
    for (int hop = 0;; hop++) {
        sub_result r = run_subscribe(s, m, url, body, blen, det_leader, why, wl, next, sizeof(next));
        if (r != SUB_REDIRECT) return r;
        if (hop >= MESOS_HTTP_MAX_HOPS) {
            fmtbuf(why, wl, "SUBSCRIBE: more than %d redirects (last %s -> %s)", MESOS_HTTP_MAX_HOPS, url, next);
            return SUB_NEXT;
        }
        if (!mesos_sched_trusted(s, next)) {
            fmtbuf(why, wl, "%s redirected SUBSCRIBE to %s, which is not a configured or detected master: "
                   "not followed (the principal's credentials go only to those)", url, next);
            return SUB_NEXT;
        }
        log_info("%s is not the leader; redirected to %s", url, next);
        fmtbuf(url, sizeof(url), "%s", next);
    }
}

static sub_result round_http(mesos_sched *s, CURLM *m, const uint8_t *body, size_t blen, char *why,
                             size_t wl) {
    char first[URL_MAX];
    pthread_mutex_lock(&s->mu);
    fmtbuf(first, sizeof(first), "%s", s->last_good);
    pthread_mutex_unlock(&s->mu);
    sub_result r;
    if (first[0] && (r = subscribe_hops(s, m, first, body, blen, NULL, why, wl)) != SUB_NEXT) return r;
    for (int i = 0; i < s->nurls; i++) {
        if (strcmp(s->endpoints[i], first) == 0) continue;
        if ((r = subscribe_hops(s, m, s->endpoints[i], body, blen, NULL, why, wl)) != SUB_NEXT) return r;
        if (atomic_load(&s->stopping)) return SUB_STOPPED;
    }
    return SUB_NEXT;
}

static sub_result round_zk(mesos_sched *s, CURLM *m, const uint8_t *body, size_t blen, char *why, size_t wl) {
    char leader[URL_MAX], url[URL_MAX + 32];
    uint64_t gen = mdet_leader(s->det, leader, sizeof(leader));
    int64_t until = util_now_ms() + s->subscribe_timeout_ms;
    while (!leader[0] && !atomic_load(&s->stopping) && util_now_ms() < until) {
        mdet_wait(s->det, gen, POLL_MAX_MS);
        gen = mdet_leader(s->det, leader, sizeof(leader));
    }
    if (atomic_load(&s->stopping)) return SUB_STOPPED;
    if (!leader[0]) {
        if (gen) fmtbuf(why, wl, "no leading Mesos master in zk://%s%s", s->zk_hosts, s->zk_path);
        else fmtbuf(why, wl, "no answer from ZooKeeper %s within %lld ms", s->zk_hosts,
                    (long long)s->subscribe_timeout_ms);
        return SUB_NEXT;
    }
    fmtbuf(url, sizeof(url), "http://%s/api/v1/scheduler", leader);
    return subscribe_hops(s, m, url, body, blen, leader, why, wl);
}

/* The backoff for the n-th consecutive failure (equal jitter). */
static int64_t backoff_ms(const mesos_sched *s, int n) {
    int64_t base = s->backoff_min_ms;
    for (int i = 0; i < n && base < s->backoff_max_ms; i++) base *= 2;
    if (base > s->backoff_max_ms) base = s->backoff_max_ms;
    return (int64_t)((double)base * (0.5 + 0.5 * util_rand01()));
}

/* Sleeps ms, returning early on stop. */
static void backoff_sleep(mesos_sched *s, int64_t ms) {
    if (ms <= 0) return;
    log_info("re-subscribing in %lld ms", (long long)ms);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    while (!atomic_load(&s->stopping) && pthread_cond_timedwait(&s->cv, &s->mu, &ts) == 0) {}
    pthread_mutex_unlock(&s->mu);
}

static sub_result stream_round(mesos_sched *s, CURLM *m, char *why, size_t wl) {
    char id[sizeof(s->framework_id)];
    size_t blen = 0;
    mesos_sched_framework_id(s, id, sizeof(id));
    uint8_t *body = mesos_call_subscribe(&s->fw, id, &blen);
    if (!body) {
        fmtbuf(why, wl, "out of memory building SUBSCRIBE");
        return SUB_NEXT;
    }
    sub_result r = s->is_zk ? round_zk(s, m, body, blen, why, wl) : round_http(s, m, body, blen, why, wl);
    free(body);
    return r;
}

/* Waits until the owner allows a SUBSCRIBE (may_subscribe) or stop(). */
static void wait_allowed(mesos_sched *s) {
    int logged = 0;
    while (!atomic_load(&s->stopping) && s->cb.may_subscribe && !s->cb.may_subscribe(s->cb.ctx)) {
        if (!logged++) log_info("holding SUBSCRIBE back: the owner does not allow it now");
        util_sleep_ms(100);
    }
}

/* After "Framework failed over": idle until stop(). */
static void park(mesos_sched *s) {
    log_error("another scheduler subscribed with framework ID %s: not subscribing again (that would fight it)",
              s->framework_id);
    pthread_mutex_lock(&s->mu);
    while (!atomic_load(&s->stopping)) pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
}

void *mesos_stream_main(void *arg) {
    mesos_sched *s = arg;
    CURLM *m = curl_multi_init();
    pthread_mutex_lock(&s->mu);
    s->multi = m;
    pthread_mutex_unlock(&s->mu);
    atomic_store(&s->failed_over, 0);
    if (m && s->failures > 0)      /* a new term after an early end: the backoff still holds */
        backoff_sleep(s, backoff_ms(s, s->failures) - (util_now_ms() - s->round_end_ms));
    while (m && !atomic_load(&s->stopping)) {
        char why[WHY_MAX] = "unknown";
        int was = 0;
        wait_allowed(s);
        if (atomic_load(&s->stopping)) break;
        sub_result r = stream_round(s, m, why, sizeof(why));
        clear_subscription(s, &was);
        if (r == SUB_STOPPED || atomic_load(&s->stopping)) break;
        log_notice("Mesos subscription %s: %s", was ? "lost" : "failed", why);
        if (s->cb.on_disconnected) s->cb.on_disconnected(s->cb.ctx, why);
        if (atomic_load(&s->failed_over)) {
            park(s);
            break;
        }
        s->failures = was && util_now_ms() - s->sub_since_ms >= MESOS_SUB_STABLE_MS ? 0 : s->failures + 1;
        s->round_end_ms = util_now_ms();
        backoff_sleep(s, backoff_ms(s, s->failures));
    }
    if (!m) log_error("cannot create a curl multi handle: the Mesos stream is not running");
    pthread_mutex_lock(&s->mu);
    s->multi = NULL;
    pthread_mutex_unlock(&s->mu);
    if (m) curl_multi_cleanup(m);
    return NULL;
}
