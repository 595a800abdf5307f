/* Internal to agent/runtime*.c: cgroup v2 for containers and external
 * processes (runtime_cgroup.c explains the layout). */
#ifndef UVM_AGENT_RUNTIME_CGROUP_H
#define UVM_AGENT_RUNTIME_CGROUP_H

#include "runtime.h"

#include "policy_resources.h"

#define RT_DEFAULT_PIDS_MAX POLICY_PIDS_DEFAULT /* what the engine also assumes */

struct rt_limits {
	unsigned long long memory_max; /* bytes */
	unsigned long long pids_max;
};

/* Once at start-up: enables the memory and pids controllers and creates the
 * workloads cgroup whose limits keep PID 1's reserve, and the external
 * processes' cgroup. */
int rt_cgroup_init(struct uvm_err *err);
/* The limits a container gets unless told otherwise. */
void rt_cgroup_defaults(struct rt_limits *l);
/* A container's limits: memory_max and pids_max as approved (0: the
 * default), each clamped to the workloads cgroup's, so PID 1's reserve
 * holds whatever a policy allowed. */
void rt_cgroup_limits(uint64_t memory_max, uint64_t pids_max, struct rt_limits *l);
/* Creates (or re-creates) the cgroup of container cid ("" = external
 * processes) with limits l; returns an O_DIRECTORY fd for CLONE_INTO_CGROUP
 * (the caller closes it), or -1 with err. */
int rt_cgroup_open(const char *cid, const struct rt_limits *l, struct uvm_err *err);
/* Opens the cgroup of a running container ("" = external processes) for a
 * new process. */
int rt_cgroup_open_existing(const char *cid, struct uvm_err *err);
/* Removes a finished container's cgroup if it is empty (best effort). */
void rt_cgroup_remove(const char *cid);

#endif
