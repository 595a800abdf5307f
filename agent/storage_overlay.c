/* mount_overlay / unmount_overlay: a container's root file system,
 * /run/containers/<id>/rootfs, from mounted layers (base first, as the
 * policy lists them) plus a writable upper directory: on a scratch disk its
 * own file system on an extent of the pool (storage_upper.c), without one a
 * private tmpfs (docs/storage.md). The policy engine decides whether the
 * ordered layers match a container of the policy and whether the writable
 * layer's size is within its bound. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dm.h"
#include "log.h"
#include "policy_resources.h"
#include "storage.h"

#define PATH_LEN STORAGE_OV_PATH_LEN
#define OPTS_MAX 16384

/* The upper file system (a tmpfs, or the writable layer's ext2) is
 * mounted at .../rw either way; it holds upper/ and work/. */
static void ov_paths(const char *cid, struct storage_ov_paths *p)
{
	snprintf(p->dir, sizeof p->dir, "%s%s", POLICY_CONTAINER_DIR, cid);
	snprintf(p->rootfs, sizeof p->rootfs, "%s%s", p->dir, POLICY_ROOTFS_SUFFIX);
	snprintf(p->rw, sizeof p->rw, "%s/rw", p->dir);
}

static int mkdir_mode(const char *path, mode_t mode, struct uvm_err *err)
{
	if (sys_mkdir(path, mode) != 0 && errno != EEXIST)
		return uvm_fail(err, errno, "creating %s: %s", path, strerror(errno));
	return 0;
}

static int mkdir_ok(const char *path, struct uvm_err *err)
{
	return mkdir_mode(path, 0700, err);
}

/* Where the overlay's upper layer goes: the scratch (and the size of the
 * writable layer on it), or NULL for a tmpfs. */
struct upper_at {
	struct storage_state *s;
	struct storage_scratch *sc; /* storage_upper_up records the layer it formats there */
	uint64_t bytes;
};

/* The file system at p->rw (*up once it is there: then the caller must
 * take it down if a later step fails), then a fresh, empty upper/ and
 * work/ in it. */
static int make_rw(const struct upper_at *u, struct storage_overlay *o, const struct storage_ov_paths *p, int *up,
		   struct uvm_err *err)
{
	char upper[PATH_LEN + 8], work[PATH_LEN + 8];
	if (o->on_tmpfs) {
		if (mkdir_ok(p->rw, err))
			return -1;
		if (sys_mount("tmpfs", p->rw, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700,size=256m") != 0) {
			sys_rmdir(p->rw);
			return uvm_fail(err, errno, "mounting a tmpfs at %s: %s", p->rw, strerror(errno));
		}
	} else if (storage_upper_up(u->s, u->sc, u->bytes, o, p->rw, err) != 0)
		return -1; /* undone by storage_upper_up (or o->leftover) */
	*up = 1;
	snprintf(upper, sizeof upper, "%s/upper", p->rw);
	snprintf(work, sizeof work, "%s/work", p->rw);
	/* The upper dir's mode becomes the container root's: 0755 so that a
	 * non-root container user can traverse "/" (umask does not apply to
	 * PID 1's explicit chmod below). */
	if (mkdir_mode(upper, 0755, err))
		return -1;
	if (sys_chmod(upper, 0755) != 0)
		return uvm_fail(err, errno, "chmod 0755 %s: %s", upper, strerror(errno));
	return mkdir_ok(work, err);
}

/* lowerdir lists the top layer first; the request lists the base first. */
static int overlay_options(const struct req_strs *layers, const struct storage_ov_paths *p, char *opts, size_t len,
			   struct uvm_err *err)
{
	size_t n = layers->n, at = 0;
	int w = snprintf(opts, len, "lowerdir=");
	for (size_t i = n; i-- > 0 && w >= 0 && (size_t)w < len - at;) {
		at += (size_t)w;
		w = snprintf(opts + at, len - at, "%s%s", layers->v[i], i ? ":" : "");
	}
	if (w >= 0 && (size_t)w < len - at) {
		at += (size_t)w;
		w = snprintf(opts + at, len - at,
			     ",upperdir=%s/upper,workdir=%s/work,index=off,metacopy=off,redirect_dir=off", p->rw,
			     p->rw);
	}
	if (w < 0 || (size_t)w >= len - at)
		return uvm_fail(err, E2BIG, "the overlay options for %zu layers exceed %zu bytes", n, len);
	return 0;
}

/* Takes the upper file system down again. On a scratch, 0 once its extent
 * is free; -1 with o->leftover set (and why in err) while its mapping stays. */
static int undo_rw(struct storage_overlay *o, const struct storage_ov_paths *p, struct uvm_err *err)
{
	if (o->on_tmpfs) {
		sys_umount2(p->rw, MNT_DETACH);
		sys_rmdir(p->rw);
		return 0;
	}
	return storage_upper_down(o, p->rw, err);
}

/* Every step that fails undoes the ones before it: the upper file system
 * is taken down even when creating upper/ or work/ in it failed. A
 * writable layer whose mapping cannot be removed leaves o->leftover set. */
static int overlay_up(const struct req_strs *layers, const struct upper_at *u, struct storage_overlay *o,
		      const struct storage_ov_paths *p, struct uvm_err *err)
{
	char *opts = malloc(OPTS_MAX);
	if (!opts)
		return uvm_fail(err, ENOMEM, "out of memory");
	int rc = overlay_options(layers, p, opts, OPTS_MAX, err), rw_up = 0;
	if (rc == 0)
		rc = mkdir_ok(p->dir, err) || mkdir_ok(p->rootfs, err) ? -1 : 0;
	if (rc == 0)
		rc = make_rw(u, o, p, &rw_up, err);
	if (rc == 0 && sys_mount("overlay", p->rootfs, "overlay", 0, opts) != 0)
		rc = uvm_fail(err, errno, "mounting the overlay at %s: %s", p->rootfs, strerror(errno));
	if (rc) {
		struct uvm_err undo;
		if (rw_up && undo_rw(o, p, &undo) != 0) {
			size_t n = strlen(err->msg);
			snprintf(err->msg + n, sizeof err->msg - n, "; %.200s", undo.msg);
		}
		sys_rmdir(p->rootfs);
		sys_rmdir(p->dir); /* fails harmlessly if the runtime keeps files there */
	}
	free(opts);
	return rc;
}

/* The scratch's pool is still the device this agent set up: the crypt
 * mapping of this serial (or the disk itself, unencrypted) with the device
 * number recorded at scratch_mount. */
static int scratch_usable(const struct storage_scratch *sc, struct uvm_err *err)
{
	struct stat st;
	struct storage_scratch_names n;
	uint64_t devno = 0;
	if (sc->broken)
		return uvm_fail(err, EIO, "scratch %s%s is unusable: %s; scratch_unmount it and mount it again",
				POLICY_SCRATCH_DIR, sc->serial, sc->why);
	storage_scratch_names_of(sc->serial, &n);
	if (sc->encrypted && (uvm_dm_devno(n.crypt, &devno, err) != 0 || devno != sc->devno))
		return uvm_fail(err, ENODEV,
				"scratch %s: its crypt mapping %s is not the one scratch_mount made "
				"(scratch_unmount it and mount it again)",
				n.target, n.crypt);
	if (sys_stat(sc->node, &st) != 0 || !S_ISBLK(st.st_mode) || (uint64_t)st.st_rdev != sc->devno)
		return uvm_fail(err, ENODEV,
				"scratch %s: %s is not its device any more (scratch_unmount it and mount "
				"it again)",
				n.target, sc->node);
	return 0;
}

/* Defence in depth before the overlay names them: every lower dir is the
 * erofs of its own dm-verity mapping and the scratch's pool its own device
 * (an unmount that got half-way could otherwise leave an empty directory
 * that overlayfs would take as an empty layer). */
static int sources_usable(struct storage_state *s, const struct req_strs *layers, const struct storage_scratch *sc,
			  struct uvm_err *err)
{
	for (size_t i = 0; i < layers->n; i++)
		if (storage_layer_usable(s, layers->v[i], err))
			return -1;
	return sc ? scratch_usable(sc, err) : 0;
}

/* The live slot of cid, else a free one (neither live nor holding a
 * leftover's extent). */
static struct storage_overlay *overlay_slot(struct storage_state *s, const char *cid)
{
	struct storage_overlay *free_one = NULL;
	for (size_t i = 0; i < STORAGE_OVERLAY_MAX; i++) {
		if (s->overlay[i].alive && strcmp(s->overlay[i].cid, cid) == 0)
			return &s->overlay[i];
		if (!s->overlay[i].alive && !s->overlay[i].leftover && !free_one)
			free_one = &s->overlay[i];
	}
	return free_one;
}

/* Mount option syntax: the engine only allows mounted layer targets, but
 * never let a separator (":" or ",") through regardless. */
static int layers_well_formed(const struct req_strs *layers, struct op_error *e)
{
	size_t dl = strlen(POLICY_LAYER_DIR);
	for (size_t i = 0; i < layers->n; i++) {
		const char *l = layers->v[i];
		if (strncmp(l, POLICY_LAYER_DIR, dl) != 0 || !request_id_ok(l + dl))
			return op_fail(e, OP_ERR_MALFORMED,
				       "mount_overlay: layers[%zu] must be a %sNAME target of mount_device", i,
				       POLICY_LAYER_DIR);
	}
	return 0;
}

/* The overlay to record: container_id, and where its upper directory lives:
 * on the scratch r->scratch names (a scratch_mount target), or without one
 * on a private tmpfs in guest memory. */
static int overlay_of(struct storage_state *s, const struct request *r, struct storage_overlay *o, struct op_error *e)
{
	snprintf(o->cid, sizeof o->cid, "%s", r->container_id);
	o->on_tmpfs = r->scratch == NULL;
	if (r->scratch) {
		size_t dl = strlen(POLICY_SCRATCH_DIR);
		if (strncmp(r->scratch, POLICY_SCRATCH_DIR, dl) != 0 || !storage_scratch_find(s, r->scratch + dl))
			return op_fail(e, OP_ERR_FAILED,
				       "mount_overlay: no scratch disk is mounted at '%.200s' (scratch_mount first)",
				       r->scratch);
		snprintf(o->scratch, sizeof o->scratch, "%s", r->scratch + dl);
	}
	return 0;
}

/* On a scratch, the writable layer's size that will run (the fact
 * upper_bytes): the request's scratch_bytes, else the smallest scratch_max
 * of the containers these layers could be (so every candidate accepts it),
 * else POLICY_SCRATCH_DEFAULT, the defaults capped by the largest free run. */
static int upper_size(struct op_call *c, struct storage_state *s, const char *serial, uint64_t *bytes)
{
	const struct storage_scratch *sc = storage_scratch_find(s, serial);
	uint64_t dflt = policy_scratch_bound(c->a->pstate, &c->r->layers);
	if (sc->broken) { /* no pool to size: say why it is unusable */
		scratch_usable(sc, &c->e->err);
		return storage_wrap(c->e, OP_ERR_FAILED, "mount_overlay");
	}
	if (storage_upper_size(s, sc, c->r->scratch_bytes, dflt ? dflt : POLICY_SCRATCH_DEFAULT, bytes, &c->e->err) ||
	    request_set_upper_bytes(c->r, *bytes, &c->e->err))
		return storage_wrap(c->e, OP_ERR_FAILED, "mount_overlay: container %s", c->r->container_id);
	return 0;
}

/* Before the decision: the layers' form, the scratch, the writable layer's
 * size and the target the guest chooses for the engine
 * (/run/containers/ID/rootfs). The decode checked container_id's charset,
 * that layers has 1.. strings and that scratch_bytes comes with a scratch. */
int op_mount_overlay_prepare(struct op_call *c)
{
	struct mount_overlay_priv *pv = c->priv;
	struct storage_state *s = storage_state(c->a);
	if (!s)
		return op_fail(c->e, OP_ERR_FAILED, "mount_overlay: out of memory");
	if (layers_well_formed(&c->r->layers, c->e) || overlay_of(s, c->r, &pv->o, c->e))
		return -1;
	if (!pv->o.on_tmpfs && upper_size(c, s, pv->o.scratch, &pv->upper_bytes))
		return -1;
	ov_paths(pv->o.cid, &pv->p);
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
	struct upper_at u = {s, o->on_tmpfs ? NULL : storage_scratch_find(s, o->scratch), pv->upper_bytes};
	if (!slot || slot->alive)
		return op_fail(c->e, OP_ERR_FAILED, "mount_overlay: no room to track the overlay of %s", o->cid);
	if (sources_usable(s, layers, u.sc, &c->e->err) || overlay_up(layers, &u, o, p, &c->e->err)) {
		if (o->leftover)
			*slot = *o; /* remembers the extent its mapping still holds */
		return storage_wrap(c->e, OP_ERR_FAILED, "mount_overlay: container %s", o->cid);
	}
	o->alive = 1;
	*slot = *o;
	json_w_obj(c->w);
	json_w_key(c->w, "rootfs");
	json_w_cstr(c->w, p->rootfs);
	json_w_key(c->w, "upper");
	json_w_cstr(c->w, o->on_tmpfs ? "tmpfs" : p->rw);
	if (!o->on_tmpfs) {
		json_w_key(c->w, "upper_bytes");
		json_w_uint(c->w, o->ext.bytes);
	}
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
		ov_paths(o->cid, p);
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
	if (sys_umount2(p.rootfs, UMOUNT_NOFOLLOW) != 0 && errno != EINVAL)
		return op_fail(c->e, OP_ERR_FAILED, "unmount_overlay: unmounting %s: %s%s", p.rootfs, strerror(errno),
			       errno == EBUSY ? " (still in use: stop the container first)" : "");
	/* The overlay is gone: the op is done, whatever happens to its
	 * writable layer. A mapping a dying container still holds leaves the
	 * slot as a leftover: its extent stays reserved until a later
	 * mount_overlay or scratch_unmount removes it. */
	struct uvm_err rm;
	if (undo_rw(o, &p, &rm) != 0)
		log_msg("unmount_overlay: %s: %s", o->cid, rm.msg);
	sys_rmdir(p.rootfs);
	sys_rmdir(p.dir); /* fails harmlessly if the runtime keeps files there */
	o->alive = 0;
	json_w_obj(c->w);
	json_w_key(c->w, "target");
	json_w_cstr(c->w, target);
	json_w_end(c->w);
	return 0;
}
