/* The guest's executor of every request the host may send (the ops are
 * lib/request.h's; the executors live in ops_*.c, storage_*.c). The
 * dispatcher (agent.c) handles framing, the one decode, the "no policy"
 * gate, the decision bracket and the response envelope; an executor only
 * does its op. */
#ifndef UVM_AGENT_OPS_H
#define UVM_AGENT_OPS_H

#include "agent.h"
#include "json.h"
#include "policy.h"
#include "request.h"

/* Error kinds in responses (docs/protocol.md). */
#define OP_ERR_MALFORMED "malformed" /* bad frame, JSON or arguments */
#define OP_ERR_UNKNOWN "unknown_op"
#define OP_ERR_DENIED "denied" /* the policy (or its absence) said no */
#define OP_ERR_FAILED "failed" /* allowed, but performing it failed */

struct op_error {
	const char *kind;
	struct uvm_err err;
	char *reason_json; /* optional structured reason (malloc'ed JSON object) */
};

/* Fills e and returns -1 (op_error.c). */
int op_fail(struct op_error *e, const char *kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* One call of one op, as the dispatcher (agent.c) runs it:
 *   decode the host's args once (lib/request.h) -> binding gate ->
 *   prepare (optional: establish facts, e.g. the root hash read from the
 *   device) -> the engine's decision (ops it decides) -> execute -> commit
 *   if execute returned 0, abort otherwise.
 * An executor acts only on c->r, the request the engine approved, and the
 * decision's drops (c->d); it never sees JSON. */
struct op_call {
	struct agent *a;
	struct request *r;               /* prepare may set facts; execute only reads */
	const struct policy_decision *d; /* allowed decision; NULL for ops the engine does not decide */
	void *priv;                      /* op_def.priv_size zeroed bytes for prepare -> execute */
	struct json_writer *w;           /* the result object */
	struct op_error *e;
};

typedef int (*op_fn)(struct op_call *c);

struct op_def {
	int needs_policy; /* denied with "no policy" until a policy is bound */
	size_t priv_size;
	op_fn prepare; /* optional; runs before the decision */
	op_fn execute;
};

/* The guest's executor of op (agent/ops.c), NULL if the guest has none
 * (test_inject_fault in production). */
const struct op_def *op_def_of(enum req_op op);

/* binding.c: 0 if a policy is bound, else -1 with the denial in e. */
int binding_gate(struct agent *a, struct op_error *e);
int op_set_policy(struct op_call *c);

/* ops_attest.c */
int op_get_report(struct op_call *c);

/* ops_basic.c */
int op_ping(struct op_call *c);
int op_status(struct op_call *c);
int op_shutdown(struct op_call *c);

/* storage (agent/storage_layer.c, storage_overlay.c, storage_scratch.c;
 * docs/storage.md) */
int op_mount_device_prepare(struct op_call *c);
int op_mount_device(struct op_call *c);
int op_unmount_device_prepare(struct op_call *c);
int op_unmount_device(struct op_call *c);
int op_mount_overlay_prepare(struct op_call *c);
int op_mount_overlay(struct op_call *c);
int op_unmount_overlay_prepare(struct op_call *c);
int op_unmount_overlay(struct op_call *c);
int op_scratch_mount_prepare(struct op_call *c);
int op_scratch_mount(struct op_call *c);
int op_scratch_unmount_prepare(struct op_call *c);
int op_scratch_unmount(struct op_call *c);
/* The private state a storage op's prepare hands to its execute (c->priv)
 * is a struct declared in agent/storage.h; agent/ops.c gives its size. */

/* containers (agent/ops_container.c) */
int op_create_container(struct op_call *c);
int op_start_container(struct op_call *c);
int op_exec_in_container(struct op_call *c);
int op_exec_external(struct op_call *c);
int op_signal_process(struct op_call *c);
int op_wait_process(struct op_call *c);
int op_shutdown_container(struct op_call *c);
int op_read_output(struct op_call *c);
int op_write_stdin(struct op_call *c);
int op_close_stdin(struct op_call *c);
int op_get_properties(struct op_call *c);
int op_dump_stacks(struct op_call *c);
int op_runtime_logging(struct op_call *c);
/* PID 1's resident set size (status, get_properties); -1 if unknown. */
long agent_vmrss_kib(void);

#endif
