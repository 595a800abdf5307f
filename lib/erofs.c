/* erofs superblock parser; field offsets from the kernel's fs/erofs/erofs_fs.h
 * (struct erofs_super_block, 128 bytes at byte 1024). */
#include "erofs.h"
#include "le.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define SB_MAGIC 0
#define SB_CHECKSUM 4
#define SB_FEATURE_COMPAT 8
#define SB_BLKSZBITS 12
#define SB_BUILD_TIME 24
#define SB_BLOCKS 36
#define SB_UUID 48
#define SB_EXTRA_DEVICES 86
#define COMPAT_SB_CHKSUM 0x1u

uint32_t uvm_erofs_crc32c(uint32_t crc, const uint8_t *p, size_t len)
{
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
	}
	return crc;
}

/* The kernel checks crc32c(~0) over the rest of the first block with the
 * checksum field zeroed (erofs_superblock_csum_verify). */
static int checksum_ok(const uint8_t *head)
{
	uint8_t copy[UVM_EROFS_BLOCK - UVM_EROFS_SB_OFFSET];
	memcpy(copy, head + UVM_EROFS_SB_OFFSET, sizeof copy);
	uint32_t want = le32_get(copy + SB_CHECKSUM);
	memset(copy + SB_CHECKSUM, 0, 4);
	return uvm_erofs_crc32c(~0u, copy, sizeof copy) == want;
}

int uvm_erofs_parse(const uint8_t *head, size_t len, struct uvm_erofs_info *info, struct uvm_err *err)
{
	memset(info, 0, sizeof *info);
	if (!head || len < UVM_EROFS_HEAD)
		return uvm_fail(err, EINVAL, "erofs: %zu bytes given, the superblock needs %u", len, UVM_EROFS_HEAD);
	const uint8_t *sb = head + UVM_EROFS_SB_OFFSET;
	if (le32_get(sb + SB_MAGIC) != UVM_EROFS_MAGIC)
		return uvm_fail(err, EINVAL,
				"erofs: no superblock magic at byte %u (not an erofs "
				"layer image?)",
				UVM_EROFS_SB_OFFSET);
	if (sb[SB_BLKSZBITS] != 12)
		return uvm_fail(err, EINVAL, "erofs: block size 2^%u, only 4096 is supported", sb[SB_BLKSZBITS]);
	if (sb[SB_EXTRA_DEVICES] || sb[SB_EXTRA_DEVICES + 1])
		return uvm_fail(err, EINVAL, "erofs: image refers to extra devices");
	if ((le32_get(sb + SB_FEATURE_COMPAT) & COMPAT_SB_CHKSUM) && !checksum_ok(head))
		return uvm_fail(err, EINVAL, "erofs: superblock checksum mismatch");
	info->blocks = le32_get(sb + SB_BLOCKS);
	if (info->blocks == 0)
		return uvm_fail(err, EINVAL, "erofs: superblock says 0 blocks");
	info->build_time = (uint64_t)le32_get(sb + SB_BUILD_TIME) | (uint64_t)le32_get(sb + SB_BUILD_TIME + 4) << 32;
	memcpy(info->uuid, sb + SB_UUID, 16);
	return 0;
}

int uvm_erofs_read(int fd, struct uvm_erofs_info *info, struct uvm_err *err)
{
	uint8_t head[UVM_EROFS_HEAD];
	size_t got = 0;
	while (got < sizeof head) {
		ssize_t n = pread(fd, head + got, sizeof head - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return uvm_fail(err, errno, "erofs: read the superblock: %s", strerror(errno));
		if (n == 0)
			return uvm_fail(err, EINVAL, "erofs: device shorter than %u bytes", UVM_EROFS_HEAD);
		got += (size_t)n;
	}
	return uvm_erofs_parse(head, sizeof head, info, err);
}
