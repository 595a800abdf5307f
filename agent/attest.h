/* Attestation reports from inside the guest: one interface, several
 * back-ends tried in order - configfs-tsm (Linux 6.7+, preferred),
 * /dev/sev-guest SNP_GET_EXT_REPORT (fallback), and in the test flavour only
 * a simulated PSP (init/test-flavour/). A production image with no working
 * back-end can bind no policy: the guest fails closed. The production
 * back-ends meet the kernel through agent/attest_seam.h, which lets
 * tests/unit/test_attest_backends.c play the kernel on the host. */
#ifndef UVM_AGENT_ATTEST_H
#define UVM_AGENT_ATTEST_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "snp_report.h"

#define ATTEST_AUXBLOB_MAX (64u << 10)

struct attest_result {
	uint8_t raw[SNP_REPORT_SIZE];
	struct snp_report report; /* parsed from raw */
	const char *backend;      /* "configfs-tsm", "sev-guest", "simulated-psp" */
	uint8_t *auxblob;         /* certificates from the host, if any (malloc'ed) */
	size_t auxblob_len;
};

struct attest_backend {
	const char *name;
	/* 1 if the back-end's device/interface exists here. */
	int (*available)(void);
	int (*get_report)(const uint8_t report_data[SNP_REPORT_DATA_LEN], struct attest_result *out,
			  struct uvm_err *err);
};

extern const struct attest_backend attest_backend_tsm;
extern const struct attest_backend attest_backend_sev_guest;
#ifdef UVM_TEST_FLAVOUR
extern const struct attest_backend attest_backend_simulated;
#endif

/* The first available back-end's name, or NULL if none exists. */
const char *attest_probe(void);

/* Gets a report binding report_data from the first available back-end,
 * parses it (size, version) and checks that it carries exactly the
 * requested report_data. */
int attest_get_report(const uint8_t report_data[SNP_REPORT_DATA_LEN], struct attest_result *out, struct uvm_err *err);
void attest_result_free(struct attest_result *r);

#endif
