/* Decisions of the container enforcement points: create, exec (in a
 * container and external), signal, shutdown. Candidates: the policy
 * containers a container may still be; each request is checked against every
 * candidate, the decision is allowed when at least one allows it, and the
 * candidates narrow to those that did.
 *
 * Dropping (environment variables, capabilities): each candidate computes
 * what it would drop. The plan is the first allowing candidate (document
 * order) that drops nothing, else the first allowing one; the survivors are
 * the allowing candidates whose drops equal the plan's, so every survivor
 * accepts exactly the container that will run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_engine.h"

#define LIST_MAX_CANDIDATES 16

/* Checks candidate i; fills drops; returns its number of failures. */
typedef int (*cand_check)(struct ctx *x, size_t i, unsigned char *drops);

struct eval {
	const char *kind;          /* "container" or "external_process" */
	size_t total;              /* candidates are 0..total-1 ... */
	const struct pol_set *set; /* ... restricted to this set unless NULL */
	size_t stride;             /* bytes of drop flags per candidate */
	cand_check check;
	/* results */
	struct pol_set survivors;
	size_t plan;          /* index of the plan candidate, or SIZE_MAX */
	unsigned char *drops; /* total * stride */
};

static const char *cand_name(const struct ctx *x, const struct eval *e, size_t i)
{
	return strcmp(e->kind, "container") == 0 ? x->pol->containers[i].name : NULL;
}

static int any_drop(const unsigned char *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (d[i])
			return 1;
	return 0;
}

/* Evaluates every candidate (listing the first LIST_MAX_CANDIDATES in the
 * reason's "candidates"), then picks the plan and the survivors. */
static int evaluate(struct ctx *x, struct eval *e)
{
	unsigned char *ok = calloc(e->total ? e->total : 1, 1);
	e->drops = calloc(e->total ? e->total : 1, e->stride ? e->stride : 1);
	if (!ok || !e->drops) {
		free(ok);
		return -1;
	}
	size_t listed = 0, more = 0;
	json_w_key(&x->r.w, "candidates");
	json_w_arr(&x->r.w);
	for (size_t i = 0; i < e->total; i++) {
		if (e->set && !pol_set_has(e->set, i))
			continue;
		x->r.quiet = listed >= LIST_MAX_CANDIDATES;
		more += x->r.quiet;
		listed += !x->r.quiet;
		if (!x->r.quiet) {
			json_w_obj(&x->r.w);
			json_w_key(&x->r.w, e->kind);
			json_w_uint(&x->r.w, i);
			if (cand_name(x, e, i))
				policy_reason_str(x, "name", cand_name(x, e, i));
		}
		policy_reason_begin_failed(&x->r);
		ok[i] = e->check(x, i, e->drops + i * e->stride) == 0;
		policy_reason_end_failed(&x->r);
		if (!x->r.quiet)
			json_w_end(&x->r.w);
	}
	x->r.quiet = 0;
	json_w_end(&x->r.w);
	if (more) {
		json_w_key(&x->r.w, "more_candidates");
		json_w_uint(&x->r.w, more);
	}
	e->plan = SIZE_MAX;
	for (size_t i = 0; i < e->total && e->plan == SIZE_MAX; i++)
		if (ok[i] && !any_drop(e->drops + i * e->stride, e->stride))
			e->plan = i;
	for (size_t i = 0; i < e->total && e->plan == SIZE_MAX; i++)
		if (ok[i])
			e->plan = i;
	memset(&e->survivors, 0, sizeof e->survivors);
	for (size_t i = 0; e->plan != SIZE_MAX && i < e->total && i < POLICY_MAX_CONTAINERS; i++)
		if (ok[i] && memcmp(e->drops + i * e->stride, e->drops + e->plan * e->stride, e->stride) == 0)
			pol_set_add(&e->survivors, i);
	free(ok);
	return 0;
}

static void write_matched(struct ctx *x, const struct eval *e)
{
	json_w_key(&x->r.w, "matched");
	json_w_arr(&x->r.w);
	for (size_t i = 0; i < e->total && i < POLICY_MAX_CONTAINERS; i++)
		if (pol_set_has(&e->survivors, i))
			json_w_uint(&x->r.w, i);
	json_w_end(&x->r.w);
}

/* A copy of n drop flags for the decision, or NULL when none is set (or
 * out of memory: *oom). */
static unsigned char *drop_copy(const unsigned char *d, size_t n, int *oom)
{
	unsigned char *out = any_drop(d, n) ? malloc(n) : NULL;
	if (out)
		memcpy(out, d, n);
	*oom |= any_drop(d, n) && !out;
	return out;
}

/* Writes "matched", "drop_env" and "drop_capabilities" for the plan, and
 * hands the same drops to the decision (x->drop_*): the agent applies the
 * arrays, users read the lists. Returns -1 when out of memory. */
static int write_plan(struct ctx *x, const struct eval *e, int with_caps)
{
	const struct req_strs *env = &x->req->env;
	const unsigned char *d = e->drops + e->plan * e->stride;
	int oom = 0;
	write_matched(x, e);
	x->drop_env = drop_copy(d, env->n, &oom);
	json_w_key(&x->r.w, "drop_env");
	json_w_arr(&x->r.w);
	for (size_t i = 0; i < env->n; i++)
		if (d[i]) {
			const char *var = env->v[i];
			json_w_obj(&x->r.w);
			json_w_key(&x->r.w, "index");
			json_w_uint(&x->r.w, i);
			json_w_key(&x->r.w, "name");
			json_w_str(&x->r.w, var, strcspn(var, "="));
			json_w_end(&x->r.w);
		}
	json_w_end(&x->r.w);
	if (!with_caps)
		return oom ? -1 : 0;
	d += env->n;
	json_w_key(&x->r.w, "drop_capabilities");
	json_w_obj(&x->r.w);
	for (size_t s = 0; s < POL_CAP_SETS; s++) {
		const struct req_strs *set = &x->req->caps[s];
		x->drop_caps[s] = drop_copy(d, set->n, &oom);
		json_w_key(&x->r.w, request_cap_set_names[s]);
		json_w_arr(&x->r.w);
		for (size_t i = 0; i < set->n; i++)
			if (d[i])
				json_w_cstr(&x->r.w, set->v[i]);
		json_w_end(&x->r.w);
		d += set->n;
	}
	json_w_end(&x->r.w);
	return oom ? -1 : 0;
}

/* ------------------------------------------------------------ create */

/* A candidate's drops: env's flags, then each capability set's. */
static int check_create(struct ctx *x, size_t i, unsigned char *drops)
{
	unsigned char *cap_drop[POL_CAP_SETS];
	unsigned char *p = drops + x->req->env.n;
	for (size_t s = 0; s < POL_CAP_SETS; s++) {
		cap_drop[s] = p;
		p += x->req->caps[s].n;
	}
	return policy_rules_container(&x->r, x->pol, &x->pol->containers[i], x->req, drops, cap_drop);
}

static size_t create_stride(const struct ctx *x)
{
	size_t n = x->req->env.n;
	for (size_t s = 0; s < POL_CAP_SETS; s++)
		n += x->req->caps[s].n;
	return n;
}

/* Closes the request-level "failed" list; candidates are evaluated only
 * when it is empty. */
static int precheck_failed(struct ctx *x)
{
	unsigned fails = x->r.fails;
	policy_reason_end_failed(&x->r);
	return fails != 0;
}

int policy_op_create_container(struct ctx *x)
{
	const char *cid = x->req->container_id;
	struct st_overlay *o = policy_st_find_overlay_of(x->st, cid);
	policy_reason_str(x, "container_id", cid);
	policy_reason_begin_failed(&x->r);
	if (!o)
		policy_reason_fail(&x->r, "state", "container_id", cid,
				   "no root file system (overlay) is mounted for it");
	if (policy_st_find_container(x->st, cid))
		policy_reason_fail(&x->r, "state", "container_id", cid, "a container with this id already exists");
	if (precheck_failed(x))
		return 0;
	struct eval e = {"container", x->pol->ncontainers, &o->candidates, create_stride(x), check_create, {{0}}, 0,
			 NULL};
	if (evaluate(x, &e) < 0)
		return -1;
	int rc = 0;
	if (e.plan != SIZE_MAX) {
		rc = write_plan(x, &e, 1) < 0 || policy_st_add_container(x->st, cid, &e.survivors) < 0 ? -1 : 1;
		if (rc == 1)
			policy_st_set_set(x->st, &policy_st_find_overlay_of(x->st, cid)->candidates, &e.survivors);
	}
	free(e.drops);
	return rc;
}

/* ------------------------------------------------------------ exec */

static int argv_is(const struct pol_strs *want, const struct req_strs *argv)
{
	if (want->n != argv->n)
		return 0;
	for (size_t i = 0; i < want->n; i++)
		if (strcmp(want->v[i], argv->v[i]) != 0)
			return 0;
	return 1;
}

static int check_exec(struct ctx *x, size_t i, unsigned char *drops)
{
	const struct pol_container *c = &x->pol->containers[i];
	const struct req_strs *argv = &x->req->argv;
	const char *wd = x->req->working_dir;
	unsigned before = x->r.fails;
	size_t k = 0;
	while (k < c->nexecs && !argv_is(&c->execs[k].argv, argv))
		k++;
	if (k == c->nexecs)
		policy_reason_fail(&x->r, "exec_processes", "argv", argv->v[0],
				   "argv is none of the container's exec_processes");
	policy_rules_env(&x->r, &c->env, x->pol->allow_environment_variable_dropping, &x->req->env, drops);
	if (strcmp(wd, c->working_dir) != 0)
		policy_reason_fail(&x->r, "working_dir", "working_dir", wd, c->working_dir);
	if (x->req->stdio && !c->allow_stdio_access)
		policy_reason_fail(&x->r, "allow_stdio_access", "stdio", "true",
				   "the policy does not allow stdio access");
	return (int)(x->r.fails - before);
}

int policy_op_exec_in_container(struct ctx *x)
{
	const char *cid = x->req->container_id, *pid = x->req->process_id;
	struct st_container *c = policy_st_find_container(x->st, cid);
	policy_reason_str(x, "container_id", cid);
	policy_reason_str(x, "process_id", pid);
	policy_reason_begin_failed(&x->r);
	if (!c || !c->running)
		policy_reason_fail(&x->r, "state", "container_id", cid, "no such running container");
	if (policy_st_find_process(x->st, cid, pid))
		policy_reason_fail(&x->r, "state", "process_id", pid, "a process with this id already exists");
	if (precheck_failed(x))
		return 0;
	struct eval e = {"container", x->pol->ncontainers, &c->candidates, x->req->env.n, check_exec, {{0}}, 0, NULL};
	if (evaluate(x, &e) < 0)
		return -1;
	int rc = 0;
	if (e.plan != SIZE_MAX) {
		const struct req_strs *argv = &x->req->argv;
		rc = write_plan(x, &e, 0) == 0 && policy_st_add_process(x->st, cid, pid, argv->v, argv->n) == 0 ? 1
														: -1;
		if (rc == 1)
			policy_st_set_set(x->st, &policy_st_find_container(x->st, cid)->candidates, &e.survivors);
	}
	free(e.drops);
	return rc;
}

static int check_external(struct ctx *x, size_t i, unsigned char *drops)
{
	const struct pol_external *p = &x->pol->externals[i];
	const char *wd = x->req->working_dir;
	unsigned before = x->r.fails;
	policy_rules_argv(&x->r, &p->argv, &x->req->argv);
	policy_rules_env(&x->r, &p->env, x->pol->allow_environment_variable_dropping, &x->req->env, drops);
	if (strcmp(wd, p->working_dir) != 0)
		policy_reason_fail(&x->r, "working_dir", "working_dir", wd, p->working_dir);
	if (x->req->stdio && !p->allow_stdio_access)
		policy_reason_fail(&x->r, "allow_stdio_access", "stdio", "true",
				   "the policy does not allow stdio access");
	return (int)(x->r.fails - before);
}

int policy_op_exec_external(struct ctx *x)
{
	policy_reason_begin_failed(&x->r);
	precheck_failed(x);
	struct eval e = {"external_process", x->pol->nexternals, NULL, x->req->env.n, check_external, {{0}}, 0, NULL};
	if (evaluate(x, &e) < 0)
		return -1;
	int rc = e.plan != SIZE_MAX;
	if (rc && write_plan(x, &e, 0) < 0)
		rc = -1;
	free(e.drops);
	return rc;
}

/* ------------------------------------------------------------ signal, shutdown */

static int check_signal(struct ctx *x, size_t i, unsigned char *drops)
{
	const struct pol_container *c = &x->pol->containers[i];
	const char *pid = x->req->process_id;
	int sig = x->req->signal; /* 1..64 by the decode; anything else allows nothing */
	(void)drops;
	uint64_t bit = sig >= 1 && sig <= 64 ? 1ull << (sig - 1) : 0, allowed = 0;
	if (!pid)
		allowed = c->signals;
	else {
		struct st_process *p = policy_st_find_process(x->st, x->req->container_id, pid);
		for (size_t k = 0; k < c->nexecs; k++)
			if (c->execs[k].argv.n == p->argv.n) {
				size_t a = 0;
				while (a < p->argv.n && strcmp(c->execs[k].argv.v[a], p->argv.v[a]) == 0)
					a++;
				if (a == p->argv.n)
					allowed |= c->execs[k].signals;
			}
	}
	if (allowed & bit)
		return 0;
	policy_reason_fail_int(&x->r, "signals", "signal", sig,
			       pid ? "not an allowed signal of this exec process"
				   : "not an allowed signal of the container's init process");
	return 1;
}

int policy_op_signal_process(struct ctx *x)
{
	const char *cid = x->req->container_id, *pid = x->req->process_id;
	struct st_container *c = policy_st_find_container(x->st, cid);
	policy_reason_str(x, "container_id", cid);
	if (pid)
		policy_reason_str(x, "process_id", pid);
	policy_reason_begin_failed(&x->r);
	if (!c || !c->running)
		policy_reason_fail(&x->r, "state", "container_id", cid, "no such running container");
	else if (pid && !policy_st_find_process(x->st, cid, pid))
		policy_reason_fail(&x->r, "state", "process_id", pid, "no such process in this container");
	if (precheck_failed(x))
		return 0;
	struct eval e = {"container", x->pol->ncontainers, &c->candidates, 0, check_signal, {{0}}, 0, NULL};
	if (evaluate(x, &e) < 0)
		return -1;
	free(e.drops);
	if (e.plan == SIZE_MAX)
		return 0;
	write_matched(x, &e);
	policy_st_set_set(x->st, &c->candidates, &e.survivors);
	return 1;
}

int policy_op_shutdown_container(struct ctx *x)
{
	const char *cid = x->req->container_id;
	struct st_container *c = policy_st_find_container(x->st, cid);
	policy_reason_str(x, "container_id", cid);
	policy_reason_begin_failed(&x->r);
	if (!c || !c->running)
		policy_reason_fail(&x->r, "state", "container_id", cid, "no such running container");
	policy_reason_end_failed(&x->r);
	if (!policy_reason_ok(x))
		return 0;
	policy_st_set_int(x->st, &c->running, 0);
	return 1;
}
