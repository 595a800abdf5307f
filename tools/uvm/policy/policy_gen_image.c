/* The image side of `uvm policy gen` (see policy_gen.h): the container
 * fields of the OCI image config, and the layer root hashes computed by the
 * same code as `uvm layer`, so the two always agree. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file_util.h"
#include "hex.h"
#include "layer_build.h"
#include "policy_gen.h"

/* An optional array of strings (null counts as absent). */
static int str_array(const struct json_value *v, const struct json_value **out, struct uvm_err *err)
{
	*out = NULL;
	if (!v || json_type(v) == JSON_NULL)
		return 0;
	if (json_type(v) != JSON_ARRAY)
		return json_fail_at(v, err, "expected an array of strings");
	for (size_t i = 0; i < json_len(v); i++)
		if (json_type(json_at(v, i)) != JSON_STRING)
			return json_fail_at(json_at(v, i), err, "expected a string");
	*out = v;
	return 0;
}

static int opt_str(const struct json_value *v, const char **out, struct uvm_err *err)
{
	*out = "";
	if (!v || json_type(v) == JSON_NULL)
		return 0;
	if (json_type(v) != JSON_STRING)
		return json_fail_at(v, err, "expected a string");
	*out = json_str(v, NULL);
	return 0;
}

/* The image config (image-spec config.md): only config.{Entrypoint, Cmd,
 * Env, WorkingDir, User} matter here; other keys are the spec's business. */
static int read_config(const char *path, struct gen_image *img, struct uvm_err *err)
{
	struct file_buf buf;
	if (file_read_all(path, GEN_CONFIG_MAX, &buf, err) < 0)
		return -1;
	const struct json_value *root = json_parse(buf.data, buf.len, GEN_CONFIG_MAX, &img->doc, err);
	file_buf_free(&buf);
	if (!root)
		return -1;
	if (json_type(root) != JSON_OBJECT)
		return json_fail_at(root, err, "the image config is not a JSON object");
	const struct json_value *c = json_get(root, "config");
	if (c && json_type(c) != JSON_NULL && json_type(c) != JSON_OBJECT)
		return json_fail_at(c, err, "expected an object");
	if (str_array(json_get(c, "Entrypoint"), &img->entrypoint, err) < 0 ||
	    str_array(json_get(c, "Cmd"), &img->cmd, err) < 0 || str_array(json_get(c, "Env"), &img->env, err) < 0 ||
	    opt_str(json_get(c, "WorkingDir"), &img->working_dir, err) < 0 ||
	    opt_str(json_get(c, "User"), &img->user, err) < 0)
		return -1;
	return 0;
}

/* One layers.json entry against the manifest's layer i: the same digest,
 * and the chain id of the layers up to it, which a layers.json written
 * before layers were converted on top of each other lacks (its root hashes
 * may differ from today's). */
static int check_entry(const struct json_value *e, const struct oci_layer *layer, size_t i, const char *chain_id,
		       struct uvm_err *err)
{
	const char *got = json_str(json_get(e, "chain_id"), NULL);
	if (strcmp(json_str(json_get(e, "digest"), NULL), layer->digest) != 0)
		return json_fail_at(e, err,
				    "digest differs from the image's layer %zu (%s): "
				    "run 'uvm layer --image' on this image again",
				    i, layer->digest);
	if (!got)
		return json_fail_at(e, err,
				    "no chain_id: written by an older uvm layer, whose "
				    "images may differ; run 'uvm layer --image' on this image again");
	if (strcmp(got, chain_id) != 0)
		return json_fail_at(e, err,
				    "chain_id differs from the image's layers 0..%zu (%s): "
				    "run 'uvm layer --image' on this image again",
				    i, chain_id);
	return 0;
}

/* Root hashes from a `uvm layer` layers.json; its layers must be exactly
 * the manifest's (same digests, same order, same chain ids), or the policy
 * would name images of another image. */
static int roots_from_index(const char *path, const struct oci_layer *layers, size_t n, struct gen_image *img,
			    struct uvm_err *err)
{
	static const struct json_field f[] = {{"digest", JSON_T_STRING, 1},   {"chain_id", JSON_T_STRING, 0},
					      {"path", JSON_T_STRING, 0},     {"root_hash", JSON_T_STRING, 1},
					      {"salt", JSON_T_STRING, 0},     {"data_blocks", JSON_T_INT, 0},
					      {"hash_offset", JSON_T_INT, 0}, {"size", JSON_T_INT, 0}};
	char chain[LAYER_DIGEST_LEN + 1] = "";
	struct file_buf buf;
	struct json_doc *doc = NULL;
	int r = -1;
	if (file_read_all(path, GEN_CONFIG_MAX, &buf, err) < 0)
		return -1;
	const struct json_value *a = json_parse(buf.data, buf.len, GEN_CONFIG_MAX, &doc, err);
	if (!a)
		goto out;
	if (json_type(a) != JSON_ARRAY || json_len(a) != n) {
		json_fail_at(a, err, "expected an array of %zu layers (the image's), found %s of %zu", n,
			     json_type_name(json_type(a)), json_len(a));
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct json_value *e = json_at(a, i);
		layer_chain_id(chain, layers[i].digest, chain);
		if (json_check_object(e, f, sizeof f / sizeof f[0], err) < 0 ||
		    check_entry(e, &layers[i], i, chain, err) < 0)
			goto out;
		if (uvm_hex_decode(json_str(json_get(e, "root_hash"), NULL), img->roots[i], UVM_SHA256_LEN) < 0) {
			json_fail_at(json_get(e, "root_hash"), err, "not 64 hex digits");
			goto out;
		}
	}
	r = 0;
out:
	if (r < 0)
		uvm_wrap(err, "%s", path);
	json_free(doc);
	file_buf_free(&buf);
	return r;
}

/* Builds every layer as `uvm layer` does (in order, each on top of those
 * below it), in a temporary directory that is removed afterwards; only the
 * root hashes are kept. */
static int roots_by_building(const struct oci_layer *layers, size_t n, struct gen_image *img, struct uvm_err *err)
{
	char dir[4096], img_path[4096 + 80];
	const char *tmp = getenv("TMPDIR");
	if (snprintf(dir, sizeof dir, "%s/uvm-policy-gen-XXXXXX", tmp && *tmp ? tmp : "/tmp") >= (int)sizeof dir)
		return uvm_fail(err, ENAMETOOLONG, "TMPDIR is too long");
	if (!mkdtemp(dir))
		return uvm_fail(err, errno, "create a temporary directory %s: %s", dir, strerror(errno));
	struct layer_chain chain;
	layer_chain_init(&chain);
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		struct layer_result res;
		r = layer_build(layers[i].blob, layers[i].digest, layers[i].comp, dir, &chain, &res, err);
		if (r == 0) {
			memcpy(img->roots[i], res.root, UVM_SHA256_LEN);
			snprintf(img_path, sizeof img_path, "%s/%s", dir, res.path);
			unlink(img_path);
		}
	}
	layer_chain_free(&chain);
	rmdir(dir);
	return r;
}

int gen_image_read(const char *layout, const char *layers_json, struct gen_image *img, struct uvm_err *err)
{
	static struct oci_layer layers[OCI_MAX_LAYERS];
	char config[4096];
	memset(img, 0, sizeof *img);
	if (oci_read_image(layout, layers, &img->nlayers, config, sizeof config, err) < 0)
		return -1;
	if (read_config(config, img, err) < 0)
		return uvm_wrap(err, "image config %s", config);
	if (layers_json)
		return roots_from_index(layers_json, layers, img->nlayers, img, err);
	return roots_by_building(layers, img->nlayers, img, err);
}

void gen_image_free(struct gen_image *img)
{
	json_free(img->doc);
	img->doc = NULL;
}
