/* SEV-SNP launch digest with COCONUT-SVSM (see svsm_measure.h). */
#include "svsm_measure.h"
#include "le.h"

#include <string.h>

static void put_seg(uint8_t *p, uint16_t selector, uint16_t attrib, uint32_t limit)
{
	le16_put(p, selector);
	le16_put(p + 2, attrib);
	le32_put(p + 4, limit);
	le64_put(p + 8, 0); /* base: every segment is flat */
}

void svsm_vmsa_page(uint8_t page[OVMF_PAGE_SIZE], uint32_t eip, uint32_t vcpu_sig)
{
	/* Offsets of Linux's struct sev_es_save_area. Unlike OVMF's real-mode
	 * reset state, the SVSM starts in 32-bit protected mode: 4 GiB code
	 * (selector 8) and data (16) segments, CR0.PE, RIP the full address. The
	 * x87/SSE control words stay zero (sev-snp-measure's VMSA_SVSM). */
	memset(page, 0, OVMF_PAGE_SIZE);
	put_seg(page + 0x00, 16, 0xc93, 0xffffffffu);  /* es */
	put_seg(page + 0x10, 8, 0xc9b, 0xffffffffu);   /* cs */
	put_seg(page + 0x20, 16, 0xc93, 0xffffffffu);  /* ss */
	put_seg(page + 0x30, 16, 0xc93, 0xffffffffu);  /* ds */
	put_seg(page + 0x40, 16, 0xc93, 0xffffffffu);  /* fs */
	put_seg(page + 0x50, 0, 0x93, 0xffff);         /* gs */
	put_seg(page + 0x60, 0, 0, 0xffff);            /* gdtr */
	put_seg(page + 0x70, 0, 0x82, 0xffff);         /* ldtr */
	put_seg(page + 0x80, 0, 0, 0xffff);            /* idtr */
	put_seg(page + 0x90, 0, 0x8b, 0xffff);         /* tr */
	le64_put(page + 0xd0, 0x1000);                 /* efer: SVME */
	le64_put(page + 0x148, 0x40);                  /* cr4: MCE */
	le64_put(page + 0x158, 0x11);                  /* cr0: ET | PE */
	le64_put(page + 0x160, 0x400);                 /* dr7 */
	le64_put(page + 0x168, 0xffff0ff0);            /* dr6 */
	le64_put(page + 0x170, 0x2);                   /* rflags */
	le64_put(page + 0x178, eip);                   /* rip */
	le64_put(page + 0x268, 0x0007040600070406ull); /* g_pat */
	le64_put(page + 0x310, vcpu_sig);              /* rdx: CPUID signature */
	le64_put(page + 0x3b0, SVSM_SEV_FEATURES);     /* sev_features */
	le64_put(page + 0x3e8, 1);                     /* xcr0 */
}

uint32_t svsm_entry_gpa(const struct ovmf_info *svsm_info)
{
	/* ovmf_parse_at() keeps the entry inside an image below 4 GiB */
	return (uint32_t)(svsm_info->gpa + svsm_info->svsm_entry);
}

/* The SVSM's metadata pages are launch-updated after the firmware: one that
 * falls on a firmware page would be measured twice, which the PSP refuses. */
static int check_sections_clear_of(const struct ovmf_info *svsm, const struct ovmf_info *fw, struct uvm_err *err)
{
	for (size_t i = 0; i < svsm->n_sections; i++) {
		const struct ovmf_section *s = &svsm->sections[i];
		if (s->gpa < fw->gpa + fw->size && fw->gpa < (uint64_t)s->gpa + s->size)
			return uvm_fail(err, 0,
					"the SVSM's SEV metadata section %zu (%s at 0x%x, 0x%x bytes) overlaps the "
					"firmware at 0x%llx; the PSP would refuse to measure those pages twice",
					i, ovmf_section_name(s->type), s->gpa, s->size, (unsigned long long)fw->gpa);
	}
	return 0;
}

int svsm_measure(const struct svsm_request *req, uint8_t ld[SNP_LD_LEN], const struct snp_trace *trace,
		 struct uvm_err *err)
{
	struct snp_vmsa_hashes vh;
	uint8_t page[OVMF_PAGE_SIZE];
	if (req->vcpus == 0 || req->vcpus > SNP_MAX_VCPUS)
		return uvm_fail(err, 0, "%u vCPUs is outside 1..%u", req->vcpus, SNP_MAX_VCPUS);
	if (!req->svsm_info->has_svsm_info)
		return uvm_fail(err, 0, "%s", "the SVSM image has no SVSM info entry (its entry point)");
	if (check_sections_clear_of(req->svsm_info, req->fw_info, err))
		return -1;
	memset(ld, 0, SNP_LD_LEN);
	snp_ld_pages(ld, req->fw, req->fw_info->size, req->fw_info->gpa, "firmware", trace);
	snp_ld_pages(ld, req->svsm, req->svsm_info->size, req->svsm_info->gpa, "SVSM", trace);
	if (snp_ld_metadata(ld, req->svsm_info, NULL, SNP_VMM_QEMU, trace, err))
		return -1;
	/* every vCPU starts in the SVSM: the "AP" hash is the BSP's */
	svsm_vmsa_page(page, svsm_entry_gpa(req->svsm_info), req->vcpu_sig);
	uvm_sha384(page, sizeof page, vh.bsp);
	memcpy(vh.ap, vh.bsp, sizeof vh.ap);
	snp_ld_vmsas(ld, req->vcpus, &vh, trace);
	return 0;
}
