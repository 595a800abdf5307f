/* libFuzzer target: the initramfs file-list parser (tools/uvm/initrd/cpio_list.c). */
#include <stddef.h>
#include <stdint.h>

#include "cpio_list.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct cpio_define defs[] = {{"INIT", "/nonexistent"}};
	struct cpio_list list;
	struct uvm_err err;
	if (cpio_list_parse((const char *)data, size, defs, 1, &list, &err) == 0)
		cpio_list_free(&list);
	return 0;
}
