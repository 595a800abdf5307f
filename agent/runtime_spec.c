/* From an allowed, decoded request (lib/request.h: its forms were checked
 * by request_decode) to an rt_spec: argv, the environment minus what the
 * decision drops, user, umask, capability bit sets minus the dropped ones,
 * mounts, the seccomp program and the cgroup limits ("resources"). Strings
 * point into the request (NUL-free C strings). The few checks left here
 * are what only the runtime knows (capability names) or keep a request
 * built by other means from starting something half-specified. */
#include "runtime_spec.h"

#include "seccomp_profile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(REQ_CAP_SETS == RT_CAP_SETS, "the request's cap sets are the runtime's, in the same order");

/* A NULL-terminated copy of the pointers of l, without the entries skip
 * marks (skip NULL: none); NULL when out of memory. */
static char **strs(const struct req_strs *l, const unsigned char *skip, size_t *count)
{
	size_t k = 0;
	char **v = calloc(l->n + 1, sizeof *v);
	for (size_t i = 0; v && i < l->n; i++)
		if (!skip || !skip[i])
			v[k++] = (char *)l->v[i];
	if (count)
		*count = k;
	return v;
}

/* The bits of one set. A dropped name is dropped even where it is listed
 * again undropped: the engine marks every index of a refused name, and if
 * it ever did not, the narrower set is the safe one. */
static int cap_set(const struct req_strs *set, const unsigned char *drop, const char *set_name, uint64_t *bits,
		   struct uvm_err *err)
{
	uint64_t kept = 0, dropped = 0;
	for (size_t i = 0; i < set->n; i++) {
		int c = rt_cap_number(set->v[i]);
		if (c < 0)
			return uvm_fail(err, EINVAL,
					"capabilities.%s: unknown capability '%.48s' (names as in "
					"capabilities(7), e.g. CAP_CHOWN)",
					set_name, set->v[i]);
		if (drop && drop[i])
			dropped |= 1ull << c;
		else
			kept |= 1ull << c;
	}
	*bits = kept & ~dropped;
	return 0;
}

static int caps(const struct request *r, const struct policy_decision *d, struct rt_spec *s, struct uvm_err *err)
{
	for (int k = 0; k < RT_CAP_SETS; k++)
		if (cap_set(&r->caps[k], d ? d->drop_caps[k] : NULL, request_cap_set_names[k], &s->caps[k], err))
			return -1;
	return 0;
}

static int user(const struct request *r, struct rt_spec *s, struct uvm_err *err)
{
	const char *umask = r->user.umask;
	if (!r->has_user || !umask || strlen(umask) != 4 || strspn(umask, "01234567") != 4)
		return uvm_fail(err, EINVAL, "user (uid, gid and a umask of 4 octal digits) is required");
	s->has_creds = 1;
	s->uid = r->user.uid;
	s->gid = r->user.gid;
	s->umask = (unsigned)strtoul(umask, NULL, 8);
	return 0;
}

int rt_spec_process(const struct request *r, const unsigned char *drop_env, struct rt_spec *s, struct rt_spec_mem *m,
		    struct uvm_err *err)
{
	size_t argc = 0;
	memset(s, 0, sizeof *s);
	memset(m, 0, sizeof *m);
	s->argv = m->argv = strs(&r->argv, NULL, &argc);
	s->envp = m->envp = strs(&r->env, drop_env, NULL);
	s->cwd = r->working_dir;
	s->stdio = r->stdio;
	s->umask = 022;
	if (!m->argv || !m->envp)
		return uvm_fail(err, ENOMEM, "out of memory");
	if (argc == 0 || !s->cwd)
		return uvm_fail(err, EINVAL, "argv (at least one string) and working_dir are required");
	return 0;
}

/* The request's seccomp (absent: the default profile) as a program; an
 * unconfined profile builds none (s->seccomp NULL). */
static int seccomp(const struct req_seccomp *sc, struct rt_spec *s, struct rt_spec_mem *m, struct uvm_err *err)
{
	struct seccomp_profile_spec spec = {0, NULL, 0, NULL, 0};
	if (sc->present)
		spec = (struct seccomp_profile_spec){.unconfined = sc->unconfined,
						     .allow = sc->allow.v,
						     .nallow = sc->allow.n,
						     .deny = sc->deny.v,
						     .ndeny = sc->deny.n};
	m->filter = calloc(SECCOMP_MAX_INSNS, sizeof *m->filter);
	if (!m->filter)
		return uvm_fail(err, ENOMEM, "out of memory");
	size_t n = 0;
	if (seccomp_spec_check(&spec, err) || seccomp_build(&spec, m->filter, SECCOMP_MAX_INSNS, &n, err))
		return uvm_wrap(err, "the container's seccomp filter");
	m->prog.len = (unsigned short)n;
	m->prog.filter = m->filter;
	s->seccomp = n ? &m->prog : NULL;
	return 0;
}

static int mounts(const struct request *r, struct rt_spec_mem *m, struct uvm_err *err)
{
	m->nmounts = r->nmounts;
	m->mounts = calloc(m->nmounts ? m->nmounts : 1, sizeof *m->mounts);
	m->opts = calloc(m->nmounts ? m->nmounts : 1, sizeof *m->opts);
	if (!m->mounts || !m->opts)
		return uvm_fail(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < m->nmounts; i++) {
		const struct req_mount *in = &r->mounts[i];
		struct rt_mount *out = &m->mounts[i];
		m->opts[i] = strs(&in->options, NULL, &out->noptions);
		if (!m->opts[i])
			return uvm_fail(err, ENOMEM, "out of memory");
		if (!in->source || !in->destination || !in->type)
			return uvm_fail(err, EINVAL, "mounts[%zu]: source, destination, type and options are required",
					i);
		out->source = in->source;
		out->destination = in->destination;
		out->type = in->type;
		out->options = (const char *const *)m->opts[i];
	}
	return 0;
}

int rt_spec_container(const struct request *r, const struct policy_decision *d, struct rt_spec *s,
		      struct rt_spec_mem *m, struct uvm_err *err)
{
	if (rt_spec_process(r, d ? d->drop_env : NULL, s, m, err) || user(r, s, err) || caps(r, d, s, err) ||
	    seccomp(&r->seccomp, s, m, err) || mounts(r, m, err))
		return -1;
	/* The ranges were checked by the decode (lib/request.c); 0 = the default. */
	s->memory_max = r->resources.memory_max;
	s->pids_max = r->resources.pids_max;
	s->no_new_privileges = r->no_new_privileges;
	s->privileged = r->privileged;
	return 0;
}

void rt_spec_free(struct rt_spec_mem *m)
{
	free(m->argv);
	free(m->envp);
	for (size_t i = 0; m->opts && i < m->nmounts; i++)
		free(m->opts[i]);
	free(m->opts);
	free(m->mounts);
	free(m->filter);
	memset(m, 0, sizeof *m);
}
