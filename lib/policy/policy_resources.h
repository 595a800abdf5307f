/* "resources": the memory and pids limits of a container's cgroup, in the
 * policy (upper bounds) and in the create_container request (the values
 * that run), and the size of its writable layer on a scratch (the policy's
 * scratch_max bounds mount_overlay's scratch_bytes). docs/policy.md "Resources". Shared by the engine (which checks
 * them) and the guest's runtime (which applies them, agent/runtime_cgroup.c),
 * so both agree on the ranges and the default. */
#ifndef UVM_POLICY_RESOURCES_H
#define UVM_POLICY_RESOURCES_H

/* memory_max, bytes: below 4 MiB a container cannot even be set up. */
#define POLICY_MEMORY_MIN (4ull << 20)
#define POLICY_MEMORY_LIMIT (1ull << 50) /* 1 PiB: more than any VM */
/* pids_max: 1 (the container's init alone) .. the kernel's PID_MAX_LIMIT. */
#define POLICY_PIDS_MIN 1ull
#define POLICY_PIDS_LIMIT (4ull << 20)
/* A request without pids_max gets this; a policy without pids_max bounds
 * requests by it. (A request without memory_max gets the guest's whole
 * workloads limit; a policy without memory_max leaves it unbounded.) */
#define POLICY_PIDS_DEFAULT 1024ull
/* A writable layer on a scratch (mount_overlay's scratch_bytes, the policy's
 * scratch_max): at least 4 MiB (an ext2 with room for a container's first
 * writes), at most 1 PiB. Without a request value or a policy bound the
 * guest gives POLICY_SCRATCH_DEFAULT, capped by the scratch's largest free
 * run (docs/storage.md). */
#define POLICY_SCRATCH_MIN (4ull << 20)
#define POLICY_SCRATCH_LIMIT (1ull << 50)
#define POLICY_SCRATCH_DEFAULT (256ull << 20)

#endif
