/* Tar header, pax and path parsing (tools/uvm/layer/layer_tar.c). Headers are
 * built here field by field as POSIX ustar defines them. */
#include <stdint.h>
#include <stdio.h>

#include "check.h"
#include "layer_tar.h"

static void set_checksum(uint8_t *b)
{
	unsigned sum = 0;
	memset(b + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += b[i];
	snprintf((char *)b + 148, 8, "%06o", sum);
	b[155] = ' ';
}

static void make_header(uint8_t *b, const char *name, char type, unsigned long long size)
{
	memset(b, 0, 512);
	memcpy(b, name, strnlen(name, 100));
	memcpy(b + 100, "0000644", 8);
	memcpy(b + 108, "0001750", 8); /* uid 1000 */
	memcpy(b + 116, "0001751", 8); /* gid 1001 */
	snprintf((char *)b + 124, 12, "%011llo", size);
	memcpy(b + 136, "13727410000", 12); /* 1600000000 */
	b[156] = (uint8_t)type;
	memcpy(b + 257,
	       "ustar\0"
	       "00",
	       8);
	set_checksum(b);
}

static void test_header(void)
{
	uint8_t b[512];
	struct tar_header h;
	struct uvm_err err = {0};
	make_header(b, "etc/hosts", '0', 20);
	CHECK(tar_parse_header(b, &h, &err) == 0, "ustar header: %s", err.msg);
	CHECK(h.type == '0' && strcmp(h.path, "etc/hosts") == 0 && h.size == 20 && h.mode == 0644 && h.uid == 1000 &&
		      h.gid == 1001 && h.mtime == 1600000000,
	      "fields decoded");
	memcpy(b + 345, "some/prefix", 11);
	set_checksum(b);
	CHECK(tar_parse_header(b, &h, &err) == 0 && strcmp(h.path, "some/prefix/etc/hosts") == 0,
	      "ustar prefix joined: %s", h.path);

	uint8_t zero[512] = {0};
	CHECK(tar_parse_header(zero, &h, &err) == 1, "zero block is the end marker");

	make_header(b, "f", '0', 1);
	b[140] ^= 1;
	CHECK(tar_parse_header(b, &h, &err) < 0, "checksum mismatch rejected");

	make_header(b, "f", '0', 1);
	memcpy(b + 257, "ustax\0", 6);
	set_checksum(b);
	CHECK(tar_parse_header(b, &h, &err) < 0, "unknown magic rejected: %s", err.msg);

	make_header(b, "f", '0', 0);
	memcpy(b + 257, "ustar  \0", 8); /* GNU */
	b[124] = 0x80;                   /* base-256 size */
	memset(b + 125, 0, 11);
	b[135] = 0x10;
	set_checksum(b);
	CHECK(tar_parse_header(b, &h, &err) == 0 && h.size == 16, "GNU base-256 size");
	b[124] = 0xff; /* negative */
	set_checksum(b);
	CHECK(tar_parse_header(b, &h, &err) < 0, "negative base-256 rejected");
	b[124] = 0x80;
	b[130] = 0x10; /* 2^44 > limit */
	set_checksum(b);
	CHECK(tar_parse_header(b, &h, &err) < 0, "size over the limit rejected");

	make_header(b, "f", '0', 1);
	memcpy(b + 124, "0000000001x", 11);
	set_checksum(b);
	CHECK(tar_parse_header(b, &h, &err) < 0, "non-octal size rejected");

	make_header(b, "dev", '3', 0);
	memcpy(b + 329, "0000001", 8);
	memcpy(b + 337, "0000003", 8);
	set_checksum(b);
	CHECK(tar_parse_header(b, &h, &err) == 0 && h.devmajor == 1 && h.devminor == 3, "device numbers");
	make_header(b, "old", '\0', 0);
	CHECK(tar_parse_header(b, &h, &err) == 0 && h.type == '0', "NUL type is a regular file");
}

static int pax(const char *text, int global, struct tar_override *o, struct uvm_err *err)
{
	static char buf[4096];
	size_t n = strlen(text);
	memcpy(buf, text, n);
	memset(o, 0, sizeof *o);
	return tar_parse_pax(buf, n, global, o, err);
}

static void test_pax(void)
{
	struct tar_override o;
	struct uvm_err err = {0};
	CHECK(pax("20 path=a/long/name\n"
		  "19 mtime=1.5000000\n"
		  "12 uid=4242\n",
		  0, &o, &err) == 0,
	      "pax records: %s", err.msg);
	CHECK(o.has_path && strcmp(o.path, "a/long/name") == 0 && o.has_mtime && o.mtime == 1 &&
		      o.mtime_nsec == 500000000 && o.has_uid && o.uid == 4242,
	      "path, fractional mtime, uid");
	CHECK(pax("26 SCHILY.xattr.user.k=v1\n", 0, &o, &err) == 0 && o.nxattr == 1 &&
		      strcmp(o.xattr[0].name, "user.k") == 0 && o.xattr[0].len == 2 &&
		      memcmp(o.xattr[0].value, "v1", 2) == 0,
	      "user xattr kept: %s", err.msg);
	CHECK(pax("41 SCHILY.xattr.trusted.overlay.opaque=y\n", 0, &o, &err) < 0,
	      "trusted xattr refused (overlay metadata is ours to write): %s", err.msg);
	CHECK(pax("22 GNU.sparse.major=1\n", 0, &o, &err) < 0, "sparse files rejected");
	CHECK(pax("20 path=a\n", 0, &o, &err) < 0, "length past the end rejected");
	CHECK(pax("8 path=a\n", 0, &o, &err) < 0, "length short of the newline rejected");
	CHECK(pax("8 path=\n", 0, &o, &err) < 0, "empty path rejected");
	CHECK(pax("6 =ab\n", 0, &o, &err) < 0, "empty key rejected");
	CHECK(pax("x path=a\n", 0, &o, &err) < 0, "non-numeric length rejected");
	CHECK(pax("16 size=1x00000\n", 0, &o, &err) < 0, "bad size rejected");
	CHECK(pax("21 size=999999999999\n", 0, &o, &err) < 0, "size over the limit rejected");
	CHECK(pax("12 uname=me\n"
		  "14 comment=hi\n",
		  0, &o, &err) == 0 &&
		      !o.has_uid,
	      "informational keys ignored");
	CHECK(pax("14 comment=hi\n", 1, &o, &err) == 0, "global comment accepted");
	CHECK(pax("12 path=abc\n", 1, &o, &err) < 0, "global path rejected");
	CHECK(pax("18 mtime=-5.00000\n", 0, &o, &err) < 0, "negative mtime rejected");

	struct tar_header h = {0};
	pax("20 path=a/long/name\n"
	    "12 gid=4343\n",
	    0, &o, &err);
	strcpy(h.path, "short");
	tar_apply_override(&h, &o);
	CHECK(strcmp(h.path, "a/long/name") == 0 && h.gid == 4343, "override applied");
}

static void test_paths(void)
{
	char out[TAR_PATH_MAX];
	struct uvm_err err = {0};
	struct {
		const char *in, *want;
	} ok[] = {
		{"./etc/hosts", "etc/hosts"}, {"etc//x/./y/", "etc/x/y"}, {"./", ""}, {".", ""}, {"a", "a"},
		{"..a/b..", "..a/b.."},       {".wh.x", ".wh.x"},
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		int r = tar_normalize_path(ok[i].in, out, sizeof out, &err);
		CHECK(r == 0 && strcmp(out, ok[i].want) == 0, "'%s' -> '%s' (got '%s')", ok[i].in, ok[i].want,
		      r == 0 ? out : err.msg);
	}
	const char *bad[] = {"/etc/passwd", "../x", "a/../../b", "a/..", "..", "//x"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(tar_normalize_path(bad[i], out, sizeof out, &err) < 0, "'%s' rejected: %s", bad[i], err.msg);
	char longc[300];
	memset(longc, 'a', 256);
	longc[256] = 0;
	CHECK(tar_normalize_path(longc, out, sizeof out, &err) < 0, "256-byte component rejected");
	CHECK(tar_normalize_path("abc/def", out, 5, &err) < 0, "result longer than buffer rejected");
}

int main(void)
{
	test_header();
	test_pax();
	test_paths();
	return check_done();
}
