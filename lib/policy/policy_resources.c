/* "resources": the memory and pids limits of a container (docs/policy.md
 * "Resources"). The policy names upper bounds; the create_container request
 * names the values, which the guest applies as they are (after clamping to
 * its workloads cgroup, agent/runtime_cgroup.c). A candidate allows a create
 * only if every value that will run, the request's or the default, is within
 * its bound, so any allowing candidate accepts what runs. One strict reader
 * (request_resources_read, lib/request.c) serves the policy and the request. */
#include <inttypes.h>
#include <stdio.h>

#include "policy_internal.h"

int policy_rules_resources(struct reason *r, const struct req_resources *bound, const struct req_resources *got)
{
	unsigned before = r->fails;
	/* 0: absent (the decode's minimums are above 0). */
	uint64_t m = got->memory_max, p = got->pids_max ? got->pids_max : POLICY_PIDS_DEFAULT;
	uint64_t pids_bound = bound->pids_max ? bound->pids_max : POLICY_PIDS_DEFAULT;
	char detail[192];
	if (bound->memory_max && !got->memory_max) {
		snprintf(detail, sizeof detail,
			 "the policy bounds memory_max at %" PRIu64 " bytes; the default (all of the guest's "
			 "workloads memory) exceeds it, so the request must name a value",
			 bound->memory_max);
		policy_reason_fail(r, "resources", "resources.memory_max", NULL, detail);
	} else if (bound->memory_max && m > bound->memory_max) {
		snprintf(detail, sizeof detail, "more than the policy's bound of %" PRIu64 " bytes", bound->memory_max);
		policy_reason_fail_int(r, "resources", "resources.memory_max", (int64_t)m, detail);
	}
	if (p > pids_bound) {
		if (got->pids_max)
			snprintf(detail, sizeof detail, "more than the policy's bound of %" PRIu64 "%s", pids_bound,
				 bound->pids_max ? "" : " (the policy names none: the default is the bound)");
		else
			snprintf(detail, sizeof detail,
				 "the default %llu exceeds the policy's bound of %" PRIu64 ", so the request must name "
				 "a value",
				 POLICY_PIDS_DEFAULT, pids_bound);
		policy_reason_fail_int(r, "resources", "resources.pids_max", (int64_t)p, detail);
	}
	return (int)(r->fails - before);
}
