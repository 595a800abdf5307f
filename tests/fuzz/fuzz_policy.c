/* libFuzzer target for the policy loader: any bytes must be either rejected
 * with a message or loaded into a policy the engine can decide with. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "policy.h"

/* Decides one request (or each of an array of requests), alternating commit
 * and abort, and checks the invariants every decision must keep: a reason
 * that is one valid JSON object with the same "allowed", and a state dump
 * that is identical after an abort to before the decision. */
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

static const char requests[] =
	"[{\"op\":\"get_properties\"},{\"op\":\"mount_device\",\"target\":\"/run/layers/a\","
	"\"device_hash\":\"1111111111111111111111111111111111111111111111111111111111111111\"},"
	"{\"op\":\"exec_external\",\"argv\":[\"/bin/ls\",\"-l\"],\"env\":[\"PATH=/bin\"],\"working_dir\":\"/\"},"
	"{\"op\":\"scratch_mount\",\"target\":\"/run/scratch/s\",\"encrypted\":false},"
	/* A container from layer H1 (even indices commit): mounts and seccomp
	 * against whatever the policy says (tests/fuzz/corpus/policy/mounts_seccomp.json). */
	"{\"op\":\"mount_device\",\"target\":\"/run/layers/b\","
	"\"device_hash\":\"1111111111111111111111111111111111111111111111111111111111111111\"},"
	"{\"op\":\"get_properties\"},"
	"{\"op\":\"mount_overlay\",\"container_id\":\"c1\",\"target\":\"/run/containers/c1/rootfs\","
	"\"layers\":[\"/run/layers/b\"]},"
	"{\"op\":\"create_container\",\"container_id\":\"c1\",\"argv\":[\"/bin/app\"],\"env\":[],"
	"\"working_dir\":\"/\",\"mounts\":[{\"source\":\"tmpfs\",\"destination\":\"/etc\",\"type\":\"tmpfs\","
	"\"options\":[\"ro\"]},{\"source\":\"sandbox:///d/1\",\"destination\":\"/data\",\"type\":\"bind\","
	"\"options\":[\"rbind\"]}],\"user\":{\"uid\":0,\"gid\":0,\"umask\":\"0022\"},\"capabilities\":{"
	"\"bounding\":[],\"effective\":[],\"inheritable\":[],\"permitted\":[],\"ambient\":[]},"
	"\"seccomp\":{\"profile\":\"default\",\"allow\":[\"ptrace\"],\"deny\":[\"chmod\"]}},"
	"{\"op\":\"create_container\",\"container_id\":\"c1\",\"argv\":[\"/bin/app\"],\"env\":[],"
	"\"working_dir\":\"/\",\"mounts\":[{\"source\":\"tmpfs\",\"destination\":\"/etc\",\"type\":\"tmpfs\","
	"\"options\":[\"ro\"]}],\"user\":{\"uid\":0,\"gid\":0,\"umask\":\"0022\"},\"capabilities\":{"
	"\"bounding\":[],\"effective\":[],\"inheritable\":[],\"permitted\":[],\"ambient\":[]},"
	"\"seccomp\":{\"profile\":\"default\",\"allow\":[\"ptrace\"],\"deny\":[\"chmod\"]}}]";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy *pol;
	struct uvm_err err = {0, ""};
	if (policy_load((const char *)data, size, &pol, &err) < 0) {
		if (pol || err.msg[0] == '\0')
			abort();
		return 0;
	}
	struct json_doc *doc;
	const struct json_value *reqs = json_parse(requests, sizeof requests - 1, SIZE_MAX, &doc, &err);
	struct policy_state *st = policy_state_new(pol);
	if (!reqs || !st)
		abort();
	decide_all(st, reqs);
	policy_state_free(st);
	json_free(doc);
	policy_free(pol);
	return 0;
}
