/* Internal: the context each enforcement point's decision function gets,
 * and the functions of policy_ops_*.c the dispatcher (policy_engine.c)
 * calls. Not part of the API (see policy.h). */
#ifndef UVM_POLICY_ENGINE_H
#define UVM_POLICY_ENGINE_H

#include "policy_internal.h"

struct ctx {
	struct policy_state *st;
	const struct policy *pol;
	const struct request *req; /* decoded (lib/request.h), facts set */
	struct reason r;           /* an object is open: write "key": value members */
	/* An allowing create/exec's plan: what the guest must drop (malloc'ed,
	 * NULL when nothing); the dispatcher hands them to the decision. */
	unsigned char *drop_env;
	unsigned char *drop_caps[REQ_CAP_SETS];
};

/* Each returns 1 (allow; state changed and journaled), 0 (deny; state
 * untouched) or -1 (out of memory). */
int policy_op_mount_device(struct ctx *x);
int policy_op_unmount_device(struct ctx *x);
int policy_op_mount_overlay(struct ctx *x);
int policy_op_unmount_overlay(struct ctx *x);
int policy_op_scratch_mount(struct ctx *x);
int policy_op_scratch_unmount(struct ctx *x);
int policy_op_create_container(struct ctx *x);
int policy_op_exec_in_container(struct ctx *x);
int policy_op_exec_external(struct ctx *x);
int policy_op_signal_process(struct ctx *x);
int policy_op_shutdown_container(struct ctx *x);
int policy_op_get_properties(struct ctx *x);
int policy_op_dump_stacks(struct ctx *x);
int policy_op_runtime_logging(struct ctx *x);

/* Helpers shared by the ops. */
void policy_reason_str(struct ctx *x, const char *key, const char *value);
/* target == dir + one valid component (+ suffix). */
int policy_target_form(const char *target, const char *dir, const char *suffix);
/* "ok" when the decision is allowed: fails == 0 and the writer is healthy. */
int policy_reason_ok(const struct ctx *x);

#endif
