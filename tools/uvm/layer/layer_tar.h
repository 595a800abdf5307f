/* Reading OCI layer tars (ustar, pax, GNU long names) into a staging
 * directory for mkfs.erofs, converting OCI whiteouts to overlayfs ones:
 *   DIR/.wh.NAME       -> DIR/NAME as a character device 0:0
 *   DIR/.wh..wh..opq   -> xattr trusted.overlay.opaque="y" on DIR
 * The tar is hostile: every path is normalised and confined (no absolute
 * paths, no "..", nothing is ever resolved through a symlink), every size is
 * bounded, and anything not understood (sparse files, unknown entry types,
 * xattrs outside user.* and security.*) is rejected, as are device nodes
 * (they would open the guest's devices from inside a container).
 *
 * The header and pax parsers are pure so the fuzzer can drive them. */
#ifndef UVM_LAYER_TAR_H
#define UVM_LAYER_TAR_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define TAR_BLOCK 512
#define TAR_PATH_MAX 4096      /* normalised path or link target, NUL included */
#define TAR_PAX_MAX (1u << 20) /* one pax extended header */
#define TAR_XATTR_MAX 64       /* xattrs on one entry */
#define TAR_MAX_ENTRIES 1000000u
#define TAR_MAX_FILE_SIZE (1ull << 36) /* 64 GiB, the largest layer we accept */
#define TAR_MAX_TIME (1ll << 40)

struct tar_xattr {
	const char *name;     /* points into the pax buffer, NUL-terminated */
	const uint8_t *value; /* points into the pax buffer */
	size_t len;
};

/* Values a pax header (or GNU long name/link) overrides in the next entry. */
struct tar_override {
	int has_path, has_link, has_size, has_mtime, has_uid, has_gid;
	char path[TAR_PATH_MAX];
	char link[TAR_PATH_MAX];
	uint64_t size, uid, gid;
	int64_t mtime;
	uint32_t mtime_nsec;
	size_t nxattr;
	struct tar_xattr xattr[TAR_XATTR_MAX];
};

struct tar_header {
	char type;               /* '0' file, '1' hard link, '2' symlink, '3' chr, '4' blk (parsed
			       to be refused by name), '5' dir, '6' fifo; 'x' 'g' pax,
			       'L' 'K' GNU long name/link */
	char path[TAR_PATH_MAX]; /* raw (not yet normalised) */
	char link[TAR_PATH_MAX];
	uint32_t mode; /* permission bits only (07777) */
	uint64_t uid, gid, size;
	int64_t mtime;
	uint32_t mtime_nsec;
	uint32_t devmajor, devminor;
};

/* 1: the block is all zeros (end of archive marker), 0: parsed, -1: error. */
int tar_parse_header(const uint8_t block[TAR_BLOCK], struct tar_header *h, struct uvm_err *err);

/* Parses the records of a pax header ("LEN KEY=VALUE\n"...) into o. xattr
 * pointers refer into buf, which must stay alive (and is modified: values
 * get NUL-terminated in place). Global headers ('g') may only carry
 * comments; is_global selects that check. */
int tar_parse_pax(char *buf, size_t len, int is_global, struct tar_override *o, struct uvm_err *err);

/* Applies overrides to a header. */
void tar_apply_override(struct tar_header *h, const struct tar_override *o);

/* Normalises a member path: drops "." and empty components and a trailing
 * "/", rejects absolute paths, "..", components over 255 bytes and the
 * result over TAR_PATH_MAX. The root itself becomes "". */
int tar_normalize_path(const char *in, char *out, size_t out_len, struct uvm_err *err);

/* Statistics of one extraction. */
struct tar_stats {
	uint64_t entries, whiteouts, opaque_dirs, bytes;
	int64_t max_mtime; /* largest mtime applied (for mkfs.erofs's clamp) */
};

/* Directories a layer needs but does not list: the implicit parents of its
 * entries (0755 root:root, time 0 when extracted), and the root when the
 * tar has no "./" entry. Sorted by path; "" is the root. */
struct tar_dirs {
	char **paths;
	size_t n;
};

void tar_dirs_free(struct tar_dirs *d);

/* Reads a tar stream from fd (a file or pipe) and extracts it into the empty
 * directory root_fd. Needs root (ownership, whiteout device nodes, trusted.*
 * xattrs). implicit (may be NULL) receives the directories the layer did not
 * list, for the caller to give them a lower layer's metadata. */
int tar_extract(int fd, int root_fd, struct tar_stats *st, struct tar_dirs *implicit, struct uvm_err *err);

#endif
