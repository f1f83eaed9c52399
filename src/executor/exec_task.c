/* exec_task.c -- port, memory and kill grace from a TaskInfo (see exec_task.h).
 * Shape: plain walks over the repeated Resource messages; every rejection
 * names the resource so TASK_FAILED's message tells the operator what the
 * scheduler sent wrong. Threads: any. Invariants: *out is written only on
 * MCM_OK; no wire double is converted to an integer outside its range. */
#include "exec_task.h"

#include "mcm.h"

#include <stdio.h>
#include <string.h>

static int is(const Mesos__V1__Resource *r, const char *name, Mesos__V1__Value__Type type) {
    return r && r->name && !strcmp(r->name, name) && r->type == type;
}

static int first_port(const Mesos__V1__TaskInfo *t, int *port, char *err, size_t errlen) {
    for (size_t i = 0; i < t->n_resources; i++) {
        const Mesos__V1__Resource *r = t->resources[i];
        if (!is(r, "ports", MESOS__V1__VALUE__TYPE__RANGES)) continue;
        if (!r->ranges || r->ranges->n_range == 0 || !r->ranges->range[0]) {
            snprintf(err, errlen, "the ports resource has no range");
            return MCM_ERR;
        }
        uint64_t p = r->ranges->range[0]->begin;
        if (p < 1 || p > 65535) {
            snprintf(err, errlen, "port %llu in the ports resource is not in 1-65535", (unsigned long long)p);
            return MCM_ERR;
        }
        *port = (int)p;
        return MCM_OK;
    }
    snprintf(err, errlen, "the task has no ports resource (one port for memcached is needed)");
    return MCM_ERR;
}

static int memory(const Mesos__V1__TaskInfo *t, uint64_t *mib, char *err, size_t errlen) {
    double sum = 0;
    for (size_t i = 0; i < t->n_resources; i++) {
        const Mesos__V1__Resource *r = t->resources[i];
        if (is(r, "mem", MESOS__V1__VALUE__TYPE__SCALAR) && r->scalar && r->scalar->value > 0)
            sum += r->scalar->value;
    }
    if (sum < 1) {
        snprintf(err, errlen, "the task has no mem resource of at least 1 MiB");
        return MCM_ERR;
    }
    /* Checked before the conversion: a double beyond uint64_t's range (or
     * infinity) does not convert, it is undefined behaviour. */
    if (!(sum <= (double)EXEC_TASK_MEM_MAX_MIB)) {
        snprintf(err, errlen, "the task's mem resource (%g MiB) is over %llu MiB", sum,
                 (unsigned long long)EXEC_TASK_MEM_MAX_MIB);
        return MCM_ERR;
    }
    *mib = (uint64_t)sum;
    return MCM_OK;
}

int64_t exec_kill_grace_ms(const Mesos__V1__KillPolicy *kp, int64_t def) {
    if (!kp || !kp->grace_period || kp->grace_period->nanoseconds < 0) return def;
    return kp->grace_period->nanoseconds / 1000000;
}

int exec_task_parse(const Mesos__V1__TaskInfo *t, exec_task *out, char *err, size_t errlen) {
    exec_task x;
    if (first_port(t, &x.port, err, errlen) != MCM_OK || memory(t, &x.mem_mib, err, errlen) != MCM_OK)
        return MCM_ERR;
    x.kill_grace_ms = exec_kill_grace_ms(t->kill_policy, -1);
    *out = x;
    return MCM_OK;
}
