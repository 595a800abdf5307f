#include "attest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const struct attest_backend *const backends[] = {
	&attest_backend_tsm,
	&attest_backend_sev_guest,
#ifdef UVM_TEST_FLAVOUR
	&attest_backend_simulated,
#endif
};
#define NBACKENDS (sizeof backends / sizeof backends[0])

const char *attest_probe(void)
{
	for (size_t i = 0; i < NBACKENDS; i++)
		if (backends[i]->available())
			return backends[i]->name;
	return NULL;
}

int attest_get_report(const uint8_t report_data[SNP_REPORT_DATA_LEN], struct attest_result *out, struct uvm_err *err)
{
	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < NBACKENDS; i++) {
		const struct attest_backend *b = backends[i];
		if (!b->available())
			continue;
		out->backend = b->name;
		if (b->get_report(report_data, out, err)) {
			attest_result_free(out);
			return uvm_wrap(err, "attestation report from %s", b->name);
		}
		if (snp_report_parse(out->raw, SNP_REPORT_SIZE, &out->report, err)) {
			attest_result_free(out);
			return uvm_wrap(err, "report from %s", b->name);
		}
		if (memcmp(out->report.report_data, report_data, SNP_REPORT_DATA_LEN) != 0) {
			attest_result_free(out);
			return uvm_fail(err, EPROTO, "report from %s does not carry the requested REPORT_DATA",
					b->name);
		}
		return 0;
	}
	return uvm_fail(err, ENODEV,
			"no SNP attestation back-end: neither configfs-tsm (/sys/kernel/config/tsm/report) nor "
			"/dev/sev-guest exists; this guest is not running under SEV-SNP");
}

void attest_result_free(struct attest_result *r)
{
	free(r->auxblob);
	r->auxblob = NULL;
	r->auxblob_len = 0;
}
