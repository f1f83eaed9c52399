/* opt_demo.c -- a program with one flag of every kind, for test_opt.
 * Prints the resolved values, one per line, so the test can check them. */
#include "log.h"
#include "opt.h"

#include <inttypes.h>
#include <stdio.h>

int main(int argc, char **argv) {
    char *name = NULL, *format = NULL;
    int64_t count = 0, timeout = 0;
    double ratio = 0;
    int flag = 0;
    uint64_t mem = 0;
    parse_hostport listen = {{0}, 0};
    parse_zk zk = {0};
    opt_master master = {0};
    opt_spec specs[] = {
        {"name", OPT_STR, &name, "demo", "TEXT", "A name.", 0, 0, 0, NULL},
        {"format", OPT_ENUM, &format, "plain", "FORMAT", "plain or json.", 0, 0, 0, "plain|json"},
        {"count", OPT_INT, &count, "3", "N", "A count.", 1, 100, 0, NULL},
        {"ratio", OPT_DOUBLE, &ratio, "0.8", "R", "A ratio.", 0, 1, 0, NULL},
        {"flag", OPT_BOOL, &flag, "false", NULL, "A switch.", 0, 0, 0, NULL},
        {"timeout", OPT_DURATION, &timeout, "10s", "DURATION", "A timeout.", 100, 3600000, 0, NULL},
        {"mem", OPT_SIZE, &mem, "64", "SIZE", "Memory (plain numbers are MiB).", 0, 0, OPT_PLAIN_MIB, NULL},
        {"listen", OPT_HOSTPORT, &listen, "127.0.0.1:0", "HOST:PORT", "Where to listen (<host>:<port>).", 0, 0, 0, NULL},
        {"zk", OPT_ZK, &zk, NULL, "URL", "ZooKeeper.", 0, 0, OPT_REQUIRED, NULL},
        {"master", OPT_MASTER, &master, "http://127.0.0.1:5050", "URL", "Mesos master.", 0, 0, 0, NULL},
    };
    opt_program prog = {"opt-demo", "Demonstrates every kind of flag.", specs, 10};
    log_init(argv[0]);
    int rc = opt_parse(&prog, argc, argv);
    if (rc != OPT_CONTINUE) {
        opt_free(&prog);
        return rc;
    }
    printf("name=%s\nformat=%s\ncount=%" PRId64 "\nratio=%g\nflag=%d\ntimeout=%" PRId64
           "\nmem=%" PRIu64 "\nlisten=%s:%d\nzk=%s%s\nmaster=%s\nloglevel=%s\n",
           name, format, count, ratio, flag, timeout, mem, listen.host, listen.port, zk.hosts, zk.path,
           master.is_zk ? master.zk.hosts : master.http.urls[0], log_level_name((log_level)log_min_level));
    opt_free(&prog);
    return 0;
}
