/* test_deploy_config_ref.c -- README.md's configuration reference is what the
 * built programs print with --help=markdown (scripts/gen-config-ref --check),
 * and the check notices drift: a changed row, a missing program block, missing
 * markers. Regenerating a drifted copy gives back exactly the committed README.
 *
 * MCM_REF_PROGRAMS (set by CMake) lists "name=path" for every program built in
 * this tree; mcm-scheduler is the real program or mcm-scheduler-flags (the
 * same flag table) until the real one exists. */
#include "mcm.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char out[1 << 17];

static const char *src(const char *rel) {
    static char p[4096];
    snprintf(p, sizeof(p), "%s/%s", getenv("MCM_SOURCE_DIR"), rel);
    return p;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    char *buf = malloc(1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static void spit(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* scripts/gen-config-ref --build $MCM_BUILD_DIR $MCM_REF_PROGRAMS [a1 a2 a3]; output in out. */
static int gen(const char *a1, const char *a2, const char *a3) {
    char *argv[32], *progs = strdup(getenv("MCM_REF_PROGRAMS") ? getenv("MCM_REF_PROGRAMS") : "");
    int n = 0;
    argv[n++] = "/bin/bash";
    argv[n++] = (char *)src("scripts/gen-config-ref");
    argv[n++] = "--build";
    argv[n++] = getenv("MCM_BUILD_DIR");
    for (char *p = strtok(progs, " "); p && n < 28; p = strtok(NULL, " ")) argv[n++] = p;
    /* after the programs, so a NAME=PATH here overrides CMake's */
    if (a1) argv[n++] = (char *)a1;
    if (a2) argv[n++] = (char *)a2;
    if (a3) argv[n++] = (char *)a3;
    argv[n] = NULL;
    int fd[2];
    ck_assert(pipe(fd) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        char *env[] = {"PATH=/usr/bin:/bin", NULL};
        dup2(fd[1], 1);
        dup2(fd[1], 2);
        close(fd[0]);
        execve(argv[0], argv, env);
        _exit(127);
    }
    close(fd[1]);
    size_t got = 0;
    ssize_t r;
    while ((r = read(fd[0], out + got, sizeof(out) - 1 - got)) > 0) got += (size_t)r;
    out[got] = '\0';
    close(fd[0]);
    free(progs);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

START_TEST(test_deploy_readme_reference_matches_every_built_program) {
    ck_assert_msg(getenv("MCM_REF_PROGRAMS"), "MCM_REF_PROGRAMS not set (run through ctest)");
    int rc = gen("--check", NULL, NULL);
    ck_assert_msg(rc == 0, "README.md's configuration reference is stale (run scripts/gen-config-ref):\n%s", out);
    /* every program CMake knows was compared, none silently skipped */
    char *progs = strdup(getenv("MCM_REF_PROGRAMS"));
    for (char *p = strtok(progs, " "); p; p = strtok(NULL, " ")) {
        char want[128];
        snprintf(want, sizeof(want), "%.*s: README.md matches", (int)strcspn(p, "="), p);
        ck_assert_msg(strstr(out, want), "%s not compared:\n%s", want, out);
    }
    free(progs);
}
END_TEST

/* Deletes the first table row after "### <prog>" in text (in place). */
static void drop_first_row(char *text, const char *prog) {
    char head[64];
    snprintf(head, sizeof(head), "\n### %s\n", prog);
    char *b = strstr(text, head);
    ck_assert_msg(b != NULL, "README has no block for %s", prog);
    char *row = strstr(b, "\n| `--");
    ck_assert_ptr_nonnull(row);
    char *end = strchr(row + 1, '\n');
    memmove(row, end, strlen(end) + 1);
}

/* Deletes the "### <prog>" block up to the next "### " (in place). */
static void drop_block(char *text, const char *prog) {
    char head[64];
    snprintf(head, sizeof(head), "\n### %s\n", prog);
    char *b = strstr(text, head);
    ck_assert_ptr_nonnull(b);
    char *next = strstr(b + 1, "\n### ");
    if (!next) next = strstr(b + 1, "\n<!-- END CONFIG REFERENCE -->");
    memmove(b, next, strlen(next) + 1);
}

START_TEST(test_deploy_reference_drift_is_caught_and_regenerated) {
    char *readme = slurp(src("README.md"));
    char dir[] = "/tmp/mcm-ref-XXXXXX", path[256];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/README.md", dir);

    /* a changed row of mcm-scheduler (always built: the flags program at least) */
    char *copy = strdup(readme);
    drop_first_row(copy, "mcm-scheduler");
    spit(path, copy);
    ck_assert_int_eq(gen("--check", "--readme", path), 1);
    ck_assert_msg(strstr(out, "reference for mcm-scheduler is out of date"), "%s", out);
    ck_assert_msg(strstr(out, "+| `--"), "no diff shown:\n%s", out);
    /* regenerating restores exactly the committed README */
    ck_assert_msg(gen("--readme", path, NULL) == 0, "%s", out);
    free(copy);
    copy = slurp(path);
    ck_assert_msg(strcmp(copy, readme) == 0, "regenerated README differs from the committed one");
    free(copy);

    /* a built program without a block in the README */
    copy = strdup(readme);
    drop_block(copy, "mcm-scheduler");
    spit(path, copy);
    ck_assert_int_eq(gen("--check", "--readme", path), 1);
    free(copy);

    /* no markers: refused, README untouched */
    spit(path, "# a README without the markers\n");
    ck_assert_int_eq(gen("--readme", path, NULL), 2);
    ck_assert_msg(strstr(out, "lacks the lines"), "%s", out);
    copy = slurp(path);
    ck_assert_str_eq(copy, "# a README without the markers\n");
    free(copy);

    unlink(path);
    rmdir(dir);
    free(readme);
}
END_TEST

START_TEST(test_deploy_reference_refuses_a_program_that_is_not_executable) {
    ck_assert_int_eq(gen("--check", "mcm-watch=/nonexistent/mcm-watch", NULL), 2);
    ck_assert_msg(strstr(out, "is not an executable"), "%s", out);
}
END_TEST

int main(void) {
    Suite *s = suite_create("deploy_config_ref");
    TCase *tc = tcase_create("deploy_config_ref");
    tcase_add_test(tc, test_deploy_readme_reference_matches_every_built_program);
    tcase_add_test(tc, test_deploy_reference_drift_is_caught_and_regenerated);
    tcase_add_test(tc, test_deploy_reference_refuses_a_program_that_is_not_executable);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
