/* bzImage setup header (see bzimage.h). Written from the Linux boot
 * protocol document; every offset is checked against the file's length
 * before it is read. */
#include "bzimage.h"
#include "le.h"

#include <string.h>

#define SECTOR 512u
#define ONE_GIB (1u << 30)

int bzimage_parse(const uint8_t *d, size_t len, struct bzimage *bz, struct uvm_err *err)
{
	memset(bz, 0, sizeof *bz);
	if (len < BZ_MAGIC + 4 || memcmp(d + BZ_MAGIC, "HdrS", 4) != 0)
		return uvm_fail(err, 0, "not a bzImage (no \"HdrS\" setup header at 0x202); give the kernel's bzImage");
	if (le16_get(d + BZ_BOOT_FLAG) != 0xAA55)
		return uvm_fail(err, 0, "boot flag at 0x1fe is 0x%04x, not 0xaa55; the file is not a bzImage",
				le16_get(d + BZ_BOOT_FLAG));
	if (len < BZ_VERSION + 2)
		return uvm_fail(err, 0, "the file (%zu bytes) ends before the boot protocol version at 0x206", len);
	bz->version = le16_get(d + BZ_VERSION);
	if (bz->version < BZ_PROTOCOL_MIN)
		return uvm_fail(err, 0,
				"boot protocol %u.%02u is older than 2.12: no 64-bit entry point can be declared; "
				"use a newer kernel",
				bz->version >> 8, bz->version & 0xff);
	bz->hdr_end = 0x202u + d[BZ_JUMP + 1];
	if (d[BZ_JUMP] != 0xEB || bz->hdr_end < BZ_HDR_END_MIN || bz->hdr_end > BZ_HDR_END_MAX)
		return uvm_fail(err, 0,
				"the setup header ends at 0x%zx (jump 0x%02x 0x%02x at 0x200), outside 0x%x..0x%x "
				"where protocol 2.12 and boot_params put it",
				bz->hdr_end, d[BZ_JUMP], d[BZ_JUMP + 1], BZ_HDR_END_MIN, BZ_HDR_END_MAX);
	if (len < bz->hdr_end)
		return uvm_fail(err, 0, "the file (%zu bytes) ends inside its setup header (0x%zx bytes)", len,
				bz->hdr_end);
	bz->setup_sects = d[BZ_SETUP_SECTS];
	bz->pm_offset = ((size_t)(bz->setup_sects ? bz->setup_sects : 4) + 1) * SECTOR;
	if (bz->pm_offset >= len)
		return uvm_fail(err, 0,
				"%u setup sectors reach the end of the %zu-byte file: no protected-mode kernel "
				"follows them",
				bz->setup_sects ? bz->setup_sects : 4, len);
	bz->pm_len = len - bz->pm_offset;
	bz->loadflags = d[BZ_LOADFLAGS];
	bz->xloadflags = le16_get(d + BZ_XLOADFLAGS);
	bz->initrd_addr_max = le32_get(d + BZ_INITRD_ADDR_MAX);
	bz->kernel_alignment = le32_get(d + BZ_KERNEL_ALIGNMENT);
	bz->cmdline_size = le32_get(d + BZ_CMDLINE_SIZE);
	bz->pref_address = le64_get(d + BZ_PREF_ADDRESS);
	bz->init_size = le32_get(d + BZ_INIT_SIZE);
	if (!(bz->xloadflags & BZ_XLF_KERNEL_64))
		return uvm_fail(err, 0,
				"xloadflags 0x%x lack XLF_KERNEL_64: the kernel has no 64-bit entry point at "
				"+0x200; build it for x86_64",
				bz->xloadflags);
	if (!(bz->loadflags & BZ_LOADED_HIGH))
		return uvm_fail(err, 0, "loadflags 0x%02x lack LOADED_HIGH: a zImage, not a bzImage", bz->loadflags);
	if (!d[BZ_RELOCATABLE])
		return uvm_fail(err, 0,
				"relocatable_kernel is 0: the kernel can only run at 0x%llx, not where the "
				"layout loads it; build it with CONFIG_RELOCATABLE=y",
				(unsigned long long)bz->pref_address);
	uint32_t a = bz->kernel_alignment;
	if (a < 4096 || a > ONE_GIB || (a & (a - 1)))
		return uvm_fail(err, 0, "kernel_alignment 0x%x is not a power of two from 4 KiB to 1 GiB", a);
	if (bz->init_size == 0 || bz->init_size > ONE_GIB)
		return uvm_fail(err, 0, "init_size 0x%x is 0 or larger than 1 GiB", bz->init_size);
	if (bz->pref_address % 4096 || bz->pref_address > (4ull << 30))
		return uvm_fail(err, 0, "pref_address 0x%llx is not page aligned below 4 GiB",
				(unsigned long long)bz->pref_address);
	return 0;
}
