/* Converting a layer on top of the layers below it (docs/layers.md,
 * "Implicit parent directories" and "Chain ids").
 *
 * OCI layers may leave out unchanged parent directories (umoci does). In
 * the overlay the guest mounts, the directory a layer's image holds hides
 * the lower layers' one, so an implicit parent written with default
 * metadata would rewrite what lies below it (/root 0700 becoming 0755).
 * Such a directory therefore takes the metadata the merged view of the
 * lower layers has for it, as containerd's unpacking keeps it. A converted
 * layer thus depends on every layer below it, and is named by its chain id:
 *   chain(L1) = digest(L1)
 *   chain(Ln) = "sha256:" + hex(SHA-256(chain(Ln-1) + " " + digest(Ln)))
 * containerd's ChainID formula, over the layer digests of the manifest
 * (what uvm verifies), not the config's unchecked diff_ids. */
#ifndef UVM_LAYER_CHAIN_H
#define UVM_LAYER_CHAIN_H

#include <stdint.h>

#include "err.h"
#include "layer_dirmap.h"
#include "layer_tar.h"

#define LAYER_DIGEST_LEN (7 + 64) /* "sha256:" + hex */

struct layer_chain {
	char id[LAYER_DIGEST_LEN + 1]; /* of the layers converted so far; "" before the first */
	struct dirmap dirs;            /* directories of their merged view */
};

void layer_chain_init(struct layer_chain *c);
void layer_chain_free(struct layer_chain *c);

/* The chain id of the layer with this digest on top of the chain `below`
 * ("" for a base layer); out may be below. */
void layer_chain_id(const char *below, const char *digest, char out[LAYER_DIGEST_LEN + 1]);

/* After a layer is extracted into stage (implicit: what tar_extract
 * reported): drops from c->dirs what this layer hides (whiteouts, opaque
 * directories, non-directories), gives each implicit directory the
 * metadata of the lower one at the same path (mode, owner, time, user.*
 * and security.* xattrs) if there is one, raising *max_mtime to the times
 * it applies, then records this layer's directories for the next layer.
 * c->id is the caller's. */
int layer_chain_apply(struct layer_chain *c, const char *stage, const struct tar_dirs *implicit, int64_t *max_mtime,
		      struct uvm_err *err);

#endif
