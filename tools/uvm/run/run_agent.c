/* uvm run's client of the agent (docs/protocol.md): one connection, one
 * request at a time, framing from agent_conn.h. uvm run is the agent's only
 * client; every wait is bounded (AGENT_TIMEOUT_S). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_conn.h"
#include "json_copy.h"
#include "run.h"

/* Mounting a layer or formatting a writable layer under TCG takes seconds;
 * nothing the agent does takes minutes. */
#define AGENT_TIMEOUT_S 300

int run_agent_connect(struct run_agent *a, const char *path, struct uvm_err *err)
{
	a->next_id = 1;
	a->fd = agent_connect(path, AGENT_TIMEOUT_S, err);
	return a->fd < 0 ? -1 : 0;
}

void run_agent_close(struct run_agent *a)
{
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
}

void run_reply_free(struct run_reply *r)
{
	json_free(r->doc);
	free(r->body);
	free(r->reason);
	memset(r, 0, sizeof *r);
}

static int decode(struct run_reply *r, uint64_t id, struct uvm_err *err)
{
	uint64_t rid = 0;
	const struct json_value *root = json_parse(r->body, strlen(r->body), AGENT_RESPONSE_MAX, &r->doc, err);
	if (!root)
		return uvm_wrap(err, "the agent's response");
	if (json_bool(json_get(root, "ok"), &r->ok) < 0)
		return uvm_fail(err, EPROTO, "the agent's response has no \"ok\"");
	if (json_uint64(json_get(root, "id"), &rid) < 0 || rid != id)
		return uvm_fail(err, EPROTO, "the agent answered request %llu with another id", (unsigned long long)id);
	if (r->ok) {
		r->result = json_get(root, "result");
		return 0;
	}
	const struct json_value *e = json_get(root, "error");
	r->kind = json_str(json_get(e, "kind"), NULL);
	r->message = json_str(json_get(e, "message"), NULL);
	if (!r->kind || !r->message)
		return uvm_fail(err, EPROTO, "the agent's error response has no kind or message");
	if (json_get(e, "reason")) {
		struct json_writer w;
		json_writer_init(&w, AGENT_RESPONSE_MAX);
		json_w_value(&w, json_get(e, "reason"));
		r->reason = json_writer_finish(&w, &r->reason_len);
	}
	return 0;
}

int run_agent_call(struct run_agent *a, const char *op, const char *args, struct run_reply *r, struct uvm_err *err)
{
	struct json_writer w;
	size_t len, blen;
	uint64_t id = a->next_id++;
	memset(r, 0, sizeof *r);
	if (a->fd < 0)
		return uvm_fail(err, ENOTCONN, "%s: the agent connection is closed", op);
	json_writer_init(&w, AGENT_FRAME_MAX);
	json_w_obj(&w);
	json_w_key(&w, "id");
	json_w_uint(&w, id);
	json_w_key(&w, "op");
	json_w_cstr(&w, op);
	if (args) {
		json_w_key(&w, "args");
		json_w_raw(&w, args, strlen(args));
	}
	json_w_end(&w);
	char *req = json_writer_finish(&w, &len);
	if (!req)
		return uvm_fail(err, E2BIG, "%s: the request does not fit in a frame", op);
	int rc = agent_exchange(a->fd, req, len, &r->body, &blen, err);
	free(req);
	if (rc == 0)
		rc = decode(r, id, err);
	if (rc < 0) {
		/* Out of step with the agent: nothing later could be trusted. */
		run_agent_close(a);
		run_reply_free(r);
		return uvm_wrap(err, "%s", op);
	}
	return 0;
}

int run_agent_must(struct run_agent *a, const char *op, const char *args, struct run_reply *r, struct uvm_err *err)
{
	if (run_agent_call(a, op, args, r, err) < 0)
		return -1;
	if (r->ok)
		return 0;
	if (r->reason)
		fprintf(stderr, "uvm run: %s: the policy's reason: %s\n", op, r->reason);
	uvm_fail(err, EPERM, "%s: %s: %s", op, r->kind, r->message);
	return -1;
}
