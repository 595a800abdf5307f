/* A policy user given by name is resolved by the guest (docs/policy.md
 * "User"): the engine matches the request's name strings against the
 * policy, and this makes sure the numeric ids that will run are the ones
 * the container image gives those names. The files are read from the
 * container's verity layers only, never from the merged root: the
 * writable upper directory on the scratch is workload-controlled and could
 * map "app" to uid 0.
 *
 * Layers are searched from the top down as overlayfs would: the first
 * layer with etc/passwd wins; a whiteout (0/0 character device) or an
 * opaque etc/ ends the search. Symbolic links on the way are refused: in
 * the merged view they could point into another layer, which this lookup
 * does not model. */
#include "runtime_user.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "file_util.h"
#include "passwd.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#define RESOLVE_NO_XDEV 0x01
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_IN_ROOT 0x10

struct open_how_compat {
	uint64_t flags, mode, resolve;
};

enum found { FOUND, ABSENT_HERE, HIDDEN };

/* Looks for rel ("etc/passwd") in one layer directory: FOUND with *fd,
 * ABSENT_HERE (look in the layer below), HIDDEN (a whiteout or an opaque
 * directory: no lower layer counts), or -1 with err. */
static int find_in_layer(const char *layer, const char *rel, int *fd, struct uvm_err *err)
{
	char path[POLICY_MAX_PATH + 32];
	int dfd = open(layer, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return uvm_fail(err, errno, "layer %s: %s", layer, strerror(errno));
	struct open_how_compat how = {O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW, 0,
				      RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV};
	*fd = (int)syscall(SYS_openat2, dfd, rel, &how, sizeof how);
	int code = errno;
	close(dfd);
	struct stat st;
	if (*fd >= 0 && fstat(*fd, &st) == 0 && S_ISREG(st.st_mode))
		return FOUND;
	if (*fd >= 0) {
		close(*fd);
		return uvm_fail(err, EINVAL, "/%s in layer %s is not a regular file", rel, layer);
	}
	snprintf(path, sizeof path, "%s/%s", layer, rel);
	if (code == EACCES || code == ENXIO || code == ENODEV) { /* a whiteout: 0/0 char device on a nodev mount */
		if (lstat(path, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == 0)
			return HIDDEN;
	}
	if (code == ELOOP)
		return uvm_fail(err, ELOOP,
				"/%s in layer %s goes through a symbolic link; the guest resolves user "
				"names only from a regular /etc/passwd and /etc/group (or give numeric ids)",
				rel, layer);
	if (code != ENOENT)
		return uvm_fail(err, code, "opening /%s in layer %s: %s", rel, layer, strerror(code));
	char dir[POLICY_MAX_PATH + 32];
	snprintf(dir, sizeof dir, "%s/%.*s", layer, (int)(strrchr(rel, '/') - rel), rel);
	char v;
	if (lgetxattr(dir, "trusted.overlay.opaque", &v, 1) == 1 && v == 'y')
		return HIDDEN;
	return ABSENT_HERE;
}

/* The text of /rel as the container's layers give it. */
static int layers_file(const char *const *layers, size_t n, const char *rel, struct file_buf *out, struct uvm_err *err)
{
	for (size_t i = n; i-- > 0;) {
		int fd = -1;
		int r = find_in_layer(layers[i], rel, &fd, err);
		if (r < 0)
			return -1;
		if (r == HIDDEN)
			break;
		if (r == FOUND) {
			r = file_read_fd(fd, rel, PASSWD_MAX_BYTES, out, err);
			close(fd);
			return r;
		}
	}
	return uvm_fail(err, ENOENT, "the container's layers have no /%s", rel);
}

int rt_user_resolve(const char *const *layers, size_t nlayers, const char *name, const char *group,
		    struct rt_resolved_user *out, struct uvm_err *err)
{
	struct file_buf f;
	int rc;
	memset(out, 0, sizeof *out);
	if (name) {
		if (layers_file(layers, nlayers, "etc/passwd", &f, err))
			return uvm_wrap(err, "resolving user '%.64s'", name);
		rc = passwd_find_user(f.data, f.len, name, &out->uid, &out->primary_gid, err);
		file_buf_free(&f);
		if (rc)
			return -1;
		out->has_uid = 1;
	}
	if (group) {
		if (layers_file(layers, nlayers, "etc/group", &f, err))
			return uvm_wrap(err, "resolving group '%.64s'", group);
		rc = passwd_find_group(f.data, f.len, group, &out->gid, err);
		file_buf_free(&f);
		if (rc)
			return -1;
		out->has_gid = 1;
	}
	return 0;
}
