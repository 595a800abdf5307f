/* libFuzzer: the dm-verity superblock parser (host-supplied in the guest).
 * What parses must re-encode to the same bytes and give a valid table. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "verity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uvm_verity_sb sb;
	struct uvm_err err;
	uint8_t again[UVM_VERITY_SB_SIZE], root[UVM_SHA256_LEN] = {0};
	char table[UVM_VERITY_TABLE_MAX];
	if (uvm_verity_sb_decode(data, size, &sb, &err) < 0)
		return 0;
	uvm_verity_sb_encode(&sb, again);
	if (memcmp(again, data, UVM_VERITY_SB_SIZE) != 0)
		abort(); /* one encoding only */
	if (uvm_verity_table(table, sizeof table, "/dev/vdb", "/dev/vdb", &sb, sb.data_blocks * UVM_VERITY_BLOCK, root,
			     &err) < 0)
		abort();
	return 0;
}
