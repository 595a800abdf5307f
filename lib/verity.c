/* dm-verity hash tree and superblock; see verity.h for the layout. The
 * geometry follows the kernel's dm-verity-target.c and cryptsetup's
 * verity_hash.c (levels, top level first); hash type 1 hashes salt || block. */
#include "verity.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hex.h"
#include "le.h"

#define HASHES_PER_BLOCK_BITS 7 /* 4096 / 32 = 128 digests per hash block */
#define READ_CHUNK_BLOCKS 256   /* 1 MiB reads */

static const uint8_t sb_signature[8] = {'v', 'e', 'r', 'i', 't', 'y', 0, 0};

int uvm_verity_geometry(uint64_t data_blocks, struct uvm_verity_geom *g, struct uvm_err *err)
{
	memset(g, 0, sizeof *g);
	if (data_blocks == 0 || data_blocks > UVM_VERITY_MAX_DATA_BLOCKS)
		return uvm_fail(err, EINVAL, "verity: %llu data blocks is outside 1..%llu",
				(unsigned long long)data_blocks, UVM_VERITY_MAX_DATA_BLOCKS);
	unsigned levels = 0;
	while (HASHES_PER_BLOCK_BITS * levels < 64 && ((data_blocks - 1) >> (HASHES_PER_BLOCK_BITS * levels)) != 0)
		levels++;
	g->levels = levels;
	/* Level i holds ceil(data_blocks / 128^(i+1)) blocks; the top level
	 * comes first on disk. */
	uint64_t pos = 0;
	for (int i = (int)levels - 1; i >= 0; i--) {
		unsigned shift = HASHES_PER_BLOCK_BITS * (unsigned)(i + 1);
		uint64_t n = shift >= 64 ? 1 : (data_blocks + (1ull << shift) - 1) >> shift;
		g->level_start[i] = pos;
		g->level_blocks[i] = n;
		pos += n;
	}
	g->tree_blocks = pos;
	return 0;
}

void uvm_verity_sb_encode(const struct uvm_verity_sb *sb, uint8_t out[UVM_VERITY_SB_SIZE])
{
	memset(out, 0, UVM_VERITY_SB_SIZE);
	memcpy(out, sb_signature, 8);
	le32_put(out + 8, 1);  /* version */
	le32_put(out + 12, 1); /* hash_type: normal (not Chrome OS) */
	memcpy(out + 16, sb->uuid, 16);
	memcpy(out + 32, "sha256", 6); /* algorithm[32], NUL padded */
	le32_put(out + 64, UVM_VERITY_BLOCK);
	le32_put(out + 68, UVM_VERITY_BLOCK);
	le64_put(out + 72, sb->data_blocks);
	uint16_t salt_len = sb->salt_len > UVM_VERITY_SALT_MAX ? UVM_VERITY_SALT_MAX : sb->salt_len;
	le16_put(out + 80, salt_len);
	memcpy(out + 88, sb->salt, salt_len);
}

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

int uvm_verity_sb_decode(const uint8_t *buf, size_t len, struct uvm_verity_sb *sb, struct uvm_err *err)
{
	static const uint8_t alg[32] = "sha256";
	memset(sb, 0, sizeof *sb);
	if (!buf || len < UVM_VERITY_SB_SIZE)
		return uvm_fail(err, EINVAL, "verity superblock: %zu bytes, need %u", len, UVM_VERITY_SB_SIZE);
	if (memcmp(buf, sb_signature, 8) != 0)
		return uvm_fail(err, EINVAL,
				"verity superblock: no \"verity\" signature (not a "
				"layer image built by 'uvm layer'?)");
	if (le32_get(buf + 8) != 1 || le32_get(buf + 12) != 1)
		return uvm_fail(err, EINVAL,
				"verity superblock: version %u hash type %u, only 1/1 "
				"is supported",
				le32_get(buf + 8), le32_get(buf + 12));
	if (memcmp(buf + 32, alg, sizeof alg) != 0)
		return uvm_fail(err, EINVAL, "verity superblock: hash algorithm is not sha256");
	if (le32_get(buf + 64) != UVM_VERITY_BLOCK || le32_get(buf + 68) != UVM_VERITY_BLOCK)
		return uvm_fail(err, EINVAL,
				"verity superblock: block sizes %u/%u, only %u is "
				"supported",
				le32_get(buf + 64), le32_get(buf + 68), UVM_VERITY_BLOCK);
	uint64_t blocks = le64_get(buf + 72);
	if (blocks == 0 || blocks > UVM_VERITY_MAX_DATA_BLOCKS)
		return uvm_fail(err, EINVAL, "verity superblock: %llu data blocks is outside 1..%llu",
				(unsigned long long)blocks, UVM_VERITY_MAX_DATA_BLOCKS);
	uint16_t salt_len = (uint16_t)(buf[80] | buf[81] << 8);
	if (salt_len > UVM_VERITY_SALT_MAX)
		return uvm_fail(err, EINVAL, "verity superblock: salt of %u bytes, at most %u", salt_len,
				UVM_VERITY_SALT_MAX);
	/* Padding and the unused salt tail must be zero: one encoding only. */
	if (!all_zero(buf + 82, 6) || !all_zero(buf + 88 + salt_len, 256 - salt_len) ||
	    !all_zero(buf + 344, UVM_VERITY_SB_SIZE - 344))
		return uvm_fail(err, EINVAL, "verity superblock: non-zero padding");
	memcpy(sb->uuid, buf + 16, 16);
	sb->data_blocks = blocks;
	sb->salt_len = salt_len;
	memcpy(sb->salt, buf + 88, salt_len);
	return 0;
}

static int read_full(int fd, void *buf, size_t len, uint64_t off, struct uvm_err *err)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return uvm_fail(err, errno, "verity: read at byte %llu: %s", (unsigned long long)off,
					strerror(errno));
		if (n == 0)
			return uvm_fail(err, EIO,
					"verity: data ends at byte %llu, before the "
					"declared data blocks",
					(unsigned long long)off);
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t len, uint64_t off, struct uvm_err *err)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return uvm_fail(err, n < 0 ? errno : EIO, "verity: write at byte %llu: %s",
					(unsigned long long)off, n < 0 ? strerror(errno) : "short write");
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/* Hashes count blocks into consecutive digests at out; salted is the
 * context after the salt, copied per block (hash type 1: salt first). */
static void hash_blocks(const struct uvm_sha256_ctx *salted, const uint8_t *in, size_t count, uint8_t *out)
{
	for (size_t i = 0; i < count; i++) {
		struct uvm_sha256_ctx c = *salted;
		uvm_sha256_update(&c, in + i * UVM_VERITY_BLOCK, UVM_VERITY_BLOCK);
		uvm_sha256_final(&c, out + i * UVM_SHA256_LEN);
	}
}

static int hash_data(int fd, uint64_t data_blocks, const struct uvm_sha256_ctx *salted, uint8_t *out,
		     struct uvm_err *err)
{
	uint8_t *buf = malloc((size_t)READ_CHUNK_BLOCKS * UVM_VERITY_BLOCK);
	if (!buf)
		return uvm_fail(err, ENOMEM, "verity: out of memory for the read buffer");
	for (uint64_t b = 0; b < data_blocks; b += READ_CHUNK_BLOCKS) {
		size_t n = data_blocks - b < READ_CHUNK_BLOCKS ? (size_t)(data_blocks - b) : READ_CHUNK_BLOCKS;
		if (read_full(fd, buf, n * UVM_VERITY_BLOCK, b * UVM_VERITY_BLOCK, err) < 0) {
			free(buf);
			return -1;
		}
		hash_blocks(salted, buf, n, out + b * UVM_SHA256_LEN);
	}
	free(buf);
	return 0;
}

int uvm_verity_compute(int fd, uint64_t data_blocks, const uint8_t *salt, size_t salt_len, uint8_t *tree,
		       uint8_t root[UVM_SHA256_LEN], struct uvm_err *err)
{
	struct uvm_verity_geom g;
	if (salt_len > UVM_VERITY_SALT_MAX)
		return uvm_fail(err, EINVAL, "verity: salt of %zu bytes, at most %u", salt_len, UVM_VERITY_SALT_MAX);
	if (uvm_verity_geometry(data_blocks, &g, err) < 0)
		return -1;
	struct uvm_sha256_ctx salted;
	uvm_sha256_init(&salted);
	uvm_sha256_update(&salted, salt, salt_len);
	if (g.levels == 0) { /* one data block: its hash is the root */
		uint8_t *one = malloc(UVM_VERITY_BLOCK);
		if (!one)
			return uvm_fail(err, ENOMEM, "verity: out of memory");
		int r = read_full(fd, one, UVM_VERITY_BLOCK, 0, err);
		if (r == 0)
			hash_blocks(&salted, one, 1, root);
		free(one);
		return r;
	}
	size_t tree_len = (size_t)g.tree_blocks * UVM_VERITY_BLOCK;
	uint8_t *t = tree ? tree : malloc(tree_len);
	if (!t)
		return uvm_fail(err, ENOMEM, "verity: out of memory for a %zu-byte hash tree", tree_len);
	memset(t, 0, tree_len); /* digests are packed; the rest of a block is zero */
	int r = hash_data(fd, data_blocks, &salted, t + g.level_start[0] * UVM_VERITY_BLOCK, err);
	for (unsigned i = 1; r == 0 && i < g.levels; i++)
		hash_blocks(&salted, t + g.level_start[i - 1] * UVM_VERITY_BLOCK, (size_t)g.level_blocks[i - 1],
			    t + g.level_start[i] * UVM_VERITY_BLOCK);
	if (r == 0)
		hash_blocks(&salted, t + g.level_start[g.levels - 1] * UVM_VERITY_BLOCK, 1, root);
	if (!tree)
		free(t);
	return r;
}

int uvm_verity_format(int fd, const struct uvm_verity_sb *sb, uint8_t root[UVM_SHA256_LEN], struct uvm_err *err)
{
	struct uvm_verity_geom g;
	if (uvm_verity_geometry(sb->data_blocks, &g, err) < 0)
		return -1;
	size_t tree_len = (size_t)g.tree_blocks * UVM_VERITY_BLOCK;
	uint8_t *tree = malloc(tree_len ? tree_len : 1);
	uint8_t *sbblock = calloc(1, UVM_VERITY_BLOCK);
	int r = -1;
	if (!tree || !sbblock) {
		uvm_fail(err, ENOMEM, "verity: out of memory for a %zu-byte hash tree", tree_len);
		goto out;
	}
	if (uvm_verity_compute(fd, sb->data_blocks, sb->salt, sb->salt_len, tree, root, err) < 0)
		goto out;
	uint64_t hash_offset = sb->data_blocks * UVM_VERITY_BLOCK;
	uvm_verity_sb_encode(sb, sbblock);
	if (ftruncate(fd, (off_t)(hash_offset + UVM_VERITY_BLOCK + tree_len)) < 0) {
		uvm_fail(err, errno, "verity: resize the image: %s", strerror(errno));
		goto out;
	}
	if (write_full(fd, sbblock, UVM_VERITY_BLOCK, hash_offset, err) < 0 ||
	    write_full(fd, tree, tree_len, hash_offset + UVM_VERITY_BLOCK, err) < 0)
		goto out;
	r = 0;
out:
	free(tree);
	free(sbblock);
	return r;
}

int uvm_verity_read_sb(int fd, uint64_t hash_offset, struct uvm_verity_sb *sb, struct uvm_err *err)
{
	uint8_t buf[UVM_VERITY_SB_SIZE];
	struct uvm_verity_geom g;
	if (hash_offset % UVM_VERITY_BLOCK != 0 || hash_offset > UVM_VERITY_MAX_DATA_BLOCKS * UVM_VERITY_BLOCK)
		return uvm_fail(err, EINVAL,
				"verity: hash offset %llu is not a block boundary "
				"inside the supported size",
				(unsigned long long)hash_offset);
	if (read_full(fd, buf, sizeof buf, hash_offset, err) < 0)
		return uvm_wrap(err, "verity: read the superblock at byte %llu", (unsigned long long)hash_offset);
	if (uvm_verity_sb_decode(buf, sizeof buf, sb, err) < 0 || uvm_verity_geometry(sb->data_blocks, &g, err) < 0)
		return uvm_wrap(err, "at byte %llu", (unsigned long long)hash_offset);
	/* The data must end where the superblock starts (one layout only). */
	if (sb->data_blocks * UVM_VERITY_BLOCK != hash_offset)
		return uvm_fail(err, EINVAL,
				"verity: superblock at byte %llu claims %llu data "
				"blocks, the file system has %llu",
				(unsigned long long)hash_offset, (unsigned long long)sb->data_blocks,
				(unsigned long long)(hash_offset / UVM_VERITY_BLOCK));
	off_t end = lseek(fd, 0, SEEK_END);
	uint64_t need = hash_offset + UVM_VERITY_BLOCK + g.tree_blocks * UVM_VERITY_BLOCK;
	if (end < 0 || (uint64_t)end < need)
		return uvm_fail(err, EINVAL,
				"verity: device has %lld bytes, the hash tree needs "
				"%llu",
				(long long)end, (unsigned long long)need);
	return 0;
}

static int dev_name_ok(const char *s)
{
	if (!s || !*s || strlen(s) > 255)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return 0;
	return 1;
}

int uvm_verity_table(char *out, size_t out_len, const char *data_dev, const char *hash_dev,
		     const struct uvm_verity_sb *sb, uint64_t hash_offset, const uint8_t root[UVM_SHA256_LEN],
		     struct uvm_err *err)
{
	char root_hex[2 * UVM_SHA256_LEN + 1], salt_hex[2 * UVM_VERITY_SALT_MAX + 1];
	if (!dev_name_ok(data_dev) || !dev_name_ok(hash_dev))
		return uvm_fail(err, EINVAL,
				"verity table: device name empty, too long or "
				"with white space");
	if (sb->data_blocks == 0 || sb->data_blocks > UVM_VERITY_MAX_DATA_BLOCKS || sb->salt_len > UVM_VERITY_SALT_MAX)
		return uvm_fail(err, EINVAL, "verity table: invalid superblock values");
	if (hash_offset % UVM_VERITY_BLOCK != 0)
		return uvm_fail(err, EINVAL,
				"verity table: hash offset %llu is not a multiple "
				"of %u",
				(unsigned long long)hash_offset, UVM_VERITY_BLOCK);
	uvm_hex_encode(root, UVM_SHA256_LEN, root_hex);
	if (sb->salt_len)
		uvm_hex_encode(sb->salt, sb->salt_len, salt_hex);
	else
		strcpy(salt_hex, "-");
	int n = snprintf(out, out_len, "1 %s %s %u %u %llu %llu sha256 %s %s", data_dev, hash_dev, UVM_VERITY_BLOCK,
			 UVM_VERITY_BLOCK, (unsigned long long)sb->data_blocks,
			 (unsigned long long)(hash_offset / UVM_VERITY_BLOCK + 1), root_hex, salt_hex);
	if (n < 0 || (size_t)n >= out_len)
		return uvm_fail(err, ENOSPC, "verity table: %zu-byte buffer too small", out_len);
	return 0;
}
