/* Block devices the host attached: found by their virtio serial in sysfs,
 * or by SCSI address (agent/blockdev_scsi.c; the host names a disk, never a
 * /dev path), read and zeroed with O_DIRECT
 * so the guest sees what is on the device, not a cached copy. */
#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "disk_name.h"
#include "file_util.h"
#include "storage.h"

#define IO_CHUNK (1u << 20)

/* A small sysfs attribute of /sys/block/DIR, without its trailing newline. */
static int read_attr(const char *dir, const char *attr, char *out, size_t len)
{
	char path[256];
	if (snprintf(path, sizeof path, "%s/%s/%s", storage_sys.sys_block, dir, attr) >= (int)sizeof path)
		return -1;
	return file_read_small(path, out, len);
}

static int is_vd_name(const char *n)
{
	size_t l = strlen(n);
	return l >= 3 && l <= 8 && n[0] == 'v' && n[1] == 'd' && strspn(n + 2, "abcdefghijklmnopqrstuvwxyz") == l - 2;
}

int blockdev_size(const char *name, uint64_t *bytes, struct uvm_err *err)
{
	char val[32], *end;
	if (read_attr(name, "size", val, sizeof val))
		return uvm_fail(err, EIO, "reading %s/%s/size failed", storage_sys.sys_block, name);
	errno = 0;
	unsigned long long sectors = strtoull(val, &end, 10);
	if (errno || *end || end == val || sectors > (UINT64_MAX >> 9))
		return uvm_fail(err, EIO, "%s/%s/size: '%s' is not a sector count", storage_sys.sys_block, name, val);
	*bytes = (uint64_t)sectors << 9;
	return 0;
}

int blockdev_by_serial(const char *serial, char *dev, size_t dev_len, uint64_t *bytes, struct uvm_err *err)
{
	/* The request decode checked it; this also guards callers that did not. */
	if (!request_serial_ok(serial))
		return uvm_fail(err, EINVAL, "disk serial '%.40s': must be 1..20 of [A-Za-z0-9_-]", serial);
	unsigned controller, lun;
	if (disk_name_scsi(serial, &controller, &lun))
		return blockdev_by_scsi_address(controller, lun, dev, dev_len, bytes, err);
	if (disk_name_scsi_like(serial))
		return uvm_fail(err, EINVAL,
				"disk '%s': a SCSI disk is named scsi<C>-lun<L> with controller C 0..%d and LUN L "
				"0..%d, no leading zeros",
				serial, DISK_SCSI_CONTROLLERS - 1, DISK_SCSI_LUNS - 1);
	DIR *d = opendir(storage_sys.sys_block);
	if (!d)
		return uvm_fail(err, errno, "listing %s: %s", storage_sys.sys_block, strerror(errno));
	char found[16] = "", val[64];
	int matches = 0;
	for (struct dirent *de; (de = readdir(d));) {
		if (!is_vd_name(de->d_name) || read_attr(de->d_name, "serial", val, sizeof val))
			continue;
		if (strcmp(val, serial) == 0 && matches++ == 0)
			memcpy(found, de->d_name, strlen(de->d_name) + 1); /* <= 8 bytes: is_vd_name */
	}
	closedir(d);
	if (matches == 0)
		return uvm_fail(err, ENOENT,
				"no virtio disk has serial '%s' (attach it with uvm launch --disk %s=PATH)", serial,
				serial);
	if (matches > 1)
		return uvm_fail(err, EEXIST, "%d virtio disks have serial '%s': refusing an ambiguous name", matches,
				serial);
	if (blockdev_size(found, bytes, err))
		return -1;
	snprintf(dev, dev_len, "/dev/%s", found);
	return 0;
}

static uint8_t *io_buffer(struct uvm_err *err)
{
	void *buf = NULL;
	if (posix_memalign(&buf, 4096, IO_CHUNK) != 0)
		uvm_fail(err, ENOMEM, "out of memory for a %u-byte I/O buffer", IO_CHUNK);
	return buf;
}

int blockdev_read_all(const char *path, uint64_t bytes, struct uvm_err *err)
{
	int fd = sys_open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0)
		return uvm_fail(err, errno, "opening %s to read it back: %s", path, strerror(errno));
	uint8_t *buf = io_buffer(err);
	int rc = buf ? 0 : -1;
	for (uint64_t off = 0; rc == 0 && off < bytes;) {
		size_t want = bytes - off < IO_CHUNK ? (size_t)(bytes - off) : IO_CHUNK;
		ssize_t n = sys_pread(fd, buf, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			rc = uvm_fail(err, n < 0 ? errno : EIO, "reading %s at byte %llu: %s", path,
				      (unsigned long long)off, n < 0 ? strerror(errno) : "unexpected end");
		else
			off += (uint64_t)n;
	}
	free(buf);
	sys_close(fd);
	return rc;
}

int blockdev_zero(const char *path, uint64_t bytes, struct uvm_err *err)
{
	int fd = sys_open(path, O_WRONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0)
		return uvm_fail(err, errno, "opening %s to zero it: %s", path, strerror(errno));
	uint8_t *buf = io_buffer(err);
	int rc = buf ? 0 : -1;
	if (buf)
		memset(buf, 0, IO_CHUNK);
	for (uint64_t off = 0; rc == 0 && off < bytes;) {
		size_t want = bytes - off < IO_CHUNK ? (size_t)(bytes - off) : IO_CHUNK;
		ssize_t n = sys_pwrite(fd, buf, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			rc = uvm_fail(err, n < 0 ? errno : EIO, "zeroing %s at byte %llu: %s", path,
				      (unsigned long long)off, n < 0 ? strerror(errno) : "short write");
		else
			off += (uint64_t)n;
	}
	if (rc == 0 && sys_fsync(fd) != 0)
		rc = uvm_fail(err, errno, "flushing %s: %s", path, strerror(errno));
	free(buf);
	sys_close(fd);
	return rc;
}

int storage_wrap(struct op_error *e, const char *kind, const char *fmt, ...)
{
	char prefix[UVM_ERR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	e->kind = kind;
	return uvm_wrap(&e->err, "%s", prefix);
}

struct storage_state *storage_state(struct agent *a)
{
	if (!a->storage)
		a->storage = calloc(1, sizeof *a->storage);
	return a->storage;
}

int storage_scratch_in_use(struct storage_state *s, const char *serial, char *cid, size_t cid_len)
{
	for (size_t i = 0; i < STORAGE_OVERLAY_MAX; i++) {
		const struct storage_overlay *o = &s->overlay[i];
		if (o->alive && !o->on_tmpfs && strcmp(o->scratch, serial) == 0) {
			snprintf(cid, cid_len, "%s", o->cid);
			return 1;
		}
	}
	return 0;
}

struct storage_scratch *storage_scratch_find(struct storage_state *s, const char *serial)
{
	for (size_t i = 0; s && i < STORAGE_SCRATCH_MAX; i++)
		if (s->scratch[i].alive && strcmp(s->scratch[i].serial, serial) == 0)
			return &s->scratch[i];
	return NULL;
}
