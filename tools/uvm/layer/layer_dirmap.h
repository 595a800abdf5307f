/* The directories of the merged view of the layers converted so far, with
 * their metadata: what a later layer's implicit parent directory takes
 * (docs/layers.md, "Implicit parent directories"). `uvm layer --image`
 * carries one map down an image's layers, base first.
 *
 * A sorted array keyed by the normalised path ("" is the root, no leading
 * or trailing "/"), so that a subtree is one contiguous range. Removal only
 * marks entries; dirmap_compact drops them, so removing many subtrees costs
 * one pass. Pure (no I/O), bounded in entries and bytes. */
#ifndef UVM_LAYER_DIRMAP_H
#define UVM_LAYER_DIRMAP_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define DIRMAP_MAX_DIRS 1000000u      /* directories in the merged view */
#define DIRMAP_MAX_BYTES (256u << 20) /* their paths, xattrs and entries */

struct dirmeta {
	uint32_t mode; /* permission bits (07777) */
	uint32_t uid, gid;
	int64_t mtime;
	uint32_t mtime_nsec;
	/* user.* and security.* xattrs, packed: name, NUL, 4-byte little-endian
	 * value length, value; repeated. NULL when there are none. */
	uint8_t *xattrs;
	size_t xattrs_len;
};

struct dirmap_entry {
	char *path;
	struct dirmeta m;
	int dead; /* removed, dropped by the next dirmap_compact */
};

struct dirmap {
	struct dirmap_entry *v;
	size_t n, cap;
	uint64_t bytes;
	size_t max_dirs;    /* DIRMAP_MAX_DIRS, lowered by tests */
	uint64_t max_bytes; /* DIRMAP_MAX_BYTES, lowered by tests */
};

void dirmap_init(struct dirmap *m);
void dirmap_free(struct dirmap *m);

/* The live entry for path, or NULL. */
const struct dirmeta *dirmap_find(const struct dirmap *m, const char *path);

/* Marks every entry strictly below path removed, and path itself unless
 * keep_self. The root ("") with keep_self removes all but the root. */
void dirmap_remove(struct dirmap *m, const char *path, int keep_self);

/* Drops the entries dirmap_remove marked. */
void dirmap_compact(struct dirmap *m);

/* Appends to a batch (unsorted, for dirmap_merge): copies path and the
 * xattrs; fails past the limits. */
int dirmap_append(struct dirmap *batch, const char *path, const struct dirmeta *meta, struct uvm_err *err);

/* Moves the batch into m (sorting it first); a batch entry replaces m's
 * entry of the same path. The batch is left empty. Fails past m's limits
 * (m is unchanged then). */
int dirmap_merge(struct dirmap *m, struct dirmap *batch, struct uvm_err *err);

/* Packs one xattr onto meta->xattrs; the caller bounds the sizes. */
int dirmeta_add_xattr(struct dirmeta *meta, const char *name, const uint8_t *value, size_t len, struct uvm_err *err);

/* Walks packed xattrs: *pos starts at 0; returns 1 with the next one, 0 at
 * the end, -1 if the packing is broken. */
int dirmeta_next_xattr(const struct dirmeta *meta, size_t *pos, const char **name, const uint8_t **value, size_t *len);

#endif
