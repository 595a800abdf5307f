/* `uvm policy gen`: inputs and output (see policy_gen.h); cmd_policy.c parses
 * the command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file_util.h"
#include "policy_gen.h"

/* The compact policy for the arguments, or NULL (message printed). */
static char *generate(const struct gen_args *a)
{
	struct uvm_err err = {0, ""};
	struct gen_image img;
	struct file_buf buf = {NULL, 0};
	struct json_doc *doc = NULL;
	const struct json_value *over = NULL;
	char *json = NULL;
	if (a->config && file_read_all(a->config, GEN_CONFIG_MAX, &buf, &err) == 0 &&
	    !(over = json_parse(buf.data, buf.len, GEN_CONFIG_MAX, &doc, &err)))
		uvm_wrap(&err, "%s", a->config);
	if (a->config && !over) {
		fprintf(stderr, "uvm policy gen: --config: %s\n", err.msg);
		file_buf_free(&buf);
		return NULL;
	}
	if (gen_image_read(a->image, a->layers, &img, &err) < 0)
		fprintf(stderr, "uvm policy gen: image %s: %s\n", a->image, err.msg);
	else if (!(json = gen_policy_json(&img, over, &err)))
		fprintf(stderr, "uvm policy gen: image %s: %s\n", a->image, err.msg);
	gen_image_free(&img);
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
