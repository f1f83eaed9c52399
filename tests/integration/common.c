/* common.c -- memcached checks for system tests (see common.h). */
#include "common.h"
#include "harness.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

pid_t it_memcached_pid(int port) {
    DIR *d = opendir("/proc");
    struct dirent *e;
    char want[32];
    snprintf(want, sizeof(want), "%d", port);
    pid_t found = -1;
    while (d && found < 0 && (e = readdir(d))) {
        char path[300], cmd[4096];
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        size_t n = fread(cmd, 1, sizeof(cmd) - 1, f);
        fclose(f);
        cmd[n] = 0;
        if (!strstr(cmd, "memcached")) continue;
        for (size_t i = 0; i + 1 < n; i++) {   /* argv is NUL-separated: find "-p" then the port */
            const char *arg = cmd + i;
            if ((i == 0 || cmd[i - 1] == 0) && strcmp(arg, "-p") == 0 && strcmp(arg + 3, want) == 0) {
                found = atoi(e->d_name);
                break;
            }
        }
    }
    if (d) closedir(d);
    return found;
}

static void server_of(json_t *s, const char **host, int *port) {
    *host = json_string_value(json_object_get(s, "host"));
    *port = (int)json_integer_value(json_object_get(s, "port"));
}

void it_set_all(json_t *doc, const char *key, const char *value) {
    json_t *arr = json_object_get(doc, "servers");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const char *host;
        int port;
        char cmd[512], reply[512];
        server_of(json_array_get(arr, i), &host, &port);
        snprintf(cmd, sizeof(cmd), "set %s 0 0 %zu\r\n%s\r\n", key, strlen(value), value);
        int n = th_mc_cmd(host, port, cmd, reply, sizeof(reply), 3000);
        ck_assert_msg(n > 0 && strstr(reply, "STORED"), "set on %s:%d: %s", host, port, n > 0 ? reply : "no answer");
    }
}

int it_count_with(json_t *doc, const char *key, const char *value) {
    json_t *arr = json_object_get(doc, "servers");
    int k = 0;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const char *host;
        int port;
        char cmd[512], reply[512];
        server_of(json_array_get(arr, i), &host, &port);
        snprintf(cmd, sizeof(cmd), "get %s\r\n", key);
        if (th_mc_cmd(host, port, cmd, reply, sizeof(reply), 3000) > 0 && strstr(reply, value)) k++;
    }
    return k;
}

void it_check_all_answer(json_t *doc) {
    it_set_all(doc, "mcm-it-probe", "hello");
    int n = (int)json_array_size(json_object_get(doc, "servers"));
    ck_assert_int_eq(it_count_with(doc, "mcm-it-probe", "hello"), n);
}

double it_metric_value(const char *body, const char *series) {
    const char *p = body;
    size_t n = strlen(series);
    while ((p = strstr(p, series))) {
        if ((p == body || p[-1] == '\n') && p[n] == ' ') return atof(p + n + 1);
        p += n;
    }
    return -1;
}
