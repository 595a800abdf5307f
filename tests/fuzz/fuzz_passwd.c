/* libFuzzer: passwd(5)/group(5) lookups (lib/passwd.h) on image-supplied
 * text. Input: the name to look up, '\n', then the file's bytes (an input
 * without '\n' is all file, looked up as "app").
 *
 * Checked: no read outside the buffer (ASan; libFuzzer's copy is exactly
 * size bytes), failures leave the ids alone and explain themselves in
 * printable ASCII, and the outcome equals that of a plain reference reading
 * of the format written here independently. A passwd line read as a group
 * line gives its uid as the "gid", so the two lookups are cross-checked. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "passwd.h"

#define NAME_MAX_LEN 256

struct ref {
	int found;   /* a line with this name exists */
	int nfields; /* fields of that line, counted up to 4 */
	int ok[2];   /* fields 2 and 3 are ids */
	uint32_t id[2];
};

static int ref_id(const char *p, size_t n, uint32_t *out)
{
	uint64_t v = 0;
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(p[i] - '0');
		if (v > 0xfffffffeu)
			return 0;
	}
	*out = (uint32_t)v;
	return 1;
}

/* The first line (split at '\n', one '\r' dropped, '#' and empty lines
 * skipped) whose text before the first ':' (or the whole line) is name. */
static void reference(const char *buf, size_t len, const char *name, struct ref *r)
{
	size_t nlen = strlen(name);
	memset(r, 0, sizeof *r);
	for (size_t start = 0; start < len;) {
		size_t end = start;
		while (end < len && buf[end] != '\n')
			end++;
		size_t next = end + 1, stop = end;
		if (stop > start && buf[stop - 1] == '\r')
			stop--;
		const char *l = buf + start;
		size_t n = stop - start;
		start = next;
		if (n == 0 || l[0] == '#')
			continue;
		size_t f0 = 0;
		while (f0 < n && l[f0] != ':')
			f0++;
		if (f0 != nlen || memcmp(l, name, nlen) != 0)
			continue;
		r->found = 1;
		size_t fs[5] = {0}, fe[5] = {0}, pos = 0;
		for (int f = 0; f < 4 && pos <= n; f++) {
			size_t e = pos;
			while (e < n && l[e] != ':')
				e++;
			fs[f] = pos;
			fe[f] = e;
			r->nfields++;
			pos = e + 1;
		}
		for (int i = 0; i < 2; i++)
			if (r->nfields > 2 + i)
				r->ok[i] = ref_id(l + fs[2 + i], fe[2 + i] - fs[2 + i], &r->id[i]);
		return;
	}
}

static int valid_name(const char *name)
{
	size_t n = strlen(name);
	return n > 0 && n <= NAME_MAX_LEN && !strpbrk(name, ":\n\r") && name[0] != '#' && name[0] != '+' &&
	       name[0] != '-';
}

static void check_message(const struct uvm_err *err)
{
	if (!err->msg[0])
		abort();
	for (const char *p = err->msg; *p; p++)
		if (*p < 0x20 || *p >= 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[NAME_MAX_LEN + 8] = "app";
	const char *buf = (const char *)data;
	size_t len = size;
	const uint8_t *nl = memchr(data, '\n', size < sizeof name ? size : sizeof name);
	if (nl) {
		size_t n = (size_t)(nl - data);
		memcpy(name, data, n);
		name[n] = '\0'; /* a NUL inside ends the name early: fine */
		buf = (const char *)nl + 1;
		len = size - n - 1;
	}

	struct uvm_err err = {0, ""}, gerr = {0, ""};
	uint32_t uid = 7, gid = 7, ggid = 7;
	int rc = passwd_find_user(buf, len, name, &uid, &gid, &err);
	int grc = passwd_find_group(buf, len, name, &ggid, &gerr);
	if (rc)
		check_message(&err);
	if (grc)
		check_message(&gerr);
	if ((rc && (uid != 7 || gid != 7)) || (grc && ggid != 7))
		abort(); /* a failure must not write */

	if (!valid_name(name)) {
		if (rc == 0 || grc == 0)
			abort();
		return 0;
	}
	struct ref r;
	reference(buf, len, name, &r);
	int want_user = r.found && r.nfields >= 4 && r.ok[0] && r.ok[1];
	int want_group = r.found && r.nfields >= 3 && r.ok[0];
	if ((rc == 0) != want_user || (grc == 0) != want_group)
		abort();
	if (rc == 0 && (uid != r.id[0] || gid != r.id[1]))
		abort();
	if (grc == 0 && ggid != r.id[0])
		abort();
	if (rc == 0 && (grc != 0 || ggid != uid))
		abort(); /* the same line, its third field */
	return 0;
}
