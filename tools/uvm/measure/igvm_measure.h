/* SEV-SNP launch digest of an IGVM file: replays its directives as a loader
 * does, in one of two conventions (docs/measure.md, "IGVM"):
 *   IGVM_VMM_HYPERV  microsoft/igvm's generate_snp_measurement (Hyper-V's
 *                    tooling): VP contexts measured in file order at their GPA;
 *   IGVM_VMM_QEMU    QEMU's IGVM loader on KVM: data-less pages as ZERO pages,
 *                    VMSAs measured by KVM at LAUNCH_FINISH, one per vCPU, at
 *                    0xFFFFFFFFF000. */
#ifndef UVM_IGVM_MEASURE_H
#define UVM_IGVM_MEASURE_H

#include "igvm_parse.h"
#include "snp_measure.h"

/* Measured pages (PAGE_INFO updates) at most: 4 GiB of guest memory. */
#define IGVM_MAX_PAGES (1u << 20)
#define IGVM_MAX_AREAS 1024u

enum igvm_vmm { IGVM_VMM_HYPERV, IGVM_VMM_QEMU };

/* "hyperv" or "qemu" (any case). Returns 0 or -1. */
int igvm_vmm_parse(const char *name, enum igvm_vmm *out);

struct igvm_request {
	enum igvm_vmm vmm;
	unsigned vcpus;   /* qemu: VMSAs measured (1..SNP_MAX_VCPUS); hyperv: unused */
	size_t max_pages; /* measured pages allowed; 0: IGVM_MAX_PAGES (a fuzzer asks for fewer) */
};

struct igvm_result {
	uint8_t ld[SNP_LD_LEN];
	size_t pages;         /* PAGE_INFO updates */
	unsigned vp_contexts; /* SNP VP contexts in the file */
	int vmsa_gpa_other;   /* qemu: a VP context names a GPA other than KVM's */
	uint64_t vmsa_gpa;    /* ... that GPA */
};

/* Replays the directives of a parsed file. Returns 0, or -1 with err set. */
int igvm_measure(const struct igvm_file *f, const struct igvm_request *req, struct igvm_result *res,
		 const struct snp_trace *trace, struct uvm_err *err);

#endif
