/* Unit tests of the initramfs list: parsing rules and the exact list handed to
 * the kernel's gen_init_cpio (tests/test_cli.py checks the archive it writes). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "cpio_list.h"

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

/* The list grows as it is read, up to CPIO_MAX_ENTRIES and not one more. */
static void test_entry_bound(void)
{
	size_t size = (CPIO_MAX_ENTRIES + 1) * 24;
	char *text = malloc(size), *p = text;
	for (int i = 0; i < CPIO_MAX_ENTRIES; i++)
		p += sprintf(p, "dir /d%05d 0755\n", i);
	struct cpio_list list;
	struct uvm_err err = {0};
	int rc = cpio_list_parse(text, (size_t)(p - text), NULL, 0, &list, &err);
	CHECK(rc == 0 && list.count == CPIO_MAX_ENTRIES, "accepts %d entries (%s)", CPIO_MAX_ENTRIES, err.msg);
	if (rc == 0) {
		CHECK_EQ_STR(list.entries[CPIO_MAX_ENTRIES - 1].path, "/d04095", "keeps the last entry");
		cpio_list_free(&list);
	}
	p += sprintf(p, "dir /d%05d 0755\n", CPIO_MAX_ENTRIES);
	rc = cpio_list_parse(text, (size_t)(p - text), NULL, 0, &list, &err);
	CHECK(rc == -1 && strstr(err.msg, "more than 4096 entries"), "refuses entry 4097: %s", err.msg);
	free(text);
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

static char *gen_list(const struct cpio_list *list, int *rc, struct uvm_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	*rc = cpio_list_write_gen(list, f, err);
	fclose(f);
	return buf;
}

/* The list handed to gen_init_cpio: every entry 0:0, modes as listed, sources
 * resolved, order kept (gen_init_cpio numbers inodes in this order). */
static void test_gen_list_exact(void)
{
	FILE *src = fopen("/tmp/uvm-test-cpio-init", "wb");
	fputs("hello\n", src);
	fclose(src);
	struct cpio_list list;
	struct uvm_err err = {0};
	int rc = parse("dir /dev 0755\nnod /dev/console 0600 c 5 1\nfile /init 0755 @INIT\nslink /sh 0777 /bin/x\n"
		       "dir /tmp 1777\n",
		       &list, &err);
	CHECK(rc == 0, "parses a small list (%s)", err.msg);
	if (rc)
		return;
	char *text = gen_list(&list, &rc, &err);
	CHECK(rc == 0, "translates the list (%s)", err.msg);
	CHECK_EQ_STR(text,
		     "dir /dev 0755 0 0\n"
		     "nod /dev/console 0600 0 0 c 5 1\n"
		     "file /init /tmp/uvm-test-cpio-init 0755 0 0\n"
		     "slink /sh /bin/x 0777 0 0\n"
		     "dir /tmp 1777 0 0\n",
		     "gen_init_cpio's list, every entry owned by 0:0");
	free(text);
	cpio_list_free(&list);
	unlink("/tmp/uvm-test-cpio-init");
}

static void expect_gen_refused(const char *list_text, const char *source, const char *needle, const char *what)
{
	const struct cpio_define defs[] = {{"SRC", source}};
	struct cpio_list list;
	struct uvm_err err = {0};
	if (cpio_list_parse(list_text, strlen(list_text), defs, 1, &list, &err)) {
		CHECK(0, "%s: the list parses (%s)", what, err.msg);
		return;
	}
	int rc;
	free(gen_list(&list, &rc, &err));
	CHECK(rc == -1 && strstr(err.msg, needle), "refuses %s (%s)", what, err.msg);
	cpio_list_free(&list);
}

/* What gen_init_cpio would read differently from us is refused before it runs:
 * a source it would split at a space or expand as ${VAR}, a source that is not
 * a regular file, a link target with bytes outside printable ASCII. */
static void test_gen_refusals(void)
{
	unlink("/tmp/uvm-test-cpio-init");
	expect_gen_refused("file /init 0755 @SRC\n", "/tmp/uvm-test-cpio-init",
			   "cannot stat source /tmp/uvm-test-cpio-init", "a missing source, naming it");
	expect_gen_refused("file /init 0755 @SRC\n", "/tmp/a b", "has a space", "a source with a space");
	expect_gen_refused("file /init 0755 @SRC\n", "/tmp/${HOME}", "'${'", "a source gen_init_cpio would expand");
	expect_gen_refused("file /init 0755 @SRC\n", "/tmp", "not a regular file", "a directory as a source");
	expect_gen_refused("slink /l 0777 t\xc3\xa9\n", "", "link target", "a link target outside printable ASCII");
}

int main(void)
{
	test_rejections();
	test_accepts_comments_and_blank_lines();
	test_entry_bound();
	test_gen_list_exact();
	test_gen_refusals();
	return check_done();
}
