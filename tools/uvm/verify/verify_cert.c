#include "verify_cert.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "hex.h"

/* The only roots trusted without --trust-root: SHA-256 of the DER of AMD's
 * ARK certificates, as AMD's key distribution service publishes them. */
static const struct {
	const char *product;
	const char *sha256;
} pinned_arks[] = {
	{"Milan", "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd"},
	{"Genoa", "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1"},
	{"Turin", "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a"},
};

bool verify_has_pem(const uint8_t *buf, size_t len, const char *begin)
{
	size_t tlen = strlen(begin);
	if (len == 0 || buf[0] == 0x30)
		return false;
	for (size_t i = 0; i + tlen <= len; i++)
		if (buf[i] == '-' && memcmp(buf + i, begin, tlen) == 0)
			return true;
	return false;
}

static int load_pem(const char *path, const uint8_t *buf, size_t len, X509 **out, size_t max, size_t *n,
		    struct uvm_err *err)
{
	BIO *bio = BIO_new_mem_buf(buf, (int)len);
	if (!bio)
		return uvm_fail(err, 0, "%s: out of memory", path);
	X509 *x;
	ERR_clear_error();
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (*n == max) {
			X509_free(x);
			BIO_free(bio);
			return uvm_fail(err, 0,
					"%s: more than %zu certificates; a bundle needs at most the "
					"VCEK/VLEK, the ASK (or ASVK) and the ARK",
					path, max);
		}
		out[(*n)++] = x;
	}
	/* The loop ends with "no start line" after the last block; any other
	 * error is a CERTIFICATE block that does not parse. */
	unsigned long e = ERR_peek_last_error();
	bool clean_end = ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
	ERR_clear_error();
	BIO_free(bio);
	if (!clean_end)
		return uvm_fail(err, 0, "%s: PEM certificate block %zu is malformed", path, *n + 1);
	if (*n == 0)
		return uvm_fail(err, 0, "%s: no PEM CERTIFICATE block could be parsed", path);
	return 0;
}

static int load_der(const char *path, const uint8_t *buf, size_t len, X509 **out, size_t max, size_t *n,
		    struct uvm_err *err)
{
	const unsigned char *p = buf;
	X509 *x = max ? d2i_X509(NULL, &p, (long)len) : NULL;
	if (!x) {
		ERR_clear_error();
		return uvm_fail(err, 0, "%s: not a DER or PEM X.509 certificate", path);
	}
	if (p != buf + len) {
		X509_free(x);
		return uvm_fail(err, 0, "%s: %zu bytes of trailing data after the certificate", path,
				(size_t)(buf + len - p));
	}
	out[(*n)++] = x;
	return 0;
}

int verify_cert_parse(const char *name, const uint8_t *buf, size_t len, X509 **out, size_t max, size_t *n,
		      struct uvm_err *err)
{
	*n = 0;
	if (len > VERIFY_CERT_FILE_MAX)
		return uvm_fail(err, 0, "%s: larger than %u bytes", name, VERIFY_CERT_FILE_MAX);
	int rc = verify_has_pem(buf, len, "-----BEGIN ") ? load_pem(name, buf, len, out, max, n, err)
							 : load_der(name, buf, len, out, max, n, err);
	if (rc != 0)
		while (*n > 0)
			X509_free(out[--*n]);
	return rc;
}

int verify_cert_load(const char *path, X509 **out, size_t max, size_t *n, struct uvm_err *err)
{
	uint8_t *buf;
	size_t len;
	*n = 0;
	if (verify_read_file(path, VERIFY_CERT_FILE_MAX, &buf, &len, err) != 0)
		return -1;
	int rc = verify_cert_parse(path, buf, len, out, max, n, err);
	free(buf);
	return rc;
}

/* SHA-256 of the certificate's DER encoding, as lowercase hex. */
void verify_cert_sha256(X509 *x, char hex[2 * UVM_SHA256_LEN + 1])
{
	unsigned char *der = NULL;
	int len = i2d_X509(x, &der);
	uint8_t digest[UVM_SHA256_LEN] = {0};
	if (len > 0)
		uvm_sha256(der, (size_t)len, digest);
	OPENSSL_free(der);
	uvm_hex_encode(digest, sizeof digest, hex);
}

static void check_trusted(X509 *ark, X509 *trust_root, struct verify_results *res)
{
	char fp[2 * UVM_SHA256_LEN + 1], want[2 * UVM_SHA256_LEN + 1], expected[VERIFY_VALUE_MAX];
	verify_cert_sha256(ark, fp);
	if (trust_root) {
		verify_cert_sha256(trust_root, want);
		verify_fmt(expected, sizeof expected, "the --trust-root ARK, sha256 %s", want);
		verify_addf(res, "chain.ark_trusted", strcmp(fp, want) == 0 ? VR_PASS : VR_FAIL, expected,
			    "ARK sha256 %s", fp);
		return;
	}
	for (size_t i = 0; i < sizeof pinned_arks / sizeof pinned_arks[0]; i++)
		if (strcmp(fp, pinned_arks[i].sha256) == 0) {
			verify_addf(res, "chain.ark_trusted", VR_PASS, "a pinned AMD ARK (Milan, Genoa or Turin)",
				    "AMD %s ARK, sha256 %s", pinned_arks[i].product, fp);
			return;
		}
	verify_addf(res, "chain.ark_trusted", VR_FAIL,
		    "a pinned AMD ARK (Milan, Genoa or Turin); use --trust-root FILE for another root",
		    "unknown ARK, sha256 %s", fp);
}

static bool algor_is(const X509_ALGOR *alg, int nid)
{
	const ASN1_OBJECT *obj;
	if (!alg)
		return false;
	X509_ALGOR_get0(&obj, NULL, NULL, alg);
	return OBJ_obj2nid(obj) == nid;
}

/* MGF1's parameter is itself an AlgorithmIdentifier naming the hash. */
static bool mgf1_is_sha384(const X509_ALGOR *mgf)
{
	const void *pval;
	int ptype;
	if (!algor_is(mgf, NID_mgf1))
		return false;
	X509_ALGOR_get0(NULL, &ptype, &pval, mgf);
	if (ptype != V_ASN1_SEQUENCE || !pval)
		return false;
	const ASN1_STRING *seq = pval;
	const unsigned char *p = ASN1_STRING_get0_data(seq);
	X509_ALGOR *hash = d2i_X509_ALGOR(NULL, &p, ASN1_STRING_length(seq));
	bool ok = hash && algor_is(hash, NID_sha384);
	X509_ALGOR_free(hash);
	return ok;
}

/* AMD signs every certificate with RSASSA-PSS, SHA-384, MGF1-SHA-384, salt
 * 48, trailer 1; anything else is rejected, not negotiated. */
bool verify_alg_is_amd_pss(const X509_ALGOR *alg)
{
	const void *pval;
	int ptype;
	if (!algor_is(alg, NID_rsassaPss))
		return false;
	X509_ALGOR_get0(NULL, &ptype, &pval, alg);
	if (ptype != V_ASN1_SEQUENCE || !pval)
		return false;
	const ASN1_STRING *seq = pval;
	const unsigned char *p = ASN1_STRING_get0_data(seq);
	RSA_PSS_PARAMS *pss = d2i_RSA_PSS_PARAMS(NULL, &p, ASN1_STRING_length(seq));
	bool ok = pss && algor_is(pss->hashAlgorithm, NID_sha384) && mgf1_is_sha384(pss->maskGenAlgorithm) &&
		  pss->saltLength && ASN1_INTEGER_get(pss->saltLength) == 48 &&
		  (!pss->trailerField || ASN1_INTEGER_get(pss->trailerField) == 1);
	RSA_PSS_PARAMS_free(pss);
	ERR_clear_error();
	return ok;
}

bool verify_key_is_rsa4096(EVP_PKEY *key)
{
	int id = key ? EVP_PKEY_get_base_id(key) : 0;
	return (id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS) && EVP_PKEY_get_bits(key) == 4096;
}

static void check_signed_by(const char *name, X509 *child, X509 *issuer, const char *issuer_label,
			    struct verify_results *res)
{
	char expected[VERIFY_VALUE_MAX];
	verify_fmt(expected, sizeof expected, "signed by the %s (RSA-4096, RSASSA-PSS SHA-384, MGF1-SHA-384, salt 48)",
		   issuer_label);
	EVP_PKEY *key = X509_get0_pubkey(issuer);
	const X509_ALGOR *alg;
	const char *why = NULL;
	if (X509_NAME_cmp(X509_get_issuer_name(child), X509_get_subject_name(issuer)) != 0)
		why = "issuer name differs from the signer's subject name";
	else if (!verify_key_is_rsa4096(key))
		why = "the signer's key is not RSA-4096";
	else if (X509_get0_signature(NULL, &alg, child), !verify_alg_is_amd_pss(alg))
		why = "signature algorithm is not RSASSA-PSS SHA-384/MGF1-SHA-384/salt 48";
	else if (X509_verify(child, key) != 1)
		why = "signature does not verify";
	ERR_clear_error();
	verify_add(res, name, why ? VR_FAIL : VR_PASS, expected, why ? why : "signature verifies");
}

void verify_format_time(const ASN1_TIME *t, char *out, size_t size)
{
	struct tm tm;
	if (!t || ASN1_TIME_to_tm(t, &tm) != 1 || !strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		verify_fmt(out, size, "(unreadable time)");
}

static void check_validity(const char *name, X509 *x, time_t now, bool now_given, struct verify_results *res)
{
	char from[32], to[32], nowtext[32], expected[VERIFY_VALUE_MAX];
	struct tm tm;
	if (!gmtime_r(&now, &tm) || !strftime(nowtext, sizeof nowtext, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(nowtext, sizeof nowtext, "%lld", (long long)now);
	const ASN1_TIME *nb = X509_get0_notBefore(x), *na = X509_get0_notAfter(x);
	verify_format_time(nb, from, sizeof from);
	verify_format_time(na, to, sizeof to);
	verify_fmt(expected, sizeof expected, "valid at %s (%s)", nowtext,
		   now_given ? "set with --now" : "the current time");
	int after_start = X509_cmp_time(nb, &now) < 0; /* 0 = error: treated as fail */
	int before_end = X509_cmp_time(na, &now) > 0;
	ERR_clear_error();
	verify_addf(res, name, after_start && before_end ? VR_PASS : VR_FAIL, expected, "valid from %s to %s%s", from,
		    to,
		    !after_start  ? " (not yet valid)"
		    : !before_end ? " (expired)"
				  : "");
}

void verify_chain(X509 *ark, X509 *ask, X509 *leaf, X509 *trust_root, time_t now, bool now_given,
		  struct verify_results *res)
{
	check_trusted(ark, trust_root, res);
	check_signed_by("chain.ark_self_signed", ark, ark, "ARK itself", res);
	check_signed_by("chain.ask_signed_by_ark", ask, ark, "ARK", res);
	check_signed_by("chain.vcek_signed_by_ask", leaf, ask, "ASK/ASVK", res);
	check_validity("chain.ark_valid", ark, now, now_given, res);
	check_validity("chain.ask_valid", ask, now, now_given, res);
	check_validity("chain.vcek_valid", leaf, now, now_given, res);
}
