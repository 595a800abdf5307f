/* libFuzzer target: the ID block and ID auth info pair `uvm launch
 * --id-block/--id-auth` checks before handing it to QEMU
 * (tools/uvm/idblock/idblock.c, idblock_check): sizes, version, algorithms,
 * curve, reserved bytes, points on the curve, both signatures.
 *
 * Input: the first 0x60 bytes are the ID block, the rest the ID auth info
 * (an input shorter than 0x60 is all block). Invariants: success needs the
 * exact sizes and gives an author key digest only with author_key_en; a
 * failure says why. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "idblock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t zero[IDBLOCK_DIGEST_LEN];
	size_t block_len = size < IDBLOCK_SIZE ? size : IDBLOCK_SIZE;
	struct idblock_info info;
	struct uvm_err err = {0};
	memset(&info, 0, sizeof info);
	if (idblock_check(data, block_len, data + block_len, size - block_len, &info, &err) == 0) {
		if (block_len != IDBLOCK_SIZE || size - block_len != IDAUTH_SIZE)
			abort();
		if (!info.author_key_en && memcmp(info.author_key_digest, zero, sizeof zero) != 0)
			abort();
		return 0;
	}
	if (!err.msg[0])
		abort();
	return 0;
}
