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

struct storage_scratch {
	int alive;
	int encrypted;
	char serial[STORAGE_SERIAL_MAX + 1];
	char node[32];   /* what the file system sits on: /dev/dm-N (or /dev/vdX) */
	uint64_t bytes;  /* its size */
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

#endif
