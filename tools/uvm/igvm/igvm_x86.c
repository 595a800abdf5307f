/* x86-64 entry state of the IGVM image (see igvm_x86.h). */
#include "igvm_x86.h"
#include "le.h"

#include <string.h>

#define PTE_TABLE 0x63ull /* present, writable, accessed, dirty */
#define PTE_2MB 0xe3ull   /* the same, and PS: a 2 MiB page */

/* 64-bit code (L, G, present, type execute/read accessed) and flat data
 * (D/B, G, present, type read/write accessed) descriptors, and the same
 * attributes in the VMSA's 12-bit form (descriptor bits 40..47, 52..55). */
#define GDT_CODE64 0x00af9b000000ffffull
#define GDT_DATA 0x00cf93000000ffffull
#define ATTR_CODE64 0xa9bu
#define ATTR_DATA 0xc93u
#define ATTR_LDT 0x82u
#define ATTR_TSS_BUSY 0x8bu

#define EFER_LME 0x100ull
#define EFER_LMA 0x400ull
#define EFER_SVME 0x1000ull
#define CR0_PE 0x1ull
#define CR0_ET 0x10ull
#define CR0_PG 0x80000000ull
#define CR4_PAE 0x20ull
#define CR4_MCE 0x40ull /* KVM sets it in every vCPU's VMCB */
#define SEV_FEAT_SNP_ACTIVE 0x1ull

void igvm_x86_page_tables(uint8_t pages[IGVM_X86_PT_PAGES][IGVM_PAGE], uint64_t base)
{
	memset(pages, 0, IGVM_X86_PT_PAGES * IGVM_PAGE);
	le64_put(pages[0], (base + IGVM_PAGE) | IGVM_X86_CBIT | PTE_TABLE);
	for (unsigned i = 0; i < 4; i++) {
		le64_put(pages[1] + 8 * i, (base + (2 + i) * (uint64_t)IGVM_PAGE) | IGVM_X86_CBIT | PTE_TABLE);
		for (unsigned j = 0; j < 512; j++) {
			uint64_t pa = ((uint64_t)i * 512 + j) * IGVM_HUGE_PAGE;
			le64_put(pages[2 + i] + 8 * j, pa | IGVM_X86_CBIT | PTE_2MB);
		}
	}
}

void igvm_x86_gdt(uint8_t page[IGVM_PAGE])
{
	memset(page, 0, IGVM_PAGE);
	le64_put(page + IGVM_X86_BOOT_CS, GDT_CODE64);
	le64_put(page + IGVM_X86_BOOT_DS, GDT_DATA);
}

static void seg(uint8_t *p, uint16_t selector, uint16_t attrib, uint32_t limit, uint64_t base)
{
	le16_put(p, selector);
	le16_put(p + 2, attrib);
	le32_put(p + 4, limit);
	le64_put(p + 8, base);
}

void igvm_x86_vmsa(uint8_t page[IGVM_PAGE], const struct igvm_x86_entry *e)
{
	memset(page, 0, IGVM_PAGE);
	seg(page + VMSA_CS, IGVM_X86_BOOT_CS, ATTR_CODE64, 0xffffffff, 0);
	seg(page + VMSA_ES, IGVM_X86_BOOT_DS, ATTR_DATA, 0xffffffff, 0);
	seg(page + VMSA_SS, IGVM_X86_BOOT_DS, ATTR_DATA, 0xffffffff, 0);
	seg(page + VMSA_DS, IGVM_X86_BOOT_DS, ATTR_DATA, 0xffffffff, 0);
	seg(page + VMSA_FS, IGVM_X86_BOOT_DS, ATTR_DATA, 0xffffffff, 0);
	seg(page + VMSA_GS, IGVM_X86_BOOT_DS, ATTR_DATA, 0xffffffff, 0);
	seg(page + VMSA_GDTR, 0, 0, IGVM_X86_GDT_LIMIT, e->gdt);
	seg(page + VMSA_LDTR, 0, ATTR_LDT, 0xffff, 0);
	seg(page + VMSA_IDTR, 0, 0, 0, 0); /* no IDT: interrupts are off until the kernel loads its own */
	seg(page + VMSA_TR, 0, ATTR_TSS_BUSY, 0xffff, 0);
	le64_put(page + VMSA_EFER, EFER_LME | EFER_LMA | EFER_SVME);
	le64_put(page + VMSA_CR4, CR4_PAE | CR4_MCE);
	le64_put(page + VMSA_CR3, e->pml4 | IGVM_X86_CBIT);
	le64_put(page + VMSA_CR0, CR0_PE | CR0_ET | CR0_PG);
	le64_put(page + VMSA_DR7, 0x400);
	le64_put(page + VMSA_DR6, 0xffff0ff0);
	le64_put(page + VMSA_RFLAGS, 0x2);
	le64_put(page + VMSA_RIP, e->rip);
	le64_put(page + VMSA_RSP, e->rsp);
	le64_put(page + VMSA_G_PAT, 0x0007040600070406ull);
	le64_put(page + VMSA_RSI, e->rsi);
	le64_put(page + VMSA_SEV_FEATURES, SEV_FEAT_SNP_ACTIVE);
	le64_put(page + VMSA_XCR0, 1);
	le32_put(page + VMSA_MXCSR, 0x1f80);
	le16_put(page + VMSA_X87_FCW, 0x37f);
}
