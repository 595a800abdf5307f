/* Unit tests of agent/binding.c and agent/decide.c on the host: a policy is
 * bound through the production attestation code (agent/attest*.c), whose
 * /dev/sev-guest seam (agent/attest_seam.h) is played here by a PSP that
 * answers SNP_GET_EXT_REPORT with the HOST_DATA this test chose; binding
 * succeeds only when HOST_DATA is SHA-256 of the policy. Then the decide
 * bracket: a denial changes nothing, decide_end with rc != 0 rolls the
 * policy state back, rc == 0 commits it, and the allowed decision's drops
 * reach the rt_spec (agent/runtime_spec.c). JSON in this file uses ' for "
 * (converted at run time) to stay readable. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/sev-guest.h>

#include "agent.h"
#include "attest_seam.h"
#include "check.h"
#include "decide.h"
#include "hash.h"
#include "hex.h"
#include "json.h"
#include "le.h"
#include "ops.h"
#include "policy.h"
#include "runtime_spec.h"
#include "snp_report.h"

static char tmpdir[] = "/tmp/uvm-test-binding-XXXXXX";
static char sev_dev[256], nowhere[256];

/* ------------------------------------------------------------ the PSP, played */

struct fake_psp {
	uint8_t host_data[SNP_HOST_DATA_LEN]; /* fixed at launch by the host */
	int fail;                             /* the firmware refuses (INVALID_PARAM) */
	int calls;
	uint8_t report_data[SNP_REPORT_DATA_LEN]; /* the last request's */
};

static struct fake_psp psp;

static int psp_ioctl(void *ctx, int fd, unsigned long cmd, struct snp_guest_request_ioctl *io)
{
	struct fake_psp *f = ctx;
	(void)fd;
	f->calls++;
	if (cmd != SNP_GET_EXT_REPORT) {
		errno = ENOTTY;
		return -1;
	}
	if (f->fail) {
		io->exitinfo2 = 0x16; /* SEV_RET_INVALID_PARAM */
		errno = EIO;
		return -1;
	}
	struct snp_ext_report_req *req = (void *)(uintptr_t)io->req_data;
	struct snp_report_resp *resp = (void *)(uintptr_t)io->resp_data;
	struct snp_report r;
	memset(&r, 0, sizeof r);
	r.version = 3;
	r.sig_algo = SNP_SIG_ALGO_ECDSA_P384_SHA384;
	memcpy(r.report_data, req->data.user_data, SNP_REPORT_DATA_LEN);
	memcpy(r.host_data, f->host_data, SNP_HOST_DATA_LEN);
	memcpy(f->report_data, req->data.user_data, SNP_REPORT_DATA_LEN);
	memset(resp, 0, sizeof *resp);
	le32_put(resp->data, 0);
	le32_put(resp->data + 4, SNP_REPORT_SIZE);
	snp_report_serialize(&r, resp->data + 0x20);
	return 0; /* no certificates: the buffer stays zero */
}

/* The PSP reports HOST_DATA = SHA-256(text) (what the host launched with). */
static void launch_with(const char *text)
{
	uvm_sha256(text, strlen(text), psp.host_data);
}

/* ------------------------------------------------------------ helpers */

/* ' -> " in a copy (malloc'ed). */
static char *dq(const char *text)
{
	char *t = strdup(text);
	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	return t;
}

static const char policy_text_sq[] =
	"{'version': '1',"
	" 'framework': {'allow_environment_variable_dropping': true, 'allow_capability_dropping': true},"
	" 'containers': [{'name': 'web',"
	"   'layers': ['1111111111111111111111111111111111111111111111111111111111111111'],"
	"   'argv': ['/bin/web'], 'env': [{'rule': 'PATH=/usr/bin:/bin'}, {'rule': 'PORT=[0-9]+', 'strategy': "
	"'regex'}],"
	"   'working_dir': '/srv', 'user': {'uid': 1000, 'gid': 1000, 'umask': '0022'},"
	"   'capabilities': {'bounding': ['CAP_NET_BIND_SERVICE'], 'effective': ['CAP_NET_BIND_SERVICE'],"
	"                    'inheritable': [], 'permitted': ['CAP_NET_BIND_SERVICE'], 'ambient': []},"
	"   'exec_processes': [{'argv': ['/bin/sh']}]}]}";
static char *policy_text; /* policy_text_sq with " */

/* A fresh agent as agent_init leaves binding (no channel, no runtime). */
static void agent_new(struct agent *a)
{
	memset(a, 0, sizeof *a);
	binding_init(a);
}

static void agent_free(struct agent *a)
{
	policy_state_free(a->pstate);
	policy_free(a->policy);
	memset(a, 0, sizeof *a);
}

static void error_reset(struct op_error *e)
{
	free(e->reason_json);
	memset(e, 0, sizeof *e);
}

/* op_set_policy with {"policy_base64": base64(text)} (or the raw
 * policy_base64 string when b64 is given); *result gets the result JSON. */
static int set_policy(struct agent *a, const char *text, const char *b64, struct op_error *e, char **result)
{
	size_t n = text ? strlen(text) : 0;
	char *enc = malloc(4 * ((n + 2) / 3) + 1);
	char *args_text = malloc(4 * ((n + 2) / 3) + 64 + (b64 ? strlen(b64) : 0));
	struct json_doc *doc = NULL;
	struct uvm_err err;
	struct json_writer w;
	uvm_base64_encode((const uint8_t *)(text ? text : ""), n, enc);
	sprintf(args_text, "{\"policy_base64\": \"%s\"}", b64 ? b64 : enc);
	const struct json_value *args = json_parse(args_text, strlen(args_text), 4 << 20, &doc, &err);
	if (!args) {
		fprintf(stderr, "set_policy args: %s\n", err.msg);
		exit(2);
	}
	error_reset(e);
	json_writer_init(&w, 1 << 20);
	struct request r;
	int rc = request_decode(REQ_SET_POLICY, args, REQ_FROM_HOST, &r, &e->err);
	struct op_call c = {a, &r, NULL, NULL, &w, e};
	if (rc == 0)
		rc = op_set_policy(&c);
	else
		e->kind = OP_ERR_MALFORMED;
	request_free(&r);
	if (result)
		*result = rc == 0 ? json_writer_finish(&w, NULL) : NULL;
	if (rc || !result)
		json_writer_free(&w);
	json_free(doc);
	free(args_text);
	free(enc);
	return rc;
}

/* decide_begin on the decision request (facts included: REQ_FROM_LOG, as
 * the agent's prepare steps would have set them) of op with args_text,
 * ' for ". A request the decode refuses returns -3 with e "malformed". */
static struct request last_req; /* begin's request, valid until end() */

static int begin(struct agent *a, const char *op, const char *args_sq, struct decision *dc, struct op_error *e,
		 struct json_doc **doc)
{
	char *t = dq(args_sq);
	struct uvm_err err;
	const struct json_value *args = json_parse(t, strlen(t), 1 << 20, doc, &err);
	free(t);
	if (!args) {
		fprintf(stderr, "test args: %s: %s\n", err.msg, args_sq);
		exit(2);
	}
	error_reset(e);
	int i = request_op_find(op, strlen(op));
	if (i < 0) {
		fprintf(stderr, "test op: %s\n", op);
		exit(2);
	}
	memset(dc, 0, sizeof *dc);
	if (request_decode((enum req_op)i, args, REQ_FROM_LOG, &last_req, &e->err)) {
		e->kind = OP_ERR_MALFORMED;
		return -3;
	}
	return decide_begin(a, &last_req, dc, e);
}

static void end(struct json_doc *doc)
{
	request_free(&last_req);
	json_free(doc);
}

/* One decision ended with rc; returns decide_begin's result (then decide_end's). */
static int decide(struct agent *a, const char *op, const char *args_sq, int rc, struct op_error *e)
{
	struct decision dc;
	struct json_doc *doc = NULL;
	int r = begin(a, op, args_sq, &dc, e, &doc);
	if (r == 0) {
		if (rc)
			op_fail(e, OP_ERR_FAILED, "the action failed (test)");
		r = decide_end(a, &dc, rc, e);
		if (rc == 0 && r != 0)
			r = -2; /* a commit must not fail */
		else if (rc)
			r = r == -1 ? 1 : -2; /* 1: allowed, then rolled back */
	}
	end(doc);
	return r;
}

static char *state(struct agent *a)
{
	return a->pstate ? policy_state_json(a->pstate) : strdup("(no state)");
}

#define MOUNT_L1                                       \
	"{'target': '/run/layers/l1', 'device_hash': " \
	"'1111111111111111111111111111111111111111111111111111111111111111'}"
#define OVERLAY_C1 "{'container_id': 'c1', 'target': '/run/containers/c1/rootfs', 'layers': ['/run/layers/l1']}"

/* ------------------------------------------------------------ binding */

static void test_no_backend(void)
{
	struct agent a;
	struct op_error e = {0};
	attest_sev_guest_seam.dev = nowhere;
	agent_new(&a);
	CHECK_EQ_INT(a.binding, BINDING_FAILED, "no attestation back-end: fail closed for good");
	CHECK_MSG(a.deny_reason, "no SNP attestation back-end", "... and the reason says why");
	CHECK_EQ_INT(binding_gate(&a, &e), -1, "no back-end: the gate denies");
	CHECK_EQ_STR(e.kind, OP_ERR_DENIED, "... as denied");
	attest_sev_guest_seam.dev = sev_dev; /* a PSP appears: too late */
	launch_with(policy_text);
	CHECK_EQ_INT(set_policy(&a, policy_text, NULL, &e, NULL), -1, "no back-end at start: set_policy is refused");
	CHECK_MSG(e.err.msg, "fail closed: no SNP attestation back-end", "... with the start-up reason");
	CHECK(a.binding == BINDING_FAILED && a.policy == NULL && a.pstate == NULL, "... and nothing is bound");
	CHECK_EQ_INT(psp.calls, 0, "... without asking for a report");
	error_reset(&e);
	agent_free(&a);
}

static void test_bind(void)
{
	struct agent a;
	struct op_error e = {0};
	char *result = NULL;
	uint8_t sha[32], rd[64], want_rd[64];
	char hex[65], want[256];
	attest_sev_guest_seam.dev = sev_dev;
	launch_with(policy_text);
	agent_new(&a);
	CHECK_EQ_INT(a.binding, BINDING_NONE, "a back-end: no policy yet");
	CHECK_EQ_INT(binding_gate(&a, &e), -1, "no policy yet: the gate denies");
	CHECK_MSG(e.err.msg, "send set_policy with the policy whose SHA-256 is this VM's HOST_DATA first",
		  "... telling the host what to do");

	psp.calls = 0;
	CHECK_EQ_INT(set_policy(&a, policy_text, NULL, &e, &result), 0,
		     "the policy whose SHA-256 is HOST_DATA binds: %s", e.err.msg);
	uvm_sha256(policy_text, strlen(policy_text), sha);
	uvm_hex_encode(sha, 32, hex);
	snprintf(want, sizeof want, "{\"policy_sha256\":\"%s\",\"containers\":1}", hex);
	CHECK_EQ_STR(result, want, "set_policy answers the policy's hash and container count");
	CHECK_EQ_INT(a.binding, BINDING_BOUND, "... the state is BOUND");
	CHECK(memcmp(a.policy_sha256, sha, 32) == 0, "... the bound hash is kept");
	CHECK(a.policy && a.pstate, "... with a policy and its state");
	CHECK_EQ_INT(psp.calls, 1, "... after one fresh report");
	binding_report_data("uvm-policy-binding-v1", sha, 32, want_rd);
	memcpy(rd, psp.report_data, 64);
	CHECK(memcmp(rd, want_rd, 64) == 0, "... whose REPORT_DATA is SHA-512(\"uvm-policy-binding-v1\" NUL sha256)");
	uint8_t buf[sizeof "uvm-policy-binding-v1" + 32];
	memcpy(buf, "uvm-policy-binding-v1", sizeof "uvm-policy-binding-v1");
	memcpy(buf + sizeof "uvm-policy-binding-v1", sha, 32);
	uvm_sha512(buf, sizeof buf, want_rd);
	CHECK(memcmp(rd, want_rd, 64) == 0, "... (label, its NUL, then the hash)");
	CHECK_EQ_INT(binding_gate(&a, &e), 0, "bound: the gate lets requests through");
	free(result);

	/* Set exactly once: neither the same policy nor another. */
	const struct policy *bound = a.policy;
	psp.calls = 0;
	CHECK_EQ_INT(set_policy(&a, policy_text, NULL, &e, &result), -1,
		     "a second set_policy (the same policy) is refused");
	CHECK_EQ_STR(e.kind, OP_ERR_DENIED, "... as denied");
	CHECK_MSG(e.err.msg, "is already bound; it can be set exactly once", "... saying a policy is bound");
	CHECK_MSG(e.err.msg, hex, "... naming its hash");
	CHECK(a.policy == bound && a.binding == BINDING_BOUND, "... the bound policy stays");
	CHECK_EQ_INT(psp.calls, 0, "... without a report");
	launch_with("{}");
	CHECK_EQ_INT(set_policy(&a, "{}", NULL, &e, &result), -1, "a second set_policy (another policy) is refused");
	CHECK(a.policy == bound && memcmp(a.policy_sha256, sha, 32) == 0, "... the bound policy stays");
	error_reset(&e);
	agent_free(&a);
}

static void test_mismatch(void)
{
	struct agent a;
	struct op_error e = {0};
	char *result = NULL;
	uint8_t sha[32];
	char policy_hex[65], host_hex[65];
	attest_sev_guest_seam.dev = sev_dev;
	launch_with("the policy the host launched with");
	agent_new(&a);
	CHECK_EQ_INT(set_policy(&a, policy_text, NULL, &e, &result), -1, "a policy that is not HOST_DATA's is refused");
	CHECK_EQ_STR(e.kind, OP_ERR_DENIED, "... as denied");
	uvm_sha256(policy_text, strlen(policy_text), sha);
	uvm_hex_encode(sha, 32, policy_hex);
	uvm_hex_encode(psp.host_data, 32, host_hex);
	CHECK_MSG(e.err.msg, policy_hex, "... the message names the policy's hash");
	CHECK_MSG(e.err.msg, host_hex, "... and HOST_DATA");
	CHECK_MSG(e.reason_json, "\"rule\":\"host_data_binding\"", "... the reason names the rule");
	CHECK_MSG(e.reason_json, policy_hex, "... and the policy's hash");
	CHECK(a.binding == BINDING_NONE && a.policy == NULL && a.pstate == NULL && result == NULL,
	      "... nothing is bound, another set_policy may follow");
	CHECK_MSG(a.deny_reason, "no policy bound: the policy offered had sha256", "... later denials say why");

	struct decision dc;
	struct json_doc *doc = NULL;
	uint64_t decisions = a.decisions;
	CHECK_EQ_INT(begin(&a, "mount_device", MOUNT_L1, &dc, &e, &doc), -1, "not bound: decide_begin is denied");
	CHECK_MSG(e.err.msg, "no policy bound: the policy offered had sha256", "... with the mismatch as the reason");
	CHECK_EQ_INT(a.decisions, decisions, "... without asking the engine");
	end(doc);

	/* Not base64: malformed, still nothing bound. */
	CHECK_EQ_INT(set_policy(&a, NULL, "not base64!", &e, &result), -1,
		     "policy_base64 that is not base64 is refused");
	CHECK_EQ_STR(e.kind, OP_ERR_MALFORMED, "... as malformed");
	CHECK_EQ_INT(a.binding, BINDING_NONE, "... nothing is bound");

	/* The firmware refuses: denied, nothing bound, the reason kept. */
	launch_with(policy_text);
	psp.fail = 1;
	CHECK_EQ_INT(set_policy(&a, policy_text, NULL, &e, &result), -1, "attestation failing: set_policy is refused");
	CHECK_MSG(e.err.msg, "no policy bound: attestation failed", "... saying attestation failed");
	CHECK_MSG(e.err.msg, "INVALID_PARAM", "... with the firmware's error");
	CHECK(a.binding == BINDING_NONE && a.policy == NULL, "... nothing is bound");
	psp.fail = 0;

	/* Now the right policy still binds. */
	CHECK_EQ_INT(set_policy(&a, policy_text, NULL, &e, &result), 0, "after refusals the matching policy binds: %s",
		     e.err.msg);
	CHECK_EQ_INT(a.binding, BINDING_BOUND, "... BOUND");
	free(result);
	error_reset(&e);
	agent_free(&a);
}

/* HOST_DATA names a policy the engine rejects: no other policy can ever
 * match, so the guest fails closed for good. */
static void test_invalid_attested_policy(void)
{
	struct agent a;
	struct op_error e = {0};
	const char *bad = "{\"version\": \"1\", \"containers\": \"none\"}";
	attest_sev_guest_seam.dev = sev_dev;
	launch_with(bad);
	agent_new(&a);
	CHECK_EQ_INT(set_policy(&a, bad, NULL, &e, NULL), -1, "an attested but invalid policy is refused");
	CHECK_EQ_INT(a.binding, BINDING_FAILED, "... and the guest fails closed for good");
	CHECK_MSG(e.err.msg, "the attested policy (sha256", "... the message says the attested policy is invalid");
	CHECK(a.policy == NULL && a.pstate == NULL, "... nothing is bound");
	CHECK_EQ_INT(set_policy(&a, policy_text, NULL, &e, NULL), -1, "... a later set_policy is refused");
	CHECK_MSG(e.err.msg, "fail closed: the attested policy", "... with that reason");
	error_reset(&e);
	agent_free(&a);
}

/* ------------------------------------------------------------ decide */

/* A bound agent. */
static void bound_agent(struct agent *a)
{
	struct op_error e = {0};
	char *result = NULL;
	attest_sev_guest_seam.dev = sev_dev;
	launch_with(policy_text);
	agent_new(a);
	if (set_policy(a, policy_text, NULL, &e, &result) || a->binding != BINDING_BOUND) {
		fprintf(stderr, "test: binding failed: %s\n", e.err.msg);
		exit(2);
	}
	free(result);
	error_reset(&e);
}

static void test_decide_denied(void)
{
	struct agent a;
	struct op_error e = {0};
	bound_agent(&a);
	char *before = state(&a);
	uint64_t decisions = a.decisions;
	CHECK_EQ_INT(decide(&a, "mount_device",
			    "{'target': '/run/layers/l1', 'device_hash': "
			    "'9999999999999999999999999999999999999999999999999999999999999999'}",
			    0, &e),
		     -1, "a layer no container has: decide_begin denies");
	CHECK_EQ_STR(e.kind, OP_ERR_DENIED, "... as denied");
	CHECK_MSG(e.err.msg, "denied by policy (see reason)", "... pointing at the reason");
	CHECK_MSG(e.reason_json, "\"op\":\"mount_device\"", "... the engine's reason goes to the response");
	CHECK_MSG(e.reason_json, "\"allowed\":false", "... a denial");
	CHECK_EQ_INT(a.decisions, decisions + 1, "... the engine was asked once");
	char *after = state(&a);
	CHECK_EQ_STR(after, before, "a denial leaves the policy state unchanged");
	free(after);
	CHECK_EQ_INT(decide(&a, "mount_device", MOUNT_L1, 0, &e), 0,
		     "... and nothing pending: the next request is decided");
	free(before);

	/* The host cannot choose the enforcement point: an "op" in args is a
	 * member nobody asked for, refused before any decision. */
	decisions = a.decisions;
	CHECK_EQ_INT(decide(&a, "scratch_unmount",
			    "{'op': 'mount_device', 'target': '/run/layers/l1',"
			    " 'device_hash': '1111111111111111111111111111111111111111111111111111111111111111'}",
			    0, &e),
		     -3, "an \"op\" member in args is refused by the decode");
	CHECK_EQ_STR(e.kind, OP_ERR_MALFORMED, "... as malformed");
	CHECK_EQ_INT(a.decisions, decisions, "... and the engine was not asked");
	error_reset(&e);
	agent_free(&a);
}

static void test_decide_rollback_commit(void)
{
	struct agent a;
	struct op_error e = {0};
	bound_agent(&a);
	char *before = state(&a);
	CHECK_EQ_INT(decide(&a, "mount_device", MOUNT_L1, -1, &e), 1,
		     "allowed, the action failed: decide_end returns -1");
	CHECK_EQ_STR(e.kind, OP_ERR_FAILED, "... the failure is what the op reported");
	char *after = state(&a);
	CHECK_EQ_STR(after, before, "... and the policy state is rolled back");
	free(after);
	CHECK_EQ_INT(decide(&a, "mount_device", MOUNT_L1, -1, &e), 1,
		     "the same request is allowed again (rolled back again)");
	CHECK_EQ_INT(decide(&a, "mount_device", MOUNT_L1, 0, &e), 0, "... and again, this time committed");
	after = state(&a);
	CHECK(strcmp(after, before) != 0 && strstr(after, "/run/layers/l1"),
	      "a commit keeps the change (the device is mounted)");
	free(after);
	CHECK_EQ_INT(decide(&a, "mount_device", MOUNT_L1, 0, &e), -1, "... so the same mount is now denied");
	CHECK_MSG(e.reason_json, "\"allowed\":false", "... by the engine");
	free(before);

	/* A longer chain: overlay committed, create rolled back, create committed. */
	CHECK_EQ_INT(decide(&a, "mount_overlay", OVERLAY_C1, 0, &e), 0, "mount_overlay committed");
	static const char create[] =
		"{'container_id': 'c1', 'argv': ['/bin/web'], 'env': ['PATH=/usr/bin:/bin', 'PORT=80'], 'working_dir': "
		"'/srv',"
		" 'user': {'uid': 1000, 'gid': 1000, 'umask': '0022'},"
		" 'capabilities': {'bounding': ['CAP_NET_BIND_SERVICE'], 'effective': ['CAP_NET_BIND_SERVICE'],"
		"                  'inheritable': [], 'permitted': ['CAP_NET_BIND_SERVICE'], 'ambient': []}}";
	before = state(&a);
	CHECK_EQ_INT(decide(&a, "create_container", create, -1, &e), 1,
		     "create allowed, the spawn failed: rolled back");
	after = state(&a);
	CHECK_EQ_STR(after, before, "... the state is as before the create");
	free(after);
	CHECK_EQ_INT(decide(&a, "exec_in_container",
			    "{'container_id': 'c1', 'process_id': 'p1', 'argv': ['/bin/sh'],"
			    " 'working_dir': '/srv'}",
			    0, &e),
		     -1, "... no container c1 runs: exec denied");
	CHECK_EQ_INT(decide(&a, "create_container", create, 0, &e), 0, "the same create again: allowed, committed");
	CHECK_EQ_INT(decide(&a, "create_container", create, 0, &e), -1, "... a second create of c1 is denied");
	CHECK_EQ_INT(decide(&a, "exec_in_container",
			    "{'container_id': 'c1', 'process_id': 'p1', 'argv': ['/bin/sh'],"
			    " 'working_dir': '/srv'}",
			    0, &e),
		     0, "... c1 runs: exec allowed");
	free(before);
	error_reset(&e);
	agent_free(&a);
}

/* The allowed decision's drops (policy_decision.drop_*) reach the
 * rt_spec the runtime starts. */
static void test_drops_to_spec(void)
{
	struct agent a;
	struct op_error e = {0};
	struct decision dc;
	struct json_doc *doc = NULL;
	bound_agent(&a);
	decide(&a, "mount_device", MOUNT_L1, 0, &e);
	decide(&a, "mount_overlay", OVERLAY_C1, 0, &e);
	CHECK_EQ_INT(begin(&a, "create_container",
			   "{'container_id': 'c1', 'argv': ['/bin/web'], 'working_dir': '/srv',"
			   " 'env': ['PATH=/usr/bin:/bin', 'SECRET=hunter2', 'PORT=80', 'TOKEN=x'],"
			   " 'user': {'uid': 1000, 'gid': 1000, 'umask': '0022'},"
			   " 'capabilities': {'bounding': ['CAP_NET_BIND_SERVICE', 'CAP_SYS_ADMIN'],"
			   "   'effective': ['CAP_NET_BIND_SERVICE'], 'inheritable': [],"
			   "   'permitted': ['CAP_NET_BIND_SERVICE', 'CAP_SYS_ADMIN'], 'ambient': []}}",
			   &dc, &e, &doc),
		     0, "create with extra variables and capabilities: allowed with drops: %s", e.err.msg);
	CHECK(dc.d.drop_env && dc.d.drop_env[1] && dc.d.drop_env[3] && !dc.d.drop_env[0] && !dc.d.drop_env[2],
	      "the decision drops SECRET and TOKEN (env[1], env[3])");
	CHECK(dc.d.drop_caps[0] && dc.d.drop_caps[0][1] && !dc.d.drop_caps[0][0],
	      "the decision drops one bounding capability (CAP_SYS_ADMIN)");
	CHECK(dc.d.drop_caps[3] && dc.d.drop_caps[3][1] && !dc.d.drop_caps[3][0], "... and one permitted");
	CHECK(dc.d.drop_caps[1] == NULL || !dc.d.drop_caps[1][0], "... and no effective one");
	CHECK_MSG(dc.d.reason, "\"drop_env\":[{\"index\":1,\"name\":\"SECRET\"},{\"index\":3,\"name\":\"TOKEN\"}]",
		  "the reason names the same drops");
	struct rt_spec s;
	struct rt_spec_mem m;
	struct uvm_err err = {0, ""};
	CHECK_EQ_INT(rt_spec_container(&last_req, &dc.d, &s, &m, &err), 0, "the spec from the decision: %s", err.msg);
	CHECK(s.envp && s.envp[0] && !strcmp(s.envp[0], "PATH=/usr/bin:/bin") && s.envp[1] &&
		      !strcmp(s.envp[1], "PORT=80") && !s.envp[2],
	      "the spec's environment is PATH and PORT: SECRET and TOKEN dropped");
	CHECK_EQ_INT(s.caps[0], 1ull << 10, "bounding is CAP_NET_BIND_SERVICE: CAP_SYS_ADMIN dropped");
	CHECK_EQ_INT(s.caps[3], 1ull << 10, "permitted is CAP_NET_BIND_SERVICE: CAP_SYS_ADMIN dropped");
	rt_spec_free(&m);
	CHECK_EQ_INT(decide_end(&a, &dc, 0, &e), 0, "decide_end commits the create");
	CHECK(dc.d.reason == NULL && dc.d.drop_env == NULL && !dc.pending, "decide_end frees the decision");
	end(doc);
	error_reset(&e);
	agent_free(&a);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(sev_dev, sizeof sev_dev, "%s/sev-guest", tmpdir);
	snprintf(nowhere, sizeof nowhere, "%s/absent", tmpdir);
	int fd = open(sev_dev, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		perror(sev_dev);
		return 2;
	}
	close(fd);
	/* Never the real kernel's interfaces: no configfs-tsm, the played PSP. */
	attest_tsm_seam.root = nowhere;
	attest_tsm_seam.kernel = NULL;
	attest_sev_guest_seam.dev = nowhere;
	attest_sev_guest_seam.ioctl = psp_ioctl;
	attest_sev_guest_seam.ctx = &psp;
	policy_text = dq(policy_text_sq);

	test_no_backend();
	test_bind();
	test_mismatch();
	test_invalid_attested_policy();
	test_decide_denied();
	test_decide_rollback_commit();
	test_drops_to_spec();

	free(policy_text);
	unlink(sev_dev);
	rmdir(tmpdir);
	return check_done();
}
