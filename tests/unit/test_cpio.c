/* Unit tests of the initramfs writer: list parsing rules and the exact newc
 * bytes (owner 0:0, fixed mtime, renumbered inodes, no host device numbers). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "cpio_newc.h"

static int parse(const char *text, struct cpio_list *list, struct uvm_err *err)
{
	static const struct cpio_define defs[] = {{"INIT", "/tmp/uvm-test-cpio-init"}};
	return cpio_list_parse(text, strlen(text), defs, 1, list, err);
}

static void expect_reject(const char *text, const char *needle, const char *what)
{
	struct cpio_list list;
	struct uvm_err err = {0};
	int rc = parse(text, &list, &err);
	CHECK(rc == -1 && strstr(err.msg, needle) != NULL, "rejects %s", what);
	if (rc == 0 || !strstr(err.msg, needle))
		printf("#   message: %s\n", err.msg);
	if (rc == 0)
		cpio_list_free(&list);
}

static void test_rejections(void)
{
	expect_reject("dir /b 0755\ndir /a 0755\n", "out of order", "an unsorted list");
	expect_reject("dir /a 0755\ndir /a 0755\n", "duplicate", "a duplicate path");
	expect_reject("dir /a/b 0755\n", "parent directory", "a missing parent");
	expect_reject("file /a 0755 /x\ndir /a/b 0755\n", "parent directory", "a file as a parent");
	expect_reject("dir a 0755\n", "absolute", "a relative path");
	expect_reject("dir /a/../b 0755\n", "normalised", "a '..' component");
	expect_reject("dir /a//b 0755\n", "normalised", "an empty component");
	expect_reject("dir /a/ 0755\n", "normalised", "a trailing slash");
	expect_reject("dir /a 0758\n", "octal", "a non-octal mode");
	expect_reject("dir /a 17777\n", "octal", "a mode with file-type bits");
	expect_reject("file /a 0755 @NOPE\n", "not defined", "an undefined @source");
	expect_reject("fifo /a 0755\n", "unknown entry kind", "an unknown kind");
	expect_reject("dir /a 0755 extra\n", "takes 2 fields", "extra fields");
	expect_reject("nod /a 0600 x 5 1\n", "c or b", "a bad device type");
	expect_reject("nod /a 0600 c 5000 1\n", "device numbers", "a major number out of range");
	expect_reject("nod /a 0600 c -1 1\n", "device numbers", "a negative major number");
	char long_line[2000];
	memset(long_line, 'a', sizeof long_line);
	long_line[sizeof long_line - 1] = '\0';
	expect_reject(long_line, "longer than", "an overlong line");
}

static void test_accepts_comments_and_blank_lines(void)
{
	struct cpio_list list;
	struct uvm_err err = {0};
	int rc = parse("# header\n\n  dir /a 0755   # trailing comment\nslink /a/l 0777 ../t\n", &list, &err);
	CHECK(rc == 0 && list.count == 2, "accepts comments, blank lines and spacing (%s)", err.msg);
	if (rc == 0) {
		CHECK_EQ_STR(list.entries[1].arg, "../t", "keeps the link target");
		cpio_list_free(&list);
	}
}

static int write_to_buffer(const struct cpio_list *list, char **buf, size_t *len)
{
	FILE *f = open_memstream(buf, len);
	struct uvm_err err = {0};
	int rc = cpio_write(list, 1767225600u, f, &err);
	fclose(f);
	return rc;
}

static void test_exact_bytes(void)
{
	FILE *src = fopen("/tmp/uvm-test-cpio-init", "wb");
	fputs("hello\n", src);
	fclose(src);
	struct cpio_list list;
	struct uvm_err err = {0};
	int rc = parse("dir /dev 0755\nnod /dev/console 0600 c 5 1\nfile /init 0755 @INIT\n", &list, &err);
	CHECK(rc == 0, "parses a small list (%s)", err.msg);
	if (rc)
		return;
	char *buf = NULL;
	size_t len = 0;
	CHECK(write_to_buffer(&list, &buf, &len) == 0, "writes the archive");
	CHECK(len % 512 == 0, "archive is padded to 512 bytes (%zu)", len);
	/* First header: inode 1, directory 0755, uid/gid 0, nlink 2, mtime. */
	CHECK(memcmp(buf,
		     "070701"
		     "00000001"
		     "000041ED"
		     "00000000"
		     "00000000"
		     "00000002"
		     "6955B900",
		     54) == 0,
	      "dir header: ino 1, mode 040755, owner 0:0, nlink 2, mtime SOURCE_DATE_EPOCH");
	CHECK(memcmp(buf + 110, "dev\0", 4) == 0, "names are relative to the root");
	const char *console = memmem(buf, len,
				     "00000002"
				     "00002180",
				     16);
	CHECK(console != NULL, "device node gets inode 2 and mode 020600");
	if (console)
		CHECK(memcmp(console + 8 * 7,
			     "00000000"
			     "00000000"
			     "00000005"
			     "00000001",
			     32) == 0,
		      "device node: no host dev numbers, rdev 5:1 as listed");
	CHECK(memmem(buf, len, "hello\n", 6) != NULL, "file contents are included");
	CHECK(memmem(buf, len, "TRAILER!!!", 10) != NULL, "archive ends with the trailer");
	char *again = NULL;
	size_t len2 = 0;
	write_to_buffer(&list, &again, &len2);
	CHECK(len == len2 && memcmp(buf, again, len) == 0, "writing twice gives identical bytes");
	free(buf);
	free(again);
	cpio_list_free(&list);
	unlink("/tmp/uvm-test-cpio-init");
}

static void test_missing_source(void)
{
	struct cpio_list list;
	struct uvm_err err = {0};
	unlink("/tmp/uvm-test-cpio-init");
	if (parse("file /init 0755 @INIT\n", &list, &err))
		return;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc = cpio_write(&list, 0, f, &err);
	fclose(f);
	free(buf);
	CHECK(rc == -1 && strstr(err.msg, "cannot open source /tmp/uvm-test-cpio-init"),
	      "a missing source names the file (%s)", err.msg);
	cpio_list_free(&list);
}

int main(void)
{
	test_rejections();
	test_accepts_comments_and_blank_lines();
	test_exact_bytes();
	test_missing_source();
	return check_done();
}
