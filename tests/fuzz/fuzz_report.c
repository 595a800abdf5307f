/* libFuzzer target for lib/snp_report: any input is either refused with a
 * message or parses; a parsed report serialises to bytes that parse to the
 * same struct, and when its reserved bytes are clean those bytes are the
 * input itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "snp_report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snp_report r, again;
	struct uvm_err err = {0};
	uint8_t out[SNP_REPORT_SIZE];
	if (snp_report_parse(data, size, &r, &err) != 0) {
		if (err.msg[0] == '\0')
			abort(); /* a refusal must say why */
		return 0;
	}
	snp_report_serialize(&r, out);
	if (snp_report_parse(out, sizeof out, &again, &err) != 0 || memcmp(&r, &again, sizeof r) != 0)
		abort();
	if (snp_report_check_reserved(data, r.version, &err) == 0 && memcmp(out, data, sizeof out) != 0)
		abort();
	struct snp_tcb t;
	snp_tcb_decode(r.reported_tcb, SNP_TCB_TURIN, &t);
	if (snp_tcb_encode(&t, SNP_TCB_TURIN) != (r.reported_tcb & 0xff000000ffffffffull))
		abort();
	return 0;
}
