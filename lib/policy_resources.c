/* "resources": the memory and pids limits of a container (docs/policy.md
 * "Resources"). The policy names upper bounds; the create_container request
 * names the values, which the guest applies as they are (after clamping to
 * its workloads cgroup, agent/runtime_cgroup.c). A candidate allows a create
 * only if every value that will run, the request's or the default, is within
 * its bound, so any allowing candidate accepts what runs. The same strict
 * reader serves the policy and the request. */
#include <inttypes.h>
#include <stdio.h>

#include "policy_internal.h"

int policy_resources_read(const struct json_value *obj, struct pol_resources *res, struct uvm_err *err)
{
	static const struct json_field f[] = {{"memory_max", JSON_T_INT, 0}, {"pids_max", JSON_T_INT, 0}};
	const struct json_value *mem = json_get(obj, "memory_max"), *pids = json_get(obj, "pids_max");
	int64_t v;
	res->memory_max = res->pids_max = 0;
	if (!obj)
		return 0; /* absent: the defaults */
	if (json_check_object(obj, f, sizeof f / sizeof f[0], err) < 0)
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
	return 0;
}

int policy_rules_resources(struct reason *r, const struct pol_resources *bound, const struct json_value *obj)
{
	unsigned before = r->fails;
	const struct json_value *mem = json_get(obj, "memory_max"), *pids = json_get(obj, "pids_max");
	int64_t m = 0, p = (int64_t)POLICY_PIDS_DEFAULT;
	uint64_t pids_bound = bound->pids_max ? bound->pids_max : POLICY_PIDS_DEFAULT;
	char detail[192];
	/* Validated by the schema: exact integers within the limits. */
	json_int(mem, (int64_t)POLICY_MEMORY_MIN, (int64_t)POLICY_MEMORY_LIMIT, &m, NULL);
	json_int(pids, (int64_t)POLICY_PIDS_MIN, (int64_t)POLICY_PIDS_LIMIT, &p, NULL);
	if (bound->memory_max && !mem) {
		snprintf(detail, sizeof detail,
			 "the policy bounds memory_max at %" PRIu64 " bytes; the default (all of the guest's "
			 "workloads memory) exceeds it, so the request must name a value",
			 bound->memory_max);
		policy_reason_fail(r, "resources", "resources.memory_max", NULL, detail);
	} else if (bound->memory_max && (uint64_t)m > bound->memory_max) {
		snprintf(detail, sizeof detail, "more than the policy's bound of %" PRIu64 " bytes", bound->memory_max);
		policy_reason_fail_int(r, "resources", "resources.memory_max", m, detail);
	}
	if ((uint64_t)p > pids_bound) {
		if (pids)
			snprintf(detail, sizeof detail, "more than the policy's bound of %" PRIu64 "%s", pids_bound,
				 bound->pids_max ? "" : " (the policy names none: the default is the bound)");
		else
			snprintf(detail, sizeof detail,
				 "the default %llu exceeds the policy's bound of %" PRIu64 ", so the request must name "
				 "a value", POLICY_PIDS_DEFAULT, pids_bound);
		policy_reason_fail_int(r, "resources", "resources.pids_max", p, detail);
	}
	return (int)(r->fails - before);
}
