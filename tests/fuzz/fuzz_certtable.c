/* libFuzzer target: the certificate table a guest gets with an extended
 * report (`uvm verify --certs`, configfs-tsm auxblob; the GHCB layout read by
 * tools/uvm/verify/verify_certtable.c), as the party that hands us the report
 * may shape it: entries out of bounds, overlapping, duplicated, unknown GUIDs,
 * no end entry, certificates that do not parse.
 *
 * Invariants: success means at least one role is filled (and nothing
 * leaks); a failure says why and leaves every slot empty. */
#include <stdint.h>
#include <stdlib.h>

#include "verify_cert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	X509 *out[3] = {NULL, NULL, NULL};
	struct uvm_err err = {0};
	if (verify_cert_table_parse("fuzz", data, size, out, &err) == 0) {
		if (!out[0] && !out[1] && !out[2])
			abort();
		for (int i = 0; i < 3; i++)
			X509_free(out[i]);
		return 0;
	}
	if (!err.msg[0] || out[0] || out[1] || out[2])
		abort();
	return 0;
}
