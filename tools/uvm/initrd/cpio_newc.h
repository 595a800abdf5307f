/* A reproducible initramfs writer: an explicit file list in, a cpio "newc"
 * archive out. Nothing of the build host leaks in: owner 0:0, one fixed mtime,
 * inode numbers renumbered in list order, no device numbers but the ones the
 * list asks for (device nodes), entries in the list's (sorted) order.
 *
 * List format (one entry per line, '#' comments, blank lines ignored):
 *   dir   PATH MODE
 *   file  PATH MODE SOURCE      SOURCE is a host path, or @NAME for a -D NAME=PATH
 *   slink PATH MODE TARGET
 *   nod   PATH MODE c|b MAJOR MINOR
 * PATH is absolute and normalised; entries must be sorted by PATH (bytewise)
 * with no duplicates, and every parent directory must be listed. MODE is
 * octal permission bits (<= 07777). */
#ifndef UVM_CPIO_NEWC_H
#define UVM_CPIO_NEWC_H

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

/* Writes the archive for a parsed list, reading file sources from disk. */
int cpio_write(const struct cpio_list *list, uint32_t mtime, FILE *out, struct uvm_err *err);

#endif
