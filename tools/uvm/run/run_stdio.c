/* The host ends of a container process's stdio (docs/sandbox.md, step 6):
 * see run.h. The guest side is pulled and pushed by the session with
 * read_output and write_stdin; this file only moves bytes between those
 * answers and descriptors, never blocking on a descriptor uvm run opened. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run.h"

int run_sink_open(struct run_sink *s, const char *path, int default_fd, struct uvm_err *err)
{
	memset(s, 0, sizeof *s);
	s->fd = default_fd;
	if (!path)
		return 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NONBLOCK | O_CLOEXEC, 0600);
	if (fd < 0 && errno == ENXIO)
		fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC); /* a FIFO whose reader is not there yet */
	if (fd < 0)
		return uvm_fail(err, errno, "open %s for writing: %s", path, strerror(errno));
	s->fd = fd;
	s->own = 1;
	s->nonblock = 1;
	return 0;
}

void run_sink_flush(struct run_sink *s)
{
	while (s->off < s->len) {
		if (s->fd < 0 || s->broken) {
			s->off = s->len;
			break;
		}
		ssize_t n = write(s->fd, s->buf + s->off, s->len - s->off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && s->nonblock)
			return;
		if (n <= 0) {
			s->broken = 1;
			continue;
		}
		s->off += (size_t)n;
	}
	s->len = s->off = 0;
}

void run_sink_write(struct run_sink *s, const void *data, size_t n)
{
	if (n == 0 || s->fd < 0 || s->broken)
		return;
	if (s->off) {
		memmove(s->buf, s->buf + s->off, s->len - s->off);
		s->len -= s->off;
		s->off = 0;
	}
	char *p = realloc(s->buf, s->len + n);
	if (!p) {
		s->broken = 1;
		return;
	}
	s->buf = p;
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	run_sink_flush(s);
}

int run_sink_idle(const struct run_sink *s)
{
	return s->off >= s->len;
}

void run_sink_close(struct run_sink *s)
{
	if (s->own && s->fd >= 0) {
		/* What is still queued gets one last blocking chance. */
		if (s->off < s->len && !s->broken) {
			int fl = fcntl(s->fd, F_GETFL);
			if (fl >= 0 && fcntl(s->fd, F_SETFL, fl & ~O_NONBLOCK) == 0)
				s->nonblock = 0;
			run_sink_flush(s);
		}
		close(s->fd);
	}
	free(s->buf);
	memset(s, 0, sizeof *s);
	s->fd = -1;
}

int run_source_open(struct run_source *s, const char *path, struct uvm_err *err)
{
	struct stat st;
	memset(s, 0, sizeof *s);
	s->fd = -1;
	if (!(s->buf = malloc(RUN_IO_CHUNK)))
		return uvm_fail(err, ENOMEM, "out of memory");
	if (strcmp(path, "-") == 0) {
		s->fd = STDIN_FILENO;
		return 0;
	}
	/* A FIFO too is opened read-only (O_NONBLOCK: without a writer the open
	 * does not wait), so that its last writer's close is its end. */
	s->fifo = stat(path, &st) == 0 && S_ISFIFO(st.st_mode);
	s->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (s->fd < 0) {
		int e = errno;
		free(s->buf);
		s->buf = NULL;
		return uvm_fail(err, e, "open %s for reading: %s", path, strerror(e));
	}
	s->own = 1;
	return 0;
}

void run_source_read(struct run_source *s, short revents)
{
	if (s->fd < 0 || s->eof || s->off < s->len)
		return;
	s->off = s->len = 0;
	ssize_t n = read(s->fd, s->buf, RUN_IO_CHUNK);
	if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	/* A FIFO reads 0 whenever it has no writer, also before the first one
	 * came; poll says POLLHUP only once a writer opened it after this end
	 * did, and all writers have closed it again: only that is its end.
	 * Before the first writer poll reports nothing, so nothing spins. */
	if (n == 0 && s->fifo && !(revents & POLLHUP))
		return;
	if (n <= 0)
		s->eof = 1;
	else
		s->len = (size_t)n;
}

void run_source_close(struct run_source *s)
{
	if (s->own && s->fd >= 0)
		close(s->fd);
	free(s->buf);
	memset(s, 0, sizeof *s);
	s->fd = -1;
}
