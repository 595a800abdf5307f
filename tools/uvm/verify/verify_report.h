/* The checks of `uvm verify` that need the parsed report: its binding to
 * the leaf certificate (verify_report.c) and the user's expectations
 * (verify_expect.c). */
#ifndef UVM_VERIFY_REPORT_H
#define UVM_VERIFY_REPORT_H

#include <openssl/x509.h>

#include "verify.h"
#include "verify_cert.h"

/* reserved bytes, signature algorithm and signature, signing-key kind,
 * reported TCB and chip id against the certificate. */
void verify_report_binding(const uint8_t raw[SNP_REPORT_SIZE], const struct snp_report *r, X509 *leaf,
			   const struct vcek_info *info, struct verify_results *res);

/* A TCB as text in the chip's layout ("bl 3, tee 0, snp 8, ucode 115"; Turin
 * adds fmc), for the expected/actual columns of the TCB checks. */
void verify_tcb_text(const struct snp_tcb *t, enum snp_tcb_layout layout, char *out, size_t size);

/* Policy bits, and each expectation the user gave (listed as not requested
 * otherwise). layout is the signing chip's TCB layout. */
void verify_expectations(const struct verify_opts *o, const struct snp_report *r, enum snp_tcb_layout layout,
			 struct verify_results *res);

#endif
