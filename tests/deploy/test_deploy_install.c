/* test_deploy_install.c -- `cmake --install` lays out what deploy/ and the
 * docs promise (components deploy and dev, into a temporary prefix), and the
 * client example compiles against the installed headers and libraries with
 * the very command its comment documents (prefix /usr/local replaced by the
 * temporary one), then runs. Programs themselves (component Unspecified) are
 * left out: they appear as their modules land. */
#include "mcm.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char out[1 << 16];

static int sh(const char *cmd) {
    int fd[2];
    ck_assert(pipe(fd) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 1);
        dup2(fd[1], 2);
        close(fd[0]);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    size_t n = 0;
    ssize_t r;
    while ((r = read(fd[0], out + n, sizeof(out) - 1 - n)) > 0) n += (size_t)r;
    out[n] = '\0';
    close(fd[0]);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int exists(const char *prefix, const char *rel) {
    char p[4096];
    struct stat st;
    snprintf(p, sizeof(p), "%s/%s", prefix, rel);
    return stat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

static char *slurp(const char *prefix, const char *rel) {
    char p[4096];
    snprintf(p, sizeof(p), "%s/%s", prefix, rel);
    FILE *f = fopen(p, "r");
    ck_assert_msg(f != NULL, "cannot open %s", p);
    char *buf = calloc(1, 1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* The documented build command in the example's comment: from "cc -std=c11"
 * to the line without a trailing backslash, joined, /usr/local -> prefix. */
static char *documented_cc(const char *example, const char *prefix) {
    const char *b = strstr(example, "cc -std=c11");
    ck_assert_msg(b != NULL, "no documented cc line in the example");
    char *cmd = calloc(1, 4096);
    size_t n = 0;
    for (const char *p = b; *p && n < 3000; p++) {
        if (*p == '\\' && p[1] == '\n') {   /* continuation: skip "\\\n *   " */
            p += 2;
            while (*p == ' ' || *p == '*') p++;
            p--;
            continue;
        }
        if (*p == '\n') break;
        if (strncmp(p, "/usr/local", 10) == 0) {
            n += (size_t)snprintf(cmd + n, 4096 - n, "%s", prefix);
            p += 9;
            continue;
        }
        cmd[n++] = *p;
    }
    return cmd;
}

START_TEST(test_deploy_install_layout_and_client_example) {
    char prefix[] = "/tmp/mcm-install-XXXXXX", cmd[8192];
    ck_assert_ptr_nonnull(mkdtemp(prefix));
    const char *build = getenv("MCM_BUILD_DIR");
    ck_assert_msg(build, "MCM_BUILD_DIR not set (run through ctest)");
    snprintf(cmd, sizeof(cmd), "cmake --install '%s' --component deploy --prefix '%s' && "
             "cmake --install '%s' --component dev --prefix '%s'", build, prefix, build, prefix);
    ck_assert_msg(sh(cmd) == 0, "%s\n%s", cmd, out);

    static const char *files[] = {
        "share/mcm/systemd/mcm-scheduler.service", "share/mcm/systemd/mcm-scheduler.env",
        "share/mcm/marathon/mcm-scheduler.json", "share/mcm/marathon/mcm-scheduler-host-secrets.json",
        "share/doc/mcm/README.md", "share/doc/mcm/operations.md", "share/doc/mcm/clients.md",
        "share/doc/mcm/architecture.md", "share/doc/mcm/examples/watch_example.c",
        "share/doc/mcm/mcm-watch.help.txt", "share/doc/mcm/mcm-watch.flags.md",
        "include/mcm/watch.h", "include/mcm/srvlist.h", "lib/libmcm_discovery.a", "lib/libmcm_common.a",
    };
    for (size_t i = 0; i < MCM_ARRAY_LEN(files); i++)
        ck_assert_msg(exists(prefix, files[i]), "%s not installed under %s", files[i], prefix);

    /* the captured help is the program's --help */
    char *help = slurp(prefix, "share/doc/mcm/mcm-watch.help.txt");
    ck_assert_msg(strncmp(help, "Usage: mcm-watch", 16) == 0 && strstr(help, "env MCM_ZK;"), "%s", help);
    free(help);
    /* the installed unit runs the installed binary */
    char *unit = slurp(prefix, "share/mcm/systemd/mcm-scheduler.service");
    ck_assert_msg(strstr(unit, "\nExecStart=/") && strstr(unit, "/bin/mcm-scheduler\n"), "%s", unit);
    free(unit);

    /* the example compiles with its documented command, and runs */
    char *example = slurp(prefix, "share/doc/mcm/examples/watch_example.c");
    char *cc = documented_cc(example, prefix);
    const char *extra = getenv("MCM_CC_EXTRA") ? getenv("MCM_CC_EXTRA") : "";
    snprintf(cmd, sizeof(cmd), "cd '%s/share/doc/mcm/examples' && %s %s && ./watch_example; test $? -eq 2",
             prefix, cc, extra);
    ck_assert_msg(sh(cmd) == 0, "%s\n%s", cmd, out);
    ck_assert_msg(strstr(out, "usage: ./watch_example ZK_HOSTS ZNODE"), "%s", out);
    free(cc);
    free(example);

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", prefix);
    sh(cmd);
}
END_TEST

int main(void) {
    Suite *s = suite_create("deploy_install");
    TCase *tc = tcase_create("deploy_install");
    tcase_add_test(tc, test_deploy_install_layout_and_client_example);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
