/* Device-mapper through the raw ioctl interface (linux/dm-ioctl.h), no
 * libdevmapper: the guest creates dm-verity layer devices and the
 * dm-integrity + dm-crypt scratch with these. Device nodes come from
 * devtmpfs (/dev/dm-MINOR, /dev/mapper/control); no udev.
 *
 * The ioctl buffer builders and the status parser are separate, pure
 * functions so the unit tests exercise them without device-mapper; the
 * ioctl itself goes through a hook the tests replace (uvm_dm_set_ioctl).
 *
 * Tables that carry a key are loaded with DM_SECURE_DATA_FLAG (the kernel
 * wipes its copies) and our ioctl buffer is wiped before it is freed. */
#ifndef UVM_DM_H
#define UVM_DM_H

#include <stddef.h>
#include <stdint.h>

#include <linux/dm-ioctl.h>

#include "err.h"

/* Size of the ioctl buffers we allocate (header, targets, parameters). */
#define UVM_DM_BUF_SIZE 16384u
/* Longest parameter string of one target we accept, NUL included. */
#define UVM_DM_PARAMS_MAX 4096u

struct uvm_dm_target {
	uint64_t start;     /* in 512-byte sectors */
	uint64_t length;    /* in 512-byte sectors */
	const char *type;   /* "verity", "integrity", "crypt", ... */
	const char *params; /* the target's table line after the type */
};

/* Flags of uvm_dm_load / uvm_dm_activate. */
#define UVM_DM_READONLY 1u /* DM_READONLY_FLAG: the mapping opens its devices read-only */
#define UVM_DM_SECRET 2u   /* the table carries a key: DM_SECURE_DATA_FLAG, wipe buffers */

/* The ioctl call; returns 0 or -1 with errno set, like ioctl(2). */
typedef int (*uvm_dm_ioctl_fn)(int fd, unsigned long request, struct dm_ioctl *io);
/* Replaces the ioctl (tests); NULL restores the real one. */
void uvm_dm_set_ioctl(uvm_dm_ioctl_fn fn);
/* The control node opened for each call; tests may point it elsewhere. */
extern const char *uvm_dm_control_path;

/* ----- buffer construction and parsing (pure) ----- */

/* Zeroes buf (size bytes, 8-byte aligned, >= sizeof(struct dm_ioctl)) and
 * fills the header: interface version 4.0.0, data_size = size, data_start
 * after the header, name (1..127 bytes of [A-Za-z0-9._-]) and flags. */
int uvm_dm_init(struct dm_ioctl *io, size_t size, const char *name, uint32_t flags, struct uvm_err *err);

/* Appends the targets after the header as DM_TABLE_LOAD expects them: each
 * struct dm_target_spec followed by its NUL-terminated parameters, padded to
 * 8 bytes, `next` relative to the spec. Targets must be contiguous from
 * sector 0 with non-zero lengths. Sets target_count and data_size. */
int uvm_dm_add_targets(struct dm_ioctl *io, size_t size, const struct uvm_dm_target *t, size_t n, struct uvm_err *err);

/* Parses a DM_TABLE_STATUS answer: requires exactly one target and copies
 * its type and status string. Every offset is checked against size. */
int uvm_dm_parse_status(const struct dm_ioctl *io, size_t size, char *type, size_t type_len, char *status,
			size_t status_len, struct uvm_err *err);

/* ----- operations (one ioctl each) ----- */

int uvm_dm_create(const char *name, struct uvm_err *err);
/* Loads the inactive table; buf is the caller's ioctl buffer (wiped here
 * when flags has UVM_DM_SECRET, whatever the outcome). */
int uvm_dm_load_buf(struct dm_ioctl *buf, size_t size, const char *name, const struct uvm_dm_target *t, size_t n,
		    unsigned flags, struct uvm_err *err);
int uvm_dm_load(const char *name, const struct uvm_dm_target *t, size_t n, unsigned flags, struct uvm_err *err);
/* DM_DEV_SUSPEND without DM_SUSPEND_FLAG: makes the loaded table live.
 * *dev receives the device number (major/minor encoded as by makedev). */
int uvm_dm_resume(const char *name, uint64_t *dev, struct uvm_err *err);
/* Fails with code EBUSY while the device is open or mounted. */
int uvm_dm_remove(const char *name, struct uvm_err *err);
/* DM_DEV_STATUS: whether the mapping exists (code ENXIO if not) and its
 * device number (as uvm_dm_resume's). */
int uvm_dm_devno(const char *name, uint64_t *dev, struct uvm_err *err);
/* The live table's status line (STATUSTYPE_INFO, never the table itself,
 * which for dm-crypt would contain the key). */
int uvm_dm_status(const char *name, char *status, size_t status_len, struct uvm_err *err);

/* create + load + resume; removes the half-made device on failure. */
int uvm_dm_activate(const char *name, const struct uvm_dm_target *t, size_t n, unsigned flags, uint64_t *dev,
		    struct uvm_err *err);

/* "/dev/dm-MINOR", the node devtmpfs creates for a mapped device. */
int uvm_dm_node(uint64_t dev, char *path, size_t len);

/* ----- table parameter builders (docs/layers.md explains the choices) ----- */

#define UVM_DM_SCRATCH_SECTOR 4096u /* dm-crypt sector_size and dm-integrity block_size */
#define UVM_DM_SCRATCH_TAG 28u      /* AES-GCM: 12-byte random IV + 16-byte tag */
#define UVM_DM_SCRATCH_KEY 32u      /* AES-256 */

/* dm-integrity in standalone mode without an internal hash (dm-crypt's AEAD
 * fills the tags), direct writes without journal:
 *   DEV 0 28 D 2 block_size:4096 journal_sectors:1
 * The journal is never used in D mode, but dm-integrity writes one when it
 * formats (by default up to 1/128 of the disk, 64 MiB for 16 GiB): one section keeps formatting as
 * fast for 16 GiB as for 64 MiB. */
int uvm_dm_integrity_params(char *out, size_t len, const char *dev, struct uvm_err *err);

/* dm-crypt with AES-256-GCM and a random IV per sector, tags kept by the
 * dm-integrity device below:
 *   capi:gcm(aes)-random KEYHEX 0 DEV 0 2 integrity:28:aead sector_size:4096
 * key must be UVM_DM_SCRATCH_KEY bytes. out then holds the key: wipe it. */
int uvm_dm_crypt_params(char *out, size_t len, const uint8_t *key, size_t key_len, const char *dev,
			struct uvm_err *err);

/* From a dm-integrity status line "MISMATCHES PROVIDED_SECTORS RECALC",
 * the number of data sectors the formatted device provides. */
int uvm_dm_integrity_provided_sectors(const char *status, uint64_t *sectors, struct uvm_err *err);

#endif
