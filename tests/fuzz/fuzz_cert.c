/* libFuzzer target for the verifier's certificate handling: any bytes given
 * as --vcek/--chain are parsed (DER or PEM), their AMD extensions read, and
 * every chain and report-binding check run against them, without a crash,
 * leak or undefined behaviour, and never with every check passing (the
 * input cannot chain to a pinned AMD root and sign an all-zero report). The
 * same bytes as one bundle are then sorted into roles (verify_roles.c): any
 * pick must hold a certificate of each role, and a refusal must say why. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "verify_cert.h"
#include "verify_report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	X509 *certs[VERIFY_FILE_CERTS_MAX] = {NULL};
	size_t n = 0;
	struct uvm_err err = {0};
	static struct verify_results res;
	if (verify_cert_parse("fuzz", data, size, certs, VERIFY_FILE_CERTS_MAX, &n, &err) != 0) {
		if (err.msg[0] == '\0')
			abort();
		return 0;
	}
	struct vcek_info info;
	X509 *leaf = certs[0], *ask = certs[n > 1 ? 1 : 0], *ark = certs[n - 1];
	res.n = 0;
	verify_chain(ark, ask, leaf, NULL, 1700000000, true, &res);
	if (verify_vcek_info(leaf, &info, &err) == 0) {
		static uint8_t raw[SNP_REPORT_SIZE];
		struct snp_report r;
		raw[0] = 2;
		if (snp_report_parse(raw, sizeof raw, &r, &err) != 0)
			abort();
		verify_report_binding(raw, &r, leaf, &info, &res);
		verify_tcb_layout(&info);
	}
	if (verify_exit_code(&res) == VERIFY_EXIT_OK)
		abort();
	struct cert_pool pool = {0};
	struct cert_roles roles;
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		if (rc == 0)
			rc = verify_pool_add(&pool, certs[i], 0, "fuzz", &err);
		else
			X509_free(certs[i]);
	}
	err.msg[0] = '\0';
	if (rc == 0 && verify_pick_roles(&pool, NULL, NULL, &roles, &err) == 0) {
		if (!roles.ark || !roles.ask || !roles.leaf || verify_cert_role(roles.leaf) != ROLE_LEAF ||
		    verify_cert_role(roles.ask) != ROLE_ASK || verify_cert_role(roles.ark) != ROLE_ARK)
			abort();
		res.n = 0;
		verify_record_roles(&roles, &res);
		verify_chain(roles.ark, roles.ask, roles.leaf, NULL, 1700000000, true, &res);
	} else if (err.msg[0] == '\0') {
		abort();
	}
	verify_pool_free(&pool);
	return 0;
}
