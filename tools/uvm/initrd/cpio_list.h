/* The initramfs file list: an explicit, sorted list in, the kernel's own
 * writer (usr/gen_init_cpio from the pinned kernel source, run with -t) out.
 * This layer adds what gen_init_cpio leaves to its caller: a list that is
 * sorted with every parent listed, sources named by -D, and owner 0:0 on every
 * entry. gen_init_cpio then gives one fixed mtime and inode numbers in list
 * order, and no device numbers but the ones the list asks for.
 *
 * List format (one entry per line, '#' comments, blank lines ignored):
 *   dir   PATH MODE
 *   file  PATH MODE SOURCE      SOURCE is a host path, or @NAME for a -D NAME=PATH
 *   slink PATH MODE TARGET
 *   nod   PATH MODE c|b MAJOR MINOR
 * PATH is absolute and normalised; entries must be sorted by PATH (bytewise)
 * with no duplicates, and every parent directory must be listed. MODE is
 * octal permission bits (<= 07777). */
#ifndef UVM_CPIO_LIST_H
#define UVM_CPIO_LIST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"

#define CPIO_MAX_ENTRIES 4096
#define CPIO_MAX_PATH 256
#define CPIO_MAX_DEFINES 16

enum cpio_kind { CPIO_DIR, CPIO_FILE, CPIO_SLINK, CPIO_NOD };

struct cpio_entry {
	enum cpio_kind kind;
	char path[CPIO_MAX_PATH];
	uint32_t mode;           /* permission bits only */
	char arg[CPIO_MAX_PATH]; /* file: source path (resolved); slink: target */
	char devtype;            /* nod: 'c' or 'b' */
	uint32_t major, minor;   /* nod */
	int line;                /* for error messages */
};

struct cpio_define {
	const char *name;
	const char *value;
};

struct cpio_list {
	struct cpio_entry *entries;
	size_t count;
};

/* Parses a list (text of length len, need not be NUL-terminated). @NAME
 * sources are resolved from defines. On error names the line and the rule. */
int cpio_list_parse(const char *text, size_t len, const struct cpio_define *defines, size_t ndefines,
		    struct cpio_list *out, struct uvm_err *err);
void cpio_list_free(struct cpio_list *list);

/* Writes a parsed list in gen_init_cpio's format (every entry 0:0), after
 * checking that each file source is a regular file and that no field would be
 * split or ${VAR}-expanded by gen_init_cpio. */
int cpio_list_write_gen(const struct cpio_list *list, FILE *out, struct uvm_err *err);

#endif
