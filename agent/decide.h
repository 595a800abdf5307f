/* The decision bracket the dispatcher (agent.c) puts around every op the
 * engine decides (policy_op_decided): a denied request does nothing, and a
 * failed action leaves the policy state exactly as before (rollback).
 *
 *   struct decision dc;
 *   if (decide_begin(a, r, &dc, e)) return -1;  // denied: e has the reason
 *   int rc = execute(...);                       // acts on r and dc.d only
 *   return decide_end(a, &dc, rc, e);            // commit on rc == 0, abort otherwise
 *
 * The engine decides on the decoded request itself (lib/request.h), facts
 * included: there is no second encoding for it to parse. */
#ifndef UVM_AGENT_DECIDE_H
#define UVM_AGENT_DECIDE_H

#include "agent.h"
#include "ops.h"
#include "policy.h"

struct decision {
	struct policy_decision d; /* d.reason: the engine's JSON reason; d.drop_*: what to drop */
	int pending;              /* allowed and not yet committed/aborted */
};

int decide_begin(struct agent *a, const struct request *r, struct decision *dc, struct op_error *e);

/* rc == 0: commit, returns 0. rc != 0: abort; e must already describe the
 * failure; returns -1. Frees the decision either way. */
int decide_end(struct agent *a, struct decision *dc, int rc, struct op_error *e);

#endif
