/* From an allowed request (already validated by the policy engine) to an
 * rt_spec: argv, the environment minus what the decision drops, user,
 * umask, capability bit sets minus the dropped ones, mounts, the seccomp
 * program and the cgroup limits ("resources"). Strings point
 * into the request's JSON document (its strings are NUL-free C strings). */
#include "runtime_spec.h"

#include "policy_resources.h"
#include "seccomp_profile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static char **strs(const struct json_value *arr, const unsigned char *skip, size_t *count)
{
	size_t n = json_len(arr), k = 0;
	char **v = calloc(n + 1, sizeof *v);
	for (size_t i = 0; v && i < n; i++)
		if (!skip || !skip[i])
			v[k++] = (char *)json_str(json_at(arr, i), NULL);
	if (count)
		*count = k;
	return v;
}

/* Marks the indexes listed in the decision's "drop_env". */
static int env_drops(const struct json_value *env, const struct json_value *drop, unsigned char **out,
		     struct uvm_err *err)
{
	size_t n = json_len(env);
	*out = calloc(n ? n : 1, 1);
	if (!*out)
		return uvm_fail(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < json_len(drop); i++) {
		int64_t idx;
		if (json_int(json_get(json_at(drop, i), "index"), 0, (int64_t)n - 1, &idx, err) < 0)
			return uvm_wrap(err, "the policy decision's drop_env is inconsistent (failing closed)");
		(*out)[idx] = 1;
	}
	return 0;
}

static int in_list(const struct json_value *arr, const char *s)
{
	for (size_t i = 0; i < json_len(arr); i++)
		if (strcmp(json_str(json_at(arr, i), NULL), s) == 0)
			return 1;
	return 0;
}

static const char *const set_names[RT_CAP_SETS] = {"bounding", "effective", "inheritable", "permitted",
						   "ambient"};

static int caps(const struct json_value *req, const struct json_value *drops, struct rt_spec *s,
		struct uvm_err *err)
{
	for (int k = 0; k < RT_CAP_SETS; k++) {
		const struct json_value *set = json_get(req, set_names[k]);
		const struct json_value *drop = json_get(drops, set_names[k]);
		for (size_t i = 0; i < json_len(set); i++) {
			const char *name = json_str(json_at(set, i), NULL);
			int c = name ? rt_cap_number(name) : -1;
			if (c < 0)
				return uvm_fail(err, EINVAL, "capabilities.%s: unknown capability '%.48s' (names as in "
						"capabilities(7), e.g. CAP_CHOWN)", set_names[k], name ? name : "?");
			if (!in_list(drop, name))
				s->caps[k] |= 1ull << c;
		}
	}
	return 0;
}

static int user(const struct json_value *u, struct rt_spec *s, struct uvm_err *err)
{
	int64_t uid, gid;
	const char *umask = json_str(json_get(u, "umask"), NULL);
	if (json_int(json_get(u, "uid"), 0, UINT32_MAX - 1, &uid, err) < 0)
		return uvm_wrap(err, "user.uid");
	if (json_int(json_get(u, "gid"), 0, UINT32_MAX - 1, &gid, err) < 0)
		return uvm_wrap(err, "user.gid");
	if (!umask || strlen(umask) != 4 || strspn(umask, "01234567") != 4)
		return uvm_fail(err, EINVAL, "user.umask must be 4 octal digits such as \"0022\"");
	s->has_creds = 1;
	s->uid = (uint32_t)uid;
	s->gid = (uint32_t)gid;
	s->umask = (unsigned)strtoul(umask, NULL, 8);
	return 0;
}

static int bool_of(const struct json_value *args, const char *key)
{
	int b = 0;
	json_bool(json_get(args, key), &b);
	return b;
}

int rt_spec_process(const struct json_value *args, const struct json_value *drop_env, struct rt_spec *s,
		    struct rt_spec_mem *m, struct uvm_err *err)
{
	memset(s, 0, sizeof *s);
	memset(m, 0, sizeof *m);
	const struct json_value *env = json_get(args, "env");
	size_t argc = 0;
	if (env_drops(env, drop_env, &m->skip, err))
		return -1;
	s->argv = m->argv = strs(json_get(args, "argv"), NULL, &argc);
	s->envp = m->envp = strs(env, m->skip, NULL);
	s->cwd = json_str(json_get(args, "working_dir"), NULL);
	s->stdio = bool_of(args, "stdio");
	s->umask = 022;
	if (!m->argv || !m->envp)
		return uvm_fail(err, ENOMEM, "out of memory");
	if (argc == 0 || !s->cwd)
		return uvm_fail(err, EINVAL, "argv (at least one string) and working_dir are required");
	return 0;
}

/* The names of one list ("allow" or "deny") of the request's seccomp. */
static const char **seccomp_names(const struct json_value *list, const char **out, size_t *n)
{
	*n = json_len(list);
	for (size_t i = 0; i < *n; i++)
		out[i] = json_str(json_at(list, i), NULL);
	return out;
}

static int seccomp(const struct json_value *sc, struct rt_spec *s, struct rt_spec_mem *m, struct uvm_err *err)
{
	struct seccomp_profile_spec spec = {0, NULL, 0, NULL, 0};
	const char *profile = sc ? json_str(json_get(sc, "profile"), NULL) : "default";
	size_t na = json_len(json_get(sc, "allow")), nd = json_len(json_get(sc, "deny"));
	if (!profile || na > SECCOMP_MAX_NAMES || nd > SECCOMP_MAX_NAMES)
		return uvm_fail(err, EINVAL, "seccomp: profile and at most %d names per list are required",
				SECCOMP_MAX_NAMES);
	m->sc_names = calloc(na + nd + 1, sizeof *m->sc_names);
	m->filter = calloc(SECCOMP_MAX_INSNS, sizeof *m->filter);
	if (!m->sc_names || !m->filter)
		return uvm_fail(err, ENOMEM, "out of memory");
	spec.unconfined = strcmp(profile, "unconfined") == 0;
	if (!spec.unconfined && strcmp(profile, "default") != 0)
		return uvm_fail(err, EINVAL, "seccomp.profile '%.32s' is unknown (default or unconfined)", profile);
	spec.allow = seccomp_names(json_get(sc, "allow"), m->sc_names, &spec.nallow);
	spec.deny = seccomp_names(json_get(sc, "deny"), m->sc_names + na, &spec.ndeny);
	size_t n = 0;
	if (seccomp_spec_check(&spec, err) || seccomp_build(&spec, m->filter, SECCOMP_MAX_INSNS, &n, err))
		return uvm_wrap(err, "the container's seccomp filter");
	m->prog.len = (unsigned short)n;
	m->prog.filter = m->filter;
	s->seccomp = n ? &m->prog : NULL;
	return 0;
}

/* The approved "resources" (lib/policy_resources.c checked the ranges);
 * absent values stay 0, the defaults. */
static int resources(const struct json_value *res, struct rt_spec *s, struct uvm_err *err)
{
	const struct json_value *mem = json_get(res, "memory_max"), *pids = json_get(res, "pids_max");
	int64_t v;
	if (mem && json_int(mem, (int64_t)POLICY_MEMORY_MIN, (int64_t)POLICY_MEMORY_LIMIT, &v, err) < 0)
		return uvm_wrap(err, "resources.memory_max");
	s->memory_max = mem ? (uint64_t)v : 0;
	if (pids && json_int(pids, (int64_t)POLICY_PIDS_MIN, (int64_t)POLICY_PIDS_LIMIT, &v, err) < 0)
		return uvm_wrap(err, "resources.pids_max");
	s->pids_max = pids ? (uint64_t)v : 0;
	return 0;
}

int rt_spec_container(const struct json_value *args, const struct json_value *drop_env,
		      const struct json_value *drop_caps, struct rt_spec *s, struct rt_spec_mem *m,
		      struct uvm_err *err)
{
	if (rt_spec_process(args, drop_env, s, m, err) || user(json_get(args, "user"), s, err) ||
	    caps(json_get(args, "capabilities"), drop_caps, s, err))
		return -1;
	if (seccomp(json_get(args, "seccomp"), s, m, err) || resources(json_get(args, "resources"), s, err))
		return -1;
	s->no_new_privileges = bool_of(args, "no_new_privileges");
	s->privileged = bool_of(args, "privileged");
	const struct json_value *mounts = json_get(args, "mounts");
	m->nmounts = json_len(mounts);
	m->mounts = calloc(m->nmounts ? m->nmounts : 1, sizeof *m->mounts);
	m->opts = calloc(m->nmounts ? m->nmounts : 1, sizeof *m->opts);
	if (!m->mounts || !m->opts)
		return uvm_fail(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < m->nmounts; i++) {
		const struct json_value *mt = json_at(mounts, i);
		m->mounts[i].source = json_str(json_get(mt, "source"), NULL);
		m->mounts[i].destination = json_str(json_get(mt, "destination"), NULL);
		m->mounts[i].type = json_str(json_get(mt, "type"), NULL);
		m->opts[i] = strs(json_get(mt, "options"), NULL, &m->mounts[i].noptions);
		m->mounts[i].options = (const char *const *)m->opts[i];
		if (!m->opts[i] || !m->mounts[i].source || !m->mounts[i].destination || !m->mounts[i].type)
			return uvm_fail(err, EINVAL, "mounts[%zu]: source, destination, type and options are required", i);
	}
	return 0;
}

void rt_spec_free(struct rt_spec_mem *m)
{
	free(m->argv);
	free(m->envp);
	free(m->skip);
	for (size_t i = 0; m->opts && i < m->nmounts; i++)
		free(m->opts[i]);
	free(m->opts);
	free(m->mounts);
	free(m->sc_names);
	free(m->filter);
	memset(m, 0, sizeof *m);
}
