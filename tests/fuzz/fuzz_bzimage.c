/* libFuzzer target for the bzImage setup header reader and the Linux IGVM
 * layout built on it (`uvm igvm`). Invariants: a refusal leaves a message;
 * an accepted header describes a protected-mode part inside the input and
 * a header end inside boot_params' room; an IGVM file built from it is
 * accepted by our own reader (igvm_parse) with the SNP platform, and its
 * size is what the header says. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bzimage.h"
#include "igvm_linux.h"
#include "igvm_parse.h"

#define MAX_INPUT (256u * 1024u)

static const uint8_t INITRD[5000] = {0x30, 0x37, 0x30, 0x37, 0x30, 0x31};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bzimage bz;
	struct uvm_err err;
	if (size > MAX_INPUT)
		return 0;
	memset(&err, 0, sizeof err);
	if (bzimage_parse(data, size, &bz, &err) != 0) {
		if (!err.msg[0])
			abort();
		return 0;
	}
	if (bz.pm_offset >= size || bz.pm_offset + bz.pm_len != size || bz.hdr_end < BZ_HDR_END_MIN ||
	    bz.hdr_end > BZ_HDR_END_MAX || bz.hdr_end > size || !(bz.xloadflags & BZ_XLF_KERNEL_64))
		abort();
	/* The smallest memory the layout takes for this initrd keeps a run
	 * fast; the header's sizes and addresses still decide what fits. */
	struct igvm_linux_input in = {data, size, INITRD, sizeof INITRD, "console=ttyS0 panic=-1", 65};
	struct igvm_linux_layout lay;
	struct igvm_file f;
	uint8_t *out;
	size_t len;
	memset(&err, 0, sizeof err);
	if (igvm_linux_build(&in, &out, &len, &lay, &err) != 0) {
		if (!err.msg[0] || out)
			abort();
		return 0;
	}
	memset(&err, 0, sizeof err);
	if (igvm_parse(out, len, &f, &err) != 0 || f.snp_mask != IGVM_LINUX_SNP_MASK || f.policy != IGVM_LINUX_POLICY)
		abort();
	if (lay.kernel_end > IGVM_LINUX_INITRD || lay.decompress_end > IGVM_LINUX_INITRD ||
	    lay.memory_end != 65ull << 20 || lay.data_pages < (bz.pm_len + 4095) / 4096)
		abort();
	free(out);
	return 0;
}
