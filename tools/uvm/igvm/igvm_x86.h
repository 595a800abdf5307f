/* The x86-64 state a 64-bit Linux boot starts in (boot.rst, "64-bit Boot
 * Protocol"), as an SEV-SNP guest's first vCPU: identity page tables, a GDT
 * with the flat __BOOT_CS/__BOOT_DS descriptors, and the VMSA (Linux's
 * struct sev_es_save_area) the PSP measures and the vCPU starts from.
 *
 * Page tables: a PML4, a PDPT and four page directories of 2 MiB pages map
 * 0..4 GiB virtual = physical, every entry with the C-bit (bit 51, the
 * encryption bit of every SEV-SNP EPYC so far: the guest's memory is
 * private) and present, writable, accessed and dirty set (no write by the
 * CPU to the measured tables).
 *
 * VMSA: 64-bit mode (EFER LME|LMA|SVME, CR0 PE|ET|PG, CR4 PAE|MCE, CR3 the
 * PML4 with the C-bit), CS __BOOT_CS (0x10) 64-bit code, DS/ES/SS/FS/GS
 * __BOOT_DS (0x18) flat data, GDTR the GDT, RFLAGS 2 (interrupts off), RIP,
 * RSP and RSI as given, SEV features 0x1 (SNPActive only). The other
 * fields are the values KVM gives a vCPU at reset (DR6, DR7, PAT, XCR0,
 * MXCSR, x87 FCW), and only fields QEMU's IGVM loader can hand to KVM are
 * set, so KVM can rebuild this VMSA bit for bit (docs/measure.md, "IGVM"). */
#ifndef UVM_IGVM_X86_H
#define UVM_IGVM_X86_H

#include <stdint.h>

#include "igvm_format.h"

#define IGVM_X86_CBIT (1ull << 51)
#define IGVM_X86_PT_PAGES 6u /* PML4, PDPT, 4 page directories */
#define IGVM_X86_BOOT_CS 0x10u
#define IGVM_X86_BOOT_DS 0x18u
#define IGVM_X86_GDT_LIMIT 0x1fu /* four descriptors */

/* The six page-table pages for tables at base (PML4), base + 4 KiB (PDPT),
 * base + 8 KiB.. (the page directories). */
void igvm_x86_page_tables(uint8_t pages[IGVM_X86_PT_PAGES][IGVM_PAGE], uint64_t base);

/* The GDT page: null, null, __BOOT_CS 64-bit code, __BOOT_DS data. */
void igvm_x86_gdt(uint8_t page[IGVM_PAGE]);

struct igvm_x86_entry {
	uint64_t rip, rsp, rsi;
	uint64_t pml4; /* GPA of the page tables' PML4 */
	uint64_t gdt;  /* GPA of the GDT page */
};

void igvm_x86_vmsa(uint8_t page[IGVM_PAGE], const struct igvm_x86_entry *e);

/* Offsets in struct sev_es_save_area (Linux arch/x86/include/asm/svm.h). */
#define VMSA_ES 0x000u
#define VMSA_CS 0x010u
#define VMSA_SS 0x020u
#define VMSA_DS 0x030u
#define VMSA_FS 0x040u
#define VMSA_GS 0x050u
#define VMSA_GDTR 0x060u
#define VMSA_LDTR 0x070u
#define VMSA_IDTR 0x080u
#define VMSA_TR 0x090u
#define VMSA_EFER 0x0d0u
#define VMSA_CR4 0x148u
#define VMSA_CR3 0x150u
#define VMSA_CR0 0x158u
#define VMSA_DR7 0x160u
#define VMSA_DR6 0x168u
#define VMSA_RFLAGS 0x170u
#define VMSA_RIP 0x178u
#define VMSA_RSP 0x1d8u
#define VMSA_G_PAT 0x268u
#define VMSA_RSI 0x330u
#define VMSA_SEV_FEATURES 0x3b0u
#define VMSA_XCR0 0x3e8u
#define VMSA_MXCSR 0x408u
#define VMSA_X87_FCW 0x410u

#endif
