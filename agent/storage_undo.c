/* The steps that undo or check a storage op's kernel-visible work
 * (docs/storage.md, "When a step fails half-way"): dm removal that waits for
 * a dying container to let go of the device, putting back a file system
 * whose mapping could not be removed, clearing mappings a failed cleanup
 * left behind, and the check that a directory really is the mount an
 * overlay expects. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

#include "dm.h"
#include "storage.h"

/* How long an unmount waits for the device to be released (see
 * storage_dm_remove_settle) and the longest pause between two tries. */
#define SETTLE_MS 2000
#define PAUSE_MAX_MS 200

int storage_dm_remove(const char *name, struct uvm_err *err)
{
	if (storage_fault(STORAGE_FAULT_DM_REMOVE))
		return uvm_fail(err, EBUSY, "dm remove %s: %s (injected by test_inject_fault)", name, strerror(EBUSY));
	return uvm_dm_remove(name, err);
}

int storage_dm_remove_settle(const char *name, struct uvm_err *err)
{
	long long t0 = storage_sys.now_ms(storage_sys.ctx);
	long wait = 10;
	for (;;) {
		if (storage_dm_remove(name, err) == 0 || err->code == ENXIO)
			return 0;
		/* Only "still open" can go away by itself. */
		if (err->code != EBUSY || storage_sys.now_ms(storage_sys.ctx) - t0 + wait > SETTLE_MS)
			return -1;
		storage_sys.pause_ms(storage_sys.ctx, wait);
		wait = wait * 2 > PAUSE_MAX_MS ? PAUSE_MAX_MS : wait * 2;
	}
}

int storage_dm_clear_stale(const char *name, struct uvm_err *err)
{
	uint64_t dev;
	struct uvm_err none;
	if (uvm_dm_devno(name, &dev, &none) != 0)
		return 0; /* none there (or no device-mapper: creating it will say so) */
	if (storage_dm_remove_settle(name, err) != 0)
		return uvm_wrap(err,
				"the mapping %s is left over from an earlier failed operation and cannot be removed",
				name);
	return 0;
}

void storage_unmap_after_failure(const char *name, const char *next_op, struct uvm_err *err)
{
	struct uvm_err rm;
	if (storage_dm_remove_settle(name, &rm) == 0)
		return;
	size_t n = strlen(err->msg);
	snprintf(err->msg + n, sizeof err->msg - n,
		 "; removing the mapping %s failed too (%.160s): the next %s removes it", name, rm.msg, next_op);
}

int storage_remount(const char *node, const char *target, const char *fstype, unsigned long flags, struct uvm_err *err)
{
	if (storage_fault(STORAGE_FAULT_REMOUNT))
		return uvm_fail(err, EIO, "mounting %s (%s) again: %s (injected by test_inject_fault)", node, fstype,
				strerror(EIO));
	/* The target is in the caller's message. */
	if (sys_mount(node, target, fstype, flags, NULL) != 0)
		return uvm_fail(err, errno, "mounting %s (%s) again: %s", node, fstype, strerror(errno));
	return 0;
}

int storage_check_mount(const char *path, unsigned long magic, const char *fs_name, uint64_t dev, struct uvm_err *err)
{
	char parent[256];
	struct stat st, up;
	struct statfs sf;
	snprintf(parent, sizeof parent, "%s/..", path);
	if (sys_lstat(path, &st) != 0 || sys_lstat(parent, &up) != 0)
		return uvm_fail(err, errno, "%s: %s", path, strerror(errno));
	/* The root of a mount sits on another device than the directory it
	 * is mounted on; an empty directory shares its parent's. */
	if (st.st_dev == up.st_dev)
		return uvm_fail(err, ENOENT, "%s is an empty directory, not a mounted %s file system", path, fs_name);
	if (sys_statfs(path, &sf) != 0)
		return uvm_fail(err, errno, "statfs %s: %s", path, strerror(errno));
	if ((unsigned long)sf.f_type != magic)
		return uvm_fail(err, EINVAL, "%s holds a file system of type %#lx, not %s", path,
				(unsigned long)sf.f_type, fs_name);
	if (major(st.st_dev) != major((dev_t)dev) || minor(st.st_dev) != minor((dev_t)dev))
		return uvm_fail(err, EINVAL, "%s is mounted from device %u:%u, not from %u:%u", path, major(st.st_dev),
				minor(st.st_dev), major((dev_t)dev), minor((dev_t)dev));
	return 0;
}
