/* See cpio_list.h for the list format and what "reproducible" means here. */
#include "cpio_list.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CPIO_MAX_FILE_SIZE (512u << 20) /* newc sizes are 32-bit; keep far below */
#define CPIO_MAX_LINE 1024

/* ------------------------------------------------------------ parsing */

/* Splits a line into at most max whitespace-separated words (in place). */
static size_t split_words(char *line, char **words, size_t max)
{
	size_t n = 0;
	char *p = line;
	while (*p) {
		while (*p == ' ' || *p == '\t')
			*p++ = '\0';
		if (!*p)
			break;
		if (n == max)
			return max + 1;
		words[n++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
	}
	return n;
}

/* Absolute, no empty/./.. components, no trailing slash, printable ASCII. */
static int path_is_normal(const char *path)
{
	size_t len = strlen(path);
	if (len < 2 || path[0] != '/' || path[len - 1] == '/')
		return 0;
	for (const char *c = path; *c; c++)
		if (*c <= ' ' || *c > '~')
			return 0;
	for (const char *comp = path + 1; comp;) {
		const char *end = strchr(comp, '/');
		size_t clen = end ? (size_t)(end - comp) : strlen(comp);
		if (clen == 0 || (clen == 1 && comp[0] == '.') || (clen == 2 && comp[0] == '.' && comp[1] == '.'))
			return 0;
		comp = end ? end + 1 : NULL;
	}
	return 1;
}

static int parse_u32(const char *text, int base, uint32_t max, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(text, &end, base);
	if (errno || end == text || *end || text[0] == '-' || text[0] == '+' || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int copy_field(char *dst, const char *src, struct uvm_err *err, int line, const char *what)
{
	size_t len = strlen(src);
	if (len >= CPIO_MAX_PATH)
		return uvm_fail(err, EINVAL, "line %d: %s is longer than %d bytes", line, what, CPIO_MAX_PATH - 1);
	memcpy(dst, src, len + 1);
	return 0;
}

static int resolve_source(const char *word, const struct cpio_define *defines, size_t ndefines, struct cpio_entry *e,
			  struct uvm_err *err)
{
	if (word[0] != '@')
		return copy_field(e->arg, word, err, e->line, "source path");
	for (size_t i = 0; i < ndefines; i++)
		if (strcmp(defines[i].name, word + 1) == 0)
			return copy_field(e->arg, defines[i].value, err, e->line, "source path");
	return uvm_fail(err, EINVAL, "line %d: source %s is not defined (pass -D %s=PATH)", e->line, word, word + 1);
}

static const struct {
	const char *word;
	enum cpio_kind kind;
	size_t nargs; /* words after the kind */
} kinds[] = {
	{"dir", CPIO_DIR, 2},
	{"file", CPIO_FILE, 3},
	{"slink", CPIO_SLINK, 3},
	{"nod", CPIO_NOD, 5},
};

static int parse_entry(char **w, size_t n, const struct cpio_define *defines, size_t ndefines, struct cpio_entry *e,
		       struct uvm_err *err)
{
	size_t k;
	for (k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
		if (strcmp(w[0], kinds[k].word) == 0)
			break;
	if (k == sizeof kinds / sizeof kinds[0])
		return uvm_fail(err, EINVAL, "line %d: unknown entry kind '%s' (dir, file, slink, nod)", e->line, w[0]);
	if (n != kinds[k].nargs + 1)
		return uvm_fail(err, EINVAL, "line %d: '%s' takes %zu fields, found %zu", e->line, w[0], kinds[k].nargs,
				n - 1);
	e->kind = kinds[k].kind;
	if (copy_field(e->path, w[1], err, e->line, "path"))
		return -1;
	if (!path_is_normal(e->path))
		return uvm_fail(err, EINVAL,
				"line %d: path '%s' must be absolute and normalised (no '.', '..', '//', trailing '/')",
				e->line, e->path);
	if (parse_u32(w[2], 8, 07777, &e->mode))
		return uvm_fail(err, EINVAL, "line %d: mode '%s' is not octal permission bits <= 07777", e->line, w[2]);
	switch (e->kind) {
	case CPIO_FILE: return resolve_source(w[3], defines, ndefines, e, err);
	case CPIO_SLINK: return copy_field(e->arg, w[3], err, e->line, "link target");
	case CPIO_NOD:
		if (strcmp(w[3], "c") && strcmp(w[3], "b"))
			return uvm_fail(err, EINVAL, "line %d: device type '%s' must be c or b", e->line, w[3]);
		e->devtype = w[3][0];
		if (parse_u32(w[4], 10, 4095, &e->major) || parse_u32(w[5], 10, 1048575, &e->minor))
			return uvm_fail(err, EINVAL, "line %d: bad device numbers '%s %s'", e->line, w[4], w[5]);
		return 0;
	case CPIO_DIR: return 0;
	}
	return 0;
}

/* The parent of e must be "/" or an earlier dir entry. Because the list is
 * sorted and a parent is a prefix of its children, a binary search over the
 * entries before e finds it. */
static int parent_listed(const struct cpio_entry *entries, size_t idx)
{
	const char *path = entries[idx].path;
	const char *slash = strrchr(path, '/');
	size_t plen = (size_t)(slash - path);
	if (plen == 0)
		return 1;
	size_t lo = 0, hi = idx;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strncmp(entries[mid].path, path, plen);
		if (c == 0 && entries[mid].path[plen] != '\0')
			c = 1; /* longer than the parent: sorts after it */
		if (c == 0)
			return entries[mid].kind == CPIO_DIR;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static int check_order(const struct cpio_list *list, struct uvm_err *err)
{
	for (size_t i = 0; i < list->count; i++) {
		const struct cpio_entry *e = &list->entries[i];
		if (i > 0) {
			int c = strcmp(list->entries[i - 1].path, e->path);
			if (c == 0)
				return uvm_fail(err, EINVAL, "line %d: duplicate path %s", e->line, e->path);
			if (c > 0)
				return uvm_fail(
					err, EINVAL,
					"line %d: %s is out of order (the list must be sorted bytewise; it follows %s)",
					e->line, e->path, list->entries[i - 1].path);
		}
		if (!parent_listed(list->entries, i))
			return uvm_fail(err, EINVAL, "line %d: parent directory of %s is not listed as a dir", e->line,
					e->path);
	}
	return 0;
}

/* The list grows as lines come (a 4096-entry table is 2 MiB): doubling,
 * bounded by CPIO_MAX_ENTRIES, which the caller checks first. */
static int grow(struct cpio_list *list, size_t *capacity, struct uvm_err *err)
{
	size_t want = *capacity ? *capacity * 2 : 64;
	if (want > CPIO_MAX_ENTRIES)
		want = CPIO_MAX_ENTRIES;
	struct cpio_entry *more = realloc(list->entries, want * sizeof *more);
	if (!more)
		return uvm_fail(err, ENOMEM, "out of memory for %zu list entries", want);
	list->entries = more;
	*capacity = want;
	return 0;
}

int cpio_list_parse(const char *text, size_t len, const struct cpio_define *defines, size_t ndefines,
		    struct cpio_list *out, struct uvm_err *err)
{
	size_t capacity = 0;
	out->entries = NULL;
	out->count = 0;
	int lineno = 0;
	for (size_t pos = 0; pos < len;) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t llen = nl ? (size_t)(nl - (text + pos)) : len - pos;
		char line[CPIO_MAX_LINE];
		lineno++;
		if (llen >= sizeof line) {
			uvm_fail(err, EINVAL, "line %d: longer than %zu bytes", lineno, sizeof line - 1);
			goto fail;
		}
		memcpy(line, text + pos, llen);
		line[llen] = '\0';
		pos += llen + (nl ? 1 : 0);
		if (memchr(line, '\0', llen)) {
			uvm_fail(err, EINVAL, "line %d: contains a NUL byte", lineno);
			goto fail;
		}
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *w[7];
		size_t n = split_words(line, w, 6);
		if (n == 0)
			continue;
		if (n > 6) {
			uvm_fail(err, EINVAL, "line %d: too many fields", lineno);
			goto fail;
		}
		if (out->count == CPIO_MAX_ENTRIES) {
			uvm_fail(err, EINVAL, "line %d: more than %d entries", lineno, CPIO_MAX_ENTRIES);
			goto fail;
		}
		if (out->count == capacity && grow(out, &capacity, err))
			goto fail;
		struct cpio_entry *e = &out->entries[out->count];
		memset(e, 0, sizeof *e);
		e->line = lineno;
		if (parse_entry(w, n, defines, ndefines, e, err))
			goto fail;
		out->count++;
	}
	if (check_order(out, err) == 0)
		return 0;
fail:
	cpio_list_free(out);
	return -1;
}

void cpio_list_free(struct cpio_list *list)
{
	free(list->entries);
	list->entries = NULL;
	list->count = 0;
}

/* ------------------------------------------------------------ gen_init_cpio's list */

/* gen_init_cpio reads each field with sscanf("%s") and expands "${VAR}" in a
 * file's source: a field it would split or expand is refused here, so the
 * archive holds exactly what our list says. */
static int field_is_plain(const char *s)
{
	for (const char *c = s; *c; c++)
		if (*c <= ' ' || *c > '~')
			return 0;
	return strstr(s, "${") == NULL;
}

/* A file source must be a readable regular file that fits a newc header;
 * checked here so the error names the list line, not gen_init_cpio's guess. */
static int check_source(const struct cpio_entry *e, struct uvm_err *err)
{
	struct stat st;
	if (!field_is_plain(e->arg))
		return uvm_fail(err, EINVAL,
				"line %d: source path '%s' of %s has a space, a control byte or '${' (gen_init_cpio "
				"would split or expand it); move the file to a plain path",
				e->line, e->arg, e->path);
	if (stat(e->arg, &st))
		return uvm_fail(err, errno, "line %d: cannot stat source %s for %s: %s", e->line, e->arg, e->path,
				strerror(errno));
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > CPIO_MAX_FILE_SIZE)
		return uvm_fail(err, EINVAL, "line %d: source %s is not a regular file of at most %u bytes", e->line,
				e->arg, CPIO_MAX_FILE_SIZE);
	return 0;
}

static int put_entry(FILE *out, const struct cpio_entry *e, struct uvm_err *err)
{
	/* Every entry is owned by 0:0: nothing of the build host's users leaks in. */
	switch (e->kind) {
	case CPIO_DIR: fprintf(out, "dir %s %04o 0 0\n", e->path, e->mode); return 0;
	case CPIO_NOD:
		fprintf(out, "nod %s %04o 0 0 %c %u %u\n", e->path, e->mode, e->devtype, e->major, e->minor);
		return 0;
	case CPIO_SLINK:
		if (!field_is_plain(e->arg))
			return uvm_fail(err, EINVAL, "line %d: link target '%s' has a space or a control byte", e->line,
					e->arg);
		fprintf(out, "slink %s %s %04o 0 0\n", e->path, e->arg, e->mode);
		return 0;
	case CPIO_FILE:
		if (check_source(e, err))
			return -1;
		fprintf(out, "file %s %s %04o 0 0\n", e->path, e->arg, e->mode);
		return 0;
	}
	return uvm_fail(err, EINVAL, "line %d: unknown entry kind", e->line);
}

int cpio_list_write_gen(const struct cpio_list *list, FILE *out, struct uvm_err *err)
{
	for (size_t i = 0; i < list->count; i++)
		if (put_entry(out, &list->entries[i], err))
			return -1;
	if (fflush(out) || ferror(out))
		return uvm_fail(err, errno ? errno : EIO, "writing gen_init_cpio's list failed: %s", strerror(errno));
	return 0;
}
