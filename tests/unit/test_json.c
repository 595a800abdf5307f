/* Unit tests of lib/json.h: strict acceptance/rejection tables, error
 * offsets and paths, accessors, the schema helper and writer round-trips. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "json.h"

#define MAXLEN (1u << 20)

static const struct json_value *parse(const char *s, struct json_doc **doc, struct uvm_err *err)
{
	return json_parse(s, strlen(s), MAXLEN, doc, err);
}

/* Documents every strict parser must accept. */
static const char *const accept[] = {
	"0",
	"-0",
	"1",
	"-1",
	"123456789",
	"1.5",
	"-1.5e10",
	"1E+2",
	"1e-2",
	"0.0",
	"9223372036854775807",
	"-9223372036854775808",
	"18446744073709551616",
	"1e400",
	"true",
	"false",
	"null",
	"\"\"",
	"\"abc\"",
	"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
	"\"\\u00e9\"",
	"\"\\ud83d\\ude00\"",
	"\"\xc3\xa9\"",
	"\"\xf0\x9f\x98\x80\"",
	"\"\xef\xbf\xbf\"",
	"\"\x7f\"",
	"[]",
	"{}",
	" \t\r\n[ 1 , 2 ]\n ",
	"{\"a\":{\"b\":[null]}}",
	"{\"a\":1,\"b\":2,\"A\":3}",
	"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
};

struct reject_case {
	const char *doc;
	const char *why;   /* substring of the message */
	const char *where; /* "at byte N (PATH)" substring */
};

static const struct reject_case reject[] = {
	{"", "unexpected end of input", "at byte 0 ($)"},
	{"  ", "unexpected end of input", "at byte 2 ($)"},
	{"1 2", "trailing data", "at byte 2 ($)"},
	{"{} x", "trailing data", "at byte 3"},
	{"01", "leading zero", "($)"},
	{"-01", "leading zero", "($)"},
	{"+1", "unexpected '+'", "at byte 0"},
	{".5", "unexpected '.'", "at byte 0"},
	{"1.", "digit must follow '.'", "at byte 2"},
	{"1e", "digit must follow the exponent", "at byte 2"},
	{"1e+", "digit must follow the exponent", "at byte 3"},
	{"-", "digit must follow '-'", "at byte 1"},
	{"NaN", "unexpected 'N'", "($)"},
	{"Infinity", "unexpected 'I'", "($)"},
	{"-Infinity", "digit must follow '-'", "($)"},
	{"tru", "unexpected 't'", "($)"},
	{"nul", "unexpected 'n'", "($)"},
	{"True", "unexpected 'T'", "($)"},
	{"[1,]", "trailing comma", "($)"},
	{"{\"a\":1,}", "trailing comma", "($)"},
	{"[1 2]", "expected ',' or ']'", "at byte 3 ($)"},
	{"{\"a\" 1}", "expected ':'", "($.a)"},
	{"{a:1}", "expected a string key", "($)"},
	{"{\"a\":1,\"a\":2}", "duplicate key", "($.a)"},
	{"{\"x\":{\"k\":1,\"j\":2,\"k\":3}}", "duplicate key", "at byte 18 ($.x.k)"},
	{"\"abc", "unterminated string", "($)"},
	{"\"a\x01\"", "control character 0x01", "($)"},
	{"\"a\tb\"", "control character 0x09", "($)"},
	{"\"\\x\"", "invalid escape '\\x'", "($)"},
	{"\"\\u12\"", "4 hex digits", "($)"},
	{"\"\\u12g4\"", "4 hex digits", "($)"},
	{"\"\\u0000\"", "NUL", "($)"},
	{"\"\\ud800\"", "high surrogate", "($)"},
	{"\"\\ud800\\u0041\"", "high surrogate", "($)"},
	{"\"\\udc00\"", "lone low surrogate", "($)"},
	{"\"\xc0\xaf\"", "invalid UTF-8", "($)"},         /* overlong '/' */
	{"\"\xe0\x80\xaf\"", "invalid UTF-8", "($)"},     /* overlong 3-byte */
	{"\"\xf0\x80\x80\xaf\"", "invalid UTF-8", "($)"}, /* overlong 4-byte */
	{"\"\xed\xa0\x80\"", "invalid UTF-8", "($)"},     /* UTF-8 surrogate */
	{"\"\xf4\x90\x80\x80\"", "invalid UTF-8", "($)"}, /* > U+10FFFF */
	{"\"\xff\"", "invalid UTF-8", "($)"},
	{"\"\xc3\"", "invalid UTF-8", "($)"}, /* truncated */
	{"\"\x80\"", "invalid UTF-8", "($)"}, /* lone continuation */
	{"\xef\xbb\xbf{}", "byte order mark", "($)"},
	{"{\"containers\":[{},{},{\"argv\":[\"a\",01]}]}", "leading zero", "($.containers[2].argv[1])"},
	{"{\"a b\":[\"\\q\"]}", "invalid escape", "($[\"a b\"][0])"},
	{"[1,[2,{\"k\":\"\xff\"}]]", "invalid UTF-8", "($[1][1].k)"},
	{"{\"k\":\"v\"", "expected ',' or '}'", "($)"},
	{"[", "unexpected end of input", "($[0])"},
	{"\x00", "byte 0x00", "($)"},
	{"'a'", "unexpected '''", "($)"},
};

static void test_accept(void)
{
	for (size_t i = 0; i < sizeof accept / sizeof accept[0]; i++) {
		struct json_doc *doc;
		struct uvm_err err = {0, ""};
		const struct json_value *v = parse(accept[i], &doc, &err);
		CHECK(v != NULL, "accepts case %zu", i);
		if (!v)
			printf("#   error: %s\n", err.msg);
		json_free(doc);
	}
}

static void test_reject(void)
{
	for (size_t i = 0; i < sizeof reject / sizeof reject[0]; i++) {
		const struct reject_case *c = &reject[i];
		struct json_doc *doc = (struct json_doc *)1;
		struct uvm_err err = {0, ""};
		/* The NUL-byte case is one byte long; strlen cannot see it. */
		size_t len = strcmp(c->why, "byte 0x00") == 0 ? 1 : strlen(c->doc);
		const struct json_value *v = json_parse(c->doc, len, MAXLEN, &doc, &err);
		int ok = !v && !doc && strstr(err.msg, c->why) && strstr(err.msg, c->where);
		CHECK(ok, "rejects case %zu (%s) at %s", i, c->why, c->where);
		if (!ok)
			printf("#   message: %s\n", err.msg);
	}
}

static void test_depth(void)
{
	char buf[200];
	struct json_doc *doc;
	struct uvm_err err = {0, ""};
	for (int depth = 63; depth <= 65; depth++) {
		memset(buf, '[', (size_t)depth);
		memset(buf + depth, ']', (size_t)depth);
		const struct json_value *v = json_parse(buf, 2 * (size_t)depth, MAXLEN, &doc, &err);
		if (depth <= JSON_MAX_DEPTH)
			CHECK(v != NULL, "depth %d accepted", depth);
		else
			CHECK(!v && strstr(err.msg, "nesting deeper than 64"), "depth %d rejected: %s", depth, err.msg);
		json_free(doc);
	}
}

static void test_max_len(void)
{
	struct json_doc *doc;
	struct uvm_err err = {0, ""};
	CHECK(json_parse("[1, 2]", 6, 5, &doc, &err) == NULL && strstr(err.msg, "exceeds the limit of 5"),
	      "input over max_len rejected: %s", err.msg);
	CHECK(json_parse("[1, 2]", 6, 6, &doc, &err) != NULL, "input at max_len accepted");
	json_free(doc);
	/* A NUL byte inside the given length is data, not an end marker. */
	CHECK(json_parse("[1]\0", 4, 6, &doc, &err) == NULL && strstr(err.msg, "trailing data"),
	      "embedded NUL after the value is trailing data");
}

static void test_accessors(void)
{
	struct json_doc *doc;
	struct uvm_err err = {0, ""};
	const char *text = "{\"z\":1,\"a\":[true,false,null,\"s\\u00e9\"],\"m\":-7,\"big\":18446744073709551615,"
			   "\"f\":2.50,\"k\":{}}";
	const struct json_value *r = parse(text, &doc, &err);
	CHECK(r && json_type(r) == JSON_OBJECT, "object parsed");
	CHECK_EQ_INT(json_len(r), 6, "six members");
	size_t klen = 0;
	CHECK_EQ_STR(json_key(json_at(r, 0), &klen), "z", "document order kept (first is z)");
	CHECK_EQ_STR(json_key(json_at(r, 5), NULL), "k", "document order kept (last is k)");
	CHECK_EQ_INT(klen, 1, "key length");
	const struct json_value *a = json_get(r, "a");
	CHECK(json_type(a) == JSON_ARRAY && json_len(a) == 4, "array lookup by key");
	CHECK(json_get(r, "nope") == NULL && json_get(a, "a") == NULL, "missing key / non-object is NULL");
	int b = -1;
	CHECK(json_bool(json_at(a, 0), &b) == 0 && b == 1, "true");
	CHECK(json_bool(json_at(a, 1), &b) == 0 && b == 0, "false");
	CHECK(json_bool(json_at(a, 2), &b) == -1 && json_type(json_at(a, 2)) == JSON_NULL, "null is not bool");
	size_t slen = 0;
	CHECK_EQ_STR(json_str(json_at(a, 3), &slen), "s\xc3\xa9", "\\u escape decoded to UTF-8");
	CHECK_EQ_INT(slen, 3, "decoded length");
	CHECK(json_at(a, 4) == NULL, "index past the end is NULL");
	int64_t i = 0;
	CHECK(json_int(json_get(r, "m"), -10, 10, &i, &err) == 0 && i == -7, "int in range");
	CHECK(json_int(json_get(r, "m"), 0, 10, &i, &err) < 0 &&
		      strstr(err.msg, "$.m: integer -7 out of range [0, 10]"),
	      "int out of range names path: %s", err.msg);
	CHECK(json_int(json_get(r, "big"), INT64_MIN, INT64_MAX, &i, &err) < 0 &&
		      strstr(err.msg, "$.big: integer 18446744073709551615 out of range"),
	      "uint64 max is not an int64: %s", err.msg);
	uint64_t u = 0;
	CHECK(json_uint64(json_get(r, "big"), &u) == 0 && u == UINT64_MAX, "uint64 max exact");
	CHECK(json_uint64(json_get(r, "m"), &u) < 0, "negative is not uint64");
	CHECK(json_int(json_get(r, "f"), 0, 10, &i, &err) < 0 && strstr(err.msg, "$.f: expected an integer, got 2.50"),
	      "fraction is not an integer: %s", err.msg);
	CHECK(json_int(json_at(a, 3), 0, 10, &i, &err) < 0 &&
		      strstr(err.msg, "$.a[3]: expected an integer, got string"),
	      "string is not an integer: %s", err.msg);
	CHECK_EQ_STR(json_number_text(json_get(r, "f"), NULL), "2.50", "number text kept verbatim");
	CHECK_EQ_INT(json_offset(json_get(r, "m")), strstr(text, "-7") - text, "value offset");
	json_free(doc);
}

static void test_paths(void)
{
	struct json_doc *doc;
	struct uvm_err err = {0, ""};
	char path[JSON_PATH_MAX];
	const struct json_value *r = parse("{\"a\":[{\"x y\":[0,{\"q\\\"\":1}]}],\"_1\":{\"9\":2}}", &doc, &err);
	const struct json_value *q = json_get(json_at(json_get(json_at(json_get(r, "a"), 0), "x y"), 1), "q\"");
	json_path(q, path, sizeof path);
	CHECK_EQ_STR(path, "$.a[0][\"x y\"][1][\"q\\\"\"]", "path with quoted keys");
	json_path(json_get(json_get(r, "_1"), "9"), path, sizeof path);
	CHECK_EQ_STR(path, "$._1[\"9\"]", "digit-first key is quoted");
	json_path(r, path, sizeof path);
	CHECK_EQ_STR(path, "$", "root path");
	char small[12];
	json_path(q, small, sizeof small);
	CHECK(strlen(small) == sizeof small - 1 && strcmp(small + sizeof small - 4, "...") == 0,
	      "long path truncated with ...: %s", small);
	json_free(doc);
}

static void test_large_object(void)
{
	/* Many keys: duplicate detection must stay fast and lookup exact. */
	size_t n = 20000, cap = n * 16 + 16, len = 0;
	char *buf = malloc(cap);
	buf[len++] = '{';
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s\"k%zu\":%zu", i ? "," : "", i, i);
	buf[len++] = '}';
	struct json_doc *doc;
	struct uvm_err err = {0, ""};
	const struct json_value *r = json_parse(buf, len, MAXLEN, &doc, &err);
	int64_t v = -1;
	CHECK(r && json_len(r) == n, "20000-key object parsed");
	CHECK(json_int(json_get(r, "k12345"), 0, INT64_MAX, &v, &err) == 0 && v == 12345, "lookup in large object");
	json_free(doc);
	/* Same with a duplicate at the very end. */
	len--;
	len += (size_t)snprintf(buf + len, cap - len, ",\"k7\":0}");
	r = json_parse(buf, len, MAXLEN, &doc, &err);
	CHECK(!r && strstr(err.msg, "($.k7): duplicate key"), "late duplicate found: %s", err.msg);
	free(buf);
}

static const struct json_field fields[] = {
	{"version", JSON_T_STRING, 1},
	{"count", JSON_T_INT, 1},
	{"name", JSON_T_STRING | JSON_T_NULL, 0},
	{"list", JSON_T_ARRAY, 0},
};

struct schema_case {
	const char *doc;
	const char *msg; /* NULL: valid */
};

static const struct schema_case schema_cases[] = {
	{"{\"version\":\"1\",\"count\":3}", NULL},
	{"{\"version\":\"1\",\"count\":3,\"name\":null,\"list\":[]}", NULL},
	{"{\"version\":\"1\",\"count\":3,\"extra\":1}", "$.extra: unknown key (allowed: version, count, name, list)"},
	{"{\"version\":\"1\"}", "$: missing required key \"count\""},
	{"{\"version\":1,\"count\":3}", "$.version: expected string, got the number 1"},
	{"{\"version\":\"1\",\"count\":1.5}", "$.count: expected integer, got the number 1.5"},
	{"{\"version\":\"1\",\"count\":99999999999999999999}", "$.count: expected integer, got the number 9999"},
	{"{\"version\":\"1\",\"count\":3,\"name\":[]}", "$.name: expected null or string, got array"},
	{"[]", "$: expected an object, got array"},
};

static void test_schema(void)
{
	for (size_t i = 0; i < sizeof schema_cases / sizeof schema_cases[0]; i++) {
		const struct schema_case *c = &schema_cases[i];
		struct json_doc *doc;
		struct uvm_err err = {0, ""};
		const struct json_value *r = parse(c->doc, &doc, &err);
		int rc = json_check_object(r, fields, sizeof fields / sizeof fields[0], &err);
		if (!c->msg)
			CHECK(r && rc == 0, "schema accepts %s", c->doc);
		else
			CHECK(rc < 0 && strstr(err.msg, c->msg), "schema rejects %s: %s", c->doc, err.msg);
		json_free(doc);
	}
}

static void test_writer(void)
{
	struct json_writer w;
	size_t len = 0;
	json_writer_init(&w, 0);
	json_w_obj(&w);
	json_w_key(&w, "s");
	json_w_str(&w, "a\"b\\c\n\t\x01\x7f\xc3\xa9\xff", 12);
	json_w_key(&w, "n");
	json_w_arr(&w);
	json_w_int(&w, INT64_MIN);
	json_w_uint(&w, UINT64_MAX);
	json_w_bool(&w, 1);
	json_w_bool(&w, 0);
	json_w_null(&w);
	json_w_raw(&w, "1.5e3", 5);
	json_w_obj(&w);
	json_w_end(&w);
	json_w_end(&w);
	json_w_keyn(&w, "k\0z", 3);
	json_w_str(&w, "x\0y", 3);
	json_w_end(&w);
	char *out = json_writer_finish(&w, &len);
	const char *want = "{\"s\":\"a\\\"b\\\\c\\n\\t\\u0001\x7f\xc3\xa9\\ufffd\",\"n\":[-9223372036854775808,"
			   "18446744073709551615,true,false,null,1.5e3,{}],\"k\\u0000z\":\"x\\u0000y\"}";
	CHECK_EQ_STR(out, want, "writer output is compact and escaped");
	CHECK_EQ_INT(len, strlen(want), "writer length");

	/* Round-trip: the output parses (except NUL keys, which the parser
	 * rejects by design); re-writing a parsed string gives the same text. */
	struct json_doc *doc;
	struct uvm_err err = {0, ""};
	const struct json_value *r = json_parse(out, len, MAXLEN, &doc, &err);
	CHECK(r == NULL && strstr(err.msg, "NUL"), "writer escapes NUL, parser refuses it");
	free(out);

	const char *doc_text = "{\"a\":[1,-2,\"\\u00e9\\ud83d\\ude00\\n\"],\"b\":{\"c\":true,\"d\":null}}";
	r = parse(doc_text, &doc, &err);
	json_writer_init(&w, 0);
	json_w_obj(&w);
	for (size_t i = 0; i < json_len(r); i++) {
		const struct json_value *m = json_at(r, i);
		json_w_key(&w, json_key(m, NULL));
		if (json_type(m) == JSON_ARRAY) {
			json_w_arr(&w);
			int64_t v;
			size_t sl;
			json_w_int(&w, (json_int(json_at(m, 0), -9, 9, &v, &err), v));
			json_w_int(&w, (json_int(json_at(m, 1), -9, 9, &v, &err), v));
			const char *s = json_str(json_at(m, 2), &sl);
			json_w_str(&w, s, sl);
			json_w_end(&w);
		} else {
			json_w_obj(&w);
			json_w_key(&w, "c");
			json_w_bool(&w, 1);
			json_w_key(&w, "d");
			json_w_null(&w);
			json_w_end(&w);
		}
	}
	json_w_end(&w);
	out = json_writer_finish(&w, &len);
	CHECK_EQ_STR(out, "{\"a\":[1,-2,\"\xc3\xa9\xf0\x9f\x98\x80\\n\"],\"b\":{\"c\":true,\"d\":null}}",
		     "round-trip writes decoded UTF-8 and re-escapes \\n");
	struct json_doc *doc2;
	const struct json_value *r2 = json_parse(out, len, MAXLEN, &doc2, &err);
	CHECK_EQ_STR(json_str(json_at(json_get(r2, "a"), 2), NULL), json_str(json_at(json_get(r, "a"), 2), NULL),
		     "round-tripped string equal");
	free(out);
	json_free(doc);
	json_free(doc2);
}

static void test_writer_misuse(void)
{
	struct json_writer w;
	json_writer_init(&w, 0);
	json_w_obj(&w);
	json_w_int(&w, 1); /* value without key */
	json_w_end(&w);
	CHECK(json_writer_finish(&w, NULL) == NULL, "value without key fails");

	json_writer_init(&w, 0);
	json_w_arr(&w);
	json_w_key(&w, "k"); /* key in array */
	json_w_end(&w);
	CHECK(json_writer_finish(&w, NULL) == NULL, "key in array fails");

	json_writer_init(&w, 0);
	json_w_arr(&w);
	CHECK(json_writer_finish(&w, NULL) == NULL, "unbalanced fails");

	json_writer_init(&w, 0);
	json_w_int(&w, 1);
	json_w_int(&w, 2);
	CHECK(json_writer_finish(&w, NULL) == NULL, "two top-level values fail");

	json_writer_init(&w, 8);
	json_w_cstr(&w, "123456789");
	CHECK(json_writer_finish(&w, NULL) == NULL, "over max_bytes fails");

	json_writer_init(&w, 0);
	for (int i = 0; i < JSON_MAX_DEPTH + 1; i++)
		json_w_arr(&w);
	for (int i = 0; i < JSON_MAX_DEPTH + 1; i++)
		json_w_end(&w);
	CHECK(json_writer_finish(&w, NULL) == NULL, "too deep fails");

	json_writer_init(&w, 0);
	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		json_w_arr(&w);
	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		json_w_end(&w);
	char *s = json_writer_finish(&w, NULL);
	CHECK(s && strlen(s) == 2 * JSON_MAX_DEPTH, "max depth writes");
	free(s);
}

int main(void)
{
	test_accept();
	test_reject();
	test_depth();
	test_max_len();
	test_accessors();
	test_paths();
	test_large_object();
	test_schema();
	test_writer();
	test_writer_misuse();
	return check_done();
}
