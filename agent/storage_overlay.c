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

#include "log.h"
#include "storage.h"

#define PATH_LEN STORAGE_OV_PATH_LEN
#define OPTS_MAX 16384

static void ov_paths(const char *cid, const struct storage_overlay *o, struct storage_ov_paths *p)
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
static int make_rw(const struct storage_overlay *o, const struct storage_ov_paths *p, struct uvm_err *err)
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
static int overlay_options(const struct req_strs *layers, const struct storage_ov_paths *p, char *opts,
			   size_t len, struct uvm_err *err)
{
	size_t n = layers->n, at = 0;
	int w = snprintf(opts, len, "lowerdir=");
	for (size_t i = n; i-- > 0 && w >= 0 && (size_t)w < len - at;) {
		at += (size_t)w;
		w = snprintf(opts + at, len - at, "%s%s", layers->v[i], i ? ":" : "");
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

static int undo_rw(const struct storage_overlay *o, const struct storage_ov_paths *p)
{
	if (o->on_tmpfs) {
		umount2(p->rw, MNT_DETACH);
		return rmdir(p->rw);
	}
	return remove_tree(p->rw);
}

/* Every step that fails undoes the ones before it: a tmpfs upper dir is
 * unmounted even when creating upper/ or work/ in it failed. */
static int overlay_up(const struct req_strs *layers, const struct storage_overlay *o,
		      const struct storage_ov_paths *p, struct uvm_err *err)
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
static int sources_usable(struct storage_state *s, const struct req_strs *layers, const struct storage_overlay *o,
			  struct uvm_err *err)
{
	for (size_t i = 0; i < layers->n; i++)
		if (storage_layer_usable(s, layers->v[i], err))
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

/* Mount option syntax: the engine only allows mounted layer targets, but
 * never let a separator (":" or ",") through regardless. */
static int layers_well_formed(const struct req_strs *layers, struct op_error *e)
{
	size_t dl = strlen(POLICY_LAYER_DIR);
	for (size_t i = 0; i < layers->n; i++) {
		const char *l = layers->v[i];
		if (strncmp(l, POLICY_LAYER_DIR, dl) != 0 || !request_id_ok(l + dl))
			return op_fail(e, OP_ERR_MALFORMED, "mount_overlay: layers[%zu] must be a %sNAME target of mount_device",
				       i, POLICY_LAYER_DIR);
	}
	return 0;
}

/* The overlay to record: container_id, and where its upper directory lives:
 * on the scratch r->scratch names (a scratch_mount target), or without one
 * on a private tmpfs in guest memory. */
static int overlay_of(struct storage_state *s, const struct request *r, struct storage_overlay *o,
		      struct op_error *e)
{
	snprintf(o->cid, sizeof o->cid, "%s", r->container_id);
	o->on_tmpfs = r->scratch == NULL;
	if (r->scratch) {
		size_t dl = strlen(POLICY_SCRATCH_DIR);
		if (strncmp(r->scratch, POLICY_SCRATCH_DIR, dl) != 0 || !scratch_mounted(s, r->scratch + dl))
			return op_fail(e, OP_ERR_FAILED, "mount_overlay: no scratch disk is mounted at '%.200s' (scratch_mount first)",
				       r->scratch);
		snprintf(o->scratch, sizeof o->scratch, "%s", r->scratch + dl);
	}
	return 0;
}

/* Before the decision: the layers' form, the scratch, and the target the
 * guest chooses for the engine (/run/containers/ID/rootfs). The decode
 * checked container_id's charset and that layers has 1.. strings. */
int op_mount_overlay_prepare(struct op_call *c)
{
	struct mount_overlay_priv *pv = c->priv;
	struct storage_state *s = storage_state(c->a);
	if (!s)
		return op_fail(c->e, OP_ERR_FAILED, "mount_overlay: out of memory");
	if (layers_well_formed(&c->r->layers, c->e) || overlay_of(s, c->r, &pv->o, c->e))
		return -1;
	ov_paths(pv->o.cid, &pv->o, &pv->p);
	if (request_set_target(c->r, pv->p.rootfs, &c->e->err))
		return storage_wrap(c->e, OP_ERR_FAILED, "mount_overlay");
	return 0;
}

int op_mount_overlay(struct op_call *c)
{
	struct mount_overlay_priv *pv = c->priv;
	struct storage_overlay *o = &pv->o;
	const struct storage_ov_paths *p = &pv->p;
	const struct req_strs *layers = &c->r->layers;
	struct storage_state *s = c->a->storage; /* allocated by prepare */
	struct storage_overlay *slot = overlay_slot(s, o->cid);
	if (!slot || slot->alive)
		return op_fail(c->e, OP_ERR_FAILED, "mount_overlay: no room to track the overlay of %s", o->cid);
	if (sources_usable(s, layers, o, &c->e->err) || overlay_up(layers, o, p, &c->e->err))
		return storage_wrap(c->e, OP_ERR_FAILED, "mount_overlay: container %s", o->cid);
	o->alive = 1;
	*slot = *o;
	json_w_obj(c->w);
	json_w_key(c->w, "rootfs");
	json_w_cstr(c->w, p->rootfs);
	json_w_key(c->w, "upper");
	json_w_cstr(c->w, o->on_tmpfs ? "tmpfs" : p->rw);
	json_w_end(c->w);
	return 0;
}

/* Nothing to establish: the host names the target, and only the engine
 * knows whether it is an overlay this agent mounted. */
int op_unmount_overlay_prepare(struct op_call *c)
{
	(void)c;
	return 0;
}

/* The overlay of this agent whose rootfs is target, with its paths in p. */
static struct storage_overlay *overlay_at(struct storage_state *s, const char *target, struct storage_ov_paths *p)
{
	for (size_t i = 0; s && i < STORAGE_OVERLAY_MAX; i++) {
		struct storage_overlay *o = &s->overlay[i];
		ov_paths(o->cid, o, p);
		if (o->alive && strcmp(p->rootfs, target) == 0)
			return o;
	}
	return NULL;
}

int op_unmount_overlay(struct op_call *c)
{
	struct storage_ov_paths p;
	/* The engine knows the target as an overlay this agent mounted:
	 * /run/containers/ID/rootfs. */
	const char *target = c->r->target;
	struct storage_overlay *o = overlay_at(c->a->storage, target, &p);
	if (!o)
		return op_fail(c->e, OP_ERR_FAILED, "unmount_overlay: %s is not an overlay of this agent", target);
	if (umount2(p.rootfs, UMOUNT_NOFOLLOW) != 0 && errno != EINVAL)
		return op_fail(c->e, OP_ERR_FAILED, "unmount_overlay: unmounting %s: %s%s", p.rootfs, strerror(errno),
			       errno == EBUSY ? " (still in use: stop the container first)" : "");
	/* The overlay is gone: the op is done. What is left of the upper dir
	 * is deleted again by the next mount_overlay of this id. */
	if (undo_rw(o, &p) != 0)
		log_msg("unmount_overlay: removing %s: %s (left for the next mount_overlay of %s)", p.rw,
			strerror(errno), o->cid);
	rmdir(p.rootfs);
	rmdir(p.dir); /* fails harmlessly if the runtime keeps files there */
	o->alive = 0;
	json_w_obj(c->w);
	json_w_key(c->w, "target");
	json_w_cstr(c->w, target);
	json_w_end(c->w);
	return 0;
}
