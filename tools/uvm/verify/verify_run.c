/* verify_run: load the report and the certificates (each chosen by its role,
 * see verify_roles.c), then run every check in a fixed order (chain, report
 * binding, expectations, revocation). Inputs that cannot
 * be read or parsed stop here with an error (exit 3); everything else is a
 * named check in the results. */
#include <openssl/x509.h>

#include "verify_cert.h"
#include "verify_report.h"

struct certs {
	struct cert_pool pool; /* every certificate given, in any order */
	X509 *trust_root;
	X509_CRL *crl;
	struct cert_roles roles;
};

static void certs_free(struct certs *c)
{
	verify_pool_free(&c->pool);
	X509_free(c->trust_root);
	X509_CRL_free(c->crl);
}

/* The certificate table's entries join the pool in tier 1: a role any
 * explicit file (--vcek, --chain) fills is never taken from the table. */
static int load_table(const struct verify_opts *o, struct certs *c, struct uvm_err *err)
{
	static const char *const what[3] = {"VCEK/VLEK", "ASK", "ARK"};
	X509 *t[3] = {NULL};
	if (verify_cert_table(o->certs_path, t, err) != 0)
		return -1;
	int rc = 0;
	for (int i = 0; i < 3; i++) {
		char source[160];
		snprintf(source, sizeof source, "--certs %s (%s entry)", o->certs_path, what[i]);
		if (!t[i])
			continue; /* a role the table lacks: the other files may fill it */
		if (rc == 0)
			rc = verify_pool_add(&c->pool, t[i], 1, source, err);
		else
			X509_free(t[i]);
	}
	return rc;
}

static int load_certs(const struct verify_opts *o, struct certs *c, struct uvm_err *err)
{
	static char trust_source[160];
	if (o->vcek_path && verify_pool_add_file(&c->pool, o->vcek_path, "--vcek", 0, err) != 0)
		return -1;
	if (o->chain_path && verify_pool_add_file(&c->pool, o->chain_path, "--chain", 0, err) != 0)
		return -1;
	if (o->certs_path && load_table(o, c, err) != 0)
		return -1;
	if (o->trust_root_path) {
		size_t n;
		if (verify_cert_load(o->trust_root_path, &c->trust_root, 1, &n, err) != 0)
			return uvm_wrap(err, "reading the trusted root (--trust-root)");
		snprintf(trust_source, sizeof trust_source, "--trust-root %s", o->trust_root_path);
	}
	if (o->crl_path && verify_crl_load(o->crl_path, &c->crl, err) != 0)
		return -1;
	return verify_pick_roles(&c->pool, c->trust_root, trust_source, &c->roles, err);
}

static int load_report(const struct verify_opts *o, uint8_t raw[SNP_REPORT_SIZE], struct snp_report *r,
		       struct uvm_err *err)
{
	if (verify_load_report(o, raw, err) != 0)
		return -1;
	if (snp_report_parse(raw, SNP_REPORT_SIZE, r, err) != 0)
		return uvm_wrap(err, "%s", o->report_path);
	return 0;
}

int verify_run(const struct verify_opts *o, struct verify_results *res, struct uvm_err *err)
{
	uint8_t raw[SNP_REPORT_SIZE];
	struct snp_report report;
	struct certs c = {0};
	struct vcek_info info;
	res->n = 0;
	res->n_notes = 0;
	res->identity_unchecked = false;
	res->n_certs = 0;
	if (load_report(o, raw, &report, err) != 0)
		return -1;
	if (load_certs(o, &c, err) != 0 || verify_vcek_info(c.roles.leaf, &info, err) != 0) {
		certs_free(&c);
		return -1;
	}
	struct cert_roles *r = &c.roles;
	verify_record_roles(r, res);
	verify_chain(r->ark, r->ask, r->leaf, c.trust_root, o->now, o->now_given, res);
	verify_report_binding(raw, &report, r->leaf, &info, res);
	verify_expectations(o, &report, verify_tcb_layout(&info), res);
	verify_crl_checks(c.crl, r->ark, r->ask, r->leaf, o->now, res);
	certs_free(&c);
	return 0;
}
