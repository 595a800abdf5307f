/* Extracts a layer tar into a staging directory (see layer_tar.h). Paths are
 * resolved one component at a time with O_NOFOLLOW, so an entry can never
 * write through a symlink an earlier entry planted. Directory times are set
 * last, since creating children changes them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "layer_tar.h"

#define WHITEOUT_PREFIX ".wh."
#define OPAQUE_NAME ".wh..wh..opq"

struct reader {
	int fd;
	size_t pos, len;
	uint8_t buf[1 << 16];
};

static int rd_read(struct reader *r, void *dst, size_t n, struct uvm_err *err)
{
	uint8_t *d = dst;
	while (n) {
		if (r->pos == r->len) {
			ssize_t got = read(r->fd, r->buf, sizeof r->buf);
			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0)
				return uvm_fail(err, errno, "read the tar: %s", strerror(errno));
			if (got == 0)
				return uvm_fail(err, EINVAL,
						"tar ends in the middle of an entry "
						"(truncated archive?)");
			r->pos = 0;
			r->len = (size_t)got;
		}
		size_t k = r->len - r->pos < n ? r->len - r->pos : n;
		if (d) {
			memcpy(d, r->buf + r->pos, k);
			d += k;
		}
		r->pos += k;
		n -= k;
	}
	return 0;
}

static uint64_t padded(uint64_t size)
{
	return (size + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
}

static int rd_skip(struct reader *r, uint64_t n, struct uvm_err *err)
{
	while (n) {
		size_t k = n > (1u << 20) ? (1u << 20) : (size_t)n;
		if (rd_read(r, NULL, k, err) < 0)
			return -1;
		n -= k;
	}
	return 0;
}

/* What a directory record says about its path. */
enum dir_kind {
	DIR_IMPLICIT, /* created as an implicit parent (or the root before "./"): time 0 */
	DIR_LISTED,   /* an entry of the layer: its time */
	DIR_WHITED,   /* whited out in this layer too: no lower metadata; no time */
};

/* Directories whose times we set at the end, in extraction order. A path
 * may have several records: created as an implicit parent, then listed. */
struct dir_time {
	char *path;
	struct timespec t;
	enum dir_kind kind;
};

struct extract {
	struct reader *rd;
	int root_fd;
	struct tar_stats *st;
	struct dir_time *dirs;
	size_t ndirs, cap;
};

static int remember_dir(struct extract *x, const char *path, int64_t sec, uint32_t nsec, enum dir_kind kind,
			struct uvm_err *err)
{
	if (x->ndirs == x->cap) {
		size_t cap = x->cap ? 2 * x->cap : 256;
		struct dir_time *d = realloc(x->dirs, cap * sizeof *d);
		if (!d)
			return uvm_fail(err, ENOMEM, "out of memory");
		x->dirs = d;
		x->cap = cap;
	}
	x->dirs[x->ndirs].path = strdup(path);
	if (!x->dirs[x->ndirs].path)
		return uvm_fail(err, ENOMEM, "out of memory");
	x->dirs[x->ndirs].t = (struct timespec){.tv_sec = sec, .tv_nsec = nsec};
	x->dirs[x->ndirs].kind = kind;
	x->ndirs++;
	return 0;
}

static int is_whiteout(const struct stat *s)
{
	/* Device nodes from the tar are refused: a character device in the
	 * staging directory is one of our whiteouts. */
	return S_ISCHR(s->st_mode) && s->st_rdev == makedev(0, 0);
}

/* Creates name in fd as an implicit parent directory (0755 root, time 0:
 * the default for a directory no lower layer has; layer_chain.c gives the
 * others the lower layer's metadata) and opens it; -1 with errno. */
static int make_implicit(struct extract *x, int fd, const char *name, const char *path, enum dir_kind kind,
			 struct uvm_err *err)
{
	if (mkdirat(fd, name, 0755) < 0 || fchmodat(fd, name, 0755, 0) < 0)
		return -1;
	if (remember_dir(x, path, 0, 0, DIR_IMPLICIT, err) < 0 ||
	    (kind == DIR_WHITED && remember_dir(x, path, 0, 0, DIR_WHITED, err) < 0)) {
		errno = ENOMEM;
		return -1;
	}
	return openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* A parent this layer whited out (".wh.D", then "D/x"): the layer deletes
 * the lower D and has a D of its own, in overlayfs an opaque directory,
 * which takes no lower metadata. Anything else that is not a directory
 * stays an error (ENOTDIR). */
static int whiteout_to_dir(struct extract *x, int fd, const char *name, const char *path, struct uvm_err *err)
{
	struct stat s;
	if (fstatat(fd, name, &s, AT_SYMLINK_NOFOLLOW) < 0 || !is_whiteout(&s)) {
		errno = ENOTDIR;
		return -1;
	}
	if (unlinkat(fd, name, 0) < 0)
		return -1;
	int d = make_implicit(x, fd, name, path, DIR_WHITED, err);
	if (d >= 0 && fsetxattr(d, "trusted.overlay.opaque", "y", 1, 0) < 0) {
		int e = errno;
		close(d);
		errno = e;
		return -1;
	}
	return d;
}

/* Opens the parent directory of path (relative, normalised, non-empty),
 * creating missing ones, and returns the last component in *base. */
static int open_parent(struct extract *x, char *path, const char **base, struct uvm_err *err)
{
	int fd = dup(x->root_fd);
	char *p = path, *slash;
	while (fd >= 0 && (slash = strchr(p, '/')) != NULL) {
		*slash = 0;
		int next = openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT)
			next = make_implicit(x, fd, p, path, DIR_IMPLICIT, err);
		else if (next < 0 && errno == ENOTDIR)
			next = whiteout_to_dir(x, fd, p, path, err);
		int e = errno;
		*slash = '/';
		close(fd);
		fd = next;
		if (fd < 0) {
			return uvm_fail(err, e,
					"'%.200s': parent is not a directory (or a symlink): "
					"%s",
					path, strerror(e));
		}
		p = slash + 1;
	}
	if (fd < 0)
		return uvm_fail(err, errno, "dup: %s", strerror(errno));
	*base = p;
	return fd;
}

/* Removes a non-directory in the way of a new entry (a later entry wins).
 * 1: an existing directory (keep it, update its metadata); 2: a whiteout of
 * this layer made way for a directory, which must be opaque. */
static int clear_slot(int dfd, const char *base, char type, const char *path, struct uvm_err *err)
{
	struct stat s;
	if (fstatat(dfd, base, &s, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : uvm_fail(err, errno, "'%.200s': %s", path, strerror(errno));
	if (S_ISDIR(s.st_mode)) {
		if (type == '5')
			return 1;
		return uvm_fail(err, EEXIST, "'%.200s' would replace a directory", path);
	}
	if (unlinkat(dfd, base, 0) < 0)
		return uvm_fail(err, errno, "'%.200s': remove earlier entry: %s", path, strerror(errno));
	return type == '5' && is_whiteout(&s) ? 2 : 0;
}

static int set_xattrs(int dfd, const char *base, const struct tar_override *o, const char *path, struct uvm_err *err)
{
	char proc[64 + 256];
	if (!o->nxattr)
		return 0;
	snprintf(proc, sizeof proc, "/proc/self/fd/%d/%s", dfd, base);
	for (size_t i = 0; i < o->nxattr; i++)
		if (lsetxattr(proc, o->xattr[i].name, o->xattr[i].value, o->xattr[i].len, 0) < 0)
			return uvm_fail(err, errno, "'%.200s': set xattr %.64s: %s", path, o->xattr[i].name,
					strerror(errno));
	return 0;
}

static int copy_data(struct extract *x, int out, uint64_t size, const char *path, struct uvm_err *err)
{
	static uint8_t buf[1 << 16];
	uint64_t left = size;
	while (left) {
		size_t k = left > sizeof buf ? sizeof buf : (size_t)left;
		if (rd_read(x->rd, buf, k, err) < 0)
			return -1;
		for (size_t off = 0; off < k;) {
			ssize_t w = write(out, buf + off, k - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return uvm_fail(err, errno, "'%.200s': write: %s", path, strerror(errno));
			off += (size_t)w;
		}
		left -= k;
	}
	x->st->bytes += size;
	return rd_skip(x->rd, padded(size) - size, err);
}

/* Ownership, then mode (chown clears set-id bits), then time. */
static int set_meta(int dfd, const char *base, const struct tar_header *h, int is_link, const char *path,
		    struct uvm_err *err)
{
	struct timespec ts[2] = {{.tv_sec = h->mtime, .tv_nsec = h->mtime_nsec},
				 {.tv_sec = h->mtime, .tv_nsec = h->mtime_nsec}};
	if (fchownat(dfd, base, (uid_t)h->uid, (gid_t)h->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return uvm_fail(err, errno, "'%.200s': chown: %s (run as root)", path, strerror(errno));
	if (!is_link && fchmodat(dfd, base, h->mode, 0) < 0)
		return uvm_fail(err, errno, "'%.200s': chmod: %s", path, strerror(errno));
	if (h->type != '5' && utimensat(dfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return uvm_fail(err, errno, "'%.200s': set time: %s", path, strerror(errno));
	return 0;
}

static int make_opaque(int dfd, const char *path, struct uvm_err *err)
{
	if (fsetxattr(dfd, "trusted.overlay.opaque", "y", 1, 0) < 0)
		return uvm_fail(err, errno,
				"'%.200s': set trusted.overlay.opaque: %s (root and a "
				"file system with trusted xattrs are needed)",
				path, strerror(errno));
	return 0;
}

/* The whiteout of a directory this layer has too (OCI: a whiteout hides
 * only lower layers): the directory stays, made opaque so that nothing of
 * the lower one shows through, and it takes no lower metadata. */
static int whiteout_dir(struct extract *x, int dfd, const char *name, const char *dir, struct uvm_err *err)
{
	int d = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (d < 0)
		return uvm_fail(err, errno, "'%.200s': open: %s", dir, strerror(errno));
	int r = make_opaque(d, dir, err);
	close(d);
	return r < 0 ? -1 : remember_dir(x, dir, 0, 0, DIR_WHITED, err);
}

static int make_whiteout(struct extract *x, int dfd, const char *name, const struct tar_header *h, const char *path,
			 struct uvm_err *err)
{
	struct stat s;
	if (fstatat(dfd, name, &s, AT_SYMLINK_NOFOLLOW) == 0) {
		char dir[TAR_PATH_MAX];
		if (!S_ISDIR(s.st_mode))
			return 0; /* this layer has NAME itself: it stays, the lower NAME hidden */
		/* path is "P/.wh.NAME", so the directory is "P/NAME" */
		size_t plen = strlen(path) - strlen(name) - 4;
		snprintf(dir, sizeof dir, "%.*s%s", (int)plen, path, name);
		return whiteout_dir(x, dfd, name, dir, err);
	}
	if (mknodat(dfd, name, S_IFCHR | 0, makedev(0, 0)) < 0)
		return uvm_fail(err, errno, "'%.200s': make whiteout device: %s (run as root)", path, strerror(errno));
	struct tar_header w = *h;
	w.uid = w.gid = 0;
	w.mode = 0;
	w.type = '3';
	return set_meta(dfd, name, &w, 0, path, err);
}

static int create_node(struct extract *x, int dfd, const char *base, const struct tar_header *h, const char *path,
		       struct uvm_err *err)
{
	switch (h->type) {
	case '0': {
		int out = openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (out < 0)
			return uvm_fail(err, errno, "'%.200s': create: %s", path, strerror(errno));
		int r = copy_data(x, out, h->size, path, err);
		if (close(out) < 0 && r == 0)
			r = uvm_fail(err, errno, "'%.200s': close: %s", path, strerror(errno));
		return r;
	}
	case '2':
		if (symlinkat(h->link, dfd, base) < 0)
			return uvm_fail(err, errno, "'%.200s': symlink: %s", path, strerror(errno));
		return 0;
	case '6':
		if (mknodat(dfd, base, S_IFIFO | 0600, 0) < 0)
			return uvm_fail(err, errno, "'%.200s': mkfifo: %s", path, strerror(errno));
		return 0;
	case '5':
		if (mkdirat(dfd, base, 0700) < 0)
			return uvm_fail(err, errno, "'%.200s': mkdir: %s", path, strerror(errno));
		return 0;
	}
	return uvm_fail(err, EINVAL, "'%.200s': unsupported entry type '%c'", path, h->type);
}

/* Device nodes are refused. Opening an existing node needs no capability,
 * so a block or character device in a container's root file system gives
 * every user of that container the guest's device behind the numbers
 * (another container's decrypted scratch, the layers' dm devices).
 * Containers get /dev from the runtime; an image never needs its own. A
 * character device 0:0 is an overlayfs whiteout, which OCI layers spell
 * .wh.NAME, so it is refused as well, with a hint. */
static int refuse_device(const struct tar_header *h, const char *path, struct uvm_err *err)
{
	int whiteout = h->type == '3' && h->devmajor == 0 && h->devminor == 0;
	return uvm_fail(err, EPERM,
			"'%.120s': %s device %u:%u refused: a device node in an image "
			"would open the guest's device for any container user; remove it from the "
			"image (the runtime provides /dev)%s",
			path, h->type == '3' ? "character" : "block", h->devmajor, h->devminor,
			whiteout ? "; for a deletion, OCI layers use a .wh.NAME file" : "");
}

static int hard_link(struct extract *x, int dfd, const char *base, const struct tar_header *h, const char *path,
		     struct uvm_err *err)
{
	char target[TAR_PATH_MAX];
	const char *tbase;
	struct stat s;
	if (tar_normalize_path(h->link, target, sizeof target, err) < 0 || !target[0])
		return uvm_wrap(err, "hard link '%.200s'", path);
	int tfd = open_parent(x, target, &tbase, err);
	if (tfd < 0)
		return -1;
	/* The only devices in the staging directory are our whiteouts; a link
	 * to one would be a whiteout the layer did not ask for. */
	int r = fstatat(tfd, tbase, &s, AT_SYMLINK_NOFOLLOW);
	if (r == 0 && (S_ISCHR(s.st_mode) || S_ISBLK(s.st_mode))) {
		close(tfd);
		return uvm_fail(err, EPERM,
				"'%.200s': hard link to '%.200s', a whiteout, refused "
				"(link to a file)",
				path, target);
	}
	if (r == 0)
		r = linkat(tfd, tbase, dfd, base, 0);
	int e = errno;
	close(tfd);
	if (r < 0)
		return uvm_fail(err, e,
				"'%.200s': hard link to '%.200s': %s (target must come "
				"earlier in the layer)",
				path, target, strerror(e));
	return 0;
}

static int root_entry(struct extract *x, const struct tar_header *h, struct uvm_err *err)
{
	if (h->type != '5')
		return uvm_fail(err, EINVAL, "the layer root must be a directory");
	if (fchown(x->root_fd, (uid_t)h->uid, (gid_t)h->gid) < 0 || fchmod(x->root_fd, h->mode) < 0)
		return uvm_fail(err, errno, "layer root: %s", strerror(errno));
	return remember_dir(x, ".", h->mtime, h->mtime_nsec, DIR_LISTED, err);
}

/* Links, symlinks, devices, directories and FIFOs carry no data. Readers
 * disagree on a non-zero size there: Go's archive/tar (containerd, image
 * scanners) reads the next block as a header, others skip the "data". Either
 * choice would let a layer show us entries others do not see, or the
 * reverse, so such an entry is refused. */
static int header_only_sized(const struct tar_header *h, const char *path, struct uvm_err *err)
{
	if (!h->type || !strchr("123456", h->type) || h->size == 0)
		return 0;
	return uvm_fail(err, EINVAL,
			"'%.200s': entry of type '%c' with %llu bytes of data refused "
			"(tar readers disagree on whether data follows such a header)",
			path, h->type, (unsigned long long)h->size);
}

static int extract_entry(struct extract *x, struct tar_header *h, const struct tar_override *o, struct uvm_err *err)
{
	char path[TAR_PATH_MAX];
	const char *base;
	if (tar_normalize_path(h->path, path, sizeof path, err) < 0 || header_only_sized(h, path, err) < 0)
		return -1;
	if (h->mtime > x->st->max_mtime)
		x->st->max_mtime = h->mtime;
	if (!path[0])
		return root_entry(x, h, err);
	int dfd = open_parent(x, path, &base, err);
	if (dfd < 0)
		return -1;
	int r, marker = 1; /* a whiteout or opaque mark: any data it has is no file's */
	if (strcmp(base, OPAQUE_NAME) == 0) {
		r = make_opaque(dfd, path, err);
		x->st->opaque_dirs++;
	} else if (strncmp(base, WHITEOUT_PREFIX, 4) == 0) {
		if (strncmp(base, ".wh..wh.", 8) == 0 || !base[4])
			r = uvm_fail(err, EINVAL, "'%.200s': unknown whiteout metadata", path);
		else
			r = make_whiteout(x, dfd, base + 4, h, path, err);
		x->st->whiteouts++;
	} else if (h->type == '3' || h->type == '4') {
		r = refuse_device(h, path, err);
	} else {
		marker = 0;
		r = clear_slot(dfd, base, h->type, path, err);
		int existing_dir = r == 1, was_whiteout = r == 2;
		if (r >= 0 && !existing_dir)
			r = h->type == '1' ? hard_link(x, dfd, base, h, path, err)
					   : create_node(x, dfd, base, h, path, err);
		if (r >= 0 && h->type != '1')
			r = set_meta(dfd, base, h, h->type == '2', path, err);
		if (r >= 0)
			r = set_xattrs(dfd, base, o, path, err);
		if (r >= 0 && was_whiteout) /* ".wh.D", then "D/": the lower D is gone */
			r = whiteout_dir(x, dfd, base, path, err);
		if (r >= 0 && h->type == '5')
			r = remember_dir(x, path, h->mtime, h->mtime_nsec, DIR_LISTED, err);
	}
	close(dfd);
	/* A regular file's data was copied; what else has data (a whiteout
	 * written as a non-empty file, as Go's reader would skip it) is skipped. */
	if (r >= 0 && (h->type != '0' || marker))
		r = rd_skip(x->rd, padded(h->size), err);
	return r < 0 ? -1 : 0;
}

/* Reads a pax or GNU long-name body (bounded) into a fresh buffer. */
static char *read_meta_body(struct extract *x, uint64_t size, struct uvm_err *err)
{
	if (size > TAR_PAX_MAX) {
		uvm_fail(err, E2BIG, "extended header of %llu bytes (limit %u)", (unsigned long long)size, TAR_PAX_MAX);
		return NULL;
	}
	char *buf = malloc((size_t)size + 1);
	if (!buf) {
		uvm_fail(err, ENOMEM, "out of memory");
		return NULL;
	}
	if (rd_read(x->rd, buf, (size_t)size, err) < 0 || rd_skip(x->rd, padded(size) - size, err) < 0) {
		free(buf);
		return NULL;
	}
	buf[size] = 0;
	return buf;
}

static int apply_dir_times(struct extract *x, struct uvm_err *err)
{
	for (size_t i = 0; i < x->ndirs; i++) {
		struct timespec ts[2] = {x->dirs[i].t, x->dirs[i].t};
		if (x->dirs[i].kind == DIR_WHITED)
			continue;
		if (utimensat(x->root_fd, x->dirs[i].path, ts, AT_SYMLINK_NOFOLLOW) < 0)
			return uvm_fail(err, errno, "'%.200s': set time: %s", x->dirs[i].path, strerror(errno));
	}
	return 0;
}

/* One loop step: a metadata header feeds the overrides of the next entry. */
static int tar_loop(struct extract *x, struct uvm_err *err)
{
	uint8_t block[TAR_BLOCK];
	struct tar_header *h = malloc(sizeof *h);
	struct tar_override *o = calloc(1, sizeof *o);
	char *pax = NULL; /* backs o->xattr */
	uint64_t headers = 0;
	int r = -1;
	if (!h || !o) {
		uvm_fail(err, ENOMEM, "out of memory");
		goto out;
	}
	for (;;) {
		if (rd_read(x->rd, block, sizeof block, err) < 0)
			goto out;
		int k = tar_parse_header(block, h, err);
		if (k < 0)
			goto out;
		if (k == 1)
			break; /* end marker; the second zero block and padding may follow */
		if (++headers > 2 * (uint64_t)TAR_MAX_ENTRIES) {
			uvm_fail(err, E2BIG, "more than %u entries", TAR_MAX_ENTRIES);
			goto out;
		}
		if (h->type == 'x' || h->type == 'g' || h->type == 'L' || h->type == 'K') {
			char *body = read_meta_body(x, h->size, err);
			if (!body)
				goto out;
			if (h->type == 'L' || h->type == 'K') {
				size_t n = strnlen(body, h->size);
				char *dst = h->type == 'L' ? o->path : o->link;
				int bad = n == 0 || n >= TAR_PATH_MAX;
				if (!bad) {
					memcpy(dst, body, n + 1);
					*(h->type == 'L' ? &o->has_path : &o->has_link) = 1;
				}
				free(body);
				if (bad) {
					uvm_fail(err, EINVAL, "GNU long name of bad length");
					goto out;
				}
				continue;
			}
			if (h->type == 'x') {
				free(pax);
				pax = body;
			}
			k = tar_parse_pax(body, (size_t)h->size, h->type == 'g', o, err);
			if (h->type == 'g')
				free(body);
			if (k < 0)
				goto out;
			continue;
		}
		tar_apply_override(h, o);
		x->st->entries++;
		if (extract_entry(x, h, o, err) < 0) {
			uvm_wrap(err, "tar entry %llu", (unsigned long long)x->st->entries);
			goto out;
		}
		memset(o, 0, sizeof *o);
		free(pax);
		pax = NULL;
	}
	r = apply_dir_times(x, err);
out:
	free(pax);
	free(h);
	free(o);
	return r;
}

static int by_path(const void *a, const void *b)
{
	return strcmp((*(const struct dir_time *const *)a)->path, (*(const struct dir_time *const *)b)->path);
}

/* The paths whose every record is implicit, sorted ("." becomes ""). */
static int collect_implicit(struct extract *x, struct tar_dirs *out, struct uvm_err *err)
{
	struct dir_time **v = malloc((x->ndirs + 1) * sizeof *v);
	out->paths = malloc((x->ndirs + 1) * sizeof *out->paths);
	out->n = 0;
	if (!v || !out->paths) {
		free(v);
		return uvm_fail(err, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < x->ndirs; i++)
		v[i] = &x->dirs[i];
	qsort(v, x->ndirs, sizeof *v, by_path);
	for (size_t i = 0, j; i < x->ndirs; i = j) {
		int implicit = 1;
		for (j = i; j < x->ndirs && strcmp(v[j]->path, v[i]->path) == 0; j++)
			implicit &= v[j]->kind == DIR_IMPLICIT;
		if (!implicit)
			continue;
		const char *p = strcmp(v[i]->path, ".") == 0 ? "" : v[i]->path;
		if (!(out->paths[out->n] = strdup(p))) {
			free(v);
			return uvm_fail(err, ENOMEM, "out of memory");
		}
		out->n++;
	}
	free(v);
	return 0;
}

void tar_dirs_free(struct tar_dirs *d)
{
	for (size_t i = 0; d->paths && i < d->n; i++)
		free(d->paths[i]);
	free(d->paths);
	d->paths = NULL;
	d->n = 0;
}

int tar_extract(int fd, int root_fd, struct tar_stats *st, struct tar_dirs *implicit, struct uvm_err *err)
{
	struct reader *rd = malloc(sizeof *rd);
	if (!rd)
		return uvm_fail(err, ENOMEM, "out of memory");
	rd->fd = fd;
	rd->pos = rd->len = 0;
	memset(st, 0, sizeof *st);
	if (implicit)
		*implicit = (struct tar_dirs){NULL, 0};
	struct extract x = {.rd = rd, .root_fd = root_fd, .st = st};
	/* The root: 0755 root:root, time 0, unless the tar has a "./" entry. */
	int r = fchown(root_fd, 0, 0) < 0 || fchmod(root_fd, 0755) < 0
			? uvm_fail(err, errno, "staging directory: %s (run as root)", strerror(errno))
			: remember_dir(&x, ".", 0, 0, DIR_IMPLICIT, err);
	if (r == 0)
		r = tar_loop(&x, err);
	if (r == 0 && implicit)
		r = collect_implicit(&x, implicit, err);
	for (size_t i = 0; i < x.ndirs; i++)
		free(x.dirs[i].path);
	free(x.dirs);
	free(rd);
	return r;
}
