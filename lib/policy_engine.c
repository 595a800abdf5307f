/* The decision dispatcher: validates a request against its op's schema,
 * runs that enforcement point's decision function, and assembles the
 * decision and its reason. Also the yes/no framework enforcement points. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy_engine.h"

/* ------------------------------------------------------------ helpers */

const char *policy_req_str(const struct ctx *x, const char *key)
{
	return json_str(json_get(x->req, key), NULL);
}

void policy_reason_str(struct ctx *x, const char *key, const char *value)
{
	json_w_key(&x->r.w, key);
	json_w_str(&x->r.w, value, strnlen(value, REASON_VALUE_MAX));
}

int policy_reason_ok(const struct ctx *x)
{
	return x->r.fails == 0 && !x->r.w.failed;
}

/* An id or path component: 1..POLICY_MAX_ID of [A-Za-z0-9._-], not "." or "..". */
static int id_form(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > POLICY_MAX_ID || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return 0;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
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
	return id_form(name);
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

/* ------------------------------------------------------------ request schemas */

#define OP {"op", JSON_T_STRING, 1}
#define CID {"container_id", JSON_T_STRING, 1}
#define TARGET {"target", JSON_T_STRING, 1}
#define ARGV {"argv", JSON_T_ARRAY, 1}
#define ENV {"env", JSON_T_ARRAY, 0}
#define WD {"working_dir", JSON_T_STRING, 1}
#define STDIO {"stdio", JSON_T_BOOL, 0}

static const struct json_field f_mount_device[] = {OP, TARGET, {"device_hash", JSON_T_STRING, 1}};
static const struct json_field f_target[] = {OP, TARGET};
static const struct json_field f_mount_overlay[] = {OP, CID, TARGET, {"layers", JSON_T_ARRAY, 1}};
static const struct json_field f_scratch_mount[] = {OP, TARGET, {"encrypted", JSON_T_BOOL, 1}};
static const struct json_field f_create[] = {
	OP, CID, ARGV, ENV, WD, {"mounts", JSON_T_ARRAY, 0}, {"user", JSON_T_OBJECT, 1},
	{"capabilities", JSON_T_OBJECT, 1}, {"no_new_privileges", JSON_T_BOOL, 0},
	{"privileged", JSON_T_BOOL, 0}, STDIO, {"seccomp", JSON_T_OBJECT, 0}, {"resources", JSON_T_OBJECT, 0}};
static const struct json_field f_exec[] = {OP, CID, {"process_id", JSON_T_STRING, 1}, ARGV, ENV, WD, STDIO};
static const struct json_field f_external[] = {OP, ARGV, ENV, WD, STDIO};
static const struct json_field f_signal[] = {OP, CID, {"process_id", JSON_T_STRING, 0},
					     {"signal", JSON_T_INT, 1}};
static const struct json_field f_cid[] = {OP, CID};
static const struct json_field f_op[] = {OP};

#define N(a) (sizeof a / sizeof a[0])

static const struct op {
	const char *name;
	const struct json_field *fields;
	size_t nfields;
	int (*decide)(struct ctx *x);
} ops[] = {
	{"mount_device", f_mount_device, N(f_mount_device), policy_op_mount_device},
	{"unmount_device", f_target, N(f_target), policy_op_unmount_device},
	{"mount_overlay", f_mount_overlay, N(f_mount_overlay), policy_op_mount_overlay},
	{"unmount_overlay", f_target, N(f_target), policy_op_unmount_overlay},
	{"scratch_mount", f_scratch_mount, N(f_scratch_mount), policy_op_scratch_mount},
	{"scratch_unmount", f_target, N(f_target), policy_op_scratch_unmount},
	{"create_container", f_create, N(f_create), policy_op_create_container},
	{"exec_in_container", f_exec, N(f_exec), policy_op_exec_in_container},
	{"exec_external", f_external, N(f_external), policy_op_exec_external},
	{"signal_container_process", f_signal, N(f_signal), policy_op_signal_container_process},
	{"shutdown_container", f_cid, N(f_cid), policy_op_shutdown_container},
	{"get_properties", f_op, N(f_op), policy_op_get_properties},
	{"dump_stacks", f_op, N(f_op), policy_op_dump_stacks},
	{"runtime_logging", f_op, N(f_op), policy_op_runtime_logging},
};

/* ------------------------------------------------------------ request values */

static int valid_strs(const struct json_value *arr, size_t min, int env, struct uvm_err *err)
{
	size_t n = json_len(arr);
	if (!arr)
		return 0;
	if (json_type(arr) != JSON_ARRAY || n < min || n > POLICY_MAX_LIST)
		return json_fail_at(arr, err, "expected %zu to %d strings", min, POLICY_MAX_LIST);
	for (size_t i = 0; i < n; i++) {
		const char *s = json_str(json_at(arr, i), NULL);
		if (!s)
			return json_fail_at(json_at(arr, i), err, "expected a string");
		if (env && (!strchr(s, '=') || s[0] == '='))
			return json_fail_at(json_at(arr, i), err, "expected NAME=VALUE");
	}
	return 0;
}

static int valid_path(const struct json_value *v, struct uvm_err *err)
{
	size_t len = 0;
	const char *s = json_str(v, &len);
	if (s && (s[0] != '/' || len > POLICY_MAX_PATH))
		return json_fail_at(v, err, "expected an absolute path of at most %d bytes", POLICY_MAX_PATH);
	return 0;
}

static int valid_id(const struct json_value *v, struct uvm_err *err)
{
	const char *s = json_str(v, NULL);
	if (s && !id_form(s))
		return json_fail_at(v, err, "expected an id of 1 to %d characters [A-Za-z0-9._-]", POLICY_MAX_ID);
	return 0;
}

static int valid_mounts(const struct json_value *arr, struct uvm_err *err)
{
	static const struct json_field f[] = {{"source", JSON_T_STRING, 1},
					      {"destination", JSON_T_STRING, 1},
					      {"type", JSON_T_STRING, 1},
					      {"options", JSON_T_ARRAY, 1}};
	if (json_len(arr) > POLICY_MAX_LIST)
		return json_fail_at(arr, err, "at most %d mounts", POLICY_MAX_LIST);
	for (size_t i = 0; i < json_len(arr); i++) {
		const struct json_value *m = json_at(arr, i);
		if (json_check_object(m, f, N(f), err) < 0 || valid_path(json_get(m, "destination"), err) < 0 ||
		    valid_strs(json_get(m, "options"), 0, 0, err) < 0)
			return -1;
	}
	return 0;
}

static int valid_user(const struct json_value *u, struct uvm_err *err)
{
	static const struct json_field f[] = {{"uid", JSON_T_INT, 1},     {"gid", JSON_T_INT, 1},
					      {"name", JSON_T_STRING, 0}, {"group", JSON_T_STRING, 0},
					      {"umask", JSON_T_STRING, 1}};
	int64_t id;
	if (!u)
		return 0;
	if (json_check_object(u, f, N(f), err) < 0 ||
	    json_int(json_get(u, "uid"), 0, UINT32_MAX - 1, &id, err) < 0 ||
	    json_int(json_get(u, "gid"), 0, UINT32_MAX - 1, &id, err) < 0)
		return -1;
	const char *umask = json_str(json_get(u, "umask"), NULL);
	if (strlen(umask) != 4 || strspn(umask, "01234567") != 4)
		return json_fail_at(json_get(u, "umask"), err, "expected 4 octal digits such as \"0022\"");
	return 0;
}

static int valid_caps(const struct json_value *caps, struct uvm_err *err)
{
	struct json_field f[POL_CAP_SETS];
	if (!caps)
		return 0;
	for (size_t i = 0; i < POL_CAP_SETS; i++)
		f[i] = (struct json_field){policy_cap_set_names[i], JSON_T_ARRAY, 1};
	if (json_check_object(caps, f, POL_CAP_SETS, err) < 0)
		return -1;
	for (size_t i = 0; i < POL_CAP_SETS; i++)
		if (valid_strs(json_get(caps, policy_cap_set_names[i]), 0, 0, err) < 0)
			return -1;
	return 0;
}

static int valid_request(const struct op *op, const struct json_value *req, struct uvm_err *err)
{
	const struct json_value *hash = json_get(req, "device_hash");
	const char *h = json_str(hash, NULL);
	struct pol_resources res;
	int64_t sig;
	if (json_check_object(req, op->fields, op->nfields, err) < 0 ||
	    valid_id(json_get(req, "container_id"), err) < 0 || valid_id(json_get(req, "process_id"), err) < 0 ||
	    valid_path(json_get(req, "target"), err) < 0 || valid_path(json_get(req, "working_dir"), err) < 0 ||
	    valid_strs(json_get(req, "argv"), 1, 0, err) < 0 || valid_strs(json_get(req, "env"), 0, 1, err) < 0 ||
	    valid_strs(json_get(req, "layers"), 1, 0, err) < 0 || valid_mounts(json_get(req, "mounts"), err) < 0 ||
	    valid_user(json_get(req, "user"), err) < 0 || valid_caps(json_get(req, "capabilities"), err) < 0 ||
	    policy_seccomp_check_json(json_get(req, "seccomp"), err) < 0 ||
	    policy_resources_read(json_get(req, "resources"), &res, err) < 0 ||
	    (json_get(req, "signal") && json_int(json_get(req, "signal"), 1, 64, &sig, err) < 0))
		return -1;
	if (h && (strlen(h) != 64 || strspn(h, "0123456789abcdef") != 64))
		return json_fail_at(hash, err, "expected 64 lowercase hex digits");
	return 0;
}

/* ------------------------------------------------------------ decisions */

/* {"op":OP,"allowed":B,<members>} or, when members is NULL, an error. */
static int assemble(struct policy_decision *d, const char *op, int allowed, const char *members,
		    size_t len, const char *error)
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

static const struct op *find_op(const char *name)
{
	for (size_t i = 0; name && i < N(ops); i++)
		if (strcmp(ops[i].name, name) == 0)
			return &ops[i];
	return NULL;
}

int policy_decide(struct policy_state *st, const struct json_value *req, struct policy_decision *d)
{
	struct uvm_err err = {0, ""};
	const char *name = json_str(json_get(req, "op"), NULL);
	const struct op *op = find_op(name);
	memset(d, 0, sizeof *d);
	if (st->pending)
		return assemble(d, name, 0, NULL, 0,
				"a previous allowed decision is pending: the agent must commit or abort it first");
	if (json_type(req) != JSON_OBJECT)
		return assemble(d, NULL, 0, NULL, 0, "a request must be a JSON object");
	if (!op)
		return assemble(d, NULL, 0, NULL, 0,
				name ? "unknown \"op\" (see docs/policy.md for the enforcement points)"
				     : "the request has no \"op\" string");
	if (valid_request(op, req, &err) < 0)
		return assemble(d, op->name, 0, NULL, 0, err.msg);

	struct ctx x = {st, st->pol, req, {{0}, 0, 0, 0}};
	json_writer_init(&x.r.w, REASON_MAX_BYTES);
	json_w_obj(&x.r.w);
	int rc = op->decide(&x);
	json_w_end(&x.r.w);
	size_t len = 0;
	char *body = json_writer_finish(&x.r.w, &len);
	if (rc < 0 || !body) {
		/* Out of memory or an oversized reason: fail closed. */
		policy_abort(st);
		free(body);
		assemble(d, op->name, 0, NULL, 0,
			 rc < 0 ? "out of memory while deciding: denied" : "the reason exceeded its size limit: denied");
		return rc < 0 ? -1 : 0;
	}
	if (assemble(d, op->name, rc == 1, body + 1, len - 2, NULL) < 0) {
		policy_abort(st);
		free(body);
		return -1;
	}
	free(body);
	return 0;
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
}
