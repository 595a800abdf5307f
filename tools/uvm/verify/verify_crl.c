/* Revocation: AMD publishes one CRL per product, signed by the ARK with
 * RSASSA-PSS SHA-384 like the certificates. --crl FILE (DER or PEM) is
 * checked against the chain's ARK: signature, issuer, thisUpdate <= now <=
 * nextUpdate, no critical extension we do not understand; then the ASK/ASVK
 * and the VCEK/VLEK must not be listed (by serial number). */
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "verify_cert.h"

int verify_crl_parse(const char *name, const uint8_t *buf, size_t len, X509_CRL **out, struct uvm_err *err)
{
	*out = NULL;
	if (len > VERIFY_CERT_FILE_MAX)
		return uvm_fail(err, 0, "%s: larger than %u bytes; want AMD's CRL (DER or PEM)", name,
				VERIFY_CERT_FILE_MAX);
	if (verify_has_pem(buf, len, "-----BEGIN X509 CRL-----")) {
		BIO *bio = BIO_new_mem_buf(buf, (int)len);
		X509_CRL *extra = NULL;
		*out = bio ? PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL) : NULL;
		if (*out) /* a second CRL: which one would be meant? */
			extra = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
		BIO_free(bio);
		ERR_clear_error();
		if (extra) {
			X509_CRL_free(extra);
			X509_CRL_free(*out);
			*out = NULL;
			return uvm_fail(err, 0, "%s: more than one X509 CRL block; give the one CRL of the product",
					name);
		}
		if (!*out)
			return uvm_fail(err, 0, "%s: the PEM X509 CRL block is malformed", name);
		return 0;
	}
	const unsigned char *p = buf;
	*out = len ? d2i_X509_CRL(NULL, &p, (long)len) : NULL;
	ERR_clear_error();
	if (!*out)
		return uvm_fail(err, 0, "%s: not a DER or PEM X.509 CRL; want AMD's CRL as KDS serves it", name);
	if (p != buf + len) {
		X509_CRL_free(*out);
		*out = NULL;
		return uvm_fail(err, 0, "%s: %zu bytes of trailing data after the CRL", name, (size_t)(buf + len - p));
	}
	return 0;
}

int verify_crl_load(const char *path, X509_CRL **out, struct uvm_err *err)
{
	uint8_t *buf;
	size_t len;
	*out = NULL;
	if (verify_read_file(path, VERIFY_CERT_FILE_MAX, &buf, &len, err) != 0)
		return uvm_wrap(err, "reading the CRL (--crl)");
	int rc = verify_crl_parse(path, buf, len, out, err);
	free(buf);
	return rc;
}

static void check_signed(X509_CRL *crl, X509 *ark, struct verify_results *res)
{
	static const char expected[] =
		"signed by the chain's ARK (RSA-4096, RSASSA-PSS SHA-384, MGF1-SHA-384, salt 48)";
	const X509_ALGOR *alg;
	EVP_PKEY *key = X509_get0_pubkey(ark);
	const char *why = NULL;
	X509_CRL_get0_signature(crl, NULL, &alg);
	if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ark)) != 0)
		why = "the CRL's issuer name differs from the ARK's subject name";
	else if (!verify_key_is_rsa4096(key))
		why = "the ARK's key is not RSA-4096";
	else if (!verify_alg_is_amd_pss(alg))
		why = "signature algorithm is not RSASSA-PSS SHA-384/MGF1-SHA-384/salt 48";
	else if (X509_CRL_verify(crl, key) != 1)
		why = "signature does not verify";
	ERR_clear_error();
	verify_add(res, "crl.signed_by_ark", why ? VR_FAIL : VR_PASS, expected, why ? why : "signature verifies");
}

/* A critical extension of the CRL or of an entry that we do not read (e.g. a
 * delta CRL or an indirect CRL's certificate issuer) changes what the CRL
 * means: refuse it. Returns its OID in out, or false. */
static bool critical_extension(X509_CRL *crl, char *out, size_t size)
{
	for (int i = 0; i < X509_CRL_get_ext_count(crl); i++) {
		X509_EXTENSION *e = X509_CRL_get_ext(crl, i);
		if (X509_EXTENSION_get_critical(e)) {
			OBJ_obj2txt(out, (int)size, X509_EXTENSION_get_object(e), 1);
			return true;
		}
	}
	STACK_OF(X509_REVOKED) *revoked = X509_CRL_get_REVOKED(crl);
	for (int i = 0; i < sk_X509_REVOKED_num(revoked); i++) {
		const X509_REVOKED *r = sk_X509_REVOKED_value(revoked, i);
		for (int j = 0; j < X509_REVOKED_get_ext_count(r); j++) {
			X509_EXTENSION *e = X509_REVOKED_get_ext(r, j);
			if (X509_EXTENSION_get_critical(e)) {
				OBJ_obj2txt(out, (int)size, X509_EXTENSION_get_object(e), 1);
				return true;
			}
		}
	}
	return false;
}

static void check_valid(X509_CRL *crl, time_t now, struct verify_results *res)
{
	char from[32], to[32] = "(none)", nowtext[32], expected[VERIFY_VALUE_MAX], oid[80] = "";
	struct tm tm;
	if (!gmtime_r(&now, &tm) || !strftime(nowtext, sizeof nowtext, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(nowtext, sizeof nowtext, "%lld", (long long)now);
	const ASN1_TIME *this_update = X509_CRL_get0_lastUpdate(crl), *next_update = X509_CRL_get0_nextUpdate(crl);
	verify_format_time(this_update, from, sizeof from);
	if (next_update)
		verify_format_time(next_update, to, sizeof to);
	verify_fmt(expected, sizeof expected,
		   "thisUpdate <= %s (set with --now) <= nextUpdate, no unknown critical extension", nowtext);
	int started = this_update ? ASN1_TIME_cmp_time_t(this_update, now) : -2; /* -2: error */
	int ends = next_update ? ASN1_TIME_cmp_time_t(next_update, now) : -2;
	bool critical = critical_extension(crl, oid, sizeof oid);
	ERR_clear_error();
	char why[128] = "";
	if (started == -2 || started > 0)
		verify_fmt(why, sizeof why, " (not yet valid)");
	else if (!next_update)
		verify_fmt(why, sizeof why, " (no nextUpdate: cannot tell whether it is current)");
	else if (ends < 0)
		verify_fmt(why, sizeof why, " (expired: fetch the current CRL)");
	else if (critical)
		verify_fmt(why, sizeof why, " (critical extension %s is not understood)", oid);
	verify_addf(res, "crl.valid", why[0] ? VR_FAIL : VR_PASS, expected, "thisUpdate %s, nextUpdate %s%s", from, to,
		    why);
}

static void check_not_revoked(const char *name, const char *role, X509_CRL *crl, X509 *x, struct verify_results *res)
{
	char expected[VERIFY_VALUE_MAX], serial[2 * 20 + 8] = "?";
	X509_REVOKED *entry = NULL;
	const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
	BIGNUM *bn = ASN1_INTEGER_to_BN(sn, NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	if (hex)
		snprintf(serial, sizeof serial, "%s", hex);
	OPENSSL_free(hex);
	BN_free(bn);
	int listed = X509_CRL_get0_by_serial(crl, &entry, (ASN1_INTEGER *)sn);
	ERR_clear_error();
	verify_fmt(expected, sizeof expected, "the %s's serial number is not in the CRL", role);
	if (listed == 1 || listed == 2) { /* 2: listed as removeFromCRL, which is only for delta CRLs */
		char when[32];
		verify_format_time(X509_REVOKED_get0_revocationDate(entry), when, sizeof when);
		verify_addf(res, name, VR_FAIL, expected, "serial 0x%s REVOKED on %s", serial, when);
		return;
	}
	verify_addf(res, name, VR_PASS, expected, "serial 0x%s not listed", serial);
}

void verify_crl_checks(X509_CRL *crl, X509 *ark, X509 *ask, X509 *leaf, time_t now, struct verify_results *res)
{
	if (!crl) {
		static const char hint[] = "give --crl FILE (AMD's CRL for the product, from KDS)";
		verify_add(res, "crl.signed_by_ark", VR_NOT_REQUESTED, hint, "");
		verify_add(res, "crl.valid", VR_NOT_REQUESTED, hint, "");
		verify_add(res, "crl.ask_not_revoked", VR_NOT_REQUESTED, hint, "");
		verify_add(res, "crl.vcek_not_revoked", VR_NOT_REQUESTED, hint, "");
		return;
	}
	check_signed(crl, ark, res);
	check_valid(crl, now, res);
	check_not_revoked("crl.ask_not_revoked", "ASK/ASVK", crl, ask, res);
	check_not_revoked("crl.vcek_not_revoked", "VCEK/VLEK", crl, leaf, res);
}
