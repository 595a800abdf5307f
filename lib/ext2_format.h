/* A minimal ext2 formatter for the guest's scratch space (docs/storage.md):
 * the image has no mkfs and no shell, and an overlay upper directory needs
 * a writable file system with xattrs, which the kernel's ext4 driver gives
 * us on ext2 (CONFIG_EXT4_USE_FOR_EXT2).
 *
 * Layout: revision 1, 4096-byte blocks, 32768 blocks per group, 128-byte
 * inodes, features filetype + ext_attr + large_file only, a superblock and
 * descriptor copy in every group (no sparse_super: one layout for all
 * groups). Writes every metadata block it relies on, including the inode
 * tables, in whole blocks, so it never depends on what the device held: on
 * the scratch pool a sector nobody wrote reads as EIO (dm-integrity), and the
 * file system never reads a block before writing it. Checked with
 * `e2fsck -fn` by tests/unit/test_ext2. */
#ifndef UVM_EXT2_FORMAT_H
#define UVM_EXT2_FORMAT_H

#include <stdint.h>

#include "err.h"

#define UVM_EXT2_BLOCK 4096u
#define UVM_EXT2_BLOCKS_PER_GROUP 32768u
#define UVM_EXT2_INODE_SIZE 128u
/* 2 MiB: room for one group's metadata, the root and lost+found. */
#define UVM_EXT2_MIN_BYTES (2ull << 20)
/* 2^32 - 1 blocks: the 32-bit block numbers of ext2. */
#define UVM_EXT2_MAX_BLOCKS 0xFFFFFFFFull

struct uvm_ext2_params {
	uint64_t bytes; /* device size; the file system uses whole groups */
	uint8_t uuid[16];
	char label[17]; /* up to 16 bytes, NUL-terminated */
	uint32_t time;  /* creation time stamps */
};

/* The geometry the formatter derives (exposed for the tests). */
struct uvm_ext2_geom {
	uint32_t blocks, groups, inodes_per_group, gdt_blocks, itable_blocks;
	uint32_t overhead; /* metadata blocks at the start of every group */
};

int uvm_ext2_geometry(uint64_t bytes, struct uvm_ext2_geom *g, struct uvm_err *err);

/* Formats fd (a block device or file of at least p->bytes bytes). */
int uvm_ext2_format(int fd, const struct uvm_ext2_params *p, struct uvm_err *err);

/* How the walker below reads a block of the file system (block number from
 * its start) and reports a run of blocks in use. Both return 0 or -1 with err
 * set; a failure stops the walk. */
struct uvm_ext2_walk {
	int (*read_block)(void *ctx, uint64_t block, uint8_t buf[UVM_EXT2_BLOCK], struct uvm_err *err);
	int (*used_run)(void *ctx, uint64_t first, uint64_t count, struct uvm_err *err);
	void *ctx;
};

/* Walks the block bitmaps of a file system this formatter made over bytes
 * (the geometry is recomputed, not taken from the disk) and reports every
 * run of blocks marked in use, in order: the metadata, the directories and
 * whatever the kernel allocated since. The superblock must carry the magic
 * and the geometry's block count, size and group size; anything else is
 * refused, naming what differs. */
int uvm_ext2_walk_used(uint64_t bytes, const struct uvm_ext2_walk *w, struct uvm_err *err);

#endif
