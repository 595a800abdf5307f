/* SEV-SNP launch digest prediction: what the PSP computes while QEMU (or
 * another VMM) loads the firmware, the kernel-hashes page and the vCPU save
 * areas. The result must equal virtee/sev-snp-measure for the same inputs.
 *
 * The work is split so that callers computing many variants (vCPU counts,
 * CPU types) hash each firmware page once: snp_ld_firmware() and
 * snp_ld_metadata() produce a digest that snp_ld_vmsas() then extends. */
#ifndef UVM_SNP_MEASURE_H
#define UVM_SNP_MEASURE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "hash.h"
#include "ovmf_table.h"

#define SNP_LD_LEN UVM_SHA384_LEN
#define SNP_VMSA_GPA 0xFFFFFFFFF000ull
#define SNP_BSP_EIP 0xFFFFFFF0u
#define SNP_MAX_VCPUS 4096u
#define SNP_HASHES_TABLE_LEN 176u

/* PAGE_INFO page types (SNP firmware ABI, SNP_LAUNCH_UPDATE). */
enum snp_page_type {
	SNP_PAGE_NORMAL = 1,
	SNP_PAGE_VMSA = 2,
	SNP_PAGE_ZERO = 3,
	SNP_PAGE_UNMEASURED = 4,
	SNP_PAGE_SECRETS = 5,
	SNP_PAGE_CPUID = 6,
};

/* How the VMM sets up measured state; names as sev-snp-measure's --vmm-type. */
enum snp_vmm { SNP_VMM_QEMU, SNP_VMM_EC2, SNP_VMM_GCE };

/* Parses "QEMU"/"qemu", "ec2", "gce" (any case). Returns 0 or -1. */
int snp_vmm_parse(const char *name, enum snp_vmm *out);
const char *snp_vmm_name(enum snp_vmm vmm);

/* QEMU CPU model names and their CPUID 1 EAX signatures. */
struct snp_cpu_type {
	const char *name;
	uint32_t sig;
};
extern const struct snp_cpu_type snp_cpu_types[];
extern const size_t snp_n_cpu_types;
/* Exact (case-sensitive, as QEMU spells them) lookup. Returns 0 or -1. */
int snp_cpu_sig_by_name(const char *name, uint32_t *sig);
/* CPUID Fn0000_0001_EAX from family/model/stepping (AMD pub. 25481). */
uint32_t snp_cpu_sig(unsigned family, unsigned model, unsigned stepping);

/* The three SHA-256 values QEMU puts in the kernel-hashes page. */
struct snp_kernel_hashes {
	uint8_t cmdline[UVM_SHA256_LEN]; /* text plus its NUL */
	uint8_t initrd[UVM_SHA256_LEN];  /* file, or nothing */
	uint8_t kernel[UVM_SHA256_LEN];  /* whole bzImage */
};

/* Observer of each step, for --explain. label describes the step, value is
 * a digest (length len) shown in hex. May be NULL. */
struct snp_trace {
	void (*step)(void *arg, const char *label, const uint8_t *value, size_t len);
	void *arg;
};

/* One PAGE_INFO update: LD = SHA-384(LD || contents || 0x70 || type || ... || gpa).
 * contents is the page's SHA-384, or NULL for types measured as zeros. */
void snp_ld_update(uint8_t ld[SNP_LD_LEN], const uint8_t *contents, enum snp_page_type type, uint64_t gpa);

/* Measures len bytes (whole pages) as NORMAL pages at gpa upward; what names
 * them in the trace ("firmware", "SVSM"). */
void snp_ld_pages(uint8_t ld[SNP_LD_LEN], const uint8_t *data, size_t len, uint64_t gpa, const char *what,
		  const struct snp_trace *trace);

/* Measures every page of the firmware as NORMAL at info->gpa upward. */
void snp_ld_firmware(uint8_t ld[SNP_LD_LEN], const uint8_t *fw, const struct ovmf_info *info,
		     const struct snp_trace *trace);

/* Measures the metadata sections in table order. hashes is NULL when no
 * kernel is given (the kernel-hashes page is then a zero page). Returns 0,
 * or -1 with err set (e.g. a kernel with firmware that cannot hash it). */
int snp_ld_metadata(uint8_t ld[SNP_LD_LEN], const struct ovmf_info *info, const struct snp_kernel_hashes *hashes,
		    enum snp_vmm vmm, const struct snp_trace *trace, struct uvm_err *err);

/* Builds QEMU's kernel-hashes table page with the table at offset. */
void snp_hashes_page(uint8_t page[OVMF_PAGE_SIZE], size_t offset, const struct snp_kernel_hashes *h);

/* Builds one vCPU save area (VMSA) page as the given VMM initializes it. */
void snp_vmsa_page(uint8_t page[OVMF_PAGE_SIZE], uint32_t eip, uint64_t guest_features, uint32_t vcpu_sig,
		   enum snp_vmm vmm);

/* SHA-384 of the BSP and AP VMSA pages for one CPU configuration. */
struct snp_vmsa_hashes {
	uint8_t bsp[SNP_LD_LEN];
	uint8_t ap[SNP_LD_LEN];
};
void snp_vmsa_hashes(struct snp_vmsa_hashes *out, uint32_t ap_eip, uint64_t guest_features, uint32_t vcpu_sig,
		     enum snp_vmm vmm);

/* Extends ld with vcpus VMSA pages (vCPU 0 the BSP, the others APs). */
void snp_ld_vmsas(uint8_t ld[SNP_LD_LEN], unsigned vcpus, const struct snp_vmsa_hashes *vh,
		  const struct snp_trace *trace);

/* Everything needed for one measurement. */
struct snp_request {
	const uint8_t *fw;                      /* firmware bytes (info->size of them) */
	const struct ovmf_info *info;           /* ovmf_parse() of fw */
	const uint8_t *fw_digest;               /* precomputed firmware digest, or NULL */
	const struct snp_kernel_hashes *hashes; /* NULL: no kernel */
	unsigned vcpus;
	uint32_t vcpu_sig;
	uint64_t guest_features;
	enum snp_vmm vmm;
};

/* The whole computation. Returns 0 or -1 with err set. */
int snp_measure(const struct snp_request *req, uint8_t ld[SNP_LD_LEN], const struct snp_trace *trace,
		struct uvm_err *err);

#endif
