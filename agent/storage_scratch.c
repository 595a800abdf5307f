/* scratch_mount / scratch_unmount: the writable disk for overlay upper
 * directories (docs/storage.md; crypto choices in docs/layers.md).
 *
 * Encrypted (the default, and the only kind unless the policy allows
 * otherwise): dm-integrity (tags only) under dm-crypt AES-256-GCM with a
 * fresh key from getrandom that lives only in this function's stack and the
 * kernel; formatted inside the guest with lib/ext2_format after zeroing the
 * whole mapping (sectors never written have no valid tag and read as EIO). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dm.h"
#include "ext2_format.h"
#include "storage.h"

#define SCRATCH_LABEL "uvm-scratch"
/* How the scratch is mounted, the first time and when an unmount is undone. */
#define SCRATCH_FLAGS (MS_NOSUID | MS_NODEV)
#define SCRATCH_AGAIN "scratch_mount of this serial"

static void scratch_names(const char *serial, struct storage_scratch_names *n)
{
	snprintf(n->target, sizeof n->target, "%s%s", POLICY_SCRATCH_DIR, serial);
	snprintf(n->integrity, sizeof n->integrity, "uvm-scratch-%s-integrity", serial);
	snprintf(n->crypt, sizeof n->crypt, "uvm-scratch-%s-crypt", serial);
}

static int fill_random(void *buf, size_t len, struct uvm_err *err)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = getrandom(p, len, 0);
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
static int integrity_up(const char *dev, const char *name, uint64_t *sectors, uint64_t *devno,
			struct uvm_err *err)
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
	if (*sectors < UVM_EXT2_MIN_BYTES / 512)
		return uvm_fail(err, ENOSPC, "%s: dm-integrity provides only %llu sectors", dev,
				(unsigned long long)*sectors);
	t.length = *sectors;
	return uvm_dm_activate(name, &t, 1, 0, devno, err);
}

/* dm-crypt over the integrity device with a key nobody else ever sees. */
static int crypt_up(const char *lower, const char *name, uint64_t sectors, uint64_t *devno,
		    struct uvm_err *err)
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

static int format_and_mount(const char *node, uint64_t bytes, const char *target, struct uvm_err *err)
{
	struct uvm_ext2_params p = {.bytes = bytes, .time = (uint32_t)time(NULL)};
	snprintf(p.label, sizeof p.label, "%s", SCRATCH_LABEL);
	if (fill_random(p.uuid, sizeof p.uuid, err))
		return -1;
	int fd = open(node, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return uvm_fail(err, errno, "opening %s: %s", node, strerror(errno));
	int rc = uvm_ext2_format(fd, &p, err);
	close(fd);
	if (rc)
		return -1;
	if (mkdir(target, 0700) != 0 && errno != EEXIST)
		return uvm_fail(err, errno, "creating %s: %s", target, strerror(errno));
	if (mount(node, target, "ext4", SCRATCH_FLAGS, NULL) != 0) {
		rc = uvm_fail(err, errno, "mounting %s (ext2) at %s: %s", node, target, strerror(errno));
		rmdir(target);
	}
	return rc;
}

static int scratch_up(const char *dev, uint64_t dev_bytes, int encrypted, const struct storage_scratch_names *n,
		      uint64_t *bytes, char *cnode, size_t cnode_len, struct uvm_err *err)
{
	char inode[64];
	uint64_t sectors = 0, devno;
	if (!encrypted) {
		*bytes = dev_bytes;
		snprintf(cnode, cnode_len, "%s", dev);
		return format_and_mount(dev, dev_bytes, n->target, err);
	}
	if (integrity_up(dev, n->integrity, &sectors, &devno, err))
		return -1;
	uvm_dm_node(devno, inode, sizeof inode);
	if (crypt_up(inode, n->crypt, sectors, &devno, err)) {
		storage_unmap_after_failure(n->integrity, SCRATCH_AGAIN, err);
		return -1;
	}
	uvm_dm_node(devno, cnode, cnode_len);
	*bytes = sectors * 512;
	if (blockdev_zero(cnode, *bytes, err) || format_and_mount(cnode, *bytes, n->target, err)) {
		/* The integrity mapping cannot go while the crypt one holds it. */
		storage_unmap_after_failure(n->crypt, SCRATCH_AGAIN, err);
		storage_unmap_after_failure(n->integrity, SCRATCH_AGAIN, err);
		return -1;
	}
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
	scratch_names(c->r->serial, &pv->n);
	if (request_set_target(c->r, pv->n.target, &c->e->err))
		return storage_wrap(c->e, OP_ERR_FAILED, "scratch_mount");
	return 0;
}

static void scratch_record(struct storage_scratch *slot, const char *serial, int encrypted, uint64_t bytes)
{
	slot->alive = 1;
	slot->broken = slot->crypt_gone = 0;
	slot->why[0] = '\0';
	slot->encrypted = encrypted;
	slot->bytes = bytes;
	snprintf(slot->serial, sizeof slot->serial, "%s", serial);
}

int op_scratch_mount(struct op_call *c)
{
	struct scratch_mount_priv *pv = c->priv;
	const struct storage_scratch_names *n = &pv->n;
	const char *serial = c->r->serial;
	struct op_error *e = c->e;
	char dev[32];
	uint64_t dev_bytes = 0, bytes = 0;
	/* Allowed: nothing is mounted at target, so mappings of this serial
	 * are leftovers of a failed cleanup; they would hold the disk. */
	int rc = storage_dm_clear_stale(n->crypt, &e->err);
	if (rc == 0)
		rc = storage_dm_clear_stale(n->integrity, &e->err);
	if (rc == 0)
		rc = blockdev_by_serial(serial, dev, sizeof dev, &dev_bytes, &e->err);
	if (rc == 0)
		rc = scratch_up(dev, dev_bytes, c->r->encrypted, n, &bytes, pv->slot->node, sizeof pv->slot->node,
				&e->err);
	if (rc)
		return storage_wrap(e, OP_ERR_FAILED, "scratch_mount: disk %s", serial);
	scratch_record(pv->slot, serial, c->r->encrypted, bytes);
	json_w_obj(c->w);
	json_w_key(c->w, "target");
	json_w_cstr(c->w, n->target);
	json_w_key(c->w, "encrypted");
	json_w_bool(c->w, c->r->encrypted);
	json_w_key(c->w, "bytes");
	json_w_uint(c->w, bytes);
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

/* Optional check before unmounting: every sector must still decrypt and
 * authenticate (a byte the host changed reads as EIO). O_DIRECT reads go to
 * the disk, not to the page cache of the mounted file system. */
static int verify_scratch(const struct storage_scratch *sc, const struct storage_scratch_names *n,
			  struct uvm_err *err)
{
	int fd = open(n->target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		syncfs(fd); /* what the containers wrote is on the disk first */
		close(fd);
	}
	return blockdev_read_all(sc->node, sc->bytes, err);
}

/* umount succeeded, removing the crypt mapping did not: mount the file
 * system again from it (the key is still in the kernel), so that the
 * engine's rollback ("still mounted") is true. If even that fails, the
 * scratch is broken: no overlay may use it until scratch_unmount ends. */
static int scratch_put_back(struct storage_scratch *sc, const struct storage_scratch_names *n, struct op_error *e)
{
	char removal[UVM_ERR_MAX];
	struct uvm_err rm;
	snprintf(removal, sizeof removal, "%s", e->err.msg);
	if (storage_remount(sc->node, n->target, "ext4", SCRATCH_FLAGS, &rm) == 0) {
		sc->broken = 0;
		sc->why[0] = '\0';
		return op_fail(e, OP_ERR_FAILED, "scratch_unmount: %s: %s; the scratch is mounted again, unchanged: "
			       "retry once nothing uses it (a container being shut down lets go within seconds)",
			       n->target, removal);
	}
	sc->broken = 1;
	snprintf(sc->why, sizeof sc->why, "unmounted, but %.150s; and %.100s", removal, rm.msg);
	return op_fail(e, OP_ERR_FAILED, "scratch_unmount: %s is %s: the scratch is unusable (no overlay may use it) "
		       "until scratch_unmount on it succeeds: retry it", n->target, sc->why);
}

/* Unmount, then remove crypt and integrity mappings. A broken scratch
 * (an earlier try got half-way) is unmounted already: only the removals
 * that are left are retried. */
static int teardown(struct storage_scratch *sc, const struct storage_scratch_names *n, struct op_error *e)
{
	if (umount2(n->target, UMOUNT_NOFOLLOW) != 0 && errno != EINVAL)
		return op_fail(e, OP_ERR_FAILED, "scratch_unmount: unmounting %s: %s%s", n->target,
			       strerror(errno), errno == EBUSY ? " (still in use)" : "");
	if (sc->encrypted && !sc->crypt_gone) {
		if (storage_dm_remove_settle(n->crypt, &e->err) != 0)
			return scratch_put_back(sc, n, e);
		sc->crypt_gone = 1;
	}
	if (sc->encrypted && storage_dm_remove_settle(n->integrity, &e->err) != 0) {
		/* The file system and its key are gone: nothing to put back. */
		sc->broken = 1;
		snprintf(sc->why, sizeof sc->why, "unmounted and its key destroyed, but %.180s", e->err.msg);
		return op_fail(e, OP_ERR_FAILED, "scratch_unmount: %s is %s: the scratch is unusable until scratch_unmount "
			       "on it succeeds: retry it", n->target, sc->why);
	}
	rmdir(n->target);
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
	scratch_names(pv->sc->serial, &pv->n);
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
		return op_fail(e, OP_ERR_FAILED, "scratch_unmount: %s holds the upper directory of container %s: "
			       "unmount its overlay first", n->target, cid);
	if (verify && sc->broken)
		return op_fail(e, OP_ERR_FAILED, "scratch_unmount: verify: %s is %s: there is no file system left to verify; "
			       "scratch_unmount it without verify", n->target, sc->why);
	if (verify && verify_scratch(sc, n, &e->err))
		return storage_wrap(e, OP_ERR_FAILED, "scratch_unmount: verify");
	if (teardown(sc, n, e))
		return -1;
	memset(sc, 0, sizeof *sc);
	json_w_obj(c->w);
	json_w_key(c->w, "target");
	json_w_cstr(c->w, n->target);
	json_w_key(c->w, "verified");
	json_w_bool(c->w, verify);
	json_w_end(c->w);
	return 0;
}
