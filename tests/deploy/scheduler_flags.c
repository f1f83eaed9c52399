/* scheduler_flags.c -- mcm-scheduler's flag table without the scheduler.
 *
 * Parses argv and the environment exactly as mcm-scheduler does (the same
 * sched_config_parse over the same table in src/scheduler/config.c, with the
 * same program name, so `--help` and `--help=markdown` print the same bytes)
 * and then, instead of running, prints "flags ok" and exits 0. tests/deploy
 * uses it to check that the MCM_* variables and flags in deploy/ parse, and
 * scripts/gen-config-ref uses it until the mcm-scheduler program is built.
 * Exit status: 0 (parsed, or --help/--version), 2 (usage error, one line). */
#include "config.h"
#include "log.h"

#include <stdio.h>

int main(int argc, char **argv) {
    sched_config c;
    log_init("mcm-scheduler");
    int rc = sched_config_parse(&c, argc, argv);
    if (rc == OPT_CONTINUE) {
        printf("flags ok\n");
        rc = 0;
    }
    sched_config_free(&c);
    return rc;
}
