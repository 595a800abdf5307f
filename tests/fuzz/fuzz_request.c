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

#include "fuzz_decide.h"

#define MOUNTS_SECCOMP_REST                                                                                \
	"\"argv\":[\"/bin/app\"],\"working_dir\":\"/\",\"user\":{\"uid\":0,\"gid\":0,\"umask\":\"0022\"}," \
	"\"capabilities\":{\"bounding\":[],\"effective\":[],\"inheritable\":[],\"permitted\":[],\"ambient\":[]}"
#define MOUNTS_SECCOMP                                                                                               \
	"{\"name\":\"app\",\"layers\":[\"4444444444444444444444444444444444444444444444444444444444444444\"],"       \
	"\"mounts\":[{\"source\":\"tmpfs\",\"destination\":\"/etc\",\"type\":\"tmpfs\",\"options\":[\"ro\"]},"       \
	"{\"source\":\"sandbox:///d/.+\",\"source_strategy\":\"regex\",\"destination\":\"/data\",\"type\":\"bind\"," \
	"\"options\":[\"rbind\"],\"optional\":true},{\"source\":\"sandbox:///d/1\",\"destination\":\"/data\","       \
	"\"type\":\"bind\",\"options\":[\"rbind\"]},{\"source\":\"tmpfs\",\"destination\":\"/"                       \
	"run\",\"type\":\"tmpfs\","                                                                                  \
	"\"options\":[],\"optional\":true}],"                                                                        \
	"\"seccomp\":{\"profile\":\"default\",\"allow\":[\"ptrace\"],\"deny\":[\"chmod\",\"fchmod\"]}"               \
	"," MOUNTS_SECCOMP_REST "},{\"name\":\"app-unconfined\",\"layers\":["                                        \
	"\"4444444444444444444444444444444444444444444444444444444444444444\"],"                                     \
	"\"mounts\":[{\"source\":\"tmpfs\",\"destination\":\"/etc\",\"type\":\"tmpfs\",\"options\":[\"ro\"]}],"      \
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
