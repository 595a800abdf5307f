/* SEV and SEV-ES launch digests: what the PSP computes while QEMU hands it
 * the firmware, the kernel-hashes table and (SEV-ES) the vCPU save areas
 * with LAUNCH_UPDATE_DATA / LAUNCH_UPDATE_VMSA. Unlike SNP there are no
 * page records: the digest is one SHA-256 over the bytes in that order.
 * The result must equal virtee/sev-snp-measure --mode sev / seves. */
#ifndef UVM_SEV_MEASURE_H
#define UVM_SEV_MEASURE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "hash.h"
#include "ovmf_table.h"
#include "snp_measure.h"

#define SEV_LD_LEN UVM_SHA256_LEN

enum sev_mode { SEV_MODE_SEV, SEV_MODE_ES };

/* QEMU's padded SEV hashes table (SNP_HASHES_TABLE_LEN bytes). */
void sev_hashes_table(uint8_t out[SNP_HASHES_TABLE_LEN], const struct snp_kernel_hashes *h);

/* The VMSA page of vCPU index (0 the BSP, the others APs) for SEV-ES: SNP's
 * save area with SEV features 0. */
void sev_es_vmsa_page(uint8_t page[OVMF_PAGE_SIZE], unsigned index, uint32_t ap_eip, uint32_t vcpu_sig,
		      enum snp_vmm vmm);

struct sev_request {
	enum sev_mode mode;
	const uint8_t *fw;                      /* firmware bytes (info->size of them) */
	const struct ovmf_info *info;           /* ovmf_parse_for() of fw */
	const struct snp_kernel_hashes *hashes; /* NULL: no kernel */
	unsigned vcpus;                         /* SEV-ES only: 1..SNP_MAX_VCPUS */
	uint32_t vcpu_sig;                      /* SEV-ES only */
	enum snp_vmm vmm;                       /* SEV-ES only */
};

/* The whole computation. Returns 0, or -1 with err set (a kernel with
 * firmware that has no usable hashes table; a bad vCPU count; SEV-ES
 * firmware without a reset block). */
int sev_measure(const struct sev_request *req, uint8_t ld[SEV_LD_LEN], const struct snp_trace *trace,
		struct uvm_err *err);

#endif
