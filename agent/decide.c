#include "decide.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json_copy.h"

/* {"op": OP, <args members>} */
static char *engine_request(const char *op, const struct json_value *args, size_t *len)
{
	struct json_writer w;
	json_writer_init(&w, POLICY_REQUEST_MAX_BYTES);
	json_w_obj(&w);
	json_w_key(&w, "op");
	json_w_cstr(&w, op);
	for (size_t i = 0; args && i < json_len(args); i++) {
		size_t klen;
		const struct json_value *m = json_at(args, i);
		const char *key = json_key(m, &klen);
		if (klen == 2 && memcmp(key, "op", 2) == 0)
			continue; /* the host cannot choose the enforcement point */
		json_w_keyn(&w, key, klen);
		json_w_value(&w, m);
	}
	json_w_end(&w);
	return json_writer_finish(&w, len);
}

int decide_begin_json(struct agent *a, const char *request, size_t len, struct decision *dc,
		      struct op_error *e)
{
	memset(dc, 0, sizeof *dc);
	if (binding_gate(a, e))
		return -1;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = policy_decide_json(a->pstate, request, len, &dc->d);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	a->decisions++;
	a->decide_ns += (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec));
	if (rc != 0)
		return op_fail(e, OP_ERR_FAILED, "policy engine: out of memory");
	if (!dc->d.allowed) {
		e->reason_json = dc->d.reason; /* ownership moves to the response */
		dc->d.reason = NULL;
		policy_decision_free(&dc->d);
		return op_fail(e, OP_ERR_DENIED, "denied by policy (see reason)");
	}
	dc->pending = 1;
	return 0;
}

int decide_begin(struct agent *a, const char *op, const struct json_value *args, struct decision *dc,
		 struct op_error *e)
{
	size_t len = 0;
	char *req = engine_request(op, args, &len);
	if (!req)
		return op_fail(e, OP_ERR_MALFORMED, "%s: the request is too large for the policy engine", op);
	int rc = decide_begin_json(a, req, len, dc, e);
	free(req);
	return rc;
}

int decide_end(struct agent *a, struct decision *dc, int rc, struct op_error *e)
{
	(void)e;
	if (dc->pending) {
		if (rc == 0)
			policy_commit(a->pstate);
		else
			policy_abort(a->pstate);
		dc->pending = 0;
	}
	json_free(dc->reason_doc);
	dc->reason_doc = NULL;
	policy_decision_free(&dc->d);
	return rc == 0 ? 0 : -1;
}

const struct json_value *decide_reason_get(struct decision *dc, const char *key)
{
	if (!dc->reason_root && dc->d.reason) {
		struct uvm_err err;
		dc->reason_root = json_parse(dc->d.reason, dc->d.reason_len, dc->d.reason_len + 1,
					     &dc->reason_doc, &err);
	}
	return json_get(dc->reason_root, key);
}
