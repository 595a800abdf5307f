#include "channel.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "file_util.h"
#include "log.h"

/* /sys/class/virtio-ports/vportNpM/name holds the name the VMM gave the port;
 * the device node is /dev/vportNpM (devtmpfs). */
static int find_serial_port(char *dev, size_t size)
{
	DIR *d = opendir("/sys/class/virtio-ports");
	struct dirent *e;
	int found = 0;
	if (!d)
		return 0;
	while (!found && (e = readdir(d))) {
		char path[300];
		struct file_buf name;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/sys/class/virtio-ports/%s/name", e->d_name);
		if (file_read_all(path, 256, &name, NULL) != 0)
			continue;
		if (name.len > 0 && name.data[name.len - 1] == '\n')
			name.data[--name.len] = '\0';
		if (strcmp(name.data, UVM_SERIAL_PORT_NAME) == 0) {
			snprintf(dev, size, "/dev/%.200s", e->d_name);
			found = 1;
		}
		file_buf_free(&name);
	}
	closedir(d);
	return found;
}

static int open_vsock(struct channel *ch, struct uvm_err *err)
{
	struct sockaddr_vm addr = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = UVM_VSOCK_PORT};
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return uvm_fail(
			err, errno,
			"no virtio-serial port '%s' and no vsock (%s): the host has no way to talk to this guest",
			UVM_SERIAL_PORT_NAME, strerror(errno));
	if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 1) != 0) {
		int e = errno;
		close(fd);
		return uvm_fail(err, e, "vsock port %d: %s", UVM_VSOCK_PORT, strerror(e));
	}
	ch->kind = CHANNEL_VSOCK;
	ch->listen_fd = fd;
	ch->fd = -1;
	snprintf(ch->desc, sizeof ch->desc, "vsock:%d", UVM_VSOCK_PORT);
	return 0;
}

int channel_open(struct channel *ch, struct uvm_err *err)
{
	char dev[256];
	memset(ch, 0, sizeof *ch);
	ch->listen_fd = -1;
	ch->fd = -1;
	if (!find_serial_port(dev, sizeof dev))
		return open_vsock(ch, err);
	ch->kind = CHANNEL_SERIAL;
	ch->fd = open(dev, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (ch->fd < 0)
		return uvm_fail(err, errno, "cannot open %s (virtio-serial '%s'): %s", dev, UVM_SERIAL_PORT_NAME,
				strerror(errno));
	snprintf(ch->desc, sizeof ch->desc, "%.63s", dev);
	return 0;
}

/* Only the host (CID 2) sits in the host's seat. The kernel has no vsock
 * loopback transport, so a workload cannot reach this port on CID 1; a peer
 * on any other CID (another VM, should the hypervisor route one here) is
 * logged and refused. */
static void accept_host(struct channel *ch)
{
	struct sockaddr_vm peer;
	socklen_t len = sizeof peer;
	memset(&peer, 0, sizeof peer);
	int fd = accept4(ch->listen_fd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	if (len < sizeof peer || peer.svm_family != AF_VSOCK || peer.svm_cid != VMADDR_CID_HOST) {
		log_msg("channel: refused a connection from vsock CID %u port %u: only the host (CID %u) may connect",
			(unsigned)peer.svm_cid, (unsigned)peer.svm_port, (unsigned)VMADDR_CID_HOST);
		close(fd);
		return;
	}
	ch->fd = fd;
}

int channel_poll_fd(const struct channel *ch, short *events)
{
	*events = POLLIN;
	if (ch->kind == CHANNEL_VSOCK && ch->fd < 0)
		return ch->listen_fd;
	return ch->fd;
}

int channel_ready(struct channel *ch, short revents)
{
	if (ch->kind == CHANNEL_VSOCK && ch->fd < 0) {
		if (revents & POLLIN)
			accept_host(ch);
		return 0;
	}
	if (revents & POLLIN)
		return 1;
	if (revents & (POLLHUP | POLLERR))
		channel_disconnect(ch);
	return 0;
}

void channel_disconnect(struct channel *ch)
{
	if (ch->kind == CHANNEL_VSOCK && ch->fd >= 0) {
		close(ch->fd);
		ch->fd = -1;
	}
	/* virtio-serial: the port stays open; poll reports POLLHUP until the host
	 * reconnects, so the caller waits a little before polling again. */
}

/* virtio-serial delivers the host's "port open" as a control message on
 * another virtqueue than the data: a request of a freshly connected host can
 * arrive while the guest still believes the host is gone, and the answer's
 * write then reports "would block" with POLLHUP. That state lasts only until
 * the control message is processed, so keep trying until the deadline
 * instead of dropping the answer. */
#define HUP_RETRY_MS 10

static long long monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int channel_write_all(struct channel *ch, const void *buf, size_t len, int timeout_ms)
{
	const char *p = buf;
	long long deadline = monotonic_ms() + timeout_ms;
	while (len > 0) {
		if (ch->fd < 0)
			return -1;
		ssize_t n = write(ch->fd, p, len);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			return -1;
		long long left = deadline - monotonic_ms();
		if (left <= 0)
			return -1;
		struct pollfd pfd = {.fd = ch->fd, .events = POLLOUT};
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			return -1;
		if (pfd.revents & POLLERR)
			return -1;
		if ((pfd.revents & POLLHUP) && !(pfd.revents & POLLOUT)) {
			if (ch->kind != CHANNEL_SERIAL)
				return -1;
			struct timespec pause = {0, HUP_RETRY_MS * 1000000L};
			nanosleep(&pause, NULL);
		}
	}
	return 0;
}
