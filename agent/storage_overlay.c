/* mount_overlay / unmount_overlay: a container's root file system,
 * /run/containers/<id>/rootfs, from mounted layers (base first, as the
 * policy lists them) plus a writable upper directory on a scratch disk
 * (docs/storage.md). The policy engine decides whether the ordered layers
 * match a container of the policy. */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/magic.h>

#include "decide.h"
#include "json_copy.h"
#include "log.h"
#include "storage.h"

#define PATH_LEN 512
#define OPTS_MAX 16384

struct ov_paths {
	char dir[PATH_LEN / 2]; /* /run/containers/ID */
	char rootfs[PATH_LEN]; /* .../rootfs */
	char rw[PATH_LEN];     /* the directory holding upper/ and work/ */
};

static void ov_paths(const char *cid, const struct storage_overlay *o, struct ov_paths *p)
{
	snprintf(p->dir, sizeof p->dir, "%s%s", POLICY_CONTAINER_DIR, cid);
	snprintf(p->rootfs, sizeof p->rootfs, "%s%s", p->dir, POLICY_ROOTFS_SUFFIX);
	if (o->on_tmpfs)
		snprintf(p->rw, sizeof p->rw, "%s/rw", p->dir);
	else
		snprintf(p->rw, sizeof p->rw, "%s%s/containers/%s", POLICY_SCRATCH_DIR, o->scratch, cid);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) != 0 && errno != ENOENT ? -1 : 0;
}

/* Deletes a container's old upper directory: its writes die with it. */
static int remove_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static int mkdir_mode(const char *path, mode_t mode, struct uvm_err *err)
{
	if (mkdir(path, mode) != 0 && errno != EEXIST)
		return uvm_fail(err, errno, "creating %s: %s", path, strerror(errno));
	return 0;
}

static int mkdir_ok(const char *path, struct uvm_err *err)
{
	return mkdir_mode(path, 0700, err);
}

/* A fresh, empty upper/ and work/ under p->rw. */
static int make_rw(const struct storage_overlay *o, const struct ov_paths *p, struct uvm_err *err)
{
	char upper[PATH_LEN + 8], work[PATH_LEN + 8], parent[PATH_LEN];
	if (o->on_tmpfs) {
		if (mkdir_ok(p->rw, err))
			return -1;
		if (mount("tmpfs", p->rw, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700,size=256m") != 0)
			return uvm_fail(err, errno, "mounting a tmpfs at %s: %s", p->rw, strerror(errno));
	} else {
		snprintf(parent, sizeof parent, "%s%s/containers", POLICY_SCRATCH_DIR, o->scratch);
		if (mkdir_ok(parent, err))
			return -1;
		if (remove_tree(p->rw) != 0)
			return uvm_fail(err, errno, "removing the old %s: %s", p->rw, strerror(errno));
		if (mkdir_ok(p->rw, err))
			return -1;
	}
	snprintf(upper, sizeof upper, "%s/upper", p->rw);
	snprintf(work, sizeof work, "%s/work", p->rw);
	/* The upper dir's mode becomes the container root's: 0755 so that a
	 * non-root container user can traverse "/" (umask does not apply to
	 * PID 1's explicit chmod below). */
	if (mkdir_mode(upper, 0755, err))
		return -1;
	if (chmod(upper, 0755) != 0)
		return uvm_fail(err, errno, "chmod 0755 %s: %s", upper, strerror(errno));
	return mkdir_ok(work, err);
}

/* lowerdir lists the top layer first; the request lists the base first. */
static int overlay_options(const struct json_value *layers, const struct ov_paths *p, char *opts,
			   size_t len, struct uvm_err *err)
{
	size_t n = json_len(layers), at = 0;
	int w = snprintf(opts, len, "lowerdir=");
	for (size_t i = n; i-- > 0 && w >= 0 && (size_t)w < len - at;) {
		at += (size_t)w;
		const char *l = json_str(json_at(layers, i), NULL);
		w = snprintf(opts + at, len - at, "%s%s", l, i ? ":" : "");
	}
	if (w >= 0 && (size_t)w < len - at) {
		at += (size_t)w;
		w = snprintf(opts + at, len - at, ",upperdir=%s/upper,workdir=%s/work,index=off,metacopy=off,redirect_dir=off",
			     p->rw, p->rw);
	}
	if (w < 0 || (size_t)w >= len - at)
		return uvm_fail(err, E2BIG, "the overlay options for %zu layers exceed %zu bytes", n, len);
	return 0;
}

static int undo_rw(const struct storage_overlay *o, const struct ov_paths *p)
{
	if (o->on_tmpfs) {
		umount2(p->rw, MNT_DETACH);
		return rmdir(p->rw);
	}
	return remove_tree(p->rw);
}

/* Every step that fails undoes the ones before it: a tmpfs upper dir is
 * unmounted even when creating upper/ or work/ in it failed. */
static int overlay_up(const struct json_value *layers, const struct storage_overlay *o,
		      const struct ov_paths *p, struct uvm_err *err)
{
	char *opts = malloc(OPTS_MAX);
	if (!opts)
		return uvm_fail(err, ENOMEM, "out of memory");
	int rc = overlay_options(layers, p, opts, OPTS_MAX, err);
	if (rc == 0)
		rc = mkdir_ok(p->dir, err) || mkdir_ok(p->rootfs, err) ? -1 : 0;
	if (rc == 0 && (rc = make_rw(o, p, err)) == 0 && mount("overlay", p->rootfs, "overlay", 0, opts) != 0)
		rc = uvm_fail(err, errno, "mounting the overlay at %s: %s", p->rootfs, strerror(errno));
	if (rc) {
		undo_rw(o, p);
		rmdir(p->rootfs);
		rmdir(p->dir); /* fails harmlessly if the runtime keeps files there */
	}
	free(opts);
	return rc;
}

/* Defence in depth before the overlay names them: every lower dir is the
 * erofs of its own dm-verity mapping and the scratch is its ext2 (an
 * unmount that got half-way could otherwise leave an empty directory that
 * overlayfs would take as an empty layer). */
static int sources_usable(struct storage_state *s, const struct json_value *layers, const struct storage_overlay *o,
			  struct uvm_err *err)
{
	for (size_t i = 0; i < json_len(layers); i++)
		if (storage_layer_usable(s, json_str(json_at(layers, i), NULL), err))
			return -1;
	if (o->on_tmpfs)
		return 0;
	const struct storage_scratch *sc = NULL;
	for (size_t i = 0; i < STORAGE_SCRATCH_MAX && !sc; i++)
		if (s->scratch[i].alive && strcmp(s->scratch[i].serial, o->scratch) == 0)
			sc = &s->scratch[i];
	char target[64];
	snprintf(target, sizeof target, "%s%s", POLICY_SCRATCH_DIR, o->scratch);
	struct stat st;
	if (!sc)
		return uvm_fail(err, ENOENT, "no scratch disk is mounted at %s", target);
	if (sc->broken)
		return uvm_fail(err, EIO, "scratch %s is unusable: %s; scratch_unmount it and mount it again", target,
				sc->why);
	if (stat(sc->node, &st) != 0)
		return uvm_fail(err, errno, "scratch %s: %s: %s", target, sc->node, strerror(errno));
	if (storage_check_mount(target, EXT4_SUPER_MAGIC, "ext2", st.st_rdev, err))
		return uvm_wrap(err, "scratch %s is not mounted as it should be (scratch_unmount it and mount it again)",
				target);
	return 0;
}

static struct storage_overlay *overlay_slot(struct storage_state *s, const char *cid)
{
	struct storage_overlay *free_one = NULL;
	for (size_t i = 0; i < STORAGE_OVERLAY_MAX; i++) {
		if (s->overlay[i].alive && strcmp(s->overlay[i].cid, cid) == 0)
			return &s->overlay[i];
		if (!s->overlay[i].alive && !free_one)
			free_one = &s->overlay[i];
	}
	return free_one;
}

static int scratch_mounted(struct storage_state *s, const char *serial)
{
	for (size_t i = 0; i < STORAGE_SCRATCH_MAX; i++)
		if (s->scratch[i].alive && strcmp(s->scratch[i].serial, serial) == 0)
			return 1;
	return 0;
}

/* {"op":"mount_overlay","container_id":..,"target":..,"layers":[..]} */
static int overlay_decide(struct agent *a, const char *cid, const char *target, const struct json_value *layers,
			  struct decision *dc, struct op_error *e)
{
	struct json_writer jw;
	size_t len = 0;
	json_writer_init(&jw, POLICY_REQUEST_MAX_BYTES);
	json_w_obj(&jw);
	json_w_key(&jw, "op");
	json_w_cstr(&jw, "mount_overlay");
	json_w_key(&jw, "container_id");
	json_w_cstr(&jw, cid);
	json_w_key(&jw, "target");
	json_w_cstr(&jw, target);
	json_w_key(&jw, "layers");
	json_w_value(&jw, layers);
	json_w_end(&jw);
	char *req = json_writer_finish(&jw, &len);
	if (!req)
		return op_fail(e, OP_ERR_MALFORMED, "mount_overlay: the request is too large");
	int rc = decide_begin_json(a, req, len, dc, e);
	free(req);
	return rc;
}

/* Host arguments: container_id, layers (targets of mount_device, base
 * first), scratch (a scratch_mount target; optional: without it the upper
 * directory is a private tmpfs in guest memory). */
static int parse_overlay_args(const struct json_value *args, struct storage_state *s, struct storage_overlay *o,
			      struct op_error *e)
{
	static const struct json_field f[] = {
		{"container_id", JSON_T_STRING, 1}, {"layers", JSON_T_ARRAY, 1}, {"scratch", JSON_T_STRING, 0}};
	if (json_check_object(args, f, 3, &e->err))
		return storage_wrap(e, OP_ERR_MALFORMED, "mount_overlay");
	const char *cid = json_str(json_get(args, "container_id"), NULL);
	const char *scratch = json_str(json_get(args, "scratch"), NULL);
	const struct json_value *layers = json_get(args, "layers");
	if (!storage_id_ok(cid))
		return op_fail(e, OP_ERR_MALFORMED, "mount_overlay: container_id must be 1..128 of [A-Za-z0-9._-]");
	for (size_t i = 0; i < json_len(layers); i++) {
		const char *l = json_str(json_at(layers, i), NULL);
		/* Mount option syntax: the engine only allows mounted layer
		 * targets, but never let a separator through regardless. */
		if (!l || strncmp(l, POLICY_LAYER_DIR, strlen(POLICY_LAYER_DIR)) != 0 ||
		    !storage_id_ok(l + strlen(POLICY_LAYER_DIR)))
			return op_fail(e, OP_ERR_MALFORMED, "mount_overlay: layers[%zu] must be a %sNAME target of mount_device",
				       i, POLICY_LAYER_DIR);
	}
	memset(o, 0, sizeof *o);
	snprintf(o->cid, sizeof o->cid, "%s", cid);
	o->on_tmpfs = scratch == NULL;
	if (scratch) {
		size_t dl = strlen(POLICY_SCRATCH_DIR);
		if (strncmp(scratch, POLICY_SCRATCH_DIR, dl) != 0 || !scratch_mounted(s, scratch + dl))
			return op_fail(e, OP_ERR_FAILED, "mount_overlay: no scratch disk is mounted at '%.200s' (scratch_mount first)",
				       scratch);
		snprintf(o->scratch, sizeof o->scratch, "%s", scratch + dl);
	}
	return 0;
}

int op_storage_mount_overlay(struct agent *a, const struct json_value *args, struct json_writer *w, struct op_error *e)
{
	struct storage_state *s = storage_state(a);
	struct storage_overlay o, *slot;
	struct ov_paths p;
	struct decision dc;
	if (!s)
		return op_fail(e, OP_ERR_FAILED, "mount_overlay: out of memory");
	if (parse_overlay_args(args, s, &o, e))
		return -1;
	ov_paths(o.cid, &o, &p);
	if (overlay_decide(a, o.cid, p.rootfs, json_get(args, "layers"), &dc, e))
		return -1;
	int rc = 0;
	slot = overlay_slot(s, o.cid);
	if (!slot || slot->alive)
		rc = op_fail(e, OP_ERR_FAILED, "mount_overlay: no room to track the overlay of %s", o.cid);
	if (rc == 0 && sources_usable(s, json_get(args, "layers"), &o, &e->err))
		rc = storage_wrap(e, OP_ERR_FAILED, "mount_overlay: container %s", o.cid);
	if (rc == 0 && overlay_up(json_get(args, "layers"), &o, &p, &e->err))
		rc = storage_wrap(e, OP_ERR_FAILED, "mount_overlay: container %s", o.cid);
	if (rc == 0) {
		o.alive = 1;
		*slot = o;
		json_w_obj(w);
		json_w_key(w, "rootfs");
		json_w_cstr(w, p.rootfs);
		json_w_key(w, "upper");
		json_w_cstr(w, o.on_tmpfs ? "tmpfs" : p.rw);
		json_w_end(w);
	}
	return decide_end(a, &dc, rc, e);
}

int op_storage_unmount_overlay(struct agent *a, const struct json_value *args, struct json_writer *w, struct op_error *e)
{
	struct decision dc;
	struct ov_paths p;
	if (decide_begin(a, "unmount_overlay", args, &dc, e))
		return -1;
	/* The engine knows the target as an overlay this agent mounted:
	 * /run/containers/ID/rootfs. */
	const char *target = json_str(json_get(args, "target"), NULL);
	struct storage_overlay *o = NULL;
	for (size_t i = 0; a->storage && i < STORAGE_OVERLAY_MAX; i++) {
		struct storage_overlay *c = &a->storage->overlay[i];
		ov_paths(c->cid, c, &p);
		if (c->alive && strcmp(p.rootfs, target) == 0) {
			o = c;
			break;
		}
	}
	int rc = 0;
	if (!o)
		rc = op_fail(e, OP_ERR_FAILED, "unmount_overlay: %s is not an overlay of this agent", target);
	if (rc == 0 && umount2(p.rootfs, UMOUNT_NOFOLLOW) != 0 && errno != EINVAL)
		rc = op_fail(e, OP_ERR_FAILED, "unmount_overlay: unmounting %s: %s%s", p.rootfs, strerror(errno),
			     errno == EBUSY ? " (still in use: stop the container first)" : "");
	if (rc == 0) {
		/* The overlay is gone: the op is done. What is left of the upper
		 * dir is deleted again by the next mount_overlay of this id. */
		if (undo_rw(o, &p) != 0)
			log_msg("unmount_overlay: removing %s: %s (left for the next mount_overlay of %s)", p.rw,
				strerror(errno), o->cid);
		rmdir(p.rootfs);
		rmdir(p.dir); /* fails harmlessly if the runtime keeps files there */
		o->alive = 0;
		json_w_obj(w);
		json_w_key(w, "target");
		json_w_cstr(w, target);
		json_w_end(w);
	}
	return decide_end(a, &dc, rc, e);
}
