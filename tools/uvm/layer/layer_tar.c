/* Tar header, pax and path parsing (pure functions); extraction is in
 * layer_extract.c. Formats: POSIX.1-2001 ustar/pax (pax(1)), GNU tar's
 * "ustar  " headers with base-256 numbers and 'L'/'K' long names. */
#include "layer_tar.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Field offsets and sizes of the 512-byte header. */
#define F_NAME 0, 100
#define F_MODE 100, 8
#define F_UID 108, 8
#define F_GID 116, 8
#define F_SIZE 124, 12
#define F_MTIME 136, 12
#define F_CHKSUM 148, 8
#define OFF_TYPE 156
#define F_LINK 157, 100
#define OFF_MAGIC 257
#define F_DEVMAJOR 329, 8
#define F_DEVMINOR 337, 8
#define F_PREFIX 345, 155

/* Octal (NUL/space padded) or GNU base-256 (first byte 0x80). */
static int parse_num(const uint8_t *b, size_t off, size_t len, uint64_t max, uint64_t *out)
{
	const uint8_t *p = b + off;
	uint64_t v = 0;
	if (p[0] == 0x80) {
		for (size_t i = 1; i < len; i++) {
			if (v > (UINT64_MAX >> 8))
				return -1;
			v = v << 8 | p[i];
		}
	} else if (p[0] & 0x80) {
		return -1; /* negative base-256 or garbage */
	} else {
		size_t i = 0;
		while (i < len && p[i] == ' ')
			i++;
		for (; i < len && p[i] >= '0' && p[i] <= '7'; i++) {
			if (v > (UINT64_MAX >> 3))
				return -1;
			v = v << 3 | (uint64_t)(p[i] - '0');
		}
		for (; i < len; i++)
			if (p[i] != ' ' && p[i] != 0)
				return -1;
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

static void copy_field(char *dst, const uint8_t *b, size_t off, size_t len)
{
	size_t n = strnlen((const char *)b + off, len);
	memcpy(dst, b + off, n);
	dst[n] = 0;
}

static int checksum_ok(const uint8_t *b)
{
	uint64_t want;
	if (parse_num(b, F_CHKSUM, 8 * 255 * TAR_BLOCK, &want) < 0)
		return 0;
	uint64_t usum = 0;
	int64_t ssum = 0; /* some old tars summed signed chars */
	for (size_t i = 0; i < TAR_BLOCK; i++) {
		uint8_t c = (i >= 148 && i < 156) ? ' ' : b[i];
		usum += c;
		ssum += (int8_t)c;
	}
	return usum == want || (ssum >= 0 && (uint64_t)ssum == want);
}

int tar_parse_header(const uint8_t block[TAR_BLOCK], struct tar_header *h, struct uvm_err *err)
{
	size_t i;
	for (i = 0; i < TAR_BLOCK && block[i] == 0; i++)
		;
	if (i == TAR_BLOCK)
		return 1;
	memset(h, 0, sizeof *h);
	int posix = memcmp(block + OFF_MAGIC,
			   "ustar\0"
			   "00",
			   8) == 0;
	int gnu = memcmp(block + OFF_MAGIC, "ustar  \0", 8) == 0;
	if (!posix && !gnu)
		return uvm_fail(err, EINVAL, "not a ustar/pax/GNU tar header (pre-POSIX tar?)");
	if (!checksum_ok(block))
		return uvm_fail(err, EINVAL, "tar header checksum mismatch (corrupt archive?)");
	uint64_t mode, uid, gid, size, mtime, maj = 0, min = 0;
	if (parse_num(block, F_MODE, 07777777, &mode) < 0 || parse_num(block, F_UID, UINT32_MAX - 1, &uid) < 0 ||
	    parse_num(block, F_GID, UINT32_MAX - 1, &gid) < 0 ||
	    parse_num(block, F_SIZE, TAR_MAX_FILE_SIZE, &size) < 0 ||
	    parse_num(block, F_MTIME, TAR_MAX_TIME, &mtime) < 0)
		return uvm_fail(err, EINVAL, "tar header: bad or out-of-range number field");
	h->type = (char)block[OFF_TYPE];
	if (h->type == 0 || h->type == '7')
		h->type = '0'; /* old regular file / contiguous file */
	if ((h->type == '3' || h->type == '4') &&
	    (parse_num(block, F_DEVMAJOR, 0xfff, &maj) < 0 || parse_num(block, F_DEVMINOR, 0xfffff, &min) < 0))
		return uvm_fail(err, EINVAL, "tar header: bad device number");
	h->mode = (uint32_t)(mode & 07777);
	h->uid = uid;
	h->gid = gid;
	h->size = size;
	h->mtime = (int64_t)mtime;
	h->devmajor = (uint32_t)maj;
	h->devminor = (uint32_t)min;
	if (posix && block[345]) {
		char prefix[156], name[101];
		copy_field(prefix, block, F_PREFIX);
		copy_field(name, block, F_NAME);
		snprintf(h->path, sizeof h->path, "%s/%s", prefix, name);
	} else {
		copy_field(h->path, block, F_NAME);
	}
	copy_field(h->link, block, F_LINK);
	return 0;
}

/* Decimal with an optional fraction (pax times): seconds and nanoseconds. */
static int parse_time(const char *s, int64_t *sec, uint32_t *nsec)
{
	int64_t v = 0;
	uint32_t ns = 0;
	const char *p = s;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (*p - '0');
		if (v > TAR_MAX_TIME)
			return -1;
	}
	if (*p == '.') {
		p++;
		uint32_t scale = 100000000;
		if (*p < '0' || *p > '9')
			return -1;
		for (; *p >= '0' && *p <= '9'; p++) {
			ns += (uint32_t)(*p - '0') * scale;
			scale /= 10;
		}
	}
	if (*p)
		return -1;
	*sec = v;
	*nsec = ns;
	return 0;
}

static int parse_dec(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (*s)
		return -1;
	*out = v;
	return 0;
}

static int set_string(char *dst, const char *val, size_t vlen)
{
	if (vlen == 0 || vlen >= TAR_PATH_MAX || memchr(val, 0, vlen))
		return -1;
	memcpy(dst, val, vlen);
	dst[vlen] = 0;
	return 0;
}

/* Keys whose value we do not need: times we do not keep, names we do not
 * map (ownership is numeric), and informational ones. */
static int ignored_key(const char *key)
{
	static const char *const keys[] = {"atime", "ctime", "uname", "gname", "comment", "charset", "hdrcharset"};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strcmp(key, keys[i]) == 0)
			return 1;
	return 0;
}

static int pax_record(char *key, char *val, size_t vlen, struct tar_override *o, struct uvm_err *err)
{
	if (strncmp(key, "SCHILY.xattr.", 13) == 0) {
		const char *name = key + 13;
		if (strncmp(name, "user.", 5) != 0 && strncmp(name, "security.", 9) != 0)
			return uvm_fail(err, EPERM,
					"pax: xattr '%.64s' refused (only user.* and "
					"security.* may come from a layer)",
					name);
		if (o->nxattr >= TAR_XATTR_MAX || strlen(name) > 255 || vlen > 65536)
			return uvm_fail(err, E2BIG, "pax: too many or too large xattrs");
		o->xattr[o->nxattr++] = (struct tar_xattr){name, (const uint8_t *)val, vlen};
		return 0;
	}
	if (memchr(val, 0, vlen) && strcmp(key, "path") != 0 && strcmp(key, "linkpath") != 0)
		return uvm_fail(err, EINVAL, "pax: NUL in the value of '%.64s'", key);
	int r = 0;
	if (strcmp(key, "path") == 0)
		r = set_string(o->path, val, vlen), o->has_path = 1;
	else if (strcmp(key, "linkpath") == 0)
		r = set_string(o->link, val, vlen), o->has_link = 1;
	else if (strcmp(key, "size") == 0)
		r = parse_dec(val, TAR_MAX_FILE_SIZE, &o->size), o->has_size = 1;
	else if (strcmp(key, "uid") == 0)
		r = parse_dec(val, UINT32_MAX - 1, &o->uid), o->has_uid = 1;
	else if (strcmp(key, "gid") == 0)
		r = parse_dec(val, UINT32_MAX - 1, &o->gid), o->has_gid = 1;
	else if (strcmp(key, "mtime") == 0)
		r = parse_time(val, &o->mtime, &o->mtime_nsec), o->has_mtime = 1;
	else if (!ignored_key(key))
		return uvm_fail(err, EINVAL,
				"pax: unsupported key '%.64s' (sparse or vendor "
				"extension?)",
				key);
	if (r < 0)
		return uvm_fail(err, EINVAL, "pax: bad value for '%.64s'", key);
	return 0;
}

int tar_parse_pax(char *buf, size_t len, int is_global, struct tar_override *o, struct uvm_err *err)
{
	size_t pos = 0;
	while (pos < len) {
		/* "LEN KEY=VALUE\n", LEN counting the whole record. */
		size_t rlen = 0, i = pos;
		while (i < len && buf[i] >= '0' && buf[i] <= '9' && i - pos < 8)
			rlen = rlen * 10 + (size_t)(buf[i++] - '0');
		if (i == pos || i >= len || buf[i] != ' ' || rlen <= i - pos + 1 || rlen > len - pos ||
		    buf[pos + rlen - 1] != '\n')
			return uvm_fail(err, EINVAL, "pax: malformed record at byte %zu", pos);
		char *key = buf + i + 1, *end = buf + pos + rlen - 1;
		char *eq = memchr(key, '=', (size_t)(end - key));
		if (!eq || eq == key || memchr(key, 0, (size_t)(eq - key)))
			return uvm_fail(err, EINVAL, "pax: record at byte %zu has no key", pos);
		*eq = 0;
		*end = 0; /* replaces the newline: values become C strings */
		if (is_global) {
			if (strcmp(key, "comment") != 0)
				return uvm_fail(err, EINVAL,
						"pax: global header key '%.64s' is "
						"not supported",
						key);
		} else if (pax_record(key, eq + 1, (size_t)(end - eq - 1), o, err) < 0) {
			return -1;
		}
		pos += rlen;
	}
	return 0;
}

void tar_apply_override(struct tar_header *h, const struct tar_override *o)
{
	if (o->has_path)
		memcpy(h->path, o->path, sizeof h->path);
	if (o->has_link)
		memcpy(h->link, o->link, sizeof h->link);
	if (o->has_size)
		h->size = o->size;
	if (o->has_uid)
		h->uid = o->uid;
	if (o->has_gid)
		h->gid = o->gid;
	if (o->has_mtime) {
		h->mtime = o->mtime;
		h->mtime_nsec = o->mtime_nsec;
	}
}

int tar_normalize_path(const char *in, char *out, size_t out_len, struct uvm_err *err)
{
	size_t n = 0;
	if (out_len == 0)
		return uvm_fail(err, EINVAL, "path buffer of 0 bytes");
	out[0] = 0;
	if (in[0] == '/')
		return uvm_fail(err, EPERM, "absolute path '%.200s' in the layer", in);
	const char *p = in;
	while (*p) {
		while (*p == '/')
			p++;
		const char *start = p;
		while (*p && *p != '/')
			p++;
		size_t clen = (size_t)(p - start);
		if (clen == 0 || (clen == 1 && start[0] == '.'))
			continue;
		if (clen == 2 && start[0] == '.' && start[1] == '.')
			return uvm_fail(err, EPERM, "path '%.200s' contains '..'", in);
		if (clen > 255)
			return uvm_fail(err, ENAMETOOLONG, "path '%.200s': component over 255 bytes", in);
		if (n + (n ? 1 : 0) + clen + 1 > out_len)
			return uvm_fail(err, ENAMETOOLONG, "path '%.200s' too long", in);
		if (n)
			out[n++] = '/';
		memcpy(out + n, start, clen);
		n += clen;
		out[n] = 0;
	}
	return 0;
}
