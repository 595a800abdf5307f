/* The policy of a run (docs/sandbox.md, step 2): the tenant's file, or the
 * one `uvm policy gen --image` would write for the image (the same code:
 * policy_gen.h), with ARGS as its argv. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file_util.h"
#include "policy.h"
#include "policy_gen.h"
#include "run.h"

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

/* {"argv": ARGS} as `uvm policy gen --config` reads it. */
static int args_overrides(const struct run_opts *o, struct json_doc **doc, const struct json_value **v,
			  struct uvm_err *err)
{
	struct json_writer w;
	size_t len;
	*v = NULL;
	if (!o->nargs)
		return 0;
	json_writer_init(&w, GEN_CONFIG_MAX);
	json_w_obj(&w);
	json_w_key(&w, "argv");
	json_w_arr(&w);
	for (size_t i = 0; i < o->nargs; i++)
		json_w_cstr(&w, o->args[i]);
	json_w_end(&w);
	json_w_end(&w);
	char *s = json_writer_finish(&w, &len);
	if (!s)
		return uvm_fail(err, E2BIG, "ARGS do not fit in %u bytes", GEN_CONFIG_MAX);
	*v = json_parse(s, len, GEN_CONFIG_MAX, doc, err);
	free(s);
	return *v ? 0 : -1;
}

static int generate(const struct run_opts *o, const char *layers_json, struct run_policy *p, struct uvm_err *err)
{
	struct gen_image img;
	struct json_doc *odoc = NULL;
	const struct json_value *over;
	char *json = NULL;
	int r = -1;
	if (args_overrides(o, &odoc, &over, err) < 0)
		return -1;
	if (gen_image_read(o->image, layers_json, &img, err) == 0 && (json = gen_policy_json(&img, 1, over, err)))
		p->bytes = gen_pretty(json, strlen(json), &p->len, err);
	gen_image_free(&img);
	json_free(odoc);
	free(json);
	if (!p->bytes)
		return uvm_wrap(err, "generating the policy for --image %s", o->image);
	struct text t = {p->bytes, p->len};
	r = file_write_atomic(p->path, write_text, &t, err);
	return r < 0 ? uvm_wrap(err, "write %s", p->path) : 0;
}

int run_policy_load(const struct run_opts *o, const char *layers_json, const char *work_dir, struct run_policy *p,
		    struct uvm_err *err)
{
	struct policy *pol = NULL;
	memset(p, 0, sizeof *p);
	if (o->policy) {
		struct file_buf buf;
		if (file_read_all(o->policy, POLICY_MAX_BYTES, &buf, err) < 0)
			return uvm_wrap(err, "--policy");
		p->bytes = buf.data;
		p->len = buf.len;
		snprintf(p->path, sizeof p->path, "%s", o->policy);
	} else {
		if (snprintf(p->path, sizeof p->path, "%s/policy.json", work_dir) >= (int)sizeof p->path)
			return uvm_fail(err, ENAMETOOLONG, "--work-dir path too long");
		if (generate(o, layers_json, p, err) < 0)
			return -1;
	}
	if (policy_load(p->bytes, p->len, &pol, err) < 0) {
		run_policy_free(p);
		return uvm_wrap(err, "--policy %s is not a valid policy (check it with `uvm policy check`)",
				o->policy ? o->policy : "(generated)");
	}
	policy_free(pol);
	p->root = json_parse(p->bytes, p->len, POLICY_MAX_BYTES, &p->doc, err);
	if (!p->root) {
		run_policy_free(p);
		return uvm_wrap(err, "--policy");
	}
	return 0;
}

void run_policy_free(struct run_policy *p)
{
	json_free(p->doc);
	free(p->bytes);
	p->doc = NULL;
	p->bytes = NULL;
	p->root = NULL;
}
