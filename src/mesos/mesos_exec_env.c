/* mesos_exec_env.c -- the executor client's configuration from the environment
 * a Mesos agent sets for its executors (see mesos_exec.h and the protocol
 * notes, section 8).
 *
 * Shape: one table-free function per kind of variable (string, duration,
 * flag), each reporting errors as "<VARIABLE>: <what is wrong>" so the
 * operator reading a sandbox's stderr knows which one to fix. Values are
 * parsed by parse.h only. Required variables are those every agent sets;
 * the recovery knobs are optional because an agent without checkpointing
 * does not set them.
 * Threads: the caller's (main, before any thread starts: getenv is not
 * synchronised with setenv). Invariant: on MCM_ERR the config holds nothing. */
#include "mesos_exec.h"

#include "mcm.h"
#include "parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEF_BACKOFF_MAX "2secs"
#define DEF_RECOVERY "15mins"
#define DEF_SHUTDOWN_GRACE "5secs"
#define DEF_CALL_TIMEOUT_MS 10000

static const char *env(const char *name) {
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static int env_str(const char *name, int required, char **out, char *err, size_t errlen) {
    const char *v = env(name);
    if (!v) {
        if (required)
            snprintf(err, errlen, "%s is not set: mcm-executor must be started by a Mesos agent, "
                                  "which sets it", name);
        return required ? MCM_ERR : MCM_OK;
    }
    if (!(*out = strdup(v))) {
        snprintf(err, errlen, "out of memory");
        return MCM_ERR;
    }
    return MCM_OK;
}

static int env_duration(const char *name, const char *def, int64_t *out, char *err, size_t errlen) {
    const char *v = env(name);
    char why[128];
    if (parse_duration_ms(v ? v : def, out, why, sizeof(why)) != MCM_OK) {
        snprintf(err, errlen, "%s='%s': %s", name, v, why);
        return MCM_ERR;
    }
    return MCM_OK;
}

static int env_checkpoint(int *out, char *err, size_t errlen) {
    const char *v = env("MESOS_CHECKPOINT");
    if (!v || !strcmp(v, "0")) *out = 0;
    else if (!strcmp(v, "1")) *out = 1;
    else {
        snprintf(err, errlen, "MESOS_CHECKPOINT='%s': expected 1 or 0", v);
        return MCM_ERR;
    }
    return MCM_OK;
}

/* "ip:port" -> "http://ip:port/api/v1/executor" (brackets kept for IPv6). */
static int agent_url(mesos_exec_config *c, char *err, size_t errlen) {
    parse_hostport hp;
    char why[128];
    if (parse_host_port(c->agent_endpoint, 0, &hp, why, sizeof(why)) != MCM_OK) {
        snprintf(err, errlen, "MESOS_AGENT_ENDPOINT='%s': %s", c->agent_endpoint, why);
        return MCM_ERR;
    }
    int v6 = strchr(hp.host, ':') != NULL;
    if (asprintf(&c->agent_url, "http://%s%s%s:%d/api/v1/executor", v6 ? "[" : "", hp.host,
                 v6 ? "]" : "", hp.port) < 0) {
        c->agent_url = NULL;
        snprintf(err, errlen, "out of memory");
        return MCM_ERR;
    }
    return MCM_OK;
}

int mesos_exec_config_from_env(mesos_exec_config *c, char *err, size_t errlen) {
    memset(c, 0, sizeof(*c));
    c->call_timeout_ms = DEF_CALL_TIMEOUT_MS;
    if (env_str("MESOS_AGENT_ENDPOINT", 1, &c->agent_endpoint, err, errlen) != MCM_OK ||
        agent_url(c, err, errlen) != MCM_OK ||
        env_str("MESOS_FRAMEWORK_ID", 1, &c->framework_id, err, errlen) != MCM_OK ||
        env_str("MESOS_EXECUTOR_ID", 1, &c->executor_id, err, errlen) != MCM_OK ||
        env_str("MESOS_DIRECTORY", 1, &c->directory, err, errlen) != MCM_OK ||
        env_str("MESOS_SANDBOX", 0, &c->sandbox, err, errlen) != MCM_OK ||
        env_str("MESOS_EXECUTOR_AUTHENTICATION_TOKEN", 0, &c->auth_token, err, errlen) != MCM_OK ||
        env_checkpoint(&c->checkpoint, err, errlen) != MCM_OK)
        goto fail;
    if (env_duration("MESOS_SUBSCRIPTION_BACKOFF_MAX", DEF_BACKOFF_MAX, &c->backoff_max_ms, err, errlen) ||
        env_duration("MESOS_RECOVERY_TIMEOUT", DEF_RECOVERY, &c->recovery_timeout_ms, err, errlen) ||
        env_duration("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", DEF_SHUTDOWN_GRACE, &c->shutdown_grace_ms, err,
                     errlen))
        goto fail;
    if (!c->sandbox && !(c->sandbox = strdup(c->directory))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    return MCM_OK;
fail:
    mesos_exec_config_free(c);
    return MCM_ERR;
}

void mesos_exec_config_free(mesos_exec_config *c) {
    if (!c) return;
    free(c->agent_endpoint);
    free(c->agent_url);
    free(c->framework_id);
    free(c->executor_id);
    free(c->directory);
    free(c->sandbox);
    free(c->auth_token);
    memset(c, 0, sizeof(*c));
}
