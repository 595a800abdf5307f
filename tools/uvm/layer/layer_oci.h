/* Reading an OCI image layout (as skopeo or umoci write it):
 * index.json -> image manifest -> layer descriptors and the image config,
 * each blob checked against its digest and size. */
#ifndef UVM_LAYER_OCI_H
#define UVM_LAYER_OCI_H

#include <stddef.h>

#include "err.h"
#include "layer_build.h"

#define OCI_MAX_LAYERS 128

struct oci_layer {
	char digest[LAYER_DIGEST_LEN + 1];
	char blob[4096]; /* path of the blob file */
	enum layer_compression comp;
};

/* Fills layers (base first) from the layout at dir; *n receives the count.
 * With several manifests in index.json, the linux/amd64 one is used. */
int oci_read_layers(const char *dir, struct oci_layer *layers, size_t *n, struct uvm_err *err);

/* The same, and also the path of the image's config blob (checked against
 * its digest and size) into config (config_len bytes). */
int oci_read_image(const char *dir, struct oci_layer *layers, size_t *n, char *config, size_t config_len,
		   struct uvm_err *err);

/* The org.opencontainers.image.ref.name annotation of the manifest
 * oci_read_image uses ("" when it has none, or it does not fit). */
int oci_image_ref(const char *dir, char *out, size_t size, struct uvm_err *err);

#endif
