/* uvm initrd: write the image's initramfs from rootfs/initrd.list.
 * Exit status: 0 written, 1 invalid list or unreadable source, 2 usage. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "cpio_newc.h"
#include "file_util.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: uvm initrd --list FILE --mtime SECONDS [-D NAME=PATH]... -o OUT\n"
		"Writes a reproducible cpio (newc) archive from an explicit, sorted file list\n"
		"(format: tools/uvm/cpio_newc.h). -D resolves @NAME sources in the list.\n"
		"Exit status: 0 written, 1 invalid list or source, 2 usage.\n");
}

struct cpio_job {
	const struct cpio_list *list;
	uint32_t mtime;
};

static int write_archive(FILE *f, void *ctx, struct uvm_err *err)
{
	const struct cpio_job *job = ctx;
	return cpio_write(job->list, job->mtime, f, err);
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

static int run(int argc, char **argv)
{
	const char *list_path = NULL, *out_path = NULL;
	uint32_t mtime = 0;
	int have_mtime = 0;
	struct cpio_define defines[CPIO_MAX_DEFINES];
	size_t ndefines = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		}
		if (i + 1 >= argc)
			goto bad;
		if (strcmp(a, "--list") == 0) {
			list_path = argv[++i];
		} else if (strcmp(a, "-o") == 0) {
			out_path = argv[++i];
		} else if (strcmp(a, "--mtime") == 0) {
			if (parse_mtime(argv[++i], &mtime)) {
				fprintf(stderr, "uvm initrd: --mtime '%s' is not seconds since 1970 (0..2^32-1)\n", argv[i]);
				return 2;
			}
			have_mtime = 1;
		} else if (strcmp(a, "-D") == 0) {
			char *eq = strchr(argv[++i], '=');
			if (!eq || eq == argv[i] || ndefines == CPIO_MAX_DEFINES) {
				fprintf(stderr, "uvm initrd: -D '%s' must be NAME=PATH (at most %d)\n", argv[i],
					CPIO_MAX_DEFINES);
				return 2;
			}
			*eq = '\0';
			defines[ndefines++] = (struct cpio_define){argv[i], eq + 1};
		} else {
			goto bad;
		}
	}
	if (!list_path || !out_path || !have_mtime)
		goto bad;

	struct uvm_err err = {0};
	struct file_buf text;
	struct cpio_list list;
	if (file_read_all(list_path, 1 << 20, &text, &err)) {
		fprintf(stderr, "uvm initrd: %s\n", err.msg);
		return 1;
	}
	int rc = cpio_list_parse(text.data, text.len, defines, ndefines, &list, &err);
	file_buf_free(&text);
	if (rc) {
		fprintf(stderr, "uvm initrd: %s: %s\n", list_path, err.msg);
		return 1;
	}
	rc = file_write_atomic(out_path, write_archive, &(struct cpio_job){&list, mtime}, &err);
	cpio_list_free(&list);
	if (rc) {
		fprintf(stderr, "uvm initrd: %s: %s\n", out_path, err.msg);
		return 1;
	}
	return 0;
bad:
	usage(stderr);
	return 2;
}

const struct uvm_command uvm_command_initrd = {"initrd", "write the reproducible initramfs (cpio newc)", run};
