/* ctl_main.c -- mcmctl: the operator's command for an mcm installation.
 *
 *   mcmctl [flags] status | servers | scale N | restart TASK | teardown | history | watch
 *
 * What: the flag table (opt.h: every flag also an MCM_* environment
 * variable, --help, --help=markdown, --version, --log-level, as in every mcm
 * program), the split of argv into flags and the subcommand's words, and the
 * dispatch. Flags may come before or after the subcommand.
 * Why the split: opt_parse takes flags only; the words that are not flags
 * (or values of flags written "--flag value") are the subcommand and its
 * arguments.
 * Exit status: 0 done, 1 failed (one line on stderr names the problem),
 * 2 usage.
 * Thread: main (mcmctl has no other). */
#define LOG_COMPONENT "ctl"
#include "ctl.h"
#include "log.h"
#include "mcm.h"
#include "opt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CTL_MAX_WORDS 8

static ctl C;

typedef struct subcmd {
    const char *name;
    int (*run)(ctl *, int, char **);
} subcmd;

static const subcmd cmds[] = {
    {"status", ctl_cmd_status},     {"servers", ctl_cmd_servers}, {"scale", ctl_cmd_scale},
    {"restart", ctl_cmd_restart},   {"teardown", ctl_cmd_teardown}, {"history", ctl_cmd_history},
    {"watch", ctl_cmd_watch},
};

static opt_spec specs[] = {
    {"url", OPT_STR, &C.url_flag, NULL, "URL[,URL...]",
     "Replicas' HTTP API, tried in order (http://host:port; a bare host:port means http). Default: "
     "http://127.0.0.1:8080 unless --zk is given.", 0, 0, 0, NULL},
    {"zk", OPT_ZK, &C.zk, NULL, "URL",
     "Find the replicas through ZooKeeper: zk://host:port[,...]/root (the election members under <root>/leader); "
     "also where `history` reads the decision list.", 0, 0, 0, NULL},
    {"admin-token-file", OPT_STR, &C.token_file, NULL, "FILE",
     "File holding the bearer token for operator calls (scale, restart, teardown); sent only to replicas of "
     "this installation.", 0, 0, 0, NULL},
    {"timeout", OPT_DURATION, &C.timeout_ms, "5m", "DURATION",
     "How long scale, restart and teardown wait for their result.", 0, 604800000, 0, NULL},
    {"request-timeout", OPT_DURATION, &C.request_ms, "10s", "DURATION", "Timeout of one HTTP request.", 100,
     3600000, 0, NULL},
    {"rate-window", OPT_DURATION, &C.rate_ms, "6s", "DURATION",
     "servers: wait up to this long for a second report of every server to show evictions/s (0: do not wait).",
     0, 3600000, 0, NULL},
    {"poll-wait", OPT_DURATION, &C.poll_ms, "30s", "DURATION", "watch: the long poll's wait.", 1000, 300000, 0,
     NULL},
    {"changes", OPT_INT, &C.changes, "0", "N", "watch: exit after N changes (0: run until interrupted).", 0,
     1000000000, 0, NULL},
    {"json", OPT_BOOL, &C.json, "false", NULL, "status, servers, history, watch: print JSON for scripts.", 0, 0,
     0, NULL},
    {"yes", OPT_BOOL, &C.yes, "false", NULL, "teardown: do not ask for the framework ID.", 0, 0, 0, NULL},
};

static opt_program prog = {
    CTL_PROGRAM,
    "The operator's command for an mcm installation: talks to any scheduler replica's HTTP API "
    "(--url, or the replicas found through --zk) and follows a follower's redirect to the leader. "
    "Subcommands: status (leader, replicas, ZooKeeper and Mesos, counts); servers (one row per memcached "
    "server: memory, items, hit ratio, evictions/s, ring share; --json); scale N (waits until N servers run); "
    "restart TASK (waits for the replacement); teardown (asks for the framework ID unless --yes); history "
    "(autoscaling decisions and blocked decisions, with reasons and times); watch (prints each change of the "
    "server list). Exit status 0 done, 1 failed, 2 usage. Usage: mcmctl [flags] SUBCOMMAND [ARG].",
    specs, (int)MCM_ARRAY_LEN(specs)};

/* 1 if arg is "--name" (no '=') for a flag that takes a value. */
static int takes_value(const char *arg) {
    if (strncmp(arg, "--", 2) != 0 || strchr(arg, '=')) return 0;
    if (strcmp(arg, "--log-level") == 0) return 1;
    for (size_t i = 0; i < MCM_ARRAY_LEN(specs); i++)
        if (strcmp(arg + 2, specs[i].name) == 0) return specs[i].type != OPT_BOOL;
    return 0;
}

/* Splits argv into flags (fargv, with argv[0]) and words; MCM_ERR on too many words. */
static int split(int argc, char **argv, char **fargv, int *fargc, char **words, int *nwords) {
    *fargc = 0;
    *nwords = 0;
    fargv[(*fargc)++] = argv[0];
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) == 0 || strcmp(argv[i], "-h") == 0) {
            fargv[(*fargc)++] = argv[i];
            if (takes_value(argv[i]) && i + 1 < argc) fargv[(*fargc)++] = argv[++i];
        } else if (*nwords < CTL_MAX_WORDS) {
            words[(*nwords)++] = argv[i];
        } else {
            return MCM_ERR;
        }
    }
    fargv[*fargc] = NULL;
    return MCM_OK;
}

static const subcmd *find_cmd(const char *name) {
    for (size_t i = 0; i < MCM_ARRAY_LEN(cmds); i++)
        if (strcmp(cmds[i].name, name) == 0) return &cmds[i];
    return NULL;
}

int main(int argc, char **argv) {
    log_init(CTL_PROGRAM);
    log_set_level(LOG_WARNING);     /* an interactive command: only what matters */
    char **fargv = calloc((size_t)argc + 1, sizeof(char *));
    char *words[CTL_MAX_WORDS];
    int fargc, nwords;
    if (!fargv) return CTL_EXIT_FAILED;
    if (split(argc, argv, fargv, &fargc, words, &nwords) != MCM_OK) {
        ctl_fail("too many arguments (see mcmctl --help)");
        free(fargv);
        return CTL_EXIT_USAGE;
    }
    int rc = opt_parse(&prog, fargc, fargv);
    free(fargv);
    if (rc != OPT_CONTINUE) {
        opt_free(&prog);
        return rc;
    }
    const subcmd *cmd = nwords ? find_cmd(words[0]) : NULL;
    if (!cmd) {
        if (nwords) ctl_fail("unknown subcommand '%s' (status, servers, scale, restart, teardown, history, watch)", words[0]);
        else ctl_fail("give a subcommand: status, servers, scale N, restart TASK, teardown, history or watch");
        opt_free(&prog);
        return CTL_EXIT_USAGE;
    }
    C.tty = isatty(STDOUT_FILENO);
    rc = ctl_inst_init(&C);
    if (rc == CTL_EXIT_OK) rc = cmd->run(&C, nwords, words);
    ctl_inst_free(&C);
    opt_free(&prog);
    return rc;
}
