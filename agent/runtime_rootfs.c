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
#define NOSUID_NODEV_NOEXEC (MS_NOSUID | MS_NODEV | MS_NOEXEC)

static int sys_mount(const char *src, const char *dst, const char *type, unsigned long flags, const char *data,
		     struct uvm_err *err)
{
	if (mount(src, dst, type, flags, data) != 0)
		return uvm_fail(err, errno, "mount %s on %s (%s): %s", src ? src : "-", dst, type ? type : "bind",
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

static int enter_root(const char *root, struct uvm_err *err)
{
	/* "/" is PID 1's tmpfs (init/root_move.c), not the initramfs, so
	 * pivot_root works and the UVM's root is detached completely. */
	if (sys_mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL, err))
		return -1;
	if (sys_mount(root, root, NULL, MS_BIND | MS_REC, NULL, err) || chdir(root) != 0)
		return -1;
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
	} nodes[] = {{"/dev/null", 1, 3}, {"/dev/zero", 1, 5}, {"/dev/full", 1, 7},
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

static int option_flags(const struct rt_mount *m, unsigned long *flags, struct uvm_err *err)
{
	*flags = 0;
	for (size_t i = 0; i < m->noptions; i++) {
		const char *o = m->options[i];
		if (!strcmp(o, "ro"))
			*flags |= MS_RDONLY;
		else if (!strcmp(o, "rbind"))
			*flags |= MS_REC;
		else if (!strcmp(o, "nosuid"))
			*flags |= MS_NOSUID;
		else if (!strcmp(o, "nodev"))
			*flags |= MS_NODEV;
		else if (!strcmp(o, "noexec"))
			*flags |= MS_NOEXEC;
		else if (strcmp(o, "rw") && strcmp(o, "bind"))
			return uvm_fail(err, EINVAL, "mount on %s: option '%.64s' is not supported (docs/runtime.md)",
					m->destination, o);
	}
	return 0;
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
			if (sys_mount("tmpfs", m[i].destination, "tmpfs", flags | MS_NOSUID | MS_NODEV, "size=64m", err))
				return -1;
			continue;
		}
		if (syscall(SYS_move_mount, fds[i], "", AT_FDCWD, m[i].destination, MOVE_MOUNT_F_EMPTY_PATH) != 0)
			return uvm_fail(err, errno, "attaching %s on %s: %s", m[i].source, m[i].destination,
					strerror(errno));
		/* Bind flags apply only on a remount. */
		if ((flags & ~MS_REC) &&
		    sys_mount(NULL, m[i].destination, NULL, MS_REMOUNT | MS_BIND | (flags & ~MS_REC), NULL, err))
			return -1;
	}
	return 0;
}

int rt_child_rootfs(const char *cid, const struct rt_mount *mounts, size_t nmounts, struct uvm_err *err)
{
	char root[sizeof POLICY_CONTAINER_DIR + POLICY_MAX_ID + sizeof POLICY_ROOTFS_SUFFIX];
	int fds[MAX_BIND];
	snprintf(root, sizeof root, "%s%s%s", POLICY_CONTAINER_DIR, cid, POLICY_ROOTFS_SUFFIX);
	if (open_sources(mounts, nmounts, fds, err) || enter_root(root, err))
		return -1;
	if (mkdir_p("/proc", err) || sys_mount("proc", "/proc", "proc", NOSUID_NODEV_NOEXEC, NULL, err) ||
	    make_dev(err) || mkdir_p("/sys", err) ||
	    sys_mount("sysfs", "/sys", "sysfs", NOSUID_NODEV_NOEXEC | MS_RDONLY, NULL, err))
		return -1;
	if (policy_mounts(mounts, nmounts, fds, err))
		return -1;
	if (sethostname(cid, strnlen(cid, 64)) != 0)
		return uvm_fail(err, errno, "sethostname: %s", strerror(errno));
	return 0;
}
