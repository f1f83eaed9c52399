/* scale_inst.c -- one mcm installation of N servers on loopback, and /proc figures.
 *
 * What: a real ZooKeeper (harness), mcm-sim with N agents whose executors are
 * the real mcm-executor, and SCALE_REPLICAS mcm-scheduler replicas asking for
 * N servers, one per agent, at the executors' default report interval (5 s).
 * Why not tests/integration/cluster.c: it gives each agent 20 ports from
 * 20000 up, which at 1,000 agents runs into Linux's ephemeral port range
 * (32768-60999), and it sets a 1 s report interval; here each agent gets 2
 * ports below 32768 and the defaults stay. Everything else is the same
 * recipe (loopback, --hostname 127.0.0.1, memcached on 127.0.0.1).
 * Flags that differ from mcm's defaults, and why: --mem 32MiB and --cpus 0.1
 * (1,000 servers on one host), --instances-max N, --drain-time 3s (a
 * replacement's warm transition ends in seconds, not 30 s, so the next part
 * starts from a quiet fleet), --refuse-time 2s (as the tests).
 *
 * Threads: the main thread. Every child dies with us (harness PDEATHSIG);
 * scale_stop also kills whatever still runs in the sandboxes (a memcached
 * whose executor died first). */
#include "scale.h"

#include <check.h>
#include <curl/curl.h>
#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct scale_inst {
    scale_opts o;
    char *dir;
    th_zk *zk;
    th_proc *sim;
    int sim_port;
    th_proc *rep[SCALE_REPLICAS];
    int rep_port[SCALE_REPLICAS];
    char zk_url[128], exec[1024], memcached[1024];
};

int64_t scale_mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int64_t scale_wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static const char *bin(const scale_opts *o, const char *rel, char *buf, size_t len) {
    snprintf(buf, len, "%s/%s", o->build, rel);
    ck_assert_msg(access(buf, X_OK) == 0, "%s is not built", buf);
    return buf;
}

static int log_has(const char *path, const char *needle) {
    FILE *f = fopen(path, "r");
    char line[4096];
    int found = 0;
    while (f && !found && fgets(line, sizeof(line), f)) found = strstr(line, needle) != NULL;
    if (f) fclose(f);
    return found;
}

static void start_sim(scale_inst *s) {
    char sim[1024], listen[64], res[256], log[1024], work[1024], agents[16];
    int base = 20000 + (rand() % 50) * 200;    /* 2 ports an agent: at most 31,799 */
    s->sim_port = th_free_port();
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", s->sim_port);
    snprintf(res, sizeof(res), "cpus:1;mem:512;disk:1024;ports:[%d-%d]", base, base + 2 * s->o.n - 1);
    snprintf(log, sizeof(log), "%s/sim.log", s->dir);
    snprintf(work, sizeof(work), "%s/sim", s->dir);
    snprintf(agents, sizeof(agents), "%d", s->o.n);
    char *argv[] = {(char *)bin(&s->o, "src/sim/mcm-sim", sim, sizeof(sim)), "--listen", listen, "--agents", agents,
                    "--resources", res, "--offer-interval", "500ms", "--work-dir", work,
                    "--executor-registration-timeout", "5m", NULL};
    s->sim = th_proc_start(argv, log);
    for (int t = 0; t < 120000 && !log_has(log, "listening on"); t += 50) usleep(50000);
    ck_assert_msg(log_has(log, "listening on"), "mcm-sim did not start (see %s)", log);
}

static void start_replica(scale_inst *s, int i) {
    char sched[1024], log[1024], http[64], master[64], inst[16], max[16], st[32];
    s->rep_port[i] = th_free_port();
    snprintf(http, sizeof(http), "127.0.0.1:%d", s->rep_port[i]);
    snprintf(master, sizeof(master), "http://127.0.0.1:%d", s->sim_port);
    snprintf(log, sizeof(log), "%s/scheduler-%d.log", s->dir, i);
    snprintf(inst, sizeof(inst), "%d", s->o.n);
    snprintf(max, sizeof(max), "%d", s->o.n > 100 ? s->o.n : 100);
    snprintf(st, sizeof(st), "%dms", s->o.session_ms);
    char *argv[] = {(char *)bin(&s->o, "src/scheduler/mcm-scheduler", sched, sizeof(sched)), "--zk", s->zk_url,
                    "--master", master, "--http-listen", http, "--instances", inst, "--instances-max", max,
                    "--zk-session-timeout", st, "--executor-command", s->exec, "--memcached-command",
                    s->memcached, "--memcached-listen", "127.0.0.1", "--hostname", "127.0.0.1", "--mem", "32MiB",
                    "--cpus", "0.1", "--drain-time", "3s", "--refuse-time", "2s", "--admin-insecure",
                    "--log-level", "info", NULL};
    s->rep[i] = th_proc_start(argv, log);
}

scale_inst *scale_start(const scale_opts *o, int mcm) {
    scale_inst *s = calloc(1, sizeof(*s));
    ck_assert(s != NULL);
    s->o = *o;
    s->dir = th_tempdir();
    srand((unsigned)(getpid() ^ time(NULL)));
    bin(o, "src/executor/mcm-executor", s->exec, sizeof(s->exec));
    snprintf(s->memcached, sizeof(s->memcached), "memcached");
    start_sim(s);
    if (!mcm) return s;
    s->zk = th_zk_start();
    snprintf(s->zk_url, sizeof(s->zk_url), "zk://%s/mcm", th_zk_hosts(s->zk));
    for (int i = 0; i < SCALE_REPLICAS; i++) start_replica(s, i);
    return s;
}

/* Kills what still runs with its working directory in ours (see the top). */
static void sweep(const char *dir) {
    size_t n = strlen(dir);
    for (int round = 0; round < 50; round++) {
        int found = 0;
        DIR *d = opendir("/proc");
        struct dirent *e;
        while (d && (e = readdir(d))) {
            char link[300], cwd[PATH_MAX];
            if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
            snprintf(link, sizeof(link), "/proc/%s/cwd", e->d_name);
            ssize_t k = readlink(link, cwd, sizeof(cwd) - 1);
            if (k <= (ssize_t)n) continue;
            cwd[k] = 0;
            if (strncmp(cwd, dir, n) != 0 || cwd[n] != '/') continue;
            kill((pid_t)atoi(e->d_name), SIGKILL);
            found++;
        }
        if (d) closedir(d);
        if (!found) return;
        usleep(100 * 1000);
    }
}

void scale_stop(scale_inst *s) {
    if (!s) return;
    for (int i = 0; i < SCALE_REPLICAS; i++) th_proc_free(s->rep[i]);
    th_proc_stop(s->sim, 20000);
    th_proc_free(s->sim);
    sweep(s->dir);
    th_zk_free(s->zk);
    if (!getenv("MCM_KEEP_TEST_DIRS")) th_rmtree(s->dir);
    free(s->dir);
    free(s);
}

const char *scale_dir(const scale_inst *s) { return s->dir; }
const char *scale_zk_hosts(const scale_inst *s) { return th_zk_hosts(s->zk); }
const char *scale_zk_root(const scale_inst *s) { (void)s; return "/mcm"; }
int scale_sim_port(const scale_inst *s) { return s->sim_port; }
pid_t scale_sim_pid(const scale_inst *s) { return th_proc_pid(s->sim); }
int scale_port(const scale_inst *s, int i) { return s->rep_port[i]; }
pid_t scale_pid(const scale_inst *s, int i) { return s->rep[i] ? th_proc_pid(s->rep[i]) : -1; }
const char *scale_executor(const scale_inst *s) { return s->exec; }
const char *scale_memcached(const scale_inst *s) { return s->memcached; }

int scale_alive(scale_inst *s, int i) {
    int st;
    return s->rep[i] && !th_proc_exited(s->rep[i], &st);
}

void scale_signal(scale_inst *s, int i, int sig) {
    if (s->rep[i]) kill(th_proc_pid(s->rep[i]), sig);
}

void scale_restart(scale_inst *s, int i) {
    th_proc_free(s->rep[i]);   /* waits for it (or stops it) */
    start_replica(s, i);
}

/* --- HTTP ------------------------------------------------------------------- */

typedef struct { char *p; size_t n; } buf;

static size_t collect(char *d, size_t sz, size_t n, void *u) {
    buf *b = u;
    char *np = realloc(b->p, b->n + sz * n + 1);
    if (!np) return 0;
    memcpy(np + b->n, d, sz * n);
    b->p = np;
    b->n += sz * n;
    b->p[b->n] = 0;
    return sz * n;
}

json_t *scale_get_json(int port, const char *path) {
    char url[512];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    CURL *h = curl_easy_init();
    buf b = {0};
    long code = 0;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (curl_easy_perform(h) == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(h);
    json_t *j = code >= 200 && code < 300 && b.p ? json_loads(b.p, 0, NULL) : NULL;
    free(b.p);
    return j;
}

int scale_servers(int port) {
    json_t *j = scale_get_json(port, "/v1/servers");
    int n = j ? (int)json_array_size(json_object_get(j, "servers")) : -1;
    json_decref(j);
    return n;
}

int scale_wait_leader(scale_inst *s, int timeout_ms, int not_this) {
    for (int64_t t0 = scale_mono_ms(); scale_mono_ms() - t0 < timeout_ms; usleep(20000))
        for (int i = 0; i < SCALE_REPLICAS; i++) {
            if (i == not_this || !scale_alive(s, i)) continue;
            json_t *j = scale_get_json(s->rep_port[i], "/v1/status");
            const char *st = j ? json_string_value(json_object_get(j, "leader_state")) : NULL;
            int leads = st && strcmp(st, "leading") == 0;
            json_decref(j);
            if (leads) return i;
        }
    return -1;
}

/* --- /proc ------------------------------------------------------------------- */

/* The number after "name" in /proc/<pid>/<file> (status, smaps_rollup); -1 if absent. */
static long proc_field(pid_t pid, const char *file, const char *name) {
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
    FILE *f = fopen(path, "r");
    long v = -1;
    size_t k = strlen(name);
    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, name, k)) v = atol(line + k);
    if (f) fclose(f);
    return v;
}

static long status_field(pid_t pid, const char *name) { return proc_field(pid, "status", name); }

long scale_rss_kib(pid_t pid) { return status_field(pid, "VmRSS:"); }
long scale_anon_kib(pid_t pid) { return status_field(pid, "RssAnon:"); }
long scale_pss_kib(pid_t pid) { return proc_field(pid, "smaps_rollup", "Pss:"); }
int scale_threads(pid_t pid) { return (int)status_field(pid, "Threads:"); }

double scale_cpu_s(pid_t pid) {
    char path[64], b[1024];
    unsigned long ut, st;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(b, 1, sizeof(b) - 1, f);
    fclose(f);
    b[n] = 0;
    const char *p = strrchr(b, ')');
    if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* 1 if pid's working directory is below dir (its sandbox is ours). */
static int runs_in(const char *pid, const char *dir) {
    char link[300], cwd[PATH_MAX];
    snprintf(link, sizeof(link), "/proc/%s/cwd", pid);
    ssize_t k = readlink(link, cwd, sizeof(cwd) - 1);
    size_t n = strlen(dir);
    if (k <= (ssize_t)n) return 0;
    cwd[k] = 0;
    return strncmp(cwd, dir, n) == 0 && cwd[n] == '/';
}

long scale_rss_of(const scale_inst *s, const char *comm, int *count) {
    long sum = 0;
    *count = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char path[300], name[64] = "";
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        snprintf(path, sizeof(path), "/proc/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (f && fgets(name, sizeof(name), f)) name[strcspn(name, "\n")] = 0;
        if (f) fclose(f);
        if (strcmp(name, comm) != 0 || !runs_in(e->d_name, s->dir)) continue;
        long r = scale_rss_kib((pid_t)atoi(e->d_name));
        if (r > 0) sum += r, (*count)++;
    }
    if (d) closedir(d);
    return sum;
}
