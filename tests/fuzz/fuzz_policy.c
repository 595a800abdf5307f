/* libFuzzer target for the policy loader: any bytes must be either rejected
 * with a message or loaded into a policy the engine can decide with. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "policy.h"

#include "fuzz_decide.h"

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
