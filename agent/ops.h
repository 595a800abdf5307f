/* One entry per request the host may send ("op"), each in its own file
 * group (ops_*.c). The dispatcher (agent.c) handles framing, JSON, the "no
 * policy" gate and the response envelope; a handler only does its op. */
#ifndef UVM_AGENT_OPS_H
#define UVM_AGENT_OPS_H

#include "agent.h"
#include "json.h"

/* Error kinds in responses (docs/protocol.md). */
#define OP_ERR_MALFORMED "malformed"   /* bad frame, JSON or arguments */
#define OP_ERR_UNKNOWN "unknown_op"
#define OP_ERR_DENIED "denied"         /* the policy (or its absence) said no */
#define OP_ERR_FAILED "failed"         /* allowed, but performing it failed */

struct op_error {
	const char *kind;
	struct uvm_err err;
	char *reason_json;  /* optional structured reason (malloc'ed JSON object) */
};

/* Fills e and returns -1 (op_error.c). */
int op_fail(struct op_error *e, const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

typedef int (*op_handler)(struct agent *a, const struct json_value *args, struct json_writer *result,
			  struct op_error *e);

struct op_def {
	const char *name;
	op_handler handler;
	int needs_policy;   /* denied with "no policy" until a policy is bound */
};

const struct op_def *op_find(const char *name, size_t len);

/* binding.c: 0 if a policy is bound, else -1 with the denial in e. */
int binding_gate(struct agent *a, struct op_error *e);
int op_set_policy(struct agent *a, const struct json_value *args, struct json_writer *w, struct op_error *e);

/* ops_attest.c */
int op_get_report(struct agent *a, const struct json_value *args, struct json_writer *w, struct op_error *e);

/* ops_basic.c */
int op_ping(struct agent *a, const struct json_value *args, struct json_writer *w, struct op_error *e);
int op_status(struct agent *a, const struct json_value *args, struct json_writer *w, struct op_error *e);
int op_shutdown(struct agent *a, const struct json_value *args, struct json_writer *w, struct op_error *e);

/* storage (agent/storage_layer.c, storage_overlay.c, storage_scratch.c;
 * docs/storage.md) */
int op_storage_mount_device(struct agent *a, const struct json_value *args, struct json_writer *w, struct op_error *e);
int op_storage_unmount_device(struct agent *a, const struct json_value *args, struct json_writer *w, struct op_error *e);
int op_storage_mount_overlay(struct agent *a, const struct json_value *args, struct json_writer *w, struct op_error *e);
int op_storage_unmount_overlay(struct agent *a, const struct json_value *args, struct json_writer *w, struct op_error *e);
int op_storage_scratch_mount(struct agent *a, const struct json_value *args, struct json_writer *w, struct op_error *e);
int op_storage_scratch_unmount(struct agent *a, const struct json_value *args, struct json_writer *w, struct op_error *e);

/* containers (agent/ops_container.c) */
int op_rt_create_container(struct agent *a, const struct json_value *args, struct json_writer *w, struct op_error *e);
int op_rt_start_container(struct agent *a, const struct json_value *args, struct json_writer *w, struct op_error *e);
int op_rt_exec_in_container(struct agent *a, const struct json_value *args, struct json_writer *w, struct op_error *e);
int op_rt_exec_external(struct agent *a, const struct json_value *args, struct json_writer *w, struct op_error *e);
int op_rt_signal_process(struct agent *a, const struct json_value *args, struct json_writer *w, struct op_error *e);
int op_rt_wait_process(struct agent *a, const struct json_value *args, struct json_writer *w, struct op_error *e);
int op_rt_shutdown_container(struct agent *a, const struct json_value *args, struct json_writer *w, struct op_error *e);
int op_rt_read_output(struct agent *a, const struct json_value *args, struct json_writer *w, struct op_error *e);
int op_rt_write_stdin(struct agent *a, const struct json_value *args, struct json_writer *w, struct op_error *e);
int op_rt_close_stdin(struct agent *a, const struct json_value *args, struct json_writer *w, struct op_error *e);
int op_rt_get_properties(struct agent *a, const struct json_value *args, struct json_writer *w, struct op_error *e);
int op_rt_dump_stacks(struct agent *a, const struct json_value *args, struct json_writer *w, struct op_error *e);
int op_rt_runtime_logging(struct agent *a, const struct json_value *args, struct json_writer *w, struct op_error *e);
/* PID 1's resident set size (status, get_properties); -1 if unknown. */
long agent_vmrss_kib(void);

#endif
