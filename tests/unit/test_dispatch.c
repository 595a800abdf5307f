/* Unit tests of agent/dispatch.c on the host: the whole path of a request
 * (envelope -> gate -> decode -> prepare -> decision -> execute -> commit
 * or abort -> response) with the real decoder, binding gate, decide bracket
 * and policy engine, and executors played by this test (it provides
 * op_def_of), so each case can see which steps ran, with what, and what
 * the engine's state is afterwards. JSON here uses ' for ". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "check.h"
#include "dispatch.h"
#include "json.h"
#include "ops.h"
#include "policy.h"
#include "request.h"

#define L1 "1111111111111111111111111111111111111111111111111111111111111111"
#define L9 "9999999999999999999999999999999999999999999999999999999999999999"

static const char policy_sq[] =
	"{'version': '1',"
	" 'framework': {'allow_environment_variable_dropping': true},"
	" 'containers': [{'name': 'web', 'layers': ['" L1 "'],"
	"   'argv': ['/bin/web'], 'env': [{'rule': 'PATH=/usr/bin:/bin'}], 'working_dir': '/srv',"
	"   'user': {'uid': 1000, 'gid': 1000, 'umask': '0022'},"
	"   'capabilities': {'bounding': [], 'effective': [], 'inheritable': [], 'permitted': [], 'ambient': []}}],"
	" 'external_processes': [{'argv': ['/bin/ls'], 'env': [{'rule': 'PATH=/bin'}], 'working_dir': '/'}]}";

static char *dq(const char *text)
{
	char *t = strdup(text);
	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	return t;
}

/* ------------------------------------------------------------ the executors, played */

static struct {
	int prepared, executed; /* calls */
	int prepare_fails, execute_fails;
	int saw_decision; /* execute ran with c->d set */
	int priv_seen;    /* execute read what prepare left in priv */
	unsigned char drop_env[8];
	size_t nenv;
} played;

struct played_priv {
	int magic;
};

/* mount_device: "reads" the device: its root hash is the claimed one,
 * except for serial "liar" whose device holds L9. */
static int fake_mount_prepare(struct op_call *c)
{
	struct request *r = c->r;
	char target[128];
	played.prepared++;
	((struct played_priv *)c->priv)->magic = 0x5eed;
	if (played.prepare_fails)
		return op_fail(c->e, OP_ERR_FAILED, "mount_device: disk %s: no such disk (played)", r->serial);
	const char *hash = strcmp(r->serial, "liar") == 0 ? L9 : r->root_hash;
	snprintf(target, sizeof target, "/run/layers/%s", hash);
	if (request_set_target(r, target, &c->e->err) || request_set_device_hash(r, hash, &c->e->err))
		return op_fail(c->e, OP_ERR_FAILED, "mount_device: %s", c->e->err.msg);
	return 0;
}

static int fake_execute(struct op_call *c)
{
	played.executed++;
	played.saw_decision = c->d != NULL;
	played.priv_seen = c->priv && ((struct played_priv *)c->priv)->magic == 0x5eed;
	played.nenv = c->r->env.n < sizeof played.drop_env ? c->r->env.n : sizeof played.drop_env;
	memset(played.drop_env, 0, sizeof played.drop_env);
	if (c->d && c->d->drop_env)
		memcpy(played.drop_env, c->d->drop_env, played.nenv);
	if (played.execute_fails)
		return op_fail(c->e, OP_ERR_FAILED, "%s: the action failed (played)", c->r->name);
	json_w_obj(c->w);
	json_w_key(c->w, "done");
	json_w_cstr(c->w, c->r->name);
	json_w_end(c->w);
	return 0;
}

static const struct op_def played_defs[REQ_N] = {
	[REQ_PING] = {0, 0, NULL, fake_execute},
	[REQ_MOUNT_DEVICE] = {1, sizeof(struct played_priv), fake_mount_prepare, fake_execute},
	[REQ_UNMOUNT_DEVICE] = {1, 0, NULL, fake_execute},
	[REQ_EXEC_EXTERNAL] = {1, 0, NULL, fake_execute},
	[REQ_READ_OUTPUT] = {1, 0, NULL, fake_execute},
};

const struct op_def *op_def_of(enum req_op op)
{
	return (unsigned)op < REQ_N && played_defs[op].execute ? &played_defs[op] : NULL;
}

/* ------------------------------------------------------------ helpers */

static void agent_new(struct agent *a, int bound)
{
	memset(a, 0, sizeof *a);
	binding_init(a); /* no attestation device here: not bound, and says why */
	if (!bound)
		return;
	struct uvm_err err = {0, ""};
	char *text = dq(policy_sq);
	if (policy_load(text, strlen(text), &a->policy, &err) || !(a->pstate = policy_state_new(a->policy))) {
		fprintf(stderr, "test policy: %s\n", err.msg);
		exit(2);
	}
	free(text);
	a->binding = BINDING_BOUND; /* binding itself: tests/unit/test_decide_binding.c */
}

static void agent_free(struct agent *a)
{
	policy_state_free(a->pstate);
	policy_free(a->policy);
}

/* The response to one request text, parsed; *doc to free. */
static const struct json_value *ask(struct agent *a, const char *request_sq, struct json_doc **doc)
{
	char *t = dq(request_sq);
	size_t len = 0;
	struct uvm_err err = {0, ""};
	memset(&played, 0, sizeof played);
	char *out = dispatch(a, (const uint8_t *)t, strlen(t), &len);
	free(t);
	const struct json_value *v = out ? json_parse(out, len, len + 1, doc, &err) : NULL;
	if (!v) {
		fprintf(stderr, "test: no JSON response to %s: %s\n", request_sq, out ? out : "(null)");
		exit(2);
	}
	free(out);
	return v;
}

static const char *kind(const struct json_value *resp)
{
	return json_str(json_get(json_get(resp, "error"), "kind"), NULL);
}

static const char *message(const struct json_value *resp)
{
	return json_str(json_get(json_get(resp, "error"), "message"), NULL);
}

#define MOUNT(serial, hash) "{'id': 7, 'op': 'mount_device', 'args': {'serial': '" serial "', 'root_hash': '" hash "'}}"

/* ------------------------------------------------------------ cases */

static void test_envelope(void)
{
	struct agent a;
	struct json_doc *doc;
	agent_new(&a, 1);
	const struct json_value *r = ask(&a, "not json", &doc);
	CHECK_EQ_STR(kind(r), "malformed", "bytes that are not JSON: malformed");
	CHECK(json_type(json_get(r, "id")) == JSON_NULL, "... with id null");
	json_free(doc);
	r = ask(&a, "{'op': 'ping'}", &doc);
	CHECK_EQ_STR(kind(r), "malformed", "no id: malformed");
	json_free(doc);
	r = ask(&a, "{'id': 1, 'op': 'ping', 'sudo': true}", &doc);
	CHECK_EQ_STR(kind(r), "malformed", "an unknown top-level key: malformed");
	json_free(doc);
	r = ask(&a, "{'id': 2, 'op': 'reboot'}", &doc);
	CHECK_EQ_STR(kind(r), "unknown_op", "an op nobody defined: unknown_op");
	json_free(doc);
	r = ask(&a, "{'id': 3, 'op': 'get_report', 'args': {'nonce': 'aa'}}", &doc);
	CHECK_EQ_STR(kind(r), "unknown_op", "an op without an executor in this build: unknown_op");
	json_free(doc);
	r = ask(&a, "{'id': 4, 'op': 'test_inject_fault', 'args': {'point': 'remount', 'count': 1}}", &doc);
	CHECK_EQ_STR(kind(r), "unknown_op", "test_inject_fault outside the test flavour: unknown_op");
	json_free(doc);
	r = ask(&a, "{'id': 5, 'op': 'ping'}", &doc);
	CHECK(json_get(r, "ok") && json_str(json_get(json_get(r, "result"), "done"), NULL), "ping runs");
	CHECK_EQ_INT(json_number_text(json_get(r, "id"), NULL)[0], '5', "... the response carries the id");
	CHECK(!played.saw_decision, "... without a decision (not an enforcement point)");
	json_free(doc);
	agent_free(&a);
}

static void test_gate_before_decode(void)
{
	struct agent a;
	struct json_doc *doc;
	agent_new(&a, 0);
	const struct json_value *r = ask(&a, "{'id': 1, 'op': 'mount_device', 'args': {'serial': '../x'}}", &doc);
	CHECK_EQ_STR(kind(r), "denied", "no policy: even a malformed mount is denied first");
	CHECK_MSG(message(r), "no policy", "... saying there is no policy");
	CHECK(!played.prepared && !played.executed, "... and nothing ran");
	json_free(doc);
	r = ask(&a, "{'id': 2, 'op': 'ping', 'args': {}}", &doc);
	CHECK(json_get(r, "result") != NULL, "ping needs no policy");
	json_free(doc);
	agent_free(&a);
}

static void test_decode_refusals(void)
{
	struct agent a;
	struct json_doc *doc;
	agent_new(&a, 1);
	uint64_t decisions = a.decisions;
	const struct json_value *r = ask(&a, MOUNT("../vda", L1), &doc);
	CHECK_EQ_STR(kind(r), "malformed", "a serial that climbs: malformed");
	CHECK_MSG(message(r), "mount_device: $.args.serial", "... naming the member");
	CHECK(!played.prepared && !played.executed && a.decisions == decisions, "... before prepare or the engine");
	json_free(doc);
	r = ask(&a,
		"{'id': 1, 'op': 'mount_device', 'args': {'serial': 'l1', 'root_hash': '" L1 "', 'device_hash': '" L1
		"'}}",
		&doc);
	CHECK_EQ_STR(kind(r), "malformed", "the host states the device's hash (a fact): malformed");
	CHECK_MSG(message(r), "device_hash", "... naming it");
	CHECK(!played.prepared && a.decisions == decisions, "... nothing ran");
	json_free(doc);
	agent_free(&a);
}

static void test_bracket(void)
{
	struct agent a;
	struct json_doc *doc;
	agent_new(&a, 1);
	char *before = policy_state_json(a.pstate);

	/* The device holds another hash than the host claims: the engine
	 * decides on what prepare read, and no container has it. */
	const struct json_value *r = ask(&a, MOUNT("liar", L1), &doc);
	CHECK_EQ_STR(kind(r), "denied", "the engine decides on the fact prepare read, not the claim");
	CHECK(played.prepared == 1 && played.executed == 0, "... prepare ran, execute did not");
	CHECK_MSG(json_str(json_get(json_get(json_get(r, "error"), "reason"), "device_hash"), NULL), L9,
		  "... the reason names the device's hash");
	json_free(doc);

	uint64_t decisions = a.decisions;
	char *t = dq(MOUNT("l1", L1));
	size_t len;
	memset(&played, 0, sizeof played);
	played.prepare_fails = 1;
	char *out = dispatch(&a, (const uint8_t *)t, strlen(t), &len);
	CHECK(out && strstr(out, "no such disk (played)") && strstr(out, "\"failed\""),
	      "a failing prepare answers its error");
	CHECK(a.decisions == decisions && played.executed == 0, "... without a decision or execute");
	free(out);

	memset(&played, 0, sizeof played);
	played.execute_fails = 1;
	out = dispatch(&a, (const uint8_t *)t, strlen(t), &len);
	CHECK(out && strstr(out, "the action failed (played)"), "allowed, execute fails: its error");
	CHECK(played.saw_decision && played.priv_seen, "... execute ran with the decision and prepare's priv");
	char *after = policy_state_json(a.pstate);
	CHECK_EQ_STR(after, before, "... and the engine's state is rolled back");
	free(after);
	free(out);

	memset(&played, 0, sizeof played);
	out = dispatch(&a, (const uint8_t *)t, strlen(t), &len);
	CHECK(out && strstr(out, "\"ok\":true"), "the same mount, execute succeeds: ok");
	after = policy_state_json(a.pstate);
	CHECK(after && strstr(after, "/run/layers/" L1), "... committed: the engine lists the layer");
	free(after);
	free(out);
	memset(&played, 0, sizeof played);
	out = dispatch(&a, (const uint8_t *)t, strlen(t), &len);
	CHECK(out && strstr(out, "\"denied\"") && played.executed == 0, "... so mounting it again is denied");
	free(out);
	free(t);
	free(before);
	agent_free(&a);
}

static void test_drops_reach_execute(void)
{
	struct agent a;
	struct json_doc *doc;
	agent_new(&a, 1);
	const struct json_value *r =
		ask(&a,
		    "{'id': 9, 'op': 'exec_external', 'args': {'process_id': 'x1',"
		    " 'argv': ['/bin/ls'], 'env': ['PATH=/bin', 'TOKEN=s3cr3t'], 'working_dir': '/'}}",
		    &doc);
	CHECK(json_get(r, "result") != NULL, "an external process with an extra variable: allowed");
	CHECK(played.saw_decision && played.nenv == 2 && !played.drop_env[0] && played.drop_env[1],
	      "... execute gets the decision's drop of TOKEN (env[1])");
	json_free(doc);
	r = ask(&a, "{'id': 10, 'op': 'read_output', 'args': {'process_id': 'x1', 'stream': 'stdout'}}", &doc);
	CHECK(json_get(r, "result") && !played.saw_decision, "read_output: executed without a decision");
	json_free(doc);
	agent_free(&a);
}

int main(void)
{
	test_envelope();
	test_gate_before_decode();
	test_decode_refusals();
	test_bracket();
	test_drops_reach_execute();
	return check_done();
}
