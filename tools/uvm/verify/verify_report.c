/* Checks that bind the report to the leaf certificate: format, ECDSA P-384
 * signature (r and s stored little-endian), signing-key kind, reported TCB
 * and chip id against the certificate's extensions. */
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <string.h>

#include "verify_cert.h"
#include "verify_report.h"

/* The report stores r and s as 72-byte little-endian integers; OpenSSL
 * verifies a DER ECDSA-Sig-Value. Returns a malloc'ed DER or NULL. */
static unsigned char *report_sig_to_der(const struct snp_report *r, int *der_len)
{
	BIGNUM *br = BN_lebin2bn(r->sig_r, SNP_SIG_COMPONENT_LEN, NULL);
	BIGNUM *bs = BN_lebin2bn(r->sig_s, SNP_SIG_COMPONENT_LEN, NULL);
	ECDSA_SIG *sig = ECDSA_SIG_new();
	unsigned char *der = NULL;
	if (br && bs && sig && ECDSA_SIG_set0(sig, br, bs) == 1) {
		br = bs = NULL; /* owned by sig now */
		*der_len = i2d_ECDSA_SIG(sig, &der);
		if (*der_len <= 0)
			der = NULL;
	}
	BN_free(br);
	BN_free(bs);
	ECDSA_SIG_free(sig);
	return der;
}

static bool is_p384(EVP_PKEY *key)
{
	char group[32];
	size_t len;
	return key && EVP_PKEY_get_base_id(key) == EVP_PKEY_EC &&
	       EVP_PKEY_get_group_name(key, group, sizeof group, &len) == 1 && strcmp(group, "secp384r1") == 0;
}

static const char *signature_problem(const uint8_t raw[SNP_REPORT_SIZE], const struct snp_report *r, X509 *leaf)
{
	EVP_PKEY *key = X509_get0_pubkey(leaf);
	if (!is_p384(key))
		return "the certificate's key is not ECDSA P-384";
	int der_len = 0;
	unsigned char *der = report_sig_to_der(r, &der_len);
	if (!der)
		return "the signature's r/s values cannot be encoded";
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha384(), NULL, key) == 1 &&
		 EVP_DigestVerify(ctx, der, (size_t)der_len, raw, SNP_REPORT_SIGNED_LEN) == 1;
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	ERR_clear_error();
	return ok ? NULL : "signature over bytes 0x000..0x29F does not verify with the certificate's key";
}

static void check_signature(const uint8_t raw[SNP_REPORT_SIZE], const struct snp_report *r, X509 *leaf,
			    struct verify_results *res)
{
	verify_addf(res, "report.signature_algorithm",
		    r->sig_algo == SNP_SIG_ALGO_ECDSA_P384_SHA384 ? VR_PASS : VR_FAIL, "1 (ECDSA P-384 with SHA-384)",
		    "%u", r->sig_algo);
	const char *why = signature_problem(raw, r, leaf);
	verify_add(res, "report.signature", why ? VR_FAIL : VR_PASS, "ECDSA P-384/SHA-384 by the VCEK/VLEK",
		   why ? why : "signature verifies");
}

static void check_signing_key(const struct snp_report *r, const struct vcek_info *info, struct verify_results *res)
{
	static const char *names[] = {"unknown (subject CN is neither SEV-VCEK nor SEV-VLEK)", "VCEK", "VLEK"};
	unsigned key = snp_report_signing_key(r);
	bool ok = (key == SNP_KEY_VCEK && info->kind == LEAF_VCEK) || (key == SNP_KEY_VLEK && info->kind == LEAF_VLEK);
	char expected[VERIFY_VALUE_MAX];
	verify_fmt(expected, sizeof expected, "signing-key field names the certificate's kind: %s", names[info->kind]);
	verify_addf(res, "report.signing_key", ok ? VR_PASS : VR_FAIL, expected, "signing key %u (%s)", key,
		    key == SNP_KEY_VCEK   ? "VCEK"
		    : key == SNP_KEY_VLEK ? "VLEK"
					  : "none/other");
}

void verify_tcb_text(const struct snp_tcb *t, enum snp_tcb_layout layout, char *out, size_t size)
{
	if (layout == SNP_TCB_TURIN)
		verify_fmt(out, size, "fmc %u, bl %u, tee %u, snp %u, ucode %u", t->fmc, t->bootloader, t->tee, t->snp,
			   t->microcode);
	else
		verify_fmt(out, size, "bl %u, tee %u, snp %u, ucode %u", t->bootloader, t->tee, t->snp, t->microcode);
}

static void check_tcb(const struct snp_report *r, const struct vcek_info *info, struct verify_results *res)
{
	enum snp_tcb_layout layout = verify_tcb_layout(info);
	struct snp_tcb reported;
	char want[96], got[96], expected[VERIFY_VALUE_MAX];
	snp_tcb_decode(r->reported_tcb, layout, &reported);
	bool complete = info->have_bl && info->have_tee && info->have_snp && info->have_ucode &&
			(layout != SNP_TCB_TURIN || info->have_fmc);
	verify_tcb_text(&info->tcb, layout, want, sizeof want);
	verify_tcb_text(&reported, layout, got, sizeof got);
	verify_fmt(expected, sizeof expected, "the certificate's TCB: %s",
		   complete ? want : "(certificate lacks TCB extensions)");
	bool ok = complete && memcmp(&reported, &info->tcb, sizeof reported) == 0;
	verify_addf(res, "report.reported_tcb", ok ? VR_PASS : VR_FAIL, expected, "0x%016llx: %s",
		    (unsigned long long)r->reported_tcb, got);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void check_chip_id(const struct snp_report *r, const struct vcek_info *info, struct verify_results *res)
{
	const char *name = "report.chip_id";
	char want[2 * SNP_CHIP_ID_LEN + 1], got[2 * SNP_CHIP_ID_LEN + 1];
	if (info->kind == LEAF_VLEK) {
		verify_add(res, name, VR_NOT_APPLICABLE, "VLEK certificates carry no hwID", "not compared");
		return;
	}
	if (r->signer_info & SNP_SIGNER_MASK_CHIP_ID) {
		verify_add(res, name, VR_NOT_APPLICABLE, "the guest masked its chip id",
			   "signer_info bit 1 set: not compared");
		return;
	}
	verify_hex(r->chip_id, SNP_CHIP_ID_LEN, got, sizeof got);
	if (info->hwid_len == 0) {
		verify_add(res, name, VR_FAIL, "the certificate's hwID (extension missing)", got);
		return;
	}
	/* A Turin hwID is 8 bytes: the report's chip_id then ends in zeros. */
	bool ok = memcmp(r->chip_id, info->hwid, info->hwid_len) == 0 &&
		  all_zero(r->chip_id + info->hwid_len, SNP_CHIP_ID_LEN - info->hwid_len);
	verify_hex(info->hwid, info->hwid_len, want, sizeof want);
	verify_add(res, name, ok ? VR_PASS : VR_FAIL, want, got);
}

void verify_report_binding(const uint8_t raw[SNP_REPORT_SIZE], const struct snp_report *r, X509 *leaf,
			   const struct vcek_info *info, struct verify_results *res)
{
	struct uvm_err err = {0};
	bool clean = snp_report_check_reserved(raw, r->version, &err) == 0;
	verify_add(res, "report.reserved_zero", clean ? VR_PASS : VR_FAIL, "every reserved byte zero",
		   clean ? "all zero" : err.msg);
	check_signature(raw, r, leaf, res);
	check_signing_key(r, info, res);
	check_tcb(r, info, res);
	check_chip_id(r, info, res);
}
