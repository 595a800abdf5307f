#include "decide.h"

#include <string.h>

#include "monotonic.h"

int decide_begin(struct agent *a, const struct request *r, struct decision *dc, struct op_error *e)
{
	memset(dc, 0, sizeof *dc);
	if (binding_gate(a, e))
		return -1;
	uint64_t t0 = uvm_monotonic_ns();
	int rc = policy_decide_request(a->pstate, r, &dc->d);
	a->decide_ns += uvm_monotonic_ns() - t0;
	a->decisions++;
	if (rc != 0) {
		policy_decision_free(&dc->d);
		return op_fail(e, OP_ERR_FAILED, "%s: policy engine: out of memory", r->name);
	}
	if (!dc->d.allowed) {
		e->reason_json = dc->d.reason; /* ownership moves to the response */
		dc->d.reason = NULL;
		policy_decision_free(&dc->d);
		return op_fail(e, OP_ERR_DENIED, "denied by policy (see reason)");
	}
	dc->pending = 1;
	return 0;
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
	policy_decision_free(&dc->d);
	return rc == 0 ? 0 : -1;
}
