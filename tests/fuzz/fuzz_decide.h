/* Shared by the fuzzers that decide (fuzz_request, fuzz_policy): decide_all
 * runs one request or an array of them through the engine and checks the
 * invariants every decision must keep. Header-only, static: each fuzzer is
 * one program. */
#ifndef UVM_FUZZ_DECIDE_H
#define UVM_FUZZ_DECIDE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "policy.h"
#include "request.h"

/* Whether flags[0..n) (NULL: none set) are exactly the items the reason
 * lists: list holds, in order, the flagged items' indices (env) or names
 * (capabilities). */
static int flags_are_list(const unsigned char *flags, const struct req_strs *items, const struct json_value *list,
			  int by_index)
{
	size_t listed = 0;
	for (size_t i = 0; i < items->n; i++) {
		const struct json_value *e = json_at(list, listed);
		int64_t at = -1;
		const char *name = by_index ? NULL : json_str(e, NULL);
		if (by_index)
			json_int(json_get(e, "index"), 0, INT64_MAX, &at, NULL);
		int in_list = e && (by_index ? at == (int64_t)i : name && strcmp(name, items->v[i]) == 0);
		if (in_list != (flags && flags[i]))
			return 0;
		listed += in_list;
	}
	return listed == json_len(list) && (listed > 0) == (flags != NULL);
}

/* The decision's drop arrays are the reason's drop lists (the agent applies
 * the arrays, users read the lists); a denial drops nothing. */
static void check_drops(const struct json_value *req, const struct policy_decision *d, const struct json_value *reason)
{
	struct request r;
	struct uvm_err err = {0, ""};
	int decoded = request_decode_object(req, &r, &err) == 0;
	const struct json_value *caps = json_get(reason, "drop_capabilities");
	if (!decoded || !d->allowed) {
		if (d->drop_env)
			abort();
		for (size_t s = 0; s < REQ_CAP_SETS; s++)
			if (d->drop_caps[s])
				abort();
	} else {
		if (!flags_are_list(d->drop_env, &r.env, json_get(reason, "drop_env"), 1))
			abort();
		for (size_t s = 0; s < REQ_CAP_SETS; s++)
			if (!flags_are_list(d->drop_caps[s], &r.caps[s], json_get(caps, request_cap_set_names[s]), 0))
				abort();
	}
	request_free(&r);
}

/* Decides one request (or each of an array of requests), alternating commit
 * and abort, and checks the invariants every decision must keep: a reason
 * that is one valid JSON object with the same "allowed", drop arrays that
 * are the reason's drop lists, and a state dump that is identical after an
 * abort to before the decision. */
static void decide_all(struct policy_state *st, const struct json_value *v)
{
	size_t n = json_type(v) == JSON_ARRAY ? json_len(v) : 1;
	for (size_t i = 0; i < n && i < 64; i++) {
		const struct json_value *req = json_type(v) == JSON_ARRAY ? json_at(v, i) : v;
		struct policy_decision d;
		char *before = policy_state_json(st);
		if (policy_decide(st, req, &d) < 0)
			abort();
		struct json_doc *doc;
		struct uvm_err err = {0, ""};
		const struct json_value *r = json_parse(d.reason, d.reason_len, SIZE_MAX, &doc, &err);
		int allowed = -1;
		if (!r || json_bool(json_get(r, "allowed"), &allowed) < 0 || allowed != d.allowed)
			abort();
		check_drops(req, &d, r);
		json_free(doc);
		if (d.allowed && (i % 2)) {
			policy_abort(st);
			char *after = policy_state_json(st);
			if (!before || !after || strcmp(before, after) != 0)
				abort();
			free(after);
		} else if (d.allowed)
			policy_commit(st);
		else {
			char *after = policy_state_json(st);
			if (!before || !after || strcmp(before, after) != 0)
				abort(); /* a denial changed the state */
			free(after);
		}
		free(before);
		policy_decision_free(&d);
	}
}

#endif
