/* uvm idblock: build the SEV-SNP ID block and ID auth info for a launch
 * measurement and guest policy, signed with the ID key (and optionally
 * endorsed by the author key), for `uvm launch --snp --id-block --id-auth`.
 * Deterministic: the same keys and inputs give the same bytes (RFC 6979).
 * Exit status: 0 written, 1 invalid input (key, file), 2 usage. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "command.h"
#include "file_util.h"
#include "hex.h"
#include "idblock.h"

/* The policy `uvm launch --snp` starts the guest with: the ID block's
 * POLICY must equal it, or SNP_LAUNCH_FINISH refuses the block. */
#define DEFAULT_POLICY 0x30000ull
#define POLICY_MBO (1ull << 17)       /* reserved, must be one */
#define POLICY_RESERVED (~0ull << 26) /* bits 26..63: reserved, must be zero */

static const char HELP[] =
	"usage: uvm idblock --measurement HEX --id-key PEM [--author-key PEM] [--policy N]\n"
	"                   [--family-id HEX] [--image-id HEX] [--guest-svn N] --id-block FILE --id-auth FILE\n"
	"Builds the SEV-SNP ID block (0x60 bytes) and ID auth info (0x1000 bytes) that\n"
	"SNP_LAUNCH_FINISH takes, as raw binary files for `uvm launch --snp --id-block FILE\n"
	"--id-auth FILE`. The ID block holds --measurement (96 hex digits: the launch\n"
	"measurement the PSP must compute, e.g. from `uvm measure`), --family-id and --image-id\n"
	"(32 hex digits each, default zero), --guest-svn (default 0) and --policy (default\n"
	"0x30000, the policy of `uvm launch --snp`; it must equal the launch policy). It is\n"
	"signed by --id-key; --author-key, if given, signs the ID key. Keys: unencrypted PEM\n"
	"ECDSA P-384 private keys. Signatures are deterministic (RFC 6979): the same keys and\n"
	"inputs give the same files.\n"
	"Prints the digests the attestation report will carry, for `uvm verify`:\n"
	"  id_key_digest: HEX        (--id-key-digest HEX)\n"
	"  author_key_digest: HEX    (--author-key-digest HEX; only with --author-key)\n"
	"Exit status: 0 written, 1 invalid input (unreadable or wrong key, unwritable file),\n"
	"2 usage error.\n";

enum { O_MEASUREMENT = 256, O_ID_KEY, O_AUTHOR_KEY, O_POLICY, O_FAMILY, O_IMAGE, O_SVN, O_BLOCK, O_AUTH };

static const struct option OPTS[] = {
	{"measurement", required_argument, NULL, O_MEASUREMENT},
	{"id-key", required_argument, NULL, O_ID_KEY},
	{"author-key", required_argument, NULL, O_AUTHOR_KEY},
	{"policy", required_argument, NULL, O_POLICY},
	{"family-id", required_argument, NULL, O_FAMILY},
	{"image-id", required_argument, NULL, O_IMAGE},
	{"guest-svn", required_argument, NULL, O_SVN},
	{"id-block", required_argument, NULL, O_BLOCK},
	{"id-auth", required_argument, NULL, O_AUTH},
	CLI_HELP_OPTION,
	{NULL, 0, NULL, 0},
};

struct idblock_args {
	const char *measurement, *id_key, *author_key, *policy, *family, *image, *block_out, *auth_out;
	struct idblock_params p;
	int have_svn;
};

static int hex_value(struct cli *cl, const char *text, uint8_t *out, size_t len)
{
	if (uvm_hex_decode(text, out, len) == 0)
		return 0;
	return cli_fail(cl, "%s '%s' must be exactly %zu hex digits", cl->opt, text, 2 * len);
}

static int parse_policy(struct cli *cl, uint64_t *out)
{
	if (cli_uint(cl, 0, 0, UINT64_MAX, out))
		return -1;
	if (!(*out & POLICY_MBO))
		return cli_fail(cl, "--policy '%s': bit 17 is reserved and must be 1 (e.g. 0x30000)", cl->arg);
	if (*out & POLICY_RESERVED)
		return cli_fail(cl, "--policy '%s': bits 26..63 are reserved and must be 0", cl->arg);
	return 0;
}

static int parse_one(struct cli *cl, int c, struct idblock_args *a)
{
	uint64_t v;
	switch (c) {
	case O_MEASUREMENT: return cli_once(cl, &a->measurement) ? -1 : hex_value(cl, cl->arg, a->p.ld, IDBLOCK_LD_LEN);
	case O_ID_KEY: return cli_once(cl, &a->id_key);
	case O_AUTHOR_KEY: return cli_once(cl, &a->author_key);
	case O_POLICY: return cli_once(cl, &a->policy) ? -1 : parse_policy(cl, &a->p.policy);
	case O_FAMILY: return cli_once(cl, &a->family) ? -1 : hex_value(cl, cl->arg, a->p.family_id, IDBLOCK_ID_LEN);
	case O_IMAGE: return cli_once(cl, &a->image) ? -1 : hex_value(cl, cl->arg, a->p.image_id, IDBLOCK_ID_LEN);
	case O_SVN:
		if (a->have_svn++)
			return cli_fail(cl, "option '--guest-svn' given twice");
		if (cli_uint(cl, 0, 0, UINT32_MAX, &v))
			return -1;
		a->p.guest_svn = (uint32_t)v;
		return 0;
	case O_BLOCK: return cli_once(cl, &a->block_out);
	case O_AUTH: return cli_once(cl, &a->auth_out);
	default: return cli_unexpected(cl); /* an operand */
	}
}

/* 0 to go on, else CLI_EXIT (cl->status says how). */
static int parse_args(struct cli *cl, struct idblock_args *a)
{
	a->p.policy = DEFAULT_POLICY;
	for (int c; (c = cli_next(cl)) != CLI_END;) {
		if (c == CLI_EXIT || parse_one(cl, c, a))
			return CLI_EXIT;
	}
	const char *missing = !a->measurement ? "--measurement HEX"
			      : !a->id_key    ? "--id-key PEM"
			      : !a->block_out ? "--id-block FILE"
			      : !a->auth_out  ? "--id-auth FILE"
					      : NULL;
	if (missing) {
		cli_fail(cl, "%s is required", missing);
		return CLI_EXIT;
	}
	if (strcmp(a->block_out, a->auth_out) == 0) {
		cli_fail(cl, "--id-block and --id-auth name the same file '%s'", a->block_out);
		return CLI_EXIT;
	}
	return 0;
}

/* Builds, re-checks (as launch will) and writes both files. */
static int build(const struct idblock_args *a, EVP_PKEY *id, EVP_PKEY *author, struct idblock_info *info,
		 struct uvm_err *err)
{
	static uint8_t block[IDBLOCK_SIZE], auth[IDAUTH_SIZE];
	idblock_encode(&a->p, block);
	if (idblock_build_auth(block, id, author, auth, err))
		return -1;
	if (idblock_check(block, sizeof block, auth, sizeof auth, info, err))
		return uvm_wrap(err, "self-check of the signed ID block failed");
	if (file_write_atomic_bytes(a->block_out, block, sizeof block, err))
		return uvm_wrap(err, "%s", a->block_out);
	if (file_write_atomic_bytes(a->auth_out, auth, sizeof auth, err))
		return uvm_wrap(err, "%s", a->auth_out);
	return 0;
}

static int run(int argc, char **argv)
{
	struct idblock_args a;
	struct cli cl;
	memset(&a, 0, sizeof a);
	cli_init(&cl, "uvm idblock", HELP, "", OPTS, argc, argv);
	if (parse_args(&cl, &a) == CLI_EXIT)
		return cl.status;
	struct uvm_err err = {0};
	struct idblock_info info;
	EVP_PKEY *id = idblock_load_key(a.id_key, &err), *author = NULL;
	int rc = 1;
	if (!id) {
		fprintf(stderr, "uvm idblock: --id-key: %s\n", err.msg);
		goto out;
	}
	if (a.author_key && !(author = idblock_load_key(a.author_key, &err))) {
		fprintf(stderr, "uvm idblock: --author-key: %s\n", err.msg);
		goto out;
	}
	if (build(&a, id, author, &info, &err)) {
		fprintf(stderr, "uvm idblock: %s\n", err.msg);
		goto out;
	}
	char hex[2 * IDBLOCK_DIGEST_LEN + 1];
	uvm_hex_encode(info.id_key_digest, IDBLOCK_DIGEST_LEN, hex);
	printf("id_key_digest: %s\n", hex);
	if (author) {
		uvm_hex_encode(info.author_key_digest, IDBLOCK_DIGEST_LEN, hex);
		printf("author_key_digest: %s\n", hex);
	}
	rc = 0;
out:
	EVP_PKEY_free(id);
	EVP_PKEY_free(author);
	return rc;
}

const struct uvm_command uvm_command_idblock = {"idblock", "build the SNP ID block and ID auth info (signed)", run};
