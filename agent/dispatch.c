/* The dispatcher: one request body -> one response body. Every request
 * takes the same path (docs/protocol.md "One request, one decode"): the
 * envelope {"id","op","args"} -> the op's executor (agent/ops.c) -> the
 * binding gate -> the one decode (lib/request.c) -> prepare -> the engine's
 * decision for the ops it decides -> execute -> commit if execute succeeded,
 * abort otherwise. Every failure to understand the host is an error
 * response; none of them stops the loop. No I/O here: agent.c reads frames
 * and writes the answers, so the whole path runs on the host in
 * tests/unit/test_dispatch.c. */
#include "dispatch.h"

#include <stdlib.h>
#include <string.h>

#include "decide.h"
#include "frame.h"
#include "json.h"
#include "ops.h"
#include "request.h"

/* {"id":ID,"ok":false,"error":{"kind":K,"message":M[,"reason":R]}} */
char *dispatch_error(const char *id_json, size_t id_len, const struct op_error *e, size_t *len)
{
	struct json_writer w;
	json_writer_init(&w, DISPATCH_RESPONSE_MAX);
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
	return json_writer_finish(&w, len);
}

static char *result_response(const char *id_json, size_t id_len, const char *result, size_t result_len, size_t *len)
{
	struct json_writer w;
	json_writer_init(&w, DISPATCH_RESPONSE_MAX);
	json_w_obj(&w);
	json_w_key(&w, "id");
	json_w_raw(&w, id_json, id_len);
	json_w_key(&w, "ok");
	json_w_bool(&w, 1);
	json_w_key(&w, "result");
	json_w_raw(&w, result, result_len);
	json_w_end(&w);
	char *out = json_writer_finish(&w, len);
	if (!out) {
		struct op_error e = {0};
		op_fail(&e, OP_ERR_FAILED, "the response exceeded %u bytes", DISPATCH_RESPONSE_MAX);
		out = dispatch_error(id_json, id_len, &e, len);
	}
	return out;
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
static char *run_op(struct agent *a, const struct op_def *def, struct request *r, size_t *len, struct op_error *e)
{
	struct json_writer w;
	json_writer_init(&w, DISPATCH_RESPONSE_MAX - 1024);
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

char *dispatch(struct agent *a, const uint8_t *body, size_t len, size_t *out_len)
{
	struct op_error e = {0};
	struct json_doc *doc = NULL;
	const struct json_value *req = json_parse((const char *)body, len, FRAME_MAX, &doc, &e.err);
	char *out;
	a->requests++;
	if (!req || json_check_object(req, request_fields, 3, &e.err)) {
		e.kind = OP_ERR_MALFORMED;
		out = dispatch_error(NULL, 0, &e, out_len);
		json_free(doc);
		return out;
	}
	size_t id_len, result_len = 0;
	const char *id = json_number_text(json_get(req, "id"), &id_len);
	char *result = decode_and_run(a, req, &result_len, &e);
	if (result)
		out = result_response(id, id_len, result, result_len, out_len);
	else
		out = dispatch_error(id, id_len, &e, out_len);
	free(result);
	free(e.reason_json);
	json_free(doc);
	return out;
}
