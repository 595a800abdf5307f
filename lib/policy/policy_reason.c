/* Writing the failed checks of a decision into its reason, at the moment a
 * check fails: the explanation is produced by the code that decides, never
 * re-derived afterwards. At most REASON_MAX_FAILS failures are listed per
 * candidate (the rest are counted) so that denials stay readable. */
#include <stdio.h>
#include <string.h>

#include "policy_internal.h"

void policy_reason_begin_failed(struct reason *r)
{
	r->fails = 0;
	r->listed = 0;
	if (r->quiet)
		return;
	json_w_key(&r->w, "failed");
	json_w_arr(&r->w);
}

void policy_reason_end_failed(struct reason *r)
{
	if (r->quiet)
		return;
	json_w_end(&r->w);
	if (r->fails > r->listed) {
		json_w_key(&r->w, "more_failures");
		json_w_uint(&r->w, r->fails - r->listed);
	}
}

static int reason_open(struct reason *r, const char *rule, const char *field)
{
	r->fails++;
	if (r->quiet || r->listed >= REASON_MAX_FAILS)
		return 0;
	r->listed++;
	json_w_obj(&r->w);
	json_w_key(&r->w, "rule");
	json_w_cstr(&r->w, rule);
	json_w_key(&r->w, "field");
	json_w_cstr(&r->w, field);
	return 1;
}

static void reason_close(struct reason *r, const char *detail)
{
	json_w_key(&r->w, "detail");
	json_w_str(&r->w, detail, strnlen(detail, REASON_VALUE_MAX));
	json_w_end(&r->w);
}

void policy_reason_fail(struct reason *r, const char *rule, const char *field, const char *value, const char *detail)
{
	if (!reason_open(r, rule, field))
		return;
	if (value) {
		/* Long values (an argv of megabytes) would make the reason
		 * unreadable; the start identifies them. */
		size_t len = strlen(value);
		json_w_key(&r->w, "value");
		if (len <= REASON_VALUE_MAX)
			json_w_str(&r->w, value, len);
		else {
			char cut[REASON_VALUE_MAX + 4];
			memcpy(cut, value, REASON_VALUE_MAX);
			memcpy(cut + REASON_VALUE_MAX, "...", 3);
			json_w_str(&r->w, cut, sizeof cut - 1);
		}
	}
	reason_close(r, detail);
}

void policy_reason_fail_env(struct reason *r, const char *rule, const char *field, const char *var, const char *detail)
{
	if (!reason_open(r, rule, field))
		return;
	/* Only the name: environment values carry secrets. */
	size_t name_len = strcspn(var, "=");
	char redacted[POLICY_MAX_ID + 32];
	if (name_len > POLICY_MAX_ID)
		name_len = POLICY_MAX_ID;
	snprintf(redacted, sizeof redacted, "%.*s=<redacted>", (int)name_len, var);
	json_w_key(&r->w, "value");
	json_w_cstr(&r->w, redacted);
	reason_close(r, detail);
}

void policy_reason_fail_int(struct reason *r, const char *rule, const char *field, int64_t value, const char *detail)
{
	if (!reason_open(r, rule, field))
		return;
	json_w_key(&r->w, "value");
	json_w_int(&r->w, value);
	reason_close(r, detail);
}
