/* log.c -- levelled logging to stderr (see log.h for the line format).
 *
 * Design: format the whole line into a stack buffer, then one write(2), so
 * concurrent threads never interleave inside a line and no lock is needed.
 * Lines longer than the buffer are truncated with a marker, never dropped.
 * Threads: any. Invariant: log_write never allocates and never fails loudly. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

volatile int log_min_level = LOG_INFO;
static const char *log_program = "mcm";
static const char *volatile log_role = "-";

static const char *const level_names[] = {
    "debug", "verbose", "info", "notice", "warning", "error", "off"
};

void log_init(const char *program) {
    const char *slash = strrchr(program, '/');
    log_program = slash ? slash + 1 : program;
}

void log_set_level(log_level level) { log_min_level = (int)level; }
void log_set_role(const char *role) { log_role = role ? role : "-"; }

const char *log_level_name(log_level level) {
    if ((int)level < 0 || level > LOG_OFF) return "?";
    return level_names[level];
}

int log_level_parse(const char *name) {
    for (int i = 0; i <= LOG_OFF; i++)
        if (strcasecmp(name, level_names[i]) == 0) return i;
    if (strcasecmp(name, "warn") == 0) return LOG_WARNING;
    return -1;
}

void log_write(log_level level, const char *component, const char *fmt, ...) {
    char line[4096];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    int n = snprintf(line, sizeof(line),
                     "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%d] %s %s %s: ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, (long)(tv.tv_usec / 1000), log_program,
                     (int)getpid(), log_role, log_level_name(level), component);
    if (n < 0) return;
    size_t off = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + off, sizeof(line) - off, fmt, ap);
    va_end(ap);
    if (m < 0) m = 0;
    off += (size_t)m;
    if (off >= sizeof(line) - 1) {
        static const char more[] = "...[truncated]";
        off = sizeof(line) - sizeof(more) - 1;
        memcpy(line + off, more, sizeof(more) - 1);
        off += sizeof(more) - 1;
    }
    line[off++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, off);
    (void)w;
}
