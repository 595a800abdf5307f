/* TEST FLAVOUR ONLY: a simulated PSP that signs SNP reports with the test
 * VCEK (tests/pki/test-vcek.pem, chained to tests/pki/test-ark.pem, which no
 * verifier trusts by default). Lets the test image produce reports that
 * `uvm verify --trust-root tests/pki/test-ark.pem` accepts on machines
 * without SEV-SNP. Never compiled into the production image. */
#ifndef UVM_SIM_PSP_H
#define UVM_SIM_PSP_H

#include <stdint.h>

#include "err.h"
#include "snp_report.h"

/* The product name in the test VCEK; its TCB uses the Milan layout. */
#define SIM_PSP_PRODUCT "Test-Milan"

/* The test chip id, equal to the test VCEK's hwID extension. */
void sim_psp_fill_chip_id(uint8_t chip_id[SNP_CHIP_ID_LEN]);

/* The TCB the test VCEK certifies (Milan layout), as a raw 64-bit value. */
uint64_t sim_psp_tcb(void);

/* Fills what the PSP (not the guest) decides: signature algorithm, signing
 * key (VCEK), chip id, current/reported/committed/launch TCB. */
void sim_psp_fill_platform(struct snp_report *r);

/* Signs bytes 0x000..0x29F with the test VCEK private key (ECDSA P-384,
 * SHA-384) after setting the signature algorithm field to 1; writes r and s
 * as 72-byte little-endian integers at 0x2A0 and 0x2E8 and zeroes the rest
 * of the signature area. Returns 0 or -1 with err set. */
int sim_psp_sign_report(uint8_t report[SNP_REPORT_SIZE], struct uvm_err *err);

#endif
