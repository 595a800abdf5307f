/* The host's end of the agent channel; see agent_conn.h. */
#include "agent_conn.h"

#include <errno.h>
#include <linux/vm_sockets.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "frame.h"

static void set_timeouts(int fd, int timeout_s)
{
	struct timeval tv = {timeout_s, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

int unix_connect(const char *path, const char *what, const char *hint, int timeout_s, struct uvm_err *err)
{
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof un.sun_path)
		return uvm_fail(err, ENAMETOOLONG, "%s %s: path too long (at most %zu bytes)", what, path,
				sizeof un.sun_path - 1);
	strcpy(un.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return uvm_fail(err, errno, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&un, sizeof un) != 0) {
		int e = errno;
		close(fd);
		return uvm_fail(err, e, "connect %s: %s (%s)", path, strerror(e), hint);
	}
	set_timeouts(fd, timeout_s);
	return fd;
}

int agent_connect(const char *path, int timeout_s, struct uvm_err *err)
{
	int fd;
	if (strncmp(path, "vsock:", 6) == 0) {
		struct sockaddr_vm vm = {.svm_family = AF_VSOCK, .svm_port = 1024};
		char *end;
		vm.svm_cid = (unsigned)strtoul(path + 6, &end, 10);
		if (*end == ':')
			vm.svm_port = (unsigned)strtoul(end + 1, &end, 10);
		if (*end || end == path + 6)
			return uvm_fail(err, EINVAL, "--socket %s: expected vsock:CID[:PORT]", path);
		fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&vm, sizeof vm) != 0) {
			int e = errno;
			close(fd);
			return uvm_fail(err, e, "connect %s: %s (is the UVM running with vhost-vsock?)", path,
					strerror(e));
		}
	} else {
		char hint[64 + 4096];
		snprintf(hint, sizeof hint, "is `uvm launch --socket %s` running?", path);
		return unix_connect(path, "--socket", hint, timeout_s, err);
	}
	if (fd < 0)
		return uvm_fail(err, errno, "socket: %s", strerror(errno));
	set_timeouts(fd, timeout_s);
	return fd;
}

static int io_all(int fd, void *buf, size_t len, int writing, struct uvm_err *err)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = writing ? send(fd, (char *)buf + done, len - done, MSG_NOSIGNAL)
				    : read(fd, (char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return uvm_fail(err, n == 0 ? EPIPE : errno, "%s the agent: %s",
					writing ? "writing to" : "reading from",
					n == 0                                    ? "the connection was closed"
					: errno == EAGAIN || errno == EWOULDBLOCK ? "timed out (raise --timeout?)"
										  : strerror(errno));
		done += (size_t)n;
	}
	return 0;
}

int agent_exchange(int fd, const char *req, size_t len, char **body, size_t *blen, struct uvm_err *err)
{
	uint8_t hdr[4];
	*body = NULL;
	*blen = 0;
	if (len == 0 || len > AGENT_FRAME_MAX)
		return uvm_fail(err, E2BIG, "the request is %zu bytes; the protocol allows 1..%u", len,
				AGENT_FRAME_MAX);
	frame_header(hdr, (uint32_t)len);
	if (io_all(fd, hdr, 4, 1, err) || io_all(fd, (void *)req, len, 1, err) || io_all(fd, hdr, 4, 0, err))
		return -1;
	size_t n = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
	if (n == 0 || n > AGENT_RESPONSE_MAX)
		return uvm_fail(err, EPROTO, "the agent announced a %zu-byte response (limit %u)", n,
				AGENT_RESPONSE_MAX);
	char *b = malloc(n + 1);
	if (!b)
		return uvm_fail(err, ENOMEM, "out of memory for a %zu-byte response", n);
	if (io_all(fd, b, n, 0, err)) {
		free(b);
		return -1;
	}
	b[n] = '\0';
	*body = b;
	*blen = n;
	return 0;
}
