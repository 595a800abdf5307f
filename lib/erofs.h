/* The erofs superblock, read by the guest to learn where a layer's file
 * system ends: the verity superblock and hash tree follow it (verity.h,
 * docs/layers.md). Only what that needs is parsed, and strictly: the device
 * is host-supplied, and anything unexpected is refused. */
#ifndef UVM_EROFS_H
#define UVM_EROFS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define UVM_EROFS_SB_OFFSET 1024u
#define UVM_EROFS_MAGIC 0xE0F5E1E2u
#define UVM_EROFS_BLOCK 4096u
/* Bytes a caller reads from the start of the device for uvm_erofs_parse. */
#define UVM_EROFS_HEAD 4096u

struct uvm_erofs_info {
	uint32_t blocks;     /* file system size in 4096-byte blocks */
	uint64_t build_time; /* seconds, as mkfs.erofs recorded it */
	uint8_t uuid[16];
};

/* Parses the superblock from the first len bytes of the device (len >= 4096).
 * Requires the magic, 4096-byte blocks, no extra devices, a non-zero block
 * count, and, when the image declares one, a correct crc32c checksum. */
int uvm_erofs_parse(const uint8_t *head, size_t len, struct uvm_erofs_info *info, struct uvm_err *err);

/* crc32c (Castagnoli) without the final inversion, as erofs uses it. */
uint32_t uvm_erofs_crc32c(uint32_t crc, const uint8_t *p, size_t len);

/* Reads the head of fd and parses it. */
int uvm_erofs_read(int fd, struct uvm_erofs_info *info, struct uvm_err *err);

#endif
