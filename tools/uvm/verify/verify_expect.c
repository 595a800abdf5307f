/* The verifier's own expectations about the guest: policy bits (always
 * checked: debug and the migration agent must be off unless allowed), and
 * the optional values given on the command line. An expectation that was
 * not given is listed as "not requested", never as passed. */
#include <string.h>

#include "verify_report.h"

static void not_requested(struct verify_results *res, const char *name, const char *how)
{
	verify_add(res, name, VR_NOT_REQUESTED, how, "");
}

static void compare_bytes(struct verify_results *res, const char *name, const uint8_t *want, const uint8_t *got,
			  size_t len, const char *source)
{
	char w[VERIFY_VALUE_MAX], g[VERIFY_VALUE_MAX], expected[VERIFY_VALUE_MAX];
	verify_hex(want, len, w, sizeof w);
	verify_hex(got, len, g, sizeof g);
	if (source)
		verify_fmt(expected, sizeof expected, "%s (%s)", w, source);
	else
		verify_fmt(expected, sizeof expected, "%s", w);
	verify_add(res, name, memcmp(want, got, len) == 0 ? VR_PASS : VR_FAIL, expected, g);
}

static void check_measurement(const struct verify_opts *o, const struct snp_report *r, struct verify_results *res)
{
	if (o->n_measurements == 0) {
		not_requested(res, "measurement", "give --measurement HEX or --measurements FILE");
		return;
	}
	if (o->n_measurements == 1) {
		compare_bytes(res, "measurement", o->measurements[0], r->measurement, SNP_MEASUREMENT_LEN,
			      o->measurement_source);
		return;
	}
	char expected[VERIFY_VALUE_MAX], got[2 * SNP_MEASUREMENT_LEN + 1];
	bool found = false;
	for (size_t i = 0; i < o->n_measurements && !found; i++)
		found = memcmp(o->measurements[i], r->measurement, SNP_MEASUREMENT_LEN) == 0;
	verify_fmt(expected, sizeof expected, "any of %zu measurements in %s", o->n_measurements,
		   o->measurement_source ? o->measurement_source : "the list");
	verify_add(res, "measurement", found ? VR_PASS : VR_FAIL, expected,
		   verify_hex(r->measurement, SNP_MEASUREMENT_LEN, got, sizeof got));
}

static void check_policy_bit(struct verify_results *res, const char *name, const struct snp_report *r, uint64_t bit,
			     bool allowed, const char *allow_flag)
{
	bool set = (r->policy & bit) != 0;
	char expected[VERIFY_VALUE_MAX];
	if (allowed)
		verify_fmt(expected, sizeof expected, "allowed or not (%s given)", allow_flag);
	else
		verify_fmt(expected, sizeof expected, "not allowed (pass %s to accept it)", allow_flag);
	verify_addf(res, name, allowed || !set ? VR_PASS : VR_FAIL, expected, "%s (policy 0x%llx)",
		    set ? "allowed" : "not allowed", (unsigned long long)r->policy);
}

static void check_smt(const struct verify_opts *o, const struct snp_report *r, struct verify_results *res)
{
	if (!o->deny_smt) {
		not_requested(res, "policy.smt", "give --deny-smt to require SMT to be disallowed");
		return;
	}
	bool set = (r->policy & SNP_POLICY_SMT) != 0;
	verify_addf(res, "policy.smt", set ? VR_FAIL : VR_PASS, "not allowed (--deny-smt)", "%s (policy 0x%llx)",
		    set ? "allowed" : "not allowed", (unsigned long long)r->policy);
}

static bool tcb_at_least(const struct snp_tcb *got, const struct snp_tcb *min)
{
	return got->fmc >= min->fmc && got->bootloader >= min->bootloader && got->tee >= min->tee &&
	       got->snp >= min->snp && got->microcode >= min->microcode;
}

/* --min-tcb applies to every TCB the guest's secrets depend on: the one the
 * report claims (reported_tcb), the one the firmware cannot be rolled back
 * below (committed_tcb) and the one the guest was launched on (launch_tcb). */
static void check_min_tcb(const struct verify_opts *o, const struct snp_report *r, enum snp_tcb_layout layout,
			  struct verify_results *res)
{
	static const char *names[] = {"min_tcb.reported", "min_tcb.committed", "min_tcb.launch"};
	static const char *fields[] = {"reported_tcb", "committed_tcb", "launch_tcb"};
	const uint64_t raw[] = {r->reported_tcb, r->committed_tcb, r->launch_tcb};
	if (!o->have_min_tcb) {
		for (size_t i = 0; i < 3; i++)
			not_requested(res, names[i], "give --min-tcb");
		return;
	}
	struct snp_tcb min = o->min_tcb;
	if (o->min_tcb_is_raw)
		snp_tcb_decode(o->min_tcb_raw, layout, &min);
	char want[96], got[96], expected[VERIFY_VALUE_MAX];
	verify_tcb_text(&min, layout, want, sizeof want);
	for (size_t i = 0; i < 3; i++) {
		struct snp_tcb t;
		snp_tcb_decode(raw[i], layout, &t);
		verify_tcb_text(&t, layout, got, sizeof got);
		verify_fmt(expected, sizeof expected, "%s at least %s in each component", fields[i], want);
		verify_addf(res, names[i], tcb_at_least(&t, &min) ? VR_PASS : VR_FAIL, expected, "0x%016llx: %s",
			    (unsigned long long)raw[i], got);
	}
}

/* The firmware running now (current_tcb) can be newer than the one
 * installed for good (committed_tcb) or the one the host chose to report:
 * provisional firmware, which the host may still roll back. Accepted with a
 * note; refused with --deny-provisional. Neither the reported nor the
 * committed TCB may exceed the current one: that is not a state a genuine
 * PSP reports. */
static void check_current_tcb(const struct verify_opts *o, const struct snp_report *r, enum snp_tcb_layout layout,
			      struct verify_results *res)
{
	struct snp_tcb cur, rep, com;
	char c[96], p[96], m[96];
	snp_tcb_decode(r->current_tcb, layout, &cur);
	snp_tcb_decode(r->reported_tcb, layout, &rep);
	snp_tcb_decode(r->committed_tcb, layout, &com);
	verify_tcb_text(&cur, layout, c, sizeof c);
	verify_tcb_text(&rep, layout, p, sizeof p);
	verify_tcb_text(&com, layout, m, sizeof m);
	bool ordered = tcb_at_least(&cur, &rep) && tcb_at_least(&cur, &com);
	verify_addf(res, "tcb.order", ordered ? VR_PASS : VR_FAIL,
		    "reported_tcb and committed_tcb at most current_tcb in each component",
		    "current %s; reported %s; committed %s", c, p, m);
	bool provisional = r->current_tcb != r->committed_tcb || r->current_tcb != r->reported_tcb;
	const char *expected = o->deny_provisional
				       ? "current_tcb equals committed_tcb and reported_tcb (--deny-provisional)"
				       : "current_tcb equals committed_tcb and reported_tcb, or a note "
					 "(give --deny-provisional to refuse)";
	if (!provisional) {
		verify_addf(res, "tcb.provisional", VR_PASS, expected,
			    "not provisional: current = committed = reported: %s", c);
		return;
	}
	verify_addf(res, "tcb.provisional", o->deny_provisional ? VR_FAIL : VR_PASS, expected,
		    "provisional firmware: current %s; committed %s; reported %s", c, m, p);
	if (!o->deny_provisional)
		verify_note(res,
			    "tcb.provisional: the platform runs provisional firmware (current_tcb %s differs from "
			    "committed %s or reported %s); the host can still roll it back. Give --deny-provisional "
			    "to refuse such reports",
			    c, m, p);
}

bool verify_has_identity_expectation(const struct verify_opts *o)
{
	return o->n_measurements > 0 || o->have_host_data || o->have_report_data;
}

/* A report that passes every check proves nothing about the guest unless
 * something identifies it: refused without an identity expectation, unless
 * the caller said --no-expectations (and the summary says so). */
static void check_identity(const struct verify_opts *o, struct verify_results *res)
{
	static const char *expected = "at least one of measurement, host_data, report_data is checked";
	if (verify_has_identity_expectation(o)) {
		verify_addf(res, "identity", VR_PASS, expected, "requested:%s%s%s",
			    o->n_measurements ? " measurement" : "", o->have_host_data ? " host_data" : "",
			    o->have_report_data ? " report_data" : "");
		return;
	}
	res->identity_unchecked = true;
	if (o->no_expectations) {
		verify_add(res, "identity", VR_NOT_REQUESTED,
			   "--no-expectations given: nothing identifies the guest (no measurement, host_data or "
			   "report_data)",
			   "");
		verify_note(res, "--no-expectations: nothing about the guest's identity was checked");
		return;
	}
	verify_add(res, "identity", VR_FAIL, expected,
		   "none given: give --measurement(s), --host-data/--policy or --report-data "
		   "(or --no-expectations)");
}

static void check_numbers(const struct verify_opts *o, const struct snp_report *r, struct verify_results *res)
{
	char expected[64];
	if (o->have_vmpl) {
		verify_fmt(expected, sizeof expected, "%u", o->vmpl);
		verify_addf(res, "vmpl", r->vmpl == o->vmpl ? VR_PASS : VR_FAIL, expected, "%u", r->vmpl);
	} else {
		not_requested(res, "vmpl", "give --vmpl N");
	}
	if (o->have_min_guest_svn) {
		verify_fmt(expected, sizeof expected, "at least %u", o->min_guest_svn);
		verify_addf(res, "guest_svn", r->guest_svn >= o->min_guest_svn ? VR_PASS : VR_FAIL, expected, "%u",
			    r->guest_svn);
	} else {
		not_requested(res, "guest_svn", "give --min-guest-svn N");
	}
}

/* AUTHOR_KEY_DIGEST means something only when signer_info's AUTHOR_KEY_EN
 * says the launch had an author key (otherwise the field is zero): an
 * expected author key is accepted only with the bit set and the digest equal. */
static void check_author_key(const struct verify_opts *o, const struct snp_report *r, struct verify_results *res)
{
	if (!o->have_author_key_digest) {
		not_requested(res, "author_key_digest", "give --author-key-digest HEX");
		return;
	}
	if (!(r->signer_info & SNP_SIGNER_AUTHOR_KEY_EN)) {
		char w[VERIFY_VALUE_MAX];
		verify_hex(o->author_key_digest, SNP_KEY_DIGEST_LEN, w, sizeof w);
		verify_addf(res, "author_key_digest", VR_FAIL, w,
			    "none: author_key_en is 0 (signer_info 0x%x), the launch had no author key",
			    r->signer_info);
		return;
	}
	compare_bytes(res, "author_key_digest", o->author_key_digest, r->author_key_digest, SNP_KEY_DIGEST_LEN,
		      "author_key_en is 1");
}

void verify_expectations(const struct verify_opts *o, const struct snp_report *r, enum snp_tcb_layout layout,
			 struct verify_results *res)
{
	check_policy_bit(res, "policy.debug", r, SNP_POLICY_DEBUG, o->allow_debug, "--allow-debug");
	check_policy_bit(res, "policy.migration_agent", r, SNP_POLICY_MIGRATE_MA, o->allow_migration_agent,
			 "--allow-migration-agent");
	check_smt(o, r, res);
	check_identity(o, res);
	check_measurement(o, r, res);
	if (o->have_host_data)
		compare_bytes(res, "host_data", o->host_data, r->host_data, SNP_HOST_DATA_LEN, o->host_data_source);
	else
		not_requested(res, "host_data", "give --host-data HEX or --policy FILE");
	if (o->have_report_data)
		compare_bytes(res, "report_data", o->report_data, r->report_data, SNP_REPORT_DATA_LEN, NULL);
	else
		not_requested(res, "report_data", "give --report-data HEX");
	check_min_tcb(o, r, layout, res);
	check_current_tcb(o, r, layout, res);
	check_numbers(o, r, res);
	if (o->have_id_key_digest)
		compare_bytes(res, "id_key_digest", o->id_key_digest, r->id_key_digest, SNP_KEY_DIGEST_LEN, NULL);
	else
		not_requested(res, "id_key_digest", "give --id-key-digest HEX");
	check_author_key(o, r, res);
}
