/* watch_file.c -- atomic file replacement (temp file, fsync, rename, fsync dir).
 *
 * Why this shape: rename(2) within one directory is atomic, so the temporary
 * file must live next to the target; fsync before rename orders data before
 * the name change. The temporary name carries the pid and a counter so two
 * programs writing the same target never share a temporary file.
 * Threads: any. Invariant: on every failure path the temporary file is removed. */
#include "watch_file.h"
#include "mcm.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_uint tmp_counter;

static int write_all(int fd, const char *data, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* 1 if path already holds exactly data. */
static int same_content(const char *path, const char *data, size_t len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    char buf[8192];
    size_t off = 0;
    int same = 1;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) { same = 0; break; }
        if (n == 0) break;
        if (off + (size_t)n > len || memcmp(buf, data + off, (size_t)n) != 0) { same = 0; break; }
        off += (size_t)n;
    }
    close(fd);
    return same && off == len;
}

static void fsync_dir(const char *path) {
    char *copy = strdup(path);
    if (!copy) return;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(copy);
}

int watch_write_file(const char *path, const char *data, size_t len, char *err, size_t errlen) {
    if (same_content(path, data, len)) return MCM_OK;
    char tmp[4096];
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp.%d.%u", path, (int)getpid(),
                     atomic_fetch_add(&tmp_counter, 1));
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        snprintf(err, errlen, "path too long: %s", path);
        return MCM_ERR;
    }
    const char *call = "open";
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) goto err;
    call = "write";
    if (write_all(fd, data, len) < 0) goto err;
    call = "fsync";
    if (fsync(fd) < 0) goto err;
    call = "close";
    int rc = close(fd);
    fd = -1;
    if (rc < 0) goto err;
    call = "rename";
    if (rename(tmp, path) < 0) goto err;
    fsync_dir(path);
    return MCM_OK;
err:
    snprintf(err, errlen, "%s %s: %s", call, fd < 0 && call[0] == 'o' ? tmp : path, strerror(errno));
    if (fd >= 0) close(fd);
    unlink(tmp);
    return MCM_ERR;
}
