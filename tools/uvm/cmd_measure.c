/* uvm measure: predict the SEV-SNP launch measurement of an image, with the
 * flags and output of virtee/sev-snp-measure, plus --explain and --matrix. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "command.h"
#include "err.h"
#include "hash.h"
#include "hex.h"
#include "measure_cli.h"
#include "ovmf_table.h"
#include "sev_measure.h"
#include "snp_measure.h"
#include "svsm_measure.h"

#define MEASURE_EXIT_INPUT 1
#define MAX_APPEND 65536
/* Streams (pipes, /dev/null) are hashed up to this many bytes. */
#define MAX_STREAM (4ull << 30)
/* A bzImage's setup header: "HdrS" at 0x202 (Linux Documentation/arch/x86/boot.rst). */
#define BZ_MAGIC_OFF 0x202
#define BZ_HEAD (BZ_MAGIC_OFF + 4)
/* --vars-size: the largest pflash QEMU maps below 4 GiB is far smaller. */
#define MAX_VARS_SIZE (1ull << 30)

static const char USAGE[] =
	"usage: uvm measure --mode snp --vcpus N\n"
	"           (--vcpu-type T | --vcpu-sig X | --vcpu-family F --vcpu-model M --vcpu-stepping S)\n"
	"           --ovmf FILE [--kernel FILE [--initrd FILE] [--append STR]]\n"
	"           [--guest-features X] [--vmm-type QEMU|ec2|gce] [--output-format hex|base64]\n"
	"           [--snp-ovmf-hash HEX] [-v] [--explain] [--dump-vmsa[=DIR]]\n"
	"       uvm measure --mode seves --vcpus N (--vcpu-type T | ...) --ovmf FILE\n"
	"           [--kernel FILE [--initrd FILE] [--append STR]] [--vmm-type QEMU|ec2|gce]\n"
	"           [--output-format hex|base64] [-v] [--explain] [--dump-vmsa[=DIR]]\n"
	"       uvm measure --mode sev --ovmf FILE [--kernel FILE [--initrd FILE] [--append STR]]\n"
	"           [--output-format hex|base64] [-v] [--explain]\n"
	"       uvm measure --mode snp:svsm --vcpus N (--vcpu-type T | ...) --ovmf FILE --svsm FILE\n"
	"           (--vars-size N | --vars-file FILE) [--output-format hex|base64] [-v]\n"
	"           [--explain] [--dump-vmsa[=DIR]]\n"
	"       uvm measure --igvm FILE --vmm-type hyperv|qemu [--vcpus N] [--output-format hex|base64]\n"
	"           [-v] [--explain]\n"
	"       uvm measure --mode snp:ovmf-hash --ovmf FILE\n"
	"       uvm measure --mode snp --matrix --ovmf FILE [--kernel FILE --initrd FILE --append STR]\n"
	"           [--guest-features X]\n"
	"\n"
	"Prints the launch measurement that the PSP will report for this firmware,\n"
	"kernel, initrd, command line, vCPU count and CPU model, exactly as\n"
	"sev-snp-measure does for the same arguments: SEV-SNP (48 bytes, SHA-384 chain),\n"
	"SEV-ES (32 bytes: SHA-256 of firmware, hashes table, VMSAs) or SEV (32 bytes:\n"
	"SHA-256 of firmware, hashes table). snp:svsm is SEV-SNP with COCONUT-SVSM\n"
	"below the firmware: firmware and SVSM pages, the SVSM's metadata sections,\n"
	"one VMSA per vCPU at the SVSM entry point (no kernel hashes).\n"
	"Defaults: --guest-features 0x1 (SNPActive, QEMU >= 9.1 on Linux >= 6.11),\n"
	"--vmm-type QEMU, --output-format hex.\n"
	"\n"
	"  --vcpu-type T      QEMU -cpu model: EPYC, EPYC-v1..v4, EPYC-IBPB, EPYC-Rome[-v1..v4],\n"
	"                     EPYC-Milan[-v1,-v2], EPYC-Genoa[-v1], EPYC-Turin[-v1]\n"
	"  --vcpu-sig X       the CPUID 1 EAX signature instead (e.g. 0xa00f11)\n"
	"  --vcpu-family/--vcpu-model/--vcpu-stepping  the signature from its parts (decimal)\n"
	"                     (with --vmm-type ec2 or gce the signature is not measured)\n"
	"  --snp-ovmf-hash H  use H (96 hex digits) as the digest of the firmware pages\n"
	"  --explain          print every step and the digest after it on stderr\n"
	"  --dump-vmsa[=DIR]  also write the measured VMSA pages to DIR (default: the\n"
	"                     current directory) as vmsa0.bin (the BSP), vmsa1.bin, ...\n"
	"                     (snp and seves; files of those names are replaced)\n"
	"  --svsm FILE        snp:svsm: the SVSM image (svsm.bin, with an SVSM info entry)\n"
	"  --vars-size N, --vars-file F  snp:svsm: the OVMF_VARS size in bytes (a multiple\n"
	"                     of 4096), or the vars file whose size it is; the SVSM ends\n"
	"                     where the vars store begins (the store is not measured)\n"
	"  --igvm FILE        SEV-SNP digest of an IGVM file, its directives replayed as the\n"
	"                     --vmm-type loader does: hyperv (microsoft/igvm's\n"
	"                     generate_snp_measurement, VP contexts in file order) or qemu\n"
	"                     (QEMU's IGVM loader on KVM: one VMSA per vCPU at LAUNCH_FINISH;\n"
	"                     --vcpus N, default 1, VP context vp_index 0..N-1). --vmm-type\n"
	"                     is required; no --ovmf/--kernel/--mode etc. with it\n"
	"  --matrix           print JSON: vCPUs 1..16 x EPYC-v4, EPYC-Rome, EPYC-Milan,\n"
	"                     EPYC-Genoa, EPYC-Turin, with the QEMU arguments of each and\n"
	"                     the sha256 of each input file (QEMU VMM only)\n"
	"\n"
	"Firmware is refused (exit 1) when it has no OVMF footer table, no SEV metadata,\n"
	"no SEV-ES reset block, a malformed table, a size that is not a multiple of 4 KiB,\n"
	"or, with --kernel, no SNP_KERNEL_HASHES section (snp) or SEV hashes table (sev,\n"
	"seves). SEV needs neither reset block nor metadata; SEV-ES needs the reset block.\n"
	"An SVSM image needs metadata and an SVSM info entry, must fit below the vars\n"
	"store, and its metadata sections must not overlap the firmware.\n"
	"A --kernel that is not a bzImage (no \"HdrS\" setup header at 0x202) is refused\n"
	"(exit 1): QEMU does not hash other kernels the same way.\n"
	"\n"
	"An IGVM file is refused (exit 1) when its header, checksum or entries are\n"
	"malformed, it has no SEV-SNP platform or guest policy, it is relocatable, or\n"
	"it measures a page twice.\n"
	"\n"
	"Exit status: 0 measurement printed; 1 invalid input (a file cannot be read,\n"
	"or the firmware/kernel/IGVM file is unusable) or a VMSA file cannot be written; 2 usage error.\n";

enum mode { MODE_SNP, MODE_OVMF_HASH, MODE_SEVES, MODE_SEV, MODE_SVSM };

/* ------------------------------------------------------------ arguments */

enum {
	OPT_MODE = 256,
	OPT_VCPUS,
	OPT_TYPE,
	OPT_SIG,
	OPT_FAMILY,
	OPT_MODEL,
	OPT_STEPPING,
	OPT_VMM,
	OPT_OVMF,
	OPT_KERNEL,
	OPT_INITRD,
	OPT_APPEND,
	OPT_FEATURES,
	OPT_OUTPUT,
	OPT_OVMF_HASH,
	OPT_EXPLAIN,
	OPT_MATRIX,
	OPT_DUMP_VMSA,
	OPT_VARS_SIZE,
	OPT_VARS_FILE,
	OPT_SVSM,
	OPT_IGVM
};

static const struct option LONGOPTS[] = {
	{"mode", required_argument, 0, OPT_MODE},
	{"vcpus", required_argument, 0, OPT_VCPUS},
	{"vcpu-type", required_argument, 0, OPT_TYPE},
	{"vcpu-sig", required_argument, 0, OPT_SIG},
	{"vcpu-family", required_argument, 0, OPT_FAMILY},
	{"vcpu-model", required_argument, 0, OPT_MODEL},
	{"vcpu-stepping", required_argument, 0, OPT_STEPPING},
	{"vmm-type", required_argument, 0, OPT_VMM},
	{"ovmf", required_argument, 0, OPT_OVMF},
	{"kernel", required_argument, 0, OPT_KERNEL},
	{"initrd", required_argument, 0, OPT_INITRD},
	{"append", required_argument, 0, OPT_APPEND},
	{"guest-features", required_argument, 0, OPT_FEATURES},
	{"output-format", required_argument, 0, OPT_OUTPUT},
	{"snp-ovmf-hash", required_argument, 0, OPT_OVMF_HASH},
	{"explain", no_argument, 0, OPT_EXPLAIN},
	{"matrix", no_argument, 0, OPT_MATRIX},
	{"dump-vmsa", optional_argument, 0, OPT_DUMP_VMSA},
	{"vars-size", required_argument, 0, OPT_VARS_SIZE},
	{"vars-file", required_argument, 0, OPT_VARS_FILE},
	{"svsm", required_argument, 0, OPT_SVSM},
	{"igvm", required_argument, 0, OPT_IGVM},
	{"verbose", no_argument, 0, 'v'},
	CLI_HELP_OPTION,
	{0, 0, 0, 0},
};

static const char **opt_slot(struct measure_opts *o, int c)
{
	switch (c) {
	case OPT_MODE: return &o->mode;
	case OPT_VCPUS: return &o->vcpus_s;
	case OPT_TYPE: return &o->vcpu_type;
	case OPT_SIG: return &o->sig_s;
	case OPT_FAMILY: return &o->family_s;
	case OPT_MODEL: return &o->model_s;
	case OPT_STEPPING: return &o->stepping_s;
	case OPT_VMM: return &o->vmm_s;
	case OPT_OVMF: return &o->ovmf;
	case OPT_KERNEL: return &o->kernel;
	case OPT_INITRD: return &o->initrd;
	case OPT_APPEND: return &o->append;
	case OPT_FEATURES: return &o->features_s;
	case OPT_OUTPUT: return &o->output;
	case OPT_OVMF_HASH: return &o->ovmf_hash;
	case OPT_VARS_SIZE: return &o->vars_size_s;
	case OPT_VARS_FILE: return &o->vars_file;
	case OPT_SVSM: return &o->svsm;
	case OPT_IGVM: return &o->igvm;
	default: return NULL;
	}
}

/* Returns -1 to continue, else an exit status. */
static int parse_args(int argc, char **argv, struct measure_opts *o)
{
	struct cli cl;
	cli_init(&cl, "uvm measure", USAGE, "v", LONGOPTS, argc, argv);
	for (int c; (c = cli_next(&cl)) != CLI_END;) {
		const char **slot = opt_slot(o, c);
		if (c == CLI_EXIT || (slot && cli_once(&cl, slot)) || (c == CLI_OPERAND && cli_unexpected(&cl)))
			return cl.status;
		if (c == 'v')
			o->verbose = 1;
		else if (c == OPT_EXPLAIN)
			o->explain = 1;
		else if (c == OPT_MATRIX)
			o->matrix = 1;
		else if (c == OPT_DUMP_VMSA) {
			if (o->dump_vmsa || (cl.arg && !*cl.arg)) {
				cli_fail(&cl, "%s",
					 o->dump_vmsa ? "'--dump-vmsa' given twice"
						      : "--dump-vmsa= needs a directory (or give "
							"--dump-vmsa alone for the current one)");
				return cl.status;
			}
			o->dump_vmsa = 1;
			o->dump_dir = cl.arg;
		}
	}
	return -1;
}

/* ------------------------------------------------------------ files */

/* SHA-256 of a pipe or character device (sev-snp-measure's tests pass /dev/null). */
/* The first bytes of a file (for the bzImage check): up to BZ_HEAD of them. */
struct head {
	uint8_t b[BZ_HEAD];
	size_t len;
};

static void head_take(struct head *h, const uint8_t *data, size_t len)
{
	if (!h || h->len >= sizeof h->b)
		return;
	size_t n = sizeof h->b - h->len < len ? sizeof h->b - h->len : len;
	memcpy(h->b + h->len, data, n);
	h->len += n;
}

static int hash_stream(const char *path, uint8_t out[UVM_SHA256_LEN], uint64_t *size, struct head *head,
		       struct uvm_err *err)
{
	struct uvm_sha256_ctx ctx;
	uint8_t buf[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return uvm_fail(err, errno, "cannot open: %s", strerror(errno));
	uvm_sha256_init(&ctx);
	*size = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || *size + (uint64_t)n > MAX_STREAM) {
			int e = n < 0 ? errno : EFBIG;
			close(fd);
			return uvm_fail(err, e, "cannot read: %s", n < 0 ? strerror(e) : "more than 4 GiB");
		}
		if (n == 0)
			break;
		uvm_sha256_update(&ctx, buf, (size_t)n);
		head_take(head, buf, (size_t)n);
		*size += (uint64_t)n;
	}
	close(fd);
	uvm_sha256_final(&ctx, out);
	return 0;
}

static int hash_file(const char *path, uint8_t out[UVM_SHA256_LEN], uint64_t *size, struct head *head,
		     struct uvm_err *err)
{
	struct measure_blob b;
	int rc = measure_blob_map(path, &b, 0, err);
	if (rc < 0)
		return -1;
	if (rc == 1)
		return hash_stream(path, out, size, head, err);
	uvm_sha256(b.data ? b.data : (const uint8_t *)"", b.len, out);
	head_take(head, b.data, b.len);
	*size = b.len;
	measure_blob_unmap(&b);
	return 0;
}

/* ------------------------------------------------------------ inputs */

struct inputs {
	struct measure_blob fw;
	struct ovmf_info info;
	uint8_t fw_sha256[UVM_SHA256_LEN];
	int have_kernel;
	struct snp_kernel_hashes hashes;
	uint64_t kernel_size, initrd_size;
};

static int load_firmware(const char *path, unsigned need, struct inputs *in)
{
	struct uvm_err err = {0};
	if (measure_blob_map(path, &in->fw, 1, &err) != 0)
		return measure_input_error(path, &err);
	if (ovmf_parse_for(in->fw.data, in->fw.len, need, &in->info, &err) != 0) {
		measure_blob_unmap(&in->fw);
		return measure_input_error(path, &err);
	}
	return -1;
}

static int load_kernel(const struct measure_opts *o, struct inputs *in)
{
	struct uvm_err err = {0};
	size_t alen = o->append ? strlen(o->append) : 0;
	if (!o->kernel)
		return -1;
	struct head head = {.len = 0};
	if (hash_file(o->kernel, in->hashes.kernel, &in->kernel_size, &head, &err))
		return measure_input_error(o->kernel, &err);
	if (head.len < BZ_HEAD || memcmp(head.b + BZ_MAGIC_OFF, "HdrS", 4) != 0) {
		uvm_fail(&err, 0,
			 "not a bzImage (%" PRIu64 " bytes, no \"HdrS\" setup header at 0x202); QEMU "
			 "loads other kernels (ELF, multiboot) without the hashes this measurement "
			 "assumes; give the bzImage (e.g. arch/x86/boot/bzImage)",
			 in->kernel_size);
		return measure_input_error(o->kernel, &err);
	}
	if (o->initrd && hash_file(o->initrd, in->hashes.initrd, &in->initrd_size, NULL, &err))
		return measure_input_error(o->initrd, &err);
	if (!o->initrd)
		uvm_sha256("", 0, in->hashes.initrd);
	/* QEMU hashes the command line with its terminating NUL. */
	uvm_sha256(o->append ? o->append : "", alen + 1, in->hashes.cmdline);
	in->have_kernel = 1;
	return -1;
}

/* ------------------------------------------------------------ explain */

static void explain_header(const struct measure_opts *o, const struct inputs *in, const struct snp_request *r)
{
	const struct ovmf_info *i = &in->info;
	fprintf(stderr, "firmware %s: %zu bytes, %zu pages at GPA 0x%llx, AP reset EIP 0x%x\n", o->ovmf, i->size,
		i->size / OVMF_PAGE_SIZE, (unsigned long long)i->gpa, i->reset_eip);
	if (i->has_hashes_table)
		fprintf(stderr, "SEV hashes table: 0x%x (0x%x bytes)\n", i->hashes_base, i->hashes_size);
	fprintf(stderr, "SEV metadata, %zu sections in table order:\n", i->n_sections);
	for (size_t k = 0; k < i->n_sections; k++)
		fprintf(stderr, "  %-18s 0x%x+0x%x\n", ovmf_section_name(i->sections[k].type), i->sections[k].gpa,
			i->sections[k].size);
	fprintf(stderr, "vcpus %u, vcpu signature 0x%x, guest features 0x%" PRIx64 ", VMM %s\n", r->vcpus, r->vcpu_sig,
		r->guest_features, snp_vmm_name(r->vmm));
	if (o->kernel)
		fprintf(stderr, "kernel %s (%" PRIu64 " bytes), initrd %s (%" PRIu64 " bytes), append \"%s\"\n",
			o->kernel, in->kernel_size, o->initrd ? o->initrd : "(none)", in->initrd_size,
			o->append ? o->append : "");
	else
		fprintf(stderr, "no kernel: the SNP_KERNEL_HASHES pages are measured as zero pages\n");
	fprintf(stderr, "steps (value after each):\n");
}

/* ------------------------------------------------------------ output */

/* A JSON string on stdout; only printable ASCII is accepted by the callers
 * (not lib/json.h's json_str, which reads a parsed value). */
static void put_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	putchar('"');
}

static int printable_ascii(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return 0;
	return 1;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

static void json_artifact(const char *key, const char *path, uint64_t size, const uint8_t sha[UVM_SHA256_LEN], int last)
{
	char hex[2 * UVM_SHA256_LEN + 1];
	uvm_hex_encode(sha, UVM_SHA256_LEN, hex);
	printf("    \"%s\": {\"file\": ", key);
	put_json_string(base_name(path));
	printf(", \"size\": %" PRIu64 ", \"sha256\": \"%s\"}%s\n", size, hex, last ? "" : ",");
}

static void json_qemu_args(const struct measure_opts *o, unsigned vcpus, const char *cpu)
{
	printf("\"qemu_args\": [\"-smp\", \"%u\", \"-cpu\", \"%s\", \"-bios\", ", vcpus, cpu);
	put_json_string(base_name(o->ovmf));
	if (o->kernel) {
		printf(", \"-kernel\", ");
		put_json_string(base_name(o->kernel));
		if (o->initrd) {
			printf(", \"-initrd\", ");
			put_json_string(base_name(o->initrd));
		}
		printf(", \"-append\", ");
		put_json_string(o->append ? o->append : "");
	}
	printf(", \"-machine\", \"confidential-guest-support=sev0\", \"-object\", "
	       "\"sev-snp-guest,id=sev0,kernel-hashes=%s\"]",
	       o->kernel ? "on" : "off");
}

/* The five CPU generations of measurement.json (EPYC as EPYC-v4, what SNP guests use). */
static const char *const MATRIX_CPUS[] = {"EPYC-v4", "EPYC-Rome", "EPYC-Milan", "EPYC-Genoa", "EPYC-Turin"};
#define MATRIX_VCPUS 16u

static void json_matrix_cpu(const struct measure_opts *o, const struct inputs *in, const uint8_t base[SNP_LD_LEN],
			    uint64_t features, const char *cpu, int last_cpu)
{
	struct snp_vmsa_hashes vh;
	uint8_t ld[SNP_LD_LEN];
	uint32_t sig = 0;
	char hex[2 * SNP_LD_LEN + 1], b64[4 * SNP_LD_LEN / 3 + 1];
	snp_cpu_sig_by_name(cpu, &sig);
	snp_vmsa_hashes(&vh, in->info.reset_eip, features, sig, SNP_VMM_QEMU);
	memcpy(ld, base, SNP_LD_LEN);
	/* Each vCPU count extends the previous one's digest by one VMSA page. */
	for (unsigned n = 1; n <= MATRIX_VCPUS; n++) {
		snp_ld_update(ld, n == 1 ? vh.bsp : vh.ap, SNP_PAGE_VMSA, SNP_VMSA_GPA);
		uvm_hex_encode(ld, SNP_LD_LEN, hex);
		uvm_base64_encode(ld, SNP_LD_LEN, b64);
		printf("    {\"vcpus\": %u, \"vcpu_type\": \"%s\", \"vcpu_sig\": \"0x%x\", "
		       "\"guest_features\": \"0x%" PRIx64 "\", \"vmm_type\": \"QEMU\", "
		       "\"measurement\": {\"hex\": \"%s\", \"base64\": \"%s\"}, ",
		       n, cpu, sig, features, hex, b64);
		json_qemu_args(o, n, cpu);
		printf("}%s\n", last_cpu && n == MATRIX_VCPUS ? "" : ",");
	}
}

static void json_matrix(const struct measure_opts *o, const struct inputs *in, const uint8_t fw_ld[SNP_LD_LEN],
			const uint8_t base[SNP_LD_LEN], uint64_t features)
{
	char hex[2 * SNP_LD_LEN + 1];
	size_t n = sizeof MATRIX_CPUS / sizeof MATRIX_CPUS[0];
	uvm_hex_encode(fw_ld, SNP_LD_LEN, hex);
	printf("{\n  \"format\": \"uvm-measurement-matrix/1\",\n  \"mode\": \"snp\",\n");
	printf("  \"artifacts\": {\n");
	json_artifact("ovmf", o->ovmf, in->info.size, in->fw_sha256, !o->kernel);
	if (o->kernel) {
		json_artifact("kernel", o->kernel, in->kernel_size, in->hashes.kernel, !o->initrd);
		if (o->initrd)
			json_artifact("initrd", o->initrd, in->initrd_size, in->hashes.initrd, 1);
	}
	printf("  },\n  \"append\": ");
	if (o->kernel)
		put_json_string(o->append ? o->append : "");
	else
		printf("null");
	printf(",\n  \"firmware_digest\": \"%s\",\n  \"measurements\": [\n", hex);
	for (size_t i = 0; i < n; i++)
		json_matrix_cpu(o, in, base, features, MATRIX_CPUS[i], i + 1 == n);
	printf("  ]\n}\n");
}

/* ------------------------------------------------------------ checks */

static int check_vcpu_sig(const struct measure_opts *o, const char *mode, enum snp_vmm vmm, uint32_t *sig)
{
	uint64_t f, m, s, v;
	int forms = !!o->vcpu_type + !!o->sig_s + !!(o->family_s || o->model_s || o->stepping_s);
	*sig = 0;
	if (forms > 1)
		return usage_error("%s", "give only one of --vcpu-type, --vcpu-sig, --vcpu-family/model/stepping");
	if (forms == 0)
		return vmm == SNP_VMM_QEMU ? usage_error("missing --vcpu-type or --vcpu-sig or "
							 "--vcpu-family in guest mode '%s'",
							 mode)
					   : -1;
	if (o->vcpu_type) {
		if (snp_cpu_sig_by_name(o->vcpu_type, sig))
			return usage_error("unknown --vcpu-type '%s' (names as QEMU spells them, e.g. EPYC-v4)",
					   o->vcpu_type);
	} else if (o->sig_s) {
		if (measure_parse_uint(o->sig_s, 0, UINT32_MAX, &v))
			return usage_error("--vcpu-sig '%s' is not a 32-bit number", o->sig_s);
		*sig = (uint32_t)v;
	} else {
		if (measure_parse_uint(o->family_s, 10, 0x10e, &f) || measure_parse_uint(o->model_s, 10, 255, &m) ||
		    measure_parse_uint(o->stepping_s, 10, 15, &s))
			return usage_error("%s", "--vcpu-family (0..270), --vcpu-model (0..255) and "
						 "--vcpu-stepping (0..15) must all be given, in decimal");
		*sig = snp_cpu_sig((unsigned)f, (unsigned)m, (unsigned)s);
	}
	return -1;
}

static int check_common(const struct measure_opts *o, struct snp_request *r)
{
	uint64_t v = 0x1;
	if (!o->ovmf)
		return usage_error("%s", "--ovmf FILE is required");
	if (o->output && strcmp(o->output, "hex") != 0 && strcmp(o->output, "base64") != 0)
		return usage_error("--output-format '%s': use hex or base64", o->output);
	if (o->features_s && measure_parse_uint(o->features_s, 0, UINT64_MAX, &v))
		return usage_error("--guest-features '%s' is not a 64-bit number", o->features_s);
	r->guest_features = v;
	if (o->vmm_s && snp_vmm_parse(o->vmm_s, &r->vmm))
		return usage_error("unknown --vmm-type '%s' (QEMU, ec2 or gce)", o->vmm_s);
	if ((o->initrd || (o->append && *o->append)) && !o->kernel)
		return usage_error("%s", "--initrd and --append need --kernel");
	if (o->append && strlen(o->append) > MAX_APPEND)
		return usage_error("%s", "--append is longer than 65536 bytes");
	return -1;
}

static int check_vcpus(const struct measure_opts *o, const char *mode, struct snp_request *r)
{
	uint64_t v;
	if (!o->vcpus_s)
		return usage_error("missing --vcpus N in guest mode '%s'", mode);
	if (measure_parse_uint(o->vcpus_s, 10, SNP_MAX_VCPUS, &v) || v == 0)
		return usage_error("--vcpus '%s': give a number from 1 to 4096", o->vcpus_s);
	r->vcpus = (unsigned)v;
	return check_vcpu_sig(o, mode, r->vmm, &r->vcpu_sig);
}

static int check_single(const struct measure_opts *o, struct snp_request *r, uint8_t *fw_digest)
{
	int rc;
	if ((rc = check_vcpus(o, "snp", r)) >= 0)
		return rc;
	if (o->ovmf_hash) {
		if (uvm_hex_decode(o->ovmf_hash, fw_digest, SNP_LD_LEN))
			return usage_error("--snp-ovmf-hash '%s' is not 96 hex digits", o->ovmf_hash);
		r->fw_digest = fw_digest;
	}
	return -1;
}

static int check_matrix(const struct measure_opts *o, const struct snp_request *r)
{
	if (o->vcpus_s || o->vcpu_type || o->sig_s || o->family_s || o->model_s || o->stepping_s)
		return usage_error("%s", "--matrix chooses the vCPU counts and types itself; drop --vcpus/--vcpu-*");
	if (r->vmm != SNP_VMM_QEMU || o->ovmf_hash || o->explain || o->verbose || o->output || o->dump_vmsa)
		return usage_error("%s", "--matrix cannot be combined with --vmm-type, --snp-ovmf-hash, "
					 "--explain, -v, --output-format or --dump-vmsa");
	if (o->append && !printable_ascii(o->append))
		return usage_error("%s", "--matrix needs an --append of printable ASCII");
	const char *paths[3] = {o->ovmf, o->kernel, o->initrd};
	for (int i = 0; i < 3; i++)
		if (paths[i] && !printable_ascii(base_name(paths[i])))
			return usage_error("file name '%s' is not printable ASCII", paths[i]);
	return -1;
}

/* ------------------------------------------------------------ modes */

/* --dump-vmsa: vmsa0.bin (the BSP) .. vmsaN-1.bin, as sev-snp-measure. */
static int dump_vmsas(const struct measure_opts *o, unsigned vcpus, const uint8_t bsp[OVMF_PAGE_SIZE],
		      const uint8_t ap[OVMF_PAGE_SIZE])
{
	const char *dir = o->dump_dir ? o->dump_dir : ".";
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		fprintf(stderr, "uvm measure: %s: cannot open the --dump-vmsa directory: %s; create it first\n", dir,
			strerror(errno));
		return MEASURE_EXIT_INPUT;
	}
	for (unsigned i = 0; i < vcpus; i++) {
		char name[32];
		snprintf(name, sizeof name, "vmsa%u.bin", i);
		int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
		ssize_t n = fd < 0 ? -1 : write(fd, i ? ap : bsp, OVMF_PAGE_SIZE);
		int e = errno;
		if (fd >= 0 && close(fd) != 0 && n == OVMF_PAGE_SIZE) {
			n = -1;
			e = errno;
		}
		if (n != OVMF_PAGE_SIZE) {
			fprintf(stderr,
				"uvm measure: %s/%s: cannot write the VMSA page: %s; check that the directory is "
				"writable and %s is not a symbolic link\n",
				dir, name, n < 0 ? strerror(e) : "short write", name);
			close(dfd);
			return MEASURE_EXIT_INPUT;
		}
	}
	close(dfd);
	return -1;
}

static int run_matrix(const struct measure_opts *o, struct inputs *in, const struct snp_request *r)
{
	struct uvm_err err = {0};
	uint8_t fw_ld[SNP_LD_LEN] = {0}, base[SNP_LD_LEN];
	uvm_sha256(in->fw.data, in->fw.len, in->fw_sha256);
	snp_ld_firmware(fw_ld, in->fw.data, &in->info, NULL);
	memcpy(base, fw_ld, sizeof base);
	if (snp_ld_metadata(base, &in->info, in->have_kernel ? &in->hashes : NULL, SNP_VMM_QEMU, NULL, &err))
		return measure_input_error(o->ovmf, &err);
	json_matrix(o, in, fw_ld, base, r->guest_features);
	return fflush(stdout) == 0 ? 0 : MEASURE_EXIT_INPUT;
}

static int run_single(const struct measure_opts *o, struct inputs *in, struct snp_request *r)
{
	struct uvm_err err = {0};
	struct snp_trace trace = {measure_explain_step, NULL};
	uint8_t ld[SNP_LD_LEN];
	r->fw = in->fw.data;
	r->info = &in->info;
	r->hashes = in->have_kernel ? &in->hashes : NULL;
	if (o->explain)
		explain_header(o, in, r);
	if (snp_measure(r, ld, o->explain ? &trace : NULL, &err))
		return measure_input_error(o->ovmf, &err);
	if (o->dump_vmsa) {
		uint8_t bsp[OVMF_PAGE_SIZE], ap[OVMF_PAGE_SIZE];
		int rc;
		snp_vmsa_page(bsp, SNP_BSP_EIP, r->guest_features, r->vcpu_sig, r->vmm);
		snp_vmsa_page(ap, in->info.reset_eip, r->guest_features, r->vcpu_sig, r->vmm);
		if ((rc = dump_vmsas(o, r->vcpus, bsp, ap)) >= 0)
			return rc;
	}
	measure_print_digest(ld, SNP_LD_LEN, "SEV_SNP", o);
	return fflush(stdout) == 0 ? 0 : MEASURE_EXIT_INPUT;
}

static int run_sev(const struct measure_opts *o, struct inputs *in, const struct snp_request *r, enum mode mode)
{
	struct uvm_err err = {0};
	struct snp_trace trace = {measure_explain_step, NULL};
	struct sev_request q = {mode == MODE_SEVES ? SEV_MODE_ES : SEV_MODE_SEV,
				in->fw.data,
				&in->info,
				in->have_kernel ? &in->hashes : NULL,
				r->vcpus,
				r->vcpu_sig,
				r->vmm};
	uint8_t ld[SEV_LD_LEN], bsp[OVMF_PAGE_SIZE], ap[OVMF_PAGE_SIZE];
	int rc;
	if (o->explain) {
		fprintf(stderr, "firmware %s: %zu bytes, AP reset EIP %s0x%x\n", o->ovmf, in->info.size,
			in->info.has_reset_block ? "" : "(no reset block) ", in->info.reset_eip);
		fprintf(stderr, "mode %s, vcpus %u, vcpu signature 0x%x, VMM %s, kernel %s\n", o->mode, q.vcpus,
			q.vcpu_sig, snp_vmm_name(q.vmm), o->kernel ? o->kernel : "(none)");
		fprintf(stderr, "parts hashed in order (SHA-256 of each):\n");
	}
	if (sev_measure(&q, ld, o->explain ? &trace : NULL, &err))
		return measure_input_error(o->ovmf, &err);
	if (o->explain)
		measure_explain_step(NULL, "launch digest", ld, sizeof ld);
	if (o->dump_vmsa) {
		sev_es_vmsa_page(bsp, 0, in->info.reset_eip, q.vcpu_sig, q.vmm);
		sev_es_vmsa_page(ap, 1, in->info.reset_eip, q.vcpu_sig, q.vmm);
		if ((rc = dump_vmsas(o, q.vcpus, bsp, ap)) >= 0)
			return rc;
	}
	measure_print_digest(ld, sizeof ld, mode == MODE_SEVES ? "SEV_ES" : "SEV", o);
	return fflush(stdout) == 0 ? 0 : MEASURE_EXIT_INPUT;
}

static void explain_svsm(const struct measure_opts *o, const struct inputs *in, const struct ovmf_info *si,
			 const struct snp_request *r, uint64_t vars_size)
{
	fprintf(stderr, "firmware %s: %zu bytes, %zu pages at GPA 0x%llx (its metadata is not used)\n", o->ovmf,
		in->info.size, in->info.size / OVMF_PAGE_SIZE, (unsigned long long)in->info.gpa);
	fprintf(stderr, "OVMF_VARS store: %" PRIu64 " bytes at GPA 0x%llx (not measured)\n", vars_size,
		(unsigned long long)(in->info.gpa - vars_size));
	fprintf(stderr, "SVSM %s: %zu bytes, %zu pages at GPA 0x%llx, entry point 0x%x\n", o->svsm, si->size,
		si->size / OVMF_PAGE_SIZE, (unsigned long long)si->gpa, svsm_entry_gpa(si));
	fprintf(stderr, "SVSM metadata, %zu sections in table order:\n", si->n_sections);
	for (size_t k = 0; k < si->n_sections; k++)
		fprintf(stderr, "  %-18s 0x%x+0x%x\n", ovmf_section_name(si->sections[k].type), si->sections[k].gpa,
			si->sections[k].size);
	fprintf(stderr, "vcpus %u (all start in the SVSM), vcpu signature 0x%x, SEV features 0x%x\n", r->vcpus,
		r->vcpu_sig, SVSM_SEV_FEATURES);
	fprintf(stderr, "steps (value after each):\n");
}

static int run_svsm(const struct measure_opts *o, struct inputs *in, const struct snp_request *r, uint64_t vars_size)
{
	struct uvm_err err = {0};
	struct snp_trace trace = {measure_explain_step, NULL};
	struct ovmf_info si;
	struct measure_blob sv;
	uint8_t ld[SNP_LD_LEN], vmsa[OVMF_PAGE_SIZE];
	int rc = MEASURE_EXIT_INPUT;
	/* vars (<= 1 GiB) under firmware (<= 1 GiB) below 4 GiB: the end is above 2 GiB */
	if (measure_blob_map(o->svsm, &sv, 1, &err) != 0)
		return measure_input_error(o->svsm, &err);
	if (ovmf_parse_at(sv.data, sv.len, OVMF_NEED_METADATA | OVMF_NEED_SVSM_INFO, in->info.gpa - vars_size, &si,
			  &err) == 0) {
		struct svsm_request q = {in->fw.data, &in->info, sv.data, &si, r->vcpus, r->vcpu_sig};
		if (o->explain)
			explain_svsm(o, in, &si, r, vars_size);
		rc = svsm_measure(&q, ld, o->explain ? &trace : NULL, &err) ? MEASURE_EXIT_INPUT : -1;
	}
	measure_blob_unmap(&sv);
	if (rc >= 0)
		return measure_input_error(o->svsm, &err);
	if (o->dump_vmsa) {
		svsm_vmsa_page(vmsa, svsm_entry_gpa(&si), r->vcpu_sig);
		if ((rc = dump_vmsas(o, r->vcpus, vmsa, vmsa)) >= 0)
			return rc;
	}
	measure_print_digest(ld, SNP_LD_LEN, "SEV_SNP_SVSM", o);
	return fflush(stdout) == 0 ? 0 : MEASURE_EXIT_INPUT;
}

static int run_ovmf_hash(const struct measure_opts *o, struct inputs *in)
{
	uint8_t ld[SNP_LD_LEN] = {0};
	char hex[2 * SNP_LD_LEN + 1];
	snp_ld_firmware(ld, in->fw.data, &in->info, NULL);
	uvm_hex_encode(ld, SNP_LD_LEN, hex);
	printf("%s\n", hex);
	(void)o;
	return fflush(stdout) == 0 ? 0 : MEASURE_EXIT_INPUT;
}

static int check_mode(const struct measure_opts *o, enum mode *mode)
{
	static const char *const names[] = {"snp", "snp:ovmf-hash", "seves", "sev", "snp:svsm"};
	int found = 0;
	if (!o->mode)
		return usage_error("%s", "--mode is required: snp, seves, sev, snp:svsm or snp:ovmf-hash");
	for (int m = MODE_SNP; m <= MODE_SVSM; m++)
		if (strcmp(o->mode, names[m]) == 0) {
			*mode = (enum mode)m;
			found = 1;
		}
	if (!found)
		return usage_error("--mode '%s' is not supported: use snp, seves, sev, snp:svsm or snp:ovmf-hash",
				   o->mode);
	if (*mode != MODE_SNP && o->matrix)
		return usage_error("--matrix needs --mode snp, not '%s'", o->mode);
	if (*mode == MODE_OVMF_HASH && o->dump_vmsa)
		return usage_error("%s", "--mode snp:ovmf-hash measures no VMSA; drop --dump-vmsa");
	return -1;
}

/* --vars-size/--vars-file (snp:svsm only, as in sev-snp-measure): the
 * OVMF_VARS store QEMU maps right below the firmware, above the SVSM. Its
 * size places the SVSM; the store itself is not measured. A size that is not
 * whole pages would put the SVSM at a GPA the PSP cannot update. */
static int check_vars(const struct measure_opts *o, enum mode mode, uint64_t *vars_size)
{
	struct stat st;
	*vars_size = 0;
	if (o->vars_size_s && o->vars_file)
		return usage_error("%s", "--vars-size and --vars-file conflict; give one");
	if (mode != MODE_SVSM && (o->vars_size_s || o->vars_file || o->svsm))
		return usage_error("%s", "--svsm, --vars-size and --vars-file only apply to --mode snp:svsm (they "
					 "place the SVSM below the OVMF_VARS store)");
	if (mode != MODE_SVSM)
		return -1;
	if (!o->svsm)
		return usage_error("%s", "missing --svsm FILE in guest mode 'snp:svsm'");
	if (!o->vars_size_s && !o->vars_file)
		return usage_error("%s", "missing --vars-size N or --vars-file FILE in guest mode 'snp:svsm'");
	if (o->vars_size_s && measure_parse_uint(o->vars_size_s, 10, MAX_VARS_SIZE, vars_size))
		return usage_error("--vars-size '%s' is not a size in bytes (decimal, at most 1 GiB)", o->vars_size_s);
	if (o->vars_size_s && *vars_size % OVMF_PAGE_SIZE)
		return usage_error("--vars-size %s is not a multiple of 4096 (a vars store is whole pages)",
				   o->vars_size_s);
	if (!o->vars_file)
		return -1;
	int stat_rc = stat(o->vars_file, &st);
	if (stat_rc != 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "uvm measure: %s: %s; give the OVMF_VARS file QEMU maps, or --vars-size\n",
			o->vars_file, stat_rc != 0 ? strerror(errno) : "not a regular file");
		return MEASURE_EXIT_INPUT;
	}
	if ((uint64_t)st.st_size > MAX_VARS_SIZE || st.st_size % OVMF_PAGE_SIZE) {
		fprintf(stderr, "uvm measure: %s: %lld bytes is not a vars store (whole 4 KiB pages, at most 1 GiB)\n",
			o->vars_file, (long long)st.st_size);
		return MEASURE_EXIT_INPUT;
	}
	*vars_size = (uint64_t)st.st_size;
	return -1;
}

/* snp:svsm: what it does not measure is refused rather than ignored. */
static int check_svsm(const struct measure_opts *o, struct snp_request *r)
{
	if (o->kernel || o->ovmf_hash || o->features_s || (o->vmm_s && r->vmm != SNP_VMM_QEMU))
		return usage_error("%s", "--mode snp:svsm measures no kernel hashes, always SEV features 0x1 and only "
					 "QEMU's layout; drop --kernel/--initrd/--append, --snp-ovmf-hash, "
					 "--guest-features and --vmm-type");
	return check_vcpus(o, "snp:svsm", r);
}

/* seves and sev: what they do not measure is refused rather than ignored. */
static int check_sev(const struct measure_opts *o, enum mode mode, struct snp_request *r)
{
	if (o->ovmf_hash)
		return usage_error("--snp-ovmf-hash only works with --mode snp, not '%s'", o->mode);
	if (o->features_s)
		return usage_error("--guest-features has no effect in mode '%s' (its VMSAs carry SEV features 0); "
				   "drop it",
				   o->mode);
	if (mode == MODE_SEVES)
		return check_vcpus(o, "seves", r);
	if (o->vcpus_s || o->vcpu_type || o->sig_s || o->family_s || o->model_s || o->stepping_s || o->vmm_s ||
	    o->dump_vmsa)
		return usage_error("%s", "--mode sev measures no vCPU state; drop --vcpus, --vcpu-*, --vmm-type "
					 "and --dump-vmsa");
	return -1;
}

static int measure(const struct measure_opts *o)
{
	struct snp_request r = {.vmm = SNP_VMM_QEMU};
	struct inputs in;
	uint8_t fw_digest[SNP_LD_LEN];
	enum mode mode = MODE_SNP;
	unsigned need = OVMF_NEED_RESET_BLOCK | OVMF_NEED_METADATA;
	uint64_t vars_size = 0;
	int rc;
	memset(&in, 0, sizeof in);
	if (o->igvm)
		return measure_igvm(o);
	if ((rc = check_mode(o, &mode)) >= 0 || (rc = check_common(o, &r)) >= 0)
		return rc;
	if (mode == MODE_SNP && (rc = o->matrix ? check_matrix(o, &r) : check_single(o, &r, fw_digest)) >= 0)
		return rc;
	if ((mode == MODE_SEVES || mode == MODE_SEV) && (rc = check_sev(o, mode, &r)) >= 0)
		return rc;
	if ((mode == MODE_SVSM && (rc = check_svsm(o, &r)) >= 0) || (rc = check_vars(o, mode, &vars_size)) >= 0)
		return rc;
	if (mode == MODE_SEVES || mode == MODE_SEV || mode == MODE_SVSM)
		need = mode == MODE_SEVES ? OVMF_NEED_RESET_BLOCK : 0; /* snp:svsm uses the SVSM's metadata */
	if ((rc = load_firmware(o->ovmf, need, &in)) >= 0)
		return rc;
	if (mode == MODE_OVMF_HASH)
		rc = run_ovmf_hash(o, &in);
	else if (mode == MODE_SVSM)
		rc = run_svsm(o, &in, &r, vars_size);
	else if ((rc = load_kernel(o, &in)) < 0)
		rc = mode != MODE_SNP ? run_sev(o, &in, &r, mode)
		     : o->matrix      ? run_matrix(o, &in, &r)
				      : run_single(o, &in, &r);
	measure_blob_unmap(&in.fw);
	return rc;
}

static int run(int argc, char **argv)
{
	struct measure_opts o = {0};
	int rc = parse_args(argc, argv, &o);
	if (rc >= 0)
		return rc;
	return measure(&o);
}

const struct uvm_command uvm_command_measure = {
	"measure", "predict the SEV/SEV-ES/SEV-SNP launch measurement (a drop-in for sev-snp-measure)", run};
