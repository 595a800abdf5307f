/* A Linux kernel, initrd and command line laid out as an IGVM file for a
 * direct 64-bit boot of an SEV-SNP guest at VTL0, without firmware
 * (docs/hyperv.md, "Layout"). Every guest physical address is fixed:
 *
 *   0x00000000 - 0x0007ffff  RAM (e820 type 1), pages of zeros
 *   0x00080000               GDT (__BOOT_CS 0x10, __BOOT_DS 0x18)
 *   0x00081000 - 0x00086fff  page tables: PML4, PDPT, 4 page directories
 *   0x00087000               boot_params (the "zero page"), RSI at entry
 *   0x00088000               kernel command line, NUL-terminated
 *   0x00089000               struct cc_blob_sev_info; at +0x40 the setup_data
 *                            entry (SETUP_CC_BLOB) that points to it
 *   0x0008a000               SNP CPUID page (leaves requested; the VMM and
 *                            the PSP fill in the values)
 *   0x0008b000               SNP secrets page (the PSP fills it)
 *   0x0008c000               boot stack, RSP = 0x8d000 at entry
 *   0x0008d000               ACPI tables (e820 type 3, igvm_acpi.h): RSDP,
 *                            XSDT, MADT (one local APIC), FADT (hardware-
 *                            reduced), DSDT (VMBus under \_SB.VMOD)
 *   0x00080000 - 0x000fffff  reserved in the e820 table (type 2) around the
 *                            ACPI page; the pages after it are not part of
 *                            the image
 *   0x00100000               the bzImage's protected-mode part, entered at
 *                            +0x200 (startup_64); pages of zeros after it
 *   0x04000000 (64 MiB)      the initrd; pages of zeros after it up to the
 *                            memory size (RAM, e820 type 1, from 1 MiB)
 *   0xfffffffff000           the VMSA of vCPU 0 (the GPA KVM measures it at)
 *
 * Every RAM page is part of the image (pages without data where nothing is
 * loaded), so the loader validates all memory the kernel is told about; a
 * 2 MiB-aligned run of free RAM is one 2 MiB page. Directives are sorted
 * by GPA, the VP context last. Platform: SEV-SNP, compatibility mask 1,
 * highest VTL 0, shared GPA boundary 0 (the guest marks shared pages
 * itself, with the C-bit); guest policy 0x30000. */
#ifndef UVM_IGVM_LINUX_H
#define UVM_IGVM_LINUX_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define IGVM_LINUX_LOW_RAM_END 0x80000ull
#define IGVM_LINUX_GDT 0x80000ull
#define IGVM_LINUX_PAGE_TABLES 0x81000ull
#define IGVM_LINUX_BOOT_PARAMS 0x87000ull
#define IGVM_LINUX_CMDLINE 0x88000ull
#define IGVM_LINUX_CC_BLOB 0x89000ull
#define IGVM_LINUX_SETUP_DATA (IGVM_LINUX_CC_BLOB + 0x40)
#define IGVM_LINUX_CPUID 0x8a000ull
#define IGVM_LINUX_SECRETS 0x8b000ull
#define IGVM_LINUX_STACK 0x8c000ull
#define IGVM_LINUX_ACPI 0x8d000ull /* one page: RSDP first (igvm_acpi.h) */
#define IGVM_LINUX_RESERVED_END 0x100000ull
#define IGVM_LINUX_KERNEL 0x100000ull
#define IGVM_LINUX_INITRD 0x4000000ull
#define IGVM_LINUX_VMSA 0xFFFFFFFFF000ull

#define IGVM_LINUX_SNP_MASK 0x1u
#define IGVM_LINUX_POLICY 0x30000ull /* SMT allowed, bit 17 (must be one); as `uvm launch --snp` */
#define IGVM_LINUX_DEFAULT_MEMORY_MB 2048u
/* All RAM below 4 GiB in one e820 range under the 32-bit MMIO hole: QEMU's
 * q35 keeps up to 0xb0000000 bytes below 4 GiB. */
#define IGVM_LINUX_MAX_MEMORY_MB 2816u
#define IGVM_LINUX_E820_ENTRIES 5u

/* Offsets in struct boot_params (arch/x86/include/uapi/asm/bootparam.h). */
#define BP_ACPI_RSDP_ADDR 0x070u
#define BP_EXT_RAMDISK_IMAGE 0x0c0u
#define BP_EXT_RAMDISK_SIZE 0x0c4u
#define BP_EXT_CMD_LINE_PTR 0x0c8u
#define BP_CC_BLOB_ADDRESS 0x13cu
#define BP_E820_ENTRIES 0x1e8u
#define BP_SENTINEL 0x1efu
#define BP_E820_TABLE 0x2d0u /* 20-byte entries: u64 addr, u64 size, u32 type */

/* struct cc_blob_sev_info and struct setup_data (type SETUP_CC_BLOB). */
#define CC_BLOB_MAGIC 0x45444d41u /* "AMDE" */
#define CC_BLOB_VERSION 1u
#define CC_BLOB_LEN 0x28u
#define SETUP_CC_BLOB 7u

/* The SNP CPUID page: u32 count, 12 reserved bytes, then 48-byte entries
 * (u32 eax_in, u32 ecx_in, u64 xcr0_in, u64 xss_in, u32 eax, ebx, ecx,
 * edx, u64 reserved), at most 64. */
#define SNP_CPUID_ENTRY_LEN 48u
#define SNP_CPUID_MAX 64u

struct igvm_linux_input {
	const uint8_t *kernel; /* the bzImage */
	size_t kernel_len;
	const uint8_t *initrd;
	size_t initrd_len;
	const char *cmdline;
	unsigned memory_mb; /* RAM the kernel is told about and the image validates */
};

/* Where things went, for messages and tests. */
struct igvm_linux_layout {
	uint64_t kernel_end;                       /* page-rounded end of the protected-mode part */
	uint64_t decompress_start, decompress_end; /* where the kernel decompresses itself */
	uint64_t initrd_end;                       /* page-rounded */
	uint64_t memory_end;
	size_t pages;      /* PAGE_DATA directives */
	size_t huge_pages; /* of them 2 MiB pages */
	size_t data_pages; /* 4 KiB pages carrying file data */
};

/* Builds the IGVM file (malloc'ed in *out, *len bytes). Returns 0, or -1
 * with err naming what does not fit: a bzImage the boot protocol check
 * refuses (bzimage.h), a command line longer than the kernel's
 * cmdline_size or a page, or with a control character, an empty initrd or
 * one past initrd_addr_max or the memory, a kernel too large for the
 * layout, a memory size below what the layout needs or above
 * IGVM_LINUX_MAX_MEMORY_MB. */
int igvm_linux_build(const struct igvm_linux_input *in, uint8_t **out, size_t *len, struct igvm_linux_layout *lay,
		     struct uvm_err *err);

#endif
