/* libFuzzer target for the request decoder and the decisions: the input is
 * one request object or an array of them, decided against a fixed policy
 * (tests/data/policy/sample.json with every allow_* flag as given there,
 * plus two containers from layer 4444... with ordered and optional mounts
 * and seccomp values: tests/fuzz/corpus/request/mounts_seccomp.json). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "policy.h"
#include "request.h"

#define MOUNTS_SECCOMP_REST                                                                      \
	"\"argv\":[\"/bin/app\"],\"working_dir\":\"/\",\"user\":{\"uid\":0,\"gid\":0,\"umask\":\"0022\"},"    \
	"\"capabilities\":{\"bounding\":[],\"effective\":[],\"inheritable\":[],\"permitted\":[],\"ambient\":[]}"
#define MOUNTS_SECCOMP                                                                           \
	"{\"name\":\"app\",\"layers\":[\"4444444444444444444444444444444444444444444444444444444444444444\"]," \
	"\"mounts\":[{\"source\":\"tmpfs\",\"destination\":\"/etc\",\"type\":\"tmpfs\",\"options\":[\"ro\"]},"    \
	"{\"source\":\"sandbox:///d/.+\",\"source_strategy\":\"regex\",\"destination\":\"/data\",\"type\":\"bind\"," \
	"\"options\":[\"rbind\"],\"optional\":true},{\"source\":\"sandbox:///d/1\",\"destination\":\"/data\","       \
	"\"type\":\"bind\",\"options\":[\"rbind\"]},{\"source\":\"tmpfs\",\"destination\":\"/run\",\"type\":\"tmpfs\"," \
	"\"options\":[],\"optional\":true}],"                                                            \
	"\"seccomp\":{\"profile\":\"default\",\"allow\":[\"ptrace\"],\"deny\":[\"chmod\",\"fchmod\"]}," MOUNTS_SECCOMP_REST  \
	"},{\"name\":\"app-unconfined\",\"layers\":[\"4444444444444444444444444444444444444444444444444444444444444444\"]," \
	"\"mounts\":[{\"source\":\"tmpfs\",\"destination\":\"/etc\",\"type\":\"tmpfs\",\"options\":[\"ro\"]}],"   \
	"\"seccomp\":{\"profile\":\"unconfined\"}," MOUNTS_SECCOMP_REST "}"

static const char policy_text[] =
	"{\"version\":\"1\",\"framework\":{\"allow_properties_access\":true,\"allow_dump_stacks\":f"
	"alse,\"allow_runtime_logging\":false,\"allow_environment_variable_dropping\":false,\""
	"allow_unencrypted_scratch\":false,\"allow_capability_dropping\":false},\"containers\""
	":[{\"name\":\"web\",\"layers\":[\"11111111111111111111111111111111111111111111111111111"
	"11111111111\",\"2222222222222222222222222222222222222222222222222222222222222222\"]"
	",\"argv\":[\"/bin/web\",\"--port\",\"80\"],\"env\":[{\"rule\":\"PATH=/usr/bin:/bin\"},{\"rule\":"
	"\"PORT=[0-9]+\",\"strategy\":\"regex\",\"required\":true},{\"rule\":\"TERM=xterm\"}],\"workin"
	"g_dir\":\"/srv\",\"mounts\":[{\"source\":\"sandbox:///tmp/data/.+\",\"source_strategy\":\"re"
	"gex\",\"destination\":\"/data\",\"type\":\"bind\",\"options\":[\"rbind\",\"ro\"]}],\"user\":{\"uid"
	"\":1000,\"gid\":1000,\"umask\":\"0022\"},\"capabilities\":{\"bounding\":[\"CAP_NET_BIND_SERV"
	"ICE\",\"CAP_CHOWN\"],\"effective\":[\"CAP_NET_BIND_SERVICE\"],\"inheritable\":[],\"permitt"
	"ed\":[\"CAP_NET_BIND_SERVICE\"],\"ambient\":[]},\"no_new_privileges\":true,\"signals\":[1"
	"5],\"exec_processes\":[{\"argv\":[\"/bin/sh\"],\"signals\":[9]}]},{\"name\":\"web-debug\",\"l"
	"ayers\":[\"1111111111111111111111111111111111111111111111111111111111111111\",\"2222"
	"222222222222222222222222222222222222222222222222222222222222\"],\"argv\":[\"/bin/web"
	"\",\"--port\",\"80\"],\"env\":[{\"rule\":\"PATH=/usr/bin:/bin\"},{\"rule\":\"PORT=[0-9]+\",\"str"
	"ategy\":\"regex\",\"required\":true},{\"rule\":\"DEBUG=1\"}],\"working_dir\":\"/srv\",\"mounts"
	"\":[{\"source\":\"sandbox:///tmp/data/.+\",\"source_strategy\":\"regex\",\"destination\":\"/"
	"data\",\"type\":\"bind\",\"options\":[\"rbind\",\"ro\"]}],\"user\":{\"uid\":1000,\"gid\":1000,\"um"
	"ask\":\"0022\"},\"capabilities\":{\"bounding\":[\"CAP_NET_BIND_SERVICE\",\"CAP_CHOWN\"],\"ef"
	"fective\":[\"CAP_NET_BIND_SERVICE\"],\"inheritable\":[],\"permitted\":[\"CAP_NET_BIND_SE"
	"RVICE\"],\"ambient\":[]},\"no_new_privileges\":true,\"allow_stdio_access\":true,\"signal"
	"s\":[15,2],\"exec_processes\":[{\"argv\":[\"/bin/bash\"],\"signals\":[9,15]}]},{\"name\":\"d"
	"b\",\"layers\":[\"3333333333333333333333333333333333333333333333333333333333333333\"]"
	",\"argv\":[\"/usr/bin/db\"],\"env\":[{\"rule\":\"DB_(HOST|PORT)=.*\",\"strategy\":\"regex\"},{"
	"\"rule\":\"A=1|B=2\",\"strategy\":\"regex\"}],\"working_dir\":\"/\",\"user\":{\"name\":\"postgres"
	"\",\"group\":\"postgres\",\"umask\":\"0077\"},\"capabilities\":{\"bounding\":[],\"effective\":["
	"],\"inheritable\":[],\"permitted\":[],\"ambient\":[]},\"allow_elevated\":true}," MOUNTS_SECCOMP "],\"externa"
	"l_processes\":[{\"argv\":[\"/bin/ls\",\"-l\"],\"env\":[{\"rule\":\"PATH=/bin\"}],\"working_dir"
	"\":\"/\"}]}";

/* Whether flags[0..n) (NULL: none set) are exactly the items the reason
 * lists: list holds, in order, the flagged items' indices (env) or names
 * (capabilities). */
static int flags_are_list(const unsigned char *flags, const struct req_strs *items,
			  const struct json_value *list, int by_index)
{
	size_t listed = 0;
	for (size_t i = 0; i < items->n; i++) {
		const struct json_value *e = json_at(list, listed);
		int64_t at = -1;
		const char *name = by_index ? NULL : json_str(e, NULL);
		if (by_index)
			json_int(json_get(e, "index"), 0, INT64_MAX, &at, NULL);
		int in_list = e && (by_index ? at == (int64_t)i : name && strcmp(name, items->v[i]) == 0);
		if (in_list != (flags && flags[i]))
			return 0;
		listed += in_list;
	}
	return listed == json_len(list) && (listed > 0) == (flags != NULL);
}

/* The decision's drop arrays are the reason's drop lists (the agent applies
 * the arrays, users read the lists); a denial drops nothing. */
static void check_drops(const struct json_value *req, const struct policy_decision *d,
			const struct json_value *reason)
{
	struct request r;
	struct uvm_err err = {0, ""};
	int decoded = request_decode_object(req, &r, &err) == 0;
	const struct json_value *caps = json_get(reason, "drop_capabilities");
	if (!decoded || !d->allowed) {
		if (d->drop_env)
			abort();
		for (size_t s = 0; s < REQ_CAP_SETS; s++)
			if (d->drop_caps[s])
				abort();
	} else {
		if (!flags_are_list(d->drop_env, &r.env, json_get(reason, "drop_env"), 1))
			abort();
		for (size_t s = 0; s < REQ_CAP_SETS; s++)
			if (!flags_are_list(d->drop_caps[s], &r.caps[s], json_get(caps, request_cap_set_names[s]), 0))
				abort();
	}
	request_free(&r);
}

/* Decides one request (or each of an array of requests), alternating commit
 * and abort, and checks the invariants every decision must keep: a reason
 * that is one valid JSON object with the same "allowed", drop arrays that
 * are the reason's drop lists, and a state dump that is identical after an
 * abort to before the decision. */
static void decide_all(struct policy_state *st, const struct json_value *v)
{
	size_t n = json_type(v) == JSON_ARRAY ? json_len(v) : 1;
	for (size_t i = 0; i < n && i < 64; i++) {
		const struct json_value *req = json_type(v) == JSON_ARRAY ? json_at(v, i) : v;
		struct policy_decision d;
		char *before = policy_state_json(st);
		if (policy_decide(st, req, &d) < 0)
			abort();
		struct json_doc *doc;
		struct uvm_err err = {0, ""};
		const struct json_value *r = json_parse(d.reason, d.reason_len, SIZE_MAX, &doc, &err);
		int allowed = -1;
		if (!r || json_bool(json_get(r, "allowed"), &allowed) < 0 || allowed != d.allowed)
			abort();
		check_drops(req, &d, r);
		json_free(doc);
		if (d.allowed && (i % 2)) {
			policy_abort(st);
			char *after = policy_state_json(st);
			if (!before || !after || strcmp(before, after) != 0)
				abort();
			free(after);
		} else if (d.allowed)
			policy_commit(st);
		else {
			char *after = policy_state_json(st);
			if (!before || !after || strcmp(before, after) != 0)
				abort(); /* a denial changed the state */
			free(after);
		}
		free(before);
		policy_decision_free(&d);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct policy *pol;
	struct uvm_err err = {0, ""};
	if (!pol && policy_load(policy_text, sizeof policy_text - 1, &pol, &err) < 0)
		abort();
	struct json_doc *doc;
	const struct json_value *v = json_parse((const char *)data, size, POLICY_REQUEST_MAX_BYTES, &doc, &err);
	if (!v) {
		/* The agent's path: the same bytes through policy_decide_json. */
		struct policy_state *st = policy_state_new(pol);
		struct policy_decision d;
		if (!st || policy_decide_json(st, (const char *)data, size, &d) < 0 || d.allowed)
			abort();
		policy_decision_free(&d);
		policy_state_free(st);
		return 0;
	}
	struct policy_state *st = policy_state_new(pol);
	if (!st)
		abort();
	decide_all(st, v);
	policy_state_free(st);
	json_free(doc);
	return 0;
}
