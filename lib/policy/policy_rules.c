/* The rules of one policy container (or external process) against one
 * request: argv, environment, working directory, mounts, user, capabilities
 * and the privilege flags. Each function records every failed check in the
 * reason and returns the number of failures (0 = this candidate allows).
 * The request is decoded (lib/request.h): its shapes and bounds were
 * checked there, so these compare values only. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "policy_internal.h"

int policy_rules_argv(struct reason *r, const struct pol_strs *want, const struct req_strs *argv)
{
	unsigned before = r->fails;
	size_t n = argv->n;
	char field[48], detail[96];
	if (n != want->n) {
		snprintf(detail, sizeof detail, "the policy has %zu arguments, the request %zu", want->n, n);
		policy_reason_fail(r, "argv", "argv", NULL, detail);
		return (int)(r->fails - before);
	}
	for (size_t i = 0; i < n; i++)
		if (strcmp(argv->v[i], want->v[i]) != 0) {
			snprintf(field, sizeof field, "argv[%zu]", i);
			policy_reason_fail(r, "argv", field, argv->v[i], want->v[i]);
		}
	return (int)(r->fails - before);
}

static int env_rule_matches(const struct pol_env_rule *rule, const char *var)
{
	return rule->regex ? policy_regex_match(&rule->re, var) : strcmp(rule->rule, var) == 0;
}

int policy_rules_env(struct reason *r, const struct pol_env *rules, int allow_drop, const struct req_strs *env,
		     unsigned char *drop)
{
	unsigned before = r->fails;
	size_t n = env->n;
	char field[48];
	for (size_t i = 0; i < n; i++) {
		const char *var = env->v[i];
		size_t k = 0;
		while (k < rules->n && !env_rule_matches(&rules->rules[k], var))
			k++;
		drop[i] = k == rules->n && allow_drop;
		if (k == rules->n && !allow_drop) {
			snprintf(field, sizeof field, "env[%zu]", i);
			policy_reason_fail_env(r, "env", field, var, "no environment rule allows this variable");
		}
	}
	for (size_t k = 0; k < rules->n; k++) {
		if (!rules->rules[k].required)
			continue;
		size_t i = 0;
		while (i < n && (drop[i] || !env_rule_matches(&rules->rules[k], env->v[i])))
			i++;
		if (i == n)
			policy_reason_fail(r, "env_required", "env", rules->rules[k].rule,
					   "no variable satisfies this required rule");
	}
	return (int)(r->fails - before);
}

/* Options are a set: same members, any order, no duplicates in either. */
static int same_option_set(const struct pol_strs *want, const struct req_strs *opts)
{
	size_t n = opts->n;
	if (n != want->n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		size_t k = 0, dup = 0;
		while (k < want->n && strcmp(want->v[k], opts->v[i]) != 0)
			k++;
		for (size_t j = 0; j < i; j++)
			dup |= strcmp(opts->v[j], opts->v[i]) == 0;
		if (k == want->n || dup)
			return 0;
	}
	return 1;
}

/* Which field of policy mount pm the request mount m differs in, or NULL. */
static const char *mount_mismatch(const struct pol_mount *pm, const struct req_mount *m)
{
	if (strcmp(pm->destination, m->destination) != 0)
		return "destination";
	if (pm->source_regex ? !policy_regex_match(&pm->re, m->source) : strcmp(pm->source, m->source) != 0)
		return "source";
	if (strcmp(pm->type, m->type) != 0)
		return "type";
	if (!same_option_set(&pm->options, &m->options))
		return "options";
	return NULL;
}

/* The request's mount i's field named sub ("source", "destination", "type"). */
static const char *mount_field(const struct req_mount *m, const char *sub)
{
	return strcmp(sub, "source") == 0 ? m->source : strcmp(sub, "type") == 0 ? m->type : m->destination;
}

static int mount_matches(const struct pol_mount *pm, const struct req_mount *mounts, size_t i)
{
	return mount_mismatch(pm, &mounts[i]) == NULL;
}

#define MOUNT_BITS ((POLICY_MAX_LIST + 1 + 63) / 64)

/* Is the request's mount list the policy's, in order, with only optional
 * policy mounts left out (each request mount standing for exactly one policy
 * mount)? Exact: after policy mount k, reach holds every i such that the
 * request's first i mounts are what policy mounts 0..k can give. A plain
 * greedy walk is not: with an optional mount followed by a required one at
 * the same destination that both accept the request's mount, taking the
 * optional one leaves the required one missing. At most nmounts * (n + 1)
 * comparisons, and only at equal destinations a regex runs. */
static int mounts_align(const struct pol_container *c, const struct req_mount *mounts, size_t n)
{
	uint64_t reach[MOUNT_BITS] = {1}, next[MOUNT_BITS];
	if (n > POLICY_MAX_LIST)
		return 0;
	for (size_t k = 0; k < c->nmounts; k++) {
		uint64_t any = 0;
		if (c->mounts[k].optional)
			memcpy(next, reach, sizeof next);
		else
			memset(next, 0, sizeof next);
		for (size_t i = 0; i < n; i++)
			if (reach[i / 64] >> (i % 64) & 1 && mount_matches(&c->mounts[k], mounts, i))
				next[(i + 1) / 64] |= 1ull << ((i + 1) % 64);
		for (size_t w = 0; w < MOUNT_BITS; w++)
			any |= reach[w] = next[w];
		if (!any)
			return 0;
	}
	return (int)(reach[n / 64] >> (n % 64) & 1);
}

/* Explaining a denied mount list: a walk over the policy's mounts that
 * names each problem once (a required mount missing, a request mount out of
 * order, one that differs, one too many). */
struct mount_walk {
	struct reason *r;
	const struct pol_container *c;
	const struct req_mount *mounts;
	size_t n;
	unsigned char used[POLICY_MAX_LIST];     /* policy mount accounted for */
	unsigned char reported[POLICY_MAX_LIST]; /* request mount explained */
};

static void fail_request_mount(struct mount_walk *w, size_t i, const char *sub, const char *detail)
{
	char field[64];
	snprintf(field, sizeof field, "mounts[%zu].%s", i, sub);
	w->reported[i] = 1;
	/* Options are a list: the destination (mount_field's default) says
	 * which mount. */
	policy_reason_fail(w->r, "mounts", field, mount_field(&w->mounts[i], sub), detail);
}

static void fail_missing(struct mount_walk *w, size_t k)
{
	w->used[k] = 1;
	policy_reason_fail(w->r, "mounts", "mounts", w->c->mounts[k].destination,
			   "the policy requires a mount at this destination (not optional) and the request "
			   "leaves it out");
}

/* Request mount i has no place where the walk stands: out of order, a
 * repeat, a mount with a differing field, or one the policy does not have. */
static void explain_request_mount(struct mount_walk *w, size_t i)
{
	const struct req_mount *m = &w->mounts[i];
	size_t same = SIZE_MAX;
	int taken = 0;
	if (w->reported[i])
		return;
	for (size_t k = 0; k < w->c->nmounts; k++) {
		const char *why = mount_mismatch(&w->c->mounts[k], m);
		if (!why && !w->used[k]) {
			w->used[k] = 1;
			fail_request_mount(w, i, "destination",
					   "out of order: the policy has this mount before the request's previous "
					   "mounts (mounts come in the policy's order)");
			return;
		}
		taken |= !why;
		if (why && strcmp(why, "destination") != 0 && (same == SIZE_MAX || (w->used[same] && !w->used[k])))
			same = k;
	}
	if (taken)
		fail_request_mount(w, i, "destination",
				   "an extra mount: the policy has this mount, but an earlier request mount "
				   "already stands for it");
	else if (same != SIZE_MAX)
		fail_request_mount(w, i, mount_mismatch(&w->c->mounts[same], m),
				   "differs from the policy's mount at this destination");
	else
		fail_request_mount(w, i, "destination", "the policy has no mount at this destination");
}

static void explain_mounts(struct reason *r, const struct pol_container *c, const struct req_mount *mounts, size_t n)
{
	struct mount_walk w;
	size_t i = 0, k = 0;
	char detail[160];
	memset(&w, 0, sizeof w);
	w.r = r;
	w.c = c;
	w.mounts = mounts;
	w.n = n;
	while (k < c->nmounts) {
		const struct pol_mount *pm = &c->mounts[k];
		while (i < w.n && w.reported[i])
			i++;
		if (i < w.n && mount_matches(pm, mounts, i)) {
			w.used[k++] = 1;
			i++;
			continue;
		}
		if (pm->optional || w.used[k]) {
			k++;
			continue;
		}
		if (i == w.n) {
			fail_missing(&w, k++);
			continue;
		}
		/* Request mount i belongs to a later policy mount: this one was
		 * left out, or the request has it later (out of order). */
		size_t later = k + 1, j = i + 1;
		while (later < c->nmounts && !mount_matches(&c->mounts[later], mounts, i))
			later++;
		if (later < c->nmounts) {
			while (j < w.n && (w.reported[j] || !mount_matches(pm, mounts, j)))
				j++;
			if (j == w.n) {
				fail_missing(&w, k++);
				continue;
			}
			snprintf(detail, sizeof detail,
				 "out of order: the policy has this mount before mounts[%zu] (mounts come in the "
				 "policy's order)",
				 i);
			w.used[k++] = 1;
			fail_request_mount(&w, j, "destination", detail);
			continue;
		}
		if (strcmp(pm->destination, mounts[i].destination) == 0) {
			w.used[k++] = 1;
			fail_request_mount(&w, i, mount_mismatch(pm, &mounts[i]),
					   "differs from the policy's mount at this destination");
			i++;
			continue;
		}
		explain_request_mount(&w, i++); /* and policy mount k waits for the next one */
	}
	for (; i < w.n; i++)
		explain_request_mount(&w, i);
}

/* The request's mounts are exactly the policy container's, in its order;
 * only "optional" policy mounts may be left out. A host that omits a
 * policy mount (a tmpfs over /etc, a read-only bind) would otherwise change
 * what the container sees. */
static void rules_mounts(struct reason *r, const struct pol_container *c, const struct req_mount *mounts, size_t n)
{
	unsigned before = r->fails;
	if (mounts_align(c, mounts, n))
		return;
	explain_mounts(r, c, mounts, n);
	if (r->fails == before) /* cannot happen: a walk without a problem is an alignment */
		policy_reason_fail(r, "mounts", "mounts", NULL,
				   "the request's mounts are not the policy's mounts in the policy's order");
}

static void rules_user(struct reason *r, const struct pol_user *u, const struct req_user *req)
{
	int64_t uid = req->uid, gid = req->gid;
	char detail[96];
	const char *name = req->name, *group = req->group; /* NULL when absent */
	if (u->has_uid && uid != u->uid) {
		snprintf(detail, sizeof detail, "the policy requires uid %lld", (long long)u->uid);
		policy_reason_fail_int(r, "user", "user.uid", uid, detail);
	}
	if (!u->has_uid && (!name || strcmp(name, u->name) != 0))
		policy_reason_fail(r, "user", "user.name", name, u->name);
	if (u->has_gid && gid != u->gid) {
		snprintf(detail, sizeof detail, "the policy requires gid %lld", (long long)u->gid);
		policy_reason_fail_int(r, "user", "user.gid", gid, detail);
	}
	if (!u->has_gid && (!group || strcmp(group, u->group) != 0))
		policy_reason_fail(r, "user", "user.group", group, u->group);
	const char *umask = req->umask ? req->umask : "";
	if (strcmp(umask, u->umask) != 0)
		policy_reason_fail(r, "user", "user.umask", umask, u->umask);
}

static int in_strs(const struct pol_strs *s, const char *x)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], x) == 0)
			return 1;
	return 0;
}

static int in_req(const struct req_strs *s, const char *x)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], x) == 0)
			return 1;
	return 0;
}

/* Exact sets, or with allow_capability_dropping: the request's extra
 * capabilities are dropped (marked in drop[]) and missing ones are fine. */
static void rules_caps(struct reason *r, const struct policy *pol, const struct pol_container *c,
		       const struct req_strs caps[POL_CAP_SETS], unsigned char *drop[POL_CAP_SETS])
{
	char field[64];
	for (size_t s = 0; s < POL_CAP_SETS; s++) {
		const struct req_strs *set = &caps[s];
		snprintf(field, sizeof field, "capabilities.%s", request_cap_set_names[s]);
		for (size_t i = 0; i < set->n; i++) {
			const char *cap = set->v[i];
			drop[s][i] = 0;
			if (in_strs(&c->caps[s], cap))
				continue;
			if (pol->allow_capability_dropping)
				drop[s][i] = 1;
			else
				policy_reason_fail(r, "capabilities", field, cap, "not in the policy's set");
		}
		if (pol->allow_capability_dropping)
			continue;
		for (size_t k = 0; k < c->caps[s].n; k++)
			if (!in_req(set, c->caps[s].v[k]))
				policy_reason_fail(r, "capabilities", field, c->caps[s].v[k],
						   "in the policy's set but not requested (sets must be equal)");
	}
}

int policy_rules_container(struct reason *r, const struct policy *pol, const struct pol_container *c,
			   const struct request *req, unsigned char *env_drop, unsigned char *cap_drop[POL_CAP_SETS])
{
	unsigned before = r->fails;
	const char *wd = req->working_dir;
	policy_rules_argv(r, &c->argv, &req->argv);
	policy_rules_env(r, &c->env, pol->allow_environment_variable_dropping, &req->env, env_drop);
	if (strcmp(wd, c->working_dir) != 0)
		policy_reason_fail(r, "working_dir", "working_dir", wd, c->working_dir);
	rules_mounts(r, c, req->mounts, req->nmounts);
	rules_user(r, &c->user, &req->user);
	rules_caps(r, pol, c, req->caps, cap_drop);
	policy_rules_seccomp(r, &c->seccomp, &req->seccomp);
	policy_rules_resources(r, &c->resources, &req->resources);
	if (c->no_new_privileges && !req->no_new_privileges)
		policy_reason_fail(r, "no_new_privileges", "no_new_privileges", "false",
				   "the policy requires no_new_privileges");
	if (req->privileged && !c->allow_elevated)
		policy_reason_fail(r, "allow_elevated", "privileged", "true",
				   "the policy does not allow elevated containers");
	if (req->stdio && !c->allow_stdio_access)
		policy_reason_fail(r, "allow_stdio_access", "stdio", "true", "the policy does not allow stdio access");
	return (int)(r->fails - before);
}
