/* libFuzzer target for the OVMF footer table / SEV metadata parser.
 *
 * The input is taken as the END of a firmware image: it is placed after
 * enough zero bytes to make a whole number of pages, because the table is read
 * backwards from the end and a size that is not page aligned is refused first.
 * The raw input is also parsed as is, for the size checks. When the table
 * parses, the kernel-hashes checks and page builder run on the result.
 * Each image is also parsed as a COCONUT-SVSM image below a one-page
 * firmware (`uvm measure --mode snp:svsm`), and measured when it parses. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ovmf_table.h"
#include "snp_measure.h"
#include "svsm_measure.h"

#define MAX_INPUT (64u * 1024u)

/* The SVSM ends below a one-page firmware and a 0x84000-byte vars store. */
#define SVSM_END (OVMF_FOUR_GIB - OVMF_PAGE_SIZE - 0x84000u)

static void exercise_svsm(const uint8_t *img, size_t len)
{
	static const uint8_t fw_page[OVMF_PAGE_SIZE];
	struct ovmf_info fw, svsm;
	struct uvm_err err;
	uint8_t ld[SNP_LD_LEN];
	if (ovmf_parse_at(img, len, OVMF_NEED_METADATA | OVMF_NEED_SVSM_INFO, SVSM_END, &svsm, &err) != 0)
		return;
	if (!svsm.has_svsm_info || svsm.svsm_entry >= len || svsm.gpa + svsm.size != SVSM_END)
		abort(); /* a parsed SVSM has its entry point inside, right below the vars store */
	memset(&fw, 0, sizeof fw);
	fw.gpa = OVMF_FOUR_GIB - OVMF_PAGE_SIZE;
	fw.size = OVMF_PAGE_SIZE;
	struct svsm_request q = {fw_page, &fw, img, &svsm, 2, 0x800f12};
	if (svsm_measure(&q, ld, NULL, &err) != 0 && !err.msg[0])
		abort();
}

static void exercise(const uint8_t *fw, size_t len)
{
	exercise_svsm(fw, len);
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
