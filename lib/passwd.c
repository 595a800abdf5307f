/* passwd(5) and group(5) lookups (lib/passwd.h).
 *
 * The text is walked with explicit lengths, never as a C string: a layer
 * may put NUL bytes, CRs or megabytes of garbage anywhere, and only the
 * first line whose name field equals the requested name is ever parsed.
 * Choices where the formats are loose:
 *   - a line is ended by '\n' or by the end of the buffer; one '\r' before
 *     the '\n' is dropped (files edited on Windows), so "app:x:1:2\r\n"
 *     reads as "app:x:1:2";
 *   - blank lines and lines starting with '#' are skipped;
 *   - a matching line needs the fields up to the ids (4 for passwd, 3 for
 *     group); later fields are not read, so their number does not matter;
 *   - ids are ASCII digits only (no sign, space or hex; leading zeros are
 *     plain decimal) and below 4294967295, which is (uid_t)-1, the "leave
 *     unchanged" value of setresuid(2), never a real id. */
#include "passwd.h"

#include <errno.h>
#include <string.h>

#define NAME_MAX_LEN 256     /* LOGIN_NAME_MAX */
#define MAX_FIELDS 4         /* name:password:id:id; the rest is not read */
#define ID_LIMIT 4294967295u /* (uid_t)-1: not an id */
#define SHOWN_MAX 32         /* bytes of a field quoted in an error */

struct span {
	const char *p;
	size_t n;
};

/* What differs between the two files. */
struct file_kind {
	const char *file;   /* "/etc/passwd", for messages */
	const char *entity; /* "user" or "group" */
	size_t nfields;     /* fields a matching line needs */
	const char *layout; /* the needed fields, for messages */
};

static const struct file_kind passwd_kind = {"/etc/passwd", "user", 4, "name:password:uid:gid"};
static const struct file_kind group_kind = {"/etc/group", "group", 3, "name:password:gid"};

/* s[0..n) fit for an error message: at most SHOWN_MAX bytes, anything but
 * printable ASCII (and '\\' and '"') as \xNN, "..." when cut short. */
static const char *shown(const char *s, size_t n, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (size_t i = 0; i < n && i < SHOWN_MAX && o + 8 < size; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
			buf[o++] = (char)c;
			continue;
		}
		buf[o++] = '\\';
		buf[o++] = 'x';
		buf[o++] = hex[c >> 4];
		buf[o++] = hex[c & 0xf];
	}
	if (n > SHOWN_MAX && o + 4 <= size) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

#define SHOWN_SIZE (SHOWN_MAX * 4 + 8)

/* A name that could match a line: not empty, bounded, none of the bytes
 * that separate fields or lines, not a comment or NIS "+"/"-" marker. */
static int check_name(const struct file_kind *k, const char *name, size_t *len, struct uvm_err *err)
{
	char b[SHOWN_SIZE];
	if (!name || !name[0])
		return uvm_fail(err, EINVAL, "%s: an empty %s name cannot be looked up in %s", k->entity, k->entity,
				k->file);
	size_t n = strnlen(name, NAME_MAX_LEN + 1);
	if (n > NAME_MAX_LEN)
		return uvm_fail(err, EINVAL, "%s name \"%s\" is longer than %d bytes", k->entity,
				shown(name, n, b, sizeof b), NAME_MAX_LEN);
	if (strpbrk(name, ":\n\r") || name[0] == '#' || name[0] == '+' || name[0] == '-')
		return uvm_fail(err, EINVAL,
				"%s name \"%s\" cannot be in %s (it holds ':', a line break, or starts with "
				"'#', '+' or '-')",
				k->entity, shown(name, n, b, sizeof b), k->file);
	*len = n;
	return 0;
}

/* Splits line at ':' into at most MAX_FIELDS fields; returns how many. */
static size_t split(struct span line, struct span *f)
{
	size_t nf = 0, start = 0;
	for (size_t i = 0; i <= line.n && nf < MAX_FIELDS; i++) {
		if (i < line.n && line.p[i] != ':')
			continue;
		f[nf].p = line.p + start;
		f[nf].n = i - start;
		nf++;
		start = i + 1;
	}
	return nf;
}

/* Finds the first line whose name field is name; 0 with its fields (at
 * least k->nfields) and 1-based line number. */
static int find_line(const struct file_kind *k, const char *buf, size_t len, const char *name, struct span *f,
		     size_t *lineno, struct uvm_err *err)
{
	size_t namelen = 0, line = 0, pos = 0;
	char b[SHOWN_SIZE];
	if (check_name(k, name, &namelen, err))
		return -1;
	if (len > PASSWD_MAX_BYTES)
		return uvm_fail(err, EFBIG, "%s \"%s\": the image's %s is %zu bytes, more than the %u accepted",
				k->entity, shown(name, namelen, b, sizeof b), k->file, len, PASSWD_MAX_BYTES);
	if (!buf && len)
		return uvm_fail(err, EINVAL, "%s \"%s\": no buffer for the %zu bytes of %s", k->entity,
				shown(name, namelen, b, sizeof b), len, k->file);
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - buf) : len;
		struct span l = {buf + pos, end - pos};
		pos = nl ? end + 1 : len;
		line++;
		if (l.n && l.p[l.n - 1] == '\r')
			l.n--;
		if (l.n == 0 || l.p[0] == '#')
			continue;
		size_t nf = split(l, f);
		if (f[0].n != namelen || memcmp(f[0].p, name, namelen) != 0)
			continue;
		if (nf < k->nfields)
			return uvm_fail(
				err, EINVAL, "%s \"%s\": line %zu of the image's %s has %zu fields, needs %zu (%s)",
				k->entity, shown(name, namelen, b, sizeof b), line, k->file, nf, k->nfields, k->layout);
		*lineno = line;
		return 0;
	}
	return uvm_fail(err, ENOENT,
			"%s \"%s\" is not in the image's %s (%zu lines searched): add it to the image or give "
			"numeric ids",
			k->entity, shown(name, namelen, b, sizeof b), k->file, line);
}

/* A decimal id below ID_LIMIT: digits only, at least one. */
static int parse_id(struct span f, uint32_t *out)
{
	uint64_t v = 0;
	if (f.n == 0)
		return -1;
	for (size_t i = 0; i < f.n; i++) {
		unsigned char c = (unsigned char)f.p[i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (uint64_t)(c - '0');
		if (v >= ID_LIMIT) /* checked each digit: v stays far below 2^64 */
			return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

static int id_field(const struct file_kind *k, const char *name, size_t lineno, const char *what, struct span f,
		    uint32_t *out, struct uvm_err *err)
{
	char b[SHOWN_SIZE], nb[SHOWN_SIZE];
	if (parse_id(f, out) == 0)
		return 0;
	return uvm_fail(err, EINVAL,
			"%s \"%s\": line %zu of the image's %s: %s \"%s\" is not a decimal number below %u", k->entity,
			shown(name, strlen(name), nb, sizeof nb), lineno, k->file, what, shown(f.p, f.n, b, sizeof b),
			ID_LIMIT);
}

int passwd_find_user(const char *buf, size_t len, const char *name, uint32_t *uid, uint32_t *gid, struct uvm_err *err)
{
	struct span f[MAX_FIELDS];
	size_t lineno = 0;
	uint32_t u = 0, g = 0;
	if (!uid || !gid)
		return uvm_fail(err, EINVAL, "passwd_find_user: no place for the ids");
	if (find_line(&passwd_kind, buf, len, name, f, &lineno, err) ||
	    id_field(&passwd_kind, name, lineno, "uid", f[2], &u, err) ||
	    id_field(&passwd_kind, name, lineno, "gid", f[3], &g, err))
		return -1;
	*uid = u;
	*gid = g;
	return 0;
}

int passwd_find_group(const char *buf, size_t len, const char *name, uint32_t *gid, struct uvm_err *err)
{
	struct span f[MAX_FIELDS];
	size_t lineno = 0;
	uint32_t g = 0;
	if (!gid)
		return uvm_fail(err, EINVAL, "passwd_find_group: no place for the id");
	if (find_line(&group_kind, buf, len, name, f, &lineno, err) ||
	    id_field(&group_kind, name, lineno, "gid", f[2], &g, err))
		return -1;
	*gid = g;
	return 0;
}
