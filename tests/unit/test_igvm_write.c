/* `uvm igvm`'s parts: the IGVM writer, the bzImage header reader and the
 * Linux layout. Every file written is read back with our own reader
 * (igvm_parse) and replayed (igvm_measure); the expected values come from
 * the formats (IGVM, boot protocol, bootparam.h, sev_es_save_area), written
 * out here, not from the code under test. The digest of the real image is
 * derived independently in tests/test_igvm_image.py. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bzimage.h"
#include "check.h"
#include "hash.h"
#include "igvm_linux.h"
#include "igvm_measure.h"
#include "igvm_parse.h"
#include "igvm_write.h"
#include "le.h"

#define PAGE 4096u
#define MIB (1u << 20)

/* ------------------------------------------------ reading a file back */

struct page_ref {
	uint64_t gpa;
	uint32_t flags, mask;
	uint16_t type;
	const uint8_t *data; /* NULL without data */
};

/* The n-th PAGE_DATA entry of f (0-based), or -1. */
static int nth_page(const struct igvm_file *f, size_t n, struct page_ref *p)
{
	struct igvm_entry e;
	size_t i = 0;
	for (size_t pos = f->vh_off; igvm_next(f, &pos, &e);) {
		if (e.type != IGVM_PAGE_DATA || i++ != n)
			continue;
		uint32_t off = le32_get(e.value + 12);
		p->gpa = le64_get(e.value);
		p->mask = le32_get(e.value + 8);
		p->flags = le32_get(e.value + 16);
		p->type = le16_get(e.value + 20);
		p->data = off ? f->data + off : NULL;
		return 0;
	}
	return -1;
}

/* The data-carrying 4 KiB page at gpa, or NULL. */
static const uint8_t *page_at(const struct igvm_file *f, uint64_t gpa)
{
	struct page_ref p;
	for (size_t i = 0; nth_page(f, i, &p) == 0; i++)
		if (p.gpa == gpa && !(p.flags & IGVM_PAGE_FLAG_2MB))
			return p.data;
	return NULL;
}

/* The SNP VP context's VMSA and GPA. */
static const uint8_t *vp_context(const struct igvm_file *f, uint64_t *gpa, unsigned *count)
{
	struct igvm_entry e;
	const uint8_t *vmsa = NULL;
	*count = 0;
	for (size_t pos = f->vh_off; igvm_next(f, &pos, &e);)
		if (e.type == IGVM_VP_CONTEXT) {
			*gpa = le64_get(e.value);
			vmsa = f->data + le32_get(e.value + 12);
			++*count;
		}
	return vmsa;
}

/* ------------------------------------------------ the writer */

static void test_writer_layout(void)
{
	struct igvm_writer w;
	struct uvm_err err = {0};
	uint8_t *out, page[PAGE], vmsa[PAGE];
	size_t len;
	memset(page, 0xab, sizeof page);
	memset(vmsa, 0x5a, sizeof vmsa);
	igvm_writer_init(&w);
	CHECK(igvm_write_platform(&w, 0x1, 0, IGVM_PLATFORM_SEV_SNP, 1, 0, &err) == 0 &&
		      igvm_write_policy(&w, 0x30000, 0x1, &err) == 0 &&
		      igvm_write_page(&w, 0x1000, 0x1, 0, IGVM_DATA_NORMAL, page, PAGE, &err) == 0 &&
		      igvm_write_page(&w, 0x2000, 0x1, 0, IGVM_DATA_NORMAL, (const uint8_t *)"abc", 3, &err) == 0 &&
		      igvm_write_page(&w, 0x3000, 0x1, 0, IGVM_DATA_NORMAL, NULL, 0, &err) == 0 &&
		      igvm_write_page(&w, 0x200000, 0x1, IGVM_PAGE_FLAG_2MB, IGVM_DATA_NORMAL, NULL, 0, &err) == 0 &&
		      igvm_write_page(&w, 0x4000, 0x1, 0, IGVM_DATA_SECRETS, NULL, 0, &err) == 0 &&
		      igvm_write_vp_context(&w, 0xFFFFFFFFF000ull, 0x1, 0, vmsa, &err) == 0 &&
		      igvm_write_finish(&w, &out, &len, &err) == 0,
	      "a small file is written: %s", err.msg);
	igvm_writer_free(&w);
	/* fixed header: magic, version 1, the variable header right after it,
	 * 2 platform/init TLVs of 16 + 5 PAGE_DATA of 24 + a VP context of 20
	 * (padded to 24), each with its 8-byte type/length */
	size_t vh = 2 * (8 + 16) + 5 * (8 + 24) + (8 + 24);
	CHECK_EQ_INT(le32_get(out), 0x4D564749u, "magic \"IGVM\"");
	CHECK_EQ_INT(le32_get(out + 4), 1, "format version 1");
	CHECK_EQ_INT(le32_get(out + 8), 24, "variable header at 24");
	CHECK_EQ_INT(le32_get(out + 12), vh, "variable header size");
	CHECK_EQ_INT(len, 24 + vh + 3 * PAGE, "three data pages follow (two pages, the VMSA)");
	CHECK_EQ_INT(le32_get(out + 16), len, "total_file_size");
	uint8_t fixed[24];
	memcpy(fixed, out, 24);
	memset(fixed + 20, 0, 4);
	CHECK_EQ_INT(le32_get(out + 20), igvm_crc32(igvm_crc32(0, fixed, 24), out + 24, vh), "CRC-32 of the headers");
	/* data in directive order, the short page padded with zeros */
	const uint8_t *data = out + 24 + vh;
	CHECK(data[0] == 0xab && data[PAGE - 1] == 0xab, "first page's data first");
	CHECK(memcmp(data + PAGE, "abc", 3) == 0 && data[PAGE + 3] == 0 && data[2 * PAGE - 1] == 0,
	      "a 3-byte page is padded with zeros to 4 KiB");
	CHECK(data[2 * PAGE] == 0x5a, "the VMSA last");

	struct igvm_file f;
	struct page_ref p;
	CHECK(igvm_parse(out, len, &f, &err) == 0, "our reader accepts it: %s", err.msg);
	CHECK(f.snp_mask == 1 && f.policy == 0x30000 && f.n_entries == 8, "platform mask 1, policy, 8 entries");
	CHECK(nth_page(&f, 0, &p) == 0 && p.gpa == 0x1000 && p.data == data, "page 1 points at its data");
	CHECK(nth_page(&f, 2, &p) == 0 && p.gpa == 0x3000 && !p.data, "a page without data has file_offset 0");
	CHECK(nth_page(&f, 3, &p) == 0 && p.flags == IGVM_PAGE_FLAG_2MB, "2 MiB flag");
	CHECK(nth_page(&f, 4, &p) == 0 && p.type == IGVM_DATA_SECRETS, "secrets data type");

	/* replayed: the PAGE_INFO chain the format says */
	struct igvm_request q = {IGVM_VMM_HYPERV, 1, 0};
	struct igvm_result res;
	uint8_t ld[SNP_LD_LEN] = {0}, h[SNP_LD_LEN], z[SNP_LD_LEN], pad[PAGE] = {'a', 'b', 'c'};
	static const uint8_t zero[PAGE];
	CHECK(igvm_measure(&f, &q, &res, NULL, &err) == 0, "replayed: %s", err.msg);
	uvm_sha384(page, PAGE, h);
	snp_ld_update(ld, h, SNP_PAGE_NORMAL, 0x1000);
	uvm_sha384(pad, PAGE, h);
	snp_ld_update(ld, h, SNP_PAGE_NORMAL, 0x2000);
	uvm_sha384(zero, PAGE, z);
	snp_ld_update(ld, z, SNP_PAGE_NORMAL, 0x3000);
	for (unsigned i = 0; i < 512; i++)
		snp_ld_update(ld, z, SNP_PAGE_NORMAL, 0x200000 + i * PAGE);
	snp_ld_update(ld, NULL, SNP_PAGE_SECRETS, 0x4000);
	uvm_sha384(vmsa, PAGE, h);
	snp_ld_update(ld, h, SNP_PAGE_VMSA, 0xFFFFFFFFF000ull);
	CHECK(memcmp(ld, res.ld, SNP_LD_LEN) == 0 && res.pages == 517, "hyperv digest of what was written");
	free(out);
}

static void test_writer_refusals(void)
{
	struct igvm_writer w;
	struct uvm_err err = {0};
	uint8_t big[PAGE + 1] = {0};
	igvm_writer_init(&w);
	CHECK(igvm_write_platform(&w, 0x3, 0, IGVM_PLATFORM_SEV_SNP, 1, 0, &err) == -1, "a two-bit mask is refused");
	CHECK_MSG(err.msg, "not one bit", "... by its message");
	CHECK(igvm_write_policy(&w, 0x30000, 1, &err) == 0, "policy");
	CHECK(igvm_write_platform(&w, 0x1, 0, IGVM_PLATFORM_SEV_SNP, 1, 0, &err) == -1, "platform after policy");
	CHECK_MSG(err.msg, "in that order", "... names the order");
	CHECK(igvm_write_page(&w, 0x1800, 1, 0, 0, NULL, 0, &err) == -1, "unaligned page");
	CHECK_MSG(err.msg, "GPA 0x1800 is not aligned", "... names the GPA");
	CHECK(igvm_write_page(&w, 0x1000, 1, IGVM_PAGE_FLAG_2MB, 0, NULL, 0, &err) == -1,
	      "2 MiB page not 2 MiB aligned");
	CHECK(igvm_write_page(&w, 0x1000, 1, 0, 0, big, sizeof big, &err) == -1, "more data than a page");
	CHECK(igvm_write_page(&w, 0x1000, 1, 0, 0, NULL, 0, &err) == 0, "a directive");
	CHECK(igvm_write_policy(&w, 0x30000, 1, &err) == -1, "policy after a directive");
	igvm_writer_free(&w);
}

/* ------------------------------------------------ a bzImage of our own */

#define K_SETUP_SECTS 3
#define K_PM_LEN 10000u
#define K_LEN ((K_SETUP_SECTS + 1) * 512 + K_PM_LEN)
static uint8_t K[K_LEN];

/* A bzImage header as the boot protocol describes one (2.15, 64-bit,
 * relocatable), then K_PM_LEN bytes of "protected-mode code". */
static void kernel(void)
{
	memset(K, 0, sizeof K);
	K[BZ_SETUP_SECTS] = K_SETUP_SECTS;
	le16_put(K + BZ_BOOT_FLAG, 0xAA55);
	K[0x200] = 0xEB;
	K[0x201] = 0x6a; /* header ends at 0x26c */
	memcpy(K + BZ_MAGIC, "HdrS", 4);
	le16_put(K + BZ_VERSION, 0x020f);
	K[BZ_LOADFLAGS] = BZ_LOADED_HIGH;
	le32_put(K + BZ_INITRD_ADDR_MAX, 0x7fffffff);
	le32_put(K + BZ_KERNEL_ALIGNMENT, 0x200000);
	K[BZ_RELOCATABLE] = 1;
	K[0x235] = 21; /* min_alignment */
	le16_put(K + BZ_XLOADFLAGS, 0x3);
	le32_put(K + BZ_CMDLINE_SIZE, 0x7ff);
	le64_put(K + BZ_PREF_ADDRESS, 0x1000000);
	le32_put(K + BZ_INIT_SIZE, 0x2000000);
	le32_put(K + 0x268, 0x1234); /* kernel_info_offset: the last field of 2.15 */
	for (size_t i = 0; i < K_PM_LEN; i++)
		K[(K_SETUP_SECTS + 1) * 512 + i] = (uint8_t)(i * 7 + 1);
}

static const char *bz_refusal(size_t len)
{
	static struct uvm_err err;
	struct bzimage bz;
	memset(&err, 0, sizeof err);
	return bzimage_parse(K, len, &bz, &err) == 0 ? "(accepted)" : err.msg;
}

static void test_bzimage(void)
{
	struct bzimage bz;
	struct uvm_err err = {0};
	kernel();
	CHECK(bzimage_parse(K, K_LEN, &bz, &err) == 0, "our bzImage is accepted: %s", err.msg);
	CHECK(bz.pm_offset == 4 * 512 && bz.pm_len == K_PM_LEN && bz.hdr_end == 0x26c && bz.version == 0x20f &&
		      bz.init_size == 0x2000000 && bz.pref_address == 0x1000000 && bz.cmdline_size == 0x7ff,
	      "fields: protected-mode part after 3+1 sectors, header end, version, sizes");
	K[BZ_SETUP_SECTS] = 0;
	CHECK(bzimage_parse(K, K_LEN, &bz, &err) == 0 && bz.pm_offset == 5 * 512, "setup_sects 0 means 4");
	kernel();
	K[BZ_MAGIC] = 'h';
	CHECK_MSG(bz_refusal(K_LEN), "no \"HdrS\"", "no HdrS magic");
	CHECK_MSG(bz_refusal(0x100), "no \"HdrS\"", "a file shorter than the header");
	/* fuzz_bzimage found it (ASan: a read past the end): "HdrS" as the
	 * file's last 4 bytes, the version after them */
	kernel();
	CHECK_MSG(bz_refusal(0x206), "ends before the boot protocol version", "a file ending after \"HdrS\"");
	CHECK_MSG(bz_refusal(0x207), "ends before the boot protocol version", "... or one byte into the version");
	kernel();
	le16_put(K + BZ_BOOT_FLAG, 0x1234);
	CHECK_MSG(bz_refusal(K_LEN), "boot flag at 0x1fe is 0x1234", "boot flag");
	kernel();
	le16_put(K + BZ_VERSION, 0x020b);
	CHECK_MSG(bz_refusal(K_LEN), "boot protocol 2.11 is older than 2.12", "protocol 2.11");
	kernel();
	K[0x201] = 0x20;
	CHECK_MSG(bz_refusal(K_LEN), "the setup header ends at 0x222", "a header too short for 2.12");
	kernel();
	K[0x201] = 0xa0;
	CHECK_MSG(bz_refusal(K_LEN), "ends at 0x2a2", "a header past boot_params' room");
	kernel();
	CHECK_MSG(bz_refusal(0x260), "ends inside its setup header", "a file cut inside the header");
	CHECK_MSG(bz_refusal(4 * 512), "no protected-mode kernel", "nothing after the setup sectors");
	K[BZ_SETUP_SECTS] = 200;
	CHECK_MSG(bz_refusal(K_LEN), "200 setup sectors reach the end", "setup sectors past the end");
	kernel();
	le16_put(K + BZ_XLOADFLAGS, 0x2);
	CHECK_MSG(bz_refusal(K_LEN), "lack XLF_KERNEL_64", "no 64-bit entry point");
	kernel();
	K[BZ_LOADFLAGS] = 0;
	CHECK_MSG(bz_refusal(K_LEN), "lack LOADED_HIGH", "a zImage");
	kernel();
	K[BZ_RELOCATABLE] = 0;
	CHECK_MSG(bz_refusal(K_LEN), "relocatable_kernel is 0", "not relocatable");
	kernel();
	le32_put(K + BZ_KERNEL_ALIGNMENT, 0x300000);
	CHECK_MSG(bz_refusal(K_LEN), "kernel_alignment 0x300000", "alignment not a power of two");
	kernel();
	le32_put(K + BZ_INIT_SIZE, 0);
	CHECK_MSG(bz_refusal(K_LEN), "init_size 0x0", "init_size 0");
	kernel();
	le64_put(K + BZ_PREF_ADDRESS, 0x1000010);
	CHECK_MSG(bz_refusal(K_LEN), "pref_address 0x1000010", "pref_address not page aligned");
}

/* ------------------------------------------------ the Linux layout */

#define I_LEN 9000u
static uint8_t I[I_LEN];
static const char CMDLINE[] = "console=ttyS0 panic=-1";

static int build(unsigned memory_mb, const char *cmdline, size_t initrd_len, uint8_t **out, size_t *len,
		 struct igvm_linux_layout *lay, struct uvm_err *err)
{
	struct igvm_linux_input in = {K, K_LEN, I, initrd_len, cmdline, memory_mb};
	memset(err, 0, sizeof *err);
	return igvm_linux_build(&in, out, len, lay, err);
}

static const char *layout_refusal(unsigned memory_mb, const char *cmdline, size_t initrd_len)
{
	static struct uvm_err err;
	struct igvm_linux_layout lay;
	uint8_t *out;
	size_t len;
	if (build(memory_mb, cmdline, initrd_len, &out, &len, &lay, &err) == 0) {
		free(out);
		return "(accepted)";
	}
	return err.msg;
}

/* Every directive: sorted GPAs, RAM and special pages where igvm_linux.h
 * says, nothing measured twice (the replay checks that too). */
static void check_directives(const struct igvm_file *f, uint64_t memory_end)
{
	struct page_ref p;
	uint64_t next = 0, ram = 0;
	int sorted = 1, masks = 1, low_zero = 1, types = 1;
	size_t n = 0;
	for (; nth_page(f, n, &p) == 0; n++) {
		uint64_t size = (p.flags & IGVM_PAGE_FLAG_2MB) ? 2 * MIB : PAGE;
		sorted &= p.gpa >= next;
		next = p.gpa + size;
		masks &= p.mask == IGVM_LINUX_SNP_MASK && (p.flags & ~IGVM_PAGE_FLAG_2MB) == 0;
		if (p.gpa < IGVM_LINUX_LOW_RAM_END)
			low_zero &= !p.data && size == PAGE;
		if (p.gpa < IGVM_LINUX_LOW_RAM_END || p.gpa >= IGVM_LINUX_RESERVED_END)
			ram += size;
		types &= (p.gpa == IGVM_LINUX_CPUID) == (p.type == IGVM_DATA_CPUID) &&
			 (p.gpa == IGVM_LINUX_SECRETS) == (p.type == IGVM_DATA_SECRETS);
	}
	CHECK(sorted, "PAGE_DATA directives sorted by GPA, none overlapping");
	CHECK(masks, "every page for compatibility mask 1, measured, private");
	CHECK(low_zero, "0..512 KiB: 4 KiB pages without data");
	CHECK_EQ_INT(ram, IGVM_LINUX_LOW_RAM_END + memory_end - IGVM_LINUX_RESERVED_END,
		     "every RAM byte of the e820 table is a page of the image");
	CHECK(types, "the CPUID page at 0x8a000 and the secrets page at 0x8b000 have their data types");
	CHECK(next == memory_end, "the last page ends at the memory size");
}

static void check_boot_params(const uint8_t *bp, uint64_t memory_end)
{
	CHECK(memcmp(bp + BZ_HDR, K + BZ_HDR, BZ_TYPE_OF_LOADER - BZ_HDR) == 0 &&
		      memcmp(bp + 0x22c, K + 0x22c, BZ_SETUP_DATA - 0x22c) == 0 &&
		      memcmp(bp + 0x258, K + 0x258, 0x26c - 0x258) == 0,
	      "the kernel's setup header copied from 0x1f1 to its end (0x26c)");
	CHECK(bp[0x26c] == 0 && bp[0x1f0] == 0, "nothing else of the file copied");
	CHECK_EQ_INT(bp[0x210], 0xff, "type_of_loader 0xff");
	CHECK_EQ_INT(bp[0x211], 0x81, "loadflags LOADED_HIGH | CAN_USE_HEAP");
	CHECK_EQ_INT(le16_get(bp + 0x224), 0xfe00, "heap_end_ptr");
	CHECK_EQ_INT(le32_get(bp + 0x228), 0x88000, "cmd_line_ptr");
	CHECK_EQ_INT(le32_get(bp + 0x218), 0x4000000, "ramdisk_image 64 MiB");
	CHECK_EQ_INT(le32_get(bp + 0x21c), I_LEN, "ramdisk_size");
	CHECK_EQ_INT(le64_get(bp + 0x250), 0x89040, "setup_data: the SETUP_CC_BLOB entry");
	CHECK(le32_get(bp + 0xc0) == 0 && le32_get(bp + 0xc4) == 0 && le32_get(bp + 0xc8) == 0,
	      "ext_ramdisk_image/size, ext_cmd_line_ptr 0 (all below 4 GiB)");
	CHECK_EQ_INT(le32_get(bp + 0x13c), 0, "cc_blob_address left to the decompressor");
	CHECK_EQ_INT(bp[0x1ef], 0, "sentinel 0");
	CHECK_EQ_INT(le64_get(bp + 0x70), 0x8d000, "acpi_rsdp_addr: our RSDP (no scan of the BIOS area)");
	CHECK_EQ_INT(bp[0x1e8], 5, "five e820 entries");
	static const uint64_t want[5][3] = {
		{0, 0x80000, 1}, {0x80000, 0xd000, 2}, {0x8d000, 0x1000, 3}, {0x8e000, 0x72000, 2}, {0x100000, 0, 1}};
	int ok = 1;
	for (unsigned i = 0; i < 5; i++) {
		const uint8_t *e = bp + 0x2d0 + 20 * i;
		uint64_t size = i == 4 ? memory_end - 0x100000 : want[i][1];
		ok &= le64_get(e) == want[i][0] && le64_get(e + 8) == size && le32_get(e + 16) == want[i][2];
	}
	CHECK(ok, "e820: RAM 0..512K, reserved, ACPI 0x8d000, reserved ..1M, RAM 1M..memory");
	CHECK(le64_get(bp + 0x2d0 + 100 + 8) == 0, "no sixth entry");
}

static void check_vmsa(const uint8_t *v)
{
	CHECK(le16_get(v + 0x10) == 0x10 && le16_get(v + 0x12) == 0xa9b && le32_get(v + 0x14) == 0xffffffff,
	      "CS: __BOOT_CS, 64-bit code (L, G, P, S, type 0xb), flat");
	int ds = 1;
	for (unsigned o = 0; o <= 0x50; o += 0x10)
		if (o != 0x10)
			ds &= le16_get(v + o) == 0x18 && le16_get(v + o + 2) == 0xc93 &&
			      le32_get(v + o + 4) == 0xffffffff && le64_get(v + o + 8) == 0;
	CHECK(ds, "ES SS DS FS GS: __BOOT_DS, flat data");
	CHECK(le32_get(v + 0x64) == 0x1f && le64_get(v + 0x68) == 0x80000, "GDTR: the GDT at 0x80000, 4 entries");
	CHECK_EQ_INT(le64_get(v + 0xd0), 0x1500, "EFER LME|LMA|SVME");
	CHECK_EQ_INT(le64_get(v + 0x148), 0x60, "CR4 PAE|MCE");
	CHECK_EQ_INT(le64_get(v + 0x150), (1ull << 51) | 0x81000, "CR3 the PML4 with the C-bit");
	CHECK_EQ_INT(le64_get(v + 0x158), 0x80000011, "CR0 PE|ET|PG");
	CHECK_EQ_INT(le64_get(v + 0x170), 2, "RFLAGS: interrupts off");
	CHECK_EQ_INT(le64_get(v + 0x178), 0x100200, "RIP: startup_64 at load address + 0x200");
	CHECK_EQ_INT(le64_get(v + 0x1d8), 0x8d000, "RSP: top of the boot stack page");
	CHECK_EQ_INT(le64_get(v + 0x330), 0x87000, "RSI: boot_params");
	CHECK_EQ_INT(le64_get(v + 0x3b0), 1, "SEV features: SNPActive");
	CHECK(le64_get(v + 0x160) == 0x400 && le64_get(v + 0x168) == 0xffff0ff0 &&
		      le64_get(v + 0x268) == 0x0007040600070406ull && le64_get(v + 0x3e8) == 1 &&
		      le32_get(v + 0x408) == 0x1f80 && le16_get(v + 0x410) == 0x37f,
	      "DR7, DR6, PAT, XCR0, MXCSR, FCW: KVM's reset values");
}

static int sums_to_zero(const uint8_t *p, size_t n)
{
	unsigned sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += p[i];
	return (sum & 0xff) == 0;
}

/* ACPI 6.x: RSDP (36 bytes, revision 2), XSDT, MADT, FADT, DSDT with their
 * headers (test_igvm_acpi.c checks the tables' contents). */
static void check_acpi(const uint8_t *a)
{
	CHECK(a && memcmp(a, "RSD PTR ", 8) == 0 && a[15] == 2 && le32_get(a + 20) == 36 &&
		      le64_get(a + 24) == 0x8d040 && sums_to_zero(a, 20) && sums_to_zero(a, 36),
	      "RSDP: signature, revision 2, length 36, XSDT 0x8d040, both checksums");
	if (!a)
		return;
	const uint8_t *x = a + 0x40, *m = a + 0x80, *f = a + 0x100, *d = a + 0x240;
	CHECK(memcmp(x, "XSDT", 4) == 0 && le32_get(x + 4) == 52 && le64_get(x + 36) == 0x8d100 &&
		      le64_get(x + 44) == 0x8d080 && sums_to_zero(x, 52),
	      "XSDT: two entries, the FADT at 0x8d100 and the MADT at 0x8d080, checksum");
	CHECK(memcmp(m, "APIC", 4) == 0 && le32_get(m + 4) == 52 && le32_get(m + 36) == 0xfee00000 &&
		      le32_get(m + 40) == 0 && m[44] == 0 && m[45] == 8 && m[47] == 0 && le32_get(m + 48) == 1 &&
		      sums_to_zero(m, 52),
	      "MADT: local APIC 0xfee00000, no 8259, one enabled local APIC (ID 0), checksum");
	CHECK(memcmp(f, "FACP", 4) == 0 && le32_get(f + 4) == 276 && le32_get(f + 112) == 1u << 20 &&
		      le64_get(f + 140) == 0x8d240 && sums_to_zero(f, 276),
	      "FADT: hardware-reduced, X_DSDT 0x8d240, checksum");
	CHECK(memcmp(d, "DSDT", 4) == 0 && le32_get(d + 4) > 36 && 0x240 + le32_get(d + 4) <= PAGE &&
		      sums_to_zero(d, le32_get(d + 4)),
	      "DSDT: inside the ACPI page (e820 type 3), checksum");
}

static void check_low_pages(const struct igvm_file *f)
{
	const uint8_t *gdt = page_at(f, 0x80000), *pml4 = page_at(f, 0x81000), *pdpt = page_at(f, 0x82000);
	const uint64_t c = 1ull << 51;
	CHECK(gdt && le64_get(gdt) == 0 && le64_get(gdt + 0x10) == 0x00af9b000000ffffull &&
		      le64_get(gdt + 0x18) == 0x00cf93000000ffffull,
	      "GDT: 0x10 64-bit code, 0x18 data");
	CHECK(pml4 && le64_get(pml4) == (0x82000 | c | 0x63) && le64_get(pml4 + 8) == 0,
	      "PML4[0] -> PDPT, with the C-bit");
	int ok = pdpt != NULL;
	for (unsigned i = 0; ok && i < 4; i++) {
		const uint8_t *pd = page_at(f, 0x83000 + i * PAGE);
		ok &= pd && le64_get(pdpt + 8 * i) == ((0x83000 + i * PAGE) | c | 0x63);
		for (unsigned j = 0; ok && j < 512; j++)
			ok &= le64_get(pd + 8 * j) == (((uint64_t)i * 512 + j) * 2 * MIB | c | 0xe3);
	}
	CHECK(ok && le64_get(pdpt + 32) == 0, "PDPT -> 4 directories of 2 MiB pages: 0..4 GiB identity, C-bit");
	const uint8_t *cc = page_at(f, 0x89000), *cp = page_at(f, 0x8a000);
	CHECK(cc && le32_get(cc) == 0x45444d41 && le16_get(cc + 4) == 1 && le64_get(cc + 8) == 0x8b000 &&
		      le32_get(cc + 0x10) == PAGE && le64_get(cc + 0x18) == 0x8a000 && le32_get(cc + 0x20) == PAGE,
	      "cc_blob_sev_info: AMDE, version 1, secrets 0x8b000, CPUID 0x8a000, a page each");
	CHECK(cc && le64_get(cc + 0x40) == 0 && le32_get(cc + 0x48) == 7 && le32_get(cc + 0x4c) == 4 &&
		      le32_get(cc + 0x50) == 0x89000,
	      "setup_data at 0x89040: last, SETUP_CC_BLOB (7), 4 bytes, the blob's address");
	CHECK(cp && le32_get(cp) >= 20 && le32_get(cp) <= 64 && le32_get(cp + 16) == 0 && le32_get(cp + 16 + 48) == 1 &&
		      le32_get(cp + 16 + 40) == 0,
	      "CPUID page: a count of leaves (0x0, 0x1, ...), outputs zero for the VMM to fill");
	CHECK(page_at(f, 0x8b000) == NULL && page_at(f, 0x8c000) == NULL, "secrets and stack pages carry no data");
	check_acpi(page_at(f, 0x8d000));
}

static void test_linux(void)
{
	struct igvm_linux_layout lay;
	struct uvm_err err;
	struct igvm_file f;
	uint8_t *out, *again;
	size_t len, len2;
	kernel();
	for (size_t i = 0; i < I_LEN; i++)
		I[i] = (uint8_t)(i * 13 + 5);
	CHECK(build(128, CMDLINE, I_LEN, &out, &len, &lay, &err) == 0, "layout built: %s", err.msg);
	CHECK(lay.kernel_end == 0x100000 + 3 * PAGE && lay.decompress_start == 0x1000000 &&
		      lay.decompress_end == 0x3000000 && lay.initrd_end == 0x4000000 + 3 * PAGE &&
		      lay.memory_end == 128 * MIB,
	      "layout: kernel 1 MiB + 3 pages, decompression at pref_address, initrd at 64 MiB");
	CHECK(igvm_parse(out, len, &f, &err) == 0, "read back by igvm_parse: %s", err.msg);
	CHECK(f.snp_mask == 1 && f.policy == 0x30000 && f.platform_version == 1, "SNP platform mask 1, policy 0x30000");
	CHECK(le32_get(out + 24) == IGVM_SUPPORTED_PLATFORM && out[24 + 8 + 4] == 0 && out[24 + 8 + 5] == 2 &&
		      le64_get(out + 24 + 8 + 8) == 0,
	      "first entry: platform SEV-SNP, highest VTL 0, shared GPA boundary 0");
	check_directives(&f, 128 * MIB);
	int kernel_ok = 1;
	for (unsigned i = 0; i < 3; i++) {
		const uint8_t *p = page_at(&f, 0x100000 + i * PAGE);
		size_t n = i < 2 ? PAGE : K_PM_LEN - 2 * PAGE;
		kernel_ok &= p && memcmp(p, K + 4 * 512 + i * PAGE, n) == 0 && (n == PAGE || p[n] == 0);
	}
	CHECK(kernel_ok, "the bzImage after its setup sectors at 1 MiB, the last page padded with zeros");
	const uint8_t *ip = page_at(&f, 0x4000000 + 2 * PAGE);
	CHECK(page_at(&f, 0x4000000) && memcmp(page_at(&f, 0x4000000), I, PAGE) == 0 && ip &&
		      memcmp(ip, I + 2 * PAGE, I_LEN - 2 * PAGE) == 0 && ip[I_LEN - 2 * PAGE] == 0,
	      "the initrd at 64 MiB, padded");
	const uint8_t *cl = page_at(&f, 0x88000);
	CHECK(cl && strcmp((const char *)cl, CMDLINE) == 0 && cl[PAGE - 1] == 0,
	      "the command line page, NUL-terminated");
	check_boot_params(page_at(&f, 0x87000), 128 * MIB);
	check_low_pages(&f);
	uint64_t vgpa = 0;
	unsigned nvp;
	const uint8_t *vmsa = vp_context(&f, &vgpa, &nvp);
	CHECK(nvp == 1 && vgpa == 0xFFFFFFFFF000ull, "one VP context, at KVM's VMSA GPA");
	check_vmsa(vmsa);

	struct igvm_request q = {IGVM_VMM_QEMU, 1, 0};
	struct igvm_result res;
	CHECK(igvm_measure(&f, &q, &res, NULL, &err) == 0 && !res.vmsa_gpa_other && res.vp_contexts == 1,
	      "qemu replay, no note on the VMSA GPA: %s", err.msg);
	CHECK_EQ_INT(res.pages, 128 * MIB / PAGE - (0x100000 - 0x8e000) / PAGE + 1,
		     "every page measured once, the VMSA last");
	q.vmm = IGVM_VMM_HYPERV;
	CHECK(igvm_measure(&f, &q, &res, NULL, &err) == 0, "hyperv replay: %s", err.msg);

	CHECK(build(128, CMDLINE, I_LEN, &again, &len2, &lay, &err) == 0 && len2 == len && memcmp(out, again, len) == 0,
	      "built twice: the same bytes");
	free(again);
	free(out);
}

static void test_linux_refusals(void)
{
	char longline[0x900];
	kernel();
	memset(longline, 'x', sizeof longline - 1);
	longline[sizeof longline - 1] = 0;
	longline[0x7ff] = 0;
	CHECK_MSG(layout_refusal(128, longline, I_LEN), "(accepted)", "a command line of cmdline_size bytes fits");
	longline[0x7ff] = 'x';
	longline[0x800] = 0;
	CHECK_MSG(layout_refusal(128, longline, I_LEN), "has 2048 bytes; the kernel takes at most 2047",
		  "one byte over cmdline_size");
	le32_put(K + BZ_CMDLINE_SIZE, 0x2000);
	longline[0x800] = 'x';
	CHECK_MSG(layout_refusal(128, longline, I_LEN), "(accepted)", "0x8ff bytes under a larger cmdline_size");
	static char huge[PAGE + 1];
	memset(huge, 'y', PAGE);
	CHECK_MSG(layout_refusal(128, huge, I_LEN), "must fit in one 4096-byte page", "a command line over a page");
	kernel();
	CHECK_MSG(layout_refusal(128, "console=ttyS0\nx", I_LEN), "control character (0x0a) at byte 13", "a newline");
	CHECK_MSG(layout_refusal(128, CMDLINE, 0), "the initrd is empty", "empty initrd");
	CHECK_MSG(layout_refusal(64, CMDLINE, I_LEN), "64 MiB is too small for the layout", "memory below the initrd");
	CHECK_MSG(layout_refusal(64, CMDLINE, I_LEN), "give at least 65 MiB", "... with the minimum");
	CHECK_MSG(layout_refusal(65, CMDLINE, I_LEN), "(accepted)", "the minimum is accepted");
	CHECK_MSG(layout_refusal(2817, CMDLINE, I_LEN), "outside 1..2816 MiB", "memory above the limit");
	le32_put(K + BZ_INITRD_ADDR_MAX, 0x4000000 + 100);
	CHECK_MSG(layout_refusal(128, CMDLINE, I_LEN), "past the kernel's initrd_addr_max 0x4000064",
		  "initrd past initrd_addr_max");
	kernel();
	le32_put(K + BZ_INIT_SIZE, 0x3000001);
	CHECK_MSG(layout_refusal(128, CMDLINE, I_LEN), "decompresses itself into 0x1000000-0x4000001",
		  "init_size reaching the initrd");
	kernel();
	{
		/* a protected-mode part of 63 MiB + 1 byte: past 64 MiB from 1 MiB */
		size_t big_len = 4 * 512 + (63u << 20) + 1;
		uint8_t *big = calloc(1, big_len);
		struct igvm_linux_input in = {big, big_len, I, I_LEN, CMDLINE, 256};
		struct igvm_linux_layout lay;
		struct uvm_err err = {0};
		uint8_t *out = NULL;
		size_t len;
		if (big)
			memcpy(big, K, 4 * 512);
		CHECK(big && igvm_linux_build(&in, &out, &len, &lay, &err) == -1 && !out, "a kernel too large");
		CHECK_MSG(err.msg, "does not fit between 1 MiB and the initrd", "... by its message");
		free(big);
	}
	memcpy(K + BZ_MAGIC, "HdrZ", 4);
	CHECK_MSG(layout_refusal(128, CMDLINE, I_LEN), "not a bzImage", "the bzImage check comes first");
}

int main(void)
{
	test_writer_layout();
	test_writer_refusals();
	test_bzimage();
	test_linux();
	test_linux_refusals();
	return check_done();
}
