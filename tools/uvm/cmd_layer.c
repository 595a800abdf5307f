/* uvm layer: container layers -> dm-verity protected erofs images plus
 * layers.json (docs/layers.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "command.h"
#include "hex.h"
#include "layer_build.h"
#include "layer_oci.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: uvm layer (--tar LAYER.tar | --image OCI_LAYOUT) --out DIR\n"
		"\n"
		"Builds one read-only image per container layer: the layer's files as an erofs\n"
		"file system (OCI whiteouts turned into overlayfs whiteouts), followed by a\n"
		"dm-verity superblock and hash tree (sha256, 4096-byte blocks). The same input\n"
		"gives the same bytes. DIR/layers.json lists the layers base first with digest,\n"
		"path (inside DIR), root_hash, salt, data_blocks, hash_offset and size; check an\n"
		"image with: veritysetup verify PATH PATH ROOT_HASH --hash-offset=HASH_OFFSET\n"
		"\n"
		"  --tar FILE     one layer, a tar or gzip'ed tar (digest: SHA-256 of FILE)\n"
		"  --image DIR    an OCI image layout (index.json, blobs/sha256/...), as written\n"
		"                 by 'skopeo copy docker://IMAGE oci:DIR:TAG' or umoci\n"
		"  --out DIR      output directory (created if missing)\n"
		"\n"
		"Refused (exit 1): device nodes (a node in an image would open the guest's\n"
		"device for the container), absolute or '..' paths, xattrs outside user.* and\n"
		"security.*, and other hostile or unknown tar content (docs/layers.md).\n"
		"\n"
		"Needs root (file ownership, whiteout device nodes, trusted.* xattrs in the\n"
		"staging directory, which lives in DIR) and mkfs.erofs (erofs-utils).\n"
		"\n"
		"exit status: 0 images built, 1 invalid input or a failed build step (the\n"
		"message says which), 2 usage error\n");
}

static int build_all(const struct oci_layer *in, size_t n, const char *out_dir)
{
	struct layer_result *res = calloc(n, sizeof *res);
	struct uvm_err err = {0};
	if (!res) {
		fprintf(stderr, "uvm layer: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (layer_build(in[i].blob, in[i].digest, in[i].comp, out_dir, &res[i], &err) < 0) {
			fprintf(stderr, "uvm layer: %s\n", err.msg);
			free(res);
			return 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		char root[65];
		uvm_hex_encode(res[i].root, 32, root);
		printf("layer %zu/%zu %s -> %s root_hash %s (%llu entries, %llu data blocks, "
		       "%.3f s)\n",
		       i + 1, n, res[i].digest, res[i].path, root,
		       (unsigned long long)res[i].stats.entries,
		       (unsigned long long)res[i].data_blocks, s);
	}
	int r = layer_write_index(out_dir, res, n, &err);
	if (r < 0)
		fprintf(stderr, "uvm layer: %s\n", err.msg);
	else
		printf("wrote %s/layers.json\n", out_dir);
	free(res);
	return r < 0 ? 1 : 0;
}

static int run(int argc, char **argv)
{
	const char *tar = NULL, *image = NULL, *out = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		}
		const char **slot = strcmp(argv[i], "--tar") == 0     ? &tar
				    : strcmp(argv[i], "--image") == 0 ? &image
				    : strcmp(argv[i], "--out") == 0   ? &out
								      : NULL;
		if (!slot || i + 1 >= argc || *slot) {
			fprintf(stderr, "uvm layer: bad or repeated argument '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
		*slot = argv[++i];
	}
	if (!out || !tar == !image) {
		fprintf(stderr, "uvm layer: need --out and exactly one of --tar, --image\n");
		usage(stderr);
		return 2;
	}
	if (mkdir(out, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "uvm layer: create %s: %s\n", out, strerror(errno));
		return 1;
	}
	static struct oci_layer layers[OCI_MAX_LAYERS];
	size_t n = 1;
	struct uvm_err err = {0};
	if (tar) {
		if (layer_file_digest(tar, layers[0].digest, &err) < 0) {
			fprintf(stderr, "uvm layer: %s\n", err.msg);
			return 1;
		}
		snprintf(layers[0].blob, sizeof layers[0].blob, "%s", tar);
		layers[0].comp = LAYER_DETECT;
	} else if (oci_read_layers(image, layers, &n, &err) < 0) {
		fprintf(stderr, "uvm layer: %s\n", err.msg);
		return 1;
	}
	return build_all(layers, n, out);
}

const struct uvm_command uvm_command_layer = {
	"layer", "build dm-verity protected erofs images from container layers", run};
