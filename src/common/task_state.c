/* task_state.c -- Mesos task state names by number (see task_state.h). */
#include "task_state.h"
#include "mcm.h"

#include <string.h>

static const char *const names[] = {
    "TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED", "TASK_FAILED", "TASK_KILLED",
    "TASK_LOST", "TASK_STAGING", "TASK_ERROR", "TASK_KILLING", "TASK_DROPPED",
    "TASK_UNREACHABLE", "TASK_GONE", "TASK_GONE_BY_OPERATOR", "TASK_UNKNOWN",
};

const char *task_state_name(int s) { return s >= 0 && s < (int)MCM_ARRAY_LEN(names) ? names[s] : NULL; }

int task_state_from_name(const char *name) {
    for (int i = 0; i < (int)MCM_ARRAY_LEN(names); i++)
        if (!strcmp(name, names[i])) return i;
    return -1;
}
