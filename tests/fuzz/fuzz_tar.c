/* libFuzzer: the tar header, pax record and path parsers of uvm layer.
 * Input: a 512-byte header, then a pax body; the body is also tried as a
 * global header and as a member path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "layer_tar.h"

static struct tar_header h;
static struct tar_override o;

static int escapes(const char *p)
{
	size_t n = strlen(p);
	return p[0] == '/' || strstr(p, "//") || strcmp(p, "..") == 0 || strncmp(p, "../", 3) == 0 ||
	       strstr(p, "/../") || (n >= 3 && strcmp(p + n - 3, "/..") == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uvm_err err;
	if (size >= TAR_BLOCK) {
		if (tar_parse_header(data, &h, &err) == 0)
			tar_apply_override(&h, &o);
		data += TAR_BLOCK;
		size -= TAR_BLOCK;
	}
	if (size > TAR_PAX_MAX)
		return 0;
	char *buf = malloc(size + 1);
	if (!buf)
		return 0;
	for (int global = 0; global < 2; global++) {
		memcpy(buf, data, size);
		memset(&o, 0, sizeof o);
		if (tar_parse_pax(buf, size, global, &o, &err) == 0) {
			for (size_t i = 0; i < o.nxattr; i++) /* pointers must be inside buf */
				if (o.xattr[i].value < (uint8_t *)buf ||
				    o.xattr[i].value + o.xattr[i].len > (uint8_t *)buf + size)
					abort();
			tar_apply_override(&h, &o);
		}
	}
	memcpy(buf, data, size);
	buf[size] = 0;
	char out[TAR_PATH_MAX];
	if (tar_normalize_path(buf, out, sizeof out, &err) == 0 && escapes(out))
		abort(); /* a normalised path never escapes */
	free(buf);
	return 0;
}
