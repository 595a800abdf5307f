/* IGVM parser and replay: files built in memory by a small writer (below,
 * from the format definition), each kind of malformed file refused with a
 * message naming the problem. The digest itself is checked against an
 * independent Python derivation in tests/test_measure_igvm.py. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "hash.h"
#include "igvm_measure.h"
#include "igvm_parse.h"
#include "le.h"

#define PAGE 4096u
#define SNP 0x2u

/* ------------------------------------------------ a small IGVM writer */

static struct {
	uint8_t vh[16384];
	size_t vh_len;
	uint8_t data[4u << 20];
	size_t data_len;
	size_t patch[64]; /* vh offsets of file_offset fields holding data offsets */
	int n_patch;
} W;
static uint8_t F[5u << 20];

static void w_reset(void)
{
	memset(&W, 0, sizeof W);
}

static void tlv(uint32_t type, const void *v, uint32_t len)
{
	le32_put(W.vh + W.vh_len, type);
	le32_put(W.vh + W.vh_len + 4, len);
	memcpy(W.vh + W.vh_len + 8, v, len);
	W.vh_len += 8 + ((len + 7u) & ~7u);
}

/* Appends data; the u32 at value offset `field` of the next TLV points to it. */
static void with_data(const uint8_t *data, size_t len, size_t field, uint8_t *v)
{
	le32_put(v + field, (uint32_t)W.data_len);
	memcpy(W.data + W.data_len, data, len);
	W.data_len += len;
	W.patch[W.n_patch++] = W.vh_len + 8 + field;
}

static void platform(uint32_t mask, uint8_t type)
{
	uint8_t v[16] = {0};
	le32_put(v, mask);
	v[5] = type;
	le16_put(v + 6, 1);
	tlv(IGVM_SUPPORTED_PLATFORM, v, 16);
}

static void policy(uint32_t mask)
{
	uint8_t v[16] = {0};
	le64_put(v, 0x30000);
	le32_put(v + 8, mask);
	tlv(IGVM_GUEST_POLICY, v, 16);
}

static void page(uint64_t gpa, const uint8_t *data, uint32_t flags, uint16_t dtype)
{
	uint8_t v[24] = {0};
	le64_put(v, gpa);
	le32_put(v + 8, SNP);
	le32_put(v + 16, flags);
	le16_put(v + 20, dtype);
	if (data)
		with_data(data, flags & 1 ? 512 * PAGE : PAGE, 12, v);
	tlv(IGVM_PAGE_DATA, v, 24);
}

static void area(uint64_t bytes, uint32_t index)
{
	uint8_t v[16] = {0};
	le64_put(v, bytes);
	le32_put(v + 8, index);
	tlv(IGVM_PARAMETER_AREA, v, 16);
}

static void insert(uint64_t gpa, uint32_t index)
{
	uint8_t v[16] = {0};
	le64_put(v, gpa);
	le32_put(v + 8, SNP);
	le32_put(v + 12, index);
	tlv(IGVM_PARAMETER_INSERT, v, 16);
}

static void vp(uint64_t gpa, uint16_t index, const uint8_t *vmsa)
{
	uint8_t v[20] = {0};
	le64_put(v, gpa);
	le32_put(v + 8, SNP);
	le16_put(v + 16, index);
	with_data(vmsa, PAGE, 12, v);
	tlv(IGVM_VP_CONTEXT, v, 20);
}

static void fix_crc(uint8_t *f)
{
	le32_put(f + 20, 0);
	uint32_t crc = igvm_crc32(0, f, IGVM_FIXED_LEN);
	le32_put(f + 20, igvm_crc32(crc, f + le32_get(f + 8), le32_get(f + 12)));
}

/* Header, variable header, then the data; returns the file length. */
static size_t finish(void)
{
	size_t data_off = IGVM_FIXED_LEN + W.vh_len, total = data_off + W.data_len;
	for (int i = 0; i < W.n_patch; i++)
		le32_put(W.vh + W.patch[i], le32_get(W.vh + W.patch[i]) + (uint32_t)data_off);
	memset(F, 0, IGVM_FIXED_LEN);
	le32_put(F, IGVM_MAGIC);
	le32_put(F + 4, 1);
	le32_put(F + 8, IGVM_FIXED_LEN);
	le32_put(F + 12, (uint32_t)W.vh_len);
	le32_put(F + 16, (uint32_t)total);
	memcpy(F + IGVM_FIXED_LEN, W.vh, W.vh_len);
	memcpy(F + data_off, W.data, W.data_len);
	fix_crc(F);
	return total;
}

static const uint8_t DATA[PAGE] = {1, 2, 3}, VMSA[PAGE] = {0x5a};

static void basic(void)
{
	w_reset();
	platform(SNP, IGVM_PLATFORM_SEV_SNP);
	policy(SNP);
	page(0x1000, DATA, 0, 0);
}

/* Parses and replays; returns 0 or -1 with err set. */
static int run(size_t len, enum igvm_vmm vmm, unsigned vcpus, struct igvm_result *res, struct uvm_err *err)
{
	struct igvm_file f;
	struct igvm_request q = {vmm, vcpus, 0};
	memset(err, 0, sizeof *err);
	if (igvm_parse(F, len, &f, err))
		return -1;
	return igvm_measure(&f, &q, res, NULL, err);
}

static const char *refusal(size_t len)
{
	static struct uvm_err err;
	struct igvm_result res;
	return run(len, IGVM_VMM_HYPERV, 1, &res, &err) == 0 ? "(accepted)" : err.msg;
}

/* ------------------------------------------------ tests */

static void test_crc32(void)
{
	/* the standard check value of CRC-32/ISO-HDLC */
	CHECK_EQ_INT(igvm_crc32(0, (const uint8_t *)"123456789", 9), 0xCBF43926u, "CRC-32 check value");
	CHECK_EQ_INT(igvm_crc32(igvm_crc32(0, (const uint8_t *)"1234", 4), (const uint8_t *)"56789", 5), 0xCBF43926u,
		     "CRC-32 continues across calls");
}

static void test_chain(void)
{
	struct igvm_result res;
	struct uvm_err err;
	uint8_t ld[SNP_LD_LEN] = {0}, h[SNP_LD_LEN], z[SNP_LD_LEN];
	static const uint8_t zero[PAGE];
	basic();
	page(0x2000, NULL, 0, 0);
	area(2 * PAGE, 5);
	insert(0x3000, 5);
	vp(0x10000, 0, VMSA);
	size_t len = finish();
	CHECK_EQ_INT(run(len, IGVM_VMM_HYPERV, 1, &res, &err), 0, "hyperv replay: %s", err.msg);
	uvm_sha384(DATA, PAGE, h);
	uvm_sha384(zero, PAGE, z);
	snp_ld_update(ld, h, SNP_PAGE_NORMAL, 0x1000);
	snp_ld_update(ld, z, SNP_PAGE_NORMAL, 0x2000);
	snp_ld_update(ld, NULL, SNP_PAGE_UNMEASURED, 0x3000);
	snp_ld_update(ld, NULL, SNP_PAGE_UNMEASURED, 0x4000);
	uvm_sha384(VMSA, PAGE, h);
	snp_ld_update(ld, h, SNP_PAGE_VMSA, 0x10000);
	CHECK(memcmp(ld, res.ld, SNP_LD_LEN) == 0, "hyperv: the PAGE_INFO chain in file order");
	CHECK_EQ_INT(res.pages, 5, "five updates");
	CHECK_EQ_INT(run(len, IGVM_VMM_QEMU, 1, &res, &err), 0, "qemu replay: %s", err.msg);
	CHECK(res.vmsa_gpa_other && res.vmsa_gpa == 0x10000, "qemu: the VP context's other GPA is reported");
	CHECK_EQ_INT(run(len, IGVM_VMM_QEMU, 2, &res, &err), -1, "qemu: a second vCPU needs vp_index 1");
	CHECK_MSG(err.msg, "vp_index 1", "the missing index is named");
}

static void test_huge_page(void)
{
	static uint8_t big[512 * PAGE];
	struct igvm_result res;
	struct uvm_err err;
	uint8_t ld[SNP_LD_LEN] = {0}, h[SNP_LD_LEN];
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (uint8_t)(i / PAGE);
	w_reset();
	platform(SNP, IGVM_PLATFORM_SEV_SNP);
	policy(SNP);
	page(0x200000, big, 1, 0);
	CHECK_EQ_INT(run(finish(), IGVM_VMM_HYPERV, 1, &res, &err), 0, "2 MiB page: %s", err.msg);
	for (unsigned i = 0; i < 512; i++) {
		uvm_sha384(big + i * PAGE, PAGE, h);
		snp_ld_update(ld, h, SNP_PAGE_NORMAL, 0x200000 + i * PAGE);
	}
	CHECK(memcmp(ld, res.ld, SNP_LD_LEN) == 0 && res.pages == 512, "2 MiB page: 512 4 KiB updates");
}

static void test_header_refusals(void)
{
	size_t len;
	basic();
	len = finish();
	CHECK_MSG(refusal(len), "(accepted)", "the basic file is accepted");
	F[0] ^= 1;
	CHECK_MSG(refusal(len), "no \"IGVM\" magic", "bad magic");
	basic();
	len = finish();
	le32_put(F + 4, 2);
	fix_crc(F);
	CHECK_MSG(refusal(len), "version 2 is not supported", "version 2");
	basic();
	len = finish();
	F[20] ^= 1;
	CHECK_MSG(refusal(len), "checksum mismatch", "checksum mismatch");
	basic();
	len = finish();
	CHECK_MSG(refusal(len - 1), "total_file_size", "total size mismatch");
	basic();
	len = finish();
	le32_put(F + 8, 28);
	fix_crc(F);
	CHECK_MSG(refusal(len), "misaligned", "misaligned variable header");
}

static void test_tlv_refusals(void)
{
	size_t len;
	basic();
	tlv(0x80000999, "x", 1);
	CHECK_MSG(refusal(finish()), "(accepted)", "an unknown ignorable type is skipped");
	basic();
	tlv(0x80000999, "x", 1);
	len = finish();
	F[IGVM_FIXED_LEN + W.vh_len - 1] = 7;
	fix_crc(F);
	CHECK_MSG(refusal(len), "nonzero padding", "nonzero padding");
	basic();
	tlv(0x80000999, "x", 1);
	len = finish();
	le32_put(F + IGVM_FIXED_LEN + W.vh_len - 16 + 4, 64);
	fix_crc(F);
	CHECK_MSG(refusal(len), "runs past the header's end", "an entry past the end");
	basic();
	tlv(0x777, "xxxx", 4);
	CHECK_MSG(refusal(finish()), "unknown variable header type 0x777", "an unknown required type, by number");
	basic();
	policy(SNP);
	CHECK_MSG(refusal(finish()), "after a later section", "a policy after a directive");
	w_reset();
	platform(0x1, 3);
	policy(0x1);
	CHECK_MSG(refusal(finish()), "no SEV-SNP SUPPORTED_PLATFORM", "no SNP platform");
	w_reset();
	platform(SNP, IGVM_PLATFORM_SEV_SNP);
	CHECK_MSG(refusal(finish()), "no GUEST_POLICY", "no guest policy");
	w_reset();
	platform(SNP, IGVM_PLATFORM_SEV_SNP);
	policy(SNP);
	uint8_t reloc[40] = {0};
	le32_put(reloc, SNP);
	tlv(IGVM_RELOCATABLE_REGION, reloc, 40);
	CHECK_MSG(refusal(finish()), "RELOCATABLE_REGION", "relocation is refused by name");
}

static void test_directive_refusals(void)
{
	size_t len;
	basic();
	len = finish();
	le32_put(F + IGVM_FIXED_LEN + W.vh_len - 24 + 12, (uint32_t)len - 100);
	fix_crc(F);
	CHECK_MSG(refusal(len), "not inside the file", "page data outside the file");
	basic();
	page(0x2800, NULL, 0, 0);
	CHECK_MSG(refusal(finish()), "GPA 0x2800 is not page aligned", "unaligned GPA");
	basic();
	page(0x2000, NULL, 0x10, 0);
	CHECK_MSG(refusal(finish()), "reserved flag bits 0x10", "reserved flag bits");
	basic();
	area(PAGE, 3);
	area(PAGE, 3);
	CHECK_MSG(refusal(finish()), "index 3 is declared twice", "duplicate parameter area index");
	basic();
	area(8ull << 30, 4);
	CHECK_MSG(refusal(finish()), "at most 1048576 of them", "a parameter area beyond 4 GiB");
	{
		/* a caller's smaller bound (the fuzzer's) is the limit instead */
		struct igvm_file f;
		struct igvm_result res;
		struct uvm_err err = {0};
		struct igvm_request q = {IGVM_VMM_HYPERV, 1, 16};
		basic();
		area(32 * PAGE, 5);
		size_t n = finish();
		CHECK(igvm_parse(F, n, &f, &err) == 0 && igvm_measure(&f, &q, &res, NULL, &err) == -1 &&
			      strstr(err.msg, "at most 16 of them"),
		      "a 32-page area over a 16-page bound: %s", err.msg);
	}
	basic();
	insert(0x5000, 9);
	CHECK_MSG(refusal(finish()), "index 9 is not declared", "insert of an undeclared index");
	basic();
	area(PAGE, 1);
	insert(0x5000, 1);
	insert(0x6000, 1);
	CHECK_MSG(refusal(finish()), "inserted twice", "an area inserted twice");
	basic();
	page(0x1000, NULL, 2, 0);
	CHECK_MSG(refusal(finish()), "GPA 0x1000 is measured twice", "a GPA measured twice");
	basic();
	page(0x1000, NULL, 4, 0);
	CHECK_MSG(refusal(finish()), "(accepted)", "a shared page is not measured (no double measurement)");
}

/* Fuzzing found it (UBSan: qsort of a NULL array): a file that measures
 * nothing gives the empty digest, not undefined behaviour. */
static void test_nothing_measured(void)
{
	static const uint8_t zero[SNP_LD_LEN];
	struct igvm_result res;
	struct uvm_err err;
	w_reset();
	platform(SNP, IGVM_PLATFORM_SEV_SNP);
	policy(SNP);
	CHECK(run(finish(), IGVM_VMM_HYPERV, 1, &res, &err) == 0 && res.pages == 0 &&
		      memcmp(res.ld, zero, sizeof zero) == 0,
	      "no directive: 48 zero bytes, no page (%s)", err.msg);
}

int main(void)
{
	test_crc32();
	test_nothing_measured();
	test_chain();
	test_huge_page();
	test_header_refusals();
	test_tlv_refusals();
	test_directive_refusals();
	return check_done();
}
