/* simc.c -- mcm-sim test client (see simc.h).
 * Threads: the test thread; one thread per subscription runs its transfer and
 * shares the event queue through a mutex and condition variable. */
#include "simc.h"

#include "harness.h"
#include "recordio.h"

#include <check.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

struct simc {
    th_proc *p;
    char *dir;
    char log[512];
    int port;
};

static long mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) fwrite(chunk, 1, n, m);
    fclose(f);
    fclose(m);
    return buf;
}

int simc_log_has(const simc *c, const char *text) {
    char *all = slurp(c->log);
    int has = all && strstr(all, text);
    free(all);
    return has;
}

static int ready(void *arg) {
    simc *c = arg;
    char *all = slurp(c->log);
    const char *p = all ? strstr(all, "mcm-sim listening on http://127.0.0.1:") : NULL;
    if (p) c->port = atoi(p + strlen("mcm-sim listening on http://127.0.0.1:"));
    free(all);
    int st;
    ck_assert_msg(c->port > 0 || !th_proc_exited(c->p, &st), "mcm-sim exited early; see %s", c->log);
    return c->port > 0;
}

simc *simc_start(const char *const *args) {
    simc *c = calloc(1, sizeof(*c));
    const char *bd = getenv("MCM_BUILD_DIR");
    ck_assert_msg(bd != NULL, "MCM_BUILD_DIR not set");
    c->dir = th_tempdir();
    snprintf(c->log, sizeof(c->log), "%s/sim.log", c->dir);
    char bin[512], work[600];
    snprintf(bin, sizeof(bin), "%s/src/sim/mcm-sim", bd);
    snprintf(work, sizeof(work), "--work-dir=%s/work", c->dir);
    const char *argv[64] = {bin, "--listen", "127.0.0.1:0", work};
    int n = 4;
    for (int i = 0; args && args[i] && n < 62; i++) argv[n++] = args[i];
    argv[n] = NULL;
    c->p = th_proc_start((char *const *)argv, c->log);
    ck_assert_msg(th_wait(ready, c, 20000), "mcm-sim not ready; see %s", c->log);
    return c;
}

int simc_port(const simc *c) { return c->port; }
int simc_pid(const simc *c) { return (int)th_proc_pid(c->p); }
const char *simc_log(const simc *c) { return c->log; }
const char *simc_dir(const simc *c) { return c->dir; }

void simc_free(simc *c) {
    if (!c) return;
    int st = th_proc_stop(c->p, 5000);
    th_proc_free(c->p);
    char *all = slurp(c->log);
    int sanitizer = all && (strstr(all, "AddressSanitizer") || strstr(all, "LeakSanitizer") ||
                            strstr(all, "runtime error:"));
    free(all);
    ck_assert_msg(!sanitizer, "mcm-sim reported a sanitizer error; see %s", c->log);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "mcm-sim did not exit 0 on SIGTERM (status %d); see %s",
                  st, c->log);
    if (!getenv("MCM_KEEP_TEST_DIRS")) th_rmtree(c->dir);
    free(c->dir);
    free(c);
}

/* --- plain HTTP ---------------------------------------------------------------- */

typedef struct membuf { char *p; size_t n; } membuf;

static size_t to_mem(char *p, size_t sz, size_t nm, void *ud) {
    membuf *b = ud;
    char *g = realloc(b->p, b->n + sz * nm + 1);
    if (!g) return 0;
    memcpy(g + b->n, p, sz * nm);
    b->p = g;
    b->n += sz * nm;
    b->p[b->n] = 0;
    return sz * nm;
}

typedef struct hdrcap { char *loc; size_t loclen; char sid[128]; atomic_int status; } hdrcap;

static size_t on_header(char *p, size_t sz, size_t nm, void *ud) {
    hdrcap *h = ud;
    size_t n = sz * nm;
    char line[600];
    snprintf(line, sizeof(line), "%.*s", (int)(n < 599 ? n : 599), p);
    line[strcspn(line, "\r\n")] = 0;
    if (strncmp(line, "HTTP/", 5) == 0 && strchr(line, ' ')) atomic_store(&h->status, atoi(strchr(line, ' ') + 1));
    if (h->loc && strncasecmp(line, "Location: ", 10) == 0) snprintf(h->loc, h->loclen, "%s", line + 10);
    if (strncasecmp(line, "Mesos-Stream-Id: ", 17) == 0) snprintf(h->sid, sizeof(h->sid), "%.100s", line + 17);
    return n;
}

int simc_post(int port, const char *path, const void *body, size_t len, const char *const *headers, char **out,
              char *location, size_t loclen) {
    CURL *e = curl_easy_init();
    char url[300];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    struct curl_slist *h = curl_slist_append(NULL, "Expect:");
    for (int i = 0; headers && headers[i]; i++) h = curl_slist_append(h, headers[i]);
    membuf b = {0};
    hdrcap hc = {location, loclen, "", 0};
    if (location && loclen) location[0] = 0;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body ? body : "");
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, to_mem);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &hc);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, 10L);
    long code = 0;
    if (curl_easy_perform(e) == CURLE_OK) curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    if (out) *out = b.p;
    else free(b.p);
    return (int)code;
}

int simc_http(int port, const char *method, const char *path, char **out) {
    if (strcmp(method, "POST") == 0) return simc_post(port, path, "", 0, NULL, out, NULL, 0);
    CURL *e = curl_easy_init();
    char url[300];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    membuf b = {0};
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, to_mem);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, 10L);
    long code = 0;
    if (curl_easy_perform(e) == CURLE_OK) curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(e);
    if (out) *out = b.p;
    else free(b.p);
    return (int)code;
}

json_t *simc_state(simc *c) {
    char *body = NULL;
    int code = simc_http(c->port, "GET", "/sim/state", &body);
    ck_assert_int_eq(code, 200);
    json_error_t err;
    json_t *j = json_loads(body, 0, &err);
    ck_assert_msg(j != NULL, "bad /sim/state JSON: %s", err.text);
    free(body);
    return j;
}

/* --- FrameworkInfo -------------------------------------------------------------- */

Mesos__V1__FrameworkInfo *simc_fi(const char *name, const char *id, int pa, double failover_s) {
    Mesos__V1__FrameworkInfo *fi = calloc(1, sizeof(*fi));
    mesos__v1__framework_info__init(fi);
    fi->user = strdup("test");
    fi->name = strdup(name);
    if (id) {
        fi->id = calloc(1, sizeof(*fi->id));
        mesos__v1__framework_id__init(fi->id);
        fi->id->value = strdup(id);
    }
    fi->has_failover_timeout = 1;
    fi->failover_timeout = failover_s;
    fi->has_checkpoint = 1;
    fi->checkpoint = 1;
    fi->n_capabilities = pa ? 2 : 0;
    fi->capabilities = calloc(2, sizeof(void *));
    for (size_t i = 0; i < fi->n_capabilities; i++) {
        fi->capabilities[i] = calloc(1, sizeof(**fi->capabilities));
        mesos__v1__framework_info__capability__init(fi->capabilities[i]);
        fi->capabilities[i]->has_type = 1;
        fi->capabilities[i]->type = i == 0 ? MESOS__V1__FRAMEWORK_INFO__CAPABILITY__TYPE__MULTI_ROLE
                                           : MESOS__V1__FRAMEWORK_INFO__CAPABILITY__TYPE__PARTITION_AWARE;
    }
    if (pa) {
        fi->n_roles = 1;
        fi->roles = calloc(1, sizeof(char *));
        fi->roles[0] = strdup("mcm");
    }
    return fi;
}

void simc_fi_free(Mesos__V1__FrameworkInfo *fi) {
    if (!fi) return;
    free(fi->user);
    free(fi->name);
    free(fi->principal);
    if (fi->id) free(fi->id->value);
    free(fi->id);
    for (size_t i = 0; i < fi->n_capabilities; i++) free(fi->capabilities[i]);
    free(fi->capabilities);
    for (size_t i = 0; i < fi->n_roles; i++) free(fi->roles[i]);
    free(fi->roles);
    free(fi);
}

/* --- calls ----------------------------------------------------------------------- */

void simc_call_init(Mesos__V1__Scheduler__Call *c, Mesos__V1__FrameworkID *fid, const char *fw_id, int type) {
    mesos__v1__scheduler__call__init(c);
    mesos__v1__framework_id__init(fid);
    fid->value = (char *)fw_id;
    c->framework_id = fw_id ? fid : NULL;
    c->has_type = 1;
    c->type = (Mesos__V1__Scheduler__Call__Type)type;
}

int simc_call(int port, const char *stream_id, const Mesos__V1__Scheduler__Call *call, char *out, size_t outlen) {
    size_t n = mesos__v1__scheduler__call__get_packed_size(call);
    uint8_t *b = malloc(n + 1);
    mesos__v1__scheduler__call__pack(call, b);
    char sid[200];
    snprintf(sid, sizeof(sid), "Mesos-Stream-Id: %s", stream_id ? stream_id : "");
    const char *h[] = {"Content-Type: application/x-protobuf", "Accept: application/x-protobuf",
                       stream_id ? sid : NULL, NULL};
    char *body = NULL;
    int code = simc_post(port, "/api/v1/scheduler", b, n, h, &body, NULL, 0);
    if (out && outlen) snprintf(out, outlen, "%s", body ? body : "");
    free(body);
    free(b);
    return code;
}

/* --- subscriptions ---------------------------------------------------------------- */

typedef struct evnode { struct evnode *next; int type; void *ev; } evnode;

struct simc_sub {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    uint8_t *body;
    size_t len;
    int port;
    hdrcap hc;
    int ended;
    int executor;            /* executor API stream (else scheduler) */
    char url[300];
    atomic_int stop;
    evnode *q;
    rio_reader *rio;
};

static size_t sub_data(char *p, size_t sz, size_t nm, void *ud) {
    simc_sub *s = ud;
    if (atomic_load(&s->stop)) return 0;
    if (atomic_load(&s->hc.status) != 200) return sz * nm;
    pthread_mutex_lock(&s->mu);
    int ok = rio_feed(s->rio, p, sz * nm) == 0;
    const uint8_t *rec;
    size_t len;
    while (ok && rio_next(s->rio, &rec, &len) == 1) {
        void *ev;
        int type;
        if (s->executor) {
            Mesos__V1__Executor__Event *e = mesos__v1__executor__event__unpack(NULL, len, rec);
            ev = e;
            type = e ? (int)e->type : 0;
        } else {
            Mesos__V1__Scheduler__Event *e = mesos__v1__scheduler__event__unpack(NULL, len, rec);
            ev = e;
            type = e ? (int)e->type : 0;
        }
        if (!ev) { ok = 0; break; }
        evnode *n = calloc(1, sizeof(*n)), **tail = &s->q;
        n->ev = ev;
        n->type = type;
        while (*tail) tail = &(*tail)->next;
        *tail = n;
    }
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
    return ok ? sz * nm : 0;
}

static int sub_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d) {
    simc_sub *s = ud;
    return atomic_load(&s->stop) ? 1 : 0;
}

static void *sub_main(void *arg) {
    simc_sub *s = arg;
    CURL *e = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/x-protobuf");
    h = curl_slist_append(h, "Accept: application/x-protobuf");
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(e, CURLOPT_URL, s->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, s->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)s->len);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sub_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &s->hc);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, sub_progress);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, s);
    curl_easy_perform(e);
    long code = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    pthread_mutex_lock(&s->mu);
    if (!atomic_load(&s->hc.status)) atomic_store(&s->hc.status, (int)code);
    s->ended = 1;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static simc_sub *sub_new(int port, int executor) {
    simc_sub *s = calloc(1, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cond, NULL);
    s->port = port;
    s->executor = executor;
    snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d/api/v1/%s", port, executor ? "executor" : "scheduler");
    s->rio = rio_reader_new(0);
    return s;
}

simc_sub *simc_exec_subscribe(int agent_port, const Mesos__V1__Executor__Call *subscribe_call) {
    simc_sub *s = sub_new(agent_port, 1);
    s->len = mesos__v1__executor__call__get_packed_size(subscribe_call);
    s->body = malloc(s->len + 1);
    mesos__v1__executor__call__pack(subscribe_call, s->body);
    pthread_create(&s->th, NULL, sub_main, s);
    return s;
}

simc_sub *simc_subscribe(int port, const Mesos__V1__FrameworkInfo *fi) {
    simc_sub *s = sub_new(port, 0);
    Mesos__V1__Scheduler__Call c;
    Mesos__V1__FrameworkID fid;
    Mesos__V1__Scheduler__Call__Subscribe sub = MESOS__V1__SCHEDULER__CALL__SUBSCRIBE__INIT;
    simc_call_init(&c, &fid, fi->id ? fi->id->value : NULL, MESOS__V1__SCHEDULER__CALL__TYPE__SUBSCRIBE);
    sub.framework_info = (Mesos__V1__FrameworkInfo *)fi;
    c.subscribe = &sub;
    s->len = mesos__v1__scheduler__call__get_packed_size(&c);
    s->body = malloc(s->len + 1);
    mesos__v1__scheduler__call__pack(&c, s->body);
    pthread_create(&s->th, NULL, sub_main, s);
    return s;
}

/* Waits on s->cond until pred or the deadline; call with s->mu held. */
static void wait_until(simc_sub *s, long deadline) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 20 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
    if (mono_ms() < deadline) pthread_cond_timedwait(&s->cond, &s->mu, &ts);
}

int simc_sub_status(simc_sub *s, int timeout_ms) {
    long deadline = mono_ms() + timeout_ms;
    pthread_mutex_lock(&s->mu);
    while (!atomic_load(&s->hc.status) && !s->ended && mono_ms() < deadline) wait_until(s, deadline);
    int st = atomic_load(&s->hc.status);
    pthread_mutex_unlock(&s->mu);
    return st;
}

const char *simc_sub_stream_id(simc_sub *s) { return s->hc.sid; }

static void *sub_take(simc_sub *s, int type, int timeout_ms) {
    long deadline = mono_ms() + timeout_ms;
    void *ev = NULL;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        for (evnode **pp = &s->q; *pp; pp = &(*pp)->next)
            if ((*pp)->type == type) {
                evnode *n = *pp;
                *pp = n->next;
                ev = n->ev;
                free(n);
                break;
            }
        if (ev || mono_ms() >= deadline) break;
        wait_until(s, deadline);
    }
    pthread_mutex_unlock(&s->mu);
    return ev;
}

Mesos__V1__Scheduler__Event *simc_sub_next(simc_sub *s, int type, int timeout_ms) { return sub_take(s, type, timeout_ms); }

Mesos__V1__Executor__Event *simc_exec_next(simc_sub *s, int type, int timeout_ms) { return sub_take(s, type, timeout_ms); }

int simc_sub_count(simc_sub *s, int type) {
    int n = 0;
    pthread_mutex_lock(&s->mu);
    for (evnode *e = s->q; e; e = e->next) n += e->type == type;
    pthread_mutex_unlock(&s->mu);
    return n;
}

int simc_sub_ended(simc_sub *s, int timeout_ms) {
    long deadline = mono_ms() + timeout_ms;
    pthread_mutex_lock(&s->mu);
    while (!s->ended && mono_ms() < deadline) wait_until(s, deadline);
    int e = s->ended;
    pthread_mutex_unlock(&s->mu);
    return e;
}

void simc_sub_close(simc_sub *s) {
    if (!s) return;
    atomic_store(&s->stop, 1);
    pthread_join(s->th, NULL);
    for (evnode *e = s->q, *n; e; e = n) {
        n = e->next;
        if (s->executor) mesos__v1__executor__event__free_unpacked(e->ev, NULL);
        else mesos__v1__scheduler__event__free_unpacked(e->ev, NULL);
        free(e);
    }
    rio_reader_free(s->rio);
    free(s->body);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cond);
    free(s);
}
