/* A layer on top of the layers below it; see layer_chain.h. The staging
 * directory is walked (nftw, not following symlinks) rather than the tar's
 * entries replayed, so that the map mirrors exactly what the image will
 * hold, whatever order and repetitions the tar had. */
#include "layer_chain.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "hash.h"
#include "hex.h"

#define XATTR_NAMES_MAX 65536u /* the kernel's XATTR_LIST_MAX */
#define XATTR_VALUE_MAX 65536u /* the kernel's XATTR_SIZE_MAX */

void layer_chain_init(struct layer_chain *c)
{
	c->id[0] = 0;
	dirmap_init(&c->dirs);
}

void layer_chain_free(struct layer_chain *c)
{
	dirmap_free(&c->dirs);
	c->id[0] = 0;
}

void layer_chain_id(const char *below, const char *digest, char out[LAYER_DIGEST_LEN + 1])
{
	char buf[2 * LAYER_DIGEST_LEN + 2];
	uint8_t d[UVM_SHA256_LEN];
	if (!*below) {
		snprintf(out, LAYER_DIGEST_LEN + 1, "%s", digest);
		return;
	}
	int n = snprintf(buf, sizeof buf, "%.*s %.*s", LAYER_DIGEST_LEN, below, LAYER_DIGEST_LEN, digest);
	uvm_sha256(buf, (size_t)n, d);
	memcpy(out, "sha256:", 7);
	uvm_hex_encode(d, sizeof d, out + 7);
}

enum walk_phase { WALK_HIDE, WALK_RECORD };

struct walk {
	enum walk_phase phase;
	struct dirmap *map;  /* WALK_HIDE: the lower layers' map */
	struct dirmap batch; /* WALK_RECORD: this layer's directories */
	size_t stage_len;
	char hidden[TAR_PATH_MAX]; /* last subtree hidden: nothing below needs a search */
	int have_hidden;
	struct uvm_err *err;
};

/* nftw passes no user pointer; uvm is single-threaded. */
static struct walk *walk_now;

static int strictly_below(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return n ? strncmp(path, dir, n) == 0 && path[n] == '/' : path[0] != 0;
}

static int is_opaque(const char *fpath)
{
	char v[2];
	return lgetxattr(fpath, "trusted.overlay.opaque", v, sizeof v) == 1 && v[0] == 'y';
}

/* In the overlay, a non-directory (a whiteout included) hides the lower
 * path and all below it; an opaque directory hides all below it. */
static void hide(struct walk *w, const char *fpath, const char *rel, int is_dir)
{
	if (w->have_hidden && strictly_below(rel, w->hidden))
		return;
	if (!is_dir) {
		dirmap_remove(w->map, rel, 0);
	} else if (is_opaque(fpath)) {
		dirmap_remove(w->map, rel, 1);
		w->have_hidden = strlen(rel) < sizeof w->hidden;
		if (w->have_hidden)
			memcpy(w->hidden, rel, strlen(rel) + 1);
	}
}

/* The user.* and security.* xattrs of a staging directory; trusted.* ones
 * (overlay opaque marks) belong to this layer only. */
static int read_xattrs(const char *fpath, const char *rel, struct dirmeta *m, struct uvm_err *err)
{
	static char names[XATTR_NAMES_MAX];
	static uint8_t value[XATTR_VALUE_MAX];
	ssize_t n = llistxattr(fpath, names, sizeof names);
	if (n < 0)
		return uvm_fail(err, errno, "'%.200s': list xattrs: %s", rel, strerror(errno));
	for (size_t at = 0; at < (size_t)n;) {
		const char *name = names + at;
		at += strnlen(name, (size_t)n - at) + 1;
		if (strncmp(name, "user.", 5) != 0 && strncmp(name, "security.", 9) != 0)
			continue;
		ssize_t v = lgetxattr(fpath, name, value, sizeof value);
		if (v < 0)
			return uvm_fail(err, errno, "'%.200s': read xattr %.64s: %s", rel, name, strerror(errno));
		if (dirmeta_add_xattr(m, name, value, (size_t)v, err) < 0)
			return -1;
	}
	return 0;
}

static int record(struct walk *w, const char *fpath, const char *rel, const struct stat *sb)
{
	struct dirmeta m = {.mode = sb->st_mode & 07777,
			    .uid = sb->st_uid,
			    .gid = sb->st_gid,
			    .mtime = sb->st_mtim.tv_sec,
			    .mtime_nsec = (uint32_t)sb->st_mtim.tv_nsec};
	int r = read_xattrs(fpath, rel, &m, w->err);
	if (r == 0)
		r = dirmap_append(&w->batch, rel, &m, w->err);
	free(m.xattrs);
	return r;
}

/* Returns 1 (stop, message set) on failure, as nftw passes it through. */
static int on_entry(const char *fpath, const struct stat *sb, int flag, struct FTW *f)
{
	struct walk *w = walk_now;
	const char *rel = f->level ? fpath + w->stage_len + 1 : "";
	if (flag == FTW_DNR || flag == FTW_NS) {
		uvm_fail(w->err, EIO, "'%.200s': cannot read the staged entry", rel);
		return 1;
	}
	int is_dir = S_ISDIR(sb->st_mode);
	if (w->phase == WALK_HIDE) {
		hide(w, fpath, rel, is_dir);
		return 0;
	}
	return is_dir && record(w, fpath, rel, sb) < 0 ? 1 : 0;
}

static int walk(struct walk *w, const char *stage)
{
	w->stage_len = strlen(stage);
	walk_now = w;
	int r = nftw(stage, on_entry, 16, FTW_PHYS);
	walk_now = NULL;
	if (r > 0)
		return -1; /* on_entry set the message */
	if (r < 0)
		return uvm_fail(w->err, errno, "walk the staging directory %s: %s", stage, strerror(errno));
	return 0;
}

/* Opens a staging directory without following symlinks. */
static int open_dir(int stage_fd, const char *path, struct uvm_err *err)
{
	char buf[TAR_PATH_MAX];
	if (strlen(path) >= sizeof buf)
		return uvm_fail(err, ENAMETOOLONG, "'%.200s': path too long", path);
	memcpy(buf, path, strlen(path) + 1);
	int fd = openat(stage_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (char *p = buf, *next; fd >= 0 && *p; p = next) {
		next = p + strcspn(p, "/");
		if (*next)
			*next++ = 0;
		int sub = openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = sub;
	}
	if (fd < 0)
		return uvm_fail(err, errno, "'%.200s': open staged directory: %s", path, strerror(errno));
	return fd;
}

/* Owner, then mode (chown may clear set-gid), xattrs, time last. */
static int give_meta(int stage_fd, const char *path, const struct dirmeta *m, struct uvm_err *err)
{
	struct timespec ts[2] = {{.tv_sec = m->mtime, .tv_nsec = m->mtime_nsec},
				 {.tv_sec = m->mtime, .tv_nsec = m->mtime_nsec}};
	const char *name;
	const uint8_t *value;
	size_t len, pos = 0;
	int fd = open_dir(stage_fd, path, err), k;
	if (fd < 0)
		return -1;
	int r = fchown(fd, m->uid, m->gid) < 0 || fchmod(fd, m->mode) < 0 ? -1 : 0;
	while (r == 0 && (k = dirmeta_next_xattr(m, &pos, &name, &value, &len)) != 0)
		r = k < 0 ? (errno = EINVAL, -1) : fsetxattr(fd, name, value, len, 0);
	if (r == 0)
		r = futimens(fd, ts);
	int e = errno;
	close(fd);
	if (r < 0)
		return uvm_fail(err, e, "'%.200s': give it the lower layer's metadata: %s", path[0] ? path : "/",
				strerror(e));
	return 0;
}

static int inherit(const struct dirmap *lower, const char *stage, const struct tar_dirs *implicit, int64_t *max_mtime,
		   struct uvm_err *err)
{
	int sfd = open(stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0)
		return uvm_fail(err, errno, "open %s: %s", stage, strerror(errno));
	int r = 0;
	for (size_t i = 0; r == 0 && i < implicit->n; i++) {
		const struct dirmeta *m = dirmap_find(lower, implicit->paths[i]);
		if (!m)
			continue; /* no lower layer has it: the default stays */
		r = give_meta(sfd, implicit->paths[i], m, err);
		if (m->mtime > *max_mtime)
			*max_mtime = m->mtime;
	}
	close(sfd);
	return r;
}

int layer_chain_apply(struct layer_chain *c, const char *stage, const struct tar_dirs *implicit, int64_t *max_mtime,
		      struct uvm_err *err)
{
	struct walk w = {.phase = WALK_HIDE, .map = &c->dirs, .err = err};
	dirmap_init(&w.batch);
	/* Hidden first: a directory this layer's whiteout or opaque parent
	 * hides is not there for its implicit directories to inherit from. */
	int r = walk(&w, stage);
	dirmap_compact(&c->dirs);
	if (r == 0)
		r = inherit(&c->dirs, stage, implicit, max_mtime, err);
	w.phase = WALK_RECORD;
	if (r == 0)
		r = walk(&w, stage);
	if (r == 0)
		r = dirmap_merge(&c->dirs, &w.batch, err);
	dirmap_free(&w.batch);
	return r < 0 ? uvm_wrap(err, "directories on top of the lower layers") : 0;
}
