/* A small strict JSON (RFC 8259) parser and writer, written for this project
 * (why not a library: docs/policy.md). Used by the guest agent (requests,
 * policy) and by the host tools, so it builds with glibc and static musl.
 *
 * PARSING
 *   struct json_doc *doc;
 *   const struct json_value *root = json_parse(text, len, max_len, &doc, &err);
 *   ... use root ...; json_free(doc);
 * json_parse returns NULL (and *doc = NULL) on any error, with err->msg of
 * the form "invalid JSON at byte OFFSET ($.containers[2].argv): WHAT". It
 * rejects: input longer than max_len, a byte order mark, trailing data,
 * nesting deeper than JSON_MAX_DEPTH, duplicate object keys, invalid UTF-8
 * (overlong forms, surrogates, > U+10FFFF), control characters and NUL in
 * strings (also as \u0000: every string is a NUL-free C string), bad
 * escapes, lone surrogate escapes, leading zeros, "+1", ".5", "1.", NaN,
 * Infinity, and anything else not in the RFC grammar. All memory of a
 * document (values, decoded strings) lives in one arena freed by json_free;
 * values stay valid until then. Strings are stored decoded and
 * NUL-terminated; the length is also kept.
 *
 * Numbers keep their exact source text (json_number_text). Integers (no
 * fraction, no exponent) that fit are also kept exactly as int64/uint64;
 * json_int() rejects anything else with the value's path.
 *
 * ACCESSORS (all accept NULL and return "absent"/0/NULL for a wrong type)
 *   json_type(v)                 JSON_NULL ... JSON_OBJECT
 *   json_len(v)                  number of array elements / object members
 *   json_at(v, i)                element i of an array, or member i of an
 *                                object in document order (its key: json_key)
 *   json_get(obj, "key")         member by key (binary search), or NULL
 *   json_key(member, &len)       key of an object member, else NULL
 *   json_str(v, &len)            string contents (len may be NULL)
 *   json_bool(v, &out)           0 / -1
 *   json_int(v, min, max, &out, err)   exact integer in [min, max], else -1
 *                                with "$.path: ..." in err
 *   json_uint64(v, &out)         exact non-negative integer, else -1
 *   json_path(v, buf, size)      "$.a[3][\"odd key\"]" of any value
 *   json_offset(v)               byte offset of the value in the input
 *
 * SCHEMA
 *   static const struct json_field f[] = {
 *       {"version", JSON_T_STRING, 1}, {"containers", JSON_T_ARRAY, 1}, ...};
 *   json_check_object(obj, f, n, err)
 * rejects a non-object, unknown keys, missing required keys and wrong types,
 * naming the path of the first problem.
 *
 * WRITING (compact, deterministic: members in the order the caller writes)
 *   struct json_writer w; json_writer_init(&w, max_bytes);
 *   json_w_obj(&w); json_w_key(&w, "op"); json_w_str(&w, "x", 1); json_w_end(&w);
 *   char *s = json_writer_finish(&w, &len);   (malloc'ed, NUL-terminated;
 *   NULL if out of memory, over max_bytes, too deep or unbalanced; free(s))
 * json_writer_free releases an unfinished writer. Strings are escaped ("\\",
 * "\"", control characters, and invalid UTF-8 bytes become U+FFFD) so the
 * output is always valid JSON. */
#ifndef UVM_JSON_H
#define UVM_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define JSON_MAX_DEPTH 64

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json_doc;
struct json_value;

const struct json_value *json_parse(const char *text, size_t len, size_t max_len, struct json_doc **doc,
				    struct uvm_err *err);
void json_free(struct json_doc *doc);

enum json_type json_type(const struct json_value *v);
const char *json_type_name(enum json_type t);
size_t json_len(const struct json_value *v);
const struct json_value *json_at(const struct json_value *v, size_t i);
const struct json_value *json_get(const struct json_value *obj, const char *key);
const char *json_key(const struct json_value *member, size_t *len);
const char *json_str(const struct json_value *v, size_t *len);
int json_bool(const struct json_value *v, int *out);
int json_int(const struct json_value *v, int64_t min, int64_t max, int64_t *out, struct uvm_err *err);
int json_uint64(const struct json_value *v, uint64_t *out);
const char *json_number_text(const struct json_value *v, size_t *len);
size_t json_offset(const struct json_value *v);
/* Writes the path (truncated with "..." if it does not fit; size >= 8). */
void json_path(const struct json_value *v, char *buf, size_t size);
#define JSON_PATH_MAX 256

/* Length (1-4) of the valid, shortest-form UTF-8 sequence at s (n bytes
 * available), not a surrogate and <= U+10FFFF; 0 if invalid. */
size_t json_utf8_len(const unsigned char *s, size_t n);

/* Schema: type masks; JSON_T_INT is a number that is an exact int64. */
#define JSON_T_NULL (1u << 0)
#define JSON_T_BOOL (1u << 1)
#define JSON_T_NUMBER (1u << 2)
#define JSON_T_STRING (1u << 3)
#define JSON_T_ARRAY (1u << 4)
#define JSON_T_OBJECT (1u << 5)
#define JSON_T_INT (1u << 6)

struct json_field {
	const char *key;
	unsigned types; /* mask of JSON_T_* */
	int required;
};
int json_check_object(const struct json_value *obj, const struct json_field *fields, size_t nfields,
		      struct uvm_err *err);

/* Fails with "$.path: MESSAGE" (printf-style) naming the value; returns -1. */
int json_fail_at(const struct json_value *v, struct uvm_err *err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

struct json_writer {
	char *data;
	size_t len, cap, max;
	int failed;
	int depth;
	int after_key;
	/* per open level: JSON_WF_OBJECT, JSON_WF_COMMA (a value was written) */
	unsigned char frame[JSON_MAX_DEPTH + 1];
};

#define JSON_WF_OBJECT 1
#define JSON_WF_COMMA 2

void json_writer_init(struct json_writer *w, size_t max_bytes);
void json_w_obj(struct json_writer *w);
void json_w_arr(struct json_writer *w);
void json_w_end(struct json_writer *w); /* closes the innermost object/array */
void json_w_key(struct json_writer *w, const char *key);
void json_w_keyn(struct json_writer *w, const char *key, size_t len);
void json_w_str(struct json_writer *w, const char *s, size_t len);
void json_w_cstr(struct json_writer *w, const char *s);
void json_w_int(struct json_writer *w, int64_t v);
void json_w_uint(struct json_writer *w, uint64_t v);
void json_w_bool(struct json_writer *w, int v);
void json_w_null(struct json_writer *w);
/* Writes one already-valid JSON value verbatim (e.g. a copied number). */
void json_w_raw(struct json_writer *w, const char *json, size_t len);
/* Inside an object: appends already-valid members ("k":v,"k2":v2, without
 * braces; len 0 adds nothing), e.g. to splice one object into another. */
void json_w_members(struct json_writer *w, const char *members, size_t len);
char *json_writer_finish(struct json_writer *w, size_t *len);
void json_writer_free(struct json_writer *w);

#endif
