/* Unit tests of agent/runtime_user.c on the host: a policy user name is
 * resolved from the container's layer directories as overlayfs would merge
 * them (top layer first, whiteouts and opaque directories end the search)
 * and never through a symbolic link. Layers are temporary directories laid
 * out here; whiteouts (0/0 character devices) and the opaque xattr need
 * root, which the unit runner has. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "check.h"
#include "runtime_user.h"

static char base[] = "/tmp/uvm-test-runtime-user-XXXXXX";

static void put(const char *layer, const char *rel, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s/etc", base, layer);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/%s/%s", base, layer, rel);
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(2);
	}
}

static void layer(const char *name)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", base, name);
	if (mkdir(path, 0755) != 0) {
		perror(path);
		exit(2);
	}
}

static const char *dir(const char *name)
{
	static char paths[8][512];
	static int next;
	char *p = paths[next++ % 8];
	snprintf(p, 512, "%s/%s", base, name);
	return p;
}

/* Resolves name/group over layers (base first); returns 0 or -1, err set. */
static int resolve(const char *const *names, size_t n, const char *user, const char *group, struct rt_resolved_user *r,
		   struct uvm_err *err)
{
	const char *layers[8];
	for (size_t i = 0; i < n; i++)
		layers[i] = dir(names[i]);
	return rt_user_resolve(layers, n, user, group, r, err);
}

static void test_top_layer_wins(void)
{
	struct rt_resolved_user r;
	struct uvm_err err = {0, ""};
	const char *two[] = {"l1", "l2"};
	CHECK_EQ_INT(resolve(two, 2, "app", "app", &r, &err), 0, "app resolved through two layers: %s", err.msg);
	CHECK(r.has_uid && r.uid == 2000 && r.primary_gid == 2000, "the top layer's passwd wins (uid %u)", r.uid);
	CHECK(r.has_gid && r.gid == 1000, "group from the lower layer's group file (l2 has none): gid %u", r.gid);
	const char *one[] = {"l1"};
	CHECK_EQ_INT(resolve(one, 1, "app", NULL, &r, &err), 0, "base layer alone");
	CHECK(r.uid == 1000 && !r.has_gid, "base layer's app is 1000; no group asked");
}

static void test_whiteout_and_opaque_hide_lower_layers(void)
{
	struct rt_resolved_user r;
	struct uvm_err err = {0, ""};
	const char *wh[] = {"l1", "whiteout"};
	CHECK_EQ_INT(resolve(wh, 2, "app", NULL, &r, &err), -1, "a whiteout of etc/passwd hides the lower file");
	CHECK(strstr(err.msg, "no /etc/passwd") != NULL, "message: %s", err.msg);
	const char *op[] = {"l1", "opaque"};
	CHECK_EQ_INT(resolve(op, 2, NULL, "app", &r, &err), -1, "an opaque etc/ hides the lower group file");
	CHECK(strstr(err.msg, "no /etc/group") != NULL, "message: %s", err.msg);
}

static void test_symlinks_are_refused(void)
{
	struct rt_resolved_user r;
	struct uvm_err err = {0, ""};
	const char *ln[] = {"l1", "link"};
	CHECK_EQ_INT(resolve(ln, 2, "app", NULL, &r, &err), -1, "etc/passwd as a symlink is refused");
	CHECK(strstr(err.msg, "symbolic link") != NULL, "message: %s", err.msg);
	const char *up[] = {"l1", "linkdir"};
	CHECK_EQ_INT(resolve(up, 2, "app", NULL, &r, &err), -1, "etc as a symlink (to another tree) is refused");
}

static void test_absent_and_malformed(void)
{
	struct rt_resolved_user r;
	struct uvm_err err = {0, ""};
	const char *one[] = {"l1"};
	CHECK_EQ_INT(resolve(one, 1, "root2", NULL, &r, &err), -1, "an unknown user is refused");
	CHECK(strstr(err.msg, "root2") != NULL, "message names the user: %s", err.msg);
	const char *none[] = {"empty"};
	CHECK_EQ_INT(resolve(none, 1, "app", NULL, &r, &err), -1, "a layer without /etc/passwd");
	const char *fifo[] = {"fifo"};
	CHECK_EQ_INT(resolve(fifo, 1, "app", NULL, &r, &err), -1, "a FIFO as /etc/passwd (would block) is refused");
	CHECK(strstr(err.msg, "not a regular file") != NULL, "message: %s", err.msg);
}

static void build(void)
{
	char path[512];
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		exit(2);
	}
	layer("l1");
	put("l1", "etc/passwd", "root:x:0:0::/:/bin/sh\napp:x:1000:1000::/app:/bin/sh\n");
	put("l1", "etc/group", "root:x:0:\napp:x:1000:\n");
	layer("l2");
	put("l2", "etc/passwd", "root:x:0:0::/:/bin/sh\napp:x:2000:2000::/app:/bin/sh\n");
	layer("whiteout");
	snprintf(path, sizeof path, "%s/whiteout/etc", base);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/whiteout/etc/passwd", base);
	if (mknod(path, S_IFCHR | 0, makedev(0, 0)) != 0)
		perror("mknod whiteout");
	layer("opaque");
	put("opaque", "etc/passwd", "app:x:3000:3000::/:/bin/sh\n");
	snprintf(path, sizeof path, "%s/opaque/etc", base);
	if (setxattr(path, "trusted.overlay.opaque", "y", 1, 0) != 0)
		perror("opaque xattr");
	layer("link");
	snprintf(path, sizeof path, "%s/link/etc", base);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/link/etc/passwd", base);
	symlink("../usr/lib/passwd", path);
	layer("linkdir");
	snprintf(path, sizeof path, "%s/linkdir/etc", base);
	symlink("/etc", path);
	layer("empty");
	layer("fifo");
	snprintf(path, sizeof path, "%s/fifo/etc", base);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/fifo/etc/passwd", base);
	mkfifo(path, 0644);
}

int main(void)
{
	build();
	test_top_layer_wins();
	test_whiteout_and_opaque_hide_lower_layers();
	test_symlinks_are_refused();
	test_absent_and_malformed();
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", base);
	return check_done();
}
