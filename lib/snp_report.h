/* The AMD SEV-SNP attestation report (1184 bytes, versions 2, 3 and 5 share
 * one layout; see docs/verify.md and AMD's SNP firmware ABI, table
 * "ATTESTATION_REPORT"). Parsing is bounds-checked and never trusts the
 * input; serialising is used by the test flavour's simulated PSP. Shared by
 * the host verifier and the guest: plain C, no X.509, no EVP. */
#ifndef UVM_SNP_REPORT_H
#define UVM_SNP_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define SNP_REPORT_SIZE 1184u
#define SNP_REPORT_SIGNED_LEN 0x2A0u /* bytes 0x000..0x29F are signed */

/* Field offsets (little-endian integers). */
#define SNP_OFF_VERSION 0x000u
#define SNP_OFF_GUEST_SVN 0x004u
#define SNP_OFF_POLICY 0x008u
#define SNP_OFF_FAMILY_ID 0x010u
#define SNP_OFF_IMAGE_ID 0x020u
#define SNP_OFF_VMPL 0x030u
#define SNP_OFF_SIG_ALGO 0x034u
#define SNP_OFF_CURRENT_TCB 0x038u
#define SNP_OFF_PLATFORM_INFO 0x040u
#define SNP_OFF_SIGNER_INFO 0x048u
#define SNP_OFF_REPORT_DATA 0x050u
#define SNP_OFF_MEASUREMENT 0x090u
#define SNP_OFF_HOST_DATA 0x0C0u
#define SNP_OFF_ID_KEY_DIGEST 0x0E0u
#define SNP_OFF_AUTHOR_KEY_DIGEST 0x110u
#define SNP_OFF_REPORT_ID 0x140u
#define SNP_OFF_REPORT_ID_MA 0x160u
#define SNP_OFF_REPORTED_TCB 0x180u
#define SNP_OFF_CPUID_FMS 0x188u /* family, model, stepping: version >= 3 */
#define SNP_OFF_CHIP_ID 0x1A0u
#define SNP_OFF_COMMITTED_TCB 0x1E0u
#define SNP_OFF_CURRENT_VERSION 0x1E8u   /* build, minor, major */
#define SNP_OFF_COMMITTED_VERSION 0x1ECu /* build, minor, major */
#define SNP_OFF_LAUNCH_TCB 0x1F0u
#define SNP_OFF_LAUNCH_MIT 0x1F8u  /* version 5 only */
#define SNP_OFF_CURRENT_MIT 0x200u /* version 5 only */
#define SNP_OFF_SIG_R 0x2A0u
#define SNP_OFF_SIG_S 0x2E8u

#define SNP_REPORT_DATA_LEN 64u
#define SNP_MEASUREMENT_LEN 48u
#define SNP_HOST_DATA_LEN 32u
#define SNP_KEY_DIGEST_LEN 48u
#define SNP_REPORT_ID_LEN 32u
#define SNP_CHIP_ID_LEN 64u
#define SNP_SIG_COMPONENT_LEN 72u /* r and s: little-endian, zero-padded */

/* Policy bits (offset 0x08). */
#define SNP_POLICY_SMT (1ull << 16)
#define SNP_POLICY_RESERVED1 (1ull << 17) /* must be 1 */
#define SNP_POLICY_MIGRATE_MA (1ull << 18)
#define SNP_POLICY_DEBUG (1ull << 19)
#define SNP_POLICY_SINGLE_SOCKET (1ull << 20)

/* signer_info (offset 0x48). */
#define SNP_SIGNER_AUTHOR_KEY_EN 0x1u
#define SNP_SIGNER_MASK_CHIP_ID 0x2u
#define SNP_SIGNER_KEY_SHIFT 2
#define SNP_SIGNER_KEY_MASK 0x7u
enum snp_signing_key { SNP_KEY_VCEK = 0, SNP_KEY_VLEK = 1, SNP_KEY_NONE = 7 };

#define SNP_SIG_ALGO_ECDSA_P384_SHA384 1u

struct snp_report {
	uint32_t version;
	uint32_t guest_svn;
	uint64_t policy;
	uint8_t family_id[16];
	uint8_t image_id[16];
	uint32_t vmpl;
	uint32_t sig_algo;
	uint64_t current_tcb;
	uint64_t platform_info;
	uint32_t signer_info;
	uint8_t report_data[SNP_REPORT_DATA_LEN];
	uint8_t measurement[SNP_MEASUREMENT_LEN];
	uint8_t host_data[SNP_HOST_DATA_LEN];
	uint8_t id_key_digest[SNP_KEY_DIGEST_LEN];
	uint8_t author_key_digest[SNP_KEY_DIGEST_LEN];
	uint8_t report_id[SNP_REPORT_ID_LEN];
	uint8_t report_id_ma[SNP_REPORT_ID_LEN];
	uint64_t reported_tcb;
	uint8_t cpuid_fam, cpuid_mod, cpuid_step; /* zero in version 2 */
	uint8_t chip_id[SNP_CHIP_ID_LEN];
	uint64_t committed_tcb;
	uint8_t current_build, current_minor, current_major;
	uint8_t committed_build, committed_minor, committed_major;
	uint64_t launch_tcb;
	uint64_t launch_mit, current_mit; /* zero before version 5 */
	uint8_t sig_r[SNP_SIG_COMPONENT_LEN];
	uint8_t sig_s[SNP_SIG_COMPONENT_LEN];
};

/* TCB versions are 8 bytes whose meaning depends on the product. */
enum snp_tcb_layout { SNP_TCB_MILAN_GENOA, SNP_TCB_TURIN };
struct snp_tcb {
	uint8_t fmc; /* Turin only; 0 otherwise */
	uint8_t bootloader, tee, snp, microcode;
};
void snp_tcb_decode(uint64_t raw, enum snp_tcb_layout layout, struct snp_tcb *out);
uint64_t snp_tcb_encode(const struct snp_tcb *tcb, enum snp_tcb_layout layout);

/* Parses exactly SNP_REPORT_SIZE bytes. Accepts versions 2, 3 and 5; rejects
 * anything else (other sizes, other versions) with a message naming the
 * value. Reserved bytes are not judged here: see snp_report_check_reserved. */
int snp_report_parse(const uint8_t *buf, size_t len, struct snp_report *out, struct uvm_err *err);

/* Fails (with the first offending offset) if a byte the report's version
 * declares reserved is not zero: a genuine PSP zero-fills them. */
int snp_report_check_reserved(const uint8_t buf[SNP_REPORT_SIZE], uint32_t version, struct uvm_err *err);

/* Writes the struct as the PSP would: every reserved byte zero. */
void snp_report_serialize(const struct snp_report *r, uint8_t out[SNP_REPORT_SIZE]);

static inline unsigned snp_report_signing_key(const struct snp_report *r)
{
	return (r->signer_info >> SNP_SIGNER_KEY_SHIFT) & SNP_SIGNER_KEY_MASK;
}

#endif
