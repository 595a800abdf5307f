/* `uvm policy gen`: inputs and output (see policy_gen.h); cmd_policy.c parses
 * the command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file_util.h"
#include "layer_oci.h"
#include "policy_gen.h"

static int valid_name(const char *s)
{
	size_t n = strlen(s);
	return n >= 1 && n <= 128 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n &&
	       strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

/* The name of image i: its --name; with several images, else its
 * layout's ref name annotation (if it is an id: [A-Za-z0-9._-]{1,128}),
 * else "container<i>"; one image without --name: NULL ("container"). */
static int image_name(const struct gen_args *a, size_t i, char *buf, size_t size, const char **out, struct uvm_err *err)
{
	*out = a->names[i];
	if (*out || a->nimages == 1)
		return 0;
	if (oci_image_ref(a->images[i], buf, size, err) < 0)
		return -1;
	if (!valid_name(buf))
		snprintf(buf, size, "container%zu", i);
	*out = buf;
	return 0;
}

/* The compact policy for the arguments, or NULL (message printed). */
static char *generate(const struct gen_args *a)
{
	static struct gen_image imgs[GEN_MAX_IMAGES];
	static char names[GEN_MAX_IMAGES][256];
	struct uvm_err err = {0, ""};
	struct file_buf buf = {NULL, 0};
	struct json_doc *doc = NULL;
	const struct json_value *over = NULL;
	char *json = NULL;
	size_t n = 0;
	if (a->config && file_read_all(a->config, GEN_CONFIG_MAX, &buf, &err) == 0 &&
	    !(over = json_parse(buf.data, buf.len, GEN_CONFIG_MAX, &doc, &err)))
		uvm_wrap(&err, "%s", a->config);
	if (a->config && !over) {
		fprintf(stderr, "uvm policy gen: --config: %s\n", err.msg);
		file_buf_free(&buf);
		return NULL;
	}
	for (; n < a->nimages; n++) {
		const char *name;
		if (image_name(a, n, names[n], sizeof names[n], &name, &err) < 0 ||
		    gen_image_read(a->images[n], a->layers, &imgs[n], &err) < 0) {
			fprintf(stderr, "uvm policy gen: image %s: %s\n", a->images[n], err.msg);
			break;
		}
		imgs[n].name = name;
	}
	if (n == a->nimages && !(json = gen_policy_json(imgs, n, over, &err)))
		fprintf(stderr, "uvm policy gen: %s%s: %s\n", n > 1 ? "images" : "image ", n > 1 ? "" : a->images[0],
			err.msg);
	for (size_t i = 0; i < n; i++)
		gen_image_free(&imgs[i]);
	json_free(doc);
	file_buf_free(&buf);
	return json;
}

struct text {
	const char *s;
	size_t len;
};

static int write_text(FILE *f, void *ctx, struct uvm_err *err)
{
	const struct text *t = ctx;
	(void)err;
	return fwrite(t->s, 1, t->len, f) == t->len ? 0 : -1;
}

int policy_gen_run(const struct gen_args *a)
{
	struct uvm_err err = {0, ""};
	size_t len;
	char *json = generate(a);
	char *text = json ? gen_pretty(json, strlen(json), &len, &err) : NULL;
	int rc = text ? 0 : 1;
	if (json && !text)
		fprintf(stderr, "uvm policy gen: %s\n", err.msg);
	if (text && a->out) {
		struct text t = {text, len};
		if (file_write_atomic(a->out, write_text, &t, &err) < 0) {
			fprintf(stderr, "uvm policy gen: write %s: %s\n", a->out, err.msg);
			rc = 1;
		}
	} else if (text && (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0)) {
		fprintf(stderr, "uvm policy gen: write to stdout failed\n");
		rc = 1;
	}
	free(text);
	free(json);
	return rc;
}
