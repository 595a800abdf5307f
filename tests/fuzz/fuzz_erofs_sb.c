/* libFuzzer: the erofs superblock parser (host-supplied in the guest). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "erofs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t head[UVM_EROFS_HEAD];
	struct uvm_erofs_info info;
	struct uvm_err err;
	/* Inputs are the superblock region (byte 1024 on); the rest is zero. */
	memset(head, 0, sizeof head);
	memcpy(head + UVM_EROFS_SB_OFFSET, data,
	       size < sizeof head - UVM_EROFS_SB_OFFSET ? size : sizeof head - UVM_EROFS_SB_OFFSET);
	if (uvm_erofs_parse(head, sizeof head, &info, &err) == 0 && info.blocks == 0)
		abort();
	uvm_erofs_parse(data, size, &info, &err); /* raw input as a whole head too */
	return 0;
}
