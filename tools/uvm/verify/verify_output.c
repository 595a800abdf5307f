/* The results of `uvm verify`: recording named checks and printing them as
 * text or JSON. The summary never says a report passed when a check it
 * needed was skipped: checks the user did not ask for are listed as such. */
#include <stdarg.h>
#include <string.h>

#include "hex.h"
#include "verify.h"

static void copy_value(char *dst, const char *src)
{
	snprintf(dst, VERIFY_VALUE_MAX, "%s", src ? src : "");
}

void verify_add(struct verify_results *res, const char *name, enum verify_result result, const char *expected,
		const char *actual)
{
	struct verify_check *c;
	if (res->n < VERIFY_MAX_CHECKS) {
		c = &res->c[res->n++];
	} else {
		c = &res->c[VERIFY_MAX_CHECKS - 1];
		name = "internal.too_many_checks";
		result = VR_FAIL;
	}
	c->name = name;
	c->result = result;
	copy_value(c->expected, expected);
	copy_value(c->actual, actual);
}

void verify_addf(struct verify_results *res, const char *name, enum verify_result result, const char *expected,
		 const char *actual_fmt, ...)
{
	char actual[VERIFY_VALUE_MAX];
	va_list ap;
	va_start(ap, actual_fmt);
	vsnprintf(actual, sizeof actual, actual_fmt, ap);
	va_end(ap);
	verify_add(res, name, result, expected, actual);
}

void verify_note(struct verify_results *res, const char *fmt, ...)
{
	if (res->n_notes >= VERIFY_MAX_NOTES) {
		snprintf(res->notes[VERIFY_MAX_NOTES - 1], VERIFY_VALUE_MAX, "more notes than fit (internal limit %d)",
			 VERIFY_MAX_NOTES);
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(res->notes[res->n_notes++], VERIFY_VALUE_MAX, fmt, ap);
	va_end(ap);
}

void verify_fmt(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out, size, fmt, ap);
	va_end(ap);
}

const char *verify_hex(const uint8_t *bytes, size_t len, char *out, size_t out_size)
{
	if (out_size < 8) {
		if (out_size)
			out[0] = '\0';
		return out;
	}
	size_t fit = (out_size - 1) / 2;
	if (fit >= len) {
		uvm_hex_encode(bytes, len, out);
		return out;
	}
	fit = (out_size - 4) / 2; /* room for "..." */
	uvm_hex_encode(bytes, fit, out);
	strcpy(out + 2 * fit, "...");
	return out;
}

int verify_exit_code(const struct verify_results *res)
{
	if (res->n == 0)
		return VERIFY_EXIT_FAILED; /* nothing checked is not a pass */
	for (size_t i = 0; i < res->n; i++)
		if (res->c[i].result == VR_FAIL)
			return VERIFY_EXIT_FAILED;
	return VERIFY_EXIT_OK;
}

static const char *result_word(enum verify_result r)
{
	switch (r) {
	case VR_PASS: return "pass";
	case VR_FAIL: return "fail";
	case VR_NOT_APPLICABLE: return "not-applicable";
	default: return "not-requested";
	}
}

static size_t count(const struct verify_results *res, enum verify_result r)
{
	size_t n = 0;
	for (size_t i = 0; i < res->n; i++)
		n += res->c[i].result == r;
	return n;
}

static void list_names(FILE *out, const struct verify_results *res, enum verify_result r)
{
	const char *sep = "";
	for (size_t i = 0; i < res->n; i++)
		if (res->c[i].result == r) {
			fprintf(out, "%s%s", sep, res->c[i].name);
			sep = ", ";
		}
}

void verify_print_text(FILE *out, const char *report_path, const struct verify_results *res)
{
	static const char *tags[] = {"pass", "FAIL", "n/a ", "skip"};
	fprintf(out, "uvm verify: %s\n", report_path);
	for (size_t i = 0; i < res->n_certs; i++) {
		const struct verify_cert_use *u = &res->certs[i];
		fprintf(out, "  %-4s %s, sha256 %s\n       from %s\n", u->role, u->subject, u->sha256, u->source);
	}
	for (size_t i = 0; i < res->n; i++) {
		const struct verify_check *c = &res->c[i];
		fprintf(out, "  [%s] %s\n", tags[c->result], c->name);
		if (c->result == VR_NOT_REQUESTED) {
			fprintf(out, "         not checked: %s\n", c->expected);
			continue;
		}
		fprintf(out, "         expected: %s\n         actual:   %s\n", c->expected, c->actual);
	}
	for (size_t i = 0; i < res->n_notes; i++)
		fprintf(out, "note: %s\n", res->notes[i]);
	size_t failed = count(res, VR_FAIL), skipped = count(res, VR_NOT_REQUESTED);
	if (verify_exit_code(res) != VERIFY_EXIT_OK) {
		fprintf(out, "result: REJECTED, %zu of %zu checks failed: ", failed, res->n);
		list_names(out, res, VR_FAIL);
		fprintf(out, "\n");
		return;
	}
	fprintf(out, "result: ACCEPTED, %zu checks passed", count(res, VR_PASS));
	if (res->identity_unchecked)
		fprintf(out, "; NOTHING about the guest's identity was checked (--no-expectations): "
			     "the report comes from genuine AMD hardware, running any image under any host data");
	if (skipped) {
		fprintf(out, "; NOT checked because not requested: ");
		list_names(out, res, VR_NOT_REQUESTED);
	}
	fprintf(out, "\n");
}

static void json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			fprintf(out, "\\u%04x", ch);
		else
			fputc(ch, out);
	}
	fputc('"', out);
}

void verify_print_json(FILE *out, const char *report_path, const struct verify_results *res)
{
	fprintf(out, "{\"report\": ");
	json_string(out, report_path);
	fprintf(out, ", \"result\": \"%s\", ", verify_exit_code(res) == VERIFY_EXIT_OK ? "accepted" : "rejected");
	fprintf(out, "\"certificates\": [");
	for (size_t i = 0; i < res->n_certs; i++) {
		const struct verify_cert_use *u = &res->certs[i];
		fprintf(out, "%s\n  {\"role\": ", i ? "," : "");
		json_string(out, u->role);
		fprintf(out, ", \"subject\": ");
		json_string(out, u->subject);
		fprintf(out, ", \"sha256\": ");
		json_string(out, u->sha256);
		fprintf(out, ", \"source\": ");
		json_string(out, u->source);
		fprintf(out, "}");
	}
	fprintf(out, "%s], \"checks\": [", res->n_certs ? "\n" : "");
	for (size_t i = 0; i < res->n; i++) {
		const struct verify_check *c = &res->c[i];
		fprintf(out, "%s\n  {\"name\": ", i ? "," : "");
		json_string(out, c->name);
		fprintf(out, ", \"expected\": ");
		json_string(out, c->expected);
		fprintf(out, ", \"actual\": ");
		json_string(out, c->actual);
		fprintf(out, ", \"result\": \"%s\"}", result_word(c->result));
	}
	fprintf(out, "\n], \"identity_checked\": %s, \"notes\": [", res->identity_unchecked ? "false" : "true");
	for (size_t i = 0; i < res->n_notes; i++) {
		fprintf(out, "%s", i ? ", " : "");
		json_string(out, res->notes[i]);
	}
	fprintf(out, "]}\n");
}
