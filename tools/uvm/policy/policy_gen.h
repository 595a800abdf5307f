/* uvm policy gen: a policy for an OCI image's container (docs/policy.md
 * "Generating a policy"). Three steps, one file each:
 *   policy_gen_image.c   the image: config (argv, env, working dir, user) and
 *                        the layers' dm-verity root hashes, computed by the
 *                        code of `uvm layer` or taken from its layers.json
 *   policy_gen_write.c   defaults + the image + the overrides -> policy JSON,
 *                        checked with the engine's own loader
 *   policy_gen_pretty.c  the fixed indented form that is written out */
#ifndef UVM_POLICY_GEN_H
#define UVM_POLICY_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "hash.h"
#include "json.h"
#include "layer_oci.h"

#define GEN_CONFIG_MAX (4u << 20) /* image config and overrides files */

struct gen_image {
	struct json_doc *doc;                            /* the parsed image config; the fields point into it */
	const struct json_value *entrypoint, *cmd, *env; /* string arrays, or NULL */
	const char *working_dir, *user;                  /* "" when not set */
	const char *name;                                /* the container's name; NULL: "container" */
	size_t nlayers;
	uint8_t roots[OCI_MAX_LAYERS][UVM_SHA256_LEN]; /* base layer first */
};

#define GEN_MAX_IMAGES 16

/* What `uvm policy gen` was asked (cmd_policy.c parses the command line):
 * one image at least, each with its --name or NULL; the others may be
 * NULL (layers only with one image). */
struct gen_args {
	const char *images[GEN_MAX_IMAGES], *names[GEN_MAX_IMAGES];
	size_t nimages;
	const char *layers, *config, *out;
};

/* Generates, prints or writes the policy; returns the exit status (0, or 1
 * with a message on stderr). */
int policy_gen_run(const struct gen_args *a);

/* Reads the layout's config and layer digests. Root hashes: from
 * layers_json (a `uvm layer` layers.json whose digests must be exactly the
 * manifest's) or, when it is NULL, by building every layer with
 * layer_build() into a temporary directory under $TMPDIR (needs root and
 * mkfs.erofs, like `uvm layer`). */
int gen_image_read(const char *layout, const char *layers_json, struct gen_image *img, struct uvm_err *err);
void gen_image_free(struct gen_image *img);

/* The policy for the images (one container each, in order) with the
 * overrides (a parsed JSON object, or NULL) applied to every container;
 * returns malloc'ed compact JSON that policy_load accepts, or NULL with
 * err. With several images each needs its own name, and the overrides may
 * not name one. */
char *gen_policy_json(const struct gen_image *imgs, size_t n, const struct json_value *overrides, struct uvm_err *err);

/* Re-writes compact JSON in the fixed indented form (2 spaces, arrays of
 * scalars on one line, trailing newline); malloc'ed, NULL with err. */
char *gen_pretty(const char *json, size_t len, size_t *out_len, struct uvm_err *err);

#endif
