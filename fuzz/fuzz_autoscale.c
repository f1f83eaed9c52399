/* fuzz_autoscale.c -- libFuzzer target: the autoscaling history a new leader
 * reads back from state/desired (policy_history_load), then a decision on
 * top of it. Checked beyond no crash/leak/UB: a history that loaded encodes
 * again and that encoding loads too. Threads: one. */
#include "mcm.h"
#include "policy.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NOW_MS 1795585620123LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    policy_config cfg;
    char err[256];
    policy_config_default(&cfg);
    policy *p = policy_new(&cfg, err, sizeof(err));
    if (!p) abort();
    if (policy_history_load(p, (const char *)data, size, NOW_MS, err, sizeof(err)) == MCM_OK) {
        char *json = policy_history_json(p);
        policy *q = policy_new(&cfg, err, sizeof(err));
        if (!json || !q || policy_history_load(q, json, strlen(json), NOW_MS, err, sizeof(err)) != MCM_OK) abort();
        policy_fleet f = {0};
        policy_decision d;
        policy_decide(q, &f, NOW_MS + 1000, &d);
        policy_free(q);
        free(json);
    }
    policy_free(p);
    return 0;
}
