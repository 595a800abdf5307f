/* The policy `uvm policy gen` writes (see policy_gen.h and docs/policy.md
 * "Generating a policy"): one container from the image with defaults that
 * allow only what running the image needs, the overrides on top, keys in a
 * fixed order, then checked by the engine's own loader. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "json_copy.h"
#include "policy.h"
#include "policy_gen.h"

#define GEN_MAX_BYTES POLICY_MAX_BYTES

static const char *const framework_flags[] = {"allow_properties_access",   "allow_dump_stacks",
					      "allow_runtime_logging",     "allow_environment_variable_dropping",
					      "allow_unencrypted_scratch", "allow_capability_dropping"};
#define NFLAGS (sizeof framework_flags / sizeof framework_flags[0])

/* Docker's default set (moby oci/caps/defaults.go) without CAP_MKNOD
 * (device nodes open the guest's devices), CAP_NET_RAW (raw and packet
 * sockets: spoofing, sniffing) and CAP_AUDIT_WRITE (the guest kernel has no
 * audit): Podman's default set. Why each is dropped: docs/policy.md. */
static const char *const default_caps[] = {
	"CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",     "CAP_SETGID", "CAP_SETUID",
	"CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL"};

/* Signals the host may send the init process by default: SIGTERM, SIGKILL
 * (what a runtime's stop needs). */
static const int default_signals[] = {15, 9};

static int check_overrides(const struct json_value *o, struct uvm_err *err)
{
	static const struct json_field f[] = {{"name", JSON_T_STRING, 0},
					      {"argv", JSON_T_ARRAY, 0},
					      {"env", JSON_T_ARRAY, 0},
					      {"working_dir", JSON_T_STRING, 0},
					      {"user", JSON_T_OBJECT, 0},
					      {"capabilities", JSON_T_OBJECT, 0},
					      {"mounts", JSON_T_ARRAY, 0},
					      {"signals", JSON_T_ARRAY, 0},
					      {"exec_processes", JSON_T_ARRAY, 0},
					      {"no_new_privileges", JSON_T_BOOL, 0},
					      {"allow_stdio_access", JSON_T_BOOL, 0},
					      {"framework", JSON_T_OBJECT, 0}};
	struct json_field ff[NFLAGS];
	if (json_check_object(o, f, sizeof f / sizeof f[0], err) < 0)
		return -1;
	for (size_t i = 0; i < NFLAGS; i++)
		ff[i] = (struct json_field){framework_flags[i], JSON_T_BOOL, 0};
	const struct json_value *fw = json_get(o, "framework");
	return fw ? json_check_object(fw, ff, NFLAGS, err) : 0;
}

/* A uid or gid as the image's User field gives it: decimal, < 2^32 - 1. */
static int numeric_id(const char *s, size_t len, int64_t *out)
{
	if (len == 0 || len > 10 || strspn(s, "0123456789") < len)
		return 0;
	int64_t v = 0;
	for (size_t i = 0; i < len; i++)
		v = v * 10 + (s[i] - '0');
	*out = v;
	return v <= (int64_t)UINT32_MAX - 1;
}

/* User "" | "uid" | "name" followed by an optional ":gid" | ":group".
 * Names are kept (the request carries them; the image's /etc/passwd is not
 * read), so a name needs an explicit group. *root is set for uid 0/root. */
static int write_user(struct json_writer *w, const char *user, int *root, struct uvm_err *err)
{
	const char *colon = strchr(user, ':');
	size_t ulen = colon ? (size_t)(colon - user) : strlen(user);
	const char *group = colon ? colon + 1 : NULL;
	int64_t id;
	*root = ulen == 0 || (ulen == 4 && strncmp(user, "root", 4) == 0) || (numeric_id(user, ulen, &id) && id == 0);
	if ((ulen == 0 && *user) || (group && !*group) || (group && strchr(group, ':')))
		return uvm_fail(err, EINVAL, "image config User '%.100s' is not user[:group]", user);
	json_w_obj(w);
	if (ulen == 0) {
		json_w_key(w, "uid");
		json_w_int(w, 0);
	} else if (numeric_id(user, ulen, &id)) {
		json_w_key(w, "uid");
		json_w_int(w, id);
	} else {
		json_w_key(w, "name");
		json_w_str(w, user, ulen);
	}
	if (!group && ulen && !numeric_id(user, ulen, &id))
		return uvm_fail(err, EINVAL,
				"image config User '%.100s' is a name without a group "
				"and uvm does not read the image's /etc/passwd: give \"user\" in "
				"--config, e.g. {\"name\": \"%.100s\", \"group\": \"%.100s\", "
				"\"umask\": \"0022\"}",
				user, user, user);
	if (!group || numeric_id(group, strlen(group), &id)) {
		json_w_key(w, "gid");
		json_w_int(w, group ? id : 0); /* no group: 0, as runtimes do without passwd */
	} else {
		json_w_key(w, "group");
		json_w_cstr(w, group);
	}
	json_w_key(w, "umask");
	json_w_cstr(w, "0022");
	json_w_end(w);
	return 0;
}

/* As Docker and runc do: root gets the set as bounding, effective and
 * permitted; any other user only as bounding, so that a binary with file
 * capabilities within the set (cap_net_bind_service+ep) gains them at
 * execve instead of failing with EPERM. Inheritable and ambient stay empty
 * (runc's default spec has no inheritable set). */
static void write_caps(struct json_writer *w, int root)
{
	static const char *const sets[] = {"bounding", "effective", "inheritable", "permitted", "ambient"};
	json_w_obj(w);
	for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++) {
		int give = s == 0 || (root && (s == 1 || s == 3));
		json_w_key(w, sets[s]);
		json_w_arr(w);
		for (size_t i = 0; give && i < sizeof default_caps / sizeof default_caps[0]; i++)
			json_w_cstr(w, default_caps[i]);
		json_w_end(w);
	}
	json_w_end(w);
}

static void write_strs(struct json_writer *w, const struct json_value *a)
{
	for (size_t i = 0; i < json_len(a); i++) {
		size_t len;
		const char *s = json_str(json_at(a, i), &len);
		json_w_str(w, s, len);
	}
}

/* The image's Env as exact rules, then the overrides' rules as given. */
static int write_env(struct json_writer *w, const struct gen_image *img, const struct json_value *extra,
		     struct uvm_err *err)
{
	json_w_arr(w);
	for (size_t i = 0; i < json_len(img->env); i++) {
		size_t len;
		const char *s = json_str(json_at(img->env, i), &len);
		if (!memchr(s, '=', len) || s[0] == '=')
			return json_fail_at(json_at(img->env, i), err, "image config Env entry is not NAME=VALUE");
		json_w_obj(w);
		json_w_key(w, "rule");
		json_w_str(w, s, len);
		json_w_key(w, "strategy");
		json_w_cstr(w, "string");
		json_w_key(w, "required");
		json_w_bool(w, 0);
		json_w_end(w);
	}
	for (size_t i = 0; i < json_len(extra); i++)
		json_w_value(w, json_at(extra, i));
	json_w_end(w);
	return 0;
}

static void write_argv(struct json_writer *w, const struct gen_image *img)
{
	json_w_arr(w);
	write_strs(w, img->entrypoint); /* Entrypoint + Cmd, as runtimes join them */
	write_strs(w, img->cmd);
	json_w_end(w);
}

static void write_signals(struct json_writer *w)
{
	json_w_arr(w);
	for (size_t i = 0; i < sizeof default_signals / sizeof default_signals[0]; i++)
		json_w_int(w, default_signals[i]);
	json_w_end(w);
}

static void write_empty_array(struct json_writer *w)
{
	json_w_arr(w);
	json_w_end(w);
}

/* Member `key`: the override's value if it has one, else the default. */
#define FIELD(w, o, key, dflt)                             \
	do {                                               \
		json_w_key(w, key);                        \
		if (json_get(o, key))                      \
			json_w_value(w, json_get(o, key)); \
		else                                       \
			dflt;                              \
	} while (0)

static int write_container(struct json_writer *w, const struct gen_image *img, const struct json_value *o,
			   struct uvm_err *err)
{
	char hex[2 * UVM_SHA256_LEN + 1];
	int root = 0;
	if (!json_get(o, "argv") && json_len(img->entrypoint) + json_len(img->cmd) == 0)
		return uvm_fail(err, EINVAL,
				"the image config has no Entrypoint or Cmd: give "
				"\"argv\" in --config");
	json_w_obj(w);
	FIELD(w, o, "name", json_w_cstr(w, img->name ? img->name : "container"));
	json_w_key(w, "layers");
	json_w_arr(w);
	for (size_t i = 0; i < img->nlayers; i++) {
		uvm_hex_encode(img->roots[i], UVM_SHA256_LEN, hex);
		json_w_cstr(w, hex);
	}
	json_w_end(w);
	FIELD(w, o, "argv", write_argv(w, img));
	json_w_key(w, "env");
	if (write_env(w, img, json_get(o, "env"), err) < 0)
		return -1;
	FIELD(w, o, "working_dir", json_w_cstr(w, *img->working_dir ? img->working_dir : "/"));
	FIELD(w, o, "mounts", write_empty_array(w));
	json_w_key(w, "user");
	if (json_get(o, "user"))
		json_w_value(w, json_get(o, "user"));
	else if (write_user(w, img->user, &root, err) < 0)
		return -1;
	FIELD(w, o, "capabilities", write_caps(w, root));
	FIELD(w, o, "no_new_privileges", json_w_bool(w, 1));
	json_w_key(w, "allow_elevated");
	json_w_bool(w, 0);
	FIELD(w, o, "allow_stdio_access", json_w_bool(w, 1));
	FIELD(w, o, "signals", write_signals(w));
	FIELD(w, o, "exec_processes", write_empty_array(w));
	json_w_end(w);
	return 0;
}

static void write_framework(struct json_writer *w, const struct json_value *fw)
{
	json_w_obj(w);
	for (size_t i = 0; i < NFLAGS; i++) {
		int v = 0; /* every flag off unless the overrides turn it on */
		json_bool(json_get(fw, framework_flags[i]), &v);
		json_w_key(w, framework_flags[i]);
		json_w_bool(w, v);
	}
	json_w_end(w);
}

/* Loads the result with the guest's loader: what gen writes always loads. */
static int check_loads(const char *json, size_t len, struct uvm_err *err)
{
	struct policy *pol = NULL;
	int r = policy_load(json, len, &pol, err);
	policy_free(pol);
	return r < 0 ? uvm_wrap(err, "the generated policy is invalid (check the image config "
				     "and the --config overrides)")
		     : 0;
}

char *gen_policy_json(const struct gen_image *imgs, size_t n, const struct json_value *overrides, struct uvm_err *err)
{
	struct json_writer w;
	size_t len;
	if (overrides && check_overrides(overrides, err) < 0) {
		uvm_wrap(err, "--config");
		return NULL;
	}
	if (n > 1 && json_get(overrides, "name")) {
		json_fail_at(json_get(overrides, "name"), err,
			     "with several images --config may not name a container: give --name after each --image");
		uvm_wrap(err, "--config");
		return NULL;
	}
	for (size_t i = 0; n > 1 && i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (!imgs[i].name || !imgs[j].name || strcmp(imgs[i].name, imgs[j].name) == 0) {
				uvm_fail(err, EINVAL,
					 "images %zu and %zu would both be container '%.100s': give --name after "
					 "each --image",
					 j, i, imgs[i].name ? imgs[i].name : "container");
				return NULL;
			}
	json_writer_init(&w, GEN_MAX_BYTES);
	json_w_obj(&w);
	json_w_key(&w, "version");
	json_w_cstr(&w, "1");
	json_w_key(&w, "framework");
	write_framework(&w, json_get(overrides, "framework"));
	json_w_key(&w, "containers");
	json_w_arr(&w);
	for (size_t i = 0; i < n; i++)
		if (write_container(&w, &imgs[i], overrides, err) < 0) {
			json_writer_free(&w);
			if (n > 1)
				uvm_wrap(err, "image %zu", i);
			return NULL;
		}
	json_w_end(&w);
	json_w_key(&w, "external_processes");
	write_empty_array(&w);
	json_w_end(&w);
	char *s = json_writer_finish(&w, &len);
	if (!s)
		uvm_fail(err, ENOMEM, "the policy does not fit in %u bytes (or out of memory)", GEN_MAX_BYTES);
	else if (check_loads(s, len, err) < 0) {
		free(s);
		s = NULL;
	}
	return s;
}
