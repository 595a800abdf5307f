/* policy_load: the strict policy document (docs/policy.md) into the
 * structures of policy_internal.h. Every problem is reported with its JSON
 * path; nothing is defaulted silently except the documented optional keys. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "policy_internal.h"
#include "seccomp_profile.h"

static void *pol_alloc(struct policy *p, size_t n, size_t size)
{
	if (p->nallocs == p->capallocs) {
		size_t cap = p->capallocs ? 2 * p->capallocs : 16;
		void **a = realloc(p->allocs, cap * sizeof *a);
		if (!a)
			return NULL;
		p->allocs = a;
		p->capallocs = cap;
	}
	void *m = calloc(n ? n : 1, size);
	if (m)
		p->allocs[p->nallocs++] = m;
	return m;
}

static int oom(struct uvm_err *err)
{
	return uvm_fail(err, ENOMEM, "out of memory loading the policy");
}

static int get_bool(const struct json_value *obj, const char *key, int *out)
{
	const struct json_value *v = json_get(obj, key);
	*out = 0;
	return v ? json_bool(v, out) : 0; /* types were checked by the schema */
}

/* A non-empty string without NUL (the JSON layer guarantees NUL-free). */
static int get_str(const struct json_value *v, const char **out, int allow_empty, struct uvm_err *err)
{
	size_t len;
	const char *s = json_str(v, &len);
	if (!s)
		return json_fail_at(v, err, "expected a string, got %s", json_type_name(json_type(v)));
	if (!allow_empty && len == 0)
		return json_fail_at(v, err, "must not be empty");
	*out = s;
	return 0;
}

static int get_path(const struct json_value *v, const char **out, struct uvm_err *err)
{
	size_t len = 0;
	if (get_str(v, out, 0, err) < 0)
		return -1;
	json_str(v, &len);
	if ((*out)[0] != '/' || len > POLICY_MAX_PATH)
		return json_fail_at(v, err, "must be an absolute path of at most %d bytes", POLICY_MAX_PATH);
	return 0;
}

static int get_strs(struct policy *p, const struct json_value *arr, struct pol_strs *out, size_t min,
		    struct uvm_err *err)
{
	size_t n = json_len(arr);
	if (json_type(arr) != JSON_ARRAY)
		return json_fail_at(arr, err, "expected an array of strings");
	if (n < min || n > POLICY_MAX_LIST)
		return json_fail_at(arr, err, "must have %zu to %d entries, has %zu", min, POLICY_MAX_LIST, n);
	out->v = pol_alloc(p, n, sizeof *out->v);
	if (!out->v)
		return oom(err);
	out->n = n;
	for (size_t i = 0; i < n; i++)
		if (get_str(json_at(arr, i), &out->v[i], 1, err) < 0)
			return -1;
	return 0;
}

static int add_regex(struct policy *p, regex_t *re, const struct json_value *at, const char *pat, struct uvm_err *err)
{
	char why[160];
	if (p->nregexes == p->capregexes) {
		size_t cap = p->capregexes ? 2 * p->capregexes : 16;
		regex_t **a = realloc(p->regexes, cap * sizeof *a);
		if (!a)
			return oom(err);
		p->regexes = a;
		p->capregexes = cap;
	}
	if (policy_regex_compile(re, pat, why, sizeof why) < 0)
		return json_fail_at(at, err, "bad regular expression: %s", why);
	p->regexes[p->nregexes++] = re;
	return 0;
}

/* "string" (default) or "regex". */
static int get_strategy(const struct json_value *obj, const char *key, int *regex, struct uvm_err *err)
{
	const struct json_value *v = json_get(obj, key);
	const char *s = v ? json_str(v, NULL) : "string";
	*regex = strcmp(s, "regex") == 0;
	if (!*regex && strcmp(s, "string") != 0)
		return json_fail_at(v, err, "must be \"string\" or \"regex\"");
	return 0;
}

static int parse_env(struct policy *p, const struct json_value *arr, struct pol_env *out, struct uvm_err *err)
{
	static const struct json_field f[] = {
		{"rule", JSON_T_STRING, 1}, {"strategy", JSON_T_STRING, 0}, {"required", JSON_T_BOOL, 0}};
	size_t n = json_len(arr);
	if (!arr)
		return 0;
	if (json_type(arr) != JSON_ARRAY || n > POLICY_MAX_LIST)
		return json_fail_at(arr, err, "expected an array of at most %d rules", POLICY_MAX_LIST);
	out->rules = pol_alloc(p, n, sizeof *out->rules);
	if (!out->rules)
		return oom(err);
	out->n = n;
	for (size_t i = 0; i < n; i++) {
		const struct json_value *e = json_at(arr, i);
		struct pol_env_rule *r = &out->rules[i];
		if (json_check_object(e, f, 3, err) < 0 || get_str(json_get(e, "rule"), &r->rule, 0, err) < 0 ||
		    get_strategy(e, "strategy", &r->regex, err) < 0 || get_bool(e, "required", &r->required) < 0)
			return -1;
		if (r->regex && add_regex(p, &r->re, json_get(e, "rule"), r->rule, err) < 0)
			return -1;
		if (!r->regex && !strchr(r->rule, '='))
			return json_fail_at(json_get(e, "rule"), err, "a string rule must be NAME=VALUE");
	}
	return 0;
}

static int parse_layers(struct policy *p, const struct json_value *arr, struct pol_container *c, struct uvm_err *err)
{
	size_t n = json_len(arr);
	if (n < 1 || n > POLICY_MAX_LIST)
		return json_fail_at(arr, err, "must have 1 to %d layer root hashes", POLICY_MAX_LIST);
	c->layers = pol_alloc(p, n, sizeof *c->layers);
	if (!c->layers)
		return oom(err);
	c->nlayers = n;
	for (size_t i = 0; i < n; i++) {
		const struct json_value *v = json_at(arr, i);
		const char *s = json_str(v, NULL);
		if (!s || strspn(s, "0123456789abcdef") != 64 || s[64] ||
		    uvm_hex_decode(s, c->layers[i], UVM_SHA256_LEN) < 0)
			return json_fail_at(v, err, "expected a dm-verity root hash: 64 lowercase hex digits");
	}
	return 0;
}

static int parse_mounts(struct policy *p, const struct json_value *arr, struct pol_container *c, struct uvm_err *err)
{
	static const struct json_field f[] = {{"source", JSON_T_STRING, 1},      {"source_strategy", JSON_T_STRING, 0},
					      {"destination", JSON_T_STRING, 1}, {"type", JSON_T_STRING, 1},
					      {"options", JSON_T_ARRAY, 1},      {"optional", JSON_T_BOOL, 0}};
	size_t n = json_len(arr);
	if (!arr)
		return 0;
	if (n > POLICY_MAX_LIST)
		return json_fail_at(arr, err, "at most %d mounts", POLICY_MAX_LIST);
	c->mounts = pol_alloc(p, n, sizeof *c->mounts);
	if (!c->mounts)
		return oom(err);
	c->nmounts = n;
	for (size_t i = 0; i < n; i++) {
		const struct json_value *m = json_at(arr, i);
		struct pol_mount *pm = &c->mounts[i];
		if (json_check_object(m, f, sizeof f / sizeof f[0], err) < 0 ||
		    get_str(json_get(m, "source"), &pm->source, 0, err) < 0 ||
		    get_strategy(m, "source_strategy", &pm->source_regex, err) < 0 ||
		    get_path(json_get(m, "destination"), &pm->destination, err) < 0 ||
		    get_str(json_get(m, "type"), &pm->type, 0, err) < 0 ||
		    get_strs(p, json_get(m, "options"), &pm->options, 0, err) < 0 ||
		    get_bool(m, "optional", &pm->optional) < 0)
			return -1;
		if (pm->source_regex && add_regex(p, &pm->re, json_get(m, "source"), pm->source, err) < 0)
			return -1;
	}
	return 0;
}

static int parse_user(const struct json_value *u, struct pol_user *out, struct uvm_err *err)
{
	static const struct json_field f[] = {{"uid", JSON_T_INT, 0},
					      {"name", JSON_T_STRING, 0},
					      {"gid", JSON_T_INT, 0},
					      {"group", JSON_T_STRING, 0},
					      {"umask", JSON_T_STRING, 1}};
	if (json_check_object(u, f, 5, err) < 0)
		return -1;
	const struct json_value *uid = json_get(u, "uid"), *name = json_get(u, "name");
	const struct json_value *gid = json_get(u, "gid"), *group = json_get(u, "group");
	if (!uid == !name)
		return json_fail_at(u, err, "exactly one of \"uid\" and \"name\" is required");
	if (!gid == !group)
		return json_fail_at(u, err, "exactly one of \"gid\" and \"group\" is required");
	out->has_uid = uid != NULL;
	out->has_gid = gid != NULL;
	if ((uid && json_int(uid, 0, UINT32_MAX - 1, &out->uid, err) < 0) ||
	    (gid && json_int(gid, 0, UINT32_MAX - 1, &out->gid, err) < 0) ||
	    (name && get_str(name, &out->name, 0, err) < 0) || (group && get_str(group, &out->group, 0, err) < 0))
		return -1;
	out->umask = json_str(json_get(u, "umask"), NULL);
	if (strlen(out->umask) != 4 || strspn(out->umask, "01234567") != 4)
		return json_fail_at(json_get(u, "umask"), err, "expected 4 octal digits such as \"0022\"");
	return 0;
}

static int parse_caps(struct policy *p, const struct json_value *obj, struct pol_strs caps[], struct uvm_err *err)
{
	struct json_field f[POL_CAP_SETS];
	for (size_t i = 0; i < POL_CAP_SETS; i++)
		f[i] = (struct json_field){request_cap_set_names[i], JSON_T_ARRAY, 1};
	if (json_check_object(obj, f, POL_CAP_SETS, err) < 0)
		return -1;
	for (size_t i = 0; i < POL_CAP_SETS; i++) {
		const struct json_value *set = json_get(obj, request_cap_set_names[i]);
		if (get_strs(p, set, &caps[i], 0, err) < 0)
			return -1;
		for (size_t k = 0; k < caps[i].n; k++)
			if (strncmp(caps[i].v[k], "CAP_", 4) != 0 || strlen(caps[i].v[k]) > 40)
				return json_fail_at(json_at(set, k), err, "expected a capability name like CAP_CHOWN");
	}
	return 0;
}

static int parse_signals(const struct json_value *arr, uint64_t *out, struct uvm_err *err)
{
	*out = 0;
	if (!arr)
		return 0;
	if (json_len(arr) > 64)
		return json_fail_at(arr, err, "at most 64 signals");
	for (size_t i = 0; i < json_len(arr); i++) {
		int64_t s;
		if (json_int(json_at(arr, i), 1, 64, &s, err) < 0)
			return -1;
		*out |= 1ull << (s - 1);
	}
	return 0;
}

static int parse_execs(struct policy *p, const struct json_value *arr, struct pol_container *c, struct uvm_err *err)
{
	static const struct json_field f[] = {{"argv", JSON_T_ARRAY, 1}, {"signals", JSON_T_ARRAY, 0}};
	size_t n = json_len(arr);
	if (n > POLICY_MAX_LIST)
		return json_fail_at(arr, err, "at most %d exec_processes", POLICY_MAX_LIST);
	c->execs = pol_alloc(p, n, sizeof *c->execs);
	if (!c->execs)
		return oom(err);
	c->nexecs = n;
	for (size_t i = 0; i < n; i++) {
		const struct json_value *e = json_at(arr, i);
		if (json_check_object(e, f, 2, err) < 0 ||
		    get_strs(p, json_get(e, "argv"), &c->execs[i].argv, 1, err) < 0 ||
		    parse_signals(json_get(e, "signals"), &c->execs[i].signals, err) < 0)
			return -1;
	}
	return 0;
}

static const struct json_field container_fields[] = {
	{"name", JSON_T_STRING, 0},
	{"layers", JSON_T_ARRAY, 1},
	{"argv", JSON_T_ARRAY, 1},
	{"env", JSON_T_ARRAY, 0},
	{"working_dir", JSON_T_STRING, 1},
	{"mounts", JSON_T_ARRAY, 0},
	{"user", JSON_T_OBJECT, 1},
	{"capabilities", JSON_T_OBJECT, 1},
	{"no_new_privileges", JSON_T_BOOL, 0},
	{"allow_elevated", JSON_T_BOOL, 0},
	{"allow_stdio_access", JSON_T_BOOL, 0},
	{"signals", JSON_T_ARRAY, 0},
	{"exec_processes", JSON_T_ARRAY, 0},
	{"seccomp", JSON_T_OBJECT, 0},
	{"resources", JSON_T_OBJECT, 0},
};

static int parse_seccomp(struct policy *p, const struct json_value *o, struct pol_seccomp *sc, struct uvm_err *err)
{
	const struct json_value *lists[2] = {json_get(o, "allow"), json_get(o, "deny")};
	size_t n[2];
	for (size_t l = 0; l < 2; l++)
		n[l] = json_len(lists[l]) < SECCOMP_MAX_NAMES ? json_len(lists[l]) : SECCOMP_MAX_NAMES;
	sc->allow.v = pol_alloc(p, n[0], sizeof *sc->allow.v);
	sc->deny.v = pol_alloc(p, n[1], sizeof *sc->deny.v);
	if (!sc->allow.v || !sc->deny.v)
		return oom(err);
	/* policy_seccomp_read fails on a list longer than SECCOMP_MAX_NAMES
	 * before it writes into it. */
	return policy_seccomp_read(o, sc, err);
}

/* "resources" is read by the request's own reader (lib/request.c), so a
 * bound and a request value have the same ranges; the policy's may also
 * bound the writable layer (scratch_max). */
static int parse_container(struct policy *p, const struct json_value *o, struct pol_container *c, struct uvm_err *err)
{
	if (json_check_object(o, container_fields, sizeof container_fields / sizeof container_fields[0], err) < 0)
		return -1;
	c->name = json_str(json_get(o, "name"), NULL);
	if (parse_layers(p, json_get(o, "layers"), c, err) < 0 ||
	    get_strs(p, json_get(o, "argv"), &c->argv, 1, err) < 0 ||
	    parse_env(p, json_get(o, "env"), &c->env, err) < 0 ||
	    get_path(json_get(o, "working_dir"), &c->working_dir, err) < 0 ||
	    parse_mounts(p, json_get(o, "mounts"), c, err) < 0 || parse_user(json_get(o, "user"), &c->user, err) < 0 ||
	    parse_caps(p, json_get(o, "capabilities"), c->caps, err) < 0 ||
	    get_bool(o, "no_new_privileges", &c->no_new_privileges) < 0 ||
	    get_bool(o, "allow_elevated", &c->allow_elevated) < 0 ||
	    get_bool(o, "allow_stdio_access", &c->allow_stdio_access) < 0 ||
	    parse_signals(json_get(o, "signals"), &c->signals, err) < 0 ||
	    parse_execs(p, json_get(o, "exec_processes"), c, err) < 0 ||
	    parse_seccomp(p, json_get(o, "seccomp"), &c->seccomp, err) < 0 ||
	    request_resources_read(json_get(o, "resources"), REQ_RES_SCRATCH, &c->resources, err) < 0)
		return -1;
	return 0;
}

static int parse_external(struct policy *p, const struct json_value *o, struct pol_external *x, struct uvm_err *err)
{
	static const struct json_field f[] = {{"argv", JSON_T_ARRAY, 1},
					      {"env", JSON_T_ARRAY, 0},
					      {"working_dir", JSON_T_STRING, 1},
					      {"allow_stdio_access", JSON_T_BOOL, 0}};
	if (json_check_object(o, f, 4, err) < 0 || get_strs(p, json_get(o, "argv"), &x->argv, 1, err) < 0 ||
	    parse_env(p, json_get(o, "env"), &x->env, err) < 0 ||
	    get_path(json_get(o, "working_dir"), &x->working_dir, err) < 0 ||
	    get_bool(o, "allow_stdio_access", &x->allow_stdio_access) < 0)
		return -1;
	return 0;
}

static int parse_framework(struct policy *p, const struct json_value *o, struct uvm_err *err)
{
	static const struct json_field f[] = {
		{"allow_properties_access", JSON_T_BOOL, 0},   {"allow_dump_stacks", JSON_T_BOOL, 0},
		{"allow_runtime_logging", JSON_T_BOOL, 0},     {"allow_environment_variable_dropping", JSON_T_BOOL, 0},
		{"allow_unencrypted_scratch", JSON_T_BOOL, 0}, {"allow_capability_dropping", JSON_T_BOOL, 0},
	};
	if (!o)
		return 0;
	if (json_check_object(o, f, 6, err) < 0)
		return -1;
	get_bool(o, "allow_properties_access", &p->allow_properties_access);
	get_bool(o, "allow_dump_stacks", &p->allow_dump_stacks);
	get_bool(o, "allow_runtime_logging", &p->allow_runtime_logging);
	get_bool(o, "allow_environment_variable_dropping", &p->allow_environment_variable_dropping);
	get_bool(o, "allow_unencrypted_scratch", &p->allow_unencrypted_scratch);
	get_bool(o, "allow_capability_dropping", &p->allow_capability_dropping);
	return 0;
}

static int parse_policy(struct policy *p, const struct json_value *root, struct uvm_err *err)
{
	static const struct json_field f[] = {{"version", JSON_T_STRING, 1},
					      {"framework", JSON_T_OBJECT, 0},
					      {"containers", JSON_T_ARRAY, 1},
					      {"external_processes", JSON_T_ARRAY, 0}};
	if (json_check_object(root, f, 4, err) < 0)
		return -1;
	const char *version = json_str(json_get(root, "version"), NULL);
	if (strcmp(version, "1") != 0)
		return json_fail_at(json_get(root, "version"), err,
				    "unsupported policy version \"%.20s\" (this engine reads \"1\")", version);
	if (parse_framework(p, json_get(root, "framework"), err) < 0)
		return -1;
	const struct json_value *cs = json_get(root, "containers");
	const struct json_value *xs = json_get(root, "external_processes");
	if (json_len(cs) > POLICY_MAX_CONTAINERS)
		return json_fail_at(cs, err, "at most %d containers", POLICY_MAX_CONTAINERS);
	if (json_len(xs) > POLICY_MAX_LIST)
		return json_fail_at(xs, err, "at most %d external processes", POLICY_MAX_LIST);
	p->ncontainers = json_len(cs);
	p->nexternals = json_len(xs);
	p->containers = pol_alloc(p, p->ncontainers, sizeof *p->containers);
	p->externals = pol_alloc(p, p->nexternals, sizeof *p->externals);
	if (!p->containers || !p->externals)
		return oom(err);
	for (size_t i = 0; i < p->ncontainers; i++)
		if (parse_container(p, json_at(cs, i), &p->containers[i], err) < 0)
			return -1;
	for (size_t i = 0; i < p->nexternals; i++)
		if (parse_external(p, json_at(xs, i), &p->externals[i], err) < 0)
			return -1;
	return 0;
}

int policy_load(const char *bytes, size_t len, struct policy **out, struct uvm_err *err)
{
	*out = NULL;
	struct policy *p = calloc(1, sizeof *p);
	if (!p)
		return oom(err);
	const struct json_value *root = json_parse(bytes, len, POLICY_MAX_BYTES, &p->doc, err);
	if (!root || parse_policy(p, root, err) < 0) {
		policy_free(p);
		return uvm_wrap(err, "invalid policy");
	}
	*out = p;
	return 0;
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nregexes; i++)
		regfree(p->regexes[i]);
	for (size_t i = 0; i < p->nallocs; i++)
		free(p->allocs[i]);
	free(p->regexes);
	free(p->allocs);
	json_free(p->doc);
	free(p);
}

size_t policy_container_count(const struct policy *p)
{
	return p ? p->ncontainers : 0;
}
