/* ext2 formatter (see ext2_format.h). Field offsets: the kernel's
 * fs/ext4/ext4.h (struct ext4_super_block, ext4_group_desc, ext4_inode),
 * whose first 1024/32/128 bytes are the ext2 layout. */
#include "ext2_format.h"
#include "le.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define SB_OFFSET 1024u
#define GD_SIZE 32u
#define ROOT_INO 2u
#define FIRST_INO 11u /* lost+found: the first non-reserved inode */
#define S_DIR 0040000u

static uint32_t div_up(uint64_t a, uint64_t b)
{
	return (uint32_t)((a + b - 1) / b);
}

static void geom_for(uint32_t blocks, struct uvm_ext2_geom *g)
{
	g->blocks = blocks;
	g->groups = div_up(blocks, UVM_EXT2_BLOCKS_PER_GROUP);
	/* One inode per 16 KiB, a multiple of 32 (whole inode-table blocks). */
	uint32_t ipg = (uint32_t)(((uint64_t)blocks / g->groups / 4 + 31) / 32 * 32);
	g->inodes_per_group = ipg < 32 ? 32 : ipg > 8192 ? 8192 : ipg;
	g->gdt_blocks = div_up((uint64_t)g->groups * GD_SIZE, UVM_EXT2_BLOCK);
	g->itable_blocks = g->inodes_per_group * UVM_EXT2_INODE_SIZE / UVM_EXT2_BLOCK;
	g->overhead = 3 + g->gdt_blocks + g->itable_blocks;
}

static uint32_t group_blocks(const struct uvm_ext2_geom *g, uint32_t grp)
{
	uint64_t start = (uint64_t)grp * UVM_EXT2_BLOCKS_PER_GROUP;
	uint64_t left = g->blocks - start;
	return left > UVM_EXT2_BLOCKS_PER_GROUP ? UVM_EXT2_BLOCKS_PER_GROUP : (uint32_t)left;
}

int uvm_ext2_geometry(uint64_t bytes, struct uvm_ext2_geom *g, struct uvm_err *err)
{
	if (bytes < UVM_EXT2_MIN_BYTES)
		return uvm_fail(err, EINVAL, "ext2: %llu bytes is too small for a file system (at least %llu)",
				(unsigned long long)bytes, (unsigned long long)UVM_EXT2_MIN_BYTES);
	uint64_t blocks = bytes / UVM_EXT2_BLOCK;
	if (blocks > UVM_EXT2_MAX_BLOCKS)
		blocks = UVM_EXT2_MAX_BLOCKS; /* use the first 16 TiB */
	geom_for((uint32_t)blocks, g);
	/* A last group too small for its own metadata plus a little data is
	 * left out, as mke2fs does. */
	if (g->groups > 1 && group_blocks(g, g->groups - 1) < g->overhead + 64)
		geom_for((g->groups - 1) * UVM_EXT2_BLOCKS_PER_GROUP, g);
	if (group_blocks(g, 0) < g->overhead + 2 + 16)
		return uvm_fail(err, EINVAL, "ext2: %llu bytes leave no room for data after the metadata",
				(unsigned long long)bytes);
	return 0;
}

static int write_block(int fd, uint64_t block, const uint8_t *buf, struct uvm_err *err)
{
	off_t off = (off_t)(block * UVM_EXT2_BLOCK);
	ssize_t n = pwrite(fd, buf, UVM_EXT2_BLOCK, off);
	if (n != (ssize_t)UVM_EXT2_BLOCK)
		return uvm_fail(err, n < 0 ? errno : EIO, "ext2: writing block %llu: %s", (unsigned long long)block,
				n < 0 ? strerror(errno) : "short write");
	return 0;
}

static uint32_t group_free_blocks(const struct uvm_ext2_geom *g, uint32_t grp)
{
	return group_blocks(g, grp) - g->overhead - (grp == 0 ? 2 : 0);
}

static uint32_t group_free_inodes(const struct uvm_ext2_geom *g, uint32_t grp)
{
	return g->inodes_per_group - (grp == 0 ? FIRST_INO : 0);
}

/* The 1024-byte superblock as it is stored in group grp. */
static void encode_sb(uint8_t *s, const struct uvm_ext2_geom *g, const struct uvm_ext2_params *p, uint32_t grp)
{
	uint64_t free_blocks = 0, free_inodes = 0;
	for (uint32_t i = 0; i < g->groups; i++) {
		free_blocks += group_free_blocks(g, i);
		free_inodes += group_free_inodes(g, i);
	}
	memset(s, 0, 1024);
	le32_put(s + 0, g->inodes_per_group * g->groups);
	le32_put(s + 4, g->blocks);
	le32_put(s + 12, (uint32_t)free_blocks);
	le32_put(s + 16, (uint32_t)free_inodes);
	le32_put(s + 24, 2); /* log2(4096) - 10 */
	le32_put(s + 28, 2); /* fragment size = block size */
	le32_put(s + 32, UVM_EXT2_BLOCKS_PER_GROUP);
	le32_put(s + 36, UVM_EXT2_BLOCKS_PER_GROUP);
	le32_put(s + 40, g->inodes_per_group);
	le32_put(s + 48, p->time); /* s_wtime */
	le16_put(s + 54, 0xFFFF);  /* s_max_mnt_count -1: no forced checks */
	le16_put(s + 56, 0xEF53);
	le16_put(s + 58, 1);       /* clean */
	le16_put(s + 60, 2);       /* on errors: remount read-only */
	le32_put(s + 64, p->time); /* s_lastcheck */
	le32_put(s + 76, 1);       /* revision 1 (dynamic inode sizes) */
	le32_put(s + 84, FIRST_INO);
	le16_put(s + 88, UVM_EXT2_INODE_SIZE);
	le16_put(s + 90, grp);
	le32_put(s + 92, 0x0008);  /* compat: ext_attr */
	le32_put(s + 96, 0x0002);  /* incompat: filetype */
	le32_put(s + 100, 0x0002); /* ro_compat: large_file */
	memcpy(s + 104, p->uuid, 16);
	memcpy(s + 120, p->label, strnlen(p->label, 16));
	le32_put(s + 264, p->time); /* s_mkfs_time */
}

static int write_sb_and_gdt(int fd, const struct uvm_ext2_geom *g, const struct uvm_ext2_params *p, uint32_t grp,
			    uint8_t *buf, struct uvm_err *err)
{
	uint64_t start = (uint64_t)grp * UVM_EXT2_BLOCKS_PER_GROUP;
	memset(buf, 0, UVM_EXT2_BLOCK);
	/* Group 0's superblock sits after the 1024-byte boot area; the copies
	 * start their group's first block. */
	encode_sb(buf + (grp == 0 ? SB_OFFSET : 0), g, p, grp);
	if (write_block(fd, start, buf, err))
		return -1;
	for (uint32_t b = 0; b < g->gdt_blocks; b++) {
		memset(buf, 0, UVM_EXT2_BLOCK);
		for (uint32_t i = 0; i < UVM_EXT2_BLOCK / GD_SIZE; i++) {
			uint32_t d = b * (UVM_EXT2_BLOCK / GD_SIZE) + i;
			if (d >= g->groups)
				break;
			uint8_t *e = buf + i * GD_SIZE;
			uint32_t ds = d * UVM_EXT2_BLOCKS_PER_GROUP;
			le32_put(e + 0, ds + 1 + g->gdt_blocks);
			le32_put(e + 4, ds + 2 + g->gdt_blocks);
			le32_put(e + 8, ds + 3 + g->gdt_blocks);
			le16_put(e + 12, group_free_blocks(g, d));
			le16_put(e + 14, group_free_inodes(g, d));
			le16_put(e + 16, d == 0 ? 2 : 0);
		}
		if (write_block(fd, start + 1 + b, buf, err))
			return -1;
	}
	return 0;
}

static void set_bits(uint8_t *bm, uint32_t from, uint32_t to)
{
	for (uint32_t i = from; i < to; i++)
		bm[i / 8] |= (uint8_t)(1u << (i % 8));
}

static int write_bitmaps(int fd, const struct uvm_ext2_geom *g, uint32_t grp, uint8_t *buf, struct uvm_err *err)
{
	uint64_t at = (uint64_t)grp * UVM_EXT2_BLOCKS_PER_GROUP + 1 + g->gdt_blocks;
	memset(buf, 0, UVM_EXT2_BLOCK);
	set_bits(buf, 0, g->overhead + (grp == 0 ? 2 : 0));
	set_bits(buf, group_blocks(g, grp), UVM_EXT2_BLOCKS_PER_GROUP); /* past the end */
	if (write_block(fd, at, buf, err))
		return -1;
	memset(buf, 0, UVM_EXT2_BLOCK);
	set_bits(buf, 0, grp == 0 ? FIRST_INO : 0);
	set_bits(buf, g->inodes_per_group, UVM_EXT2_BLOCK * 8); /* padding */
	return write_block(fd, at + 1, buf, err);
}

static void encode_dir_inode(uint8_t *ino, uint32_t mode, uint32_t links, uint32_t block, uint32_t t)
{
	le16_put(ino + 0, S_DIR | mode);
	le32_put(ino + 4, UVM_EXT2_BLOCK);
	le32_put(ino + 8, t);
	le32_put(ino + 12, t);
	le32_put(ino + 16, t);
	le16_put(ino + 26, links);
	le32_put(ino + 28, UVM_EXT2_BLOCK / 512);
	le32_put(ino + 40, block);
}

static int write_itable(int fd, const struct uvm_ext2_geom *g, const struct uvm_ext2_params *p, uint32_t grp,
			uint8_t *buf, struct uvm_err *err)
{
	uint64_t at = (uint64_t)grp * UVM_EXT2_BLOCKS_PER_GROUP + 3 + g->gdt_blocks;
	for (uint32_t b = 0; b < g->itable_blocks; b++) {
		memset(buf, 0, UVM_EXT2_BLOCK);
		if (grp == 0 && b == 0) {
			encode_dir_inode(buf + (ROOT_INO - 1) * UVM_EXT2_INODE_SIZE, 0755, 3, g->overhead, p->time);
			encode_dir_inode(buf + (FIRST_INO - 1) * UVM_EXT2_INODE_SIZE, 0700, 2, g->overhead + 1,
					 p->time);
		}
		if (write_block(fd, at + b, buf, err))
			return -1;
	}
	return 0;
}

/* One directory entry; rec_len covers the rest of the block for the last. */
static uint8_t *dirent(uint8_t *e, uint32_t ino, uint32_t rec_len, const char *name)
{
	size_t n = strlen(name);
	le32_put(e, ino);
	le16_put(e + 4, rec_len);
	e[6] = (uint8_t)n;
	e[7] = 2; /* EXT2_FT_DIR */
	memcpy(e + 8, name, n);
	return e + rec_len;
}

static int write_dirs(int fd, const struct uvm_ext2_geom *g, uint8_t *buf, struct uvm_err *err)
{
	memset(buf, 0, UVM_EXT2_BLOCK);
	uint8_t *e = dirent(buf, ROOT_INO, 12, ".");
	e = dirent(e, ROOT_INO, 12, "..");
	dirent(e, FIRST_INO, UVM_EXT2_BLOCK - 24, "lost+found");
	if (write_block(fd, g->overhead, buf, err))
		return -1;
	memset(buf, 0, UVM_EXT2_BLOCK);
	e = dirent(buf, FIRST_INO, 12, ".");
	dirent(e, ROOT_INO, UVM_EXT2_BLOCK - 12, "..");
	return write_block(fd, g->overhead + 1, buf, err);
}

int uvm_ext2_format(int fd, const struct uvm_ext2_params *p, struct uvm_err *err)
{
	struct uvm_ext2_geom g;
	uint8_t buf[UVM_EXT2_BLOCK];
	if (uvm_ext2_geometry(p->bytes, &g, err))
		return -1;
	if (strnlen(p->label, sizeof p->label) > 16)
		return uvm_fail(err, EINVAL, "ext2: the label is longer than 16 bytes");
	for (uint32_t grp = 0; grp < g.groups; grp++)
		if (write_sb_and_gdt(fd, &g, p, grp, buf, err) || write_bitmaps(fd, &g, grp, buf, err) ||
		    write_itable(fd, &g, p, grp, buf, err))
			return -1;
	if (write_dirs(fd, &g, buf, err))
		return -1;
	if (fsync(fd) != 0)
		return uvm_fail(err, errno, "ext2: flushing the new file system: %s", strerror(errno));
	return 0;
}

/* ------------------------------------------------------------ walking */

static int check_sb(const uint8_t *block0, const struct uvm_ext2_geom *g, struct uvm_err *err)
{
	const uint8_t *s = block0 + SB_OFFSET;
	uint32_t blocks = le32_get(s + 4), log_size = le32_get(s + 24), per_group = le32_get(s + 32);
	if (le16_get(s + 56) != 0xEF53)
		return uvm_fail(err, EINVAL, "ext2: no superblock magic (0x%04x, not 0xef53)", le16_get(s + 56));
	if (blocks != g->blocks || log_size != 2 || per_group != UVM_EXT2_BLOCKS_PER_GROUP)
		return uvm_fail(err, EINVAL,
				"ext2: the superblock says %u blocks of %u bytes, %u per group; this formatter "
				"made %u of %u, %u per group",
				blocks, 1024u << (log_size & 15), per_group, g->blocks, UVM_EXT2_BLOCK,
				UVM_EXT2_BLOCKS_PER_GROUP);
	return 0;
}

/* The runs of set bits in one group's block bitmap, as absolute blocks. */
static int walk_bitmap(const uint8_t *bm, uint64_t base, uint32_t nbits, const struct uvm_ext2_walk *w,
		       struct uvm_err *err)
{
	for (uint32_t i = 0; i < nbits;) {
		if (!(bm[i / 8] >> (i % 8) & 1)) {
			i++;
			continue;
		}
		uint32_t j = i;
		while (j < nbits && (bm[j / 8] >> (j % 8) & 1))
			j++;
		if (w->used_run(w->ctx, base + i, j - i, err))
			return -1;
		i = j;
	}
	return 0;
}

int uvm_ext2_walk_used(uint64_t bytes, const struct uvm_ext2_walk *w, struct uvm_err *err)
{
	struct uvm_ext2_geom g;
	uint8_t buf[UVM_EXT2_BLOCK], gd[UVM_EXT2_BLOCK];
	if (uvm_ext2_geometry(bytes, &g, err) || w->read_block(w->ctx, 0, buf, err) || check_sb(buf, &g, err))
		return -1;
	for (uint32_t grp = 0; grp < g.groups; grp++) {
		/* group 0's descriptor table: block 1 on, GD_SIZE bytes each */
		uint64_t gd_block = 1 + (uint64_t)grp * GD_SIZE / UVM_EXT2_BLOCK;
		if ((grp == 0 || grp * GD_SIZE % UVM_EXT2_BLOCK == 0) && w->read_block(w->ctx, gd_block, gd, err))
			return -1;
		uint32_t bitmap = le32_get(gd + grp * GD_SIZE % UVM_EXT2_BLOCK);
		uint64_t base = (uint64_t)grp * UVM_EXT2_BLOCKS_PER_GROUP;
		if (bitmap < base || bitmap >= base + group_blocks(&g, grp))
			return uvm_fail(err, EINVAL, "ext2: group %u's block bitmap is at block %u, outside the group",
					grp, bitmap);
		if (w->read_block(w->ctx, bitmap, buf, err) || walk_bitmap(buf, base, group_blocks(&g, grp), w, err))
			return -1;
	}
	return 0;
}
