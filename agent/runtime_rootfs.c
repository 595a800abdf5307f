/* The container's root file system, built in the child's new mount
 * namespace. Order matters for safety: the root is pivoted FIRST, so that
 * /proc, /dev, /sys and the policy's mount destinations are resolved inside
 * the container's root (a symlink in an image cannot point a mount outside
 * it); bind sources from the UVM are cloned as detached mount trees
 * (open_tree) before the pivot and attached (move_mount) afterwards.
 *
 * PID 1 moved itself off the initramfs onto a tmpfs at boot
 * (init/root_move.c), so pivot_root detaches the UVM's root completely. */
#include "runtime_child.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define MAX_BIND 64
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef SYS_open_tree
#define SYS_open_tree 428
#define SYS_move_mount 429
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif
/* <linux/mount.h>'s struct mount_attr and flags (that header clashes with
 * libc's <sys/mount.h>). */
struct rt_mount_attr {
	uint64_t attr_set, attr_clr, propagation, userns_fd;
};
#define RT_ATTR_RDONLY 0x1ull
#define RT_ATTR_NOSUID 0x2ull
#define RT_ATTR_NODEV 0x4ull
#define RT_ATTR_NOEXEC 0x8ull
#define NOSUID_NODEV_NOEXEC (MS_NOSUID | MS_NODEV | MS_NOEXEC)

/* runc's defaults: what no container may read (masked: an empty read-only
 * tmpfs over a directory, /dev/null over a file) or change (read-only:
 * /proc/sys holds the VM-wide sysctls that belong to PID 1). */
static const char *const masked_paths[] = {
	"/proc/acpi",    "/proc/asound",     "/proc/interrupts",    "/proc/kcore",
	"/proc/keys",    "/proc/kmsg",       "/proc/latency_stats", "/proc/sched_debug",
	"/proc/scsi",    "/proc/timer_list", "/proc/timer_stats",   "/sys/devices/virtual/powercap",
	"/sys/firmware",
};
static const char *const readonly_paths[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

static int sys_mount(const char *src, const char *dst, const char *type, unsigned long flags, const char *data,
		     struct uvm_err *err)
{
	if (mount(src, dst, type, flags, data) != 0)
		return uvm_fail(err, errno, "mount %s on %s (%s): %s", src ? src : "-", dst, type ? type : "bind",
				strerror(errno));
	return 0;
}

/* Per-mount flags through mount_setattr: with AT_RECURSIVE they reach every
 * submount, which a MS_REMOUNT|MS_BIND does not (a read-only rbind would
 * otherwise leave its submounts writable). */
static int set_attr(int dfd, const char *path, unsigned flags, uint64_t set, struct uvm_err *err)
{
	struct rt_mount_attr a = {set, 0, 0, 0};
	if (syscall(SYS_mount_setattr, dfd, path, flags, &a, sizeof a) != 0)
		return uvm_fail(err, errno, "setting mount flags on %s: %s", *path ? path : "a mount source",
				strerror(errno));
	return 0;
}

static int mkdir_p(const char *path, struct uvm_err *err)
{
	char buf[POLICY_MAX_PATH + 1];
	size_t n = strlen(path);
	if (n > POLICY_MAX_PATH)
		return uvm_fail(err, ENAMETOOLONG, "path too long: %.64s...", path);
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return uvm_fail(err, errno, "mkdir %s: %s", buf, strerror(errno));
		*p = '/';
	}
	if (mkdir(buf, 0755) != 0 && errno != EEXIST)
		return uvm_fail(err, errno, "mkdir %s: %s", buf, strerror(errno));
	return 0;
}

/* Absolute, no "." or ".." components, no "//". */
static int clean_path(const char *p)
{
	if (p[0] != '/' || strstr(p, "//"))
		return 0;
	for (const char *c = p; c; c = strchr(c + 1, '/')) {
		const char *s = c + 1;
		size_t len = strcspn(s, "/");
		if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
			return 0;
	}
	return 1;
}

/* The root's own flags: nodev unless privileged. nosuid when the process
 * runs with no_new_privileges, where set-uid bits and file capabilities
 * could not take effect anyway; without it (the policy left
 * no_new_privileges false) they work as under Docker, within the bounding
 * set, so `setcap cap_net_bind_service+ep` binaries of non-root images
 * run. */
static uint64_t root_attrs(const struct rt_spec *spec)
{
	return (spec->privileged ? 0 : RT_ATTR_NODEV) | (spec->no_new_privileges ? RT_ATTR_NOSUID : 0);
}

static int enter_root(const char *root, uint64_t attrs, struct uvm_err *err)
{
	/* "/" is PID 1's tmpfs (init/root_move.c), not the initramfs, so
	 * pivot_root works and the UVM's root is detached completely. */
	if (sys_mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL, err))
		return -1;
	if (sys_mount(root, root, NULL, MS_BIND | MS_REC, NULL, err))
		return -1;
	/* No device node of an image takes effect (a layer could carry a
	 * node of the scratch's dm-crypt device). */
	if (attrs && set_attr(AT_FDCWD, root, AT_RECURSIVE, attrs, err))
		return -1;
	if (chdir(root) != 0)
		return uvm_fail(err, errno, "entering %s: %s", root, strerror(errno));
	if (syscall(SYS_pivot_root, ".", ".") != 0)
		return uvm_fail(err, errno, "pivot_root into %s: %s", root, strerror(errno));
	if (umount2(".", MNT_DETACH) != 0 || chdir("/") != 0)
		return uvm_fail(err, errno, "detaching the UVM's root: %s", strerror(errno));
	return 0;
}

static int make_dev(struct uvm_err *err)
{
	static const struct {
		const char *name;
		unsigned maj, min;
	} nodes[] = {{"/dev/null", 1, 3},   {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
		     {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0}};
	if (mkdir_p("/dev", err) ||
	    sys_mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=1m", err))
		return -1;
	for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++)
		if (mknod(nodes[i].name, S_IFCHR | 0666, makedev(nodes[i].maj, nodes[i].min)) != 0 ||
		    chmod(nodes[i].name, 0666) != 0)
			return uvm_fail(err, errno, "mknod %s: %s", nodes[i].name, strerror(errno));
	if (symlink("/proc/self/fd", "/dev/fd") || symlink("/proc/self/fd/0", "/dev/stdin") ||
	    symlink("/proc/self/fd/1", "/dev/stdout") || symlink("/proc/self/fd/2", "/dev/stderr"))
		return uvm_fail(err, errno, "/dev symlinks: %s", strerror(errno));
	return mkdir_p("/dev/shm", err) ||
	       sys_mount("shm", "/dev/shm", "tmpfs", NOSUID_NODEV_NOEXEC, "mode=1777,size=16m", err);
}

static int mask_paths(struct uvm_err *err)
{
	for (size_t i = 0; i < sizeof masked_paths / sizeof masked_paths[0]; i++) {
		const char *p = masked_paths[i];
		struct stat st;
		if (lstat(p, &st) != 0)
			continue; /* not in this kernel: nothing to hide */
		if (S_ISDIR(st.st_mode)
			    ? sys_mount("tmpfs", p, "tmpfs", NOSUID_NODEV_NOEXEC | MS_RDONLY, "size=0,mode=0555", err)
			    : sys_mount("/dev/null", p, NULL, MS_BIND, NULL, err))
			return -1;
	}
	for (size_t i = 0; i < sizeof readonly_paths / sizeof readonly_paths[0]; i++) {
		const char *p = readonly_paths[i];
		if (access(p, F_OK) != 0)
			continue;
		if (sys_mount(p, p, NULL, MS_BIND | MS_REC, NULL, err) ||
		    set_attr(AT_FDCWD, p, AT_RECURSIVE,
			     RT_ATTR_RDONLY | RT_ATTR_NOSUID | RT_ATTR_NODEV | RT_ATTR_NOEXEC, err))
			return -1;
	}
	return 0;
}

/* The policy's mount options. Every container mount is nodev and nosuid
 * unless the policy names "dev" or "suid" for it (the engine matched the
 * request's options against the policy's exactly). */
static int option_flags(const struct rt_mount *m, unsigned long *flags, struct uvm_err *err)
{
	*flags = MS_NOSUID | MS_NODEV;
	for (size_t i = 0; i < m->noptions; i++) {
		const char *o = m->options[i];
		if (!strcmp(o, "ro"))
			*flags |= MS_RDONLY;
		else if (!strcmp(o, "rbind"))
			*flags |= MS_REC;
		else if (!strcmp(o, "dev"))
			*flags &= ~(unsigned long)MS_NODEV;
		else if (!strcmp(o, "suid"))
			*flags &= ~(unsigned long)MS_NOSUID;
		else if (!strcmp(o, "noexec"))
			*flags |= MS_NOEXEC;
		else if (strcmp(o, "rw") && strcmp(o, "bind") && strcmp(o, "nosuid") && strcmp(o, "nodev"))
			return uvm_fail(err, EINVAL, "mount on %s: option '%.64s' is not supported (docs/runtime.md)",
					m->destination, o);
	}
	return 0;
}

static uint64_t attrs_of(unsigned long flags)
{
	return (flags & MS_RDONLY ? RT_ATTR_RDONLY : 0) | (flags & MS_NOSUID ? RT_ATTR_NOSUID : 0) |
	       (flags & MS_NODEV ? RT_ATTR_NODEV : 0) | (flags & MS_NOEXEC ? RT_ATTR_NOEXEC : 0);
}

/* Policy mounts: "bind" of a path under /run (opened now, before the
 * pivot) or "tmpfs". Anything else is refused. */
static int open_sources(const struct rt_mount *m, size_t n, int fds[], struct uvm_err *err)
{
	if (n > MAX_BIND)
		return uvm_fail(err, E2BIG, "at most %d mounts", MAX_BIND);
	for (size_t i = 0; i < n; i++) {
		fds[i] = -1;
		if (!clean_path(m[i].destination))
			return uvm_fail(err, EINVAL, "mount destination '%.128s' must be a clean absolute path",
					m[i].destination);
		if (!strcmp(m[i].type, "tmpfs"))
			continue;
		if (strcmp(m[i].type, "bind") || !clean_path(m[i].source) || strncmp(m[i].source, "/run/", 5))
			return uvm_fail(err, EINVAL,
					"mount on %s: only type \"tmpfs\" or \"bind\" of a clean path under /run/ "
					"is supported (got type '%.32s', source '%.128s')",
					m[i].destination, m[i].type, m[i].source);
		unsigned flags = OPEN_TREE_CLONE | O_CLOEXEC | AT_SYMLINK_NOFOLLOW;
		for (size_t k = 0; k < m[i].noptions; k++)
			flags |= strcmp(m[i].options[k], "rbind") == 0 ? AT_RECURSIVE : 0;
		fds[i] = (int)syscall(SYS_open_tree, AT_FDCWD, m[i].source, flags);
		if (fds[i] < 0)
			return uvm_fail(err, errno, "mount source %s: %s", m[i].source, strerror(errno));
	}
	return 0;
}

static int policy_mounts(const struct rt_mount *m, size_t n, const int fds[], struct uvm_err *err)
{
	for (size_t i = 0; i < n; i++) {
		unsigned long flags;
		if (option_flags(&m[i], &flags, err) || mkdir_p(m[i].destination, err))
			return -1;
		if (fds[i] < 0) {
			if (sys_mount("tmpfs", m[i].destination, "tmpfs", flags & ~(unsigned long)MS_REC, "size=64m",
				      err))
				return -1;
			continue;
		}
		/* Flags on the whole detached tree before it becomes visible:
		 * a read-only rbind is read-only in every submount. */
		if (set_attr(fds[i], "", AT_EMPTY_PATH | AT_RECURSIVE, attrs_of(flags), err))
			return uvm_wrap(err, "mount on %s", m[i].destination);
		if (syscall(SYS_move_mount, fds[i], "", AT_FDCWD, m[i].destination, MOVE_MOUNT_F_EMPTY_PATH) != 0)
			return uvm_fail(err, errno, "attaching %s on %s: %s", m[i].source, m[i].destination,
					strerror(errno));
	}
	return 0;
}

int rt_child_rootfs(const char *cid, const struct rt_mount *mounts, size_t nmounts, const struct rt_spec *spec,
		    struct uvm_err *err)
{
	char root[sizeof POLICY_CONTAINER_DIR + POLICY_MAX_ID + sizeof POLICY_ROOTFS_SUFFIX];
	int fds[MAX_BIND];
	snprintf(root, sizeof root, "%s%s%s", POLICY_CONTAINER_DIR, cid, POLICY_ROOTFS_SUFFIX);
	if (open_sources(mounts, nmounts, fds, err) || enter_root(root, root_attrs(spec), err))
		return -1;
	if (make_dev(err) || mkdir_p("/proc", err) ||
	    sys_mount("proc", "/proc", "proc", NOSUID_NODEV_NOEXEC, NULL, err) || mkdir_p("/sys", err) ||
	    sys_mount("sysfs", "/sys", "sysfs", NOSUID_NODEV_NOEXEC | MS_RDONLY, NULL, err))
		return -1;
	if ((!spec->privileged && mask_paths(err)) || policy_mounts(mounts, nmounts, fds, err))
		return -1;
	/* /dev read-only once everything is in place: no new node appears
	 * there, even for a container that may mknod (/dev/shm stays
	 * writable: it is its own mount). */
	if (set_attr(AT_FDCWD, "/dev", 0, RT_ATTR_RDONLY | RT_ATTR_NOSUID | RT_ATTR_NOEXEC, err))
		return -1;
	if (sethostname(cid, strnlen(cid, 64)) != 0)
		return uvm_fail(err, errno, "sethostname: %s", strerror(errno));
	return 0;
}
