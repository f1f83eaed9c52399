/* test_deploy_files.c -- the files under deploy/ parse and say what
 * docs/operations.md promises: the Marathon apps (3 replicas, one per host,
 * /healthz and /readyz, at most one replica down during an upgrade, secrets
 * only by reference, real mcm-scheduler variables and flags whose values
 * parse), the systemd unit and its environment file. Every rule is also run
 * on a broken copy, which must fail with the rule's message.
 *
 * The scheduler's variables come from `--help` of MCM_SCHEDULER_HELP (the real
 * mcm-scheduler once it is built, else mcm-scheduler-flags: the same table);
 * values are parsed by MCM_SCHEDULER_FLAGS, which parses exactly as
 * mcm-scheduler does and exits instead of running. */
#include "check_deploy.h"
#include "mcm.h"

#include <check.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char out[65536];

static char *path_in_source(const char *rel) {
    static char p[4096];
    snprintf(p, sizeof(p), "%s/%s", getenv("MCM_SOURCE_DIR"), rel);
    return p;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

/* Runs argv with exactly the environment env (stdout+stderr into out);
 * returns the exit status. */
static int run(char *const argv[], char *const env[]) {
    int p[2];
    ck_assert(pipe(p) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        dup2(p[1], 2);
        close(p[0]);
        execve(argv[0], argv, env);
        _exit(127);
    }
    close(p[1]);
    size_t n = 0;
    ssize_t r;
    while ((r = read(p[0], out + n, sizeof(out) - 1 - n)) > 0) n += (size_t)r;
    out[n] = '\0';
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static known_flags *scheduler_flags(void) {
    char *argv[] = {getenv("MCM_SCHEDULER_HELP"), "--help", NULL};
    char *env[] = {NULL};
    ck_assert_msg(argv[0] != NULL, "MCM_SCHEDULER_HELP is not set (run through ctest)");
    ck_assert_int_eq(run(argv, env), 0);
    known_flags *k = known_flags_from_help(out);
    ck_assert_msg(known_flags_count(k) >= 30 && known_flags_has_env(k, "MCM_ZK") &&
                  known_flags_has_env(k, "MCM_LOG_LEVEL") && known_flags_has_flag(k, "http-listen"),
                  "unexpected --help of %s:\n%s", argv[0], out);
    return k;
}

/* --- every JSON and YAML file parses ------------------------------------------ */

static int n_json, n_yaml, n_bad;
static char bad_msg[1024];

static int python_yaml_parses(const char *path) {
    char *argv[] = {"/usr/bin/python3", "-c", "import sys, yaml; yaml.safe_load(open(sys.argv[1]))",
                    (char *)path, NULL};
    char *env[] = {"PATH=/usr/bin:/bin", NULL};
    return run(argv, env) == 0;
}

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw) {
    (void)st, (void)ftw;
    size_t n = strlen(path);
    if (type != FTW_F) return 0;
    if (n > 5 && strcmp(path + n - 5, ".json") == 0) {
        json_error_t e;
        json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
        n_json++;
        if (!j) {
            n_bad++;
            snprintf(bad_msg, sizeof(bad_msg), "%s:%d: %s", path, e.line, e.text);
        }
        json_decref(j);
    } else if ((n > 5 && strcmp(path + n - 5, ".yaml") == 0) || (n > 4 && strcmp(path + n - 4, ".yml") == 0)) {
        n_yaml++;
        if (access("/usr/bin/python3", X_OK) != 0 || !python_yaml_parses(path)) {
            n_bad++;
            snprintf(bad_msg, sizeof(bad_msg), "%s does not parse as YAML (python3 -c 'import yaml'): %.400s",
                     path, out);
        }
    }
    return 0;
}

static void walk(const char *dir) {
    n_json = n_yaml = n_bad = 0;
    bad_msg[0] = '\0';
    ck_assert_int_eq(nftw(dir, visit, 16, FTW_PHYS), 0);
}

START_TEST(test_deploy_every_json_and_yaml_file_parses) {
    walk(path_in_source("deploy"));
    ck_assert_msg(n_bad == 0, "%s", bad_msg);
    ck_assert_int_ge(n_json, 2);   /* the two Marathon apps at least */
}
END_TEST

START_TEST(test_deploy_parse_check_catches_broken_files) {
    char dir[] = "/tmp/mcm-deploy-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char p[4200];
    static const char *files[][2] = {
        {"ok.json", "{\"a\": 1}"},
        {"trailing.json", "{\"a\": 1,}"},
        {"dup.json", "{\"a\": 1, \"a\": 2}"},
        {"bad.yaml", "a: [1, 2\n"},
    };
    for (size_t i = 0; i < MCM_ARRAY_LEN(files); i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, files[i][0]);
        FILE *f = fopen(p, "w");
        fputs(files[i][1], f);
        fclose(f);
    }
    walk(dir);
    ck_assert_int_eq(n_json, 3);
    ck_assert_int_eq(n_yaml, 1);
    ck_assert_int_eq(n_bad, 3);
    for (size_t i = 0; i < MCM_ARRAY_LEN(files); i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, files[i][0]);
        unlink(p);
    }
    rmdir(dir);
}
END_TEST

/* --- Marathon ------------------------------------------------------------------ */

static const char *apps[] = {"deploy/marathon/mcm-scheduler.json", "deploy/marathon/mcm-scheduler-host-secrets.json"};

static json_t *load_app(const char *rel) {
    json_error_t e;
    json_t *j = json_load_file(path_in_source(rel), JSON_REJECT_DUPLICATES, &e);
    ck_assert_msg(j != NULL, "%s:%d: %s", rel, e.line, e.text);
    return j;
}

START_TEST(test_deploy_marathon_apps_pass_every_rule) {
    known_flags *k = scheduler_flags();
    char why[512];
    for (size_t i = 0; i < MCM_ARRAY_LEN(apps); i++) {
        json_t *app = load_app(apps[i]);
        ck_assert_msg(check_marathon_app(app, k, why, sizeof(why)) == MCM_OK, "%s: %s", apps[i], why);
        json_decref(app);
    }
    known_flags_free(k);
}
END_TEST

/* Each broken copy of the app must fail with the named rule. */
START_TEST(test_deploy_marathon_rules_catch_each_defect) {
    static const struct { const char *path, *json, *expect; } cases[] = {
        {"instances", "2", "\"instances\" must be 3"},
        {"id", "\"mcm\"", "\"id\""},
        {"constraints", "[]", "hostname"},
        {"constraints", "[[\"hostname\", \"GROUP_BY\"]]", "UNIQUE"},
        {"healthChecks", "[{\"protocol\": \"MESOS_HTTP\", \"path\": \"/\", \"portIndex\": 0}]", "/healthz"},
        {"healthChecks", "[]", "/healthz"},
        {"readinessChecks", "[]", "/readyz"},
        {"readinessChecks", "[{\"path\": \"/readyz\", \"portName\": \"nope\"}]", "/readyz"},
        {"portDefinitions", "[{\"port\": 0, \"name\": \"admin\"}]", "http"},
        {"upgradeStrategy", "{\"minimumHealthCapacity\": 0.3, \"maximumOverCapacity\": 0}", "more than one"},
        {"upgradeStrategy", "{\"minimumHealthCapacity\": 1, \"maximumOverCapacity\": 0}", "cannot make progress"},
        {"upgradeStrategy", "{\"minimumHealthCapacity\": 0.66, \"maximumOverCapacity\": 0.5}", "maximumOverCapacity"},
        {"taskKillGracePeriodSeconds", "1", "taskKillGracePeriodSeconds"},
        {"env.MCM_ADMIN_TOKEN", "\"hunter2\"", "holds a secret inline"},
        {"env.MCM_PRINCIPAL", "\"c2VjcmV0LXRva2VuLTEyMzQ1Njc4\"", "looks like a secret"},
        {"env.MCM_ZK", "\"zk://mcm:pw@zk1:2181/mcm\"", "credentials"},
        {"env.MCM_NO_SUCH_FLAG", "\"1\"", "MCM_NO_SUCH_FLAG is not a variable"},
        {"env.MCM_HTTP_LISTEN", "\"0.0.0.0:$PORT0\"", "'$' is not expanded"},
        {"env.MCM_SECRET_FILE", "{\"secret\": \"nope\"}", "must be {\"secret\""},
        {"secrets.adminToken", "{\"source\": \"mcm/admin-token\", \"value\": \"x\"}", "only a \"source\""},
        {"cmd", "\"exec mcm-scheduler --http-listen 0.0.0.0:$PORT0 --advertise-url http://$HOST:$PORT0 --bogus 1\"",
         "bogus, not a flag"},
        {"cmd", "\"exec mcm-scheduler --advertise-url http://$HOST:$PORT0\"", "--http-listen"},
        {"cmd", "\"exec mcm-scheduler --http-listen 0.0.0.0:$PORT9\"", "$PORT9"},
        {"cmd", "\"exec memcached\"", "must run mcm-scheduler"},
        {"cmd", "\"exec mcm-scheduler --hostname \\\"$HOST\"", "unterminated quote"},
    };
    known_flags *k = scheduler_flags();
    json_t *orig = load_app(apps[0]);
    char why[512];
    for (size_t i = 0; i < MCM_ARRAY_LEN(cases); i++) {
        json_t *app = json_deep_copy(orig), *v = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
        ck_assert_msg(v != NULL, "case %zu: bad fixture", i);
        const char *dot = strchr(cases[i].path, '.');
        if (dot) {
            char parent[64];
            snprintf(parent, sizeof(parent), "%.*s", (int)(dot - cases[i].path), cases[i].path);
            json_object_set_new(json_object_get(app, parent), dot + 1, v);
        } else {
            json_object_set_new(app, cases[i].path, v);
        }
        why[0] = '\0';
        ck_assert_msg(check_marathon_app(app, k, why, sizeof(why)) == MCM_ERR, "case %zu (%s=%s) passed",
                      i, cases[i].path, cases[i].json);
        ck_assert_msg(strstr(why, cases[i].expect), "case %zu (%s): expected '%s', got '%s'", i,
                      cases[i].path, cases[i].expect, why);
        json_decref(app);
    }
    json_decref(orig);
    known_flags_free(k);
}
END_TEST

/* Runs mcm-scheduler-flags with the app's env and cmd arguments. */
static int parse_app_flags(const json_t *app) {
    char why[256], *env[64];
    int ne = 0;
    const char *name;
    json_t *v;
    env[ne++] = "PATH=/usr/bin:/bin";
    json_object_foreach((json_t *)json_object_get(app, "env"), name, v) {
        const char *val = json_is_string(v) ? json_string_value(v) : "secrets/from-marathon";
        ck_assert_int_lt(ne, 62);
        if (asprintf(&env[ne++], "%s=%s", name, val) < 0) ck_abort();
    }
    env[ne] = NULL;
    char **args = marathon_cmd_args(json_string_value(json_object_get(app, "cmd")), why, sizeof(why));
    ck_assert_msg(args != NULL, "%s", why);
    char *argv[32];
    int na = 0, i = strcmp(args[0], "exec") == 0;
    argv[na++] = getenv("MCM_SCHEDULER_FLAGS");
    for (i++; args[i] && na < 31; i++) argv[na++] = args[i];
    argv[na] = NULL;
    int rc = run(argv, env);
    free_args(args);
    for (i = 1; i < ne; i++) free(env[i]);
    return rc;
}

START_TEST(test_deploy_marathon_values_parse_as_mcm_scheduler_flags) {
    ck_assert_msg(getenv("MCM_SCHEDULER_FLAGS"), "MCM_SCHEDULER_FLAGS not set (run through ctest)");
    for (size_t i = 0; i < MCM_ARRAY_LEN(apps); i++) {
        json_t *app = load_app(apps[i]);
        ck_assert_msg(parse_app_flags(app) == 0, "%s: %s", apps[i], out);
        ck_assert_ptr_nonnull(strstr(out, "flags ok"));
        /* a bad value in the same app is refused, naming the variable */
        json_object_set_new(json_object_get(app, "env"), "MCM_MEM", json_string("lots"));
        ck_assert_int_eq(parse_app_flags(app), 2);
        ck_assert_msg(strstr(out, "--mem (from MCM_MEM)"), "%s", out);
        json_decref(app);
    }
}
END_TEST

/* --- systemd ------------------------------------------------------------------- */

START_TEST(test_deploy_systemd_unit_passes_every_rule) {
    char why[512];
    char *unit = slurp(path_in_source("deploy/systemd/mcm-scheduler.service"));
    ck_assert_msg(check_systemd_unit(unit, why, sizeof(why)) == MCM_OK, "%s", why);
    free(unit);
}
END_TEST

/* Replaces the first line starting with `key=` (whole line) by `line`. */
static char *with_line(const char *text, const char *key, const char *line) {
    const char *at = text;
    size_t k = strlen(key);
    while (at && !(strncmp(at, key, k) == 0 && at[k] == '=')) {
        at = strchr(at, '\n');
        at = at ? at + 1 : NULL;
    }
    ck_assert_msg(at != NULL, "no %s= line", key);
    const char *end = strchr(at, '\n');
    char *r;
    if (asprintf(&r, "%.*s%s%s", (int)(at - text), text, line, end ? end : "") < 0) ck_abort();
    return r;
}

START_TEST(test_deploy_systemd_rules_catch_each_defect) {
    static const char *cases[][3] = {
        {"Restart", "Restart=always", "Restart"},
        {"User", "User=root", "unprivileged"},
        {"User", "# no user", "unprivileged"},
        {"EnvironmentFile", "Environment=MCM_ZK=zk://z:1/mcm", "EnvironmentFile"},
        {"KillSignal", "KillSignal=SIGKILL", "SIGTERM"},
        {"TimeoutStopSec", "TimeoutStopSec=2s", "TimeoutStopSec"},
        {"ExecStart", "ExecStart=mcm-scheduler", "absolute path"},
        {"NoNewPrivileges", "NoNewPrivileges=no", "NoNewPrivileges"},
        {"RestartSec", "ExecReload=/bin/kill -HUP $MAINPID", "ExecReload"},
        {"LimitNOFILE", "Environment=MCM_ADMIN_TOKEN=x", "Environment="},
    };
    char why[512];
    char *unit = slurp(path_in_source("deploy/systemd/mcm-scheduler.service"));
    for (size_t i = 0; i < MCM_ARRAY_LEN(cases); i++) {
        char *bad = with_line(unit, cases[i][0], cases[i][1]);
        why[0] = '\0';
        ck_assert_msg(check_systemd_unit(bad, why, sizeof(why)) == MCM_ERR, "case %s passed", cases[i][1]);
        ck_assert_msg(strstr(why, cases[i][2]), "case %s: got '%s'", cases[i][1], why);
        free(bad);
    }
    free(unit);
}
END_TEST

/* systemd-analyze verify on `text` (with ExecStart pointing at a binary that
 * exists here, since verify checks it). 1 if systemd accepts it silently: it
 * exits 0 even for bad lines, but then names the file and line in out. */
static int systemd_accepts(const char *text) {
    char *u = with_line(text, "ExecStart", "ExecStart=/bin/true");
    char dir[] = "/tmp/mcm-unit-XXXXXX", path[256];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/mcm-scheduler.service", dir);
    FILE *f = fopen(path, "w");
    fputs(u, f);
    fclose(f);
    char *argv[] = {"/usr/bin/systemd-analyze", "verify", "--man=no", path, NULL};
    char *env[] = {"PATH=/usr/bin:/bin", "SYSTEMD_LOG_LEVEL=warning", NULL};
    int rc = run(argv, env);
    unlink(path);
    rmdir(dir);
    free(u);
    return rc == 0 && !strstr(out, "mcm-scheduler.service:");
}

START_TEST(test_deploy_systemd_analyze_verify_accepts_the_unit) {
    if (access("/usr/bin/systemd-analyze", X_OK) != 0) {
        fprintf(stderr, "systemd-analyze not installed (Debian package systemd): rule checks only\n");
        return;
    }
    char *unit = slurp(path_in_source("deploy/systemd/mcm-scheduler.service"));
    ck_assert_msg(systemd_accepts(unit), "systemd-analyze verify: %s", out);
    /* and it does notice a bad setting (so the check above can fail) */
    char *bad = with_line(unit, "ProtectProc", "ProtectProc=bogus");
    ck_assert(!systemd_accepts(bad));
    ck_assert_msg(strstr(out, "ProtectProc") || strstr(out, "protection"), "%s", out);
    free(bad);
    free(unit);
}
END_TEST

START_TEST(test_deploy_env_file_names_real_variables_that_parse) {
    known_flags *k = scheduler_flags();
    char why[512];
    char *text = slurp(path_in_source("deploy/systemd/mcm-scheduler.env"));
    ck_assert_msg(check_env_file(text, k, why, sizeof(why)) == MCM_OK, "%s", why);
    /* the values parse: mcm-scheduler-flags with exactly this environment */
    char *env[64], *argv[] = {getenv("MCM_SCHEDULER_FLAGS"), NULL};
    int ne = 0;
    for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n"))
        if (strncmp(l, "MCM_", 4) == 0 && ne < 63) env[ne++] = l;
    env[ne] = NULL;
    ck_assert_msg(run(argv, env) == 0, "%s", out);
    free(text);
    /* defects */
    static const char *bad[][2] = {
        {"MCM_ZK=zk://z:1/mcm\nMCM_NO_SUCH=1\n", "line 2: env MCM_NO_SUCH is not a variable"},
        {"#MCM_NO_SUCH=1\nMCM_ZK=zk://z:1/mcm\n", "line 1: env MCM_NO_SUCH"},
        {"MCM_ADMIN_TOKEN=abc\n", "holds a secret inline"},
        {"MCM_ADMIN_TOKEN_FILE=\n", "not a file path"},
        {"MCM_ZK zk://z:1/mcm\n", "neither KEY=VALUE"},
        {"# only comments\n", "no settings"},
    };
    for (size_t i = 0; i < MCM_ARRAY_LEN(bad); i++) {
        ck_assert_msg(check_env_file(bad[i][0], k, why, sizeof(why)) == MCM_ERR, "passed: %s", bad[i][0]);
        ck_assert_msg(strstr(why, bad[i][1]), "expected '%s', got '%s'", bad[i][1], why);
    }
    known_flags_free(k);
}
END_TEST

/* --- docs ---------------------------------------------------------------------- */

/* Every line of every ```c block in text that is not a line of file (exact,
 * leading spaces included): the first one, or NULL if all are there. */
static char *first_stray_code_line(const char *text, const char *file) {
    static char line[512];
    int inside = 0;
    for (const char *l = text; *l;) {
        size_t n = strcspn(l, "\n");
        snprintf(line, sizeof(line), "%.*s", (int)n, l);
        l += n + (l[n] == '\n');
        if (!inside) {
            inside = strcmp(line, "```c") == 0;
            continue;
        }
        if (strcmp(line, "```") == 0) {
            inside = 0;
            continue;
        }
        char needle[520];
        snprintf(needle, sizeof(needle), "\n%s\n", line);
        if (line[0] && !strstr(file, needle)) return line;
    }
    return NULL;
}

/* The C shown in docs/clients.md is taken from the example the tests build
 * and run (test_deploy_watch_example), so it cannot rot. */
START_TEST(test_deploy_clients_md_shows_the_tested_example) {
    char *doc = slurp(path_in_source("docs/clients.md"));
    char *example = slurp(path_in_source("docs/examples/watch_example.c"));
    ck_assert_ptr_nonnull(strstr(doc, "```c\n"));
    char *stray = first_stray_code_line(doc, example);
    ck_assert_msg(stray == NULL, "docs/clients.md shows a line that is not in watch_example.c: '%s'", stray);
    /* and a changed line is noticed */
    ck_assert_ptr_nonnull(first_stray_code_line("```c\n    watch_free(w);\n    bogus();\n```\n", example));
    free(example);
    free(doc);
}
END_TEST

int main(void) {
    Suite *s = suite_create("deploy_files");
    TCase *tc = tcase_create("deploy_files");
    tcase_add_test(tc, test_deploy_every_json_and_yaml_file_parses);
    tcase_add_test(tc, test_deploy_parse_check_catches_broken_files);
    tcase_add_test(tc, test_deploy_marathon_apps_pass_every_rule);
    tcase_add_test(tc, test_deploy_marathon_rules_catch_each_defect);
    tcase_add_test(tc, test_deploy_marathon_values_parse_as_mcm_scheduler_flags);
    tcase_add_test(tc, test_deploy_systemd_unit_passes_every_rule);
    tcase_add_test(tc, test_deploy_systemd_rules_catch_each_defect);
    tcase_add_test(tc, test_deploy_systemd_analyze_verify_accepts_the_unit);
    tcase_add_test(tc, test_deploy_env_file_names_real_variables_that_parse);
    tcase_add_test(tc, test_deploy_clients_md_shows_the_tested_example);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
