/* The one way an agent op consults the policy: every op that changes the
 * guest calls decide_begin() before acting and decide_end() after, so a
 * denied request does nothing and a failed action leaves the policy state
 * exactly as before (rollback).
 *
 *   struct decision dc;
 *   if (decide_begin(a, "mount_device", args, &dc, e)) return -1;  // denied: e has the reason
 *   int rc = perform_the_action(...);
 *   return decide_end(a, &dc, rc, e);   // commit on rc == 0, abort otherwise
 *
 * The engine's request is {"op": OP} plus the members of args (the host's
 * arguments, unchanged), or a request the op builds itself with
 * decide_begin_json() when the agent must add facts it established (e.g. the
 * root hash it read from a device). Schema: docs/policy.md. */
#ifndef UVM_AGENT_DECIDE_H
#define UVM_AGENT_DECIDE_H

#include "agent.h"
#include "ops.h"
#include "policy.h"

struct decision {
	struct policy_decision d; /* d.reason: the engine's JSON reason */
	int pending;              /* allowed and not yet committed/aborted */
	struct json_doc *reason_doc;          /* decide_reason_get's parse of d.reason */
	const struct json_value *reason_root;
};

int decide_begin(struct agent *a, const char *op, const struct json_value *args, struct decision *dc,
		 struct op_error *e);
int decide_begin_json(struct agent *a, const char *request, size_t len, struct decision *dc,
		      struct op_error *e);

/* rc == 0: commit, returns 0. rc != 0: abort; e must already describe the
 * failure (kind "failed"); returns -1. Frees the decision either way. */
int decide_end(struct agent *a, struct decision *dc, int rc, struct op_error *e);

/* Parsed members of the allowed decision's reason (e.g. "drop_env"), or
 * NULL. Valid until decide_end. */
const struct json_value *decide_reason_get(struct decision *dc, const char *key);

#endif
