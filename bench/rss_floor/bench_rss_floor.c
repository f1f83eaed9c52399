/* bench_rss_floor.c -- the RSS a process pays for mcm-scheduler's libraries
 * before any mcm code runs (issue 20: the 10 MB target at N = 100).
 *
 * Links exactly the shared libraries mcm-scheduler links (libcurl with its
 * OpenSSL, libzookeeper_mt, libmicrohttpd with its GnuTLS, jansson,
 * protobuf-c, libcrypto) and does, one step at a time, only what any
 * scheduler has to do with them: start (the dynamic loader maps and
 * relocates every library), curl_global_init + one easy handle (libcurl
 * initialises its TLS backend unconditionally: CURL_GLOBAL_SSL has had no
 * effect since curl 7.57), one MD5 through EVP (the ring's hash: OpenSSL 3
 * fetches its default provider), a ZooKeeper handle (its two client threads;
 * the address is a closed loopback port, so nothing is sent), a libmicrohttpd
 * daemon with mcm's flags (epoll, two pool threads, loopback). After each it
 * reads /proc/self/status (VmRSS, RssAnon, RssFile) and smaps_rollup (Pss:
 * it depends on what other processes map the same libraries at that time).
 *
 * Usage: bench_rss_floor        Last line: name=value pairs (KiB). */
#include <curl/curl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <protobuf-c/protobuf-c.h>
#include <zookeeper/zookeeper.h>

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct { long rss, anon, file, pss; } mem;

static long field(const char *path, const char *name) {
    char line[256];
    long v = -1;
    size_t n = strlen(name);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, name, n) && line[n] == ':') { v = strtol(line + n + 1, NULL, 10); break; }
    if (f) fclose(f);
    return v;
}

static mem sample(const char *step) {
    mem m = {field("/proc/self/status", "VmRSS"), field("/proc/self/status", "RssAnon"),
             field("/proc/self/status", "RssFile"), field("/proc/self/smaps_rollup", "Pss")};
    printf("%-28s rss %6ld KiB  anon %6ld  file %6ld  pss %6ld\n", step, m.rss, m.anon, m.file, m.pss);
    return m;
}

/* A loopback port nobody listens on (bound, then closed). */
static int closed_port(void) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, l) != 0 || getsockname(fd, (struct sockaddr *)&a, &l) != 0) {
        perror("bench_rss_floor: loopback socket");
        exit(1);
    }
    close(fd);
    return ntohs(a.sin_port);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *data, size_t *size, void **state) {
    (void)cls, (void)c, (void)url, (void)method, (void)version, (void)data, (void)size, (void)state;
    return MHD_NO;
}

int main(void) {
    mem start = sample("loaded");

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return 1;
    CURL *easy = curl_easy_init();
    mem curl = sample("+ libcurl init, easy handle");

    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest("host:11211-0", 12, md, &mdlen, EVP_md5(), NULL)) return 1;
    mem md5 = sample("+ one MD5 (EVP)");

    char hosts[64];
    snprintf(hosts, sizeof(hosts), "127.0.0.1:%d", closed_port());
    zoo_set_debug_level(0);
    zhandle_t *zh = zookeeper_init(hosts, NULL, 10000, NULL, NULL, 0);
    usleep(200 * 1000);                              /* its threads start */
    mem zk = sample("+ ZooKeeper handle");

    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME,
                                            0, NULL, NULL, on_request, NULL, MHD_OPTION_THREAD_POOL_SIZE, 2u,
                                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&a, MHD_OPTION_END);
    usleep(200 * 1000);
    mem http = sample("+ libmicrohttpd daemon");

    json_t *j = json_pack("{s:i}", "n", 1);                  /* jansson and protobuf-c: linked, touched */
    json_decref(j);
    volatile double two = 2.0;                               /* libm, as mcm-scheduler maps it */
    printf("protobuf-c %s, log(2) %.3f\n", protobuf_c_version(), log(two));

    if (d) MHD_stop_daemon(d);
    if (zh) zookeeper_close(zh);
    curl_easy_cleanup(easy);
    curl_global_cleanup();
    printf("loaded_rss_kib=%ld loaded_file_kib=%ld curl_rss_kib=%ld md5_rss_kib=%ld zk_rss_kib=%ld "
           "floor_rss_kib=%ld floor_anon_kib=%ld floor_file_kib=%ld floor_pss_kib=%ld\n",
           start.rss, start.file, curl.rss, md5.rss, zk.rss, http.rss, http.anon, http.file, http.pss);
    return d && zh ? 0 : 1;
}
