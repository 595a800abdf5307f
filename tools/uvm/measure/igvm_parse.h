/* IGVM file parser (microsoft/igvm igvm_defs, format version 1): checks the
 * fixed header, its CRC-32 and the structure of the variable header (TLV
 * alignment, zero padding, section order, known types), and finds the
 * SEV-SNP platform and its guest policy. The directives themselves are
 * checked while igvm_measure() replays them. */
#ifndef UVM_IGVM_PARSE_H
#define UVM_IGVM_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define IGVM_MAGIC 0x4D564749u /* "IGVM" */
#define IGVM_FIXED_LEN 24u
#define IGVM_MAX_FILE (1ull << 30)
#define IGVM_PAGE 4096u
#define IGVM_IGNORABLE 0x80000000u

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

#define IGVM_PLATFORM_SEV_SNP 2u

/* One variable-header entry: its type, value and where it starts. */
struct igvm_entry {
	uint32_t type, len;
	const uint8_t *value;
	size_t offset;
};

struct igvm_file {
	const uint8_t *data;
	size_t len;
	size_t vh_off, vh_end; /* the variable header: [vh_off, vh_end) */
	uint32_t snp_mask;     /* compatibility mask of the SEV-SNP platform */
	uint64_t policy;       /* its guest policy */
	uint16_t platform_version;
	size_t n_entries;
};

/* CRC-32 (IEEE 802.3, reflected 0xEDB88320): crc is the value so far
 * (0 to start); returns the value after p[0..n). */
uint32_t igvm_crc32(uint32_t crc, const uint8_t *p, size_t n);

/* Parses len bytes (the whole file). Returns 0, or -1 with err set. */
int igvm_parse(const uint8_t *data, size_t len, struct igvm_file *f, struct uvm_err *err);

/* Iterates the entries of a parsed file: *pos starts at f->vh_off. Returns 1
 * with e filled, 0 after the last entry. */
int igvm_next(const struct igvm_file *f, size_t *pos, struct igvm_entry *e);

/* "PAGE_DATA", ... or "type 0x..." (buf, 24 bytes, for unknown types). */
const char *igvm_type_name(uint32_t type, char buf[24]);

#endif
