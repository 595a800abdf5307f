/* The production side of the storage seam (storage_sys.h): each entry is
 * the syscall it names, nothing more, so the guest behaves exactly as if
 * the storage code called the kernel directly. */
#include "storage_sys.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "monotonic.h"

static int k_mount(void *ctx, const char *source, const char *target, const char *fstype, unsigned long flags,
		   const void *data)
{
	(void)ctx;
	return mount(source, target, fstype, flags, data);
}

static int k_umount2(void *ctx, const char *target, int flags)
{
	(void)ctx;
	return umount2(target, flags);
}

static int k_mkdir(void *ctx, const char *path, mode_t mode)
{
	(void)ctx;
	return mkdir(path, mode);
}

static int k_rmdir(void *ctx, const char *path)
{
	(void)ctx;
	return rmdir(path);
}

static int k_chmod(void *ctx, const char *path, mode_t mode)
{
	(void)ctx;
	return chmod(path, mode);
}

static int k_open(void *ctx, const char *path, int flags)
{
	(void)ctx;
	return open(path, flags);
}

static ssize_t k_pread(void *ctx, int fd, void *buf, size_t len, off_t off)
{
	(void)ctx;
	return pread(fd, buf, len, off);
}

static ssize_t k_pwrite(void *ctx, int fd, const void *buf, size_t len, off_t off)
{
	(void)ctx;
	return pwrite(fd, buf, len, off);
}

static int k_fsync(void *ctx, int fd)
{
	(void)ctx;
	return fsync(fd);
}

static int k_close(void *ctx, int fd)
{
	(void)ctx;
	return close(fd);
}

static int k_stat(void *ctx, const char *path, struct stat *st)
{
	(void)ctx;
	return stat(path, st);
}

static int k_lstat(void *ctx, const char *path, struct stat *st)
{
	(void)ctx;
	return lstat(path, st);
}

static int k_statfs(void *ctx, const char *path, struct statfs *sf)
{
	(void)ctx;
	return statfs(path, sf);
}

static ssize_t k_getrandom(void *ctx, void *buf, size_t len, unsigned flags)
{
	(void)ctx;
	return getrandom(buf, len, flags);
}

static long long k_now_ms(void *ctx)
{
	(void)ctx;
	return uvm_monotonic_ms();
}

static void k_pause_ms(void *ctx, long ms)
{
	(void)ctx;
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* One initializer for both: the defaults and the live seam start equal. */
#define KERNEL                                                                                                         \
	{                                                                                                              \
		.sys_block = "/sys/block", .sys_bus = "/sys/bus", .mount = k_mount, .umount2 = k_umount2,              \
		.mkdir = k_mkdir, .rmdir = k_rmdir, .chmod = k_chmod, .open = k_open, .pread = k_pread,                \
		.pwrite = k_pwrite, .fsync = k_fsync, .close = k_close, .stat = k_stat, .lstat = k_lstat,              \
		.statfs = k_statfs, .getrandom = k_getrandom, .now_ms = k_now_ms, .pause_ms = k_pause_ms, .ctx = NULL, \
	}

const struct storage_sys storage_sys_kernel = KERNEL;
struct storage_sys storage_sys = KERNEL;
