/* SEV / SEV-ES launch digest (see sev_measure.h and docs/measure.md). */
#include "sev_measure.h"

#include <string.h>

void sev_hashes_table(uint8_t out[SNP_HASHES_TABLE_LEN], const struct snp_kernel_hashes *h)
{
	uint8_t page[OVMF_PAGE_SIZE];
	snp_hashes_page(page, 0, h);
	memcpy(out, page, SNP_HASHES_TABLE_LEN);
}

void sev_es_vmsa_page(uint8_t page[OVMF_PAGE_SIZE], unsigned index, uint32_t ap_eip, uint32_t vcpu_sig,
		      enum snp_vmm vmm)
{
	snp_vmsa_page(page, index == 0 ? SNP_BSP_EIP : ap_eip, 0, vcpu_sig, vmm);
}

int sev_measure(const struct sev_request *req, uint8_t ld[SEV_LD_LEN], const struct snp_trace *trace,
		struct uvm_err *err)
{
	struct uvm_sha256_ctx ctx;
	uint8_t table[SNP_HASHES_TABLE_LEN], bsp[OVMF_PAGE_SIZE], ap[OVMF_PAGE_SIZE], now[SEV_LD_LEN];
	int es = req->mode == SEV_MODE_ES;
	if (es && (req->vcpus == 0 || req->vcpus > SNP_MAX_VCPUS))
		return uvm_fail(err, 0, "%u vCPUs is outside 1..%u", req->vcpus, SNP_MAX_VCPUS);
	if (es && !req->info->has_reset_block)
		return uvm_fail(err, 0,
				"no SEV-ES reset block in the footer table; the firmware cannot "
				"start application processors under SEV-ES");
	if (req->hashes && ovmf_check_sev_hashes_table(req->info, err))
		return -1;
	uvm_sha256_init(&ctx);
	uvm_sha256_update(&ctx, req->fw, req->info->size);
	if (trace && trace->step) {
		uvm_sha256(req->fw, req->info->size, now);
		trace->step(trace->arg, "SHA-256 of the firmware alone", now, sizeof now);
	}
	if (req->hashes) {
		sev_hashes_table(table, req->hashes);
		uvm_sha256_update(&ctx, table, sizeof table);
		if (trace && trace->step) {
			uvm_sha256(table, sizeof table, now);
			trace->step(trace->arg, "SHA-256 of the 176-byte hashes table", now, sizeof now);
		}
	}
	if (es) {
		sev_es_vmsa_page(bsp, 0, req->info->reset_eip, req->vcpu_sig, req->vmm);
		sev_es_vmsa_page(ap, 1, req->info->reset_eip, req->vcpu_sig, req->vmm);
		if (trace && trace->step) {
			uvm_sha256(bsp, sizeof bsp, now);
			trace->step(trace->arg, "SHA-256 of the BSP VMSA", now, sizeof now);
			uvm_sha256(ap, sizeof ap, now);
			trace->step(trace->arg, "SHA-256 of an AP VMSA", now, sizeof now);
		}
		for (unsigned i = 0; i < req->vcpus; i++)
			uvm_sha256_update(&ctx, i == 0 ? bsp : ap, OVMF_PAGE_SIZE);
	}
	uvm_sha256_final(&ctx, ld);
	return 0;
}
