/* Dispatcher of the enforcement loop: bytes -> frames -> JSON requests ->
 * op handlers -> one response per request. Every failure to understand the
 * host gets an error response; none of them stops the loop. */
#include "agent.h"
#include "runtime.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "decide.h"
#include "json.h"
#include "log.h"
#include "monotonic.h"
#include "ops.h"
#include "request.h"

#define RESPONSE_MAX (4u << 20)
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

/* {"id":ID,"ok":false,"error":{"kind":K,"message":M[,"reason":R]}} */
static void send_error(struct agent *a, const char *id_json, size_t id_len, const struct op_error *e)
{
	struct json_writer w;
	json_writer_init(&w, RESPONSE_MAX);
	json_w_obj(&w);
	json_w_key(&w, "id");
	if (id_json)
		json_w_raw(&w, id_json, id_len);
	else
		json_w_null(&w);
	json_w_key(&w, "ok");
	json_w_bool(&w, 0);
	json_w_key(&w, "error");
	json_w_obj(&w);
	json_w_key(&w, "kind");
	json_w_cstr(&w, e->kind);
	json_w_key(&w, "message");
	json_w_cstr(&w, e->err.msg);
	if (e->reason_json) {
		json_w_key(&w, "reason");
		json_w_raw(&w, e->reason_json, strlen(e->reason_json));
	}
	json_w_end(&w);
	json_w_end(&w);
	size_t len;
	char *out = json_writer_finish(&w, &len);
	if (out)
		send_frame(a, out, len);
	free(out);
}

static void send_result(struct agent *a, const char *id_json, size_t id_len, const char *result,
			size_t result_len)
{
	struct json_writer w;
	json_writer_init(&w, RESPONSE_MAX);
	json_w_obj(&w);
	json_w_key(&w, "id");
	json_w_raw(&w, id_json, id_len);
	json_w_key(&w, "ok");
	json_w_bool(&w, 1);
	json_w_key(&w, "result");
	json_w_raw(&w, result, result_len);
	json_w_end(&w);
	size_t len;
	char *out = json_writer_finish(&w, &len);
	if (out) {
		send_frame(a, out, len);
	} else {
		struct op_error e = {0};
		op_fail(&e, OP_ERR_FAILED, "the response exceeded %u bytes", RESPONSE_MAX);
		send_error(a, id_json, id_len, &e);
	}
	free(out);
}

static const struct json_field request_fields[] = {
	{"id", JSON_T_INT, 1},
	{"op", JSON_T_STRING, 1},
	{"args", JSON_T_OBJECT, 0},
};

/* decision (for the ops the engine decides) -> execute -> commit/abort. */
static int decide_and_execute(const struct op_def *def, struct op_call *c)
{
	if (!policy_op_decided(c->r->op))
		return def->execute(c);
	struct decision dc;
	if (decide_begin(c->a, c->r, &dc, c->e))
		return -1;
	c->d = &dc.d;
	int rc = def->execute(c);
	c->d = NULL;
	return decide_end(c->a, &dc, rc, c->e);
}

/* Runs one decoded op; returns its result JSON (malloc'ed) or NULL with e
 * filled. */
static char *run_op(struct agent *a, const struct op_def *def, struct request *r, size_t *len,
		    struct op_error *e)
{
	struct json_writer w;
	json_writer_init(&w, RESPONSE_MAX - 1024);
	struct op_call c = {a, r, NULL, NULL, &w, e};
	int rc = 0;
	if (def->priv_size && !(c.priv = calloc(1, def->priv_size)))
		rc = op_fail(e, OP_ERR_FAILED, "%s: out of memory", r->name);
	if (rc == 0 && def->prepare)
		rc = def->prepare(&c);
	if (rc == 0)
		rc = decide_and_execute(def, &c);
	free(c.priv);
	if (rc) {
		json_writer_free(&w);
		return NULL;
	}
	char *out = json_writer_finish(&w, len);
	if (!out)
		op_fail(e, OP_ERR_FAILED, "op %s: the result could not be encoded (too large?)", r->name);
	return out;
}

/* The op's definition, or NULL with e saying the op is unknown. */
static const struct op_def *find_op(const char *name, size_t len, enum req_op *op, struct op_error *e)
{
	int i = request_op_find(name, len);
	const struct op_def *def = i < 0 ? NULL : op_def_of((enum req_op)i);
	if (!def) {
		op_fail(e, OP_ERR_UNKNOWN, "unknown op '%.64s' (see docs/protocol.md for the list)", name);
		return NULL;
	}
	*op = (enum req_op)i;
	return def;
}

/* The binding gate, then the one decode of the host's arguments; the op
 * runs on its result. */
static char *decode_and_run(struct agent *a, const struct json_value *req, size_t *len, struct op_error *e)
{
	size_t op_len;
	const char *name = json_str(json_get(req, "op"), &op_len);
	enum req_op op;
	const struct op_def *def = find_op(name, op_len, &op, e);
	if (!def)
		return NULL;
	if (def->needs_policy && binding_gate(a, e))
		return NULL; /* before a policy is bound, nothing is even decoded */
	struct request r;
	struct uvm_err err = {0, ""};
	char *out = NULL;
	if (request_decode(op, json_get(req, "args"), REQ_FROM_HOST, &r, &err))
		op_fail(e, OP_ERR_MALFORMED, "%s: %s", request_op_name(op), err.msg);
	else
		out = run_op(a, def, &r, len, e);
	request_free(&r);
	return out;
}

static void handle_request(struct agent *a, const uint8_t *body, size_t len)
{
	struct op_error e = {0};
	struct json_doc *doc = NULL;
	const struct json_value *req = json_parse((const char *)body, len, FRAME_MAX, &doc, &e.err);
	a->requests++;
	if (!req || json_check_object(req, request_fields, 3, &e.err)) {
		e.kind = OP_ERR_MALFORMED;
		send_error(a, NULL, 0, &e);
		json_free(doc);
		return;
	}
	size_t id_len, result_len = 0;
	const char *id = json_number_text(json_get(req, "id"), &id_len);
	char *result = decode_and_run(a, req, &result_len, &e);
	if (result)
		send_result(a, id, id_len, result, result_len);
	else
		send_error(a, id, id_len, &e);
	free(result);
	free(e.reason_json);
	json_free(doc);
}

static void reject_oversize(struct agent *a, size_t declared)
{
	struct op_error e = {0};
	op_fail(&e, OP_ERR_MALFORMED,
		"message length %zu is outside 1..%u bytes; its bytes are skipped", declared, FRAME_MAX);
	a->requests++;
	send_error(a, NULL, 0, &e);
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
