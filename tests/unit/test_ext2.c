/* The scratch formatter (lib/ext2_format.c): geometry edge cases, and every
 * image it writes must pass e2fsprogs' own check (`e2fsck -fn`, read-only,
 * exit 0 only for a clean file system) and show the expected fields. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "ext2_format.h"

static int run(const char *prog, const char *arg1, const char *arg2)
{
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execlp(prog, prog, arg1, arg2, (char *)NULL);
		_exit(127);
	}
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static uint32_t get32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static void format_and_check(uint64_t bytes, uint32_t want_blocks, uint32_t want_groups)
{
	char path[] = "/tmp/test_ext2.XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0 && ftruncate(fd, (off_t)bytes) == 0, "temp file of %llu bytes", (unsigned long long)bytes);
	/* Garbage everywhere first: the formatter must not rely on zeros. */
	uint8_t junk[4096];
	memset(junk, 0xA5, sizeof junk);
	for (uint64_t off = 0; off + sizeof junk <= bytes && off < (8u << 20); off += sizeof junk)
		if (pwrite(fd, junk, sizeof junk, (off_t)off) != (ssize_t)sizeof junk)
			break;
	struct uvm_ext2_params p = {.bytes = bytes, .time = 1767225600};
	memcpy(p.uuid, "0123456789abcdef", 16);
	strcpy(p.label, "uvm-scratch");
	struct uvm_err err = {0};
	int rc = uvm_ext2_format(fd, &p, &err);
	CHECK(rc == 0, "format %llu bytes: %s", (unsigned long long)bytes, rc ? err.msg : "ok");
	uint8_t sb[1024];
	CHECK(pread(fd, sb, sizeof sb, 1024) == (ssize_t)sizeof sb, "read superblock");
	CHECK_EQ_INT(sb[56] | sb[57] << 8, 0xEF53, "magic");
	CHECK_EQ_INT(get32(sb + 4), want_blocks, "blocks of %llu bytes", (unsigned long long)bytes);
	CHECK_EQ_INT((get32(sb + 4) + 32767) / 32768, want_groups, "groups");
	CHECK(memcmp(sb + 120, "uvm-scratch", 12) == 0, "label");
	CHECK_EQ_INT(run("e2fsck", "-fn", path), 0, "e2fsck -fn accepts the %llu-byte image",
		     (unsigned long long)bytes);
	close(fd);
	unlink(path);
}

static void geometry_limits(void)
{
	struct uvm_ext2_geom g;
	struct uvm_err err = {0};
	CHECK(uvm_ext2_geometry((2u << 20) - 1, &g, &err) < 0, "below 2 MiB refused: %s", err.msg);
	CHECK(uvm_ext2_geometry(2u << 20, &g, &err) == 0, "2 MiB accepted");
	CHECK_EQ_INT(g.itable_blocks * 32, g.inodes_per_group, "inode table fills whole blocks");
	CHECK(uvm_ext2_geometry(1ull << 50, &g, &err) == 0 && g.blocks == 0xFFFFFFFFu,
	      "a huge device is capped at 2^32-1 blocks");
	/* 128 MiB + 100 KiB: a 25-block last group cannot hold its metadata. */
	CHECK(uvm_ext2_geometry((128ull << 20) + (100u << 10), &g, &err) == 0 && g.groups == 1 && g.blocks == 32768,
	      "a tiny last group is left out (%u groups, %u blocks)", g.groups, g.blocks);
}

/* ------------------------------------------------ walking the used blocks */

struct walk_log {
	int fd;
	int fail_at;         /* read_block fails for this block; -1: never */
	uint64_t runs[8][2]; /* first, count */
	int n;
};

static int log_read(void *ctx, uint64_t block, uint8_t buf[UVM_EXT2_BLOCK], struct uvm_err *err)
{
	struct walk_log *l = ctx;
	if ((int64_t)block == l->fail_at)
		return uvm_fail(err, EIO, "block %llu reads as EIO", (unsigned long long)block);
	return pread(l->fd, buf, UVM_EXT2_BLOCK, (off_t)(block * UVM_EXT2_BLOCK)) == UVM_EXT2_BLOCK
		       ? 0
		       : uvm_fail(err, EIO, "short read");
}

static int log_run(void *ctx, uint64_t first, uint64_t count, struct uvm_err *err)
{
	struct walk_log *l = ctx;
	(void)err;
	if (l->n < 8) {
		l->runs[l->n][0] = first;
		l->runs[l->n][1] = count;
	}
	l->n++;
	return 0;
}

/* Two groups: the walk reports each group's metadata (plus the two
 * directory blocks of group 0) and any block the kernel would allocate. */
static void walk_used(void)
{
	const uint64_t bytes = (200u << 20) + 4096 * 7;
	char path[] = "/tmp/test_ext2_walk.XXXXXX";
	int fd = mkstemp(path);
	struct uvm_ext2_params p = {.bytes = bytes, .time = 1};
	struct uvm_ext2_geom g;
	struct uvm_err err = {0};
	CHECK(fd >= 0 && ftruncate(fd, (off_t)bytes) == 0 && uvm_ext2_format(fd, &p, &err) == 0 &&
		      uvm_ext2_geometry(bytes, &g, &err) == 0,
	      "formatted %s", err.msg);
	struct walk_log l = {.fd = fd, .fail_at = -1};
	struct uvm_ext2_walk w = {log_read, log_run, &l};
	CHECK_EQ_INT(uvm_ext2_walk_used(bytes, &w, &err), 0, "walk: %s", err.msg);
	CHECK(l.n == 2 && l.runs[0][0] == 0 && l.runs[0][1] == g.overhead + 2 && l.runs[1][0] == 32768 &&
		      l.runs[1][1] == g.overhead,
	      "runs: metadata+dirs of group 0 (%llu+%llu), metadata of group 1 (%llu+%llu)",
	      (unsigned long long)l.runs[0][0], (unsigned long long)l.runs[0][1], (unsigned long long)l.runs[1][0],
	      (unsigned long long)l.runs[1][1]);
	/* a block the kernel allocated: bit 5000 of group 0's bitmap */
	uint8_t gd[32], bm[UVM_EXT2_BLOCK];
	CHECK(pread(fd, gd, sizeof gd, UVM_EXT2_BLOCK) == 32, "read group descriptor 0");
	off_t at = (off_t)get32(gd) * UVM_EXT2_BLOCK;
	CHECK(pread(fd, bm, sizeof bm, at) == (ssize_t)sizeof bm, "read bitmap 0");
	bm[5000 / 8] |= 1u << (5000 % 8);
	CHECK(pwrite(fd, bm, sizeof bm, at) == (ssize_t)sizeof bm, "write bitmap 0");
	l.n = 0;
	CHECK(uvm_ext2_walk_used(bytes, &w, &err) == 0 && l.n == 3 && l.runs[1][0] == 5000 && l.runs[1][1] == 1,
	      "an allocated block is its own run (%d runs)", l.n);
	/* a read error stops the walk with the reader's message */
	l.n = 0;
	l.fail_at = get32(gd);
	CHECK(uvm_ext2_walk_used(bytes, &w, &err) == -1 && strstr(err.msg, "EIO"), "read error: %s", err.msg);
	/* another geometry, or no file system at all, is refused */
	l.fail_at = -1;
	CHECK(uvm_ext2_walk_used(bytes + (64u << 20), &w, &err) == -1 && strstr(err.msg, "superblock says"),
	      "another size is refused: %s", err.msg);
	uint8_t zero[UVM_EXT2_BLOCK] = {0};
	CHECK(pwrite(fd, zero, sizeof zero, 0) == (ssize_t)sizeof zero, "clear block 0");
	CHECK(uvm_ext2_walk_used(bytes, &w, &err) == -1 && strstr(err.msg, "no superblock magic"),
	      "no magic is refused: %s", err.msg);
	close(fd);
	unlink(path);
}

int main(void)
{
	walk_used();
	geometry_limits();
	format_and_check(2u << 20, 512, 1);
	format_and_check(64u << 20, 16384, 1);
	format_and_check(128u << 20, 32768, 1);
	format_and_check((200u << 20) + 4096 * 7, 51207, 2);
	format_and_check((300u << 20) + 100, 76800, 3);
	return check_done();
}
