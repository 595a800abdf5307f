/* Compact JSON writer into a growable buffer (API in json.h). Misuse (a key
 * outside an object, a value without its key, too deep) and allocation
 * failure set `failed`, which json_writer_finish reports, so callers check
 * once at the end. */
#include "json.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void json_writer_init(struct json_writer *w, size_t max_bytes)
{
	memset(w, 0, sizeof *w);
	w->max = max_bytes ? max_bytes : SIZE_MAX / 2;
}

void json_writer_free(struct json_writer *w)
{
	free(w->data);
	w->data = NULL;
	w->len = w->cap = 0;
	w->failed = 1;
}

static void put(struct json_writer *w, const char *s, size_t n)
{
	if (w->failed)
		return;
	if (n > w->max - w->len) {
		w->failed = 1;
		return;
	}
	if (w->len + n + 1 > w->cap) {
		size_t cap = w->cap ? w->cap : 256;
		while (cap < w->len + n + 1)
			cap *= 2;
		char *d = realloc(w->data, cap);
		if (!d) {
			w->failed = 1;
			return;
		}
		w->data = d;
		w->cap = cap;
	}
	memcpy(w->data + w->len, s, n);
	w->len += n;
	w->data[w->len] = '\0';
}

/* Separator and validity bookkeeping before any value. */
static void before_value(struct json_writer *w)
{
	unsigned char *f = &w->frame[w->depth];
	if (w->after_key) {
		w->after_key = 0;
		return;
	}
	if (*f & JSON_WF_OBJECT) {
		w->failed = 1; /* a value in an object needs a key first */
		return;
	}
	if (*f & JSON_WF_COMMA) {
		if (w->depth == 0)
			w->failed = 1; /* a second top-level value */
		put(w, ",", 1);
	}
	*f |= JSON_WF_COMMA;
}

static void w_open(struct json_writer *w, char c, unsigned char kind)
{
	before_value(w);
	if (w->depth >= JSON_MAX_DEPTH) {
		w->failed = 1;
		return;
	}
	put(w, &c, 1);
	w->frame[++w->depth] = kind;
}

void json_w_obj(struct json_writer *w)
{
	w_open(w, '{', JSON_WF_OBJECT);
}

void json_w_arr(struct json_writer *w)
{
	w_open(w, '[', 0);
}

void json_w_end(struct json_writer *w)
{
	if (w->depth == 0 || w->after_key) {
		w->failed = 1;
		return;
	}
	put(w, w->frame[w->depth] & JSON_WF_OBJECT ? "}" : "]", 1);
	w->depth--;
}

static void put_escaped(struct json_writer *w, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t run = 0; /* start of bytes that need no escaping */
	put(w, "\"", 1);
	for (size_t i = 0; i < len;) {
		unsigned char c = u[i];
		size_t k = c < 0x80 ? 1 : json_utf8_len(u + i, len - i);
		if (k > 0 && c >= 0x20 && c != '"' && c != '\\') {
			i += k;
			continue;
		}
		put(w, s + run, i - run);
		char esc[8];
		if (k == 0)
			put(w, "\\ufffd", 6); /* invalid UTF-8 byte */
		else if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(w, esc, 2);
		} else if (c == '\n')
			put(w, "\\n", 2);
		else if (c == '\t')
			put(w, "\\t", 2);
		else if (c == '\r')
			put(w, "\\r", 2);
		else {
			snprintf(esc, sizeof esc, "\\u%04x", c);
			put(w, esc, 6);
		}
		run = ++i;
	}
	put(w, s + run, len - run);
	put(w, "\"", 1);
}

void json_w_keyn(struct json_writer *w, const char *key, size_t len)
{
	unsigned char *f = &w->frame[w->depth];
	if (!(*f & JSON_WF_OBJECT) || w->after_key) {
		w->failed = 1;
		return;
	}
	if (*f & JSON_WF_COMMA)
		put(w, ",", 1);
	*f |= JSON_WF_COMMA;
	put_escaped(w, key, len);
	put(w, ":", 1);
	w->after_key = 1;
}

void json_w_key(struct json_writer *w, const char *key)
{
	json_w_keyn(w, key, strlen(key));
}

void json_w_str(struct json_writer *w, const char *s, size_t len)
{
	before_value(w);
	put_escaped(w, s, len);
}

void json_w_cstr(struct json_writer *w, const char *s)
{
	json_w_str(w, s, strlen(s));
}

void json_w_int(struct json_writer *w, int64_t v)
{
	char buf[24];
	before_value(w);
	put(w, buf, (size_t)snprintf(buf, sizeof buf, "%" PRId64, v));
}

void json_w_uint(struct json_writer *w, uint64_t v)
{
	char buf[24];
	before_value(w);
	put(w, buf, (size_t)snprintf(buf, sizeof buf, "%" PRIu64, v));
}

void json_w_bool(struct json_writer *w, int v)
{
	before_value(w);
	put(w, v ? "true" : "false", v ? 4 : 5);
}

void json_w_null(struct json_writer *w)
{
	before_value(w);
	put(w, "null", 4);
}

void json_w_raw(struct json_writer *w, const char *json, size_t len)
{
	before_value(w);
	put(w, json, len);
}

void json_w_members(struct json_writer *w, const char *members, size_t len)
{
	unsigned char *f = &w->frame[w->depth];
	if (!(*f & JSON_WF_OBJECT) || w->after_key) {
		w->failed = 1;
		return;
	}
	if (len == 0)
		return;
	if (*f & JSON_WF_COMMA)
		put(w, ",", 1);
	*f |= JSON_WF_COMMA;
	put(w, members, len);
}

char *json_writer_finish(struct json_writer *w, size_t *len)
{
	if (w->failed || w->depth != 0 || w->after_key || w->len == 0) {
		json_writer_free(w);
		return NULL;
	}
	char *out = w->data;
	if (len)
		*len = w->len;
	w->data = NULL;
	w->len = w->cap = 0;
	return out;
}
