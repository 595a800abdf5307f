/* Unit tests of the disk names (lib/disk_name.c) and of finding a disk by
 * SCSI address (agent/blockdev_scsi.c, through blockdev_by_serial) on the
 * host: a temporary tree plays /sys/bus and /sys/block as Hyper-V (storvsc
 * on VMBus, hcsshim's controller GUIDs) and QEMU (virtio-scsi on PCI) lay
 * them out. Checked: the strict name form, the controller found by GUID or
 * by PCI order (not by virtio index or sdX order), a device of another class
 * under a controller GUID, an address present on both buses, a missing
 * LUN, two disks under one address, and a virtio serial that looks like a
 * SCSI name is never matched. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "disk_name.h"
#include "storage.h"
#include "storage_sys.h"

static char root[64];
static char bus[96], block[96];

static void path_of(char *out, size_t len, const char *fmt, va_list ap)
{
	int n = snprintf(out, len, "%s/", root);
	vsnprintf(out + n, len - (size_t)n, fmt, ap);
}

/* mkdir -p ROOT/FMT */
static void dir(const char *fmt, ...)
{
	char p[512];
	va_list ap;
	va_start(ap, fmt);
	path_of(p, sizeof p, fmt, ap);
	va_end(ap);
	for (char *s = p + strlen(root) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	mkdir(p, 0755);
}

/* ROOT/PATH gets content (its directory must exist). */
static void file(const char *path, const char *content)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", root, path);
	FILE *f = fopen(p, "w");
	if (!f) {
		perror(p);
		exit(2);
	}
	fputs(content, f);
	fclose(f);
}

static void link_to(const char *target, const char *path)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", root, path);
	if (symlink(target, p) != 0) {
		perror(p);
		exit(2);
	}
}

/* A sd disk: /sys/block/NAME/size and the SCSI device H:0:0:L/block/NAME. */
static void sd_disk(unsigned host, unsigned lun, const char *name, const char *sectors)
{
	char p[256];
	dir("block/%s", name);
	snprintf(p, sizeof p, "block/%s/size", name);
	file(p, sectors);
	dir("bus/scsi/devices/%u:0:0:%u/block/%s", host, lun, name);
}

static void reset_tree(void)
{
	char cmd[320];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'/bus '%s'/block '%s'/devices", root, root, root);
	if (system(cmd) != 0)
		exit(2);
	dir("bus");
	dir("block");
}

/* Hyper-V: storvsc controller `guid` with SCSI host `host`. */
static void vmbus_controller(const char *guid, const char *class_id, unsigned host)
{
	char p[256];
	dir("bus/vmbus/devices/%s/host%u", guid, host);
	snprintf(p, sizeof p, "bus/vmbus/devices/%s/class_id", guid);
	file(p, class_id);
}

/* QEMU: a virtio device virtioK at PCI address pci, of virtio device id. */
static void virtio_device(unsigned k, const char *pci, const char *id, unsigned host)
{
	char p[256], target[256];
	dir("devices/pci0000:00/%s/virtio%u/host%u", pci, k, host);
	snprintf(p, sizeof p, "devices/pci0000:00/%s/virtio%u/device", pci, k);
	file(p, id);
	dir("bus/virtio/devices");
	snprintf(target, sizeof target, "../../../devices/pci0000:00/%s/virtio%u", pci, k);
	snprintf(p, sizeof p, "bus/virtio/devices/virtio%u", k);
	link_to(target, p);
}

static int find(const char *name, char dev[32], uint64_t *bytes, struct uvm_err *err)
{
	dev[0] = '\0';
	err->msg[0] = '\0';
	return blockdev_by_serial(name, dev, 32, bytes, err);
}

#define STORVSC "{ba6163d9-04a1-4d29-b605-72e2ffb1dc7f}\n"
#define GUID0 "df6d0690-79e5-55b6-a5ec-c1e2f77f580a"
#define GUID1 "0110f83b-de10-5172-a266-78bca56bf50a"

static void test_names(void)
{
	unsigned c = 99, l = 99;
	CHECK(disk_name_scsi("scsi0-lun0", &c, &l) && c == 0 && l == 0, "scsi0-lun0 is controller 0 LUN 0");
	CHECK(disk_name_scsi("scsi3-lun63", &c, &l) && c == 3 && l == 63, "scsi3-lun63 is the last address");
	const char *bad[] = {"scsi4-lun0", "scsi0-lun64", "scsi00-lun1", "scsi0-lun01", "scsi0-lun1x",
			     "scsi-lun1",  "scsi0lun1",   "scsi0-lun",   "SCSI0-lun1",  "scsi0-lun99999999999"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		CHECK(!disk_name_scsi(bad[i], &c, &l), "'%s' is not a SCSI address", bad[i]);
	CHECK(disk_name_scsi_like("scsi9-lun0") && disk_name_scsi_like("scsi0-lun01"),
	      "near misses are recognised as meant for SCSI");
	CHECK(!disk_name_scsi_like("layer0") && !disk_name_scsi_like("scsi") && !disk_name_scsi_like("scsiA"),
	      "other names are virtio serials");
}

static void test_hyperv(void)
{
	char dev[32];
	uint64_t bytes = 0;
	struct uvm_err err;
	reset_tree();
	/* Controller 1 came up first and got host 0; controller 0 got host 1,
	 * and its LUN 2 disk is sdc although sdb exists. */
	vmbus_controller(GUID1, STORVSC, 0);
	vmbus_controller(GUID0, STORVSC, 1);
	sd_disk(0, 2, "sdb", "16\n");
	sd_disk(1, 2, "sdc", "2048\n");
	CHECK(find("scsi0-lun2", dev, &bytes, &err) == 0, "scsi0-lun2 found on VMBus: %s", err.msg);
	CHECK_EQ_STR(dev, "/dev/sdc", "controller 0 is the GUID, not the first host");
	CHECK_EQ_INT(bytes, 2048 * 512, "its size from /sys/block/sdc/size");
	CHECK(find("scsi1-lun2", dev, &bytes, &err) == 0 && strcmp(dev, "/dev/sdb") == 0,
	      "scsi1-lun2 is sdb on host 0");
	CHECK(find("scsi0-lun3", dev, &bytes, &err) == -1 && err.code == ENOENT, "a missing LUN is not found");
	CHECK_MSG(err.msg, "1:0:0:3", "the message names the SCSI address");
	CHECK(find("scsi2-lun0", dev, &bytes, &err) == -1 && err.code == ENOENT, "a missing controller");
	CHECK_MSG(err.msg, "b5d2d8d4-3a75-51bf-945b-3444dc6b8579", "the message names the controller's GUID");
	CHECK_MSG(err.msg, "uvm launch --disk scsi2-lun0=PATH", "and says how to attach it");

	/* A device of another class under controller 0's GUID. */
	reset_tree();
	vmbus_controller(GUID0, "{f8615163-df3e-46c5-913f-f2d2f965ed0e}\n", 0); /* a network adapter */
	sd_disk(0, 0, "sda", "8\n");
	CHECK(find("scsi0-lun0", dev, &bytes, &err) == -1 && err.code == EINVAL,
	      "a VMBus device of another class is not a SCSI controller");
	CHECK_MSG(err.msg, "not a SCSI controller", "and the message says so: %s", err.msg);

	/* Two disks under one address (not what the kernel makes). */
	reset_tree();
	vmbus_controller(GUID0, STORVSC, 0);
	sd_disk(0, 0, "sda", "8\n");
	sd_disk(0, 0, "sdb", "8\n");
	CHECK(find("scsi0-lun0", dev, &bytes, &err) == -1, "two disks at one address are refused");
	reset_tree();
	vmbus_controller(GUID0, STORVSC, 0);
	dir("bus/scsi/devices/0:0:0:0/block/vda");
	CHECK(find("scsi0-lun0", dev, &bytes, &err) == -1, "a non-sd block name under an address is refused");
}

static void test_qemu(void)
{
	char dev[32];
	uint64_t bytes = 0;
	struct uvm_err err;
	reset_tree();
	/* virtio2 sits at 00:04.0 and virtio1 at 00:05.0: PCI order makes
	 * virtio2 controller 0. virtio0 is a block device (id 2). */
	virtio_device(0, "0000:00:03.0", "0x0002\n", 9);
	virtio_device(1, "0000:00:05.0", "0x0008\n", 0);
	virtio_device(2, "0000:00:04.0", "0x0008\n", 1);
	sd_disk(0, 1, "sda", "100\n");
	sd_disk(1, 1, "sdb", "200\n");
	CHECK(find("scsi0-lun1", dev, &bytes, &err) == 0, "scsi0-lun1 found on virtio-scsi: %s", err.msg);
	CHECK_EQ_STR(dev, "/dev/sdb", "controller 0 is the lower PCI address, not the lower virtio index");
	CHECK_EQ_INT(bytes, 200 * 512, "with its size");
	CHECK(find("scsi1-lun1", dev, &bytes, &err) == 0 && strcmp(dev, "/dev/sda") == 0,
	      "controller 1 is the next PCI address");
	CHECK(find("scsi2-lun1", dev, &bytes, &err) == -1 && err.code == ENOENT,
	      "a third controller does not exist (the block device does not count)");

	/* The same controller number on both buses. */
	vmbus_controller(GUID0, STORVSC, 5);
	sd_disk(5, 1, "sdc", "300\n");
	CHECK(find("scsi0-lun1", dev, &bytes, &err) == -1 && err.code == EEXIST,
	      "controller 0 on VMBus and on virtio is ambiguous");
	CHECK_MSG(err.msg, "ambiguous", "and the message says so");
}

static void test_forms_do_not_mix(void)
{
	char dev[32];
	uint64_t bytes = 0;
	struct uvm_err err;
	reset_tree();
	/* A virtio-blk disk whose serial is a SCSI name, and no SCSI bus. */
	dir("block/vda");
	file("block/vda/serial", "scsi0-lun0\n");
	file("block/vda/size", "8\n");
	CHECK(find("scsi0-lun0", dev, &bytes, &err) == -1 && err.code == ENOENT,
	      "a virtio serial never answers for a SCSI address");
	CHECK(find("scsi0-lun00", dev, &bytes, &err) == -1 && err.code == EINVAL,
	      "a near miss of the SCSI form is refused, not looked up as a serial");
	CHECK_MSG(err.msg, "scsi<C>-lun<L>", "the message gives the form");
	file("block/vda/serial", "layer0\n");
	CHECK(find("layer0", dev, &bytes, &err) == 0 && strcmp(dev, "/dev/vda") == 0,
	      "a plain serial still finds its virtio disk");
}

int main(void)
{
	snprintf(root, sizeof root, "/tmp/test_blockdev_scsi.XXXXXX");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(bus, sizeof bus, "%s/bus", root);
	snprintf(block, sizeof block, "%s/block", root);
	storage_sys.sys_bus = bus;
	storage_sys.sys_block = block;
	test_names();
	test_hyperv();
	test_qemu();
	test_forms_do_not_mix();
	char cmd[320];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", root);
	return check_done();
}
