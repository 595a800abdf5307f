/* SEV-SNP launch digest (see snp_measure.h and docs/measure.md). */
#include "snp_measure.h"
#include "le.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define PAGE_INFO_LEN 0x70u

const struct snp_cpu_type snp_cpu_types[] = {
	/* the signatures as sev-snp-measure derives them from family/model/stepping */
	{"EPYC", 0x800f12},          {"EPYC-v1", 0x800f12},       {"EPYC-v2", 0x800f12},
	{"EPYC-IBPB", 0x800f12},     {"EPYC-v3", 0x800f12},       {"EPYC-v4", 0x800f12},
	{"EPYC-Rome", 0x830f10},     {"EPYC-Rome-v1", 0x830f10},  {"EPYC-Rome-v2", 0x830f10},
	{"EPYC-Rome-v3", 0x830f10},  {"EPYC-Rome-v4", 0x830f10},  {"EPYC-Milan", 0xa00f11},
	{"EPYC-Milan-v1", 0xa00f11}, {"EPYC-Milan-v2", 0xa00f11}, {"EPYC-Genoa", 0xa10f10},
	{"EPYC-Genoa-v1", 0xa10f10}, {"EPYC-Turin", 0xb00f00},    {"EPYC-Turin-v1", 0xb00f00},
};
const size_t snp_n_cpu_types = sizeof snp_cpu_types / sizeof snp_cpu_types[0];

int snp_cpu_sig_by_name(const char *name, uint32_t *sig)
{
	for (size_t i = 0; i < snp_n_cpu_types; i++)
		if (strcmp(name, snp_cpu_types[i].name) == 0) {
			*sig = snp_cpu_types[i].sig;
			return 0;
		}
	return -1;
}

uint32_t snp_cpu_sig(unsigned family, unsigned model, unsigned stepping)
{
	unsigned fam_low = family, fam_high = 0;
	if (family > 0xf) {
		fam_low = 0xf;
		fam_high = (family - 0xf) & 0xff;
	}
	return (uint32_t)(fam_high << 20 | ((model >> 4) & 0xf) << 16 | fam_low << 8 | (model & 0xf) << 4 |
			  (stepping & 0xf));
}

int snp_vmm_parse(const char *name, enum snp_vmm *out)
{
	if (strcasecmp(name, "qemu") == 0)
		*out = SNP_VMM_QEMU;
	else if (strcasecmp(name, "ec2") == 0)
		*out = SNP_VMM_EC2;
	else if (strcasecmp(name, "gce") == 0)
		*out = SNP_VMM_GCE;
	else
		return -1;
	return 0;
}

const char *snp_vmm_name(enum snp_vmm vmm)
{
	return vmm == SNP_VMM_EC2 ? "ec2" : vmm == SNP_VMM_GCE ? "gce" : "QEMU";
}

static void trace_step(const struct snp_trace *t, const uint8_t *value, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void trace_step(const struct snp_trace *t, const uint8_t *value, size_t len, const char *fmt, ...)
{
	char label[160];
	va_list ap;
	if (!t || !t->step)
		return;
	va_start(ap, fmt);
	vsnprintf(label, sizeof label, fmt, ap);
	va_end(ap);
	t->step(t->arg, label, value, len);
}

void snp_ld_update(uint8_t ld[SNP_LD_LEN], const uint8_t *contents, enum snp_page_type type, uint64_t gpa)
{
	uint8_t info[PAGE_INFO_LEN] = {0};
	memcpy(info, ld, SNP_LD_LEN);
	if (contents)
		memcpy(info + 0x30, contents, SNP_LD_LEN);
	le16_put(info + 0x60, PAGE_INFO_LEN);
	info[0x62] = (uint8_t)type;
	/* 0x63 IMI page, 0x64..0x66 VMPL permissions, 0x67 reserved: all zero */
	le64_put(info + 0x68, gpa);
	uvm_sha384(info, sizeof info, ld);
}

static void ld_page(uint8_t ld[SNP_LD_LEN], const uint8_t *page, enum snp_page_type type, uint64_t gpa)
{
	uint8_t h[SNP_LD_LEN];
	uvm_sha384(page, OVMF_PAGE_SIZE, h);
	snp_ld_update(ld, h, type, gpa);
}

void snp_ld_pages(uint8_t ld[SNP_LD_LEN], const uint8_t *data, size_t len, uint64_t gpa, const char *what,
		  const struct snp_trace *trace)
{
	size_t pages = len / OVMF_PAGE_SIZE;
	for (size_t i = 0; i < pages; i++)
		ld_page(ld, data + i * OVMF_PAGE_SIZE, SNP_PAGE_NORMAL, gpa + i * OVMF_PAGE_SIZE);
	trace_step(trace, ld, SNP_LD_LEN, "after the %zu %s pages (GPA 0x%llx)", pages, what, (unsigned long long)gpa);
}

void snp_ld_firmware(uint8_t ld[SNP_LD_LEN], const uint8_t *fw, const struct ovmf_info *info,
		     const struct snp_trace *trace)
{
	snp_ld_pages(ld, fw, info->size, info->gpa, "firmware", trace);
}

static void ld_blank_pages(uint8_t ld[SNP_LD_LEN], enum snp_page_type type, uint32_t gpa, uint32_t size)
{
	for (uint64_t off = 0; off < size; off += OVMF_PAGE_SIZE)
		snp_ld_update(ld, NULL, type, (uint64_t)gpa + off);
}

void snp_hashes_page(uint8_t page[OVMF_PAGE_SIZE], size_t offset, const struct snp_kernel_hashes *h)
{
	/* Layout of QEMU's build_kernel_loader_hashes(): header, then cmdline, initrd, kernel. */
	static const char *const guids[4] = {
		"9438d606-4f22-4cc9-b479-a793d411fd21", "97d02dd8-bd20-4c94-aa78-e7714d36ab2a",
		"44baf731-3a2f-4bd7-9af1-41e29169781d", "4de79437-abd2-427f-b835-d5b172d2045b"};
	const uint8_t *values[3] = {h->cmdline, h->initrd, h->kernel};
	memset(page, 0, OVMF_PAGE_SIZE);
	if (offset > OVMF_PAGE_SIZE - SNP_HASHES_TABLE_LEN)
		return; /* callers validate with ovmf_check_kernel_hashes() first */
	uint8_t *t = page + offset;
	ovmf_guid_parse(guids[0], t);
	le16_put(t + 16, 168);
	for (int i = 0; i < 3; i++) {
		uint8_t *e = t + 18 + 50 * i;
		ovmf_guid_parse(guids[i + 1], e);
		le16_put(e + 16, 50);
		memcpy(e + 18, values[i], UVM_SHA256_LEN);
	}
}

static void ld_kernel_hashes(uint8_t ld[SNP_LD_LEN], const struct ovmf_info *info, const struct ovmf_section *s,
			     const struct snp_kernel_hashes *h, const struct snp_trace *trace)
{
	uint8_t page[OVMF_PAGE_SIZE];
	size_t offset = info->hashes_base & (OVMF_PAGE_SIZE - 1);
	snp_hashes_page(page, offset, h);
	trace_step(trace, h->cmdline, sizeof h->cmdline, "hashes table at 0x%x: cmdline sha256", info->hashes_base);
	trace_step(trace, h->initrd, sizeof h->initrd, "hashes table at 0x%x: initrd sha256", info->hashes_base);
	trace_step(trace, h->kernel, sizeof h->kernel, "hashes table at 0x%x: kernel sha256", info->hashes_base);
	ld_page(ld, page, SNP_PAGE_NORMAL, s->gpa);
}

static void ld_section(uint8_t ld[SNP_LD_LEN], const struct ovmf_info *info, const struct ovmf_section *s,
		       const struct snp_kernel_hashes *h, enum snp_vmm vmm, const struct snp_trace *trace)
{
	switch (s->type) {
	case OVMF_SECTION_SNP_SEC_MEM:
		/* GCE accepts the pre-validated memory without measuring it */
		ld_blank_pages(ld, vmm == SNP_VMM_GCE ? SNP_PAGE_UNMEASURED : SNP_PAGE_ZERO, s->gpa, s->size);
		break;
	case OVMF_SECTION_SNP_SECRETS: snp_ld_update(ld, NULL, SNP_PAGE_SECRETS, s->gpa); break;
	case OVMF_SECTION_CPUID:
		if (vmm == SNP_VMM_EC2)
			return; /* EC2 measures the CPUID page after all other sections */
		snp_ld_update(ld, NULL, SNP_PAGE_CPUID, s->gpa);
		break;
	case OVMF_SECTION_SVSM_CAA: ld_blank_pages(ld, SNP_PAGE_ZERO, s->gpa, s->size); break;
	case OVMF_SECTION_SNP_KERNEL_HASHES:
		if (h)
			ld_kernel_hashes(ld, info, s, h, trace);
		else
			ld_blank_pages(ld, SNP_PAGE_ZERO, s->gpa, s->size);
		break;
	default: return; /* ovmf_parse() rejected unknown types */
	}
	trace_step(trace, ld, SNP_LD_LEN, "after %s 0x%x+0x%x", ovmf_section_name(s->type), s->gpa, s->size);
}

int snp_ld_metadata(uint8_t ld[SNP_LD_LEN], const struct ovmf_info *info, const struct snp_kernel_hashes *hashes,
		    enum snp_vmm vmm, const struct snp_trace *trace, struct uvm_err *err)
{
	if (hashes && ovmf_check_kernel_hashes(info, err))
		return -1;
	for (size_t i = 0; i < info->n_sections; i++)
		ld_section(ld, info, &info->sections[i], hashes, vmm, trace);
	if (vmm != SNP_VMM_EC2)
		return 0;
	for (size_t i = 0; i < info->n_sections; i++)
		if (info->sections[i].type == OVMF_SECTION_CPUID) {
			snp_ld_update(ld, NULL, SNP_PAGE_CPUID, info->sections[i].gpa);
			trace_step(trace, ld, SNP_LD_LEN, "after CPUID 0x%x (EC2 measures it last)",
				   info->sections[i].gpa);
		}
	return 0;
}

static void put_seg(uint8_t *p, uint16_t selector, uint16_t attrib, uint32_t limit, uint64_t base)
{
	le16_put(p, selector);
	le16_put(p + 2, attrib);
	le32_put(p + 4, limit);
	le64_put(p + 8, base);
}

/* Register state that differs between VMMs (sev-snp-measure's vmsa.py). */
struct vmm_regs {
	uint16_t cs, ss, tr;
	uint64_t rdx, g_pat;
	uint32_t mxcsr;
	uint16_t fcw;
};

static struct vmm_regs vmm_regs(enum snp_vmm vmm, uint32_t eip, uint32_t vcpu_sig)
{
	struct vmm_regs r = {0x9b, 0x93, 0x8b, vcpu_sig, 0x0007040600070406ull, 0x1f80, 0x37f};
	if (vmm == SNP_VMM_EC2) {
		/* rdx 0x600 since sev-snp-measure 0.0.13 (its PR #60, checked on a c6a instance) */
		r = (struct vmm_regs){eip == SNP_BSP_EIP ? 0x9a : 0x9b, 0x92, 0x83, 0x600, r.g_pat, 0, 0};
	} else if (vmm == SNP_VMM_GCE) {
		r.rdx = 0x600;
		r.g_pat = 0x00070106;
		r.mxcsr = 0;
		r.fcw = 0;
	}
	return r;
}

void snp_vmsa_page(uint8_t page[OVMF_PAGE_SIZE], uint32_t eip, uint64_t guest_features, uint32_t vcpu_sig,
		   enum snp_vmm vmm)
{
	/* Offsets of Linux's struct sev_es_save_area. */
	struct vmm_regs r = vmm_regs(vmm, eip, vcpu_sig);
	memset(page, 0, OVMF_PAGE_SIZE);
	put_seg(page + 0x00, 0, 0x93, 0xffff, 0);                      /* es */
	put_seg(page + 0x10, 0xf000, r.cs, 0xffff, eip & 0xffff0000u); /* cs */
	put_seg(page + 0x20, 0, r.ss, 0xffff, 0);                      /* ss */
	put_seg(page + 0x30, 0, 0x93, 0xffff, 0);                      /* ds */
	put_seg(page + 0x40, 0, 0x93, 0xffff, 0);                      /* fs */
	put_seg(page + 0x50, 0, 0x93, 0xffff, 0);                      /* gs */
	put_seg(page + 0x60, 0, 0, 0xffff, 0);                         /* gdtr */
	put_seg(page + 0x70, 0, 0x82, 0xffff, 0);                      /* ldtr */
	put_seg(page + 0x80, 0, 0, 0xffff, 0);                         /* idtr */
	put_seg(page + 0x90, 0, r.tr, 0xffff, 0);                      /* tr */
	le64_put(page + 0xd0, 0x1000);                                 /* efer: KVM sets SVME */
	le64_put(page + 0x148, 0x40);                                  /* cr4: KVM sets MCE */
	le64_put(page + 0x158, 0x10);                                  /* cr0 */
	le64_put(page + 0x160, 0x400);                                 /* dr7 */
	le64_put(page + 0x168, 0xffff0ff0);                            /* dr6 */
	le64_put(page + 0x170, 0x2);                                   /* rflags */
	le64_put(page + 0x178, eip & 0xffff);                          /* rip */
	le64_put(page + 0x268, r.g_pat);
	le64_put(page + 0x310, r.rdx);          /* rdx: CPUID signature at reset */
	le64_put(page + 0x3b0, guest_features); /* sev_features */
	le64_put(page + 0x3e8, 1);              /* xcr0 */
	le32_put(page + 0x408, r.mxcsr);
	le16_put(page + 0x410, r.fcw); /* x87 fcw */
}

void snp_vmsa_hashes(struct snp_vmsa_hashes *out, uint32_t ap_eip, uint64_t guest_features, uint32_t vcpu_sig,
		     enum snp_vmm vmm)
{
	uint8_t page[OVMF_PAGE_SIZE];
	snp_vmsa_page(page, SNP_BSP_EIP, guest_features, vcpu_sig, vmm);
	uvm_sha384(page, sizeof page, out->bsp);
	snp_vmsa_page(page, ap_eip, guest_features, vcpu_sig, vmm);
	uvm_sha384(page, sizeof page, out->ap);
}

void snp_ld_vmsas(uint8_t ld[SNP_LD_LEN], unsigned vcpus, const struct snp_vmsa_hashes *vh,
		  const struct snp_trace *trace)
{
	trace_step(trace, vh->bsp, SNP_LD_LEN, "SHA-384 of the BSP VMSA");
	trace_step(trace, vh->ap, SNP_LD_LEN, "SHA-384 of an AP VMSA%s", vcpus > 1 ? "" : " (none measured)");
	for (unsigned i = 0; i < vcpus; i++) {
		snp_ld_update(ld, i == 0 ? vh->bsp : vh->ap, SNP_PAGE_VMSA, SNP_VMSA_GPA);
		trace_step(trace, ld, SNP_LD_LEN, "after vCPU %u VMSA (%s)", i, i == 0 ? "BSP" : "AP");
	}
}

int snp_measure(const struct snp_request *req, uint8_t ld[SNP_LD_LEN], const struct snp_trace *trace,
		struct uvm_err *err)
{
	struct snp_vmsa_hashes vh;
	if (req->vcpus == 0 || req->vcpus > SNP_MAX_VCPUS)
		return uvm_fail(err, 0, "%u vCPUs is outside 1..%u", req->vcpus, SNP_MAX_VCPUS);
	memset(ld, 0, SNP_LD_LEN);
	if (req->fw_digest) {
		memcpy(ld, req->fw_digest, SNP_LD_LEN);
		trace_step(trace, ld, SNP_LD_LEN, "given firmware digest (firmware pages not hashed)");
	} else {
		snp_ld_firmware(ld, req->fw, req->info, trace);
	}
	if (snp_ld_metadata(ld, req->info, req->hashes, req->vmm, trace, err))
		return -1;
	snp_vmsa_hashes(&vh, req->info->reset_eip, req->guest_features, req->vcpu_sig, req->vmm);
	snp_ld_vmsas(ld, req->vcpus, &vh, trace);
	return 0;
}
