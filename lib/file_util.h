/* Whole-file reads with a size bound, writes of a setting, and atomic writes (temp file + rename)
 * so a failed build step never leaves a half-written artifact behind. */
#ifndef UVM_FILE_UTIL_H
#define UVM_FILE_UTIL_H

#include <stddef.h>
#include <stdio.h>

#include "err.h"

struct file_buf {
	char *data; /* len bytes plus a terminating NUL (for text parsers) */
	size_t len;
};

/* Reads a regular file (or a pseudo-file such as /proc/cmdline) of at most
 * max bytes; a larger file is an error, never silently truncated. */
int file_read_all(const char *path, size_t max, struct file_buf *out, struct uvm_err *err);
/* The same from an open descriptor (left open); what names it in errors. */
int file_read_fd(int fd, const char *what, size_t max, struct file_buf *out, struct uvm_err *err);
void file_buf_free(struct file_buf *buf);

/* One write(2) of text to an existing file, as /proc/sys and cgroup files
 * want (no truncation, no temp file); err.code is errno (ENOENT: absent). */
int file_write_text(const char *path, const char *text, struct uvm_err *err);

/* Calls fn with a stream on PATH.tmp; renames it over PATH only if fn returned
 * 0 and every write reached the disk. */
typedef int (*file_writer_fn)(FILE *f, void *ctx, struct uvm_err *err);
int file_write_atomic(const char *path, file_writer_fn fn, void *ctx, struct uvm_err *err);

/* file_write_atomic of len bytes. */
int file_write_atomic_bytes(const char *path, const void *data, size_t len, struct uvm_err *err);

/* A small attribute file (sysfs) as a string without its trailing newlines
 * or NULs: 0, or -1 if it cannot be read or needs len bytes or more. */
int file_read_small(const char *path, char *out, size_t len);

/* Removes dir and everything under it, not following symbolic links;
 * best effort (for staging and temporary directories). */
void file_remove_tree(const char *dir);

#endif
