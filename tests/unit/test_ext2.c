/* The scratch formatter (lib/ext2_format.c): geometry edge cases, and every
 * image it writes must pass e2fsprogs' own check (`e2fsck -fn`, read-only,
 * exit 0 only for a clean file system) and show the expected fields. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
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

int main(void)
{
	geometry_limits();
	format_and_check(2u << 20, 512, 1);
	format_and_check(64u << 20, 16384, 1);
	format_and_check(128u << 20, 32768, 1);
	format_and_check((200u << 20) + 4096 * 7, 51207, 2);
	format_and_check((300u << 20) + 100, 76800, 3);
	return check_done();
}
