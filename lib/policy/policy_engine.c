/* The decision dispatcher: runs the decision function of a decoded
 * request's enforcement point (a table keyed by enum req_op; the schema is
 * lib/request.c's decode) and assembles the decision, its reason and the
 * drops. Also the yes/no framework enforcement points. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_engine.h"

/* ------------------------------------------------------------ helpers */

void policy_reason_str(struct ctx *x, const char *key, const char *value)
{
	json_w_key(&x->r.w, key);
	json_w_str(&x->r.w, value, strnlen(value, REASON_VALUE_MAX));
}

int policy_reason_ok(const struct ctx *x)
{
	return x->r.fails == 0 && !x->r.w.failed;
}

int policy_target_form(const char *target, const char *dir, const char *suffix)
{
	size_t dl = strlen(dir), tl = strlen(target), sl = strlen(suffix);
	if (tl <= dl + sl || strncmp(target, dir, dl) != 0 || strcmp(target + tl - sl, suffix) != 0)
		return 0;
	char name[POLICY_MAX_ID + 1];
	size_t nl = tl - dl - sl;
	if (nl > POLICY_MAX_ID)
		return 0;
	memcpy(name, target + dl, nl);
	name[nl] = '\0';
	return request_id_ok(name); /* one component: 1..POLICY_MAX_ID of [A-Za-z0-9._-], not "." or ".." */
}

/* ------------------------------------------------------------ flag ops */

static int flag_op(struct ctx *x, int allowed, const char *flag)
{
	policy_reason_begin_failed(&x->r);
	if (!allowed)
		policy_reason_fail(&x->r, flag, flag, "false", "the policy does not allow this");
	policy_reason_end_failed(&x->r);
	return policy_reason_ok(x);
}

int policy_op_get_properties(struct ctx *x)
{
	return flag_op(x, x->pol->allow_properties_access, "allow_properties_access");
}

int policy_op_dump_stacks(struct ctx *x)
{
	return flag_op(x, x->pol->allow_dump_stacks, "allow_dump_stacks");
}

int policy_op_runtime_logging(struct ctx *x)
{
	return flag_op(x, x->pol->allow_runtime_logging, "allow_runtime_logging");
}

/* ------------------------------------------------------------ the table */

/* Facts a decision rests on (lib/request.h): the agent establishes them
 * with request_set_target / request_set_device_hash, a decision log names
 * them. A request without them was not prepared: it is denied, not decided
 * on less. */
#define NEED_TARGET 1u
#define NEED_HASH 2u

static const struct decider {
	int (*decide)(struct ctx *x);
	unsigned needs;
} deciders[] = {
	/* Not enforcement points: no decision (the agent's own checks apply). */
	[REQ_PING] = {NULL, 0},
	[REQ_STATUS] = {NULL, 0},
	[REQ_SHUTDOWN] = {NULL, 0},
	[REQ_SET_POLICY] = {NULL, 0},
	[REQ_GET_REPORT] = {NULL, 0},
	[REQ_START_CONTAINER] = {NULL, 0},
	[REQ_WAIT_PROCESS] = {NULL, 0},
	[REQ_READ_OUTPUT] = {NULL, 0},
	[REQ_WRITE_STDIN] = {NULL, 0},
	[REQ_CLOSE_STDIN] = {NULL, 0},
	/* Enforcement points. */
	[REQ_MOUNT_DEVICE] = {policy_op_mount_device, NEED_TARGET | NEED_HASH},
	[REQ_UNMOUNT_DEVICE] = {policy_op_unmount_device, NEED_TARGET},
	[REQ_SCRATCH_MOUNT] = {policy_op_scratch_mount, NEED_TARGET},
	[REQ_SCRATCH_UNMOUNT] = {policy_op_scratch_unmount, NEED_TARGET},
	[REQ_MOUNT_OVERLAY] = {policy_op_mount_overlay, NEED_TARGET},
	[REQ_UNMOUNT_OVERLAY] = {policy_op_unmount_overlay, NEED_TARGET},
	[REQ_CREATE_CONTAINER] = {policy_op_create_container, 0},
	[REQ_EXEC_IN_CONTAINER] = {policy_op_exec_in_container, 0},
	[REQ_EXEC_EXTERNAL] = {policy_op_exec_external, 0},
	[REQ_SIGNAL_PROCESS] = {policy_op_signal_process, 0},
	[REQ_SHUTDOWN_CONTAINER] = {policy_op_shutdown_container, 0},
	[REQ_GET_PROPERTIES] = {policy_op_get_properties, 0},
	[REQ_DUMP_STACKS] = {policy_op_dump_stacks, 0},
	[REQ_RUNTIME_LOGGING] = {policy_op_runtime_logging, 0},
	[REQ_TEST_INJECT_FAULT] = {NULL, 0},
};

/* Every op has its row, NULL ones too: an enforcement point left out would
 * read as NULL, and the agent asks no decision for an op policy_op_decided
 * says is not one (tests/unit/test_policy.c lists the decided ops). */
_Static_assert(sizeof deciders / sizeof deciders[0] == REQ_N, "the engine's table ends at the last op");

int policy_op_decided(enum req_op op)
{
	return (unsigned)op < REQ_N && deciders[op].decide != NULL;
}

/* ------------------------------------------------------------ decisions */

/* {"op":OP,"allowed":B,<members>} or, when members is NULL, an error. */
static int assemble(struct policy_decision *d, const char *op, int allowed, const char *members, size_t len,
		    const char *error)
{
	struct json_writer w;
	json_writer_init(&w, 0);
	json_w_obj(&w);
	json_w_key(&w, "op");
	if (op)
		json_w_cstr(&w, op);
	else
		json_w_null(&w);
	json_w_key(&w, "allowed");
	json_w_bool(&w, allowed);
	if (error) {
		json_w_key(&w, "error");
		json_w_cstr(&w, error);
	} else
		json_w_members(&w, members, len);
	json_w_end(&w);
	d->allowed = allowed;
	d->reason = json_writer_finish(&w, &d->reason_len);
	return d->reason ? 0 : -1;
}

static void free_drops(struct ctx *x)
{
	free(x->drop_env);
	x->drop_env = NULL;
	for (size_t s = 0; s < REQ_CAP_SETS; s++) {
		free(x->drop_caps[s]);
		x->drop_caps[s] = NULL;
	}
}

static const char pending_error[] = "a previous allowed decision is pending: the agent must commit or abort it first";

/* Why the request cannot be decided at all, into why[]; 0 if it can. */
static int undecidable(const struct request *r, char *why, size_t size)
{
	const struct decider *e = (unsigned)r->op < REQ_N ? &deciders[r->op] : NULL;
	const char *name = request_op_name(r->op);
	if (!e || !e->decide)
		snprintf(why, size,
			 "\"%s\" is not an enforcement point: the engine decides no such request "
			 "(see docs/policy.md)",
			 name);
	else if ((e->needs & NEED_TARGET) && !r->target)
		snprintf(why, size, "the %s request has no \"target\" (a fact the guest establishes): denied", name);
	else if ((e->needs & NEED_HASH) && !r->device_hash)
		snprintf(why, size, "the %s request has no \"device_hash\" (a fact the guest establishes): denied",
			 name);
	else
		return 0;
	return 1;
}

int policy_decide_request(struct policy_state *st, const struct request *r, struct policy_decision *d)
{
	char why[160];
	memset(d, 0, sizeof *d);
	if (st->pending)
		return assemble(d, r->name, 0, NULL, 0, pending_error);
	if (undecidable(r, why, sizeof why))
		return assemble(d, r->name, 0, NULL, 0, why);

	struct ctx x = {st, st->pol, r, {{0}, 0, 0, 0}, NULL, {NULL}};
	json_writer_init(&x.r.w, REASON_MAX_BYTES);
	json_w_obj(&x.r.w);
	int rc = deciders[r->op].decide(&x);
	json_w_end(&x.r.w);
	size_t len = 0;
	char *body = json_writer_finish(&x.r.w, &len);
	if (rc < 0 || !body || st->overflow) {
		/* Out of memory, an oversized reason or an engine bug (more state
		 * changes than the journal holds): fail closed. */
		int overflow = st->overflow;
		policy_abort(st);
		free(body);
		free_drops(&x);
		assemble(d, r->name, 0, NULL, 0,
			 rc < 0     ? "out of memory while deciding: denied"
			 : overflow ? "internal: the decision changed more state than the engine can roll back: denied"
				    : "the reason exceeded its size limit: denied");
		return rc < 0 ? -1 : 0;
	}
	if (assemble(d, r->name, rc == 1, body + 1, len - 2, NULL) < 0) {
		policy_abort(st);
		free(body);
		free_drops(&x);
		return -1;
	}
	free(body);
	if (rc == 1) {
		/* The drops go with the decision that names them in its reason. */
		d->drop_env = x.drop_env;
		memcpy(d->drop_caps, x.drop_caps, sizeof d->drop_caps);
	} else
		free_drops(&x);
	return 0;
}

int policy_decide(struct policy_state *st, const struct json_value *req, struct policy_decision *d)
{
	struct uvm_err err = {0, ""};
	struct request r;
	memset(d, 0, sizeof *d);
	if (request_decode_object(req, &r, &err) < 0) {
		/* r.name is the op's when the op is known, else NULL ("op": null).
		 * A pending decision is the news even then: the agent's bug. */
		int rc = assemble(d, r.name, 0, NULL, 0, st->pending ? pending_error : err.msg);
		request_free(&r);
		return rc < 0 || err.code == ENOMEM ? -1 : 0;
	}
	int rc = policy_decide_request(st, &r, d);
	request_free(&r);
	return rc;
}

int policy_decide_json(struct policy_state *st, const char *req, size_t len, struct policy_decision *d)
{
	struct uvm_err err = {0, ""};
	struct json_doc *doc;
	const struct json_value *v = json_parse(req, len, POLICY_REQUEST_MAX_BYTES, &doc, &err);
	if (!v) {
		memset(d, 0, sizeof *d);
		return assemble(d, NULL, 0, NULL, 0, err.msg);
	}
	int rc = policy_decide(st, v, d);
	json_free(doc);
	return rc;
}

void policy_decision_free(struct policy_decision *d)
{
	free(d->reason);
	d->reason = NULL;
	d->reason_len = 0;
	free(d->drop_env);
	d->drop_env = NULL;
	for (size_t s = 0; s < REQ_CAP_SETS; s++) {
		free(d->drop_caps[s]);
		d->drop_caps[s] = NULL;
	}
}
