/* dm-verity in veritysetup's on-disk format (superblock version 1, hash type
 * 1, sha256, 4096-byte data and hash blocks). The host builds the hash tree
 * of a layer image (uvm layer); the guest parses the superblock it finds on
 * the device and builds the kernel table with the root hash from the policy.
 *
 * Layout of one layer device (docs/layers.md):
 *   [0, D*4096)                 data: the erofs image, D = data_blocks
 *   [D*4096, D*4096+4096)       verity superblock (512 bytes, zero padded)
 *   [D*4096+4096, ...)          hash tree, top level first (as the kernel
 *                               and veritysetup expect it)
 * so hash_offset = D*4096 and the kernel's hash_start_block = D + 1. */
#ifndef UVM_VERITY_H
#define UVM_VERITY_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "hash.h"

#define UVM_VERITY_BLOCK 4096u
#define UVM_VERITY_SB_SIZE 512u
#define UVM_VERITY_SALT_MAX 256u
#define UVM_VERITY_MAX_LEVELS 63
/* The tree is computed in memory (1/128 of the data); 2^24 blocks = 64 GiB
 * of data is the largest layer we accept, a 512 MiB tree at most. */
#define UVM_VERITY_MAX_DATA_BLOCKS (1ull << 24)
/* Length of the kernel table parameters string we build, NUL included. */
#define UVM_VERITY_TABLE_MAX 1024

struct uvm_verity_sb {
	uint8_t uuid[16];
	uint64_t data_blocks;
	uint16_t salt_len;
	uint8_t salt[UVM_VERITY_SALT_MAX];
};

/* Where each level of the tree lives, in blocks from the start of the tree
 * (the block after the superblock). levels == 0 when data_blocks == 1: the
 * root hash is then the hash of the only data block and the tree is empty. */
struct uvm_verity_geom {
	unsigned levels;
	uint64_t level_start[UVM_VERITY_MAX_LEVELS];
	uint64_t level_blocks[UVM_VERITY_MAX_LEVELS];
	uint64_t tree_blocks;
};

int uvm_verity_geometry(uint64_t data_blocks, struct uvm_verity_geom *g, struct uvm_err *err);

/* Encodes the 512-byte superblock (little-endian, "verity\0\0", version 1,
 * hash_type 1, "sha256", 4096/4096). */
void uvm_verity_sb_encode(const struct uvm_verity_sb *sb, uint8_t out[UVM_VERITY_SB_SIZE]);

/* Parses a superblock from len bytes (len >= 512). Rejects anything but
 * exactly the parameters above, a salt longer than 256 bytes, data_blocks of
 * 0 or above UVM_VERITY_MAX_DATA_BLOCKS, and non-zero padding. */
int uvm_verity_sb_decode(const uint8_t *buf, size_t len, struct uvm_verity_sb *sb, struct uvm_err *err);

/* Reads data_blocks blocks from fd at offset 0 and computes the hash tree
 * and the root hash. If tree is not NULL it receives the tree
 * (g->tree_blocks * 4096 bytes, laid out as on disk). */
int uvm_verity_compute(int fd, uint64_t data_blocks, const uint8_t *salt, size_t salt_len, uint8_t *tree,
		       uint8_t root[UVM_SHA256_LEN], struct uvm_err *err);

/* Appends superblock and hash tree to a file whose first data_blocks*4096
 * bytes are the data (the file is truncated to data, superblock, tree).
 * Returns the root hash; the hash offset is data_blocks * 4096. */
int uvm_verity_format(int fd, const struct uvm_verity_sb *sb, uint8_t root[UVM_SHA256_LEN], struct uvm_err *err);

/* Reads and decodes the superblock at hash_offset of fd (a file or block
 * device) and checks that the device is large enough to hold the hash tree
 * it implies. The caller learns hash_offset from the file system (erofs.h). */
int uvm_verity_read_sb(int fd, uint64_t hash_offset, struct uvm_verity_sb *sb, struct uvm_err *err);

/* Builds the dm-verity target parameters (Documentation/admin-guide/
 * device-mapper/verity.rst):
 *   1 DATA_DEV HASH_DEV 4096 4096 DATA_BLOCKS HASH_START sha256 ROOT SALT
 * where HASH_START = hash_offset/4096 + 1 (the block after the superblock)
 * and SALT is lowercase hex or "-" when empty. No optional arguments: a
 * corrupted block then fails the read with EIO. Device names must be
 * non-empty and free of white space. */
int uvm_verity_table(char *out, size_t out_len, const char *data_dev, const char *hash_dev,
		     const struct uvm_verity_sb *sb, uint64_t hash_offset, const uint8_t root[UVM_SHA256_LEN],
		     struct uvm_err *err);

#endif
