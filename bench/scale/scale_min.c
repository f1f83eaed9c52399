/* scale_min.c -- the simulator's own launch limit: a minimal scheduler.
 *
 * What: subscribes to a fresh mcm-sim of N agents with the src/mesos client
 * (mesos_sched.h) and accepts every offer the moment it arrives with one
 * task: the same executor command, environment (MCM_MEMCACHED_COMMAND,
 * MCM_MEMCACHED_LISTEN, MCM_REPORT_INTERVAL) and task resources (cpus 0.1,
 * mem 32, the offer's first port) mcm gives its servers, so the work per
 * launch -- fork the executor, start memcached, wait until it answers,
 * TASK_RUNNING -- is the same. It acknowledges every update and stops
 * when N tasks are RUNNING: the time from SUBSCRIBE to that point is the
 * limit mcm's election -> N published is compared with. No ZooKeeper, no
 * state, no decisions: nothing mcm could do faster.
 *
 * Shape: the client's callbacks run on its stream thread and may not call
 * the client, so they hand each Event to the main thread through a small
 * mutex-guarded list; the main thread makes the calls (LAUNCH, ACKNOWLEDGE).
 * Threads: main thread; on_event/on_disconnected on the stream thread.
 * Ownership: each queued Event is the main thread's once taken, freed after use. */
#include "scale.h"

#include "mcm.h"
#include "mesos_sched.h"
#include "opt.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ev_node {
    struct ev_node *next;
    Mesos__V1__Scheduler__Event *ev;
} ev_node;

typedef struct inbox {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    ev_node *head, *tail;
} inbox;

static void on_event(void *ctx, Mesos__V1__Scheduler__Event *ev) {
    inbox *q = ctx;
    ev_node *n = calloc(1, sizeof(*n));
    if (!n) {
        mesos__v1__scheduler__event__free_unpacked(ev, NULL);
        return;
    }
    n->ev = ev;
    pthread_mutex_lock(&q->mu);
    if (q->tail) q->tail->next = n;
    else q->head = n;
    q->tail = n;
    pthread_cond_signal(&q->cond);
    pthread_mutex_unlock(&q->mu);
}

static void on_disconnected(void *ctx, const char *why) {
    (void)ctx;
    fprintf(stderr, "minimal scheduler: disconnected: %s\n", why);
}

static Mesos__V1__Scheduler__Event *take(inbox *q, int timeout_ms) {
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += timeout_ms / 1000;
    pthread_mutex_lock(&q->mu);
    while (!q->head && pthread_cond_timedwait(&q->cond, &q->mu, &dl) == 0) {}
    ev_node *n = q->head;
    if (n && !(q->head = n->next)) q->tail = NULL;
    pthread_mutex_unlock(&q->mu);
    Mesos__V1__Scheduler__Event *ev = n ? n->ev : NULL;
    free(n);
    return ev;
}

/* One task's TaskInfo, pointing into the offer's resources (copied shallowly,
 * so role and allocation_info stay the offer's). */
typedef struct min_task {
    Mesos__V1__TaskInfo t;
    Mesos__V1__TaskID id;
    Mesos__V1__AgentID agent;
    Mesos__V1__ExecutorInfo ex;
    Mesos__V1__ExecutorID ex_id;
    Mesos__V1__CommandInfo cmd;
    Mesos__V1__Environment env;
    Mesos__V1__Environment__Variable vars[3], *varp[3];
    Mesos__V1__Resource res[3], *resp[3];
    Mesos__V1__Value__Scalar cpus, mem;
    Mesos__V1__Value__Ranges ranges;
    Mesos__V1__Value__Range range, *rangep[1];
    char id_s[64], ex_s[80], name[32];
} min_task;

static int take_resources(min_task *m, const Mesos__V1__Offer *o) {
    int n = 0, port = 0;
    mesos__v1__value__scalar__init(&m->cpus);
    m->cpus.value = 0.1;
    mesos__v1__value__scalar__init(&m->mem);
    m->mem.value = 32;
    for (size_t i = 0; i < o->n_resources && n < 3; i++) {
        const Mesos__V1__Resource *r = o->resources[i];
        if (!strcmp(r->name, "cpus") || !strcmp(r->name, "mem")) {
            m->res[n] = *r;
            m->res[n].scalar = !strcmp(r->name, "cpus") ? &m->cpus : &m->mem;
            m->resp[n] = &m->res[n];
            n++;
        } else if (!strcmp(r->name, "ports") && r->ranges && r->ranges->n_range && !port) {
            port = (int)r->ranges->range[0]->begin;
            mesos__v1__value__range__init(&m->range);
            m->range.begin = m->range.end = (uint64_t)port;
            m->rangep[0] = &m->range;
            mesos__v1__value__ranges__init(&m->ranges);
            m->ranges.range = m->rangep;
            m->ranges.n_range = 1;
            m->res[n] = *r;
            m->res[n].ranges = &m->ranges;
            m->resp[n] = &m->res[n];
            n++;
        }
    }
    m->t.resources = m->resp;
    m->t.n_resources = (size_t)n;
    return n == 3 ? port : 0;
}

static void set_var(min_task *m, int i, const char *name, const char *value) {
    mesos__v1__environment__variable__init(&m->vars[i]);
    m->vars[i].name = (char *)name;
    m->vars[i].value = (char *)value;
    m->varp[i] = &m->vars[i];
}

static Mesos__V1__TaskInfo *build(min_task *m, const Mesos__V1__Offer *o, int seq, const char *exec,
                                  const char *memcached) {
    memset(m, 0, sizeof(*m));
    mesos__v1__task_info__init(&m->t);
    int port = take_resources(m, o);
    if (!port) return NULL;
    snprintf(m->id_s, sizeof(m->id_s), "min-%d", seq);
    snprintf(m->ex_s, sizeof(m->ex_s), "min-%d.executor", seq);
    snprintf(m->name, sizeof(m->name), "memcached:%d", port);
    set_var(m, 0, "MCM_MEMCACHED_COMMAND", memcached);
    set_var(m, 1, "MCM_MEMCACHED_LISTEN", "127.0.0.1");
    set_var(m, 2, "MCM_REPORT_INTERVAL", "5s");
    mesos__v1__environment__init(&m->env);
    m->env.variables = m->varp;
    m->env.n_variables = 3;
    mesos__v1__command_info__init(&m->cmd);
    m->cmd.value = (char *)exec;
    m->cmd.has_shell = m->cmd.shell = 1;
    m->cmd.environment = &m->env;
    mesos__v1__executor_id__init(&m->ex_id);
    m->ex_id.value = m->ex_s;
    mesos__v1__executor_info__init(&m->ex);
    m->ex.executor_id = &m->ex_id;
    m->ex.has_type = 1;
    m->ex.type = MESOS__V1__EXECUTOR_INFO__TYPE__CUSTOM;
    m->ex.command = &m->cmd;
    mesos__v1__task_id__init(&m->id);
    m->id.value = m->id_s;
    mesos__v1__agent_id__init(&m->agent);
    m->agent.value = o->agent_id->value;
    m->t.name = m->name;
    m->t.task_id = &m->id;
    m->t.agent_id = &m->agent;
    m->t.executor = &m->ex;
    return &m->t;
}

typedef struct run {
    mesos_sched *ms;
    const char *exec, *memcached;
    int launched, running, n;
} run;

static void on_offers(run *r, const Mesos__V1__Scheduler__Event__Offers *of) {
    char err[256];
    for (size_t i = 0; i < of->n_offers; i++) {
        const Mesos__V1__Offer *o = of->offers[i];
        min_task m;
        Mesos__V1__TaskInfo *t = r->launched < r->n ? build(&m, o, r->launched, r->exec, r->memcached) : NULL;
        if (t && mesos_sched_launch(r->ms, o->id->value, &t, 1, 5, err, sizeof(err)) == MCM_OK) {
            r->launched++;
        } else {
            const char *id = o->id->value;
            mesos_sched_decline(r->ms, &id, 1, 5, err, sizeof(err));
        }
    }
}

static void on_update(run *r, const Mesos__V1__TaskStatus *st) {
    char err[256];
    if (st->state == MESOS__V1__TASK_STATE__TASK_RUNNING) r->running++;
    else if (st->state != MESOS__V1__TASK_STATE__TASK_STARTING)
        fprintf(stderr, "minimal scheduler: %s %s: %s\n", st->task_id->value,
                protobuf_c_enum_descriptor_get_value(&mesos__v1__task_state__descriptor, st->state)->name,
                st->message ? st->message : "");
    if (st->has_uuid && st->agent_id)
        mesos_sched_acknowledge(r->ms, st->agent_id->value, st->task_id->value, st->uuid.data, st->uuid.len,
                                err, sizeof(err));
}

static mesos_sched *client(const scale_inst *s, inbox *q, opt_master *om) {
    char url[64], err[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", scale_sim_port(s));
    ck_assert_msg(opt_parse_master(url, om, err, sizeof(err)) == MCM_OK, "master %s: %s", url, err);
    mesos_sched_config cfg = {.master = om, .user = "root", .name = "bench-minimal", .role = "*",
                              .hostname = "127.0.0.1", .failover_timeout_s = 0, .heartbeat_misses = 5};
    mesos_sched_callbacks cb = {.ctx = q, .on_event = on_event, .on_disconnected = on_disconnected};
    mesos_sched *ms = mesos_sched_new(&cfg, &cb, err, sizeof(err));
    ck_assert_msg(ms != NULL, "mesos_sched_new: %s", err);
    return ms;
}

static void sample_threads(pid_t pid, int *max) {
    int t = scale_threads(pid);
    if (t > *max) *max = t;
}

static double load1(void) {
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f && fscanf(f, "%lf", &l) != 1) l = -1;
    if (f) fclose(f);
    return l;
}

void scale_min_run(const scale_opts *o, scale_min_figures *f) {
    scale_inst *s = scale_start(o, 0);
    inbox q = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    opt_master om = {0};
    run r = {.ms = client(s, &q, &om), .exec = scale_executor(s), .memcached = scale_memcached(s), .n = o->n};
    int64_t t0 = scale_mono_ms(), deadline = t0 + 600000, next_sample = t0;
    pid_t sim_pid = scale_sim_pid(s);
    f->sim_threads_max = 0;
    ck_assert(mesos_sched_start(r.ms, NULL) == MCM_OK);
    while (r.running < o->n && scale_mono_ms() < deadline) {
        if (scale_mono_ms() >= next_sample) {
            sample_threads(sim_pid, &f->sim_threads_max);
            next_sample += 1000;
        }
        Mesos__V1__Scheduler__Event *ev = take(&q, 1000);
        if (!ev) continue;
        if (ev->type == MESOS__V1__SCHEDULER__EVENT__TYPE__OFFERS && ev->offers) on_offers(&r, ev->offers);
        else if (ev->type == MESOS__V1__SCHEDULER__EVENT__TYPE__UPDATE && ev->update) on_update(&r, ev->update->status);
        mesos__v1__scheduler__event__free_unpacked(ev, NULL);
    }
    f->ms = scale_mono_ms() - t0;
    sample_threads(sim_pid, &f->sim_threads_max);
    f->sim_cpu_s = scale_cpu_s(sim_pid);
    f->load1 = load1();
    f->running = r.running;
    f->launched = r.launched;
    mesos_sched_free(r.ms);
    for (Mesos__V1__Scheduler__Event *ev; (ev = take(&q, 0));) mesos__v1__scheduler__event__free_unpacked(ev, NULL);
    opt_master_free(&om);
    scale_stop(s);
    ck_assert_msg(f->running >= o->n, "minimal scheduler: only %d of %d tasks RUNNING after %lld ms", f->running,
                  o->n, (long long)f->ms);
}
