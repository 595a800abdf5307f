/* uvm igvm: lay a bzImage, an initrd and a command line out as an IGVM file
 * for a direct Linux boot of an SEV-SNP guest at VTL0, without firmware
 * (igvm/igvm_linux.h, docs/hyperv.md). The same inputs give the same bytes.
 * Exit status: 0 written, 1 invalid input (a file unreadable, a kernel the
 * boot protocol check refuses, inputs that do not fit the layout, an
 * output that cannot be written), 2 usage. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bzimage.h"
#include "cli.h"
#include "command.h"
#include "file_util.h"
#include "igvm_linux.h"

#define MAX_KERNEL (64u << 20)
#define MAX_INITRD (768u << 20)

static const char HELP[] = "usage: uvm igvm --kernel BZIMAGE --initrd FILE --cmdline STR [--memory MB] -o OUT.igvm\n"
			   "Writes an IGVM file (format version 1) that boots the kernel directly, without\n"
			   "firmware, as an SEV-SNP guest at VTL0: the bzImage's 64-bit entry (boot protocol\n"
			   ">= 2.12, relocatable), its boot_params with an e820 table of --memory MiB (default\n"
			   "2048, at most 2816), the initrd at 64 MiB, the command line (at most the kernel's\n"
			   "cmdline_size), the SNP CPUID and secrets pages the VMM and the PSP fill in, minimal\n"
			   "ACPI tables (one local APIC), identity page tables, a GDT and vCPU 0's VMSA. Every\n"
			   "address is fixed (docs/hyperv.md); every RAM page is in the image, so the launch\n"
			   "validates all memory the kernel is told of.\n"
			   "The same inputs give the same bytes. Predict its launch measurement with\n"
			   "`uvm measure --igvm OUT.igvm --vmm-type hyperv|qemu`; `uvm launch --igvm OUT.igvm`\n"
			   "prints how to start it.\n"
			   "Exit status: 0 written, 1 invalid input (unreadable file, a kernel that is not a\n"
			   "64-bit relocatable bzImage, inputs that do not fit the layout, unwritable output),\n"
			   "2 usage error.\n";

enum { O_KERNEL = 256, O_INITRD, O_CMDLINE, O_MEMORY };

static const struct option OPTS[] = {
	{"kernel", required_argument, NULL, O_KERNEL},
	{"initrd", required_argument, NULL, O_INITRD},
	{"cmdline", required_argument, NULL, O_CMDLINE},
	{"memory", required_argument, NULL, O_MEMORY},
	{"output", required_argument, NULL, 'o'},
	CLI_HELP_OPTION,
	{NULL, 0, NULL, 0},
};

struct igvm_args {
	const char *kernel, *initrd, *cmdline, *memory, *out;
	unsigned memory_mb;
};

/* 0 to go on, else CLI_EXIT (cl->status says how). */
static int parse_args(struct cli *cl, struct igvm_args *a)
{
	uint64_t v;
	a->memory_mb = IGVM_LINUX_DEFAULT_MEMORY_MB;
	for (int c; (c = cli_next(cl)) != CLI_END;) {
		int bad = 0;
		switch (c) {
		case CLI_EXIT: return CLI_EXIT;
		case O_KERNEL: bad = cli_once(cl, &a->kernel); break;
		case O_INITRD: bad = cli_once(cl, &a->initrd); break;
		case O_CMDLINE: bad = cli_once(cl, &a->cmdline); break;
		case 'o': bad = cli_once(cl, &a->out); break;
		case O_MEMORY:
			bad = cli_once(cl, &a->memory) || cli_uint(cl, 10, 1, IGVM_LINUX_MAX_MEMORY_MB, &v);
			a->memory_mb = (unsigned)v;
			break;
		default: bad = cli_unexpected(cl); break; /* an operand */
		}
		if (bad)
			return CLI_EXIT;
	}
	const char *missing = !a->kernel    ? "--kernel BZIMAGE"
			      : !a->initrd  ? "--initrd FILE"
			      : !a->cmdline ? "--cmdline STR"
			      : !a->out     ? "-o OUT.igvm"
					    : NULL;
	if (missing) {
		cli_fail(cl, "%s is required", missing);
		return CLI_EXIT;
	}
	return 0;
}

static int build(const struct igvm_args *a, const struct file_buf *kernel, const struct file_buf *initrd)
{
	struct uvm_err err = {0};
	struct bzimage bz;
	struct igvm_linux_layout lay;
	uint8_t *out;
	size_t len;
	if (bzimage_parse((const uint8_t *)kernel->data, kernel->len, &bz, &err)) {
		fprintf(stderr, "uvm igvm: %s: %s\n", a->kernel, err.msg);
		return 1;
	}
	struct igvm_linux_input in = {(const uint8_t *)kernel->data,
				      kernel->len,
				      (const uint8_t *)initrd->data,
				      initrd->len,
				      a->cmdline,
				      a->memory_mb};
	if (igvm_linux_build(&in, &out, &len, &lay, &err)) {
		fprintf(stderr, "uvm igvm: %s\n", err.msg);
		return 1;
	}
	int rc = file_write_atomic_bytes(a->out, out, len, &err);
	free(out);
	if (rc) {
		fprintf(stderr, "uvm igvm: %s: %s\n", a->out, err.msg);
		return 1;
	}
	return 0;
}

static int run(int argc, char **argv)
{
	struct igvm_args a;
	struct cli cl;
	memset(&a, 0, sizeof a);
	cli_init(&cl, "uvm igvm", HELP, "o:", OPTS, argc, argv);
	if (parse_args(&cl, &a) == CLI_EXIT)
		return cl.status;
	struct uvm_err err = {0};
	struct file_buf kernel = {0}, initrd = {0};
	int rc = 1;
	if (file_read_all(a.kernel, MAX_KERNEL, &kernel, &err))
		fprintf(stderr, "uvm igvm: --kernel: %s\n", err.msg);
	else if (file_read_all(a.initrd, MAX_INITRD, &initrd, &err))
		fprintf(stderr, "uvm igvm: --initrd: %s\n", err.msg);
	else
		rc = build(&a, &kernel, &initrd);
	file_buf_free(&kernel);
	file_buf_free(&initrd);
	return rc;
}

const struct uvm_command uvm_command_igvm = {"igvm", "write the IGVM image (direct Linux boot, SEV-SNP)", run};
