/* watch_file.h -- replace a file atomically.
 *
 * Readers of the target (nutcracker reloading its config, a service reading a
 * server list) see either the old content or the new, never a partial file:
 * the data goes to a temporary file in the same directory, is fsync'd, renamed
 * over the target, and the directory is fsync'd so the rename survives a crash.
 * A file that already holds exactly these bytes is left alone (mtime kept).
 *
 * Threads: any; concurrent writers of the same path must serialise themselves. */
#ifndef MCM_WATCH_FILE_H
#define MCM_WATCH_FILE_H

#include <stddef.h>

/* MCM_OK after the file holds data; MCM_ERR with "call path: strerror" in err
 * (the target is then untouched and no temporary file is left behind). */
int watch_write_file(const char *path, const char *data, size_t len, char *err, size_t errlen);

#endif
