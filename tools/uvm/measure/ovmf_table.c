/* OVMF footer table and SEV metadata parser (see ovmf_table.h). */
#include "ovmf_table.h"
#include "hex.h"
#include "le.h"

#include <string.h>

#define FOUR_GIB OVMF_FOUR_GIB
/* The table's own header: u16 length, then its GUID. */
#define ENTRY_HDR 18u
/* The footer header sits this far before the end of the file (the reset vector follows). */
#define FOOTER_GAP 32u
#define META_HDR 16u
#define META_ITEM 12u
/* QEMU's padded SEV hashes table (three entries) is 176 bytes. */
#define HASHES_TABLE_LEN 176u

static const char FOOTER_GUID[] = "96b582de-1fb2-45f7-baea-a366c55a082d";
static const char RESET_BLOCK_GUID[] = "00f771de-1a7e-4fcb-890e-68c77e2fb44e";
static const char HASHES_TABLE_GUID[] = "7255371f-3a3b-4b04-927b-1da6efa8d454";
static const char METADATA_GUID[] = "dc886566-984a-4798-a75e-5585a7bf67cc";
/* COCONUT-SVSM's info entry: u32 entry point offset (its QEMU fork's sev.c). */
static const char SVSM_INFO_GUID[] = "a789a612-0597-4c4b-a49f-cbb1fe9d1ddd";

int ovmf_guid_parse(const char *text, uint8_t out[16])
{
	/* Byte order of bytes_le: the first three fields little-endian. */
	static const int order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
	uint8_t raw[16];
	char digits[33];
	size_t n = 0;
	if (strlen(text) != 36)
		return -1;
	for (size_t i = 0; i < 36; i++) {
		int dash_here = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash_here != (text[i] == '-'))
			return -1;
		if (!dash_here)
			digits[n++] = text[i];
	}
	digits[n] = '\0';
	if (uvm_hex_decode(digits, raw, sizeof raw))
		return -1;
	for (int i = 0; i < 16; i++)
		out[i] = raw[order[i]];
	return 0;
}

static int guid_is(const uint8_t *p, const char *text)
{
	uint8_t g[16];
	return ovmf_guid_parse(text, g) == 0 && memcmp(p, g, 16) == 0;
}

const char *ovmf_section_name(uint32_t type)
{
	switch (type) {
	case OVMF_SECTION_SNP_SEC_MEM: return "SNP_SEC_MEM";
	case OVMF_SECTION_SNP_SECRETS: return "SNP_SECRETS";
	case OVMF_SECTION_CPUID: return "CPUID";
	case OVMF_SECTION_SVSM_CAA: return "SVSM_CAA";
	case OVMF_SECTION_SNP_KERNEL_HASHES: return "SNP_KERNEL_HASHES";
	default: return "UNKNOWN";
	}
}

/* Table entries we use, each found at most once. */
struct footer_entries {
	const uint8_t *reset, *hashes, *meta, *svsm;
	size_t reset_len, hashes_len, meta_len, svsm_len;
};

static int take_entry(const uint8_t **slot, size_t *slot_len, const uint8_t *data, size_t len, const char *what,
		      struct uvm_err *err)
{
	if (*slot)
		return uvm_fail(err, 0, "the footer table lists the %s twice; the firmware is ambiguous", what);
	*slot = data;
	*slot_len = len;
	return 0;
}

static int classify_entry(struct footer_entries *e, const uint8_t *guid, const uint8_t *data, size_t len,
			  struct uvm_err *err)
{
	if (guid_is(guid, RESET_BLOCK_GUID))
		return take_entry(&e->reset, &e->reset_len, data, len, "SEV-ES reset block", err);
	if (guid_is(guid, HASHES_TABLE_GUID))
		return take_entry(&e->hashes, &e->hashes_len, data, len, "SEV hashes table", err);
	if (guid_is(guid, METADATA_GUID))
		return take_entry(&e->meta, &e->meta_len, data, len, "SEV metadata", err);
	if (guid_is(guid, SVSM_INFO_GUID))
		return take_entry(&e->svsm, &e->svsm_len, data, len, "SVSM info entry", err);
	return 0; /* other entries (TDX, SEV secret block, ...) do not affect SNP measurement */
}

/* Walks the footer table backwards from its header; data[0..len) is the file. */
static int walk_footer(const uint8_t *data, size_t len, struct footer_entries *e, struct uvm_err *err)
{
	if (len < FOOTER_GAP + ENTRY_HDR)
		return uvm_fail(err, 0, "no OVMF footer table: the file is only %zu bytes", len);
	size_t hdr = len - FOOTER_GAP - ENTRY_HDR;
	if (!guid_is(data + hdr + 2, FOOTER_GUID))
		return uvm_fail(err, 0,
				"no OVMF footer table (GUID %s expected at offset 0x%zx); "
				"is this an OVMF build with SEV support (e.g. OvmfPkg/AmdSev)?",
				FOOTER_GUID, hdr + 2);
	size_t table_len = le16_get(data + hdr);
	if (table_len < ENTRY_HDR || table_len - ENTRY_HDR > hdr)
		return uvm_fail(err, 0, "the OVMF footer table length %zu is out of range (18..%zu)", table_len,
				hdr + ENTRY_HDR);
	size_t start = hdr - (table_len - ENTRY_HDR), end = hdr;
	while (end - start >= ENTRY_HDR) {
		size_t entry_len = le16_get(data + end - ENTRY_HDR);
		if (entry_len < ENTRY_HDR || entry_len > end - start)
			return uvm_fail(err, 0,
					"the OVMF footer table entry ending at offset 0x%zx has "
					"length %zu, outside 18..%zu",
					end, entry_len, end - start);
		if (classify_entry(e, data + end - 16, data + end - entry_len, entry_len - ENTRY_HDR, err))
			return -1;
		end -= entry_len;
	}
	if (end != start)
		return uvm_fail(err, 0, "the OVMF footer table has %zu stray bytes at offset 0x%zx", end - start,
				start);
	return 0;
}

static int check_section(const struct ovmf_section *s, size_t i, struct uvm_err *err)
{
	const char *name = ovmf_section_name(s->type);
	if (strcmp(name, "UNKNOWN") == 0)
		return uvm_fail(err, 0, "SEV metadata section %zu has unknown type 0x%x", i, s->type);
	if (s->gpa % OVMF_PAGE_SIZE || s->size % OVMF_PAGE_SIZE || s->size == 0)
		return uvm_fail(err, 0,
				"SEV metadata section %zu (%s at 0x%x, 0x%x bytes) is not a "
				"whole number of 4 KiB pages",
				i, name, s->gpa, s->size);
	if ((uint64_t)s->gpa + s->size > FOUR_GIB)
		return uvm_fail(err, 0, "SEV metadata section %zu (%s at 0x%x, 0x%x bytes) ends above 4 GiB", i, name,
				s->gpa, s->size);
	/* QEMU would measure every page of these; sev-snp-measure only the first. */
	if ((s->type == OVMF_SECTION_SNP_SECRETS || s->type == OVMF_SECTION_CPUID) && s->size != OVMF_PAGE_SIZE)
		return uvm_fail(err, 0, "SEV metadata section %zu (%s) is 0x%x bytes, not one page", i, name, s->size);
	return 0;
}

static int ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* The PSP refuses to launch-update a page twice, so overlaps cannot launch. */
static int check_overlaps(const struct ovmf_info *info, struct uvm_err *err)
{
	for (size_t i = 0; i < info->n_sections; i++) {
		const struct ovmf_section *s = &info->sections[i];
		if (ranges_overlap(s->gpa, s->size, info->gpa, info->size))
			return uvm_fail(err, 0,
					"SEV metadata section %zu (%s at 0x%x) overlaps the "
					"firmware image at 0x%llx",
					i, ovmf_section_name(s->type), s->gpa, (unsigned long long)info->gpa);
		for (size_t j = 0; j < i; j++) {
			const struct ovmf_section *t = &info->sections[j];
			if (ranges_overlap(s->gpa, s->size, t->gpa, t->size))
				return uvm_fail(err, 0, "SEV metadata sections %zu and %zu overlap (0x%x, 0x%x)", j, i,
						t->gpa, s->gpa);
		}
	}
	return 0;
}

static int parse_metadata(const uint8_t *data, size_t len, const uint8_t *entry, size_t entry_len,
			  struct ovmf_info *info, struct uvm_err *err)
{
	if (entry_len < 4)
		return uvm_fail(err, 0, "the SEV metadata table entry is %zu bytes, expected 4", entry_len);
	size_t back = le32_get(entry);
	if (back < META_HDR || back > len)
		return uvm_fail(err, 0, "the SEV metadata offset 0x%zx is outside the %zu-byte file", back, len);
	const uint8_t *h = data + (len - back);
	if (memcmp(h, "ASEV", 4) != 0)
		return uvm_fail(err, 0, "no \"ASEV\" signature at the SEV metadata offset 0x%zx", len - back);
	uint32_t size = le32_get(h + 4), version = le32_get(h + 8), count = le32_get(h + 12);
	if (version != 1)
		return uvm_fail(err, 0, "SEV metadata version %u is not supported (only 1)", version);
	if (count == 0 || count > OVMF_MAX_SECTIONS)
		return uvm_fail(err, 0, "SEV metadata lists %u sections (1..%d supported)", count, OVMF_MAX_SECTIONS);
	if (size < META_HDR + (size_t)count * META_ITEM || size > back)
		return uvm_fail(err, 0,
				"SEV metadata size %u does not fit %u sections in the %zu bytes "
				"before the end of the file",
				size, count, back);
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *p = h + META_HDR + (size_t)i * META_ITEM;
		struct ovmf_section *s = &info->sections[i];
		s->gpa = le32_get(p);
		s->size = le32_get(p + 4);
		s->type = le32_get(p + 8);
		if (check_section(s, i, err))
			return -1;
		if (s->type == OVMF_SECTION_SNP_KERNEL_HASHES)
			info->has_kernel_hashes = 1;
	}
	info->n_sections = count;
	return check_overlaps(info, err);
}

static int parse_small_entries(const struct footer_entries *e, unsigned need, struct ovmf_info *info,
			       struct uvm_err *err)
{
	if (!e->reset && (need & OVMF_NEED_RESET_BLOCK))
		return uvm_fail(err, 0,
				"no SEV-ES reset block in the footer table; the firmware cannot "
				"start application processors under SEV-ES/SNP");
	if (e->reset && e->reset_len < 4)
		return uvm_fail(err, 0, "the SEV-ES reset block entry is %zu bytes, expected 4 or more", e->reset_len);
	if (e->reset) {
		info->has_reset_block = 1;
		info->reset_eip = le32_get(e->reset);
	}
	if (!e->svsm && (need & OVMF_NEED_SVSM_INFO))
		return uvm_fail(err, 0,
				"no SVSM info entry (GUID %s) in the footer table; is this a COCONUT-SVSM "
				"image (svsm.bin)?",
				SVSM_INFO_GUID);
	if (e->svsm && e->svsm_len < 4)
		return uvm_fail(err, 0, "the SVSM info entry is %zu bytes, expected 4 or more", e->svsm_len);
	if (e->svsm) {
		info->has_svsm_info = 1;
		info->svsm_entry = le32_get(e->svsm);
		if (info->svsm_entry >= info->size)
			return uvm_fail(err, 0, "the SVSM entry point offset 0x%x lies outside the %zu-byte image",
					info->svsm_entry, info->size);
	}
	if (!e->hashes)
		return 0;
	if (e->hashes_len < 8)
		return uvm_fail(err, 0, "the SEV hashes table entry is %zu bytes, expected 8", e->hashes_len);
	info->has_hashes_table = 1;
	info->hashes_base = le32_get(e->hashes);
	info->hashes_size = le32_get(e->hashes + 4);
	return 0;
}

int ovmf_parse(const uint8_t *data, size_t len, struct ovmf_info *out, struct uvm_err *err)
{
	return ovmf_parse_for(data, len, OVMF_NEED_RESET_BLOCK | OVMF_NEED_METADATA, out, err);
}

int ovmf_parse_for(const uint8_t *data, size_t len, unsigned need, struct ovmf_info *out, struct uvm_err *err)
{
	return ovmf_parse_at(data, len, need, FOUR_GIB, out, err);
}

int ovmf_parse_at(const uint8_t *data, size_t len, unsigned need, uint64_t end_gpa, struct ovmf_info *out,
		  struct uvm_err *err)
{
	struct footer_entries e = {0};
	memset(out, 0, sizeof *out);
	if (end_gpa > FOUR_GIB || end_gpa % OVMF_PAGE_SIZE)
		return uvm_fail(err, 0, "the image would end at 0x%llx, not a 4 KiB boundary at or below 4 GiB",
				(unsigned long long)end_gpa);
	if (len == 0 || len % OVMF_PAGE_SIZE)
		return uvm_fail(err, 0,
				"the firmware is %zu bytes, not a non-zero multiple of 4096 "
				"(truncated or not a firmware image?)",
				len);
	if (len > OVMF_MAX_SIZE)
		return uvm_fail(err, 0, "the firmware is %zu bytes, more than the %u supported", len, OVMF_MAX_SIZE);
	if (len > end_gpa)
		return uvm_fail(err, 0, "the image is %zu bytes, more than the 0x%llx bytes below its end at 0x%llx",
				len, (unsigned long long)end_gpa, (unsigned long long)end_gpa);
	out->size = len;
	out->gpa = end_gpa - len;
	if (walk_footer(data, len, &e, err) || parse_small_entries(&e, need, out, err))
		return -1;
	if (!e.meta && !(need & OVMF_NEED_METADATA))
		return 0;
	if (!e.meta)
		return uvm_fail(err, 0,
				"no SEV metadata in the footer table: QEMU refuses to launch such "
				"firmware as an SEV-SNP guest; use an AmdSev/OVMF build with SNP support");
	return parse_metadata(data, len, e.meta, e.meta_len, out, err);
}

int ovmf_check_kernel_hashes(const struct ovmf_info *info, struct uvm_err *err)
{
	const struct ovmf_section *sec = NULL;
	for (size_t i = 0; i < info->n_sections; i++)
		if (info->sections[i].type == OVMF_SECTION_SNP_KERNEL_HASHES)
			sec = &info->sections[i];
	if (!sec)
		return uvm_fail(err, 0,
				"a kernel was given but the firmware has no SNP_KERNEL_HASHES "
				"section, so QEMU cannot measure it; use an AmdSev OVMF build or drop --kernel");
	if (sec->size != OVMF_PAGE_SIZE)
		return uvm_fail(err, 0, "the SNP_KERNEL_HASHES section is 0x%x bytes, not one page", sec->size);
	if (!info->has_hashes_table)
		return uvm_fail(err, 0, "a kernel was given but the firmware has no SEV hashes table entry");
	if (info->hashes_size < HASHES_TABLE_LEN)
		return uvm_fail(err, 0, "the SEV hashes table area is %u bytes, QEMU needs %u", info->hashes_size,
				HASHES_TABLE_LEN);
	if (info->hashes_base < sec->gpa ||
	    (uint64_t)info->hashes_base + HASHES_TABLE_LEN > (uint64_t)sec->gpa + OVMF_PAGE_SIZE)
		return uvm_fail(err, 0,
				"the SEV hashes table at 0x%x does not fit in the SNP_KERNEL_HASHES "
				"page at 0x%x",
				info->hashes_base, sec->gpa);
	return 0;
}

int ovmf_check_sev_hashes_table(const struct ovmf_info *info, struct uvm_err *err)
{
	if (!info->has_hashes_table || info->hashes_base == 0)
		return uvm_fail(err, 0,
				"a kernel was given but the firmware has no SEV hashes table, so QEMU "
				"cannot measure it; use an AmdSev OVMF build or drop --kernel");
	if (info->hashes_size < HASHES_TABLE_LEN)
		return uvm_fail(err, 0, "the SEV hashes table area is %u bytes, QEMU needs %u", info->hashes_size,
				HASHES_TABLE_LEN);
	return 0;
}
