/* The execution policy engine: pure C, no I/O, shared by the guest agent and
 * the host tools (`uvm policy replay`), so what a tenant tests on the host is
 * exactly what the guest enforces. The language and the request schema are
 * in docs/policy.md.
 *
 *   struct policy *pol;
 *   if (policy_load(bytes, len, &pol, &err) < 0) ... refuse to start ...
 *   struct policy_state *st = policy_state_new(pol);
 *   for each request (a JSON object {"op": "mount_device", ...}):
 *       struct policy_decision d;
 *       policy_decide_json(st, req, req_len, &d);
 *       if (!d.allowed) { reply "denied" with d.reason; }
 *       else if (perform the action succeeded) policy_commit(st);
 *       else policy_abort(st);           (the state is exactly as before)
 *       policy_decision_free(&d);
 *
 * An allowed decision leaves its state change pending: the agent must call
 * policy_commit or policy_abort before the next decision (a decision while
 * one is pending is denied). A denied decision never changes the state.
 *
 * d.reason is one JSON object computed in the same pass as the decision:
 * {"op":..., "allowed":..., plus per-op fields; for ops with candidate
 * containers "candidates":[{"container":I,"name":...,"failed":[{"rule":...,
 * "field":...,"value":...,"detail":...}]}]}. Environment values are
 * redacted (only the variable name is shown). Allowed create/exec decisions
 * also carry "drop_env" and "drop_capabilities" that the agent must apply. */
#ifndef UVM_POLICY_H
#define UVM_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "json.h"
#include "request.h"

#define POLICY_MAX_BYTES (1u << 20) /* policy document */
#define POLICY_REQUEST_MAX_BYTES (1u << 20)
#define POLICY_MAX_CONTAINERS 256 /* candidate sets are fixed bitsets */
#define POLICY_MAX_LIST 1024      /* argv, env rules, layers, mounts, ... */
#define POLICY_MAX_ID 128         /* container and process ids */
#define POLICY_MAX_PATH 4096

/* Where the agent mounts things; the engine checks targets have this form
 * (docs/policy.md "Targets"). */
#define POLICY_LAYER_DIR "/run/layers/"
#define POLICY_CONTAINER_DIR "/run/containers/"
#define POLICY_ROOTFS_SUFFIX "/rootfs"
#define POLICY_SCRATCH_DIR "/run/scratch/"

struct policy;
struct policy_state;

struct policy_decision {
	int allowed;
	char *reason; /* malloc'ed JSON object, NUL-terminated */
	size_t reason_len;
	/* An allowed create_container / exec_in_container / exec_external: what
	 * the guest must drop from the request before it runs it (the same
	 * lists the reason names). drop_env[i] != 0 drops env.v[i];
	 * drop_caps[s][i] != 0 drops caps[s].v[i]. NULL: nothing to drop. */
	unsigned char *drop_env;
	unsigned char *drop_caps[REQ_CAP_SETS];
};

/* Parses and validates the policy (strict; the first problem is reported
 * with its JSON path), compiles every regular expression. */
int policy_load(const char *bytes, size_t len, struct policy **out, struct uvm_err *err);
void policy_free(struct policy *pol);
size_t policy_container_count(const struct policy *pol);

struct policy_state *policy_state_new(const struct policy *pol);
void policy_state_free(struct policy_state *st);

/* Whether the engine decides op (an enforcement point); the others
 * (ping, read_output, ...) need no decision. */
int policy_op_decided(enum req_op op);

/* Decides one decoded request (lib/request.h): the agent decodes the
 * host's request once and passes it here with its facts set. Returns as
 * policy_decide. A request of an op the engine does not decide is denied. */
int policy_decide_request(struct policy_state *st, const struct request *r, struct policy_decision *d);

/* Decodes a decision request {"op": ..., ...} (request_decode_object,
 * REQ_FROM_LOG) and decides it. Returns 0 with d filled (allowed or denied; a
 * malformed request is a denial whose reason names the problem's path), or
 * -1 only when out of memory (d->allowed = 0, the state is unchanged). */
int policy_decide(struct policy_state *st, const struct json_value *req, struct policy_decision *d);
int policy_decide_json(struct policy_state *st, const char *req, size_t len, struct policy_decision *d);
void policy_commit(struct policy_state *st);
void policy_abort(struct policy_state *st);
void policy_decision_free(struct policy_decision *d);

/* A fact, not a decision: an exec'd process (container_id, process_id) has
 * exited. Its record is dropped, so its id may be used again and the state
 * stays bounded by what is running. Call only between decisions (nothing
 * pending); returns 0, or -1 if no such live process is known. */
int policy_process_exited(struct policy_state *st, const char *container_id, const char *process_id);

/* Queries. The layer device targets (base first) of the overlay mounted
 * for container_id: 0 with *layers borrowed until the next decision, or -1
 * when no overlay is mounted for it. */
int policy_overlay_layers(struct policy_state *st, const char *container_id, const char *const **layers, size_t *n);

/* The smallest scratch_max among the policy's containers whose layers are
 * the mounted layer targets `layers` (base first), i.e. the candidates a
 * mount_overlay of them would have; 0 if none of them names one. The guest
 * sizes a writable layer the host leaves unsized by it, so that every
 * candidate accepts the default (docs/storage.md). */
uint64_t policy_scratch_bound(struct policy_state *st, const struct req_strs *layers);

/* Writes the current state as JSON (devices, overlays, containers) for
 * debugging; NULL when out of memory. */
char *policy_state_json(const struct policy_state *st);

#endif
