#include "json_copy.h"

void json_w_value(struct json_writer *w, const struct json_value *v)
{
	size_t len;
	const char *s;
	int b;
	switch (json_type(v)) {
	case JSON_NULL: json_w_null(w); return;
	case JSON_BOOL:
		json_bool(v, &b);
		json_w_bool(w, b);
		return;
	case JSON_NUMBER:
		s = json_number_text(v, &len);
		json_w_raw(w, s, len);
		return;
	case JSON_STRING:
		s = json_str(v, &len);
		json_w_str(w, s, len);
		return;
	case JSON_ARRAY:
		json_w_arr(w);
		for (size_t i = 0; i < json_len(v); i++)
			json_w_value(w, json_at(v, i));
		json_w_end(w);
		return;
	case JSON_OBJECT:
		json_w_obj(w);
		for (size_t i = 0; i < json_len(v); i++) {
			const struct json_value *m = json_at(v, i);
			s = json_key(m, &len);
			json_w_keyn(w, s, len);
			json_w_value(w, m);
		}
		json_w_end(w);
		return;
	}
}
