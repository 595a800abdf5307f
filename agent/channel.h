/* The host channel: one byte stream to the untrusted host.
 *   - virtio-serial port named "uvm.agent" when the VMM provides one (tests,
 *     and hosts without vhost-vsock);
 *   - otherwise AF_VSOCK: the guest listens on port UVM_VSOCK_PORT and the
 *     host connects (one connection at a time).
 * Both carry the same framing (docs/protocol.md). Which one is used does not
 * matter for security: every byte on either is hostile. */
#ifndef UVM_AGENT_CHANNEL_H
#define UVM_AGENT_CHANNEL_H

#include <stddef.h>
#include <sys/types.h>

#include "err.h"

#define UVM_VSOCK_PORT 1024
#define UVM_SERIAL_PORT_NAME "uvm.agent"

struct channel {
	int kind;      /* CHANNEL_SERIAL or CHANNEL_VSOCK */
	int listen_fd; /* vsock only */
	int fd;        /* connected stream, or -1 */
	char desc[64]; /* for logs: "/dev/vport1p1" or "vsock:1024" */
};

#define CHANNEL_SERIAL 1
#define CHANNEL_VSOCK 2

int channel_open(struct channel *ch, struct uvm_err *err);

/* The fd to poll for the next event and the events to wait for. */
int channel_poll_fd(const struct channel *ch, short *events);

/* Handles poll results on the listening side (vsock accept) or a hang-up;
 * returns 1 when ch->fd is a connected stream with data to read. */
int channel_ready(struct channel *ch, short revents);

/* The host went away: forget the connection (vsock) or wait for the port to
 * be reopened (serial). */
void channel_disconnect(struct channel *ch);

/* Writes all of buf within timeout_ms; -1 if the host is gone or stalled. */
int channel_write_all(struct channel *ch, const void *buf, size_t len, int timeout_ms);

#endif
