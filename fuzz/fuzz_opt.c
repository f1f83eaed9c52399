/* fuzz_opt.c -- libFuzzer target: option and environment parsing (opt_parse
 * with one flag of every kind, and the parse_* value parsers behind them).
 * The input is split at NUL bytes: the first piece is the environment value
 * of --count (MCM_COUNT), the rest are argv. Checked beyond no
 * crash/leak/UB: a successful parse leaves every value within its declared
 * bounds. Threads: one. */
#include "log.h"
#include "mcm.h"
#include "opt.h"
#include "parse.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARGS_MAX 16

static void values(const char *s) {
    int64_t v;
    uint64_t u;
    double d;
    int b;
    char err[128];
    parse_hostport hp;
    parse_zk zk = {0};
    parse_urls urls = {0};
    if (parse_duration_ms(s, &v, err, sizeof(err)) == MCM_OK && v < 0) abort();
    parse_size(s, 1, &u, err, sizeof(err));
    if (parse_int64(s, -5, 5, &v, err, sizeof(err)) == MCM_OK && (v < -5 || v > 5)) abort();
    if (parse_double(s, 0, 1, &d, err, sizeof(err)) == MCM_OK && !(d >= 0 && d <= 1)) abort();
    parse_bool(s, &b, err, sizeof(err));
    if (parse_host_port(s, 0, &hp, err, sizeof(err)) == MCM_OK && (hp.port < 1 || hp.port > 65535)) abort();
    parse_zk_url(s, &zk, err, sizeof(err));
    parse_zk_free(&zk);
    parse_http_urls(s, &urls, err, sizeof(err));
    parse_urls_free(&urls);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *buf = malloc(size + 1), *argv[ARGS_MAX + 2] = {"fuzz-opt"};
    int argc = 1;
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *env = buf, *p = buf + strlen(buf) + 1;
    while (p < buf + size + 1 && argc < ARGS_MAX + 1) {
        argv[argc++] = p;
        values(p);
        p += strlen(p) + 1;
    }
    argv[argc] = NULL;
    values(env);
    setenv("MCM_COUNT", env, 1);
    int64_t count = 0, timeout = 0;
    double ratio = 0;
    int flag = 0;
    uint64_t mem = 0;
    char *name = NULL, *format = NULL;
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
        {"mem", OPT_SIZE, &mem, "64", "SIZE", "Memory.", 0, 0, OPT_PLAIN_MIB, NULL},
        {"listen", OPT_HOSTPORT, &listen, "127.0.0.1:0", "HOST:PORT", "Where to listen.", 0, 0, 0, NULL},
        {"zk", OPT_ZK, &zk, "zk://127.0.0.1:2181/mcm", "URL", "ZooKeeper.", 0, 0, 0, NULL},
        {"master", OPT_MASTER, &master, "http://127.0.0.1:5050", "URL", "Mesos master.", 0, 0, 0, NULL},
    };
    opt_program prog = {"fuzz-opt", "Every kind of flag.", specs, (int)MCM_ARRAY_LEN(specs)};
    FILE *saved = stdout;
    stdout = fopen("/dev/null", "w");             /* --help and --version print */
    int rc = opt_parse(&prog, argc, argv);
    fclose(stdout);
    stdout = saved;
    if (rc == OPT_CONTINUE && (count < 1 || count > 100 || !(ratio >= 0 && ratio <= 1) ||
                               timeout < 100 || timeout > 3600000))
        abort();
    opt_free(&prog);
    unsetenv("MCM_COUNT");
    free(buf);
    return 0;
}
