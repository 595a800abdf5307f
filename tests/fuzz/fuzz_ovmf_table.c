/* libFuzzer target for the OVMF footer table / SEV metadata parser.
 *
 * The input is taken as the END of a firmware image: it is placed after
 * enough zero bytes to make a whole number of pages, because the table is read
 * backwards from the end and a size that is not page aligned is refused first.
 * The raw input is also parsed as is, for the size checks. When the table
 * parses, the kernel-hashes checks and page builder run on the result. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ovmf_table.h"
#include "snp_measure.h"

#define MAX_INPUT (64u * 1024u)

static void exercise(const uint8_t *fw, size_t len)
{
	struct ovmf_info info;
	struct uvm_err err;
	if (ovmf_parse(fw, len, &info, &err) != 0)
		return;
	if (info.n_sections == 0 || info.n_sections > OVMF_MAX_SECTIONS || info.size != len)
		abort(); /* a successful parse must describe a usable firmware */
	if (ovmf_check_kernel_hashes(&info, &err) == 0) {
		static uint8_t page[OVMF_PAGE_SIZE];
		struct snp_kernel_hashes h;
		memset(&h, 0xa5, sizeof h);
		snp_hashes_page(page, info.hashes_base & (OVMF_PAGE_SIZE - 1), &h);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > MAX_INPUT)
		return 0;
	exercise(data, size);
	size_t padded = (size + OVMF_PAGE_SIZE - 1) / OVMF_PAGE_SIZE * OVMF_PAGE_SIZE;
	if (padded == 0)
		return 0;
	uint8_t *fw = calloc(1, padded);
	if (!fw)
		return 0;
	memcpy(fw + (padded - size), data, size);
	exercise(fw, padded);
	free(fw);
	return 0;
}
