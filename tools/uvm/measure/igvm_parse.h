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
#include "igvm_format.h"

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

/* Parses len bytes (the whole file). Returns 0, or -1 with err set. */
int igvm_parse(const uint8_t *data, size_t len, struct igvm_file *f, struct uvm_err *err);

/* Iterates the entries of a parsed file: *pos starts at f->vh_off. Returns 1
 * with e filled, 0 after the last entry. */
int igvm_next(const struct igvm_file *f, size_t *pos, struct igvm_entry *e);

/* "PAGE_DATA", ... or "type 0x..." (buf, 24 bytes, for unknown types). */
const char *igvm_type_name(uint32_t type, char buf[24]);

#endif
