/* AMD's VCEK/VLEK certificate extensions (1.3.6.1.4.1.3704.1.x): what the
 * certificate says about the chip's TCB and identity. Each value is the
 * extension's raw OCTET STRING content: a DER INTEGER (struct version, TCB
 * components), an IA5String (product name) or raw bytes (hwID). */
#include <openssl/objects.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "verify_cert.h"

#define AMD_OID "1.3.6.1.4.1.3704.1."

enum ext_id { EXT_STRUCT_VERSION, EXT_PRODUCT, EXT_BL, EXT_TEE, EXT_SNP, EXT_UCODE, EXT_FMC, EXT_HWID, EXT_COUNT };

static const char *const ext_oids[EXT_COUNT] = {
	AMD_OID "1",   AMD_OID "2",   AMD_OID "3.1", AMD_OID "3.2",
	AMD_OID "3.3", AMD_OID "3.8", AMD_OID "3.9", AMD_OID "4",
};

/* A short-form DER INTEGER of at most 8 content bytes, non-negative. */
static int der_uint(const uint8_t *p, size_t len, uint64_t *out)
{
	if (len < 3 || p[0] != 0x02 || p[1] != len - 2 || len - 2 > 8 || (p[2] & 0x80))
		return -1;
	uint64_t v = 0;
	for (size_t i = 2; i < len; i++)
		v = v << 8 | p[i];
	*out = v;
	return 0;
}

static int tcb_component(const uint8_t *p, size_t len, uint8_t *out, bool *have)
{
	uint64_t v;
	if (der_uint(p, len, &v) != 0 || v > 255)
		return -1;
	*out = (uint8_t)v;
	*have = true;
	return 0;
}

static int product_name(const uint8_t *p, size_t len, char *out, size_t size)
{
	if (len < 2 || p[0] != 0x16 || p[1] != len - 2 || len - 2 >= size)
		return -1;
	for (size_t i = 2; i < len; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return -1;
	memcpy(out, p + 2, len - 2);
	out[len - 2] = '\0';
	return 0;
}

static int parse_ext(enum ext_id id, const uint8_t *p, size_t len, struct vcek_info *info)
{
	uint64_t ignored;
	switch (id) {
	case EXT_STRUCT_VERSION: return der_uint(p, len, &ignored);
	case EXT_PRODUCT: return product_name(p, len, info->product, sizeof info->product);
	case EXT_BL: return tcb_component(p, len, &info->tcb.bootloader, &info->have_bl);
	case EXT_TEE: return tcb_component(p, len, &info->tcb.tee, &info->have_tee);
	case EXT_SNP: return tcb_component(p, len, &info->tcb.snp, &info->have_snp);
	case EXT_UCODE: return tcb_component(p, len, &info->tcb.microcode, &info->have_ucode);
	case EXT_FMC: return tcb_component(p, len, &info->tcb.fmc, &info->have_fmc);
	case EXT_HWID:
		if (len != 8 && len != SNP_CHIP_ID_LEN)
			return -1;
		memcpy(info->hwid, p, len);
		info->hwid_len = len;
		return 0;
	default: return -1;
	}
}

static enum vcek_kind leaf_kind(X509 *leaf)
{
	char cn[64];
	int n = X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName, cn, sizeof cn);
	if (n <= 0)
		return LEAF_UNKNOWN;
	if (strcmp(cn, "SEV-VCEK") == 0)
		return LEAF_VCEK;
	if (strcmp(cn, "SEV-VLEK") == 0)
		return LEAF_VLEK;
	return LEAF_UNKNOWN;
}

int verify_vcek_info(X509 *leaf, struct vcek_info *info, struct uvm_err *err)
{
	bool seen[EXT_COUNT] = {false};
	memset(info, 0, sizeof *info);
	info->kind = leaf_kind(leaf);
	for (int i = 0; i < X509_get_ext_count(leaf); i++) {
		X509_EXTENSION *ext = X509_get_ext(leaf, i);
		char oid[80];
		if (OBJ_obj2txt(oid, sizeof oid, X509_EXTENSION_get_object(ext), 1) <= 0)
			continue;
		for (int id = 0; id < EXT_COUNT; id++) {
			if (strcmp(oid, ext_oids[id]) != 0)
				continue;
			const ASN1_OCTET_STRING *data = X509_EXTENSION_get_data(ext);
			if (seen[id])
				return uvm_fail(err, 0, "VCEK: extension %s appears twice", oid);
			seen[id] = true;
			if (parse_ext((enum ext_id)id, ASN1_STRING_get0_data(data), (size_t)ASN1_STRING_length(data),
				      info) != 0)
				return uvm_fail(err, 0, "VCEK: extension %s is malformed", oid);
		}
	}
	return 0;
}

/* Turin numbers its TCB bytes differently (FMC first); the product name says
 * which chip this is, and a Turin VCEK carries the FMC extension. */
enum snp_tcb_layout verify_tcb_layout(const struct vcek_info *info)
{
	if (strncmp(info->product, "Turin", 5) == 0 || info->have_fmc)
		return SNP_TCB_TURIN;
	return SNP_TCB_MILAN_GENOA;
}

bool verify_has_amd_ext(X509 *x)
{
	for (int i = 0; i < X509_get_ext_count(x); i++) {
		char oid[80];
		if (OBJ_obj2txt(oid, sizeof oid, X509_EXTENSION_get_object(X509_get_ext(x, i)), 1) > 0 &&
		    strncmp(oid, AMD_OID, sizeof AMD_OID - 1) == 0)
			return true;
	}
	return false;
}
