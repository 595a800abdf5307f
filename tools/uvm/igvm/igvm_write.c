/* IGVM file writer (see igvm_write.h). Our own code, from the public format
 * definition (microsoft/igvm igvm_defs, version 1). */
#include "igvm_write.h"
#include "le.h"

#include <stdlib.h>
#include <string.h>

#define ALIGN8(x) (((x) + 7u) & ~(size_t)7u)

void igvm_writer_init(struct igvm_writer *w)
{
	memset(w, 0, sizeof *w);
}

void igvm_writer_free(struct igvm_writer *w)
{
	free(w->vh);
	free(w->data);
	free(w->patch);
	memset(w, 0, sizeof *w);
}

/* Grows *buf (of *cap bytes) to hold need bytes. */
static int reserve(void **buf, size_t *cap, size_t need, size_t elem, struct uvm_err *err)
{
	if (need <= *cap)
		return 0;
	size_t cap2 = *cap ? *cap : 4096 / elem;
	while (cap2 < need)
		cap2 *= 2;
	void *p = realloc(*buf, cap2 * elem);
	if (!p)
		return uvm_fail(err, 0, "out of memory growing the IGVM file to %zu bytes", cap2 * elem);
	*buf = p;
	*cap = cap2;
	return 0;
}

/* Entries of a section may not follow those of a later one. */
static int enter_section(struct igvm_writer *w, int section, uint32_t type, struct uvm_err *err)
{
	if (section < w->section)
		return uvm_fail(err, 0,
				"IGVM writer: entry type 0x%x (section %d) after an entry of section %d; "
				"platform, initialization and directive entries go in that order",
				type, section, w->section);
	w->section = section;
	return 0;
}

/* Appends one TLV (value zero padded to 8 bytes); returns its value's offset
 * in the variable header through *at. */
static int tlv(struct igvm_writer *w, uint32_t type, const uint8_t *value, uint32_t len, size_t *at,
	       struct uvm_err *err)
{
	size_t size = 8 + ALIGN8((size_t)len);
	if (w->vh_len + size > IGVM_MAX_FILE)
		return uvm_fail(err, 0, "the IGVM variable header would exceed %llu bytes",
				(unsigned long long)IGVM_MAX_FILE);
	if (reserve((void **)&w->vh, &w->vh_cap, w->vh_len + size, 1, err))
		return -1;
	uint8_t *p = w->vh + w->vh_len;
	memset(p, 0, size);
	le32_put(p, type);
	le32_put(p + 4, len);
	memcpy(p + 8, value, len);
	if (at)
		*at = w->vh_len + 8;
	w->vh_len += size;
	return 0;
}

/* Appends size bytes of file data (len from src, the rest zeros); the u32
 * at vh offset field will hold its file offset once the file is finished. */
static int add_data(struct igvm_writer *w, const uint8_t *src, size_t len, size_t size, size_t field,
		    struct uvm_err *err)
{
	if (w->data_len + size > IGVM_MAX_FILE)
		return uvm_fail(err, 0, "the IGVM file data would exceed %llu bytes (1 GiB); the image is too large",
				(unsigned long long)IGVM_MAX_FILE);
	if (reserve((void **)&w->data, &w->data_cap, w->data_len + size, 1, err) ||
	    reserve((void **)&w->patch, &w->patch_cap, w->n_patch + 1, sizeof *w->patch, err))
		return -1;
	memcpy(w->data + w->data_len, src, len);
	memset(w->data + w->data_len + len, 0, size - len);
	le32_put(w->vh + field, (uint32_t)w->data_len);
	w->patch[w->n_patch++] = field;
	w->data_len += size;
	return 0;
}

int igvm_write_platform(struct igvm_writer *w, uint32_t mask, uint8_t highest_vtl, uint8_t platform_type,
			uint16_t platform_version, uint64_t shared_gpa_boundary, struct uvm_err *err)
{
	uint8_t v[IGVM_PLATFORM_LEN] = {0};
	if (mask == 0 || (mask & (mask - 1)))
		return uvm_fail(err, 0, "IGVM writer: compatibility mask 0x%x is not one bit", mask);
	if (enter_section(w, 0, IGVM_SUPPORTED_PLATFORM, err))
		return -1;
	le32_put(v, mask);
	v[4] = highest_vtl;
	v[5] = platform_type;
	le16_put(v + 6, platform_version);
	le64_put(v + 8, shared_gpa_boundary);
	return tlv(w, IGVM_SUPPORTED_PLATFORM, v, sizeof v, NULL, err);
}

int igvm_write_policy(struct igvm_writer *w, uint64_t policy, uint32_t mask, struct uvm_err *err)
{
	uint8_t v[IGVM_GUEST_POLICY_LEN] = {0};
	if (enter_section(w, 1, IGVM_GUEST_POLICY, err))
		return -1;
	le64_put(v, policy);
	le32_put(v + 8, mask);
	return tlv(w, IGVM_GUEST_POLICY, v, sizeof v, NULL, err);
}

int igvm_write_page(struct igvm_writer *w, uint64_t gpa, uint32_t mask, uint32_t flags, uint16_t data_type,
		    const uint8_t *data, size_t len, struct uvm_err *err)
{
	uint8_t v[IGVM_PAGE_DATA_LEN] = {0};
	size_t at, size = (flags & IGVM_PAGE_FLAG_2MB) ? IGVM_HUGE_PAGE : IGVM_PAGE;
	if (gpa % size)
		return uvm_fail(err, 0, "IGVM writer: page GPA 0x%llx is not aligned to its %zu bytes",
				(unsigned long long)gpa, size);
	if (len > size || (!data && len))
		return uvm_fail(err, 0, "IGVM writer: %zu bytes of data for a %zu-byte page at GPA 0x%llx", len, size,
				(unsigned long long)gpa);
	if (enter_section(w, 2, IGVM_PAGE_DATA, err))
		return -1;
	le64_put(v, gpa);
	le32_put(v + 8, mask);
	le32_put(v + 16, flags);
	le16_put(v + 20, data_type);
	if (tlv(w, IGVM_PAGE_DATA, v, sizeof v, &at, err))
		return -1;
	return data ? add_data(w, data, len, size, at + 12, err) : 0;
}

int igvm_write_vp_context(struct igvm_writer *w, uint64_t gpa, uint32_t mask, uint16_t vp_index,
			  const uint8_t vmsa[IGVM_PAGE], struct uvm_err *err)
{
	uint8_t v[IGVM_VP_CONTEXT_LEN] = {0};
	size_t at;
	if (gpa % IGVM_PAGE)
		return uvm_fail(err, 0, "IGVM writer: VMSA GPA 0x%llx is not page aligned", (unsigned long long)gpa);
	if (enter_section(w, 2, IGVM_VP_CONTEXT, err))
		return -1;
	le64_put(v, gpa);
	le32_put(v + 8, mask);
	le16_put(v + 16, vp_index);
	if (tlv(w, IGVM_VP_CONTEXT, v, sizeof v, &at, err))
		return -1;
	return add_data(w, vmsa, IGVM_PAGE, IGVM_PAGE, at + 12, err);
}

int igvm_write_finish(struct igvm_writer *w, uint8_t **out, size_t *len, struct uvm_err *err)
{
	size_t data_off = IGVM_FIXED_LEN + w->vh_len, total = data_off + w->data_len;
	*out = NULL;
	*len = 0;
	if (total > IGVM_MAX_FILE)
		return uvm_fail(err, 0, "the IGVM file would have %zu bytes, more than the %llu (1 GiB) allowed", total,
				(unsigned long long)IGVM_MAX_FILE);
	uint8_t *f = malloc(total ? total : 1);
	if (!f)
		return uvm_fail(err, 0, "out of memory for an IGVM file of %zu bytes", total);
	for (size_t i = 0; i < w->n_patch; i++)
		le32_put(w->vh + w->patch[i], le32_get(w->vh + w->patch[i]) + (uint32_t)data_off);
	w->n_patch = 0; /* rebased once */
	memset(f, 0, IGVM_FIXED_LEN);
	le32_put(f, IGVM_MAGIC);
	le32_put(f + 4, IGVM_FORMAT_VERSION);
	le32_put(f + 8, IGVM_FIXED_LEN);
	le32_put(f + 12, (uint32_t)w->vh_len);
	le32_put(f + 16, (uint32_t)total);
	if (w->vh_len)
		memcpy(f + IGVM_FIXED_LEN, w->vh, w->vh_len);
	if (w->data_len)
		memcpy(f + data_off, w->data, w->data_len);
	le32_put(f + 20, igvm_crc32(igvm_crc32(0, f, IGVM_FIXED_LEN), f + IGVM_FIXED_LEN, w->vh_len));
	*out = f;
	*len = total;
	return 0;
}
