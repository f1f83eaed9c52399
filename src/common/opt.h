/* opt.h -- command-line flags that are also environment variables.
 *
 * A program describes its flags in a table of opt_spec; opt_parse fills the
 * typed destinations from, in order of precedence, the command line
 * (`--name=value`, `--name value`, `--flag`/`--no-flag` for booleans), the
 * environment (`MCM_NAME` with '-' as '_', upper case; an empty variable counts
 * as unset: Marathon and systemd set environment, not flags), and the default.
 * Every program also gets --help (--help=markdown for the README's
 * configuration reference), --version and --log-level.
 *
 * A bad value prints exactly one line naming the flag (and the variable it
 * came from) and what is wrong, and opt_parse returns 2, the exit status for
 * usage errors. Values are parsed by parse.h, nowhere else.
 *
 * Ownership: strings and URL structs written to destinations belong to the
 * program; opt_free() releases them. Threads: call from main before any
 * thread starts. */
#ifndef MCM_OPT_H
#define MCM_OPT_H

#include "parse.h"
#include <stdio.h>

typedef enum {
    OPT_STR,       /* char **: copy of the value */
    OPT_ENUM,      /* char **: one of `choices` ("a|b|c") */
    OPT_INT,       /* int64_t *, bounded by [min, max] */
    OPT_DOUBLE,    /* double *, bounded by [min, max] */
    OPT_BOOL,      /* int * */
    OPT_DURATION,  /* int64_t * in ms, bounded by [min, max] ms when max > 0 */
    OPT_SIZE,      /* uint64_t * in bytes; plain numbers per OPT_PLAIN_MIB */
    OPT_HOSTPORT,  /* parse_hostport * (port 0 allowed: "any free port") */
    OPT_ZK,        /* parse_zk * */
    OPT_MASTER,    /* opt_master *: http(s):// list or zk:// */
    OPT_LIST,      /* opt_list *: every value, in order: the flag repeated on the command
                    * line, or one per line of the environment variable (not both) */
} opt_type;

#define OPT_REQUIRED  0x1u   /* must be given (flag or environment) */
#define OPT_PLAIN_MIB 0x2u   /* OPT_SIZE: a plain number means MiB */

typedef struct opt_master {
    int is_zk;
    parse_zk zk;        /* when is_zk */
    parse_urls http;    /* otherwise */
} opt_master;

typedef struct opt_list {
    char **v;           /* copies of the values */
    int n;
} opt_list;

typedef struct opt_spec {
    const char *name;     /* long flag without dashes: "zk-session-timeout" */
    opt_type type;
    void *dst;
    const char *def;      /* default as an operator writes it; NULL = unset */
    const char *metavar;  /* shown in --help: "DURATION", "URL", ... */
    const char *help;
    double min, max;      /* numeric/duration bounds; both 0 = unbounded */
    unsigned flags;
    const char *choices;  /* OPT_ENUM */
} opt_spec;

typedef struct opt_program {
    const char *name;         /* "mcm-scheduler" */
    const char *summary;      /* one paragraph for --help */
    opt_spec *specs;
    int nspecs;
} opt_program;

#define OPT_CONTINUE (-1)
/* Returns OPT_CONTINUE when the program should run, otherwise the exit status
 * (0 after --help/--version, 2 after a usage error, already reported). */
int opt_parse(const opt_program *prog, int argc, char **argv);
/* Writes the --help text. */
void opt_print_help(const opt_program *prog, FILE *out);
/* Writes the same facts as a Markdown section (`--help=markdown`): a heading
 * with the program's name, the summary, and one table row per flag (flag,
 * environment variable, default, meaning with choices or bounds), ending with
 * --log-level. scripts/gen-config-ref builds the README's configuration
 * reference from it, so the reference cannot drift from the table. */
void opt_print_help_markdown(const opt_program *prog, FILE *out);
/* Name of the environment variable for a flag, e.g. "MCM_ZK_SESSION_TIMEOUT". */
void opt_env_name(const char *flag, char *buf, size_t len);
/* Frees what opt_parse stored in string and URL destinations. */
void opt_free(const opt_program *prog);
void opt_master_free(opt_master *m);
int opt_parse_master(const char *s, opt_master *out, char *err, size_t errlen);

#endif
