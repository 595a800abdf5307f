/* uvm policy: host tooling of the execution policy (docs/policy.md).
 *   hash FILE        lowercase SHA-256 of the exact bytes (the report's HOST_DATA)
 *   host-data FILE   the same 32 bytes in base64, for QEMU's sev-snp host-data=
 *   check FILE       strict validation with the engine's own loader
 *   replay --policy FILE --requests FILE [--state]
 *                    runs recorded requests through the engine the guest uses
 *   gen --image OCI_LAYOUT [--layers FILE] [--config FILE] [-o FILE]
 *                    a policy for the image's container (policy_gen.h) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "file_util.h"
#include "hash.h"
#include "hex.h"
#include "json.h"
#include "policy.h"
#include "policy_gen.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: uvm policy hash FILE\n"
		"       uvm policy host-data FILE\n"
		"       uvm policy check FILE\n"
		"       uvm policy replay --policy FILE --requests FILE [--state]\n"
		"       uvm policy gen --image OCI_LAYOUT [--layers LAYERS_JSON] [--config FILE]\n"
		"                      [-o FILE]\n"
		"\n"
		"hash       prints the lowercase hex SHA-256 of FILE's exact bytes: the HOST_DATA\n"
		"           the attestation report must carry for this policy\n"
		"host-data  prints the same digest in base64 (QEMU sev-snp-guest host-data=)\n"
		"check      validates FILE strictly, as the guest will; prints the JSON path of\n"
		"           the problem\n"
		"replay     decides each request of the JSON array in --requests in order with\n"
		"           the guest's engine, committing every allowed one, and prints one line\n"
		"           of JSON per decision (op, allowed, reason); --state prints the final\n"
		"           state as a last line\n"
		"gen        writes (to stdout, or -o FILE) a policy for the container of the OCI\n"
		"           image layout: argv (Entrypoint + Cmd), env, working_dir and user from\n"
		"           the image config, the layers' dm-verity root hashes exactly as 'uvm\n"
		"           layer --image' computes them (it builds them in $TMPDIR: needs root and\n"
		"           mkfs.erofs), or taken from --layers DIR/layers.json written by 'uvm\n"
		"           layer' for this image; defaults deny what running the image does not\n"
		"           need; --config FILE overrides fields (docs/policy.md). The same inputs\n"
		"           give the same bytes\n"
		"\n"
		"exit status: 0 success (replay: every request allowed), 1 invalid policy\n"
		"(replay: some request denied; gen: invalid image, layers or overrides, or a\n"
		"failed layer build), 2 usage error or unreadable input\n");
}

static int read_policy_file(const char *path, struct file_buf *buf)
{
	struct uvm_err err = {0, ""};
	if (file_read_all(path, POLICY_MAX_BYTES, buf, &err) < 0) {
		fprintf(stderr, "uvm policy: cannot read the policy %s: %s\n", path, err.msg);
		return -1;
	}
	return 0;
}

static int cmd_digest(const char *path, int base64)
{
	struct file_buf buf;
	uint8_t digest[UVM_SHA256_LEN];
	char text[2 * UVM_SHA256_LEN + 1 > 4 * ((UVM_SHA256_LEN + 2) / 3) + 1
			  ? 2 * UVM_SHA256_LEN + 1
			  : 4 * ((UVM_SHA256_LEN + 2) / 3) + 1];
	if (read_policy_file(path, &buf) < 0)
		return 2;
	uvm_sha256(buf.data, buf.len, digest);
	if (base64)
		uvm_base64_encode(digest, sizeof digest, text);
	else
		uvm_hex_encode(digest, sizeof digest, text);
	printf("%s\n", text);
	file_buf_free(&buf);
	return 0;
}

static int cmd_check(const char *path)
{
	struct file_buf buf;
	struct uvm_err err = {0, ""};
	struct policy *pol = NULL;
	if (read_policy_file(path, &buf) < 0)
		return 2;
	int rc = policy_load(buf.data, buf.len, &pol, &err);
	if (rc < 0)
		fprintf(stderr, "%s: %s\n(fix the policy and run 'uvm policy check' again)\n", path, err.msg);
	else
		printf("%s: valid policy, %zu containers\n", path, policy_container_count(pol));
	policy_free(pol);
	file_buf_free(&buf);
	return rc < 0 ? 1 : 0;
}

/* Decides every element of the requests array; returns the exit status. */
static int replay_all(struct policy_state *st, const struct json_value *reqs)
{
	int denied = 0;
	for (size_t i = 0; i < json_len(reqs); i++) {
		struct policy_decision d;
		if (policy_decide(st, json_at(reqs, i), &d) < 0) {
			fprintf(stderr, "uvm policy replay: out of memory at request %zu\n", i);
			return 2;
		}
		printf("%s\n", d.reason);
		if (d.allowed)
			policy_commit(st);
		denied |= !d.allowed;
		policy_decision_free(&d);
	}
	return denied ? 1 : 0;
}

static int replay(const char *policy_path, const char *requests_path, int show_state)
{
	struct file_buf pbuf, rbuf;
	struct uvm_err err = {0, ""};
	struct policy *pol = NULL;
	struct json_doc *doc = NULL;
	int rc = 2;
	if (read_policy_file(policy_path, &pbuf) < 0)
		return 2;
	if (file_read_all(requests_path, 64u << 20, &rbuf, &err) < 0) {
		fprintf(stderr, "uvm policy replay: cannot read the requests %s: %s\n", requests_path, err.msg);
		file_buf_free(&pbuf);
		return 2;
	}
	const struct json_value *reqs = json_parse(rbuf.data, rbuf.len, rbuf.len, &doc, &err);
	if (policy_load(pbuf.data, pbuf.len, &pol, &err) < 0)
		fprintf(stderr, "uvm policy replay: %s: %s\n", policy_path, err.msg);
	else if (!reqs || json_type(reqs) != JSON_ARRAY)
		fprintf(stderr, "uvm policy replay: %s: %s\n", requests_path,
			reqs ? "expected a JSON array of requests" : err.msg);
	else {
		struct policy_state *st = policy_state_new(pol);
		rc = st ? replay_all(st, reqs) : 2;
		if (st && show_state) {
			char *s = policy_state_json(st);
			printf("%s\n", s ? s : "null");
			free(s);
		}
		policy_state_free(st);
	}
	json_free(doc);
	policy_free(pol);
	file_buf_free(&pbuf);
	file_buf_free(&rbuf);
	return rc;
}

static int cmd_replay(int argc, char **argv)
{
	const char *pol = NULL, *reqs = NULL;
	int state = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--policy") == 0 && i + 1 < argc)
			pol = argv[++i];
		else if (strcmp(argv[i], "--requests") == 0 && i + 1 < argc)
			reqs = argv[++i];
		else if (strcmp(argv[i], "--state") == 0)
			state = 1;
		else {
			fprintf(stderr, "uvm policy replay: unexpected argument '%s'\n", argv[i]);
			return 2;
		}
	}
	if (!pol || !reqs) {
		fprintf(stderr, "uvm policy replay: --policy FILE and --requests FILE are required\n");
		return 2;
	}
	return replay(pol, reqs, state);
}

static int run(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "replay") == 0)
		return cmd_replay(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "gen") == 0)
		return policy_gen_main(argc - 1, argv + 1);
	if (argc != 3) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "hash") == 0)
		return cmd_digest(argv[2], 0);
	if (strcmp(argv[1], "host-data") == 0)
		return cmd_digest(argv[2], 1);
	if (strcmp(argv[1], "check") == 0)
		return cmd_check(argv[2]);
	fprintf(stderr, "uvm policy: unknown subcommand '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}

const struct uvm_command uvm_command_policy = {"policy", "hash, check, replay and generate execution policies", run};
