/* IGVM file writer (format version 1, igvm_format.h): collects the variable
 * header entries in the order they are given and the file data they point
 * to, then lays the file out as
 *
 *   fixed header (24 bytes) | variable header | file data
 *
 * with every data-carrying directive pointing into the file data, in the
 * order the directives were written, each page padded with zeros to its
 * full size. The result depends only on the calls made: no time, no
 * randomness. The entries must come in the format's section order
 * (platform, initialization, directives); a call out of order fails. */
#ifndef UVM_IGVM_WRITE_H
#define UVM_IGVM_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "igvm_format.h"

struct igvm_writer {
	uint8_t *vh; /* variable header entries */
	size_t vh_len, vh_cap;
	uint8_t *data; /* file data, offsets relative to its start */
	size_t data_len, data_cap;
	size_t *patch; /* vh offsets of file_offset fields to rebase at the end */
	size_t n_patch, patch_cap;
	int section; /* 0 platform, 1 initialization, 2 directives */
};

void igvm_writer_init(struct igvm_writer *w);
void igvm_writer_free(struct igvm_writer *w);

/* SUPPORTED_PLATFORM: one bit in mask. */
int igvm_write_platform(struct igvm_writer *w, uint32_t mask, uint8_t highest_vtl, uint8_t platform_type,
			uint16_t platform_version, uint64_t shared_gpa_boundary, struct uvm_err *err);

/* GUEST_POLICY for the platforms in mask. */
int igvm_write_policy(struct igvm_writer *w, uint64_t policy, uint32_t mask, struct uvm_err *err);

/* PAGE_DATA: one 4 KiB page (2 MiB with IGVM_PAGE_FLAG_2MB) at gpa, aligned
 * to its size. data: len bytes (at most the page), padded with zeros; NULL
 * (len 0) for a page without data (file_offset 0). */
int igvm_write_page(struct igvm_writer *w, uint64_t gpa, uint32_t mask, uint32_t flags, uint16_t data_type,
		    const uint8_t *data, size_t len, struct uvm_err *err);

/* VP_CONTEXT: a 4 KiB VMSA for vp_index at gpa. */
int igvm_write_vp_context(struct igvm_writer *w, uint64_t gpa, uint32_t mask, uint16_t vp_index,
			  const uint8_t vmsa[IGVM_PAGE], struct uvm_err *err);

/* The whole file (malloc'ed, the caller frees *out): file offsets rebased,
 * total_file_size and the CRC-32 filled in. Fails if the file would exceed
 * IGVM_MAX_FILE. The writer may be freed afterwards. */
int igvm_write_finish(struct igvm_writer *w, uint8_t **out, size_t *len, struct uvm_err *err);

#endif
