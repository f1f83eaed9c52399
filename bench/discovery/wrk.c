/* wrk.c -- runs the wrk load generator once and reads its report.
 *
 * wrk prints human text only; we take "Requests/sec:", the 50% and 99% lines
 * of "Latency Distribution" (--latency; values like 812.00us, 1.23ms, 1.01s),
 * the "N requests in" count, "Non-2xx or 3xx responses:" and "Socket errors:".
 * A report without Requests/sec or the percentiles is a failure (the raw
 * output is shown), never a zero figure. Around the run it also samples the
 * server's CPU time (utime + stime from /proc/<pid>/stat, all its threads)
 * and wrk's (RUSAGE_CHILDREN once it is reaped), as % of one CPU over the
 * wall time from starting wrk to seeing it exit (checked every 5 ms), and
 * how busy CPU 0 and CPU 1 were (/proc/stat: everything but idle and
 * iowait). A CPU busier than its pinned process shows the rest: loopback
 * TCP in softirq context (not charged to any process) and other programs.
 *
 * Threads: the main thread. */
#include "bench_discovery.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* "1.23ms" -> 1.23; -1 if the unit is unknown. */
static double to_ms(const char *s) {
    char *end;
    double v = strtod(s, &end);
    if (end == s) return -1;
    if (!strncmp(end, "us", 2)) return v / 1000.0;
    if (!strncmp(end, "ms", 2)) return v;
    if (!strncmp(end, "s", 1)) return v * 1000.0;
    if (!strncmp(end, "m", 1)) return v * 60000.0;
    return -1;
}

static void parse_line(const char *line, wrk_result *r) {
    const char *p = line + strspn(line, " \t");
    long c, rd, w, t;
    if (!strncmp(p, "Requests/sec:", 13)) r->rps = strtod(p + 13, NULL);
    else if (!strncmp(p, "50%", 3)) r->p50_ms = to_ms(p + 3 + strspn(p + 3, " "));
    else if (!strncmp(p, "99%", 3)) r->p99_ms = to_ms(p + 3 + strspn(p + 3, " "));
    else if (!strncmp(p, "Non-2xx or 3xx responses:", 25)) r->bad_status = atol(p + 25);
    else if (sscanf(p, "Socket errors: connect %ld, read %ld, write %ld, timeout %ld", &c, &rd, &w, &t) == 4)
        r->sock_errors = c + rd + w + t;
    else if (strstr(p, " requests in ")) r->requests = atol(p);
}

/* utime + stime of pid in seconds (all threads), -1 if unreadable. */
static double cpu_s(int pid) {
    char path[64];
    unsigned long ut, st;
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');   /* the command name may hold spaces */
    if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* CPU time of the reaped children so far (wrk is the only one reaped during a run). */
static double children_cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Busy and total jiffies of CPUs 0 and 1 from /proc/stat (0 if absent). */
static void cpu_ticks(unsigned long long busy[2], unsigned long long total[2]) {
    busy[0] = busy[1] = total[0] = total[1] = 0;
    FILE *f = fopen("/proc/stat", "r");
    char line[512];
    while (f && fgets(line, sizeof(line), f)) {
        unsigned long long v[8] = {0};
        int cpu;
        if (sscanf(line, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]) != 9 || cpu < 0 || cpu > 1)
            continue;
        for (int i = 0; i < 8; i++) total[cpu] += v[i];
        busy[cpu] = total[cpu] - v[3] - v[4];   /* minus idle and iowait */
    }
    if (f) fclose(f);
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot read %s", path);
    static char buf[16384];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

void wrk_run(const wrk_opts *o, const char *url, const char *header, wrk_result *r) {
    char t[16], c[16], d[16], log[1024];
    snprintf(t, sizeof(t), "-t%d", o->threads);
    snprintf(c, sizeof(c), "-c%d", o->conns);
    snprintf(d, sizeof(d), "-d%ds", o->duration_s);
    snprintf(log, sizeof(log), "%s/wrk.out", o->dir);
    unlink(log);
    char *argv[] = {(char *)o->wrk, t, c, d, "--latency", (char *)url, NULL, NULL, NULL};
    if (header) {
        argv[5] = "-H";
        argv[6] = (char *)header;
        argv[7] = (char *)url;
    }
    double c0 = o->server_pid ? cpu_s(o->server_pid) : -1, w0 = children_cpu_s(), t0 = bench_now_ms();
    unsigned long long b0[2], n0[2], b1[2], n1[2];
    cpu_ticks(b0, n0);
    th_proc *p = bench_spawn(o->cpu, argv, log);
    int st = -1;
    double deadline = bench_now_ms() + (o->duration_s + 30) * 1000.0;
    while (!th_proc_exited(p, &st) && bench_now_ms() < deadline) usleep(5000);
    double c1 = o->server_pid ? cpu_s(o->server_pid) : -1, wall_s = (bench_now_ms() - t0) / 1000.0;
    cpu_ticks(b1, n1);
    th_proc_free(p);
    double w1 = children_cpu_s();
    char *out = slurp(log);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "wrk failed (status %d):\n%s", st, out);
    memset(r, 0, sizeof(*r));
    r->rps = r->p50_ms = r->p99_ms = -1;
    r->server_cpu_pct = c0 >= 0 && c1 >= 0 ? 100.0 * (c1 - c0) / wall_s : -1;
    r->wrk_cpu_pct = 100.0 * (w1 - w0) / wall_s;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) parse_line(line, r);
    ck_assert_msg(r->rps >= 0 && r->p50_ms >= 0 && r->p99_ms >= 0, "cannot read wrk's report:\n%s", slurp(log));
    for (int i = 0; i < 2; i++)
        r->cpu_busy_pct[i] = n1[i] > n0[i] ? 100.0 * (double)(b1[i] - b0[i]) / (double)(n1[i] - n0[i]) : -1;
    r->per_cpu_s = r->server_cpu_pct > 0 ? r->rps * 100.0 / r->server_cpu_pct : -1;
}
