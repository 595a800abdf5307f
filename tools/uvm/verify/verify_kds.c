/* The AMD Key Distribution Service URLs of a report's collateral
 * (`uvm verify --print-kds`): its VCEK, by product, chip id and reported
 * TCB; the product's ASK/ARK chain and CRL; the VLEK (ASVK) chain and CRL.
 * Formats as in AMD's "VCEK Certificate and KDS Interface Specification"
 * (57230) and google/go-sev-guest's kds package: decimal SPLs, lowercase
 * hex hwID (8 bytes on Turin), fmcSPL on Turin only. */
#include <string.h>
#include <strings.h>

#include "hex.h"
#include "verify.h"

#define KDS_BASE "https://kdsintf.amd.com"

static const char *const products[] = {"Milan", "Genoa", "Turin"};

/* CPUID family/model (combined extended fields, as the report carries
 * them) to the KDS product line. */
static const char *product_of_cpuid(uint8_t family, uint8_t model)
{
	if (family == 0x19 && model <= 0x0f)
		return "Milan";
	if (family == 0x19 && model >= 0x10 && model <= 0x1f)
		return "Genoa";
	if (family == 0x1a && model <= 0x1f)
		return "Turin";
	return NULL;
}

int verify_kds_product(const struct snp_report *r, const char *product_name, const char **product, struct uvm_err *err)
{
	const char *named = NULL, *reported = NULL;
	if (product_name) {
		for (size_t i = 0; i < sizeof products / sizeof products[0] && !named; i++)
			if (strcasecmp(product_name, products[i]) == 0)
				named = products[i];
		if (!named)
			return uvm_fail(
				err, 0,
				"--product '%.40s' is not a product AMD's KDS serves; want Milan, Genoa or Turin",
				product_name);
	}
	bool have_cpuid = r->version >= 3 && (r->cpuid_fam || r->cpuid_mod || r->cpuid_step);
	if (have_cpuid) {
		reported = product_of_cpuid(r->cpuid_fam, r->cpuid_mod);
		if (!reported && !named)
			return uvm_fail(err, 0,
					"the report's CPUID family 0x%02x model 0x%02x is not a known SEV-SNP product; "
					"give --product Milan, Genoa or Turin if you know it",
					r->cpuid_fam, r->cpuid_mod);
	}
	if (named && reported && strcmp(named, reported) != 0)
		return uvm_fail(err, 0,
				"--product %s contradicts the report's CPUID family 0x%02x model 0x%02x (%s); "
				"check which machine the report came from",
				named, r->cpuid_fam, r->cpuid_mod, reported);
	if (!named && !reported)
		return uvm_fail(err, 0,
				"a version %u report carries no CPUID family/model; give --product Milan, Genoa or "
				"Turin",
				r->version);
	*product = named ? named : reported;
	return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void vcek_url(const struct snp_report *r, const char *product, struct verify_kds_urls *u)
{
	bool turin = strcmp(product, "Turin") == 0;
	size_t hwid_len = turin ? 8 : SNP_CHIP_ID_LEN;
	char hwid[2 * SNP_CHIP_ID_LEN + 1];
	struct snp_tcb t;
	uvm_hex_encode(r->chip_id, hwid_len, hwid);
	snp_tcb_decode(r->reported_tcb, turin ? SNP_TCB_TURIN : SNP_TCB_MILAN_GENOA, &t);
	int n = snprintf(u->vcek, sizeof u->vcek, KDS_BASE "/vcek/v1/%s/%s?blSPL=%u&teeSPL=%u&snpSPL=%u&ucodeSPL=%u",
			 product, hwid, t.bootloader, t.tee, t.snp, t.microcode);
	if (turin && n > 0 && (size_t)n < sizeof u->vcek)
		snprintf(u->vcek + n, sizeof u->vcek - (size_t)n, "&fmcSPL=%u", t.fmc);
}

int verify_kds_urls(const struct snp_report *r, const char *product_name, struct verify_kds_urls *u,
		    struct uvm_err *err)
{
	const char *product;
	memset(u, 0, sizeof *u);
	if (verify_kds_product(r, product_name, &product, err) != 0)
		return -1;
	snprintf(u->product, sizeof u->product, "%s", product);
	bool turin = strcmp(product, "Turin") == 0;
	if (snp_report_signing_key(r) == SNP_KEY_VLEK)
		u->vcek_missing_why = "the report is signed by a VLEK, which the cloud provider supplies: no VCEK";
	else if (r->signer_info & SNP_SIGNER_MASK_CHIP_ID)
		u->vcek_missing_why = "the guest masked its chip id (signer_info bit 1): no VCEK can be looked up";
	else if (all_zero(r->chip_id, SNP_CHIP_ID_LEN))
		u->vcek_missing_why = "the report's chip id is zero: no VCEK can be looked up";
	else if (turin && !all_zero(r->chip_id + 8, SNP_CHIP_ID_LEN - 8))
		return uvm_fail(err, 0,
				"the report's chip id has non-zero bytes past the first 8, which a Turin chip id never "
				"has; is --product Turin right for this report?");
	else
		vcek_url(r, product, u);
	snprintf(u->cert_chain, sizeof u->cert_chain, KDS_BASE "/vcek/v1/%s/cert_chain", product);
	snprintf(u->crl, sizeof u->crl, KDS_BASE "/vcek/v1/%s/crl", product);
	snprintf(u->vlek_cert_chain, sizeof u->vlek_cert_chain, KDS_BASE "/vlek/v1/%s/cert_chain", product);
	snprintf(u->vlek_crl, sizeof u->vlek_crl, KDS_BASE "/vlek/v1/%s/crl", product);
	return 0;
}
