/* check_deploy.h -- the rules tests/deploy applies to the files in deploy/.
 *
 * Each check returns MCM_OK, or MCM_ERR with one sentence in `why` naming the
 * file's field and what is wrong, so a failing test says what to fix. The
 * tests run every check on the real files (which must pass) and on broken
 * copies (which must fail), so no rule can silently stop checking.
 * Threads: any (no shared state). */
#ifndef MCM_CHECK_DEPLOY_H
#define MCM_CHECK_DEPLOY_H

#include <jansson.h>
#include <stddef.h>

/* The flags and environment variables one program's `--help` lists. */
typedef struct known_flags known_flags;
known_flags *known_flags_from_help(const char *help_text);
int known_flags_has_env(const known_flags *k, const char *env);     /* "MCM_ZK" */
int known_flags_has_flag(const known_flags *k, const char *flag);   /* "zk", no dashes */
int known_flags_count(const known_flags *k);
void known_flags_free(known_flags *k);                              /* NULL-safe */

/* One environment entry (name, literal value): a known MCM_* variable (or
 * not MCM_* at all), no secret written inline, no `$` (Marathon and systemd
 * pass env values literally). */
int check_env_entry(const char *name, const char *value, const known_flags *k, char *why, size_t len);

/* A Marathon app for mcm-scheduler (see docs/operations.md). */
int check_marathon_app(const json_t *app, const known_flags *k, char *why, size_t len);

/* The words of a Marathon `cmd` as the shell would pass them, with $HOST,
 * $PORT0, $PORT1 replaced by sample values (Marathon sets those). NULL-
 * terminated, malloc'd (free with free_args); NULL with a reason in why. */
char **marathon_cmd_args(const char *cmd, char *why, size_t len);
void free_args(char **args);

/* A systemd unit for one replica, and its environment file. */
int check_systemd_unit(const char *text, char *why, size_t len);
int check_env_file(const char *text, const known_flags *k, char *why, size_t len);

#endif
