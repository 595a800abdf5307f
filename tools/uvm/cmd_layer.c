/* uvm layer: container layers -> dm-verity protected erofs images plus
 * layers.json (docs/layers.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "command.h"
#include "hex.h"
#include "layer_build.h"
#include "layer_oci.h"

static const char HELP[] = "usage: uvm layer (--tar LAYER.tar [--tar LAYER.tar ...] | --image OCI_LAYOUT)\n"
			   "                 --out DIR\n"
			   "\n"
			   "Builds one read-only image per container layer: the layer's files as an erofs\n"
			   "file system (OCI whiteouts turned into overlayfs whiteouts), followed by a\n"
			   "dm-verity superblock and hash tree (sha256, 4096-byte blocks). The same input\n"
			   "gives the same bytes. DIR/layers.json lists the layers base first with digest,\n"
			   "chain_id, path (inside DIR), root_hash, salt, data_blocks, hash_offset and\n"
			   "size; check an image with:\n"
			   "  veritysetup verify PATH PATH ROOT_HASH --hash-offset=HASH_OFFSET\n"
			   "\n"
			   "Layers are converted base first, each on top of those below it: a directory\n"
			   "a layer needs but does not list takes the metadata the lower layers give it.\n"
			   "So an image depends on the layers below it too, and is named by its chain id\n"
			   "(of its digest and those below; docs/layers.md).\n"
			   "\n"
			   "  --tar FILE     a layer, a tar or gzip'ed tar (digest: SHA-256 of FILE); repeat\n"
			   "                 for several layers of one image, base first. One --tar has no\n"
			   "                 layer below it\n"
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
			   "message says which), 2 usage error\n";

/* The layers in order through one chain: each sees those below it. */
static int build_all(const struct oci_layer *in, size_t n, const char *out_dir)
{
	struct layer_result *res = calloc(n, sizeof *res);
	struct uvm_err err = {0};
	struct layer_chain chain;
	if (!res) {
		fprintf(stderr, "uvm layer: out of memory\n");
		return 1;
	}
	layer_chain_init(&chain);
	for (size_t i = 0; i < n; i++) {
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (layer_build(in[i].blob, in[i].digest, in[i].comp, out_dir, &chain, &res[i], &err) < 0) {
			fprintf(stderr, "uvm layer: %s\n", err.msg);
			layer_chain_free(&chain);
			free(res);
			return 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		char root[65];
		uvm_hex_encode(res[i].root, 32, root);
		printf("layer %zu/%zu %s -> %s root_hash %s (%llu entries, %llu data blocks, "
		       "%.3f s)\n",
		       i + 1, n, res[i].digest, res[i].path, root, (unsigned long long)res[i].stats.entries,
		       (unsigned long long)res[i].data_blocks, s);
	}
	layer_chain_free(&chain);
	int r = layer_write_index(out_dir, res, n, &err);
	if (r < 0)
		fprintf(stderr, "uvm layer: %s\n", err.msg);
	else
		printf("wrote %s/layers.json\n", out_dir);
	free(res);
	return r < 0 ? 1 : 0;
}

struct layer_args {
	const char *tars[OCI_MAX_LAYERS], *image, *out;
	size_t ntars;
};

enum { O_TAR = 256, O_IMAGE, O_OUT };

static const struct option OPTS[] = {
	{"tar", required_argument, NULL, O_TAR},
	{"image", required_argument, NULL, O_IMAGE},
	{"out", required_argument, NULL, O_OUT},
	CLI_HELP_OPTION,
	{NULL, 0, NULL, 0},
};

/* 0, or CLI_EXIT (help or a usage error printed; cl->status says which). */
static int parse_args(struct cli *cl, struct layer_args *a)
{
	memset(a, 0, sizeof *a);
	for (int c; (c = cli_next(cl)) != CLI_END;) {
		int bad = 0;
		switch (c) {
		case CLI_EXIT: return CLI_EXIT;
		case O_TAR:
			if (a->ntars == OCI_MAX_LAYERS)
				bad = cli_fail(cl, "at most %d --tar", OCI_MAX_LAYERS);
			else
				a->tars[a->ntars++] = cl->arg;
			break;
		case O_IMAGE: bad = cli_once(cl, &a->image); break;
		case O_OUT: bad = cli_once(cl, &a->out); break;
		default: bad = cli_unexpected(cl); break; /* an operand */
		}
		if (bad)
			return CLI_EXIT;
	}
	if (!a->ntars && !a->image)
		cli_fail(cl, "--tar LAYER.tar or --image OCI_LAYOUT is required");
	else if (a->ntars && a->image)
		cli_fail(cl, "give --tar or --image, not both");
	else if (!a->out)
		cli_fail(cl, "--out DIR is required");
	else
		return 0;
	return CLI_EXIT;
}

/* The --tar files as layers, base first, digests computed. */
static int tar_layers(const struct layer_args *a, struct oci_layer *layers, struct uvm_err *err)
{
	for (size_t i = 0; i < a->ntars; i++) {
		if (layer_file_digest(a->tars[i], layers[i].digest, err) < 0)
			return -1;
		if (snprintf(layers[i].blob, sizeof layers[i].blob, "%s", a->tars[i]) >= (int)sizeof layers[i].blob)
			return uvm_fail(err, ENAMETOOLONG, "%.200s...: path too long", a->tars[i]);
		layers[i].comp = LAYER_DETECT;
	}
	return 0;
}

static int run(int argc, char **argv)
{
	static struct layer_args a;
	static struct oci_layer layers[OCI_MAX_LAYERS];
	struct uvm_err err = {0};
	struct cli cl;
	cli_init(&cl, "uvm layer", HELP, "", OPTS, argc, argv);
	if (parse_args(&cl, &a) == CLI_EXIT)
		return cl.status;
	if (mkdir(a.out, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "uvm layer: create %s: %s\n", a.out, strerror(errno));
		return 1;
	}
	size_t n = a.ntars;
	if ((a.ntars ? tar_layers(&a, layers, &err) : oci_read_layers(a.image, layers, &n, &err)) < 0) {
		fprintf(stderr, "uvm layer: %s\n", err.msg);
		return 1;
	}
	return build_all(layers, n, a.out);
}

const struct uvm_command uvm_command_layer = {"layer", "build dm-verity protected erofs images from container layers",
					      run};
