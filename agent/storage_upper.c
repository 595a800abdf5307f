/* A container's writable layer on a scratch pool (docs/storage.md, "The
 * scratch pool"): one contiguous extent of the scratch's crypt device per
 * overlay, mapped with dm-linear, formatted with our own ext2 and mounted
 * where the overlay's upper/ and work/ live. A container that fills its
 * layer gets ENOSPC from its own file system; its neighbours' extents are
 * other file systems. The extent dies with the overlay (the next user
 * formats it afresh). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/magic.h>

#include "dm.h"
#include "ext2_format.h"
#include "hex.h"
#include "log.h"
#include "policy_resources.h"
#include "storage.h"

#define UPPER_LABEL "uvm-upper"
#define UPPER_FLAGS (MS_NOSUID | MS_NODEV)
#define UPPER_PREFIX "uvm-upper-"
#define UPPER_HASHED "uvm-upperh-"

/* uvm-upper-<cid> when it fits a dm name, else uvm-upperh-<sha256(cid)>:
 * the prefixes differ, so a short id can never take a long one's name. */
static void upper_dm_name(const char *cid, char *out, size_t len)
{
	size_t pl = strlen(UPPER_PREFIX), cl = strlen(cid);
	if (pl + cl < STORAGE_DM_NAME_LEN && pl + cl < len) {
		memcpy(out, UPPER_PREFIX, pl);
		memcpy(out + pl, cid, cl + 1);
		return;
	}
	uint8_t h[UVM_SHA256_LEN];
	char hex[2 * UVM_SHA256_LEN + 1];
	uvm_sha256(cid, strlen(cid), h);
	uvm_hex_encode(h, sizeof h, hex);
	snprintf(out, len, UPPER_HASHED "%s", hex);
}

/* The extents in use on the scratch named serial: live overlays and the
 * leftovers whose mapping still holds theirs. */
static size_t extents_in_use(const struct storage_state *s, const char *serial, struct storage_extent *out)
{
	size_t n = 0;
	for (size_t i = 0; i < STORAGE_OVERLAY_MAX && n < STORAGE_EXTENT_MAX; i++) {
		const struct storage_overlay *o = &s->overlay[i];
		if (((o->alive && !o->on_tmpfs) || o->leftover) && strcmp(o->scratch, serial) == 0)
			out[n++] = o->ext;
	}
	return n;
}

int storage_upper_reap(struct storage_state *s, const char *serial, int settle, char *cid, size_t cid_len)
{
	int left = 0;
	for (size_t i = 0; i < STORAGE_OVERLAY_MAX; i++) {
		struct storage_overlay *o = &s->overlay[i];
		struct uvm_err err;
		if (!o->leftover || strcmp(o->scratch, serial) != 0)
			continue;
		int rc = settle ? storage_dm_remove_settle(o->dm_name, &err) : storage_dm_remove(o->dm_name, &err);
		if (rc == 0 || err.code == ENXIO) {
			log_msg("storage: the writable layer of %s (%s) is removed now; its extent is free", o->cid,
				o->dm_name);
			memset(o, 0, sizeof *o);
		} else if (left++ == 0) {
			snprintf(cid, cid_len, "%s", o->cid);
		}
	}
	return left;
}

int storage_upper_size(struct storage_state *s, const struct storage_scratch *sc, uint64_t want, uint64_t dflt,
		       uint64_t *bytes, struct uvm_err *err)
{
	struct storage_extent used[STORAGE_EXTENT_MAX];
	char cid[STORAGE_CID_MAX + 1];
	storage_upper_reap(s, sc->serial, 0, cid, sizeof cid);
	size_t n = extents_in_use(s, sc->serial, used);
	uint64_t largest = storage_extent_largest_free(used, n, sc->bytes);
	switch (storage_extent_size(want, dflt, largest, POLICY_SCRATCH_MIN, bytes)) {
	case STORAGE_EXTENT_SIZE_OK: return 0;
	case STORAGE_EXTENT_TOO_BIG:
		return uvm_fail(err, ENOSPC,
				"scratch %s has only %llu bytes free in one piece; scratch_bytes asks for %llu "
				"(ask for less, unmount an overlay on it, or use another scratch)",
				sc->serial, (unsigned long long)largest, (unsigned long long)want);
	case STORAGE_EXTENT_FULL: break;
	}
	return uvm_fail(err, ENOSPC,
			"scratch %s has only %llu bytes free in one piece, less than the smallest writable "
			"layer (%llu bytes): unmount an overlay on it or use another scratch",
			sc->serial, (unsigned long long)largest, (unsigned long long)POLICY_SCRATCH_MIN);
}

static int fill_random(void *buf, size_t len, struct uvm_err *err)
{
	if (sys_getrandom(buf, len, 0) != (ssize_t)len)
		return uvm_fail(err, errno ? errno : EIO, "getrandom: %s", strerror(errno ? errno : EIO));
	return 0;
}

/* A fresh ext2 over the whole mapping, mounted at dir. */
static int format_and_mount(const char *node, uint64_t bytes, const char *dir, struct uvm_err *err)
{
	struct uvm_ext2_params p = {.bytes = bytes, .time = (uint32_t)time(NULL)};
	snprintf(p.label, sizeof p.label, "%s", UPPER_LABEL);
	if (fill_random(p.uuid, sizeof p.uuid, err))
		return -1;
	int fd = sys_open(node, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return uvm_fail(err, errno, "opening %s: %s", node, strerror(errno));
	int rc = uvm_ext2_format(fd, &p, err);
	if (rc == 0 && sys_fsync(fd) != 0)
		rc = uvm_fail(err, errno, "flushing %s: %s", node, strerror(errno));
	sys_close(fd);
	if (rc)
		return -1;
	if (sys_mkdir(dir, 0700) != 0 && errno != EEXIST)
		return uvm_fail(err, errno, "creating %s: %s", dir, strerror(errno));
	if (sys_mount(node, dir, "ext4", UPPER_FLAGS, NULL) != 0)
		return uvm_fail(err, errno, "mounting %s (ext2) at %s: %s", node, dir, strerror(errno));
	return 0;
}

/* dm-linear over [start, start + bytes) of the pool. */
static int map_extent(const struct storage_scratch *sc, struct storage_overlay *o, struct uvm_err *err)
{
	char params[96];
	snprintf(params, sizeof params, "%s %llu", sc->node, (unsigned long long)(o->ext.start / 512));
	struct uvm_dm_target t = {0, o->ext.bytes / 512, "linear", params};
	return uvm_dm_activate(o->dm_name, &t, 1, 0, &o->devno, err);
}

/* After a failure past the mapping: unmount (if mounted) and remove it; a
 * mapping that stays makes o a leftover, said in err. */
static void undo_up(struct storage_overlay *o, const char *dir, struct uvm_err *err)
{
	sys_umount2(dir, MNT_DETACH); /* EINVAL when the mount never happened */
	sys_rmdir(dir);
	struct uvm_err rm;
	if (storage_dm_remove_settle(o->dm_name, &rm) == 0)
		return;
	o->leftover = 1;
	size_t n = strlen(err->msg);
	snprintf(err->msg + n, sizeof err->msg - n,
		 "; removing the mapping %s failed too (%.120s): its extent stays reserved until the next "
		 "mount_overlay or scratch_unmount of this scratch removes it",
		 o->dm_name, rm.msg);
}

int storage_upper_up(struct storage_state *s, struct storage_scratch *sc, uint64_t bytes, struct storage_overlay *o,
		     const char *dir, struct uvm_err *err)
{
	struct storage_extent used[STORAGE_EXTENT_MAX];
	char node[32];
	size_t n = extents_in_use(s, sc->serial, used);
	if (storage_extent_first_fit(used, n, sc->bytes, bytes, &o->ext.start) != 0)
		return uvm_fail(err, ENOSPC, "scratch %s has no free run of %llu bytes any more", sc->serial,
				(unsigned long long)bytes);
	o->ext.bytes = bytes;
	upper_dm_name(o->cid, o->dm_name, sizeof o->dm_name);
	/* The engine allowed a new overlay of this id, so a mapping of this
	 * name is a leftover of an earlier one (its slot is freed below). */
	if (storage_dm_clear_stale(o->dm_name, err))
		return uvm_wrap(err,
				"the writable layer of an earlier overlay of %s: retry once its container has ended",
				o->cid);
	for (size_t i = 0; i < STORAGE_OVERLAY_MAX; i++)
		if (s->overlay[i].leftover && strcmp(s->overlay[i].dm_name, o->dm_name) == 0)
			memset(&s->overlay[i], 0, sizeof s->overlay[i]);
	if (map_extent(sc, o, err))
		return -1;
	uvm_dm_node(o->devno, node, sizeof node);
	if (format_and_mount(node, bytes, dir, err) != 0 ||
	    storage_check_mount(dir, EXT4_SUPER_MAGIC, "ext2", o->devno, err) != 0) {
		undo_up(o, dir, err);
		return -1;
	}
	/* what scratch_unmount's verify walks */
	sc->n_formatted =
		storage_extent_note(sc->formatted, sc->n_formatted, STORAGE_FORMATTED_MAX, o->ext, &sc->formatted_lost);
	return 0;
}

int storage_upper_down(struct storage_overlay *o, const char *dir, struct uvm_err *err)
{
	/* Only the overlay used it, and that is unmounted: busy here means a
	 * dying container's namespace; detaching leaves the file system to
	 * it, and the mapping's removal below waits for it to go. */
	if (sys_umount2(dir, UMOUNT_NOFOLLOW) != 0 && errno != EINVAL)
		sys_umount2(dir, MNT_DETACH);
	sys_rmdir(dir);
	if (storage_dm_remove_settle(o->dm_name, err) == 0)
		return 0;
	o->leftover = 1;
	return uvm_wrap(err,
			"the writable layer's mapping stays (its extent stays reserved until a later mount_overlay "
			"or scratch_unmount of scratch %s removes it)",
			o->scratch);
}
