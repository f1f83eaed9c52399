/* cluster.c -- a whole mcm installation on loopback for system tests (see cluster.h).
 * Shape: harness processes for ZooKeeper, mcm-sim and the replicas; libcurl
 * and jansson for HTTP. Threads: the test's main thread. */
#include "cluster.h"
#include "harness.h"

#include <check.h>
#include <curl/curl.h>
#include <signal.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct it_cluster {
    it_opts o;
    char *dir;
    th_zk *zk;
    char zk_url[128];
    th_proc *sim;
    int sim_port, ports_base;
    th_proc *rep[IT_MAX_REPLICAS];
    int rep_port[IT_MAX_REPLICAS];
    int sim_gen;
};

static const char *bin(const char *rel, char *buf, size_t len) {
    const char *b = getenv("MCM_BUILD_DIR");
    if (!b) b = MCM_BUILD_DIR_DEFAULT;   /* benchmarks run outside ctest */
    snprintf(buf, len, "%s/%s", b, rel);
    ck_assert_msg(access(buf, X_OK) == 0, "%s is not built", buf);
    return buf;
}

static int read_file_has(const char *path, const char *needle) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[4096];
    int found = 0;
    while (!found && fgets(line, sizeof(line), f)) found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

typedef struct { const char *path; const char *needle; } grep_arg;
static int grep_cond(void *a) {
    grep_arg *g = a;
    return read_file_has(g->path, g->needle);
}

void it_sim_start(it_cluster *c) {
    char sim[1024], listen[64], res[256], log[1024], work[1024], agents[16];
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", c->sim_port);
    snprintf(res, sizeof(res), "cpus:4;mem:4096;disk:10240;ports:[%d-%d]", c->ports_base,
             c->ports_base + 20 * c->o.agents - 1);
    snprintf(log, sizeof(log), "%s/sim-%d.log", c->dir, c->sim_gen);
    snprintf(work, sizeof(work), "%s/sim-%d", c->dir, c->sim_gen++);
    snprintf(agents, sizeof(agents), "%d", c->o.agents);
    char *argv[24] = {(char *)bin("src/sim/mcm-sim", sim, sizeof(sim)), "--listen", listen, "--agents", agents,
                      "--resources", res, "--offer-interval", "500ms", "--work-dir", work, NULL};
    for (int n = 11, k = 0; c->o.sim_extra[k] && n < 23; k++) argv[n++] = (char *)c->o.sim_extra[k];
    c->sim = th_proc_start(argv, log);
    grep_arg g = {log, "listening on"};
    ck_assert_msg(th_wait(grep_cond, &g, 20000), "mcm-sim did not start (see %s)", log);
}

void it_sim_stop(it_cluster *c) {
    th_proc_stop(c->sim, 3000);
    th_proc_free(c->sim);
    c->sim = NULL;
}

static void start_replica(it_cluster *c, int i) {
    char sched[1024], exec[1024], log[1024], http[64], master[64], inst[16], st[32];
    if (!c->rep_port[i]) c->rep_port[i] = th_free_port();
    snprintf(http, sizeof(http), "127.0.0.1:%d", c->rep_port[i]);
    snprintf(master, sizeof(master), "http://127.0.0.1:%d", c->sim_port);
    snprintf(log, sizeof(log), "%s/scheduler-%d.log", c->dir, i);
    snprintf(inst, sizeof(inst), "%d", c->o.instances);
    snprintf(st, sizeof(st), "%dms", c->o.session_timeout_ms);
    const char *argv[64] = {bin("src/scheduler/mcm-scheduler", sched, sizeof(sched)), "--zk", c->zk_url,
                            "--master", master, "--http-listen", http, "--instances", inst,
                            "--zk-session-timeout", st, "--executor-command",
                            bin("src/executor/mcm-executor", exec, sizeof(exec)), "--memcached-listen",
                            "127.0.0.1", "--hostname", "127.0.0.1", "--mem", "64MiB", "--cpus", "0.2",
                            "--report-interval", "1s", "--admin-insecure", "--refuse-time", "2s",
                            "--relaunch-backoff-min", "200ms", "--log-level", "verbose"};
    int n = 0;
    while (argv[n]) n++;
    for (int k = 0; c->o.extra[k] && n < 62; k++) argv[n++] = c->o.extra[k];
    argv[n] = NULL;
    c->rep[i] = th_proc_start((char *const *)argv, log);
}

it_cluster *it_start(const it_opts *o) {
    it_cluster *c = calloc(1, sizeof(*c));
    c->o = *o;
    if (!c->o.agents) c->o.agents = 4;
    if (!c->o.instances) c->o.instances = 3;
    if (!c->o.replicas) c->o.replicas = 3;
    if (!c->o.session_timeout_ms) c->o.session_timeout_ms = 4000;
    c->dir = th_tempdir();
    c->zk = th_zk_start();
    snprintf(c->zk_url, sizeof(c->zk_url), "zk://%s/mcm", th_zk_hosts(c->zk));
    c->sim_port = th_free_port();
    srand((unsigned)(getpid() ^ time(NULL)));
    /* Below Linux's ephemeral range (32768-60999), where outgoing connections
     * would take our ports; 20 ports an agent. */
    c->ports_base = 20000 + (rand() % 100) * 100;
    it_sim_start(c);
    if (c->o.prepare) c->o.prepare(th_zk_hosts(c->zk));
    for (int i = 0; i < c->o.replicas; i++) start_replica(c, i);
    fprintf(stderr, "cluster: logs in %s, ZooKeeper %s, sim port %d\n", c->dir, c->zk_url, c->sim_port);
    return c;
}

/* Sanitizer reports in any log under the cluster's directory (replicas,
 * simulator, executors' sandboxes): the processes ran as ASan/UBSan builds,
 * and their reports would otherwise go unseen. */
static char sanitizer_hit[1024];

static int scan_log(const char *path, const struct stat *st, int type, struct FTW *ftw) {
    static const char *const marks[] = {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"};
    if (type != FTW_F || sanitizer_hit[0]) return 0;
    FILE *f = fopen(path, "r");
    char line[4096];
    while (f && !sanitizer_hit[0] && fgets(line, sizeof(line), f))
        for (size_t k = 0; k < sizeof(marks) / sizeof(marks[0]); k++)
            if (strstr(line, marks[k])) snprintf(sanitizer_hit, sizeof(sanitizer_hit), "%.400s: %.500s", path, line);
    if (f) fclose(f);
    return 0;
}

/* Processes whose working directory is in the cluster's directory: a
 * memcached whose executor died with a killed simulator outlives it (it
 * dropped privileges with -u, which clears the death signal its executor
 * set; a real Mesos agent destroys the container instead). They go here. */
static void sweep_sandboxes(const char *dir) {
    size_t n = strlen(dir);
    for (int round = 0; round < 20; round++) {
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
        usleep(50 * 1000);
    }
}

void it_stop(it_cluster *c) {
    if (!c) return;
    for (int i = 0; i < IT_MAX_REPLICAS; i++) {
        if (c->rep[i]) th_proc_signal(c->rep[i], SIGCONT);
        th_proc_free(c->rep[i]);
    }
    th_proc_free(c->sim);
    sweep_sandboxes(c->dir);
    th_zk_free(c->zk);
    sanitizer_hit[0] = 0;
    nftw(c->dir, scan_log, 16, FTW_PHYS);
    char hit[1024];
    snprintf(hit, sizeof(hit), "%s", sanitizer_hit);
    if (!getenv("MCM_KEEP_TEST_DIRS") && !hit[0]) th_rmtree(c->dir);
    free(c->dir);
    free(c);
    ck_assert_msg(!hit[0], "sanitizer report (logs kept): %s", hit);
}

void it_zk_stop(it_cluster *c) { th_zk_stop(c->zk, 1); }
void it_zk_restart(it_cluster *c) { th_zk_restart(c->zk); }

const char *it_dir(const it_cluster *c) { return c->dir; }
const char *it_zk_url(const it_cluster *c) { return c->zk_url; }
const char *it_zk_hosts(const it_cluster *c) { return th_zk_hosts(c->zk); }
int it_sim_port(const it_cluster *c) { return c->sim_port; }
int it_replica_port(const it_cluster *c, int i) { return c->rep_port[i]; }
pid_t it_replica_pid(const it_cluster *c, int i) { return c->rep[i] ? th_proc_pid(c->rep[i]) : -1; }

int it_replica_alive(const it_cluster *c, int i) {
    int st;
    return c->rep[i] && !th_proc_exited(c->rep[i], &st);
}

void it_replica_signal(it_cluster *c, int i, int sig) {
    if (c->rep[i]) kill(th_proc_pid(c->rep[i]), sig);
}

int it_replica_wait_exit(it_cluster *c, int i, int timeout_ms) {
    for (int t = 0; t < timeout_ms; t += 20) {
        if (!it_replica_alive(c, i)) return 1;
        usleep(20000);
    }
    return 0;
}

void it_replica_restart(it_cluster *c, int i) {
    th_proc_free(c->rep[i]);
    start_replica(c, i);
}

/* --- HTTP ------------------------------------------------------------------- */

typedef struct { char *p; size_t n; } buf;
static size_t collect(char *d, size_t s, size_t n, void *u) {
    buf *b = u;
    char *np = realloc(b->p, b->n + s * n + 1);
    if (!np) return 0;
    memcpy(np + b->n, d, s * n);
    b->p = np;
    b->n += s * n;
    b->p[b->n] = 0;
    return s * n;
}

/* One HTTP call to the replica; the body's text into *text (caller frees). */
static long fetch(int port, const char *method, const char *path, const char *body, char **text) {
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
    if (strcmp(method, "POST") == 0) curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
    if (curl_easy_perform(h) == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(h);
    *text = b.p;
    return code;
}

static long request(int port, const char *method, const char *path, const char *body, json_t **out) {
    char *text;
    long code = fetch(port, method, path, body, &text);
    if (out) *out = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    return code;
}

json_t *it_get_json(int port, const char *path) {
    json_t *j = NULL;
    long code = request(port, "GET", path, NULL, &j);
    if (code < 200 || code > 299) {
        json_decref(j);
        return NULL;
    }
    return j;
}

char *it_get_text(int port, const char *path) {
    char *text;
    long code = fetch(port, "GET", path, NULL, &text);
    if (code >= 200 && code <= 299) return text;
    free(text);
    return NULL;
}

long it_post(int port, const char *path, const char *body, json_t **out) {
    return request(port, "POST", path, body, out);
}

void it_status_str(int port, const char *field, char *b, size_t len) {
    json_t *j = it_get_json(port, "/v1/status");
    const char *s = j ? json_string_value(json_object_get(j, field)) : NULL;
    snprintf(b, len, "%s", s ? s : "");
    json_decref(j);
}

int it_leader(it_cluster *c) {
    for (int i = 0; i < c->o.replicas; i++) {
        char st[32];
        if (!it_replica_alive(c, i)) continue;
        it_status_str(c->rep_port[i], "leader_state", st, sizeof(st));
        if (strcmp(st, "leading") == 0) return i;
    }
    return -1;
}

int it_wait_leader(it_cluster *c, int timeout_ms, int not_this) {
    for (int t = 0; t < timeout_ms; t += 50) {
        int l = it_leader(c);
        if (l >= 0 && l != not_this) return l;
        usleep(50000);
    }
    return -1;
}

json_t *it_wait_servers(it_cluster *c, int i, int n, int timeout_ms) {
    for (int t = 0; t < timeout_ms; t += 100) {
        json_t *j = it_get_json(c->rep_port[i], "/v1/servers");
        if (j && (int)json_array_size(json_object_get(j, "servers")) == n) return j;
        json_decref(j);
        usleep(100000);
    }
    return NULL;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

char *it_servers_key(json_t *doc) {
    json_t *arr = json_object_get(doc, "servers");
    size_t n = json_array_size(arr);
    char **lines = calloc(n + 1, sizeof(*lines));
    size_t total = 1;
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(arr, i);
        if (asprintf(&lines[i], "%s %s:%lld\n", json_string_value(json_object_get(s, "task_id")),
                     json_string_value(json_object_get(s, "host")),
                     (long long)json_integer_value(json_object_get(s, "port"))) < 0)
            lines[i] = strdup("");
        total += strlen(lines[i]);
    }
    qsort(lines, n, sizeof(*lines), cmp_str);
    char *out = calloc(1, total);
    for (size_t i = 0; i < n; i++) {
        strcat(out, lines[i]);
        free(lines[i]);
    }
    free(lines);
    return out;
}
