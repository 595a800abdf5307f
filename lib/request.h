/* The typed request layer: every request the host may send, its wire name,
 * its schema, and its decode into one C struct (docs/protocol.md,
 * docs/policy.md "Requests"). Shared by the guest (agent/agent.c decodes
 * each frame exactly once) and the host (`uvm policy replay`), so the
 * policy engine, the runtime and the storage executors all see the same
 * validated struct and never JSON.
 *
 * Three tables are keyed by enum req_op, one per layer, and each is checked
 * to cover every op at compile time:
 *   lib/request.c        wire name, fields (the schema), decode;
 *   lib/policy/policy_engine.c  the engine's decision (NULL: the op is not an
 *                        enforcement point, e.g. read_output);
 *   agent/ops.c          the guest's executor.
 *
 * Two sources, one decode:
 *   REQ_FROM_HOST  the host's "args" object. Facts (members the guest
 *                  establishes itself, such as the root hash it read from a
 *                  device or the target it chose) are refused: the host
 *                  cannot state them.
 *   REQ_FROM_LOG   a decision request as `uvm policy replay` reads it:
 *                  {"op": NAME, members...}, facts included (and required
 *                  where the engine needs them).
 *
 * Strings point into the JSON document, which must outlive the request;
 * lists are allocated and freed by request_free. Every length is bounded
 * (POLICY_MAX_LIST items, POLICY_MAX_PATH bytes per path). */
#ifndef UVM_REQUEST_H
#define UVM_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "json.h"

enum req_op {
	REQ_PING,
	REQ_STATUS,
	REQ_SHUTDOWN,
	REQ_SET_POLICY,
	REQ_GET_REPORT,
	REQ_MOUNT_DEVICE,
	REQ_UNMOUNT_DEVICE,
	REQ_SCRATCH_MOUNT,
	REQ_SCRATCH_UNMOUNT,
	REQ_MOUNT_OVERLAY,
	REQ_UNMOUNT_OVERLAY,
	REQ_CREATE_CONTAINER,
	REQ_START_CONTAINER,
	REQ_EXEC_IN_CONTAINER,
	REQ_EXEC_EXTERNAL,
	REQ_SIGNAL_PROCESS,
	REQ_WAIT_PROCESS,
	REQ_SHUTDOWN_CONTAINER,
	REQ_READ_OUTPUT,
	REQ_WRITE_STDIN,
	REQ_CLOSE_STDIN,
	REQ_GET_PROPERTIES,
	REQ_DUMP_STACKS,
	REQ_RUNTIME_LOGGING,
	REQ_TEST_INJECT_FAULT, /* decoded only in the test flavour (UVM_TEST_FLAVOUR) */
	REQ_N
};

enum req_source { REQ_FROM_HOST, REQ_FROM_LOG };

/* The capability sets, in the order of struct request's caps[]. */
#define REQ_CAP_SETS 5
extern const char *const request_cap_set_names[REQ_CAP_SETS]; /* "bounding", ... */

#define REQ_SERIAL_MAX 20 /* virtio-blk serials (VIRTIO_BLK_ID_BYTES) */
#define REQ_READ_MAX (256u << 10)

struct req_strs {
	const char **v;
	size_t n;
};

struct req_mount {
	const char *source, *destination, *type;
	struct req_strs options;
};

struct req_user {
	uint32_t uid, gid;
	const char *name, *group; /* NULL when absent */
	const char *umask;        /* 4 octal digits */
};

struct req_seccomp {
	int present; /* the request had "seccomp" (absent: the default profile) */
	int unconfined;
	struct req_strs allow, deny; /* known x86-64 syscall names, sets, disjoint */
};

/* 0 where the request names none. scratch_max exists only as a policy
 * bound (REQ_RES_SCRATCH): a create request's "resources" are its cgroup's
 * values, and the size of its writable layer was chosen earlier, at
 * mount_overlay (scratch_bytes). */
struct req_resources {
	uint64_t memory_max, pids_max, scratch_max;
};

/* One member per field name of the protocol. Which ops take which members
 * is the schema in lib/request.c; members an op does not take stay zero. */
struct request {
	enum req_op op;
	const char *name; /* the op's wire name */
	/* addresses */
	const char *container_id, *process_id; /* ids: 1..128 of [A-Za-z0-9._-], not "." or ".." */
	/* storage */
	const char *serial;     /* 1..20 of [A-Za-z0-9_-] */
	const char *root_hash;  /* 64 hex digits (the host's claim) */
	const char *scratch;    /* a scratch target */
	uint64_t scratch_bytes; /* the writable layer's size the host asks for; 0 when absent */
	int encrypted;          /* default 1 */
	int verify;
	/* processes */
	struct req_strs argv, env, layers;
	const char *working_dir;
	struct req_mount *mounts;
	size_t nmounts;
	int has_mounts;
	struct req_user user;
	int has_user;
	struct req_strs caps[REQ_CAP_SETS];
	int has_caps;
	int no_new_privileges, privileged, stdio;
	struct req_seccomp seccomp;
	struct req_resources resources;
	int signal; /* 1..64 */
	/* stdio and the rest */
	const char *stream; /* "stdout" or "stderr" */
	uint32_t max_bytes; /* 1..REQ_READ_MAX; 0 when absent */
	const char *data_base64, *nonce, *policy_base64;
	const char *point; /* test_inject_fault */
	int64_t count, after;
	/* Facts: what the guest established, refused from the host. The agent
	 * sets them (request_set_fact) before the engine decides. */
	const char *target;      /* where the op mounts or what it unmounts */
	const char *device_hash; /* 64 lowercase hex digits: the device's own root hash */
	uint64_t upper_bytes;    /* mount_overlay on a scratch: the writable layer's size that will
	                              * run (0: no scratch, the upper dir is on a tmpfs) */
	/* private */
	void *mem_;
	char target_buf_[192], hash_buf_[65];
};

/* The op named name[0..len), or -1 when there is none (unknown_op; in the
 * production flavour test_inject_fault is unknown). */
int request_op_find(const char *name, size_t len);
const char *request_op_name(enum req_op op);

/* Decodes args (NULL: no "args") into r for op; 0, or -1 with err saying
 * which member ("$.args.user.umask: ...") is wrong. r must be freed with
 * request_free either way. */
int request_decode(enum req_op op, const struct json_value *args, enum req_source src, struct request *r,
		   struct uvm_err *err);

/* {"op": NAME, members...} (REQ_FROM_LOG). -1 with err for an unknown op,
 * too: check request_op_find first where the difference matters. */
int request_decode_object(const struct json_value *obj, struct request *r, struct uvm_err *err);

/* The guest's facts, copied into r (bounded: an over-long value fails). */
int request_set_target(struct request *r, const char *target, struct uvm_err *err);
int request_set_device_hash(struct request *r, const char *hex64, struct uvm_err *err);
/* POLICY_SCRATCH_MIN .. POLICY_SCRATCH_LIMIT (lib/policy/policy_resources.h). */
int request_set_upper_bytes(struct request *r, uint64_t bytes, struct uvm_err *err);

void request_free(struct request *r);

/* Shared checks, also used where the same forms appear outside a request. */
int request_id_ok(const char *s);
int request_serial_ok(const char *s);
int request_hex64_ok(const char *s);

/* A "seccomp" object's "profile" (one reader for the request and the
 * policy): "default" or "unconfined", anything else fails with its path. */
int request_seccomp_profile(const struct json_value *obj, int *unconfined, struct uvm_err *err);

/* The rules of a "seccomp" object beyond its names (one for the request
 * and the policy): lists empty with the "unconfined" profile, no name both
 * allowed and denied, and what the filter builder accepts. obj names the
 * members in messages. */
int request_seccomp_rules(const struct json_value *obj, int unconfined, const char *const *allow, size_t nallow,
			  const char *const *deny, size_t ndeny, struct uvm_err *err);

/* Reads a "resources" object (the request's values or the policy's
 * bounds: one strict reader for both). Flags: REQ_RES_SCRATCH also takes
 * "scratch_max" (the policy's bound of a writable layer); without it the
 * key is unknown and refused, as in a create request. */
#define REQ_RES_SCRATCH 1u
int request_resources_read(const struct json_value *obj, unsigned flags, struct req_resources *res,
			   struct uvm_err *err);

#endif
