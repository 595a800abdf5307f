/* The enforcement loop's I/O: bytes -> frames -> the dispatcher
 * (agent/dispatch.c) -> one response frame per request. */
#include "agent.h"
#include "runtime.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dispatch.h"
#include "json.h"
#include "log.h"
#include "monotonic.h"
#include "ops.h"
#include "request.h"

#define WRITE_TIMEOUT_MS 5000
#define HOST_AWAY_POLL_MS 100
/* A message whose bytes stop arriving for this long is dropped. On
 * virtio-serial the guest may miss a quick disconnect/reconnect of the host;
 * without this the new connection's bytes would continue the old message. */
#define PARTIAL_MESSAGE_IDLE_MS 3000

int agent_init(struct agent *a, struct uvm_err *err)
{
	memset(a, 0, sizeof *a);
	if (frame_reader_init(&a->reader))
		return uvm_fail(err, ENOMEM, "no memory for the message buffer");
	binding_init(a);
	if (rt_init(err))
		return uvm_wrap(err, "container runtime");
	a->procs = rt_table_create();
	if (!a->procs)
		return uvm_fail(err, ENOMEM, "no memory for the process table");
	return channel_open(&a->ch, err);
}

void agent_pollfd(struct agent *a, struct pollfd *p, int *timeout_ms)
{
	p->revents = 0;
	if (a->host_away) {
		p->fd = -1;
		if (*timeout_ms < 0 || *timeout_ms > HOST_AWAY_POLL_MS)
			*timeout_ms = HOST_AWAY_POLL_MS;
		return;
	}
	p->fd = channel_poll_fd(&a->ch, &p->events);
	if (frame_reader_partial(&a->reader)) {
		long long left = a->partial_deadline_ms - uvm_monotonic_ms();
		int ms = left < 0 ? 0 : left > PARTIAL_MESSAGE_IDLE_MS ? PARTIAL_MESSAGE_IDLE_MS : (int)left;
		if (*timeout_ms < 0 || *timeout_ms > ms)
			*timeout_ms = ms;
	}
}

static void send_frame(struct agent *a, const char *body, size_t len)
{
	uint8_t hdr[4];
	frame_header(hdr, (uint32_t)len);
	if (channel_write_all(&a->ch, hdr, 4, WRITE_TIMEOUT_MS) ||
	    channel_write_all(&a->ch, body, len, WRITE_TIMEOUT_MS))
		channel_disconnect(&a->ch); /* the host stopped reading: it lost this answer */
}

/* One request -> exactly one response frame (agent/dispatch.c). */
static void handle_request(struct agent *a, const uint8_t *body, size_t len)
{
	size_t out_len = 0;
	char *out = dispatch(a, body, len, &out_len);
	if (out)
		send_frame(a, out, out_len);
	free(out);
}

static void reject_oversize(struct agent *a, size_t declared)
{
	struct op_error e = {0};
	size_t len = 0;
	op_fail(&e, OP_ERR_MALFORMED, "message length %zu is outside 1..%u bytes; its bytes are skipped", declared,
		FRAME_MAX);
	a->requests++;
	char *out = dispatch_error(NULL, 0, &e, &len);
	if (out)
		send_frame(a, out, len);
	free(out);
}

static void read_input(struct agent *a)
{
	uint8_t buf[65536];
	ssize_t n = read(a->ch.fd, buf, sizeof buf);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		/* The host closed its end: a half-written message is dropped. */
		frame_reader_reset(&a->reader);
		channel_disconnect(&a->ch);
		a->host_away = a->ch.kind == CHANNEL_SERIAL;
		return;
	}
	a->partial_deadline_ms = uvm_monotonic_ms() + PARTIAL_MESSAGE_IDLE_MS;
	for (size_t pos = 0; n > 0 && pos < (size_t)n;) {
		const uint8_t *body;
		size_t used, len;
		enum frame_status st = frame_feed(&a->reader, buf + pos, (size_t)n - pos, &used, &body, &len);
		pos += used;
		if (st == FRAME_COMPLETE)
			handle_request(a, body, len);
		else if (st == FRAME_OVERSIZE)
			reject_oversize(a, len);
	}
}

/* The host started a message and stopped sending: drop it. No response:
 * whoever sent it may be gone, and a reconnected host must not receive an
 * answer to a request it never made. */
static void expire_partial(struct agent *a)
{
	if (!frame_reader_partial(&a->reader) || uvm_monotonic_ms() < a->partial_deadline_ms)
		return;
	frame_reader_reset(&a->reader);
	log_msg("agent: an incomplete message was discarded after %d ms without bytes", PARTIAL_MESSAGE_IDLE_MS);
}

void agent_handle(struct agent *a, short revents)
{
	if (revents == 0) {
		expire_partial(a);
		if (!a->host_away)
			return;
	}
	if (a->host_away) {
		a->host_away = 0; /* the pause is over: poll the port again */
		return;
	}
	if (channel_ready(&a->ch, revents)) {
		read_input(a);
		return;
	}
	if (revents & (POLLHUP | POLLERR)) {
		frame_reader_reset(&a->reader);
		a->host_away = a->ch.kind == CHANNEL_SERIAL;
	}
}
