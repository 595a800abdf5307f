/* uvm verify: what the verifier is asked to check (struct verify_opts), the
 * named results it produces (struct verify_results), and the entry point.
 * cmd_verify.c parses the command line into opts; verify_run.c runs every
 * check; verify_output.c prints them. See docs/verify.md. */
#ifndef UVM_VERIFY_H
#define UVM_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "err.h"
#include "snp_report.h"

/* Exit codes of `uvm verify` (documented in --help and docs/verify.md). */
#define VERIFY_EXIT_OK 0     /* every check passed */
#define VERIFY_EXIT_FAILED 1 /* a check failed: the report is not acceptable */
#define VERIFY_EXIT_USAGE 2  /* bad command line */
#define VERIFY_EXIT_INPUT 3  /* unreadable or malformed input */

#define VERIFY_MAX_MEASUREMENTS 256

struct verify_opts {
	const char *report_path;
	size_t offset;    /* of the report inside the file */
	bool have_offset; /* with --offset the file may be longer */
	const char *vcek_path, *chain_path, *trust_root_path;
	const char *certs_path; /* certificate table: fills roles --vcek/--chain do not */
	/* --crl, or DIR/crl.der of --collateral DIR: AMD's CRL, signed by the ARK;
	 * NULL: not checked. */
	const char *crl_path;
	time_t now;
	bool now_given; /* --now was given (else now is the current time) */

	/* Expectations: each checked only when its have_ flag is set. */
	size_t n_measurements; /* from --measurement or --measurements */
	uint8_t measurements[VERIFY_MAX_MEASUREMENTS][SNP_MEASUREMENT_LEN];
	const char *measurement_source; /* for messages */
	bool have_host_data;
	uint8_t host_data[SNP_HOST_DATA_LEN];
	const char *host_data_source;
	bool have_report_data;
	uint8_t report_data[SNP_REPORT_DATA_LEN];
	bool have_min_tcb;
	bool min_tcb_is_raw; /* raw 64-bit value: decoded in the chip's layout */
	uint64_t min_tcb_raw;
	struct snp_tcb min_tcb;
	bool have_vmpl;
	uint32_t vmpl;
	bool have_min_guest_svn;
	uint32_t min_guest_svn;
	bool have_id_key_digest;
	uint8_t id_key_digest[SNP_KEY_DIGEST_LEN];
	bool have_author_key_digest; /* also requires signer_info's AUTHOR_KEY_EN */
	uint8_t author_key_digest[SNP_KEY_DIGEST_LEN];
	bool allow_debug, allow_migration_agent, deny_smt;
	/* --no-expectations: accept without any identity expectation
	 * (measurement, host_data, report_data); the summary says so. */
	bool no_expectations;
	bool deny_provisional; /* --deny-provisional: refuse provisional firmware */
};

enum verify_result { VR_PASS, VR_FAIL, VR_NOT_APPLICABLE, VR_NOT_REQUESTED };

#define VERIFY_MAX_CHECKS 40
#define VERIFY_VALUE_MAX 240

struct verify_check {
	const char *name; /* static string, e.g. "report.signature" */
	enum verify_result result;
	char expected[VERIFY_VALUE_MAX];
	char actual[VERIFY_VALUE_MAX];
};

#define VERIFY_MAX_NOTES 4

/* Which certificate played which role: printed before the checks. */
struct verify_cert_use {
	const char *role; /* "ARK", "ASK", "VCEK", ... */
	char source[VERIFY_VALUE_MAX];
	char subject[VERIFY_VALUE_MAX];
	char sha256[65];
};

struct verify_results {
	size_t n;
	struct verify_check c[VERIFY_MAX_CHECKS];
	/* Facts the reader must know even when every check passed (provisional
	 * firmware, nothing checked about the guest's identity). */
	size_t n_notes;
	char notes[VERIFY_MAX_NOTES][VERIFY_VALUE_MAX];
	bool identity_unchecked; /* --no-expectations and no identity expectation */
	size_t n_certs;
	struct verify_cert_use certs[3];
};

/* Records one check. VERIFY_MAX_CHECKS is sized for every check verify_run
 * can add; past it the last slot is overwritten with a failing check so an
 * overflow can never turn into a pass. */
void verify_add(struct verify_results *res, const char *name, enum verify_result result, const char *expected,
		const char *actual);
/* The same with a printf-formatted actual value. */
void verify_addf(struct verify_results *res, const char *name, enum verify_result result, const char *expected,
		 const char *actual_fmt, ...) __attribute__((format(printf, 5, 6)));

/* Records a note (printed before the summary; in JSON under "notes"). Past
 * VERIFY_MAX_NOTES the last one is replaced by a note saying so. */
void verify_note(struct verify_results *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* snprintf that truncates silently: every value here is display text. */
void verify_fmt(char *out, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Lowercase hex of len bytes into out (truncated with "..." if too small). */
const char *verify_hex(const uint8_t *bytes, size_t len, char *out, size_t out_size);

/* Runs every check. Returns 0 when the checks ran (their results say
 * whether the report is acceptable), -1 when an input could not be read or
 * parsed (err says which and why). */
int verify_run(const struct verify_opts *opts, struct verify_results *res, struct uvm_err *err);

/* VERIFY_EXIT_OK if no check failed, else VERIFY_EXIT_FAILED. */
int verify_exit_code(const struct verify_results *res);

void verify_print_text(FILE *out, const char *report_path, const struct verify_results *res);
void verify_print_json(FILE *out, const char *report_path, const struct verify_results *res);

/* Reads a whole file of at most max bytes into a malloc'ed buffer. */
int verify_read_file(const char *path, size_t max, uint8_t **data, size_t *len, struct uvm_err *err);

/* Loads the report bytes from a file: raw binary or hex text, optionally at
 * an offset inside a larger wrapper. */
int verify_load_report(const struct verify_opts *opts, uint8_t out[SNP_REPORT_SIZE], struct uvm_err *err);

/* Parses --now: "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SSZ" or unix seconds. */
int verify_parse_time(const char *text, time_t *out);

/* Collects every 96-hex-digit token of a measurements file (e.g.
 * out/image/measurement.json) into opts->measurements. */
int verify_load_measurements(const char *path, struct verify_opts *opts, struct uvm_err *err);

/* Parses --min-tcb into opts: a raw 64-bit value (0x..., decoded later in
 * the layout of the chip that signed) or "bl=N,tee=N,snp=N,ucode=N[,fmc=N]"
 * (any subset; missing components are 0). */
int verify_parse_min_tcb(const char *text, struct verify_opts *opts);

/* True when opts names at least one identity expectation: --measurement(s),
 * --host-data/--policy or --report-data. */
bool verify_has_identity_expectation(const struct verify_opts *opts);

/* AMD Key Distribution Service URLs for a report (verify_kds.c). */
#define VERIFY_URL_MAX 256
struct verify_kds_urls {
	char product[8];              /* "Milan", "Genoa" or "Turin" */
	char vcek[VERIFY_URL_MAX];    /* empty when the chip id is masked or zero */
	const char *vcek_missing_why; /* why vcek is empty */
	char cert_chain[VERIFY_URL_MAX], crl[VERIFY_URL_MAX];
	char vlek_cert_chain[VERIFY_URL_MAX], vlek_crl[VERIFY_URL_MAX];
};

/* The product of a report: product_name (--product, may be NULL) or, for a
 * version 3+ report, its CPUID family and model. Refuses an unknown name, an
 * unknown family/model, a version 2 report without a name and a name that
 * contradicts the report's CPUID. */
int verify_kds_product(const struct snp_report *r, const char *product_name, const char **product, struct uvm_err *err);

/* Fills urls for r (product from verify_kds_product). */
int verify_kds_urls(const struct snp_report *r, const char *product_name, struct verify_kds_urls *urls,
		    struct uvm_err *err);

#endif
