/* The parts of an OVMF (AMD SEV) firmware image that decide the SNP launch
 * measurement: the GUID table at the end of the file (the "footer table") and
 * the SEV metadata it points to. See docs/measure.md for the layout.
 *
 * The parser reads only the bytes it is given, checks every offset and length
 * before reading, and rejects anything it does not understand: a measurement
 * predicted from a misread table would silently differ from what the PSP
 * signs, so refusing is always the safer answer. */
#ifndef UVM_OVMF_TABLE_H
#define UVM_OVMF_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define OVMF_PAGE_SIZE 4096u
/* Firmware occupies [4 GiB - size, 4 GiB); anything larger cannot be real. */
#define OVMF_MAX_SIZE (1024u * 1024u * 1024u)
#define OVMF_FOUR_GIB 0x100000000ull
#define OVMF_MAX_SECTIONS 64

/* SEV metadata section types (OVMF's OvmfPkg/ResetVector/X64/OvmfSevMetadata.asm). */
enum ovmf_section_type {
	OVMF_SECTION_SNP_SEC_MEM = 1,
	OVMF_SECTION_SNP_SECRETS = 2,
	OVMF_SECTION_CPUID = 3,
	OVMF_SECTION_SVSM_CAA = 4,
	OVMF_SECTION_SNP_KERNEL_HASHES = 0x10,
};

struct ovmf_section {
	uint32_t gpa;
	uint32_t size;
	uint32_t type; /* enum ovmf_section_type */
};

struct ovmf_info {
	uint64_t gpa;          /* where the image is mapped: 4 GiB - size */
	size_t size;           /* bytes, a multiple of OVMF_PAGE_SIZE */
	uint32_t reset_eip;    /* SEV-ES reset block: the APs' entry point */
	int has_hashes_table;  /* SEV hashes table entry present */
	uint32_t hashes_base;  /* its GPA ... */
	uint32_t hashes_size;  /* ... and size */
	int has_reset_block;   /* the SEV-ES reset block entry is present */
	int has_kernel_hashes; /* an SNP_KERNEL_HASHES metadata section exists */
	int has_svsm_info;     /* an SVSM image's info entry is present ... */
	uint32_t svsm_entry;   /* ... with its entry point, an offset into the image */
	size_t n_sections;
	struct ovmf_section sections[OVMF_MAX_SECTIONS]; /* in table order */
};

/* Parses and validates firmware image bytes. Returns 0, or -1 with err set
 * ("what is wrong: why") for: a size that is zero, not page aligned or too
 * large; no footer table; a malformed table entry; no SEV-ES reset block; no
 * SEV metadata; a metadata header or section that is out of range, misaligned,
 * of unknown type, overlapping another section or the image itself. */
int ovmf_parse(const uint8_t *data, size_t len, struct ovmf_info *out, struct uvm_err *err);

/* What a launch mode needs from the firmware (ovmf_parse() needs the first
 * two). SEV needs neither (QEMU only measures the bytes), SEV-ES the reset
 * block (the APs' entry point). An SVSM image (COCONUT-SVSM, loaded below
 * the firmware) carries the same footer table with metadata and an SVSM info
 * entry instead of a reset block. Whatever is present is still validated. */
enum { OVMF_NEED_RESET_BLOCK = 1, OVMF_NEED_METADATA = 2, OVMF_NEED_SVSM_INFO = 4 };
int ovmf_parse_for(const uint8_t *data, size_t len, unsigned need, struct ovmf_info *out, struct uvm_err *err);

/* The same for an image that ends at end_gpa (a multiple of 4 KiB, at most
 * 4 GiB) instead of at 4 GiB: an SVSM mapped below the firmware and its vars
 * store. Refuses an image that does not fit below end_gpa, and an SVSM entry
 * point outside the image. */
int ovmf_parse_at(const uint8_t *data, size_t len, unsigned need, uint64_t end_gpa, struct ovmf_info *out,
		  struct uvm_err *err);

/* The name of a section type ("SNP_SEC_MEM", ...), "UNKNOWN" otherwise. */
const char *ovmf_section_name(uint32_t type);

/* Checks that a kernel can be measured with this firmware: it has an
 * SNP_KERNEL_HASHES section of one page and a SEV hashes table that lies in
 * that page with room for QEMU's table. Returns 0 or -1 with err set. */
int ovmf_check_kernel_hashes(const struct ovmf_info *info, struct uvm_err *err);

/* Checks that QEMU can write its SEV hashes table (SEV and SEV-ES, where the
 * table is measured as its own 176 bytes): the entry exists, its base is not
 * zero and the area holds the table. Returns 0 or -1 with err set. */
int ovmf_check_sev_hashes_table(const struct ovmf_info *info, struct uvm_err *err);

/* GUIDs are stored in the mixed-endian "bytes_le" layout; this converts the
 * usual text form ("96b582de-1fb2-...") into it. Returns 0, or -1 if the text
 * is not a GUID. */
int ovmf_guid_parse(const char *text, uint8_t out[16]);

#endif
