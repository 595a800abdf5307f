/* Reading what `uvm verify` is given: files (bounded), the report (binary
 * or hex text, optionally at an offset), --now, --measurements, --min-tcb. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "verify.h"

#define REPORT_FILE_MAX (1u << 20) /* a wrapper around a report; generous */

int verify_read_file(const char *path, size_t max, uint8_t **data, size_t *len, struct uvm_err *err)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return uvm_fail(err, errno, "cannot open %s: %s", path, strerror(errno));
	uint8_t *buf = malloc(max + 1);
	if (!buf) {
		fclose(f);
		return uvm_fail(err, ENOMEM, "reading %s: out of memory", path);
	}
	/* Read one byte more than allowed to detect an oversized file. */
	size_t n = fread(buf, 1, max + 1, f);
	int bad = ferror(f);
	fclose(f);
	if (bad || n > max) {
		free(buf);
		return bad ? uvm_fail(err, EIO, "cannot read %s", path)
			   : uvm_fail(err, EFBIG, "%s is larger than %zu bytes; is it the right file?", path, max);
	}
	*data = buf;
	*len = n;
	return 0;
}

/* A hex text file: only hex digits and white space, an even number of digits. */
static bool decode_hex_text(uint8_t *buf, size_t *len)
{
	size_t digits = 0;
	for (size_t i = 0; i < *len; i++) {
		if (isxdigit(buf[i]))
			digits++;
		else if (!isspace(buf[i]))
			return false;
	}
	if (digits == 0 || digits % 2)
		return false;
	size_t out = 0;
	char pair[3] = {0};
	for (size_t i = 0, k = 0; i < *len; i++) {
		if (!isxdigit(buf[i]))
			continue;
		pair[k++] = (char)buf[i];
		if (k == 2) {
			uint8_t byte;
			if (uvm_hex_decode(pair, &byte, 1) != 0)
				return false;
			buf[out++] = byte; /* out <= i/2: never overtakes the reader */
			k = 0;
		}
	}
	*len = out;
	return true;
}

int verify_load_report(const struct verify_opts *opts, uint8_t out[SNP_REPORT_SIZE], struct uvm_err *err)
{
	uint8_t *buf;
	size_t len;
	if (verify_read_file(opts->report_path, REPORT_FILE_MAX, &buf, &len, err) != 0)
		return uvm_wrap(err, "reading the report");
	decode_hex_text(buf, &len);
	size_t off = opts->have_offset ? opts->offset : 0;
	int rc = 0;
	if (off > len || len - off < SNP_REPORT_SIZE)
		rc = uvm_fail(err, 0, "%s: %zu bytes, too short for a %u-byte report at offset %zu", opts->report_path,
			      len, SNP_REPORT_SIZE, off);
	else if (!opts->have_offset && len != SNP_REPORT_SIZE)
		rc = uvm_fail(err, 0,
			      "%s: %zu bytes, want exactly %u (a raw report or its hex text); "
			      "give --offset N if the report is wrapped in another format",
			      opts->report_path, len, SNP_REPORT_SIZE);
	else
		memcpy(out, buf + off, SNP_REPORT_SIZE);
	free(buf);
	return rc;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

int verify_parse_time(const char *text, time_t *out)
{
	if (all_digits(text)) {
		errno = 0;
		unsigned long long v = strtoull(text, NULL, 10);
		if (errno || v > (unsigned long long)INT64_MAX / 2)
			return -1;
		*out = (time_t)v;
		return 0;
	}
	struct tm tm = {0};
	int used = 0;
	if (strlen(text) == 10 && sscanf(text, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &used) == 3 &&
	    used == 10) {
		/* date only: midnight UTC */
	} else if (strlen(text) == 20 &&
		   sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
			  &tm.tm_min, &tm.tm_sec, &used) == 6 &&
		   used == 20) {
	} else {
		return -1;
	}
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60 || tm.tm_year < 1970)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = timegm(&tm);
	return 0;
}

int verify_load_measurements(const char *path, struct verify_opts *opts, struct uvm_err *err)
{
	uint8_t *buf;
	size_t len;
	if (verify_read_file(path, REPORT_FILE_MAX, &buf, &len, err) != 0)
		return uvm_wrap(err, "reading --measurements");
	size_t i = 0;
	while (i < len) {
		size_t start = i;
		while (i < len && isxdigit(buf[i]))
			i++;
		if (i - start == 2 * SNP_MEASUREMENT_LEN) {
			if (opts->n_measurements == VERIFY_MAX_MEASUREMENTS) {
				free(buf);
				return uvm_fail(err, 0, "%s: more than %d measurements", path, VERIFY_MAX_MEASUREMENTS);
			}
			char hex[2 * SNP_MEASUREMENT_LEN + 1];
			memcpy(hex, buf + start, 2 * SNP_MEASUREMENT_LEN);
			hex[2 * SNP_MEASUREMENT_LEN] = '\0';
			uvm_hex_decode(hex, opts->measurements[opts->n_measurements++], SNP_MEASUREMENT_LEN);
		}
		if (i == start)
			i++;
	}
	free(buf);
	if (opts->n_measurements == 0)
		return uvm_fail(err, 0,
				"%s: no measurement found (want 96-hex-digit values, as in "
				"out/image/measurement.json)",
				path);
	opts->measurement_source = path;
	return 0;
}

static int parse_component(const char *key, size_t keylen, unsigned long v, struct snp_tcb *t)
{
	static const struct {
		const char *name;
		size_t off;
	} keys[] = {
		{"bl", offsetof(struct snp_tcb, bootloader)}, {"tee", offsetof(struct snp_tcb, tee)},
		{"snp", offsetof(struct snp_tcb, snp)},       {"ucode", offsetof(struct snp_tcb, microcode)},
		{"fmc", offsetof(struct snp_tcb, fmc)},
	};
	if (v > 255)
		return -1;
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strlen(keys[i].name) == keylen && memcmp(keys[i].name, key, keylen) == 0) {
			((uint8_t *)t)[keys[i].off] = (uint8_t)v;
			return 0;
		}
	return -1;
}

int verify_parse_min_tcb(const char *text, struct verify_opts *opts)
{
	char *end;
	memset(&opts->min_tcb, 0, sizeof opts->min_tcb);
	if (strncmp(text, "0x", 2) == 0 || all_digits(text)) {
		errno = 0;
		opts->min_tcb_raw = strtoull(text, &end, 0);
		if (errno || *end || end == text)
			return -1;
		opts->min_tcb_is_raw = true;
		opts->have_min_tcb = true;
		return 0;
	}
	const char *p = text;
	if (!*p)
		return -1;
	while (*p) {
		const char *eq = strchr(p, '=');
		if (!eq || eq == p || !isdigit((unsigned char)eq[1]))
			return -1;
		errno = 0;
		unsigned long v = strtoul(eq + 1, &end, 10);
		if (errno || (*end && *end != ',') || parse_component(p, (size_t)(eq - p), v, &opts->min_tcb) != 0)
			return -1;
		if (*end == ',' && !end[1])
			return -1; /* trailing comma */
		p = *end ? end + 1 : end;
	}
	opts->min_tcb_is_raw = false;
	opts->have_min_tcb = true;
	return 0;
}
