/* Where the storage ops (agent/storage_*.c, agent/blockdev.c) meet the
 * kernel, besides device-mapper (whose ioctl has its own seam,
 * uvm_dm_set_ioctl in lib/dm.h): mount(2) and friends, the block devices,
 * the virtio serials under /sys/block, the SCSI buses under /sys/bus, randomness and the clock of the
 * "wait for a dying container" retries. One struct of function pointers
 * plus one path, in the style of agent/attest_seam.h, so that a host unit
 * test can play the kernel (tests/unit/test_storage_state.c).
 *
 * Nothing here is test code: the guest runs with the defaults
 * (agent/storage_sys.c: the real syscalls, "/sys/block", the monotonic
 * clock and nanosleep) and never changes them. Every function has the
 * return convention of the syscall it stands for (-1 with errno set). ctx
 * is the seam's own, handed back to each call. */
#ifndef UVM_AGENT_STORAGE_SYS_H
#define UVM_AGENT_STORAGE_SYS_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>

struct storage_sys {
	/* The directory holding one entry per block device, each with the
	 * attributes `serial` and `size` (512-byte sectors). Plain files are
	 * read, so a test points it at a temporary directory. */
	const char *sys_block;
	/* The bus directory (/sys/bus): vmbus/devices, virtio/devices and
	 * scsi/devices, where SCSI disks are found by controller and LUN
	 * (agent/blockdev_scsi.c). Read only, through plain files, directory
	 * listings and realpath, so a test points it at a temporary tree. */
	const char *sys_bus;
	int (*mount)(void *ctx, const char *source, const char *target, const char *fstype, unsigned long flags,
		     const void *data);
	int (*umount2)(void *ctx, const char *target, int flags);
	int (*mkdir)(void *ctx, const char *path, mode_t mode);
	int (*rmdir)(void *ctx, const char *path);
	int (*chmod)(void *ctx, const char *path, mode_t mode);
	/* Block devices. open must return a real file descriptor: lib/
	 * (erofs, verity, ext2) reads and writes it directly. The storage code's
	 * own I/O on it goes through pread/pwrite/fsync/close below. */
	int (*open)(void *ctx, const char *path, int flags);
	ssize_t (*pread)(void *ctx, int fd, void *buf, size_t len, off_t off);
	ssize_t (*pwrite)(void *ctx, int fd, const void *buf, size_t len, off_t off);
	int (*fsync)(void *ctx, int fd);
	int (*close)(void *ctx, int fd);
	/* storage_check_mount and the device checks of scratch and overlay. */
	int (*stat)(void *ctx, const char *path, struct stat *st);
	int (*lstat)(void *ctx, const char *path, struct stat *st);
	int (*statfs)(void *ctx, const char *path, struct statfs *sf);
	ssize_t (*getrandom)(void *ctx, void *buf, size_t len, unsigned flags);
	/* The retry of a busy dm removal (storage_dm_remove_settle): a
	 * monotonic clock in ms and a pause; a test's clock can jump. */
	long long (*now_ms)(void *ctx);
	void (*pause_ms)(void *ctx, long ms);
	void *ctx;
};
extern struct storage_sys storage_sys;

/* The production defaults, for a test that replaces the seam and wants it
 * back as it was. */
extern const struct storage_sys storage_sys_kernel;

/* The calls as the storage code makes them. */
static inline int sys_mount(const char *source, const char *target, const char *fstype, unsigned long flags,
			    const void *data)
{
	return storage_sys.mount(storage_sys.ctx, source, target, fstype, flags, data);
}
static inline int sys_umount2(const char *target, int flags)
{
	return storage_sys.umount2(storage_sys.ctx, target, flags);
}
static inline int sys_mkdir(const char *path, mode_t mode)
{
	return storage_sys.mkdir(storage_sys.ctx, path, mode);
}
static inline int sys_rmdir(const char *path)
{
	return storage_sys.rmdir(storage_sys.ctx, path);
}
static inline int sys_chmod(const char *path, mode_t mode)
{
	return storage_sys.chmod(storage_sys.ctx, path, mode);
}
static inline int sys_open(const char *path, int flags)
{
	return storage_sys.open(storage_sys.ctx, path, flags);
}
static inline ssize_t sys_pread(int fd, void *buf, size_t len, off_t off)
{
	return storage_sys.pread(storage_sys.ctx, fd, buf, len, off);
}
static inline ssize_t sys_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	return storage_sys.pwrite(storage_sys.ctx, fd, buf, len, off);
}
static inline int sys_fsync(int fd)
{
	return storage_sys.fsync(storage_sys.ctx, fd);
}
static inline int sys_close(int fd)
{
	return storage_sys.close(storage_sys.ctx, fd);
}
static inline int sys_stat(const char *path, struct stat *st)
{
	return storage_sys.stat(storage_sys.ctx, path, st);
}
static inline int sys_lstat(const char *path, struct stat *st)
{
	return storage_sys.lstat(storage_sys.ctx, path, st);
}
static inline int sys_statfs(const char *path, struct statfs *sf)
{
	return storage_sys.statfs(storage_sys.ctx, path, sf);
}
static inline ssize_t sys_getrandom(void *buf, size_t len, unsigned flags)
{
	return storage_sys.getrandom(storage_sys.ctx, buf, len, flags);
}

#endif
