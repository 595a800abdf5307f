/* IGVM file parser (see igvm_parse.h and docs/measure.md, "IGVM"). Written
 * from the public format definition (microsoft/igvm igvm_defs). */
#include "igvm_parse.h"
#include "le.h"

#include <stdio.h>
#include <string.h>

#define ALIGN8(x) (((x) + 7u) & ~(size_t)7u)

const char *igvm_type_name(uint32_t type, char buf[24])
{
	switch (type) {
	case IGVM_SUPPORTED_PLATFORM: return "SUPPORTED_PLATFORM";
	case IGVM_GUEST_POLICY: return "GUEST_POLICY";
	case IGVM_RELOCATABLE_REGION: return "RELOCATABLE_REGION";
	case IGVM_PAGE_TABLE_RELOCATION: return "PAGE_TABLE_RELOCATION_REGION";
	case IGVM_PARAMETER_AREA: return "PARAMETER_AREA";
	case IGVM_PAGE_DATA: return "PAGE_DATA";
	case IGVM_PARAMETER_INSERT: return "PARAMETER_INSERT";
	case IGVM_VP_CONTEXT: return "VP_CONTEXT";
	case IGVM_REQUIRED_MEMORY: return "REQUIRED_MEMORY";
	case IGVM_SNP_ID_BLOCK: return "SNP_ID_BLOCK";
	case IGVM_ERROR_RANGE: return "ERROR_RANGE";
	case IGVM_VBS_MEASUREMENT: return "VBS_MEASUREMENT";
	default: snprintf(buf, 24, "type 0x%x", type); return buf;
	}
}

/* 0: platform, 1: initialization, 2: directive; -1 unknown. */
static int section_of(uint32_t type)
{
	if (type == IGVM_SUPPORTED_PLATFORM)
		return 0;
	if (type >= IGVM_GUEST_POLICY && type <= IGVM_PAGE_TABLE_RELOCATION)
		return 1;
	if ((type >= IGVM_PARAMETER_AREA && type <= IGVM_REQUIRED_MEMORY) || (type >= 0x307 && type <= 0x313))
		return 2;
	return -1;
}

static int check_fixed(const uint8_t *d, size_t len, struct igvm_file *f, struct uvm_err *err)
{
	if (len > IGVM_MAX_FILE)
		return uvm_fail(err, 0, "%zu bytes is larger than the 1 GiB an IGVM file may have here", len);
	if (len < IGVM_FIXED_LEN || le32_get(d) != IGVM_MAGIC)
		return uvm_fail(err, 0, "not an IGVM file (no \"IGVM\" magic); give the .igvm file");
	uint32_t version = le32_get(d + 4), off = le32_get(d + 8), size = le32_get(d + 12);
	if (version != 1)
		return uvm_fail(err, 0, "IGVM format version %u is not supported; only version 1 is", version);
	if (le32_get(d + 16) != len)
		return uvm_fail(err, 0,
				"the header's total_file_size %u is not the file's %zu bytes; the file is "
				"truncated or padded",
				le32_get(d + 16), len);
	if (off < IGVM_FIXED_LEN || off % 8 || (uint64_t)off + size > len)
		return uvm_fail(err, 0, "the variable header (offset %u, %u bytes) is misaligned or outside the file",
				off, size);
	f->vh_off = off;
	f->vh_end = (size_t)off + size;
	return 0;
}

static int check_crc(const uint8_t *d, const struct igvm_file *f, struct uvm_err *err)
{
	uint8_t fixed[IGVM_FIXED_LEN];
	memcpy(fixed, d, sizeof fixed);
	memset(fixed + 20, 0, 4); /* the checksum field counts as zero */
	uint32_t crc = igvm_crc32(igvm_crc32(0, fixed, sizeof fixed), d + f->vh_off, f->vh_end - f->vh_off);
	if (crc != le32_get(d + 20))
		return uvm_fail(err, 0, "checksum mismatch (header 0x%08x, computed 0x%08x); the file is damaged",
				le32_get(d + 20), crc);
	return 0;
}

int igvm_next(const struct igvm_file *f, size_t *pos, struct igvm_entry *e)
{
	if (*pos + 8 > f->vh_end)
		return 0;
	e->offset = *pos;
	e->type = le32_get(f->data + *pos);
	e->len = le32_get(f->data + *pos + 4);
	e->value = f->data + *pos + 8;
	*pos += 8 + ALIGN8((size_t)e->len);
	return 1;
}

/* Every entry lies inside the variable header with zero padding after it. */
static int check_layout(const struct igvm_file *f, size_t pos, struct uvm_err *err)
{
	if (f->vh_end - pos < 8)
		return uvm_fail(err, 0, "the variable header entry at offset 0x%zx runs past the header's end", pos);
	uint32_t len = le32_get(f->data + pos + 4);
	if ((uint64_t)len + 8 > f->vh_end - pos)
		return uvm_fail(err, 0, "the variable header entry at offset 0x%zx runs past the header's end", pos);
	size_t end = pos + 8 + len, padded = pos + 8 + ALIGN8((size_t)len);
	if (padded > f->vh_end)
		return uvm_fail(err, 0, "the padding of the entry at offset 0x%zx runs past the header's end", pos);
	for (size_t i = end; i < padded; i++)
		if (f->data[i])
			return uvm_fail(err, 0, "nonzero padding after the entry at offset 0x%zx", pos);
	return 0;
}

static int platform(struct igvm_file *f, const struct igvm_entry *e, struct uvm_err *err)
{
	if (e->len != 16)
		return uvm_fail(err, 0, "SUPPORTED_PLATFORM at 0x%zx has %u bytes, not 16", e->offset, e->len);
	uint32_t mask = le32_get(e->value);
	if (mask == 0 || (mask & (mask - 1)))
		return uvm_fail(err, 0, "SUPPORTED_PLATFORM at 0x%zx: compatibility mask 0x%x is not one bit",
				e->offset, mask);
	if (e->value[5] != IGVM_PLATFORM_SEV_SNP)
		return 0;
	if (f->snp_mask)
		return uvm_fail(err, 0, "two SEV-SNP SUPPORTED_PLATFORM entries; a file describes one");
	f->snp_mask = mask;
	f->platform_version = le16_get(e->value + 6);
	return 0;
}

/* Guest policy and relocation entries: only the SNP guest's matter. */
static int init_entry(struct igvm_file *f, const struct igvm_entry *e, int *have_policy, struct uvm_err *err)
{
	char nb[24];
	uint32_t need = e->type == IGVM_GUEST_POLICY ? 16 : 4;
	if (e->len < need || (e->type == IGVM_GUEST_POLICY && e->len != 16))
		return uvm_fail(err, 0, "%s at 0x%zx has %u bytes", igvm_type_name(e->type, nb), e->offset, e->len);
	uint32_t mask = le32_get(e->value + (e->type == IGVM_GUEST_POLICY ? 8 : 0));
	if (!(mask & f->snp_mask))
		return 0;
	if (e->type != IGVM_GUEST_POLICY)
		return uvm_fail(err, 0,
				"%s at 0x%zx applies to SEV-SNP: a relocatable image's digest depends on "
				"where the loader puts it, which cannot be predicted; build the IGVM file without "
				"relocation",
				igvm_type_name(e->type, nb), e->offset);
	if (*have_policy)
		return uvm_fail(err, 0, "two GUEST_POLICY entries for SEV-SNP");
	f->policy = le64_get(e->value);
	*have_policy = 1;
	return 0;
}

static int entry(struct igvm_file *f, const struct igvm_entry *e, int *section, int *have_policy, struct uvm_err *err)
{
	int s = section_of(e->type);
	if (s < 0 && (e->type & IGVM_IGNORABLE))
		return 0; /* the loader may ignore it: so do we */
	if (s < 0)
		return uvm_fail(err, 0,
				"unknown variable header type 0x%x at offset 0x%zx (not marked ignorable); "
				"this loader cannot replay it",
				e->type, e->offset);
	if (s < *section)
		return uvm_fail(err, 0,
				"entry type 0x%x at offset 0x%zx comes after a later section; platform, "
				"initialization and directive entries must be in that order",
				e->type, e->offset);
	if (s == 1 && *section == 0 && !f->snp_mask)
		return uvm_fail(err, 0,
				"no SEV-SNP SUPPORTED_PLATFORM (platform type 2); this file is not for SEV-SNP");
	*section = s;
	if (s == 0)
		return platform(f, e, err);
	return s == 1 ? init_entry(f, e, have_policy, err) : 0;
}

int igvm_parse(const uint8_t *data, size_t len, struct igvm_file *f, struct uvm_err *err)
{
	struct igvm_entry e;
	int section = 0, have_policy = 0;
	memset(f, 0, sizeof *f);
	f->data = data;
	f->len = len;
	if (check_fixed(data, len, f, err) || check_crc(data, f, err))
		return -1;
	for (size_t pos = f->vh_off; pos < f->vh_end;) {
		if (check_layout(f, pos, err) || !igvm_next(f, &pos, &e) || entry(f, &e, &section, &have_policy, err))
			return -1;
		f->n_entries++;
	}
	if (!f->snp_mask)
		return uvm_fail(err, 0,
				"no SEV-SNP SUPPORTED_PLATFORM (platform type 2); this file is not for SEV-SNP");
	if (!have_policy)
		return uvm_fail(err, 0, "no GUEST_POLICY for the SEV-SNP platform; the launch needs one");
	return 0;
}
