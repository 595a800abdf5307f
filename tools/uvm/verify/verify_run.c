/* verify_run: load the report and the certificates, then run every check in
 * a fixed order (chain, report binding, expectations). Inputs that cannot
 * be read or parsed stop here with an error (exit 3); everything else is a
 * named check in the results. */
#include <openssl/x509.h>

#include "verify_cert.h"
#include "verify_report.h"

struct certs {
	X509 *chain[2]; /* ASK (or ASVK), then ARK */
	size_t n_chain;
	X509 *leaf;
	X509 *trust_root;
};

static void certs_free(struct certs *c)
{
	for (size_t i = 0; i < c->n_chain; i++)
		X509_free(c->chain[i]);
	X509_free(c->leaf);
	X509_free(c->trust_root);
}

static int load_one(const char *path, const char *what, X509 **out, struct uvm_err *err)
{
	size_t n;
	if (verify_cert_load(path, out, 1, &n, err) != 0)
		return uvm_wrap(err, "reading %s", what);
	return 0;
}

/* Certificates the user named win; the table fills in what is missing. */
static int load_table(const struct verify_opts *o, struct certs *c, struct uvm_err *err)
{
	X509 *t[3] = {NULL};
	if (verify_cert_table(o->certs_path, t, err) != 0)
		return -1;
	if (!o->vcek_path) {
		c->leaf = t[0];
		t[0] = NULL;
	}
	if (!o->chain_path) {
		c->chain[0] = t[1];
		c->chain[1] = t[2];
		c->n_chain = 2;
		t[1] = t[2] = NULL;
	}
	for (int i = 0; i < 3; i++)
		X509_free(t[i]);
	return 0;
}

static int load_certs(const struct verify_opts *o, struct certs *c, struct uvm_err *err)
{
	if (o->certs_path && load_table(o, c, err) != 0)
		return -1;
	if (o->vcek_path && load_one(o->vcek_path, "the VCEK/VLEK (--vcek)", &c->leaf, err) != 0)
		return -1;
	if (o->trust_root_path &&
	    load_one(o->trust_root_path, "the trusted root (--trust-root)", &c->trust_root, err) != 0)
		return -1;
	if (o->chain_path && verify_cert_load(o->chain_path, c->chain, 2, &c->n_chain, err) != 0)
		return uvm_wrap(err, "reading the chain (--chain)");
	if (c->n_chain == 1 && !c->trust_root)
		return uvm_fail(err, 0,
				"%s holds one certificate; want the ASK (or ASVK) then the ARK, "
				"as AMD's key distribution service serves them",
				o->chain_path);
	return 0;
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
	if (load_report(o, raw, &report, err) != 0)
		return -1;
	if (load_certs(o, &c, err) != 0 || verify_vcek_info(c.leaf, &info, err) != 0) {
		certs_free(&c);
		return -1;
	}
	/* With one certificate in --chain, the ARK is the --trust-root itself. */
	X509 *ark = c.n_chain == 2 ? c.chain[1] : c.trust_root;
	verify_chain(ark, c.chain[0], c.leaf, c.trust_root, o->now, o->now_given, res);
	verify_report_binding(raw, &report, c.leaf, &info, res);
	verify_expectations(o, &report, verify_tcb_layout(&info), res);
	certs_free(&c);
	return 0;
}
