/* Resource isolation through cgroup v2 (docs/runtime.md "Limits").
 *
 *   /sys/fs/cgroup                  PID 1 (and only PID 1 and the kernel)
 *   /sys/fs/cgroup/workloads        every process the agent starts; its
 *                                   memory.max and pids.max leave PID 1 a
 *                                   reserve whatever the workloads do
 *   .../workloads/c-<cid>           one container (its init and every
 *                                   process exec'ed into it); memory.max and
 *                                   pids.max as the create asked within the
 *                                   policy's "resources" (docs/policy.md),
 *                                   else the defaults, never above the
 *                                   workloads' own
 *   .../workloads/external          the policy's external processes
 *
 * A process enters its cgroup at clone (CLONE_INTO_CGROUP), so it is never
 * counted anywhere else, even for an instant. memory.oom.group makes the
 * OOM killer end the container that ran out as a whole, not a random
 * process of it (every workload's oom_score_adj is 0, not PID 1's -1000:
 * runtime_spawn.c; the OOM killer spares -1000 even in a group kill).
 * SysV and POSIX shared memory and tmpfs pages are charged
 * to the cgroup of the process that touched them, so an shm hog is bounded
 * by its own container's memory.max. */
#include "runtime_cgroup.h"

#include "file_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CGROUP_ROOT "/sys/fs/cgroup"
#define WORKLOADS CGROUP_ROOT "/workloads"
#define RESERVE_MIN_BYTES (64ull << 20) /* PID 1, the kernel, page cache of verity trees */
#define PIDS_RESERVE 256                /* threads-max minus this for all workloads */

static int write_file(const char *dir, const char *file, const char *text, struct uvm_err *err)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	return file_write_text(path, text, err);
}

/* The number after key in a /proc text file ("MemTotal:" in meminfo), or
 * the file's first number when key is "". 0 when absent. */
static unsigned long long proc_number(const char *path, const char *key)
{
	struct file_buf f;
	struct uvm_err err;
	unsigned long long v = 0;
	if (file_read_all(path, 1 << 16, &f, &err))
		return 0;
	const char *at = *key ? strstr(f.data, key) : f.data;
	if (at)
		v = strtoull(at + strlen(key), NULL, 10);
	file_buf_free(&f);
	return v;
}

static struct rt_limits workload_limits;

int rt_cgroup_init(struct uvm_err *err)
{
	unsigned long long total = proc_number("/proc/meminfo", "MemTotal:") << 10;
	unsigned long long reserve = total / 8 > RESERVE_MIN_BYTES ? total / 8 : RESERVE_MIN_BYTES;
	unsigned long long tmax = proc_number("/proc/sys/kernel/threads-max", "");
	char text[32];
	if (total <= reserve || tmax <= 2 * PIDS_RESERVE)
		return uvm_fail(err, ENOMEM,
				"cgroups: too little memory (%llu bytes) or threads-max (%llu) to "
				"keep PID 1's reserve; give the VM more memory",
				total, tmax);
	workload_limits.memory_max = total - reserve;
	workload_limits.pids_max = tmax - PIDS_RESERVE;
	if (write_file(CGROUP_ROOT, "cgroup.subtree_control", "+memory +pids", err))
		return -1;
	if (mkdir(WORKLOADS, 0755) != 0 && errno != EEXIST)
		return uvm_fail(err, errno, "creating %s: %s", WORKLOADS, strerror(errno));
	snprintf(text, sizeof text, "%llu", workload_limits.memory_max);
	if (write_file(WORKLOADS, "memory.max", text, err))
		return -1;
	snprintf(text, sizeof text, "%llu", workload_limits.pids_max);
	if (write_file(WORKLOADS, "pids.max", text, err) ||
	    write_file(WORKLOADS, "cgroup.subtree_control", "+memory +pids", err))
		return -1;
	/* External processes share one cgroup for the VM's lifetime. */
	struct rt_limits defaults;
	rt_cgroup_defaults(&defaults);
	int fd = rt_cgroup_open("", &defaults, err);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

void rt_cgroup_defaults(struct rt_limits *l)
{
	l->memory_max = workload_limits.memory_max;
	l->pids_max = workload_limits.pids_max < RT_DEFAULT_PIDS_MAX ? workload_limits.pids_max : RT_DEFAULT_PIDS_MAX;
}

void rt_cgroup_limits(uint64_t memory_max, uint64_t pids_max, struct rt_limits *l)
{
	rt_cgroup_defaults(l);
	if (memory_max)
		l->memory_max = memory_max < workload_limits.memory_max ? memory_max : workload_limits.memory_max;
	if (pids_max)
		l->pids_max = pids_max < workload_limits.pids_max ? pids_max : workload_limits.pids_max;
}

static void cgroup_path(const char *cid, char *path, size_t len)
{
	if (*cid)
		snprintf(path, len, "%s/c-%s", WORKLOADS, cid);
	else
		snprintf(path, len, "%s/external", WORKLOADS);
}

int rt_cgroup_open(const char *cid, const struct rt_limits *l, struct uvm_err *err)
{
	char path[sizeof WORKLOADS + POLICY_MAX_ID + 8], text[32];
	cgroup_path(cid, path, sizeof path);
	/* A cgroup left by an earlier container of this id is removed first; it
	 * is busy while that container's processes are still exiting. */
	if (*cid && rmdir(path) != 0 && errno != ENOENT)
		return uvm_fail(err, errno,
				"container '%s': its previous cgroup %s is still in use (%s); "
				"its processes are exiting, retry shortly",
				cid, path, strerror(errno));
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		return uvm_fail(err, errno, "creating cgroup %s: %s", path, strerror(errno));
	snprintf(text, sizeof text, "%llu", l->memory_max);
	if (write_file(path, "memory.max", text, err) || write_file(path, "memory.oom.group", "1", err))
		return -1;
	snprintf(text, sizeof text, "%llu", l->pids_max);
	if (write_file(path, "pids.max", text, err))
		return -1;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return uvm_fail(err, errno, "opening cgroup %s: %s", path, strerror(errno));
	return fd;
}

int rt_cgroup_open_existing(const char *cid, struct uvm_err *err)
{
	char path[sizeof WORKLOADS + POLICY_MAX_ID + 8];
	cgroup_path(cid, path, sizeof path);
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return uvm_fail(err, errno, "opening cgroup %s (container '%s'): %s", path, *cid ? cid : "-",
				strerror(errno));
	return fd;
}

void rt_cgroup_remove(const char *cid)
{
	char path[sizeof WORKLOADS + POLICY_MAX_ID + 8];
	if (!*cid)
		return; /* external processes share one cgroup for the VM's lifetime */
	cgroup_path(cid, path, sizeof path);
	rmdir(path); /* best effort: busy while the container's last processes exit; retried at the next create */
}

int rt_init(struct uvm_err *err)
{
	return rt_cgroup_init(err);
}
