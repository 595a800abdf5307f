/* Policy binding: no policy governs this guest unless SHA-256 of its exact
 * bytes equals HOST_DATA in a fresh attestation report signed by the PSP.
 *
 * States (struct agent):
 *   BINDING_NONE        no policy yet; a set_policy may bind one
 *   BINDING_BOUND       a matching policy is bound; it can never be replaced
 *   BINDING_FAILED      fail closed for good: no attestation back-end exists,
 *                       or the attested policy itself is invalid (no other
 *                       policy can ever match HOST_DATA, which is fixed at
 *                       launch)
 * A mismatching policy leaves BINDING_NONE (with the reason kept for every
 * later denial): only the one policy whose hash is HOST_DATA can ever bind. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest.h"
#include "hash.h"
#include "hex.h"
#include "log.h"
#include "ops.h"
#include "policy.h"

/* REPORT_DATA of the report fetched to check a policy: a label that no other
 * report request uses, so this report can't be mistaken for another one. */
static const char binding_label[] = "uvm-policy-binding-v1";

static void report_data_for(const char *label, const uint8_t *data, size_t len, uint8_t out[SNP_REPORT_DATA_LEN])
{
	uint8_t buf[128];
	size_t llen = strlen(label) + 1; /* the label's NUL separates it from the data */
	memcpy(buf, label, llen);
	memcpy(buf + llen, data, len);
	uvm_sha512(buf, llen + len, out);
}

void binding_report_data(const char *label, const uint8_t *data, size_t len, uint8_t out[SNP_REPORT_DATA_LEN])
{
	report_data_for(label, data, len, out);
}

void binding_init(struct agent *a)
{
	const char *backend = attest_probe();
	if (backend) {
		a->binding = BINDING_NONE;
		snprintf(a->deny_reason, sizeof a->deny_reason,
			 "no policy: send set_policy with the policy whose SHA-256 is this VM's HOST_DATA first");
		log_msg("attestation back-end: %s", backend);
		return;
	}
	a->binding = BINDING_FAILED;
	snprintf(a->deny_reason, sizeof a->deny_reason,
		 "fail closed: no SNP attestation back-end (configfs-tsm or /dev/sev-guest) in this guest, so no "
		 "policy can be bound and nothing may run");
	log_msg("%s", a->deny_reason);
}

int binding_gate(struct agent *a, struct op_error *e)
{
	if (a->binding == BINDING_BOUND)
		return 0;
	return op_fail(e, OP_ERR_DENIED, "%s", a->deny_reason);
}

/* {"policy_sha256": X, "host_data": Y} for denials a tool can act on. */
static char *mismatch_reason(const char *policy_hex, const char *host_hex)
{
	struct json_writer w;
	json_writer_init(&w, 4096);
	json_w_obj(&w);
	json_w_key(&w, "rule");
	json_w_cstr(&w, "host_data_binding");
	json_w_key(&w, "policy_sha256");
	json_w_cstr(&w, policy_hex);
	json_w_key(&w, "host_data");
	json_w_cstr(&w, host_hex);
	json_w_end(&w);
	return json_writer_finish(&w, NULL);
}

static int decode_policy(const char *text, uint8_t **bytes, size_t *len, struct op_error *e)
{
	size_t tlen = strlen(text);
	*bytes = malloc(AGENT_POLICY_MAX);
	if (!*bytes)
		return op_fail(e, OP_ERR_FAILED, "set_policy: out of memory");
	long n = uvm_base64_decode(text, tlen, *bytes, AGENT_POLICY_MAX);
	if (n <= 0) {
		free(*bytes);
		return op_fail(e, OP_ERR_MALFORMED,
			       "set_policy: policy_base64 is not strict base64 of 1..%u bytes (the policy limit)",
			       AGENT_POLICY_MAX);
	}
	*len = (size_t)n;
	return 0;
}

/* Fetches a fresh report bound to this policy hash; compares HOST_DATA. */
static int check_host_data(struct agent *a, const uint8_t sha[32], const char *sha_hex, struct op_error *e)
{
	uint8_t rd[SNP_REPORT_DATA_LEN];
	struct attest_result ar;
	report_data_for(binding_label, sha, 32, rd);
	if (attest_get_report(rd, &ar, &e->err)) {
		snprintf(a->deny_reason, sizeof a->deny_reason, "no policy bound: attestation failed: %.400s",
			 e->err.msg);
		return op_fail(e, OP_ERR_DENIED, "%s", a->deny_reason);
	}
	char host_hex[2 * SNP_HOST_DATA_LEN + 1];
	uvm_hex_encode(ar.report.host_data, SNP_HOST_DATA_LEN, host_hex);
	attest_result_free(&ar); /* only the auxblob: ar.report stays valid */
	if (memcmp(ar.report.host_data, sha, 32) == 0)
		return 0;
	snprintf(a->deny_reason, sizeof a->deny_reason,
		 "no policy bound: the policy offered had sha256 %s but HOST_DATA is %s", sha_hex, host_hex);
	e->reason_json = mismatch_reason(sha_hex, host_hex);
	return op_fail(e, OP_ERR_DENIED,
		       "set_policy: policy sha256 %s does not match HOST_DATA %s (expected a policy whose SHA-256 is "
		       "HOST_DATA)",
		       sha_hex, host_hex);
}

static int refuse_state(struct agent *a, struct op_error *e)
{
	if (a->binding == BINDING_BOUND) {
		char hex[65];
		uvm_hex_encode(a->policy_sha256, 32, hex);
		return op_fail(e, OP_ERR_DENIED,
			       "set_policy: a policy (sha256 %s) is already bound; it can be set exactly once", hex);
	}
	return op_fail(e, OP_ERR_DENIED, "set_policy: %s", a->deny_reason);
}

int op_set_policy(struct op_call *c)
{
	struct agent *a = c->a;
	struct json_writer *w = c->w;
	struct op_error *e = c->e;
	if (a->binding != BINDING_NONE)
		return refuse_state(a, e);
	uint8_t *bytes = NULL, sha[32];
	size_t len = 0;
	char sha_hex[65];
	if (decode_policy(c->r->policy_base64, &bytes, &len, e))
		return -1;
	uvm_sha256(bytes, len, sha);
	uvm_hex_encode(sha, 32, sha_hex);
	if (check_host_data(a, sha, sha_hex, e)) {
		free(bytes);
		log_msg("set_policy refused: %s", e->err.msg);
		return -1;
	}
	int rc = policy_load((const char *)bytes, len, &a->policy, &e->err);
	free(bytes);
	if (rc) {
		a->binding = BINDING_FAILED;
		snprintf(a->deny_reason, sizeof a->deny_reason,
			 "fail closed: the attested policy (sha256 %s) is invalid: %.300s", sha_hex, e->err.msg);
		log_msg("%s", a->deny_reason);
		return op_fail(e, OP_ERR_DENIED, "set_policy: %s", a->deny_reason);
	}
	a->pstate = policy_state_new(a->policy);
	if (!a->pstate) {
		policy_free(a->policy);
		a->policy = NULL;
		return op_fail(e, OP_ERR_FAILED, "set_policy: out of memory for the policy state");
	}
	memcpy(a->policy_sha256, sha, 32);
	a->binding = BINDING_BOUND;
	log_msg("policy bound: sha256 %s, %zu containers", sha_hex, policy_container_count(a->policy));
	log_timestamp("policy_bound");
	json_w_obj(w);
	json_w_key(w, "policy_sha256");
	json_w_cstr(w, sha_hex);
	json_w_key(w, "containers");
	json_w_uint(w, policy_container_count(a->policy));
	json_w_end(w);
	return 0;
}
