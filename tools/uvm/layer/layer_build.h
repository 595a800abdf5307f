/* One layer blob (tar or gzip'ed tar) -> one read-only image: erofs built by
 * mkfs.erofs from a staging directory, then the verity superblock and hash
 * tree appended (lib/verity.h). A layer is built on top of the layers below
 * it (layer_chain.h). docs/layers.md has the format and the
 * reproducibility rules. */
#ifndef UVM_LAYER_BUILD_H
#define UVM_LAYER_BUILD_H

#include <stdint.h>

#include "err.h"
#include "hash.h"
#include "layer_chain.h"
#include "layer_tar.h"

enum layer_compression { LAYER_DETECT, LAYER_PLAIN, LAYER_GZIP };

struct layer_result {
	char digest[LAYER_DIGEST_LEN + 1];   /* OCI digest of the blob */
	char chain_id[LAYER_DIGEST_LEN + 1]; /* of it and the layers below (layer_chain.h) */
	char path[LAYER_DIGEST_LEN + 8];     /* image file name in the output directory: the
						hex of chain_id, .img */
	uint8_t root[UVM_SHA256_LEN];
	uint8_t salt[UVM_SHA256_LEN];
	uint64_t data_blocks, hash_offset, size;
	struct tar_stats stats;
};

/* "sha256:<hex>" of a file's bytes. */
int layer_file_digest(const char *path, char out[LAYER_DIGEST_LEN + 1], struct uvm_err *err);

/* Builds out_dir/<hex of the chain id>.img from the blob, whose digest the
 * caller has computed (or checked against a manifest), on top of the layers
 * converted so far with chain (layer_chain_init'ed for a base layer), which
 * it then advances. chain NULL: a base layer, nothing carried. An image's
 * layers must go through one chain in order, base first; after a failure
 * the chain is spent (layer_chain_free it). */
int layer_build(const char *blob, const char *digest, enum layer_compression comp, const char *out_dir,
		struct layer_chain *chain, struct layer_result *res, struct uvm_err *err);

/* Advances chain over a layer whose image exists already (a cache hit
 * below a layer still to build): the blob is extracted into a staging
 * directory in tmp_dir and recorded as layer_build would, but no image is
 * written. The chain is spent after a failure. */
int layer_advance(const char *blob, const char *digest, enum layer_compression comp, const char *tmp_dir,
		  struct layer_chain *chain, struct uvm_err *err);

/* Writes out_dir/layers.json (base layer first). */
int layer_write_index(const char *out_dir, const struct layer_result *layers, size_t n, struct uvm_err *err);

#endif
