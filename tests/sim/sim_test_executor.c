/* sim_test_executor.c -- a tiny executor for the simulator's tests.
 *
 * Speaks the Mesos v1 executor API against $MESOS_AGENT_ENDPOINT with libcurl
 * and protobuf-c: SUBSCRIBE; on LAUNCH send TASK_STARTING then TASK_RUNNING
 * (two updates back to back, so tests can see the second wait for the
 * scheduler's ACK of the first); on KILL send TASK_KILLED and exit once the
 * agent acknowledged it; on MESSAGE answer with a MESSAGE "echo:<data>"; on
 * SHUTDOWN kill every task (TASK_KILLED) and exit. The stream ending ends it.
 * TEST_EXEC_MODE=nosubscribe makes it sleep without subscribing (for the
 * registration timeout test).
 * Threads: one. Calls are made from inside the stream's write callback on a
 * second curl handle, which libcurl allows. */
#include "recordio.h"

#include "mesos/v1/executor/executor.pb-c.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char url[256], *fw_id, *ex_id;
static CURL *calls;
static rio_reader *rio;
static int done, exit_after_ack;
static char tasks[16][256];
static int ntasks;
static uint8_t pending_uuid[16];

static void uuid4(uint8_t u[16]) {
    for (int i = 0; i < 16; i++) u[i] = (uint8_t)(rand() & 0xff);
    u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
    u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
}

static void base_call(Mesos__V1__Executor__Call *c, Mesos__V1__FrameworkID *f, Mesos__V1__ExecutorID *e) {
    mesos__v1__executor__call__init(c);
    mesos__v1__framework_id__init(f);
    mesos__v1__executor_id__init(e);
    f->value = fw_id;
    e->value = ex_id;
    c->framework_id = f;
    c->executor_id = e;
    c->has_type = 1;
}

static long post(const Mesos__V1__Executor__Call *c) {
    size_t n = mesos__v1__executor__call__get_packed_size(c);
    uint8_t *b = malloc(n + 1);
    mesos__v1__executor__call__pack(c, b);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/x-protobuf");
    h = curl_slist_append(h, "Accept: application/x-protobuf");
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(calls, CURLOPT_URL, url);
    curl_easy_setopt(calls, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(calls, CURLOPT_POSTFIELDS, b);
    curl_easy_setopt(calls, CURLOPT_POSTFIELDSIZE, (long)n);
    curl_easy_setopt(calls, CURLOPT_TIMEOUT, 10L);
    long code = 0;
    CURLcode rc = curl_easy_perform(calls);
    curl_easy_getinfo(calls, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(h);
    free(b);
    if (rc != CURLE_OK) fprintf(stderr, "test-executor: call failed: %s\n", curl_easy_strerror(rc));
    return code;
}

static void update(const char *task, Mesos__V1__TaskState state, uint8_t uuid_out[16]) {
    Mesos__V1__Executor__Call c;
    Mesos__V1__FrameworkID f;
    Mesos__V1__ExecutorID e;
    base_call(&c, &f, &e);
    Mesos__V1__Executor__Call__Update up = MESOS__V1__EXECUTOR__CALL__UPDATE__INIT;
    Mesos__V1__TaskStatus st = MESOS__V1__TASK_STATUS__INIT;
    Mesos__V1__TaskID tid = MESOS__V1__TASK_ID__INIT;
    uint8_t u[16];
    uuid4(u);
    tid.value = (char *)task;
    st.task_id = &tid;
    st.state = state;
    st.has_source = 1;
    st.source = MESOS__V1__TASK_STATUS__SOURCE__SOURCE_EXECUTOR;
    st.has_uuid = 1;
    st.uuid.data = u;
    st.uuid.len = 16;
    up.status = &st;
    c.type = MESOS__V1__EXECUTOR__CALL__TYPE__UPDATE;
    c.update = &up;
    long code = post(&c);
    fprintf(stderr, "test-executor: task %s update %d -> %ld\n", task, (int)state, code);
    if (uuid_out) memcpy(uuid_out, u, 16);
}

static void echo(const ProtobufCBinaryData *d) {
    Mesos__V1__Executor__Call c;
    Mesos__V1__FrameworkID f;
    Mesos__V1__ExecutorID e;
    base_call(&c, &f, &e);
    Mesos__V1__Executor__Call__Message m = MESOS__V1__EXECUTOR__CALL__MESSAGE__INIT;
    uint8_t buf[512];
    size_t n = d->len < 400 ? d->len : 400;
    memcpy(buf, "echo:", 5);
    memcpy(buf + 5, d->data, n);
    m.data.data = buf;
    m.data.len = n + 5;
    c.type = MESOS__V1__EXECUTOR__CALL__TYPE__MESSAGE;
    c.message = &m;
    post(&c);
}

static void on_event(const Mesos__V1__Executor__Event *ev) {
    switch (ev->type) {
    case MESOS__V1__EXECUTOR__EVENT__TYPE__LAUNCH: {
        const char *t = ev->launch->task->task_id->value;
        if (ntasks < 16) snprintf(tasks[ntasks++], sizeof(tasks[0]), "%s", t);
        update(t, MESOS__V1__TASK_STATE__TASK_STARTING, NULL);
        update(t, MESOS__V1__TASK_STATE__TASK_RUNNING, NULL);
        break;
    }
    case MESOS__V1__EXECUTOR__EVENT__TYPE__KILL:
        update(ev->kill->task_id->value, MESOS__V1__TASK_STATE__TASK_KILLED, pending_uuid);
        exit_after_ack = 1;
        break;
    case MESOS__V1__EXECUTOR__EVENT__TYPE__ACKNOWLEDGED:
        if (exit_after_ack && ev->acknowledged->uuid.len == 16 &&
            memcmp(ev->acknowledged->uuid.data, pending_uuid, 16) == 0)
            done = 1;
        break;
    case MESOS__V1__EXECUTOR__EVENT__TYPE__MESSAGE: echo(&ev->message->data); break;
    case MESOS__V1__EXECUTOR__EVENT__TYPE__SHUTDOWN:
        for (int i = 0; i < ntasks; i++) update(tasks[i], MESOS__V1__TASK_STATE__TASK_KILLED, NULL);
        done = 1;
        break;
    default: break;
    }
}

static size_t on_data(char *p, size_t sz, size_t nm, void *ud) {
    if (rio_feed(rio, p, sz * nm) != 0) return 0;
    const uint8_t *rec;
    size_t len;
    while (rio_next(rio, &rec, &len) == 1) {
        Mesos__V1__Executor__Event *ev = mesos__v1__executor__event__unpack(NULL, len, rec);
        if (!ev) return 0;
        fprintf(stderr, "test-executor: event %d\n", (int)ev->type);
        on_event(ev);
        mesos__v1__executor__event__free_unpacked(ev, NULL);
    }
    return done ? 0 : sz * nm;
}

int main(void) {
    const char *ep = getenv("MESOS_AGENT_ENDPOINT");
    fw_id = getenv("MESOS_FRAMEWORK_ID");
    ex_id = getenv("MESOS_EXECUTOR_ID");
    const char *mode = getenv("TEST_EXEC_MODE");
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    if (!ep || !fw_id || !ex_id) {
        fprintf(stderr, "test-executor: MESOS_* environment missing\n");
        return 2;
    }
    if (mode && strcmp(mode, "nosubscribe") == 0)
        for (;;) sleep(1);
    snprintf(url, sizeof(url), "http://%s/api/v1/executor", ep);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    calls = curl_easy_init();
    rio = rio_reader_new(0);
    Mesos__V1__Executor__Call c;
    Mesos__V1__FrameworkID f;
    Mesos__V1__ExecutorID e;
    base_call(&c, &f, &e);
    Mesos__V1__Executor__Call__Subscribe sub = MESOS__V1__EXECUTOR__CALL__SUBSCRIBE__INIT;
    c.type = MESOS__V1__EXECUTOR__CALL__TYPE__SUBSCRIBE;
    c.subscribe = &sub;
    size_t n = mesos__v1__executor__call__get_packed_size(&c);
    uint8_t *b = malloc(n + 1);
    mesos__v1__executor__call__pack(&c, b);
    CURL *st = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/x-protobuf");
    h = curl_slist_append(h, "Accept: application/x-protobuf");
    curl_easy_setopt(st, CURLOPT_URL, url);
    curl_easy_setopt(st, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(st, CURLOPT_POSTFIELDS, b);
    curl_easy_setopt(st, CURLOPT_POSTFIELDSIZE, (long)n);
    curl_easy_setopt(st, CURLOPT_WRITEFUNCTION, on_data);
    CURLcode rc = curl_easy_perform(st);
    fprintf(stderr, "test-executor: stream ended (%s); exiting\n", curl_easy_strerror(rc));
    curl_slist_free_all(h);
    curl_easy_cleanup(st);
    curl_easy_cleanup(calls);
    rio_reader_free(rio);
    free(b);
    return done ? 0 : 1;
}
