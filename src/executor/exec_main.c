/* exec_main.c -- mcm-executor: runs one memcached per Mesos task.
 *
 * CONTRACT WITH THE SCHEDULER (src/scheduler builds tasks to exactly this;
 * also in README.md here):
 *  - One executor per task. ExecutorInfo.command (shell) runs `mcm-executor`;
 *    it is configured by the environment the Mesos agent sets (MESOS_*, see
 *    mesos_exec.h) plus these, each also a flag (`mcm-executor --help`):
 *      MCM_MEMCACHED_COMMAND  --memcached-command  default "memcached" (PATH; may carry flags)
 *      MCM_MEMCACHED_LISTEN   --memcached-listen   default 0.0.0.0 (bind address)
 *      MCM_DOCKER_IMAGE       --docker-image       optional: memcached via `docker run`
 *      MCM_REPORT_INTERVAL    --report-interval    default 5s (duration)
 *      MCM_STOP_GRACE         --stop-grace         default 5s (SIGTERM..SIGKILL without KillPolicy)
 *      MCM_READY_TIMEOUT      --ready-timeout      default 30s (memcached must answer `version`)
 *      MCM_ACK_TIMEOUT        --ack-timeout        default 10s (wait for the terminal update's ACK)
 *      MCM_HEALTH_INTERVAL    --health-interval    default 5s (memcached `version` probe period)
 *      MCM_HEALTH_TIMEOUT     --health-timeout     default 2s (a probe fails unless answered within it)
 *      MCM_HEALTH_UNHEALTHY_AFTER --health-unhealthy-after  default 3 (failed probes in a row:
 *                                                  TASK_RUNNING healthy=false)
 *      MCM_HEALTH_FAIL_AFTER  --health-fail-after  default 6 (failed probes in a row: memcached is
 *                                                  hung, SIGKILLed, TASK_FAILED healthy=false)
 *      MCM_LOG_LEVEL          --log-level          default info
 *  - LAUNCH TaskInfo: port = begin of the first range of the `ports`
 *    resource; memory = the sum of the `mem` scalar resources (MiB), from
 *    which memcached's -m is derived (mcd_memory_limit_mib). TaskInfo
 *    kill_policy.grace_period, if set, is the stop grace for KILL.
 *  - On LAUNCH: TASK_STARTING; start memcached; when it answers `version`:
 *    TASK_RUNNING with message "memcached <version> on <listen>:<port>".
 *    If it cannot start, exits, or does not answer within the ready timeout:
 *    TASK_FAILED, reason REASON_COMMAND_EXECUTOR_FAILED, the cause in the
 *    message; then exit 1 once the update is ACKNOWLEDGED (or after the ACK
 *    timeout). A TaskInfo without a usable `ports` or `mem` resource:
 *    TASK_FAILED, REASON_TASK_INVALID, exit 1.
 *  - Every report interval while running: memcached `stats` + CPU time ->
 *    report.h JSON (v1; task_id, time_ms = executor wall clock) -> executor
 *    MESSAGE call; the agent forwards it to the scheduler as Event MESSAGE
 *    (data = the JSON, executor_id = this executor).
 *  - TASK_RUNNING carries healthy=true. While running, memcached is asked
 *    `version` every health interval on its own connection (never blocking
 *    the executor); after --health-unhealthy-after failures in a row:
 *    TASK_RUNNING healthy=false, reason REASON_TASK_HEALTH_CHECK_STATUS_UPDATED,
 *    message "memcached unhealthy: ..."; one answer: TASK_RUNNING healthy=true
 *    (same reason). After --health-fail-after failures in a row memcached is
 *    hung: SIGKILL, TASK_FAILED healthy=false, REASON_COMMAND_EXECUTOR_FAILED,
 *    message "memcached hung: ..."; exit 1 as below.
 *  - memcached exits on its own: TASK_FAILED, REASON_COMMAND_EXECUTOR_FAILED,
 *    message "memcached exited with status N" / "memcached was killed by
 *    signal N"; wait for the ACK (bounded), exit 1.
 *  - KILL: TASK_KILLING first if the framework has the TASK_KILLING_STATE
 *    capability; memcached stopped (SIGTERM, SIGKILL after the grace from
 *    the KILL's kill_policy, else the TaskInfo's, else MCM_STOP_GRACE);
 *    TASK_KILLED (no reason, message "killed by the scheduler"); wait for the
 *    ACK (bounded), exit 0.
 *  - SHUTDOWN, and SIGTERM/SIGINT: the same for a live task (TASK_KILLED,
 *    message "executor shut down (...)", stop grace capped at half of
 *    MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD), everything over within that grace
 *    period; exit 0.
 *  - A second LAUNCH: TASK_FAILED for the new task, REASON_TASK_INVALID
 *    (one server per executor); the first task is unaffected.
 *  - Losing the agent: without checkpointing, memcached is stopped and the
 *    executor exits 1 at once; with checkpointing it keeps memcached serving
 *    and subscribes again (backoff <= MESOS_SUBSCRIPTION_BACKOFF_MAX), resending
 *    unacknowledged updates and tasks, for up to MESOS_RECOVERY_TIMEOUT, then
 *    stops memcached and exits 1.
 *  - A missing or bad MESOS_* variable: one line on stderr naming it, exit 2
 *    (as for a bad flag).
 *
 * Shape: main parses flags and the agent's environment, blocks SIGTERM/SIGINT
 * and hands over to exec_loop_run. Threads: main, before any other starts. */
#define LOG_COMPONENT "executor"
#include "exec_loop.h"
#include "log.h"
#include "mcm.h"
#include "mesos_exec.h"
#include "opt.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

static struct {
    char *command, *listen, *docker_image;
    int64_t report_ms, stop_grace_ms, ready_ms, ack_ms;
    int64_t health_ms, health_timeout_ms, unhealthy_after, fail_after;
} F;

static opt_spec specs[] = {
    {"memcached-command", OPT_STR, &F.command, "memcached", "CMD",
     "memcached to run (PATH or a path; may carry extra flags). -l, -p, -m, -U 0 are added.", 0, 0, 0, NULL},
    {"memcached-listen", OPT_STR, &F.listen, "0.0.0.0", "ADDR", "Address memcached binds to.", 0, 0, 0, NULL},
    {"docker-image", OPT_STR, &F.docker_image, NULL, "IMAGE",
     "Run memcached from this image with `docker run` instead of directly.", 0, 0, 0, NULL},
    {"report-interval", OPT_DURATION, &F.report_ms, "5s", "DURATION",
     "How often memcached's figures go to the scheduler (executor MESSAGE).", 100, 3600000, 0, NULL},
    {"stop-grace", OPT_DURATION, &F.stop_grace_ms, "5s", "DURATION",
     "SIGTERM to SIGKILL when stopping memcached, unless the task's KillPolicy says otherwise.", 0, 600000, 0,
     NULL},
    {"ready-timeout", OPT_DURATION, &F.ready_ms, "30s", "DURATION",
     "memcached must answer `version` within this, or the task fails.", 100, 3600000, 0, NULL},
    {"ack-timeout", OPT_DURATION, &F.ack_ms, "10s", "DURATION",
     "After the task's last update, wait at most this long for the agent's ACKNOWLEDGED.", 0, 600000, 0,
     NULL},
    {"health-interval", OPT_DURATION, &F.health_ms, "5s", "DURATION",
     "How often memcached is asked `version` (its own connection) to find a hung server.", 100, 3600000, 0, NULL},
    {"health-timeout", OPT_DURATION, &F.health_timeout_ms, "2s", "DURATION",
     "A probe fails unless memcached answers within this.", 10, 600000, 0, NULL},
    {"health-unhealthy-after", OPT_INT, &F.unhealthy_after, "3", "N",
     "Failed probes in a row after which the task is reported unhealthy (TASK_RUNNING healthy=false).", 1, 1000,
     0, NULL},
    {"health-fail-after", OPT_INT, &F.fail_after, "6", "N",
     "Failed probes in a row after which memcached counts as hung: it is killed and the task fails.", 1, 1000, 0,
     NULL},
};

static opt_program prog = {
    "mcm-executor",
    "Mesos executor of mcm: started by a Mesos agent (which sets MESOS_AGENT_ENDPOINT, MESOS_FRAMEWORK_ID, "
    "MESOS_EXECUTOR_ID, MESOS_DIRECTORY, ...), it runs one memcached per task on the task's port with -m "
    "derived from its mem, reports TASK_STARTING/RUNNING/FAILED/KILLED, and sends memcached's figures to "
    "the scheduler every report interval.",
    specs, (int)MCM_ARRAY_LEN(specs)};

int main(int argc, char **argv) {
    char err[512];
    mesos_exec_config mc;
    log_init("mcm-executor");
    log_set_role("executor");
    int rc = opt_parse(&prog, argc, argv);
    if (rc != OPT_CONTINUE) goto out;
    if (F.fail_after < F.unhealthy_after) {
        fprintf(stderr, "mcm-executor: --health-fail-after (%lld) is below --health-unhealthy-after (%lld)\n",
                (long long)F.fail_after, (long long)F.unhealthy_after);
        rc = 2;
        goto out;
    }
    if (mesos_exec_config_from_env(&mc, err, sizeof(err)) != MCM_OK) {
        fprintf(stderr, "mcm-executor: %s\n", err);
        rc = 2;
        goto out;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    exec_opts o = {F.command, F.listen, F.docker_image, F.report_ms, F.stop_grace_ms, F.ready_ms, F.ack_ms,
                   F.health_ms, F.health_timeout_ms, F.unhealthy_after, F.fail_after};
    rc = exec_loop_run(&o, &mc);
    mesos_exec_config_free(&mc);
out:
    opt_free(&prog);
    return rc;
}
