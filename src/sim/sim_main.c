/* sim_main.c -- mcm-sim: flags, start, wait for SIGTERM/SIGINT, clean exit.
 *
 * When the master and every agent listen, prints exactly one line to stdout,
 * `mcm-sim listening on http://<host>:<port>`, and flushes it: tests and
 * scripts wait for that line. A bad flag or --resources exits 2 with one line.
 * Threads: main blocks the signals before any thread starts and waits for
 * them with sigtimedwait; everything else runs in the sim's threads. */
#define LOG_COMPONENT "sim"
#include "log.h"
#include "mcm.h"
#include "opt.h"
#include "sim.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cfg {
    parse_hostport listen;
    int64_t agents;
    char *resources, *agent_hostname, *work_dir, *redirect_to, *credentials;
    char *attributes, *domains;
    int64_t offer_ms, heartbeat_ms, reg_timeout_ms, retry_ms, grace_ms;
    parse_zk zk;
} cfg;

static cfg C;

static int parse_cfg(int argc, char **argv) {
    opt_spec specs[] = {
        {"listen", OPT_HOSTPORT, &C.listen, "127.0.0.1:5050", "HOST:PORT",
         "Master address (scheduler API and /sim/ admin API); port 0 picks a free port.", 0, 0, 0, NULL},
        {"agents", OPT_INT, &C.agents, "3", "N", "Number of simulated agents, each with its own executor API port.",
         1, 1000, 0, NULL},
        {"resources", OPT_STR, &C.resources, "cpus:4;mem:4096;disk:10240;ports:[31000-31999]", "RESOURCES",
         "Resources of each agent, Mesos agent syntax (name:scalar or name:[a-b,c-d];...). The ports ranges are "
         "split into equal disjoint slices, one per agent.", 0, 0, 0, NULL},
        {"offer-interval", OPT_DURATION, &C.offer_ms, "1s", "DURATION", "How often free resources are offered.",
         10, 3600000, 0, NULL},
        {"heartbeat-interval", OPT_DURATION, &C.heartbeat_ms, "15s", "DURATION",
         "HEARTBEAT event interval (Mesos: 15s).", 10, 3600000, 0, NULL},
        {"attributes", OPT_STR, &C.attributes, NULL, "ATTRS",
         "Agent attributes, Mesos syntax (rack:r1;zone:a;tier:cache); several sets separated by '|': agent i "
         "takes set i modulo their number.", 0, 0, 0, NULL},
        {"domains", OPT_STR, &C.domains, NULL, "REGION/ZONE",
         "Agent fault domains (DomainInfo), e.g. 'us-east/a|us-east/b|us-east/c': agent i takes domain i modulo "
         "their number. The master's region is the first agent's; agents in other regions are offered only to "
         "REGION_AWARE frameworks.", 0, 0, 0, NULL},
        {"agent-hostname", OPT_STR, &C.agent_hostname, "127.0.0.1", "HOST",
         "Hostname in offers and AgentInfo; several separated by '|': agent i takes name i modulo their number.",
         0, 0, 0, NULL},
        {"work-dir", OPT_STR, &C.work_dir, NULL, "DIR",
         "Where executor sandboxes go (default: a temporary directory removed at exit).", 0, 0, 0, NULL},
        {"zk", OPT_ZK, &C.zk, NULL, "URL",
         "zk://host:port/path: register as a Mesos master (json.info_ node); the lowest leads.", 0, 0, 0, NULL},
        {"redirect-to", OPT_STR, &C.redirect_to, NULL, "URL",
         "Start as a non-leading master that answers 307 to this http://host:port.", 0, 0, 0, NULL},
        {"executor-registration-timeout", OPT_DURATION, &C.reg_timeout_ms, "1m", "DURATION",
         "An executor that has not subscribed by then is killed; its tasks fail.", 10, 86400000, 0, NULL},
        {"update-retry", OPT_DURATION, &C.retry_ms, "10s", "DURATION",
         "First resend of an unacknowledged status update (then doubling, up to 10m).", 10, 600000, 0, NULL},
        {"executor-shutdown-grace-period", OPT_DURATION, &C.grace_ms, "5s", "DURATION",
         "Default time between SHUTDOWN and SIGKILL.", 10, 3600000, 0, NULL},
        {"credentials", OPT_STR, &C.credentials, NULL, "FILE",
         "File of `principal secret` lines: scheduler calls then need Basic auth (else 401).", 0, 0, 0, NULL},
    };
    static opt_program prog = {"mcm-sim",
                               "A Mesos master and N agents in one process, speaking the Mesos v1 scheduler and "
                               "executor HTTP APIs, for mcm's tests and local demo. Fault controls under /sim/ "
                               "on the master port (see src/sim/README.md).",
                               NULL, 0};
    prog.specs = specs;
    prog.nspecs = (int)MCM_ARRAY_LEN(specs);
    return opt_parse(&prog, argc, argv);
}

static void free_cfg(void) {
    free(C.resources);
    free(C.agent_hostname);
    free(C.work_dir);
    free(C.redirect_to);
    free(C.credentials);
    free(C.attributes);
    free(C.domains);
    parse_zk_free(&C.zk);
}

static int wait_signal(const sigset_t *set) {
    for (;;) {
        int sig = sigwaitinfo(set, NULL);
        if (sig == SIGTERM || sig == SIGINT) return sig;
    }
}

int main(int argc, char **argv) {
    log_init("mcm-sim");
    int rc = parse_cfg(argc, argv);
    if (rc != OPT_CONTINUE) {
        free_cfg();
        return rc;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    sim_config sc = {
        .listen_host = C.listen.host, .listen_port = C.listen.port, .agents = (int)C.agents,
        .resources = C.resources, .offer_interval_ms = C.offer_ms, .heartbeat_interval_ms = C.heartbeat_ms,
        .agent_hostname = C.agent_hostname, .work_dir = C.work_dir, .zk_hosts = C.zk.hosts,
        .zk_path = C.zk.path, .redirect_to = C.redirect_to, .registration_timeout_ms = C.reg_timeout_ms,
        .update_retry_ms = C.retry_ms, .shutdown_grace_ms = C.grace_ms, .credentials_file = C.credentials,
        .agent_attributes = C.attributes, .agent_domains = C.domains,
    };
    char err[512];
    int usage = 0;
    sim *s = sim_new(&sc, &usage, err, sizeof(err));
    if (!s) {
        if (usage) fprintf(stderr, "mcm-sim: %s\n", err);
        else log_error("%s", err);
        free_cfg();
        return usage ? 2 : 1;
    }
    printf("mcm-sim listening on http://%s:%d\n", strchr(C.listen.host, ':') ? "[::1]" : C.listen.host, sim_port(s));
    fflush(stdout);
    int sig = wait_signal(&set);
    log_info("signal %d: killing executors and exiting", sig);
    sim_free(s);
    free_cfg();
    return 0;
}
