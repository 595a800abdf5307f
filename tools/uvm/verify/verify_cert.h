/* AMD SEV-SNP certificates: loading (DER or PEM), the chain ARK -> ASK/ASVK
 * -> VCEK/VLEK (RSASSA-PSS SHA-384, MGF1-SHA-384, salt 48), the pinned AMD
 * roots, validity at a given time, and the VCEK/VLEK extensions
 * (1.3.6.1.4.1.3704.1.x). Host only (OpenSSL X.509). */
#ifndef UVM_VERIFY_CERT_H
#define UVM_VERIFY_CERT_H

#include <openssl/x509.h>

#include "verify.h"

#define VERIFY_CERT_FILE_MAX (256u * 1024u)

/* DER starts with a SEQUENCE; PEM is recognised by its BEGIN line (begin, e.g.
 * "-----BEGIN X509 CRL-----") anywhere in the buffer, so that the text
 * `openssl x509 -text` or `openssl pkcs7 -print_certs` writes before each
 * block is skipped. */
bool verify_has_pem(const uint8_t *buf, size_t len, const char *begin);

/* Loads up to max certificates from a file: one DER certificate, or every
 * PEM "CERTIFICATE" block in order (text around the blocks, as `openssl x509
 * -text` writes it, is skipped). Fails on anything else, including a
 * malformed block. */
int verify_cert_load(const char *path, X509 **out, size_t max, size_t *n, struct uvm_err *err);
/* The same from memory; name is used in messages. */
int verify_cert_parse(const char *name, const uint8_t *buf, size_t len, X509 **out, size_t max, size_t *n,
		      struct uvm_err *err);

/* Reads a GHCB certificate table (auxblob): out[0] the VCEK or VLEK, out[1]
 * the ASK, out[2] the ARK, each NULL when the table lacks it (hosts often
 * ship the VCEK alone; the other files fill the rest), at least one given. */
int verify_cert_table(const char *path, X509 *out[3], struct uvm_err *err);
/* The same on bytes already read (path names them in messages); out[] must
 * be NULL on entry and is NULL again on failure. */
int verify_cert_table_parse(const char *path, const uint8_t *buf, size_t len, X509 *out[3], struct uvm_err *err);

enum vcek_kind { LEAF_UNKNOWN, LEAF_VCEK, LEAF_VLEK };

/* What the leaf certificate says about the chip (AMD's extensions). */
struct vcek_info {
	enum vcek_kind kind; /* from the subject CN: SEV-VCEK or SEV-VLEK */
	char product[64];    /* .2, e.g. "Milan-B0"; "" if absent */
	bool have_bl, have_tee, have_snp, have_ucode, have_fmc;
	struct snp_tcb tcb;
	uint8_t hwid[SNP_CHIP_ID_LEN];
	size_t hwid_len; /* 0 if absent; 64, or 8 on Turin */
};

/* Parses the AMD extensions of a VCEK/VLEK. Fails on a malformed or
 * duplicated extension (an attacker-chosen certificate must not be read
 * two ways). */
int verify_vcek_info(X509 *leaf, struct vcek_info *info, struct uvm_err *err);

enum snp_tcb_layout verify_tcb_layout(const struct vcek_info *info);

/* Adds the chain checks: ARK trusted (pinned AMD fingerprint, or equal to
 * trust_root when given), ARK self-signed, ASK by ARK, leaf by ASK, each
 * certificate valid at now (now_given: it came from --now, and the expected
 * value says so; else it is the current time), key types. */
void verify_chain(X509 *ark, X509 *ask, X509 *leaf, X509 *trust_root, time_t now, bool now_given,
		  struct verify_results *res);

/* Shared by the chain and CRL checks. */
bool verify_alg_is_amd_pss(const X509_ALGOR *alg);
bool verify_key_is_rsa4096(EVP_PKEY *key);
void verify_format_time(const ASN1_TIME *t, char *out, size_t size);
void verify_cert_sha256(X509 *x, char hex[65]);
/* True if the certificate carries at least one AMD VCEK/VLEK extension. */
bool verify_has_amd_ext(X509 *x);

/* Every certificate the user gave (--vcek, --chain, --certs), each with
 * where it came from. Identical certificates are kept once. Tier 0 holds
 * the files named explicitly, tier 1 the certificate table: a role found in
 * tier 0 is never taken from tier 1. */
#define VERIFY_POOL_MAX 16
#define VERIFY_FILE_CERTS_MAX 8
struct cert_pool {
	size_t n;
	struct {
		X509 *x;
		int tier;
		char source[160];
	} e[VERIFY_POOL_MAX];
};

/* Takes ownership of x (freed on failure too). */
int verify_pool_add(struct cert_pool *p, X509 *x, int tier, const char *source, struct uvm_err *err);
/* Adds every certificate of a file; option names it in messages. */
int verify_pool_add_file(struct cert_pool *p, const char *path, const char *option, int tier, struct uvm_err *err);
void verify_pool_free(struct cert_pool *p);

enum cert_role { ROLE_NONE, ROLE_ARK, ROLE_ASK, ROLE_LEAF };
/* The role a certificate can play, by itself: a VCEK/VLEK has CN SEV-VCEK or
 * SEV-VLEK, an EC P-384 key and AMD's extensions; an ARK is self-signed with
 * CN ARK-*; an ASK/ASVK is not self-signed with CN SEV-* (e.g. SEV-Milan,
 * SEV-VLEK-Milan). */
enum cert_role verify_cert_role(X509 *x);

/* The certificates chosen for each role (borrowed from the pool or the
 * trust root) and where they came from. */
struct cert_roles {
	X509 *ark, *ask, *leaf;
	const char *ark_source, *ask_source, *leaf_source;
};

/* Picks the VCEK/VLEK, then the ASK/ASVK that issued it (by name), then the
 * ARK that issued that; the trust root serves as the ARK when none was
 * given. Fails (naming both) when two different certificates fit one role,
 * on a certificate that fits no role, or when a role has no certificate. */
int verify_pick_roles(const struct cert_pool *p, X509 *trust_root, const char *trust_root_source, struct cert_roles *r,
		      struct uvm_err *err);

/* Records which certificate plays which role in res (printed with the checks). */
void verify_record_roles(const struct cert_roles *r, struct verify_results *res);

/* AMD's CRL (signed by the ARK): DER or PEM, at most VERIFY_CERT_FILE_MAX. */
int verify_crl_load(const char *path, X509_CRL **out, struct uvm_err *err);
int verify_crl_parse(const char *name, const uint8_t *buf, size_t len, X509_CRL **out, struct uvm_err *err);
/* Adds crl.signed_by_ark, crl.valid, crl.ask_not_revoked and
 * crl.vcek_not_revoked; all not-requested when crl is NULL. */
void verify_crl_checks(X509_CRL *crl, X509 *ark, X509 *ask, X509 *leaf, time_t now, struct verify_results *res);

#endif
