/* Unit tests of lib/passwd.h: lookups in passwd(5) and group(5) text,
 * with every buffer copied to a heap block of exactly its length so that
 * ASan catches a read past the end. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "passwd.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const char etc_passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
				 "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
				 "apple:x:2000:2001::/home/apple:/bin/sh\n"
				 "app:x:1000:1001:App:/home/app:/bin/sh\n"
				 "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";

struct user_case {
	const char *what;
	const char *text;
	size_t len; /* 0: strlen(text) */
	const char *name;
	int ok;
	uint32_t uid, gid;
	const char *why; /* substring of the message when !ok */
};

static const struct user_case user_cases[] = {
	{"root", etc_passwd, 0, "root", 1, 0, 0, NULL},
	{"app after apple", etc_passwd, 0, "app", 1, 1000, 1001, NULL},
	{"apple", etc_passwd, 0, "apple", 1, 2000, 2001, NULL},
	{"nobody", etc_passwd, 0, "nobody", 1, 65534, 65534, NULL},
	{"a prefix of a name", etc_passwd, 0, "ap", 0, 0, 0,
	 "user \"ap\" is not in the image's /etc/passwd (5 lines searched)"},
	{"a longer name", etc_passwd, 0, "apples", 0, 0, 0, "is not in"},
	{"case matters", etc_passwd, 0, "App", 0, 0, 0, "is not in"},
	{"absent", etc_passwd, 0, "www-data", 0, 0, 0, "user \"www-data\" is not in"},
	{"empty file", "", 0, "app", 0, 0, 0, "(0 lines searched)"},
	{"comments and blank lines", "# app:x:5:5\n\n   \n#\napp:x:6:7:::\n", 0, "app", 1, 6, 7, NULL},
	{"an indented name is another name", " app:x:5:5\n", 0, "app", 0, 0, 0, "is not in"},
	{"no trailing newline", "root:x:0:0::/:/bin/sh\napp:x:7:8::/:/bin/sh", 0, "app", 1, 7, 8, NULL},
	{"only the fields up to gid", "app:x:7:8", 0, "app", 1, 7, 8, NULL},
	{"CRLF line ends", "root:x:0:0::/:/bin/sh\r\napp:x:9:10::/:/bin/sh\r\n", 0, "app", 1, 9, 10, NULL},
	{"CRLF right after the gid", "app:x:9:10\r\n", 0, "app", 1, 9, 10, NULL},
	{"only one CR is a line end", "app:x:9:10\r\r\n", 0, "app", 0, 0, 0, "gid \"10\\x0d\" is not a decimal"},
	{"a CR alone is not a line break", "root:x:0:0\rapp:x:1:1\n", 0, "app", 0, 0, 0, "is not in"},
	{"first match wins", "app:x:1:2\napp:x:3:4\n", 0, "app", 1, 1, 2, NULL},
	{"a malformed first match is not skipped", "app:x:bad:2\napp:x:3:4\n", 0, "app", 0, 0, 0,
	 "user \"app\": line 1 of the image's /etc/passwd: uid \"bad\" is not a decimal number below 4294967295"},
	{"malformed other lines are skipped", "garbage\nbob:x:notanumber\n::::\n:\napp:x:3:4\n", 0, "app", 1, 3, 4,
	 NULL},
	{"too few fields", "root:x:0:0\napp:x:5\n", 0, "app", 0, 0, 0,
	 "line 2 of the image's /etc/passwd has 3 fields, needs 4 (name:password:uid:gid)"},
	{"name only", "app\n", 0, "app", 0, 0, 0, "has 1 fields"},
	{"empty uid", "app:x::1\n", 0, "app", 0, 0, 0, "uid \"\" is not"},
	{"empty gid", "app:x:1:\n", 0, "app", 0, 0, 0, "gid \"\" is not"},
	{"plus sign", "app:x:+1:1\n", 0, "app", 0, 0, 0, "uid \"+1\""},
	{"minus sign", "app:x:-1:1\n", 0, "app", 0, 0, 0, "uid \"-1\""},
	{"space", "app:x: 1:1\n", 0, "app", 0, 0, 0, "uid \" 1\""},
	{"trailing space", "app:x:1 :1\n", 0, "app", 0, 0, 0, "uid \"1 \""},
	{"hex", "app:x:0x10:1\n", 0, "app", 0, 0, 0, "uid \"0x10\""},
	{"fraction", "app:x:1:1.0\n", 0, "app", 0, 0, 0, "gid \"1.0\""},
	{"largest id", "app:x:4294967294:4294967294\n", 0, "app", 1, 4294967294u, 4294967294u, NULL},
	{"(uid_t)-1 is not an id", "app:x:4294967295:1\n", 0, "app", 0, 0, 0, "uid \"4294967295\""},
	{"2^32", "app:x:1:4294967296\n", 0, "app", 0, 0, 0, "gid \"4294967296\""},
	{"2^64", "app:x:18446744073709551616:1\n", 0, "app", 0, 0, 0, "uid \"18446744073709551616\""},
	{"a very long number", "app:x:1:99999999999999999999999999999999999999999999999999\n", 0, "app", 0, 0, 0,
	 "gid \"99999999999999999999999999999999...\""},
	{"leading zeros are decimal", "app:x:000000000000000000000000000000000000000042:0007\n", 0, "app", 1, 42, 7,
	 NULL},
	{"NUL after a name is another name", "app\0:x:1:1\napp:x:6:7\n", 21, "app", 1, 6, 7, NULL},
	{"NUL in other lines", "root:x:0:0\0\0\0\n\0\napp:x:6:7\n", 26, "app", 1, 6, 7, NULL},
	{"NUL in an id", "app:x:1\0:2\n", 11, "app", 0, 0, 0, "uid \"1\\x00\""},
	{"control bytes are escaped", "app:x:\x01\x1b[2J:2\n", 0, "app", 0, 0, 0, "uid \"\\x01\\x1b[2J\""},
	{"length cuts the gid", "app:x:12:34\n", 9, "app", 0, 0, 0, "gid \"\" is not"},
	{"length cuts the line", "app:x:12:34\n", 8, "app", 0, 0, 0, "has 3 fields"},
	{"length cuts the name", "app:x:12:34\n", 2, "app", 0, 0, 0, "is not in"},
	{"empty name", etc_passwd, 0, "", 0, 0, 0, "an empty user name cannot be looked up"},
	{"name with ':'", etc_passwd, 0, "app:x", 0, 0, 0, "user name \"app:x\" cannot be in /etc/passwd"},
	{"name with a newline", etc_passwd, 0, "app\nroot", 0, 0, 0, "user name \"app\\x0aroot\" cannot be"},
	{"name with a CR", etc_passwd, 0, "app\r", 0, 0, 0, "cannot be in"},
	{"comment as a name", "#app:x:1:1\n", 0, "#app", 0, 0, 0, "cannot be in"},
	{"NIS marker as a name", "+app:x:1:1\n", 0, "+app", 0, 0, 0, "cannot be in"},
	{"dash as a name", "-app:x:1:1\n", 0, "-app", 0, 0, 0, "cannot be in"},
};

/* An exact-size heap copy: ASan reports any read past len. */
static char *copy(const char *text, size_t len)
{
	char *b = malloc(len ? len : 1);
	if (!b)
		abort();
	memcpy(b, text, len);
	return b;
}

static int printable(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s >= 0x7f)
			return 0;
	return 1;
}

static void test_users(void)
{
	for (size_t i = 0; i < ARRAY_LEN(user_cases); i++) {
		const struct user_case *c = &user_cases[i];
		size_t len = c->len ? c->len : strlen(c->text);
		char *buf = copy(c->text, len);
		struct uvm_err err = {0, ""};
		uint32_t uid = 111, gid = 222;
		int rc = passwd_find_user(buf, len, c->name, &uid, &gid, &err);
		if (c->ok) {
			CHECK(rc == 0 && uid == c->uid && gid == c->gid, "user: %s (%u:%u)", c->what, c->uid, c->gid);
			if (rc != 0 || uid != c->uid || gid != c->gid)
				printf("#   rc %d, %u:%u, %s\n", rc, uid, gid, err.msg);
		} else {
			CHECK(rc == -1 && strstr(err.msg, c->why) && uid == 111 && gid == 222, "user: %s is refused",
			      c->what);
			if (rc != -1 || !strstr(err.msg, c->why))
				printf("#   rc %d, message: %s\n#   want: %s\n", rc, err.msg, c->why);
			CHECK(printable(err.msg), "user: %s: the message is printable", c->what);
		}
		free(buf);
	}
}

static void test_groups(void)
{
	static const char etc_group[] = "root:x:0:\n"
					"wheel:x:10:root,app\n"
					"apple:x:2001:\n"
					"app:x:1001:app\n"
					"short:x:77\n"
					"bad:x:7b:\n"
					"two:x\n";
	static const struct {
		const char *name;
		int ok;
		uint32_t gid;
		const char *why;
	} cases[] = {
		{"root", 1, 0, NULL},
		{"wheel", 1, 10, NULL},
		{"app", 1, 1001, NULL},
		{"apple", 1, 2001, NULL},
		{"short", 1, 77, NULL}, /* no members field: the gid is all a lookup needs */
		{"bad", 0, 0, "group \"bad\": line 6 of the image's /etc/group: gid \"7b\" is not a decimal number"},
		{"two", 0, 0, "line 7 of the image's /etc/group has 2 fields, needs 3 (name:password:gid)"},
		{"ap", 0, 0, "group \"ap\" is not in the image's /etc/group (7 lines searched)"},
		{"", 0, 0, "an empty group name"},
	};
	size_t len = strlen(etc_group);
	char *buf = copy(etc_group, len);
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct uvm_err err = {0, ""};
		uint32_t gid = 333;
		int rc = passwd_find_group(buf, len, cases[i].name, &gid, &err);
		if (cases[i].ok)
			CHECK(rc == 0 && gid == cases[i].gid, "group %s -> %u", cases[i].name, cases[i].gid);
		else
			CHECK(rc == -1 && gid == 333 && strstr(err.msg, cases[i].why), "group \"%s\" refused: %s",
			      cases[i].name, cases[i].why);
		if (err.msg[0] && (cases[i].ok || !strstr(err.msg, cases[i].why)))
			printf("#   message: %s\n", err.msg);
	}
	free(buf);

	/* a passwd line read as a group line: the third field is the "gid" */
	uint32_t gid = 0;
	CHECK(passwd_find_group("app:x:1000:1001:App:/:/bin/sh", 29, "app", &gid, NULL) == 0 && gid == 1000,
	      "group lookups read the third field");
}

static void test_limits(void)
{
	struct uvm_err err = {0, ""};
	uint32_t uid = 1, gid = 1;

	/* exactly PASSWD_MAX_BYTES is read, with the match on the last line */
	static const char line[] = "app:x:4:5";
	size_t max = PASSWD_MAX_BYTES;
	char *big = malloc(max + 1);
	if (!big)
		abort();
	memset(big, '\n', max + 1);
	memcpy(big + max - (sizeof line - 1), line, sizeof line - 1);
	CHECK(passwd_find_user(big, max, "app", &uid, &gid, &err) == 0 && uid == 4 && gid == 5,
	      "a file of exactly %zu bytes is read to its last line", max);
	CHECK(passwd_find_user(big, max + 1, "app", &uid, &gid, &err) == -1 && err.code == EFBIG &&
		      strstr(err.msg, "is 4194305 bytes, more than the 4194304 accepted"),
	      "one byte more is refused: %s", err.msg);
	CHECK(passwd_find_group(big, max + 1, "app", &gid, &err) == -1 && strstr(err.msg, "/etc/group"),
	      "the group file too: %s", err.msg);
	free(big);

	CHECK(passwd_find_user(NULL, 0, "app", &uid, &gid, &err) == -1 && err.code == ENOENT,
	      "no buffer and no bytes: not found");
	CHECK(passwd_find_user(NULL, 5, "app", &uid, &gid, &err) == -1 && strstr(err.msg, "no buffer"),
	      "no buffer for 5 bytes is refused: %s", err.msg);
	CHECK(passwd_find_user("app:x:1:1", 9, NULL, &uid, &gid, &err) == -1 && err.code == EINVAL,
	      "a NULL name is refused");
	CHECK(passwd_find_user("app:x:1:1", 9, "app", NULL, &gid, &err) == -1, "a NULL uid pointer is refused");
	CHECK(passwd_find_group("app:x:1:1", 9, "app", NULL, &err) == -1, "a NULL gid pointer is refused");

	char name[300];
	memset(name, 'a', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	CHECK(passwd_find_user("a:x:1:1", 7, name, &uid, &gid, &err) == -1 && strstr(err.msg, "longer than 256") &&
		      strlen(err.msg) < 200,
	      "a 299-byte name is refused, shown cut short: %s", err.msg);
	name[256] = '\0';
	CHECK(passwd_find_user("a:x:1:1", 7, name, &uid, &gid, &err) == -1 && err.code == ENOENT,
	      "a 256-byte name is looked up");
}

int main(void)
{
	test_users();
	test_groups();
	test_limits();
	return check_done();
}
