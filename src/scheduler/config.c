/* config.c -- the mcm-scheduler flag table (see config.h).
 * Shape: one static table pointing into the caller's struct (each flag's
 * destination found by the flag's name, not its position); cross-flag
 * checks (min <= instances <= max, thresholds ordered) come after parsing
 * and report like any other usage error: one line, exit status 2.
 * Threads: main, before others start. */
#include "config.h"
#include "mcm.h"
#include "place.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DAY_MS 86400000.0
#define S(ms) ((double)(ms))

static const char summary[] =
    "mcm-scheduler: the Mesos framework that runs a fleet of memcached servers.\n"
    "Run three replicas; they elect one leader through ZooKeeper. Only the leader\n"
    "subscribes to Mesos and writes state; every replica serves the HTTP API and\n"
    "the published server list.";

static opt_program *program(sched_config *c) {
    static opt_spec specs[] = {
        {"zk", OPT_ZK, NULL, NULL, "URL", "ZooKeeper ensemble and mcm's root path: zk://host:port[,host:port...]/path.", 0, 0, OPT_REQUIRED, NULL},
        {"zk-session-timeout", OPT_DURATION, NULL, "10s", "DURATION", "ZooKeeper session timeout: how long a dead leader keeps leadership.", 1000, 600000, 0, NULL},
        {"zk-auth-file", OPT_STR, NULL, NULL, "FILE", "File holding user:password for ZooKeeper digest auth; mcm's znodes become writable by that identity only (readable by all).", 0, 0, 0, NULL},
        {"master", OPT_MASTER, NULL, NULL, "URL", "Mesos master: http://host:port[,host:port...] or zk://host:port[,...]/mesos.", 0, 0, OPT_REQUIRED, NULL},
        {"framework-name", OPT_STR, NULL, "mcm", "NAME", "Mesos framework name.", 0, 0, 0, NULL},
        {"framework-user", OPT_STR, NULL, NULL, "USER", "User the executors run as on the agents (default: the scheduler's user).", 0, 0, 0, NULL},
        {"role", OPT_STR, NULL, "*", "ROLE", "Mesos role to accept resources for.", 0, 0, 0, NULL},
        {"principal", OPT_STR, NULL, NULL, "PRINCIPAL", "Mesos principal for HTTP Basic authentication and FrameworkInfo.", 0, 0, 0, NULL},
        {"secret-file", OPT_STR, NULL, NULL, "FILE", "File holding the principal's secret.", 0, 0, 0, NULL},
        {"hostname", OPT_STR, NULL, NULL, "HOST", "This replica's hostname as shown to Mesos and operators (default: gethostname).", 0, 0, 0, NULL},
        {"failover-timeout", OPT_DURATION, NULL, "1w", "DURATION", "How long Mesos keeps the tasks running without a connected scheduler.", 0, 365 * DAY_MS, 0, NULL},
        {"refuse-time", OPT_DURATION, NULL, "30s", "DURATION", "Filter sent with every DECLINE: how long Mesos keeps a declined agent's resources away.", 0, 365 * DAY_MS, 0, NULL},
        {"reconcile-interval", OPT_DURATION, NULL, "15m", "DURATION", "Period of the full task reconciliation while leading.", 10000, 7 * DAY_MS, 0, NULL},
        {"heartbeat-misses", OPT_INT, NULL, "5", "N", "Missed Mesos heartbeats after which the subscription is dropped and renewed.", 2, 100, 0, NULL},
        {"instances", OPT_INT, NULL, "3", "N", "Initial desired number of memcached servers (the stored desired count wins once set).", 0, 10000, 0, NULL},
        {"instances-min", OPT_INT, NULL, "1", "N", "Lowest count operators or autoscaling may set.", 0, 10000, 0, NULL},
        {"instances-max", OPT_INT, NULL, "100", "N", "Highest count operators or autoscaling may set.", 0, 10000, 0, NULL},
        {"max-per-agent", OPT_INT, NULL, "1", "N", "At most this many mcm memcached servers on one agent.", 1, 1000, 0, NULL},
        {"constraint", OPT_LIST, NULL, NULL, "CONSTRAINT", "Where servers may go, in Marathon's language: field:OPERATOR[:value], field hostname, @region, @zone or an agent attribute; OPERATOR UNIQUE, CLUSTER, GROUP_BY, LIKE, UNLIKE, MAX_PER or IS (e.g. hostname:UNIQUE, tier:LIKE:cache, rack:GROUP_BY:3). Repeat the flag for several, all must hold; in the environment, one per line.", 0, 0, 0, NULL},
        {"zone-spread", OPT_BOOL, NULL, "true", NULL, "Spread servers evenly over the agents' fault-domain zones (losing a zone loses at most ceil(N/zones) servers; a step down removes from the fullest zone). Off, or any @zone constraint, replaces it.", 0, 0, 0, NULL},
        {"cpus", OPT_DOUBLE, NULL, "0.5", "CPUS", "CPUs per memcached server (executor included).", 0.01, 1024, 0, NULL},
        {"mem", OPT_SIZE, NULL, "256MiB", "SIZE", "Memory per memcached server (plain numbers are MiB); memcached's -m leaves headroom for its own overhead.", 32.0 * 1048576, 1048576.0 * 1048576, OPT_PLAIN_MIB, NULL},
        {"memcached-command", OPT_STR, NULL, "memcached", "CMD", "What the executor runs (PATH lookup; may carry extra memcached flags).", 0, 0, 0, NULL},
        {"memcached-listen", OPT_STR, NULL, "0.0.0.0", "ADDR", "Address memcached binds on the agent.", 0, 0, 0, NULL},
        {"docker-image", OPT_STR, NULL, NULL, "IMAGE", "Run memcached in this Docker image instead (port bridged to 11211 in the container).", 0, 0, 0, NULL},
        {"executor-command", OPT_STR, NULL, "mcm-executor", "CMD", "How an agent starts the executor (with --executor-uri: relative to the sandbox, e.g. ./mcm-executor).", 0, 0, 0, NULL},
        {"executor-uri", OPT_STR, NULL, NULL, "URI", "URI the agents fetch mcm-executor from (executable).", 0, 0, 0, NULL},
        {"report-interval", OPT_DURATION, NULL, "5s", "DURATION", "How often each executor reports memcached's figures.", 500, 3600000, 0, NULL},
        {"health-interval", OPT_DURATION, NULL, "5s", "DURATION", "How often each executor asks its memcached `version` (own connection) to find a hung server.", 100, 3600000, 0, NULL},
        {"health-timeout", OPT_DURATION, NULL, "2s", "DURATION", "A probe fails unless memcached answers within this.", 10, 600000, 0, NULL},
        {"health-unhealthy-after", OPT_INT, NULL, "3", "N", "Failed probes in a row after which the executor reports the server unhealthy (TASK_RUNNING healthy=false; it stays published).", 1, 1000, 0, NULL},
        {"health-fail-after", OPT_INT, NULL, "6", "N", "Failed probes in a row after which memcached counts as hung: the executor kills it, the task fails and the server is replaced.", 1, 1000, 0, NULL},
        {"relaunch-backoff-min", OPT_DURATION, NULL, "1s", "DURATION", "First delay before relaunching on an agent whose server failed; doubles per failure.", 0, 3600000, 0, NULL},
        {"relaunch-backoff-max", OPT_DURATION, NULL, "5m", "DURATION", "Longest relaunch delay per agent.", 0, DAY_MS, 0, NULL},
        {"http-listen", OPT_HOSTPORT, NULL, "0.0.0.0:8080", "HOST:PORT", "Where this replica serves the HTTP API.", 0, 0, 0, NULL},
        {"advertise-url", OPT_STR, NULL, NULL, "URL", "This replica's HTTP URL as others should reach it (default: http://<hostname>:<http port>).", 0, 0, 0, NULL},
        {"admin-token-file", OPT_STR, NULL, NULL, "FILE", "File holding the bearer token operator calls must present.", 0, 0, 0, NULL},
        {"admin-insecure", OPT_BOOL, NULL, "false", NULL, "Allow operator calls without a token (only when no token file is set).", 0, 0, 0, NULL},
        {"discovery-listen", OPT_HOSTPORT, NULL, NULL, "HOST:PORT", "Serve ElastiCache-compatible auto discovery (config get cluster) here; off by default.", 0, 0, 0, NULL},
        {"autoscale", OPT_BOOL, NULL, "true", NULL, "Grow and shrink the fleet from memcached's figures.", 0, 0, 0, NULL},
        {"scale-up-mem", OPT_DOUBLE, NULL, "0.80", "RATIO", "Scale up when average memory use stays above this fraction of the limit.", 0.01, 1, 0, NULL},
        {"scale-up-window", OPT_DURATION, NULL, "2m", "DURATION", "How long a scale-up condition must hold.", 0, DAY_MS, 0, NULL},
        {"scale-up-evictions", OPT_DOUBLE, NULL, "100", "PER_S", "Scale up when evictions stay above this rate (per second, fleet-wide).", 0, 1e9, 0, NULL},
        {"scale-up-cpu", OPT_DOUBLE, NULL, "0.80", "RATIO", "Scale up when memcached's average CPU use stays above this fraction of its CPUs.", 0.01, 64, 0, NULL},
        {"scale-down-mem", OPT_DOUBLE, NULL, "0.30", "RATIO", "Scale down when average memory use stays below this fraction and nothing is evicted.", 0, 1, 0, NULL},
        {"scale-down-window", OPT_DURATION, NULL, "10m", "DURATION", "How long a scale-down condition must hold.", 0, 7 * DAY_MS, 0, NULL},
        {"cooldown", OPT_DURATION, NULL, "5m", "DURATION", "Pause after every change of size before the next.", 0, 7 * DAY_MS, 0, NULL},
        {"report-max-age", OPT_DURATION, NULL, "30s", "DURATION", "Reports older than this are stale and block scaling decisions.", 1000, DAY_MS, 0, NULL},
        {"operator-pause", OPT_DURATION, NULL, "30m", "DURATION", "After POST /v1/scale, automatic decisions pause this long.", 0, 30 * DAY_MS, 0, NULL},
        {"drain-time", OPT_DURATION, NULL, NULL, "DURATION", "How long clients get to switch rings: a removed server is killed this long after it leaves the published list, and a warm transition catches up changed keys this long. Default 30s, or 90s with --discovery-listen (ElastiCache-style clients poll once a minute).", 0, DAY_MS, 0, NULL},
        {"warm-transitions", OPT_BOOL, NULL, "true", NULL, "Change the ring warm: before a new list is published, the keys that change owner are copied to their new owners (off: new servers start empty).", 0, 0, 0, NULL},
        {"migrate-rate", OPT_SIZE, NULL, "1MiB", "SIZE", "Copy rate of a warm transition per source server, bytes per second (0: unlimited; plain numbers are MiB).", 0, 1048576.0 * 1048576, OPT_PLAIN_MIB, NULL},
        {"migrate-timeout", OPT_DURATION, NULL, "2m", "DURATION", "Copy budget of a warm transition (the copy takes nine tenths, its check the rest): past it the new list is published anyway, cold for the keys not copied or not checked.", 1000, DAY_MS, 0, NULL},
        {"maintenance-horizon", OPT_DURATION, NULL, "1h", "DURATION", "Mesos maintenance: no new server goes on an agent whose unavailability (Offer.unavailability, inverse offers) starts within this, and a server there is replaced (warm) before the window; the inverse offer is accepted once it is gone.", 0, 30 * DAY_MS, 0, NULL},
        {"unreachable-grace", OPT_DURATION, NULL, "60s", "DURATION", "A server whose agent Mesos calls unreachable (TASK_UNREACHABLE: partitioned from the master) stays published and is not replaced while the leader's own `version` probes of its address answer, for at most this long; 0: replaced at once.", 0, 7 * DAY_MS, 0, NULL},
    };
    /* Where each flag's value goes, keyed by the flag's name: rows in any order. */
    const struct { const char *flag; void *dst; } dst[] = {
        {"zk", &c->zk}, {"zk-session-timeout", &c->zk_session_timeout_ms}, {"zk-auth-file", &c->zk_auth_file},
        {"master", &c->master}, {"framework-name", &c->framework_name}, {"framework-user", &c->framework_user},
        {"role", &c->role}, {"principal", &c->principal}, {"secret-file", &c->secret_file},
        {"hostname", &c->hostname}, {"failover-timeout", &c->failover_timeout_ms},
        {"refuse-time", &c->refuse_ms}, {"reconcile-interval", &c->reconcile_interval_ms},
        {"heartbeat-misses", &c->heartbeat_misses}, {"instances", &c->instances},
        {"instances-min", &c->instances_min}, {"instances-max", &c->instances_max},
        {"max-per-agent", &c->max_per_agent}, {"constraint", &c->constraints},
        {"zone-spread", &c->zone_spread}, {"cpus", &c->cpus}, {"mem", &c->mem_bytes},
        {"memcached-command", &c->memcached_command}, {"memcached-listen", &c->memcached_listen},
        {"docker-image", &c->docker_image}, {"executor-command", &c->executor_command},
        {"executor-uri", &c->executor_uri}, {"report-interval", &c->report_interval_ms},
        {"health-interval", &c->health_interval_ms}, {"health-timeout", &c->health_timeout_ms},
        {"health-unhealthy-after", &c->health_unhealthy_after}, {"health-fail-after", &c->health_fail_after},
        {"relaunch-backoff-min", &c->relaunch_backoff_min_ms},
        {"relaunch-backoff-max", &c->relaunch_backoff_max_ms}, {"http-listen", &c->http_listen},
        {"advertise-url", &c->advertise_url}, {"admin-token-file", &c->admin_token_file},
        {"admin-insecure", &c->admin_insecure}, {"discovery-listen", &c->discovery_listen},
        {"autoscale", &c->autoscale}, {"scale-up-mem", &c->scale_up_mem},
        {"scale-up-window", &c->scale_up_window_ms}, {"scale-up-evictions", &c->scale_up_evictions},
        {"scale-up-cpu", &c->scale_up_cpu}, {"scale-down-mem", &c->scale_down_mem},
        {"scale-down-window", &c->scale_down_window_ms}, {"cooldown", &c->cooldown_ms},
        {"report-max-age", &c->report_max_age_ms}, {"operator-pause", &c->operator_pause_ms},
        {"drain-time", &c->drain_time_ms}, {"warm-transitions", &c->warm_transitions},
        {"migrate-rate", &c->migrate_rate}, {"migrate-timeout", &c->migrate_timeout_ms},
        {"maintenance-horizon", &c->maintenance_horizon_ms}, {"unreachable-grace", &c->unreachable_grace_ms},
    };
    _Static_assert(MCM_ARRAY_LEN(specs) == MCM_ARRAY_LEN(dst), "one destination per flag");
    for (size_t i = 0; i < MCM_ARRAY_LEN(specs); i++) {
        specs[i].dst = NULL;
        for (size_t k = 0; k < MCM_ARRAY_LEN(dst) && !specs[i].dst; k++)
            if (!strcmp(dst[k].flag, specs[i].name)) specs[i].dst = dst[k].dst;
        if (!specs[i].dst) abort();   /* a flag without a destination: a bug caught by any start */
    }
    static opt_program p = {"mcm-scheduler", summary, specs, (int)MCM_ARRAY_LEN(specs)};
    return &p;
}

static int advertise_ok(const char *url) {
    char err[256];
    parse_urls u;
    if (parse_http_urls(url, &u, err, sizeof(err)) != MCM_OK) return 0;
    int one = u.n == 1;
    parse_urls_free(&u);
    return one;
}

/* Each --constraint through the placement parser: its message on failure. */
static int constraints_ok(const sched_config *c) {
    place_rules *r = place_rules_new();
    char err[512] = "out of memory";
    int ok = r != NULL;
    for (int i = 0; ok && i < c->constraints.n; i++) ok = place_rules_add(r, c->constraints.v[i], err, sizeof(err)) == MCM_OK;
    place_rules_free(r);
    if (!ok) fprintf(stderr, "mcm-scheduler: --constraint: %s (see mcm-scheduler --help)\n", err);
    return ok;
}

static int cross_check(const sched_config *c) {
    const char *why = NULL;
    if (!constraints_ok(c)) return 2;
    if (c->instances_min > c->instances_max) why = "--instances-min is above --instances-max";
    else if (c->instances < c->instances_min || c->instances > c->instances_max)
        why = "--instances is outside [--instances-min, --instances-max]";
    else if (c->scale_down_mem >= c->scale_up_mem) why = "--scale-down-mem must be below --scale-up-mem";
    else if (c->relaunch_backoff_min_ms > c->relaunch_backoff_max_ms)
        why = "--relaunch-backoff-min is above --relaunch-backoff-max";
    else if (c->secret_file && !c->principal) why = "--secret-file needs --principal";
    else if (c->docker_image && strcmp(c->memcached_command, "memcached"))
        why = "--docker-image and --memcached-command exclude each other";
    else if (strcmp(c->zk.path, "/") == 0)
        why = "--zk: give mcm a root of its own (zk://host:port/mcm), not /";
    else if (c->advertise_url && !advertise_ok(c->advertise_url))
        why = "--advertise-url: must be one http:// or https:// URL (http://host:port)";
    else if (c->health_fail_after < c->health_unhealthy_after)
        why = "--health-fail-after is below --health-unhealthy-after";
    if (!why) return OPT_CONTINUE;
    fprintf(stderr, "mcm-scheduler: %s (see mcm-scheduler --help)\n", why);
    return 2;
}

#define DRAIN_DEFAULT_MS 30000
#define DRAIN_DISCOVERY_MS 90000   /* ElastiCache-style clients poll once a minute */

static void fill_defaults(sched_config *c) {
    char host[256];
    if (c->drain_time_ms < 0) c->drain_time_ms = c->discovery_listen.host[0] ? DRAIN_DISCOVERY_MS : DRAIN_DEFAULT_MS;
    if (!c->hostname && gethostname(host, sizeof(host)) == 0) {
        host[sizeof(host) - 1] = '\0';
        c->hostname = strdup(host);
    }
    if (!c->framework_user) {
        struct passwd *pw = getpwuid(geteuid());
        c->framework_user = strdup(pw ? pw->pw_name : "root");
    }
    if (!c->advertise_url) {
        const char *h = strcmp(c->http_listen.host, "0.0.0.0") ? c->http_listen.host : c->hostname;
        if (asprintf(&c->advertise_url, "http://%s:%d", h, c->http_listen.port) < 0) c->advertise_url = NULL;
    }
}

int sched_config_parse(sched_config *c, int argc, char **argv) {
    memset(c, 0, sizeof(*c));
    c->drain_time_ms = -1;   /* unset: fill_defaults chooses */
    int rc = opt_parse(program(c), argc, argv);
    if (rc != OPT_CONTINUE) return rc;
    if ((rc = cross_check(c)) != OPT_CONTINUE) return rc;
    fill_defaults(c);
    return OPT_CONTINUE;
}

void sched_config_free(sched_config *c) {
    opt_free(program(c));
}
