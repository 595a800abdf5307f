/* OVMF footer table / SEV metadata parser: the real fixtures parse, and every
 * kind of malformed firmware is refused with a message naming the problem.
 * Run from the repository root (reads tests/data/measurement/). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ovmf_table.h"

#define PAGE 4096u
#define DATA_DIR "tests/data/measurement/"

static uint8_t *read_file(const char *name, size_t *len)
{
	char path[256];
	snprintf(path, sizeof path, "%s%s", DATA_DIR, name);
	FILE *f = fopen(path, "rb");
	if (!f) {
		printf("# cannot open %s (run from the repository root)\n", path);
		exit(1);
	}
	uint8_t *buf = malloc(1 << 20);
	*len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

/* ------------------------------------------------ a synthetic firmware */

struct spec {
	int no_reset, no_meta, no_hashes, dup_meta;
	uint32_t meta_back;    /* metadata offset from the end; 0: the default */
	uint32_t meta_size;    /* 0: exact */
	uint32_t meta_version; /* 0: 1 */
	const char *signature;
	uint32_t count;       /* sections used from secs */
	uint32_t count_field; /* 0: count */
	struct ovmf_section secs[8];
	uint32_t hashes_base, hashes_size;
	int stray;            /* bytes of junk at the start of the table */
	int svsm_info;        /* add an SVSM info entry ... */
	uint32_t svsm_entry;  /* ... with this entry point offset */
	size_t svsm_info_len; /* its data length; 0: 4 */
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Writes one entry ending at *end: data, u16 length, GUID. */
static void put_entry(uint8_t *buf, size_t *end, const char *guid, const uint8_t *data, size_t n)
{
	size_t len = n + 18;
	*end -= len;
	memcpy(buf + *end, data, n);
	put16(buf + *end + n, (uint16_t)len);
	ovmf_guid_parse(guid, buf + *end + n + 2);
}

static void build(uint8_t *buf, size_t len, const struct spec *s)
{
	uint8_t d[8];
	memset(buf, 0, len);
	/* metadata at the start of the last page */
	uint32_t back = s->meta_back ? s->meta_back : PAGE;
	uint32_t count = s->count_field ? s->count_field : s->count;
	if (back <= len && back >= 16) {
		uint8_t *h = buf + len - back;
		memcpy(h, s->signature ? s->signature : "ASEV", 4);
		put32(h + 4, s->meta_size ? s->meta_size : 16 + 12 * s->count);
		put32(h + 8, s->meta_version ? s->meta_version : 1);
		put32(h + 12, count);
		for (uint32_t i = 0; i < s->count; i++) {
			put32(h + 16 + 12 * i, s->secs[i].gpa);
			put32(h + 20 + 12 * i, s->secs[i].size);
			put32(h + 24 + 12 * i, s->secs[i].type);
		}
	}
	size_t hdr = len - 32 - 18, end = hdr;
	if (!s->no_reset) {
		put32(d, 0x80b004);
		put_entry(buf, &end, "00f771de-1a7e-4fcb-890e-68c77e2fb44e", d, 4);
	}
	if (!s->no_hashes) {
		put32(d, s->hashes_base ? s->hashes_base : 0x810c00);
		put32(d + 4, s->hashes_size ? s->hashes_size : 0x400);
		put_entry(buf, &end, "7255371f-3a3b-4b04-927b-1da6efa8d454", d, 8);
	}
	for (int i = 0; i < 1 + s->dup_meta && !s->no_meta; i++) {
		put32(d, back);
		put_entry(buf, &end, "dc886566-984a-4798-a75e-5585a7bf67cc", d, 4);
	}
	if (s->svsm_info) {
		uint8_t e[8] = {0};
		put32(e, s->svsm_entry);
		put_entry(buf, &end, "a789a612-0597-4c4b-a49f-cbb1fe9d1ddd", e,
			  s->svsm_info_len ? s->svsm_info_len : 4);
	}
	/* a table entry the parser must skip */
	put_entry(buf, &end, "4c2eb361-7d9b-4cc3-8081-127c90d3d294", (const uint8_t *)"skipme", 6);
	end -= (size_t)s->stray;
	put16(buf + hdr, (uint16_t)(hdr - end + 18));
	ovmf_guid_parse("96b582de-1fb2-45f7-baea-a366c55a082d", buf + hdr + 2);
}

static void base_spec(struct spec *s)
{
	memset(s, 0, sizeof *s);
	s->count = 4;
	s->secs[0] = (struct ovmf_section){0x800000, 0x9000, OVMF_SECTION_SNP_SEC_MEM};
	s->secs[1] = (struct ovmf_section){0x80d000, 0x1000, OVMF_SECTION_SNP_SECRETS};
	s->secs[2] = (struct ovmf_section){0x80e000, 0x1000, OVMF_SECTION_CPUID};
	s->secs[3] = (struct ovmf_section){0x810000, 0x1000, OVMF_SECTION_SNP_KERNEL_HASHES};
}

#define FW_LEN (4 * PAGE)
static uint8_t fw[FW_LEN];

/* Builds the firmware from s, parses it, expects failure with `needle` in the message. */
static void expect_reject(const struct spec *s, const char *needle, const char *what)
{
	struct ovmf_info info;
	struct uvm_err err = {0};
	build(fw, FW_LEN, s);
	int rc = ovmf_parse(fw, FW_LEN, &info, &err);
	CHECK(rc == -1 && strstr(err.msg, needle), "rejects %s", what);
	if (rc != -1 || !strstr(err.msg, needle))
		printf("#   rc %d, message \"%s\", wanted \"%s\"\n", rc, err.msg, needle);
}

static void test_valid_synthetic(void)
{
	struct spec s;
	struct ovmf_info info;
	struct uvm_err err = {0};
	base_spec(&s);
	build(fw, FW_LEN, &s);
	int rc = ovmf_parse(fw, FW_LEN, &info, &err);
	CHECK_EQ_INT(rc, 0, "a well-formed synthetic firmware parses (%s)", err.msg);
	CHECK_EQ_INT(info.gpa, 0x100000000ull - FW_LEN, "mapped just below 4 GiB");
	CHECK_EQ_INT(info.reset_eip, 0x80b004, "reset block read");
	CHECK_EQ_INT(info.n_sections, 4, "four sections");
	CHECK_EQ_INT(info.sections[3].type, OVMF_SECTION_SNP_KERNEL_HASHES, "sections in table order");
	CHECK(info.has_hashes_table && info.hashes_base == 0x810c00 && info.hashes_size == 0x400,
	      "hashes table entry read");
	CHECK_EQ_INT(ovmf_check_kernel_hashes(&info, &err), 0, "it can measure a kernel");
}

static void test_real_fixtures(void)
{
	struct ovmf_info info;
	struct uvm_err err = {0};
	size_t len;
	uint8_t *amd = read_file("ovmf_AmdSev_suffix.bin", &len);
	CHECK_EQ_INT(ovmf_parse(amd, len, &info, &err), 0, "AmdSev suffix parses (%s)", err.msg);
	CHECK_EQ_INT(info.reset_eip, 0x80b004, "AmdSev AP reset address");
	CHECK(info.has_kernel_hashes && info.hashes_base == 0x810c00 && info.hashes_size == 0x400,
	      "AmdSev has the kernel hashes section and table");
	CHECK_EQ_INT(ovmf_check_kernel_hashes(&info, &err), 0, "AmdSev can measure a kernel");
	/* truncated: one byte short, half a page */
	CHECK(ovmf_parse(amd, len - 1, &info, &err) == -1 && strstr(err.msg, "multiple of 4096"),
	      "a truncated file (one byte short) is refused as misaligned");
	CHECK(ovmf_parse(amd, len / 2, &info, &err) == -1, "half a page is refused");
	CHECK(ovmf_parse(amd, 0, &info, &err) == -1, "an empty file is refused");
	free(amd);

	uint8_t *x64 = read_file("ovmf_OvmfX64_suffix.bin", &len);
	CHECK_EQ_INT(ovmf_parse(x64, len, &info, &err), 0, "OvmfX64 suffix parses (%s)", err.msg);
	CHECK(!info.has_kernel_hashes, "OvmfX64 has no SNP_KERNEL_HASHES section");
	CHECK(ovmf_check_kernel_hashes(&info, &err) == -1 && strstr(err.msg, "SNP_KERNEL_HASHES"),
	      "a kernel with OvmfX64 is refused, naming SNP_KERNEL_HASHES");
	free(x64);
}

static void test_footer_table(void)
{
	struct spec s;
	struct ovmf_info info;
	struct uvm_err err = {0};
	base_spec(&s);
	build(fw, FW_LEN, &s);
	fw[FW_LEN - 48 + 3] ^= 1; /* one bit of the footer GUID */
	CHECK(ovmf_parse(fw, FW_LEN, &info, &err) == -1 && strstr(err.msg, "no OVMF footer table"),
	      "rejects a firmware without the footer GUID");
	build(fw, FW_LEN, &s);
	put16(fw + FW_LEN - 50, 0xffff);
	CHECK(ovmf_parse(fw, FW_LEN, &info, &err) == -1, "rejects a table length beyond the file");
	put16(fw + FW_LEN - 50, 17);
	CHECK(ovmf_parse(fw, FW_LEN, &info, &err) == -1, "rejects a table length below its header");
	build(fw, FW_LEN, &s);
	put16(fw + FW_LEN - 50 - 18, 3); /* the last entry (reset block) claims 3 bytes */
	CHECK(ovmf_parse(fw, FW_LEN, &info, &err) == -1 && strstr(err.msg, "length 3"),
	      "rejects an entry shorter than its header");
	put16(fw + FW_LEN - 50 - 18, 4000);
	CHECK(ovmf_parse(fw, FW_LEN, &info, &err) == -1, "rejects an entry longer than the table");
	s.stray = 5;
	expect_reject(&s, "stray", "leftover bytes in the table");
	base_spec(&s);
	s.no_meta = 1;
	expect_reject(&s, "no SEV metadata", "a firmware without SEV metadata");
	base_spec(&s);
	s.no_reset = 1;
	expect_reject(&s, "reset block", "a firmware without the SEV-ES reset block");
	base_spec(&s);
	s.dup_meta = 1;
	expect_reject(&s, "twice", "a duplicated metadata entry");
	uint8_t tiny[PAGE] = {0};
	CHECK(ovmf_parse(tiny, sizeof tiny, &info, &err) == -1 && strstr(err.msg, "footer"), "rejects a zero page");
}

static void test_metadata_header(void)
{
	struct spec s;
	base_spec(&s);
	s.meta_back = FW_LEN + PAGE;
	expect_reject(&s, "outside", "a metadata offset beyond the file");
	base_spec(&s);
	s.meta_back = 8;
	expect_reject(&s, "outside", "a metadata offset inside its own header");
	base_spec(&s);
	s.signature = "ASEW";
	expect_reject(&s, "ASEV", "a wrong metadata signature");
	base_spec(&s);
	s.meta_version = 2;
	expect_reject(&s, "version 2", "an unknown metadata version");
	base_spec(&s);
	s.count = 0;
	expect_reject(&s, "0 sections", "metadata without sections");
	base_spec(&s);
	s.count_field = 65;
	expect_reject(&s, "65 sections", "more sections than supported");
	base_spec(&s);
	s.meta_size = 20;
	expect_reject(&s, "size 20", "a metadata size too small for its sections");
	base_spec(&s);
	s.meta_size = 2 * PAGE;
	expect_reject(&s, "does not fit", "metadata that runs past the end of the file");
}

static void test_sections(void)
{
	struct spec s;
	base_spec(&s);
	s.secs[0].gpa = 0x800010;
	expect_reject(&s, "4 KiB pages", "a misaligned section address");
	base_spec(&s);
	s.secs[0].size = 0x9001;
	expect_reject(&s, "4 KiB pages", "a misaligned section size");
	base_spec(&s);
	s.secs[0].size = 0;
	expect_reject(&s, "4 KiB pages", "an empty section");
	base_spec(&s);
	s.secs[1].type = 7;
	expect_reject(&s, "unknown type 0x7", "an unknown section type");
	base_spec(&s);
	s.secs[0] = (struct ovmf_section){0xfff00000, 0x200000, OVMF_SECTION_SNP_SEC_MEM};
	expect_reject(&s, "above 4 GiB", "a section past 4 GiB");
	base_spec(&s);
	s.secs[2].size = 0x2000;
	expect_reject(&s, "not one page", "a two-page CPUID section");
	base_spec(&s);
	s.secs[1].gpa = 0x801000;
	expect_reject(&s, "overlap", "overlapping sections");
	base_spec(&s);
	s.secs[0] = (struct ovmf_section){0xffffe000, 0x1000, OVMF_SECTION_SNP_SEC_MEM};
	expect_reject(&s, "overlaps the firmware", "a section on top of the firmware image");
}

static void test_kernel_hashes(void)
{
	struct spec s;
	struct ovmf_info info;
	struct uvm_err err = {0};
	base_spec(&s);
	s.no_hashes = 1;
	build(fw, FW_LEN, &s);
	CHECK_EQ_INT(ovmf_parse(fw, FW_LEN, &info, &err), 0, "no hashes table is fine without a kernel");
	CHECK(ovmf_check_kernel_hashes(&info, &err) == -1 && strstr(err.msg, "hashes table"),
	      "but a kernel then needs it");
	base_spec(&s);
	s.hashes_base = 0x811000;
	build(fw, FW_LEN, &s);
	ovmf_parse(fw, FW_LEN, &info, &err);
	CHECK(ovmf_check_kernel_hashes(&info, &err) == -1 && strstr(err.msg, "does not fit"),
	      "a hashes table outside the SNP_KERNEL_HASHES page is refused");
	base_spec(&s);
	s.hashes_base = 0x810f80; /* 128 bytes before the end of the page: 176 do not fit */
	build(fw, FW_LEN, &s);
	ovmf_parse(fw, FW_LEN, &info, &err);
	CHECK(ovmf_check_kernel_hashes(&info, &err) == -1, "a hashes table crossing the page end is refused");
	base_spec(&s);
	s.hashes_size = 100;
	build(fw, FW_LEN, &s);
	ovmf_parse(fw, FW_LEN, &info, &err);
	CHECK(ovmf_check_kernel_hashes(&info, &err) == -1 && strstr(err.msg, "176"),
	      "a hashes area smaller than QEMU's table is refused");
	base_spec(&s);
	s.secs[3].size = 0x2000;
	build(fw, FW_LEN, &s);
	CHECK_EQ_INT(ovmf_parse(fw, FW_LEN, &info, &err), 0, "a two-page kernel hashes section parses");
	CHECK(ovmf_check_kernel_hashes(&info, &err) == -1 && strstr(err.msg, "not one page"),
	      "but cannot hold QEMU's one hashes page");
}

static void test_guid(void)
{
	uint8_t g[16];
	static const uint8_t want[16] = {0xde, 0x82, 0xb5, 0x96, 0xb2, 0x1f, 0xf7, 0x45,
					 0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08, 0x2d};
	CHECK(ovmf_guid_parse("96b582de-1fb2-45f7-baea-a366c55a082d", g) == 0 && memcmp(g, want, 16) == 0,
	      "GUID text to bytes_le");
	CHECK(ovmf_guid_parse("96b582de-1fb2-45f7-baea-a366c55a082", g) == -1, "short GUID refused");
	CHECK(ovmf_guid_parse("96b582de_1fb2-45f7-baea-a366c55a082d", g) == -1, "bad separator refused");
	CHECK(ovmf_guid_parse("96b582dg-1fb2-45f7-baea-a366c55a082d", g) == -1, "bad digit refused");
}

/* An SVSM image: placed below a given end, entry point from its info entry. */
static void test_svsm_image(void)
{
	struct spec s;
	struct ovmf_info info;
	struct uvm_err err = {0};
	unsigned need = OVMF_NEED_METADATA | OVMF_NEED_SVSM_INFO;
	base_spec(&s);
	s.no_reset = 1;
	s.svsm_info = 1;
	s.svsm_entry = 0x1230;
	build(fw, FW_LEN, &s);
	CHECK_EQ_INT(ovmf_parse_at(fw, FW_LEN, need, 0xff77c000ull, &info, &err), 0, "an SVSM image parses (%s)",
		     err.msg);
	CHECK(info.gpa == 0xff77c000ull - FW_LEN && info.has_svsm_info && info.svsm_entry == 0x1230 &&
		      !info.has_reset_block,
	      "placed below its end, entry 0x1230");
	CHECK(ovmf_parse_at(fw, FW_LEN, need, 0xff77c800ull, &info, &err) == -1 && strstr(err.msg, "4 KiB boundary"),
	      "an end inside a page is refused: %s", err.msg);
	CHECK(ovmf_parse_at(fw, FW_LEN, need, 0x100001000ull, &info, &err) == -1 && strstr(err.msg, "4 GiB"),
	      "an end above 4 GiB is refused: %s", err.msg);
	CHECK(ovmf_parse_at(fw, FW_LEN, need, 2 * PAGE, &info, &err) == -1 && strstr(err.msg, "below its end"),
	      "an image larger than the room below its end is refused: %s", err.msg);
	CHECK(ovmf_parse_for(fw, FW_LEN, OVMF_NEED_RESET_BLOCK, &info, &err) == -1 && strstr(err.msg, "reset block"),
	      "an SVSM image is not an OVMF (no reset block): %s", err.msg);
	s.svsm_entry = FW_LEN;
	build(fw, FW_LEN, &s);
	CHECK(ovmf_parse_at(fw, FW_LEN, need, 0xff77c000ull, &info, &err) == -1 &&
		      strstr(err.msg, "entry point offset 0x4000 lies outside"),
	      "an entry point past the image is refused: %s", err.msg);
	s.svsm_entry = 0;
	s.svsm_info_len = 2;
	build(fw, FW_LEN, &s);
	CHECK(ovmf_parse_at(fw, FW_LEN, need, 0xff77c000ull, &info, &err) == -1 && strstr(err.msg, "2 bytes"),
	      "a short info entry is refused: %s", err.msg);
	s.svsm_info = 0;
	build(fw, FW_LEN, &s);
	CHECK(ovmf_parse_at(fw, FW_LEN, need, 0xff77c000ull, &info, &err) == -1 &&
		      strstr(err.msg, "no SVSM info entry"),
	      "an image without the info entry is refused: %s", err.msg);
	base_spec(&s);
	build(fw, FW_LEN, &s);
	CHECK(ovmf_parse(fw, FW_LEN, &info, &err) == 0 && !info.has_svsm_info, "an OVMF has no SVSM info");
}

int main(void)
{
	test_guid();
	test_valid_synthetic();
	test_real_fixtures();
	test_footer_table();
	test_metadata_header();
	test_sections();
	test_kernel_hashes();
	test_svsm_image();
	return check_done();
}
