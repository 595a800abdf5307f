/* Linux direct boot as an IGVM file (see igvm_linux.h and docs/hyperv.md).
 * Our own code, from the Linux x86 boot protocol (boot.rst, zero-page.rst,
 * bootparam.h), the SNP firmware ABI (the CPUID page) and the IGVM format. */
#include "igvm_linux.h"
#include "bzimage.h"
#include "igvm_acpi.h"
#include "igvm_write.h"
#include "igvm_x86.h"
#include "le.h"

#include <stdlib.h>
#include <string.h>

#define PAGE IGVM_PAGE
#define HUGE IGVM_HUGE_PAGE
#define MIB (1ull << 20)
#define ALIGN_UP(x, a) (((x) + (a)-1) / (a) * (a))

#define E820_RAM 1u
#define E820_RESERVED 2u
#define E820_ACPI 3u

/* CPUID leaves (function, subfunction) the SNP CPUID page asks the VMM to
 * fill: the ones a Linux guest reads, with the range maxima 0x0 and
 * 0x80000000 it checks the others against. */
static const struct {
	uint32_t fn, sub;
} CPUID_LEAVES[] = {
	{0x0, 0},        {0x1, 0},        {0x2, 0},        {0x4, 0},        {0x4, 1},        {0x4, 2},
	{0x4, 3},        {0x5, 0},        {0x6, 0},        {0x7, 0},        {0x7, 1},        {0xb, 0},
	{0xb, 1},        {0xd, 0},        {0xd, 1},        {0x80000000, 0}, {0x80000001, 0}, {0x80000002, 0},
	{0x80000003, 0}, {0x80000004, 0}, {0x80000005, 0}, {0x80000006, 0}, {0x80000007, 0}, {0x80000008, 0},
	{0x8000000a, 0}, {0x80000019, 0}, {0x8000001a, 0}, {0x8000001d, 0}, {0x8000001d, 1}, {0x8000001d, 2},
	{0x8000001d, 3}, {0x8000001e, 0}, {0x8000001f, 0}, {0x80000021, 0},
};

struct build {
	const struct igvm_linux_input *in;
	struct bzimage bz;
	struct igvm_linux_layout *lay;
	struct igvm_writer w;
	struct uvm_err *err;
};

static int check_cmdline(const struct build *b)
{
	const char *s = b->in->cmdline;
	size_t n = strlen(s);
	if (n > b->bz.cmdline_size)
		return uvm_fail(b->err, 0,
				"the command line has %zu bytes; the kernel takes at most %u (its cmdline_size)", n,
				b->bz.cmdline_size);
	if (n + 1 > PAGE)
		return uvm_fail(b->err, 0,
				"the command line has %zu bytes; with its NUL it must fit in one %u-byte page", n,
				PAGE);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return uvm_fail(b->err, 0,
					"the command line has a control character (0x%02x) at byte %zu; give "
					"printable text",
					(unsigned char)s[i], i);
	return 0;
}

/* Where everything goes, and whether it fits. */
static int plan(struct build *b)
{
	const struct bzimage *bz = &b->bz;
	struct igvm_linux_layout *l = b->lay;
	const uint64_t mib = b->in->memory_mb;
	l->kernel_end = IGVM_LINUX_KERNEL + ALIGN_UP((uint64_t)bz->pm_len, PAGE);
	/* startup_64 of a relocatable kernel decompresses it at the load address
	 * aligned up to kernel_alignment, but never below pref_address
	 * (LOAD_PHYSICAL_ADDR), into init_size bytes. */
	l->decompress_start = ALIGN_UP(IGVM_LINUX_KERNEL, (uint64_t)bz->kernel_alignment);
	if (l->decompress_start < bz->pref_address)
		l->decompress_start = bz->pref_address;
	l->decompress_end = l->decompress_start + bz->init_size;
	if (l->kernel_end > IGVM_LINUX_INITRD)
		return uvm_fail(b->err, 0,
				"the kernel's protected-mode part (%zu bytes) does not fit between 1 MiB and the "
				"initrd at 0x%llx",
				bz->pm_len, IGVM_LINUX_INITRD);
	if (l->decompress_end > IGVM_LINUX_INITRD)
		return uvm_fail(b->err, 0,
				"the kernel decompresses itself into 0x%llx-0x%llx (init_size 0x%x), past the initrd "
				"at 0x%llx; this layout needs an init_size that ends below it",
				(unsigned long long)l->decompress_start, (unsigned long long)l->decompress_end,
				bz->init_size, IGVM_LINUX_INITRD);
	if (b->in->initrd_len == 0)
		return uvm_fail(b->err, 0, "the initrd is empty; give the initrd the image boots");
	if (IGVM_LINUX_INITRD + b->in->initrd_len - 1 > bz->initrd_addr_max)
		return uvm_fail(b->err, 0,
				"the initrd (%zu bytes at 0x%llx) ends past the kernel's initrd_addr_max 0x%x; it is "
				"too large for this layout",
				b->in->initrd_len, IGVM_LINUX_INITRD, bz->initrd_addr_max);
	l->initrd_end = IGVM_LINUX_INITRD + ALIGN_UP((uint64_t)b->in->initrd_len, PAGE);
	if (mib < 1 || mib > IGVM_LINUX_MAX_MEMORY_MB)
		return uvm_fail(b->err, 0, "a memory size of %llu MiB is outside 1..%u MiB", (unsigned long long)mib,
				IGVM_LINUX_MAX_MEMORY_MB);
	l->memory_end = mib * MIB;
	if (l->memory_end < l->initrd_end)
		return uvm_fail(b->err, 0,
				"a memory size of %llu MiB is too small for the layout: the initrd ends at 0x%llx; "
				"give at least %llu MiB",
				(unsigned long long)mib, (unsigned long long)l->initrd_end,
				(unsigned long long)ALIGN_UP(l->initrd_end, MIB) / MIB);
	return 0;
}

static void e820(uint8_t *bp, unsigned i, uint64_t addr, uint64_t size, uint32_t type)
{
	uint8_t *e = bp + BP_E820_TABLE + 20 * i;
	le64_put(e, addr);
	le64_put(e + 8, size);
	le32_put(e + 16, type);
}

/* The zero page: the kernel's own setup header (0x1f1 to its end, as the
 * boot protocol says to copy it), then what this loader sets. */
static void boot_params(const struct build *b, uint8_t bp[PAGE])
{
	memset(bp, 0, PAGE);
	memcpy(bp + BZ_HDR, b->in->kernel + BZ_HDR, b->bz.hdr_end - BZ_HDR);
	bp[BZ_TYPE_OF_LOADER] = 0xff; /* undefined loader */
	bp[BZ_LOADFLAGS] |= BZ_CAN_USE_HEAP;
	le16_put(bp + BZ_HEAP_END_PTR, 0xfe00);
	le32_put(bp + BZ_RAMDISK_IMAGE, (uint32_t)IGVM_LINUX_INITRD);
	le32_put(bp + BZ_RAMDISK_SIZE, (uint32_t)b->in->initrd_len);
	le32_put(bp + BZ_CMD_LINE_PTR, (uint32_t)IGVM_LINUX_CMDLINE);
	le64_put(bp + BZ_SETUP_DATA, IGVM_LINUX_SETUP_DATA);
	/* ext_* (the high 32 bits), cc_blob_address (the decompressor sets it
	 * itself from the setup_data entry), the sentinel: zero. */
	le64_put(bp + BP_ACPI_RSDP_ADDR, IGVM_LINUX_ACPI);
	bp[BP_E820_ENTRIES] = IGVM_LINUX_E820_ENTRIES;
	e820(bp, 0, 0, IGVM_LINUX_LOW_RAM_END, E820_RAM);
	e820(bp, 1, IGVM_LINUX_LOW_RAM_END, IGVM_LINUX_ACPI - IGVM_LINUX_LOW_RAM_END, E820_RESERVED);
	e820(bp, 2, IGVM_LINUX_ACPI, PAGE, E820_ACPI);
	e820(bp, 3, IGVM_LINUX_ACPI + PAGE, IGVM_LINUX_RESERVED_END - IGVM_LINUX_ACPI - PAGE, E820_RESERVED);
	e820(bp, 4, IGVM_LINUX_RESERVED_END, b->lay->memory_end - IGVM_LINUX_RESERVED_END, E820_RAM);
}

/* struct cc_blob_sev_info at 0, struct setup_data {next, type, len} with
 * the blob's address (struct cc_setup_data) at 0x40. */
static void cc_blob(uint8_t page[PAGE])
{
	memset(page, 0, PAGE);
	le32_put(page, CC_BLOB_MAGIC);
	le16_put(page + 4, CC_BLOB_VERSION);
	le64_put(page + 8, IGVM_LINUX_SECRETS);
	le32_put(page + 0x10, PAGE);
	le64_put(page + 0x18, IGVM_LINUX_CPUID);
	le32_put(page + 0x20, PAGE);
	uint8_t *sd = page + (IGVM_LINUX_SETUP_DATA - IGVM_LINUX_CC_BLOB);
	le64_put(sd, 0); /* no next entry */
	le32_put(sd + 8, SETUP_CC_BLOB);
	le32_put(sd + 12, 4);
	le32_put(sd + 16, (uint32_t)IGVM_LINUX_CC_BLOB);
}

static void cpuid_page(uint8_t page[PAGE])
{
	const size_t n = sizeof CPUID_LEAVES / sizeof CPUID_LEAVES[0];
	memset(page, 0, PAGE);
	le32_put(page, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		uint8_t *e = page + 16 + SNP_CPUID_ENTRY_LEN * i;
		le32_put(e, CPUID_LEAVES[i].fn);
		le32_put(e + 4, CPUID_LEAVES[i].sub);
	}
}

static int page(struct build *b, uint64_t gpa, uint32_t flags, uint16_t type, const uint8_t *data, size_t len)
{
	b->lay->pages++;
	b->lay->huge_pages += !!(flags & IGVM_PAGE_FLAG_2MB);
	b->lay->data_pages += data != NULL;
	return igvm_write_page(&b->w, gpa, IGVM_LINUX_SNP_MASK, flags, type, data, len, b->err);
}

/* RAM without data in [from, to) (page aligned): 2 MiB pages where a whole
 * aligned 2 MiB fits, 4 KiB pages around them. */
static int zeros(struct build *b, uint64_t from, uint64_t to)
{
	for (uint64_t gpa = from; gpa < to;) {
		int huge = gpa % HUGE == 0 && to - gpa >= HUGE;
		if (page(b, gpa, huge ? IGVM_PAGE_FLAG_2MB : 0, IGVM_DATA_NORMAL, NULL, 0))
			return -1;
		gpa += huge ? HUGE : PAGE;
	}
	return 0;
}

/* len bytes at gpa upward, one 4 KiB page each, the last padded with zeros. */
static int data(struct build *b, uint64_t gpa, const uint8_t *src, size_t len)
{
	for (size_t off = 0; off < len; off += PAGE)
		if (page(b, gpa + off, 0, IGVM_DATA_NORMAL, src + off, len - off < PAGE ? len - off : PAGE))
			return -1;
	return 0;
}

/* Everything below 1 MiB: low RAM, the boot structures, the special pages. */
static int low_pages(struct build *b)
{
	static uint8_t pt[IGVM_X86_PT_PAGES][PAGE];
	uint8_t p[PAGE];
	if (zeros(b, 0, IGVM_LINUX_LOW_RAM_END))
		return -1;
	igvm_x86_gdt(p);
	if (data(b, IGVM_LINUX_GDT, p, PAGE))
		return -1;
	igvm_x86_page_tables(pt, IGVM_LINUX_PAGE_TABLES);
	if (data(b, IGVM_LINUX_PAGE_TABLES, &pt[0][0], sizeof pt))
		return -1;
	boot_params(b, p);
	if (data(b, IGVM_LINUX_BOOT_PARAMS, p, PAGE))
		return -1;
	if (data(b, IGVM_LINUX_CMDLINE, (const uint8_t *)b->in->cmdline, strlen(b->in->cmdline) + 1))
		return -1;
	cc_blob(p);
	if (data(b, IGVM_LINUX_CC_BLOB, p, PAGE))
		return -1;
	cpuid_page(p);
	if (page(b, IGVM_LINUX_CPUID, 0, IGVM_DATA_CPUID, p, PAGE) ||
	    page(b, IGVM_LINUX_SECRETS, 0, IGVM_DATA_SECRETS, NULL, 0))
		return -1;
	if (zeros(b, IGVM_LINUX_STACK, IGVM_LINUX_STACK + PAGE))
		return -1;
	igvm_acpi_tables(p, IGVM_LINUX_ACPI);
	return data(b, IGVM_LINUX_ACPI, p, PAGE);
}

static int emit(struct build *b)
{
	const struct igvm_linux_layout *l = b->lay;
	uint8_t vmsa[PAGE];
	struct igvm_x86_entry e = {.rip = IGVM_LINUX_KERNEL + BZ_ENTRY_64,
				   .rsp = IGVM_LINUX_STACK + PAGE,
				   .rsi = IGVM_LINUX_BOOT_PARAMS,
				   .pml4 = IGVM_LINUX_PAGE_TABLES,
				   .gdt = IGVM_LINUX_GDT};
	if (igvm_write_platform(&b->w, IGVM_LINUX_SNP_MASK, 0, IGVM_PLATFORM_SEV_SNP, IGVM_SEV_SNP_PLATFORM_VERSION, 0,
				b->err) ||
	    igvm_write_policy(&b->w, IGVM_LINUX_POLICY, IGVM_LINUX_SNP_MASK, b->err) || low_pages(b) ||
	    data(b, IGVM_LINUX_KERNEL, b->in->kernel + b->bz.pm_offset, b->bz.pm_len) ||
	    zeros(b, l->kernel_end, IGVM_LINUX_INITRD) ||
	    data(b, IGVM_LINUX_INITRD, b->in->initrd, b->in->initrd_len) || zeros(b, l->initrd_end, l->memory_end))
		return -1;
	igvm_x86_vmsa(vmsa, &e);
	return igvm_write_vp_context(&b->w, IGVM_LINUX_VMSA, IGVM_LINUX_SNP_MASK, 0, vmsa, b->err);
}

int igvm_linux_build(const struct igvm_linux_input *in, uint8_t **out, size_t *len, struct igvm_linux_layout *lay,
		     struct uvm_err *err)
{
	struct build b = {.in = in, .lay = lay, .err = err};
	int rc;
	*out = NULL;
	*len = 0;
	memset(lay, 0, sizeof *lay);
	if (bzimage_parse(in->kernel, in->kernel_len, &b.bz, err) || check_cmdline(&b) || plan(&b))
		return -1;
	igvm_writer_init(&b.w);
	rc = emit(&b);
	if (rc == 0)
		rc = igvm_write_finish(&b.w, out, len, err);
	igvm_writer_free(&b.w);
	return rc;
}
