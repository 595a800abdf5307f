/* uvm policy: host tooling of the execution policy (docs/policy.md).
 *   hash FILE        lowercase SHA-256 of the exact bytes (the report's HOST_DATA)
 *   host-data FILE   the same 32 bytes in base64, for QEMU's sev-snp host-data=
 *   check FILE       strict validation with the engine's own loader
 *   replay --policy FILE --requests FILE [--state]
 *                    runs recorded requests through the engine the guest uses
 *   gen --image OCI_LAYOUT [--layers FILE] [--config FILE] [-o FILE]
 *                    a policy for the image's container (policy_gen.h)
 * `uvm policy COMMAND --help` describes one command. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "command.h"
#include "file_util.h"
#include "hash.h"
#include "hex.h"
#include "json.h"
#include "policy.h"
#include "policy_gen.h"

static const char HELP[] =
	"usage: uvm policy hash FILE\n"
	"       uvm policy host-data FILE\n"
	"       uvm policy check FILE\n"
	"       uvm policy replay --policy FILE --requests FILE [--state]\n"
	"       uvm policy gen --image OCI_LAYOUT [--name NAME] [--image OCI_LAYOUT [--name NAME]]...\n"
	"                      [--layers LAYERS_JSON] [--config FILE] [-o FILE]\n"
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
	"           give the same bytes. Several --image: one container each, in one policy\n"
	"\n"
	"exit status: 0 success (replay: every request allowed), 1 invalid policy\n"
	"(replay: some request denied; gen: invalid image, layers or overrides, or a\n"
	"failed layer build), 2 usage error or unreadable input\n"
	"\n"
	"'uvm policy COMMAND --help' describes one command.\n";

static const char HELP_HASH[] = "usage: uvm policy hash FILE\n"
				"Prints the lowercase hex SHA-256 of FILE's exact bytes: the HOST_DATA the\n"
				"attestation report must carry for this policy.\n"
				"exit status: 0 printed, 2 usage error or unreadable input\n";

static const char HELP_HOST_DATA[] = "usage: uvm policy host-data FILE\n"
				     "Prints the SHA-256 of FILE's exact bytes in base64 (QEMU sev-snp-guest\n"
				     "host-data=).\n"
				     "exit status: 0 printed, 2 usage error or unreadable input\n";

static const char HELP_CHECK[] = "usage: uvm policy check FILE\n"
				 "Validates FILE strictly, as the guest will; prints the JSON path of the problem.\n"
				 "exit status: 0 valid, 1 invalid policy, 2 usage error or unreadable input\n";

static const char HELP_REPLAY[] = "usage: uvm policy replay --policy FILE --requests FILE [--state]\n"
				  "Decides each request of the JSON array in --requests in order with the guest's\n"
				  "engine, committing every allowed one, and prints one line of JSON per decision\n"
				  "(op, allowed, reason); --state prints the final state as a last line.\n"
				  "exit status: 0 every request allowed, 1 some request denied, 2 usage error or\n"
				  "unreadable (or invalid) policy or requests\n";

static const char HELP_GEN[] =
	"usage: uvm policy gen --image OCI_LAYOUT [--name NAME] [--image OCI_LAYOUT [--name NAME]]...\n"
	"                      [--layers LAYERS_JSON] [--config FILE] [-o FILE]\n"
	"Writes (to stdout, or -o FILE) a policy for the container of the OCI image\n"
	"layout: argv (Entrypoint + Cmd), env, working_dir and user from the image\n"
	"config, the layers' dm-verity root hashes exactly as 'uvm layer --image'\n"
	"computes them (it builds them in $TMPDIR: needs root and mkfs.erofs), or taken\n"
	"from --layers DIR/layers.json written by 'uvm layer' for this image; defaults\n"
	"deny what running the image does not need; --config FILE overrides fields\n"
	"(docs/policy.md). The same inputs give the same bytes.\n"
	"Several --image: one container each, in that order, in one policy (for one UVM\n"
	"running them all). Each is named by the --name after its --image, else by its\n"
	"layout's org.opencontainers.image.ref.name annotation if that is 1-128 of\n"
	"[A-Za-z0-9._-], else container<I> (I from 0); names must differ. --config then\n"
	"applies to every container and may not give \"name\"; --layers goes with one\n"
	"image. One image keeps the name \"container\" (or --name, or --config's).\n"
	"exit status: 0 written, 1 invalid image, layers or overrides, or a failed layer\n"
	"build, 2 usage error\n";

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
	char text[2 * UVM_SHA256_LEN + 1 > 4 * ((UVM_SHA256_LEN + 2) / 3) + 1 ? 2 * UVM_SHA256_LEN + 1
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

static const struct option OPTS_NONE[] = {CLI_HELP_OPTION, {NULL, 0, NULL, 0}};

/* hash, host-data, check: exactly one operand, FILE. */
static int parse_file(struct cli *cl, const char **file)
{
	*file = NULL;
	for (int c; (c = cli_next(cl)) != CLI_END;) {
		if (c == CLI_EXIT || (*file ? cli_unexpected(cl) : (*file = cl->arg, 0)))
			return CLI_EXIT;
	}
	if (!*file) {
		cli_fail(cl, "FILE (the policy) is required");
		return CLI_EXIT;
	}
	return 0;
}

static int cmd_hash(struct cli *cl)
{
	const char *file;
	return parse_file(cl, &file) == CLI_EXIT ? cl->status : cmd_digest(file, 0);
}

static int cmd_host_data(struct cli *cl)
{
	const char *file;
	return parse_file(cl, &file) == CLI_EXIT ? cl->status : cmd_digest(file, 1);
}

static int cmd_check_file(struct cli *cl)
{
	const char *file;
	return parse_file(cl, &file) == CLI_EXIT ? cl->status : cmd_check(file);
}

enum { O_POLICY = 256, O_REQUESTS, O_STATE, O_IMAGE, O_NAME, O_LAYERS, O_CONFIG };

static const struct option OPTS_REPLAY[] = {
	{"policy", required_argument, NULL, O_POLICY},
	{"requests", required_argument, NULL, O_REQUESTS},
	{"state", no_argument, NULL, O_STATE},
	CLI_HELP_OPTION,
	{NULL, 0, NULL, 0},
};

static int cmd_replay(struct cli *cl)
{
	const char *pol = NULL, *reqs = NULL;
	int state = 0;
	for (int c; (c = cli_next(cl)) != CLI_END;) {
		switch (c) {
		case CLI_EXIT: return cl->status;
		case O_POLICY: pol = cl->arg; break;
		case O_REQUESTS: reqs = cl->arg; break;
		case O_STATE: state = 1; break;
		default: cli_unexpected(cl); return cl->status; /* an operand */
		}
	}
	if (!pol || !reqs) {
		cli_fail(cl, "%s FILE is required", !pol ? "--policy" : "--requests");
		return cl->status;
	}
	return replay(pol, reqs, state);
}

static const struct option OPTS_GEN[] = {
	{"image", required_argument, NULL, O_IMAGE},
	{"name", required_argument, NULL, O_NAME},
	{"layers", required_argument, NULL, O_LAYERS},
	{"config", required_argument, NULL, O_CONFIG},
	CLI_HELP_OPTION,
	{NULL, 0, NULL, 0},
};

static int cmd_gen(struct cli *cl)
{
	static struct gen_args a;
	memset(&a, 0, sizeof a);
	for (int c; (c = cli_next(cl)) != CLI_END;) {
		int bad;
		switch (c) {
		case CLI_EXIT: return cl->status;
		case O_IMAGE:
			bad = a.nimages == GEN_MAX_IMAGES ? cli_fail(cl, "at most %d --image", GEN_MAX_IMAGES) : 0;
			if (!bad)
				a.images[a.nimages++] = cl->arg;
			break;
		case O_NAME:
			bad = !a.nimages ? cli_fail(cl, "--name names the --image before it: give --image first")
					 : cli_once(cl, &a.names[a.nimages - 1]);
			break;
		case O_LAYERS: bad = cli_once(cl, &a.layers); break;
		case O_CONFIG: bad = cli_once(cl, &a.config); break;
		case 'o': bad = cli_once(cl, &a.out); break;
		default: bad = cli_unexpected(cl); break; /* an operand */
		}
		if (bad)
			return cl->status;
	}
	if (!a.nimages) {
		cli_fail(cl, "--image OCI_LAYOUT is required");
		return cl->status;
	}
	if (a.nimages > 1 && a.layers) {
		cli_fail(cl, "--layers goes with one --image (each image's root hashes are computed)");
		return cl->status;
	}
	return policy_gen_run(&a);
}

static const struct policy_cmd {
	const char *name, *cmd, *help, *shortopts;
	const struct option *opts;
	int (*run)(struct cli *cl);
} CMDS[] = {
	{"hash", "uvm policy hash", HELP_HASH, "", OPTS_NONE, cmd_hash},
	{"host-data", "uvm policy host-data", HELP_HOST_DATA, "", OPTS_NONE, cmd_host_data},
	{"check", "uvm policy check", HELP_CHECK, "", OPTS_NONE, cmd_check_file},
	{"replay", "uvm policy replay", HELP_REPLAY, "", OPTS_REPLAY, cmd_replay},
	{"gen", "uvm policy gen", HELP_GEN, "o:", OPTS_GEN, cmd_gen},
};

static int run(int argc, char **argv)
{
	struct cli cl;
	int c;
	/* Options of `uvm policy` itself (only --help), then the command. */
	cli_init(&cl, "uvm policy", HELP, "", OPTS_NONE, argc, argv);
	if ((c = cli_next(&cl)) == CLI_EXIT)
		return cl.status;
	if (c == CLI_END)
		return cli_usage_error("uvm policy", "a command is required: hash, host-data, check, "
						     "replay or gen");
	if (strcmp(cl.arg, "help") == 0) {
		fputs(HELP, stdout);
		return 0;
	}
	int first = optind - 1; /* the command's index: nothing before it but `--` */
	for (size_t i = 0; i < sizeof CMDS / sizeof CMDS[0]; i++)
		if (strcmp(cl.arg, CMDS[i].name) == 0) {
			struct cli sub;
			cli_init(&sub, CMDS[i].cmd, CMDS[i].help, CMDS[i].shortopts, CMDS[i].opts, argc - first,
				 argv + first);
			return CMDS[i].run(&sub);
		}
	return cli_usage_error("uvm policy",
			       "unknown command '%s' (hash, host-data, check, replay "
			       "or gen)",
			       cl.arg);
}

const struct uvm_command uvm_command_policy = {"policy", "hash, check, replay and generate execution policies", run};
