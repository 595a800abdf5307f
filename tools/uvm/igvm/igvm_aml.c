/* The AML encoder (see igvm_aml.h): our own code, from the AML grammar of
 * ACPI 6.5 chapter 20 and the resource descriptors of its section 6.4. */
#include "igvm_aml.h"
#include "le.h"

#include <string.h>

void aml_init(struct aml *a, uint8_t *buf, size_t cap)
{
	a->p = buf;
	a->cap = cap;
	a->len = 0;
	a->bad = 0;
}

void aml_bytes(struct aml *a, const void *b, size_t n)
{
	if (a->bad || n > a->cap - a->len) {
		a->bad = 1;
		return;
	}
	memcpy(a->p + a->len, b, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

/* n bytes inserted at offset at, what follows moved up. */
static void insert(struct aml *a, size_t at, const uint8_t *b, size_t n)
{
	if (a->bad || at > a->len || n > a->cap - a->len) {
		a->bad = 1;
		return;
	}
	memmove(a->p + at + n, a->p + at, a->len - at);
	memcpy(a->p + at, b, n);
	a->len += n;
}

size_t aml_pkglength(size_t len, uint8_t out[4])
{
	/* one byte holds 6 bits; each byte more adds 8 bits above a 4-bit
	 * nibble, and the PkgLength counts its own bytes */
	static const size_t limit[5] = {0, 0x3f, 0xfff, 0xfffff, 0xfffffff};
	for (size_t n = 1; n <= 4; n++) {
		if (len > limit[n] - n)
			continue;
		size_t total = len + n;
		if (n == 1) {
			out[0] = (uint8_t)total;
			return 1;
		}
		out[0] = (uint8_t)(((n - 1) << 6) | (total & 0x0f));
		for (size_t i = 1; i < n; i++)
			out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
		return n;
	}
	return 0;
}

size_t aml_open(const struct aml *a)
{
	return a->len;
}

void aml_close(struct aml *a, size_t mark)
{
	uint8_t pl[4];
	size_t n;
	if (a->bad || mark > a->len || (n = aml_pkglength(a->len - mark, pl)) == 0) {
		a->bad = 1;
		return;
	}
	insert(a, mark, pl, n);
}

static int lead_char(char c)
{
	return (c >= 'A' && c <= 'Z') || c == '_';
}

static int name_char(char c)
{
	return lead_char(c) || (c >= '0' && c <= '9');
}

void aml_name(struct aml *a, const char *name)
{
	uint8_t segs[4 * 8];
	size_t nseg = 0;
	const char *s = name;
	if (*s == '\\') {
		aml_byte(a, AML_ROOT_CHAR);
		s++;
	}
	for (;;) {
		size_t n = 0;
		if (nseg == sizeof segs / 4 || !lead_char(*s)) {
			a->bad = 1;
			return;
		}
		while (n < 4 && name_char(s[n]))
			n++;
		memset(segs + 4 * nseg, '_', 4);
		memcpy(segs + 4 * nseg, s, n);
		nseg++;
		s += n;
		if (*s == 0)
			break;
		if (*s != '.') {
			a->bad = 1;
			return;
		}
		s++;
	}
	if (nseg == 2)
		aml_byte(a, AML_DUAL_NAME_PREFIX);
	else if (nseg > 2) {
		aml_byte(a, AML_MULTI_NAME_PREFIX);
		aml_byte(a, (uint8_t)nseg);
	}
	aml_bytes(a, segs, 4 * nseg);
}

void aml_integer(struct aml *a, uint64_t v)
{
	uint8_t b[8];
	le64_put(b, v);
	if (v == 0 || v == 1)
		aml_byte(a, v ? AML_ONE_OP : AML_ZERO_OP);
	else if (v <= 0xff) {
		aml_byte(a, AML_BYTE_PREFIX);
		aml_bytes(a, b, 1);
	} else if (v <= 0xffff) {
		aml_byte(a, AML_WORD_PREFIX);
		aml_bytes(a, b, 2);
	} else if (v <= 0xffffffffu) {
		aml_byte(a, AML_DWORD_PREFIX);
		aml_bytes(a, b, 4);
	} else {
		aml_byte(a, AML_QWORD_PREFIX);
		aml_bytes(a, b, 8);
	}
}

void aml_string(struct aml *a, const char *s)
{
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c > 0x7f)
			a->bad = 1;
	aml_byte(a, AML_STRING_PREFIX);
	aml_bytes(a, s, strlen(s) + 1);
}

void aml_name_op(struct aml *a, const char *name)
{
	aml_byte(a, AML_NAME_OP);
	aml_name(a, name);
}

void aml_name_integer(struct aml *a, const char *name, uint64_t v)
{
	aml_name_op(a, name);
	aml_integer(a, v);
}

void aml_name_string(struct aml *a, const char *name, const char *s)
{
	aml_name_op(a, name);
	aml_string(a, s);
}

size_t aml_scope(struct aml *a, const char *name)
{
	aml_byte(a, AML_SCOPE_OP);
	size_t mark = aml_open(a);
	aml_name(a, name);
	return mark;
}

size_t aml_device(struct aml *a, const char *name)
{
	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_DEVICE_OP);
	size_t mark = aml_open(a);
	aml_name(a, name);
	return mark;
}

void aml_resources(struct aml *a, struct aml_res *r)
{
	aml_byte(a, AML_BUFFER_OP);
	r->mark = aml_open(a);
	r->size_at = r->start = a->len; /* the BufferSize goes here once known */
}

void aml_resources_end(struct aml *a, const struct aml_res *r)
{
	uint8_t sum = AML_RES_END_TAG, size[9];
	struct aml s;
	if (a->bad || r->start > a->len)
		return;
	for (size_t i = r->start; i < a->len; i++)
		sum = (uint8_t)(sum + a->p[i]);
	aml_byte(a, AML_RES_END_TAG);
	aml_byte(a, (uint8_t)(0x100 - sum));
	aml_init(&s, size, sizeof size);
	aml_integer(&s, a->len - r->start);
	insert(a, r->size_at, size, s.len);
	aml_close(a, r->mark);
}

void aml_qword_memory(struct aml *a, uint64_t min, uint64_t max)
{
	uint8_t d[3 + AML_RES_QWORD_LEN] = {AML_RES_QWORD_ADDRESS};
	le16_put(d + 1, AML_RES_QWORD_LEN);
	d[3] = 0;                        /* resource type: memory range */
	d[4] = 0x0c;                     /* general flags: producer, positive decode, MinFixed, MaxFixed */
	d[5] = 0x03;                     /* memory flags: read/write, cacheable, AddressRangeMemory */
	le64_put(d + 6, 0);              /* granularity */
	le64_put(d + 14, min);           /* range minimum */
	le64_put(d + 22, max);           /* range maximum */
	le64_put(d + 30, 0);             /* translation offset */
	le64_put(d + 38, max - min + 1); /* length */
	aml_bytes(a, d, sizeof d);
}
