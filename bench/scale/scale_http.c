/* scale_http.c -- GET /v1/servers of a running replica next to nginx, 200 and 304.
 *
 * What: bench/discovery measures mcm's HTTP server in its own process with a
 * synthetic list; this part measures a real replica of the installation,
 * with the N-server document it serves, against nginx serving the very same
 * bytes (fetched from the replica) as a static file, in the same run:
 * mcm 200, nginx 200, mcm 304, nginx 304 (If-None-Match with each one's own
 * ETag), each after a 2 s warm-up, wrk -t2 -c32 --latency (bench/discovery's
 * wrk.c runs and parses wrk), in SCALE_HTTP_ROUNDS interleaved rounds whose
 * medians are the figures (one round of each moved by +-10 % from run to run
 * on this 2-core machine, more than the gap being measured). The replica's threads and nginx are bound to
 * CPU 0 and wrk to CPU 1 for the runs (the rest of the installation -- the
 * simulator, N executors and memcached, ZooKeeper -- keeps running where it
 * likes: it is the load a real host would have too); the replica's CPU set
 * is given back afterwards.
 *
 * Threads: the main thread. */
#include "scale.h"

#include "bench_discovery.h"

#include <check.h>
#include <curl/curl.h>
#include <dirent.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* --- what wrk.c needs from bench_discovery.c (bench_discovery.h) -------------- */
double bench_now_ms(void) { return (double)scale_mono_ms(); }

void bench_pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int i = 0; i < CPU_SETSIZE && i < sysconf(_SC_NPROCESSORS_ONLN); i++)
        if (cpu < 0 || i == cpu) CPU_SET(i, &set);
    ck_assert_msg(sched_setaffinity(0, sizeof(set), &set) == 0, "cannot bind to CPU %d", cpu);
}

th_proc *bench_spawn(int cpu, char *const argv[], const char *log_path) {
    cpu_set_t mine;
    ck_assert(sched_getaffinity(0, sizeof(mine), &mine) == 0);
    if (cpu >= 0) bench_pin(cpu);
    th_proc *p = th_proc_start(argv, log_path);
    ck_assert(sched_setaffinity(0, sizeof(mine), &mine) == 0);
    return p;
}

/* Every thread of pid to CPU cpu (-1: all CPUs). */
static void pin_process(pid_t pid, int cpu) {
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int i = 0; i < sysconf(_SC_NPROCESSORS_ONLN) && i < CPU_SETSIZE; i++)
        if (cpu < 0 || i == cpu) CPU_SET(i, &set);
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] >= '0' && e->d_name[0] <= '9') sched_setaffinity((pid_t)atoi(e->d_name), sizeof(set), &set);
    if (d) closedir(d);
}

static const char *find_program(const char *name, char *buf, size_t len) {
    const char *dirs[] = {"/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin", "/bin", "/sbin"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        snprintf(buf, len, "%s/%s", dirs[i], name);
        if (access(buf, X_OK) == 0) return buf;
    }
    return NULL;
}

typedef struct body { char *p; size_t n; char etag[64]; long status; } body;

static size_t on_data(char *d, size_t sz, size_t n, void *u) {
    body *b = u;
    char *np = realloc(b->p, b->n + sz * n + 1);
    if (!np) return 0;
    memcpy(np + b->n, d, sz * n);
    b->p = np;
    b->n += sz * n;
    b->p[b->n] = 0;
    return sz * n;
}

static size_t on_head(char *d, size_t sz, size_t n, void *u) {
    body *b = u;
    if (sz * n > 5 && !strncasecmp(d, "ETag:", 5)) {
        const char *v = d + 5 + strspn(d + 5, " ");
        snprintf(b->etag, sizeof(b->etag), "%.*s", (int)strcspn(v, "\r\n"), v);
    }
    return sz * n;
}

static void get(const char *url, body *b) {
    memset(b, 0, sizeof(*b));
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_head);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &b->status);
    curl_easy_cleanup(c);
}

static void write_file(const char *path, const char *text, size_t n) {
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    ck_assert(fwrite(text, 1, n, f) == n);
    ck_assert(fclose(f) == 0);
}

/* The same nginx as bench/discovery: one process, access log off, open_file_cache. */
static th_proc *start_nginx(const char *nginx, const char *dir, int port) {
    char path[1024], *conf;
    const char *sub[] = {"html", "html/v1", "tmp"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, sub[i]);
        mkdir(path, 0755);
    }
    ck_assert(asprintf(&conf,
        "daemon off;\nmaster_process off;\nworker_processes 1;\npid %s/nginx.pid;\nerror_log %s/error.log warn;\n"
        "events { worker_connections 1024; }\nhttp {\n  access_log off;\n"
        "  client_body_temp_path %s/tmp/body;\n  proxy_temp_path %s/tmp/proxy;\n"
        "  fastcgi_temp_path %s/tmp/fastcgi;\n  uwsgi_temp_path %s/tmp/uwsgi;\n  scgi_temp_path %s/tmp/scgi;\n"
        "  types { }\n  default_type application/json;\n  sendfile on;\n  tcp_nodelay on;\n"
        "  keepalive_timeout 60s;\n  keepalive_requests 1000000000;\n  open_file_cache max=16 inactive=60s;\n"
        "  server {\n    listen 127.0.0.1:%d;\n    root %s/html;\n"
        "    location = /v1/servers { add_header Cache-Control no-cache; }\n  }\n}\n",
        dir, dir, dir, dir, dir, dir, dir, port, dir) > 0);
    snprintf(path, sizeof(path), "%s/nginx.conf", dir);
    write_file(path, conf, strlen(conf));
    free(conf);
    char err[1024], log[1024];
    snprintf(err, sizeof(err), "%s/error.log", dir);
    snprintf(log, sizeof(log), "%s/nginx.out", dir);
    char *argv[] = {(char *)nginx, "-p", (char *)dir, "-c", path, "-e", err, NULL};
    th_proc *p = bench_spawn(0, argv, log);
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/servers", port);
    for (int i = 0; i < 200; i++) {
        body b;
        get(url, &b);
        free(b.p);
        if (b.status == 200) return p;
        usleep(50000);
    }
    ck_abort_msg("nginx did not answer on port %d (see %s)", port, err);
    return NULL;
}

#define SCALE_HTTP_ROUNDS 3

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sorts v in place. */
static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double run(const wrk_opts *w, const char *url, const char *etag, const char *name, double *cpu) {
    char hdr[128];
    snprintf(hdr, sizeof(hdr), "If-None-Match: %s", etag ? etag : "");
    wrk_opts warm = *w;
    warm.duration_s = 2;
    wrk_result r;
    wrk_run(&warm, url, etag ? hdr : NULL, &r);
    wrk_run(w, url, etag ? hdr : NULL, &r);
    ck_assert_msg(r.bad_status == 0 || etag, "%s: %ld answers were not 2xx/3xx", name, r.bad_status);
    printf("  %-10s %8.0f req/s  p50 %5.2f ms  p99 %6.2f ms  server CPU %3.0f %%  (%ld requests, %ld socket errors)\n",
           name, r.rps, r.p50_ms, r.p99_ms, r.server_cpu_pct, r.requests, r.sock_errors);
    *cpu = r.server_cpu_pct;
    return r.rps;
}

int scale_http_measure(scale_inst *s, int i, const scale_opts *o, scale_http_figures *f) {
    char wrk[1024], nginx[1024], mcm_url[128], ngx_url[128], path[1024];
    if (!find_program("wrk", wrk, sizeof(wrk)) || !find_program("nginx", nginx, sizeof(nginx))) return 0;
    snprintf(mcm_url, sizeof(mcm_url), "http://127.0.0.1:%d/v1/servers", scale_port(s, i));
    body m;
    get(mcm_url, &m);
    ck_assert_msg(m.status == 200 && m.etag[0], "GET %s: %ld", mcm_url, m.status);
    f->body_bytes = m.n;
    char *dir = th_tempdir();
    int port = th_free_port();
    snprintf(path, sizeof(path), "%s/html", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/html/v1", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/html/v1/servers", dir);
    write_file(path, m.p, m.n);
    th_proc *ngx = start_nginx(nginx, dir, port);
    snprintf(ngx_url, sizeof(ngx_url), "http://127.0.0.1:%d/v1/servers", port);
    body n;
    get(ngx_url, &n);
    ck_assert_msg(n.n == m.n && !memcmp(n.p, m.p, m.n), "nginx serves other bytes than the replica");
    pin_process(scale_pid(s, i), 0);
    wrk_opts w = {.wrk = wrk, .threads = 2, .conns = 32, .duration_s = o->wrk_s, .cpu = 1, .dir = dir,
                  .server_pid = scale_pid(s, i)};
    wrk_opts wn = w;
    wn.server_pid = th_proc_pid(ngx);
    printf("GET /v1/servers, %zu bytes (%d servers): replica %d and nginx on CPU 0, wrk -t2 -c32 -d%ds on CPU 1\n",
           m.n, o->n, i, o->wrk_s);
    double rps[4][SCALE_HTTP_ROUNDS], cpu[4][SCALE_HTTP_ROUNDS];
    for (int k = 0; k < SCALE_HTTP_ROUNDS; k++) {
        printf(" round %d of %d\n", k + 1, SCALE_HTTP_ROUNDS);
        rps[0][k] = run(&w, mcm_url, NULL, "mcm 200", &cpu[0][k]);
        rps[1][k] = run(&wn, ngx_url, NULL, "nginx 200", &cpu[1][k]);
        rps[2][k] = run(&w, mcm_url, m.etag, "mcm 304", &cpu[2][k]);
        rps[3][k] = run(&wn, ngx_url, n.etag, "nginx 304", &cpu[3][k]);
    }
    double *fig[4] = {&f->mcm_rps, &f->nginx_rps, &f->mcm_304_rps, &f->nginx_304_rps};
    double *fcpu[4] = {&f->mcm_cpu_pct, &f->nginx_cpu_pct, &f->mcm_304_cpu_pct, &f->nginx_304_cpu_pct};
    for (int j = 0; j < 4; j++) {
        *fig[j] = median(rps[j], SCALE_HTTP_ROUNDS);
        *fcpu[j] = median(cpu[j], SCALE_HTTP_ROUNDS);
    }
    printf(" medians of %d: mcm 200 %.0f, nginx 200 %.0f, mcm 304 %.0f, nginx 304 %.0f req/s\n", SCALE_HTTP_ROUNDS,
           f->mcm_rps, f->nginx_rps, f->mcm_304_rps, f->nginx_304_rps);
    pin_process(scale_pid(s, i), -1);
    th_proc_free(ngx);
    free(m.p);
    free(n.p);
    th_rmtree(dir);
    free(dir);
    return 1;
}
