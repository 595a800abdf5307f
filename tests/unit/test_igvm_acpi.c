/* The IGVM's ACPI: the AML encoder (igvm_aml.h) against encodings written
 * out here from ACPI 6.5 chapter 20, and the tables (igvm_acpi.h): headers,
 * checksums, pointers, the FADT's fields, the DSDT's bytes. iasl, the
 * reference disassembler, reads the tables of the real image in
 * tests/test_igvm_acpi.py. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "igvm_acpi.h"
#include "igvm_aml.h"
#include "le.h"

static int same(const struct aml *a, const uint8_t *want, size_t n)
{
	return !a->bad && a->len == n && memcmp(a->p, want, n) == 0;
}

/* PkgLength: 1 byte up to 63 (with itself), then 2, 3, 4 bytes; the lead
 * byte's top bits count the bytes that follow, its low nibble the lowest
 * bits, each byte after it 8 more bits. */
static void test_pkglength(void)
{
	uint8_t b[4];
	CHECK(aml_pkglength(0, b) == 1 && b[0] == 0x01, "0 bytes of contents: 0x01");
	CHECK(aml_pkglength(62, b) == 1 && b[0] == 0x3f, "62: 0x3f, the largest 1-byte form");
	CHECK(aml_pkglength(63, b) == 2 && b[0] == 0x41 && b[1] == 0x04, "63: 2 bytes, 65 = 0x41 0x04");
	CHECK(aml_pkglength(0xffd, b) == 2 && b[0] == 0x4f && b[1] == 0xff, "0xffd: 0xfff, the largest 2-byte form");
	CHECK(aml_pkglength(0xffe, b) == 3 && b[0] == 0x81 && b[1] == 0x00 && b[2] == 0x01,
	      "0xffe: 3 bytes, 0x1001 = 0x81 0x00 0x01");
	CHECK(aml_pkglength(0xffffc, b) == 3 && b[0] == 0x8f && b[1] == 0xff && b[2] == 0xff,
	      "0xffffc: 0xfffff, the largest 3-byte form");
	CHECK(aml_pkglength(0xffffd, b) == 4 && b[0] == 0xc1 && b[1] == 0x00 && b[2] == 0x00 && b[3] == 0x01,
	      "0xffffd: 4 bytes, 0x100001 = 0xc1 0x00 0x00 0x01");
	CHECK(aml_pkglength(0xffffffb, b) == 4 && b[0] == 0xcf && b[1] == 0xff && b[2] == 0xff && b[3] == 0xff,
	      "0xffffffb: 0xfffffff, the largest 4-byte form");
	CHECK(aml_pkglength(0xffffffc, b) == 0, "0xffffffc: more than 28 bits, refused");
}

static void test_names_and_terms(void)
{
	uint8_t buf[64];
	struct aml a;
	aml_init(&a, buf, sizeof buf);
	aml_name(&a, "_HID");
	CHECK(same(&a, (const uint8_t *)"_HID", 4), "a NameSeg");
	aml_init(&a, buf, sizeof buf);
	aml_name(&a, "\\_SB");
	CHECK(same(&a, (const uint8_t *)"\\_SB_", 5), "root prefix, a short seg padded with '_'");
	aml_init(&a, buf, sizeof buf);
	aml_name(&a, "_SB.VMOD");
	CHECK(same(&a, (const uint8_t *)"\x2e_SB_VMOD", 9), "DualNamePrefix");
	aml_init(&a, buf, sizeof buf);
	aml_name(&a, "\\_SB.VMOD.VMBS");
	CHECK(same(&a, (const uint8_t *)"\\\x2f\x03_SB_VMODVMBS", 15), "root, MultiNamePrefix, 3 segs");
	static const char *bad[] = {"", "vmbs", "1ABC", "ABCDE", "A.", ".A", "A..B", "A-B", "\\"};
	int all = 1;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		aml_init(&a, buf, sizeof buf);
		aml_name(&a, bad[i]);
		all &= a.bad;
	}
	CHECK(all, "refused: empty, lower case, a digit first, 5 chars, empty segments, '-', a lone root");

	static const struct {
		uint64_t v;
		const char *want;
		size_t n;
	} ints[] = {
		{0, "\x00", 1},
		{1, "\x01", 1},
		{2, "\x0a\x02", 2},
		{0xff, "\x0a\xff", 2},
		{0x100, "\x0b\x00\x01", 3},
		{0x10000, "\x0c\x00\x00\x01\x00", 5},
		{0x100000000ull, "\x0e\x00\x00\x00\x00\x01\x00\x00\x00", 9},
	};
	all = 1;
	for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
		aml_init(&a, buf, sizeof buf);
		aml_integer(&a, ints[i].v);
		all &= same(&a, (const uint8_t *)ints[i].want, ints[i].n);
	}
	CHECK(all, "integers: ZeroOp, OneOp, Byte/Word/DWord/QWord prefixes, the shortest");

	aml_init(&a, buf, sizeof buf);
	aml_name_string(&a, "_HID", "VMBus");
	CHECK(same(&a, (const uint8_t *)"\x08_HID\x0dVMBus\x00", 12), "Name (_HID, \"VMBus\")");
	aml_init(&a, buf, sizeof buf);
	aml_name_integer(&a, "_STA", 0x0f);
	CHECK(same(&a, (const uint8_t *)"\x08_STA\x0a\x0f", 7), "Name (_STA, 0x0F)");
	aml_init(&a, buf, sizeof buf);
	aml_string(&a, "\xc3\xa9");
	CHECK(a.bad, "a string byte above 0x7f is refused");
}

static void test_packages(void)
{
	uint8_t buf[256];
	struct aml a;
	struct aml_res r;
	/* Scope (\_SB) { Device (VMBS) { Name (_UID, Zero) } } */
	aml_init(&a, buf, sizeof buf);
	size_t s = aml_scope(&a, "\\_SB");
	size_t d = aml_device(&a, "VMBS");
	aml_name_integer(&a, "_UID", 0);
	aml_close(&a, d);
	aml_close(&a, s);
	static const uint8_t want[] = {0x10, 0x13, '\\', '_', 'S',  'B', '_', 0x5b, 0x82, 0x0b,
				       'V',  'M',  'B',  'S', 0x08, '_', 'U', 'I',  'D',  0x00};
	CHECK(same(&a, want, sizeof want), "ScopeOp and DeviceOp with their PkgLengths, nested");

	/* a device whose body needs a 2-byte PkgLength */
	aml_init(&a, buf, sizeof buf);
	d = aml_device(&a, "BIG_");
	for (int i = 0; i < 10; i++)
		aml_name_integer(&a, "_UID", 0x1234); /* 8 bytes each */
	aml_close(&a, d);
	CHECK(!a.bad && a.len == 2 + 2 + 4 + 80 && buf[2] == (0x40 | ((2 + 4 + 80) & 0xf)) &&
		      buf[3] == ((2 + 4 + 80) >> 4) && memcmp(buf + 4, "BIG_", 4) == 0,
	      "a 2-byte PkgLength is inserted before the name, the body moved after it");

	/* ResourceTemplate () {}: Buffer (2) { EndTag, checksum } */
	aml_init(&a, buf, sizeof buf);
	aml_resources(&a, &r);
	aml_resources_end(&a, &r);
	CHECK(same(&a, (const uint8_t *)"\x11\x05\x0a\x02\x79\x87", 6), "an empty template: 0x79 and 0x87 sum to 0");

	aml_init(&a, buf, sizeof buf);
	aml_resources(&a, &r);
	aml_qword_memory(&a, 0xf8000000, 0xffffffff);
	aml_resources_end(&a, &r);
	const uint8_t *q = buf + 4;
	unsigned sum = 0;
	for (size_t i = 4; i < a.len; i++)
		sum += buf[i];
	CHECK(!a.bad && a.len == 4 + 46 + 2 && buf[0] == 0x11 && buf[1] == 51 && buf[2] == 0x0a && buf[3] == 48,
	      "Buffer (48): PkgLength 51, BufferSize 48");
	CHECK(q[0] == 0x8a && le16_get(q + 1) == 43 && q[3] == 0 && q[4] == 0x0c && q[5] == 0x03 &&
		      le64_get(q + 6) == 0 && le64_get(q + 14) == 0xf8000000 && le64_get(q + 22) == 0xffffffff &&
		      le64_get(q + 30) == 0 && le64_get(q + 38) == 0x8000000,
	      "QWordMemory: type memory, producer MinFixed MaxFixed, cacheable RW, min, max, length");
	CHECK(q[46] == 0x79 && sum % 256 == 0, "end tag; the template sums to zero");

	uint8_t small[8];
	aml_init(&a, small, sizeof small);
	aml_name_string(&a, "_HID", "ACPI0004");
	CHECK(a.bad && a.len <= sizeof small, "a write past the buffer is refused and remembered");
}

static int sums_to_zero(const uint8_t *p, size_t n)
{
	unsigned sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += p[i];
	return (sum & 0xff) == 0;
}

static void test_tables(void)
{
	static uint8_t page[IGVM_ACPI_PAGE], again[IGVM_ACPI_PAGE];
	const uint64_t gpa = 0x8d000;
	igvm_acpi_tables(page, gpa);
	const uint8_t *x = page + 0x40, *f = page + 0x100, *d = page + 0x240;
	CHECK(memcmp(page, "RSD PTR ", 8) == 0 && page[15] == 2 && le64_get(page + 24) == 0x8d040 &&
		      sums_to_zero(page, 20) && sums_to_zero(page, 36),
	      "RSDP -> XSDT 0x8d040, both checksums");
	CHECK(memcmp(x, "XSDT", 4) == 0 && le32_get(x + 4) == 52 && le64_get(x + 36) == 0x8d100 &&
		      le64_get(x + 44) == 0x8d080 && sums_to_zero(x, 52),
	      "XSDT: the FADT at 0x8d100, the MADT at 0x8d080, checksum");
	CHECK(memcmp(f, "FACP", 4) == 0 && le32_get(f + 4) == 276 && f[8] == 6 && f[131] == 5 && sums_to_zero(f, 276),
	      "FADT: 276 bytes, revision 6.5, checksum");
	CHECK(le32_get(f + 112) == 1u << 20 && le16_get(f + 109) == 1u << 2,
	      "FADT flags: HW_REDUCED_ACPI only; boot flags: VGA not present only (no legacy devices, no 8042)");
	CHECK(le32_get(f + 40) == 0x8d240 && le64_get(f + 140) == 0x8d240 && le32_get(f + 36) == 0 &&
		      le64_get(f + 132) == 0,
	      "FADT: DSDT and X_DSDT 0x8d240, no FACS");
	int zero = 1;
	for (size_t i = 44; i < 109; i++)
		zero &= f[i] == 0;
	for (size_t i = 148; i < 276; i++)
		zero &= f[i] == 0;
	CHECK(zero, "FADT: no SCI, SMI, PM or GPE blocks (legacy or X_), sleep registers, hypervisor ID");
	size_t n = le32_get(d + 4);
	CHECK(memcmp(d, "DSDT", 4) == 0 && d[8] == 2 && n > 36 && 0x240 + n <= IGVM_ACPI_PAGE && sums_to_zero(d, n),
	      "DSDT: revision 2, in the page, checksum (%zu bytes)", n);
	CHECK(memcmp(d + 36,
		     "\x10\x47\x0b\\_SB_\x5b\x82\x4e\x0aVMOD\x08_HID\x0d"
		     "ACPI0004",
		     30) == 0,
	      "DSDT: Scope (\\_SB) { Device (VMOD) { Name (_HID, \"ACPI0004\") ...");
	CHECK(memmem(d, n, "\x5b\x82\x29VMBS\x08_STA\x0a\x0f\x08_HID\x0dVMBus\x00", 26) != NULL,
	      "... Device (VMBS) { Name (_STA, 0x0F) Name (_HID, \"VMBus\") ...");
	CHECK(memcmp(d + n - 11, "\x08_CRS\x11\x05\x0a\x02\x79\x87", 11) == 0, "... the last: VMBS's empty _CRS");
	uint8_t dsdt[IGVM_ACPI_DSDT_MAX];
	CHECK(igvm_acpi_dsdt(dsdt, sizeof dsdt) == n && memcmp(dsdt, d, n) == 0 && igvm_acpi_dsdt(dsdt, n - 1) == 0,
	      "igvm_acpi_dsdt: the same bytes; 0 when it does not fit");
	igvm_acpi_tables(again, gpa);
	CHECK(memcmp(page, again, sizeof page) == 0, "the same bytes twice");
}

int main(void)
{
	test_pkglength();
	test_names_and_terms();
	test_packages();
	test_tables();
	return check_done();
}
