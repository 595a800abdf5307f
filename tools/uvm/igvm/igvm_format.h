/* The IGVM file format, version 1 (microsoft/igvm igvm_defs): the numbers
 * both our reader (measure/igvm_parse.c, `uvm measure --igvm`) and our
 * writer (igvm/igvm_write.c, `uvm igvm`) use, and the header's CRC-32.
 * All integers are little-endian. */
#ifndef UVM_IGVM_FORMAT_H
#define UVM_IGVM_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define IGVM_MAGIC 0x4D564749u /* "IGVM" */
#define IGVM_FORMAT_VERSION 1u
#define IGVM_FIXED_LEN 24u
#define IGVM_MAX_FILE (1ull << 30) /* the largest file we read or write */
#define IGVM_PAGE 4096u
#define IGVM_HUGE_PAGE (2u << 20)
#define IGVM_IGNORABLE 0x80000000u

/* Variable header types (IGVM_VHT_*). */
enum igvm_type {
	IGVM_SUPPORTED_PLATFORM = 0x1,
	IGVM_GUEST_POLICY = 0x101,
	IGVM_RELOCATABLE_REGION = 0x102,
	IGVM_PAGE_TABLE_RELOCATION = 0x103,
	IGVM_PARAMETER_AREA = 0x301,
	IGVM_PAGE_DATA = 0x302,
	IGVM_PARAMETER_INSERT = 0x303,
	IGVM_VP_CONTEXT = 0x304,
	IGVM_REQUIRED_MEMORY = 0x305,
	IGVM_SNP_ID_BLOCK = 0x30B,
	IGVM_ERROR_RANGE = 0x30D,
	IGVM_VBS_MEASUREMENT = 0x311,
};

/* SUPPORTED_PLATFORM (16 bytes): u32 compatibility_mask, u8 highest_vtl,
 * u8 platform_type, u16 platform_version, u64 shared_gpa_boundary. */
#define IGVM_PLATFORM_SEV_SNP 2u
#define IGVM_SEV_SNP_PLATFORM_VERSION 1u

/* PAGE_DATA (24 bytes): u64 gpa, u32 compatibility_mask, u32 file_offset
 * (0: a page of zeros), u32 flags, u16 data_type, u16 reserved. */
#define IGVM_PAGE_DATA_LEN 24u
#define IGVM_PAGE_FLAG_2MB 0x1u
#define IGVM_PAGE_FLAG_UNMEASURED 0x2u
#define IGVM_PAGE_FLAG_SHARED 0x4u
enum igvm_data_type {
	IGVM_DATA_NORMAL = 0,
	IGVM_DATA_SECRETS = 1,
	IGVM_DATA_CPUID = 2,
	IGVM_DATA_CPUID_XF = 3,
};

/* GUEST_POLICY (16 bytes): u64 policy, u32 compatibility_mask, u32 reserved. */
#define IGVM_GUEST_POLICY_LEN 16u
#define IGVM_PLATFORM_LEN 16u

/* VP_CONTEXT (20 bytes): u64 gpa, u32 compatibility_mask, u32 file_offset,
 * u16 vp_index, u16 reserved; for SEV-SNP the data is a 4 KiB VMSA. */
#define IGVM_VP_CONTEXT_LEN 20u

/* CRC-32 (IEEE 802.3, reflected 0xEDB88320, zlib's crc32): crc is the value
 * so far (0 to start); returns the value after p[0..n). The file's checksum
 * covers the fixed header (checksum field as zero) and the variable header. */
uint32_t igvm_crc32(uint32_t crc, const uint8_t *p, size_t n);

#endif
