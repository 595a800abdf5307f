/* dm-verity tree/superblock/table and the erofs superblock parser.
 * Known answers come from cryptsetup's veritysetup 2.6.1 (command below);
 * the small-tree case is recomputed here from first principles. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "erofs.h"
#include "hash.h"
#include "hex.h"
#include "verity.h"

static int temp_file(const uint8_t *data, size_t len)
{
	char path[] = "/tmp/test_verity.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	unlink(path);
	if (write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	return fd;
}

static void test_geometry(void)
{
	struct uvm_verity_geom g;
	struct uvm_err err = {0};
	CHECK(uvm_verity_geometry(0, &g, &err) < 0, "0 data blocks rejected");
	CHECK(uvm_verity_geometry(UVM_VERITY_MAX_DATA_BLOCKS + 1, &g, &err) < 0, "too many data blocks rejected: %s",
	      err.msg);
	CHECK(uvm_verity_geometry(1, &g, &err) == 0 && g.levels == 0 && g.tree_blocks == 0, "1 block: no tree");
	CHECK(uvm_verity_geometry(128, &g, &err) == 0 && g.levels == 1 && g.tree_blocks == 1,
	      "128 blocks: one hash block");
	CHECK(uvm_verity_geometry(129, &g, &err) == 0 && g.levels == 2 && g.tree_blocks == 3 && g.level_start[1] == 0 &&
		      g.level_start[0] == 1 && g.level_blocks[0] == 2,
	      "129 blocks: top level first, then 2 level-0 blocks");
	/* 16385 = 128^2 + 1 needs a third level: 129 + 2 + 1 blocks. */
	CHECK(uvm_verity_geometry(16385, &g, &err) == 0 && g.levels == 3 && g.level_blocks[0] == 129 &&
		      g.level_blocks[1] == 2 && g.level_blocks[2] == 1 && g.tree_blocks == 132 && g.level_start[0] == 3,
	      "16385 blocks: three levels");
}

static void make_sb(struct uvm_verity_sb *sb, uint64_t blocks)
{
	static const uint8_t uuid[16] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
					 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
	memset(sb, 0, sizeof *sb);
	memcpy(sb->uuid, uuid, 16);
	sb->data_blocks = blocks;
	sb->salt_len = 32;
	memset(sb->salt, 0xab, 32);
}

static void test_superblock(void)
{
	struct uvm_verity_sb sb, back;
	struct uvm_err err = {0};
	uint8_t buf[UVM_VERITY_SB_SIZE], bad[UVM_VERITY_SB_SIZE];
	make_sb(&sb, 3);
	uvm_verity_sb_encode(&sb, buf);
	/* Field offsets of cryptsetup's struct verity_sb. */
	CHECK(memcmp(buf, "verity\0\0", 8) == 0 && buf[8] == 1 && buf[12] == 1 && memcmp(buf + 32, "sha256", 7) == 0 &&
		      buf[65] == 0x10 && buf[69] == 0x10 && buf[72] == 3 && buf[80] == 32 && buf[88] == 0xab &&
		      buf[119] == 0xab && buf[120] == 0,
	      "superblock fields at veritysetup's offsets");
	CHECK(uvm_verity_sb_decode(buf, sizeof buf, &back, &err) == 0 && back.data_blocks == 3 && back.salt_len == 32 &&
		      memcmp(back.salt, sb.salt, 32) == 0 && memcmp(back.uuid, sb.uuid, 16) == 0,
	      "superblock round trip");
	CHECK(uvm_verity_sb_decode(buf, 511, &back, &err) < 0, "short buffer rejected");
	struct {
		size_t off;
		uint8_t val;
		const char *what;
	} flips[] = {
		{0, 'V', "signature"},
		{8, 2, "version 2"},
		{12, 0, "hash type 0 (Chrome OS)"},
		{33, 'm', "algorithm shm256"},
		{65, 0x02, "data block size 512"},
		{69, 0x02, "hash block size 512"},
		{81, 0x01, "salt length 288"},
		{84, 1, "non-zero padding after salt length"},
		{200, 1, "non-zero bytes after the salt"},
		{500, 1, "non-zero tail padding"},
		{79, 0x80, "huge data block count"},
	};
	for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
		memcpy(bad, buf, sizeof bad);
		bad[flips[i].off] = flips[i].val;
		err.msg[0] = 0;
		CHECK(uvm_verity_sb_decode(bad, sizeof bad, &back, &err) < 0 && err.msg[0], "rejected: %s (%s)",
		      flips[i].what, err.msg);
	}
	memcpy(bad, buf, sizeof bad);
	memset(bad + 72, 0, 8);
	CHECK(uvm_verity_sb_decode(bad, sizeof bad, &back, &err) < 0, "0 data blocks rejected");
}

/* The veritysetup known answer: 3 blocks, block i filled with byte i+1;
 *   cp data img && veritysetup format data img --hash-offset=12288 \
 *     --salt=abab...ab (32 bytes) --uuid=01234567-89ab-cdef-0123-456789abcdef
 * gives root ed36d391... and img (data, superblock block, one hash block)
 * with the SHA-256 below: our output must be byte-identical. */
static void test_veritysetup_vector(void)
{
	static const char want_root[] = "ed36d3913f9d488531a0ba9fc69eeadeebd088aa542b2d41dfd44f8f9b74d02f";
	static const char want_file[] = "7842defa2baafcc06b231d6aca84507f1dad6e1f46904b251bd4a2e7fd6dd060";
	uint8_t data[3 * 4096], root[32], file[5 * 4096], digest[32];
	char hex[65];
	struct uvm_verity_sb sb;
	struct uvm_err err = {0};
	for (int i = 0; i < 3; i++)
		memset(data + i * 4096, i + 1, 4096);
	int fd = temp_file(data, sizeof data);
	CHECK(fd >= 0, "temporary file");
	if (fd < 0)
		return;
	make_sb(&sb, 3);
	int r = uvm_verity_format(fd, &sb, root, &err);
	CHECK(r == 0, "format: %s", err.msg);
	uvm_hex_encode(root, 32, hex);
	CHECK_EQ_STR(hex, want_root, "root hash equals veritysetup's");
	CHECK(lseek(fd, 0, SEEK_END) == (off_t)sizeof file, "image is data + 2 blocks");
	CHECK(pread(fd, file, sizeof file, 0) == (ssize_t)sizeof file, "read image back");
	uvm_sha256(file, sizeof file, digest);
	uvm_hex_encode(digest, 32, hex);
	CHECK_EQ_STR(hex, want_file, "image bytes equal veritysetup's");

	struct uvm_verity_sb back;
	CHECK(uvm_verity_read_sb(fd, 3 * 4096, &back, &err) == 0 && back.data_blocks == 3,
	      "read_sb at the hash offset: %s", err.msg);
	CHECK(uvm_verity_read_sb(fd, 2 * 4096, &back, &err) < 0,
	      "read_sb at a wrong offset "
	      "rejected: %s",
	      err.msg);
	CHECK(uvm_verity_read_sb(fd, 3 * 4096 + 512, &back, &err) < 0, "unaligned hash offset rejected");
	CHECK(ftruncate(fd, 4 * 4096) == 0, "truncate the tree away");
	CHECK(uvm_verity_read_sb(fd, 3 * 4096, &back, &err) < 0, "device too short for the tree rejected: %s", err.msg);
	close(fd);
}

/* Two blocks: root = H(salt || H(salt||b0) || H(salt||b1) || zeros). */
static void test_two_blocks_by_hand(void)
{
	uint8_t data[2 * 4096], hashblock[4096] = {0}, buf[32 + 4096], want[32], root[32];
	uint8_t salt[5] = {1, 2, 3, 4, 5};
	struct uvm_err err = {0};
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (uint8_t)(i * 7 + 3);
	for (int b = 0; b < 2; b++) {
		memcpy(buf, salt, 5);
		memcpy(buf + 5, data + b * 4096, 4096);
		uvm_sha256(buf, 5 + 4096, hashblock + 32 * b);
	}
	memcpy(buf, salt, 5);
	memcpy(buf + 5, hashblock, 4096);
	uvm_sha256(buf, 5 + 4096, want);
	int fd = temp_file(data, sizeof data);
	CHECK(uvm_verity_compute(fd, 2, salt, 5, NULL, root, &err) == 0, "compute: %s", err.msg);
	CHECK(memcmp(root, want, 32) == 0, "root of 2 blocks matches the hand computation");
	data[4097] ^= 1;
	CHECK(pwrite(fd, data, sizeof data, 0) == (ssize_t)sizeof data, "flip one data bit");
	CHECK(uvm_verity_compute(fd, 2, salt, 5, NULL, root, &err) == 0 && memcmp(root, want, 32) != 0,
	      "a flipped bit changes the root");
	CHECK(uvm_verity_compute(fd, 3, salt, 5, NULL, root, &err) < 0, "more blocks than the file holds: %s", err.msg);
	close(fd);
}

static void test_table(void)
{
	struct uvm_verity_sb sb;
	struct uvm_err err = {0};
	uint8_t root[32];
	char out[UVM_VERITY_TABLE_MAX], want[UVM_VERITY_TABLE_MAX];
	char roothex[65], salthex[65];
	for (int i = 0; i < 32; i++)
		root[i] = (uint8_t)(0xf0 + i);
	make_sb(&sb, 1000);
	uvm_hex_encode(root, 32, roothex);
	uvm_hex_encode(sb.salt, 32, salthex);
	snprintf(want, sizeof want, "1 /dev/vdb /dev/vdb 4096 4096 1000 1001 sha256 %s %s", roothex, salthex);
	CHECK(uvm_verity_table(out, sizeof out, "/dev/vdb", "/dev/vdb", &sb, 1000 * 4096ull, root, &err) == 0,
	      "table: %s", err.msg);
	CHECK_EQ_STR(out, want, "table: hash start is the block after the superblock");
	sb.salt_len = 0;
	CHECK(uvm_verity_table(out, sizeof out, "/dev/a", "/dev/b", &sb, 4096 * 1000ull, root, &err) == 0 &&
		      strcmp(out + strlen(out) - 2, " -") == 0,
	      "empty salt is '-'");
	CHECK(uvm_verity_table(out, sizeof out, "/dev/a b", "/dev/b", &sb, 4096000, root, &err) < 0,
	      "device with a space rejected");
	CHECK(uvm_verity_table(out, sizeof out, "", "/dev/b", &sb, 4096000, root, &err) < 0, "empty device rejected");
	CHECK(uvm_verity_table(out, sizeof out, "/dev/a", "/dev/b", &sb, 4095, root, &err) < 0,
	      "unaligned hash offset rejected");
	CHECK(uvm_verity_table(out, 20, "/dev/a", "/dev/b", &sb, 4096000, root, &err) < 0, "small buffer rejected");
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void test_erofs(void)
{
	uint8_t head[4096] = {0};
	struct uvm_erofs_info info;
	struct uvm_err err = {0};
	/* crc32c("123456789") is 0xe3069283 with the final inversion. */
	CHECK_EQ_INT(uvm_erofs_crc32c(~0u, (const uint8_t *)"123456789", 9), ~0xe3069283u, "crc32c check value");
	uint8_t *sb = head + 1024;
	put32(sb, UVM_EROFS_MAGIC);
	sb[12] = 12;
	put32(sb + 36, 77);
	sb[48] = 0x42;
	CHECK(uvm_erofs_parse(head, sizeof head, &info, &err) == 0 && info.blocks == 77 && info.uuid[0] == 0x42,
	      "minimal superblock without checksum: %s", err.msg);
	put32(sb + 8, 1); /* COMPAT_SB_CHKSUM */
	put32(sb + 4, uvm_erofs_crc32c(~0u, sb, 3072));
	CHECK(uvm_erofs_parse(head, sizeof head, &info, &err) == 0, "correct checksum accepted");
	head[4000] ^= 1;
	CHECK(uvm_erofs_parse(head, sizeof head, &info, &err) < 0, "checksum mismatch rejected");
	head[4000] ^= 1;
	CHECK(uvm_erofs_parse(head, 4095, &info, &err) < 0, "short head rejected");
	sb[12] = 9;
	put32(sb + 4, 0);
	put32(sb + 4, uvm_erofs_crc32c(~0u, sb, 3072));
	CHECK(uvm_erofs_parse(head, sizeof head, &info, &err) < 0, "512-byte blocks rejected");
	sb[12] = 12;
	sb[86] = 1;
	put32(sb + 4, 0);
	put32(sb + 4, uvm_erofs_crc32c(~0u, sb, 3072));
	CHECK(uvm_erofs_parse(head, sizeof head, &info, &err) < 0, "extra devices rejected");
	sb[86] = 0;
	put32(sb + 36, 0);
	put32(sb + 4, 0);
	put32(sb + 4, uvm_erofs_crc32c(~0u, sb, 3072));
	CHECK(uvm_erofs_parse(head, sizeof head, &info, &err) < 0, "0 blocks rejected");
	sb[0] ^= 1;
	CHECK(uvm_erofs_parse(head, sizeof head, &info, &err) < 0, "bad magic rejected");
}

int main(void)
{
	test_geometry();
	test_superblock();
	test_veritysetup_vector();
	test_two_blocks_by_hand();
	test_table();
	test_erofs();
	return check_done();
}
