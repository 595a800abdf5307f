/* The helpers of `uvm measure` that its per-mode files share (see
 * measure_cli.h): options, input files, errors and the digest's output. */
#include "measure_cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hex.h"
#include "ovmf_table.h"
#include "snp_measure.h"

int measure_input_error(const char *path, const struct uvm_err *err)
{
	fprintf(stderr, "uvm measure: %s: %s\n", path, err->msg);
	return MEASURE_EXIT_INPUT;
}

/* Unsigned integer, decimal or (base 0) with 0x/0 prefixes; no sign, no junk. */
int measure_parse_uint(const char *s, int base, uint64_t max, uint64_t *out)
{
	char *end;
	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, base);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

int measure_blob_map(const char *path, struct measure_blob *b, int regular_only, struct uvm_err *err)
{
	struct stat st;
	memset(b, 0, sizeof *b);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return uvm_fail(err, errno, "cannot open: %s", strerror(errno));
	if (fstat(fd, &st) != 0 || (regular_only && !S_ISREG(st.st_mode))) {
		close(fd);
		return uvm_fail(err, 0, "not a regular file; give the image file (e.g. OVMF.amdsev.fd, svsm.bin)");
	}
	/* the firmware size is bounded: do not read gigabytes only to refuse them */
	if (regular_only && (uint64_t)st.st_size > OVMF_MAX_SIZE) {
		close(fd);
		return uvm_fail(err, 0, "the image is %lld bytes, more than the %u supported", (long long)st.st_size,
				OVMF_MAX_SIZE);
	}
	if (!S_ISREG(st.st_mode) || st.st_size == 0) {
		close(fd);
		return S_ISREG(st.st_mode) ? 0 : 1; /* 1: a stream, read it instead */
	}
	b->len = (size_t)st.st_size;
	b->map = mmap(NULL, b->len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	close(fd);
	if (b->map == MAP_FAILED) {
		b->map = NULL;
		return uvm_fail(err, errno, "cannot map %zu bytes: %s", b->len, strerror(errno));
	}
	madvise(b->map, b->len, MADV_SEQUENTIAL);
	b->data = b->map;
	return 0;
}

void measure_blob_unmap(struct measure_blob *b)
{
	if (b->map)
		munmap(b->map, b->len);
	memset(b, 0, sizeof *b);
}

void measure_explain_step(void *arg, const char *label, const uint8_t *value, size_t len)
{
	char hex[2 * SNP_LD_LEN + 1];
	(void)arg;
	uvm_hex_encode(value, len, hex);
	fprintf(stderr, "  %-48s %s\n", label, hex);
}

/* name: sev-snp-measure's SevMode name in its -v line (SEV, SEV_ES, SEV_SNP). */
void measure_print_digest(const uint8_t *ld, size_t len, const char *name, const struct measure_opts *o)
{
	char text[2 * SNP_LD_LEN + 1];
	if (o->output && strcmp(o->output, "base64") == 0)
		uvm_base64_encode(ld, len, text);
	else
		uvm_hex_encode(ld, len, text);
	if (o->verbose)
		printf("Calculated %s guest measurement: %s\n", name, text);
	else
		printf("%s\n", text);
}
