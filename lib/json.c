/* Strict JSON parser into an arena-allocated DOM, with accessors, paths and
 * the schema helper. The API and the exact strictness are in json.h. */
#include "json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct json_value {
	enum json_type type;
	size_t offset;                   /* byte offset of the value in the input */
	const struct json_value *parent; /* NULL for the root */
	const char *key;                 /* member key when parent is an object */
	size_t key_len;
	size_t key_offset;       /* byte offset of that key */
	size_t index;            /* position in the parent */
	struct json_value *next; /* next sibling, only while parsing */
	union {
		int boolean;
		struct {
			const char *text;
			size_t len;
			int64_t i;
			uint64_t u;
			unsigned char is_int, is_uint;
		} num;
		struct {
			const char *s;
			size_t len;
		} str;
		struct {
			struct json_value **items;  /* document order */
			struct json_value **sorted; /* objects: by key, for lookup */
			size_t n;
		} kids;
	} u;
};

/* ------------------------------------------------------------------ arena */

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, cap;
};
#define CHUNK_HDR ((sizeof(struct arena_chunk) + 15) & ~(size_t)15)
#define CHUNK_MIN (64 * 1024)

struct json_doc {
	struct arena_chunk *chunks;
};

static void *arena_alloc(struct json_doc *doc, size_t size)
{
	size = (size + 15) & ~(size_t)15;
	struct arena_chunk *c = doc->chunks;
	if (!c || c->cap - c->used < size) {
		size_t cap = size > CHUNK_MIN ? size : CHUNK_MIN;
		if (cap > SIZE_MAX - CHUNK_HDR)
			return NULL;
		c = malloc(CHUNK_HDR + cap);
		if (!c)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = doc->chunks;
		doc->chunks = c;
	}
	void *p = (char *)c + CHUNK_HDR + c->used;
	c->used += size;
	return p;
}

void json_free(struct json_doc *doc)
{
	if (!doc)
		return;
	for (struct arena_chunk *c = doc->chunks, *next; c; c = next) {
		next = c->next;
		free(c);
	}
	free(doc);
}

/* ------------------------------------------------------------------ UTF-8 */

size_t json_utf8_len(const unsigned char *s, size_t n)
{
	if (n == 0)
		return 0;
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	/* Second-byte ranges exclude overlong forms, surrogates (ED A0..BF)
	 * and code points above U+10FFFF (F4 90..). */
	unsigned char lo = 0x80, hi = 0xBF;
	size_t len;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		if (c == 0xE0)
			lo = 0xA0;
		if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		if (c == 0xF0)
			lo = 0x90;
		if (c == 0xF4)
			hi = 0x8F;
	} else
		return 0;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return len;
}

/* ------------------------------------------------------------------ paths */

struct sbuf {
	char *buf;
	size_t size, len;
	int overflow;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->overflow || n > b->size - 1 - b->len) {
		b->overflow = 1;
		return;
	}
	memcpy(b->buf + b->len, s, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

static int is_ident(const char *k, size_t n)
{
	if (n == 0 || (k[0] >= '0' && k[0] <= '9'))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = k[i];
		if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return 0;
	}
	return 1;
}

static void sb_put_quoted_key(struct sbuf *b, const char *k, size_t n)
{
	sb_put(b, "[\"", 2);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)k[i];
		char esc[8];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			sb_put(b, esc, 2);
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof esc, "\\u%04x", c);
			sb_put(b, esc, 6);
		} else
			sb_put(b, (const char *)&c, 1);
	}
	sb_put(b, "\"]", 2);
}

void json_path(const struct json_value *v, char *buf, size_t size)
{
	const struct json_value *chain[JSON_MAX_DEPTH + 2];
	size_t n = 0;
	struct sbuf b = {buf, size, 0, 0};
	if (size < 8)
		return;
	buf[0] = '\0';
	for (; v && v->parent && n < sizeof chain / sizeof chain[0]; v = v->parent)
		chain[n++] = v;
	sb_put(&b, "$", 1);
	while (n-- > 0) {
		const struct json_value *c = chain[n];
		char idx[32];
		if (c->parent->type == JSON_OBJECT) {
			if (is_ident(c->key, c->key_len)) {
				sb_put(&b, ".", 1);
				sb_put(&b, c->key, c->key_len);
			} else
				sb_put_quoted_key(&b, c->key, c->key_len);
		} else {
			int k = snprintf(idx, sizeof idx, "[%zu]", c->index);
			sb_put(&b, idx, (size_t)k);
		}
	}
	if (b.overflow)
		memcpy(buf + size - 4, "...", 4);
}

int json_fail_at(const struct json_value *v, struct uvm_err *err, const char *fmt, ...)
{
	char path[JSON_PATH_MAX], what[UVM_ERR_MAX];
	va_list ap;
	json_path(v, path, sizeof path);
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return uvm_fail(err, EINVAL, "%s: %s", path, what);
}

/* ------------------------------------------------------------------ parser */

struct parser {
	const unsigned char *s;
	size_t len, pos;
	struct json_doc *doc;
	struct uvm_err *err;
};

/* at: the value (or container) the problem is in, for the path. */
static int parse_fail(struct parser *p, const struct json_value *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int parse_fail(struct parser *p, const struct json_value *at, const char *fmt, ...)
{
	char path[JSON_PATH_MAX], what[UVM_ERR_MAX];
	va_list ap;
	json_path(at, path, sizeof path);
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return uvm_fail(p->err, EINVAL, "invalid JSON at byte %zu (%s): %s", p->pos, path, what);
}

static int oom(struct parser *p)
{
	return uvm_fail(p->err, ENOMEM, "out of memory parsing JSON (%zu bytes)", p->len);
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len) {
		unsigned char c = p->s[p->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			return;
		p->pos++;
	}
}

static struct json_value *new_value(struct parser *p, const struct json_value *parent, size_t index)
{
	struct json_value *v = arena_alloc(p->doc, sizeof *v);
	if (!v)
		return NULL;
	memset(v, 0, sizeof *v);
	v->parent = parent;
	v->index = index;
	return v;
}

/* Describes the byte at the current position for error messages. */
static const char *what_here(struct parser *p, char *buf, size_t size)
{
	if (p->pos >= p->len)
		return "end of input";
	unsigned char c = p->s[p->pos];
	if (c >= 0x21 && c < 0x7f)
		snprintf(buf, size, "'%c'", c);
	else
		snprintf(buf, size, "byte 0x%02x", c);
	return buf;
}

static int hex4(const unsigned char *s, uint32_t *out)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		unsigned char c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static size_t utf8_encode(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Decodes the \uXXXX escape (and its low surrogate) at p->pos, which
 * points at the 'u'. */
static int parse_u_escape(struct parser *p, size_t end, const struct json_value *at, uint32_t *cp)
{
	uint32_t lo = 0;
	if (end - p->pos < 5 || hex4(p->s + p->pos + 1, cp) < 0)
		return parse_fail(p, at, "\\u must be followed by 4 hex digits");
	p->pos += 5;
	if (*cp >= 0xDC00 && *cp <= 0xDFFF)
		return parse_fail(p, at, "lone low surrogate \\u%04X in string", *cp);
	if (*cp >= 0xD800 && *cp <= 0xDBFF) {
		if (end - p->pos < 6 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u' ||
		    hex4(p->s + p->pos + 2, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
			return parse_fail(p, at, "high surrogate \\u%04X not followed by a low surrogate", *cp);
		p->pos += 6;
		*cp = 0x10000 + ((*cp - 0xD800) << 10) + (lo - 0xDC00);
	}
	if (*cp == 0)
		return parse_fail(p, at, "\\u0000 (NUL) is not allowed in strings");
	return 0;
}

static int parse_escape(struct parser *p, size_t end, const struct json_value *at, char *out, size_t *n)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	uint32_t cp = 0;
	p->pos++; /* the backslash */
	if (p->pos >= end)
		return parse_fail(p, at, "unterminated escape in string");
	unsigned char c = p->s[p->pos];
	if (c == 'u') {
		if (parse_u_escape(p, end, at, &cp) < 0)
			return -1;
		*n = utf8_encode(cp, out);
		return 0;
	}
	const char *f = c ? strchr(from, c) : NULL;
	if (!f)
		return parse_fail(p, at, "invalid escape '\\%c' in string", c >= 0x21 && c < 0x7f ? c : '?');
	*out = to[f - from];
	*n = 1;
	p->pos++;
	return 0;
}

/* Parses the string at p->pos (a '"') into NUL-terminated arena memory. */
static int parse_string(struct parser *p, const struct json_value *at, const char **out, size_t *out_len)
{
	size_t start = ++p->pos, end = start;
	while (end < p->len && p->s[end] != '"')
		end += p->s[end] == '\\' ? 2 : 1;
	if (end >= p->len)
		return parse_fail(p, at, "unterminated string");
	char *dst = arena_alloc(p->doc, end - start + 1);
	if (!dst)
		return oom(p);
	size_t n = 0;
	while (p->pos < end) {
		unsigned char c = p->s[p->pos];
		size_t k = 0;
		if (c < 0x20)
			return parse_fail(p, at, "control character 0x%02x in string (escape it)", c);
		if (c == '\\') {
			if (parse_escape(p, end, at, dst + n, &k) < 0)
				return -1;
			n += k;
			continue;
		}
		k = c < 0x80 ? 1 : json_utf8_len(p->s + p->pos, end - p->pos);
		if (k == 0)
			return parse_fail(p, at, "invalid UTF-8 in string");
		memcpy(dst + n, p->s + p->pos, k);
		n += k;
		p->pos += k;
	}
	dst[n] = '\0';
	p->pos = end + 1;
	*out = dst;
	*out_len = n;
	return 0;
}

static int is_digit(struct parser *p)
{
	return p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9';
}

/* Exact int64/uint64 forms of an integer literal (digits after an optional '-'). */
static void number_exact(struct json_value *v, const char *t, size_t len)
{
	int neg = t[0] == '-';
	uint64_t mag = 0;
	for (size_t i = (size_t)neg; i < len; i++) {
		unsigned d = (unsigned)(t[i] - '0');
		if (mag > (UINT64_MAX - d) / 10)
			return; /* beyond uint64: only the text is kept */
		mag = mag * 10 + d;
	}
	if (!neg) {
		v->u.num.is_uint = 1;
		v->u.num.u = mag;
		if (mag <= INT64_MAX) {
			v->u.num.is_int = 1;
			v->u.num.i = (int64_t)mag;
		}
	} else if (mag <= (uint64_t)INT64_MAX + 1) {
		v->u.num.is_int = 1;
		v->u.num.i = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
		v->u.num.is_uint = mag == 0;
	}
}

static int parse_number(struct parser *p, struct json_value *v)
{
	size_t start = p->pos;
	int integer = 1;
	if (p->s[p->pos] == '-')
		p->pos++;
	if (!is_digit(p))
		return parse_fail(p, v, "invalid number (a digit must follow '-')");
	if (p->s[p->pos++] == '0') {
		if (is_digit(p))
			return parse_fail(p, v, "invalid number (leading zero)");
	} else
		while (is_digit(p))
			p->pos++;
	if (p->pos < p->len && p->s[p->pos] == '.') {
		p->pos++;
		integer = 0;
		if (!is_digit(p))
			return parse_fail(p, v, "invalid number (a digit must follow '.')");
		while (is_digit(p))
			p->pos++;
	}
	if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
		p->pos++;
		integer = 0;
		if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
			p->pos++;
		if (!is_digit(p))
			return parse_fail(p, v, "invalid number (a digit must follow the exponent)");
		while (is_digit(p))
			p->pos++;
	}
	size_t n = p->pos - start;
	char *text = arena_alloc(p->doc, n + 1);
	if (!text)
		return oom(p);
	memcpy(text, p->s + start, n);
	text[n] = '\0';
	v->type = JSON_NUMBER;
	v->u.num.text = text;
	v->u.num.len = n;
	if (integer)
		number_exact(v, text, n);
	return 0;
}

static int parse_literal(struct parser *p, struct json_value *v)
{
	static const struct {
		const char *word;
		enum json_type type;
		int boolean;
	} lits[] = {{"true", JSON_BOOL, 1}, {"false", JSON_BOOL, 0}, {"null", JSON_NULL, 0}};
	char what[24];
	for (size_t i = 0; i < sizeof lits / sizeof lits[0]; i++) {
		size_t n = strlen(lits[i].word);
		if (p->len - p->pos >= n && memcmp(p->s + p->pos, lits[i].word, n) == 0) {
			p->pos += n;
			v->type = lits[i].type;
			v->u.boolean = lits[i].boolean;
			return 0;
		}
	}
	return parse_fail(p, v, "unexpected %s (expected a JSON value)", what_here(p, what, sizeof what));
}

static int parse_value(struct parser *p, struct json_value *v, int depth);

/* Turns the sibling list into the items array (and, for objects, the
 * sorted index, rejecting duplicate keys). */
static int cmp_key(const void *a, const void *b)
{
	const struct json_value *x = *(const struct json_value *const *)a;
	const struct json_value *y = *(const struct json_value *const *)b;
	int c = strcmp(x->key, y->key);
	if (c)
		return c;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int finish_children(struct parser *p, struct json_value *v, struct json_value *first, size_t n)
{
	v->u.kids.n = n;
	if (n == 0)
		return 0;
	struct json_value **items = arena_alloc(p->doc, n * sizeof *items);
	if (!items)
		return oom(p);
	for (size_t i = 0; i < n; i++, first = first->next)
		items[i] = first;
	v->u.kids.items = items;
	if (v->type != JSON_OBJECT)
		return 0;
	struct json_value **sorted = arena_alloc(p->doc, n * sizeof *sorted);
	if (!sorted)
		return oom(p);
	memcpy(sorted, items, n * sizeof *sorted);
	qsort(sorted, n, sizeof *sorted, cmp_key);
	for (size_t i = 1; i < n; i++)
		if (strcmp(sorted[i - 1]->key, sorted[i]->key) == 0) {
			p->pos = sorted[i]->key_offset;
			return parse_fail(p, sorted[i], "duplicate key");
		}
	v->u.kids.sorted = sorted;
	return 0;
}

/* Shared loop of arrays and objects: p->pos is just after '[' or '{'. */
static int parse_container(struct parser *p, struct json_value *v, int depth)
{
	int is_obj = v->type == JSON_OBJECT;
	char close = is_obj ? '}' : ']', what[24];
	struct json_value *first = NULL, **tail = &first;
	size_t n = 0;
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == close) {
		p->pos++;
		return finish_children(p, v, NULL, 0);
	}
	for (;;) {
		struct json_value *c = new_value(p, v, n);
		if (!c)
			return oom(p);
		if (is_obj) {
			if (p->pos >= p->len || p->s[p->pos] != '"')
				return parse_fail(p, v, "unexpected %s (expected a string key)",
						  what_here(p, what, sizeof what));
			c->key_offset = p->pos;
			if (parse_string(p, v, &c->key, &c->key_len) < 0)
				return -1;
			skip_ws(p);
			if (p->pos >= p->len || p->s[p->pos] != ':')
				return parse_fail(p, c, "unexpected %s (expected ':')",
						  what_here(p, what, sizeof what));
			p->pos++;
			skip_ws(p);
		}
		if (parse_value(p, c, depth + 1) < 0)
			return -1;
		*tail = c;
		tail = &c->next;
		n++;
		skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			skip_ws(p);
			if (p->pos < p->len && p->s[p->pos] == close)
				return parse_fail(p, v, "trailing comma");
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == close) {
			p->pos++;
			return finish_children(p, v, first, n);
		}
		return parse_fail(p, v, "unexpected %s (expected ',' or '%c')", what_here(p, what, sizeof what), close);
	}
}

static int parse_value(struct parser *p, struct json_value *v, int depth)
{
	char what[24];
	v->offset = p->pos;
	if (p->pos >= p->len)
		return parse_fail(p, v, "unexpected end of input (expected a JSON value)");
	unsigned char c = p->s[p->pos];
	if (c == '{' || c == '[') {
		if (depth >= JSON_MAX_DEPTH)
			return parse_fail(p, v, "nesting deeper than %d levels", JSON_MAX_DEPTH);
		v->type = c == '{' ? JSON_OBJECT : JSON_ARRAY;
		p->pos++;
		return parse_container(p, v, depth);
	}
	if (c == '"') {
		v->type = JSON_STRING;
		return parse_string(p, v, &v->u.str.s, &v->u.str.len);
	}
	if (c == '-' || (c >= '0' && c <= '9'))
		return parse_number(p, v);
	if (c == 't' || c == 'f' || c == 'n')
		return parse_literal(p, v);
	return parse_fail(p, v, "unexpected %s (expected a JSON value)", what_here(p, what, sizeof what));
}

const struct json_value *json_parse(const char *text, size_t len, size_t max_len, struct json_doc **doc,
				    struct uvm_err *err)
{
	struct parser p = {(const unsigned char *)text, len, 0, NULL, err};
	char what[24];
	*doc = NULL;
	if (len > max_len) {
		uvm_fail(err, EFBIG, "JSON document of %zu bytes exceeds the limit of %zu bytes", len, max_len);
		return NULL;
	}
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
		parse_fail(&p, NULL, "byte order mark is not allowed");
		return NULL;
	}
	p.doc = calloc(1, sizeof *p.doc);
	struct json_value *root = p.doc ? new_value(&p, NULL, 0) : NULL;
	if (!root) {
		oom(&p);
		json_free(p.doc);
		return NULL;
	}
	skip_ws(&p);
	if (parse_value(&p, root, 0) == 0) {
		skip_ws(&p);
		if (p.pos == p.len) {
			*doc = p.doc;
			return root;
		}
		parse_fail(&p, NULL, "trailing data after the JSON value: %s", what_here(&p, what, sizeof what));
	}
	json_free(p.doc);
	return NULL;
}

/* ------------------------------------------------------------------ accessors */

enum json_type json_type(const struct json_value *v)
{
	return v ? v->type : JSON_NULL;
}

const char *json_type_name(enum json_type t)
{
	static const char *const names[] = {"null", "boolean", "number", "string", "array", "object"};
	return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

size_t json_len(const struct json_value *v)
{
	return v && (v->type == JSON_ARRAY || v->type == JSON_OBJECT) ? v->u.kids.n : 0;
}

const struct json_value *json_at(const struct json_value *v, size_t i)
{
	return i < json_len(v) ? v->u.kids.items[i] : NULL;
}

const struct json_value *json_get(const struct json_value *obj, const char *key)
{
	if (!obj || obj->type != JSON_OBJECT || !key)
		return NULL;
	size_t lo = 0, hi = obj->u.kids.n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(key, obj->u.kids.sorted[mid]->key);
		if (c == 0)
			return obj->u.kids.sorted[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const char *json_key(const struct json_value *member, size_t *len)
{
	if (!member || !member->parent || member->parent->type != JSON_OBJECT)
		return NULL;
	if (len)
		*len = member->key_len;
	return member->key;
}

const char *json_str(const struct json_value *v, size_t *len)
{
	if (!v || v->type != JSON_STRING)
		return NULL;
	if (len)
		*len = v->u.str.len;
	return v->u.str.s;
}

int json_bool(const struct json_value *v, int *out)
{
	if (!v || v->type != JSON_BOOL)
		return -1;
	*out = v->u.boolean;
	return 0;
}

int json_int(const struct json_value *v, int64_t min, int64_t max, int64_t *out, struct uvm_err *err)
{
	if (!v || v->type != JSON_NUMBER)
		return json_fail_at(v, err, "expected an integer, got %s", v ? json_type_name(v->type) : "nothing");
	const char *t = v->u.num.text;
	int integer = !strpbrk(t, ".eE");
	if (!integer)
		return json_fail_at(v, err, "expected an integer, got %.40s", t);
	if (!v->u.num.is_int || v->u.num.i < min || v->u.num.i > max)
		return json_fail_at(v, err, "integer %.40s out of range [%" PRId64 ", %" PRId64 "]", t, min, max);
	*out = v->u.num.i;
	return 0;
}

int json_uint64(const struct json_value *v, uint64_t *out)
{
	if (!v || v->type != JSON_NUMBER || !v->u.num.is_uint)
		return -1;
	*out = v->u.num.u;
	return 0;
}

const char *json_number_text(const struct json_value *v, size_t *len)
{
	if (!v || v->type != JSON_NUMBER)
		return NULL;
	if (len)
		*len = v->u.num.len;
	return v->u.num.text;
}

size_t json_offset(const struct json_value *v)
{
	return v ? v->offset : 0;
}

/* ------------------------------------------------------------------ schema */

static unsigned type_mask(const struct json_value *v)
{
	unsigned m = 1u << v->type;
	if (v->type == JSON_NUMBER && v->u.num.is_int)
		m |= JSON_T_INT;
	return m;
}

static void describe_types(unsigned mask, char *buf, size_t size)
{
	static const char *const names[] = {"null", "boolean", "number", "string", "array", "object", "integer"};
	struct sbuf b = {buf, size, 0, 0};
	buf[0] = '\0';
	for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (!(mask & (1u << i)))
			continue;
		if (b.len)
			sb_put(&b, " or ", 4);
		sb_put(&b, names[i], strlen(names[i]));
	}
}

static int check_member(const struct json_value *m, const struct json_field *fields, size_t nfields,
			struct uvm_err *err)
{
	char want[96], allowed[200];
	struct sbuf b = {allowed, sizeof allowed, 0, 0};
	allowed[0] = '\0';
	for (size_t i = 0; i < nfields; i++) {
		if (strcmp(fields[i].key, m->key) != 0)
			continue;
		if (type_mask(m) & fields[i].types)
			return 0;
		describe_types(fields[i].types, want, sizeof want);
		if (m->type == JSON_NUMBER)
			return json_fail_at(m, err, "expected %s, got the number %.40s", want, m->u.num.text);
		return json_fail_at(m, err, "expected %s, got %s", want, json_type_name(m->type));
	}
	for (size_t i = 0; i < nfields; i++) {
		if (i)
			sb_put(&b, ", ", 2);
		sb_put(&b, fields[i].key, strlen(fields[i].key));
	}
	return json_fail_at(m, err, "unknown key (allowed: %s%s)", allowed, b.overflow ? "..." : "");
}

int json_check_object(const struct json_value *obj, const struct json_field *fields, size_t nfields,
		      struct uvm_err *err)
{
	if (!obj || obj->type != JSON_OBJECT)
		return json_fail_at(obj, err, "expected an object, got %s",
				    obj ? json_type_name(obj->type) : "nothing");
	for (size_t i = 0; i < obj->u.kids.n; i++)
		if (check_member(obj->u.kids.items[i], fields, nfields, err) < 0)
			return -1;
	for (size_t i = 0; i < nfields; i++)
		if (fields[i].required && !json_get(obj, fields[i].key))
			return json_fail_at(obj, err, "missing required key \"%s\"", fields[i].key);
	return 0;
}
