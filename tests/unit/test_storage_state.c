/* The storage state machine on the host: the REAL storage executors
 * (agent/storage_*.c, agent/blockdev.c) driven through the real dispatcher
 * (agent/dispatch.c: decode, prepare, the engine's decision, execute,
 * commit or roll back) with a bound policy, against a model of the kernel
 * played behind the storage seam (agent/storage_sys.h) and the dm ioctl
 * seam (uvm_dm_set_ioctl, lib/dm.h).
 *
 * The model follows the kernel where the storage code relies on it:
 * - block devices: virtio disks by serial under a temporary /sys/block, with
 *   contents (real erofs superblocks and dm-verity trees built by lib/);
 *   device-mapper mappings (create, load, resume, remove, status) whose
 *   removal fails with EBUSY while anything holds them: a mount, another
 *   mapping stacked on them, an open file descriptor, or "a dying container"
 *   (the test's hold count); dm-linear refuses an extent past its pool.
 * - a mount table: erofs/ext2 mounts check the file system's magic on the
 *   device, overlay checks its directories; umount is EINVAL where nothing
 *   is mounted and EBUSY while something (an overlay's lowerdir, a mount
 *   below, a busy user) uses it; directories, stat/lstat/statfs of mounts.
 * - a clock that jumps instead of sleeping, so a 2 s "wait for the dying
 *   container" costs nothing.
 * Faults are armed per call and name substring (fault()).
 *
 * After every op, consistent() compares three views: the engine's state
 * (policy_state_json), the agent's storage state and the model kernel. A
 * failed execute must leave the engine's state exactly as before. JSON in
 * requests uses ' for ". */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <linux/magic.h>

#include "agent.h"
#include "check.h"
#include "dispatch.h"
#include "dm.h"
#include "erofs.h"
#include "hex.h"
#include "json.h"
#include "ops.h"
#include "policy.h"
#include "storage.h"
#include "storage_sys.h"
#include "verity.h"

/* ================================================================ the kernel */

#define DM_MAJOR 253
#define VD_MAJOR 254
#define PATHLEN 256
#define NDISK 8
#define NDM 32
#define NMNT 32
#define NDIR 128
#define NFAULT 8
#define NFD 16

struct m_disk {
	char name[8]; /* vda, ... */
	char serial[24];
	int fd;      /* the contents */
	int corrupt; /* reads through dm-verity fail with EIO */
};

struct m_dm {
	int used, loaded, live, secure, held;
	char name[DM_NAME_LEN];
	unsigned minor;
	char type[DM_MAX_TYPE_NAME];
	char params[640];
	uint64_t sectors;
	int fd; /* the mapped device's contents, once live */
};

struct m_mount {
	int used, busy; /* busy: a process uses it (umount EBUSY, detach keeps the device) */
	char target[PATHLEN], source[PATHLEN], fstype[16], data[2048];
	uint64_t dev;
};

struct m_fault {
	char call[16], match[128];
	int err, after, count;
};

static struct kernel {
	char sysdir[64];
	struct m_disk disk[NDISK];
	size_t ndisks;
	struct m_dm dm[NDM];
	unsigned next_minor, next_anon;
	struct m_mount mnt[NMNT];
	char dirs[NDIR][PATHLEN];
	struct m_fault fault[NFAULT];
	struct {
		int fd;
		uint64_t dev;
	} fds[NFD];
	long long now_ms;
	int insecure_key; /* a crypt table loaded without DM_SECURE_DATA_FLAG */
	unsigned char rnd;
} K;

/* Arms: after `after` calls of `call` whose subject contains match go
 * through, the next `count` fail with err. */
static void fault(const char *call, const char *match, int err, int after, int count)
{
	for (size_t i = 0; i < NFAULT; i++)
		if (!K.fault[i].count) {
			snprintf(K.fault[i].call, sizeof K.fault[i].call, "%s", call);
			snprintf(K.fault[i].match, sizeof K.fault[i].match, "%s", match);
			K.fault[i].err = err;
			K.fault[i].after = after;
			K.fault[i].count = count;
			return;
		}
	abort();
}

static int faulted(const char *call, const char *subject)
{
	for (size_t i = 0; i < NFAULT; i++) {
		struct m_fault *f = &K.fault[i];
		if (!f->count || strcmp(f->call, call) != 0 || !strstr(subject, f->match))
			continue;
		if (f->after) {
			f->after--;
			continue;
		}
		f->count--;
		errno = f->err;
		return 1;
	}
	return 0;
}

static int fail(int e)
{
	errno = e;
	return -1;
}

/* ---------------------------------------------------------------- devices */

static uint64_t disk_dev(size_t i)
{
	return makedev(VD_MAJOR, (unsigned)i * 16);
}

static struct m_dm *dm_by_name(const char *name)
{
	for (size_t i = 0; i < NDM; i++)
		if (K.dm[i].used && strcmp(K.dm[i].name, name) == 0)
			return &K.dm[i];
	return NULL;
}

static void dm_node(const struct m_dm *d, char *out, size_t len)
{
	snprintf(out, len, "/dev/dm-%u", d->minor);
}

/* A device node: its number and contents. */
static int node_lookup(const char *path, uint64_t *dev, int *fd, struct m_dm **dm)
{
	unsigned minor;
	char tail;
	*dm = NULL;
	for (size_t i = 0; i < K.ndisks; i++)
		if (strncmp(path, "/dev/", 5) == 0 && strcmp(path + 5, K.disk[i].name) == 0) {
			*dev = disk_dev(i);
			*fd = K.disk[i].fd;
			return 0;
		}
	if (sscanf(path, "/dev/dm-%u%c", &minor, &tail) != 1)
		return fail(ENOENT);
	for (size_t i = 0; i < NDM; i++)
		if (K.dm[i].used && K.dm[i].minor == minor && K.dm[i].live) {
			*dev = makedev(DM_MAJOR, minor);
			*fd = K.dm[i].fd;
			*dm = &K.dm[i];
			return 0;
		}
	return fail(ENXIO);
}

/* The disk a verity mapping reads (its data device), or NULL. */
static struct m_disk *verity_disk(const struct m_dm *d)
{
	for (size_t i = 0; d && strcmp(d->type, "verity") == 0 && i < K.ndisks; i++) {
		char node[16];
		snprintf(node, sizeof node, "1 /dev/%s ", K.disk[i].name);
		if (strncmp(d->params, node, strlen(node)) == 0)
			return &K.disk[i];
	}
	return NULL;
}

/* Whether text holds word as a space-separated token. */
static int has_token(const char *text, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = strstr(text, word); p; p = strstr(p + 1, word))
		if ((p == text || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return 1;
	return 0;
}

/* What keeps a mapping from being removed: what the kernel counts as an
 * opener. */
static int dm_holders(const struct m_dm *d)
{
	char node[32];
	int n = d->held;
	dm_node(d, node, sizeof node);
	for (size_t i = 0; i < NMNT; i++)
		n += K.mnt[i].used && strcmp(K.mnt[i].source, node) == 0;
	for (size_t i = 0; i < NDM; i++)
		n += K.dm[i].used && K.dm[i].loaded && has_token(K.dm[i].params, node);
	for (size_t i = 0; i < NFD; i++)
		n += K.fds[i].fd > 0 && K.fds[i].dev == makedev(DM_MAJOR, d->minor);
	return n;
}

/* ---------------------------------------------------------------- paths */

/* "X/.." to X's parent: all storage_check_mount asks for. */
static void norm(const char *in, char *out)
{
	char tmp[PATHLEN];
	snprintf(tmp, sizeof tmp, "%s", in);
	memcpy(out, tmp, sizeof tmp);
	size_t n = strlen(out);
	if (n > 3 && strcmp(out + n - 3, "/..") == 0) {
		out[n - 3] = '\0';
		char *slash = strrchr(out, '/');
		if (slash)
			*(slash == out ? slash + 1 : slash) = '\0';
	}
}

static int under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 && path[n] == '/';
}

static char *dir_find(const char *path)
{
	for (size_t i = 0; i < NDIR; i++)
		if (K.dirs[i][0] && strcmp(K.dirs[i], path) == 0)
			return K.dirs[i];
	return NULL;
}

static int dir_exists(const char *path)
{
	return strcmp(path, "/") == 0 || dir_find(path) != NULL;
}

static void dir_add(const char *path)
{
	for (size_t i = 0; i < NDIR; i++)
		if (!K.dirs[i][0]) {
			snprintf(K.dirs[i], PATHLEN, "%s", path);
			return;
		}
	abort();
}

static struct m_mount *mount_at(const char *target)
{
	for (size_t i = 0; i < NMNT; i++)
		if (K.mnt[i].used && strcmp(K.mnt[i].target, target) == 0)
			return &K.mnt[i];
	return NULL;
}

/* The mount a path lives on (NULL: the root file system, a tmpfs). */
static struct m_mount *mount_of(const char *path)
{
	struct m_mount *best = NULL;
	for (size_t i = 0; i < NMNT; i++) {
		struct m_mount *m = &K.mnt[i];
		if (m->used && (strcmp(path, m->target) == 0 || under(path, m->target)) &&
		    (!best || strlen(m->target) > strlen(best->target)))
			best = m;
	}
	return best;
}

/* ---------------------------------------------------------------- the calls */

static int m_mkdir(void *ctx, const char *path, mode_t mode)
{
	char parent[PATHLEN];
	(void)ctx, (void)mode;
	if (faulted("mkdir", path))
		return -1;
	if (dir_exists(path))
		return fail(EEXIST);
	snprintf(parent, sizeof parent, "%s/..", path);
	norm(parent, parent);
	if (!dir_exists(parent))
		return fail(ENOENT);
	dir_add(path);
	return 0;
}

static int m_rmdir(void *ctx, const char *path)
{
	(void)ctx;
	char *d = dir_find(path);
	if (!d)
		return fail(ENOENT);
	if (mount_at(path))
		return fail(EBUSY);
	for (size_t i = 0; i < NDIR; i++)
		if (K.dirs[i][0] && under(K.dirs[i], path))
			return fail(ENOTEMPTY);
	d[0] = '\0';
	return 0;
}

static int m_chmod(void *ctx, const char *path, mode_t mode)
{
	(void)ctx, (void)mode;
	return dir_exists(path) ? 0 : fail(ENOENT);
}

/* The magic a block file system's superblock must carry. */
static int fs_magic_ok(int fd, const char *fstype)
{
	uint8_t b[4] = {0};
	if (strcmp(fstype, "erofs") == 0)
		return pread(fd, b, 4, UVM_EROFS_SB_OFFSET) == 4 &&
		       (b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24) == UVM_EROFS_MAGIC;
	return pread(fd, b, 2, 1024 + 56) == 2 && (b[0] | b[1] << 8) == EXT4_SUPER_MAGIC;
}

/* Every directory an overlay's options name must exist. */
static int overlay_dirs_ok(const char *data)
{
	char copy[2048], *save = NULL;
	snprintf(copy, sizeof copy, "%s", data);
	for (char *opt = strtok_r(copy, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(opt, '=');
		if (!eq || (strncmp(opt, "lowerdir", 8) && strncmp(opt, "upperdir", 8) && strncmp(opt, "workdir", 7)))
			continue;
		char *save2 = NULL;
		for (char *d = strtok_r(eq + 1, ":", &save2); d; d = strtok_r(NULL, ":", &save2))
			if (!dir_exists(d))
				return 0;
	}
	return 1;
}

static int m_mount(void *ctx, const char *source, const char *target, const char *fstype, unsigned long flags,
		   const void *data)
{
	uint64_t dev = makedev(0, 100 + K.next_anon);
	int fd;
	struct m_dm *dm;
	(void)ctx, (void)flags;
	if (faulted("mount", target))
		return -1;
	if (!dir_exists(target))
		return fail(ENOENT);
	if (mount_at(target))
		return fail(EBUSY);
	if (!strcmp(fstype, "erofs") || !strcmp(fstype, "ext4")) {
		if (node_lookup(source, &dev, &fd, &dm))
			return -1;
		const struct m_disk *vd = verity_disk(dm);
		if (vd && vd->corrupt)
			return fail(EIO);
		if (!fs_magic_ok(fd, fstype))
			return fail(EINVAL);
	} else if (!strcmp(fstype, "overlay")) {
		if (!data || !overlay_dirs_ok(data))
			return fail(ENOENT);
	} else if (strcmp(fstype, "tmpfs") != 0) {
		return fail(ENODEV);
	}
	for (size_t i = 0; i < NMNT; i++)
		if (!K.mnt[i].used) {
			struct m_mount *m = &K.mnt[i];
			memset(m, 0, sizeof *m);
			m->used = 1;
			m->dev = dev;
			K.next_anon++;
			snprintf(m->target, sizeof m->target, "%s", target);
			snprintf(m->source, sizeof m->source, "%s", source);
			snprintf(m->fstype, sizeof m->fstype, "%s", fstype);
			snprintf(m->data, sizeof m->data, "%s", data ? (const char *)data : "");
			return 0;
		}
	abort();
}

/* Whether another mount uses m: one mounted below it, or an overlay that
 * names a directory of it. */
static int mount_used(const struct m_mount *m)
{
	for (size_t i = 0; i < NMNT; i++) {
		const struct m_mount *o = &K.mnt[i];
		if (!o->used || o == m)
			continue;
		if (under(o->target, m->target))
			return 1;
		if (!strcmp(o->fstype, "overlay") && strstr(o->data, m->target))
			return 1;
	}
	return 0;
}

static int m_umount2(void *ctx, const char *target, int flags)
{
	(void)ctx;
	if (faulted("umount2", target))
		return -1;
	struct m_mount *m = mount_at(target);
	if (!m)
		return fail(EINVAL);
	if (!(flags & MNT_DETACH) && (m->busy || mount_used(m)))
		return fail(EBUSY);
	if (m->busy) { /* detached, but its user keeps the device open */
		struct m_dm *d = NULL;
		for (size_t i = 0; i < NDM; i++) {
			char node[32];
			dm_node(&K.dm[i], node, sizeof node);
			if (K.dm[i].used && !strcmp(node, m->source))
				d = &K.dm[i];
		}
		if (d)
			d->held++;
	}
	for (size_t i = 0; i < NDIR; i++) /* they were on the file system that went */
		if (K.dirs[i][0] && under(K.dirs[i], target))
			K.dirs[i][0] = '\0';
	memset(m, 0, sizeof *m);
	return 0;
}

static int m_open(void *ctx, const char *path, int flags)
{
	uint64_t dev;
	int fd;
	struct m_dm *dm;
	(void)ctx, (void)flags;
	if (faulted("open", path) || node_lookup(path, &dev, &fd, &dm))
		return -1;
	for (size_t i = 0; i < NFD; i++)
		if (K.fds[i].fd <= 0) {
			K.fds[i].fd = dup(fd);
			K.fds[i].dev = dev;
			return K.fds[i].fd;
		}
	return fail(EMFILE);
}

static uint64_t fd_dev(int fd)
{
	for (size_t i = 0; i < NFD; i++)
		if (K.fds[i].fd == fd)
			return K.fds[i].dev;
	return 0;
}

static ssize_t m_pread(void *ctx, int fd, void *buf, size_t len, off_t off)
{
	uint64_t dev = fd_dev(fd);
	(void)ctx;
	for (size_t i = 0; major(dev) == DM_MAJOR && i < NDM; i++) {
		const struct m_disk *vd = verity_disk(&K.dm[i]);
		if (K.dm[i].used && K.dm[i].minor == minor(dev) && vd && vd->corrupt)
			return fail(EIO); /* a block that does not match the tree */
		if (K.dm[i].used && K.dm[i].minor == minor(dev) && faulted("pread", K.dm[i].name))
			return -1; /* e.g. dm-crypt's AEAD refusing a block the host changed */
	}
	return pread(fd, buf, len, off);
}

static ssize_t m_pwrite(void *ctx, int fd, const void *buf, size_t len, off_t off)
{
	char what[32];
	(void)ctx;
	snprintf(what, sizeof what, "%u:%u", major(fd_dev(fd)), minor(fd_dev(fd)));
	if (faulted("pwrite", what))
		return -1;
	return pwrite(fd, buf, len, off);
}

static int m_fsync(void *ctx, int fd)
{
	(void)ctx, (void)fd;
	return faulted("fsync", "") ? -1 : 0;
}

static int m_close(void *ctx, int fd)
{
	(void)ctx;
	for (size_t i = 0; i < NFD; i++)
		if (K.fds[i].fd == fd)
			K.fds[i].fd = 0;
	return close(fd);
}

static int m_stat(void *ctx, const char *path, struct stat *st)
{
	char p[PATHLEN];
	uint64_t dev;
	int fd;
	struct m_dm *dm;
	(void)ctx;
	memset(st, 0, sizeof *st);
	if (strncmp(path, "/dev/", 5) == 0) {
		if (node_lookup(path, &dev, &fd, &dm))
			return -1;
		st->st_mode = S_IFBLK | 0600;
		st->st_rdev = (dev_t)dev;
		return 0;
	}
	norm(path, p);
	if (!dir_exists(p))
		return fail(ENOENT);
	const struct m_mount *m = mount_of(p);
	st->st_mode = S_IFDIR | 0700;
	st->st_dev = m ? (dev_t)m->dev : makedev(0, 1);
	return 0;
}

static int m_statfs(void *ctx, const char *path, struct statfs *sf)
{
	char p[PATHLEN];
	(void)ctx;
	memset(sf, 0, sizeof *sf);
	norm(path, p);
	if (!dir_exists(p))
		return fail(ENOENT);
	const struct m_mount *m = mount_of(p);
	const char *t = m ? m->fstype : "tmpfs";
	sf->f_type = !strcmp(t, "erofs")     ? UVM_EROFS_MAGIC
		     : !strcmp(t, "ext4")    ? EXT4_SUPER_MAGIC
		     : !strcmp(t, "overlay") ? OVERLAYFS_SUPER_MAGIC
					     : TMPFS_MAGIC;
	return 0;
}

static ssize_t m_getrandom(void *ctx, void *buf, size_t len, unsigned flags)
{
	(void)ctx, (void)flags;
	if (faulted("getrandom", ""))
		return -1;
	for (size_t i = 0; i < len; i++)
		((unsigned char *)buf)[i] = K.rnd++;
	return (ssize_t)len;
}

static long long m_now_ms(void *ctx)
{
	(void)ctx;
	return K.now_ms;
}

static void m_pause_ms(void *ctx, long ms)
{
	(void)ctx;
	K.now_ms += ms;
}

/* ---------------------------------------------------------------- device-mapper */

/* Every /dev/ node a table names must exist; a linear extent must fit its
 * device (the kernel: "Device too small for target"). */
static int table_ok(const char *type, const char *params, uint64_t sectors)
{
	char copy[640], *save = NULL;
	snprintf(copy, sizeof copy, "%s", params);
	for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		uint64_t dev;
		int fd;
		struct m_dm *dm;
		if (strncmp(w, "/dev/", 5) != 0)
			continue;
		if (node_lookup(w, &dev, &fd, &dm))
			return -1;
		unsigned long long start = 0;
		if (!strcmp(type, "linear") && (sscanf(save ? save : "", "%llu", &start) != 1 ||
						start + sectors > (uint64_t)lseek(fd, 0, SEEK_END) / 512))
			return fail(EINVAL);
	}
	return 0;
}

static int dm_load(struct m_dm *d, struct dm_ioctl *io)
{
	const struct dm_target_spec *s = (const struct dm_target_spec *)((const char *)io + io->data_start);
	if (io->target_count != 1 || table_ok(s->target_type, (const char *)(s + 1), s->length))
		return errno ? -1 : fail(EINVAL);
	snprintf(d->type, sizeof d->type, "%s", s->target_type);
	snprintf(d->params, sizeof d->params, "%s", (const char *)(s + 1));
	d->sectors = s->length;
	d->secure = !!(io->flags & DM_SECURE_DATA_FLAG);
	if (!strcmp(d->type, "crypt") && !d->secure)
		K.insecure_key = 1;
	d->loaded = 1;
	return 0;
}

/* Live: a verity mapping reads its disk; anything else gets fresh contents. */
static int dm_resume(struct m_dm *d, struct dm_ioctl *io)
{
	if (!d->loaded)
		return fail(EINVAL);
	const struct m_disk *vd = verity_disk(d);
	d->fd = vd ? dup(vd->fd) : memfd_create("dm", MFD_CLOEXEC);
	if (!vd && ftruncate(d->fd, (off_t)(d->sectors * 512)) != 0)
		abort();
	d->live = 1;
	io->dev = makedev(DM_MAJOR, d->minor);
	return 0;
}

/* A dm-linear mapping keeps its own contents while it lives (lib/ writes to
 * it with plain pwrite, outside the seam); when it goes they land in its
 * device at its start sector, where the kernel would have put them all
 * along, so what is read through the device later (verify) is there. */
static void linear_write_back(const struct m_dm *d)
{
	char dev_path[128] = "";
	unsigned long long start = 0;
	uint64_t dev;
	int lower;
	struct m_dm *none;
	uint8_t buf[65536];
	if (sscanf(d->params, "%127s %llu", dev_path, &start) != 2 || node_lookup(dev_path, &dev, &lower, &none))
		return;
	for (off_t off = 0; off < (off_t)(d->sectors * 512); off += (off_t)sizeof buf) {
		ssize_t n = pread(d->fd, buf, sizeof buf, off);
		if (n <= 0 || pwrite(lower, buf, (size_t)n, (off_t)(start * 512) + off) != n)
			abort();
	}
}

/* dm-integrity's status "MISMATCHES PROVIDED_SECTORS RECALC": the model
 * keeps 1/8 of the disk for tags. */
static int dm_table_status(struct m_dm *d, struct dm_ioctl *io)
{
	struct dm_target_spec *s = (struct dm_target_spec *)((char *)io + io->data_start);
	uint64_t provided = 0;
	int fd;
	uint64_t dev;
	struct m_dm *none;
	char first[64] = "";
	sscanf(d->params, "%63s", first);
	if (!strcmp(d->type, "integrity") && node_lookup(first, &dev, &fd, &none) == 0)
		provided = (uint64_t)lseek(fd, 0, SEEK_END) / 512 / 8 * 7;
	memset(s, 0, sizeof *s);
	s->length = d->sectors;
	snprintf(s->target_type, sizeof s->target_type, "%s", d->type);
	int n = snprintf((char *)(s + 1), 64, "0 %llu -", (unsigned long long)provided);
	io->target_count = 1;
	io->data_size = io->data_start + (uint32_t)sizeof *s + (uint32_t)n + 1;
	return 0;
}

static int m_dm_ioctl(int fd, unsigned long request, struct dm_ioctl *io)
{
	static const char *const names[] = {
		[DM_DEV_CREATE_CMD] = "dm_create", [DM_DEV_REMOVE_CMD] = "dm_remove",
		[DM_TABLE_LOAD_CMD] = "dm_load",   [DM_DEV_SUSPEND_CMD] = "dm_resume",
		[DM_DEV_STATUS_CMD] = "dm_status", [DM_TABLE_STATUS_CMD] = "dm_table_status"};
	unsigned nr = _IOC_NR(request);
	(void)fd;
	if (nr < sizeof names / sizeof names[0] && names[nr] && faulted(names[nr], io->name))
		return -1;
	struct m_dm *d = dm_by_name(io->name);
	errno = 0;
	if (request == DM_DEV_CREATE) {
		if (d)
			return fail(EBUSY);
		for (size_t i = 0; i < NDM && !d; i++)
			if (!K.dm[i].used)
				d = &K.dm[i];
		memset(d, 0, sizeof *d);
		d->used = 1;
		d->minor = K.next_minor++;
		snprintf(d->name, sizeof d->name, "%s", io->name);
		return 0;
	}
	if (!d)
		return fail(ENXIO);
	switch (request) {
	case DM_TABLE_LOAD: return dm_load(d, io);
	case DM_DEV_SUSPEND: return dm_resume(d, io);
	case DM_DEV_STATUS: io->dev = makedev(DM_MAJOR, d->minor); return 0;
	case DM_TABLE_STATUS: return d->live ? dm_table_status(d, io) : fail(ENXIO);
	case DM_DEV_REMOVE:
		if (dm_holders(d))
			return fail(EBUSY);
		if (d->live && !strcmp(d->type, "linear"))
			linear_write_back(d);
		if (d->live)
			close(d->fd);
		memset(d, 0, sizeof *d);
		return 0;
	}
	return fail(ENOTTY);
}

/* ---------------------------------------------------------------- set-up */

static const struct storage_sys model_sys = {
	.sys_block = K.sysdir,
	.mount = m_mount,
	.umount2 = m_umount2,
	.mkdir = m_mkdir,
	.rmdir = m_rmdir,
	.chmod = m_chmod,
	.open = m_open,
	.pread = m_pread,
	.pwrite = m_pwrite,
	.fsync = m_fsync,
	.close = m_close,
	.stat = m_stat,
	.lstat = m_stat,
	.statfs = m_statfs,
	.getrandom = m_getrandom,
	.now_ms = m_now_ms,
	.pause_ms = m_pause_ms,
	.ctx = NULL,
};

static void write_attr(const char *disk, const char *attr, const char *value)
{
	char path[PATHLEN];
	snprintf(path, sizeof path, "%s/%s/%s", K.sysdir, disk, attr);
	FILE *f = fopen(path, "w");
	if (!f || fprintf(f, "%s\n", value) < 0 || fclose(f) != 0)
		abort();
}

/* Attaches a disk with these contents (fd, owned by the model) as vdX. */
static struct m_disk *attach(const char *serial, int fd)
{
	struct m_disk *d = &K.disk[K.ndisks];
	char path[PATHLEN], size[32];
	snprintf(d->name, sizeof d->name, "vd%c", (char)('a' + K.ndisks));
	snprintf(d->serial, sizeof d->serial, "%s", serial);
	d->fd = fd;
	K.ndisks++;
	snprintf(path, sizeof path, "%s/%s", K.sysdir, d->name);
	if (mkdir(path, 0700) != 0)
		abort();
	write_attr(d->name, "serial", serial);
	snprintf(size, sizeof size, "%lld", (long long)lseek(fd, 0, SEEK_END) / 512);
	write_attr(d->name, "size", size);
	return d;
}

/* A layer image as `uvm layer` lays it out: an erofs of 2 blocks (only its
 * superblock matters here; seed makes each layer's data differ), then the
 * verity superblock and tree built by lib/verity.c. Its root hash in hex. */
static int make_layer(unsigned char seed, char root_hex[2 * UVM_SHA256_LEN + 1])
{
	uint8_t blocks[2 * UVM_EROFS_BLOCK] = {0}, root[UVM_SHA256_LEN];
	struct uvm_verity_sb sb = {.data_blocks = 2, .salt_len = 32};
	struct uvm_err err = {0, ""};
	uint8_t *s = blocks + UVM_EROFS_SB_OFFSET;
	s[0] = 0xE2, s[1] = 0xE1, s[2] = 0xF5, s[3] = 0xE0; /* UVM_EROFS_MAGIC */
	s[12] = 12;                                         /* 4096-byte blocks */
	s[36] = 2;                                          /* blocks */
	memset(blocks + UVM_EROFS_BLOCK, seed, UVM_EROFS_BLOCK);
	memset(sb.salt, seed, sb.salt_len);
	int fd = memfd_create("layer", MFD_CLOEXEC);
	if (fd < 0 || write(fd, blocks, sizeof blocks) != (ssize_t)sizeof blocks ||
	    uvm_verity_format(fd, &sb, root, &err) != 0) {
		fprintf(stderr, "layer image: %s\n", err.msg);
		abort();
	}
	uvm_hex_encode(root, sizeof root, root_hex);
	return fd;
}

static int make_blank(uint64_t bytes)
{
	int fd = memfd_create("scratch", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)bytes) != 0)
		abort();
	return fd;
}

/* A fresh kernel: the directories the guest's init makes, no disks. */
static void kernel_boot(void)
{
	memset(&K, 0, sizeof K);
	snprintf(K.sysdir, sizeof K.sysdir, "/tmp/test_storage_state.XXXXXX");
	if (!mkdtemp(K.sysdir))
		abort();
	K.now_ms = 1000;
	dir_add("/run");
	dir_add("/run/layers");
	dir_add("/run/containers");
	storage_sys = model_sys;
	storage_sys.sys_block = K.sysdir;
	uvm_dm_control_path = "/dev/null"; /* opened, then handed to the model's ioctl */
	uvm_dm_set_ioctl(m_dm_ioctl);
}

static void kernel_halt(void)
{
	char path[PATHLEN];
	for (size_t i = 0; i < K.ndisks; i++) {
		close(K.disk[i].fd);
		snprintf(path, sizeof path, "%s/%s/serial", K.sysdir, K.disk[i].name);
		unlink(path);
		snprintf(path, sizeof path, "%s/%s/size", K.sysdir, K.disk[i].name);
		unlink(path);
		snprintf(path, sizeof path, "%s/%s", K.sysdir, K.disk[i].name);
		rmdir(path);
	}
	for (size_t i = 0; i < NDM; i++)
		if (K.dm[i].used && K.dm[i].live)
			close(K.dm[i].fd);
	for (size_t i = 0; i < NFD; i++)
		if (K.fds[i].fd > 0)
			close(K.fds[i].fd);
	rmdir(K.sysdir);
	storage_sys = storage_sys_kernel;
	uvm_dm_set_ioctl(NULL);
}

/* ================================================================ the agent */

/* The storage rows of agent/ops.c (which also references every container
 * executor, so it stays guest-only): the real prepare and execute. */
static const struct op_def storage_defs[REQ_N] = {
	[REQ_MOUNT_DEVICE] = {1, sizeof(struct mount_device_priv), op_mount_device_prepare, op_mount_device},
	[REQ_UNMOUNT_DEVICE] = {1, sizeof(struct unmount_device_priv), op_unmount_device_prepare, op_unmount_device},
	[REQ_SCRATCH_MOUNT] = {1, sizeof(struct scratch_mount_priv), op_scratch_mount_prepare, op_scratch_mount},
	[REQ_SCRATCH_UNMOUNT] = {1, sizeof(struct scratch_unmount_priv), op_scratch_unmount_prepare,
				 op_scratch_unmount},
	[REQ_MOUNT_OVERLAY] = {1, sizeof(struct mount_overlay_priv), op_mount_overlay_prepare, op_mount_overlay},
	[REQ_UNMOUNT_OVERLAY] = {1, sizeof(struct unmount_overlay_priv), op_unmount_overlay_prepare,
				 op_unmount_overlay},
};

const struct op_def *op_def_of(enum req_op op)
{
	return (unsigned)op < REQ_N && storage_defs[op].execute ? &storage_defs[op] : NULL;
}

/* Layer root hashes: A and B make container "web", C container "solo". */
static char LA[65], LB[65], LC[65], LX[65]; /* LX: a layer no policy lists */
#define SCRATCH_DISK (32ull << 20)
#define MIB (1ull << 20)

static char *dq(const char *text)
{
	char *t = strdup(text);
	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	return t;
}

static void agent_new(struct agent *a)
{
	static const char container[] =
		"'argv': ['/bin/x'], 'working_dir': '/', 'user': {'uid': 0, 'gid': 0, 'umask': '0022'},"
		" 'capabilities': {'bounding': [], 'effective': [], 'inheritable': [], 'permitted': [], 'ambient': []}";
	char policy[2048];
	struct uvm_err err = {0, ""};
	snprintf(policy, sizeof policy,
		 "{'version': '1', 'framework': {'allow_unencrypted_scratch': true}, 'containers': ["
		 "{'name': 'web', 'layers': ['%s', '%s'], %s, 'resources': {'scratch_max': %llu}},"
		 "{'name': 'solo', 'layers': ['%s'], %s}]}",
		 LA, LB, container, 8 * MIB, LC, container);
	char *text = dq(policy);
	memset(a, 0, sizeof *a);
	binding_init(a); /* no attestation device on the host: say so, then bind by hand */
	if (policy_load(text, strlen(text), &a->policy, &err) || !(a->pstate = policy_state_new(a->policy))) {
		fprintf(stderr, "test policy: %s\n", err.msg);
		exit(2);
	}
	free(text);
	a->binding = BINDING_BOUND; /* binding itself: tests/unit/test_decide_binding.c */
}

static void agent_free(struct agent *a)
{
	policy_state_free(a->pstate);
	policy_free(a->policy);
	free(a->storage);
}

/* One request through dispatch(); the response parsed (*doc to free). */
static const struct json_value *ask(struct agent *a, struct json_doc **doc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static const struct json_value *ask(struct agent *a, struct json_doc **doc, const char *fmt, ...)
{
	char req[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(req, sizeof req, fmt, ap);
	va_end(ap);
	char *t = dq(req);
	size_t len = 0;
	struct uvm_err err = {0, ""};
	char *out = dispatch(a, (const uint8_t *)t, strlen(t), &len);
	free(t);
	const struct json_value *v = out ? json_parse(out, len, len + 1, doc, &err) : NULL;
	if (!v) {
		fprintf(stderr, "test: no JSON response to %s\n", req);
		exit(2);
	}
	free(out);
	return v;
}

static const char *kind(const struct json_value *r)
{
	return json_str(json_get(json_get(r, "error"), "kind"), NULL);
}

static const char *message(const struct json_value *r)
{
	return json_str(json_get(json_get(r, "error"), "message"), NULL);
}

/* ================================================================ the three views agree */

static char why[512];

static int disagree(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int disagree(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	return 0;
}

static const struct storage_broken *broken_of(const struct storage_state *s, const char *target)
{
	for (size_t i = 0; s && i < STORAGE_BROKEN_MAX; i++)
		if (s->broken[i].target[0] && !strcmp(s->broken[i].target, target))
			return &s->broken[i];
	return NULL;
}

/* A layer the engine lists: mounted from its verity mapping, or broken
 * (unmounted, noted with a reason, its directory empty). */
static int layer_agrees(const struct storage_state *s, const char *target)
{
	char name[DM_NAME_LEN], node[32];
	snprintf(name, sizeof name, "uvm-layer-%s", target + strlen(POLICY_LAYER_DIR));
	const struct m_dm *d = dm_by_name(name);
	const struct m_mount *m = mount_at(target);
	if (broken_of(s, target))
		return m ? disagree("%s is broken but mounted", target) : 1;
	if (!d || !d->live || strcmp(d->type, "verity"))
		return disagree("%s: no live verity mapping %s", target, name);
	dm_node(d, node, sizeof node);
	if (!m || strcmp(m->fstype, "erofs") || strcmp(m->source, node))
		return disagree("%s: not the erofs of %s", target, node);
	return 1;
}

/* A live overlay: rootfs an overlay, rw its tmpfs or its own ext2 on its
 * own dm-linear extent of the pool. */
static int overlay_agrees(const struct storage_overlay *o)
{
	char rootfs[PATHLEN], rw[PATHLEN], node[32];
	snprintf(rootfs, sizeof rootfs, "%s%s%s", POLICY_CONTAINER_DIR, o->cid, POLICY_ROOTFS_SUFFIX);
	snprintf(rw, sizeof rw, "%s%s/rw", POLICY_CONTAINER_DIR, o->cid);
	const struct m_mount *m = mount_at(rootfs), *u = mount_at(rw);
	if (!m || strcmp(m->fstype, "overlay"))
		return disagree("overlay %s: nothing mounted at %s", o->cid, rootfs);
	if (!u || strcmp(u->fstype, o->on_tmpfs ? "tmpfs" : "ext4"))
		return disagree("overlay %s: %s is not its upper file system", o->cid, rw);
	if (o->on_tmpfs)
		return 1;
	const struct m_dm *d = dm_by_name(o->dm_name);
	if (!d || !d->live || makedev(DM_MAJOR, d->minor) != o->devno)
		return disagree("overlay %s: its mapping %s is not live with the recorded number", o->cid, o->dm_name);
	dm_node(d, node, sizeof node);
	return strcmp(u->source, node) ? disagree("overlay %s: rw is not mounted from %s", o->cid, node) : 1;
}

/* The extents of live overlays and leftovers on one pool: inside it, apart,
 * and each exactly its dm-linear mapping. */
static int extents_agree(const struct storage_state *s, const struct storage_scratch *sc)
{
	for (size_t i = 0; i < STORAGE_OVERLAY_MAX; i++) {
		const struct storage_overlay *o = &s->overlay[i];
		if (!((o->alive && !o->on_tmpfs) || o->leftover) || strcmp(o->scratch, sc->serial))
			continue;
		char want[64];
		const struct m_dm *d = dm_by_name(o->dm_name);
		if (o->ext.start + o->ext.bytes > sc->bytes)
			return disagree("%s: extent past the pool", o->cid);
		snprintf(want, sizeof want, "%s %llu", sc->node, (unsigned long long)(o->ext.start / 512));
		if (!d || strcmp(d->params, want) || d->sectors != o->ext.bytes / 512)
			return disagree("%s: mapping %s is not its extent", o->cid, o->dm_name);
		for (size_t k = i + 1; k < STORAGE_OVERLAY_MAX; k++) {
			const struct storage_overlay *p = &s->overlay[k];
			if (((p->alive && !p->on_tmpfs) || p->leftover) && !strcmp(p->scratch, sc->serial) &&
			    o->ext.start < p->ext.start + p->ext.bytes && p->ext.start < o->ext.start + o->ext.bytes)
				return disagree("%s and %s share sectors", o->cid, p->cid);
		}
	}
	return 1;
}

static int scratch_agrees(const struct storage_state *s, const struct storage_scratch *sc)
{
	struct storage_scratch_names n;
	storage_scratch_names_of(sc->serial, &n);
	const struct m_dm *c = dm_by_name(n.crypt), *i = dm_by_name(n.integrity);
	if (sc->encrypted && !i)
		return disagree("scratch %s: no integrity mapping", sc->serial);
	if (sc->encrypted && !sc->crypt_gone && (!c || makedev(DM_MAJOR, c->minor) != sc->devno))
		return disagree("scratch %s: its crypt mapping is not the recorded one", sc->serial);
	if ((sc->crypt_gone || !sc->encrypted) && c)
		return disagree("scratch %s: a crypt mapping it does not know", sc->serial);
	return extents_agree(s, sc);
}

/* Every mapping is one the agent knows about (or the one a case expects
 * to be left over). */
static int mapping_known(const struct storage_state *s, const char *name, const char *engine, const char *stray)
{
	char target[128];
	if (stray && !strcmp(name, stray))
		return 1;
	if (!strncmp(name, "uvm-layer-", 10)) {
		snprintf(target, sizeof target, "%s%s\"", POLICY_LAYER_DIR, name + 10);
		return strstr(engine, target) ? 1 : disagree("mapping %s: the engine lists no such layer", name);
	}
	for (size_t i = 0; s && i < STORAGE_OVERLAY_MAX; i++)
		if ((s->overlay[i].alive || s->overlay[i].leftover) && !strcmp(s->overlay[i].dm_name, name))
			return 1;
	for (size_t i = 0; s && i < STORAGE_SCRATCH_MAX; i++) {
		struct storage_scratch_names n;
		storage_scratch_names_of(s->scratch[i].serial, &n);
		if (s->scratch[i].alive && s->scratch[i].encrypted &&
		    (!strcmp(name, n.integrity) || !strcmp(name, n.crypt)))
			return 1;
	}
	return disagree("mapping %s belongs to nothing", name);
}

/* Every mount is a layer the engine lists, or part of a live overlay. */
static int mount_known(const struct storage_state *s, const struct m_mount *m, const char *engine)
{
	char quoted[PATHLEN + 2];
	snprintf(quoted, sizeof quoted, "\"%s\"", m->target);
	if (under(m->target, "/run/layers"))
		return strstr(engine, quoted)
			       ? 1
			       : disagree("%s is mounted but the engine lists no layer there", m->target);
	for (size_t i = 0; s && i < STORAGE_OVERLAY_MAX; i++) {
		char dir[PATHLEN];
		snprintf(dir, sizeof dir, "%s%s", POLICY_CONTAINER_DIR, s->overlay[i].cid);
		if (s->overlay[i].alive && under(m->target, dir))
			return strstr(engine, "\"overlays\":[]") ? disagree("%s: the engine has no overlay", m->target)
								 : 1;
	}
	return disagree("%s is mounted and belongs to nothing", m->target);
}

static int engine_agrees(const struct storage_state *s, const struct json_value *st)
{
	const struct json_value *dev = json_get(st, "devices"), *ov = json_get(st, "overlays"),
				*scr = json_get(st, "scratch");
	for (size_t i = 0; i < json_len(dev); i++)
		if (!layer_agrees(s, json_str(json_get(json_at(dev, i), "target"), NULL)))
			return 0;
	size_t alive = 0, scratches = 0;
	for (size_t i = 0; s && i < STORAGE_OVERLAY_MAX; i++)
		if (s->overlay[i].alive && (++alive, !overlay_agrees(&s->overlay[i])))
			return 0;
	if (alive != json_len(ov))
		return disagree("the engine lists %zu overlays, the agent has %zu", json_len(ov), alive);
	for (size_t i = 0; s && i < STORAGE_SCRATCH_MAX; i++)
		if (s->scratch[i].alive && (++scratches, !scratch_agrees(s, &s->scratch[i])))
			return 0;
	if (scratches != json_len(scr))
		return disagree("the engine lists %zu scratch disks, the agent has %zu", json_len(scr), scratches);
	return 1;
}

/* The engine, the agent and the kernel tell the same story; stray: a
 * mapping the case expects to be left behind (NULL: none). */
static int consistent(const struct agent *a, const char *stray)
{
	struct json_doc *doc;
	struct uvm_err err;
	char *engine = policy_state_json(a->pstate);
	const struct json_value *st = json_parse(engine, strlen(engine), strlen(engine) + 1, &doc, &err);
	int ok = st && engine_agrees(a->storage, st);
	for (size_t i = 0; ok && i < NDM; i++)
		ok = !K.dm[i].used || mapping_known(a->storage, K.dm[i].name, engine, stray);
	for (size_t i = 0; ok && i < NMNT; i++)
		ok = !K.mnt[i].used || mount_known(a->storage, &K.mnt[i], engine);
	for (size_t i = 0; ok && i < NFD; i++)
		ok = K.fds[i].fd <= 0 || disagree("a device stays open (fd %d)", K.fds[i].fd);
	if (ok && K.insecure_key)
		ok = disagree("a crypt key was loaded without DM_SECURE_DATA_FLAG");
	if (st)
		json_free(doc);
	free(engine);
	return ok;
}

/* ================================================================ ops */

#define MOUNT_DEV "{'id': 1, 'op': 'mount_device', 'args': {'serial': '%s', 'root_hash': '%s', 'verify': %s}}"
#define UNMOUNT_DEV "{'id': 2, 'op': 'unmount_device', 'args': {'target': '/run/layers/%s'}}"
#define SCRATCH "{'id': 3, 'op': 'scratch_mount', 'args': {'serial': '%s', 'encrypted': %s}}"
#define SCRATCH_OFF "{'id': 4, 'op': 'scratch_unmount', 'args': {'target': '/run/scratch/%s', 'verify': %s}}"
#define OVERLAY_WEB                                                                                     \
	"{'id': 5, 'op': 'mount_overlay', 'args': {'container_id': '%s', 'layers': ['/run/layers/%s', " \
	"'/run/layers/%s'], 'scratch': '/run/scratch/%s'}}"
#define OVERLAY_TMPFS "{'id': 6, 'op': 'mount_overlay', 'args': {'container_id': '%s', 'layers': ['/run/layers/%s']}}"
#define OVERLAY_OFF "{'id': 7, 'op': 'unmount_overlay', 'args': {'target': '/run/containers/%s/rootfs'}}"

/* Runs one request that must succeed; then the three views must agree. */
#define OK(a, stray, what, ...)                                                                               \
	do {                                                                                                  \
		struct json_doc *doc_;                                                                        \
		const struct json_value *r_ = ask(a, &doc_, __VA_ARGS__);                                     \
		CHECK(json_get(r_, "result") != NULL, "%s: ok", what);                                        \
		if (!json_get(r_, "result"))                                                                  \
			printf("#   %s\n", message(r_) ? message(r_) : "(no message)");                       \
		json_free(doc_);                                                                              \
		CHECK(consistent(a, stray), "... engine, agent and kernel agree%s%s", *why ? ": " : "", why); \
		why[0] = '\0';                                                                                \
	} while (0)

/* Runs one request that must fail with kind and a message containing
 * needle, leaving the engine's state exactly as it was. */
static void fails(struct agent *a, const char *stray, const char *what, const char *want_kind, const char *needle,
		  const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void fails(struct agent *a, const char *stray, const char *what, const char *want_kind, const char *needle,
		  const char *fmt, ...)
{
	char req[4096];
	struct json_doc *doc;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(req, sizeof req, fmt, ap);
	va_end(ap);
	char *before = policy_state_json(a->pstate);
	const struct json_value *r = ask(a, &doc, "%s", req);
	CHECK_EQ_STR(kind(r), want_kind, "%s: %s", what, want_kind);
	CHECK_MSG(message(r), needle, "... saying why");
	char *after = policy_state_json(a->pstate);
	CHECK_EQ_STR(after, before, "... the engine's state is unchanged (rolled back)");
	CHECK(consistent(a, stray), "... engine, agent and kernel agree%s%s", *why ? ": " : "", why);
	why[0] = '\0';
	free(after);
	free(before);
	json_free(doc);
}

/* A booted kernel with the layers A, B, C and X attached as la, lb, lc, lx
 * and a blank scratch disk s1. */
static void boot_with_disks(struct agent *a)
{
	char hex[65];
	kernel_boot();
	attach("la", make_layer(0xa, hex));
	attach("lb", make_layer(0xb, hex));
	attach("lc", make_layer(0xc, hex));
	attach("lx", make_layer(0xe, hex));
	attach("s1", make_blank(SCRATCH_DISK));
	agent_new(a);
}

static void shut(struct agent *a)
{
	agent_free(a);
	kernel_halt();
}

static struct m_disk *disk_of(const char *serial)
{
	for (size_t i = 0; i < K.ndisks; i++)
		if (!strcmp(K.disk[i].serial, serial))
			return &K.disk[i];
	abort();
}

static struct m_dm *layer_dm(const char *hex)
{
	char name[DM_NAME_LEN];
	snprintf(name, sizeof name, "uvm-layer-%s", hex);
	return dm_by_name(name);
}

static int nothing_left(void)
{
	for (size_t i = 0; i < NDM; i++)
		if (K.dm[i].used)
			return disagree("mapping %s is left", K.dm[i].name);
	for (size_t i = 0; i < NMNT; i++)
		if (K.mnt[i].used)
			return disagree("%s is still mounted", K.mnt[i].target);
	for (size_t i = 0; i < NDIR; i++)
		if (K.dirs[i][0] && strcmp(K.dirs[i], "/run") && strcmp(K.dirs[i], "/run/layers") &&
		    strcmp(K.dirs[i], "/run/containers"))
			return disagree("directory %s is left", K.dirs[i]);
	return 1;
}

static void faults_clear(void)
{
	memset(K.fault, 0, sizeof K.fault);
}

static const struct storage_overlay *overlay_of(const struct agent *a, const char *cid)
{
	for (size_t i = 0; a->storage && i < STORAGE_OVERLAY_MAX; i++)
		if ((a->storage->overlay[i].alive || a->storage->overlay[i].leftover) &&
		    !strcmp(a->storage->overlay[i].cid, cid))
			return &a->storage->overlay[i];
	return NULL;
}

/* ================================================================ cases */

static void test_lifecycle(void)
{
	struct agent a;
	boot_with_disks(&a);
	OK(&a, NULL, "scratch_mount s1, encrypted", SCRATCH, "s1", "true");
	OK(&a, NULL, "mount_device la", MOUNT_DEV, "la", LA, "false");
	OK(&a, NULL, "mount_device lb, verified", MOUNT_DEV, "lb", LB, "true");
	OK(&a, NULL, "mount_overlay c1 (web) on s1", OVERLAY_WEB, "c1", LA, LB, "s1");
	OK(&a, NULL, "mount_overlay c2 (web) on s1", OVERLAY_WEB, "c2", LA, LB, "s1");
	const struct storage_overlay *c1 = overlay_of(&a, "c1"), *c2 = overlay_of(&a, "c2");
	CHECK(c1 && c2 && c1->ext.start == 0 && c1->ext.bytes == 8 * MIB && c2->ext.start == 8 * MIB,
	      "... each its own 8 MiB (scratch_max) extent, first fit");
	fails(&a, NULL, "unmount_device of a layer an overlay uses", "denied", "", UNMOUNT_DEV, LA);
	OK(&a, NULL, "unmount_overlay c1", OVERLAY_OFF, "c1");
	OK(&a, NULL, "unmount_overlay c2", OVERLAY_OFF, "c2");
	OK(&a, NULL, "unmount_device la", UNMOUNT_DEV, LA);
	OK(&a, NULL, "unmount_device lb", UNMOUNT_DEV, LB);
	OK(&a, NULL, "scratch_unmount s1, verified", SCRATCH_OFF, "s1", "true");
	CHECK(nothing_left(), "nothing is left in the kernel%s%s", *why ? ": " : "", why);
	shut(&a);
}

/* verify reads what the writable layers' file systems had in use (their
 * ext2 bitmaps name it), nothing else of the pool, which is never zeroed:
 * per 8 MiB layer the superblock, descriptor and bitmap blocks, then the 20
 * metadata and 2 directory blocks in use. */
static void test_scratch_verify_walks_layers(void)
{
	struct agent a;
	struct json_doc *doc;
	boot_with_disks(&a);
	OK(&a, NULL, "scratch_mount s1, encrypted", SCRATCH, "s1", "true");
	OK(&a, NULL, "mount_device la", MOUNT_DEV, "la", LA, "false");
	OK(&a, NULL, "mount_device lb", MOUNT_DEV, "lb", LB, "false");
	OK(&a, NULL, "mount_overlay c1 (web) on s1", OVERLAY_WEB, "c1", LA, LB, "s1");
	OK(&a, NULL, "mount_overlay c2 (web) on s1", OVERLAY_WEB, "c2", LA, LB, "s1");
	OK(&a, NULL, "unmount_overlay c1", OVERLAY_OFF, "c1");
	OK(&a, NULL, "unmount_overlay c2", OVERLAY_OFF, "c2");
	/* c2's descriptor block (the sixth read) does not authenticate */
	fault("pread", "uvm-scratch-s1-crypt", EILSEQ, 5, 1);
	fails(&a, NULL, "scratch_unmount, verified, a block the host changed", "failed",
	      "the writable layer formatted at byte 8388608 (8388608 bytes): reading /dev/dm-", SCRATCH_OFF, "s1",
	      "true");
	faults_clear();
	const struct json_value *r = ask(&a, &doc, SCRATCH_OFF, "s1", "true");
	const struct json_value *bytes = json_get(json_get(r, "result"), "verified_bytes");
	uint64_t n = 0;
	CHECK(bytes && json_uint64(bytes, &n) == 0 && n == 2 * 25 * 4096,
	      "scratch_unmount, verified: read %llu bytes, the two layers' blocks in use", (unsigned long long)n);
	json_free(doc);
	shut(&a);
}

static void test_prepare_refusals(void)
{
	struct agent a;
	boot_with_disks(&a);
	fails(&a, NULL, "mount_device claiming another disk's hash", "denied", "its hash tree has root", MOUNT_DEV,
	      "la", LB, "false");
	fails(&a, NULL, "mount_device of a layer no container lists", "denied", "", MOUNT_DEV, "lx", LX, "false");
	fails(&a, NULL, "mount_device of a serial nobody attached", "failed", "no virtio disk has serial 'nope'",
	      MOUNT_DEV, "nope", LA, "false");
	char hex[65];
	attach("la", make_layer(0xa, hex));
	fails(&a, NULL, "mount_device of a serial two disks share", "failed", "2 virtio disks have serial 'la'",
	      MOUNT_DEV, "la", LA, "false");
	fails(&a, NULL, "mount_device of a blank disk", "failed", "is not a layer image", MOUNT_DEV, "s1", LA, "false");
	CHECK(nothing_left(), "nothing is mapped or mounted%s%s", *why ? ": " : "", why);
	shut(&a);
}

static void test_verify_fails(void)
{
	struct agent a;
	boot_with_disks(&a);
	disk_of("la")->corrupt = 1;
	fails(&a, NULL, "mount_device, verified, of a modified layer", "failed", "reading /dev/dm-", MOUNT_DEV, "la",
	      LA, "true");
	char target[128];
	snprintf(target, sizeof target, "/run/layers/%s", LA);
	CHECK(!layer_dm(LA) && !mount_at(target) && !dir_exists(target), "... its mapping is removed, nothing mounted");
	/* The mapping's removal fails too: the next mount of the hash clears it. */
	char stray[DM_NAME_LEN];
	snprintf(stray, sizeof stray, "uvm-layer-%s", LA);
	fault("dm_remove", "uvm-layer-", EBUSY, 0, 1000);
	fails(&a, stray, "... again, and the mapping's removal fails too", "failed",
	      "the next mount_device of this root hash removes it", MOUNT_DEV, "la", LA, "true");
	CHECK(layer_dm(LA) != NULL, "... the mapping stays (and, above, nothing else)");
	faults_clear();
	disk_of("la")->corrupt = 0;
	OK(&a, NULL, "mount_device again, intact: the leftover is cleared first", MOUNT_DEV, "la", LA, "true");
	shut(&a);
}

static void test_unmount_device_busy(void)
{
	struct agent a;
	char target[128];
	boot_with_disks(&a);
	snprintf(target, sizeof target, "/run/layers/%s", LA);
	OK(&a, NULL, "mount_device la", MOUNT_DEV, "la", LA, "false");
	layer_dm(LA)->held = 1; /* a dying container's namespace */
	long long t0 = K.now_ms;
	fails(&a, NULL, "unmount_device while its mapping is held", "failed", "the layer is mounted again, unchanged",
	      UNMOUNT_DEV, LA);
	CHECK(K.now_ms - t0 >= 1900 && K.now_ms - t0 <= 2000, "... after waiting for it %lld ms (model clock)",
	      K.now_ms - t0);
	CHECK(mount_at(target) && !broken_of(a.storage, target), "... and is mounted, not broken");
	layer_dm(LA)->held = 0;
	OK(&a, NULL, "unmount_device once it is let go", UNMOUNT_DEV, LA);
	CHECK(nothing_left(), "nothing is left%s%s", *why ? ": " : "", why);
	shut(&a);
}

static void test_unmount_device_broken(void)
{
	struct agent a;
	char target[128];
	boot_with_disks(&a);
	snprintf(target, sizeof target, "/run/layers/%s", LC);
	OK(&a, NULL, "mount_device lc", MOUNT_DEV, "lc", LC, "false");
	layer_dm(LC)->held = 1;
	fault("mount", "/run/layers/", EIO, 0, 1);
	fails(&a, NULL, "unmount_device: mapping held and the remount fails", "failed", "the layer is unusable",
	      UNMOUNT_DEV, LC);
	const struct storage_broken *b = broken_of(a.storage, target);
	CHECK(b && strstr(b->why, "busy") && strstr(b->why, "again"), "... noted as broken, saying both failures: %s",
	      b ? b->why : "(none)");
	CHECK(!mount_at(target), "... nothing is mounted there");
	fails(&a, NULL, "mount_device of the broken layer", "denied", "", MOUNT_DEV, "lc", LC, "false");
	fails(&a, NULL, "mount_overlay naming the broken layer", "failed", "is unusable", OVERLAY_TMPFS, "c1", LC);
	CHECK(!dir_exists("/run/containers/c1"), "... nothing of the overlay is made");
	layer_dm(LC)->held = 0;
	OK(&a, NULL, "unmount_device retried: finishes the removal", UNMOUNT_DEV, LC);
	CHECK(!broken_of(a.storage, target), "... no longer broken");
	OK(&a, NULL, "mount_device lc again", MOUNT_DEV, "lc", LC, "false");
	OK(&a, NULL, "mount_overlay on it (tmpfs upper)", OVERLAY_TMPFS, "c1", LC);
	OK(&a, NULL, "unmount_overlay", OVERLAY_OFF, "c1");
	OK(&a, NULL, "unmount_device", UNMOUNT_DEV, LC);
	CHECK(nothing_left(), "nothing is left%s%s", *why ? ": " : "", why);
	shut(&a);
}

/* A scratch with both web layers mounted. */
static void boot_web(struct agent *a)
{
	boot_with_disks(a);
	OK(a, NULL, "scratch_mount s1", SCRATCH, "s1", "true");
	OK(a, NULL, "mount_device la", MOUNT_DEV, "la", LA, "false");
	OK(a, NULL, "mount_device lb", MOUNT_DEV, "lb", LB, "false");
}

static void test_scratch_unmount_in_use(void)
{
	struct agent a;
	boot_web(&a);
	OK(&a, NULL, "mount_overlay c1 on s1", OVERLAY_WEB, "c1", LA, LB, "s1");
	fails(&a, NULL, "scratch_unmount while an overlay uses it", "failed",
	      "holds the upper directory of container c1", SCRATCH_OFF, "s1", "false");
	OK(&a, NULL, "unmount_overlay c1", OVERLAY_OFF, "c1");
	OK(&a, NULL, "scratch_unmount s1", SCRATCH_OFF, "s1", "false");
	shut(&a);
}

/* A failing step of mount_overlay undoes the ones before: no mount, no
 * mapping, no directory, the extent free for the next one. */
static void overlay_step_fails(const char *call, const char *match, const char *needle)
{
	struct agent a;
	char what[128];
	boot_web(&a);
	fault(call, match, EIO, 0, 1);
	snprintf(what, sizeof what, "mount_overlay whose %s (%s) fails", call, match);
	fails(&a, NULL, what, "failed", needle, OVERLAY_WEB, "c1", LA, LB, "s1");
	CHECK(!overlay_of(&a, "c1") && !dir_exists("/run/containers/c1") && !dm_by_name("uvm-upper-c1"),
	      "... no overlay, directory or mapping is left");
	OK(&a, NULL, "the same mount_overlay again", OVERLAY_WEB, "c1", LA, LB, "s1");
	CHECK(overlay_of(&a, "c1") && overlay_of(&a, "c1")->ext.start == 0, "... gets the freed extent");
	shut(&a);
}

static void test_overlay_undo(void)
{
	overlay_step_fails("fsync", "", "flushing /dev/dm-");           /* the fresh ext2 is not on the disk */
	overlay_step_fails("mount", "/rw", "(ext2) at");                /* its mount */
	overlay_step_fails("mkdir", "/rw/upper", "creating");           /* upper/ in it */
	overlay_step_fails("mkdir", "/rw/work", "creating");            /* work/ in it */
	overlay_step_fails("mount", "/rootfs", "mounting the overlay"); /* the overlay itself */
	overlay_step_fails("dm_load", "uvm-upper-", "load table");      /* the dm-linear mapping */
}

static void test_overlay_leftover(void)
{
	struct agent a;
	boot_web(&a);
	fault("mount", "/rw", EIO, 0, 1);
	fault("dm_remove", "uvm-upper-c1", EBUSY, 0, 1000);
	fails(&a, NULL, "mount_overlay fails and its mapping stays", "failed", "its extent stays reserved", OVERLAY_WEB,
	      "c1", LA, LB, "s1");
	const struct storage_overlay *c1 = overlay_of(&a, "c1");
	CHECK(c1 && c1->leftover && !c1->alive && dm_by_name("uvm-upper-c1"), "... a leftover holds the extent");
	OK(&a, NULL, "mount_overlay c2 meanwhile", OVERLAY_WEB, "c2", LA, LB, "s1");
	CHECK(overlay_of(&a, "c2")->ext.start == 8 * MIB, "... around the reserved extent");
	OK(&a, NULL, "unmount_overlay c2", OVERLAY_OFF, "c2");
	fails(&a, NULL, "scratch_unmount while the leftover is held", "failed", "is still held", SCRATCH_OFF, "s1",
	      "false");
	faults_clear();
	OK(&a, NULL, "scratch_unmount once it is let go: reaps it", SCRATCH_OFF, "s1", "false");
	CHECK(!overlay_of(&a, "c1") && !dm_by_name("uvm-upper-c1"), "... the leftover is gone");
	shut(&a);
}

static void test_unmount_overlay_held(void)
{
	struct agent a;
	boot_web(&a);
	OK(&a, NULL, "mount_overlay c1", OVERLAY_WEB, "c1", LA, LB, "s1");
	mount_at("/run/containers/c1/rw")->busy = 1; /* a dying container still writes there */
	OK(&a, NULL, "unmount_overlay while its writable layer is busy: the overlay goes", OVERLAY_OFF, "c1");
	const struct storage_overlay *c1 = overlay_of(&a, "c1");
	CHECK(c1 && c1->leftover && dm_by_name("uvm-upper-c1"), "... its mapping stays as a leftover");
	fails(&a, NULL, "scratch_unmount while it is held", "failed",
	      "the writable layer of container c1 is still held", SCRATCH_OFF, "s1", "false");
	dm_by_name("uvm-upper-c1")->held = 0;
	OK(&a, NULL, "mount_overlay c1 again once let go: the leftover is cleared", OVERLAY_WEB, "c1", LA, LB, "s1");
	CHECK(overlay_of(&a, "c1")->ext.start == 0, "... and its extent reused");
	shut(&a);
}

static void test_scratch_mount_undo(void)
{
	struct agent a;
	boot_with_disks(&a);
	fault("dm_load", "crypt", EINVAL, 0, 1);
	fails(&a, NULL, "scratch_mount whose crypt table fails", "failed", "load table uvm-scratch-s1-crypt", SCRATCH,
	      "s1", "true");
	fault("getrandom", "", EIO, 0, 1);
	fails(&a, NULL, "scratch_mount without randomness", "failed", "getrandom", SCRATCH, "s1", "true");
	fault("dm_resume", "integrity", ENOMEM, 1, 1);
	fails(&a, NULL, "scratch_mount whose full-length integrity mapping fails", "failed", "resume", SCRATCH, "s1",
	      "true");
	CHECK(nothing_left(), "... each time no mapping is left%s%s", *why ? ": " : "", why);
	fault("dm_load", "crypt", EINVAL, 0, 1);
	fault("dm_remove", "integrity", EBUSY, 0, 1000);
	fails(&a, "uvm-scratch-s1-integrity", "scratch_mount: crypt fails, the integrity mapping stays", "failed",
	      "the next scratch_mount of this serial removes it", SCRATCH, "s1", "true");
	faults_clear();
	OK(&a, NULL, "scratch_mount again: the leftover is cleared first", SCRATCH, "s1", "true");
	shut(&a);
}

static void test_scratch_unmount_half(void)
{
	struct agent a;
	boot_web(&a);
	fault("dm_remove", "crypt", EBUSY, 0, 1000);
	fails(&a, NULL, "scratch_unmount whose crypt mapping is held", "failed", "the scratch is unchanged",
	      SCRATCH_OFF, "s1", "false");
	faults_clear();
	fault("dm_remove", "integrity", EBUSY, 0, 1000);
	fails(&a, NULL, "scratch_unmount: key gone, integrity held", "failed", "is unusable: its key is destroyed",
	      SCRATCH_OFF, "s1", "false");
	CHECK(a.storage->scratch[0].broken && a.storage->scratch[0].crypt_gone && !dm_by_name("uvm-scratch-s1-crypt"),
	      "... broken: the crypt mapping is gone");
	fails(&a, NULL, "mount_overlay on the broken scratch", "failed", "is unusable", OVERLAY_WEB, "c1", LA, LB,
	      "s1");
	fails(&a, NULL, "scratch_mount of the broken scratch", "denied", "", SCRATCH, "s1", "true");
	fails(&a, NULL, "scratch_unmount, verified, of the broken scratch", "failed", "nothing left to verify",
	      SCRATCH_OFF, "s1", "true");
	faults_clear();
	OK(&a, NULL, "scratch_unmount retried: finishes", SCRATCH_OFF, "s1", "false");
	OK(&a, NULL, "scratch_mount again", SCRATCH, "s1", "true");
	shut(&a);
}

static void test_unencrypted_and_tmpfs(void)
{
	struct agent a;
	boot_with_disks(&a);
	OK(&a, NULL, "scratch_mount s1 unencrypted (the policy allows it)", SCRATCH, "s1", "false");
	CHECK(a.storage->scratch[0].bytes == SCRATCH_DISK && !strcmp(a.storage->scratch[0].node, "/dev/vde"),
	      "... the pool is the disk itself");
	OK(&a, NULL, "mount_device la", MOUNT_DEV, "la", LA, "false");
	OK(&a, NULL, "mount_device lb", MOUNT_DEV, "lb", LB, "false");
	OK(&a, NULL, "mount_device lc", MOUNT_DEV, "lc", LC, "false");
	OK(&a, NULL, "mount_overlay c1 on the disk", OVERLAY_WEB, "c1", LA, LB, "s1");
	OK(&a, NULL, "mount_overlay c2 on a tmpfs", OVERLAY_TMPFS, "c2", LC);
	fails(&a, NULL, "mount_overlay of an id already mounted", "denied", "", OVERLAY_TMPFS, "c2", LC);
	OK(&a, NULL, "unmount_overlay c2", OVERLAY_OFF, "c2");
	OK(&a, NULL, "unmount_overlay c1", OVERLAY_OFF, "c1");
	OK(&a, NULL, "scratch_unmount s1", SCRATCH_OFF, "s1", "false");
	OK(&a, NULL, "unmount_device la", UNMOUNT_DEV, LA);
	OK(&a, NULL, "unmount_device lb", UNMOUNT_DEV, LB);
	OK(&a, NULL, "unmount_device lc", UNMOUNT_DEV, LC);
	CHECK(nothing_left(), "nothing is left%s%s", *why ? ": " : "", why);
	shut(&a);
}

int main(void)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	close(make_layer(0xa, LA));
	close(make_layer(0xb, LB));
	close(make_layer(0xc, LC));
	close(make_layer(0xe, LX));
	test_lifecycle();
	test_scratch_verify_walks_layers();
	test_prepare_refusals();
	test_verify_fails();
	test_unmount_device_busy();
	test_unmount_device_broken();
	test_scratch_unmount_in_use();
	test_overlay_undo();
	test_overlay_leftover();
	test_unmount_overlay_held();
	test_scratch_mount_undo();
	test_scratch_unmount_half();
	test_unencrypted_and_tmpfs();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("# %lld ms in all\n", (long long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
	return check_done();
}
