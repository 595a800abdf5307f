/* AMD SEV-SNP certificates: loading (DER or PEM), the chain ARK -> ASK/ASVK
 * -> VCEK/VLEK (RSASSA-PSS SHA-384, MGF1-SHA-384, salt 48), the pinned AMD
 * roots, validity at a given time, and the VCEK/VLEK extensions
 * (1.3.6.1.4.1.3704.1.x). Host only (OpenSSL X.509). */
#ifndef UVM_VERIFY_CERT_H
#define UVM_VERIFY_CERT_H

#include <openssl/x509.h>

#include "verify.h"

#define VERIFY_CERT_FILE_MAX (256u * 1024u)

/* Loads up to max certificates from a file: one DER certificate, or every
 * PEM "CERTIFICATE" block in order. Fails on anything else. */
int verify_cert_load(const char *path, X509 **out, size_t max, size_t *n, struct uvm_err *err);
/* The same from memory; name is used in messages. */
int verify_cert_parse(const char *name, const uint8_t *buf, size_t len, X509 **out, size_t max, size_t *n,
		      struct uvm_err *err);

/* Reads a GHCB certificate table (auxblob): out[0] the VCEK or VLEK, out[1]
 * the ASK, out[2] the ARK; all three are required. */
int verify_cert_table(const char *path, X509 *out[3], struct uvm_err *err);

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

#endif
