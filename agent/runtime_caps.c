/* Credentials of a container process, applied in the child just before
 * exec: bounding set, groups, gid, uid, capability sets, ambient set,
 * no_new_privileges, umask. Raw capset/prctl (no libcap in the guest). */
#include "runtime_child.h"

#include <errno.h>
#include <sys/resource.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Index = capability number (include/uapi/linux/capability.h, 6.12). */
static const char *const cap_names[] = {
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_DAC_READ_SEARCH",
	"CAP_FOWNER",
	"CAP_FSETID",
	"CAP_KILL",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST",
	"CAP_NET_ADMIN",
	"CAP_NET_RAW",
	"CAP_IPC_LOCK",
	"CAP_IPC_OWNER",
	"CAP_SYS_MODULE",
	"CAP_SYS_RAWIO",
	"CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE",
	"CAP_SYS_PACCT",
	"CAP_SYS_ADMIN",
	"CAP_SYS_BOOT",
	"CAP_SYS_NICE",
	"CAP_SYS_RESOURCE",
	"CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG",
	"CAP_MKNOD",
	"CAP_LEASE",
	"CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL",
	"CAP_SETFCAP",
	"CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN",
	"CAP_SYSLOG",
	"CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND",
	"CAP_AUDIT_READ",
	"CAP_PERFMON",
	"CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};
#define NCAPS ((int)(sizeof cap_names / sizeof cap_names[0]))

int rt_cap_number(const char *name)
{
	for (int i = 0; i < NCAPS; i++)
		if (strcmp(cap_names[i], name) == 0)
			return i;
	return -1;
}

const char *rt_cap_name(int n)
{
	return n >= 0 && n < NCAPS ? cap_names[n] : NULL;
}

int rt_cap_last(void)
{
	return NCAPS - 1;
}

enum { SET_BOUNDING, SET_EFFECTIVE, SET_INHERITABLE, SET_PERMITTED, SET_AMBIENT };

static int drop_bounding(uint64_t keep, struct uvm_err *err)
{
	for (int c = 0; c < 64; c++) {
		if (keep >> c & 1)
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno != EINVAL) /* EINVAL: beyond the kernel's last */
			return uvm_fail(err, errno, "dropping %s from the bounding set: %s",
					rt_cap_name(c) ? rt_cap_name(c) : "a capability", strerror(errno));
	}
	return 0;
}

/* Raw syscalls: musl's set*id wrappers synchronise threads through the
 * thread pointer, which a raw clone (rt_clone) leaves stale. */
static int set_ids(const struct rt_spec *s, struct uvm_err *err)
{
	gid_t g = s->gid;
	if (syscall(SYS_setgroups, 1, &g) != 0)
		return uvm_fail(err, errno, "setgroups([%u]): %s", s->gid, strerror(errno));
	if (syscall(SYS_setresgid, s->gid, s->gid, s->gid) != 0)
		return uvm_fail(err, errno, "setresgid(%u): %s", s->gid, strerror(errno));
	/* Keep the permitted set across the uid change; capset trims it next. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)
		return uvm_fail(err, errno, "PR_SET_KEEPCAPS: %s", strerror(errno));
	if (syscall(SYS_setresuid, s->uid, s->uid, s->uid) != 0)
		return uvm_fail(err, errno, "setresuid(%u): %s", s->uid, strerror(errno));
	return 0;
}

static int set_caps(const struct rt_spec *s, struct uvm_err *err)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof data);
	for (int i = 0; i < 2; i++) {
		data[i].effective = (uint32_t)(s->caps[SET_EFFECTIVE] >> (32 * i));
		data[i].permitted = (uint32_t)(s->caps[SET_PERMITTED] >> (32 * i));
		data[i].inheritable = (uint32_t)(s->caps[SET_INHERITABLE] >> (32 * i));
	}
	if (syscall(SYS_capset, &hdr, data) != 0)
		return uvm_fail(err, errno, "capset: %s (effective and inheritable must be within permitted)",
				strerror(errno));
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
		return uvm_fail(err, errno, "clearing the ambient set: %s", strerror(errno));
	for (int c = 0; c < 64; c++)
		if ((s->caps[SET_AMBIENT] >> c & 1) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) != 0)
			return uvm_fail(err, errno, "raising ambient %s: %s (it must be permitted and inheritable)",
					rt_cap_name(c), strerror(errno));
	return 0;
}

/* Fixed limits for every process the agent starts (the policy language has
 * no rlimits): no core dumps (a core file would put the workload's memory on
 * the scratch), and a bounded number of open files. */
int rt_child_rlimits(struct uvm_err *err)
{
	static const struct {
		int resource;
		const char *name;
		struct rlimit limit;
	} limits[] = {
		{RLIMIT_CORE, "RLIMIT_CORE", {0, 0}},
		{RLIMIT_NOFILE, "RLIMIT_NOFILE", {1024, 65536}},
	};
	for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++)
		if (setrlimit(limits[i].resource, &limits[i].limit) != 0)
			return uvm_fail(err, errno, "setting %s: %s", limits[i].name, strerror(errno));
	return 0;
}

int rt_child_creds(const struct rt_spec *s, struct uvm_err *err)
{
	umask(s->umask & 0777);
	if (rt_child_rlimits(err))
		return -1;
	/* privileged (only when the policy has allow_elevated): root's full
	 * capability sets are kept; the ids are still the requested ones. */
	/* The filter goes in while this child still has CAP_SYS_ADMIN (no
	 * no_new_privs needed) and after every mount of the set-up; what
	 * follows (set*id, capset, prctl, chdir, execve) is allowed by any
	 * profile that lets a container start at all. */
	if (s->seccomp && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, s->seccomp, 0, 0) != 0)
		return uvm_fail(err, errno, "installing the container's seccomp filter (%u instructions): %s",
				(unsigned)s->seccomp->len, strerror(errno));
	if (!s->privileged && drop_bounding(s->caps[SET_BOUNDING], err))
		return -1;
	if (set_ids(s, err) || (!s->privileged && set_caps(s, err)))
		return -1;
	if (s->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return uvm_fail(err, errno, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
	return 0;
}
