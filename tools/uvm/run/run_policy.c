/* The policy side of `uvm run` (docs/sandbox.md, steps 2 and 5): which
 * policy container this run is, and the create request built from that
 * container's own fields, so the host restates nothing by hand. Pure: JSON
 * in, JSON out (tests/unit/test_run_policy.c). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_copy.h"
#include "run.h"

#define CREATE_MAX (1u << 20)

/* Does the JSON array of strings a equal args? */
static int argv_equal(const struct json_value *a, char *const *args, size_t nargs)
{
	if (json_type(a) != JSON_ARRAY || json_len(a) != nargs)
		return 0;
	for (size_t i = 0; i < nargs; i++) {
		const char *s = json_str(json_at(a, i), NULL);
		if (!s || strcmp(s, args[i]) != 0)
			return 0;
	}
	return 1;
}

static int layers_equal(const struct json_value *a, const char *const *roots, size_t n)
{
	if (json_type(a) != JSON_ARRAY || json_len(a) != n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const char *s = json_str(json_at(a, i), NULL);
		if (!s || strcmp(s, roots[i]) != 0)
			return 0;
	}
	return 1;
}

static const char *name_of(const struct json_value *c)
{
	const char *s = json_str(json_get(c, "name"), NULL);
	return s ? s : "";
}

/* Appends to buf (bounded, always terminated). */
static void cat(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void cat(char *buf, size_t size, const char *fmt, ...)
{
	size_t used = strlen(buf);
	if (used + 1 >= size)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + used, size - used, fmt, ap);
	va_end(ap);
}

/* "[r0, r1]" of the image, then what the policy lists, as far as it fits. */
static int no_match(const struct json_value *cs, const char *const *roots, size_t nroots, const char *why,
		    struct uvm_err *err)
{
	char msg[UVM_ERR_MAX];
	msg[0] = '\0';
	cat(msg, sizeof msg, "%s: the image's layers have root hashes [", why);
	for (size_t i = 0; i < nroots; i++)
		cat(msg, sizeof msg, "%s%s", i ? ", " : "", roots[i]);
	cat(msg, sizeof msg, "]; the policy lists");
	for (size_t i = 0; i < json_len(cs); i++) {
		const struct json_value *l = json_get(json_at(cs, i), "layers");
		cat(msg, sizeof msg, "%s container %zu '%.40s' [", i ? ";" : "", i, name_of(json_at(cs, i)));
		for (size_t j = 0; j < json_len(l); j++)
			cat(msg, sizeof msg, "%s%.12s...", j ? ", " : "", json_str(json_at(l, j), NULL));
		cat(msg, sizeof msg, "]");
	}
	if (json_len(cs) == 0)
		cat(msg, sizeof msg, " no containers");
	return uvm_fail(err, ENOENT, "%s", msg);
}

int run_policy_choose(const struct json_value *policy, const char *const *roots, size_t nroots, const char *name,
		      char *const *args, size_t nargs, size_t *index, struct uvm_err *err)
{
	const struct json_value *cs = json_get(policy, "containers");
	size_t found = 0, pick = 0, by_layers = 0;
	if (json_type(cs) != JSON_ARRAY)
		return uvm_fail(err, EINVAL, "the policy has no \"containers\" array");
	for (size_t i = 0; i < json_len(cs); i++) {
		const struct json_value *c = json_at(cs, i);
		if (!layers_equal(json_get(c, "layers"), roots, nroots))
			continue;
		by_layers++;
		if (name && strcmp(name_of(c), name) != 0)
			continue;
		found++;
		pick = found == 1 ? i : pick;
	}
	if (by_layers == 0)
		return no_match(cs, roots, nroots, "no container of the policy has this image's layers", err);
	if (found == 0)
		return uvm_fail(err, ENOENT,
				"--container %.100s: none of the %zu policy containers with this image's layers "
				"has that name",
				name, by_layers);
	if (found > 1 && nargs) {
		/* Several: the one whose argv is ARGS, if exactly one is. */
		size_t same = 0;
		for (size_t i = 0; i < json_len(cs); i++) {
			const struct json_value *c = json_at(cs, i);
			if (layers_equal(json_get(c, "layers"), roots, nroots) &&
			    (!name || !strcmp(name_of(c), name)) && argv_equal(json_get(c, "argv"), args, nargs)) {
				same++;
				pick = same == 1 ? i : pick;
			}
		}
		if (same == 1)
			found = 1;
	}
	if (found > 1) {
		char names[300] = "";
		for (size_t i = 0; i < json_len(cs); i++) {
			const struct json_value *c = json_at(cs, i);
			if (layers_equal(json_get(c, "layers"), roots, nroots))
				cat(names, sizeof names, "%s%zu '%.40s'", names[0] ? ", " : "", i, name_of(c));
		}
		return uvm_fail(err, EINVAL,
				"%zu policy containers have this image's layers (%s): choose one with --container "
				"NAME%s",
				found, names, nargs ? "" : " or by its argv (-- ARGS)");
	}
	*index = pick;
	return 0;
}

/* ------------------------------------------------------------ the create request */

static int valid_id(const char *s)
{
	size_t n = strlen(s);
	return n >= 1 && n <= 128 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n &&
	       strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

/* The env rules given as strings (strategy "string" or absent): their
 * values. A required regex rule has no value uvm run could choose. */
static int write_env(struct json_writer *w, const struct json_value *c, size_t index, struct uvm_err *err)
{
	const struct json_value *env = json_get(c, "env");
	json_w_arr(w);
	for (size_t i = 0; i < json_len(env); i++) {
		const struct json_value *e = json_at(env, i);
		const char *strategy = json_str(json_get(e, "strategy"), NULL);
		int required = 0;
		json_bool(json_get(e, "required"), &required);
		if (!strategy || strcmp(strategy, "string") == 0) {
			json_w_value(w, json_get(e, "rule"));
			continue;
		}
		if (required)
			return uvm_fail(err, EINVAL,
					"$.containers[%zu].env[%zu] is a required %s rule: uvm run cannot choose a "
					"value for it (give the variable as a \"string\" rule)",
					index, i, strategy);
	}
	json_w_end(w);
	return 0;
}

/* The policy's mounts with exact sources, in its order; a required mount
 * whose source is a regex cannot be restated. */
static int write_mounts(struct json_writer *w, const struct json_value *c, size_t index, struct uvm_err *err)
{
	const struct json_value *ms = json_get(c, "mounts");
	json_w_arr(w);
	for (size_t i = 0; i < json_len(ms); i++) {
		const struct json_value *m = json_at(ms, i);
		const char *strategy = json_str(json_get(m, "source_strategy"), NULL);
		int optional = 0;
		json_bool(json_get(m, "optional"), &optional);
		if (strategy && strcmp(strategy, "string") != 0) {
			if (optional)
				continue;
			return uvm_fail(err, EINVAL,
					"$.containers[%zu].mounts[%zu] has a %s source: uvm run cannot choose one "
					"(give the source as a string, or make the mount optional)",
					index, i, strategy);
		}
		json_w_obj(w);
		json_w_key(w, "source");
		json_w_value(w, json_get(m, "source"));
		json_w_key(w, "destination");
		json_w_value(w, json_get(m, "destination"));
		json_w_key(w, "type");
		json_w_value(w, json_get(m, "type"));
		json_w_key(w, "options");
		if (json_get(m, "options"))
			json_w_value(w, json_get(m, "options"));
		else {
			json_w_arr(w);
			json_w_end(w);
		}
		json_w_end(w);
	}
	json_w_end(w);
	return 0;
}

static int write_user(struct json_writer *w, const struct json_value *c, size_t index, struct uvm_err *err)
{
	const struct json_value *u = json_get(c, "user");
	if (!json_get(u, "uid") || !json_get(u, "gid"))
		return uvm_fail(err, EINVAL,
				"$.containers[%zu].user names the %s by name: uvm run does not read the image's "
				"/etc/passwd to find the numeric ids the guest will check; give \"uid\" and \"gid\" "
				"in the policy",
				index, json_get(u, "uid") ? "group" : "user");
	json_w_obj(w);
	json_w_key(w, "uid");
	json_w_value(w, json_get(u, "uid"));
	json_w_key(w, "gid");
	json_w_value(w, json_get(u, "gid"));
	json_w_key(w, "umask");
	json_w_value(w, json_get(u, "umask"));
	json_w_end(w);
	return 0;
}

static void write_resources(struct json_writer *w, const struct json_value *c)
{
	const struct json_value *res = json_get(c, "resources");
	if (!json_get(res, "memory_max") && !json_get(res, "pids_max"))
		return;
	json_w_key(w, "resources");
	json_w_obj(w);
	if (json_get(res, "memory_max")) {
		json_w_key(w, "memory_max");
		json_w_value(w, json_get(res, "memory_max"));
	}
	if (json_get(res, "pids_max")) {
		json_w_key(w, "pids_max");
		json_w_value(w, json_get(res, "pids_max"));
	}
	json_w_end(w);
}

static int write_create(struct json_writer *w, const struct json_value *c, size_t index, char *const *args,
			size_t nargs, struct run_create *out, struct uvm_err *err)
{
	int flag = 0;
	json_w_obj(w);
	json_w_key(w, "container_id");
	json_w_cstr(w, out->container_id);
	json_w_key(w, "argv");
	if (nargs) {
		json_w_arr(w);
		for (size_t i = 0; i < nargs; i++)
			json_w_cstr(w, args[i]);
		json_w_end(w);
	} else
		json_w_value(w, json_get(c, "argv"));
	json_w_key(w, "env");
	if (write_env(w, c, index, err) < 0)
		return -1;
	json_w_key(w, "working_dir");
	json_w_value(w, json_get(c, "working_dir"));
	if (json_len(json_get(c, "mounts"))) {
		json_w_key(w, "mounts");
		if (write_mounts(w, c, index, err) < 0)
			return -1;
	}
	json_w_key(w, "user");
	if (write_user(w, c, index, err) < 0)
		return -1;
	json_w_key(w, "capabilities");
	json_w_value(w, json_get(c, "capabilities"));
	if (json_bool(json_get(c, "no_new_privileges"), &flag) == 0 && flag) {
		json_w_key(w, "no_new_privileges");
		json_w_bool(w, 1);
	}
	flag = 0;
	if (json_bool(json_get(c, "allow_stdio_access"), &flag) == 0 && flag) {
		json_w_key(w, "stdio");
		json_w_bool(w, 1);
		out->stdio = 1;
	}
	if (json_get(c, "seccomp")) {
		json_w_key(w, "seccomp");
		json_w_value(w, json_get(c, "seccomp"));
	}
	write_resources(w, c);
	json_w_end(w);
	return 0;
}

int run_create_build(const struct json_value *c, size_t index, char *const *args, size_t nargs, struct run_create *out,
		     struct uvm_err *err)
{
	struct json_writer w;
	size_t len;
	memset(out, 0, sizeof *out);
	out->index = index;
	snprintf(out->name, sizeof out->name, "%s", name_of(c));
	if (valid_id(out->name)) /* at most 128 bytes */
		memcpy(out->container_id, out->name, strlen(out->name) + 1);
	else
		strcpy(out->container_id, "container");
	const char *wd = json_str(json_get(c, "working_dir"), NULL);
	if (json_type(c) != JSON_OBJECT || !wd || json_type(json_get(c, "argv")) != JSON_ARRAY ||
	    json_type(json_get(c, "capabilities")) != JSON_OBJECT || json_type(json_get(c, "user")) != JSON_OBJECT)
		return uvm_fail(err, EINVAL,
				"$.containers[%zu] lacks argv, working_dir, user or capabilities (check it with "
				"`uvm policy check`)",
				index);
	snprintf(out->working_dir, sizeof out->working_dir, "%s", wd);
	json_writer_init(&w, CREATE_MAX);
	if (write_create(&w, c, index, args, nargs, out, err) < 0) {
		json_writer_free(&w);
		return -1;
	}
	out->args = json_writer_finish(&w, &len);
	json_writer_init(&w, CREATE_MAX);
	if (out->args && write_env(&w, c, index, err) == 0)
		out->env = json_writer_finish(&w, &len);
	else
		json_writer_free(&w);
	if (!out->args || !out->env) {
		run_create_free(out);
		return uvm_fail(err, ENOMEM, "the create request does not fit in %u bytes (or out of memory)",
				CREATE_MAX);
	}
	return 0;
}

void run_create_free(struct run_create *c)
{
	free(c->args);
	free(c->env);
	c->args = c->env = NULL;
}
