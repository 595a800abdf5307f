/* uvm run's policy side (tools/uvm/run/run_policy.c): which policy
 * container a run uses, and the create request built from its fields,
 * which the guest's own engine must then allow (decided here with
 * lib/policy, after the mounts it needs). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "policy.h"
#include "run.h"

#define H1 "1111111111111111111111111111111111111111111111111111111111111111"
#define H2 "2222222222222222222222222222222222222222222222222222222222222222"
#define H3 "3333333333333333333333333333333333333333333333333333333333333333"
#define CAPS                                                                                         \
	"\"capabilities\":{\"bounding\":[\"CAP_CHOWN\",\"CAP_KILL\"],\"effective\":[\"CAP_CHOWN\"]," \
	"\"inheritable\":[],\"permitted\":[\"CAP_CHOWN\"],\"ambient\":[]}"

/* Three containers on H1,H2 (two named, argv differing), one on H1,H3
 * with everything create takes: env strings and regexes, mounts, seccomp,
 * resources, stdio. */
static const char POLICY[] =
	"{\"version\":\"1\",\"framework\":{\"allow_properties_access\":false},\"containers\":["
	"{\"name\":\"web\",\"layers\":[\"" H1 "\",\"" H2 "\"],\"argv\":[\"/bin/web\",\"-p\",\"80\"],"
	"\"working_dir\":\"/srv\",\"user\":{\"uid\":1000,\"gid\":1001,\"umask\":\"0022\"}," CAPS "},"
	"{\"name\":\"web-debug\",\"layers\":[\"" H1 "\",\"" H2 "\"],\"argv\":[\"/bin/web\",\"-d\"],"
	"\"working_dir\":\"/srv\",\"user\":{\"uid\":1000,\"gid\":1001,\"umask\":\"0022\"}," CAPS "},"
	"{\"name\":\"tool\",\"layers\":[\"" H1 "\",\"" H3 "\"],\"argv\":[\"/bin/tool\"],"
	"\"env\":[{\"rule\":\"PATH=/bin\"},{\"rule\":\"MODE=fast\",\"strategy\":\"string\",\"required\":true},"
	"{\"rule\":\"OPT_.*=.*\",\"strategy\":\"regex\"}],"
	"\"working_dir\":\"/\",\"mounts\":[{\"source\":\"tmpfs\",\"destination\":\"/tmp\",\"type\":\"tmpfs\","
	"\"options\":[\"nosuid\",\"nodev\"]},{\"source\":\"s.*\",\"source_strategy\":\"regex\","
	"\"destination\":\"/opt\",\"type\":\"bind\",\"options\":[\"rbind\"],\"optional\":true}],"
	"\"user\":{\"uid\":0,\"gid\":0,\"umask\":\"0077\"}," CAPS ",\"no_new_privileges\":true,"
	"\"allow_stdio_access\":true,\"seccomp\":{\"profile\":\"default\",\"deny\":[\"chmod\"]},"
	"\"resources\":{\"memory_max\":67108864,\"pids_max\":64,\"scratch_max\":8388608}}"
	"]}";

static const char *const ROOTS12[] = {H1, H2}, *const ROOTS13[] = {H1, H3}, *const ROOTS23[] = {H2, H3};

static void choose_cases(const struct json_value *pol)
{
	struct uvm_err err = {0, ""};
	size_t index = 99;
	char *web[] = {"/bin/web", "-p", "80"}, *debug[] = {"/bin/web", "-d"}, *other[] = {"/bin/other"};

	CHECK(run_policy_choose(pol, ROOTS13, 2, NULL, NULL, 0, &index, &err) == 0 && index == 2,
	      "the one container with the image's layers is chosen (%s)", err.msg);
	CHECK(run_policy_choose(pol, ROOTS13, 2, NULL, other, 1, &index, &err) == 0 && index == 2,
	      "one candidate is chosen even when ARGS differ (the guest then decides on ARGS)");
	CHECK(run_policy_choose(pol, ROOTS12, 2, NULL, NULL, 0, &index, &err) < 0, "two candidates, no hint: refused");
	CHECK_MSG(err.msg, "2 policy containers have this image's layers", "... saying how many");
	CHECK_MSG(err.msg, "0 'web', 1 'web-debug'", "... naming them");
	CHECK_MSG(err.msg, "--container NAME", "... and what to do");
	CHECK(run_policy_choose(pol, ROOTS12, 2, "web-debug", NULL, 0, &index, &err) == 0 && index == 1,
	      "--container NAME picks among the candidates");
	CHECK(run_policy_choose(pol, ROOTS12, 2, NULL, debug, 2, &index, &err) == 0 && index == 1,
	      "ARGS pick the candidate whose argv they are");
	CHECK(run_policy_choose(pol, ROOTS12, 2, NULL, web, 3, &index, &err) == 0 && index == 0,
	      "... the other one too");
	CHECK(run_policy_choose(pol, ROOTS12, 2, NULL, other, 1, &index, &err) < 0,
	      "ARGS no candidate has: still ambiguous, refused");
	CHECK(run_policy_choose(pol, ROOTS12, 2, "tool", NULL, 0, &index, &err) < 0,
	      "--container naming a container of other layers: refused");
	CHECK_MSG(err.msg, "--container tool", "... naming the option");
	CHECK(run_policy_choose(pol, ROOTS23, 2, NULL, NULL, 0, &index, &err) < 0 && err.code == ENOENT,
	      "no container has the image's layers: refused");
	CHECK_MSG(err.msg, "[" H2 ", " H3 "]", "... naming the image's root hashes in full");
	CHECK_MSG(err.msg, "container 2 'tool' [111111111111..., 333333333333...]", "... and what the policy lists");
	CHECK(run_policy_choose(pol, ROOTS12, 1, NULL, NULL, 0, &index, &err) < 0,
	      "a prefix of a container's layers is no match");
}

/* Decides mount_device x2, mount_overlay, then the create request args
 * (with "op" added) with the real engine; returns allowed, reason in *why. */
static int engine_allows(const char *policy, const char *const *roots, const char *create, char **why)
{
	struct policy *pol = NULL;
	struct uvm_err err = {0, ""};
	struct policy_decision d;
	char req[8192];
	int allowed = 0;
	*why = NULL;
	if (policy_load(policy, strlen(policy), &pol, &err) < 0) {
		printf("# policy_load: %s\n", err.msg);
		return 0;
	}
	struct policy_state *st = policy_state_new(pol);
	for (int i = 0; i < 2; i++) {
		snprintf(req, sizeof req,
			 "{\"op\":\"mount_device\",\"target\":\"/run/layers/l%d\",\"device_hash\":\"%s\"}", i,
			 roots[i]);
		policy_decide_json(st, req, strlen(req), &d);
		if (d.allowed)
			policy_commit(st);
		policy_decision_free(&d);
	}
	const char *id = strstr(create, "\"container_id\":\"") + 16;
	int n = (int)strcspn(id, "\"");
	snprintf(req, sizeof req,
		 "{\"op\":\"mount_overlay\",\"container_id\":\"%.*s\",\"target\":\"/run/containers/%.*s/rootfs\","
		 "\"layers\":[\"/run/layers/l0\",\"/run/layers/l1\"]}",
		 n, id, n, id);
	policy_decide_json(st, req, strlen(req), &d);
	if (d.allowed)
		policy_commit(st);
	policy_decision_free(&d);
	snprintf(req, sizeof req, "{\"op\":\"create_container\",%s", create + 1);
	policy_decide_json(st, req, strlen(req), &d);
	allowed = d.allowed;
	*why = strdup(d.reason ? d.reason : "");
	policy_decision_free(&d);
	policy_state_free(st);
	policy_free(pol);
	return allowed;
}

static void create_cases(const struct json_value *pol)
{
	struct uvm_err err = {0, ""};
	struct run_create c;
	const struct json_value *cs = json_get(pol, "containers");
	char *why = NULL;

	CHECK(run_create_build(json_at(cs, 0), 0, NULL, 0, &c, &err) == 0, "create from container 0 (%s)", err.msg);
	CHECK_EQ_STR(c.args,
		     "{\"container_id\":\"web\",\"argv\":[\"/bin/web\",\"-p\",\"80\"],\"env\":[],\"working_dir\":"
		     "\"/srv\",\"user\":{\"uid\":1000,\"gid\":1001,\"umask\":\"0022\"}," CAPS "}",
		     "... exactly the policy's fields, named after the container");
	CHECK(!c.stdio, "... no stdio: the container does not allow it");
	CHECK(engine_allows(POLICY, ROOTS12, c.args, &why), "... and the engine allows it");
	free(why);
	run_create_free(&c);

	CHECK(run_create_build(json_at(cs, 2), 2, NULL, 0, &c, &err) == 0, "create from container 2 (%s)", err.msg);
	CHECK_EQ_STR(
		c.args,
		"{\"container_id\":\"tool\",\"argv\":[\"/bin/tool\"],\"env\":[\"PATH=/bin\",\"MODE=fast\"],"
		"\"working_dir\":\"/\",\"mounts\":[{\"source\":\"tmpfs\",\"destination\":\"/tmp\",\"type\":"
		"\"tmpfs\",\"options\":[\"nosuid\",\"nodev\"]}],\"user\":{\"uid\":0,\"gid\":0,\"umask\":\"0077\"}," CAPS
		",\"no_new_privileges\":true,\"stdio\":true,\"seccomp\":{\"profile\":\"default\",\"deny\":"
		"[\"chmod\"]},\"resources\":{\"memory_max\":67108864,\"pids_max\":64}}",
		"... string env rules as values (the regex one left out), the exact mount (the optional regex "
		"one left out), stdio, seccomp, resources at the bounds (no scratch_max)");
	CHECK(c.stdio, "... stdio: the container allows it");
	CHECK_EQ_STR(c.env, "[\"PATH=/bin\",\"MODE=fast\"]", "... its env, for execs");
	CHECK_EQ_STR(c.working_dir, "/", "... its working_dir, for execs");
	CHECK(engine_allows(POLICY, ROOTS13, c.args, &why), "... and the engine allows it");
	free(why);
	run_create_free(&c);

	char *args[] = {"/bin/tool", "--other"};
	CHECK(run_create_build(json_at(cs, 2), 2, args, 2, &c, &err) == 0, "create with ARGS");
	CHECK_MSG(c.args, "\"argv\":[\"/bin/tool\",\"--other\"]", "... ARGS replace the argv");
	CHECK(!engine_allows(POLICY, ROOTS13, c.args, &why), "... which the engine denies");
	CHECK_MSG(why, "\"rule\":\"argv\"", "... with the argv rule as its reason");
	free(why);
	run_create_free(&c);

	/* What cannot be derived fails, naming the field. */
	static const char *const BAD[][2] = {
		{"{\"argv\":[\"/x\"],\"working_dir\":\"/\",\"user\":{\"name\":\"app\",\"group\":\"app\",\"umask\":"
		 "\"0022\"},\"capabilities\":{}}",
		 "names the user by name"},
		{"{\"argv\":[\"/x\"],\"working_dir\":\"/\",\"user\":{\"uid\":1,\"group\":\"app\",\"umask\":\"0022\"},"
		 "\"capabilities\":{}}",
		 "names the group by name"},
		{"{\"argv\":[\"/x\"],\"env\":[{\"rule\":\"A=.*\",\"strategy\":\"regex\",\"required\":true}],"
		 "\"working_dir\":\"/\",\"user\":{\"uid\":1,\"gid\":1,\"umask\":\"0022\"},\"capabilities\":{}}",
		 "$.containers[5].env[0] is a required regex rule"},
		{"{\"argv\":[\"/x\"],\"mounts\":[{\"source\":\".*\",\"source_strategy\":\"regex\",\"destination\":\"/"
		 "d\","
		 "\"type\":\"bind\",\"options\":[]}],\"working_dir\":\"/\",\"user\":{\"uid\":1,\"gid\":1,\"umask\":"
		 "\"0022\"},\"capabilities\":{}}",
		 "$.containers[5].mounts[0] has a regex source"},
		{"{\"argv\":[\"/x\"],\"user\":{\"uid\":1,\"gid\":1,\"umask\":\"0022\"},\"capabilities\":{}}",
		 "lacks argv, working_dir"},
	};
	for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
		struct json_doc *doc = NULL;
		const struct json_value *v = json_parse(BAD[i][0], strlen(BAD[i][0]), 65536, &doc, &err);
		CHECK(v && run_create_build(v, 5, NULL, 0, &c, &err) < 0, "underivable create %zu refused", i);
		CHECK_MSG(err.msg, BAD[i][1], "... saying why");
		json_free(doc);
	}

	/* A name that is no container id gives the id "container". */
	static const char ODD[] = "{\"name\":\"a b/c\",\"argv\":[\"/x\"],\"working_dir\":\"/\",\"user\":{\"uid\":1,"
				  "\"gid\":1,\"umask\":\"0022\"},\"capabilities\":{}}";
	struct json_doc *doc = NULL;
	const struct json_value *v = json_parse(ODD, strlen(ODD), 65536, &doc, &err);
	CHECK(v && run_create_build(v, 0, NULL, 0, &c, &err) == 0, "a container named 'a b/c'");
	CHECK_EQ_STR(c.container_id, "container", "... runs as container_id 'container'");
	CHECK_EQ_STR(c.name, "a b/c", "... keeping its name");
	run_create_free(&c);
	json_free(doc);
}

int main(void)
{
	struct json_doc *doc = NULL;
	struct uvm_err err = {0, ""};
	struct policy *pol = NULL;
	CHECK(policy_load(POLICY, strlen(POLICY), &pol, &err) == 0, "the test policy is valid (%s)", err.msg);
	policy_free(pol);
	const struct json_value *root = json_parse(POLICY, strlen(POLICY), 1u << 20, &doc, &err);
	CHECK(root != NULL, "the test policy parses (%s)", err.msg);
	if (root) {
		choose_cases(root);
		create_cases(root);
	}
	json_free(doc);
	return check_done();
}
