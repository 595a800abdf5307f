/* The fixed text form of a generated policy (see policy_gen.h): the bytes,
 * and so the policy hash, depend only on the value. Objects one member per
 * line, indented by 2; an array or object of scalars on one line when that
 * line fits in GEN_LINE_MAX columns. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_copy.h"
#include "policy_gen.h"

#define GEN_LINE_MAX 100

static int is_scalar(const struct json_value *v)
{
	return json_type(v) != JSON_ARRAY && json_type(v) != JSON_OBJECT;
}

static int all_scalar(const struct json_value *v)
{
	for (size_t i = 0; i < json_len(v); i++)
		if (!is_scalar(json_at(v, i)))
			return 0;
	return 1;
}

/* The compact form of v (escaped as the writer does); 0 or -1. */
static int put_compact(FILE *f, const struct json_value *v)
{
	struct json_writer w;
	size_t len;
	json_writer_init(&w, GEN_CONFIG_MAX);
	json_w_value(&w, v);
	char *s = json_writer_finish(&w, &len);
	if (!s)
		return -1;
	fwrite(s, 1, len, f);
	free(s);
	return 0;
}

static int put_key(FILE *f, const struct json_value *member)
{
	struct json_writer w;
	size_t len;
	const char *k = json_key(member, &len);
	json_writer_init(&w, GEN_CONFIG_MAX);
	json_w_str(&w, k, len);
	char *s = json_writer_finish(&w, &len);
	if (!s)
		return -1;
	fprintf(f, "%s: ", s);
	free(s);
	return 0;
}

/* One line for a scalar container: [a, b] / {"k": v, "k2": v2}. */
static int put_inline(FILE *f, const struct json_value *v)
{
	int obj = json_type(v) == JSON_OBJECT;
	fputc(obj ? '{' : '[', f);
	for (size_t i = 0; i < json_len(v); i++) {
		if (i)
			fputs(", ", f);
		if ((obj && put_key(f, json_at(v, i)) < 0) || put_compact(f, json_at(v, i)) < 0)
			return -1;
	}
	fputc(obj ? '}' : ']', f);
	return 0;
}

/* Writes v inline if it is a container of scalars whose line (starting at
 * column col) fits; 1 written, 0 not (nothing written), -1 error. */
static int try_inline(FILE *f, const struct json_value *v, size_t col)
{
	char *buf = NULL;
	size_t len = 0;
	if (!all_scalar(v))
		return 0;
	FILE *m = open_memstream(&buf, &len);
	if (!m)
		return -1;
	int r = put_inline(m, v);
	if (fclose(m) != 0 || r < 0) {
		free(buf);
		return -1;
	}
	r = col + len + 1 <= GEN_LINE_MAX; /* + 1: the comma after it */
	if (r)
		fwrite(buf, 1, len, f);
	free(buf);
	return r;
}

/* col: the column where v starts (after its indentation and key). */
static int put_value(FILE *f, const struct json_value *v, int depth, size_t col)
{
	int obj = json_type(v) == JSON_OBJECT;
	if (is_scalar(v))
		return put_compact(f, v);
	if (json_len(v) == 0)
		return put_inline(f, v);
	int r = try_inline(f, v, col);
	if (r != 0)
		return r < 0 ? -1 : 0;
	fputs(obj ? "{\n" : "[\n", f);
	for (size_t i = 0; i < json_len(v); i++) {
		const struct json_value *e = json_at(v, i);
		size_t klen = 0;
		fprintf(f, "%*s", 2 * (depth + 1), "");
		if (obj && put_key(f, e) < 0)
			return -1;
		if (obj)
			klen = strlen(json_key(e, NULL)) + 4; /* "key": (escapes aside) */
		if (put_value(f, e, depth + 1, 2 * (size_t)(depth + 1) + klen) < 0)
			return -1;
		fputs(i + 1 < json_len(v) ? ",\n" : "\n", f);
	}
	fprintf(f, "%*s%c", 2 * depth, "", obj ? '}' : ']');
	return 0;
}

char *gen_pretty(const char *json, size_t len, size_t *out_len, struct uvm_err *err)
{
	struct json_doc *doc;
	char *out = NULL;
	const struct json_value *v = json_parse(json, len, len, &doc, err);
	if (!v)
		return NULL;
	FILE *f = open_memstream(&out, out_len);
	int r = f ? put_value(f, v, 0, 0) : -1;
	if (f) {
		fputc('\n', f);
		r |= ferror(f) ? -1 : 0;
		fclose(f);
	}
	json_free(doc);
	if (r < 0) {
		free(out);
		uvm_fail(err, ENOMEM, "out of memory writing the policy");
		return NULL;
	}
	return out;
}
