/* The schema of every request and its one decode (request.h). The schema
 * is data: a table of fields (JSON key, kind, where it lands in struct
 * request) and, per op, which fields it takes and which are required from
 * the host, required in a decision log, or facts the host may not state. */
#include "request.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "policy_resources.h"
#include "seccomp_profile.h"

const char *const request_cap_set_names[REQ_CAP_SETS] = {"bounding", "effective", "inheritable", "permitted",
							 "ambient"};

/* ------------------------------------------------------------ fields */

enum kind {
	K_ID,
	K_PATH,
	K_STR,
	K_SERIAL,
	K_HASH,
	K_HASH_LOWER,
	K_BOOL,
	K_NONEMPTY, /* at least one string (argv, layers) */
	K_ENV,
	K_MOUNTS,
	K_USER,
	K_CAPS,
	K_SECCOMP,
	K_RESOURCES,
	K_SIGNAL,
	K_STREAM,
	K_MAX_BYTES,
	K_COUNT,
	K_LAYER_BYTES
};

enum field {
	F_CID,
	F_PID,
	F_SERIAL,
	F_ROOT_HASH,
	F_SCRATCH,
	F_ENCRYPTED,
	F_VERIFY,
	F_ARGV,
	F_ENV,
	F_LAYERS,
	F_WD,
	F_MOUNTS,
	F_USER,
	F_CAPS,
	F_NNP,
	F_PRIVILEGED,
	F_STDIO,
	F_SECCOMP,
	F_RESOURCES,
	F_SIGNAL,
	F_STREAM,
	F_MAX_BYTES,
	F_DATA,
	F_NONCE,
	F_POLICY,
	F_POINT,
	F_COUNT,
	F_AFTER,
	F_TARGET,
	F_DEVICE_HASH,
	F_SCRATCH_BYTES,
	F_UPPER_BYTES,
	F_N
};

static const struct {
	const char *key;
	enum kind kind;
	size_t at; /* offsetof(struct request, ...) */
} fields[F_N] = {
	[F_CID] = {"container_id", K_ID, offsetof(struct request, container_id)},
	[F_PID] = {"process_id", K_ID, offsetof(struct request, process_id)},
	[F_SERIAL] = {"serial", K_SERIAL, offsetof(struct request, serial)},
	[F_ROOT_HASH] = {"root_hash", K_HASH, offsetof(struct request, root_hash)},
	[F_SCRATCH] = {"scratch", K_PATH, offsetof(struct request, scratch)},
	[F_ENCRYPTED] = {"encrypted", K_BOOL, offsetof(struct request, encrypted)},
	[F_VERIFY] = {"verify", K_BOOL, offsetof(struct request, verify)},
	[F_ARGV] = {"argv", K_NONEMPTY, offsetof(struct request, argv)},
	[F_ENV] = {"env", K_ENV, offsetof(struct request, env)},
	[F_LAYERS] = {"layers", K_NONEMPTY, offsetof(struct request, layers)},
	[F_WD] = {"working_dir", K_PATH, offsetof(struct request, working_dir)},
	[F_MOUNTS] = {"mounts", K_MOUNTS, offsetof(struct request, mounts)},
	[F_USER] = {"user", K_USER, offsetof(struct request, user)},
	[F_CAPS] = {"capabilities", K_CAPS, offsetof(struct request, caps)},
	[F_NNP] = {"no_new_privileges", K_BOOL, offsetof(struct request, no_new_privileges)},
	[F_PRIVILEGED] = {"privileged", K_BOOL, offsetof(struct request, privileged)},
	[F_STDIO] = {"stdio", K_BOOL, offsetof(struct request, stdio)},
	[F_SECCOMP] = {"seccomp", K_SECCOMP, offsetof(struct request, seccomp)},
	[F_RESOURCES] = {"resources", K_RESOURCES, offsetof(struct request, resources)},
	[F_SIGNAL] = {"signal", K_SIGNAL, offsetof(struct request, signal)},
	[F_STREAM] = {"stream", K_STREAM, offsetof(struct request, stream)},
	[F_MAX_BYTES] = {"max_bytes", K_MAX_BYTES, offsetof(struct request, max_bytes)},
	[F_DATA] = {"data_base64", K_STR, offsetof(struct request, data_base64)},
	[F_NONCE] = {"nonce", K_STR, offsetof(struct request, nonce)},
	[F_POLICY] = {"policy_base64", K_STR, offsetof(struct request, policy_base64)},
	[F_POINT] = {"point", K_STR, offsetof(struct request, point)},
	[F_COUNT] = {"count", K_COUNT, offsetof(struct request, count)},
	[F_AFTER] = {"after", K_COUNT, offsetof(struct request, after)},
	[F_TARGET] = {"target", K_PATH, offsetof(struct request, target)},
	[F_DEVICE_HASH] = {"device_hash", K_HASH_LOWER, offsetof(struct request, device_hash)},
	[F_SCRATCH_BYTES] = {"scratch_bytes", K_LAYER_BYTES, offsetof(struct request, scratch_bytes)},
	[F_UPPER_BYTES] = {"upper_bytes", K_LAYER_BYTES, offsetof(struct request, upper_bytes)},
};

/* ------------------------------------------------------------ ops */

#define H 1u    /* required from the host */
#define L 2u    /* required in a decision log */
#define FACT 4u /* the guest establishes it: refused from the host */
#define ADDR 8u /* op flag: container_id and/or process_id, at least one */
/* op flag (mount_overlay): a writable layer's size belongs to a scratch.
 * From the host, scratch_bytes needs scratch; in a decision log, scratch
 * needs upper_bytes and upper_bytes needs scratch (the guest states the
 * size exactly when the layer is on a scratch). */
#define SCRATCH_SIZE 16u
#define MAX_USES 13

struct use {
	unsigned char field, flags;
};

static const struct op_schema {
	const char *name;
	unsigned flags;
	struct use uses[MAX_USES];
	size_t n;
} ops[] = {
#define OP(id, nm, fl, ...) \
	[id] = {nm, fl, {__VA_ARGS__}, sizeof((struct use[]){{F_N, 0}, __VA_ARGS__}) / sizeof(struct use) - 1}
	[REQ_PING] = {"ping", 0, {{0, 0}}, 0},
	[REQ_STATUS] = {"status", 0, {{0, 0}}, 0},
	[REQ_SHUTDOWN] = {"shutdown", 0, {{0, 0}}, 0},
	OP(REQ_SET_POLICY, "set_policy", 0, {F_POLICY, H | L}),
	OP(REQ_GET_REPORT, "get_report", 0, {F_NONCE, H | L}),
	OP(REQ_MOUNT_DEVICE, "mount_device", 0, {F_SERIAL, H}, {F_ROOT_HASH, H}, {F_VERIFY, 0}, {F_TARGET, FACT | L},
	   {F_DEVICE_HASH, FACT | L}),
	OP(REQ_UNMOUNT_DEVICE, "unmount_device", 0, {F_TARGET, H | L}),
	OP(REQ_SCRATCH_MOUNT, "scratch_mount", 0, {F_SERIAL, H}, {F_ENCRYPTED, 0}, {F_TARGET, FACT | L}),
	OP(REQ_SCRATCH_UNMOUNT, "scratch_unmount", 0, {F_TARGET, H | L}, {F_VERIFY, 0}),
	OP(REQ_MOUNT_OVERLAY, "mount_overlay", SCRATCH_SIZE, {F_CID, H | L}, {F_LAYERS, H | L}, {F_SCRATCH, 0},
	   {F_SCRATCH_BYTES, 0}, {F_TARGET, FACT | L}, {F_UPPER_BYTES, FACT}),
	OP(REQ_UNMOUNT_OVERLAY, "unmount_overlay", 0, {F_TARGET, H | L}),
	OP(REQ_CREATE_CONTAINER, "create_container", 0, {F_CID, H | L}, {F_ARGV, H | L}, {F_ENV, 0}, {F_WD, H | L},
	   {F_MOUNTS, 0}, {F_USER, H | L}, {F_CAPS, H | L}, {F_NNP, 0}, {F_PRIVILEGED, 0}, {F_STDIO, 0}, {F_SECCOMP, 0},
	   {F_RESOURCES, 0}),
	OP(REQ_START_CONTAINER, "start_container", 0, {F_CID, H | L}),
	OP(REQ_EXEC_IN_CONTAINER, "exec_in_container", 0, {F_CID, H | L}, {F_PID, H | L}, {F_ARGV, H | L}, {F_ENV, 0},
	   {F_WD, H | L}, {F_STDIO, 0}),
	OP(REQ_EXEC_EXTERNAL, "exec_external", 0, {F_PID, H}, {F_ARGV, H | L}, {F_ENV, 0}, {F_WD, H | L}, {F_STDIO, 0}),
	OP(REQ_SIGNAL_PROCESS, "signal_process", 0, {F_CID, H | L}, {F_PID, 0}, {F_SIGNAL, H | L}),
	OP(REQ_WAIT_PROCESS, "wait_process", ADDR, {F_CID, 0}, {F_PID, 0}),
	OP(REQ_SHUTDOWN_CONTAINER, "shutdown_container", 0, {F_CID, H | L}),
	OP(REQ_READ_OUTPUT, "read_output", ADDR, {F_CID, 0}, {F_PID, 0}, {F_STREAM, H | L}, {F_MAX_BYTES, 0}),
	OP(REQ_WRITE_STDIN, "write_stdin", ADDR, {F_CID, 0}, {F_PID, 0}, {F_DATA, H | L}),
	OP(REQ_CLOSE_STDIN, "close_stdin", ADDR, {F_CID, 0}, {F_PID, 0}),
	[REQ_GET_PROPERTIES] = {"get_properties", 0, {{0, 0}}, 0},
	[REQ_DUMP_STACKS] = {"dump_stacks", 0, {{0, 0}}, 0},
	[REQ_RUNTIME_LOGGING] = {"runtime_logging", 0, {{0, 0}}, 0},
#ifdef UVM_TEST_FLAVOUR
	OP(REQ_TEST_INJECT_FAULT, "test_inject_fault", 0, {F_POINT, H | L}, {F_COUNT, H | L}, {F_AFTER, 0}),
#else
	/* Production: not even the name (`strings init | grep test_inject` is empty). */
	[REQ_TEST_INJECT_FAULT] = {NULL, 0, {{0, 0}}, 0},
#endif
#undef OP
};

/* The last op is listed; a unit test checks none between is missing. */
_Static_assert(sizeof ops / sizeof ops[0] == REQ_N, "every op has a schema");

int request_op_find(const char *name, size_t len)
{
	for (int i = 0; name && i < REQ_N; i++) {
		if (ops[i].name && strlen(ops[i].name) == len && memcmp(ops[i].name, name, len) == 0)
			return i;
	}
	return -1;
}

const char *request_op_name(enum req_op op)
{
	return (unsigned)op < REQ_N && ops[op].name ? ops[op].name : "?";
}

/* ------------------------------------------------------------ forms */

static int charset_len(const char *s, const char *set, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	return n > 0 && n <= max && strspn(s, set) == n;
}

#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

int request_id_ok(const char *s)
{
	return charset_len(s, ALNUM "._-", POLICY_MAX_ID) && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

int request_serial_ok(const char *s)
{
	return charset_len(s, ALNUM "_-", REQ_SERIAL_MAX);
}

int request_hex64_ok(const char *s)
{
	return s && strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* A host string as it may appear in a message: at most 64 bytes, control
 * characters as '?' (messages reach the console log). */
static const char *shown(const char *s, char out[68])
{
	size_t i = 0;
	for (; s && s[i] && i < 64; i++)
		out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	if (s && s[i]) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
	return out;
}

/* ------------------------------------------------------------ memory */

struct block {
	struct block *next;
	max_align_t data[];
};

static void *alloc(struct request *r, size_t bytes)
{
	struct block *b = calloc(1, sizeof *b + (bytes ? bytes : 1));
	if (!b)
		return NULL;
	b->next = r->mem_;
	r->mem_ = b;
	return b->data;
}

void request_free(struct request *r)
{
	struct block *b = r->mem_;
	while (b) {
		struct block *next = b->next;
		free(b);
		b = next;
	}
	r->mem_ = NULL;
}

static int out_of_memory(struct uvm_err *err)
{
	return uvm_fail(err, ENOMEM, "out of memory decoding the request");
}

/* ------------------------------------------------------------ readers */

static int read_path(const struct json_value *v, const char **out, struct uvm_err *err)
{
	size_t len = 0;
	const char *s = json_str(v, &len);
	if (!s || s[0] != '/' || len > POLICY_MAX_PATH || strlen(s) != len)
		return json_fail_at(v, err, "expected an absolute path of at most %d bytes", POLICY_MAX_PATH);
	*out = s;
	return 0;
}

static int read_plain(const struct json_value *v, const char **out, struct uvm_err *err)
{
	size_t len = 0;
	const char *s = json_str(v, &len);
	if (!s || strlen(s) != len)
		return json_fail_at(v, err, "expected a string without NUL bytes");
	*out = s;
	return 0;
}

/* Strings: at least min, at most POLICY_MAX_LIST; env: each NAME=VALUE. */
static int read_strs(struct request *r, const struct json_value *arr, size_t min, int env, struct req_strs *out,
		     struct uvm_err *err)
{
	size_t n = json_len(arr);
	if (json_type(arr) != JSON_ARRAY || n < min || n > POLICY_MAX_LIST)
		return json_fail_at(arr, err, "expected %zu to %d strings", min, POLICY_MAX_LIST);
	out->v = alloc(r, n * sizeof *out->v);
	if (!out->v)
		return out_of_memory(err);
	for (size_t i = 0; i < n; i++) {
		const struct json_value *s = json_at(arr, i);
		if (read_plain(s, &out->v[i], err) < 0)
			return -1;
		if (env && (!strchr(out->v[i], '=') || out->v[i][0] == '='))
			return json_fail_at(s, err, "expected NAME=VALUE");
	}
	out->n = n;
	return 0;
}

static int read_mounts(struct request *r, const struct json_value *arr, struct uvm_err *err)
{
	static const struct json_field f[] = {{"source", JSON_T_STRING, 1},
					      {"destination", JSON_T_STRING, 1},
					      {"type", JSON_T_STRING, 1},
					      {"options", JSON_T_ARRAY, 1}};
	size_t n = json_len(arr);
	if (json_type(arr) != JSON_ARRAY || n > POLICY_MAX_LIST)
		return json_fail_at(arr, err, "expected at most %d mounts", POLICY_MAX_LIST);
	r->mounts = alloc(r, n * sizeof *r->mounts);
	if (!r->mounts)
		return out_of_memory(err);
	for (size_t i = 0; i < n; i++) {
		const struct json_value *m = json_at(arr, i);
		struct req_mount *o = &r->mounts[i];
		if (json_check_object(m, f, 4, err) < 0 || read_plain(json_get(m, "source"), &o->source, err) < 0 ||
		    read_path(json_get(m, "destination"), &o->destination, err) < 0 ||
		    read_plain(json_get(m, "type"), &o->type, err) < 0 ||
		    read_strs(r, json_get(m, "options"), 0, 0, &o->options, err) < 0)
			return -1;
	}
	r->nmounts = n;
	r->has_mounts = 1;
	return 0;
}

static int read_user(struct request *r, const struct json_value *u, struct uvm_err *err)
{
	static const struct json_field f[] = {{"uid", JSON_T_INT, 1},
					      {"gid", JSON_T_INT, 1},
					      {"name", JSON_T_STRING, 0},
					      {"group", JSON_T_STRING, 0},
					      {"umask", JSON_T_STRING, 1}};
	int64_t uid, gid;
	if (json_check_object(u, f, 5, err) < 0 || json_int(json_get(u, "uid"), 0, UINT32_MAX - 1, &uid, err) < 0 ||
	    json_int(json_get(u, "gid"), 0, UINT32_MAX - 1, &gid, err) < 0 ||
	    (json_get(u, "name") && read_plain(json_get(u, "name"), &r->user.name, err) < 0) ||
	    (json_get(u, "group") && read_plain(json_get(u, "group"), &r->user.group, err) < 0))
		return -1;
	const char *umask = json_str(json_get(u, "umask"), NULL);
	if (strlen(umask) != 4 || strspn(umask, "01234567") != 4)
		return json_fail_at(json_get(u, "umask"), err, "expected 4 octal digits such as \"0022\"");
	r->user.uid = (uint32_t)uid;
	r->user.gid = (uint32_t)gid;
	r->user.umask = umask;
	r->has_user = 1;
	return 0;
}

static int read_caps(struct request *r, const struct json_value *caps, struct uvm_err *err)
{
	struct json_field f[REQ_CAP_SETS];
	for (size_t i = 0; i < REQ_CAP_SETS; i++)
		f[i] = (struct json_field){request_cap_set_names[i], JSON_T_ARRAY, 1};
	if (json_check_object(caps, f, REQ_CAP_SETS, err) < 0)
		return -1;
	for (size_t i = 0; i < REQ_CAP_SETS; i++)
		if (read_strs(r, json_get(caps, request_cap_set_names[i]), 0, 0, &r->caps[i], err) < 0)
			return -1;
	r->has_caps = 1;
	return 0;
}

/* A set of known syscall names. */
static int read_syscalls(struct request *r, const struct json_value *arr, struct req_strs *out, struct uvm_err *err)
{
	if (!arr)
		return 0;
	if (read_strs(r, arr, 0, 0, out, err) < 0)
		return -1;
	char show[68];
	for (size_t i = 0; i < out->n; i++) {
		if (seccomp_syscall_number(out->v[i]) < 0)
			return json_fail_at(json_at(arr, i), err,
					    "unknown syscall name \"%s\" (x86-64 names such as \"keyctl\")",
					    shown(out->v[i], show));
		for (size_t j = 0; j < i; j++)
			if (strcmp(out->v[i], out->v[j]) == 0)
				return json_fail_at(json_at(arr, i), err,
						    "\"%.64s\" is already at index %zu (the list is a set)", out->v[i],
						    j);
	}
	return 0;
}

static int read_seccomp(struct request *r, const struct json_value *obj, struct uvm_err *err)
{
	static const struct json_field f[] = {
		{"profile", JSON_T_STRING, 1}, {"allow", JSON_T_ARRAY, 0}, {"deny", JSON_T_ARRAY, 0}};
	struct req_seccomp *sc = &r->seccomp;
	if (json_check_object(obj, f, 3, err) < 0)
		return -1;
	if (request_seccomp_profile(obj, &sc->unconfined, err) < 0 ||
	    read_syscalls(r, json_get(obj, "allow"), &sc->allow, err) < 0 ||
	    read_syscalls(r, json_get(obj, "deny"), &sc->deny, err) < 0 ||
	    request_seccomp_rules(obj, sc->unconfined, sc->allow.v, sc->allow.n, sc->deny.v, sc->deny.n, err) < 0)
		return -1;
	sc->present = 1;
	return 0;
}

int request_seccomp_profile(const struct json_value *obj, int *unconfined, struct uvm_err *err)
{
	const struct json_value *profile = json_get(obj, "profile");
	const char *p = json_str(profile, NULL);
	*unconfined = p && strcmp(p, "unconfined") == 0;
	if (!p || (!*unconfined && strcmp(p, "default") != 0))
		return json_fail_at(profile ? profile : obj, err, "must be \"default\" or \"unconfined\"");
	return 0;
}

int request_seccomp_rules(const struct json_value *obj, int unconfined, const char *const *allow, size_t nallow,
			  const char *const *deny, size_t ndeny, struct uvm_err *err)
{
	const struct seccomp_profile_spec s = {unconfined, allow, nallow, deny, ndeny};
	const struct seccomp_profile_spec *spec = &s;
	if (spec->unconfined && (spec->nallow || spec->ndeny))
		return json_fail_at(json_get(obj, spec->nallow ? "allow" : "deny"), err,
				    "must be empty with the \"unconfined\" profile (there is no filter)");
	for (size_t i = 0; i < spec->ndeny; i++)
		for (size_t j = 0; j < spec->nallow; j++)
			if (strcmp(spec->deny[i], spec->allow[j]) == 0)
				return json_fail_at(json_at(json_get(obj, "deny"), i), err,
						    "\"%.64s\" is also in \"allow\" at index %zu", spec->deny[i], j);
	/* And whatever else the filter's builder refuses. */
	struct uvm_err why = {0, ""};
	if (seccomp_spec_check(spec, &why) < 0)
		return json_fail_at(obj, err, "%s", why.msg);
	return 0;
}

int request_resources_read(const struct json_value *obj, unsigned flags, struct req_resources *res, struct uvm_err *err)
{
	static const struct json_field f[] = {
		{"memory_max", JSON_T_INT, 0}, {"pids_max", JSON_T_INT, 0}, {"scratch_max", JSON_T_INT, 0}};
	const struct json_value *mem = json_get(obj, "memory_max"), *pids = json_get(obj, "pids_max");
	const struct json_value *scratch = json_get(obj, "scratch_max");
	int64_t v;
	res->memory_max = res->pids_max = res->scratch_max = 0;
	if (!obj)
		return 0;
	/* Without REQ_RES_SCRATCH "scratch_max" is not a known key. */
	if (json_check_object(obj, f, flags & REQ_RES_SCRATCH ? 3 : 2, err) < 0)
		return -1;
	if (mem) {
		if (json_int(mem, (int64_t)POLICY_MEMORY_MIN, (int64_t)POLICY_MEMORY_LIMIT, &v, err) < 0)
			return -1;
		res->memory_max = (uint64_t)v;
	}
	if (pids) {
		if (json_int(pids, (int64_t)POLICY_PIDS_MIN, (int64_t)POLICY_PIDS_LIMIT, &v, err) < 0)
			return -1;
		res->pids_max = (uint64_t)v;
	}
	if (scratch) {
		if (json_int(scratch, (int64_t)POLICY_SCRATCH_MIN, (int64_t)POLICY_SCRATCH_LIMIT, &v, err) < 0)
			return -1;
		res->scratch_max = (uint64_t)v;
	}
	return 0;
}

/* One member into its place in r. */
static int read_field(struct request *r, enum field f, const struct json_value *v, struct uvm_err *err)
{
	void *at = (char *)r + fields[f].at;
	const char **s = at;
	int64_t i = 0;
	switch (fields[f].kind) {
	case K_ID:
		if (!request_id_ok(json_str(v, NULL)))
			return json_fail_at(v, err,
					    "expected an id of 1 to %d characters [A-Za-z0-9._-], not \".\" or \"..\"",
					    POLICY_MAX_ID);
		*s = json_str(v, NULL);
		return 0;
	case K_PATH: return read_path(v, s, err);
	case K_STR: return read_plain(v, s, err);
	case K_SERIAL:
		if (!request_serial_ok(json_str(v, NULL)))
			return json_fail_at(v, err, "expected a disk serial of 1..%d characters [A-Za-z0-9_-]",
					    REQ_SERIAL_MAX);
		*s = json_str(v, NULL);
		return 0;
	case K_HASH:
	case K_HASH_LOWER: {
		const char *h = json_str(v, NULL);
		const char *digits = fields[f].kind == K_HASH ? "0123456789abcdefABCDEF" : "0123456789abcdef";
		if (!h || strlen(h) != 64 || strspn(h, digits) != 64)
			return json_fail_at(v, err, "expected 64 %shex digits (a SHA-256)",
					    fields[f].kind == K_HASH ? "" : "lowercase ");
		*s = h;
		return 0;
	}
	case K_BOOL: return json_bool(v, at) < 0 ? json_fail_at(v, err, "expected true or false") : 0;
	case K_ENV: return read_strs(r, v, 0, 1, at, err);
	case K_NONEMPTY: return read_strs(r, v, 1, 0, at, err);
	case K_MOUNTS: return read_mounts(r, v, err);
	case K_USER: return read_user(r, v, err);
	case K_CAPS: return read_caps(r, v, err);
	case K_SECCOMP: return read_seccomp(r, v, err);
	case K_RESOURCES: return request_resources_read(v, 0, at, err);
	case K_SIGNAL:
		if (json_int(v, 1, 64, &i, err) < 0)
			return -1;
		*(int *)at = (int)i;
		return 0;
	case K_STREAM:
		if (read_plain(v, s, err) < 0)
			return -1;
		if (strcmp(*s, "stdout") != 0 && strcmp(*s, "stderr") != 0)
			return json_fail_at(v, err, "expected \"stdout\" or \"stderr\"");
		return 0;
	case K_MAX_BYTES:
		if (json_int(v, 1, REQ_READ_MAX, &i, err) < 0)
			return -1;
		*(uint32_t *)at = (uint32_t)i;
		return 0;
	case K_COUNT: return json_int(v, 0, 1000000, at, err);
	case K_LAYER_BYTES:
		if (json_int(v, (int64_t)POLICY_SCRATCH_MIN, (int64_t)POLICY_SCRATCH_LIMIT, &i, err) < 0)
			return -1;
		*(uint64_t *)at = (uint64_t)i;
		return 0;
	}
	return json_fail_at(v, err, "internal: no reader for this member");
}

static unsigned json_types(enum kind k)
{
	switch (k) {
	case K_BOOL: return JSON_T_BOOL;
	case K_NONEMPTY:
	case K_ENV:
	case K_MOUNTS: return JSON_T_ARRAY;
	case K_USER:
	case K_CAPS:
	case K_SECCOMP:
	case K_RESOURCES: return JSON_T_OBJECT;
	case K_SIGNAL:
	case K_MAX_BYTES:
	case K_COUNT:
	case K_LAYER_BYTES: return JSON_T_INT;
	default: return JSON_T_STRING;
	}
}

/* ------------------------------------------------------------ decode */

/* SCRATCH_SIZE: see its definition. */
static int scratch_size_paired(const struct json_value *obj, enum req_source src, const struct request *r,
			       struct uvm_err *err)
{
	if (src == REQ_FROM_HOST && r->scratch_bytes && !r->scratch)
		return json_fail_at(json_get(obj, "scratch_bytes"), err,
				    "sizes a writable layer on a scratch: give \"scratch\" too (without one the upper "
				    "directory is a tmpfs in guest memory, bounded by the container's memory_max)");
	if (src == REQ_FROM_LOG && r->scratch && !r->upper_bytes)
		return json_fail_at(obj, err, "a mount_overlay on a scratch needs the guest's \"upper_bytes\"");
	if (src == REQ_FROM_LOG && r->upper_bytes && !r->scratch)
		return json_fail_at(json_get(obj, "upper_bytes"), err,
				    "names a writable layer on a scratch: give \"scratch\" too");
	return 0;
}

static int decode_members(const struct op_schema *s, const struct json_value *obj, enum req_source src, int skip_op,
			  struct request *r, struct uvm_err *err)
{
	struct json_field f[MAX_USES + 1];
	size_t nf = 0;
	if (skip_op)
		f[nf++] = (struct json_field){"op", JSON_T_STRING, 1};
	for (size_t i = 0; i < s->n; i++) {
		const struct use *u = &s->uses[i];
		if (src == REQ_FROM_HOST && (u->flags & FACT))
			continue; /* unknown to the host: json_check_object refuses it */
		unsigned need = src == REQ_FROM_HOST ? H : L;
		f[nf++] = (struct json_field){fields[u->field].key, json_types(fields[u->field].kind),
					      (u->flags & need) != 0};
	}
	if (!obj) {
		for (size_t i = 0; i < nf; i++)
			if (f[i].required)
				return uvm_fail(err, EINVAL, "%s needs \"args\" with \"%s\" (see docs/protocol.md)",
						s->name, f[i].key);
		return 0;
	}
	if (nf == 0 && json_type(obj) == JSON_OBJECT && json_len(obj) > 0)
		return json_fail_at(json_at(obj, 0), err, "%s takes no arguments", s->name);
	if (json_check_object(obj, f, nf, err) < 0)
		return -1;
	for (size_t i = 0; i < s->n; i++) {
		const struct json_value *v = json_get(obj, fields[s->uses[i].field].key);
		if (v && read_field(r, (enum field)s->uses[i].field, v, err) < 0)
			return -1;
	}
	if ((s->flags & ADDR) && !r->container_id && !r->process_id)
		return json_fail_at(obj, err, "give container_id and/or process_id");
	if (s->flags & SCRATCH_SIZE)
		return scratch_size_paired(obj, src, r, err);
	return 0;
}

static void request_init(struct request *r, enum req_op op)
{
	memset(r, 0, sizeof *r);
	r->op = op;
	r->name = ops[op].name;
	r->encrypted = 1; /* a scratch is encrypted unless the request says otherwise */
}

int request_decode(enum req_op op, const struct json_value *args, enum req_source src, struct request *r,
		   struct uvm_err *err)
{
	if ((unsigned)op >= REQ_N)
		return uvm_fail(err, EINVAL, "unknown op %d", (int)op);
	request_init(r, op);
	if (!ops[op].name)
		return uvm_fail(err, EINVAL, "op %d does not exist in this build", (int)op);
	return decode_members(&ops[op], args, src, 0, r, err);
}

int request_decode_object(const struct json_value *obj, struct request *r, struct uvm_err *err)
{
	size_t len = 0;
	const char *name = json_str(json_get(obj, "op"), &len);
	memset(r, 0, sizeof *r);
	if (json_type(obj) != JSON_OBJECT)
		return uvm_fail(err, EINVAL, "a request must be a JSON object");
	if (!name)
		return uvm_fail(err, EINVAL, "the request has no \"op\" string");
	int op = request_op_find(name, len);
	char show[68];
	if (op < 0)
		return uvm_fail(err, EINVAL, "unknown \"op\" '%s' (see docs/policy.md for the enforcement points)",
				shown(name, show));
	request_init(r, (enum req_op)op);
	return decode_members(&ops[op], obj, REQ_FROM_LOG, 1, r, err);
}

/* ------------------------------------------------------------ facts */

int request_set_target(struct request *r, const char *target, struct uvm_err *err)
{
	size_t n = strlen(target);
	if (n >= sizeof r->target_buf_ || target[0] != '/')
		return uvm_fail(err, EINVAL, "internal: target '%.64s' is not a short absolute path", target);
	memcpy(r->target_buf_, target, n + 1);
	r->target = r->target_buf_;
	return 0;
}

int request_set_upper_bytes(struct request *r, uint64_t bytes, struct uvm_err *err)
{
	if (bytes < POLICY_SCRATCH_MIN || bytes > POLICY_SCRATCH_LIMIT)
		return uvm_fail(err, EINVAL, "internal: a writable layer of %llu bytes is out of range",
				(unsigned long long)bytes);
	r->upper_bytes = bytes;
	return 0;
}

int request_set_device_hash(struct request *r, const char *hex64, struct uvm_err *err)
{
	if (!request_hex64_ok(hex64))
		return uvm_fail(err, EINVAL, "internal: device hash '%.70s' is not 64 lowercase hex digits", hex64);
	memcpy(r->hash_buf_, hex64, 65);
	r->device_hash = r->hash_buf_;
	return 0;
}
