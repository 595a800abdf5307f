/* SEV-SNP launch digest: every vector of tests/data/measurement/README.md
 * (sev-snp-measure's own test suite), the VMSA pages byte for byte, the
 * kernel-hashes page layout, and the incremental path used by --matrix.
 * Run from the repository root (reads tests/data/measurement/). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "hash.h"
#include "hex.h"
#include "ovmf_table.h"
#include "sev_measure.h"
#include "snp_measure.h"

#define DATA_DIR "tests/data/measurement/"
#define EPYC_V4 0x800f12u

struct file {
	uint8_t *data;
	size_t len;
};

static struct file load(const char *name)
{
	char path[256];
	struct file f = {malloc(1 << 20), 0};
	snprintf(path, sizeof path, "%s%s", DATA_DIR, name);
	FILE *fp = fopen(path, "rb");
	if (!fp || !f.data) {
		printf("# cannot open %s (run from the repository root)\n", path);
		exit(1);
	}
	f.len = fread(f.data, 1, 1 << 20, fp);
	fclose(fp);
	return f;
}

/* A kernel input: NULL name = no kernel; "" = an empty file. */
struct vector {
	const char *ovmf;
	unsigned vcpus;
	uint32_t sig;
	const char *kernel, *initrd, *append;
	uint64_t features;
	enum snp_vmm vmm;
	const char *want;
};

static const struct vector VECTORS[] = {
	{"ovmf_AmdSev_suffix.bin", 1, EPYC_V4, "", "", "console=ttyS0 loglevel=7", 0x21, SNP_VMM_QEMU,
	 "803f691094946e42068aaa3a8f9e26a5c89f36f7b73ecfb28c653360fe4b3aba7e534442e7e1e17895dfe778d0228977"},
	{"ovmf_AmdSev_suffix.bin", 1, EPYC_V4, "", "", "console=ttyS0 loglevel=7", 0x1, SNP_VMM_QEMU,
	 "6d287813eb5222d770f75005c664e34c204f385ce832cc2ce7d0d6f354454362f390ef83a92046c042e706363b4b08fa"},
	{"ovmf_AmdSev_suffix.bin", 1, EPYC_V4, NULL, NULL, NULL, 0x21, SNP_VMM_QEMU,
	 "e1e1ca029dd7973ab9513295be68198472dcd4fc834bd9af9b63f6e8a1674dbf281a9278a4a2ebe0eed9f22adbcd0e2b"},
	{"ovmf_AmdSev_suffix.bin", 1, EPYC_V4, NULL, NULL, NULL, 0x1, SNP_VMM_QEMU,
	 "19358ba9a7615534a9a1e2f0dfc29384dcd4dcb7062ff9c6013b26869a5fc6ecabe033c48dd6f6db5d6d76e7c5df632d"},
	{"ovmf_AmdSev_suffix.bin", 4, EPYC_V4, "", "", "", 0x21, SNP_VMM_QEMU,
	 "4953b1fb416fa874980e8442b3706d345926d5f38879134e00813c5d7abcbe78eafe7b422907be0b4698e2414a631942"},
	{"ovmf_AmdSev_suffix.bin", 4, EPYC_V4, "", "", "", 0x1, SNP_VMM_QEMU,
	 "5061fffb019493a903613d56d54b94912a1a2f9e4502385f5c194616753720a92441310ba6c4933de877c36e23046ad5"},
	{"ovmf_OvmfX64_suffix.bin", 1, EPYC_V4, NULL, NULL, NULL, 0x21, SNP_VMM_QEMU,
	 "28797ae0afaba4005a81e629acebfb59e6687949d6be44007cd5506823b0dd66f146aaae26ff291eed7b493d8a64c385"},
	{"ovmf_OvmfX64_suffix.bin", 1, EPYC_V4, NULL, NULL, NULL, 0x1, SNP_VMM_QEMU,
	 "da0296de8193586a5512078dcd719eccecbd87e2b825ad4148c44f665dc87df21e5b49e21523a9ad993afdb6a30b4005"},
	/* other VMMs (sev-snp-measure 0.0.13 test suite) */
	{"ovmf_AmdSev_suffix.bin", 1, EPYC_V4, "", "", "", 0x21, SNP_VMM_EC2,
	 "0ce9ccc06bab55eebe8abc234f3df6514883977a68a591b71052498ab52b2f1aa415db338033946ef93aa8278c0d67fb"},
	{"ovmf_AmdSev_suffix.bin", 1, EPYC_V4, "", "", "", 0x1, SNP_VMM_EC2,
	 "0883bd0eeb716e65b7b977a321c278d1e51b33b5c655fab985443bbcc65c086b9c15e8a0bd8811050dec7e24964e5056"},
	{"ovmf_AmdSev_suffix.bin", 1, 0, "", "", "", 0x1, SNP_VMM_GCE,
	 "5da7106cf14cf46b1725ebab123eb9e53bd46a1e9f400cd0c08e7827b04b688ea8b4e403c8404efed4397ea5d5d0722e"},
	{"ovmf_AmdSev_suffix.bin", 4, 0, "", "", "", 0x1, SNP_VMM_GCE,
	 "5c5debf100fc339f90276e761ee1f1658d08922c3b20e2a2e6c7a6c3370b2452a15a00eae11886a93d6fd1e7ab81e29d"},
};

static void kernel_hashes(struct snp_kernel_hashes *h, const char *kernel, const char *initrd, const char *append)
{
	struct file k = {NULL, 0}, i = {NULL, 0};
	if (*kernel)
		k = load(kernel);
	if (initrd && *initrd)
		i = load(initrd);
	uvm_sha256(k.data ? k.data : (const uint8_t *)"", k.len, h->kernel);
	uvm_sha256(i.data ? i.data : (const uint8_t *)"", i.len, h->initrd);
	uvm_sha256(append ? append : "", (append ? strlen(append) : 0) + 1, h->cmdline);
	free(k.data);
	free(i.data);
}

static int measure(const struct vector *v, uint8_t ld[SNP_LD_LEN], struct uvm_err *err)
{
	struct file fw = load(v->ovmf);
	struct ovmf_info info;
	struct snp_kernel_hashes h;
	int rc = ovmf_parse(fw.data, fw.len, &info, err);
	if (rc == 0) {
		if (v->kernel)
			kernel_hashes(&h, v->kernel, v->initrd, v->append);
		struct snp_request r = {fw.data,  &info,  NULL,        v->kernel ? &h : NULL,
					v->vcpus, v->sig, v->features, v->vmm};
		rc = snp_measure(&r, ld, NULL, err);
	}
	free(fw.data);
	return rc;
}

static void test_vectors(void)
{
	for (size_t i = 0; i < sizeof VECTORS / sizeof VECTORS[0]; i++) {
		const struct vector *v = &VECTORS[i];
		uint8_t ld[SNP_LD_LEN];
		char hex[2 * SNP_LD_LEN + 1] = "";
		struct uvm_err err = {0};
		if (measure(v, ld, &err) == 0)
			uvm_hex_encode(ld, sizeof ld, hex);
		CHECK_EQ_STR(hex, v->want, "%s, %u vCPU(s), %s, kernel %s, features 0x%llx: %s", v->ovmf, v->vcpus,
			     snp_vmm_name(v->vmm), v->kernel ? (*v->kernel ? v->kernel : "empty") : "none",
			     (unsigned long long)v->features, err.msg[0] ? err.msg : "digest matches");
	}
}

static void test_kernel_needs_hashes_section(void)
{
	const struct vector v = {
		"ovmf_OvmfX64_suffix.bin", 1, EPYC_V4, "kernel.bin", NULL, NULL, 0x1, SNP_VMM_QEMU, NULL};
	uint8_t ld[SNP_LD_LEN];
	struct uvm_err err = {0};
	CHECK(measure(&v, ld, &err) == -1 && strstr(err.msg, "SNP_KERNEL_HASHES"),
	      "a kernel with OvmfX64 (no SNP_KERNEL_HASHES) is refused: %s", err.msg);
}

static void test_firmware_digest(void)
{
	struct file fw = load("ovmf_AmdSev_suffix.bin");
	struct ovmf_info info;
	struct uvm_err err = {0};
	uint8_t ld[SNP_LD_LEN] = {0}, ld2[SNP_LD_LEN];
	char hex[2 * SNP_LD_LEN + 1];
	ovmf_parse(fw.data, fw.len, &info, &err);
	snp_ld_firmware(ld, fw.data, &info, NULL);
	uvm_hex_encode(ld, sizeof ld, hex);
	CHECK_EQ_STR(hex,
		     "086e2e9149ebf45abdc3445fba5b2da8270bdbb04094d7a2c37faaa4b24af3aa16aff8c374c2a55c467a50da6d466b74",
		     "digest after the firmware pages (sev-snp-measure's OVMF hash)");
	/* --snp-ovmf-hash: a given firmware digest replaces hashing the pages */
	struct snp_request r = {NULL, &info, ld, NULL, 1, EPYC_V4, 0x1, SNP_VMM_QEMU};
	snp_measure(&r, ld2, NULL, &err);
	uvm_hex_encode(ld2, sizeof ld2, hex);
	CHECK_EQ_STR(hex,
		     "19358ba9a7615534a9a1e2f0dfc29384dcd4dcb7062ff9c6013b26869a5fc6ecabe033c48dd6f6db5d6d76e7c5df632d",
		     "a precomputed firmware digest gives the same measurement");
	r.vcpus = 0;
	CHECK(snp_measure(&r, ld2, NULL, &err) == -1 && strstr(err.msg, "vCPUs"), "0 vCPUs is refused");
	r.vcpus = SNP_MAX_VCPUS + 1;
	CHECK(snp_measure(&r, ld2, NULL, &err) == -1, "more than %u vCPUs is refused", SNP_MAX_VCPUS);
	free(fw.data);
}

static void test_vmsa_pages(void)
{
	uint8_t page[4096];
	struct file bsp = load("vmsa_bsp_epycv4_feat0x1.bin"), ap = load("vmsa_ap_epycv4_feat0x1.bin");
	snp_vmsa_page(page, SNP_BSP_EIP, 0x1, EPYC_V4, SNP_VMM_QEMU);
	CHECK(bsp.len == 4096 && memcmp(page, bsp.data, 4096) == 0, "BSP VMSA page equals the reference byte for byte");
	snp_vmsa_page(page, 0x80b004, 0x1, EPYC_V4, SNP_VMM_QEMU);
	CHECK(ap.len == 4096 && memcmp(page, ap.data, 4096) == 0, "AP VMSA page equals the reference byte for byte");
	snp_vmsa_page(page, 0x80b004, 0x21, EPYC_V4, SNP_VMM_QEMU);
	CHECK(page[0x3b0] == 0x21 && memcmp(page, ap.data, 0x3b0) == 0, "guest features land at 0x3B0 only");
	snp_vmsa_page(page, SNP_BSP_EIP, 0x1, EPYC_V4, SNP_VMM_EC2);
	CHECK(page[0x12] == 0x9a && page[0x22] == 0x92 && page[0x92] == 0x83 && page[0x311] == 0x06,
	      "EC2 BSP: cs 0x9a, ss 0x92, tr 0x83, rdx 0x600");
	snp_vmsa_page(page, SNP_BSP_EIP, 0x1, EPYC_V4, SNP_VMM_GCE);
	CHECK(page[0x268] == 0x06 && page[0x269] == 0x01 && page[0x26a] == 0x07 && page[0x408] == 0,
	      "GCE: g_pat 0x70106, mxcsr 0");
	free(bsp.data);
	free(ap.data);
}

static void test_hashes_page(void)
{
	struct snp_kernel_hashes h;
	uint8_t page[4096], guid[16];
	memset(h.cmdline, 0xc1, 32);
	memset(h.initrd, 0x1d, 32);
	memset(h.kernel, 0x4e, 32);
	snp_hashes_page(page, 0xc00, &h);
	const uint8_t *t = page + 0xc00;
	ovmf_guid_parse("9438d606-4f22-4cc9-b479-a793d411fd21", guid);
	CHECK(memcmp(t, guid, 16) == 0 && t[16] == 168 && t[17] == 0, "table header GUID and length 168");
	ovmf_guid_parse("97d02dd8-bd20-4c94-aa78-e7714d36ab2a", guid);
	CHECK(memcmp(t + 18, guid, 16) == 0 && t[34] == 50 && t[36] == 0xc1 && t[67] == 0xc1, "cmdline entry first");
	CHECK(t[68 + 18] == 0x1d && t[118 + 18] == 0x4e && t[118 + 49] == 0x4e, "then initrd, then kernel");
	int rest_zero = 1;
	for (size_t i = 0; i < sizeof page; i++)
		if ((i < 0xc00 || i >= 0xc00 + 168) && page[i])
			rest_zero = 0;
	CHECK(rest_zero, "the rest of the page (and the 8 padding bytes) is zero");
	/* the kernel-hashes step of the trace: sha256("console=ttyS0\0") */
	char hex[65];
	uvm_sha256("console=ttyS0", 14, h.cmdline);
	uvm_hex_encode(h.cmdline, 32, hex);
	CHECK_EQ_STR(hex, "f18aae9b3c09e55bc3047ad361e2442d7c53372470b2958fb83293209a784f71",
		     "command line hashed with its NUL");
}

static void test_cpu_sigs(void)
{
	uint32_t sig = 0;
	CHECK_EQ_INT(snp_cpu_sig(23, 1, 2), 0x800f12, "EPYC family 23 model 1 stepping 2");
	CHECK_EQ_INT(snp_cpu_sig(23, 49, 0), 0x830f10, "Rome");
	CHECK_EQ_INT(snp_cpu_sig(25, 1, 1), 0xa00f11, "Milan");
	CHECK_EQ_INT(snp_cpu_sig(25, 17, 0), 0xa10f10, "Genoa");
	CHECK_EQ_INT(snp_cpu_sig(26, 0, 0), 0xb00f00, "Turin");
	CHECK_EQ_INT(snp_cpu_sig(6, 0x55, 7), 0x50657, "a family below 0xf keeps no extended family");
	CHECK(snp_cpu_sig_by_name("EPYC-Milan-v2", &sig) == 0 && sig == 0xa00f11, "EPYC-Milan-v2 by name");
	CHECK(snp_cpu_sig_by_name("epyc-v4", &sig) == -1, "names are case-sensitive, as QEMU's");
	int consistent = 1;
	for (size_t i = 0; i < snp_n_cpu_types; i++) {
		const char *n = snp_cpu_types[i].name;
		uint32_t want = strncmp(n, "EPYC-Rome", 9) == 0     ? 0x830f10
				: strncmp(n, "EPYC-Milan", 10) == 0 ? 0xa00f11
				: strncmp(n, "EPYC-Genoa", 10) == 0 ? 0xa10f10
				: strncmp(n, "EPYC-Turin", 10) == 0 ? 0xb00f00
								    : 0x800f12;
		if (snp_cpu_types[i].sig != want)
			consistent = 0;
	}
	CHECK(consistent && snp_n_cpu_types >= 17, "every CPU type maps to its generation's signature");
}

/* --matrix extends one base digest vCPU by vCPU; it must equal full runs. */
static void test_incremental(void)
{
	struct file fw = load("ovmf_AmdSev_suffix.bin");
	struct ovmf_info info;
	struct snp_kernel_hashes h;
	struct snp_vmsa_hashes vh;
	struct uvm_err err = {0};
	uint8_t base[SNP_LD_LEN] = {0}, inc[SNP_LD_LEN], full[SNP_LD_LEN];
	int same = 1;
	ovmf_parse(fw.data, fw.len, &info, &err);
	kernel_hashes(&h, "kernel.bin", "initrd.cpio", "console=ttyS0 panic=-1");
	snp_ld_firmware(base, fw.data, &info, NULL);
	snp_ld_metadata(base, &info, &h, SNP_VMM_QEMU, NULL, &err);
	snp_vmsa_hashes(&vh, info.reset_eip, 0x1, 0xa10f10, SNP_VMM_QEMU);
	memcpy(inc, base, sizeof inc);
	for (unsigned n = 1; n <= 16; n++) {
		snp_ld_update(inc, n == 1 ? vh.bsp : vh.ap, SNP_PAGE_VMSA, SNP_VMSA_GPA);
		struct snp_request r = {fw.data, &info, NULL, &h, n, 0xa10f10, 0x1, SNP_VMM_QEMU};
		snp_measure(&r, full, NULL, &err);
		if (memcmp(inc, full, sizeof full) != 0)
			same = 0;
	}
	CHECK(same, "incremental digests for 1..16 vCPUs equal full computations");
	free(fw.data);
}

/* The trace reports the steps a verifier compares. */
struct seen {
	int firmware, sections, vmsas, hashes;
};

static void count_step(void *arg, const char *label, const uint8_t *value, size_t len)
{
	struct seen *s = arg;
	(void)value;
	if (strstr(label, "firmware pages") && len == SNP_LD_LEN)
		s->firmware++;
	else if (strstr(label, "VMSA (") && len == SNP_LD_LEN)
		s->vmsas++;
	else if (strstr(label, "sha256") && len == 32)
		s->hashes++;
	else if (strncmp(label, "after ", 6) == 0)
		s->sections++;
}

static void test_trace(void)
{
	struct file fw = load("ovmf_AmdSev_suffix.bin");
	struct ovmf_info info;
	struct snp_kernel_hashes h;
	struct uvm_err err = {0};
	struct seen seen = {0};
	struct snp_trace trace = {count_step, &seen};
	uint8_t ld[SNP_LD_LEN];
	ovmf_parse(fw.data, fw.len, &info, &err);
	kernel_hashes(&h, "kernel.bin", NULL, NULL);
	struct snp_request r = {fw.data, &info, NULL, &h, 3, EPYC_V4, 0x1, SNP_VMM_QEMU};
	snp_measure(&r, ld, &trace, &err);
	CHECK(seen.firmware == 1 && seen.sections == (int)info.n_sections && seen.vmsas == 3 && seen.hashes == 3,
	      "trace: firmware, each of %zu sections, three hashes, three VMSAs (%d %d %d %d)", info.n_sections,
	      seen.firmware, seen.sections, seen.hashes, seen.vmsas);
	free(fw.data);
}

/* SEV and SEV-ES: virtee/sev-snp-measure's tests/test_guest.py (the revision
 * whose SNP vectors are above; "" = /dev/null, NULL = not given). Its seves
 * calls pass guest features 0x1/0x21, which SEV-ES mode ignores (the VMSA
 * carries SEV features 0). */
struct sev_vector {
	enum sev_mode mode;
	const char *ovmf;
	unsigned vcpus;
	const char *kernel, *initrd, *append;
	const char *want;
};

static const struct sev_vector SEV_VECTORS[] = {
	{SEV_MODE_SEV, "ovmf_AmdSev_suffix.bin", 1, "", "", "console=ttyS0 loglevel=7",
	 "82a3ee5d537c3620628270c292ae30cb40c3c878666a7890ee7ef2a08fb535ff"},
	{SEV_MODE_SEV, "ovmf_AmdSev_suffix.bin", 1, "", NULL, NULL,
	 "77f613d7bbcdf12a73782ea9e88b0172aeda50d1a54201cb903594ff52846898"},
	{SEV_MODE_SEV, "ovmf_OvmfX64_suffix.bin", 1, NULL, NULL, NULL,
	 "b4c021e085fb83ceffe6571a3d357b4a98773c83c474e47f76c876708fe316da"},
	{SEV_MODE_ES, "ovmf_AmdSev_suffix.bin", 1, "", "", "",
	 "13810ae661ea11e2bb205621f582fee268f0367c8f97bc297b7fadef3e12002c"},
	{SEV_MODE_ES, "ovmf_AmdSev_suffix.bin", 4, "", "", "",
	 "0dccbcaba8e90b261bd0d2e1863a2f9da714768b7b2a19363cd6ae35aa90de91"},
};

static int sev_run(const struct sev_vector *v, uint8_t ld[SEV_LD_LEN], struct uvm_err *err)
{
	struct file fw = load(v->ovmf);
	struct ovmf_info info;
	struct snp_kernel_hashes h;
	unsigned need = v->mode == SEV_MODE_ES ? OVMF_NEED_RESET_BLOCK : 0;
	int rc = ovmf_parse_for(fw.data, fw.len, need, &info, err);
	if (rc == 0) {
		if (v->kernel)
			kernel_hashes(&h, v->kernel, v->initrd, v->append);
		struct sev_request r = {v->mode,  fw.data, &info,       v->kernel ? &h : NULL,
					v->vcpus, EPYC_V4, SNP_VMM_QEMU};
		rc = sev_measure(&r, ld, NULL, err);
	}
	free(fw.data);
	return rc;
}

static void test_sev_vectors(void)
{
	for (size_t i = 0; i < sizeof SEV_VECTORS / sizeof SEV_VECTORS[0]; i++) {
		const struct sev_vector *v = &SEV_VECTORS[i];
		uint8_t ld[SEV_LD_LEN];
		char hex[2 * SEV_LD_LEN + 1] = "";
		struct uvm_err err = {0};
		if (sev_run(v, ld, &err) == 0)
			uvm_hex_encode(ld, sizeof ld, hex);
		CHECK_EQ_STR(hex, v->want, "%s %s, %u vCPU(s), kernel %s: %s", v->mode == SEV_MODE_ES ? "seves" : "sev",
			     v->ovmf, v->vcpus, v->kernel ? "empty" : "none", err.msg[0] ? err.msg : "digest matches");
	}
	/* as sev-snp-measure: OvmfX64 has no SEV hashes table, so a kernel is refused */
	for (int m = SEV_MODE_SEV; m <= SEV_MODE_ES; m++) {
		const struct sev_vector v = {(enum sev_mode)m, "ovmf_OvmfX64_suffix.bin", 1, "", "", "", NULL};
		uint8_t ld[SEV_LD_LEN];
		struct uvm_err err = {0};
		CHECK(sev_run(&v, ld, &err) == -1 && strstr(err.msg, "SEV hashes table"),
		      "%s: a kernel with OvmfX64 (no hashes table) is refused: %s", m ? "seves" : "sev", err.msg);
	}
}

/* SEV-ES: the digest is SHA-256 over firmware, table and VMSA pages, the
 * pages being SNP's with SEV features 0; firmware without a reset block is
 * refused for SEV-ES but measured for SEV. */
static void test_sev_es_parts(void)
{
	struct file fw = load("ovmf_AmdSev_suffix.bin");
	struct file bsp_ref = load("vmsa_bsp_epycv4_feat0x1.bin");
	struct ovmf_info info;
	struct uvm_err err = {0};
	struct uvm_sha256_ctx ctx;
	uint8_t bsp[4096], ap[4096], want[SEV_LD_LEN], got[SEV_LD_LEN];
	ovmf_parse(fw.data, fw.len, &info, &err);
	sev_es_vmsa_page(bsp, 0, info.reset_eip, EPYC_V4, SNP_VMM_QEMU);
	sev_es_vmsa_page(ap, 1, info.reset_eip, EPYC_V4, SNP_VMM_QEMU);
	CHECK(bsp[0x3b0] == 0 && memcmp(bsp, bsp_ref.data, 0x3b0) == 0 &&
		      memcmp(bsp + 0x3b8, bsp_ref.data + 0x3b8, 4096 - 0x3b8) == 0,
	      "SEV-ES BSP VMSA = SNP's with SEV features 0");
	CHECK(ap[0x178] == 0x04 && ap[0x179] == 0xb0 && ap[0x18] == 0 && ap[0x1a] == 0x80, "AP starts at 0x80b004");
	uvm_sha256_init(&ctx);
	uvm_sha256_update(&ctx, fw.data, fw.len);
	uvm_sha256_update(&ctx, bsp, sizeof bsp);
	uvm_sha256_update(&ctx, ap, sizeof ap);
	uvm_sha256_final(&ctx, want);
	struct sev_request r = {SEV_MODE_ES, fw.data, &info, NULL, 2, EPYC_V4, SNP_VMM_QEMU};
	CHECK(sev_measure(&r, got, NULL, &err) == 0 && memcmp(got, want, sizeof got) == 0,
	      "seves without a kernel: SHA-256(firmware || BSP VMSA || AP VMSA)");
	r.vcpus = 0;
	CHECK(sev_measure(&r, got, NULL, &err) == -1 && strstr(err.msg, "vCPUs"), "seves with 0 vCPUs is refused");
	info.has_reset_block = 0;
	r.vcpus = 1;
	CHECK(sev_measure(&r, got, NULL, &err) == -1 && strstr(err.msg, "reset block"),
	      "seves without a reset block is refused");
	r.mode = SEV_MODE_SEV;
	uvm_sha256(fw.data, fw.len, want);
	CHECK(sev_measure(&r, got, NULL, &err) == 0 && memcmp(got, want, sizeof got) == 0,
	      "sev without a kernel: SHA-256 of the firmware (reset block not needed)");
	free(fw.data);
	free(bsp_ref.data);
}

int main(void)
{
	test_sev_vectors();
	test_sev_es_parts();
	test_vectors();
	test_kernel_needs_hashes_section();
	test_firmware_digest();
	test_vmsa_pages();
	test_hashes_page();
	test_cpu_sigs();
	test_incremental();
	test_trace();
	return check_done();
}
