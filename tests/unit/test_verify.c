/* uvm verify on real AMD-signed reports and on the test flavour's simulated
 * PSP: each verifies with the right chain and fails, with the failing check
 * named, on a flipped byte, a wrong chain, a wrong expectation, a debug
 * policy, an expired certificate; the CLI's exit codes are as documented.
 * Run from the repository root (reads tests/data/snp/ and tests/pki/). */
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../init/test-flavour/sim_psp_sign.c"
#include "check.h"
#include "run_command.h"
#include "command.h"
#include "hash.h"
#include "hex.h"
#include "snp_report.h"
#include "verify.h"
#include "verify_cert.h"

#include <openssl/pem.h>

#define D "tests/data/snp/"
#define PKI "tests/pki/"
#define GSG D "gsg_milan_v2_report.bin"
#define GSG_VCEK D "gsg_milan_v2_vcek.der"
#define MILAN D "gsg_ask_ark_milan.pem"
#define VIRTEE D "virtee_milan_v2_report.hex"
#define VIRTEE_VCEK D "virtee_milan_v2_vcek.der"
#define GSG_MEASUREMENT \
	"b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01"
#define NOW_2026 "2026-06-01"
#define VIRTEE_MEASUREMENT \
	"7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f"
/* The gsg report's real measurement: the identity expectation of tests about something else. */
#define GSG_EXPECT "--measurement", GSG_MEASUREMENT

extern const struct uvm_command uvm_command_verify;

static char tmpdir[] = "/tmp/test_verify.XXXXXX";
static char output[1 << 16]; /* stdout+stderr of the last run_cli */

static const char *tmp_path(const char *name)
{
	return tmp_path_in(tmpdir, name);
}

/* Runs `uvm verify ARGS...` in-process, capturing its output. */
static int run_cli(const char *first, ...)
{
	va_list ap;
	va_start(ap, first);
	int rc = run_command_v(&uvm_command_verify, tmp_path("out.txt"), output, sizeof output, first, ap);
	va_end(ap);
	return rc;
}

static void base_opts(struct verify_opts *o, const char *report, const char *vcek, const char *chain)
{
	memset(o, 0, sizeof *o);
	o->report_path = report;
	o->vcek_path = vcek;
	o->chain_path = chain;
	verify_parse_time(NOW_2026, &o->now);
}

static const struct verify_check *find(const struct verify_results *res, const char *name)
{
	for (size_t i = 0; i < res->n; i++)
		if (strcmp(res->c[i].name, name) == 0)
			return &res->c[i];
	return NULL;
}

static enum verify_result result_of(const struct verify_results *res, const char *name)
{
	const struct verify_check *c = find(res, name);
	return c ? c->result : (enum verify_result) - 1;
}

/* Names of failed checks, for diagnostics. */
static const char *failures(const struct verify_results *res)
{
	static char buf[512];
	buf[0] = '\0';
	for (size_t i = 0; i < res->n; i++)
		if (res->c[i].result == VR_FAIL)
			snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s ", res->c[i].name);
	return buf;
}

static struct verify_opts opts;
static struct verify_results res;

static int run_opts(void)
{
	struct uvm_err err = {0};
	if (verify_run(&opts, &res, &err) != 0)
		return -1;
	return verify_exit_code(&res);
}

static void test_real_reports_accept(void)
{
	base_opts(&opts, GSG, GSG_VCEK, MILAN);
	opts.allow_debug = true;
	opts.no_expectations = true;
	CHECK_EQ_INT(run_opts(), 0, "gsg report verifies with the Milan chain (--allow-debug): %s", failures(&res));
	CHECK_EQ_INT(result_of(&res, "report.signature"), VR_PASS, "gsg signature check passed");
	CHECK_EQ_INT(result_of(&res, "report.chip_id"), VR_PASS, "gsg chip id equals hwID");
	CHECK_EQ_INT(result_of(&res, "measurement"), VR_NOT_REQUESTED, "measurement not requested");
	CHECK_EQ_INT(result_of(&res, "identity"), VR_NOT_REQUESTED, "identity not requested (--no-expectations)");
	CHECK(res.identity_unchecked, "  ... and the results say the identity was not checked");

	base_opts(&opts, VIRTEE, VIRTEE_VCEK, D "virtee_builtin_milan_ask_ark.pem");
	CHECK_EQ_INT(uvm_hex_decode(VIRTEE_MEASUREMENT, opts.measurements[0], SNP_MEASUREMENT_LEN), 0,
		     "virtee measurement parses");
	opts.n_measurements = 1;
	CHECK_EQ_INT(run_opts(), 0, "virtee hex report verifies with its chain: %s", failures(&res));
	CHECK_EQ_INT(result_of(&res, "report.reported_tcb"), VR_PASS, "virtee TCB equals its VCEK's");
	CHECK_EQ_INT(result_of(&res, "measurement"), VR_PASS, "virtee measurement (tests/data/snp/README.md) matches");
	CHECK_EQ_INT(result_of(&res, "identity"), VR_PASS, "  ... so the identity was checked");

	CHECK_EQ_INT(run_cli("--report", GSG, "--vcek", GSG_VCEK, "--chain", MILAN, "--now", NOW_2026, "--allow-debug",
			     "--measurement", GSG_MEASUREMENT, "--report-data", "0102030405", "--host-data",
			     "0000000000000000000000000000000000000000000000000000000000000000", "--min-tcb",
			     "bl=2,snp=5,ucode=68", "--vmpl", "0", NULL),
		     0, "CLI: gsg with every matching expectation exits 0");
	CHECK(strstr(output, "ACCEPTED") && !strstr(output, "FAIL"), "CLI: summary says ACCEPTED");
	CHECK(strstr(output, "NOT checked because not requested: policy.smt, guest_svn, id_key_digest"),
	      "CLI: the summary names what was not checked");
}

/* Flips every byte of the signed region (and some of the signature) in
 * turn; none of the variants may be accepted. */
static void test_flips(const char *report, const char *vcek, const char *chain, bool debug, const char *trust_root)
{
	uint8_t raw[SNP_REPORT_SIZE];
	struct uvm_err err = {0};
	base_opts(&opts, report, vcek, chain);
	if (verify_load_report(&opts, raw, &err) != 0) {
		CHECK(0, "load %s: %s", report, err.msg);
		return;
	}
	const char *path = tmp_path("flipped.bin");
	size_t accepted = 0, sig_failed = 0, tried = 0;
	for (size_t off = 0; off < SNP_OFF_SIG_S + SNP_SIG_COMPONENT_LEN; off++) {
		if (off >= SNP_REPORT_SIGNED_LEN && off % 7) /* sample the signature area */
			continue;
		raw[off] ^= 0x01;
		write_file(path, raw, sizeof raw);
		raw[off] ^= 0x01;
		base_opts(&opts, path, vcek, chain);
		opts.allow_debug = debug;
		opts.trust_root_path = trust_root;
		opts.no_expectations = true; /* only the flip can reject */
		int rc = run_opts();
		tried++;
		accepted += rc == 0;
		sig_failed += rc == -1 || result_of(&res, "report.signature") == VR_FAIL;
	}
	CHECK_EQ_INT(accepted, 0, "%s: none of %zu one-byte flips accepted", report, tried);
	CHECK_EQ_INT(sig_failed, tried, "%s: every flip breaks the signature or the format", report);
}

static void test_wrong_chains(void)
{
	static const char *wrong[] = {D "gsg_ask_ark_genoa.pem", D "gsg_ask_ark_turin.pem", D "gsg_asvk_ark_milan.pem"};
	for (size_t i = 0; i < 3; i++) {
		base_opts(&opts, GSG, GSG_VCEK, wrong[i]);
		opts.allow_debug = true;
		opts.no_expectations = true;
		CHECK_EQ_INT(run_opts(), VERIFY_EXIT_FAILED, "gsg with %s rejected", wrong[i]);
		CHECK_EQ_INT(result_of(&res, "chain.vcek_signed_by_ask"), VR_FAIL,
			     "  ... because the VCEK is not signed by that ASK");
	}
	/* A VCEK that belongs to another chip/report. */
	base_opts(&opts, GSG, VIRTEE_VCEK, MILAN);
	opts.allow_debug = true;
	opts.no_expectations = true;
	CHECK_EQ_INT(run_opts(), VERIFY_EXIT_FAILED, "gsg report with the virtee VCEK rejected");
	CHECK_EQ_INT(result_of(&res, "report.signature"), VR_FAIL, "  ... signature fails");
	CHECK_EQ_INT(result_of(&res, "report.chip_id"), VR_FAIL, "  ... chip id differs");
	/* The real chain is not accepted when another root is named. */
	base_opts(&opts, GSG, GSG_VCEK, MILAN);
	opts.allow_debug = true;
	opts.no_expectations = true;
	opts.trust_root_path = PKI "test-ark.pem";
	CHECK_EQ_INT(run_opts(), VERIFY_EXIT_FAILED, "AMD chain rejected under --trust-root test ARK");
	CHECK_EQ_INT(result_of(&res, "chain.ark_trusted"), VR_FAIL, "  ... ARK not the trusted root");
}

static void test_expectations(void)
{
	struct {
		const char *name;
		const char *flag;
		const char *value;
		bool identity; /* else the right measurement is given too */
	} wrong[] = {
		{"measurement", "--measurement",
		 "a07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01",
		 true},
		{"host_data", "--host-data", "0100000000000000000000000000000000000000000000000000000000000000", true},
		{"report_data", "--report-data", "0102030406", true},
		{"min_tcb.reported", "--min-tcb", "ucode=69", false},
		{"min_tcb.committed", "--min-tcb", "snp=6", false},
		{"min_tcb.launch", "--min-tcb", "bl=3", false},
		{"vmpl", "--vmpl", "1", false},
		{"guest_svn", "--min-guest-svn", "1", false},
	};
	for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
		int rc = run_cli("--report", GSG, "--vcek", GSG_VCEK, "--chain", MILAN, "--now", NOW_2026,
				 "--allow-debug", "--json", wrong[i].flag, wrong[i].value,
				 wrong[i].identity ? "--vmpl" : "--measurement",
				 wrong[i].identity ? "0" : GSG_MEASUREMENT, NULL);
		char want[128];
		snprintf(want, sizeof want, "\"name\": \"%s\"", wrong[i].name);
		char *at = strstr(output, want);
		CHECK(rc == VERIFY_EXIT_FAILED && at && strstr(at, "\"result\": \"fail\"") &&
			      strstr(at, "\"result\": \"fail\"") < strstr(at, "}"),
		      "wrong %s %s: exit 1 and the %s check fails", wrong[i].flag, wrong[i].value, wrong[i].name);
	}
	CHECK_EQ_INT(
		run_cli("--report", GSG, "--vcek", GSG_VCEK, "--chain", MILAN, "--now", NOW_2026, GSG_EXPECT, NULL),
		VERIFY_EXIT_FAILED, "gsg (policy allows debug) rejected without --allow-debug");
	CHECK(strstr(output, "[FAIL] policy.debug") != NULL, "  ... the policy.debug check names it");
	CHECK(strstr(output, "ACCEPTED") == NULL, "  ... and nothing says ACCEPTED");

	/* --measurements: any entry of a file matches. */
	const char *list = tmp_path("measurement.json");
	const char *json =
		"{\"measurements\": [{\"vcpus\": 1, \"measurement\": "
		"\"a07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01\"},"
		" {\"vcpus\": 2, \"measurement\": \"" GSG_MEASUREMENT "\"}]}";
	write_file(list, json, strlen(json));
	CHECK_EQ_INT(run_cli("--report", GSG, "--vcek", GSG_VCEK, "--chain", MILAN, "--now", NOW_2026, "--allow-debug",
			     "--measurements", list, NULL),
		     0, "--measurements: the second entry matches");
	write_file(list, json, strlen(json) - strlen(strstr(json, "}"))); /* only the wrong entry */
	CHECK_EQ_INT(run_cli("--report", GSG, "--vcek", GSG_VCEK, "--chain", MILAN, "--now", NOW_2026, "--allow-debug",
			     "--measurements", list, NULL),
		     VERIFY_EXIT_FAILED, "--measurements: no entry matches");
	CHECK_EQ_INT(run_cli("--report", GSG, "--vcek", GSG_VCEK, "--chain", MILAN, "--now", NOW_2026, "--allow-debug",
			     "--min-tcb", "0x4405000000000002", "--deny-smt", "--report-data", "0102030405", NULL),
		     VERIFY_EXIT_FAILED, "--deny-smt rejects the gsg policy (SMT allowed)");
	CHECK(strstr(output, "[FAIL] policy.smt") && strstr(output, "[pass] min_tcb.reported") &&
		      strstr(output, "[pass] min_tcb.committed") && strstr(output, "[pass] min_tcb.launch"),
	      "  ... policy.smt fails, raw --min-tcb equal to reported passes");
}

static void test_validity(void)
{
	static const char *bad_times[] = {"2031-01-01", "2021-01-01T00:00:00Z", "1577836800"};
	for (size_t i = 0; i < 3; i++) {
		CHECK_EQ_INT(run_cli("--report", GSG, "--vcek", GSG_VCEK, "--chain", MILAN, "--allow-debug", "--now",
				     bad_times[i], GSG_EXPECT, NULL),
			     VERIFY_EXIT_FAILED, "gsg at --now %s rejected", bad_times[i]);
		CHECK(strstr(output, "[FAIL] chain.vcek_valid") != NULL, "  ... VCEK not valid then");
	}
	CHECK_EQ_INT(run_cli("--report", GSG, "--vcek", GSG_VCEK, "--chain", MILAN, "--allow-debug", "--now",
			     "2029-09-24T00:55:27Z", GSG_EXPECT, NULL),
		     0, "gsg one second before its VCEK expires");
	CHECK_EQ_INT(run_cli("--report", GSG, "--vcek", GSG_VCEK, "--chain", MILAN, "--allow-debug", "--now",
			     "2029-09-24T00:55:29Z", GSG_EXPECT, NULL),
		     VERIFY_EXIT_FAILED, "gsg one second after its VCEK expires");
}

/* The result of check NAME in the JSON output of the last run_cli ("" if absent). */
static const char *json_result(const char *name)
{
	static char result[32];
	char key[96];
	snprintf(key, sizeof key, "{\"name\": \"%s\",", name);
	const char *at = strstr(output, key), *end = at ? strchr(at, '}') : NULL;
	const char *r = at ? strstr(at, "\"result\": \"") : NULL;
	result[0] = '\0';
	if (r && r < end)
		sscanf(r + strlen("\"result\": \""), "%31[^\"]", result);
	return result;
}

/* Serializes r, signs it as the simulated PSP does and writes it to path. */
static int write_signed_report(const char *path, const struct snp_report *r)
{
	uint8_t raw[SNP_REPORT_SIZE];
	struct uvm_err err = {0};
	snp_report_serialize(r, raw);
	if (sim_psp_sign_report(raw, &err) != 0) {
		printf("# %s\n", err.msg);
		return -1;
	}
	write_file(path, raw, sizeof raw);
	return 0;
}

/* TCB overrides for a simulated report: 0 keeps the test VCEK's TCB. */
struct sim_tcbs {
	uint64_t current, committed, launch;
};

/* A report from the simulated PSP, signed with the committed test VCEK. */
static int make_sim_report_tcb(const char *path, const uint8_t host_data[32], const struct sim_tcbs *tcbs)
{
	struct snp_report r;
	memset(&r, 0, sizeof r);
	r.version = 3;
	r.policy = SNP_POLICY_RESERVED1 | SNP_POLICY_SMT;
	memset(r.measurement, 0x5a, sizeof r.measurement);
	memcpy(r.host_data, host_data, SNP_HOST_DATA_LEN);
	memset(r.report_data, 0x11, sizeof r.report_data);
	sim_psp_fill_platform(&r);
	if (tcbs) {
		r.current_tcb = tcbs->current ? tcbs->current : r.current_tcb;
		r.committed_tcb = tcbs->committed ? tcbs->committed : r.committed_tcb;
		r.launch_tcb = tcbs->launch ? tcbs->launch : r.launch_tcb;
	}
	return write_signed_report(path, &r);
}

static int make_sim_report(const char *path, const uint8_t host_data[32])
{
	return make_sim_report_tcb(path, host_data, NULL);
}

static uint64_t tcb_of(uint8_t bl, uint8_t tee, uint8_t snp, uint8_t ucode)
{
	struct snp_tcb t = {.bootloader = bl, .tee = tee, .snp = snp, .microcode = ucode};
	return snp_tcb_encode(&t, SNP_TCB_MILAN_GENOA);
}

/* Runs the CLI on a simulated report with the test root; returns the exit code. */
static int run_sim(const char *report, const char *extra1, const char *extra2, const char *extra3)
{
	return run_cli("--report", report, "--vcek", PKI "test-vcek.pem", "--chain", PKI "test-ask-ark.pem",
		       "--trust-root", PKI "test-ark.pem", "--report-data",
		       "1111111111111111111111111111111111111111111111111111111111111111"
		       "1111111111111111111111111111111111111111111111111111111111111111",
		       extra1, extra2, extra3, NULL);
}

/* --min-tcb on reported, committed and launch TCB; tcb.order; provisional
 * firmware noted, or refused with --deny-provisional. The test VCEK's TCB is
 * bl 4, tee 0, snp 22, ucode 213 (test_vcek_key.h). */
static void test_tcb(void)
{
	const char *report = tmp_path("tcb.bin");
	uint8_t zero[32] = {0};
	const uint64_t vcek_tcb = tcb_of(TEST_VCEK_BOOTLOADER, TEST_VCEK_TEE, TEST_VCEK_SNP, TEST_VCEK_MICROCODE);
	/* committed below the minimum, reported and launch at it */
	struct sim_tcbs t = {.committed = tcb_of(TEST_VCEK_BOOTLOADER, 0, TEST_VCEK_SNP - 1, TEST_VCEK_MICROCODE)};
	CHECK_EQ_INT(make_sim_report_tcb(report, zero, &t), 0, "sim report with a lower committed TCB");
	CHECK_EQ_INT(run_sim(report, "--min-tcb", "snp=22", "--json"), VERIFY_EXIT_FAILED,
		     "committed snp 21 < --min-tcb snp=22: exit 1");
	CHECK_EQ_STR(json_result("min_tcb.committed"), "fail", "  ... min_tcb.committed fails");
	CHECK_EQ_STR(json_result("min_tcb.reported"), "pass", "  ... min_tcb.reported passes");
	CHECK_EQ_STR(json_result("min_tcb.launch"), "pass", "  ... min_tcb.launch passes");
	/* committed below current: provisional firmware, noted and accepted at snp=21 */
	CHECK_EQ_INT(run_sim(report, "--min-tcb", "snp=21", NULL), 0, "provisional firmware accepted by default");
	CHECK(strstr(output, "[pass] tcb.provisional") && strstr(output, "note: tcb.provisional: the platform runs "
									 "provisional firmware"),
	      "  ... with tcb.provisional passing and a note saying so");
	CHECK_EQ_INT(run_sim(report, "--min-tcb", "snp=21", "--deny-provisional"), VERIFY_EXIT_FAILED,
		     "--deny-provisional refuses it: exit 1");
	CHECK(strstr(output, "[FAIL] tcb.provisional") && strstr(output, "checks failed: tcb.provisional\n"),
	      "  ... and only tcb.provisional fails");
	/* launch below the minimum */
	t = (struct sim_tcbs){.launch = tcb_of(TEST_VCEK_BOOTLOADER - 1, 0, TEST_VCEK_SNP, TEST_VCEK_MICROCODE)};
	CHECK_EQ_INT(make_sim_report_tcb(report, zero, &t), 0, "sim report launched on an older TCB");
	CHECK_EQ_INT(run_sim(report, "--min-tcb", "bl=4", NULL), VERIFY_EXIT_FAILED, "launch bl 3 < bl=4: exit 1");
	CHECK(strstr(output, "[FAIL] min_tcb.launch") && strstr(output, "checks failed: min_tcb.launch\n"),
	      "  ... on min_tcb.launch alone");
	CHECK_EQ_INT(run_sim(report, "--min-tcb", "bl=3", "--deny-provisional"), 0,
		     "launch TCB below current is not provisional firmware");
	/* current newer than reported (and committed): provisional */
	t = (struct sim_tcbs){.current = tcb_of(TEST_VCEK_BOOTLOADER, 0, TEST_VCEK_SNP, TEST_VCEK_MICROCODE + 1)};
	CHECK_EQ_INT(make_sim_report_tcb(report, zero, &t), 0, "sim report on newer current firmware");
	CHECK_EQ_INT(run_sim(report, "--deny-provisional", NULL, NULL), VERIFY_EXIT_FAILED,
		     "current ucode 214 vs reported 213 with --deny-provisional: exit 1");
	CHECK(strstr(output, "[FAIL] tcb.provisional") && strstr(output, "[pass] tcb.order") &&
		      strstr(output, "[pass] report.reported_tcb"),
	      "  ... tcb.provisional fails, order and the VCEK binding pass");
	/* current older than reported: no genuine PSP reports that */
	t = (struct sim_tcbs){.current = tcb_of(TEST_VCEK_BOOTLOADER, 0, TEST_VCEK_SNP - 1, TEST_VCEK_MICROCODE)};
	CHECK_EQ_INT(make_sim_report_tcb(report, zero, &t), 0, "sim report with current below reported");
	CHECK_EQ_INT(run_sim(report, NULL, NULL, NULL), VERIFY_EXIT_FAILED, "current below reported: exit 1");
	CHECK(strstr(output, "[FAIL] tcb.order") != NULL, "  ... tcb.order fails");
	t = (struct sim_tcbs){.current = vcek_tcb};
	CHECK_EQ_INT(make_sim_report_tcb(report, zero, &t), 0, "sim report with every TCB equal");
	CHECK_EQ_INT(run_sim(report, "--deny-provisional", "--min-tcb", "bl=4,snp=22,ucode=213"), 0,
		     "every TCB equal to the VCEK's: accepted with --deny-provisional and the exact --min-tcb");
	CHECK(strstr(output, "note:") == NULL, "  ... with no note");
}

/* Without an expectation the CLI refuses (exit 2) unless --no-expectations;
 * then the summary says nothing identified the guest. */
static void test_no_expectations(void)
{
	CHECK_EQ_INT(run_cli("--report", GSG, "--vcek", GSG_VCEK, "--chain", MILAN, "--now", NOW_2026, "--allow-debug",
			     NULL),
		     VERIFY_EXIT_USAGE, "no expectation: exit 2");
	CHECK(strstr(output, "no expectation given") && strstr(output, "--measurement HEX") &&
		      strstr(output, "--policy FILE") && strstr(output, "--report-data HEX") &&
		      strstr(output, "--no-expectations") && !strstr(output, "ACCEPTED"),
	      "  ... naming the options, never ACCEPTED");
	CHECK_EQ_INT(run_cli("--report", GSG, "--vcek", GSG_VCEK, "--chain", MILAN, "--now", NOW_2026, "--allow-debug",
			     "--min-tcb", "bl=2", "--vmpl", "0", NULL),
		     VERIFY_EXIT_USAGE, "--min-tcb and --vmpl alone do not identify the guest: exit 2");
	CHECK_EQ_INT(run_cli("--report", GSG, "--vcek", GSG_VCEK, "--chain", MILAN, "--now", NOW_2026, "--allow-debug",
			     "--no-expectations", GSG_EXPECT, NULL),
		     VERIFY_EXIT_USAGE, "--no-expectations with an expectation: exit 2");
	CHECK_EQ_INT(run_cli("--report", GSG, "--vcek", GSG_VCEK, "--chain", MILAN, "--now", NOW_2026, "--allow-debug",
			     "--no-expectations", NULL),
		     0, "--no-expectations: exit 0");
	CHECK(strstr(output, "result: ACCEPTED") && strstr(output, "NOTHING about the guest's identity was checked") &&
		      strstr(output, "[skip] identity"),
	      "  ... the summary says the guest's identity was not checked");
	CHECK_EQ_INT(run_cli("--report", GSG, "--vcek", GSG_VCEK, "--chain", MILAN, "--now", NOW_2026, "--allow-debug",
			     "--no-expectations", "--json", NULL),
		     0, "--no-expectations --json: exit 0");
	CHECK(strstr(output, "\"identity_checked\": false") &&
		      strstr(output,
			     "\"notes\": [\"--no-expectations: nothing about the guest's identity was checked\"]"),
	      "  ... JSON: identity_checked false and the note");
	CHECK_EQ_INT(run_cli("--report", GSG, "--vcek", GSG_VCEK, "--chain", MILAN, "--now", NOW_2026, "--allow-debug",
			     "--json", GSG_EXPECT, NULL),
		     0, "with the measurement: exit 0");
	CHECK(strstr(output, "\"identity_checked\": true, \"notes\": []") != NULL,
	      "  ... JSON: identity_checked true, no notes");
	/* the library refuses too: a caller that forgets every expectation */
	base_opts(&opts, GSG, GSG_VCEK, MILAN);
	opts.allow_debug = true;
	CHECK_EQ_INT(run_opts(), VERIFY_EXIT_FAILED, "verify_run without expectations: rejected");
	CHECK_EQ_INT(result_of(&res, "identity"), VR_FAIL, "  ... on the identity check");
	/* "(set with --now)" only when --now was given */
	CHECK_EQ_INT(run_cli("--report", GSG, "--vcek", GSG_VCEK, "--chain", MILAN, "--allow-debug", GSG_EXPECT,
			     NULL) <= VERIFY_EXIT_FAILED,
		     1, "without --now: runs at the current time");
	CHECK(strstr(output, "(the current time)") && !strstr(output, "set with --now"),
	      "  ... and says the current time, not --now");
	run_cli("--report", GSG, "--vcek", GSG_VCEK, "--chain", MILAN, "--allow-debug", "--now", NOW_2026, GSG_EXPECT,
		NULL);
	CHECK(strstr(output, "valid at 2026-06-01T00:00:00Z (set with --now)") != NULL, "with --now: says so");
}

static void test_kds(void)
{
	struct snp_report r;
	struct verify_kds_urls u;
	struct uvm_err err = {0};
	uint8_t raw[SNP_REPORT_SIZE];
	base_opts(&opts, GSG, GSG_VCEK, MILAN);
	if (verify_load_report(&opts, raw, &err) != 0 || snp_report_parse(raw, sizeof raw, &r, &err) != 0) {
		CHECK(0, "load gsg: %s", err.msg);
		return;
	}
	CHECK(verify_kds_urls(&r, NULL, &u, &err) == -1 && strstr(err.msg, "give --product"),
	      "version 2 report without --product: refused, naming --product");
	CHECK_EQ_INT(verify_kds_urls(&r, "milan", &u, &err), 0, "gsg with --product milan");
	CHECK_EQ_STR(u.vcek,
		     "https://kdsintf.amd.com/vcek/v1/Milan/"
		     "3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e53786184ca39e359669a2b76a1936776b564ea4"
		     "64cdce40c05f63c9b610c5068b006b5d?blSPL=2&teeSPL=0&snpSPL=5&ucodeSPL=68",
		     "gsg VCEK URL: its chip id (= the VCEK's hwID) and reported TCB in decimal");
	CHECK_EQ_STR(u.cert_chain, "https://kdsintf.amd.com/vcek/v1/Milan/cert_chain", "Milan chain URL");
	CHECK_EQ_STR(u.crl, "https://kdsintf.amd.com/vcek/v1/Milan/crl", "Milan CRL URL");
	CHECK_EQ_STR(u.vlek_cert_chain, "https://kdsintf.amd.com/vlek/v1/Milan/cert_chain", "Milan VLEK chain URL");
	CHECK_EQ_STR(u.vlek_crl, "https://kdsintf.amd.com/vlek/v1/Milan/crl", "Milan VLEK CRL URL");
	CHECK(verify_kds_urls(&r, "Venice", &u, &err) == -1 && strstr(err.msg, "'Venice'"),
	      "unknown --product refused");
	/* go-sev-guest's Turin vector (kds_test.go): TCB 0x5200000004010101, hwID 6bb1229b7692b710 */
	memset(&r, 0, sizeof r);
	r.version = 3;
	r.cpuid_fam = 0x1a;
	r.cpuid_mod = 0x02;
	r.reported_tcb = 0x5200000004010101ull;
	static const uint8_t turin_hwid[8] = {0x6b, 0xb1, 0x22, 0x9b, 0x76, 0x92, 0xb7, 0x10};
	memcpy(r.chip_id, turin_hwid, sizeof turin_hwid);
	CHECK_EQ_INT(verify_kds_urls(&r, NULL, &u, &err), 0, "Turin from CPUID family 0x1a model 0x02");
	CHECK_EQ_STR(
		u.vcek,
		"https://kdsintf.amd.com/vcek/v1/Turin/6bb1229b7692b710?blSPL=1&teeSPL=1&snpSPL=4&ucodeSPL=82&fmcSPL=1",
		"Turin VCEK URL: 8-byte hwID, fmcSPL");
	CHECK(verify_kds_urls(&r, "Genoa", &u, &err) == -1 && strstr(err.msg, "contradicts"),
	      "--product contradicting the CPUID: refused");
	r.chip_id[40] = 1;
	CHECK(verify_kds_urls(&r, NULL, &u, &err) == -1 && strstr(err.msg, "past the first 8"),
	      "Turin chip id with bytes past the 8th: refused");
	r.chip_id[40] = 0;
	r.signer_info = SNP_SIGNER_MASK_CHIP_ID;
	CHECK(verify_kds_urls(&r, NULL, &u, &err) == 0 && u.vcek[0] == '\0' && strstr(u.vcek_missing_why, "masked") &&
		      strcmp(u.cert_chain, "https://kdsintf.amd.com/vcek/v1/Turin/cert_chain") == 0,
	      "masked chip id: no VCEK URL (saying why), the chain URL still");
	r.signer_info = 0;
	static const struct {
		uint8_t fam, mod;
		const char *product;
	} fms[] = {{0x19, 0x01, "Milan"}, {0x19, 0x0f, "Milan"}, {0x19, 0x11, "Genoa"}, {0x19, 0x1f, "Genoa"},
		   {0x1a, 0x11, "Turin"}, {0x19, 0xa0, NULL},    {0x1a, 0x20, NULL},    {0x17, 0x31, NULL}};
	for (size_t i = 0; i < sizeof fms / sizeof fms[0]; i++) {
		const char *product = NULL;
		r.cpuid_fam = fms[i].fam;
		r.cpuid_mod = fms[i].mod;
		int rc = verify_kds_product(&r, NULL, &product, &err);
		if (fms[i].product)
			CHECK(rc == 0 && strcmp(product, fms[i].product) == 0, "family 0x%02x model 0x%02x is %s",
			      fms[i].fam, fms[i].mod, fms[i].product);
		else
			CHECK(rc == -1 && strstr(err.msg, "not a known SEV-SNP product"),
			      "family 0x%02x model 0x%02x refused", fms[i].fam, fms[i].mod);
	}
	/* the CLI */
	CHECK_EQ_INT(run_cli("--report", GSG, "--print-kds", "--product", "Milan", NULL), 0, "--print-kds: exit 0");
	CHECK(strstr(output, "product Milan\nvcek https://kdsintf.amd.com/vcek/v1/Milan/3ac3fe21") &&
		      strstr(output, "\ncert_chain https://kdsintf.amd.com/vcek/v1/Milan/cert_chain\n") &&
		      strstr(output, "\ncrl https://kdsintf.amd.com/vcek/v1/Milan/crl\n") &&
		      strstr(output, "\nvlek_cert_chain https://kdsintf.amd.com/vlek/v1/Milan/cert_chain\n"),
	      "  ... prints the product, VCEK, chain, CRL and VLEK chain URLs");
	CHECK_EQ_INT(run_cli("--report", GSG, "--print-kds", NULL), VERIFY_EXIT_INPUT,
		     "--print-kds on a version 2 report without --product: exit 3");
	CHECK_EQ_INT(run_cli("--report", GSG, "--print-kds", "--vcek", GSG_VCEK, NULL), VERIFY_EXIT_USAGE,
		     "--print-kds with --vcek: exit 2");
	CHECK_EQ_INT(
		run_cli("--report", GSG, "--vcek", GSG_VCEK, "--chain", MILAN, "--product", "Milan", GSG_EXPECT, NULL),
		VERIFY_EXIT_USAGE, "--product without --print-kds: exit 2");
}

static void copy_file(const char *from, const char *to)
{
	uint8_t *data;
	size_t len;
	struct uvm_err err = {0};
	if (verify_read_file(from, 1 << 20, &data, &len, &err) != 0) {
		printf("# %s\n", err.msg);
		exit(2);
	}
	write_file(to, data, len);
	free(data);
}

/* --collateral DIR: DIR/vcek.der|vcek.pem, DIR/cert_chain.pem, optional crl.der. */
static void test_collateral(void)
{
	char dir[256], vcek[300], chain[300], crl[300];
	snprintf(dir, sizeof dir, "%s/collateral", tmpdir);
	snprintf(vcek, sizeof vcek, "%s/vcek.der", dir);
	snprintf(chain, sizeof chain, "%s/cert_chain.pem", dir);
	snprintf(crl, sizeof crl, "%s/crl.der", dir);
	if (mkdir(dir, 0700) != 0) {
		CHECK(0, "mkdir %s", dir);
		return;
	}
	CHECK_EQ_INT(
		run_cli("--report", GSG, "--collateral", dir, "--now", NOW_2026, "--allow-debug", GSG_EXPECT, NULL),
		VERIFY_EXIT_INPUT, "--collateral on an empty directory: exit 3");
	CHECK(strstr(output, "neither vcek.der nor vcek.pem") && strstr(output, "--print-kds"),
	      "  ... naming the missing files and where to get them");
	copy_file(GSG_VCEK, vcek);
	CHECK_EQ_INT(
		run_cli("--report", GSG, "--collateral", dir, "--now", NOW_2026, "--allow-debug", GSG_EXPECT, NULL),
		VERIFY_EXIT_INPUT, "--collateral without cert_chain.pem: exit 3");
	CHECK(strstr(output, "no cert_chain.pem") != NULL, "  ... naming cert_chain.pem");
	copy_file(MILAN, chain);
	CHECK_EQ_INT(
		run_cli("--report", GSG, "--collateral", dir, "--now", NOW_2026, "--allow-debug", GSG_EXPECT, NULL), 0,
		"gsg verifies from --collateral (no crl.der: not required)");
	/* DIR/crl.der is checked as --crl: the test PKI's CRL is not signed by AMD's Milan ARK. */
	copy_file(PKI "test-crl-valid.der", crl);
	CHECK_EQ_INT(
		run_cli("--report", GSG, "--collateral", dir, "--now", NOW_2026, "--allow-debug", GSG_EXPECT, NULL),
		VERIFY_EXIT_FAILED, "  ... a crl.der present is checked (the test PKI's CRL: rejected)");
	CHECK(strstr(output, "[FAIL] crl.signed_by_ark") != NULL, "  ... by crl.signed_by_ark");
	unlink(crl);
	CHECK_EQ_INT(run_cli("--report", GSG, "--collateral", dir, "--chain", D "gsg_ask_ark_genoa.pem", "--now",
			     NOW_2026, "--allow-debug", GSG_EXPECT, NULL),
		     VERIFY_EXIT_FAILED, "an explicit --chain wins over DIR/cert_chain.pem");
	copy_file(D "gsg_ask_ark_genoa.pem", chain);
	CHECK_EQ_INT(
		run_cli("--report", GSG, "--collateral", dir, "--now", NOW_2026, "--allow-debug", GSG_EXPECT, NULL),
		VERIFY_EXIT_FAILED, "the directory's chain is the one used (Genoa's: rejected)");
	CHECK_EQ_INT(run_cli("--report", GSG, "--collateral", dir, "--chain", MILAN, "--now", NOW_2026, "--allow-debug",
			     GSG_EXPECT, NULL),
		     0, "  ... and --chain MILAN over it is accepted");
	CHECK_EQ_INT(run_cli("--report", GSG, "--collateral", dir, "--certs", vcek, GSG_EXPECT, NULL),
		     VERIFY_EXIT_USAGE, "--collateral with --certs: exit 2");
	CHECK_EQ_INT(run_cli("--report", GSG, "--collateral", vcek, GSG_EXPECT, NULL), VERIFY_EXIT_INPUT,
		     "--collateral naming a file: exit 3");
	unlink(vcek);
	unlink(chain);
	unlink(crl);
	rmdir(dir);
}

static void test_sim_psp(void)
{
	const char *policy = tmp_path("policy.rego");
	const char *report = tmp_path("sim.bin");
	const char text[] = "package uvm\ndefault allow := false\n";
	uint8_t digest[32];
	char hex[65];
	write_file(policy, text, strlen(text));
	uvm_sha256(text, strlen(text), digest);
	uvm_hex_encode(digest, sizeof digest, hex);
	CHECK_EQ_INT(make_sim_report(report, digest), 0, "simulated PSP signs a report");
	CHECK_EQ_INT(run_cli("--report", report, "--vcek", PKI "test-vcek.pem", "--chain", PKI "test-ask-ark.pem",
			     "--trust-root", PKI "test-ark.pem", "--policy", policy, "--report-data", "11111111", NULL),
		     VERIFY_EXIT_FAILED, "sim report: --report-data 11111111 zero-padded does not match");
	CHECK_EQ_INT(run_cli("--report", report, "--vcek", PKI "test-vcek.pem", "--chain", PKI "test-ask-ark.pem",
			     "--trust-root", PKI "test-ark.pem", "--policy", policy, "--host-data", hex, NULL),
		     VERIFY_EXIT_USAGE, "--policy and --host-data together is a usage error");
	CHECK_EQ_INT(run_cli("--report", report, "--vcek", PKI "test-vcek.pem", "--chain", PKI "test-ask-ark.pem",
			     "--trust-root", PKI "test-ark.pem", "--policy", policy, NULL),
		     0, "sim report accepted with --trust-root test ARK and its policy");
	CHECK(strstr(output, "[pass] host_data") && strstr(output, "[pass] report.chip_id"),
	      "  ... host_data is the policy's SHA-256 and chip id the test hwID");
	CHECK_EQ_INT(run_cli("--report", report, "--vcek", PKI "test-vcek.pem", "--chain", PKI "test-ask.pem",
			     "--trust-root", PKI "test-ark.pem", "--policy", policy, NULL),
		     0, "sim report accepted with the ASK alone and the ARK from --trust-root");
	CHECK_EQ_INT(run_cli("--report", report, "--vcek", PKI "test-vcek.pem", "--chain", PKI "test-ask-ark.pem",
			     "--policy", policy, NULL),
		     VERIFY_EXIT_FAILED, "sim report rejected with only the pinned AMD roots");
	CHECK(strstr(output, "[FAIL] chain.ark_trusted") != NULL, "  ... because the ARK is not pinned");
	CHECK_EQ_INT(run_cli("--report", report, "--vcek", PKI "test-vcek.pem", "--chain", MILAN, "--trust-root",
			     PKI "test-ark.pem", "--policy", policy, NULL),
		     VERIFY_EXIT_FAILED, "sim report with the test VCEK but AMD's chain rejected");
	test_flips(report, PKI "test-vcek.pem", PKI "test-ask-ark.pem", false, PKI "test-ark.pem");
}

/* The ID key and author key digests (from `uvm idblock`): the author key
 * counts only with signer_info's AUTHOR_KEY_EN set. */
static int make_keyed_report(const char *path, bool author_key_en)
{
	struct snp_report r;
	memset(&r, 0, sizeof r);
	r.version = 3;
	r.policy = SNP_POLICY_RESERVED1;
	memset(r.id_key_digest, 0xd1, sizeof r.id_key_digest);
	memset(r.author_key_digest, 0xa2, sizeof r.author_key_digest);
	sim_psp_fill_platform(&r);
	if (author_key_en)
		r.signer_info |= SNP_SIGNER_AUTHOR_KEY_EN;
	return write_signed_report(path, &r);
}

static void test_key_digests(void)
{
	const char *report = tmp_path("keyed.bin");
	char id[97], author[97], wrong[97];
	memset(id, 0, sizeof id);
	for (int i = 0; i < 96; i++) {
		id[i] = "d1"[i % 2];
		author[i] = "a2"[i % 2];
		wrong[i] = "a3"[i % 2];
	}
	author[96] = wrong[96] = '\0';
#define KEYED                                                                                                 \
	"--report", report, "--vcek", PKI "test-vcek.pem", "--chain", PKI "test-ask-ark.pem", "--trust-root", \
		PKI "test-ark.pem", "--report-data", "00" /* the report's (zero) REPORT_DATA */
	CHECK_EQ_INT(make_keyed_report(report, true), 0, "simulated PSP signs a report with AUTHOR_KEY_EN set");
	CHECK_EQ_INT(run_cli(KEYED, "--id-key-digest", id, "--author-key-digest", author, NULL), 0,
		     "id and author key digests as in the report: accepted");
	CHECK(strstr(output, "[pass] id_key_digest") && strstr(output, "[pass] author_key_digest"),
	      "  ... both checks pass");
	CHECK_EQ_INT(run_cli(KEYED, "--id-key-digest", id, "--author-key-digest", wrong, NULL), VERIFY_EXIT_FAILED,
		     "a different author key digest: rejected");
	CHECK(strstr(output, "[FAIL] author_key_digest") && strstr(output, "[pass] id_key_digest"),
	      "  ... the author_key_digest check names it");
	CHECK_EQ_INT(run_cli(KEYED, "--id-key-digest", author, NULL), VERIFY_EXIT_FAILED,
		     "the author digest given as --id-key-digest: rejected");
	CHECK_EQ_INT(run_cli(KEYED, NULL), 0, "no key digests requested: accepted");
	CHECK(strstr(output, "author_key_digest") && !strstr(output, "[pass] author_key_digest"),
	      "  ... and author_key_digest is listed as not requested, not passed");
	CHECK_EQ_INT(run_cli(KEYED, "--author-key-digest", "a2", NULL), VERIFY_EXIT_USAGE,
		     "--author-key-digest with 2 hex digits: usage error");
	CHECK_EQ_INT(make_keyed_report(report, false), 0, "the same digests with AUTHOR_KEY_EN clear");
	CHECK_EQ_INT(run_cli(KEYED, "--author-key-digest", author, NULL), VERIFY_EXIT_FAILED,
		     "AUTHOR_KEY_EN 0: the author key digest is not accepted even if the bytes match");
	CHECK(strstr(output, "[FAIL] author_key_digest") && strstr(output, "author_key_en is 0"),
	      "  ... the failure says author_key_en is 0");
#undef KEYED
}

static void test_vcek_extensions(void)
{
	X509 *x[1];
	size_t n;
	struct uvm_err err = {0};
	struct vcek_info info;
	if (verify_cert_load(D "virtee_turin_vcek.der", x, 1, &n, &err) != 0) {
		CHECK(0, "load the Turin VCEK: %s", err.msg);
		return;
	}
	CHECK_EQ_INT(verify_vcek_info(x[0], &info, &err), 0, "Turin VCEK extensions parse");
	CHECK_EQ_STR(info.product, "Turin", "Turin product name");
	CHECK_EQ_INT(info.hwid_len, 8, "Turin hwID is 8 bytes");
	CHECK(info.have_fmc && info.tcb.microcode == 9, "Turin fmc present, ucode 9");
	CHECK_EQ_INT(verify_tcb_layout(&info), SNP_TCB_TURIN, "Turin TCB layout chosen");
	CHECK_EQ_INT(info.kind, LEAF_VCEK, "Turin leaf is a VCEK");
	X509_free(x[0]);
	if (verify_cert_load(PKI "test-vcek.pem", x, 1, &n, &err) != 0) {
		CHECK(0, "load the test VCEK: %s", err.msg);
		return;
	}
	CHECK_EQ_INT(verify_vcek_info(x[0], &info, &err), 0, "test VCEK extensions parse");
	CHECK_EQ_STR(info.product, SIM_PSP_PRODUCT, "test VCEK product");
	CHECK(info.tcb.microcode == TEST_VCEK_MICROCODE && info.tcb.snp == TEST_VCEK_SNP,
	      "test VCEK TCB matches test_vcek_key.h");
	CHECK(info.hwid_len == 64 && memcmp(info.hwid, test_vcek_chip_id, 64) == 0,
	      "test VCEK hwID matches test_vcek_key.h");
	X509_free(x[0]);
}

static void test_cli_errors(void)
{
	uint8_t raw[SNP_REPORT_SIZE + 64];
	struct uvm_err err = {0};
	CHECK_EQ_INT(run_cli("--help", NULL), 0, "--help exits 0");
	CHECK(strstr(output, "exit status") != NULL, "--help documents the exit status");
	CHECK_EQ_INT(run_cli("--vcek", GSG_VCEK, "--chain", MILAN, NULL), VERIFY_EXIT_USAGE,
		     "missing --report: exit 2");
	CHECK_EQ_INT(run_cli("--report", GSG, NULL), VERIFY_EXIT_USAGE, "no certificate option at all: exit 2");
	CHECK_EQ_INT(run_cli("--report", GSG, "--chain", MILAN, GSG_EXPECT, NULL), VERIFY_EXIT_INPUT,
		     "no VCEK among the certificates given: exit 3");
	CHECK(strstr(output, "no VCEK or VLEK") && strstr(output, "--vcek FILE") && strstr(output, MILAN),
	      "  ... naming the files searched and --vcek");
	CHECK_EQ_INT(run_cli("--report", GSG, "--vcek", GSG_VCEK, "--chain", MILAN, "--measurement", "abc", NULL),
		     VERIFY_EXIT_USAGE, "short --measurement: exit 2");
	CHECK_EQ_INT(run_cli("--report", GSG, "--vcek", GSG_VCEK, "--chain", MILAN, "--now", "soon", NULL),
		     VERIFY_EXIT_USAGE, "bad --now: exit 2");
	CHECK_EQ_INT(run_cli("--report", GSG, "--bogus", NULL), VERIFY_EXIT_USAGE, "unknown option: exit 2");
	CHECK_EQ_INT(run_cli("--report", tmp_path("missing"), "--vcek", GSG_VCEK, "--chain", MILAN, GSG_EXPECT, NULL),
		     VERIFY_EXIT_INPUT, "missing report file: exit 3");
	CHECK_EQ_INT(run_cli("--report", GSG, "--vcek", GSG, "--chain", MILAN, GSG_EXPECT, NULL), VERIFY_EXIT_INPUT,
		     "a report given as the VCEK: exit 3");
	CHECK(strstr(output, "not a DER or PEM") != NULL, "  ... saying it is not a certificate");
	/* The report wrapped in 32 bytes before and after: --offset. */
	base_opts(&opts, GSG, GSG_VCEK, MILAN);
	memset(raw, 0xee, sizeof raw);
	CHECK_EQ_INT(verify_load_report(&opts, raw + 32, &err), 0, "load gsg");
	const char *wrapped = tmp_path("wrapped.bin");
	write_file(wrapped, raw, sizeof raw);
	CHECK_EQ_INT(run_cli("--report", wrapped, "--vcek", GSG_VCEK, "--chain", MILAN, "--now", NOW_2026,
			     "--allow-debug", "--offset", "32", GSG_EXPECT, NULL),
		     0, "wrapped report verifies with --offset 32");
	CHECK_EQ_INT(run_cli("--report", wrapped, "--vcek", GSG_VCEK, "--chain", MILAN, "--now", NOW_2026,
			     "--allow-debug", GSG_EXPECT, NULL),
		     VERIFY_EXIT_INPUT, "wrapped report without --offset: exit 3");
	CHECK_EQ_INT(
		run_cli("--report", wrapped, "--vcek", GSG_VCEK, "--chain", MILAN, "--offset", "96", GSG_EXPECT, NULL),
		VERIFY_EXIT_INPUT, "--offset past the end: exit 3");
	raw[32] = 4; /* version 4 */
	write_file(wrapped, raw + 32, SNP_REPORT_SIZE);
	CHECK_EQ_INT(run_cli("--report", wrapped, "--vcek", GSG_VCEK, "--chain", MILAN, GSG_EXPECT, NULL),
		     VERIFY_EXIT_INPUT, "version 4 report: exit 3");
	CHECK(strstr(output, "version 4 is not supported") != NULL, "  ... naming the version");
}

static size_t put_entry(uint8_t *table, size_t slot, const char *guid_hex, size_t off, const uint8_t *der, size_t len)
{
	uint8_t *e = table + 24 * slot;
	uvm_hex_decode(guid_hex, e, 16);
	for (int b = 0; b < 4; b++) {
		e[16 + b] = (uint8_t)(off >> (8 * b));
		e[20 + b] = (uint8_t)(len >> (8 * b));
	}
	memcpy(table + off, der, len);
	return off + len;
}

/* A GHCB certificate table (auxblob) built from the gsg VCEK and chain. */
static void test_cert_table(void)
{
	static const char *guids[] = {"63da758de6644564adc5f4b93be8accd", "4ab7b379bbac4fe4a02f05aef327c782",
				      "c0b406a4a803495297433fb6014cd0ae"};
	X509 *certs[3];
	size_t n;
	struct uvm_err err = {0};
	static uint8_t table[16384];
	memset(table, 0, sizeof table);
	if (verify_cert_load(GSG_VCEK, certs, 1, &n, &err) != 0 ||
	    verify_cert_load(MILAN, certs + 1, 2, &n, &err) != 0) {
		CHECK(0, "load gsg certificates: %s", err.msg);
		return;
	}
	size_t off = 24 * 4;
	for (size_t i = 0; i < 3; i++) {
		unsigned char *der = NULL;
		int len = i2d_X509(certs[i], &der);
		off = put_entry(table, i, guids[i], off, der, (size_t)len);
		OPENSSL_free(der);
		X509_free(certs[i]);
	}
	const char *path = tmp_path("certs.bin");
	write_file(path, table, off);
	CHECK_EQ_INT(run_cli("--report", GSG, "--certs", path, "--now", NOW_2026, "--allow-debug", GSG_EXPECT, NULL), 0,
		     "gsg verifies with its certificates from a certificate table");
	CHECK_EQ_INT(run_cli("--report", GSG, "--certs", path, "--chain", D "gsg_ask_ark_genoa.pem", "--now", NOW_2026,
			     "--allow-debug", GSG_EXPECT, NULL),
		     VERIFY_EXIT_FAILED, "an explicit --chain overrides the table's");
	/* The table with the VCEK alone (as many hosts ship it): --chain gives the rest. */
	static uint8_t vcek_only[16384];
	memcpy(vcek_only, table, off);
	memset(vcek_only + 24, 0, 48); /* the ASK and ARK entries become the end entry */
	write_file(path, vcek_only, off);
	CHECK_EQ_INT(run_cli("--report", GSG, "--certs", path, "--chain", MILAN, "--now", NOW_2026, "--allow-debug",
			     GSG_EXPECT, NULL),
		     0, "a table with the VCEK alone and --chain for the ASK and ARK: accepted");
	CHECK(strstr(output, "(VCEK/VLEK entry)") != NULL, "  ... the VCEK named as the table's");
	CHECK_EQ_INT(run_cli("--report", GSG, "--certs", path, "--now", NOW_2026, GSG_EXPECT, NULL), VERIFY_EXIT_INPUT,
		     "the same table alone: exit 3");
	CHECK(strstr(output, "ASK") && strstr(output, "--chain"), "  ... naming the missing ASK and --chain (%s)",
	      output);
	table[24 + 20] = 0xff; /* ASK length past the end */
	table[24 + 21] = 0xff;
	write_file(path, table, off);
	CHECK_EQ_INT(run_cli("--report", GSG, "--certs", path, "--now", NOW_2026, GSG_EXPECT, NULL), VERIFY_EXIT_INPUT,
		     "table entry outside the table: exit 3");
	CHECK(strstr(output, "lies outside") != NULL, "  ... saying so");
	write_file(path, table, 24 * 2);
	CHECK_EQ_INT(run_cli("--report", GSG, "--certs", path, "--now", NOW_2026, GSG_EXPECT, NULL), VERIFY_EXIT_INPUT,
		     "table without an end entry: exit 3");
}

/* Appends the PEM of every certificate of a file to f, optionally with the
 * text `openssl x509 -text` writes before each block. */
static void append_pem(FILE *f, const char *path, bool with_text, int only)
{
	X509 *x[8];
	size_t n;
	struct uvm_err err = {0};
	if (verify_cert_load(path, x, 8, &n, &err) != 0) {
		CHECK(0, "load %s: %s", path, err.msg);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (only < 0 || (size_t)only == i) {
			if (with_text)
				X509_print_fp(f, x[i]);
			PEM_write_X509(f, x[i]);
		}
		X509_free(x[i]);
	}
}

static const char *bundle(const char *name, const char *a, int a_only, const char *b, int b_only, const char *c,
			  int c_only)
{
	const char *path = tmp_path(name);
	FILE *f = fopen(path, "w");
	if (!f)
		abort();
	append_pem(f, a, true, a_only);
	if (b)
		append_pem(f, b, false, b_only);
	if (c)
		append_pem(f, c, true, c_only);
	fclose(f);
	return path;
}

/* Certificates as people have them: text before the blocks, bundles with
 * more than needed, any order; each is chosen by its role and the output
 * says which. True ambiguity is refused. */
static void test_cert_roles(void)
{
	const char *azure = bundle("azure.pem", GSG_VCEK, -1, MILAN, -1, NULL, 0);
	CHECK_EQ_INT(run_cli("--report", GSG, "--vcek", azure, "--now", NOW_2026, "--allow-debug", "--measurement",
			     GSG_MEASUREMENT, "--json", NULL),
		     0, "VCEK+ASK+ARK in one --vcek file with -text output before each block: accepted");
	CHECK(strstr(output, "{\"role\": \"ARK\", \"subject\": \"CN=ARK-Milan\"") &&
		      strstr(output, "(certificate 3 of 3)\"}") && strstr(output, "\"role\": \"VCEK\""),
	      "  ... the JSON says the ARK is certificate 3 of that file");
	const char *extra = bundle("asvk_ark_ask.pem", D "gsg_asvk_ark_milan.pem", -1, MILAN, 0, NULL, 0);
	CHECK_EQ_INT(run_cli("--report", GSG, "--vcek", GSG_VCEK, "--chain", extra, "--now", NOW_2026, "--allow-debug",
			     "--measurement", GSG_MEASUREMENT, NULL),
		     0, "ASVK+ARK+ASK bundle: the ASK that issued the VCEK is chosen");
	CHECK(strstr(output, "ASK  CN=SEV-Milan") && strstr(output, "(certificate 3 of 3)"),
	      "  ... the text output names the ASK and where it came from");
	const char *ark_first = bundle("ark_first.pem", MILAN, 1, MILAN, 0, NULL, 0);
	CHECK_EQ_INT(run_cli("--report", GSG, "--vcek", GSG_VCEK, "--chain", ark_first, "--now", NOW_2026,
			     "--allow-debug", "--measurement", GSG_MEASUREMENT, NULL),
		     0, "ARK first, then the ASK: accepted");
	CHECK(strstr(output, "[pass] chain.ark_trusted"), "  ... the ARK is the pinned Milan root");
	/* Two ASKs that both issued... neither: refused, naming both. */
	const char *two = bundle("two_asks.pem", D "gsg_ask_ark_genoa.pem", -1, D "gsg_ask_ark_turin.pem", 0, NULL, 0);
	CHECK_EQ_INT(run_cli("--report", GSG, "--vcek", GSG_VCEK, "--chain", two, "--now", NOW_2026, GSG_EXPECT, NULL),
		     VERIFY_EXIT_INPUT, "Genoa and Turin ASKs, neither the VCEK's issuer: exit 3");
	CHECK(strstr(output, "two different certificates fit the ASK/ASVK role") && strstr(output, "CN=SEV-Genoa") &&
		      strstr(output, "CN=SEV-Turin"),
	      "  ... naming both candidates");
	const char *two_vceks = bundle("two_vceks.pem", GSG_VCEK, -1, VIRTEE_VCEK, -1, NULL, 0);
	CHECK_EQ_INT(
		run_cli("--report", GSG, "--vcek", two_vceks, "--chain", MILAN, "--now", NOW_2026, GSG_EXPECT, NULL),
		VERIFY_EXIT_INPUT, "two VCEKs: exit 3");
	CHECK(strstr(output, "VCEK/VLEK role") && strstr(output, "certificate 1 of 2") &&
		      strstr(output, "certificate 2 of 2"),
	      "  ... naming both");
	CHECK_EQ_INT(run_cli("--report", GSG, "--vcek", MILAN, "--chain", MILAN, "--now", NOW_2026, GSG_EXPECT, NULL),
		     VERIFY_EXIT_INPUT, "the chain given as --vcek (no VCEK anywhere): exit 3");
	CHECK(strstr(output, "no VCEK or VLEK") && !strstr(output, "want the ASK"),
	      "  ... saying the VCEK is missing, not that the file holds too many certificates");
	/* The same certificate twice (ARK in --chain and in --vcek) is no ambiguity. */
	const char *dup = bundle("dup.pem", GSG_VCEK, -1, MILAN, 1, NULL, 0);
	CHECK_EQ_INT(run_cli("--report", GSG, "--vcek", dup, "--chain", MILAN, "--now", NOW_2026, "--allow-debug",
			     "--measurement", GSG_MEASUREMENT, NULL),
		     0, "the ARK given twice: accepted");
	/* A certificate of no role (a self-signed
	 * non-AMD certificate) is refused. */
	const char *stranger = tmp_path("stranger.pem");
	FILE *f = fopen(stranger, "w");
	X509 *x = X509_new();
	EVP_PKEY *key = EVP_EC_gen("P-384");
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"example.com", -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509_set_pubkey(x, key);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_sign(x, key, EVP_sha384());
	append_pem(f, MILAN, false, -1);
	PEM_write_X509(f, x);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(key);
	CHECK_EQ_INT(
		run_cli("--report", GSG, "--vcek", GSG_VCEK, "--chain", stranger, "--now", NOW_2026, GSG_EXPECT, NULL),
		VERIFY_EXIT_INPUT, "a certificate that fits no role: exit 3");
	CHECK(strstr(output, "(certificate 3 of 3) (CN=example.com) is neither"), "  ... naming it");
	/* A malformed block after a good one is not silently dropped. */
	f = fopen(stranger, "w");
	append_pem(f, MILAN, false, 0);
	fputs("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", f);
	fclose(f);
	CHECK_EQ_INT(
		run_cli("--report", GSG, "--vcek", GSG_VCEK, "--chain", stranger, "--now", NOW_2026, GSG_EXPECT, NULL),
		VERIFY_EXIT_INPUT, "a malformed second PEM block: exit 3");
	CHECK(strstr(output, "PEM certificate block 2 is malformed"), "  ... naming the block");
}

/* --crl: CRLs of the test PKI (tests/pki/make-test-crls.sh). */
static void test_crl(void)
{
	const char *report = tmp_path("sim.bin");
	static const uint8_t zero[32];
	char rd[129];
	memset(rd, '1', 128);
	rd[128] = '\0';
	CHECK_EQ_INT(make_sim_report(report, zero), 0, "simulated PSP signs a report");
	static const struct {
		const char *crl, *check;
		int rc;
		const char *says;
	} cases[] = {
		{PKI "test-crl-valid.pem", NULL, 0, "[pass] crl.vcek_not_revoked"},
		{PKI "test-crl-valid.der", NULL, 0, "[pass] crl.signed_by_ark"},
		{PKI "test-crl-expired.pem", "crl.valid", 1, "(expired: fetch the current CRL)"},
		{PKI "test-crl-wrong-key.pem", "crl.signed_by_ark", 1, "signature does not verify"},
		{PKI "test-crl-ask.pem", "crl.ask_not_revoked", 1, "serial 0x02 REVOKED on 2026-01-02T00:00:00Z"},
		{PKI "test-crl-vcek.pem", "crl.vcek_not_revoked", 1, "serial 0x03 REVOKED on 2026-01-02T00:00:00Z"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = run_cli("--report", report, "--vcek", PKI "test-vcek.pem", "--chain", PKI "test-ask-ark.pem",
				 "--trust-root", PKI "test-ark.pem", "--report-data", rd, "--now", NOW_2026, "--crl",
				 cases[i].crl, NULL);
		CHECK_EQ_INT(rc, cases[i].rc, "--crl %s: exit %d", cases[i].crl, cases[i].rc);
		CHECK(strstr(output, cases[i].says) != NULL, "  ... output says '%s'", cases[i].says);
		if (cases[i].check) {
			char want[96];
			snprintf(want, sizeof want, "failed: %s\n", cases[i].check);
			CHECK(strstr(output, want) != NULL, "  ... %s is the only failed check", cases[i].check);
		} else {
			CHECK(strstr(output, "ACCEPTED") && strstr(output, "[pass] crl.valid") &&
				      strstr(output, "[pass] crl.ask_not_revoked") && !strstr(output, "[skip] crl"),
			      "  ... accepted with every crl check run");
		}
	}
	/* The valid CRL at a time before its thisUpdate, and a CRL of another ARK. */
	CHECK_EQ_INT(run_cli("--report", report, "--vcek", PKI "test-vcek.pem", "--chain", PKI "test-ask-ark.pem",
			     "--trust-root", PKI "test-ark.pem", "--report-data", rd, "--now", "2025-12-31", "--crl",
			     PKI "test-crl-valid.pem", NULL),
		     VERIFY_EXIT_FAILED, "--crl before its thisUpdate: exit 1");
	CHECK(strstr(output, "[FAIL] crl.valid") && strstr(output, "(not yet valid)"), "  ... crl.valid says why");
	CHECK_EQ_INT(run_cli("--report", GSG, "--vcek", GSG_VCEK, "--chain", MILAN, "--now", NOW_2026, "--allow-debug",
			     "--measurement", GSG_MEASUREMENT, "--crl", PKI "test-crl-valid.pem", NULL),
		     VERIFY_EXIT_FAILED, "the test PKI's CRL for an AMD Milan chain: exit 1");
	CHECK(strstr(output, "[FAIL] crl.signed_by_ark") && strstr(output, "issuer name differs"),
	      "  ... the CRL's issuer is not the ARK");
	/* Without --crl: not requested. */
	CHECK_EQ_INT(run_cli("--report", report, "--vcek", PKI "test-vcek.pem", "--chain", PKI "test-ask-ark.pem",
			     "--trust-root", PKI "test-ark.pem", "--report-data", rd, "--now", NOW_2026, "--json",
			     NULL),
		     0, "no --crl: accepted");
	CHECK(strstr(output, "{\"name\": \"crl.ask_not_revoked\", \"expected\": \"give --crl FILE") &&
		      strstr(output, "\"result\": \"not-requested\"}"),
	      "  ... crl checks are not-requested");
	/* Unparsable CRLs: exit 3 naming the file. */
	const char *bad = tmp_path("bad.crl");
	const char *pem = "-----BEGIN X509 CRL-----\nMIIB\n-----END X509 CRL-----\n";
	write_file(bad, pem, strlen(pem));
	CHECK_EQ_INT(run_cli("--report", report, "--vcek", PKI "test-vcek.pem", "--chain", PKI "test-ask-ark.pem",
			     "--trust-root", PKI "test-ark.pem", "--crl", bad, "--report-data", rd, NULL),
		     VERIFY_EXIT_INPUT, "malformed PEM CRL: exit 3");
	CHECK(strstr(output, bad) && strstr(output, "malformed"), "  ... naming the file");
	CHECK_EQ_INT(run_cli("--report", report, "--vcek", PKI "test-vcek.pem", "--chain", PKI "test-ask-ark.pem",
			     "--trust-root", PKI "test-ark.pem", "--crl", PKI "test-vcek.pem", "--report-data", rd,
			     NULL),
		     VERIFY_EXIT_INPUT, "a certificate given as the CRL: exit 3");
	CHECK(strstr(output, "test-vcek.pem: not a DER or PEM X.509 CRL"), "  ... saying it is not a CRL");
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 2;
	}
	test_real_reports_accept();
	test_flips(GSG, GSG_VCEK, MILAN, true, NULL);
	test_flips(VIRTEE, VIRTEE_VCEK, D "virtee_builtin_milan_ask_ark.pem", false, NULL);
	test_wrong_chains();
	test_expectations();
	test_validity();
	test_sim_psp();
	test_key_digests();
	test_vcek_extensions();
	test_cli_errors();
	test_cert_table();
	test_tcb();
	test_no_expectations();
	test_kds();
	test_collateral();
	test_cert_roles();
	test_crl();
	static const char *names[] = {"out.txt",      "flipped.bin",   "measurement.json", "policy.rego",
				      "sim.bin",      "wrapped.bin",   "certs.bin",        "tcb.bin",
				      "keyed.bin",    "azure.pem",     "asvk_ark_ask.pem", "ark_first.pem",
				      "two_asks.pem", "two_vceks.pem", "dup.pem",          "stranger.pem"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		unlink(tmp_path(names[i]));
	rmdir(tmpdir);
	return check_done();
}
