/* check_deploy.c -- rules for the Marathon app, the systemd unit and the
 * environment file (see check_deploy.h).
 *
 * Shape: small predicates over jansson values and text lines; each rule
 * writes one sentence into `why`. The secret heuristics are deliberately
 * simple: a variable whose name says SECRET/TOKEN/PASSWORD/... must be a
 * *_FILE path, and no value may look like a token (16+ characters of
 * [A-Za-z0-9+=_-] mixing letters and digits) or carry user:password@ in a URL.
 * Threads: any. */
#include "check_deploy.h"
#include "mcm.h"
#include "parse.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct known_flags {
    char **flags, **envs;
    int nflags, nenvs;
};

static int fail(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *why, size_t len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
    return MCM_ERR;
}

static void push(char ***arr, int *n, const char *s, size_t k) {
    *arr = realloc(*arr, sizeof(**arr) * (size_t)(*n + 1));
    (*arr)[(*n)++] = strndup(s, k);
}

/* --help lines: "  --name=METAVAR" / "  --name" and "      env MCM_NAME; ...". */
known_flags *known_flags_from_help(const char *help) {
    known_flags *k = calloc(1, sizeof(*k));
    for (const char *l = help; l && *l;) {
        size_t n = strcspn(l, "\n");
        if (strncmp(l, "  --", 4) == 0) {
            const char *name = l + 4;
            push(&k->flags, &k->nflags, name, strcspn(name, "=\n "));
        } else if (strncmp(l, "      env MCM_", 14) == 0) {
            const char *env = l + 10;
            push(&k->envs, &k->nenvs, env, strcspn(env, ";\n "));
        }
        l += n + (l[n] == '\n');
    }
    return k;
}

static int in(char **arr, int n, const char *s) {
    for (int i = 0; i < n; i++)
        if (strcmp(arr[i], s) == 0) return 1;
    return 0;
}

int known_flags_has_env(const known_flags *k, const char *env) { return in(k->envs, k->nenvs, env); }
int known_flags_has_flag(const known_flags *k, const char *flag) { return in(k->flags, k->nflags, flag); }
int known_flags_count(const known_flags *k) { return k->nenvs; }

void known_flags_free(known_flags *k) {
    if (!k) return;
    for (int i = 0; i < k->nflags; i++) free(k->flags[i]);
    for (int i = 0; i < k->nenvs; i++) free(k->envs[i]);
    free(k->flags);
    free(k->envs);
    free(k);
}

/* --- secrets ---------------------------------------------------------------- */

static int name_says_secret(const char *name) {
    static const char *words[] = {"SECRET", "TOKEN", "PASSWORD", "PASSWD", "CREDENTIAL", "DIGEST", "AUTH", "KEY"};
    char up[128];
    size_t i = 0;
    for (; name[i] && i + 1 < sizeof(up); i++) up[i] = (char)toupper((unsigned char)name[i]);
    up[i] = '\0';
    for (size_t w = 0; w < MCM_ARRAY_LEN(words); w++)
        if (strstr(up, words[w])) return 1;
    return 0;
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int looks_like_token(const char *v) {
    size_t n = strlen(v);
    int letters = 0, digits = 0;
    if (n < 16) return 0;
    for (const char *p = v; *p; p++) {
        if (isalpha((unsigned char)*p)) letters = 1;
        else if (isdigit((unsigned char)*p)) digits = 1;
        else if (!strchr("+=_-", *p)) return 0;
    }
    return letters && digits;
}

/* "scheme://user:password@host" anywhere in the value. */
static int has_url_credentials(const char *v) {
    for (const char *p = strstr(v, "://"); p; p = strstr(p + 3, "://")) {
        const char *auth = p + 3;
        size_t k = strcspn(auth, "/@,");
        if (auth[k] == '@' && memchr(auth, ':', k)) return 1;
    }
    return 0;
}

int check_env_entry(const char *name, const char *value, const known_flags *k, char *why, size_t len) {
    if (name_says_secret(name) && !ends_with(name, "_FILE"))
        return fail(why, len, "env %s holds a secret inline; use a *_FILE variable and a secret file", name);
    if (strncmp(name, "MCM_", 4) == 0 && !known_flags_has_env(k, name))
        return fail(why, len, "env %s is not a variable of mcm-scheduler (see its --help)", name);
    if (strchr(value, '$'))
        return fail(why, len, "env %s=%s: values are passed literally, '$' is not expanded "
                    "(pass it on the command line instead)", name, value);
    if (ends_with(name, "_FILE") && (!value[0] || strpbrk(value, " \t")))
        return fail(why, len, "env %s=%s is not a file path", name, value);
    if (looks_like_token(value))
        return fail(why, len, "env %s looks like a secret value written inline", name);
    if (has_url_credentials(value))
        return fail(why, len, "env %s carries user:password@ credentials in a URL", name);
    return MCM_OK;
}

/* --- Marathon --------------------------------------------------------------- */

static const char *str_at(const json_t *o, const char *key) {
    return json_string_value(json_object_get(o, key));
}

static int check_required_fields(const json_t *app, char *why, size_t len) {
    const char *id = str_at(app, "id");
    if (!id || id[0] != '/') return fail(why, len, "\"id\" must be an absolute app id such as /mcm/scheduler");
    if (!str_at(app, "cmd")) return fail(why, len, "\"cmd\" (the mcm-scheduler command line) is missing");
    if (!json_is_integer(json_object_get(app, "instances")) ||
        json_integer_value(json_object_get(app, "instances")) != 3)
        return fail(why, len, "\"instances\" must be 3 (one leader, two followers)");
    if (json_number_value(json_object_get(app, "cpus")) <= 0 || json_number_value(json_object_get(app, "mem")) <= 0)
        return fail(why, len, "\"cpus\" and \"mem\" must be positive numbers");
    return MCM_OK;
}

static int check_constraint(const json_t *app, char *why, size_t len) {
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(app, "constraints"), i, c) {
        const char *f = json_string_value(json_array_get(c, 0)), *op = json_string_value(json_array_get(c, 1));
        if (f && op && strcmp(f, "hostname") == 0 && strcmp(op, "UNIQUE") == 0 && json_array_size(c) == 2)
            return MCM_OK;
    }
    return fail(why, len, "\"constraints\" lacks [\"hostname\", \"UNIQUE\"] (one replica per host)");
}

static int port_named(const json_t *app, const char *name) {
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(app, "portDefinitions"), i, p) {
        const char *n = str_at(p, "name");
        if (n && strcmp(n, name) == 0) return 1;
    }
    return 0;
}

static int check_ports(const json_t *app, char *why, size_t len) {
    const json_t *pd = json_object_get(app, "portDefinitions");
    if (json_array_size(pd) < 1 || !port_named(app, "http") ||
        strcmp(str_at(json_array_get(pd, 0), "name") ? str_at(json_array_get(pd, 0), "name") : "", "http"))
        return fail(why, len, "\"portDefinitions\" must start with a port named \"http\" ($PORT0)");
    return MCM_OK;
}

static int check_health(const json_t *app, char *why, size_t len) {
    static const char *protos[] = {"HTTP", "HTTPS", "MESOS_HTTP", "MESOS_HTTPS"};
    const json_t *hcs = json_object_get(app, "healthChecks");
    size_t i;
    json_t *hc;
    if (json_array_size(hcs) == 0) return fail(why, len, "\"healthChecks\" is empty: add one on /healthz");
    json_array_foreach(hcs, i, hc) {
        const char *path = str_at(hc, "path"), *proto = str_at(hc, "protocol");
        int ok = 0;
        for (size_t k = 0; proto && k < MCM_ARRAY_LEN(protos); k++) ok |= strcmp(proto, protos[k]) == 0;
        if (!ok || !path || strcmp(path, "/healthz") != 0)
            return fail(why, len, "healthChecks[%zu] must be an HTTP check of path /healthz", i);
        const json_t *pi = json_object_get(hc, "portIndex");
        const char *pn = str_at(hc, "portName");
        if (!(pi && json_integer_value(pi) == 0) && !(pn && strcmp(pn, "http") == 0))
            return fail(why, len, "healthChecks[%zu] must target the http port (portIndex 0)", i);
    }
    return MCM_OK;
}

static int check_readiness(const json_t *app, char *why, size_t len) {
    size_t i;
    json_t *rc;
    json_array_foreach(json_object_get(app, "readinessChecks"), i, rc) {
        const char *path = str_at(rc, "path"), *pn = str_at(rc, "portName"), *proto = str_at(rc, "protocol");
        if (path && strcmp(path, "/readyz") == 0 && pn && port_named(app, pn) &&
            (!proto || !strcmp(proto, "HTTP") || !strcmp(proto, "HTTPS")))
            return MCM_OK;
    }
    return fail(why, len, "\"readinessChecks\" needs an HTTP check of /readyz on a named port");
}

/* Marathon keeps ceil(instances * minimumHealthCapacity) healthy during an
 * upgrade and may start maximumOverCapacity * instances extra. */
static int check_upgrade(const json_t *app, char *why, size_t len) {
    const json_t *u = json_object_get(app, "upgradeStrategy");
    double n = (double)json_integer_value(json_object_get(app, "instances"));
    if (!json_is_object(u)) return fail(why, len, "\"upgradeStrategy\" is missing");
    double minh = json_number_value(json_object_get(u, "minimumHealthCapacity"));
    double over = json_number_value(json_object_get(u, "maximumOverCapacity"));
    if (!json_is_number(json_object_get(u, "minimumHealthCapacity")) || ceil(n * minh - 1e-9) < n - 1)
        return fail(why, len, "upgradeStrategy.minimumHealthCapacity %.2f lets more than one of %.0f replicas down",
                    minh, n);
    if (minh >= 1 && over <= 0)
        return fail(why, len, "upgradeStrategy with minimumHealthCapacity 1 and maximumOverCapacity 0 "
                    "cannot make progress");
    if (over > 0)
        return fail(why, len, "upgradeStrategy.maximumOverCapacity must be 0: with hostname UNIQUE an extra "
                    "replica needs a spare host, and a fourth replica is never needed");
    if (json_integer_value(json_object_get(app, "taskKillGracePeriodSeconds")) < 10)
        return fail(why, len, "\"taskKillGracePeriodSeconds\" must leave SIGTERM time to resign (>= 10)");
    return MCM_OK;
}

static int secret_defined(const json_t *app, const char *name) {
    return name && json_is_object(json_object_get(json_object_get(app, "secrets"), name));
}

static int check_secrets(const json_t *app, char *why, size_t len) {
    const char *name;
    json_t *s, *v;
    size_t i;
    json_object_foreach(json_object_get(app, "secrets"), name, s) {
        if (!str_at(s, "source") || json_object_size(s) != 1)
            return fail(why, len, "secrets.%s must hold only a \"source\" (a reference, never the value)", name);
    }
    json_array_foreach(json_object_get(json_object_get(app, "container"), "volumes"), i, v) {
        const char *ref = str_at(v, "secret");
        if (json_object_get(v, "secret") && !secret_defined(app, ref))
            return fail(why, len, "container.volumes[%zu] names an unknown secret", i);
    }
    return MCM_OK;
}

static int check_env(const json_t *app, const known_flags *k, char *why, size_t len) {
    const char *name;
    json_t *v;
    json_object_foreach(json_object_get(app, "env"), name, v) {
        if (json_is_object(v)) {
            if (!secret_defined(app, str_at(v, "secret")) || json_object_size(v) != 1)
                return fail(why, len, "env %s must be {\"secret\": <a name in \"secrets\">}", name);
            if (strncmp(name, "MCM_", 4) == 0 && !known_flags_has_env(k, name))
                return fail(why, len, "env %s is not a variable of mcm-scheduler (see its --help)", name);
            continue;
        }
        if (!json_is_string(v)) return fail(why, len, "env %s must be a string", name);
        if (check_env_entry(name, json_string_value(v), k, why, len) != MCM_OK) return MCM_ERR;
    }
    return MCM_OK;
}

static int check_cmd(const json_t *app, const known_flags *k, char *why, size_t len) {
    char **args = marathon_cmd_args(str_at(app, "cmd"), why, len);
    int rc = MCM_OK, listen = 0, advertise = 0;
    if (!args) return MCM_ERR;
    int i = strcmp(args[0], "exec") == 0;
    if (!args[i] || !ends_with(args[i], "mcm-scheduler")) {
        rc = fail(why, len, "\"cmd\" must run mcm-scheduler (with exec, so SIGTERM reaches it)");
        goto out;
    }
    for (i++; args[i] && rc == MCM_OK; i++) {
        if (strncmp(args[i], "--", 2) != 0) continue;
        char flag[128];
        snprintf(flag, sizeof(flag), "%.*s", (int)strcspn(args[i] + 2, "="), args[i] + 2);
        if (!known_flags_has_flag(k, flag)) rc = fail(why, len, "\"cmd\" passes %s, not a flag of mcm-scheduler", flag);
        listen |= strcmp(flag, "http-listen") == 0;
        advertise |= strcmp(flag, "advertise-url") == 0;
    }
    if (rc == MCM_OK && (!listen || !advertise))
        rc = fail(why, len, "\"cmd\" must pass --http-listen 0.0.0.0:$PORT0 and --advertise-url http://$HOST:$PORT0");
out:
    free_args(args);
    return rc;
}

int check_marathon_app(const json_t *app, const known_flags *k, char *why, size_t len) {
    if (!json_is_object(app)) return fail(why, len, "the app definition must be a JSON object");
    if (check_required_fields(app, why, len) != MCM_OK || check_constraint(app, why, len) != MCM_OK ||
        check_ports(app, why, len) != MCM_OK || check_health(app, why, len) != MCM_OK ||
        check_readiness(app, why, len) != MCM_OK || check_upgrade(app, why, len) != MCM_OK ||
        check_secrets(app, why, len) != MCM_OK || check_env(app, k, why, len) != MCM_OK ||
        check_cmd(app, k, why, len) != MCM_OK)
        return MCM_ERR;
    return MCM_OK;
}

/* --- Marathon cmd words ------------------------------------------------------- */

static const char *marathon_var(const char *name, size_t n) {
    static const struct { const char *name, *value; } vars[] = {
        {"HOST", "agent1.example.com"}, {"PORT0", "31000"}, {"PORT1", "31001"},
        {"PORT_HTTP", "31000"}, {"PORT_DISCOVERY", "31001"}, {"MESOS_SANDBOX", "/mnt/mesos/sandbox"},
    };
    for (size_t i = 0; i < MCM_ARRAY_LEN(vars); i++)
        if (strlen(vars[i].name) == n && strncmp(vars[i].name, name, n) == 0) return vars[i].value;
    return NULL;
}

/* Appends $NAME or ${NAME} at *p to word; advances *p. */
static int expand_var(const char **p, char *word, size_t *w, size_t cap, char *why, size_t len) {
    const char *s = *p + 1;
    int braced = *s == '{';
    s += braced;
    size_t n = 0;
    while (isalnum((unsigned char)s[n]) || s[n] == '_') n++;
    const char *v = marathon_var(s, n);
    if (!v) return fail(why, len, "\"cmd\" uses $%.*s, which Marathon does not set", (int)n, s);
    if (braced && s[n] != '}') return fail(why, len, "\"cmd\" has an unterminated ${");
    for (; *v && *w + 1 < cap; v++) word[(*w)++] = *v;
    *p = s + n + braced;
    return MCM_OK;
}

char **marathon_cmd_args(const char *cmd, char *why, size_t len) {
    char **args = calloc(1, sizeof(*args));
    int n = 0;
    if (!cmd) {
        fail(why, len, "no \"cmd\"");
        goto err;
    }
    for (const char *p = cmd; *p;) {
        while (*p == ' ' || *p == '\t') p++;
        if (!*p) break;
        char word[1024];
        size_t w = 0;
        char quote = 0;
        while (*p && (quote || (*p != ' ' && *p != '\t'))) {
            if (!quote && (*p == '"' || *p == '\'')) quote = *p++;
            else if (quote && *p == quote) quote = 0, p++;
            else if (*p == '$' && quote != '\'') {
                if (expand_var(&p, word, &w, sizeof(word), why, len) != MCM_OK) goto err;
            } else if (w + 1 < sizeof(word)) word[w++] = *p++;
            else p++;
        }
        if (quote) {
            fail(why, len, "\"cmd\" has an unterminated quote");
            goto err;
        }
        args = realloc(args, sizeof(*args) * (size_t)(n + 2));
        args[n++] = strndup(word, w);
        args[n] = NULL;
    }
    if (n == 0) {
        fail(why, len, "\"cmd\" is empty");
        goto err;
    }
    return args;
err:
    free_args(args);
    return NULL;
}

void free_args(char **args) {
    for (int i = 0; args && args[i]; i++) free(args[i]);
    free(args);
}

/* --- systemd ------------------------------------------------------------------ */

/* Value of `key=` in [section] (last one wins, as systemd does), or NULL. */
static const char *unit_value(const char *text, const char *section, const char *key, char *buf, size_t len) {
    char head[64];
    int inside = 0, found = 0;
    snprintf(head, sizeof(head), "[%s]", section);
    for (const char *l = text; *l;) {
        size_t n = strcspn(l, "\n");
        if (*l == '[') inside = n == strlen(head) && strncmp(l, head, n) == 0;
        else if (inside && strncmp(l, key, strlen(key)) == 0 && l[strlen(key)] == '=') {
            snprintf(buf, len, "%.*s", (int)(n - strlen(key) - 1), l + strlen(key) + 1);
            found = 1;
        }
        l += n + (l[n] == '\n');
    }
    return found ? buf : NULL;
}

int check_systemd_unit(const char *text, char *why, size_t len) {
    char v[512];
    const char *s;
    int64_t ms;
    char err[256];
    if (!(s = unit_value(text, "Service", "ExecStart", v, sizeof(v))) || s[0] != '/' || !strstr(s, "mcm-scheduler"))
        return fail(why, len, "[Service] ExecStart must run mcm-scheduler by absolute path");
    if (!(s = unit_value(text, "Service", "Restart", v, sizeof(v))) || strcmp(s, "on-failure") != 0)
        return fail(why, len, "[Service] Restart must be on-failure");
    if (!unit_value(text, "Service", "EnvironmentFile", v, sizeof(v)))
        return fail(why, len, "[Service] EnvironmentFile is missing (flags come from MCM_* variables)");
    if (!(s = unit_value(text, "Service", "User", v, sizeof(v))) || !strcmp(s, "root") || !strcmp(s, "0"))
        return fail(why, len, "[Service] User must be an unprivileged user");
    if (!(s = unit_value(text, "Service", "KillSignal", v, sizeof(v))) || strcmp(s, "SIGTERM") != 0)
        return fail(why, len, "[Service] KillSignal must be SIGTERM (the replica resigns on it)");
    if (!(s = unit_value(text, "Service", "TimeoutStopSec", v, sizeof(v))) ||
        parse_duration_ms(s, &ms, err, sizeof(err)) != MCM_OK || ms < 10000)
        return fail(why, len, "[Service] TimeoutStopSec must give SIGTERM at least 10s to resign");
    if (unit_value(text, "Service", "ExecReload", v, sizeof(v)))
        return fail(why, len, "[Service] ExecReload: mcm-scheduler does not handle SIGHUP (yet)");
    if (!(s = unit_value(text, "Service", "NoNewPrivileges", v, sizeof(v))) || strcmp(s, "yes") != 0)
        return fail(why, len, "[Service] NoNewPrivileges=yes is missing");
    if (unit_value(text, "Service", "Environment", v, sizeof(v)))
        return fail(why, len, "[Service] Environment=: put variables in the EnvironmentFile");
    if (!unit_value(text, "Install", "WantedBy", v, sizeof(v)))
        return fail(why, len, "[Install] WantedBy is missing");
    return MCM_OK;
}

/* KEY=VALUE lines; "#KEY=VALUE" lines (commented-out settings) are checked too,
 * so an example that is not in effect cannot name a flag that does not exist. */
int check_env_file(const char *text, const known_flags *k, char *why, size_t len) {
    int line = 0, settings = 0;
    for (const char *l = text; *l;) {
        size_t n = strcspn(l, "\n");
        char buf[1024];
        line++;
        snprintf(buf, sizeof(buf), "%.*s", (int)n, l);
        l += n + (l[n] == '\n');
        const char *s = buf + (buf[0] == '#');
        const char *eq = strchr(s, '=');
        if (buf[0] == '\0' || (buf[0] == '#' && (strncmp(s, "MCM_", 4) != 0 || !eq))) continue;
        if (!eq || eq == s) return fail(why, len, "line %d is neither KEY=VALUE nor a comment", line);
        char name[128];
        snprintf(name, sizeof(name), "%.*s", (int)(eq - s), s);
        if (check_env_entry(name, eq + 1, k, why, len) != MCM_OK) {
            char again[512];
            snprintf(again, sizeof(again), "line %d: %s", line, why);
            snprintf(why, len, "%s", again);
            return MCM_ERR;
        }
        settings += buf[0] != '#';
    }
    if (settings == 0) return fail(why, len, "no settings");
    return MCM_OK;
}
