/* uvm verify: decide whether an SNP attestation report comes from genuine,
 * up-to-date AMD hardware running the expected image under the expected
 * policy. This file parses the command line; verify_run.c does the work. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "command.h"
#include "hash.h"
#include "hex.h"
#include "verify.h"

static const char usage_text[] =
	"usage: uvm verify --report FILE (--vcek FILE --chain FILE | --certs FILE | --collateral DIR)\n"
	"                  [--crl FILE] EXPECTATION... [options]\n"
	"       uvm verify --report FILE --print-kds [--product NAME]\n"
	"\n"
	"Verifies an AMD SEV-SNP attestation report end to end: the certificate chain\n"
	"(ARK -> ASK/ASVK -> VCEK/VLEK), the report's signature and its binding to the\n"
	"certificate (TCB, chip id, signing key), then the expectations given below.\n"
	"\n"
	"inputs:\n"
	"  --report FILE        the 1184-byte report, raw or as hex text\n"
	"  --offset N           the report starts N bytes into FILE (a wrapper format)\n"
	"  --vcek FILE          the VCEK or VLEK certificate (DER or PEM)\n"
	"  --chain FILE         PEM bundle: the ASK (or ASVK) and the ARK\n"
	"  --certs FILE         the certificate table returned with the report (auxblob,\n"
	"                       extended report): fills the roles --vcek/--chain do not\n"
	"                       (certificates may come in any order and any mix of these\n"
	"                       files; each is chosen by its role and the output says which)\n"
	"  --collateral DIR     DIR/vcek.der (or vcek.pem), DIR/cert_chain.pem and, when\n"
	"                       present, DIR/crl.der, as fetched from the --print-kds URLs;\n"
	"                       --vcek/--chain/--crl win over the directory's files\n"
	"  --crl FILE           AMD's CRL for the product (DER or PEM, signed by the ARK):\n"
	"                       the ASK/ASVK and VCEK/VLEK must not be revoked\n"
	"  --trust-root FILE    trust this ARK INSTEAD of the pinned AMD roots (test PKI)\n"
	"  --now TIME           check validity at TIME: unix seconds, YYYY-MM-DD or\n"
	"                       YYYY-MM-DDTHH:MM:SSZ (default: the current time)\n"
	"expectations (each is a named check; an omitted one is reported as not requested;\n"
	"at least one of --measurement(s), --host-data/--policy, --report-data is required):\n"
	"  --measurement HEX    the launch measurement (96 hex digits)\n"
	"  --measurements FILE  accept any 96-hex-digit measurement in FILE\n"
	"                       (e.g. out/image/measurement.json)\n"
	"  --host-data HEX      HOST_DATA (64 hex digits)\n"
	"  --policy FILE        HOST_DATA must be the SHA-256 of FILE\n"
	"  --report-data HEX    REPORT_DATA (up to 128 hex digits, zero-padded)\n"
	"  --min-tcb TCB        minimum reported, committed and launch TCB:\n"
	"                       0xRAW or bl=N,tee=N,snp=N,ucode=N[,fmc=N]\n"
	"  --deny-provisional   reject provisional firmware (current TCB differs from the\n"
	"                       committed or reported one; accepted with a note otherwise)\n"
	"  --vmpl N             the VMPL the report was requested at\n"
	"  --min-guest-svn N    minimum guest SVN\n"
	"  --id-key-digest HEX  the ID key digest (96 hex digits; `uvm idblock` prints it)\n"
	"  --author-key-digest HEX  the author key digest (96 hex digits); also requires\n"
	"                       the report's AUTHOR_KEY_EN bit (the launch had an author key)\n"
	"  --allow-debug        accept a policy that allows debugging (rejected otherwise)\n"
	"  --allow-migration-agent  accept a policy that allows a migration agent\n"
	"  --deny-smt           reject a policy that allows SMT\n"
	"  --no-expectations    check only hardware, firmware and policy bits: accept a report\n"
	"                       without any identity expectation (the summary says so)\n"
	"collateral:\n"
	"  --print-kds          print the AMD KDS URLs of this report's VCEK, its product's\n"
	"                       chain and CRL, and the VLEK chain and CRL; verifies nothing\n"
	"  --product NAME       Milan, Genoa or Turin (default: from a version 3+ report)\n"
	"output:\n"
	"  --json               every check's name, expected, actual and result as JSON\n"
	"\n"
	"exit status: 0 every check passed (or --print-kds printed); 1 a check failed\n"
	"(the report is not acceptable); 2 usage error (including no expectation\n"
	"without --no-expectations); 3 an input is unreadable or malformed.\n";

enum {
	O_REPORT = 256,
	O_OFFSET,
	O_VCEK,
	O_CHAIN,
	O_TRUST_ROOT,
	O_NOW,
	O_MEASUREMENT,
	O_MEASUREMENTS,
	O_HOST_DATA,
	O_POLICY,
	O_REPORT_DATA,
	O_MIN_TCB,
	O_VMPL,
	O_MIN_SVN,
	O_ID_KEY,
	O_AUTHOR_KEY,
	O_CERTS,
	O_CRL,
	O_ALLOW_DEBUG,
	O_ALLOW_MA,
	O_DENY_SMT,
	O_JSON,
	O_NO_EXPECTATIONS,
	O_DENY_PROVISIONAL,
	O_PRINT_KDS,
	O_PRODUCT,
	O_COLLATERAL,
};

static const struct option long_opts[] = {
	{"report", required_argument, NULL, O_REPORT},
	{"offset", required_argument, NULL, O_OFFSET},
	{"vcek", required_argument, NULL, O_VCEK},
	{"chain", required_argument, NULL, O_CHAIN},
	{"trust-root", required_argument, NULL, O_TRUST_ROOT},
	{"certs", required_argument, NULL, O_CERTS},
	{"crl", required_argument, NULL, O_CRL},
	{"now", required_argument, NULL, O_NOW},
	{"measurement", required_argument, NULL, O_MEASUREMENT},
	{"measurements", required_argument, NULL, O_MEASUREMENTS},
	{"host-data", required_argument, NULL, O_HOST_DATA},
	{"policy", required_argument, NULL, O_POLICY},
	{"report-data", required_argument, NULL, O_REPORT_DATA},
	{"min-tcb", required_argument, NULL, O_MIN_TCB},
	{"vmpl", required_argument, NULL, O_VMPL},
	{"min-guest-svn", required_argument, NULL, O_MIN_SVN},
	{"id-key-digest", required_argument, NULL, O_ID_KEY},
	{"author-key-digest", required_argument, NULL, O_AUTHOR_KEY},
	{"allow-debug", no_argument, NULL, O_ALLOW_DEBUG},
	{"allow-migration-agent", no_argument, NULL, O_ALLOW_MA},
	{"deny-smt", no_argument, NULL, O_DENY_SMT},
	{"json", no_argument, NULL, O_JSON},
	{"no-expectations", no_argument, NULL, O_NO_EXPECTATIONS},
	{"deny-provisional", no_argument, NULL, O_DENY_PROVISIONAL},
	{"print-kds", no_argument, NULL, O_PRINT_KDS},
	{"product", required_argument, NULL, O_PRODUCT},
	{"collateral", required_argument, NULL, O_COLLATERAL},
	CLI_HELP_OPTION,
	{NULL, 0, NULL, 0},
};

struct verify_args {
	struct verify_opts o;
	bool json;
	const char *policy_path; /* hashed after parsing: it is a file */
	bool print_kds;
	const char *product;            /* --product */
	const char *collateral;         /* --collateral DIR */
	char collateral_paths[3][4096]; /* vcek, cert_chain, crl under DIR */
};

static int bad(const char *opt, const char *value, const char *want)
{
	cli_usage_error("uvm verify", "%s '%s': want %s", opt, value, want);
	return -1;
}

static int parse_u32(const char *opt, const char *text, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(text, &end, 0);
	if (errno || *end || end == text || text[0] == '-' || v > UINT32_MAX)
		return bad(opt, text, "a number from 0 to 4294967295");
	*out = (uint32_t)v;
	return 0;
}

static int parse_hex(const char *opt, const char *text, uint8_t *out, size_t len)
{
	if (uvm_hex_decode(text, out, len) != 0) {
		char want[64];
		snprintf(want, sizeof want, "exactly %zu hex digits", 2 * len);
		return bad(opt, text, want);
	}
	return 0;
}

/* REPORT_DATA is often a short nonce: accept fewer digits, zero-padded. */
static int parse_report_data(const char *text, uint8_t out[SNP_REPORT_DATA_LEN])
{
	size_t n = strlen(text);
	char padded[2 * SNP_REPORT_DATA_LEN + 1];
	if (n == 0 || n > 2 * SNP_REPORT_DATA_LEN || n % 2)
		return bad("--report-data", text, "an even number of hex digits, at most 128");
	memset(padded, '0', 2 * SNP_REPORT_DATA_LEN);
	memcpy(padded, text, n);
	padded[2 * SNP_REPORT_DATA_LEN] = '\0';
	return parse_hex("--report-data", padded, out, SNP_REPORT_DATA_LEN);
}

static int parse_offset(const char *text, struct verify_opts *o)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 0);
	if (errno || *end || end == text || text[0] == '-' || v > (1u << 20))
		return bad("--offset", text, "a byte offset from 0 to 1048576");
	o->offset = (size_t)v;
	o->have_offset = true;
	return 0;
}

static int parse_measurement(const char *text, struct verify_opts *o)
{
	if (parse_hex("--measurement", text, o->measurements[0], SNP_MEASUREMENT_LEN) != 0)
		return -1;
	o->n_measurements = 1;
	o->measurement_source = "--measurement";
	return 0;
}

static int parse_host_data(const char *text, struct verify_opts *o)
{
	if (parse_hex("--host-data", text, o->host_data, SNP_HOST_DATA_LEN) != 0)
		return -1;
	o->have_host_data = true;
	o->host_data_source = "--host-data";
	return 0;
}

static int parse_option(int c, const char *arg, struct verify_args *cli)
{
	struct verify_opts *o = &cli->o;
	switch (c) {
	case O_REPORT: o->report_path = arg; return 0;
	case O_OFFSET: return parse_offset(arg, o);
	case O_VCEK: o->vcek_path = arg; return 0;
	case O_CHAIN: o->chain_path = arg; return 0;
	case O_TRUST_ROOT: o->trust_root_path = arg; return 0;
	case O_CERTS: o->certs_path = arg; return 0;
	case O_CRL: o->crl_path = arg; return 0;
	case O_NOW:
		o->now_given = true;
		return verify_parse_time(arg, &o->now) == 0
			       ? 0
			       : bad("--now", arg, "unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
	case O_MEASUREMENT: return parse_measurement(arg, o);
	case O_MEASUREMENTS: o->measurement_source = arg; return 0; /* loaded after parsing */
	case O_HOST_DATA: return parse_host_data(arg, o);
	case O_POLICY: cli->policy_path = arg; return 0;
	case O_REPORT_DATA: o->have_report_data = true; return parse_report_data(arg, o->report_data);
	case O_MIN_TCB:
		return verify_parse_min_tcb(arg, o) == 0
			       ? 0
			       : bad("--min-tcb", arg, "0xRAW or bl=N,tee=N,snp=N,ucode=N[,fmc=N]");
	case O_VMPL: o->have_vmpl = true; return parse_u32("--vmpl", arg, &o->vmpl);
	case O_MIN_SVN: o->have_min_guest_svn = true; return parse_u32("--min-guest-svn", arg, &o->min_guest_svn);
	case O_ID_KEY:
		o->have_id_key_digest = true;
		return parse_hex("--id-key-digest", arg, o->id_key_digest, SNP_KEY_DIGEST_LEN);
	case O_AUTHOR_KEY:
		o->have_author_key_digest = true;
		return parse_hex("--author-key-digest", arg, o->author_key_digest, SNP_KEY_DIGEST_LEN);
	case O_ALLOW_DEBUG: o->allow_debug = true; return 0;
	case O_ALLOW_MA: o->allow_migration_agent = true; return 0;
	case O_DENY_SMT: o->deny_smt = true; return 0;
	case O_JSON: cli->json = true; return 0;
	case O_NO_EXPECTATIONS: o->no_expectations = true; return 0;
	case O_DENY_PROVISIONAL: o->deny_provisional = true; return 0;
	case O_PRINT_KDS: cli->print_kds = true; return 0;
	case O_PRODUCT: cli->product = arg; return 0;
	case O_COLLATERAL: cli->collateral = arg; return 0;
	default: return -1;
	}
}

/* --print-kds reads only the report: certificates and expectations would be
 * ignored, so they are refused rather than silently dropped. */
static int check_print_kds(const struct verify_args *cli, bool measurements_file)
{
	const struct verify_opts *o = &cli->o;
	if (!o->report_path)
		cli_usage_error("uvm verify", "--print-kds needs --report FILE");
	else if (o->vcek_path || o->chain_path || o->certs_path || cli->collateral || o->trust_root_path)
		cli_usage_error("uvm verify",
				"--print-kds verifies nothing: drop --vcek, --chain, --certs, --collateral "
				"and --trust-root, or drop --print-kds to verify");
	else if (measurements_file || o->n_measurements || o->have_host_data || cli->policy_path ||
		 o->have_report_data || o->have_min_tcb || o->have_vmpl || o->have_min_guest_svn ||
		 o->have_id_key_digest || o->no_expectations || cli->json)
		cli_usage_error("uvm verify",
				"--print-kds verifies nothing: drop the expectations (and --json), or drop "
				"--print-kds to verify");
	else
		return 0;
	return -1;
}

static int check_combination(const struct verify_args *cli, bool measurements_file)
{
	const struct verify_opts *o = &cli->o;
	if (cli->print_kds)
		return check_print_kds(cli, measurements_file);
	bool identity =
		measurements_file || o->n_measurements || o->have_host_data || cli->policy_path || o->have_report_data;
	/* Which file holds which certificate is found out when they are read. */
	const char *missing = !o->report_path ? "--report"
			      : !o->vcek_path && !o->chain_path && !o->certs_path && !cli->collateral
				      ? "--vcek and --chain (or --certs or --collateral)"
				      : NULL;
	if (missing)
		cli_usage_error("uvm verify", "%s is required", missing);
	else if (cli->product)
		cli_usage_error("uvm verify", "--product is used only with --print-kds (verification takes the product "
					      "from the VCEK)");
	else if (cli->collateral && o->certs_path)
		cli_usage_error("uvm verify", "give --collateral or --certs, not both");
	else if (measurements_file && o->n_measurements)
		cli_usage_error("uvm verify", "give --measurement or --measurements, not both");
	else if (cli->policy_path && o->have_host_data)
		cli_usage_error("uvm verify", "give --host-data or --policy, not both");
	else if (!identity && !o->no_expectations)
		cli_usage_error("uvm verify",
				"no expectation given, so nothing would identify the guest: give --measurement HEX "
				"or --measurements FILE, --host-data HEX or --policy FILE, or --report-data HEX; "
				"or --no-expectations to check only hardware, firmware and policy bits");
	else if (identity && o->no_expectations)
		cli_usage_error("uvm verify", "--no-expectations contradicts the expectations given: drop one");
	else
		return 0;
	return -1;
}

/* Returns 0, VERIFY_EXIT_USAGE or, with --help, -1 (exit 0). */
static int parse_args(int argc, char **argv, struct verify_args *cli, const char **measurements)
{
	struct cli cl;
	cli_init(&cl, "uvm verify", usage_text, "", long_opts, argc, argv);
	for (int c; (c = cli_next(&cl)) != CLI_END;) {
		if (c == CLI_EXIT)
			return cl.status == 0 ? -1 : cl.status;
		if (c == CLI_OPERAND) {
			cli_unexpected(&cl);
			return VERIFY_EXIT_USAGE;
		}
		if (c == O_MEASUREMENTS)
			*measurements = cl.arg;
		if (parse_option(c, cl.arg, cli) != 0)
			return VERIFY_EXIT_USAGE;
	}
	return check_combination(cli, *measurements != NULL) == 0 ? 0 : VERIFY_EXIT_USAGE;
}

/* Files named by expectations are read after parsing: their errors are
 * input errors (exit 3), not usage errors. */
static int load_expectation_files(struct verify_args *cli, const char *measurements, struct uvm_err *err)
{
	if (measurements && verify_load_measurements(measurements, &cli->o, err) != 0)
		return -1;
	if (cli->policy_path) {
		uint8_t *data;
		size_t len;
		if (verify_read_file(cli->policy_path, 16u << 20, &data, &len, err) != 0)
			return uvm_wrap(err, "reading --policy");
		uvm_sha256(data, len, cli->o.host_data);
		free(data);
		cli->o.have_host_data = true;
		cli->o.host_data_source = "SHA-256 of --policy";
	}
	return 0;
}

/* Sets *path to DIR/name[i] for the first name that exists; NULL if none
 * does. Returns -1 (err set) when a path does not fit. */
static int collateral_file(const char *dir, const char *const *names, size_t n, char *buf, size_t size,
			   const char **path, struct uvm_err *err)
{
	*path = NULL;
	for (size_t i = 0; i < n && !*path; i++) {
		int len = snprintf(buf, size, "%s/%s", dir, names[i]);
		if (len < 0 || (size_t)len >= size)
			return uvm_fail(err, ENAMETOOLONG, "--collateral %.64s...: the path is too long", dir);
		if (access(buf, F_OK) == 0)
			*path = buf;
	}
	return 0;
}

/* --collateral DIR: the files named as AMD's KDS URLs end (vcek, cert_chain,
 * crl); explicit --vcek/--chain win. crl.der is optional. */
static int resolve_collateral(struct verify_args *cli, struct uvm_err *err)
{
	static const char *const vcek[] = {"vcek.der", "vcek.pem"}, *const chain[] = {"cert_chain.pem"},
				 *const crl[] = {"crl.der"};
	const char *dir = cli->collateral, *found;
	struct stat st;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return uvm_fail(err, errno, "--collateral %s is not a directory; fetch the --print-kds URLs into one",
				dir);
	if (!cli->o.vcek_path) {
		if (collateral_file(dir, vcek, 2, cli->collateral_paths[0], sizeof cli->collateral_paths[0], &found,
				    err) != 0)
			return -1;
		if (!found)
			return uvm_fail(err, ENOENT,
					"--collateral %s holds neither vcek.der nor vcek.pem; save the VCEK URL of "
					"`uvm verify --report FILE --print-kds` there (or give --vcek)",
					dir);
		cli->o.vcek_path = found;
	}
	if (!cli->o.chain_path) {
		if (collateral_file(dir, chain, 1, cli->collateral_paths[1], sizeof cli->collateral_paths[1], &found,
				    err) != 0)
			return -1;
		if (!found)
			return uvm_fail(err, ENOENT,
					"--collateral %s has no cert_chain.pem; save the cert_chain URL of `uvm verify "
					"--report FILE --print-kds` there (or give --chain)",
					dir);
		cli->o.chain_path = found;
	}
	if (!cli->o.crl_path) {
		if (collateral_file(dir, crl, 1, cli->collateral_paths[2], sizeof cli->collateral_paths[2], &found,
				    err) != 0)
			return -1;
		cli->o.crl_path = found; /* optional */
	}
	return 0;
}

static int print_kds(const struct verify_args *cli)
{
	uint8_t raw[SNP_REPORT_SIZE];
	struct snp_report r;
	struct verify_kds_urls u;
	struct uvm_err err = {0};
	if (verify_load_report(&cli->o, raw, &err) != 0 || snp_report_parse(raw, sizeof raw, &r, &err) != 0 ||
	    verify_kds_urls(&r, cli->product, &u, &err) != 0) {
		fprintf(stderr, "uvm verify: %s: %s\n", cli->o.report_path, err.msg);
		return VERIFY_EXIT_INPUT;
	}
	printf("product %s\n", u.product);
	if (u.vcek[0])
		printf("vcek %s\n", u.vcek);
	else
		printf("vcek none: %s\n", u.vcek_missing_why);
	printf("cert_chain %s\ncrl %s\nvlek_cert_chain %s\nvlek_crl %s\n", u.cert_chain, u.crl, u.vlek_cert_chain,
	       u.vlek_crl);
	return VERIFY_EXIT_OK;
}

static int run(int argc, char **argv)
{
	static struct verify_args cli; /* large (the measurement list): not on the stack */
	static struct verify_results res;
	const char *measurements = NULL;
	struct uvm_err err = {0};
	memset(&cli, 0, sizeof cli);
	cli.o.now = time(NULL);
	int rc = parse_args(argc, argv, &cli, &measurements);
	if (rc != 0)
		return rc < 0 ? 0 : rc;
	if (cli.print_kds)
		return print_kds(&cli);
	if (cli.collateral && resolve_collateral(&cli, &err) != 0) {
		fprintf(stderr, "uvm verify: %s\n", err.msg);
		return VERIFY_EXIT_INPUT;
	}
	if (load_expectation_files(&cli, measurements, &err) != 0 || verify_run(&cli.o, &res, &err) != 0) {
		fprintf(stderr, "uvm verify: %s\n", err.msg);
		return VERIFY_EXIT_INPUT;
	}
	if (cli.json)
		verify_print_json(stdout, cli.o.report_path, &res);
	else
		verify_print_text(stdout, cli.o.report_path, &res);
	return verify_exit_code(&res);
}

const struct uvm_command uvm_command_verify = {"verify",
					       "verify an SNP attestation report: chain, signature, expectations", run};
