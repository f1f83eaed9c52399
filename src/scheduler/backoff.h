/* backoff.h -- per-agent relaunch backoff.
 *
 * When a memcached server fails on an agent, the next launch on that agent
 * waits min_ms, doubling per consecutive failure up to max_ms (with +-20%
 * jitter so replicas of many frameworks do not retry in step). A running
 * report from the agent (TASK_RUNNING) resets it. Other agents are not
 * delayed, so one broken agent cannot eat the retry budget of the fleet.
 * Threads: the core only. */
#ifndef MCM_BACKOFF_H
#define MCM_BACKOFF_H

#include <stdint.h>

typedef struct backoff backoff;

backoff *backoff_create(int64_t min_ms, int64_t max_ms);
void backoff_free(backoff *b);                       /* NULL-safe */
void backoff_failure(backoff *b, const char *agent_id, int64_t now_ms);
void backoff_success(backoff *b, const char *agent_id);
/* 0 if launching on agent_id is allowed at now_ms, else ms left to wait. */
int64_t backoff_wait_ms(const backoff *b, const char *agent_id, int64_t now_ms);
int backoff_failures(const backoff *b, const char *agent_id);

#endif
