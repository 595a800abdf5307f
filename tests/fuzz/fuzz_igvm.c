/* libFuzzer target for the IGVM parser and both replay conventions
 * (`uvm measure --igvm`). Invariants: a parse or replay that fails leaves a
 * message; one that succeeds yields a digest and a page count within bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "igvm_measure.h"
#include "igvm_parse.h"
#include "le.h"

#define MAX_INPUT (256u * 1024u)

static int exercise(const uint8_t *data, size_t size);

#define FUZZ_MAX_PAGES 16384u

static void replay(const struct igvm_file *f, enum igvm_vmm vmm, unsigned vcpus)
{
	/* 64 MiB of measured pages: enough for every check, and an input that
	 * declares 4 GiB of parameter area costs milliseconds, not a second. */
	struct igvm_request q = {vmm, vcpus, FUZZ_MAX_PAGES};
	struct igvm_result res;
	struct uvm_err err;
	memset(&err, 0, sizeof err);
	if (igvm_measure(f, &q, &res, NULL, &err) != 0) {
		if (!err.msg[0])
			abort();
		return;
	}
	if (res.pages > FUZZ_MAX_PAGES + vcpus)
		abort();
}

/* A mutated file almost never keeps its CRC: also parse a copy with the
 * checksum made right, so that the checks behind it are reached. */
static void exercise_fixed(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > MAX_INPUT)
		return 0;
	exercise_fixed(data, size);
	return exercise(data, size);
}

static void exercise_fixed(const uint8_t *data, size_t size)
{
	if (size < IGVM_FIXED_LEN)
		return;
	uint32_t off = le32_get(data + 8), len = le32_get(data + 12);
	if (off < IGVM_FIXED_LEN || off > size || len > size - off)
		return;
	uint8_t *copy = malloc(size);
	if (!copy)
		return;
	memcpy(copy, data, size);
	le32_put(copy + 20, 0);
	le32_put(copy + 20, igvm_crc32(igvm_crc32(0, copy, IGVM_FIXED_LEN), copy + off, len));
	exercise(copy, size);
	free(copy);
}

static int exercise(const uint8_t *data, size_t size)
{
	struct igvm_file f;
	struct uvm_err err;
	memset(&err, 0, sizeof err);
	if (igvm_parse(data, size, &f, &err) != 0) {
		if (!err.msg[0])
			abort();
		return 0;
	}
	if (!f.snp_mask || f.vh_end > size || f.vh_off < IGVM_FIXED_LEN)
		abort(); /* a parsed file has an SNP platform and a header inside it */
	replay(&f, IGVM_VMM_HYPERV, 1);
	replay(&f, IGVM_VMM_QEMU, 1);
	replay(&f, IGVM_VMM_QEMU, 2);
	return 0;
}
