/* Shared pieces of the storage ops (agent/storage_*.c, docs/storage.md):
 * finding the host's disks by virtio serial, whole-device read checks, and
 * the little the agent remembers between a mount and its unmount. The
 * policy engine keeps the authoritative state (what is mounted where); this
 * only holds what the kernel needs to undo a mount. Every syscall of the
 * storage ops goes through storage_sys.h (dm ioctls through lib/dm.h's
 * hook), so tests/unit/test_storage_state.c runs them on the host. */
#ifndef UVM_AGENT_STORAGE_H
#define UVM_AGENT_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#include "agent.h"
#include "erofs.h"
#include "err.h"
#include "hash.h"
#include "ops.h"
#include "policy.h"
#include "request.h"
#include "storage_extent.h"
#include "storage_sys.h"
#include "verity.h"

/* The forms the request decode checked (lib/request.h): a virtio-blk serial
 * (VIRTIO_BLK_ID_BYTES) and a container id. */
#define STORAGE_SERIAL_MAX REQ_SERIAL_MAX
#define STORAGE_CID_MAX POLICY_MAX_ID
#define STORAGE_SCRATCH_MAX 4
#define STORAGE_OVERLAY_MAX 256
/* The longest overlay path (/run/containers/ID/rootfs, the upper dir). */
#define STORAGE_OV_PATH_LEN 512

/* Room for why a half-undone unmount left something unusable. */
#define STORAGE_WHY_MAX 280
/* Layers whose unmount_device got half-way; past this many the overlay's
 * mount-point check (storage_check_mount) still refuses them, only with a
 * less specific message. */
#define STORAGE_BROKEN_MAX 16

/* A scratch is a pool of sectors, not a file system: each overlay on it
 * gets an extent with its own ext2 (storage_upper.c). */
struct storage_scratch {
	int alive;
	int encrypted;
	/* An unmount removed the dm-crypt mapping (and the key) but not the
	 * integrity mapping: no overlay may use it; scratch_unmount finishes
	 * the removal. The engine still lists it as mounted. */
	int broken;
	int crypt_gone; /* the dm-crypt mapping (and the key) is gone already */
	char why[STORAGE_WHY_MAX];
	char serial[STORAGE_SERIAL_MAX + 1];
	char node[32];  /* the pool: /dev/dm-N of the crypt mapping (or /dev/vdX) */
	uint64_t devno; /* its device number (makedev encoding) */
	uint64_t bytes; /* its size */
	/* Extents formatted since the mount (storage_extent_note): what verify
	 * walks. formatted_lost: records dropped because there were too many. */
	struct storage_extent formatted[STORAGE_FORMATTED_MAX];
	size_t n_formatted;
	uint32_t formatted_lost;
};

/* A layer target (/run/layers/HEX) the engine lists as mounted whose
 * directory is empty: unmount_device unmounted it, could not remove its
 * dm-verity mapping and could not mount it again. */
struct storage_broken {
	char target[128];
	char why[STORAGE_WHY_MAX];
};

/* dm names of writable layers: uvm-upper-<cid>, or for ids too long for
 * that, uvm-upperh-<sha256 of the id> (DM_NAME_LEN is 128 with the NUL). */
#define STORAGE_DM_NAME_LEN 128

struct storage_overlay {
	int alive;
	int on_tmpfs; /* upper dir on a private tmpfs instead of a scratch */
	/* Not alive: the overlay is gone, but its writable layer's mapping
	 * could not be removed (a dying container still held it). Its extent
	 * stays reserved until a later mount_overlay or scratch_unmount of its
	 * scratch removes the mapping (storage_upper_reap). */
	int leftover;
	char cid[STORAGE_CID_MAX + 1];
	char scratch[STORAGE_SERIAL_MAX + 1];
	/* On a scratch: the extent of the pool and the dm-linear mapping over it. */
	struct storage_extent ext;
	char dm_name[STORAGE_DM_NAME_LEN];
	uint64_t devno;
};

struct storage_state {
	struct storage_scratch scratch[STORAGE_SCRATCH_MAX];
	struct storage_overlay overlay[STORAGE_OVERLAY_MAX];
	struct storage_broken broken[STORAGE_BROKEN_MAX]; /* target[0] == 0: free */
};

/* The agent's storage state, allocated on first use; NULL if out of memory. */
struct storage_state *storage_state(struct agent *a);

/* Finds the disk the host named (lib/disk_name.h): "scsi<C>-lun<L>" on a
 * SCSI bus (blockdev_by_scsi_address), any other name as the virtio disk
 * whose /sys/block/vdX/serial it is. Writes "/dev/NAME" to dev and the
 * size in bytes. Two disks with one serial are refused (the host could
 * otherwise choose which one we open). */
int blockdev_by_serial(const char *serial, char *dev, size_t dev_len, uint64_t *bytes, struct uvm_err *err);

/* The SCSI disk at LUN lun of controller `controller`: on VMBus the storvsc
 * controller with hcsshim's well-known instance GUID number `controller`, on
 * QEMU the controller-th virtio-scsi controller in PCI address order
 * (agent/blockdev_scsi.c). Same outputs as blockdev_by_serial. */
int blockdev_by_scsi_address(unsigned controller, unsigned lun, char *dev, size_t dev_len, uint64_t *bytes,
			     struct uvm_err *err);

/* The size in bytes of the block device /sys/block/NAME. */
int blockdev_size(const char *name, uint64_t *bytes, struct uvm_err *err);

/* Reads bytes from the start of path with O_DIRECT (no page cache: what is
 * on the device now) and fails naming the first offset that does not read,
 * e.g. EIO from dm-verity or dm-crypt's AEAD. */
int blockdev_read_all(const char *path, uint64_t bytes, struct uvm_err *err);

/* Writes zeros over the first bytes of path (O_DIRECT), then flushes. */
int blockdev_zero(const char *path, uint64_t bytes, struct uvm_err *err);

/* Sets e->kind and prefixes the message already in e->err ("PREFIX: old");
 * returns -1. (op_fail cannot take e->err.msg as an argument: it writes
 * there.) */
int storage_wrap(struct op_error *e, const char *kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Whether an overlay of this agent still uses the scratch named serial. */
int storage_scratch_in_use(struct storage_state *s, const char *serial, char *cid, size_t cid_len);

/* The mounted scratch named serial, or NULL. */
struct storage_scratch *storage_scratch_find(struct storage_state *s, const char *serial);

/* ----- writable layers on a scratch pool (agent/storage_upper.c) ----- */

/* The size of the writable layer a mount_overlay on sc will get: want (the
 * request's scratch_bytes; 0: none) or dflt, capped by the pool's largest
 * free run (docs/storage.md). Fails, saying how much is free, if want does
 * not fit or the pool has no room for the smallest layer. First tries once
 * to remove the leftover mappings of sc's extents, which may free some. */
int storage_upper_size(struct storage_state *s, const struct storage_scratch *sc, uint64_t want, uint64_t dflt,
		       uint64_t *bytes, struct uvm_err *err);

/* Allocates an extent of bytes on sc for o (first fit), maps it with
 * dm-linear, formats ext2 on it, records it in sc->formatted (what verify
 * walks) and mounts it (nosuid,nodev) at dir. Every
 * failure is undone; a mapping that cannot be removed leaves o->leftover
 * set with its extent, and the caller must keep o in a slot. */
int storage_upper_up(struct storage_state *s, struct storage_scratch *sc, uint64_t bytes, struct storage_overlay *o,
		     const char *dir, struct uvm_err *err);

/* Unmounts o's file system at dir and removes its mapping (retried while
 * busy). 0 when the extent is free again; -1 with o->leftover set when the
 * mapping stays (the extent stays reserved). */
int storage_upper_down(struct storage_overlay *o, const char *dir, struct uvm_err *err);

/* Tries once to remove each leftover mapping on the scratch named serial,
 * freeing the extents (and slots) of those that go; settle: retry while
 * busy (storage_dm_remove_settle). Returns how many are left, with the
 * first one's container id in cid. */
int storage_upper_reap(struct storage_state *s, const char *serial, int settle, char *cid, size_t cid_len);

/* ----- undoing half-done storage steps (agent/storage_undo.c) ----- */

/* uvm_dm_remove, through the test flavour's fault seam. */
int storage_dm_remove(const char *name, struct uvm_err *err);

/* Removes a mapping, retrying EBUSY for up to about 2 s: a container that is
 * being shut down keeps the device open through its dying mount namespace
 * for milliseconds to seconds after our umount. A mapping that does not
 * exist counts as removed. Blocks PID 1 for at most that long. */
int storage_dm_remove_settle(const char *name, struct uvm_err *err);

/* Removes the mapping name if it exists. Used before creating it: the agent
 * alone names mappings, and the engine allowed the mount, so one that
 * exists is left over from a failed operation whose cleanup could not
 * remove it. */
int storage_dm_clear_stale(const char *name, struct uvm_err *err);

/* After a step that follows dm activation failed: removes the mapping (as
 * storage_dm_remove_settle). If that fails too, says so after the first
 * error in err, and that the next mount of the same thing (next_op, e.g.
 * "mount_device of this root hash") removes the leftover
 * (storage_dm_clear_stale). */
void storage_unmap_after_failure(const char *name, const char *next_op, struct uvm_err *err);

/* mount(2) of a file system that was unmounted a moment ago, from the
 * mapping that still exists, at the same target with the same flags (the
 * rollback of an unmount whose dm removal failed). Through the fault seam. */
int storage_remount(const char *node, const char *target, const char *fstype, unsigned long flags, struct uvm_err *err);

/* Fails unless path is the root of a mount of the file system with statfs
 * magic `magic` on block device dev (makedev encoding): an empty directory
 * where a layer or scratch should be must never reach an overlay. */
int storage_check_mount(const char *path, unsigned long magic, const char *fs_name, uint64_t dev, struct uvm_err *err);

/* Layers (agent/storage_layer.c): fails, saying why and what to do, unless
 * target is a layer this agent has mounted and it is really there. */
int storage_layer_usable(struct storage_state *s, const char *target, struct uvm_err *err);

/* ----- what each storage op's prepare hands to its execute (c->priv) -----
 * agent/ops.c allocates sizeof of each, zeroed. Pointers into the agent's
 * storage_state stay valid from prepare to execute: the engine's decision
 * is all that runs in between. */

/* mount_device: the probed layer. Its root hash is the host's claim (prepare
 * denied a mismatch), and the policy-listed hash dm-verity is given. */
struct mount_device_priv {
	char dev[32]; /* /dev/vdX */
	uint64_t bytes;
	struct uvm_erofs_info fs;
	struct uvm_verity_sb sb;
	uint8_t root[UVM_SHA256_LEN];          /* the device's own root hash */
	char root_hex[2 * UVM_SHA256_LEN + 1]; /* lowercase: r->device_hash */
	char name[128];                        /* the mapping: uvm-layer-HEX */
};

/* unmount_device: nothing; the target is only known good once the engine
 * has found it among this agent's mounts. */
struct unmount_device_priv {
	int unused;
};

/* The directories of one container's overlay. */
struct storage_ov_paths {
	char dir[STORAGE_OV_PATH_LEN / 2]; /* /run/containers/ID */
	char rootfs[STORAGE_OV_PATH_LEN];  /* .../rootfs: r->target */
	char rw[STORAGE_OV_PATH_LEN];      /* the directory holding upper/ and work/ */
};

/* mount_overlay: the overlay to record once it is up, its paths, and on a
 * scratch the writable layer's size (r->upper_bytes, the guest's fact). */
struct mount_overlay_priv {
	struct storage_overlay o;
	struct storage_ov_paths p;
	uint64_t upper_bytes;
};

struct unmount_overlay_priv {
	int unused;
};

/* A scratch's target (a name: nothing is mounted there) and dm mapping
 * names, from its serial. */
struct storage_scratch_names {
	char target[64], integrity[64], crypt[64];
};

void storage_scratch_names_of(const char *serial, struct storage_scratch_names *n);

/* scratch_mount: the free slot found before the decision. */
struct scratch_mount_priv {
	struct storage_scratch *slot;
	struct storage_scratch_names n;
};

/* scratch_unmount: the mounted scratch the host's target names. */
struct scratch_unmount_priv {
	struct storage_scratch *sc;
	struct storage_scratch_names n;
};

/* ----- fault injection (test flavour only, init/test-flavour/storage_fault.c) ----- */

enum storage_fault { STORAGE_FAULT_DM_REMOVE, STORAGE_FAULT_REMOUNT, STORAGE_FAULT_N };
#ifdef UVM_TEST_FLAVOUR
/* 1 if the next call at this point must fail (the host armed it with the
 * test_inject_fault op), consuming one armed failure. */
int storage_fault(enum storage_fault point);
/* test_inject_fault (no decision, no priv): arms c->r->point. */
int op_test_inject_fault(struct op_call *c);
#else
/* Production: no seam, nothing the host can arm. */
static inline int storage_fault(enum storage_fault point)
{
	(void)point;
	return 0;
}
#endif

#endif
