/* The layers of `uvm run`: a cache of converted layers keyed by chain id
 * (docs/sandbox.md, step 1). Each chain is a directory CACHE/<hex of the
 * chain id>/ holding the image (<hex>.img, as `uvm layer` names it) and a
 * one-entry layers.json. A directory appears only by rename(2) of a
 * complete temporary one, so a concurrent run sees all of it or none; of
 * two runs building the same chain, the second rename fails and that run
 * uses the first one's directory. */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_util.h"
#include "hex.h"
#include "layer_oci.h"
#include "run.h"

int run_layer_cache_default(char *out, size_t size, struct uvm_err *err)
{
	const char *xdg = getenv("XDG_CACHE_HOME");
	int n = xdg && *xdg == '/' ? snprintf(out, size, "%s/uvm/layers", xdg)
				   : snprintf(out, size, "/var/cache/uvm/layers");
	if (n < 0 || (size_t)n >= size)
		return uvm_fail(err, ENAMETOOLONG, "XDG_CACHE_HOME is too long; give --layer-cache DIR");
	return 0;
}

/* mkdir -p */
static int mkdirs(const char *path, struct uvm_err *err)
{
	char p[RUN_PATH_MAX];
	if (snprintf(p, sizeof p, "%s", path) >= (int)sizeof p)
		return uvm_fail(err, ENAMETOOLONG, "%.200s...: path too long", path);
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s)
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return uvm_fail(err, errno, "create %s: %s", p, strerror(errno));
		*s = c;
		if (!c)
			break;
	}
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return uvm_fail(err, ENOTDIR, "%s is not a directory", path);
	return 0;
}

static int rm_entry(const char *path, const struct stat *s, int flag, struct FTW *f)
{
	(void)s;
	(void)flag;
	(void)f;
	return remove(path);
}

static void remove_tree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A chain directory's layers.json: one entry for exactly this layer, its
 * image present with the size it names. 1 found, 0 absent, -1 corrupt. */
static int read_cached(const char *dir, struct run_layer *l, struct uvm_err *err)
{
	static const struct json_field f[] = {{"digest", JSON_T_STRING, 1},   {"chain_id", JSON_T_STRING, 1},
					      {"path", JSON_T_STRING, 1},     {"root_hash", JSON_T_STRING, 1},
					      {"salt", JSON_T_STRING, 0},     {"data_blocks", JSON_T_INT, 0},
					      {"hash_offset", JSON_T_INT, 0}, {"size", JSON_T_INT, 1}};
	char index[RUN_PATH_MAX + 16];
	struct file_buf buf;
	struct json_doc *doc = NULL;
	struct stat st;
	uint8_t root[UVM_SHA256_LEN];
	uint64_t size = 0;
	snprintf(index, sizeof index, "%s/layers.json", dir);
	if (stat(dir, &st) < 0 && errno == ENOENT)
		return 0;
	if (file_read_all(index, 1u << 16, &buf, err) < 0)
		return uvm_wrap(err, "layer cache entry %s (remove the directory to convert the layer again)", dir);
	const struct json_value *a = json_parse(buf.data, buf.len, buf.len, &doc, err);
	const struct json_value *e = json_at(a, 0);
	int r = -1;
	if (!a)
		goto out;
	if (json_type(a) != JSON_ARRAY || json_len(a) != 1 || json_check_object(e, f, 8, err) < 0) {
		if (json_type(a) != JSON_ARRAY || json_len(a) != 1)
			uvm_fail(err, EINVAL, "expected an array of one layer");
		goto out;
	}
	const char *digest = json_str(json_get(e, "digest"), NULL), *chain = json_str(json_get(e, "chain_id"), NULL);
	const char *path = json_str(json_get(e, "path"), NULL), *hex = json_str(json_get(e, "root_hash"), NULL);
	if (strcmp(digest, l->digest) != 0 || strcmp(chain, l->chain_id) != 0) {
		uvm_fail(err, EINVAL, "it is for layer %.80s chain %.80s, not %s chain %s", digest, chain, l->digest,
			 l->chain_id);
		goto out;
	}
	if (strlen(path) != 64 + 4 || strncmp(path, l->chain_id + 7, 64) != 0 || strcmp(path + 64, ".img") != 0) {
		uvm_fail(err, EINVAL, "its path '%.100s' is not <chain hex>.img", path);
		goto out;
	}
	if (strlen(hex) != 64 || uvm_hex_decode(hex, root, sizeof root) < 0) {
		uvm_fail(err, EINVAL, "its root_hash is not 64 hex digits");
		goto out;
	}
	json_uint64(json_get(e, "size"), &size);
	snprintf(l->image, sizeof l->image, "%s/%s", dir, path);
	if (stat(l->image, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != size) {
		uvm_fail(err, EINVAL, "%s is missing or is not the %llu bytes layers.json names", l->image,
			 (unsigned long long)size);
		goto out;
	}
	uvm_hex_encode(root, sizeof root, l->root_hex);
	r = 1;
out:
	if (r < 0)
		uvm_wrap(err, "layer cache entry %s (remove the directory to convert the layer again)", dir);
	json_free(doc);
	file_buf_free(&buf);
	return r;
}

/* Converts layer l (on top of chain) into a temporary directory of the
 * cache, then renames it to dir. */
static int build_one(const struct oci_layer *in, const char *cache, const char *dir, struct layer_chain *chain,
		     struct run_layer *l, struct uvm_err *err)
{
	char tmp[RUN_PATH_MAX];
	struct layer_result res;
	if (snprintf(tmp, sizeof tmp, "%s/.tmp-%.16s-XXXXXX", cache, l->chain_id + 7) >= (int)sizeof tmp)
		return uvm_fail(err, ENAMETOOLONG, "--layer-cache path too long");
	if (!mkdtemp(tmp))
		return uvm_fail(err, errno, "create a directory in %s: %s", cache, strerror(errno));
	int r = layer_build(in->blob, in->digest, in->comp, tmp, chain, &res, err);
	if (r == 0)
		r = layer_write_index(tmp, &res, 1, err);
	if (r == 0 && chmod(tmp, 0755) < 0)
		r = uvm_fail(err, errno, "chmod %s: %s", tmp, strerror(errno));
	if (r < 0) {
		remove_tree(tmp);
		return -1;
	}
	if (rename(tmp, dir) < 0) {
		int e = errno;
		remove_tree(tmp);
		if (e != EEXIST && e != ENOTEMPTY)
			return uvm_fail(err, e, "rename %s to %s: %s", tmp, dir, strerror(e));
		fprintf(stderr, "uvm run: layer %s: another run stored %s first; using it\n", in->digest, dir);
	}
	int found = read_cached(dir, l, err);
	return found == 1 ? 0 : found == 0 ? uvm_fail(err, ENOENT, "%s vanished after it was built", dir) : -1;
}

int run_layers_prepare(const char *layout, const char *cache, struct run_layer *layers, size_t *n, struct uvm_err *err)
{
	static struct oci_layer in[OCI_MAX_LAYERS];
	char dirs[RUN_MAX_LAYERS][RUN_PATH_MAX];
	size_t count = 0, missing = 0, top_missing = 0;
	if (oci_read_layers(layout, in, &count, err) < 0)
		return uvm_wrap(err, "--image %s", layout);
	if (count > RUN_MAX_LAYERS)
		return uvm_fail(err, E2BIG,
				"--image %s has %zu layers; uvm launch attaches at most %d layers and the scratch "
				"(flatten the image)",
				layout, count, RUN_MAX_LAYERS);
	if (mkdirs(cache, err) < 0)
		return uvm_wrap(err, "layer cache");
	char below[LAYER_DIGEST_LEN + 1] = "";
	for (size_t i = 0; i < count; i++) {
		struct run_layer *l = &layers[i];
		memset(l, 0, sizeof *l);
		memcpy(l->digest, in[i].digest, sizeof l->digest);
		l->digest[LAYER_DIGEST_LEN] = '\0';
		layer_chain_id(below, in[i].digest, l->chain_id);
		memcpy(below, l->chain_id, sizeof below);
		if (snprintf(dirs[i], sizeof dirs[i], "%s/%s", cache, l->chain_id + 7) >= (int)sizeof dirs[i])
			return uvm_fail(err, ENAMETOOLONG, "--layer-cache path too long");
		int found = read_cached(dirs[i], l, err);
		if (found < 0)
			return -1;
		l->reused = found;
		if (!found) {
			missing++;
			top_missing = i;
		}
	}
	/* The layers up to the topmost missing one go through one chain: a
	 * missing layer's image depends on those below it (layer_chain.h). */
	struct layer_chain chain;
	layer_chain_init(&chain);
	int r = 0;
	for (size_t i = 0; missing && i <= top_missing && r == 0; i++) {
		if (layers[i].reused)
			r = layer_advance(in[i].blob, in[i].digest, in[i].comp, cache, &chain, err);
		else
			r = build_one(&in[i], cache, dirs[i], &chain, &layers[i], err);
	}
	layer_chain_free(&chain);
	if (r < 0)
		return -1;
	for (size_t i = 0; i < count; i++)
		fprintf(stderr, "uvm run: layer %zu/%zu %s %s %s root_hash %s\n", i + 1, count, layers[i].digest,
			layers[i].reused ? "reused" : "converted", dirs[i], layers[i].root_hex);
	*n = count;
	return 0;
}

struct index_ctx {
	const struct run_layer *layers;
	size_t n;
};

static int write_index(FILE *f, void *ctx, struct uvm_err *err)
{
	const struct index_ctx *x = ctx;
	(void)err;
	fprintf(f, "[\n");
	for (size_t i = 0; i < x->n; i++) {
		const struct run_layer *l = &x->layers[i];
		const char *base = strrchr(l->image, '/');
		fprintf(f, "  {\"digest\": \"%s\", \"chain_id\": \"%s\", \"path\": \"%s\", \"root_hash\": \"%s\"}%s\n",
			l->digest, l->chain_id, base ? base + 1 : l->image, l->root_hex, i + 1 < x->n ? "," : "");
	}
	fprintf(f, "]\n");
	return 0;
}

int run_layers_write_index(const struct run_layer *layers, size_t n, const char *path, struct uvm_err *err)
{
	struct index_ctx x = {layers, n};
	return file_write_atomic(path, write_index, &x, err);
}
