/* rps.c -- part 1: GET /v1/servers under wrk, mcm next to nginx.
 *
 * mcm side: the scheduler's real HTTP server (mcm_http), in this process:
 * http_new() with the default configuration on a free port, then
 * http_set_servers() with a list of o->servers entries, exactly as the core
 * publishes it. nginx side: the same JSON bytes (srvlist_to_json, which is
 * what http_set_servers serves) written to a file and served by nginx with
 * the same Content-Type and Cache-Control, from a minimal nginx.conf in a
 * temporary directory (one process, access log off, open_file_cache on,
 * keep-alive without a request limit: the strong static-file baseline).
 * Before measuring, both answers are fetched with libcurl and their bodies
 * compared byte for byte, and both answer 304 to their own ETag.
 *
 * Fairness on a 2-CPU machine: both servers run on CPU 0 only (MHD's
 * thread-per-connection threads inherit the main thread's CPU set; nginx is
 * started bound to it) and wrk on CPU 1 only, so each server gets one core
 * and the load generator the other. The four runs (mcm, nginx, each also
 * with If-None-Match -> 304) are interleaved over o->rounds rounds and each
 * figure is the median over the rounds; the first round starts each with a
 * 2 s warm-up. Other load on the machine shows in the CPU figures and the
 * load averages printed before and after.
 *
 * Threads: the main thread (plus MHD's threads inside mcm_http). */
#include "bench_discovery.h"
#include "http.h"
#include "mcm.h"
#include "srvlist.h"
#include "util.h"

#include <check.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct reply {
    long status;
    char *body;
    size_t len;
    char ctype[64], etag[64];
} reply;

static size_t on_body(char *d, size_t sz, size_t n, void *arg) {
    reply *r = arg;
    char *b = realloc(r->body, r->len + sz * n + 1);
    if (!b) return 0;
    memcpy(b + r->len, d, sz * n);
    r->len += sz * n;
    b[r->len] = '\0';
    r->body = b;
    return sz * n;
}

/* Copies the value of header `name` (case-insensitive) into out. */
static void grab(const char *line, size_t n, const char *name, char *out, size_t len) {
    size_t k = strlen(name);
    if (n <= k || strncasecmp(line, name, k) != 0) return;
    const char *v = line + k;
    size_t vl = n - k;
    while (vl && (*v == ' ')) v++, vl--;
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' ')) vl--;
    snprintf(out, len, "%.*s", (int)vl, v);
}

static size_t on_header(char *d, size_t sz, size_t n, void *arg) {
    reply *r = arg;
    grab(d, sz * n, "Content-Type:", r->ctype, sizeof(r->ctype));
    grab(d, sz * n, "ETag:", r->etag, sizeof(r->etag));
    return sz * n;
}

/* GET url (with an optional If-None-Match); 0 status if it could not connect. */
static void fetch(const char *url, const char *inm, reply *r) {
    memset(r, 0, sizeof(*r));
    CURL *c = curl_easy_init();
    ck_assert(c != NULL);
    struct curl_slist *h = NULL;
    char hdr[128];
    if (inm) {
        snprintf(hdr, sizeof(hdr), "If-None-Match: %s", inm);
        h = curl_slist_append(h, hdr);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

/* A list like the scheduler publishes: n servers, sorted, task ids mcm-<uuid>. */
static srvlist *make_list(int n) {
    srvlist *l = srvlist_new();
    ck_assert(l != NULL);
    l->version = 42;
    util_rfc3339(util_wall_ms(), l->updated, sizeof(l->updated));
    for (int i = 0; i < n; i++) {
        char host[32], id[48], u[37];
        uint8_t raw[16];
        ck_assert(util_uuid4(raw) == MCM_OK);
        util_uuid_str(raw, u);
        snprintf(host, sizeof(host), "10.0.%d.%d", i / 250, i % 250 + 1);
        snprintf(id, sizeof(id), "mcm-%s", u);
        ck_assert(srvlist_add(l, host, 31000 + i % 1000, id) == MCM_OK);
    }
    srvlist_sort(l);
    return l;
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    fputs(text, f);
    ck_assert(fclose(f) == 0);
}

static void write_nginx_conf(const char *dir, int port) {
    char path[1024], *conf;
    ck_assert(asprintf(&conf,
        "daemon off;\nmaster_process off;\nworker_processes 1;\n"
        "pid %s/nginx.pid;\nerror_log %s/error.log warn;\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        "  access_log off;\n"
        "  client_body_temp_path %s/tmp/body;\n  proxy_temp_path %s/tmp/proxy;\n"
        "  fastcgi_temp_path %s/tmp/fastcgi;\n  uwsgi_temp_path %s/tmp/uwsgi;\n"
        "  scgi_temp_path %s/tmp/scgi;\n"
        "  types { }\n  default_type application/json;\n"
        "  sendfile on;\n  tcp_nodelay on;\n"
        "  keepalive_timeout 60s;\n  keepalive_requests 1000000000;\n"
        "  open_file_cache max=16 inactive=60s;\n"
        "  server {\n    listen 127.0.0.1:%d;\n    root %s/html;\n"
        "    location = /v1/servers { add_header Cache-Control no-cache; }\n  }\n"
        "}\n", dir, dir, dir, dir, dir, dir, dir, port, dir) > 0);
    snprintf(path, sizeof(path), "%s/nginx.conf", dir);
    write_file(path, conf);
    free(conf);
}

static th_proc *start_nginx(const char *nginx, const char *dir, int port, int cpu) {
    char path[1024], conf[1024], err[1024], log[1024];
    snprintf(path, sizeof(path), "%s/html/v1", dir);
    snprintf(conf, sizeof(conf), "%s/nginx.conf", dir);
    snprintf(err, sizeof(err), "%s/error.log", dir);
    snprintf(log, sizeof(log), "%s/nginx.out", dir);
    char *argv[] = {(char *)nginx, "-p", (char *)dir, "-c", conf, "-e", err, NULL};
    th_proc *p = bench_spawn(cpu, argv, log);
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/servers", port);
    for (int i = 0; i < 200; i++) {
        reply r;
        int st;
        ck_assert_msg(!th_proc_exited(p, &st), "nginx exited at start (status %d); see %s and %s", st, log, err);
        fetch(url, NULL, &r);
        free(r.body);
        if (r.status == 200) return p;
        usleep(50000);
    }
    ck_abort_msg("nginx did not answer on port %d within 10 s; see %s", port, err);
    return NULL;
}

/* Both serve the same bytes with the same type; each answers 304 to its ETag. */
static void check_same(const char *mcm_url, const char *ngx_url, char *mcm_etag, char *ngx_etag, size_t len) {
    reply a, b, a2, b2;
    fetch(mcm_url, NULL, &a);
    fetch(ngx_url, NULL, &b);
    ck_assert_msg(a.status == 200 && b.status == 200, "GET answers: mcm %ld, nginx %ld", a.status, b.status);
    ck_assert_msg(a.len == b.len && memcmp(a.body, b.body, a.len) == 0, "mcm and nginx serve different bytes");
    ck_assert_msg(!strcmp(a.ctype, "application/json") && !strcmp(b.ctype, "application/json"),
                  "Content-Type: mcm '%s', nginx '%s'", a.ctype, b.ctype);
    ck_assert_msg(a.etag[0] && b.etag[0], "missing ETag: mcm '%s', nginx '%s'", a.etag, b.etag);
    snprintf(mcm_etag, len, "%s", a.etag);
    snprintf(ngx_etag, len, "%s", b.etag);
    fetch(mcm_url, a.etag, &a2);
    fetch(ngx_url, b.etag, &b2);
    ck_assert_msg(a2.status == 304 && b2.status == 304, "If-None-Match answers: mcm %ld, nginx %ld",
                  a2.status, b2.status);
    free(a.body), free(b.body), free(a2.body), free(b2.body);
}

typedef struct target {
    const char *name;
    const wrk_opts *w;
    const char *url, *hdr;
    wrk_result r[RPS_ROUNDS_MAX];
} target;

static void one_run(target *t, int round) {
    wrk_result *r = &t->r[round];
    if (round == 0) {   /* warm-up, not counted */
        wrk_opts warm = *t->w;
        warm.duration_s = 2;
        wrk_run(&warm, t->url, t->hdr, r);
    }
    wrk_run(t->w, t->url, t->hdr, r);
    printf("%d %-26s %6.0f req/s  p50 %5.2f ms  p99 %6.2f ms  CPU %% server %3.0f wrk %3.0f cpu0 %3.0f cpu1 %3.0f  "
           "(%ld requests, %ld bad status, %ld socket errors)\n", round + 1, t->name, r->rps, r->p50_ms, r->p99_ms,
           r->server_cpu_pct, r->wrk_cpu_pct, r->cpu_busy_pct[0], r->cpu_busy_pct[1], r->requests,
           r->bad_status, r->sock_errors);
}

/* Each figure's median over the rounds (figure by figure). */
static void median_of(const target *t, int n, wrk_result *out) {
    double v[RPS_ROUNDS_MAX];
#define MED(field)                                  \
    do {                                            \
        for (int i = 0; i < n; i++) v[i] = (double)t->r[i].field; \
        out->field = bench_pct(v, n, 50);           \
    } while (0)
    MED(rps); MED(p50_ms); MED(p99_ms); MED(server_cpu_pct); MED(wrk_cpu_pct);
    MED(requests); MED(bad_status); MED(sock_errors); MED(per_cpu_s); MED(cpu_busy_pct[0]);
    MED(cpu_busy_pct[1]);
#undef MED
}

static void loadavg(const char *when) {
    char buf[128] = "?";
    FILE *f = fopen("/proc/loadavg", "r");
    if (f && fgets(buf, sizeof(buf), f)) buf[strcspn(buf, "\n")] = '\0';
    if (f) fclose(f);
    printf("load average %s: %s\n", when, buf);
}

/* Rounds of mcm, nginx, mcm 304, nginx 304, interleaved so that any other
 * load on the machine falls on both alike. */
static void run_rounds(const rps_opts *o, target *t, rps_figures *f) {
    loadavg("before");
    for (int round = 0; round < o->rounds; round++)
        for (int i = 0; i < 4; i++) one_run(&t[i], round);
    loadavg("after");
    wrk_result *out[] = {&f->mcm, &f->nginx, &f->mcm_304, &f->nginx_304};
    for (int i = 0; i < 4; i++) {
        median_of(&t[i], o->rounds, out[i]);
        printf("median of %d: %-26s %6.0f req/s  p50 %5.2f ms  p99 %6.2f ms  CPU %% server %3.0f wrk %3.0f "
               "cpu0 %3.0f cpu1 %3.0f  %.0f requests per server CPU second\n", o->rounds, t[i].name,
               out[i]->rps, out[i]->p50_ms, out[i]->p99_ms, out[i]->server_cpu_pct, out[i]->wrk_cpu_pct,
               out[i]->cpu_busy_pct[0], out[i]->cpu_busy_pct[1], out[i]->per_cpu_s);
    }
}

void rps_measure(const rps_opts *o, rps_figures *f) {
    f->pinned = sysconf(_SC_NPROCESSORS_ONLN) >= 2;
    int srv_cpu = f->pinned ? 0 : -1;
    char *dir = th_tempdir(), path[1024], err[256], mcm_url[128], ngx_url[128], metag[64], netag[64];
    srvlist *l = make_list(o->servers);
    char *json = srvlist_to_json(l);
    ck_assert(json != NULL);
    f->body_bytes = strlen(json);

    bench_pin(srv_cpu);   /* MHD's threads inherit this CPU set */
    http_config cfg;
    http_config_defaults(&cfg);
    http_hooks hooks = {0};
    http_server *h = http_new(&cfg, &hooks, NULL, err, sizeof(err));
    ck_assert_msg(h != NULL, "http_new: %s", err);
    ck_assert(http_set_servers(h, l) == MCM_OK);
    snprintf(mcm_url, sizeof(mcm_url), "http://127.0.0.1:%d/v1/servers", http_port(h));

    const char *sub[] = {"html", "html/v1", "tmp"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, sub[i]);
        ck_assert(mkdir(path, 0755) == 0);
    }
    snprintf(path, sizeof(path), "%s/html/v1/servers", dir);
    write_file(path, json);
    int port = th_free_port();
    write_nginx_conf(dir, port);
    th_proc *ngx = start_nginx(o->nginx, dir, port, srv_cpu);
    snprintf(ngx_url, sizeof(ngx_url), "http://127.0.0.1:%d/v1/servers", port);
    check_same(mcm_url, ngx_url, metag, netag, sizeof(metag));

    printf("GET /v1/servers, %d servers, %zu bytes of JSON; wrk -t%d -c%d -d%ds --latency, %d rounds; %s\n",
           o->servers, f->body_bytes, o->threads, o->conns, o->duration_s, o->rounds,
           f->pinned ? "mcm and nginx each on CPU 0 only, wrk on CPU 1 only"
                     : "one CPU: servers and wrk share it");
    printf("mcm: mcm_http in process (http_new defaults, thread per connection); "
           "nginx: 1 process, open_file_cache, access_log off\n");
    wrk_opts w = {.wrk = o->wrk, .threads = o->threads, .conns = o->conns, .duration_s = o->duration_s,
                  .cpu = f->pinned ? 1 : -1, .dir = dir};
    wrk_opts wn = w;
    w.server_pid = getpid();
    wn.server_pid = th_proc_pid(ngx);
    char mhdr[96], nhdr[96];
    snprintf(mhdr, sizeof(mhdr), "If-None-Match: %s", metag);
    snprintf(nhdr, sizeof(nhdr), "If-None-Match: %s", netag);
    static target t[4];
    t[0] = (target){.name = "mcm 200", .w = &w, .url = mcm_url};
    t[1] = (target){.name = "nginx 200", .w = &wn, .url = ngx_url};
    t[2] = (target){.name = "mcm 304 (If-None-Match)", .w = &w, .url = mcm_url, .hdr = mhdr};
    t[3] = (target){.name = "nginx 304 (If-None-Match)", .w = &wn, .url = ngx_url, .hdr = nhdr};
    run_rounds(o, t, f);

    th_proc_free(ngx);
    http_free(h);
    bench_pin(-1);
    free(json);
    srvlist_free(l);
    th_rmtree(dir);
    free(dir);
}
