/* opt.c -- flags, environment variables and defaults, one table per program.
 *
 * Shape: one pass over argv records which raw text each spec received; then
 * every spec is resolved from argv, else the environment, else its default,
 * and parsed by parse.h into its destination. Keeping "find the text" apart
 * from "parse the text" gives all three sources the same checks and the same
 * error line. Threads: main only, before other threads start.
 * Invariant: a usage error prints one line and yields exit status 2. */
#include "opt.h"
#include "log.h"
#include "mcm.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define BUILTIN_LOG_LEVEL "log-level"

void opt_env_name(const char *flag, char *buf, size_t len) {
    size_t i = 0;
    int n = snprintf(buf, len, "MCM_");
    if (n < 0 || (size_t)n >= len) return;
    for (i = 0; flag[i] && (size_t)n + i + 1 < len; i++)
        buf[n + i] = flag[i] == '-' ? '_' : (char)toupper((unsigned char)flag[i]);
    buf[n + i] = '\0';
}

int opt_parse_master(const char *s, opt_master *out, char *err, size_t errlen) {
    memset(out, 0, sizeof(*out));
    if (s && strncmp(s, "zk://", 5) == 0) {
        out->is_zk = 1;
        return parse_zk_url(s, &out->zk, err, errlen);
    }
    return parse_http_urls(s, &out->http, err, errlen);
}

void opt_master_free(opt_master *m) {
    if (!m) return;
    parse_zk_free(&m->zk);
    parse_urls_free(&m->http);
}

static int check_choice(const char *choices, const char *v) {
    size_t n = strlen(v);
    for (const char *c = choices; c && *c;) {
        size_t k = strcspn(c, "|");
        if (k == n && strncmp(c, v, n) == 0) return 1;
        c += k + (c[k] == '|');
    }
    return 0;
}

/* Parses `v` into the spec's destination; writes the reason into err. */
static int set_value(const opt_spec *o, const char *v, char *err, size_t len) {
    int bounded = o->min != 0 || o->max != 0;
    double lo = bounded ? o->min : -9.2e18, hi = bounded ? o->max : 9.2e18;
    switch (o->type) {
    case OPT_ENUM:
        if (!check_choice(o->choices, v)) {
            snprintf(err, len, "'%s' is not one of %s", v, o->choices);
            return MCM_ERR;
        }
        /* fall through */
    case OPT_STR: {
        char **dst = o->dst, *copy = strdup(v);
        if (!copy) { snprintf(err, len, "out of memory"); return MCM_ERR; }
        free(*dst);
        *dst = copy;
        return MCM_OK;
    }
    case OPT_INT:
        return parse_int64(v, (int64_t)lo, (int64_t)hi, o->dst, err, len);
    case OPT_DOUBLE:
        return parse_double(v, lo, hi, o->dst, err, len);
    case OPT_BOOL:
        return parse_bool(v, o->dst, err, len);
    case OPT_DURATION: {
        int64_t ms;
        if (parse_duration_ms(v, &ms, err, len) != MCM_OK) return MCM_ERR;
        if (bounded && (ms < o->min || ms > o->max)) {
            char a[32], b[32];
            parse_format_duration((int64_t)o->min, a, sizeof(a));
            parse_format_duration((int64_t)o->max, b, sizeof(b));
            snprintf(err, len, "%s is out of range [%s, %s]", v, a, b);
            return MCM_ERR;
        }
        *(int64_t *)o->dst = ms;
        return MCM_OK;
    }
    case OPT_SIZE: {
        uint64_t bytes;
        if (parse_size(v, (o->flags & OPT_PLAIN_MIB) ? 1u << 20 : 1, &bytes, err, len) != MCM_OK)
            return MCM_ERR;
        if (bounded && ((double)bytes < o->min || (double)bytes > o->max)) {
            snprintf(err, len, "%s is out of range [%.0fMiB, %.0fMiB]", v, o->min / 1048576, o->max / 1048576);
            return MCM_ERR;
        }
        *(uint64_t *)o->dst = bytes;
        return MCM_OK;
    }
    case OPT_HOSTPORT:
        return parse_host_port(v, 1, o->dst, err, len);
    case OPT_ZK: {
        parse_zk z;
        if (parse_zk_url(v, &z, err, len) != MCM_OK) return MCM_ERR;
        parse_zk_free(o->dst);
        *(parse_zk *)o->dst = z;
        return MCM_OK;
    }
    case OPT_LIST: {
        opt_list *l = o->dst;
        char **grown = realloc(l->v, sizeof(*grown) * (size_t)(l->n + 1)), *copy = strdup(v);
        if (grown) l->v = grown;
        if (!grown || !copy) { free(copy); snprintf(err, len, "out of memory"); return MCM_ERR; }
        l->v[l->n++] = copy;
        return MCM_OK;
    }
    case OPT_MASTER: {
        opt_master m;
        if (opt_parse_master(v, &m, err, len) != MCM_OK) return MCM_ERR;
        opt_master_free(o->dst);
        *(opt_master *)o->dst = m;
        return MCM_OK;
    }
    }
    snprintf(err, len, "unknown flag type");
    return MCM_ERR;
}

static int find_spec(const opt_program *p, const char *name, size_t n) {
    for (int i = 0; i < p->nspecs; i++)
        if (strlen(p->specs[i].name) == n && strncmp(p->specs[i].name, name, n) == 0) return i;
    return -1;
}

static int usage_error(const opt_program *p, const char *fmt, const char *a, const char *b) {
    fprintf(stderr, "%s: ", p->name);
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, " (see %s --help)\n", p->name);
    return 2;
}

/* Resolves --log-level like any other flag but applies it at once. */
static int apply_log_level(const opt_program *p, const char *given) {
    char env[64];
    opt_env_name(BUILTIN_LOG_LEVEL, env, sizeof(env));
    const char *v = given ? given : getenv(env);
    if (!v || !*v) return OPT_CONTINUE;
    int lvl = log_level_parse(v);
    if (lvl < 0)
        return usage_error(p, "--log-level: '%s' is not a level%s", v,
                           " (use debug, verbose, info, notice, warning or error)");
    log_set_level((log_level)lvl);
    return OPT_CONTINUE;
}

/* First pass: which text did each flag get on the command line? */
static int scan_argv(const opt_program *p, int argc, char **argv, const char **given,
                     const char **log_level) {
    static const char *bool_true = "true", *bool_false = "false";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { opt_print_help(p, stdout); return 0; }
        if (strcmp(a, "--help=markdown") == 0) { opt_print_help_markdown(p, stdout); return 0; }
        if (strcmp(a, "--version") == 0) { printf("%s %s\n", p->name, MCM_VERSION); return 0; }
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0')
            return usage_error(p, "unexpected argument '%s'%s", a, "");
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t n = eq ? (size_t)(eq - name) : strlen(name);
        const char *val = eq ? eq + 1 : NULL;
        if (n == strlen(BUILTIN_LOG_LEVEL) && strncmp(name, BUILTIN_LOG_LEVEL, n) == 0) {
            if (!val && i + 1 >= argc) return usage_error(p, "--%s needs a value%s", BUILTIN_LOG_LEVEL, "");
            *log_level = val ? val : argv[++i];
            continue;
        }
        int k = find_spec(p, name, n), neg = 0;
        if (k < 0 && n > 3 && strncmp(name, "no-", 3) == 0 && !val) {
            k = find_spec(p, name + 3, n - 3);
            neg = k >= 0 && p->specs[k].type == OPT_BOOL;
            if (!neg) k = -1;
        }
        if (k < 0) return usage_error(p, "unknown flag '%s'%s", a, "");
        if (!val && p->specs[k].type == OPT_BOOL) val = neg ? bool_false : bool_true;
        if (!val && i + 1 >= argc) return usage_error(p, "--%s needs a value%s", p->specs[k].name, "");
        given[k] = val ? val : argv[++i];
        if (p->specs[k].type == OPT_LIST) {   /* repeatable: each one kept now */
            char err[512];
            if (set_value(&p->specs[k], given[k], err, sizeof(err)) != MCM_OK)
                return usage_error(p, "--%s: %s", p->specs[k].name, err);
        }
    }
    return OPT_CONTINUE;
}

/* An OPT_LIST from the environment: one value per non-empty line. */
static int set_lines(const opt_program *p, const opt_spec *o, const char *text, const char *where) {
    char err[512], line[4096];
    for (const char *s = text; *s;) {
        size_t n = strcspn(s, "\n");
        if (n >= sizeof(line)) return usage_error(p, "%s: %s", where, "a line is too long");
        memcpy(line, s, n);
        line[n] = '\0';
        if (n && set_value(o, line, err, sizeof(err)) != MCM_OK) return usage_error(p, "%s: %s", where, err);
        s += n + (s[n] == '\n');
    }
    return OPT_CONTINUE;
}

int opt_parse(const opt_program *p, int argc, char **argv) {
    const char **given = calloc((size_t)p->nspecs + 1, sizeof(*given));
    const char *log_level = NULL;
    if (!given) return usage_error(p, "out of memory%s%s", "", "");
    int rc = scan_argv(p, argc, argv, given, &log_level);
    if (rc == OPT_CONTINUE) rc = apply_log_level(p, log_level);
    for (int i = 0; rc == OPT_CONTINUE && i < p->nspecs; i++) {
        const opt_spec *o = &p->specs[i];
        char env[96], err[512], where[160];
        opt_env_name(o->name, env, sizeof(env));
        const char *v = given[i], *ev = getenv(env);
        snprintf(where, sizeof(where), "--%s", o->name);
        if (!v && ev && *ev) {
            v = ev;
            snprintf(where, sizeof(where), "--%s (from %s)", o->name, env);
        }
        if (o->type == OPT_LIST) {   /* the command line's values are in already */
            if (!given[i] && v) rc = set_lines(p, o, v, where);
            continue;
        }
        if (!v) v = o->def;
        if (!v) {
            if (o->flags & OPT_REQUIRED)
                rc = usage_error(p, "%s is required (or set %s)", where, env);
            continue;
        }
        if (set_value(o, v, err, sizeof(err)) != MCM_OK)
            rc = usage_error(p, "%s: %s", where, err);
    }
    free(given);
    return rc;
}

static void describe_default(const opt_spec *o, char *buf, size_t len) {
    if (o->def) snprintf(buf, len, "default: %s", o->def);
    else if (o->flags & OPT_REQUIRED) snprintf(buf, len, "required");
    else snprintf(buf, len, "default: unset");
}

/* What values the flag takes beyond its type: the choices of an enum, the
 * bounds of a number ("" when unbounded). Same words in both help formats. */
static void describe_values(const opt_spec *o, char *buf, size_t len) {
    char a[32], b[32];
    buf[0] = '\0';
    if (o->type == OPT_ENUM && o->choices) {
        snprintf(buf, len, "one of %s", o->choices);
        return;
    }
    if (o->min == 0 && o->max == 0) return;
    switch (o->type) {
    case OPT_INT:
        snprintf(buf, len, "range [%.0f, %.0f]", o->min, o->max);
        break;
    case OPT_DOUBLE:
        snprintf(buf, len, "range [%g, %g]", o->min, o->max);
        break;
    case OPT_DURATION:
        parse_format_duration((int64_t)o->min, a, sizeof(a));
        parse_format_duration((int64_t)o->max, b, sizeof(b));
        snprintf(buf, len, "range [%s, %s]", a, b);
        break;
    case OPT_SIZE:
        snprintf(buf, len, "range [%.0fMiB, %.0fMiB]", o->min / 1048576, o->max / 1048576);
        break;
    default:
        break;
    }
}

void opt_print_help(const opt_program *p, FILE *out) {
    char env[96], def[256], vals[256];
    fprintf(out, "Usage: %s [flags]\n\n%s\n\n", p->name, p->summary);
    fprintf(out, "Every flag can also be set through the environment variable shown; a flag\n"
                 "on the command line wins over the environment.\n\nFlags:\n");
    for (int i = 0; i < p->nspecs; i++) {
        const opt_spec *o = &p->specs[i];
        opt_env_name(o->name, env, sizeof(env));
        describe_default(o, def, sizeof(def));
        describe_values(o, vals, sizeof(vals));
        fprintf(out, "  --%s%s%s\n      %s\n      env %s; %s%s%s\n", o->name,
                o->type == OPT_BOOL ? "" : "=", o->type == OPT_BOOL ? "" : o->metavar, o->help, env, def,
                vals[0] ? "; " : "", vals);
    }
    opt_env_name(BUILTIN_LOG_LEVEL, env, sizeof(env));
    fprintf(out, "  --log-level=LEVEL\n      debug, verbose, info, notice, warning or error.\n"
                 "      env %s; default: info\n", env);
    fprintf(out, "  --help\n      Print this help and exit (--help=markdown: as a Markdown table).\n"
                 "  --version\n      Print the version and exit.\n");
}

/* Writes s as the text of one Markdown table cell: '|' would end the cell
 * (GFM wants it escaped inside code spans too), '<' could start an HTML tag
 * (entities are not decoded in code spans, so those keep it), a newline would
 * end the row. */
static void md_cell(FILE *out, const char *s, int code) {
    for (; *s; s++) {
        if (*s == '|') fputs("\\|", out);
        else if (!code && *s == '<') fputs("&lt;", out);
        else if (!code && *s == '>') fputs("&gt;", out);
        else if (*s == '\n') fputc(' ', out);
        else fputc(*s, out);
    }
}

static void md_row(FILE *out, const char *flag, const char *metavar, const char *env, const char *def,
                   int required, const char *help, const char *vals) {
    fprintf(out, "| `--%s%s%s` | `%s` | ", flag, metavar ? "=" : "", metavar ? metavar : "", env);
    if (def) {
        fputc('`', out);
        md_cell(out, def, 1);
        fputc('`', out);
    } else {
        fputs(required ? "required" : "unset", out);
    }
    fputs(" | ", out);
    md_cell(out, help, 0);
    if (vals && vals[0]) {
        fputs(" (", out);
        md_cell(out, vals, 0);
        fputc(')', out);
    }
    fputs(" |\n", out);
}

void opt_print_help_markdown(const opt_program *p, FILE *out) {
    char env[96], vals[256];
    fprintf(out, "### %s\n\n", p->name);
    for (const char *s = p->summary; *s; s++) fputc(*s == '\n' ? ' ' : *s, out);
    fprintf(out, "\n\n| flag | environment variable | default | meaning |\n|---|---|---|---|\n");
    for (int i = 0; i < p->nspecs; i++) {
        const opt_spec *o = &p->specs[i];
        opt_env_name(o->name, env, sizeof(env));
        describe_values(o, vals, sizeof(vals));
        md_row(out, o->name, o->type == OPT_BOOL ? NULL : o->metavar, env, o->def,
               (o->flags & OPT_REQUIRED) != 0, o->help, vals);
    }
    opt_env_name(BUILTIN_LOG_LEVEL, env, sizeof(env));
    md_row(out, BUILTIN_LOG_LEVEL, "LEVEL", env, "info", 0, "Log level.",
           "one of debug|verbose|info|notice|warning|error");
    fprintf(out, "\nAlso `--help` (`--help=markdown` prints this table) and `--version`.\n");
}

void opt_free(const opt_program *p) {
    for (int i = 0; i < p->nspecs; i++) {
        const opt_spec *o = &p->specs[i];
        if (o->type == OPT_STR || o->type == OPT_ENUM) {
            free(*(char **)o->dst);
            *(char **)o->dst = NULL;
        } else if (o->type == OPT_ZK) {
            parse_zk_free(o->dst);
        } else if (o->type == OPT_MASTER) {
            opt_master_free(o->dst);
        } else if (o->type == OPT_LIST) {
            opt_list *l = o->dst;
            for (int k = 0; k < l->n; k++) free(l->v[k]);
            free(l->v);
            l->v = NULL;
            l->n = 0;
        }
    }
}
