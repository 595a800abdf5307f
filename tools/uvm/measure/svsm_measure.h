/* SEV-SNP launch digest of a guest that starts in an SVSM (COCONUT-SVSM under
 * its QEMU fork), as virtee/sev-snp-measure --mode snp:svsm computes it:
 *
 *   1. the firmware (OVMF_CODE) pages, NORMAL, in [4 GiB - size, 4 GiB);
 *   2. the SVSM image pages, NORMAL, ending where the OVMF_VARS store begins
 *      (firmware GPA - vars size; the vars store itself is not measured);
 *   3. the SVSM image's own SEV metadata sections (zero, secrets, CPUID and
 *      CAA pages) in table order; the firmware's metadata is not used, and no
 *      kernel hashes are measured in this mode;
 *   4. one VMSA per vCPU, all the same: the SVSM's 32-bit protected-mode
 *      entry (flat segments, CR0.PE, RIP = SVSM GPA + info entry offset),
 *      SEV features 0x1.
 *
 * See docs/measure.md. */
#ifndef UVM_SVSM_MEASURE_H
#define UVM_SVSM_MEASURE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "ovmf_table.h"
#include "snp_measure.h"

/* SEV features of the SVSM's vCPUs: SNPActive only, whatever the guest asks. */
#define SVSM_SEV_FEATURES 0x1u

/* The VMSA page every vCPU starts from (eip: the SVSM entry point's GPA). */
void svsm_vmsa_page(uint8_t page[OVMF_PAGE_SIZE], uint32_t eip, uint32_t vcpu_sig);

struct svsm_request {
	const uint8_t *fw;                 /* firmware bytes (fw_info->size of them) */
	const struct ovmf_info *fw_info;   /* ovmf_parse_for(fw, 0) */
	const uint8_t *svsm;               /* SVSM image bytes */
	const struct ovmf_info *svsm_info; /* ovmf_parse_at(svsm, METADATA|SVSM_INFO, fw GPA - vars size) */
	unsigned vcpus;
	uint32_t vcpu_sig;
};

/* The SVSM entry point's GPA (the VMSAs' RIP). */
uint32_t svsm_entry_gpa(const struct ovmf_info *svsm_info);

/* The whole computation. Returns 0, or -1 with err set (a bad vCPU count; an
 * SVSM metadata section that overlaps the firmware, which the PSP would
 * refuse to update twice). */
int svsm_measure(const struct svsm_request *req, uint8_t ld[SNP_LD_LEN], const struct snp_trace *trace,
		 struct uvm_err *err);

#endif
