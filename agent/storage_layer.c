/* mount_device / unmount_device: a container layer, readable only through
 * dm-verity with a root hash the policy lists (docs/storage.md,
 * docs/layers.md for the on-disk layout).
 *
 * The host names the disk (virtio serial) and claims its root hash. The
 * guest reads the geometry from the device itself (erofs superblock, then
 * the verity superblock after the file system), recomputes the root from the
 * top hash block and refuses a claim the device does not match (prepare).
 * The engine then decides on that hash and the path the guest chooses,
 * /run/layers/<root hash> (the facts device_hash and target); once allowed,
 * the guest maps dm-verity with that policy-listed hash and mounts erofs
 * read-only there (execute). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dm.h"
#include "erofs.h"
#include "hash.h"
#include "hex.h"
#include "log.h"
#include "storage.h"
#include "verity.h"

/* How a layer is mounted, the first time and when an unmount is undone. */
#define LAYER_FLAGS (MS_RDONLY | MS_NODEV | MS_NOSUID)

/* The root hash the device's own tree leads to: the salted hash of the top
 * hash block (or of the only data block when the tree is empty). A
 * mismatch with the claim means the host sent the wrong disk or hash. */
static int device_root(int fd, struct mount_device_priv *d, struct uvm_err *err)
{
	struct uvm_verity_geom g;
	uint64_t hash_offset = (uint64_t)d->fs.blocks * UVM_EROFS_BLOCK;
	if (uvm_verity_geometry(d->sb.data_blocks, &g, err))
		return -1;
	uint64_t at =
		g.levels == 0 ? 0 : hash_offset + UVM_VERITY_BLOCK + g.level_start[g.levels - 1] * UVM_VERITY_BLOCK;
	uint8_t *blk = malloc(UVM_VERITY_BLOCK);
	if (!blk)
		return uvm_fail(err, ENOMEM, "out of memory");
	ssize_t n = sys_pread(fd, blk, UVM_VERITY_BLOCK, (off_t)at);
	if (n != (ssize_t)UVM_VERITY_BLOCK) {
		free(blk);
		return uvm_fail(err, EIO, "%s: reading the top hash block at byte %llu failed", d->dev,
				(unsigned long long)at);
	}
	struct uvm_sha256_ctx c;
	uvm_sha256_init(&c);
	uvm_sha256_update(&c, d->sb.salt, d->sb.salt_len);
	uvm_sha256_update(&c, blk, UVM_VERITY_BLOCK);
	uvm_sha256_final(&c, d->root);
	free(blk);
	return 0;
}

/* Geometry from the device: erofs size -> verity superblock -> tree. */
static int probe_layer(const char *serial, struct mount_device_priv *d, struct uvm_err *err)
{
	if (blockdev_by_serial(serial, d->dev, sizeof d->dev, &d->bytes, err))
		return -1;
	int fd = sys_open(d->dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return uvm_fail(err, errno, "opening %s (disk %s): %s", d->dev, serial, strerror(errno));
	int rc = uvm_erofs_read(fd, &d->fs, err);
	if (rc == 0)
		rc = uvm_verity_read_sb(fd, (uint64_t)d->fs.blocks * UVM_EROFS_BLOCK, &d->sb, err);
	if (rc == 0 && d->sb.data_blocks != d->fs.blocks)
		rc = uvm_fail(err, EINVAL, "the verity superblock covers %llu blocks but the erofs file system has %u",
			      (unsigned long long)d->sb.data_blocks, d->fs.blocks);
	if (rc == 0)
		rc = device_root(fd, d, err);
	sys_close(fd);
	if (rc)
		uvm_wrap(err, "disk %s (%s) is not a layer image of `uvm layer`", serial, d->dev);
	return rc;
}

/* Denied before any decision: the host's claim is not the device. */
static int deny_mismatch(const struct request *r, const struct mount_device_priv *d, const char *claimed_hex,
			 struct op_error *e)
{
	struct json_writer w;
	json_writer_init(&w, 4096);
	json_w_obj(&w);
	json_w_key(&w, "op");
	json_w_cstr(&w, "mount_device");
	json_w_key(&w, "allowed");
	json_w_bool(&w, 0);
	json_w_key(&w, "rule");
	json_w_cstr(&w, "device_root_hash");
	json_w_key(&w, "serial");
	json_w_cstr(&w, r->serial);
	json_w_key(&w, "root_hash");
	json_w_cstr(&w, claimed_hex);
	json_w_key(&w, "device_root_hash");
	json_w_cstr(&w, d->root_hex);
	json_w_end(&w);
	e->reason_json = json_writer_finish(&w, NULL);
	return op_fail(e, OP_ERR_DENIED, "disk %s: its hash tree has root %s, not the claimed %s", r->serial,
		       d->root_hex, claimed_hex);
}

/* dm-verity with the policy-approved hash, optional full read, erofs mount. */
static int map_and_mount(const struct mount_device_priv *d, const char *target, int verify, char *node, size_t node_len,
			 struct uvm_err *err)
{
	char table[UVM_VERITY_TABLE_MAX];
	uint64_t hash_offset = (uint64_t)d->fs.blocks * UVM_EROFS_BLOCK, devno;
	if (uvm_verity_table(table, sizeof table, d->dev, d->dev, &d->sb, hash_offset, d->root, err))
		return -1;
	struct uvm_dm_target t = {0, hash_offset / 512, "verity", table};
	if (uvm_dm_activate(d->name, &t, 1, UVM_DM_READONLY, &devno, err))
		return -1;
	uvm_dm_node(devno, node, node_len);
	int rc = verify ? blockdev_read_all(node, hash_offset, err) : 0;
	if (rc == 0 && sys_mkdir(target, 0700) != 0 && errno != EEXIST)
		rc = uvm_fail(err, errno, "creating %s: %s", target, strerror(errno));
	if (rc == 0 && sys_mount(node, target, "erofs", LAYER_FLAGS, NULL) != 0) {
		rc = uvm_fail(err, errno, "mounting %s (erofs) at %s: %s", node, target, strerror(errno));
		sys_rmdir(target);
	}
	if (rc)
		storage_unmap_after_failure(d->name, "mount_device of this root hash", err);
	return rc;
}

static void mount_result(struct json_writer *w, const char *target, const struct mount_device_priv *d, const char *node,
			 int verified)
{
	json_w_obj(w);
	json_w_key(w, "target");
	json_w_cstr(w, target);
	json_w_key(w, "root_hash");
	json_w_cstr(w, d->root_hex);
	json_w_key(w, "device");
	json_w_cstr(w, d->dev);
	json_w_key(w, "mapped");
	json_w_cstr(w, node);
	json_w_key(w, "data_blocks");
	json_w_uint(w, d->sb.data_blocks);
	json_w_key(w, "verified");
	json_w_bool(w, verified);
	json_w_end(w);
}

/* Before the decision: read the device's own root hash and deny a claim it
 * does not match, so that the engine decides on a hash the device really
 * has (the fact device_hash) and a target the guest chose. */
int op_mount_device_prepare(struct op_call *c)
{
	struct mount_device_priv *d = c->priv;
	struct request *r = c->r;
	struct op_error *e = c->e;
	uint8_t claimed[UVM_SHA256_LEN];
	char claimed_hex[2 * UVM_SHA256_LEN + 1], target[128];
	/* The decode checked 64 hex digits (either case). */
	if (uvm_hex_decode(r->root_hash, claimed, sizeof claimed) < 0)
		return op_fail(e, OP_ERR_MALFORMED, "mount_device: root_hash must be 64 hex digits (a SHA-256)");
	uvm_hex_encode(claimed, UVM_SHA256_LEN, claimed_hex);
	if (probe_layer(r->serial, d, &e->err))
		return storage_wrap(e, OP_ERR_FAILED, "mount_device");
	uvm_hex_encode(d->root, UVM_SHA256_LEN, d->root_hex);
	if (memcmp(d->root, claimed, UVM_SHA256_LEN) != 0)
		return deny_mismatch(r, d, claimed_hex, e);
	snprintf(target, sizeof target, "%s%s", POLICY_LAYER_DIR, d->root_hex);
	snprintf(d->name, sizeof d->name, "uvm-layer-%s", d->root_hex);
	if (request_set_target(r, target, &e->err) || request_set_device_hash(r, d->root_hex, &e->err))
		return storage_wrap(e, OP_ERR_FAILED, "mount_device");
	return 0;
}

/* Allowed: the device's root hash is byte for byte one the policy lists,
 * and nothing is mounted at r->target. */
int op_mount_device(struct op_call *c)
{
	const struct mount_device_priv *d = c->priv;
	struct op_error *e = c->e;
	char node[64];
	int rc = storage_dm_clear_stale(d->name, &e->err);
	if (rc == 0)
		rc = map_and_mount(d, c->r->target, c->r->verify, node, sizeof node, &e->err);
	if (rc)
		return storage_wrap(e, OP_ERR_FAILED, "mount_device: disk %s", c->r->serial);
	mount_result(c->w, c->r->target, d, node, c->r->verify);
	log_timestamp("layer_mounted"); /* boot phases in make bench */
	return 0;
}

static struct storage_broken *broken_find(struct storage_state *s, const char *target)
{
	for (size_t i = 0; s && i < STORAGE_BROKEN_MAX; i++)
		if (s->broken[i].target[0] && strcmp(s->broken[i].target, target) == 0)
			return &s->broken[i];
	return NULL;
}

static void broken_clear(struct storage_state *s, const char *target)
{
	struct storage_broken *b = broken_find(s, target);
	if (b)
		memset(b, 0, sizeof *b);
}

/* Without a free entry the layer is still refused by the mount check of
 * storage_layer_usable, only with a less specific message. */
static void broken_set(struct storage_state *s, const char *target, const char *why)
{
	struct storage_broken *b = broken_find(s, target);
	for (size_t i = 0; !b && s && i < STORAGE_BROKEN_MAX; i++)
		if (!s->broken[i].target[0])
			b = &s->broken[i];
	if (!b)
		return;
	snprintf(b->target, sizeof b->target, "%s", target);
	snprintf(b->why, sizeof b->why, "%s", why);
}

int storage_layer_usable(struct storage_state *s, const char *target, struct uvm_err *err)
{
	char name[128];
	uint64_t dev;
	const struct storage_broken *b = broken_find(s, target);
	if (b)
		return uvm_fail(err, EIO, "layer %s is unusable: %s; unmount_device it and mount it again", target,
				b->why);
	snprintf(name, sizeof name, "uvm-layer-%s", target + strlen(POLICY_LAYER_DIR));
	if (uvm_dm_devno(name, &dev, err) != 0 || storage_check_mount(target, UVM_EROFS_MAGIC, "erofs", dev, err) != 0)
		return uvm_wrap(err, "layer %s is not mounted as it should be (unmount_device it and mount it again)",
				target);
	return 0;
}

/* umount succeeded, the mapping's removal did not: mount the file system
 * again from the mapping, so that the engine's rollback ("still mounted")
 * is true. If even that fails, remember the layer as broken so that no
 * overlay can name its empty directory. */
static int layer_put_back(struct storage_state *s, const char *target, const uint64_t *devno, struct op_error *e)
{
	char removal[UVM_ERR_MAX], why[STORAGE_WHY_MAX], node[64] = "";
	struct uvm_err rm = {0, "the mapping's device number is unknown"};
	snprintf(removal, sizeof removal, "%s", e->err.msg);
	if (devno)
		uvm_dm_node(*devno, node, sizeof node);
	if (devno && storage_remount(node, target, "erofs", LAYER_FLAGS, &rm) == 0) {
		broken_clear(s, target); /* whole again, whatever an earlier try left */
		return op_fail(e, OP_ERR_FAILED,
			       "unmount_device: %s: %s; the layer is mounted again, unchanged: "
			       "retry once nothing uses it (a container being shut down lets go within seconds)",
			       target, removal);
	}
	snprintf(why, sizeof why, "unmounted, but %.150s; and %.100s", removal, rm.msg);
	broken_set(s, target, why);
	return op_fail(e, OP_ERR_FAILED,
		       "unmount_device: %s is %s: the layer is unusable (no overlay may name it) "
		       "until unmount_device on it succeeds: retry it",
		       target, why);
}

/* Nothing to establish: the host names the target, and only the engine
 * knows whether it is a layer this agent mounted. */
int op_unmount_device_prepare(struct op_call *c)
{
	(void)c;
	return 0;
}

int op_unmount_device(struct op_call *c)
{
	struct op_error *e = c->e;
	struct uvm_err none;
	char name[128];
	uint64_t devno;
	/* The engine checked that target is a device this agent mounted, so it
	 * is POLICY_LAYER_DIR followed by a root hash in hex. */
	const char *target = c->r->target;
	struct storage_state *s = storage_state(c->a);
	snprintf(name, sizeof name, "uvm-layer-%s", target + strlen(POLICY_LAYER_DIR));
	/* Read before unmounting: what to mount again if the removal fails. */
	int have_dev = uvm_dm_devno(name, &devno, &none) == 0;
	/* EINVAL: not mounted, i.e. a broken layer whose removal is retried. */
	if (sys_umount2(target, UMOUNT_NOFOLLOW) != 0 && errno != EINVAL)
		return op_fail(e, OP_ERR_FAILED, "unmount_device: unmounting %s: %s%s", target, strerror(errno),
			       errno == EBUSY ? " (still in use: unmount what uses it first)" : "");
	if (storage_dm_remove_settle(name, &e->err) != 0)
		return layer_put_back(s, target, have_dev ? &devno : NULL, e);
	broken_clear(s, target);
	sys_rmdir(target);
	json_w_obj(c->w);
	json_w_key(c->w, "target");
	json_w_cstr(c->w, target);
	json_w_end(c->w);
	return 0;
}
