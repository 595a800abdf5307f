/* SCSI disks, found by the bus's own address: controller and LUN.
 *
 * Hyper-V attaches the UVM's disks to storvsc SCSI controllers on VMBus;
 * QEMU can attach them to virtio-scsi controllers. Either way a disk is
 * named by where it sits ("scsi<C>-lun<L>", lib/disk_name.h), never by a
 * name the disk carries, and never by the kernel's sdX order (which is
 * whatever order the scans finished in):
 *
 *   controller  on VMBus: the storvsc device (class_id below) whose
 *               instance GUID is hcsshim's well-known GUID number C, the
 *               convention Hyper-V hosts already use for utility VMs; on
 *               virtio: the C-th virtio-scsi controller (device id 8) in
 *               the order of the PCI addresses it sits at;
 *   LUN         the SCSI device H:0:0:L under the controller's host H (both
 *               storvsc and QEMU's scsi-hd put disks at channel 0, target 0).
 *
 * The disk's content is still only what dm-verity (layers, root hash from
 * the policy) or dm-integrity + dm-crypt (scratch, key of the guest's own)
 * accept: the address decides which disk is opened, not whether it is
 * trusted. All sysfs reads go through storage_sys.sys_bus/sys_block, so
 * tests/unit/test_blockdev_scsi.c plays both buses in a temporary tree. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disk_name.h"
#include "file_util.h"
#include "storage.h"

/* hcsshim's SCSI controller instance GUIDs (internal/protocol/guestrequest:
 * ScsiControllerGuids, version-5 GUIDs of "0".."3" in namespace
 * d422512d-2bf2-4752-809d-7b82b5fcb1b4), as VMBus names its devices. */
static const char *const hyperv_controller[DISK_SCSI_CONTROLLERS] = {
	"df6d0690-79e5-55b6-a5ec-c1e2f77f580a",
	"0110f83b-de10-5172-a266-78bca56bf50a",
	"b5d2d8d4-3a75-51bf-945b-3444dc6b8579",
	"305891a9-b251-5dfe-91a2-c25d9212275b",
};

/* The VMBus class of a synthetic SCSI controller (Linux: HV_SCSI_GUID),
 * as /sys/bus/vmbus/devices/GUID/class_id shows it. */
#define STORVSC_CLASS_ID "{ba6163d9-04a1-4d29-b605-72e2ffb1dc7f}"
#define VIRTIO_ID_SCSI "0x0008"
#define VIRTIO_SCSI_MAX 16 /* controllers looked at; more is refused */

/* A small sysfs attribute under dir, without its trailing newline. */
static int read_small(const char *dir, const char *attr, char *out, size_t len)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/%s", dir, attr) >= (int)sizeof path)
		return -1;
	return file_read_small(path, out, len);
}

/* The single "host<N>" entry of a controller's device directory. */
static int scsi_host_of(const char *dir, unsigned *host, struct uvm_err *err)
{
	DIR *d = opendir(dir);
	if (!d)
		return uvm_fail(err, errno, "listing %s: %s", dir, strerror(errno));
	int found = 0;
	for (struct dirent *de; (de = readdir(d));) {
		unsigned n;
		char tail;
		if (sscanf(de->d_name, "host%u%c", &n, &tail) == 1 && n < 100000) {
			*host = n;
			found++;
		}
	}
	closedir(d);
	if (found != 1)
		return uvm_fail(err, ENOENT, "%s has %d SCSI hosts, expected one (is its driver bound?)", dir, found);
	return 0;
}

/* 1 and *host if VMBus has controller c as a storvsc device, 0 if not. */
static int vmbus_controller(unsigned c, unsigned *host, struct uvm_err *err)
{
	char dir[PATH_MAX], class_id[64];
	snprintf(dir, sizeof dir, "%s/vmbus/devices/%s", storage_sys.sys_bus, hyperv_controller[c]);
	if (read_small(dir, "class_id", class_id, sizeof class_id))
		return 0;
	if (strcmp(class_id, STORVSC_CLASS_ID) != 0)
		return uvm_fail(err, EINVAL, "VMBus device %s is of class %s, not a SCSI controller %s",
				hyperv_controller[c], class_id, STORVSC_CLASS_ID);
	return scsi_host_of(dir, host, err) ? -1 : 1;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The virtio-scsi controllers' device directories, resolved (so that they
 * name the PCI address they sit at), sorted. Returns how many, or -1. */
static int virtio_scsi_controllers(char *paths[VIRTIO_SCSI_MAX], struct uvm_err *err)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s/virtio/devices", storage_sys.sys_bus);
	DIR *d = opendir(dir);
	if (!d)
		return 0; /* no virtio bus at all (Hyper-V) */
	int n = 0, rc = 0;
	for (struct dirent *de; rc == 0 && (de = readdir(d));) {
		char dev[PATH_MAX], id[16];
		if (strncmp(de->d_name, "virtio", 6) != 0 ||
		    snprintf(dev, sizeof dev, "%s/%s", dir, de->d_name) >= (int)sizeof dev ||
		    read_small(dev, "device", id, sizeof id) || strcmp(id, VIRTIO_ID_SCSI) != 0)
			continue;
		if (n == VIRTIO_SCSI_MAX)
			rc = uvm_fail(err, E2BIG, "more than %d virtio-scsi controllers: refusing to guess",
				      VIRTIO_SCSI_MAX);
		else if (!(paths[n] = realpath(dev, NULL)))
			rc = uvm_fail(err, errno, "resolving %s: %s", dev, strerror(errno));
		else
			n++;
	}
	closedir(d);
	if (rc) {
		while (n)
			free(paths[--n]);
		return -1;
	}
	qsort(paths, (size_t)n, sizeof *paths, by_path);
	return n;
}

/* 1 and *host if controller c is a virtio-scsi controller, 0 if not. */
static int virtio_controller(unsigned c, unsigned *host, struct uvm_err *err)
{
	char *paths[VIRTIO_SCSI_MAX];
	int n = virtio_scsi_controllers(paths, err);
	if (n < 0)
		return -1;
	int rc = (int)c < n ? (scsi_host_of(paths[c], host, err) ? -1 : 1) : 0;
	while (n)
		free(paths[--n]);
	return rc;
}

static int is_sd_name(const char *n)
{
	size_t l = strlen(n);
	return l >= 3 && l <= 8 && n[0] == 's' && n[1] == 'd' && strspn(n + 2, "abcdefghijklmnopqrstuvwxyz") == l - 2;
}

/* The one block device under the SCSI device H:0:0:L. */
static int scsi_disk_name(unsigned host, unsigned lun, char name[16], struct uvm_err *err)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s/scsi/devices/%u:0:0:%u/block", storage_sys.sys_bus, host, lun);
	DIR *d = opendir(dir);
	if (!d)
		return uvm_fail(err, ENOENT, "no disk at SCSI address %u:0:0:%u (%s: %s)", host, lun, dir,
				strerror(errno));
	int found = 0;
	for (struct dirent *de; (de = readdir(d));) {
		if (de->d_name[0] == '.')
			continue;
		if (!is_sd_name(de->d_name)) {
			found = -1;
			break;
		}
		if (found++ == 0)
			memcpy(name, de->d_name, strlen(de->d_name) + 1); /* <= 8 bytes: is_sd_name */
	}
	closedir(d);
	if (found != 1)
		return uvm_fail(err, EINVAL, "SCSI address %u:0:0:%u: expected one sd disk under %s", host, lun, dir);
	return 0;
}

int blockdev_by_scsi_address(unsigned controller, unsigned lun, char *dev, size_t dev_len, uint64_t *bytes,
			     struct uvm_err *err)
{
	if (controller >= DISK_SCSI_CONTROLLERS || lun >= DISK_SCSI_LUNS)
		return uvm_fail(err, EINVAL, "SCSI controller %u LUN %u: controller must be 0..%d, LUN 0..%d",
				controller, lun, DISK_SCSI_CONTROLLERS - 1, DISK_SCSI_LUNS - 1);
	unsigned host = 0, other;
	struct uvm_err ignored;
	int on_vmbus = vmbus_controller(controller, &host, err);
	if (on_vmbus < 0)
		return -1;
	int on_virtio = on_vmbus ? virtio_controller(controller, &other, &ignored) : 0;
	if (on_vmbus && on_virtio > 0)
		return uvm_fail(err, EEXIST,
				"SCSI controller %u exists on VMBus and on virtio: refusing an ambiguous address",
				controller);
	if (!on_vmbus && (on_virtio = virtio_controller(controller, &host, err)) < 0)
		return -1;
	if (!on_vmbus && !on_virtio)
		return uvm_fail(err, ENOENT,
				"no SCSI controller %u: neither VMBus device %s nor a virtio-scsi controller number %u "
				"(attach the disk with uvm launch --disk scsi%u-lun%u=PATH)",
				controller, hyperv_controller[controller], controller, controller, lun);
	char name[16];
	if (scsi_disk_name(host, lun, name, err) || blockdev_size(name, bytes, err))
		return -1;
	snprintf(dev, dev_len, "/dev/%s", name);
	return 0;
}
