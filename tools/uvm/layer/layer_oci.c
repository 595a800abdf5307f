/* OCI image layout reader; see layer_oci.h. Spec: opencontainers/image-spec
 * image-layout.md, image-index.md, manifest.md, layer.md. Unknown keys are
 * allowed (the spec reserves them for extensions); what we use is checked. */
#include "layer_oci.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"

#define META_MAX (4u << 20) /* index.json and manifests */

#define MT_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"

static const struct {
	const char *media_type;
	enum layer_compression comp;
} layer_types[] = {
	{"application/vnd.oci.image.layer.v1.tar", LAYER_PLAIN},
	{"application/vnd.oci.image.layer.v1.tar+gzip", LAYER_GZIP},
	{"application/vnd.docker.image.rootfs.diff.tar.gzip", LAYER_GZIP},
};

static char *read_small(const char *path, size_t *len, struct uvm_err *err)
{
	struct stat s;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		uvm_fail(err, errno, "open %s: %s", path, strerror(errno));
		return NULL;
	}
	char *buf = NULL;
	if (fstat(fd, &s) < 0 || !S_ISREG(s.st_mode) || s.st_size > META_MAX) {
		uvm_fail(err, EINVAL, "%s: not a regular file of at most %u bytes", path, META_MAX);
	} else if (!(buf = malloc((size_t)s.st_size + 1))) {
		uvm_fail(err, ENOMEM, "out of memory");
	} else if (read(fd, buf, (size_t)s.st_size) != (ssize_t)s.st_size) {
		uvm_fail(err, EIO, "read %s: short read", path);
		free(buf);
		buf = NULL;
	} else {
		*len = (size_t)s.st_size;
		buf[*len] = 0;
	}
	close(fd);
	return buf;
}

/* Checks a descriptor's digest and size and gives the blob's path. */
static int descriptor_blob(const char *dir, const struct json_value *desc, char *digest, char *path, size_t path_len,
			   struct uvm_err *err)
{
	size_t dlen;
	uint64_t size;
	struct stat s;
	const char *d = json_str(json_get(desc, "digest"), &dlen);
	if (!d || dlen != LAYER_DIGEST_LEN || strncmp(d, "sha256:", 7) != 0 || strspn(d + 7, "0123456789abcdef") != 64)
		return json_fail_at(desc, err, "digest missing or not sha256:<64 lowercase hex>");
	if (json_uint64(json_get(desc, "size"), &size) < 0)
		return json_fail_at(desc, err, "size missing or not a non-negative integer");
	if (snprintf(path, path_len, "%s/blobs/sha256/%s", dir, d + 7) >= (int)path_len)
		return uvm_fail(err, ENAMETOOLONG, "layout path too long");
	if (stat(path, &s) < 0 || !S_ISREG(s.st_mode))
		return uvm_fail(err, ENOENT, "blob %s: missing or not a regular file", path);
	if ((uint64_t)s.st_size != size)
		return uvm_fail(err, EINVAL, "blob %s: %lld bytes, its descriptor says %llu", path,
				(long long)s.st_size, (unsigned long long)size);
	char got[LAYER_DIGEST_LEN + 1];
	if (layer_file_digest(path, got, err) < 0)
		return -1;
	if (strcmp(got, d) != 0)
		return uvm_fail(err, EINVAL, "blob %s: content digest %s does not match its name", path, got);
	memcpy(digest, d, LAYER_DIGEST_LEN + 1);
	return 0;
}

static int is_amd64(const struct json_value *desc)
{
	const struct json_value *p = json_get(desc, "platform");
	const char *os = json_str(json_get(p, "os"), NULL);
	const char *arch = json_str(json_get(p, "architecture"), NULL);
	return os && arch && strcmp(os, "linux") == 0 && strcmp(arch, "amd64") == 0;
}

/* The one manifest descriptor to use from an index. */
static const struct json_value *pick_manifest(const struct json_value *index, struct uvm_err *err)
{
	const struct json_value *ms = json_get(index, "manifests");
	if (json_type(ms) != JSON_ARRAY || json_len(ms) == 0) {
		json_fail_at(index, err, "no \"manifests\" array");
		return NULL;
	}
	if (json_len(ms) == 1)
		return json_at(ms, 0);
	const struct json_value *found = NULL;
	for (size_t i = 0; i < json_len(ms); i++) {
		if (!is_amd64(json_at(ms, i)))
			continue;
		if (found) {
			json_fail_at(ms, err,
				     "several linux/amd64 manifests; copy one image "
				     "(skopeo copy docker://IMAGE oci:DIR:TAG)");
			return NULL;
		}
		found = json_at(ms, i);
	}
	if (!found)
		json_fail_at(ms, err, "%zu manifests and none for linux/amd64", json_len(ms));
	return found;
}

/* Where follow() puts what it finds; config may be NULL (not wanted). */
struct oci_out {
	struct oci_layer *layers;
	size_t *n;
	char *config;
	size_t config_len;
};

/* The manifest's config descriptor -> the config blob's checked path. */
static int read_config(const char *dir, const struct json_value *man, const struct oci_out *o, struct uvm_err *err)
{
	char digest[LAYER_DIGEST_LEN + 1];
	const struct json_value *c = json_get(man, "config");
	const char *mt = json_str(json_get(c, "mediaType"), NULL);
	if (json_type(c) != JSON_OBJECT)
		return json_fail_at(man, err, "no \"config\" descriptor in the manifest");
	if (!mt || (strcmp(mt, MT_CONFIG) != 0 && strcmp(mt, MT_DOCKER_CONFIG) != 0))
		return json_fail_at(c, err, "config media type '%.100s' is not an image config", mt ? mt : "(missing)");
	return descriptor_blob(dir, c, digest, o->config, o->config_len, err);
}

static int read_layers(const char *dir, const struct json_value *man, struct oci_layer *layers, size_t *n,
		       struct uvm_err *err)
{
	const struct json_value *ls = json_get(man, "layers");
	if (json_type(ls) != JSON_ARRAY || json_len(ls) == 0)
		return json_fail_at(man, err, "no \"layers\" array in the manifest");
	if (json_len(ls) > OCI_MAX_LAYERS)
		return json_fail_at(ls, err, "%zu layers, at most %d", json_len(ls), OCI_MAX_LAYERS);
	for (size_t i = 0; i < json_len(ls); i++) {
		const struct json_value *l = json_at(ls, i);
		const char *mt = json_str(json_get(l, "mediaType"), NULL);
		size_t t;
		for (t = 0; mt && t < sizeof layer_types / sizeof layer_types[0]; t++)
			if (strcmp(mt, layer_types[t].media_type) == 0)
				break;
		if (!mt || t == sizeof layer_types / sizeof layer_types[0])
			return json_fail_at(l, err,
					    "layer media type '%.100s' is not supported "
					    "(plain or gzip tar only)",
					    mt ? mt : "(missing)");
		layers[i].comp = layer_types[t].comp;
		if (descriptor_blob(dir, l, layers[i].digest, layers[i].blob, sizeof layers[i].blob, err) < 0)
			return -1;
	}
	*n = json_len(ls);
	return 0;
}

/* Loads a JSON document (a blob named by desc, or index.json if desc is
 * NULL) and follows it down to the layers. depth bounds nested indexes. */
static int follow(const char *dir, const struct json_value *desc, int depth, const struct oci_out *o,
		  struct uvm_err *err)
{
	char path[4096], digest[LAYER_DIGEST_LEN + 1];
	const char *mt = desc ? json_str(json_get(desc, "mediaType"), NULL) : MT_INDEX;
	if (depth > 2)
		return uvm_fail(err, ELOOP, "indexes nested too deeply");
	if (!mt || (strcmp(mt, MT_INDEX) && strcmp(mt, MT_MANIFEST) && strcmp(mt, MT_DOCKER_MANIFEST)))
		return json_fail_at(desc, err,
				    "media type '%.100s' is not an image index or "
				    "manifest",
				    mt ? mt : "(missing)");
	if (!desc)
		snprintf(path, sizeof path, "%s/index.json", dir);
	else if (descriptor_blob(dir, desc, digest, path, sizeof path, err) < 0)
		return -1;
	size_t len;
	char *text = read_small(path, &len, err);
	if (!text)
		return -1;
	struct json_doc *doc;
	const struct json_value *root = json_parse(text, len, META_MAX, &doc, err);
	int r = -1;
	if (!root) {
		uvm_wrap(err, "%s", path);
	} else if (strcmp(mt, MT_INDEX) == 0) {
		const struct json_value *m = pick_manifest(root, err);
		r = m ? follow(dir, m, depth + 1, o, err) : uvm_wrap(err, "%s", path);
	} else {
		r = read_layers(dir, root, o->layers, o->n, err);
		if (r == 0 && o->config)
			r = read_config(dir, root, o, err);
		if (r < 0)
			uvm_wrap(err, "%s", path);
	}
	json_free(doc);
	free(text);
	return r;
}

int oci_read_layers(const char *dir, struct oci_layer *layers, size_t *n, struct uvm_err *err)
{
	return oci_read_image(dir, layers, n, NULL, 0, err);
}

int oci_read_image(const char *dir, struct oci_layer *layers, size_t *n, char *config, size_t config_len,
		   struct uvm_err *err)
{
	const struct oci_out o = {layers, n, config, config_len};
	char path[4096];
	size_t len;
	*n = 0;
	/* oci-layout marks the directory as a layout; version 1.0.0 is the only one. */
	if (snprintf(path, sizeof path, "%s/oci-layout", dir) >= (int)sizeof path)
		return uvm_fail(err, ENAMETOOLONG, "layout path too long");
	char *text = read_small(path, &len, err);
	if (!text)
		return uvm_wrap(err, "%s is not an OCI image layout", dir);
	int ok = strstr(text, "\"1.0.0\"") != NULL;
	free(text);
	if (!ok)
		return uvm_fail(err, EINVAL, "%s: imageLayoutVersion is not 1.0.0", path);
	return follow(dir, NULL, 0, &o, err);
}

int oci_image_ref(const char *dir, char *out, size_t size, struct uvm_err *err)
{
	char path[4096];
	size_t len;
	out[0] = '\0';
	if (snprintf(path, sizeof path, "%s/index.json", dir) >= (int)sizeof path)
		return uvm_fail(err, ENAMETOOLONG, "layout path too long");
	char *text = read_small(path, &len, err);
	if (!text)
		return -1;
	struct json_doc *doc;
	const struct json_value *root = json_parse(text, len, META_MAX, &doc, err);
	const struct json_value *m = root ? pick_manifest(root, err) : NULL;
	int r = m ? 0 : uvm_wrap(err, "%s", path);
	size_t n = 0;
	const char *ref = json_str(json_get(json_get(m, "annotations"), "org.opencontainers.image.ref.name"), &n);
	if (ref && n < size)
		memcpy(out, ref, n + 1);
	json_free(doc);
	free(text);
	return r;
}
