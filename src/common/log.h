/* log.h -- levelled logging to stderr.
 *
 * Every line: `<RFC 3339 UTC time> <program>[<pid>] <role> <LEVEL> <component>: <text>`.
 * The component is the module: each .c file defines LOG_COMPONENT before
 * including this header (default "main"). The role (leader, follower, ...) is
 * set by whoever knows it, so an operator reading interleaved logs of three
 * replicas can tell who said what.
 *
 * Levels, as Redis uses them: WARNING means an operator must act; NOTICE each
 * leadership change with its reason and other rare important events; INFO
 * normal operation; VERBOSE per offer / per request; DEBUG the wire.
 * The macros test the level before evaluating their arguments.
 *
 * Threads: all functions may be called from any thread; a line is written with
 * one write(2) so lines from different threads never interleave. */
#ifndef MCM_LOG_H
#define MCM_LOG_H

typedef enum {
    LOG_DEBUG = 0,
    LOG_VERBOSE,
    LOG_INFO,
    LOG_NOTICE,
    LOG_WARNING,
    LOG_ERROR,
    LOG_OFF
} log_level;

#ifndef LOG_COMPONENT
#define LOG_COMPONENT "main"
#endif

extern volatile int log_min_level;

void log_init(const char *program);     /* program name kept by pointer */
void log_set_level(log_level level);
void log_set_role(const char *role);    /* static string, kept by pointer */
/* Parses "debug|verbose|info|notice|warning|error"; returns -1 if unknown. */
int log_level_parse(const char *name);
const char *log_level_name(log_level level);

void log_write(log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define LOG_AT(lvl, ...) do { \
        if ((int)(lvl) >= log_min_level) log_write((lvl), LOG_COMPONENT, __VA_ARGS__); \
    } while (0)
#define log_debug(...)   LOG_AT(LOG_DEBUG, __VA_ARGS__)
#define log_verbose(...) LOG_AT(LOG_VERBOSE, __VA_ARGS__)
#define log_info(...)    LOG_AT(LOG_INFO, __VA_ARGS__)
#define log_notice(...)  LOG_AT(LOG_NOTICE, __VA_ARGS__)
#define log_warn(...)    LOG_AT(LOG_WARNING, __VA_ARGS__)
#define log_error(...)   LOG_AT(LOG_ERROR, __VA_ARGS__)

#endif
