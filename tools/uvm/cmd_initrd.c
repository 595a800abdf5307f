/* uvm initrd: write the image's initramfs from rootfs/initrd.list, through
 * the kernel's own writer (usr/gen_init_cpio of the pinned kernel source).
 * Exit status: 0 written, 1 invalid list or source or a failed writer, 2 usage. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "command.h"
#include "cpio_list.h"
#include "file_util.h"
#include "gen_init_cpio.h"

static const char HELP[] =
	"usage: uvm initrd --list FILE --mtime SECONDS [-D NAME=PATH]... [--gen-init-cpio PATH] -o OUT\n"
	"Writes a reproducible cpio (newc) archive from an explicit, sorted file list\n"
	"(format: tools/uvm/initrd/cpio_list.h). -D resolves @NAME sources in the list.\n"
	"The archive is written by the kernel's usr/gen_init_cpio (-t SECONDS), which make\n"
	"builds from the pinned kernel source next to uvm (the default PATH).\n"
	"Exit status: 0 written, 1 invalid list or source or a failed writer, 2 usage.\n";

enum { O_LIST = 256, O_MTIME, O_GEN };

static const struct option OPTS[] = {
	{"list", required_argument, NULL, O_LIST},
	{"mtime", required_argument, NULL, O_MTIME},
	{"gen-init-cpio", required_argument, NULL, O_GEN},
	CLI_HELP_OPTION,
	{NULL, 0, NULL, 0},
};

struct cpio_job {
	const struct cpio_list *list;
	uint32_t mtime;
	const char *tool;
};

static int write_archive(FILE *f, void *ctx, struct uvm_err *err)
{
	const struct cpio_job *job = ctx;
	if (fflush(f))
		return uvm_fail(err, errno, "flushing the archive failed: %s", strerror(errno));
	return gen_init_cpio_run(job->tool, job->list, job->mtime, fileno(f), err);
}

/* The default writer is the gen_init_cpio make puts next to this uvm binary. */
static int default_tool(char *out, size_t size, struct uvm_err *err)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return uvm_fail(err, errno,
				"cannot find uvm's own path (/proc/self/exe): %s; pass --gen-init-cpio PATH",
				strerror(errno));
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (!slash)
		return uvm_fail(err, EINVAL, "uvm's own path '%s' has no directory; pass --gen-init-cpio PATH", self);
	*slash = '\0';
	if ((size_t)snprintf(out, size, "%s/gen_init_cpio", self) >= size)
		return uvm_fail(err, ENAMETOOLONG, "path of gen_init_cpio next to %s is too long", self);
	return 0;
}

static int parse_mtime(const char *text, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-' || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

struct initrd_args {
	const char *list_path, *out_path, *tool;
	uint32_t mtime;
	int have_mtime;
	struct cpio_define defines[CPIO_MAX_DEFINES];
	size_t ndefines;
};

/* -D NAME=PATH: the string is split in place. */
static int add_define(struct cli *cl, struct initrd_args *a)
{
	char *arg = (char *)cl->arg; /* a string of argv: writable */
	char *eq = strchr(arg, '=');
	if (!eq || eq == arg || a->ndefines == CPIO_MAX_DEFINES)
		return cli_fail(cl, "-D '%s' must be NAME=PATH (at most %d)", arg, CPIO_MAX_DEFINES);
	*eq = '\0';
	a->defines[a->ndefines++] = (struct cpio_define){arg, eq + 1};
	return 0;
}

/* 0 to go on, else CLI_EXIT (cl->status says how). */
static int parse_args(struct cli *cl, struct initrd_args *a)
{
	for (int c; (c = cli_next(cl)) != CLI_END;) {
		int bad = 0;
		switch (c) {
		case CLI_EXIT: return CLI_EXIT;
		case O_LIST: a->list_path = cl->arg; break;
		case O_GEN: a->tool = cl->arg; break;
		case 'o': a->out_path = cl->arg; break;
		case O_MTIME:
			if (parse_mtime(cl->arg, &a->mtime))
				bad = cli_fail(cl, "--mtime '%s' is not seconds since 1970 (0..2^32-1)", cl->arg);
			a->have_mtime = 1;
			break;
		case 'D': bad = add_define(cl, a); break;
		default: bad = cli_unexpected(cl); break; /* an operand */
		}
		if (bad)
			return CLI_EXIT;
	}
	const char *missing = !a->list_path    ? "--list FILE"
			      : !a->have_mtime ? "--mtime SECONDS"
			      : !a->out_path   ? "-o OUT"
					       : NULL;
	if (missing) {
		cli_fail(cl, "%s is required", missing);
		return CLI_EXIT;
	}
	return 0;
}

static int run(int argc, char **argv)
{
	static struct initrd_args a;
	struct cli cl;
	memset(&a, 0, sizeof a);
	cli_init(&cl, "uvm initrd", HELP, "D:o:", OPTS, argc, argv);
	if (parse_args(&cl, &a) == CLI_EXIT)
		return cl.status;
	const char *list_path = a.list_path, *out_path = a.out_path;

	struct uvm_err err = {0};
	char tool[PATH_MAX];
	if (!a.tool && default_tool(tool, sizeof tool, &err)) {
		fprintf(stderr, "uvm initrd: %s\n", err.msg);
		return 1;
	}
	struct file_buf text;
	struct cpio_list list;
	if (file_read_all(list_path, 1 << 20, &text, &err)) {
		fprintf(stderr, "uvm initrd: %s\n", err.msg);
		return 1;
	}
	int rc = cpio_list_parse(text.data, text.len, a.defines, a.ndefines, &list, &err);
	file_buf_free(&text);
	if (rc) {
		fprintf(stderr, "uvm initrd: %s: %s\n", list_path, err.msg);
		return 1;
	}
	rc = file_write_atomic(out_path, write_archive, &(struct cpio_job){&list, a.mtime, a.tool ? a.tool : tool},
			       &err);
	cpio_list_free(&list);
	if (rc) {
		fprintf(stderr, "uvm initrd: %s: %s\n", out_path, err.msg);
		return 1;
	}
	return 0;
}

const struct uvm_command uvm_command_initrd = {"initrd", "write the reproducible initramfs (cpio newc)", run};
