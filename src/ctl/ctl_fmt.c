/* ctl_fmt.c -- how mcmctl prints: aligned tables, sizes, times, progress.
 *
 * Tables are collected whole and printed once, so every column is as wide as
 * its widest cell (header included) and numbers line up on the right.
 * Progress: on a terminal one line is redrawn in place ("\r", erase to the
 * end of line) with a bar; when stdout is a file or a pipe, a plain line is
 * printed only when the text changes, so logs and scripts get one line per
 * step and no control characters.
 * Thread: main. Ownership: a table owns copies of its cells. */
#include "ctl.h"
#include "mcm.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CTL_BAR_WIDTH 30
#define CTL_COL_GAP 2

static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};

void ctl_fmt_bytes(double bytes, char *buf, size_t len) {
    size_t u = 0;
    while (bytes >= 1024 && u + 1 < MCM_ARRAY_LEN(units)) {
        bytes /= 1024;
        u++;
    }
    snprintf(buf, len, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
}

void ctl_fmt_time(int64_t wall_ms, char *buf, size_t len) {
    time_t s = (time_t)(wall_ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(buf, len, "%Y-%m-%d %H:%M:%SZ", &tm);
}

void ctl_fail(const char *fmt, ...) {
    char line[2 * CTL_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: %s\n", CTL_PROGRAM, line);
}

/* --- tables ------------------------------------------------------------------- */

struct ctl_table {
    int ncols, nrows;
    char **cells;       /* (nrows + 1) * ncols; row 0 is the header */
    int *right;
};

ctl_table *ctl_table_new(int ncols, const char *const *header, const int *right) {
    ctl_table *t = calloc(1, sizeof(*t));
    if (!t) return NULL;
    t->ncols = ncols;
    t->right = calloc((size_t)ncols, sizeof(int));
    t->nrows = -1;                       /* the header becomes row 0 */
    if (!t->right || ctl_table_add(t, header) != MCM_OK) {
        ctl_table_free(t);
        return NULL;
    }
    if (right) memcpy(t->right, right, sizeof(int) * (size_t)ncols);
    return t;
}

int ctl_table_add(ctl_table *t, const char *const *cells) {
    size_t base = (size_t)(t->nrows + 1) * (size_t)t->ncols;
    char **grown = realloc(t->cells, sizeof(char *) * (base + (size_t)t->ncols));
    if (!grown) return MCM_ERR;
    t->cells = grown;
    for (int k = 0; k < t->ncols; k++) grown[base + (size_t)k] = strdup(cells[k] ? cells[k] : "");
    t->nrows++;
    return MCM_OK;
}

void ctl_table_print(const ctl_table *t) {
    int *w = calloc((size_t)t->ncols, sizeof(int));
    if (!w) return;
    for (int r = 0; r <= t->nrows; r++)
        for (int k = 0; k < t->ncols; k++) {
            const char *s = t->cells[(size_t)r * (size_t)t->ncols + (size_t)k];
            int n = s ? (int)strlen(s) : 0;
            if (n > w[k]) w[k] = n;
        }
    for (int r = 0; r <= t->nrows; r++) {
        for (int k = 0; k < t->ncols; k++) {
            const char *s = t->cells[(size_t)r * (size_t)t->ncols + (size_t)k];
            int last = k == t->ncols - 1;
            if (t->right[k]) printf("%*s", w[k], s ? s : "");
            else printf("%-*s", last ? 0 : w[k], s ? s : "");
            if (!last) printf("%*s", CTL_COL_GAP, "");
        }
        printf("\n");
    }
    free(w);
}

void ctl_table_free(ctl_table *t) {
    if (!t) return;
    for (size_t i = 0; t->cells && i < (size_t)(t->nrows + 1) * (size_t)t->ncols; i++) free(t->cells[i]);
    free(t->cells);
    free(t->right);
    free(t);
}

/* --- progress ----------------------------------------------------------------- */

static char last_line[512];
static int line_open;

void ctl_progress(ctl *c, const char *what, int done, int total, int64_t elapsed_ms) {
    char text[512];
    if (total > 0) snprintf(text, sizeof(text), "%s: %d of %d", what, done, total);
    else if (total == 0) snprintf(text, sizeof(text), "%s: %d", what, done);
    else snprintf(text, sizeof(text), "%s", what);
    if (!c->tty) {
        if (strcmp(text, last_line) != 0) printf("%s\n", text);
        fflush(stdout);
        snprintf(last_line, sizeof(last_line), "%s", text);
        return;
    }
    char bar[CTL_BAR_WIDTH + 1] = "";
    if (total > 0) {
        int fill = done >= total ? CTL_BAR_WIDTH : done <= 0 ? 0 : done * CTL_BAR_WIDTH / total;
        for (int i = 0; i < CTL_BAR_WIDTH; i++) bar[i] = i < fill ? '#' : '.';
        bar[CTL_BAR_WIDTH] = 0;
    }
    printf("\r%s%s%s%s  %llds\033[K", text, total > 0 ? "  [" : "", bar, total > 0 ? "]" : "",
           (long long)(elapsed_ms / 1000));
    fflush(stdout);
    line_open = 1;
}

void ctl_progress_end(ctl *c) {
    if (c->tty && line_open) printf("\n");
    fflush(stdout);
    line_open = 0;
    last_line[0] = 0;
}
