/* scratch_mount / scratch_unmount: the writable disk for overlay upper
 * directories (docs/storage.md; crypto choices in docs/layers.md).
 *
 * Encrypted (the default, and the only kind unless the policy allows
 * otherwise): dm-integrity (tags only) under dm-crypt AES-256-GCM with a
 * fresh key from getrandom that lives only in this function's stack and the
 * kernel; nothing is zeroed (sectors never written have no valid tag and
 * read as EIO; no file system on the pool reads a block it has not written),
 * so setup does not grow with the size. The result is a pool of sectors, not a file system:
 * each overlay on it gets its own extent and ext2 (storage_upper.c), so
 * one container that fills its writable layer fills nobody else's. Nothing
 * is mounted at the target /run/scratch/<serial>: it is the scratch's name. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "dm.h"
#include "ext2_format.h"
#include "policy_resources.h"
#include "storage.h"

#define SCRATCH_AGAIN "scratch_mount of this serial"

void storage_scratch_names_of(const char *serial, struct storage_scratch_names *n)
{
	snprintf(n->target, sizeof n->target, "%s%s", POLICY_SCRATCH_DIR, serial);
	snprintf(n->integrity, sizeof n->integrity, "uvm-scratch-%s-integrity", serial);
	snprintf(n->crypt, sizeof n->crypt, "uvm-scratch-%s-crypt", serial);
}

static int fill_random(void *buf, size_t len, struct uvm_err *err)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = sys_getrandom(p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return uvm_fail(err, errno, "getrandom: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The guest never trusts a host-written integrity superblock: zero it so
 * dm-integrity formats the device afresh. */
static int wipe_head(const char *dev, struct uvm_err *err)
{
	return blockdev_zero(dev, UVM_DM_SCRATCH_SECTOR, err);
}

/* dm-integrity: a short first activation formats the device and tells how
 * many data sectors it provides; the second one maps them all. */
static int integrity_up(const char *dev, const char *name, uint64_t *sectors, uint64_t *devno, struct uvm_err *err)
{
	char params[UVM_DM_PARAMS_MAX], status[256];
	if (wipe_head(dev, err) || uvm_dm_integrity_params(params, sizeof params, dev, err))
		return -1;
	struct uvm_dm_target t = {0, UVM_DM_SCRATCH_SECTOR / 512, "integrity", params};
	if (uvm_dm_activate(name, &t, 1, 0, devno, err))
		return -1;
	int rc = uvm_dm_status(name, status, sizeof status, err);
	if (rc == 0)
		rc = uvm_dm_integrity_provided_sectors(status, sectors, err);
	if (rc) {
		storage_unmap_after_failure(name, SCRATCH_AGAIN, err);
		return -1;
	}
	if (storage_dm_remove_settle(name, err))
		return uvm_wrap(err, "removing the formatting mapping (the next " SCRATCH_AGAIN " removes it)");
	*sectors -= *sectors % (UVM_DM_SCRATCH_SECTOR / 512);
	if (*sectors < POLICY_SCRATCH_MIN / 512)
		return uvm_fail(err, ENOSPC,
				"%s: dm-integrity provides only %llu sectors, less than the smallest "
				"writable layer (%llu bytes)",
				dev, (unsigned long long)*sectors, (unsigned long long)POLICY_SCRATCH_MIN);
	t.length = *sectors;
	return uvm_dm_activate(name, &t, 1, 0, devno, err);
}

/* dm-crypt over the integrity device with a key nobody else ever sees. */
static int crypt_up(const char *lower, const char *name, uint64_t sectors, uint64_t *devno, struct uvm_err *err)
{
	uint8_t key[UVM_DM_SCRATCH_KEY];
	char params[UVM_DM_PARAMS_MAX];
	int rc = fill_random(key, sizeof key, err);
	if (rc == 0)
		rc = uvm_dm_crypt_params(params, sizeof params, key, sizeof key, lower, err);
	explicit_bzero(key, sizeof key);
	if (rc == 0) {
		struct uvm_dm_target t = {0, sectors, "crypt", params};
		rc = uvm_dm_activate(name, &t, 1, UVM_DM_SECRET, devno, err);
	}
	explicit_bzero(params, sizeof params);
	return rc;
}

/* The pool: the crypt mapping over the integrity mapping, zeroed, or the
 * disk itself (unencrypted). Its node and device number in sc. */
static int scratch_up(const char *dev, uint64_t dev_bytes, int encrypted, const struct storage_scratch_names *n,
		      struct storage_scratch *sc, struct uvm_err *err)
{
	char inode[64];
	uint64_t sectors = 0, devno;
	struct stat st;
	if (!encrypted) {
		if (dev_bytes < POLICY_SCRATCH_MIN)
			return uvm_fail(err, ENOSPC, "%s has %llu bytes, less than the smallest writable layer (%llu)",
					dev, (unsigned long long)dev_bytes, (unsigned long long)POLICY_SCRATCH_MIN);
		if (sys_stat(dev, &st) != 0)
			return uvm_fail(err, errno, "%s: %s", dev, strerror(errno));
		sc->bytes = dev_bytes;
		sc->devno = (uint64_t)st.st_rdev;
		snprintf(sc->node, sizeof sc->node, "%s", dev);
		return 0;
	}
	if (integrity_up(dev, n->integrity, &sectors, &devno, err))
		return -1;
	uvm_dm_node(devno, inode, sizeof inode);
	if (crypt_up(inode, n->crypt, sectors, &sc->devno, err)) {
		storage_unmap_after_failure(n->integrity, SCRATCH_AGAIN, err);
		return -1;
	}
	/* Not zeroed: a sector nobody wrote has no valid tag and reads as an
	 * error, and each writable layer's file system writes every block before
	 * it reads it (lib/ext2_format.h), so setup costs the same at any size. */
	uvm_dm_node(sc->devno, sc->node, sizeof sc->node);
	sc->bytes = sectors * 512;
	return 0;
}

static struct storage_scratch *free_slot(struct storage_state *s)
{
	for (size_t i = 0; i < STORAGE_SCRATCH_MAX; i++)
		if (!s->scratch[i].alive)
			return &s->scratch[i];
	return NULL;
}

/* Before the decision: a free slot, and the target the guest chooses for
 * the engine (/run/scratch/<serial>; the decode checked the serial's
 * charset, which makes it safe in paths and dm names). */
int op_scratch_mount_prepare(struct op_call *c)
{
	struct scratch_mount_priv *pv = c->priv;
	struct storage_state *s = storage_state(c->a);
	if (!s)
		return op_fail(c->e, OP_ERR_FAILED, "scratch_mount: out of memory");
	pv->slot = free_slot(s);
	if (!pv->slot)
		return op_fail(c->e, OP_ERR_FAILED, "scratch_mount: %d scratch disks are mounted already (the limit)",
			       STORAGE_SCRATCH_MAX);
	storage_scratch_names_of(c->r->serial, &pv->n);
	if (request_set_target(c->r, pv->n.target, &c->e->err))
		return storage_wrap(c->e, OP_ERR_FAILED, "scratch_mount");
	return 0;
}

static void scratch_record(struct storage_scratch *slot, const struct storage_scratch *up, const char *serial,
			   int encrypted)
{
	*slot = *up;
	slot->alive = 1;
	slot->broken = slot->crypt_gone = 0;
	slot->why[0] = '\0';
	slot->encrypted = encrypted;
	snprintf(slot->serial, sizeof slot->serial, "%s", serial);
}

int op_scratch_mount(struct op_call *c)
{
	struct scratch_mount_priv *pv = c->priv;
	const struct storage_scratch_names *n = &pv->n;
	const char *serial = c->r->serial;
	struct op_error *e = c->e;
	char dev[32];
	uint64_t dev_bytes = 0;
	struct storage_scratch up;
	memset(&up, 0, sizeof up);
	/* Allowed: nothing is mounted at target, so mappings of this serial
	 * are leftovers of a failed cleanup; they would hold the disk. */
	int rc = storage_dm_clear_stale(n->crypt, &e->err);
	if (rc == 0)
		rc = storage_dm_clear_stale(n->integrity, &e->err);
	if (rc == 0)
		rc = blockdev_by_serial(serial, dev, sizeof dev, &dev_bytes, &e->err);
	if (rc == 0)
		rc = scratch_up(dev, dev_bytes, c->r->encrypted, n, &up, &e->err);
	if (rc)
		return storage_wrap(e, OP_ERR_FAILED, "scratch_mount: disk %s", serial);
	scratch_record(pv->slot, &up, serial, c->r->encrypted);
	json_w_obj(c->w);
	json_w_key(c->w, "target");
	json_w_cstr(c->w, n->target);
	json_w_key(c->w, "encrypted");
	json_w_bool(c->w, c->r->encrypted);
	json_w_key(c->w, "bytes");
	json_w_uint(c->w, pv->slot->bytes);
	json_w_end(c->w);
	return 0;
}

static struct storage_scratch *find_scratch(struct storage_state *s, const char *target)
{
	size_t dl = strlen(POLICY_SCRATCH_DIR);
	if (!s || strncmp(target, POLICY_SCRATCH_DIR, dl) != 0)
		return NULL;
	for (size_t i = 0; i < STORAGE_SCRATCH_MAX; i++)
		if (s->scratch[i].alive && strcmp(s->scratch[i].serial, target + dl) == 0)
			return &s->scratch[i];
	return NULL;
}

/* verify reads through the pool with O_DIRECT (no page cache: what is on
 * the disk now), from the start of one writable layer's extent. */
struct verify_io {
	int fd;
	uint64_t base;    /* the extent's first byte on the pool */
	uint8_t *buf;     /* VERIFY_CHUNK bytes, aligned for O_DIRECT */
	uint64_t checked; /* bytes read back */
	const char *node;
};

#define VERIFY_CHUNK (1u << 20)

static int verify_pread(struct verify_io *v, uint64_t block, size_t len, struct uvm_err *err)
{
	uint64_t off = v->base + block * UVM_EXT2_BLOCK;
	for (size_t done = 0; done < len;) {
		ssize_t n = sys_pread(v->fd, v->buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return uvm_fail(err, n < 0 ? errno : EIO, "reading %s at byte %llu: %s", v->node,
					(unsigned long long)(off + done), n < 0 ? strerror(errno) : "unexpected end");
		done += (size_t)n;
	}
	v->checked += len;
	return 0;
}

static int verify_block(void *ctx, uint64_t block, uint8_t buf[UVM_EXT2_BLOCK], struct uvm_err *err)
{
	struct verify_io *v = ctx;
	if (verify_pread(v, block, UVM_EXT2_BLOCK, err))
		return -1;
	memcpy(buf, v->buf, UVM_EXT2_BLOCK);
	return 0;
}

static int verify_run(void *ctx, uint64_t first, uint64_t count, struct uvm_err *err)
{
	struct verify_io *v = ctx;
	const uint64_t per = VERIFY_CHUNK / UVM_EXT2_BLOCK;
	for (uint64_t b = first; b < first + count; b += per) {
		uint64_t n = first + count - b < per ? first + count - b : per;
		if (verify_pread(v, b, (size_t)(n * UVM_EXT2_BLOCK), err))
			return -1;
	}
	return 0;
}

/* Optional check before unmounting: every block that any writable layer's
 * file system on this pool had in use when it was unmounted (its ext2 block
 * bitmaps, read through the same authenticated path, name them) must still
 * decrypt and authenticate: a byte the host changed reads as an error. The
 * pool is never zeroed, so sectors nobody wrote read as errors too; they are
 * not read. Nothing is mounted on the pool any more. Unencrypted, the whole
 * disk is read back. */
static int verify_scratch(const struct storage_scratch *sc, uint64_t *checked, struct uvm_err *err)
{
	*checked = sc->encrypted ? 0 : sc->bytes;
	if (!sc->encrypted)
		return blockdev_read_all(sc->node, sc->bytes, err);
	if (sc->formatted_lost)
		return uvm_fail(err, ENOSPC,
				"%u of the writable layers formatted on it since it was mounted are no longer "
				"remembered (at most %d are); it cannot be verified",
				sc->formatted_lost, STORAGE_FORMATTED_MAX);
	struct verify_io v = {.node = sc->node};
	v.fd = sys_open(sc->node, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (v.fd < 0)
		return uvm_fail(err, errno, "opening %s to read it back: %s", sc->node, strerror(errno));
	void *buf = NULL;
	int rc = posix_memalign(&buf, UVM_EXT2_BLOCK, VERIFY_CHUNK) == 0
			 ? 0
			 : uvm_fail(err, ENOMEM, "out of memory for a %u-byte buffer", VERIFY_CHUNK);
	v.buf = buf;
	struct uvm_ext2_walk w = {verify_block, verify_run, &v};
	for (size_t i = 0; rc == 0 && i < sc->n_formatted; i++) {
		v.base = sc->formatted[i].start;
		if (uvm_ext2_walk_used(sc->formatted[i].bytes, &w, err))
			rc = uvm_wrap(err, "the writable layer formatted at byte %llu (%llu bytes)",
				      (unsigned long long)sc->formatted[i].start,
				      (unsigned long long)sc->formatted[i].bytes);
	}
	free(buf);
	sys_close(v.fd);
	*checked = v.checked;
	return rc;
}

/* Removes the crypt mapping (and with it the key), then the integrity
 * mapping. A crypt mapping that stays busy changes nothing: the scratch is
 * whole and the engine's rollback is true. Once the key is gone nothing can
 * be put back: a stuck integrity mapping leaves the scratch broken until a
 * retry removes it. A broken scratch retries only what is left. */
static int teardown(struct storage_scratch *sc, const struct storage_scratch_names *n, struct op_error *e)
{
	if (!sc->encrypted)
		return 0; /* the pool is the disk itself: nothing mapped */
	if (!sc->crypt_gone) {
		if (storage_dm_remove_settle(n->crypt, &e->err) != 0)
			return storage_wrap(e, OP_ERR_FAILED,
					    "scratch_unmount: %s: the scratch is unchanged: retry once "
					    "nothing uses it (a container being shut down lets go within seconds)",
					    n->target);
		sc->crypt_gone = 1;
	}
	if (storage_dm_remove_settle(n->integrity, &e->err) != 0) {
		sc->broken = 1;
		snprintf(sc->why, sizeof sc->why, "its key is destroyed, but %.180s", e->err.msg);
		return op_fail(e, OP_ERR_FAILED, "scratch_unmount: %s is unusable: %s; retry scratch_unmount on it",
			       n->target, sc->why);
	}
	return 0;
}

/* Before the decision, as before the op had a decision: the host's target
 * must be a scratch this agent mounted. */
int op_scratch_unmount_prepare(struct op_call *c)
{
	struct scratch_unmount_priv *pv = c->priv;
	pv->sc = find_scratch(c->a->storage, c->r->target);
	if (!pv->sc)
		return op_fail(c->e, OP_ERR_FAILED, "scratch_unmount: no scratch disk is mounted at '%.200s'",
			       c->r->target);
	storage_scratch_names_of(pv->sc->serial, &pv->n);
	return 0;
}

int op_scratch_unmount(struct op_call *c)
{
	struct scratch_unmount_priv *pv = c->priv;
	struct storage_scratch *sc = pv->sc;
	const struct storage_scratch_names *n = &pv->n;
	struct op_error *e = c->e;
	int verify = c->r->verify;
	char cid[STORAGE_CID_MAX + 1];
	if (storage_scratch_in_use(c->a->storage, sc->serial, cid, sizeof cid))
		return op_fail(e, OP_ERR_FAILED,
			       "scratch_unmount: %s holds the upper directory of container %s: "
			       "unmount its overlay first",
			       n->target, cid);
	if (storage_upper_reap(c->a->storage, sc->serial, 1, cid, sizeof cid) != 0)
		return op_fail(e, OP_ERR_FAILED,
			       "scratch_unmount: %s: the writable layer of container %s is still held "
			       "(a container being shut down lets go within seconds): the scratch is unchanged: retry",
			       n->target, cid);
	if (verify && sc->broken)
		return op_fail(e, OP_ERR_FAILED,
			       "scratch_unmount: verify: %s is unusable: %s: there is nothing left to "
			       "verify; scratch_unmount it without verify",
			       n->target, sc->why);
	uint64_t checked = 0;
	if (verify && verify_scratch(sc, &checked, &e->err))
		return storage_wrap(e, OP_ERR_FAILED, "scratch_unmount: verify");
	if (teardown(sc, n, e))
		return -1;
	memset(sc, 0, sizeof *sc);
	json_w_obj(c->w);
	json_w_key(c->w, "target");
	json_w_cstr(c->w, n->target);
	json_w_key(c->w, "verified");
	json_w_bool(c->w, verify);
	if (verify) {
		json_w_key(c->w, "verified_bytes");
		json_w_uint(c->w, checked);
	}
	json_w_end(c->w);
	return 0;
}
