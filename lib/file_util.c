#include "file_util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int file_read_fd(int fd, const char *what, size_t max, struct file_buf *out, struct uvm_err *err)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap + 1);
	out->data = NULL;
	out->len = 0;
	for (;;) {
		if (!buf)
			return uvm_fail(err, ENOMEM, "out of memory reading %s", what);
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			free(buf);
			return uvm_fail(err, e, "reading %s failed: %s", what, strerror(e));
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			free(buf);
			return uvm_fail(err, EFBIG, "%s is larger than the limit of %zu bytes", what, max);
		}
		if (len == cap) {
			cap *= 2;
			char *bigger = realloc(buf, cap + 1);
			if (!bigger)
				free(buf);
			buf = bigger;
		}
	}
	buf[len] = '\0';
	out->data = buf;
	out->len = len;
	return 0;
}

int file_read_all(const char *path, size_t max, struct file_buf *out, struct uvm_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	out->data = NULL;
	out->len = 0;
	if (fd < 0)
		return uvm_fail(err, errno, "cannot open %s: %s", path, strerror(errno));
	int rc = file_read_fd(fd, path, max, out, err);
	close(fd);
	return rc;
}

int file_write_text(const char *path, const char *text, struct uvm_err *err)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(text);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
		int code = errno;
		if (fd >= 0)
			close(fd);
		return uvm_fail(err, code, "writing \"%s\" to %s: %s", text, path, strerror(code));
	}
	if (close(fd) != 0)
		return uvm_fail(err, errno, "writing \"%s\" to %s: %s", text, path, strerror(errno));
	return 0;
}

void file_buf_free(struct file_buf *buf)
{
	free(buf->data);
	buf->data = NULL;
	buf->len = 0;
}

int file_write_atomic(const char *path, file_writer_fn fn, void *ctx, struct uvm_err *err)
{
	char tmp[4096];
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
		return uvm_fail(err, ENAMETOOLONG, "path too long: %s", path);
	FILE *f = fopen(tmp, "wb");
	if (!f)
		return uvm_fail(err, errno, "cannot create %s: %s", tmp, strerror(errno));
	int rc = fn(f, ctx, err);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		if (rc == 0)
			rc = uvm_fail(err, errno, "writing %s failed: %s", tmp, strerror(errno));
	}
	if (fclose(f) != 0 && rc == 0)
		rc = uvm_fail(err, errno, "closing %s failed: %s", tmp, strerror(errno));
	if (rc == 0 && rename(tmp, path) != 0)
		rc = uvm_fail(err, errno, "renaming %s to %s failed: %s", tmp, path, strerror(errno));
	if (rc)
		unlink(tmp);
	return rc;
}

struct bytes {
	const void *data;
	size_t len;
};

static int write_bytes(FILE *f, void *ctx, struct uvm_err *err)
{
	const struct bytes *b = ctx;
	if (fwrite(b->data, 1, b->len, f) != b->len)
		return uvm_fail(err, errno, "writing %zu bytes failed: %s", b->len, strerror(errno));
	return 0;
}

int file_write_atomic_bytes(const char *path, const void *data, size_t len, struct uvm_err *err)
{
	struct bytes b = {data, len};
	return file_write_atomic(path, write_bytes, &b, err);
}

int file_read_small(const char *path, char *out, size_t len)
{
	struct file_buf fb;
	struct uvm_err ignored;
	if (file_read_all(path, 256, &fb, &ignored))
		return -1;
	while (fb.len && (fb.data[fb.len - 1] == '\n' || fb.data[fb.len - 1] == '\0'))
		fb.len--;
	int ok = fb.len < len;
	if (ok) {
		memcpy(out, fb.data, fb.len);
		out[fb.len] = '\0';
	}
	file_buf_free(&fb);
	return ok ? 0 : -1;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void file_remove_tree(const char *dir)
{
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}
