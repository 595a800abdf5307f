/* libFuzzer target for lib/json.h: any input must either fail with a message
 * or give a document whose every value can be walked, and which the writer
 * re-serialises into JSON that parses again to the same shape. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define MAXLEN (1u << 20)

static void write_value(struct json_writer *w, const struct json_value *v)
{
	size_t len = 0;
	const char *s;
	int b = 0;
	switch (json_type(v)) {
	case JSON_NULL: json_w_null(w); break;
	case JSON_BOOL:
		json_bool(v, &b);
		json_w_bool(w, b);
		break;
	case JSON_NUMBER:
		s = json_number_text(v, &len);
		json_w_raw(w, s, len);
		break;
	case JSON_STRING:
		s = json_str(v, &len);
		if (strlen(s) != len) /* strings are NUL-free by contract */
			abort();
		json_w_str(w, s, len);
		break;
	case JSON_ARRAY:
	case JSON_OBJECT:
		json_type(v) == JSON_ARRAY ? json_w_arr(w) : json_w_obj(w);
		for (size_t i = 0; i < json_len(v); i++) {
			const struct json_value *m = json_at(v, i);
			if (json_type(v) == JSON_OBJECT) {
				s = json_key(m, &len);
				if (json_get(v, s) != m) /* lookup must find the member */
					abort();
				json_w_keyn(w, s, len);
			}
			char path[JSON_PATH_MAX];
			json_path(m, path, sizeof path);
			if (path[0] != '$')
				abort();
			write_value(w, m);
		}
		json_w_end(w);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_doc *doc, *doc2;
	struct uvm_err err = {0, ""};
	const struct json_value *root = json_parse((const char *)data, size, MAXLEN, &doc, &err);
	if (!root) {
		if (doc || err.msg[0] == '\0')
			abort();
		return 0;
	}
	struct json_writer w;
	json_writer_init(&w, 0);
	write_value(&w, root);
	size_t len = 0;
	char *out = json_writer_finish(&w, &len);
	if (!out)
		abort();
	/* The compact form is never longer than the input... except for
	 * escapes the writer spells longer (\/ -> /, is shorter; \u00e9 -> é
	 * shorter; but \u007f -> raw), so only re-parse is checked. */
	const struct json_value *again = json_parse(out, len, SIZE_MAX, &doc2, &err);
	if (!again || json_type(again) != json_type(root) || json_len(again) != json_len(root))
		abort();
	/* Writing the re-parsed document gives the same bytes (fixed point). */
	json_writer_init(&w, 0);
	write_value(&w, again);
	size_t len2 = 0;
	char *out2 = json_writer_finish(&w, &len2);
	if (!out2 || len2 != len || memcmp(out, out2, len) != 0)
		abort();
	free(out);
	free(out2);
	json_free(doc);
	json_free(doc2);
	return 0;
}
