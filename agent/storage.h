/* Shared pieces of the storage ops (agent/storage_*.c, docs/storage.md):
 * finding the host's disks by virtio serial, whole-device read checks, and
 * the little the agent remembers between a mount and its unmount. The
 * policy engine keeps the authoritative state (what is mounted where); this
 * only holds what the kernel needs to undo a mount. */
#ifndef UVM_AGENT_STORAGE_H
#define UVM_AGENT_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#include "agent.h"
#include "err.h"
#include "ops.h"

/* virtio-blk serials are at most 20 bytes (VIRTIO_BLK_ID_BYTES). */
#define STORAGE_SERIAL_MAX 20
#define STORAGE_SCRATCH_MAX 4
#define STORAGE_OVERLAY_MAX 256
#define STORAGE_CID_MAX 128

/* Room for why a half-undone unmount left something unusable. */
#define STORAGE_WHY_MAX 280
/* Layers whose unmount_device got half-way; past this many the overlay's
 * mount-point check (storage_check_mount) still refuses them, only with a
 * less specific message. */
#define STORAGE_BROKEN_MAX 16

struct storage_scratch {
	int alive;
	int encrypted;
	/* An unmount removed the file system but not all of its mappings, and
	 * putting it back failed: no overlay may use it; scratch_unmount
	 * finishes the removal. The engine still lists it as mounted. */
	int broken;
	int crypt_gone;  /* the dm-crypt mapping (and the key) is gone already */
	char why[STORAGE_WHY_MAX];
	char serial[STORAGE_SERIAL_MAX + 1];
	char node[32];   /* what the file system sits on: /dev/dm-N (or /dev/vdX) */
	uint64_t bytes;  /* its size */
};

/* A layer target (/run/layers/HEX) the engine lists as mounted whose
 * directory is empty: unmount_device unmounted it, could not remove its
 * dm-verity mapping and could not mount it again. */
struct storage_broken {
	char target[128];
	char why[STORAGE_WHY_MAX];
};

struct storage_overlay {
	int alive;
	int on_tmpfs;  /* upper dir on a private tmpfs instead of a scratch */
	char cid[STORAGE_CID_MAX + 1];
	char scratch[STORAGE_SERIAL_MAX + 1];
};

struct storage_state {
	struct storage_scratch scratch[STORAGE_SCRATCH_MAX];
	struct storage_overlay overlay[STORAGE_OVERLAY_MAX];
	struct storage_broken broken[STORAGE_BROKEN_MAX]; /* target[0] == 0: free */
};

/* The agent's storage state, allocated on first use; NULL if out of memory. */
struct storage_state *storage_state(struct agent *a);

/* 1..20 bytes of [A-Za-z0-9_-]: what `uvm launch --disk` allows, and safe in
 * dm names, paths and mount options. */
int storage_serial_ok(const char *s);
/* [A-Za-z0-9._-], 1..128, not "." or "..": the policy engine's id charset. */
int storage_id_ok(const char *s);

/* Finds the virtio disk whose /sys/block/vdX/serial is serial: writes
 * "/dev/vdX" to dev and its size in bytes. Two disks with one serial are
 * refused (the host could otherwise choose which one we open). */
int blockdev_by_serial(const char *serial, char *dev, size_t dev_len, uint64_t *bytes,
		       struct uvm_err *err);

/* Reads bytes from the start of path with O_DIRECT (no page cache: what is
 * on the device now) and fails naming the first offset that does not read,
 * e.g. EIO from dm-verity or dm-crypt's AEAD. */
int blockdev_read_all(const char *path, uint64_t bytes, struct uvm_err *err);

/* Writes zeros over the first bytes of path (O_DIRECT), then flushes. */
int blockdev_zero(const char *path, uint64_t bytes, struct uvm_err *err);

/* Sets e->kind and prefixes the message already in e->err ("PREFIX: old");
 * returns -1. (op_fail cannot take e->err.msg as an argument: it writes
 * there.) */
int storage_wrap(struct op_error *e, const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Whether an overlay of this agent still uses the scratch named serial. */
int storage_scratch_in_use(struct storage_state *s, const char *serial, char *cid, size_t cid_len);

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
int storage_remount(const char *node, const char *target, const char *fstype, unsigned long flags,
		    struct uvm_err *err);

/* Fails unless path is the root of a mount of the file system with statfs
 * magic `magic` on block device dev (makedev encoding): an empty directory
 * where a layer or scratch should be must never reach an overlay. */
int storage_check_mount(const char *path, unsigned long magic, const char *fs_name, uint64_t dev,
			struct uvm_err *err);

/* Layers (agent/storage_layer.c): fails, saying why and what to do, unless
 * target is a layer this agent has mounted and it is really there. */
int storage_layer_usable(struct storage_state *s, const char *target, struct uvm_err *err);

/* ----- fault injection (test flavour only, init/test-flavour/storage_fault.c) ----- */

enum storage_fault { STORAGE_FAULT_DM_REMOVE, STORAGE_FAULT_REMOUNT, STORAGE_FAULT_N };
#ifdef UVM_TEST_FLAVOUR
/* 1 if the next call at this point must fail (the host armed it with the
 * test_inject_fault op), consuming one armed failure. */
int storage_fault(enum storage_fault point);
int op_test_inject_fault(struct agent *a, const struct json_value *args, struct json_writer *w, struct op_error *e);
#else
/* Production: no seam, nothing the host can arm. */
static inline int storage_fault(enum storage_fault point)
{
	(void)point;
	return 0;
}
#endif

#endif
